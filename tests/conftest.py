"""Shared fixtures: a tiny random Qwen2 exported through the real pipeline (seconds), and the
real default model built by `vibe-ls setup` (minutes the first time, cached in VIBE_LS_HOME)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 3600,
            ) -> subprocess.CompletedProcess:
    """Run `vibe-ls ARGS` the way a user would, from this interpreter's environment."""
    return subprocess.run([sys.executable, "-m", "vibe_ls", *args], capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})})


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path | None:
    if PREBUILT:
        return None
    from vibe_ls_export.tiny import build_checkpoint

    return build_checkpoint(tmp_path_factory.mktemp("tiny") / "checkpoint")


# A folder of tiny models made by `python -m tests.conftest FOLDER` on a machine with the export
# tools, for one without them (a GPU box): tiny-fp32, tiny-int4, tiny-fp16 and lsp-home.
PREBUILT = os.environ.get("VIBE_LS_TEST_MODELS")


def _export_tiny(checkpoint: Path | None, root: Path, precision: str) -> Path:
    if PREBUILT:
        return Path(PREBUILT) / f"tiny-{precision}"
    from vibe_ls_export.pipeline import export_model

    out = root / f"tiny-{precision}"
    export_model(str(checkpoint), out, precision=precision, progress=lambda _: None)
    return out


@pytest.fixture(scope="session")
def tiny_fp32(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _export_tiny(tiny_checkpoint, tmp_path_factory.mktemp("models"), "fp32")


@pytest.fixture(scope="session")
def tiny_int4(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _export_tiny(tiny_checkpoint, tmp_path_factory.mktemp("models"), "int4")


@pytest.fixture(scope="session")
def tiny_fp16(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _export_tiny(tiny_checkpoint, tmp_path_factory.mktemp("models"), "fp16")


# The GroupQueryAttention graphs (a static KV buffer) of the same tiny model: tiny-gqa-fp32
# and tiny-gqa-fp16 in the PREBUILT folder when it has them, else exported here.
GQA_CONTEXT = 1024  # the tiny model's max_position_embeddings; the TODO prompt is 725 tokens


def _export_tiny_gqa(root: Path, precision: str) -> Path:
    if PREBUILT and (Path(PREBUILT) / f"tiny-gqa-{precision}").is_dir():
        return Path(PREBUILT) / f"tiny-gqa-{precision}"
    from vibe_ls_export.pipeline import export_model
    from vibe_ls_export.tiny import build_checkpoint

    checkpoint = root / "checkpoint"
    if not checkpoint.is_dir():
        build_checkpoint(checkpoint)  # the same weights as tiny_checkpoint's (seed 0)
    out = root / f"tiny-gqa-{precision}"
    export_model(str(checkpoint), out, precision=precision, progress=lambda _: None,
                 attention="gqa", context=GQA_CONTEXT)
    return out


@pytest.fixture(scope="session")
def gqa_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("gqa-models")


@pytest.fixture(scope="session")
def tiny_gqa(gqa_root: Path) -> Path:
    return _export_tiny_gqa(gqa_root, "fp32")


@pytest.fixture(scope="session")
def tiny_gqa_fp16(gqa_root: Path) -> Path:
    return _export_tiny_gqa(gqa_root, "fp16")


@pytest.fixture(scope="session")
def lsp_home(tiny_checkpoint: Path, tiny_fp32: Path,
             tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A VIBE_LS_HOME with the tiny models "taught", "polyglot", "rewriter" and "random" (see
    tests/test_server.py:build_lsp_home); here, for every test module to share one."""
    if PREBUILT:
        return Path(PREBUILT) / "lsp-home"
    from tests.test_server import build_lsp_home

    return build_lsp_home(tiny_checkpoint, tiny_fp32, tmp_path_factory.mktemp("lsp-home"))


@pytest.fixture(scope="session")
def polyglot(lsp_home: Path) -> Path:
    """The exported tiny model taught to write tests/shapes.py's answer in each language."""
    return lsp_home / "models" / "polyglot"


@pytest.fixture(scope="session")
def rewriter(lsp_home: Path) -> Path:
    """The exported tiny model taught to write tests/rewrites.py's rewrite in each language."""
    return lsp_home / "models" / "rewriter"


@pytest.fixture(scope="session")
def real_model() -> Path:
    """The default model as `vibe-ls setup` installs it (uses the user's VIBE_LS_HOME cache)."""
    from vibe_ls.home import DEFAULT_MODEL, model_dir

    proc = run_cli("setup")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return model_dir(DEFAULT_MODEL)


def _prebuild(folder: Path) -> None:
    """The tiny models the tests use, built once into `folder` (see PREBUILT)."""
    import shutil

    from vibe_ls_export.tiny import build_checkpoint

    from tests.test_server import build_lsp_home

    checkpoint = build_checkpoint(folder / "checkpoint")
    for precision in ("fp32", "int4", "fp16"):
        _export_tiny(checkpoint, folder, precision)
    for precision in ("fp32", "fp16"):
        _export_tiny_gqa(folder, precision)
    build_lsp_home(checkpoint, folder / "tiny-fp32", folder / "lsp-home")
    shutil.rmtree(folder / "checkpoint")
    shutil.rmtree(folder / "lsp-home" / "checkpoints")


if __name__ == "__main__":
    _prebuild(Path(sys.argv[1]).resolve())
