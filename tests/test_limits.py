"""The limits a task states, read from its docstring, and code carried to them."""

from __future__ import annotations

import pytest

from vibe_ls.verify import growth, limits

STATED = """Constraints:
- 0 <= low <= high <= 10^9
- `1 <= words[i].length, chars.length <= 100`
- 1 <= nums.length <= 3 * 10^4
- -2^31 <= nums[i] <= 2^31 - 1
- n == nums.length
- 1 <= k < n
- `words[i]` and `chars` consist of lowercase English letters."""


def test_bounds_on_names_and_lengths_are_read_as_stated() -> None:
    assert [(b.name, b.high, b.text, b.length) for b in limits.stated(STATED)] == [
        ("low", 10**9, "10^9", False), ("high", 10**9, "10^9", False),
        ("chars", 100, "100", True), ("nums", 30000, "3 * 10^4", True)]


@pytest.mark.parametrize(("text", "value"), [
    ("10^9", 10**9), ("2^31 - 1", 2**31 - 1), ("5 * 10^4", 50000), ("10**5", 10**5),
    ("1e5", 10**5), ("10\N{SUPERSCRIPT FIVE}", 10**5), ("100,000", 10**5), ("abc", None),
    ("10^100", None)])
def test_numbers_as_docstrings_write_them(text: str, value: int | None) -> None:
    assert limits._number(text) == value


def test_growth_carried_to_the_stated_limit() -> None:
    linear = growth.Growth(sizes=(1024, 2048, 4096, 8192, 16384),
                           seconds=(1e-4, 2e-4, 4e-4, 8e-4, 1.6e-3))
    # numbers alone: n is the largest number; 1.6 ms at 16384 is about 98 s at 10^9
    assert limits.too_slow(STATED, "([3, 7], {})", linear) == \
        "about 98 s a call at high = 10^9"
    # with a list, n is its length: 3 ms at 30000 is quick
    assert limits.too_slow(STATED, "([[1, 2]], {'k': 1})", linear) == ""
    # nothing stated, nothing said
    assert limits.too_slow("Return the sum.", "([3, 7], {})", linear) == ""


def test_a_constraint_on_its_labelled_line() -> None:
    """`Constraints: 0 <= low <= high <= 10^9` on one line, as a comment writes it."""
    assert limits.rules("Constraints: 0 <= low <= high <= 10^9")["order"] == \
        [["low", "high", False]]
    assert [b.name for b in limits.stated("Constraints: 1 <= nums.length <= 10^5")] == ["nums"]
