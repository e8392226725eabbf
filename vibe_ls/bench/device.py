"""The device a benchmark runs on, and its memory-bandwidth bound: the CPU's read bandwidth
is measured; a GPU's is its published peak, looked up by the name the driver reports."""

from __future__ import annotations

import ctypes

from vibe_ls.bench import memory

# Published peak memory bandwidth, bytes/s (H100 SXM: HBM3; H200: HBM3e). The first name
# that occurs in the device's name wins, so the longer names come first.
GPU_BANDWIDTH = (("H200", 4.8e12), ("H100 PCIe", 2.0e12), ("H100", 3.35e12),
                 ("A100-SXM4-80GB", 2.039e12), ("A100", 1.555e12))


def gpu_name(index: int = 0) -> str | None:
    """The CUDA device's name as the driver reports it, or None without a driver."""
    try:
        cuda = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return None
    name = ctypes.create_string_buffer(256)
    if cuda.cuInit(0) != 0 or cuda.cuDeviceGetName(name, 256, index) != 0:
        return None
    return name.value.decode(errors="replace")


def gpu_bandwidth(name: str) -> float | None:
    return next((bw for key, bw in GPU_BANDWIDTH if key in name), None)


def bandwidth(provider: str, threads: int) -> tuple[float, str]:
    """Bytes/s the weights can be read at on `provider`, and where the figure comes from."""
    if provider == "cuda":
        name = gpu_name() or "unknown GPU"
        peak = gpu_bandwidth(name)
        if peak:
            return peak, f"{name}, published peak"
        return memory.read_bandwidth(threads), f"{name} not in the table: host RAM measured"
    return memory.read_bandwidth(threads), "host RAM, measured"
