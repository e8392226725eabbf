"""LoRA adapters: `$VIBE_LS_HOME/adapters/<model>/<name>/`, their manifest, and loading one
as the extra inputs of the base model's graph (see export/lora.py for the graph side).

An adapter directory holds `adapter.onnx_adapter` (onnxruntime's adapter format: the
graph's LoRA inputs, already transposed and scaled), the peft files it came from, and
`adapter.json` (what it was trained on, how well, and the sha256 of every file). It is
usable when every file verifies and it was made for the loaded base model.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from vibe_ls import home
from vibe_ls.errors import VibeError
from vibe_ls.manifest import Manifest, hash_files, read_record, sha256_file

ADAPTER_FILE = "adapter.onnx_adapter"
ADAPTER_MANIFEST = "adapter.json"
PEFT_FILES = ("adapter_config.json", "adapter_model.safetensors")
ADAPTER_FORMAT = 1


def lora_input_names(layer: int, projection: str) -> tuple[str, str]:
    """The graph inputs of one projection's LoRA branch: (A [in, r], B [r, out])."""
    stem = f"model.layers.{layer}.self_attn.{projection}"
    return f"{stem}.lora_A.weight", f"{stem}.lora_B.weight"


def is_lora_input(name: str) -> bool:
    return name.endswith((".lora_A.weight", ".lora_B.weight"))


@dataclass
class AdapterManifest:
    name: str
    base_model: str
    base_hash: str  # `base_hash` of the model it was made for
    r: int
    alpha: float
    targets: list[str]
    dropout: float = 0.0
    source: str = ""  # "tune DATA" or "import PEFT_DIR"
    data_hash: str = ""
    data_size: int = 0  # examples (train + held out)
    val_loss_before: float | None = None
    val_loss_after: float | None = None
    parity: dict = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    created: str = ""
    format: int = ADAPTER_FORMAT


@dataclass
class Adapter:
    """A loaded adapter: the tensors to feed beside the base model's own inputs."""

    name: str
    path: Path
    manifest: AdapterManifest
    feeds: dict[str, np.ndarray]


def base_hash(manifest: Manifest) -> str:
    """A short hash of the base model's files: an adapter fits exactly this build."""
    files = json.dumps(manifest.files, sort_keys=True).encode()
    return hashlib.sha256(files).hexdigest()[:16]


def adapters_dir(model: str | None = None) -> Path:
    root = home.home() / "adapters"
    return root / model if model else root


def resolve_adapter(spec: str, model: str) -> Path:
    """An adapter name under $VIBE_LS_HOME/adapters/<model>/, or a path to its directory."""
    path = Path(spec).expanduser()
    if path.is_dir():
        return path
    installed = adapters_dir(model) / spec
    if installed.is_dir():
        return installed
    raise VibeError(f"adapter {spec!r} is not installed for {model}",
                    f"`vibe-ls adapter list` shows what is; `vibe-ls tune` or `vibe-ls adapter "
                    f"import` makes one in {adapters_dir(model)}")


def read_adapter_manifest(directory: Path) -> AdapterManifest:
    return read_record(directory / ADAPTER_MANIFEST, AdapterManifest, "a vibe-ls adapter",
                       "import or tune the adapter again")


def _check_files(directory: Path, manifest: AdapterManifest) -> None:
    if not manifest.files:
        raise VibeError(f"adapter {directory.name}: its manifest lists no files")
    for rel, digest in manifest.files.items():
        path = directory / rel
        if not path.is_file():
            raise VibeError(f"adapter {directory.name} is damaged: missing file {rel}",
                            "import or tune it again")
        if sha256_file(path) != digest:
            raise VibeError(f"adapter {directory.name} is damaged: checksum mismatch in {rel}",
                            "import or tune it again")


def load_adapter(directory: Path, base: Manifest, graph_inputs: dict[str, list]) -> Adapter:
    """The adapter in `directory`, checked against the loaded base model (its manifest and
    the shapes of its LoRA inputs); a VibeError says what does not fit."""
    import onnxruntime as ort

    manifest = read_adapter_manifest(directory)
    _check_files(directory, manifest)
    if manifest.base_model != base.name or manifest.base_hash != base_hash(base):
        raise VibeError(f"adapter {manifest.name} was made for {manifest.base_model} "
                        f"(build {manifest.base_hash}), not {base.name} (build "
                        f"{base_hash(base)})", "tune or import it again for this model")
    if not graph_inputs:
        raise VibeError(f"{base.name} has no LoRA inputs (built by an older vibe-ls)",
                        "run `vibe-ls setup` (or export the model again) to add them")
    stored = ort.AdapterFormat.read_adapter(str(directory / ADAPTER_FILE))
    # numpy() views memory the adapter object owns: copy before it is freed
    feeds = {name: value.numpy().copy() for name, value in stored.get_parameters().items()}
    del stored
    for name, value in feeds.items():
        shape = graph_inputs.get(name)
        if shape is None or any(isinstance(d, int) and d != v for d, v in
                                zip(shape, value.shape, strict=True)):
            raise VibeError(f"adapter {manifest.name}: {name} {list(value.shape)} does not fit "
                            f"{base.name} ({shape or 'no such input'})",
                            "tune or import it again for this model")
    return Adapter(manifest.name, directory, manifest, feeds)


def write_adapter(directory: Path, inputs: dict[str, np.ndarray], manifest: AdapterManifest,
                  peft_dir: Path | None = None, dtype: type = np.float32) -> Path:
    """Write an adapter directory (the `.onnx_adapter`, the peft files, the manifest with
    checksums) into `directory`, replacing what was there only once all is written."""
    import shutil
    import tempfile

    import onnxruntime as ort

    directory.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{directory.name}.partial-", dir=directory.parent))
    try:
        adapter = ort.AdapterFormat()
        adapter.set_adapter_version(ADAPTER_FORMAT)
        adapter.set_model_version(1)
        # an OrtValue only points at its array's memory: keep the arrays alive until written
        arrays = {k: np.ascontiguousarray(v.astype(dtype)) for k, v in inputs.items()}
        adapter.set_parameters({k: ort.OrtValue.ortvalue_from_numpy(v)
                                for k, v in arrays.items()})
        adapter.export_adapter(str(work / ADAPTER_FILE))
        for name in PEFT_FILES if peft_dir else ():
            shutil.copy2(peft_dir / name, work / name)
        manifest.files = hash_files(work)
        manifest.created = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        (work / ADAPTER_MANIFEST).write_text(json.dumps(asdict(manifest), indent=2) + "\n")
        if directory.exists():
            shutil.rmtree(directory)
        work.rename(directory)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return directory


def list_adapters(model: str | None = None) -> list[tuple[Path, AdapterManifest | VibeError]]:
    """Every adapter directory (of `model`, or of all models) with its manifest or what is
    wrong with it."""
    root = adapters_dir()
    if not root.is_dir():
        return []
    models = [root / model] if model else sorted(p for p in root.iterdir() if p.is_dir())
    found: list[tuple[Path, AdapterManifest | VibeError]] = []
    for model_root in (m for m in models if m.is_dir()):
        for directory in sorted(p for p in model_root.iterdir() if p.is_dir()
                                and not p.name.startswith(".")):
            try:
                found.append((directory, read_adapter_manifest(directory)))
            except VibeError as exc:
                found.append((directory, exc))
    return found


def check_adapter(directory: Path, manifest: AdapterManifest | VibeError) -> str:
    """One line for `vibe-ls doctor`: the adapter and whether its files verify."""
    if isinstance(manifest, VibeError):
        return f"{directory.name}: unusable ({manifest.message})"
    try:
        _check_files(directory, manifest)
    except VibeError as exc:
        return f"{describe(manifest)}; FAILED: {exc.message}"
    return f"{describe(manifest)}; checksums verified"


def describe(manifest: AdapterManifest) -> str:
    """One line: what the adapter is and how much it helped on its held-out data."""
    loss = ""
    if manifest.val_loss_before is not None and manifest.val_loss_after is not None:
        loss = (f", held-out loss {manifest.val_loss_before:.3f} -> "
                f"{manifest.val_loss_after:.3f}")
    return (f"{manifest.name}: LoRA r={manifest.r} alpha={manifest.alpha:g} on "
            f"{','.join(manifest.targets)} for {manifest.base_model}{loss}")
