"""The seed's example with the real default model: a TODO asking for the three numbers whose
sum is closest to a target (in Chinese and in English) becomes a function that passes tests
it never saw, with a complexity note. Verification (checks, best of n, timing) is on, as it
is for users.

Measured on this machine: the Chinese TODO's insert worked in every run (a sample agreeing
with the reference, or the reference itself). The English one did not while int4 blocks were
symmetric: the greedy answer returned the distance, not the sum, and so did the samples and,
in some runs, the reference. With zero points in the int4 blocks (format 4) its first answer
is the sort-and-two-pointers solution, verified against a brute-force reference."""

from __future__ import annotations

import itertools
import random
import signal

import pytest

from vibe_ls import triggers
from vibe_ls.assist import Assistant, Target
from vibe_ls.edits import apply
from vibe_ls.settings import Settings

pytestmark = pytest.mark.real_model

TODOS = {"zh": "找出数组中三个数之和最接近目标值的组合",
         "en": "find three numbers whose sum is closest to target"}  # as the issue words it


def closest(nums: list[int], target: int) -> int:
    return min((sum(c) for c in itertools.combinations(nums, 3)), key=lambda s: abs(s - target))


def passes(function, cases: int = 300) -> bool:
    """The sum (or the three numbers) closest to target, on random arrays."""
    rnd = random.Random(7)
    for _ in range(cases):
        nums = [rnd.randint(-50, 50) for _ in range(rnd.randint(3, 9))]
        target = rnd.randint(-80, 80)
        got = function(list(nums), target)
        if isinstance(got, list | tuple):
            got = sum(got)
        if abs(got - target) != abs(closest(nums, target) - target):
            return False
    return True


def _implement(language: str) -> tuple[str, str, list[str]]:
    source = ("def three_sum_closest(nums: list[int], target: int) -> int:\n"
              f"    # TODO: {TODOS[language]}\n    pass\n")
    assistant = Assistant(Settings())
    phases: list[str] = []
    proposal = assistant.implement(Target(source, "python", "seed.py"), 1,
                                   on_phase=phases.append)
    text = apply(source, proposal.edits)
    print(proposal.summary, text, sep="\n")
    return text, proposal.summary, phases


def _works(text: str) -> bool:
    def too_slow(*_: object) -> None:
        raise TimeoutError("the inserted code did not finish")

    namespace: dict = {}
    signal.signal(signal.SIGALRM, too_slow)
    signal.alarm(30)  # generated code may loop forever
    try:
        exec(compile(text, "seed.py", "exec"), namespace)
        return passes(namespace["three_sum_closest"])
    except TimeoutError:
        return False
    finally:
        signal.alarm(0)


def _well_formed(text: str, language: str, phases: list[str]) -> None:
    note = next(x for x in text.split("\n") if x.strip().startswith("# Time: O("))
    assert "Space: O(" in note and note.startswith("    # ")
    assert f"# {TODOS[language]}" in text and "TODO" not in text
    assert triggers.find_todos(text, "python") == []
    assert "writing" in phases and "timing" in phases


def test_the_chinese_seed_todo_becomes_a_working_function(real_model) -> None:
    text, summary, phases = _implement("zh")
    assert _works(text), text
    # Which candidate wins varies between runs (floating-point near-ties): measured both
    # "verified: agrees with a brute-force reference" and the reference itself, inserted as
    # "unconfirmed". Both work; neither may come with a warning.
    assert "; verified: " in summary or "; unconfirmed: " in summary, summary
    _well_formed(text, "zh", phases)


def test_the_english_seed_todo_becomes_a_working_function(real_model) -> None:
    text, summary, phases = _implement("en")
    assert _works(text), text
    assert "; verified: " in summary or "; unconfirmed: " in summary, summary
    _well_formed(text, "en", phases)
