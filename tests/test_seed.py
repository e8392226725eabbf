"""The seed's example with the real default model: a TODO asking for the three numbers whose
sum is closest to a target (in Chinese and in English) becomes a function that passes tests
it never saw, with a complexity note. Verification (checks, best of n, timing) is on, as it
is for users; the model's greedy first answer alone usually has a bug here."""

from __future__ import annotations

import itertools
import random

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


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_seed_todo_becomes_a_working_function(real_model, language: str) -> None:
    source = ("def three_sum_closest(nums: list[int], target: int) -> int:\n"
              f"    # TODO: {TODOS[language]}\n    pass\n")
    assistant = Assistant(Settings())
    phases: list[str] = []
    proposal = assistant.implement(Target(source, "python", "seed.py"), 1,
                                   on_phase=phases.append)
    text = apply(source, proposal.edits)
    print(proposal.summary, text, sep="\n")
    namespace: dict = {}
    exec(compile(text, "seed.py", "exec"), namespace)
    assert passes(namespace["three_sum_closest"]), text
    note = next(x for x in text.split("\n") if x.strip().startswith("# Time: O("))
    assert "Space: O(" in note and note.startswith("    # ")
    assert f"# {TODOS[language]}" in text and "TODO" not in text
    assert triggers.find_todos(text, "python") == []
    assert "writing" in phases and "timing" in phases
