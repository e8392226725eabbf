"""The generation loop on a static KV buffer (engine/static.py): the same requests, stops,
streaming and results as engine/generate.py, with each row of a batch in a row of the
buffer. A greedy step brings back only the token id; a prompt prefix the buffer or its stash
holds is not computed again; speculation cuts a row back for free."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from vibe_ls.engine.generate import PREFILL_CHUNK, Generation, OnRow, OnText, Request, Result
from vibe_ls.engine.sampling import pick
from vibe_ls.engine.speculate import agreeing, propose
from vibe_ls.engine.static import DEFAULT_CONTEXT, Span, StaticDecoder
from vibe_ls.errors import VibeError

if TYPE_CHECKING:
    from vibe_ls.engine.model import Engine


def parts(opened, context: int) -> tuple[StaticDecoder, type, object]:
    """The decoder, the generation and the batch loop for an opened GQA session."""
    decoder = StaticDecoder(opened.session, opened.provider, context=context or DEFAULT_CONTEXT,
                            cuda_graphs=opened.provider == "cuda")
    return decoder, StaticGeneration, static_rows


class StaticGeneration(Generation):
    """One request in one row of the static buffer."""

    @property
    def decoder(self) -> StaticDecoder:
        return self.engine.decoder

    def prefill(self, row: int = 0) -> tuple[np.ndarray | None, Span, int]:
        """Logits of the last prompt token and its span in `row`, reusing a held prefix."""
        prompt = self.req.prompt
        if len(prompt) >= self.decoder.context:
            raise VibeError(f"the prompt has {len(prompt)} tokens; the model's KV buffer holds "
                            f"{self.decoder.context}", "select less code or export the model "
                            "with a larger --context")
        span = self.decoder.reuse(prompt, row)
        reused, logits = span.length, None
        for start in range(reused, len(prompt), PREFILL_CHUNK):
            if self.cancelled():
                return None, span, reused
            logits, span = self.decoder.forward(prompt[start : start + PREFILL_CHUNK], span,
                                                keep=1)
        self.decoder.remember(prompt, span)
        return logits, span, reused

    def room(self, span: Span) -> int:
        return self.decoder.context - span.length

    def step(self, logits: np.ndarray | int, span: Span,
             ) -> tuple[list[int], np.ndarray | int, Span]:
        """Choose the next token(s) and run them; `logits` may be the device's choice."""
        if self.forced:
            chosen, self.forced = self.forced[: self.room(span)], []
        elif isinstance(logits, int):
            chosen = [logits]
        else:
            chosen = [pick(self.guard(logits[-1]), self.req.sampling, self.rng)]
        greedy, guarding = self.req.sampling.greedy, self.guarding
        if self.req.speculate and greedy and len(chosen) == 1 and not guarding:
            return self.speculative_step(chosen[0], span)
        if len(chosen) > 1:
            logits, span = self.decoder.forward(chosen, span, keep=1)
            return chosen, logits, span
        want_logits = not greedy or guarding  # the guard needs them; so does sampling
        ids, rows, (span,) = self.decoder.step(chosen, [span], want_logits)
        return chosen, (rows if want_logits else int(ids[0])), span

    def speculative_step(self, token: int, span: Span,
                         ) -> tuple[list[int], np.ndarray, Span]:
        """Verify a prompt-lookup draft in one pass; the rejected tail is cut off the span."""
        draft = propose([*self.req.prompt, *self.tokens, token], max_draft=self.draft_len)
        draft = draft[: max(self.room(span) - 1, 0)]
        logits, _ = self.decoder.forward([token, *draft], span, keep=len(draft) + 1)
        n = agreeing(logits.argmax(-1), draft)
        self.drafted, self.accepted = self.drafted + len(draft), self.accepted + n
        self.adapt_draft(len(draft), n)
        return [token, *draft[:n]], logits[n : n + 1], Span(span.row, span.length + 1 + n)

    def run(self) -> Result:
        start = time.monotonic()
        logits, span, reused = self.prefill()
        first_token_at = time.monotonic()
        finish = "cancelled"
        while logits is not None and not self.cancelled():
            if self.room(span) < 1:  # the buffer is full: the answer ends here
                finish = "length"
                break
            chosen, logits, span = self.step(logits, span)
            reason = next((r for r in map(self.accept, chosen) if r), None)
            if reason:
                finish = reason
                break
        return Result(self.text, self.tokens, finish, len(self.req.prompt), reused,
                      first_token_at - start, time.monotonic() - first_token_at,
                      self.drafted, self.accepted)


class Batch:
    """The rows decoding together: slot i of the batch is row i of the buffer."""

    def __init__(self, engine: Engine, on_text: OnText | None, cancel: threading.Event) -> None:
        self.engine, self.on_text, self.cancel = engine, on_text, cancel
        self.decoder: StaticDecoder = engine.decoder
        self.rows: list[StaticGeneration] = []
        self.finish: list[str] = []
        self.reused: list[int] = []
        self.slots: list[int] = []  # the row decoding in each slot
        self.spans: list[Span] = []
        self.logits: list[np.ndarray | None] = []  # per slot: the host logits to pick from
        self.ids: np.ndarray | None = None  # per slot: the device's argmax
        # prompt -> the slot that prefilled it and its last logits (while it stays there)
        self.prefilled: dict[tuple[int, ...], tuple[int, np.ndarray]] = {}

    def admit(self, row: StaticGeneration) -> bool:
        """Prefill `row` into the next slot (a prompt another slot holds is copied)."""
        slot, prompt = len(self.slots), tuple(row.req.prompt)
        self.decoder.reserve(slot + 1)
        if prompt in self.prefilled:  # samples of one prompt: its KV is copied
            twin, logits = self.prefilled[prompt]
            self.decoder.copy_row(twin, slot, len(prompt))
            span, reused = Span(slot, len(prompt)), len(prompt)
        else:
            logits, span, reused = row.prefill(slot)
            if logits is None:
                return False
            logits = logits[-1:]
            self.prefilled[prompt] = slot, logits
        self.rows.append(row)
        self.finish.append("cancelled")
        self.reused.append(reused)
        self.slots.append(len(self.rows) - 1)
        self.spans.append(span)
        self.logits.append(logits)
        return True

    def pick(self, slot: int) -> int:
        row = self.rows[self.slots[slot]]
        if row.forced:
            return row.forced.pop(0)
        logits = self.logits[slot]
        if logits is None:  # the device chose (greedy, unguarded)
            return int(self.ids[slot])
        return pick(row.guard(logits[-1]), row.req.sampling, row.rng)

    def leave(self, gone: list[int], tokens: list[int]) -> list[int]:
        """Slots whose rows ended: the last slots move into them (rows stay contiguous).
        Returns `tokens` (one per slot) in the new order of the slots."""
        for slot in sorted(gone, reverse=True):
            last = len(self.slots) - 1
            if slot != last:
                self.decoder.copy_row(last, slot, self.spans[last].length)
                self.slots[slot], tokens[slot] = self.slots[last], tokens[last]
                self.spans[slot] = Span(slot, self.spans[last].length)
                self.logits[slot] = self.logits[last]
                if self.ids is not None:
                    self.ids[slot] = self.ids[last]
            for per_slot in (self.slots, self.spans, self.logits, tokens):
                per_slot.pop()
        if gone:
            self.prefilled = {}  # slots moved: a later twin prefills again
        return tokens

    def advance(self, tokens: list[int]) -> None:
        """One step for every slot; logits come back only for rows that sample or guard."""
        rows = [self.rows[r] for r in self.slots]
        want = any(not r.req.sampling.greedy or r.guarding for r in rows)
        self.ids, logits, self.spans = self.decoder.step(tokens, self.spans, want)
        self.logits = [None if logits is None or (r.req.sampling.greedy and not r.guarding)
                       else logits[i : i + 1] for i, r in enumerate(rows)]


def static_rows(engine: Engine, requests: list[Request], on_text: OnText | None,
                cancel: threading.Event | None, on_row: OnRow | None = None) -> list[Result]:
    """Several requests decoded together on the static buffer (see generate.run_rows for the
    contract: `on_text` streams the first row, `on_row` hears of each finished row and may
    drop the rest or add a row)."""
    cancel = cancel or threading.Event()
    batch = Batch(engine, on_text, cancel)
    batch.decoder.reserve(len(requests))  # one allocation for the rows known at the start
    start = time.monotonic()
    for i, request in enumerate(requests):
        if not batch.admit(StaticGeneration(engine, request, on_text if i == 0 else None,
                                            cancel)):
            break
    first_token_at = time.monotonic()

    def result(i: int) -> Result:
        row = batch.rows[i]
        return Result(row.text, row.tokens, batch.finish[i], len(row.req.prompt),
                      batch.reused[i], first_token_at - start, time.monotonic() - first_token_at)

    if len(batch.rows) == len(requests):
        _decode(batch, result, on_row)
    decode_s = time.monotonic() - first_token_at
    results = [replace(result(i), decode_s=decode_s) for i in range(len(batch.rows))]
    return results + [Result("", [], "cancelled", len(r.prompt), 0, 0.0, 0.0)
                      for r in requests[len(results):]]


def _decode(batch: Batch, result, on_row: OnRow | None) -> None:
    """Step every slot until all rows end, are dropped or are cancelled."""
    joining: list[tuple[Request, int]] = []
    while (batch.slots or joining) and not batch.cancel.is_set():
        for request, parent in joining:  # a row going on for the streamed one streams too
            streamed = batch.rows[parent].on_text is not None
            row = StaticGeneration(batch.engine, request, batch.on_text if streamed else None,
                                   batch.cancel, batch.rows[parent].counted +
                                   len(batch.rows[parent].tokens))
            if not batch.admit(row):
                return
        tokens, done = [], []
        for slot, r in enumerate(batch.slots):
            token = batch.pick(slot)
            full = batch.spans[slot].length >= batch.decoder.context
            reason = batch.rows[r].accept(token) or ("length" if full else None)
            if reason:
                batch.finish[r] = reason
                done.append(slot)
            tokens.append(token)
        ended = [batch.slots[s] for s in done]
        said = [on_row(r, result(r)) for r in ended] if on_row else []
        if any(x is True for x in said):
            for r in batch.slots:
                if r not in ended:
                    batch.finish[r] = "dropped"
            return
        joining = [(x, r) for x, r in zip(said, ended, strict=False) if isinstance(x, Request)]
        tokens = batch.leave(done, tokens)
        if batch.slots:
            batch.advance(tokens)
