"""The generation loop: prefill (reusing cached prompt prefixes), then decode token by token
with sampling, stop conditions, streaming, cancellation, a reasoning budget and optional
prompt-lookup speculation. One generation at a time per engine; callers queue on a lock."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from vibe_ls.engine.chat import TextStream
from vibe_ls.engine.decode import (
    BoundDecoder,
    KVCache,
    cache_length,
    join_rows,
    left_pad,
    next_greedy,
    truncate,
)
from vibe_ls.engine.sampling import Sampling, pick
from vibe_ls.engine.speculate import MAX_DRAFT, agreeing, propose

if TYPE_CHECKING:
    from vibe_ls.engine.model import Engine

# lines that are not code yet: comments in our languages (and the block's own fence)
COMMENT_STARTS = ("#", "//", "/*", "*", "```")
PREFILL_CHUNK = 256  # tokens per prefill step: bounds memory and lets cancel act mid-prompt

OnText = Callable[[str, int], None]  # (text delta, tokens generated so far)
# A row of a batch finished: (its index, its result). True drops the rows still running,
# which finish as "dropped" with what they wrote so far; a Request joins the batch as a row.
OnRow = Callable[[int, "Result"], "bool | Request | None"]


@dataclass
class Request:
    prompt: list[int]
    max_new_tokens: int = 512
    sampling: Sampling = field(default_factory=Sampling)
    stop: tuple[str, ...] = ()
    # Reasoning models think first; after this many tokens inside the reasoning span the
    # engine writes `reasoning_close` itself so the model must answer. None: no cap.
    reasoning_budget: int | None = None
    reasoning_close: str = "</think>"
    reasoning_open: str = "<think>"
    speculate: bool = False  # prompt-lookup drafts; pays off when the output copies the input
    ignore_eos: bool = False  # benchmarks: always generate max_new_tokens
    # An answer with code: once its first code block closes, end it after the complexity
    # line (at once if it came before the code), or after this many tokens without one. What
    # small models write after their code is mostly a retelling of it (measured: up to 580
    # tokens). None: no such limit.
    after_code: int | None = None
    # The answer starts inside a code block (an opened fence). It may not end, nor close the
    # block, before it has written a line of code: asked again from an opened block, the 0.5B
    # often writes the TODO comment back and closes the block at once.
    code_open: bool = False


@dataclass
class Result:
    text: str
    tokens: list[int]
    # "eos" | "stop" | "length" | "repetition" | "cancelled" | "dropped" (see OnRow)
    finish_reason: str
    prompt_tokens: int
    cached_tokens: int  # prompt tokens whose KV came from the prefix cache
    ttft_s: float  # request start to the first generated token
    decode_s: float
    drafted: int = 0
    accepted: int = 0

    @property
    def tokens_per_s(self) -> float:
        return (len(self.tokens) - 1) / self.decode_s if self.decode_s > 0 else 0.0


class Lines:
    """The answer's lines as they complete: where its first code block closes (for
    `Request.after_code`), and a small model stuck in a loop. The 0.5B sometimes writes the
    same line over and over (`# 9. If there are no people who are the town judge, …`) until
    the token limit: hundreds of tokens, tens of seconds in a batch, for nothing."""

    REPEATS = 5  # the same line (a list item's number aside) this often: a loop
    MIN_CHARS = 20  # shorter lines repeat in real code (`left += 1`, `return False`)
    WINDOW = 64  # in a line that goes on and on, its last characters written this often

    def __init__(self, code_open: bool) -> None:
        self.partial = ""
        self.code_open = code_open
        self.closed_at: int | None = None  # tokens generated when the first block closed
        self.complexity = False  # a complexity line was written
        self.code_lines = 0  # lines of code (not comments, not blank) inside code blocks
        self.seen: dict[str, int] = {}

    def push(self, delta: str, tokens: int, after_code: int | None) -> str | None:
        """Take generated text; a finish reason when the answer should end here."""
        if "\n" in delta:
            *done, self.partial = (self.partial + delta).split("\n")
            for line in done:
                reason = self.line(line.strip(), tokens, after_code)
                if reason:
                    return reason
        else:
            self.partial += delta
            if len(self.partial) >= 4 * self.WINDOW and \
                    self.partial.count(self.partial[-self.WINDOW:]) >= self.REPEATS:
                return "repetition"  # one endless line: the same sentence over and over
        if after_code is not None and self.closed_at is not None and \
                tokens - self.closed_at >= after_code:
            return "stop"
        return None

    def line(self, line: str, tokens: int, after_code: int | None) -> str | None:
        key = re.sub(r"^(\W*)\d+", r"\1#", line)  # a numbered list item: its number aside
        said = "O(" in line and ("time" in line.lower() or "complexity" in line.lower())
        if len(key) >= self.MIN_CHARS:
            self.seen[key] = self.seen.get(key, 0) + 1
            # A complexity line is written once; the 0.5B that writes it again writes it
            # five times, and often no code at all (10 of 40 LeetCode answers).
            if self.seen[key] >= (2 if said else self.REPEATS):
                return "repetition"
        if said:
            self.complexity = True
        if self.code_open and line and not line.startswith(COMMENT_STARTS):
            self.code_lines += 1
        if line.startswith("```") and self.closed_at is None:
            if self.code_open:
                self.closed_at = tokens
            self.code_open = not self.code_open
        if after_code is not None and self.closed_at is not None and self.complexity:
            return "stop"
        return None


class Generation:
    """The state of one running request; `Engine.generate` drives it."""

    def __init__(self, engine: Engine, request: Request, on_text: OnText | None,
                 cancel: threading.Event | None, counted: int = 0) -> None:
        self.engine, self.req = engine, request
        self.on_text, self.cancel = on_text, cancel or threading.Event()
        self.counted = counted  # tokens streamed before this one began (a row it goes on for)
        self.rng = np.random.default_rng(request.sampling.seed)
        self.stream = TextStream(engine.chat)
        self.tokens: list[int] = []
        self.text = ""
        self.reasoning_tokens = 0
        self.in_reasoning = engine.chat.decode(request.prompt[-16:]).rstrip().endswith(
            request.reasoning_open)
        self.forced: list[int] = []
        self.drafted = self.accepted = 0
        self.draft_len, self.pause = 4, 0  # adaptive prompt-lookup draft length
        self.lines = Lines(request.code_open)

    def cancelled(self) -> bool:
        return self.cancel.is_set()

    @property
    def guarding(self) -> bool:
        """An answer begun in an opened code block that has no line of code yet."""
        return self.req.code_open and self.lines.code_lines == 0 and \
            self.lines.closed_at is None and not self.req.ignore_eos

    def guard(self, logits: np.ndarray) -> np.ndarray:
        """`logits` with, while guarding, the answer's end and the block's close ruled out."""
        if not self.guarding:
            return logits
        logits = logits.astype(np.float32, copy=True)
        logits[self.engine.chat.backtick_ids] = -np.inf
        logits[list(self.engine.eos_ids)] = -np.inf
        return logits

    def prefill(self) -> tuple[np.ndarray | None, KVCache, int]:
        """Logits of the last prompt token and the prompt's KV, reusing a cached prefix."""
        engine, prompt = self.engine, self.req.prompt
        cache, reused = engine.prefixes.lookup(prompt, engine.decoder)
        logits = None
        for start in range(reused, len(prompt), PREFILL_CHUNK):
            if self.cancelled():
                return None, cache, reused
            logits, cache = engine.decoder.forward(prompt[start : start + PREFILL_CHUNK],
                                                   cache, keep=1)
        engine.prefixes.store(prompt, cache)
        return logits, cache, reused

    def accept(self, token: int) -> str | None:
        """Record one generated token; returns a finish reason when generation must stop."""
        self.tokens.append(token)
        if token in self.engine.eos_ids and not self.req.ignore_eos:
            self.tokens.pop()
            return "eos"
        delta = self.stream.push([token])
        self.text += delta
        for stop in self.req.stop:
            if stop in self.text[-(len(delta) + len(stop)) :]:
                self.text = self.text[: self.text.index(stop)]
                return "stop"
        if delta and self.on_text:
            self.on_text(delta, self.counted + len(self.tokens))
        self.track_reasoning()
        if not self.in_reasoning:
            ended = self.lines.push(delta, len(self.tokens), self.req.after_code)
            if ended:
                return ended
        return "length" if len(self.tokens) >= self.req.max_new_tokens else None

    def track_reasoning(self) -> None:
        req = self.req
        tail = self.text[-64:]
        if req.reasoning_open in tail and req.reasoning_close not in tail.split(
                req.reasoning_open)[-1]:
            self.in_reasoning = True
        if self.in_reasoning and req.reasoning_close in tail:
            self.in_reasoning = False
        if not self.in_reasoning or req.reasoning_budget is None:
            return
        self.reasoning_tokens += 1
        if self.reasoning_tokens >= req.reasoning_budget and not self.forced:
            # Out of budget: make the model close its reasoning and answer.
            self.forced = self.engine.chat.encode(f"\n{req.reasoning_close}\n\n")
            self.in_reasoning = False

    def step(self, logits: np.ndarray | int, cache: KVCache,
             ) -> tuple[list[int], np.ndarray | int, KVCache]:
        """Choose the next token(s) and run them through the model. `logits` is the
        distribution to pick from, or the token already picked on the device."""
        engine, greedy = self.engine, self.req.sampling.greedy
        if self.forced:
            chosen, self.forced = self.forced, []
        elif isinstance(logits, int):
            chosen = [logits]
        else:
            chosen = [pick(self.guard(logits[-1]), self.req.sampling, self.rng)]
        # while guarding, the next choice needs the logits (drafts and the device's own
        # argmax would choose without the guard)
        guarding = self.guarding
        if self.req.speculate and greedy and engine.decoder.can_truncate and \
                len(chosen) == 1 and not guarding:
            return self.speculative_step(chosen[0], cache)
        if greedy and isinstance(engine.decoder, BoundDecoder) and \
                engine.decoder.has_next_token and not guarding:
            token, cache = next_greedy(engine.decoder, chosen, cache)  # only the id comes back
            return chosen, token, cache
        logits, cache = engine.decoder.forward(chosen, cache, keep=1)
        return chosen, logits, cache

    def speculative_step(self, token: int, cache: KVCache):
        """Verify a prompt-lookup draft in one forward pass; keep the agreeing prefix."""
        draft = propose([*self.req.prompt, *self.tokens, token], max_draft=self.draft_len)
        logits, new_cache = self.engine.decoder.forward([token, *draft], cache,
                                                        keep=len(draft) + 1)
        n = agreeing(logits.argmax(-1), draft)
        self.drafted, self.accepted = self.drafted + len(draft), self.accepted + n
        self.adapt_draft(len(draft), n)
        kept = cache_length(cache) + 1 + n
        return [token, *draft[:n]], logits[n : n + 1], truncate(new_cache, kept)

    def adapt_draft(self, drafted: int, accepted: int) -> None:
        """Drafts cost compute when they fail: grow them while they are accepted, shrink them
        when they are not, and pause drafting for a while after repeated misses."""
        if drafted == 0:
            self.pause = max(self.pause - 1, 0)
            self.draft_len = self.draft_len or (1 if self.pause == 0 else 0)
        elif accepted == drafted:
            self.draft_len = min(self.draft_len * 2, MAX_DRAFT)
        elif accepted == 0:
            self.draft_len //= 2
            self.pause = 8 if self.draft_len == 0 else 0

    def run(self) -> Result:
        start = time.monotonic()
        logits, cache, reused = self.prefill()
        first_token_at = time.monotonic()  # choosing the first token costs one argmax
        finish = "cancelled"
        while logits is not None and not self.cancelled():
            chosen, logits, cache = self.step(logits, cache)
            reason = next((r for r in map(self.accept, chosen) if r), None)  # stops at first
            if reason:
                finish = reason
                break
        return Result(self.text, self.tokens, finish, len(self.req.prompt), reused,
                      first_token_at - start, time.monotonic() - first_token_at,
                      self.drafted, self.accepted)


def run_rows(engine: Engine, requests: list[Request], on_text: OnText | None,
             cancel: threading.Event | None, on_row: OnRow | None = None) -> list[Result]:
    """Several requests decoded together, one forward step for all rows per token: each row
    keeps its own prompt, sampling, stops and reasoning budget, and a finished row leaves the
    batch. Memory-bound decoding makes this cheap on CPU (measured with the 0.5B int4: 3 rows
    cost 1.6x one row per step, 4 rows 1.8x), and overhead-bound decoding on CUDA cheaper
    still (H200: 4 sampled rows gave 3.4x one row's tokens per second; the cache stays on the
    device and goes through the host only when a row joins or ends). `on_text` streams the
    first row; `on_row` hears of each row as it finishes and may drop the rest, or hand a
    request that joins the batch as a new row (numbered after the requests, in the order they
    joined)."""
    cancel = cancel or threading.Event()
    rows = [Generation(engine, r, on_text if i == 0 else None, cancel)
            for i, r in enumerate(requests)]
    start = time.monotonic()
    firsts, caches, reused = [], [], []
    prefilled: dict[tuple[int, ...], tuple[np.ndarray, KVCache]] = {}
    for row in rows:  # one by one; rows asking the same (samples) share one prefill
        key = tuple(row.req.prompt)
        if key in prefilled:
            (logits, cache), n = prefilled[key], len(key)
        else:
            logits, cache, n = row.prefill()
            if logits is None:
                break
            prefilled[key] = logits, cache
        firsts.append(logits[-1])
        caches.append(cache)
        reused.append(n)
    finish: list[str] = ["cancelled"] * len(rows)
    first_token_at = time.monotonic()

    def result(i: int) -> Result:
        return Result(rows[i].text, rows[i].tokens, finish[i], len(rows[i].req.prompt),
                      reused[i] if i < len(reused) else 0, first_token_at - start,
                      time.monotonic() - first_token_at)

    decoder = engine.decoder
    if len(caches) == len(rows):
        cache, mask = left_pad([decoder.to_host(c) for c in caches])
        cache = decoder.to_device(cache)
        logits = np.stack(firsts)
        alive = list(range(len(rows)))
        joining: list[tuple[Request, int]] = []  # and the row it goes on for
        while (alive or joining) and not cancel.is_set():
            for request, parent in joining:  # its first token is picked with the others' next
                # A row going on for the streamed one streams in its place.
                streamed = rows[parent].on_text is not None
                row = Generation(engine, request, on_text if streamed else None, cancel,
                                 rows[parent].counted + len(rows[parent].tokens))
                first_logits, row_cache, n = row.prefill()
                if first_logits is None:
                    break
                rows.append(row)
                finish.append("cancelled")
                reused.append(n)
                cache, mask = join_rows(decoder.to_host(cache), mask,
                                        decoder.to_host(row_cache))
                cache = decoder.to_device(cache)
                logits = np.concatenate([logits, first_logits[-1:]])
                alive.append(len(rows) - 1)
            joining = []
            keep, tokens, done = [], [], []
            for j, r in enumerate(alive):
                row = rows[r]
                token = row.forced.pop(0) if row.forced else pick(
                    row.guard(logits[j]), row.req.sampling, row.rng)
                reason = row.accept(token)
                if reason:
                    finish[r] = reason
                    done.append(r)
                else:
                    keep.append(j)
                    tokens.append(token)
            said = [on_row(r, result(r)) for r in done] if on_row else []  # hear every one
            if any(x is True for x in said):
                for j in keep:
                    finish[alive[j]] = "dropped"
                break
            joining = [(x, r) for x, r in zip(said, done, strict=False)
                       if isinstance(x, Request)]
            if len(keep) < len(alive):  # finished rows leave, and padding nobody needs
                alive = [alive[j] for j in keep]
                mask, logits = mask[keep], logits[keep]
                first = int(mask.any(axis=0).argmax()) if alive else mask.shape[1]
                cache = decoder.to_device([kv[keep][:, :, first:]
                                           for kv in decoder.to_host(cache)])
                mask = mask[:, first:]
            if alive:
                mask = np.concatenate([mask, np.ones((len(alive), 1), np.int64)], axis=1)
                logits, cache = decoder.forward_rows(tokens, mask, cache)
    decode_s = time.monotonic() - first_token_at
    return [replace(result(i), decode_s=decode_s) for i in range(len(rows))]
