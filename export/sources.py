"""Turn whatever the user points at into a local Hugging Face checkpoint directory."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from vibe_ls.errors import VibeError

log = logging.getLogger(__name__)

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_HUB_FILES = ["*.json", "*.safetensors", "*.jinja", "*.txt", "*.model"]
HUB_TIMEOUT_S = 10


def is_gguf(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(4) == b"GGUF"


def resolve(source: str, workdir: Path) -> Path:
    """A checkpoint directory with config.json and a tokenizer, materialized under `workdir`."""
    path = Path(source).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise VibeError(f"{path} has no config.json",
                            "pass a Hugging Face checkpoint directory")
        return path
    if path.is_file():
        if not is_gguf(path):
            raise VibeError(f"{path} is neither a GGUF file nor a checkpoint directory")
        return gguf_to_checkpoint(path, workdir / "checkpoint")
    if _HUB_ID.match(source) and not source.startswith((".", "/", "~")):
        return hub_snapshot(source, workdir / "hub")
    raise VibeError(f"{source!r} is not a file, a directory or a hub id (owner/name)")


def tokenizer(directory: Path):
    """The tokenizer of a model directory. `fix_mistral_regex=False` keeps the tokenizer as
    it is and silences transformers 4.57.3+'s warning that a local Qwen2 tokenizer has "an
    incorrect regex pattern" (a false positive for non-Mistral models, transformers issue
    44031; the ids are the same with and without the flag)."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(directory, fix_mistral_regex=False)


def gguf_to_checkpoint(gguf: Path, out: Path) -> Path:
    """Dequantize a GGUF into an fp32 checkpoint with its tokenizer and chat template."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    kwargs = {"gguf_file": gguf.name}
    try:
        tokenizer = AutoTokenizer.from_pretrained(gguf.parent, **kwargs)
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, dtype="float32", **kwargs)
    except (ValueError, KeyError, OSError) as exc:
        raise VibeError(f"transformers could not load {gguf}: {exc}",
                        "only Qwen2 / Llama-family GGUF files are supported") from exc
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def hub_snapshot(repo_id: str, out: Path) -> Path:
    """Download a hub checkpoint; fail fast with a clear message when the hub is unreachable."""
    os.environ.setdefault("HF_HUB_ETAG_TIMEOUT", str(HUB_TIMEOUT_S))
    os.environ.setdefault("HF_HUB_DOWNLOAD_TIMEOUT", str(HUB_TIMEOUT_S))
    from huggingface_hub import HfApi, snapshot_download

    offline_hint = ("vibe-ls never downloads at run time; on a machine with network, download the "
                    "checkpoint (or a GGUF) and pass its local path to `vibe-ls export`")
    try:
        HfApi().model_info(repo_id, timeout=HUB_TIMEOUT_S)
    except Exception as exc:  # offline mode, DNS failure, refused, timeout, 404, gated
        raise VibeError(f"cannot fetch {repo_id!r} from the Hugging Face Hub: "
                        f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}",
                        offline_hint) from exc
    try:
        snapshot_download(repo_id, local_dir=out, allow_patterns=_HUB_FILES)
    except Exception as exc:
        raise VibeError(f"download of {repo_id!r} failed: {exc}", offline_hint) from exc
    return out
