"""Responsiveness while the model works: code-action listing and a cached hover, timed over
LSP against the real server while an Implement generation is running."""

from __future__ import annotations

import asyncio
import statistics
import tempfile
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


async def _measure(model: str, device: str, requests: int) -> dict:
    driver = Driver()
    await driver.start({"model": model, "device": device, "maxNewTokens": 4096})
    try:
        with tempfile.TemporaryDirectory() as tmp:
            uri = driver.open(Path(tmp) / "solution.py", SOURCE, "python")
            await driver.hover(uri, *HOVER)  # explain once, so later hovers hit the cache
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
            "cached_hover": _summary(hovering)}


def latency(model: str, device: str, requests: int = 50) -> dict:
    return asyncio.run(_measure(model, device, requests))
