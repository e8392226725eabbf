"""Docstring examples, and choosing between candidates by running them in the sandbox: a
known-wrong implementation is rejected and a correct one chosen."""

from __future__ import annotations

from vibe_ls import triggers
from vibe_ls.assist import Assistant, Attempt, Implementation, Target
from vibe_ls.checks import Example, examples
from vibe_ls.postprocess import parse_answer
from vibe_ls.settings import Settings

DOC = '''Return the sum of the three numbers closest to target.

    Input: nums = [-1,2,1,-4], target = 1
    Output: 2
    Input: nums = [0,0,0], target = 1
    Output: 0
    >>> three_sum_closest([1, 1, 1, 0], -100)
    2
    '''

SOURCE = f'''class Solution:
    def three_sum_closest(self, nums: list[int], target: int) -> int:
        """{DOC}"""
        # TODO: find three numbers whose sum is closest to target
        pass
'''

RIGHT = '''```python
def three_sum_closest(self, nums, target):
    nums = sorted(nums)
    best = nums[0] + nums[1] + nums[2]
    for i in range(len(nums) - 2):
        lo, hi = i + 1, len(nums) - 1
        while lo < hi:
            s = nums[i] + nums[lo] + nums[hi]
            if abs(s - target) < abs(best - target):
                best = s
            if s < target:
                lo += 1
            else:
                hi -= 1
    return best
```
Complexity: Time O(n^2), Space O(1). Approach: sort, then two pointers.'''
# The 0.5B model's typical slip: it tracks the distance and returns it instead of the sum.
WRONG = RIGHT.replace("if abs(s - target) < abs(best - target):\n                best = s",
                      "if abs(s - target) < best:\n                best = abs(s - target)")


def test_examples_from_leetcode_lines_and_doctests() -> None:
    assert examples(DOC, "three_sum_closest") == [
        Example("f(nums = [-1,2,1,-4], target = 1)", "2"),
        Example("f(nums = [0,0,0], target = 1)", "0"),
        Example("f([1, 1, 1, 0], -100)", "2"),
    ]
    assert examples("Input: n = 16\nOutput: true", "f") == [Example("f(n = 16)", "True")]
    assert examples("No examples here.", "f") == []
    assert examples("Input: root = [1,null,2]\nOutput: <a tree>", "f") == []  # not a literal


def _candidate(answer: str) -> Implementation:
    parsed = parse_answer(answer, "python")
    return Implementation("python", parsed, parsed.complexity,
                          "find three numbers whose sum is closest to target",
                          "three_sum_closest")


def test_a_wrong_candidate_scores_lower_than_a_right_one() -> None:
    target = Target(SOURCE, "python", "solution.py")
    line = 11
    todo = triggers.todo_at(SOURCE, "python", line)
    scope = triggers.enclosing_scope(SOURCE, "python", line)
    assistant = Assistant(Settings())
    cases = assistant._examples(target, scope)
    assert len(cases) == 3
    attempt = Attempt(target, todo, [], scope, cases)
    assert assistant._score(attempt, _candidate(RIGHT)) == 3
    assert assistant._score(attempt, _candidate(WRONG)) < 3
