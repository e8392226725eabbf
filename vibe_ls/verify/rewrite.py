"""A rewrite proves itself against the code it replaces before it replaces it.

The selection (or the function it is in) is the reference: every candidate rewrite is run
beside it on the same inputs (`differential`); a candidate that differs anywhere is refused
with the smallest input it differs on. An equivalent one is timed against the original on
growing inputs (`growth`), and the message says what was shown:
`same results on 136 inputs; measured ≈ n^1.02 against the original's ≈ n^1.98 (31x faster
at n=4096)`. Where the original cannot be run, the rewrite is offered `not checked: <why>`.
C, C++, Rust, Java, JavaScript and TypeScript are checked the same way through their
harnesses (`native_differential`, `harness.measure`).
"""

from __future__ import annotations

import ast
import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from textwrap import dedent

from vibe_ls import triggers
from vibe_ls.postprocess import Answer, Complexity
from vibe_ls.verify import checks, differential, growth, native_differential, symbolic, verifier

log = logging.getLogger(__name__)

# Times faster (or slower) at the largest size both reached, to be called so: the two are
# timed one after the other, and on a loaded 2-core VM the same loop measured 1.5x apart.
FASTER = 2.0
SAME_GROWTH = 0.3  # exponents this close grow alike
TIMES = "\N{MULTIPLICATION SIGN}"
TIMED = 2  # equivalent candidates timed (each takes a few seconds)


@dataclass(frozen=True)
class Subject:
    """What a rewrite is checked against: the function the selection is, or is in."""

    function: str | None
    calls: tuple[str, ...] = ()  # inputs the user gave: docstring examples, call sites
    unchecked: str = ""  # why it cannot be run ("" when it can)
    language: str = "python"


@dataclass
class Candidate:
    """One rewrite the model wrote, and what checking it showed."""

    answer: Answer
    file: str  # the whole file with the rewrite in place
    comparison: differential.Comparison | None = None
    timing: growth.Growth | None = None
    symbolic: str = ""  # what the symbolic search did: "" (not run), "none", "found"

    @property
    def equivalent(self) -> bool:
        return self.comparison is not None and self.comparison.equivalent


@dataclass(frozen=True)
class Speed:
    """The rewrite's time against the original's, on the same grown inputs."""

    original: growth.Growth | None
    rewrite: growth.Growth | None

    def at_largest(self) -> tuple[int, float] | None:
        """A size both were timed at, and how many times faster the rewrite was there: the
        median ratio of the three largest sizes both reached (one size alone moves with a
        busy machine), and the size it was measured at."""
        if self.original is None or self.rewrite is None:
            return None
        theirs = dict(zip(self.original.sizes, self.original.seconds, strict=True))
        common = [(n, theirs[n] / s) for n, s in zip(self.rewrite.sizes, self.rewrite.seconds,
                                                     strict=True) if n in theirs and s > 0]
        if not common:
            return None
        last = sorted(common[-3:], key=lambda point: point[1])
        return last[len(last) // 2]

    @property
    def faster(self) -> bool:
        found = self.at_largest()
        return found is not None and found[1] >= FASTER

    def words(self) -> str:
        """`measured ≈ n^1.02 against the original's ≈ n^1.98 (31x faster at n=4096)`, with
        the multiplication sign."""
        mine, theirs = _exponent(self.rewrite), _exponent(self.original)
        found = self.at_largest()
        if found is None:
            return "not timed (its inputs could not be grown)"
        n, ratio = found
        if mine is None or theirs is None or _too_quick(self.rewrite) or \
                _too_quick(self.original):  # on the grown inputs: no growth to fit
            faster = f"{_times(ratio)} faster" if ratio >= 1 else f"{_times(1 / ratio)} slower"
            return f"{faster} than the original at n={n} (too quick to measure how it grows)"
        if not self.faster and abs(mine - theirs) <= SAME_GROWTH:
            slower = f"; {_times(1 / ratio)} slower at n={n}" if ratio < 1 / FASTER else ""
            both = f"≈ n^{mine:.1f} both" if f"{mine:.1f}" == f"{theirs:.1f}" else \
                f"≈ n^{mine:.1f} against n^{theirs:.1f}"
            return f"no faster than the original ({both}{slower})"
        times = f"{_times(ratio)} faster" if ratio >= 1 else f"{_times(1 / ratio)} slower"
        return f"measured ≈ n^{mine:.2f} against the original's ≈ n^{theirs:.2f} " \
               f"({times} at n={n})"


@dataclass
class Verdict:
    """What to do with the rewrites: apply `chosen` (None: the user's code stays), or offer
    `refused`, the closest one, from a second action labelled as not equivalent."""

    chosen: Candidate | None
    shown: str  # what the checks showed, for the message
    refused: Candidate | None = None
    tried: int = 1
    speed: Speed | None = None
    details: dict = field(default_factory=dict)
    refused_as: str = "NOT equivalent to your code"  # the second action's words


def _times(ratio: float) -> str:
    """`31` or `1.6`, then the multiplication sign."""
    return f"{ratio:.0f}{TIMES}" if ratio >= 10 else f"{ratio:.1f}{TIMES}"


def _too_quick(timing: growth.Growth | None) -> bool:
    return timing is not None and all(t < timing.floor for t in timing.seconds)


def _exponent(timing: growth.Growth | None) -> float | None:
    return timing.exponent if timing is not None else None


def subject(text: str, language: str, line: int, selected: str) -> Subject:
    """The function a rewrite of `selected` (starting on `line` of `text`) is checked
    through, with the inputs the file gives for it, or why it cannot be."""
    if language != "python":
        return _native_subject(text, language, line, selected)
    function = _defined(selected)
    scope = None
    if function is None:
        scope = triggers.enclosing_scope(text, language, line)
        if scope is None or scope.kind == "class":
            return Subject(None, unchecked="the selection is not a function or inside one")
        function = scope.name
    node = checks.find_function(text, function)
    if node is None:
        return Subject(None, unchecked=f"`{function}` is not a function of this file")
    code = ast.get_source_segment(text, node) or ""
    if (call := differential.worldly(code)):
        return Subject(function, unchecked=f"`{function}` depends on more than its "
                                           f"arguments (it calls `{call}`)")
    docstring = ast.get_docstring(node)
    calls = [c.call for c in checks.examples(docstring, function)]
    calls += differential.call_sites(text, function)
    return Subject(function, tuple(dict.fromkeys(calls)))


def _native_subject(text: str, language: str, line: int, selected: str) -> Subject:
    """`subject` for the languages the harness runs: the function, with the literal
    arguments of the file's calls of it."""
    from vibe_ls.verify import harness

    why = harness.missing(language) or harness.unrunnable(language, text)
    if why:
        return Subject(None, unchecked=why, language=language)
    function = _native_defined(selected, language)
    if function is None:
        scope = triggers.enclosing_scope(text, language, line)
        if scope is None or scope.kind == "class":
            return Subject(None, unchecked="the selection is not a function or inside one",
                           language=language)
        function = scope.name
    scope = next((d for d in triggers.definitions(text, language) if d.name == function), None)
    if scope is not None and (call := native_differential.worldly(scope.text)):
        return Subject(function, unchecked=f"`{function}` depends on more than its "
                                           f"arguments (it uses `{call}`)", language=language)
    if harness.signature(language, text, function, void=True) is None:
        return Subject(function, unchecked=f"the types of `{function}` are not ones the "
                                           f"{language} harness can make inputs for",
                       language=language)
    return Subject(function, tuple(native_differential.call_sites(text, function)),
                   language=language)


def _native_defined(selected: str, language: str) -> str | None:
    """The first function the selection defines, in a language tree-sitter parses."""
    document = triggers._document(dedent(selected), language)
    functions = [d for d in triggers._definitions(document) if d.kind != "class"]
    first = min(functions, key=lambda d: d.node.start_byte, default=None)
    return document.text(first.name) if first is not None else None


def _defined(selected: str) -> str | None:
    """The function the selection defines (the entry one, if it defines several)."""
    try:
        tree = ast.parse(dedent(selected))
    except SyntaxError:
        return None
    if not any(isinstance(n, ast.FunctionDef) for n in tree.body):
        return None
    return verifier.entry_function(dedent(selected))


def check(original: str, found: Subject, first: list[Candidate],
          more: Callable[[], list[Candidate]] | None,
          on_phase: Callable[[str], None] | None = None) -> Verdict:
    """Compare the first candidates with the original; while none is equivalent, ask
    `more` once for further samples (best of n); time the equivalent ones."""
    phase = on_phase or (lambda _: None)
    if found.unchecked or found.function is None:
        return Verdict(first[0], f"not checked: {found.unchecked}")
    pool = list(first)
    phase(f"comparing {_count(pool)} with the original")
    unchecked = _compare(original, found, pool)
    if not unchecked and not _changed(original, found, pool) and more is not None:
        extra = more()
        if extra:
            phase(f"comparing {len(extra)} more with the original")
            unchecked = _compare(original, found, extra)
            pool += extra
    if unchecked:
        return Verdict(pool[0], f"not checked: {unchecked}", tried=len(pool))
    _search(original, found, pool, phase)
    equivalent = [c for c in pool if c.equivalent]
    if not equivalent:
        closest = max(pool, key=lambda c: c.comparison.inputs if c.comparison else -1)
        return Verdict(None, _refusal(closest, len(pool)), refused=closest, tried=len(pool))
    changed = _changed(original, found, pool)
    if not changed:  # the 0.5B gave `dedupe` back as it was, under a note saying "a set"
        which = "the rewrite is" if len(pool) == 1 else \
            f"the one equivalent rewrite of {len(pool)} is" if len(equivalent) == 1 else \
            f"all {len(equivalent)} equivalent rewrites of {len(pool)} are"
        return Verdict(None, f"no better algorithm found: {which} your code as it was",
                       tried=len(pool))
    return _unless_slower(_fastest(original, found, changed, len(pool), phase))


def _changed(original: str, found: Subject, pool: list[Candidate]) -> list[Candidate]:
    """The equivalent candidates that are not the original given back (comments, layout
    and docstrings aside)."""
    before = _code_shape(original, found.language)
    return [c for c in pool if c.equivalent and _code_shape(c.file, found.language) != before]


def _code_shape(source: str, language: str) -> str:
    """The code with what does not run left out: Python's syntax tree without docstrings,
    elsewhere the text without comments and whitespace."""
    if language == "python":
        try:
            tree = ast.parse(source)
        except SyntaxError:
            return source
        for node in ast.walk(tree):
            body = getattr(node, "body", None)
            if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and \
                    isinstance(body[0].value, ast.Constant) and \
                    isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
        return ast.dump(tree)
    return re.sub(r"\s+", "", re.sub(r"//[^\n]*|/\*.*?\*/", "", source, flags=re.DOTALL))


def _unless_slower(verdict: Verdict) -> Verdict:
    """An equivalent rewrite measured FASTER times slower than the original (where both were
    slow enough to time) is not applied: offered from the second action, labelled."""
    speed = verdict.speed
    measured = speed.at_largest() if speed is not None else None
    if measured is None or measured[1] >= 1 / FASTER or _too_quick(speed.rewrite) or \
            _too_quick(speed.original):
        return verdict
    return Verdict(None, f"it is slower: {verdict.shown}", refused=verdict.chosen,
                   tried=verdict.tried, speed=speed,
                   refused_as=f"{_times(1 / measured[1])} slower than your code")


def _count(pool: list[Candidate]) -> str:
    return "the rewrite" if len(pool) == 1 else f"{len(pool)} rewrites"


def _compare(original: str, found: Subject, pool: list[Candidate]) -> str:
    """Run the comparison; why it could not be run, or ""."""
    files = [c.file for c in pool]
    if found.language == "python":
        report = differential.compare(original, files, found.function or "", list(found.calls))
    else:
        report = native_differential.compare(found.language, original, files,
                                             found.function or "", list(found.calls))
    if report.unchecked:
        return report.unchecked
    for candidate, comparison in zip(pool, report.comparisons, strict=False):
        candidate.comparison = comparison
    if all(c.comparison and c.comparison.returned == 0 and c.comparison.difference is None
           for c in pool):
        return "the original raised or never finished on every input made for it"
    return ""


def _search(original: str, found: Subject, pool: list[Candidate],
            phase: Callable[[str], None]) -> None:
    """The symbolic search on the equivalent candidates (the first TIMED distinct ones): an
    input it finds is run again by the differential check, and counts only if they differ
    there too."""
    if symbolic.available() or found.language != "python":
        return  # CrossHair runs Python only
    distinct = list({c.answer.code: c for c in pool if c.equivalent}.values())[:TIMED]
    for candidate in distinct:
        phase("searching symbolically for an input where they differ")
        guessed = candidate.comparison.guessed if candidate.comparison else ""
        call = symbolic.search(original, candidate.file, found.function or "", guessed)
        candidate.symbolic = "none"
        if call is None:
            continue
        report = differential.compare(original, [candidate.file], found.function or "",
                                      [call], examples=0)
        again = report.comparisons[0] if report.comparisons else None
        if again is not None and again.difference is not None:
            candidate.symbolic = "found"
            candidate.comparison = differential.Comparison(
                candidate.comparison.inputs + 1 if candidate.comparison else 1,
                again.difference, guessed, again.returned)


def _refusal(closest: Candidate, tried: int) -> str:
    difference = closest.comparison.difference if closest.comparison else None
    what = difference.words() if difference else "it could not be compared"
    if closest.symbolic == "found":
        what += " (an input CrossHair's symbolic search found)"
    none = "it differs" if tried == 1 else f"none of {tried} rewrites is equivalent; the " \
                                           f"closest differs"
    return f"{none} from the original on {what}"


def _fastest(original: str, found: Subject, equivalent: list[Candidate], tried: int,
             phase: Callable[[str], None]) -> Verdict:
    """Time the original and the first equivalent rewrites on the same grown inputs; the
    fastest is chosen."""
    function = found.function or ""
    sample = _sample(original, function, found, equivalent[0].comparison)
    distinct = list({c.answer.code: c for c in equivalent}.values())[:TIMED]
    theirs = None
    if sample is not None:
        phase("timing the original and the rewrite")
        theirs = _measure(found.language, original, function, sample)
        for candidate in distinct:
            candidate.timing = _measure(found.language, candidate.file, function, sample)
    best = min(distinct, key=lambda c: _seconds_at_largest(c.timing))
    speed = Speed(theirs, best.timing)
    inputs = best.comparison.inputs if best.comparison else 0
    guessed = best.comparison.guessed if best.comparison else ""
    shown = f"same results as the original on {inputs} inputs" + (
        f" ({guessed}: guessed, the function has no type hints)" if guessed else "")
    if best.symbolic == "none":
        shown += f", and none found in {symbolic.BUDGET_S:g} s of symbolic search"
    shown += f"; {speed.words()}"
    if tried > 1:
        shown += f" (best of {tried})"
    return Verdict(best, shown, tried=tried, speed=speed)


def _measure(language: str, source: str, function: str,
             sample: str) -> growth.Growth | None:
    """`function` timed on inputs grown from `sample` (C++ and Rust: one that returns
    nothing too, as the check compared it)."""
    if language == "python":
        return verifier.PythonRuns().measure(source, function, sample)
    from vibe_ls.verify import harness

    return harness.measure(language, source, function, sample, void=True)


def _seconds_at_largest(timing: growth.Growth | None) -> tuple[float, float]:
    """Sort key: the lowest growth, then the least time at the largest size timed."""
    if timing is None or not timing.seconds:
        return (math.inf, math.inf)
    exponent = timing.exponent
    return (round(exponent, 1) if exponent is not None else math.inf, timing.seconds[-1])


def _sample(source: str, function: str, found: Subject,
            comparison: differential.Comparison | None) -> str | None:
    """A call to grow timing inputs from: the user's largest example or call, else one made
    up from the type hints, else from the types the comparison guessed."""
    if found.language != "python":
        return _native_sample(source, function, found)
    sample = growth.pick_sample(source, function, list(found.calls))
    if sample is not None or comparison is None or not comparison.guessed:
        return sample
    return _guessed_sample(function, comparison.guessed)


def _native_sample(source: str, function: str, found: Subject) -> str | None:
    """The largest of the file's calls whose values fit the types, else one made up from
    the types (`harness.sample`)."""
    from vibe_ls.verify import harness

    calls = list(found.calls)
    fitting = [c for c, fits in zip(calls, harness.fits(found.language, source, function,
                                                        calls), strict=True) if fits]
    if fitting:
        return growth.sample_from_call(max(fitting, key=len))
    signature = harness.signature(found.language, source, function, void=True)
    return harness.sample(signature) if signature is not None else None


def _guessed_sample(function: str, guessed: str) -> str | None:
    hints = dict(part.split(" as ", 1) for part in re.split(r", (?=\w+ as )", guessed))
    stub = f"def {function}({', '.join(f'{n}: {t}' for n, t in hints.items())}): pass"
    return growth.sample_from_signature(stub, function)


def sample_for(source: str, function: str, calls: list[str]) -> str | None:
    """A call to time `function` of `source` on growing inputs: from the user's examples or
    the type hints, else from the types the original accepts (a sandbox run guesses them,
    as the differential check does: `dedupe(xs)` takes a list of ints)."""
    sample = growth.pick_sample(source, function, calls)
    if sample is not None:
        return sample
    report = differential.compare(source, [source], function, calls, examples=0)
    guessed = report.comparisons[0].guessed if report.comparisons else ""
    return _guessed_sample(function, guessed) if guessed else None


def claim(complexity: Complexity, timing: growth.Growth | None, code: str) -> Complexity:
    """The model's complexity claim for the rewrite, corrected by its measurement."""
    if timing is None:
        return complexity
    return verifier.apply_judgement(complexity, growth.judge(complexity.time, timing,
                                                           growth.sorts(code)))
