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


def resolve_model(model: str | Path) -> Path:
    """A model name under $VIBE_LS_HOME/models, or a path to a model directory."""
    path = Path(model).expanduser()
    if path.is_dir():
        return path
    installed = model_dir(str(model))
    if installed.is_dir():
        return installed
    raise VibeError(f"model {model!r} is not installed",
                    "run `vibe-ls setup` (or `vibe-ls setup --model NAME`)")
