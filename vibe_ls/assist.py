"""The assistant: one call per user action, the same code path for the server and the CLI.
triggers (where) -> prompts (what to ask) -> engine (generate) -> postprocess (clean the
answer) -> edits (where it goes). Runs on the caller's thread; the server calls it from its
model worker thread."""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from textwrap import dedent
from typing import TYPE_CHECKING

from vibe_ls import edits, placement, postprocess, prompts, triggers
from vibe_ls import hover as hovering
from vibe_ls.edits import TextEdit
from vibe_ls.engine.sampling import Sampling
from vibe_ls.errors import VibeError
from vibe_ls.home import resolve_model
from vibe_ls.manifest import read_manifest
from vibe_ls.postprocess import Answer, Complexity
from vibe_ls.settings import Settings
from vibe_ls.verify import checks, growth, verifier
from vibe_ls.verify import rewrite as rewriting

if TYPE_CHECKING:
    from vibe_ls.engine import Engine, Request, Result

log = logging.getLogger(__name__)

Span = tuple[tuple[int, int], tuple[int, int]]
OnText = Callable[[str, int], None]
# Most rows decoded together: a reference and two samples (and, without the user's examples,
# a short row of the model's asserts). Measured on CPU with the 0.5B int4 at a ~1000-token
# prompt (a LeetCode docstring), 3 rows cost 2.1x one row per token.
BATCH = 3
# Tokens an answer may go on after its code block without reaching its complexity line (the
# system prompt asks for that line right after the block; a short sentence may come first).
AFTER_CODE = 48


@dataclass(frozen=True)
class Target:
    text: str
    language: str
    file_name: str


@dataclass
class Proposal:
    """Edits for one snapshot of the document, and how to redo them on a changed one."""

    label: str
    edits: list[TextEdit]
    summary: str
    anchor: str  # what the edit is attached to, in words, for the "it is gone" message
    reanchor_fn: Callable[[str], list[TextEdit] | None] = field(repr=False)
    result: Result | None = None
    details: dict = field(default_factory=dict)  # what was verified, for tools and benchmarks
    refused: bool = False  # nothing to apply: `summary` says why
    alternative: Proposal | None = None  # what a refused action can still apply, labelled

    def reanchor(self, text: str) -> list[TextEdit] | None:
        return self.reanchor_fn(text)


def _span_text(text: str, span: Span) -> str:
    """The text of `span`; a span reaching past the end (a selection remembered from before
    the document shrank) is cut at the end."""
    lines = text.split("\n")
    (sl, sc), (el, ec) = ((min(line, len(lines) - 1), column if line < len(lines) else 1 << 30)
                          for line, column in span)
    if sl == el:
        return lines[sl][sc:ec]
    return "\n".join([lines[sl][sc:], *lines[sl + 1 : el], lines[el][:ec]])


class Assistant:
    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self._engine: Engine | None = None
        self._engine_lock = threading.Lock()
        self._explanations: OrderedDict[str, str] = OrderedDict()
        self._growth: OrderedDict[str, growth.Judgement] = OrderedDict()
        self._timings: OrderedDict[str, growth.Growth] = OrderedDict()  # by fingerprint
        self._last_rows: list[Result] = []  # the last batch written, for its speed

    # -- the model --------------------------------------------------------------------
    def configure(self, settings: Settings) -> None:
        old, self.settings = self.settings, settings
        if (old.model, old.device) != (settings.model, settings.device):
            self._engine = None  # loaded again, lazily, on the next request

    def model_problem(self) -> VibeError | None:
        """Why the configured model cannot load, checked cheaply (no loading)."""
        try:
            read_manifest(resolve_model(self.settings.model))
        except VibeError as exc:
            return exc
        return None

    def engine(self) -> Engine:
        # onnxruntime, numpy and the tokenizer load here, on the first request, not when the
        # server starts: `initialize` is answered before them (about 0.17 s sooner).
        from vibe_ls.engine import Engine

        with self._engine_lock:
            if self._engine is None:
                self._engine = Engine(self.settings.model, device=self.settings.device)
            return self._engine

    def use_adapter(self, spec: str) -> VibeError | None:
        """Make the LoRA adapter `spec` (a name under the model's adapters, or a directory;
        "" for none) active for what follows, loading the model if it is not. One that
        cannot be used leaves the base model active; the VibeError returned says why."""
        from vibe_ls.adapters import resolve_adapter

        engine = self.engine()
        try:
            engine.use_adapter(resolve_adapter(spec, engine.installed_as) if spec else None)
        except VibeError as exc:
            engine.use_adapter(None)
            return VibeError(f"adapter {spec!r} is not used, the base model is: {exc.message}",
                             exc.hint)
        return None

    def running_on(self) -> str:
        """Where the model runs, and its adapter if one is active (for messages)."""
        engine = self.engine()
        adapter = f", adapter {engine.adapter.name}" if engine.adapter else ""
        return f"{engine.provider}{adapter}"

    def in_use(self) -> dict[str, str]:
        """The model and the device: those of the loaded engine, or before the first request
        loads it, those a load will try (`loaded: no`)."""
        from vibe_ls.engine import devices

        engine = self._engine
        if engine is not None:
            return {"model": engine.name, "precision": engine.manifest.precision,
                    "device": engine.provider, "loaded": "yes"}
        try:
            manifest = read_manifest(resolve_model(self.settings.model))
        except VibeError:
            return {"model": self.settings.model, "precision": "", "device": "", "loaded": "no"}
        return {"model": manifest.name, "precision": manifest.precision,
                "device": devices.planned(self.settings.device), "loaded": "no"}

    def engine_ready(self) -> bool:
        """The model is loaded (a request now waits only for its answer)."""
        return self._engine is not None

    def _ask(self, messages: list[dict[str, str]], on_text: OnText | None,
             cancel: threading.Event | None, max_new_tokens: int | None = None,
             speculate: bool = False, answer_start: str = "",
             sampling: Sampling | None = None, stop: tuple[str, ...] = (),
             code: bool = False) -> tuple[str, Result]:
        """The model's answer to `messages`; `answer_start` is written for it first (the
        answer continues from there and includes it)."""
        request = self._request(messages, answer_start, max_new_tokens, speculate, sampling,
                                stop, code)
        result = self.engine().generate(request, on_text, cancel)
        _log_result(result)
        return answer_start + result.text, result

    def _request(self, messages: list[dict[str, str]], answer_start: str = "",
                 max_new_tokens: int | None = None, speculate: bool = False,
                 sampling: Sampling | None = None, stop: tuple[str, ...] = (),
                 code: bool = False) -> Request:
        """A request; for a `code` answer (code, then its complexity line), one that ends
        soon after its code block."""
        from vibe_ls.engine import Request

        engine = self.engine()
        prompt = engine.chat.encode(engine.chat.render(messages) + answer_start)
        return Request(prompt, max_new_tokens=max_new_tokens or self.settings.max_new_tokens,
                       reasoning_budget=self.settings.reasoning_budget or None,
                       speculate=speculate, sampling=sampling or Sampling(), stop=stop,
                       after_code=AFTER_CODE if code else None,
                       code_open=answer_start.count("```") % 2 == 1)

    def _ask_for_code(self, messages: list[dict[str, str]], language: str,
                      on_text: OnText | None, cancel: threading.Event | None,
                      speculate: bool = False, stub: triggers.Scope | None = None,
                      sampling: Sampling | None = None) -> tuple[Answer, Result]:
        text, result = self._ask(messages, on_text, cancel, speculate=speculate,
                                 sampling=sampling, code=True)
        return self._code_from(text, result, messages, language, on_text, cancel, speculate,
                               stub, sampling)

    def _code_from(self, text: str, result: Result, messages: list[dict[str, str]],
                   language: str, on_text: OnText | None, cancel: threading.Event | None,
                   speculate: bool, stub: triggers.Scope | None,
                   sampling: Sampling | None) -> tuple[Answer, Result]:
        """The code of an answer. A small model that answered in prose only, or handed the
        `stub` back unimplemented, is asked again with its code block already opened (and the
        stub's signature written), so it has to go on with the body."""
        answer = _parse(text, language)
        start = _again(text, answer, result, language, stub)
        if start is None:
            return answer, result
        text, result = self._ask(messages, on_text, cancel, speculate=speculate,
                                 answer_start=start, sampling=sampling, code=True)
        return _parse(text, language), result

    def _write(self, attempt: Attempt, samplings: list[Sampling],
               reference: verifier.ReferenceRequest | None,
               function: str | None, on_text: OnText | None, cancel: threading.Event | None,
               text: verifier.TextRequest | None = None,
               heard: Callable[[str, object], bool] | None = None,
               ) -> tuple[list[tuple[Answer, Result]], Answer | None, str | None]:
        """Candidates for `attempt`, one per sampling, with a `reference` request a
        brute-force reference of `function` too, and the answer to a `text` request (the
        model's asserts): decoded together. `on_text` streams the first candidate.
        `heard(kind, value)` hears of each row as it finishes ("candidate": (Answer, Result);
        "reference": Answer or None; "checks": the text) and may drop the rows still running:
        those come back with finish reason "dropped"."""
        language = attempt.target.language
        samples = len(samplings)

        def reference_of(result: Result) -> Answer | None:
            if result.finish_reason in ("cancelled", "dropped"):
                return None
            answer = _parse("```python\n" + result.text, "python")
            found = checks.find_function(answer.code, function or "")
            if found is None:
                log.info("the reference (%s) has no function %s: %r", result.finish_reason,
                         function, result.text[:600])
            return answer if found else None

        def checks_of(result: Result) -> str | None:
            return None if result.finish_reason in ("cancelled", "dropped") \
                else text[1] + result.text

        parsed: dict[int, Answer | None] = {}  # each row's answer, parsed once as it ends
        settled: list[bool] = []
        # Sample rows that answered in prose only or handed the stub back go on from an
        # opened code block, as a new row of the same batch (after it, one at a time, these
        # re-asks cost as much as the batch itself): (sample, what it goes on from).
        joined: list[tuple[int, str]] = []
        rows = samples + (reference is not None) + (text is not None)

        def on_row(i: int, result: Result) -> bool | Request | None:
            if i < samples or i >= rows:
                start = "" if i < samples else joined[i - rows][1]
                answer = parsed[i] = _parse(start + result.text, language)
                again = _again(result.text, answer, result, language, attempt.stub) \
                    if i < samples else None
                if again is not None and not settled:
                    joined.append((i, again))
                    return self._request(attempt.messages, again, sampling=samplings[i],
                                         code=True)
                said = heard("candidate", (answer, result)) if heard else False
            elif reference is not None and i == samples:
                parsed[i] = reference_of(result)
                said = heard("reference", parsed[i]) if heard else False
            else:
                said = heard("checks", checks_of(result)) if heard else False
            if said:
                settled.append(True)
            return said
        requests = [self._request(attempt.messages, sampling=s, code=True) for s in samplings]
        if reference is not None:
            messages = prompts.reference(attempt.task, reference.signature,
                                         self.settings.system_prompt, reference.failed,
                                         reference.plain)
            requests.append(self._request(messages, "```python\n", max_new_tokens=400,
                                          sampling=reference.sampling, stop=("\n```",)))
        if text is not None:
            messages, start, tokens = text
            requests.append(self._request(messages, start, max_new_tokens=tokens,
                                          stop=("```",)))
        everything = self.engine().generate_many(requests, on_text, cancel, on_row)
        results, extra = everything[:rows], everything[rows:]
        for result in everything:
            _log_result(result)
        if len(everything) > 1:
            tokens = sum(len(r.tokens) for r in everything)
            log.info("%d rows (%d joined): %d tokens at %.1f tok/s in all", len(everything),
                     len(extra), tokens, tokens / max(everything[0].decode_s, 1e-9))
        self._last_rows = _merged(results, [i for i, _ in joined], extra)
        answered = checks_of(results[-1]) if text is not None else None

        def answer_of(row: int, start: str, result: Result) -> Answer:  # unfinished: parse
            return parsed[row] if row in parsed else _parse(start + result.text, language)
        written = [(answer_of(i, "", r), r) for i, r in enumerate(results[:samples])]
        for k, ((i, start), r) in enumerate(zip(joined, extra, strict=False)):  # unrun: prose
            written[i] = (answer_of(rows + k, start, r), r)
        ref = None
        if reference is not None:
            ref = parsed[samples] if samples in parsed else reference_of(results[samples])
        return written, ref, answered

    def _count(self) -> Callable[[str], int]:
        chat = self.engine().chat
        return lambda text: len(chat.encode(text))

    def _question(self, instruction: str, target: Target, code: str) -> list[dict[str, str]]:
        return question_messages(instruction, target, code, self._count(),
                                 self.settings.system_prompt)

    def _complexity(self, target: Target, code: str, answer: Answer, cancel) -> Complexity:
        """The answer's complexity claim, or a short second call that states one."""
        if answer.complexity is not None:
            return answer.complexity
        messages = self._question(prompts.COMPLEXITY, target, code)
        text, _ = self._ask(messages, None, cancel, max_new_tokens=160)
        found = postprocess.parse_complexity(text)
        return found or Complexity(time="?", space="?", approach="not stated by the model")

    # -- actions ----------------------------------------------------------------------
    def implement(self, target: Target, line: int, on_text: OnText | None = None,
                  cancel: threading.Event | None = None,
                  on_phase: verifier.OnPhase | None = None) -> Proposal | None:
        marker = self.settings.todo_marker
        todo = triggers.todo_at(target.text, target.language, line, marker)
        if todo is None:
            raise VibeError(f"no {marker} comment on line {line + 1}")
        scope = triggers.todo_scope(target.text, target.language, todo)
        messages = implement_messages(target, todo, scope, self._count(),
                                      self.settings.system_prompt)
        stub = scope if scope and scope.is_stub else None
        attempt = Attempt(target, todo, messages, stub, scope, marker)
        if on_phase:
            on_phase("writing")
        started = time.monotonic()
        written, _, _ = self._write(attempt, [Sampling()], None, None, on_text, cancel)
        first_rows = self._last_rows
        if written[0][1].finish_reason == "cancelled":
            return None
        if not self._usable(*written[0], attempt):
            # A small model sometimes hands the stub back, or answers in prose only, even
            # when asked again with the code block opened: two samples get one more chance.
            if on_phase:
                on_phase("writing again")
            written, _, _ = self._write(attempt, [replace(verifier.SAMPLING, seed=n)
                                               for n in (1, 2)], None, None, on_text, cancel)
            first_rows = self._last_rows
            if cancel and cancel.is_set():
                return None
            written = [w for w in written if self._usable(*w, attempt)]
            if not written and attempt.problem:
                raise VibeError(f"the model's code could not go into the file: "
                                f"{attempt.problem}; try again or reword the TODO")
            if not written:
                raise VibeError("the model wrote no code for this TODO; try again or reword it")
        answer, result = written[0]
        placed = self._implementation(attempt, answer, scope)
        verdict, judgement, details = "", None, {}
        runs = verifier.runs_for(target.language) if self.settings.verify else None
        if runs is not None:
            outcome = self._verify(attempt, placed, runs, time.monotonic() - started, on_text,
                                   on_phase, cancel)
            if cancel and cancel.is_set():
                return None
            if outcome is not None:
                placed, verdict, judgement = outcome.chosen, outcome.summary, outcome.judgement
                details = outcome.details()
            elif runs.language != "python":
                from vibe_ls.verify import harness

                why = harness.unrunnable(target.language, target.text)
                verdict = "; not verified: " + (
                    why or "the harness cannot feed this function's types")
        elif self.settings.verify:
            from vibe_ls.verify import harness

            verdict = f"; not verified: {harness.missing(target.language)}"
        complexity = self._complexity(target, placed.answer.code, placed.answer, cancel)
        placed.complexity = verifier.apply_judgement(complexity, judgement)
        complexity = placed.complexity
        if judgement is not None and judgement.measured:
            self._remember_growth(placed, target, attempt, judgement)
        try:
            where = placed.placed(target.text, todo.line, marker)
        except placement.PlacementError as exc:
            log.warning("not inserted: %s\n%s", exc.message, placed.answer.code)
            raise VibeError(f"nothing was inserted: {exc.message}") from exc
        what = {"filled": f"implemented `{where.function}`",
                "replaced": f"replaced `{where.function}` whole with a new implementation",
                }.get(where.how, "implemented the TODO")
        return Proposal(
            label=f"vibe-ls: implement {todo.description[:40]}",
            edits=where.edits,
            summary=(f"vibe-ls: {what} — Time {complexity.time}, Space "
                     f"{complexity.space}{verdict}; {_speed(first_rows)} on "
                     f"{self.running_on()}"),
            anchor=f"the {marker} comment “{todo.description[:40]}”",
            reanchor_fn=lambda new: placed.edits_for(new, todo.line, marker), result=result,
            details=details)

    @staticmethod
    def _implementation(attempt: Attempt, answer: Answer,
                        scope: triggers.Scope | None) -> Implementation:
        return Implementation(attempt.target.language, answer, answer.complexity or UNKNOWN,
                              attempt.todo.description, scope.name if scope else None)

    @classmethod
    def _usable(cls, answer: Answer, result: Result, attempt: Attempt) -> bool:
        """The model wrote code, not the stub handed back, that can be placed in the file."""
        return result.finish_reason not in ("cancelled", "dropped") and \
            bool(answer.code.strip()) and \
            not _echoes_stub(answer.code, attempt.target.language, attempt.stub) and \
            cls._placeable(answer, attempt)

    @classmethod
    def _placeable(cls, answer: Answer, attempt: Attempt) -> bool:
        try:
            cls._implementation(attempt, answer, attempt.scope).placed(
                attempt.target.text, attempt.todo.line, attempt.marker)
        except placement.PlacementError as exc:
            log.warning("an answer left out: %s\n%s", exc.message, answer.code)
            attempt.problem = exc.message
            return False
        return True

    def _candidates(self) -> int:
        return self.settings.candidates or (6 if self.engine().provider == "cuda" else 3)

    def _batch(self) -> int:
        """Rows decoded together. On CUDA a small model's step costs about the same for one
        row as for several (it is bound by per-step overhead, not by the GPU), so every
        candidate goes in one batch there."""
        return max(self._candidates(), BATCH) if self.engine().provider == "cuda" else BATCH

    def _verify(self, attempt: Attempt, first: Implementation, runs: verifier.Runs,
                first_s: float, on_text: OnText | None, on_phase: verifier.OnPhase | None,
                cancel: threading.Event | None) -> verifier.Outcome | None:
        """Check the first answer; while it falls short, write a reference and more
        candidates (together); time the best. Another language than Python is checked when
        the TODO is in a function whose types the harness reads; its reference is written in
        Python, from the same signature."""
        target, scope = attempt.target, attempt.scope
        if runs.language == "python":
            function = scope.name if scope else verifier.entry_function(first.answer.code)
            if function is None:
                return None
            source = first.answer.code if scope is None else target.text
            signature = verifier.signature_of(source, function)
        else:
            from vibe_ls.verify import harness

            function = scope.name if scope else None
            found = harness.signature(target.language, target.text, function) \
                if function and not harness.unrunnable(target.language, target.text) else None
            signature = harness.python_signature(found) if found else None
        if function is None or signature is None:
            return None
        marker = self.settings.todo_marker

        def source_for(candidate: Implementation) -> str:
            try:
                placed = candidate.edits_for(target.text, attempt.todo.line, marker)
            except placement.PlacementError:  # a reference that does not fit the file
                return candidate.answer.code  # runs on its own
            return edits.apply(target.text, placed or [])

        def as_reference(answer: Answer | None) -> Implementation | None:
            return None if answer is None else replace(first, answer=answer, complexity=UNKNOWN)

        def candidate(answer: Answer, result: Result) -> Implementation | None:
            return replace(first, answer=answer, complexity=answer.complexity or UNKNOWN) \
                if self._usable(answer, result, attempt) else None

        def write(samplings: list[Sampling], reference: verifier.ReferenceRequest | None,
                  checks_request: verifier.TextRequest | None,
                  settle: verifier.Settle | None = None,
                  ) -> tuple[list[Implementation | None], Implementation | None, str | None]:
            # The same question, sampled: measured on the seed task, the 0.5B's samples at a
            # mild temperature (0.4) with its reasoning were mostly right where its greedy
            # answer was not; straight-to-code samples, or hotter ones, were mostly wrong.
            def heard(kind: str, value: object) -> bool:
                if kind == "candidate":
                    value = candidate(*value)
                elif kind == "reference":
                    value = as_reference(value)
                return settle(kind, value)
            written, ref, checks_text = self._write(attempt, samplings, reference, function,
                                                    on_text, cancel, checks_request,
                                                    heard if settle else None)
            return ([candidate(a, r) for a, r in written if r.finish_reason != "dropped"],
                    as_reference(ref), checks_text)

        def ask_text(messages: list[dict[str, str]], start: str, tokens: int) -> str:
            text, _ = self._ask(messages, None, cancel, max_new_tokens=tokens,
                                answer_start=start, stop=("```",))
            return text

        def repair(broken: Implementation, error: str) -> Implementation | None:
            messages = prompts.fix_build(attempt.messages, target.language,
                                         broken.answer.code, error)
            answer, result = self._ask_for_code(messages, target.language, None, cancel,
                                                stub=attempt.stub)
            return candidate(answer, result)

        def claim_for(candidate: Implementation) -> Complexity:
            return self._complexity(target, candidate.answer.code, candidate.answer, cancel)

        cases, label = user_examples(scope, attempt.todo, function)
        chooser = verifier.Verifier(
            task=attempt.task, function=function, source_for=source_for, write=write,
            ask_text=ask_text, doc_cases=cases, examples_label=label,
            system_prompt=self.settings.system_prompt, max_candidates=self._candidates(),
            budget_s=self.settings.verify_budget or max(20.0, 2 * first_s),
            on_phase=on_phase, cancel=cancel,
            batch=self._batch(), runs=runs,
            repair=repair if runs.language != "python" else None)
        return chooser.run([first], signature, claim_for)

    def rewrite(self, target: Target, span: Span, on_text: OnText | None = None,
                cancel: threading.Event | None = None,
                on_phase: verifier.OnPhase | None = None) -> Proposal | None:
        """The selection rewritten, if the rewrite does what it did (`rewrite.check`); else
        a refusal that names the input they differ on, the closest rewrite offered beside."""
        original, messages = rewrite_prompt(target, span, self._count(),
                                            self.settings.system_prompt)
        if on_phase:
            on_phase("writing")
        answer, result = self._ask_for_code(messages, target.language, on_text, cancel,
                                            speculate=True)
        if result.finish_reason == "cancelled":
            return None
        if not answer.code.strip():
            raise VibeError("the model wrote no code for this rewrite; try again")
        first = self._rewrite_candidate(target, original, answer)
        found = self._rewrite_subject(target, span, original)

        def more() -> list[rewriting.Candidate]:
            if on_phase:
                on_phase("writing more rewrites")
            return [self._rewrite_candidate(target, original, a)
                    for a in self._rewrite_samples(messages, target.language, cancel)]
        verdict = rewriting.check(target.text, found, [first], more, on_phase)
        if cancel and cancel.is_set():
            return None
        if verdict.chosen is None:
            offer = self._rewrite_proposal(target, original, verdict.refused, verdict, cancel,
                                           f"{verdict.refused_as}: {verdict.shown}")
            if offer is not None:  # the second action's title says what it applies
                offer = replace(offer, label=f"Apply the refused rewrite ({verdict.refused_as})")
            equivalent = verdict.refused is None or verdict.refused.equivalent
            return Proposal(label="vibe-ls: rewrite refused", edits=[],
                            summary=f"vibe-ls: the rewrite was not applied, your code stays: "
                                    f"{verdict.shown}", anchor="the selected code",
                            reanchor_fn=lambda _: None, result=result, refused=True,
                            alternative=offer, details={"equivalent": equivalent})
        return self._rewrite_proposal(target, original, verdict.chosen, verdict, cancel,
                                      verdict.shown, result)

    def _rewrite_subject(self, target: Target, span: Span, original: str) -> rewriting.Subject:
        from vibe_ls.verify import jail

        if not self.settings.verify:
            return rewriting.Subject(None, unchecked="checking is off (vibeLs.verify)")
        if jail.unavailable():
            return rewriting.Subject(None, unchecked="no sandbox on this machine to run it in")
        return rewriting.subject(target.text, target.language, span[0][0], original)

    def _rewrite_candidate(self, target: Target, original: str,
                           answer: Answer) -> rewriting.Candidate:
        """A rewrite with the whole file it makes (the code only: notes come after)."""
        prefix = triggers.comment_prefix(target.language)
        code = postprocess.strip_complexity_comments(answer.code, prefix)
        placed = _rewrite_edits(target.text, target.language, original, code, "",
                                answer.imports)
        return rewriting.Candidate(answer, edits.apply(target.text, placed or []))

    def _rewrite_samples(self, messages: list[dict[str, str]], language: str,
                         cancel: threading.Event | None) -> list[Answer]:
        """More rewrites, sampled and decoded together (best of n, as Implement does). A
        sample that answered in prose only (the 0.5B's samples mostly give just the
        complexity line) goes on from an opened code block, those rows together again."""
        samplings = [replace(verifier.SAMPLING, seed=n) for n in range(1, self._candidates())]
        if not samplings:
            return []
        results = self.engine().generate_many(
            [self._request(messages, sampling=s, code=True) for s in samplings], None, cancel)
        answers, again = [], []
        for sampling, r in zip(samplings, results, strict=True):
            answer = _parse(r.text, language)
            start = _again(r.text, answer, r, language, None)
            if start is None and answer.code.strip():
                answers.append(answer)
            elif start is not None and r.finish_reason != "dropped":
                again.append((start, sampling))
        if again and not (cancel and cancel.is_set()):
            rows = self.engine().generate_many(
                [self._request(messages, start, sampling=s, code=True) for start, s in again],
                None, cancel)
            answers += [_parse(start + r.text, language)
                        for (start, _), r in zip(again, rows, strict=True)
                        if r.finish_reason not in ("cancelled", "dropped")]
        return [a for a in answers if a.code.strip()]

    def _rewrite_proposal(self, target: Target, original: str,
                          chosen: rewriting.Candidate | None, verdict: rewriting.Verdict,
                          cancel: threading.Event | None, shown: str,
                          result: Result | None = None) -> Proposal | None:
        """The edit that puts `chosen` in place of the selection, under its complexity note
        (the model's claim, corrected by the rewrite's measured growth)."""
        if chosen is None:
            return None
        answer, prefix = chosen.answer, triggers.comment_prefix(target.language)
        complexity = rewriting.claim(self._complexity(target, answer.code, answer, cancel),
                                     chosen.timing, answer.code)
        note = postprocess.complexity_note(complexity, prefix, answer.code)
        code = postprocess.strip_complexity_comments(answer.code, prefix)

        def edits_for(text: str) -> list[TextEdit] | None:
            return _rewrite_edits(text, target.language, original, code, note, answer.imports)
        details = {"equivalent": chosen.equivalent, "tried": verdict.tried,
                   "inputs": chosen.comparison.inputs if chosen.comparison else 0,
                   "shown": verdict.shown}
        measured = verdict.speed.at_largest() if verdict.speed and chosen is verdict.chosen \
            else None
        if measured is not None:  # for `vibe-ls bench --rewrite`, as numbers
            details.update(speedup=round(measured[1], 3), speedup_at_n=measured[0],
                           faster=verdict.speed.faster)
        return Proposal(label="vibe-ls: rewrite with a better algorithm",
                        edits=edits_for(target.text) or [],
                        summary=f"vibe-ls: rewritten — {shown}; Time {complexity.time}, "
                                f"Space {complexity.space}",
                        anchor="the selected code", reanchor_fn=edits_for, result=result,
                        details=details)

    def complexity_note(self, target: Target, span: Span, on_text: OnText | None = None,
                        cancel: threading.Event | None = None,
                        on_phase: verifier.OnPhase | None = None) -> Proposal | None:
        scope = triggers.enclosing_scope(target.text, target.language, span[0][0])
        code = scope.text if scope else _span_text(target.text, span)
        messages = self._question(prompts.COMPLEXITY, target, code)
        text, result = self._ask(messages, on_text, cancel, max_new_tokens=256)
        if result.finish_reason == "cancelled":
            return None
        complexity = postprocess.parse_complexity(text)
        if complexity is None:
            raise VibeError("the model did not state a complexity; try again")
        judgement = None
        runs = verifier.runs_for(target.language) if self.settings.verify else None
        if scope is not None and runs is not None:
            judgement = self._measure_scope(target, scope, complexity, runs, on_phase)
            complexity = verifier.apply_judgement(complexity, judgement)
        prefix = triggers.comment_prefix(target.language)
        note = postprocess.complexity_note(complexity, prefix, code)
        first_line = _span_text(target.text, span).split("\n")[0]

        def edits_for(text: str) -> list[TextEdit] | None:
            line = _note_line(text, target.language, scope.name if scope else None, first_line)
            if line is None:
                return None
            return [TextEdit((line, 0), (line, 0), f"{_indent_of(text, line)}{note}\n")]
        summary = f"vibe-ls: {note}"
        if judgement is not None and judgement.measured:
            summary += f"; {verifier.verdict_words(judgement)}"
        return Proposal(label="vibe-ls: add complexity note", edits=edits_for(target.text) or [],
                        summary=summary, anchor="the selected function",
                        reanchor_fn=edits_for, result=result)

    # -- measured growth ----------------------------------------------------------------
    def _measure_scope(self, target: Target, scope: triggers.Scope, claim: Complexity,
                       runs: verifier.Runs, on_phase: verifier.OnPhase | None,
                       ) -> growth.Judgement | None:
        """Time a function of the user's file on growing inputs (grown from its docstring's
        examples or its types, else from the types it accepts) and judge `claim` against it."""
        if on_phase:
            on_phase("timing")
        measured = self._time_scope(target, scope, runs)
        if measured is None:
            return None
        judgement = growth.judge(claim.time, measured, growth.sorts(scope.text))
        if judgement.measured:
            self._remember(scope.text, judgement, target.language)
        return judgement

    def _time_scope(self, target: Target, scope: triggers.Scope,
                    runs: verifier.Runs) -> growth.Growth | None:
        """How a function of the user's file grows, remembered for hovers over it."""
        examples = checks.examples(scope.docstring, scope.name, target.language)
        calls = [c.call for c in examples]
        sample = runs.sample(target.text, scope.name, calls, [])
        if sample is None and runs.language == "python":
            sample = rewriting.sample_for(target.text, scope.name, calls)
        if sample is None:
            return None
        measured = runs.measure(target.text, scope.name, sample)
        if measured is not None and measured.exponent is not None:
            for key in verifier.fingerprints(scope.text, target.language):
                self._timings[key] = measured
            while len(self._timings) > 256:
                self._timings.popitem(last=False)
        return measured

    def _remember(self, function_text: str, judgement: growth.Judgement,
                  language: str = "python") -> None:
        for key in verifier.fingerprints(function_text, language):
            self._growth[key] = judgement
        while len(self._growth) > 256:
            self._growth.popitem(last=False)

    def _remember_growth(self, placed: Implementation, target: Target, attempt: Attempt,
                         judgement: growth.Judgement) -> None:
        """What the inserted function measured, for hovers over it later."""
        text = edits.apply(target.text, placed.edits_for(target.text, attempt.todo.line,
                                                         self.settings.todo_marker) or [])
        self._remember(text, judgement, target.language)

    def measured(self, code: str, language: str = "python") -> growth.Judgement | None:
        """The measurement of a function in `code`, if one was made."""
        if not self._growth:  # the common case on a cached hover: no parse at all
            return None
        return next((self._growth[k] for k in verifier.fingerprints(code, language)
                     if k in self._growth), None)

    def _with_measurement(self, markdown: str, code: str, language: str = "python") -> str:
        """The explanation with the function's measured growth, judged against the time the
        explanation states (the model's claim corrected, as Implement's notes are)."""
        judgement = self._judged(code, hovering.claimed_time(markdown), language)
        if judgement is None or not judgement.measured:
            return markdown
        return f"{markdown}\n\n{hovering.measured_words(judgement)}."

    def _judged(self, code: str, claim: str, language: str) -> growth.Judgement | None:
        """`claim` judged against how the function in `code` was measured to grow, or what
        an Implement or a complexity note judged of it."""
        timing = next((self._timings[k] for k in verifier.fingerprints(code, language)
                       if k in self._timings), None) if self._timings else None
        if timing is None:
            return self.measured(code, language)
        return growth.judge(claim or "?", timing, growth.sorts(code))

    def hover_now(self, target: Target, span: Span, adapter: str = "") -> hovering.Known:
        """What a hover can show at once: the cached explanation (written with `adapter`),
        else the function's note in the file and its measured growth (the explanation is
        then written meanwhile)."""
        cached = self.cached_explanation(target, span, adapter)
        if cached is not None:
            return hovering.Known(cached, complete=True)
        scope = triggers.enclosing_scope(target.text, target.language, span[0][0])
        scope = scope if scope is not None and scope.kind != "class" else None
        code, note = _span_text(target.text, span), hovering.note_above(target.text, scope)
        return hovering.known(scope.name if scope else "", note,
                              self._judged(code, hovering.claimed_time(note), target.language))

    def time_for_hover(self, target: Target, span: Span) -> None:
        """Time the function `span` covers (not a stub), for the next hover to state its
        measured growth; done once per version of the function."""
        scope = triggers.enclosing_scope(target.text, target.language, span[0][0])
        runs = verifier.runs_for(target.language) if self.settings.verify else None
        code = _span_text(target.text, span)
        if scope is None or scope.kind == "class" or scope.is_stub or runs is None or \
                scope.text.strip() != code.strip() or self._timed(code, target.language):
            return
        from vibe_ls.verify.jail import Unavailable

        try:
            self._time_scope(target, scope, runs)
        except Unavailable as exc:  # no sandbox after all: the hover goes without it
            log.info("not timed for hover: %s", exc)

    def _timed(self, code: str, language: str) -> bool:
        return any(k in self._timings for k in verifier.fingerprints(code, language))

    def _explain_key(self, target: Target, span: Span, adapter: str) -> str:
        """An explanation is the model's and its adapter's: another adapter writes another."""
        code = _span_text(target.text, span)
        return hashlib.sha256(f"{self.settings.model}\0{adapter}\0{target.language}\0{code}"
                              .encode()).hexdigest()

    def cached_explanation(self, target: Target, span: Span, adapter: str = "") -> str | None:
        found = self._explanations.get(self._explain_key(target, span, adapter))
        return found and self._with_measurement(found, _span_text(target.text, span),
                                                target.language)

    def explain(self, target: Target, span: Span, on_text: OnText | None = None,
                cancel: threading.Event | None = None, adapter: str = "") -> str | None:
        """The model's explanation of the span; `adapter` is the setting it runs with (made
        active by the caller), for the cache."""
        key = self._explain_key(target, span, adapter)
        code = _span_text(target.text, span)
        if key in self._explanations:
            return self._with_measurement(self._explanations[key], code, target.language)
        messages = self._question(prompts.EXPLAIN, target, code)
        text, result = self._ask(messages, on_text, cancel, max_new_tokens=400)
        if result.finish_reason == "cancelled":
            return None
        reasoning, rest = postprocess.split_reasoning(postprocess.strip_special_tokens(text))
        markdown = rest.strip() or reasoning.strip()
        self._explanations[key] = markdown
        while len(self._explanations) > 256:
            self._explanations.popitem(last=False)
        return self._with_measurement(markdown, code, target.language)


LONG_DOCSTRING = 200  # characters (about 50 tokens to copy): more than a summary line
DOCSTRING_AFTER_SIGNATURE = re.compile(
    r'(:[ \t]*(?:#[^\n]*)?\n)[ \t]*[rRuU]?("""|\'\'\')(.*?)\2[ \t]*\n', re.DOTALL)


UNKNOWN = Complexity(time="?", space="?", approach="")


@dataclass
class Attempt:
    """One Implement: where it goes and what the model was asked."""

    target: Target
    todo: triggers.Todo
    messages: list[dict[str, str]]
    stub: triggers.Scope | None
    scope: triggers.Scope | None
    marker: str = "TODO"
    problem: str = ""  # why the last answer could not be placed

    @property
    def task(self) -> str:
        """The TODO and the docstring: what a reference version is written from."""
        task = self.todo.description
        if self.scope and self.scope.docstring:
            task += "\n" + dedent(self.scope.docstring).strip()
        return task


def _merged(rows: list[Result], parents: list[int], joined: list[Result]) -> list[Result]:
    """The rows asked for, each with the tokens of the rows that went on for it (a sample
    asked again from an opened code block), for the speed the result message shows."""
    merged = list(rows)
    for parent, row in zip(parents, joined, strict=False):
        was = merged[parent]
        # decoded together, rows share one decode time; one after the other, they add up
        seconds = was.decode_s if row.decode_s == was.decode_s else was.decode_s + row.decode_s
        merged[parent] = replace(was, tokens=was.tokens + row.tokens, decode_s=seconds)
    return merged


def _log_result(result: Result) -> None:
    log.info("generated %d tokens (%s) at %.1f tok/s; prompt %d tokens (%d cached), first "
             "token after %.2f s", len(result.tokens), result.finish_reason,
             result.tokens_per_s, result.prompt_tokens, result.cached_tokens, result.ttft_s)


def _speed(rows: list[Result]) -> str:
    """`211 tokens at 28 tok/s`, or for a batch `4 answers, 789 tokens at 55 tok/s`: rows
    decoded together share the time, so the batch's speed is what the machine did."""
    tokens = sum(len(r.tokens) for r in rows)
    seconds = max(rows[0].decode_s, 1e-9) if rows else 1.0
    rate = tokens / seconds if len(rows) > 1 else rows[0].tokens_per_s
    batch = f"{len(rows)} answers, " if len(rows) > 1 else ""
    return f"{batch}{tokens} tokens at {rate:.0f} tok/s"


def _parse(text: str, language: str) -> Answer:
    answer = postprocess.parse_answer(text, language)
    if language == "python":
        answer = replace(answer, code=postprocess.drop_demo_code(answer.code))
    return answer


def code_context(target: Target, code: str) -> prompts.CodeContext:
    imports, _ = triggers.imports(target.text, target.language)
    return prompts.CodeContext(target.language, target.file_name, code, tuple(imports),
                               surrounding=target.text)


def implement_messages(target: Target, todo: triggers.Todo, scope: triggers.Scope | None,
                       count: Callable[[str], int], system_prompt: str = "",
                       ) -> list[dict[str, str]]:
    """What the model is asked for an Implement: the scope (its placeholder left out) or the
    lines around a free-standing TODO, and the task."""
    code = _shown(scope, todo) if scope else _around(target.text, todo.line)
    context, docstring = code_context(target, code), None
    if scope and scope.docstring and len(scope.docstring) > LONG_DOCSTRING and \
            target.language == "python" and ">>>" not in scope.docstring:
        # A long docstring goes with the task, not in the code: shown in the code, the 0.5B
        # copied it back into its answer (hundreds of tokens on a LeetCode problem). Not one
        # with doctests: its examples are code beside the signature, and moved out of it the
        # 0.5B's greedy answers passed 3 of 20 doctest-docstring stubs, against 7 of 20.
        docstring = scope.docstring
        without = _without_docstring(code)
        context = replace(context, code=without,
                          surrounding=target.text.replace(scope.text, without, 1))
    return prompts.implement(context, todo.description, scope.name if scope else None, count,
                             system_prompt, docstring=docstring)


def implement_prompt(target: Target, line: int, count: Callable[[str], int],
                     marker: str = "TODO", system_prompt: str = "") -> list[dict[str, str]]:
    """The messages an Implement of the TODO on `line` sends to the model (tests teach the
    tiny model on exactly these)."""
    todo = triggers.todo_at(target.text, target.language, line, marker)
    if todo is None:
        raise VibeError(f"no {marker} comment on line {line + 1}")
    scope = triggers.todo_scope(target.text, target.language, todo)
    return implement_messages(target, todo, scope, count, system_prompt)


def rewrite_prompt(target: Target, span: Span, count: Callable[[str], int],
                   system_prompt: str = "") -> tuple[str, list[dict[str, str]]]:
    """The code a rewrite of the selection `span` replaces (its whole lines), and the
    messages it sends to the model (tests teach the tiny model on exactly these)."""
    original = _span_text(target.text, _whole_lines(target.text, span))
    return original, question_messages(prompts.REWRITE, target, original, count,
                                       system_prompt)


def _without_docstring(code: str) -> str:
    """A Python definition with its docstring statement left out."""
    return DOCSTRING_AFTER_SIGNATURE.sub(r"\1", code, count=1)


def question_messages(instruction: str, target: Target, code: str,
                      count: Callable[[str], int], system_prompt: str = "",
                      ) -> list[dict[str, str]]:
    return prompts.about_code(instruction, code_context(target, code), count, system_prompt)


@dataclass
class Implementation:
    """A generated implementation, placeable into any version of the document that still
    holds its TODO."""

    language: str
    answer: Answer
    complexity: Complexity
    description: str
    function: str | None

    def edits_for(self, text: str, near_line: int, marker: str) -> list[TextEdit] | None:
        """The edits for `text`, None if its TODO is gone; PlacementError if the edited
        file would be broken."""
        placed = self.placed(text, near_line, marker)
        return placed.edits if placed is not None else None

    def placed(self, text: str, near_line: int, marker: str) -> placement.Placed | None:
        todo = _find_todo(text, self.language, self.description, near_line, marker)
        if todo is None:
            return None
        prefix = triggers.comment_prefix(self.language)
        complexity = self.complexity
        if complexity.approach.strip().lower().rstrip(".") == self.description.lower():
            complexity = replace(complexity, approach="")  # repeating the TODO says nothing
        answer = placement.Answer(
            code=postprocess.strip_complexity_comments(self.answer.code, prefix),
            imports=self.answer.imports,
            note=postprocess.complexity_note(complexity, prefix, self.answer.code),
            said=(self.description, self.complexity.approach))
        return placement.place(text, self.language, todo, answer, marker)


def user_examples(scope: triggers.Scope | None, todo: triggers.Todo,
                  function: str) -> tuple[list[checks.Example], str]:
    """The user's examples for `function`: in its docstring (or doc comment), and in the TODO
    itself (`# TODO: the nth Fibonacci number, fib(10) == 55`); and what to call them."""
    in_docstring = checks.examples(scope.docstring if scope else None, function, todo.language)
    said = {c.call for c in in_docstring}
    in_todo = [c for c in checks.examples(todo.description, function, todo.language)
               if c.call not in said]
    label = ("docstring examples" if not in_todo else "examples in the TODO"
             if not in_docstring else "examples (docstring and TODO)")
    return in_docstring + in_todo, label


def _again(text: str, answer: Answer, result: Result, language: str,
           stub: triggers.Scope | None) -> str | None:
    """Where to have the model go on from when its answer has no usable code (prose only,
    or the stub handed back): the code block opened, with the stub's signature; None when
    the answer is usable or was cancelled."""
    if result.finish_reason == "cancelled" or (
            answer.code.strip() and not _echoes_stub(answer.code, language, stub)):
        return None
    fence = prompts.FENCE_TAGS.get(language, language)
    start = f"```{fence}\n" + (f"{dedent(stub.signature).strip()}\n" if stub else "")
    prose = text.rstrip() if not answer.code.strip() else ""
    return f"{prose}\n{start}".lstrip("\n")


def _echoes_stub(code: str, language: str, stub: triggers.Scope | None) -> bool:
    """The answer's version of the stubbed function is itself still a stub."""
    if stub is None:
        return False
    body, _ = placement.split_function(code, language, stub.name)
    if language == "python":
        body = placement.LEADING_DOCSTRING.sub("", body + "\n", count=1)
    prefix = triggers.comment_prefix(language)
    statements = [x for x in body.split("\n") if x.strip() and not x.strip().startswith(prefix)]
    return all(edits.PLACEHOLDER.match(x) for x in statements)


def _shown(scope: triggers.Scope, todo: triggers.Todo) -> str:
    """A definition as the model sees it for an Implement: its placeholder statements left
    out (with `pass`/`return 0` gone, a small model is less tempted to hand the stub back),
    and a TODO written right above it moved into its body, where it asks for the body (above
    a LeetCode method, the 0.5B handed back the stub's docstring every time)."""
    first = scope.range[0][0]
    lines = scope.text.split("\n")
    holders = {row - first for row in scope.placeholder_rows
               if edits.PLACEHOLDER.match(lines[row - first])}
    body_row = scope.body_range[0][0] - first if scope.body_range else 0
    if todo.line < first and len(lines) > 1:  # above a definition of several lines
        # in place of the placeholder; else after a Python body's docstring, or the "{"
        after = len(lines) if scope.language == "python" else body_row + 1
        at = min(holders) if holders else after
        prefix = triggers.comment_prefix(todo.language)
        lines.insert(at, f"{scope.body_indent}{prefix} TODO: {todo.description}")
        holders = {row + (row >= at) for row in holders}
    return "\n".join(x for i, x in enumerate(lines) if i not in holders)


def _indent_of(text: str, line: int) -> str:
    row = text.split("\n")[line]
    return row[: len(row) - len(row.lstrip())]


def _around(text: str, line: int, radius: int = 20) -> str:
    lines = text.split("\n")
    return "\n".join(lines[max(0, line - radius) : line + radius])


def _whole_lines(text: str, span: Span) -> Span:
    """A selection widened to whole lines (a trailing line with nothing selected is not)."""
    (sl, _), (el, ec) = span
    if ec == 0 and el > sl:
        return (sl, 0), (el, 0)
    return (sl, 0), (el + 1, 0) if el + 1 < len(text.split("\n")) else (el, len(
        text.split("\n")[el]))


def _rewrite_edits(text: str, language: str, original: str, code: str, note: str,
                   imports: list[str]) -> list[TextEdit] | None:
    """The edits that put `code` (under `note`) where `original` is in `text`; None when
    `original` is no longer there once."""
    where = _find_unique(text, original)
    if where is None:
        return None
    indent = original[: len(original) - len(original.lstrip())]
    return [TextEdit(where[0], where[1], edits.block(code, note, indent).rstrip("\n")
                     + ("\n" if original.endswith("\n") else "")),
            *edits.import_edits(text, language, imports, code)]


def _find_unique(text: str, snippet: str) -> Span | None:
    index = text.find(snippet)
    if index < 0 or text.find(snippet, index + 1) >= 0:
        return None
    before = text[:index]
    start = (before.count("\n"), index - (before.rfind("\n") + 1))
    after = text[: index + len(snippet)]
    return start, (after.count("\n"), index + len(snippet) - (after.rfind("\n") + 1))


def _find_todo(text: str, language: str, description: str, near: int,
               marker: str) -> triggers.Todo | None:
    """The TODO with this description in `text`, the one nearest `near` if it repeats."""
    same = [t for t in triggers.find_todos(text, language, marker) if t.description == description]
    return min(same, key=lambda t: abs(t.line - near)) if same else None


def _note_line(text: str, language: str, function: str | None, first_line: str) -> int | None:
    lines = text.split("\n")
    if function is not None:
        for i in range(len(lines)):
            scope = triggers.enclosing_scope(text, language, i)
            if scope and scope.name == function and scope.range[0][0] == i:
                return i
    return next((i for i, row in enumerate(lines) if row == first_line), None)
