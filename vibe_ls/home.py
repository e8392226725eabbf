"""Where vibe-ls keeps generated artifacts: $VIBE_LS_HOME, default ~/.cache/vibe-ls."""

from __future__ import annotations

import os
from pathlib import Path

from vibe_ls.errors import VibeError

DEFAULT_MODEL = "qwen2.5-coder-0.5b"


def home() -> Path:
    """The cache root; created on first use."""
    root = Path(os.environ.get("VIBE_LS_HOME") or Path.home() / ".cache" / "vibe-ls")
    root.mkdir(parents=True, exist_ok=True)
    return root


def models_dir() -> Path:
    return home() / "models"


def model_dir(name: str) -> Path:
    return models_dir() / name


def weights_dir() -> Path:
    """Assembled GGUF files (kept so a model can be re-exported or benchmarked against)."""
    return home() / "weights"


# `vibe-ls setup` writes the name of the model it chose for this machine's hardware here
# (the 1.5B fp16 where CUDA is usable); DEFAULT_MODEL then stands for it.
DEFAULT_POINTER = "DEFAULT"


def default_model() -> str:
    """The model DEFAULT_MODEL stands for here: the one setup chose, else DEFAULT_MODEL."""
    pointer = models_dir() / DEFAULT_POINTER
    chosen = pointer.read_text().strip() if pointer.is_file() else ""
    return chosen if chosen and model_dir(chosen).is_dir() else DEFAULT_MODEL


def set_default_model(name: str) -> None:
    pointer = models_dir() / DEFAULT_POINTER
    if name == DEFAULT_MODEL:
        pointer.unlink(missing_ok=True)
        return
    pointer.parent.mkdir(parents=True, exist_ok=True)
    pointer.write_text(name + "\n")


def resolve_model(model: str | Path) -> Path:
    """A model name under $VIBE_LS_HOME/models, or a path to a model directory."""
    if str(model) == DEFAULT_MODEL:
        model = default_model()
    path = Path(model).expanduser()
    if path.is_dir():
        return path
    installed = model_dir(str(model))
    if installed.is_dir():
        return installed
    raise VibeError(f"model {model!r} is not installed",
                    "run `vibe-ls setup` (or `vibe-ls setup --model NAME`)")
