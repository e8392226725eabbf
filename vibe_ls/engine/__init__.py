"""Inference on exported model directories with onnxruntime; no torch, no transformers."""

from vibe_ls.engine.decode import Decoder, greedy
from vibe_ls.engine.generate import Request, Result
from vibe_ls.engine.model import Engine
from vibe_ls.engine.providers import open_session
from vibe_ls.engine.sampling import Sampling

__all__ = ["Decoder", "Engine", "Request", "Result", "Sampling", "greedy", "open_session"]
