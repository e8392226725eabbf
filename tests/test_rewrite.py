"""Rewrite with a better algorithm: a rewrite replaces the user's code only when it does what
the code did, on inputs the sandbox grew from the function (Hypothesis for Python, the
harness's types for C++, Rust and JavaScript), and the message says what was shown and how
the two grow. Hand-written rewrites through the real sandbox, then the Assistant's rewrite
on the tiny model taught to rewrite (tests/rewrites.py)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests import rewrites
from vibe_ls.postprocess import Answer
from vibe_ls.verify import differential, rewrite
from vibe_ls.verify.sandbox import unavailable

pytestmark = pytest.mark.skipif(bool(unavailable()), reason="no sandbox on this machine")

DEDUPE = '''def dedupe(xs):
    out = []
    for x in xs:
        if x not in out:
            out.append(x)
    return out
'''
# The 0.5B's rewrite from issue 23: it never adds to `seen`, so duplicates stay.
NEVER_ADDS = '''def dedupe(xs):
    seen = set()
    return [x for x in xs if x not in seen]
'''
WITH_A_SET = '''def dedupe(xs):
    seen = set()
    out = []
    for x in xs:
        if x not in seen:
            seen.add(x)
            out.append(x)
    return out
'''


def candidate(original_file: str, original: str, code: str) -> rewrite.Candidate:
    return rewrite.Candidate(Answer("", code, None, []), original_file.replace(original, code))


def check(original_file: str, original: str, *codes: str,
          more: tuple[str, ...] = ()) -> rewrite.Verdict:
    found = rewrite.subject(original_file, "python", original_file.split("\n").index(
        original.split("\n")[0]), original)
    first = [candidate(original_file, original, c) for c in codes]
    extra = (lambda: [candidate(original_file, original, c) for c in more]) if more else None
    return rewrite.check(original_file, found, first, extra)


def test_a_rewrite_that_keeps_duplicates_is_refused_with_the_smallest_input():
    verdict = check(DEDUPE, DEDUPE, NEVER_ADDS)
    assert verdict.chosen is None
    assert verdict.refused is not None
    assert "dedupe([0, 0]): the original returned [0], the rewrite returned [0, 0]" \
        in verdict.shown


def test_best_of_n_finds_the_equivalent_rewrite_and_it_is_measured_faster():
    verdict = check(DEDUPE, DEDUPE, NEVER_ADDS, more=(WITH_A_SET,))
    assert verdict.chosen is not None and WITH_A_SET in verdict.chosen.file
    assert verdict.tried == 2
    shown = verdict.shown
    assert "same results as the original on" in shown and "xs as list[int]" in shown
    assert "against the original's ≈ n^" in shown and "faster at n=" in shown, shown
    mine, theirs = verdict.speed.rewrite.exponent, verdict.speed.original.exponent
    assert mine < 1.4 and theirs > 1.6, (mine, theirs)


def test_an_equivalent_rewrite_that_is_no_faster_is_labelled():
    total = "def total(xs: list[int]) -> int:\n    s = 0\n    for x in xs:\n        s += x\n" \
            "    return s\n"
    spelled_out = total.replace("s += x", "s = s + x")
    verdict = check(total, total, spelled_out)
    assert verdict.chosen is not None
    # both loops are linear; the two fitted exponents differ by timing noise only, so the
    # label is what is checked, not the digits (n^0.9 against n^1.0 on a busy 2-core runner)
    assert re.search(r"no faster than the original \(≈ n\^\d\.\d (both|against n\^\d\.\d)",
                     verdict.shown), verdict.shown
    assert "faster at n=" not in verdict.shown, verdict.shown


def test_the_users_code_given_back_is_not_a_rewrite():
    # the 0.5B's "rewrite" of dedupe: the same loop, docstring and comments changed
    same = '\ndef dedupe(xs):\n    """Use a set."""\n    out = []  # seen\n' \
           '    for x in xs:\n        if x not in out:\n            out.append(x)\n' \
           '    return out\n'
    verdict = check(DEDUPE, DEDUPE, same, more=(DEDUPE,))
    assert verdict.chosen is None and verdict.refused is None and verdict.tried == 2
    assert verdict.shown == ("no better algorithm found: all 2 equivalent rewrites of 2 are "
                             "your code as it was"), verdict.shown
    verdict = check(DEDUPE, DEDUPE, same, more=(WITH_A_SET,))  # the samples go on
    assert verdict.chosen is not None and WITH_A_SET in verdict.chosen.file


def test_an_equivalent_rewrite_measured_slower_is_refused_and_offered_as_slower():
    original = "def count_positive(xs: list[int]) -> int:\n    return sum(1 for x in xs if x > 0)\n"
    quadratic = ("def count_positive(xs: list[int]) -> int:\n    n = 0\n"
                 "    for i in range(len(xs)):\n        if xs[i] > 0 and list(xs):\n"
                 "            n += 1\n    return n\n")
    verdict = check(original, original, quadratic)
    assert verdict.chosen is None and verdict.refused is not None
    assert verdict.shown.startswith("it is slower: same results as the original on"), \
        verdict.shown
    assert verdict.refused_as.endswith("slower than your code"), verdict.refused_as


def test_a_rewrite_that_sorts_the_callers_list_is_refused():
    original = "def smallest_two(xs: list[int]) -> list[int]:\n    return sorted(xs)[:2]\n"
    in_place = "def smallest_two(xs: list[int]) -> list[int]:\n    xs.sort()\n    return xs[:2]\n"
    verdict = check(original, original, in_place)
    assert verdict.chosen is None
    assert "the original left xs as" in verdict.shown and "the rewrite left it as" in \
        verdict.shown, verdict.shown


def test_exceptions_are_compared_by_type():
    original = "def largest(xs: list[int]) -> int:\n    return max(xs)\n"
    quiet = "def largest(xs: list[int]) -> int:\n    return max(xs) if xs else 0\n"
    other = "def largest(xs: list[int]) -> int:\n    return sorted(xs)[-1]\n"
    same = "def largest(xs: list[int]) -> int:\n    return max(xs, default=None) if xs " \
           "else max(xs)\n"
    assert "largest([]): the original raised ValueError, the rewrite returned 0" in \
        check(original, original, quiet).shown
    assert "largest([]): the original raised ValueError, the rewrite raised IndexError" in \
        check(original, original, other).shown
    assert check(original, original, same).chosen is not None


def test_the_users_examples_and_calls_are_inputs_and_a_difference_is_shrunk():
    source = '''def first_even(xs: list[int]) -> int:
    """The first even number.

    >>> first_even([3, 5, 8])
    8
    """
    for x in xs:
        if x % 2 == 0:
            return x
    return -1


print(first_even([7, 7, 7]))
'''
    # right on every list that has an even number, wrong on one without any
    wrong = source.replace("    return -1\n", "    return None\n")
    original = source[: source.index("\n\nprint")] + "\n"
    found = rewrite.subject(source, "python", 0, original)
    assert found.calls == ("f([3, 5, 8])", "f([7, 7, 7])")
    verdict = rewrite.check(source, found, [rewrite.Candidate(Answer("", "", None, []), wrong)],
                            None)
    # found on the call's [7, 7, 7] first, then shrunk while it still differed
    assert "first_even([]): the original returned -1, the rewrite returned None" in \
        verdict.shown, verdict.shown


def test_a_selection_inside_a_function_is_checked_through_that_function():
    source = DEDUPE
    selected = "        if x not in out:\n            out.append(x)\n"
    found = rewrite.subject(source, "python", 3, selected)
    assert found.function == "dedupe" and not found.unchecked


@pytest.mark.parametrize(("source", "why"), [
    ("def read(path):\n    return open(path).read()\n", "it calls `open`"),
    ("import random\n\ndef roll(n: int) -> int:\n    return random.randint(1, n)\n",
     "it calls `random.randint`"),
    ("X = [1, 2]\nX.sort()\n", "the selection is not a function or inside one"),
])
def test_what_cannot_be_run_is_offered_not_checked(source, why):
    found = rewrite.subject(source, "python", 0, source)
    verdict = rewrite.check(source, found, [candidate(source, source, source)], None)
    assert verdict.chosen is not None
    assert verdict.shown.startswith("not checked: ") and why in verdict.shown


def test_parameters_without_hints_or_examples_that_no_guess_fits():
    source = "def area(shape):\n    return shape.width * shape.height\n"
    found = rewrite.subject(source, "python", 0, source)
    verdict = rewrite.check(source, found, [candidate(source, source, source)], None)
    assert verdict.shown.startswith("not checked: no inputs can be made"), verdict.shown


def test_a_method_of_a_class_is_compared_through_an_instance():
    source = '''class Solution:
    def count(self, s: str, c: str) -> int:
        return len([x for x in s if x == c])
'''
    wrong = source.replace("x == c", "x in c")  # differs when c is "" or longer than one
    found = rewrite.subject(source, "python", 1, source)
    verdict = rewrite.check(source, found, [rewrite.Candidate(Answer("", "", None, []), wrong)],
                            None)
    assert verdict.chosen is None and "count(" in verdict.shown, verdict.shown


def test_the_script_finds_a_difference_hypothesis_shrinks():
    report = differential.compare(DEDUPE, [NEVER_ADDS], "dedupe", [])
    assert report.comparisons[0].difference.call == "dedupe([0, 0])"


# -- through the Assistant, on the tiny model taught to rewrite (tests/rewrites.py) ----------

@pytest.fixture(scope="module")
def assistant(rewriter: Path):
    from vibe_ls.assist import Assistant
    from vibe_ls.settings import Settings

    # one candidate: the greedy answer the model was taught (no sampled ones beside it)
    return Assistant(Settings(model=str(rewriter), device="cpu", candidates=1))


# Where the taught rewrite does not do what the original did: the smallest input found, and
# what each did on it.
REFUSED = {
    "python-other": "dedupe([3, 1, 3]): the original returned [1, 3], the rewrite returned "
                    "[3, 1]",
    "cpp-other": "dedupe({1, 0}): the original returned {0, 1}, the rewrite returned {1, 0}",
    "rust-other": "count_distinct(&mut vec![0, 0]): the original left xs as vec![0, 0], the "
                  "rewrite left it as vec![0]",
}
NOTES = {"python": "# Time: O(n) (measured ≈ n^", "cpp": "// Time: O(n) (measured ≈ n^",
         "rust": "// Time: O(n log n) (measured ≈ n^"}


@pytest.mark.parametrize("name", rewrites.CASES)
def test_the_models_rewrite_replaces_only_code_it_is_equivalent_to(assistant, name: str):
    from vibe_ls import edits
    from vibe_ls.assist import Target

    case = rewrites.CASES[name]
    target = Target(case.source, case.language, case.file_name)
    proposal = assistant.rewrite(target, case.span)
    body = rewrites.REWRITES[case.language].split("\n")[1]  # its first line of code
    if case.equivalent:
        assert not proposal.refused, proposal.summary
        after = edits.apply(case.source, proposal.edits)
        assert body in after and NOTES[case.language] in after, after
        assert "same results as the original on" in proposal.summary
        assert "against the original's ≈ n^" in proposal.summary, proposal.summary
        return
    assert proposal.refused and proposal.edits == []
    assert "your code stays" in proposal.summary
    assert REFUSED[name] in proposal.summary, proposal.summary
    offer = proposal.alternative
    assert offer.summary.startswith("vibe-ls: rewritten — NOT equivalent"), offer.summary
    assert body in edits.apply(case.source, offer.edits)


# -- C++, Rust and JavaScript: hand-written rewrites through the real sandbox -------------

def native_check(language: str, source: str, *rewritten: str) -> rewrite.Verdict:
    """Each rewritten file against `source`, whose first function is the original."""
    found = rewrite.subject(source, language, 0, source)
    assert not found.unchecked, found.unchecked
    return rewrite.check(source, found, [rewrite.Candidate(Answer("", "", None, []), r)
                                         for r in rewritten], None)


MEDIAN = """#include <algorithm>
#include <vector>

int median(std::vector<int>& v) {
    std::vector<int> copy = v;
    std::sort(copy.begin(), copy.end());
    return copy.empty() ? 0 : copy[copy.size() / 2];
}
"""


def test_a_cpp_rewrite_that_reorders_the_callers_vector_is_refused():
    in_place = MEDIAN.replace("""    std::vector<int> copy = v;
    std::sort(copy.begin(), copy.end());
    return copy.empty() ? 0 : copy[copy.size() / 2];""", """    if (v.empty()) return 0;
    std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
    return v[v.size() / 2];""")
    verdict = native_check("cpp", MEDIAN, in_place)
    assert verdict.chosen is None
    assert "median({1, 0}): the original left v as {1, 0}, the rewrite left it as {0, 1}" in \
        verdict.shown, verdict.shown
    on_a_copy = in_place.replace("int median(std::vector<int>& v) {",
                                 "int median(std::vector<int>& w) {\n    auto v = w;")
    assert native_check("cpp", MEDIAN, on_a_copy).chosen is not None


SORT_CPP = """#include <vector>

void sort_values(std::vector<int>& v) {
    for (int i = 0; i < (int) v.size(); i++)
        for (int j = 0; j + 1 < (int) v.size() - i; j++)
            if (v[j] > v[j + 1]) std::swap(v[j], v[j + 1]);
}
"""
SORT_RUST = """fn sort_values(v: &mut Vec<i32>) {
    for i in 0..v.len() {
        for j in 0..v.len() - 1 - i {
            if v[j] > v[j + 1] {
                v.swap(j, j + 1);
            }
        }
    }
}
"""


def test_a_function_that_returns_nothing_is_compared_by_what_it_leaves():
    deduped = SORT_CPP.replace(
        "    for (int i = 0; i < (int) v.size(); i++)\n"
        "        for (int j = 0; j + 1 < (int) v.size() - i; j++)\n"
        "            if (v[j] > v[j + 1]) std::swap(v[j], v[j + 1]);",
        "    std::sort(v.begin(), v.end());\n"
        "    v.erase(std::unique(v.begin(), v.end()), v.end());").replace(
        "#include <vector>", "#include <algorithm>\n#include <vector>")
    assert "sort_values({0, 0}): the original left v as {0, 0}, the rewrite left it as {0}" \
        in native_check("cpp", SORT_CPP, deduped).shown
    verdict = native_check("rust", SORT_RUST, "fn sort_values(v: &mut Vec<i32>) {\n"
                                              "    v.sort();\n}\n")
    assert verdict.chosen is not None, verdict.shown
    assert "against the original's ≈ n^" in verdict.shown, verdict.shown


def test_a_rust_panic_is_compared():
    largest = "fn largest(v: &[i32]) -> i32 {\n    *v.iter().max().unwrap()\n}\n"
    quiet = "fn largest(v: &[i32]) -> i32 {\n    v.iter().copied().max().unwrap_or(0)\n}\n"
    assert "largest(&vec![]): the original panicked, the rewrite returned 0" in \
        native_check("rust", largest, quiet).shown
    same = "fn largest(v: &[i32]) -> i32 {\n    v.iter().copied().fold(None, |m: Option<i32>" \
           ", x| Some(m.map_or(x, |m| m.max(x)))).unwrap()\n}\n"
    assert native_check("rust", largest, same).chosen is not None


def test_a_cpp_index_out_of_range_in_the_original_is_not_an_input():
    """The original reads v[0] of an empty vector (undefined behaviour): the vector's checks
    are on in the build, so that input is left out instead of comparing garbage."""
    first = "#include <vector>\nint first(const std::vector<int>& v) {\n    return v[0];\n}\n"
    guarded = first.replace("return v[0];", "return v.empty() ? -7 : v.front();")
    verdict = native_check("cpp", first, guarded)
    assert verdict.chosen is not None, verdict.shown


def test_a_javascript_rewrite_is_checked_too():
    dedupe = "function dedupe(xs) {\n  const out = [];\n  for (const x of xs) {\n" \
             "    if (!out.includes(x)) out.push(x);\n  }\n  return out;\n}\n"
    sorted_set = "function dedupe(xs) {\n  return [...new Set(xs)].sort();\n}\n"
    verdict = native_check("javascript", dedupe, sorted_set)
    assert "dedupe([1, 0]): the original returned [1, 0], the rewrite returned [0, 1]" in \
        verdict.shown, verdict.shown


def test_a_language_without_a_harness_is_offered_not_checked():
    source = "package main\n\nfunc Sum(xs []int) int {\n\tt := 0\n\tfor _, x := range " \
             "xs {\n\t\tt += x\n\t}\n\treturn t\n}\n"
    found = rewrite.subject(source, "go", 2, source)
    verdict = rewrite.check(source, found, [rewrite.Candidate(Answer("", "", None, []),
                                                              source)], None)
    assert verdict.chosen is not None and verdict.shown == "not checked: no go harness yet"


def test_a_cpp_function_that_draws_random_numbers_is_offered_not_checked():
    source = "#include <cstdlib>\nint roll(int n) {\n    return rand() % n + 1;\n}\n"
    found = rewrite.subject(source, "cpp", 1, source)
    verdict = rewrite.check(source, found, [rewrite.Candidate(Answer("", "", None, []),
                                                              source)], None)
    assert verdict.shown == "not checked: `roll` depends on more than its arguments (it " \
                            "uses `rand`)"


def test_the_files_own_calls_and_doc_examples_are_inputs_in_each_languages_spelling():
    from vibe_ls.verify import native_differential

    cpp = "int main() { f({1, 2}, 3); f(std::vector<int>{4}, -1); f(x, 2); }"
    assert native_differential.call_sites(cpp, "f") == ["f([1, 2], 3)", "f([4], -1)"]
    rust = 'fn main() { f(&vec![1, 2], "ab".to_string(), true, 5i64); }'
    assert native_differential.call_sites(rust, "f") == ["f([1, 2], 'ab', True, 5)"]
    documented = "/// ```\n/// assert_eq!(count(&[1, 2, 2]), 2);\n/// ```\nfn count(v: &[i32]) " \
                 "-> usize {\n    0\n}\n"
    assert native_differential.call_sites(documented, "count") == ["f([1, 2, 2])"]


# -- the symbolic search -------------------------------------------------------------------

COUNT = "def count(xs: list[int], k: int) -> int:\n    return sum(1 for x in xs if x == k)\n"
# Right on every input but one value of k, which the rewrite special-cases (a small model
# hard-codes an example it saw): random inputs do not reach it, a solver does.
SPECIAL_CASED = "def count(xs: list[int], k: int) -> int:\n    if k == 7777:\n" \
                "        return 0\n    return xs.count(k)\n"


def test_random_inputs_miss_a_rare_difference():
    report = differential.compare(COUNT, [SPECIAL_CASED], "count", [])
    assert report.comparisons[0].difference is None


@pytest.mark.skipif(bool(__import__("vibe_ls.verify.symbolic").verify.symbolic.available()),
                    reason="CrossHair is not installed")
def test_the_symbolic_search_catches_what_random_inputs_miss():
    verdict = check(COUNT, COUNT, SPECIAL_CASED)
    assert verdict.chosen is None, verdict.shown
    assert "the original returned 1, the rewrite returned 0" in verdict.shown
    assert "count(xs=[7777], k=7777)" in verdict.shown and "CrossHair" in verdict.shown, \
        verdict.shown


@pytest.mark.skipif(bool(__import__("vibe_ls.verify.symbolic").verify.symbolic.available()),
                    reason="CrossHair is not installed")
def test_an_equivalent_rewrite_says_the_symbolic_search_found_nothing():
    verdict = check(COUNT, COUNT, "def count(xs: list[int], k: int) -> int:\n"
                                  "    return xs.count(k)\n")
    assert verdict.chosen is not None
    assert "none found in 3 s of symbolic search" in verdict.shown, verdict.shown


def test_the_speed_words_say_what_the_timing_showed():
    from vibe_ls.verify.growth import Growth

    sizes = (256, 512, 1024, 2048, 4096)
    quadratic = Growth(sizes, tuple(1e-9 * n * n for n in sizes))
    linear = Growth(sizes, tuple(4e-8 * n for n in sizes))
    assert rewrite.Speed(quadratic, linear).words() == \
        f"measured ≈ n^1.00 against the original's ≈ n^2.00 (51{rewrite.TIMES} faster at n=2048)"
    assert rewrite.Speed(linear, linear).words() == "no faster than the original (≈ n^1.0 both)"
    # early exits on random inputs: both too quick to fit, the times still compared
    quick = Growth(sizes, (1e-6,) * 5)
    assert rewrite.Speed(quick, Growth(sizes, (5e-7,) * 5)).words() == \
        f"2.0{rewrite.TIMES} faster than the original at n=2048 (too quick to measure how it grows)"
    assert rewrite.Speed(None, linear).words() == "not timed (its inputs could not be grown)"


def test_small_integers_are_tried_where_a_naive_original_never_finishes_on_drawn_ones():
    # bench --rewrite's fib: the 0.5B's halving "rewrite" agreed with the recursive original
    # on 20 drawn inputs (none between 2 and 25: there the original is too slow) and was applied
    original = ('def fib(n: int) -> int:\n    """fib(0) == 0, fib(1) == 1"""\n    if n < 2:\n'
                '        return n\n    return fib(n - 1) + fib(n - 2)\n')
    halving = original.replace("fib(n - 1) + fib(n - 2)", "fib(n // 2) + fib(n // 2 - 1)")
    verdict = check(original, original, halving)
    assert verdict.chosen is None
    assert "fib(3): the original returned 2, the rewrite returned 1" in verdict.shown, \
        verdict.shown
