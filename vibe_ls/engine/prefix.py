"""Reuse of prompt KV across requests: every prompt's KV is kept (a few, least recently used
first out), and a new prompt starts from the longest cached common prefix — typically the
system prompt and fixed instructions, so only the new part of a request is prefilled."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from vibe_ls.engine.decode import Decoder, KVCache, truncate


def common_prefix(a: list[int], b: list[int]) -> int:
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


class PrefixCache:
    def __init__(self, capacity: int = 4) -> None:
        self.capacity = capacity
        self.entries: OrderedDict[tuple[int, ...], KVCache] = OrderedDict()

    def lookup(self, prompt: list[int], decoder: Decoder) -> tuple[KVCache, int]:
        """The KV of the longest cached prefix of `prompt`, and its length. At least one
        prompt token is always left to prefill: its logits choose the first new token."""
        best, best_len = None, 0
        if not decoder.can_truncate:  # device-resident caches: prefill is cheap there anyway
            return decoder.empty_cache(), 0
        for key in self.entries:
            n = min(common_prefix(list(key), prompt), len(prompt) - 1)
            if n > best_len:
                best, best_len = key, n
        if best is None:
            return decoder.empty_cache(), 0
        self.entries.move_to_end(best)
        return truncate(self.entries[best], best_len), best_len

    def store(self, prompt: list[int], cache: KVCache) -> None:
        if not isinstance(cache[0], np.ndarray):
            return
        self.entries[tuple(prompt)] = cache
        self.entries.move_to_end(tuple(prompt))
        while len(self.entries) > self.capacity:
            self.entries.popitem(last=False)

    def clear(self) -> None:
        self.entries.clear()
