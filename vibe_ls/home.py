"""Where vibe-ls keeps generated artifacts: $VIBE_LS_HOME, default ~/.cache/vibe-ls."""

from __future__ import annotations

import os
from pathlib import Path

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
