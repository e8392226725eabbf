"""Inference on exported model directories with onnxruntime; no torch, no transformers."""

from vibe_ls.engine.decode import Decoder, greedy
from vibe_ls.engine.providers import open_session

__all__ = ["Decoder", "greedy", "open_session"]
