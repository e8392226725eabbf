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
    scaled = logits.astype(np.float64) / sampling.temperature
    probs = np.exp(scaled - scaled.max())
    probs /= probs.sum()
    if sampling.top_p >= 1.0:
        return int(rng.choice(len(probs), p=probs))
    order = np.argsort(-probs)
    # the smallest set of most likely tokens whose mass reaches top_p (at least one)
    keep = order[: int(np.searchsorted(np.cumsum(probs[order]), sampling.top_p)) + 1]
    return int(keep[rng.choice(len(keep), p=probs[keep] / probs[keep].sum())])
