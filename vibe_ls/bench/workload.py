"""The fixed prompts every engine in a benchmark run is measured on."""

from __future__ import annotations

SYSTEM = (
    "You are an algorithm engineer. Read the code and the TODO, reason briefly about the best "
    "algorithm, then write clean, working code in the file's language. End with a comment "
    "giving the time and space complexity and the approach in a few words."
)

# ~59 tokens with Qwen2's tokenizer and chat template, as in the published CPU anchors.
SHORT = "Write a Python function that returns the length of the longest increasing subsequence."

FILE = '''import bisect
from collections import defaultdict


def two_sum(nums: list[int], target: int) -> list[int]:
    """Indices of the two numbers that add up to target."""
    seen: dict[int, int] = {}
    for i, x in enumerate(nums):
        if target - x in seen:
            return [seen[target - x], i]
        seen[x] = i
    return []


def group_anagrams(words: list[str]) -> list[list[str]]:
    groups: defaultdict[str, list[str]] = defaultdict(list)
    for word in words:
        groups["".join(sorted(word))].append(word)
    return list(groups.values())


def longest_increasing_subsequence(nums: list[int]) -> int:
    tails: list[int] = []
    for x in nums:
        i = bisect.bisect_left(tails, x)
        if i == len(tails):
            tails.append(x)
        else:
            tails[i] = x
    return len(tails)


def three_sum_closest(nums: list[int], target: int) -> int:
    # TODO: {todo}
    pass
'''

TODOS = (
    "find three numbers whose sum is closest to target",
    "找出数组中三个数之和最接近目标值的组合",
)


def todo_messages(todo: str) -> list[dict[str, str]]:
    """A typical Implement-TODO prompt (~300 tokens): system prompt, the file, the task."""
    source = FILE.replace("{todo}", todo)
    user = (f"File: solution.py\n```python\n{source}```\n"
            f"Implement the TODO in `three_sum_closest`: {todo}")
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def short_messages() -> list[dict[str, str]]:
    return [{"role": "user", "content": SHORT}]


def rewrite_messages() -> list[dict[str, str]]:
    """A rewrite: the answer copies most of its input, where prompt lookup pays off."""
    code = FILE.split("def three_sum_closest")[0]
    return [{"role": "system", "content": SYSTEM},
            {"role": "user", "content": "Add type-checked docstrings to every function and "
                                        f"return the whole file:\n```python\n{code}```"}]
