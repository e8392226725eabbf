"""Choosing an onnxruntime execution provider, and falling back to CPU when CUDA fails."""

from __future__ import annotations

import contextlib
import ctypes
import io
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import onnxruntime as ort

from vibe_ls.errors import VibeError

log = logging.getLogger(__name__)

DEVICES = ("auto", "cuda", "cpu")


@dataclass
class OpenedSession:
    session: ort.InferenceSession
    provider: str  # "cuda" or "cpu"
    fallback_reason: str = ""  # why CUDA was not used although it was asked for


def _gpu_count() -> tuple[int, str]:
    """CUDA devices the driver reports; asking the driver is cheap, a failed session is not."""
    try:
        cuda = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return 0, "no NVIDIA driver (libcuda.so.1 not found)"
    count = ctypes.c_int(0)
    if cuda.cuInit(0) != 0 or cuda.cuDeviceGetCount(ctypes.byref(count)) != 0:
        return 0, "the NVIDIA driver found no usable GPU"
    return count.value, f"{count.value} CUDA device(s)"


def cuda_status() -> tuple[bool, str]:
    """Whether a CUDA session is worth trying here, and if not, why."""
    providers = ort.get_available_providers()
    if "CUDAExecutionProvider" not in providers:
        return False, (f"onnxruntime {ort.__version__} has no CUDA provider "
                       "(is onnxruntime-gpu installed?)")
    count, why = _gpu_count()
    return count > 0, why


def _options(threads: int | None) -> ort.SessionOptions:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads or len(os.sched_getaffinity(0))
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    return opts


def _create(path: Path, providers: list, threads: int | None) -> ort.InferenceSession:
    session = ort.InferenceSession(str(path), _options(threads), providers=providers)
    # onnxruntime silently drops a provider it cannot load; treat that as a failure.
    first = providers[0] if isinstance(providers[0], str) else providers[0][0]
    if first not in session.get_providers():
        raise RuntimeError(f"{first} could not be loaded (see onnxruntime's log)")
    return session


def _create_cuda(path: Path, threads: int | None,
                 cuda_graphs: bool = False) -> ort.InferenceSession:
    """A CUDA session. The CUDA and cuDNN libraries of the `cuda` extra (nvidia-* wheels) are
    not on the loader's path: when the provider cannot find them, onnxruntime loads them from
    those packages (`preload_dlls`), and the session is created again. `cuda_graphs`: steps
    run with a `gpu_graph_id` are captured once and replayed (static-buffer graphs only)."""
    provider = ("CUDAExecutionProvider", {"enable_cuda_graph": "1"}) if cuda_graphs else \
        "CUDAExecutionProvider"
    cuda = [provider, "CPUExecutionProvider"]
    try:
        return _create(path, cuda, threads)
    except Exception as first:
        preload = getattr(ort, "preload_dlls", None)
        if preload is None:
            raise
        said = io.StringIO()  # it prints, and a server's stdout is the LSP channel
        try:
            with contextlib.redirect_stdout(said):
                preload()
        except Exception as exc:
            raise RuntimeError(f"{first}; loading the CUDA libraries failed: {exc}") from first
        if said.getvalue().strip():
            log.info("onnxruntime.preload_dlls: %s", said.getvalue().strip())
        log.info("CUDA libraries loaded from the nvidia packages")
        return _create(path, cuda, threads)


def open_session(path: Path, device: str = "auto", threads: int | None = None,
                 cuda_graphs: bool = False) -> OpenedSession:
    """An InferenceSession on CUDA when asked (or auto and usable), else on CPU."""
    if device not in DEVICES:
        raise VibeError(f"unknown device {device!r}", f"use one of {', '.join(DEVICES)}")
    if not path.is_file():
        raise VibeError(f"model file {path} does not exist", "run `vibe-ls setup`")
    reason = ""
    if device in ("auto", "cuda"):
        usable, reason = cuda_status()
        if usable:
            try:
                return OpenedSession(_create_cuda(path, threads, cuda_graphs), "cuda")
            except Exception as exc:  # missing libraries, out of memory, bad driver
                reason = f"CUDA session failed: {exc}"
        # auto on a machine without a GPU is the normal case: worth a log line, not a warning.
        log.log(logging.WARNING if device == "cuda" else logging.INFO, "using CPU: %s", reason)
    try:
        return OpenedSession(_create(path, ["CPUExecutionProvider"], threads), "cpu", reason)
    except Exception as exc:
        raise VibeError(f"could not load {path}: {exc}",
                        "the model may be corrupt; `vibe-ls doctor` checks it") from exc
