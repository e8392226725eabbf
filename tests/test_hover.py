"""Hover answers at once with what is known (the note in the file, the measured growth), and
states the growth vibe-ls measured beside the model's claim, corrected where it is wrong; Add
complexity note does the same for a function with no type hints or examples. The model's
text is stood in for; the timing runs in the real sandbox."""

from __future__ import annotations

import time

import pytest

from vibe_ls.assist import Assistant, Target
from vibe_ls.settings import Settings
from vibe_ls.verify.sandbox import unavailable

DEDUPE = '''# Time: O(n), Space: O(n)
def dedupe(xs):
    out = []
    for x in xs:
        if x not in out:
            out.append(x)
    return out
'''
SPAN = ((1, 0), (6, 14))  # the function, as hover_range gives it
# What the 0.5B said on hover in issue 23: O(n), for a function that scans a list per item.
SAID = "**What it computes**: the distinct items.\n\n**Complexity**: Time O(n), Space O(n)."

needs_sandbox = pytest.mark.skipif(bool(unavailable()), reason="no sandbox on this machine")


def assistant() -> Assistant:
    # A model that does not exist: anything that reaches for the model fails loudly.
    return Assistant(Settings(model="/nonexistent/model"))


def stand_in(monkeypatch, helper: Assistant, text: str) -> None:
    from vibe_ls.engine import Result

    monkeypatch.setattr(helper, "_question", lambda *a, **k: [])
    monkeypatch.setattr(helper, "_ask", lambda *a, **k: (text, Result(text, [], "stop", 1, 0,
                                                                      0.1, 0.1)))


def test_the_first_hover_answers_at_once_with_the_note_in_the_file():
    helper, target = assistant(), Target(DEDUPE, "python", "d.py")
    started = time.perf_counter()
    known = helper.hover_now(target, SPAN)
    assert time.perf_counter() - started < 0.5
    assert not known.complete
    assert "**`dedupe`**" in known.markdown
    assert "the note in the file): Time: O(n), Space: O(n)" in known.markdown
    assert "writing the explanation" in known.markdown


@needs_sandbox
def test_a_timed_function_hovers_with_its_measured_growth_before_any_explanation():
    helper, target = assistant(), Target(DEDUPE, "python", "d.py")
    helper.time_for_hover(target, SPAN)
    known = helper.hover_now(target, SPAN)
    assert "**Measured** (vibe-ls timed it on growing inputs): time ≈ n^" in known.markdown
    exponent = float(known.markdown.split("≈ n^")[1][:4])
    assert exponent > 1.6, known.markdown
    assert "not the O(n) stated above" in known.markdown  # the note in the file is wrong


@needs_sandbox
def test_the_explanations_wrong_claim_is_corrected_by_the_measurement(monkeypatch):
    helper, target = assistant(), Target(DEDUPE, "python", "d.py")
    stand_in(monkeypatch, helper, SAID)
    helper.explain(target, SPAN)
    helper.time_for_hover(target, SPAN)
    known = helper.hover_now(target, SPAN)
    assert known.complete and known.markdown.startswith("**What it computes**")
    assert "so O(n^2), not the O(n) stated above" in known.markdown, known.markdown


@needs_sandbox
def test_a_complexity_note_on_a_function_without_hints_is_measured(monkeypatch):
    from vibe_ls import edits

    source = DEDUPE.split("\n", 1)[1]
    helper, target = assistant(), Target(source, "python", "d.py")
    stand_in(monkeypatch, helper, "Complexity: Time O(n), Space O(n). Approach: a list.")
    proposal = helper.complexity_note(target, ((0, 0), (5, 14)))
    note = edits.apply(source, proposal.edits).split("\n")[0]
    assert note.startswith("# Time: O(n^2) (measured ≈ n^"), note
    assert "the model claimed O(n)" in note


def test_a_hover_waits_for_the_explanation_only_where_the_model_may_write_it_that_fast():
    """The hover waits (HOVER_WAIT_S) for the explanation only when the model is loaded and
    idle and explanations come that fast; while it loads (the first hover of a session),
    is busy with a command or another explanation, or after one took longer, it answers at
    once with what is known."""
    import asyncio
    from types import SimpleNamespace

    from vibe_ls.server import HOVER_WAIT_S, wait_for_explanation

    async def outcome(ready: bool, explain_s: float = 0.0, busy: bool = False,
                      queued: bool = False) -> str:
        loop = asyncio.get_running_loop()
        written, other = loop.create_future(), loop.create_future()
        loop.call_soon(written.set_result, None)  # written at once, once waited for
        ls = SimpleNamespace(assistant=SimpleNamespace(engine_ready=lambda: ready),
                             explain_s=explain_s, cancels={"cmd": object()} if busy else {},
                             background={"this": (None, written),
                                         **({"other": (None, other)} if queued else {})})
        try:
            await wait_for_explanation(ls, written)
            return "waited"
        except asyncio.TimeoutError:
            return "at once"

    async def every() -> list[str]:
        return [await outcome(True), await outcome(False),
                await outcome(True, explain_s=HOVER_WAIT_S + 1), await outcome(True, busy=True),
                await outcome(True, queued=True)]
    assert asyncio.run(every()) == ["waited", "at once", "at once", "at once", "at once"]
