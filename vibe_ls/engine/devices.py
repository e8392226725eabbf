"""Which device a model will run on, told without loading onnxruntime (the server answers
`initialize` before it imports it): the engine's load then says which device it got."""

from __future__ import annotations

import importlib.util
from pathlib import Path


def cuda_likely() -> bool:
    """onnxruntime-gpu's CUDA provider is installed and an NVIDIA GPU is visible."""
    spec = importlib.util.find_spec("onnxruntime")
    if spec is None or spec.origin is None:
        return False
    capi = Path(spec.origin).parent / "capi"
    provider = any(capi.glob("libonnxruntime_providers_cuda*"))
    return provider and (Path("/dev/nvidia0").exists() or Path("/proc/driver/nvidia/gpus").is_dir())


def planned(setting: str) -> str:
    """The device a load with the `device` setting will try first."""
    if setting == "cpu":
        return "cpu"
    return "cuda" if setting == "cuda" or cuda_likely() else "cpu"
