"""Responsiveness while the model works: code-action listing and a cached hover, timed over
LSP against the real server while an Implement generation is running."""

from __future__ import annotations

import asyncio
import statistics
import tempfile
from pathlib import Path

from vibe_ls.bench.lsp_driver import Driver

SOURCE = '''def longest_increasing_subsequence(nums: list[int]) -> int:
    tails: list[int] = []
    for x in nums:
        lo, hi = 0, len(tails)
        while lo < hi:
            mid = (lo + hi) // 2
            if tails[mid] < x:
                lo = mid + 1
            else:
                hi = mid
        if lo == len(tails):
            tails.append(x)
        else:
            tails[lo] = x
    return len(tails)


def three_sum_closest(nums: list[int], target: int) -> int:
    # TODO: find three numbers whose sum is closest to target
    pass
'''
TODO_LINE = 18


def _summary(samples: list[float]) -> dict:
    ms = sorted(s * 1000 for s in samples)
    return {"n": len(ms), "p50_ms": statistics.median(ms),
            "p95_ms": ms[min(len(ms) - 1, int(len(ms) * 0.95))], "max_ms": ms[-1]}


async def _measure(model: str, device: str, requests: int) -> dict:
    driver = Driver()
    await driver.start({"model": model, "device": device, "maxNewTokens": 4096})
    try:
        with tempfile.TemporaryDirectory() as tmp:
            uri = driver.open(Path(tmp) / "lis.py", SOURCE, "python")
            await driver.hover(uri, 0, 6)  # explain once, so later hovers hit the cache
            actions, _ = await driver.code_actions(uri, TODO_LINE)
            running = asyncio.ensure_future(driver.execute(actions[0]))
            await asyncio.sleep(1.0)  # let the generation get going
            listing, hovering = [], []
            for _ in range(requests):
                listing.append((await driver.code_actions(uri, TODO_LINE))[1])
                hovering.append((await driver.hover(uri, 0, 6))[1])
            busy = not running.done()
            await running
    finally:
        await driver.stop()
    return {"generation_running_throughout": busy, "code_actions": _summary(listing),
            "cached_hover": _summary(hovering)}


def latency(model: str, device: str, requests: int = 50) -> dict:
    return asyncio.run(_measure(model, device, requests))
