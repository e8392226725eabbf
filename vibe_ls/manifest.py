"""The model directory's self-description (`manifest.json`) and its checksums.

A model directory is usable when its manifest parses and every file it lists is present
with the recorded sha256. Only this module reads or writes manifests.
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TypeVar

from vibe_ls.errors import VibeError

T = TypeVar("T")

MANIFEST_NAME = "manifest.json"
# 2: the graph has a `logits_to_keep` input (lm_head only where logits are needed).
# 3: attention reads the KV heads without repeating them (`group_attention`); a format-2
#    model is upgraded in place by `vibe-ls setup` (the graph only; the weights are kept).
# 4: int4 blocks carry a zero point (closer to the GGUF's weights); an older int4 model is
#    rebuilt, one of another precision only gets the new number.
# 5: q_proj and v_proj take LoRA inputs (empty by default: the base model) for adapters;
#    a format-4 model is upgraded in place by `vibe-ls setup` (the graph only).
FORMAT_VERSION = 5
_CHUNK = 4 << 20


@dataclass
class Manifest:
    name: str
    source: str
    architecture: str
    precision: str
    device: str
    files: dict[str, str] = field(default_factory=dict)
    parity: dict = field(default_factory=dict)
    tools: dict[str, str] = field(default_factory=dict)
    model_file: str = "model.onnx"
    eos_token_ids: list[int] = field(default_factory=list)
    created: str = ""
    format: int = 1  # a manifest without the field predates versioning
    # "gqa": GroupQueryAttention with one static KV buffer of `context` positions per row
    # (engine/static.py); "" for optimum's attention (engine/decode.py).
    attention: str = ""
    context: int = 0


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def hash_files(directory: Path) -> dict[str, str]:
    """sha256 of every file under `directory` except the manifest, keyed by posix relpath."""
    paths = sorted(p for p in directory.rglob("*") if p.is_file() and p.name != MANIFEST_NAME)
    # hashlib releases the GIL on large buffers, so threads hash big files in parallel.
    with ThreadPoolExecutor(max_workers=4) as pool:
        digests = list(pool.map(sha256_file, paths))
    return {p.relative_to(directory).as_posix(): d for p, d in zip(paths, digests, strict=False)}


def write_manifest(directory: Path, manifest: Manifest) -> Path:
    path = directory / MANIFEST_NAME
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(asdict(manifest), indent=2, ensure_ascii=False) + "\n")
    tmp.replace(path)
    return path


def read_manifest(directory: Path) -> Manifest:
    return read_record(directory / MANIFEST_NAME, Manifest, "a vibe-ls model directory",
                       "re-run `vibe-ls setup` or the export")


def read_record(path: Path, kind: type[T], what: str, fix: str) -> T:
    """A manifest-like JSON file as the dataclass `kind` (fields it does not know are left
    out: a newer writer's); a clear VibeError where it is missing or corrupt."""
    if not path.is_file():
        raise VibeError(f"{path.parent} has no {path.name}: it is not {what}")
    try:
        data = json.loads(path.read_text())
        fields = kind.__dataclass_fields__
        return kind(**{k: v for k, v in data.items() if k in fields})
    except (ValueError, TypeError) as exc:
        raise VibeError(f"{path} is corrupt ({exc})", fix) from exc


def verify(directory: Path, manifest: Manifest | None = None) -> list[str]:
    """Problems with the directory's files against its manifest; empty when all verify."""
    manifest = manifest or read_manifest(directory)
    if not manifest.files:
        return ["manifest lists no files"]
    problems = []
    present = {rel: directory / rel for rel in manifest.files if (directory / rel).is_file()}
    problems += [f"missing file: {rel}" for rel in manifest.files if rel not in present]
    with ThreadPoolExecutor(max_workers=4) as pool:
        digests = dict(zip(present, pool.map(sha256_file, present.values()), strict=False))
    problems += [
        f"checksum mismatch: {rel}" for rel, d in digests.items() if d != manifest.files[rel]
    ]
    return problems
