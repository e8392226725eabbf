"""Inference on exported model directories with onnxruntime; no torch, no transformers.

Its names load on first use: importing `vibe_ls.engine.sampling` (what the server needs at
start) must not load onnxruntime and numpy."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vibe_ls.engine.decode import Decoder, greedy
    from vibe_ls.engine.generate import Request, Result
    from vibe_ls.engine.model import Engine
    from vibe_ls.engine.providers import open_session
    from vibe_ls.engine.sampling import Sampling

_HOMES = {"Decoder": "decode", "greedy": "decode", "Request": "generate", "Result": "generate",
          "Engine": "model", "open_session": "providers", "Sampling": "sampling"}
__all__ = ["Decoder", "Engine", "Request", "Result", "Sampling", "greedy", "open_session"]


def __getattr__(name: str) -> object:
    if name not in _HOMES:
        raise AttributeError(f"module 'vibe_ls.engine' has no attribute {name!r}")
    return getattr(importlib.import_module(f"vibe_ls.engine.{_HOMES[name]}"), name)
