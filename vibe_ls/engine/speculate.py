"""Prompt-lookup drafts: when the recent tokens occurred earlier, guess that what followed
them then follows them now. Rewrites and edits copy long spans of their input, so a draft
of several tokens is often verified in a single forward pass."""

from __future__ import annotations

from collections.abc import Sequence

MAX_NGRAM = 3
MAX_DRAFT = 8


def propose(tokens: list[int], max_ngram: int = MAX_NGRAM, max_draft: int = MAX_DRAFT,
            ) -> list[int]:
    """Up to `max_draft` tokens that followed the latest earlier match of the last n-gram."""
    for n in range(max_ngram, 0, -1):
        if len(tokens) <= n:
            continue
        tail = tokens[-n:]
        # search backwards, so the most recent occurrence (the likeliest copy) wins
        last = tail[-1]
        for start in range(len(tokens) - n - 1, -1, -1):
            # compare the last token first: most positions fail there, without a slice
            if tokens[start + n - 1] == last and tokens[start : start + n] == tail:
                return tokens[start + n : start + n + max_draft]
    return []


def agreeing(greedy: Sequence[int], draft: Sequence[int]) -> int:
    """How many drafted tokens the model's own greedy choices confirm, from the first."""
    n = 0
    while n < len(draft) and greedy[n] == draft[n]:
        n += 1
    return n
