"""Responsiveness: hover over a function never hovered (cold: it answers with what is known
while the explanation is written in the background) and hovered before (warm), then
code-action listing and a cached hover while an Implement generation is running; timed over
LSP against the real server."""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from vibe_ls.bench.lsp_driver import Driver
from vibe_ls.bench.workload import FILE, TODOS

# The benchmark workload's file (its TODO filled in): hover over `two_sum`, act on the TODO.
SOURCE = FILE.replace("{todo}", TODOS[0])
LINES = SOURCE.split("\n")
TODO_LINE = next(i for i, row in enumerate(LINES) if "# TODO" in row)
HOVER = (next(i for i, row in enumerate(LINES) if row.startswith("def two_sum")), 6)


def _summary(samples: list[float]) -> dict:
    ms = sorted(s * 1000 for s in samples)
    return {"n": len(ms), "p50_ms": statistics.median(ms),
            "p95_ms": ms[min(len(ms) - 1, int(len(ms) * 0.95))], "max_ms": ms[-1]}


COLD = 5  # functions hovered for the first time
EXPLAINED_WITHIN_S = 180.0  # how long the benchmark waits for a background explanation


def _pending(result: object) -> bool:
    from vibe_ls.hover import PENDING

    return result is None or PENDING in result.contents.value


async def _hovers(driver: Driver, tmp: str, uri: str, requests: int) -> dict:
    """Cold: the first hover of COLD functions; explained_after_s: until a hover has the
    explanation (written in the background); warm: hovers of the function after that."""
    first, cold = await driver.hover(uri, *HOVER)
    started, result = time.perf_counter(), first
    while _pending(result) and time.perf_counter() - started < EXPLAINED_WITHIN_S:
        await asyncio.sleep(0.5)
        result, _ = await driver.hover(uri, *HOVER)
    explained = time.perf_counter() - started + cold if not _pending(result) else None
    warm = [(await driver.hover(uri, *HOVER))[1] for _ in range(requests)]
    colds = [cold]
    for i in range(1, COLD):
        other = driver.open(Path(tmp) / f"cold{i}.py",
                            SOURCE.replace("two_sum", f"two_sum_{i}"), "python")
        colds.append((await driver.hover(other, *HOVER))[1])
    return {"cold_hover": _summary(colds), "warm_hover": _summary(warm),
            "explained_after_s": explained}


async def _measure(model: str, device: str, requests: int) -> dict:
    driver = Driver()
    await driver.start({"model": model, "device": device, "maxNewTokens": 4096})
    try:
        with tempfile.TemporaryDirectory() as tmp:
            uri = driver.open(Path(tmp) / "solution.py", SOURCE, "python")
            hovers = await _hovers(driver, tmp, uri, requests)
            actions, _ = await driver.code_actions(uri, TODO_LINE)
            running = asyncio.ensure_future(driver.execute(actions[0]))
            await asyncio.sleep(1.0)  # let the generation get going
            listing, hovering = [], []
            for _ in range(requests):
                listing.append((await driver.code_actions(uri, TODO_LINE))[1])
                hovering.append((await driver.hover(uri, *HOVER))[1])
            busy = not running.done()
            await running
    finally:
        await driver.stop()
    return {"generation_running_throughout": busy, "code_actions": _summary(listing),
            "cached_hover": _summary(hovering), **hovers}


def latency(model: str, device: str, requests: int = 50) -> dict:
    return asyncio.run(_measure(model, device, requests))
