"""A measured memory-bandwidth bound for decoding: every token reads all the weights once."""

from __future__ import annotations

import json
import os
import resource
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

PROBE_BYTES = 512 << 20


def read_bandwidth(threads: int, repeats: int = 5) -> float:
    """Bytes per second that `threads` threads read from RAM (best of `repeats`)."""
    data = np.ones(PROBE_BYTES // 8, dtype=np.float64)
    parts = np.array_split(data, threads)
    best = float("inf")
    with ThreadPoolExecutor(threads) as pool:
        for _ in range(repeats):
            start = time.perf_counter()
            list(pool.map(np.sum, parts))  # numpy releases the GIL while it reduces
            best = min(best, time.perf_counter() - start)
    return data.nbytes / best


def weight_bytes_per_token(model_dir: Path, precision: str) -> int:
    """Bytes of weights one decode step reads: all of them but the embedding table, of
    which it reads a single row."""
    files = [p for p in model_dir.iterdir() if p.name.startswith("model.onnx")]
    total = sum(p.stat().st_size for p in files)
    config = json.loads((model_dir / "config.json").read_text())
    embed = config["vocab_size"] * config["hidden_size"] * (2 if precision == "fp16" else 4)
    return max(total - embed, 1)


def peak_rss_mb() -> float:
    """This process's peak resident memory. VmHWM, not ru_maxrss: a child started by fork
    and exec inherits its parent's ru_maxrss, which would inflate the peers' figures."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_threads() -> int:
    return len(os.sched_getaffinity(0))
