"""Measured complexity: inputs grown from a sample, timed in the sandbox, and the model's
`Time: O(…)` claim judged against the fitted exponent."""

from __future__ import annotations

import math

import pytest

from vibe_ls import triggers
from vibe_ls.assist import Assistant, Target
from vibe_ls.postprocess import Complexity, complexity_note
from vibe_ls.settings import Settings
from vibe_ls.verify import growth, verifier
from vibe_ls.verify.verifier import apply_judgement

SOURCE = '''
def count_pairs(nums: list[int], target: int) -> int:
    """How many pairs sum to target."""
    count = 0
    for i in range(len(nums)):
        for j in range(i + 1, len(nums)):
            if nums[i] + nums[j] == target:
                count += 1
    return count


def count_pairs_fast(nums: list[int], target: int) -> int:
    seen, count = {}, 0
    for x in nums:
        count += seen.get(target - x, 0)
        seen[x] = seen.get(x, 0) + 1
    return count


def fib(n: int) -> int:
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def first(nums: list[int]) -> int:
    return nums[0]
'''
SAMPLE = "([[1, 5, 3, 2]], {'target': 6})"


def test_a_false_claim_is_caught_and_corrected() -> None:
    """An O(n²) function annotated O(n): the measurement says n^2 and the note says so."""
    measured = growth.measure(SOURCE, "count_pairs", SAMPLE)
    assert measured is not None and 1.7 < measured.exponent < 2.4
    judgement = growth.judge("O(n)", measured)
    assert judgement.verdict == "corrected" and judgement.time == "O(n^2)"
    note = complexity_note(apply_judgement(Complexity("O(n)", "O(1)", "check every pair"),
                                           judgement), "#")
    assert note.startswith("# Time: O(n^2) (measured ≈ n^")
    assert "the model claimed O(n)" in note


def test_a_true_claim_is_confirmed() -> None:
    measured = growth.measure(SOURCE, "count_pairs_fast", SAMPLE)
    assert measured is not None and 0.7 < measured.exponent < 1.4
    assert growth.judge("O(n)", measured).verdict == "agrees"
    assert growth.judge("O(n log n)", measured).verdict == "agrees"


def test_constant_time_and_exponential_growth() -> None:
    constant = growth.measure(SOURCE, "first", "([[3, 1, 2]], {})")
    assert constant is not None and constant.exponent == 0.0
    assert growth.judge("O(1)", constant).verdict == "agrees"
    assert growth.judge("O(n)", constant).verdict == "loose"  # a bound, not false
    exploding = growth.measure(SOURCE, "fib", "([5], {})")  # only the int can grow
    assert exploding is not None and exploding.exponent > growth.EXPONENTIAL
    assert growth.judge("O(n)", exploding).time == "O(2^n)"


def _timed(exponent: float, log: bool = False) -> growth.Growth:
    sizes = tuple(2 ** k for k in range(6, 13))
    return growth.Growth(sizes, tuple(1e-6 * n ** exponent * (math.log2(n) if log else 1)
                                      for n in sizes))


@pytest.mark.parametrize(("exponent", "log", "corrected"), [
    (2.2, False, "O(n^2)"),  # quadratic loops measured so: caches, a busy core
    (2.0, True, "O(n^2)"),  # a log factor is within timing noise of the power
    (1.9, False, "O(n^2)"), (3.1, False, "O(n^3)"),
    (1.4, False, "O(n log n)")])  # only where no power fits
def test_a_correction_names_a_plain_power_unless_none_fits(exponent: float, log: bool,
                                                           corrected: str) -> None:
    judgement = growth.judge("O(log n)", _timed(exponent, log))
    assert (judgement.verdict, judgement.time) == ("corrected", corrected), judgement


def test_a_sort_explains_growth_no_class_fits() -> None:
    """Sorting random integers in Python measured n^1.43 (memory, not comparisons)."""
    sorted_growth = _timed(1.45)
    assert growth.judge("O(n)", sorted_growth).verdict == "doubtful"
    judgement = growth.judge("O(n)", sorted_growth, sorting=True)
    assert (judgement.verdict, judgement.time) == ("corrected", "O(n log n)")
    assert growth.judge("O(n log n)", sorted_growth, sorting=True).verdict == "agrees"
    # A sort does not excuse growth beyond it.
    assert growth.judge("O(n)", _timed(1.8), sorting=True).time == "O(n^2)"
    assert growth.sorts("nums.sort()\nreturn nums == nums")
    assert growth.sorts("std::sort(a.begin(), a.end());") and growth.sorts("sort.Ints(a)")
    assert growth.sorts("return sorted(xs)[k]") and growth.sorts("Arrays.sort(a);")
    assert not growth.sorts("is_sorted = all(a <= b for a, b in zip(xs, xs[1:]))")


@pytest.mark.parametrize(("claim", "low", "high"), [
    ("O(1)", 0, 0), ("O(log n)", 0.05, 0.3), ("O(n)", 1, 1), ("O(n log n)", 1.05, 1.3),
    ("O(n^2)", 2, 2), ("O(n * m)", 2, 2), ("O(n + m)", 1, 1), ("O(sqrt n)", 0.5, 0.5)])
def test_what_a_claim_predicts(claim: str, low: float, high: float) -> None:
    predicted = growth.predicted_exponent(claim, 256, 4096)
    assert predicted is not None and low - 1e-9 <= predicted <= high + 1e-9


def test_claims_on_other_quantities_are_not_compared() -> None:
    assert growth.predicted_exponent("O(k log n)", 256, 4096) is None
    assert growth.predicted_exponent("O(V + E)", 256, 4096) is None
    assert math.isinf(growth.predicted_exponent("O(2^n)", 256, 4096))


def test_samples_from_calls_and_type_hints() -> None:
    assert growth.sample_from_call("f([1, 2], t=3)") == "([[1, 2]], {'t': 3})"
    assert growth.sample_from_call("f(x)") is None  # not a literal
    assert growth.sample_from_signature(SOURCE, "count_pairs") == "([[2, -1, 3], 5], {})"


def test_add_complexity_note_measures_a_python_function() -> None:
    """The Add-complexity-note path times the user's own function (no model needed here)."""
    assistant = Assistant(Settings())
    scope = triggers.enclosing_scope(SOURCE, "python", 4)
    judgement = assistant._measure_scope(Target(SOURCE, "python", "pairs.py"), scope,
                                         Complexity("O(n)", "O(1)", ""),
                                         verifier.PythonRuns(), None)
    assert judgement is not None and judgement.time == "O(n^2)"
    # ...and a hover over the same function, even with a note added above, shows it.
    noted = SOURCE.replace("    count = 0", "    # Time: O(n^2)\n    count = 0")
    assert assistant.measured(scope.text.replace("    count = 0",
                                                 "    # Time: O(n^2)\n    count = 0"))
    assert assistant._with_measurement("**What it computes**", noted).count("**Measured**") == 1


RUST = ("fn count_pairs(a: &[i32]) -> i64 {\n    let mut count = 0;\n"
        "    for i in 0..a.len() {\n        for j in i + 1..a.len() {\n"
        "            if a[i] < a[j] {\n                count += 1;\n            }\n"
        "        }\n    }\n    count\n}\n")


def test_add_complexity_note_measures_a_compiled_function() -> None:
    """The same for a language the harness compiles: measured, corrected, and remembered
    for hovers over the function with the note added."""
    runs = verifier.runs_for("rust")
    if runs is None:
        pytest.skip("no rustc here")
    assistant = Assistant(Settings())
    scope = triggers.enclosing_scope(RUST, "rust", 2)
    judgement = assistant._measure_scope(Target(RUST, "rust", "pairs.rs"), scope,
                                         Complexity("O(n)", "O(1)", ""), runs, None)
    assert judgement is not None and judgement.time == "O(n^2)", judgement
    noted = RUST.replace("    let mut count", "    // Time: O(n^2)\n    let mut count")
    shown = assistant._with_measurement("**What it computes**", noted, "rust")
    assert shown.count("**Measured**") == 1


def test_the_smallest_input_shaped_like_the_sample() -> None:
    from vibe_ls.verify.inputs import edge_calls

    assert edge_calls(repr(([16], {}))) == ["f(0)"]
    assert edge_calls(repr(([[1, 2, 3], 4.5], {"k": "ab", "flag": True}))) == \
        ["f([], 0.0, k='', flag=True)"]
    assert edge_calls(repr(([0, []], {}))) == []  # the sample is already the smallest
    assert edge_calls("not a sample") == []


def test_several_numbers_grow_in_proportion() -> None:
    """`count_odds(low, high)` looping from low to high: both grown to the same prime, the
    loop ran once and the note said O(log high) measured; grown in proportion to the sample
    (3, 7), the range grows with n, and the loop measures linear, the formula constant."""
    source = ("def count_odds(low: int, high: int) -> int:\n    count = 0\n"
              "    for i in range(low, high + 1):\n        count += i % 2\n    return count\n\n\n"
              "def count_odds_fast(low: int, high: int) -> int:\n"
              "    return (high + 1) // 2 - low // 2\n")
    loop = growth.measure(source, "count_odds", "([3, 7], {})")
    assert loop is not None and loop.exponent is not None and loop.exponent > 0.7, loop
    formula = growth.measure(source, "count_odds_fast", "([3, 7], {})")
    assert formula is not None and growth.judge("O(1)", formula).verdict == "agrees", formula
