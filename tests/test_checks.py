"""Docstring examples, and choosing between candidates by running them in the sandbox: a
known-wrong implementation is rejected and a correct one chosen."""

from __future__ import annotations

import pytest

from vibe_ls import triggers
from vibe_ls.assist import UNKNOWN, Implementation
from vibe_ls.edits import apply
from vibe_ls.postprocess import parse_answer
from vibe_ls.verify.checks import Example, examples, fits_signature, model_checks
from vibe_ls.verify.verifier import Verifier, _ExamplesBatch

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
    # an in-place problem: what the call returns, then what the array must hold
    assert examples("Input: nums = [3,2,2,3], val = 3\nOutput: 2, nums = [2,2,_,_]", "f") == \
        [Example("f(nums = [3,2,2,3], val = 3)", "2")]


@pytest.mark.parametrize("text, name, expected", [
    ('Example: lengthOfLongestSubstring("abcabcbb") returns 3', "lengthOfLongestSubstring",
     [Example('f("abcabcbb")', "3")]),
    ("count the vowels, e.g. count_vowels('hello world') == 3", "count_vowels",
     [Example("f('hello world')", "3")]),
    ("fib(10) is 55 and fib(1) -> 1.", "fib", [Example("f(10)", "55"), Example("f(1)", "1")]),
    ("two_sum([2,7,11,15], 9) => [0, 1]", "two_sum", [Example("f([2,7,11,15], 9)", "[0, 1]")]),
    ("is_even(3) should return false, since 3 is odd", "is_even", [Example("f(3)", "False")]),
    ("mx(a=[1, 2], k=3): 2 (the larger)", "mx", [Example("f(a=[1, 2], k=3)", "2")]),
    ("count('a(b') == 1  // a bracket inside a string", "count", [Example("f('a(b')", "1")]),
    # test assertions in doc comments: Rust, node, unittest, jest, JUnit
    ("/// assert_eq!(rev(vec![1, 2]), vec![2, 1]);", "rev", [Example("f([1, 2])", "[2, 1]")]),
    ("assert.strictEqual(fib(10), 55);", "fib", [Example("f(10)", "55")]),
    ("self.assertEqual(fib(10), 55)", "fib", [Example("f(10)", "55")]),
    ("expect(fib(10)).toBe(55);", "fib", [Example("f(10)", "55")]),
    ('assertEquals("cba", Solution.rev("abc"));', "rev", [Example('f("abc")', '"cba"')]),
    # not examples: arguments or results that are not values, or no result at all
    ("assert_eq!(fib(n), expected);", "fib", []),
    ('fix: parse("1,2") returns [1] instead of [1, 2]', "parse", []),  # a bug report
    ("The function two_sum(nums, target) returns indices", "two_sum", []),
    ("two_sum() returns the indices", "two_sum", []),
    ("call fib(n - 1) recursively; fib(3) twice", "fib", []),
    ("other(3) == 4", "fib", []),
])
def test_examples_written_as_calls_with_their_results(text: str, name: str,
                                                       expected: list[Example]) -> None:
    """How people write examples in a doc comment or the TODO itself, in any language."""
    assert examples(text, name) == expected


def test_the_users_examples_come_from_the_docstring_and_the_todo() -> None:
    from vibe_ls.assist import user_examples

    source = ('def fib(n: int) -> int:\n    """The nth Fibonacci number: fib(10) == 55."""\n'
              "    # TODO: iterate; fib(1) == 1 and fib(10) == 55\n    pass\n")
    todo = triggers.todo_at(source, "python", 2)
    scope = triggers.enclosing_scope(source, "python", 2)
    assert user_examples(scope, todo, "fib") == (
        [Example("f(10)", "55"), Example("f(1)", "1")], "examples (docstring and TODO)")
    assert user_examples(None, todo, "fib")[1] == "examples in the TODO"
    assert user_examples(scope, todo, "other") == ([], "docstring examples")


def test_braces_are_arrays_outside_python() -> None:
    """C++'s `{-2, 1, -3}` read as a Python set lost its order and its repeats: Kadane's
    right answer failed the example."""
    text = "Example: maxSubArray({-2, 1, -3, 4, -1, 2, 1, -5, 4}) returns 6"
    assert examples(text, "maxSubArray", "cpp") == [
        Example("f([-2, 1, -3, 4, -1, 2, 1, -5, 4])", "6")]
    assert examples("assertEquals(3, count(new int[]{1, 1, 2}));", "count", "java") == [
        Example("f([1, 1, 2])", "3")]
    assert examples("total({'a': 1}) == 1", "total") == [Example("f({'a': 1})", "1")]


def test_asserts_that_copy_the_judges_output_format_still_count() -> None:
    """The 0.5B's asserts for remove_element, as it wrote them (the last one cut off by the
    token limit): each still says what the call returns."""
    text = ("```python\nassert remove_element( [3,2,2,3], 3 ) == 2, nums = [2,2,_,_]\n"
            "assert remove_element( [1,1,1,1,1], 1 ) == 0, nums = [1,1,1,1,1]\n"
            "assert remove_element([1], 1) == 0, 'empties it, then returns 0'\n"
            "assert remove_element( [1,2,3,4,5,6,7,8,9], 0 ) == 9, nums = [1,2,3,4,5,")
    assert model_checks(text, "remove_element") == [
        Example("f([3, 2, 2, 3], 3)", "2"), Example("f([1, 1, 1, 1, 1], 1)", "0"),
        Example("f([1], 1)", "0"), Example("f([1, 2, 3, 4, 5, 6, 7, 8, 9], 0)", "9")]


def _candidate(answer: str, function: str = "three_sum_closest",
               todo: str = "find three numbers whose sum is closest to target",
               ) -> Implementation:
    parsed = parse_answer(answer, "python")
    return Implementation("python", parsed, parsed.complexity or UNKNOWN, todo, function)


BRUTE = '''```python
def three_sum_closest(nums, target):
    import itertools
    return min((sum(c) for c in itertools.combinations(nums, 3)),
               key=lambda s: abs(s - target))
```'''


def verifier_source(candidate: Implementation, source: str = SOURCE) -> str:
    todo = triggers.todo_at(source, "python", _todo_line(source))
    return apply(source, candidate.edits_for(source, todo.line, "TODO") or [])


def _todo_line(source: str) -> int:
    return next(i for i, line in enumerate(source.split("\n")) if "# TODO" in line)


def _verifier(candidates: list[Implementation], checks_text: str, first: Implementation,
              reference: Implementation | list[Implementation | None] | None = None,
              batch: int = 1,
              max_candidates: int | None = None, source: str = SOURCE,
              function: str = "three_sum_closest"):
    """A Verifier over a fixed queue of candidates: the model's part (writing candidates and
    checks) is replayed, the checking, ranking and timing are real (sandboxed runs). Each
    round it asks for is recorded in `.rounds` as (candidates, with the reference), each
    reference request in `.references`. A list of references is written one per request (the
    last again once the list is used up)."""
    todo = triggers.todo_at(source, "python", _todo_line(source))
    scope = triggers.enclosing_scope(source, "python", _todo_line(source))
    queue = list(candidates)
    refs = list(reference) if isinstance(reference, list) else [reference]
    rounds: list[tuple[int, bool]] = []
    requests = []

    def write(samplings, request, checks, settle=None):
        rounds.append((len(samplings), request is not None))
        text = checks[1] + checks_text if checks else None
        written = [queue.pop(0) if queue else None for _ in samplings]
        ref = None
        if request is not None:
            requests.append(request)
            ref = refs[min(len(requests), len(refs)) - 1]
        # The rows end as they do with the real model: the asserts, the reference, then the
        # samples (the longest); a settled batch drops the samples still being written.
        rows = [("checks", text), ("reference", ref), *(("candidate", c) for c in written)]
        for k, (kind, value) in enumerate(rows if settle else []):
            if settle(kind, value):
                verifier.dropped = len(rows) - k - 1
                written = [c for _, c in rows[2 : k + 1]]
                break
        return written, ref, text

    verifier = Verifier(
        task=todo.description, function=function,
        source_for=lambda candidate: verifier_source(candidate, source),
        write=write, ask_text=lambda messages, start, tokens: start + checks_text,
        doc_cases=examples(scope.docstring, function), system_prompt="",
        max_candidates=max_candidates or len(candidates) + 1, budget_s=60, on_phase=None,
        cancel=None, batch=batch)
    verifier.rounds, verifier.dropped, verifier.references = rounds, 0, requests
    return verifier


def test_a_known_wrong_candidate_is_rejected_and_a_right_one_chosen() -> None:
    right, wrong = _candidate(RIGHT), _candidate(WRONG)
    verifier = _verifier([right], "", wrong)
    outcome = verifier.run([wrong], "def three_sum_closest(nums, target):",
                           lambda c: c.complexity)
    assert outcome.chosen is right
    assert outcome.tries == 2 and outcome.passed_doc == outcome.doc_total == 3
    # the examples alone (no reference to compare with, no agreeing candidates) never verify
    assert "unconfirmed: 3/3 docstring examples" in outcome.summary, outcome.summary
    checked = _verifier([right], "", wrong, reference=_candidate(BRUTE)).run(
        [wrong], "def three_sum_closest(nums, target):", lambda c: c.complexity)
    assert checked.chosen is right and "verified: 3/3 docstring examples, agrees with a " \
        "brute-force reference" in checked.summary, checked.summary
    # The wrong one, alone, is shown with a warning, never as verified.
    alone = _verifier([], "", wrong).run([wrong], "def three_sum_closest(nums, target):",
                                         lambda c: c.complexity)
    assert alone.chosen is wrong and "WARNING: passes only" in alone.summary


def test_candidates_that_never_run_are_a_warning_that_says_why() -> None:
    broken = [_candidate("```python\ndef three_sum_closest(nums, target):\n"
                         f"    return nums.missing_{n}()\n```") for n in range(3)]
    outcome = _verifier(broken[1:], "", broken[0]).run(
        [broken[0]], "def three_sum_closest(nums, target):", lambda c: c.complexity)
    assert outcome.tries == 3 and "verified" not in outcome.summary
    assert outcome.summary.startswith(
        "; WARNING: no check could run any of 3 candidates (raised AttributeError")


# The sort written other ways: different programs that return the same.
DIFFERENT = ("nums = sorted(list(nums))", "nums = list(sorted(nums))")


def test_passing_the_examples_while_the_reference_disagrees_is_not_verified() -> None:
    """A candidate that only looks at the first four numbers passes all three docstring
    examples (none is longer) but not the longer drawn inputs, where the reference disagrees:
    it is not called verified (the reference, passing the examples too, is inserted). On the
    quality benchmark both "verified" inserts that failed the hidden tests were of this kind.
    A reference that fails one of the user's examples is known to be wrong: its disagreement
    is not counted, and the message says so."""
    wrong = _candidate(WRONG)
    first_four = _candidate(RIGHT.replace("nums = sorted(nums)", "nums = sorted(nums[:4])"))
    verifier = _verifier([first_four], "", wrong, reference=_candidate(BRUTE))
    outcome = verifier.run([wrong], "def three_sum_closest(nums, target):", lambda c: c.complexity)
    assert outcome.reference == "chosen" and "verified:" not in outcome.summary
    assert "the best differed at three_sum_closest(" in outcome.summary, outcome.summary
    off = _candidate(BRUTE.replace("abs(s - target)", "abs(s - target + 3)"))
    right = _candidate(RIGHT)
    outcome = _verifier([], "", right, reference=off).run(
        [right], "def three_sum_closest(nums, target):", lambda c: c.complexity)
    assert outcome.chosen is right and outcome.reference == ""
    assert outcome.summary.startswith("; unconfirmed: 3/3 docstring examples, 3 reference "
                                      "versions failed your examples (not counted)"), \
        outcome.summary
    # where no reference counts, three different programs returning the same on every
    # drawn input are not enough either (the 1.5B's three `high_five` programs shared a bug)
    alike = [_candidate(RIGHT.replace("nums = sorted(nums)", other)) for other in DIFFERENT]
    outcome = _verifier(alike, "", right, reference=off, max_candidates=3).run(
        [right], "def three_sum_closest(nums, target):", lambda c: c.complexity)
    assert outcome.summary.startswith("; unconfirmed: 3/3 docstring examples, 3 reference "
                                      "versions failed your examples (not counted), 3 of 3 "
                                      "candidates return the same (best"), outcome.summary
    # and the message says when they are one program sampled again
    same = [_candidate(RIGHT.replace("nums = sorted(nums)", f"nums = sorted(nums){pad}"))
            for pad in ("  # sort", "\n")]
    outcome = _verifier(same, "", right, reference=off, max_candidates=3).run(
        [right], "def three_sum_closest(nums, target):", lambda c: c.complexity)
    assert outcome.summary.startswith("; unconfirmed: 3/3 docstring examples, 3 reference "
                                      "versions failed your examples (not counted), 3 of 3 "
                                      "candidates return the same (one program, sampled again)"), \
        outcome.summary


def test_a_reference_that_fails_the_examples_is_written_again_told_which() -> None:
    """The greedy brute-force reference fails a user's example: a second one is written from
    the literal prompt, which names the example and what the first returned; it passes them,
    agrees with the candidate on the drawn inputs, and the insert is verified by it. Where
    that one fails them too, a third brute force is sampled; where all three fail, none is
    counted and no fourth is asked for."""
    off = _candidate(BRUTE.replace("abs(s - target)", "abs(s - target + 3)"))
    right = _candidate(RIGHT)
    verifier = _verifier([], "", right, reference=[off, _candidate(BRUTE)])
    outcome = verifier.run([right], "def three_sum_closest(nums, target):",
                           lambda c: c.complexity)
    first, second = verifier.references
    assert first.sampling is None and first.failed == "" and not first.plain
    assert second.sampling is None and second.plain
    assert second.failed.startswith("three_sum_closest(") and " should return " in \
        second.failed and "; it returned " in second.failed, second.failed
    assert outcome.chosen is right and outcome.reference == "agrees"
    assert outcome.summary.startswith("; verified: 3/3 docstring examples, agrees with a "
                                      "plain reference version on "), outcome.summary
    third = _verifier([], "", right, reference=[off, off, _candidate(BRUTE)])
    outcome = third.run([right], "def three_sum_closest(nums, target):", lambda c: c.complexity)
    last = third.references[-1]
    assert len(third.references) == 3 and not last.plain and last.sampling.temperature > 0
    assert last.failed.startswith("three_sum_closest("), last.failed
    assert outcome.summary.startswith("; verified: 3/3 docstring examples, agrees with a "
                                      "brute-force reference on "), outcome.summary
    never = _verifier([], "", right, reference=[off, off, off, _candidate(BRUTE)])
    outcome = never.run([right], "def three_sum_closest(nums, target):", lambda c: c.complexity)
    assert len(never.references) == 3 and outcome.reference == ""
    assert "3 reference versions failed your examples (not counted)" in outcome.summary


def test_a_reference_disputed_by_three_candidates_alike_gets_a_second_opinion() -> None:
    """The reference passes the examples but is wrong on longer inputs (it looks at the first
    four numbers), against three candidates alike that are right: a second reference is
    written; where it agrees with them the insert is verified, the message naming where the
    first differed. Where the second shares the first one's bug, nothing is verified."""
    short = _candidate(BRUTE.replace("combinations(nums, 3)", "combinations(nums[:4], 3)"))
    right = _candidate(RIGHT)
    alike = [_candidate(RIGHT.replace("nums = sorted(nums)", other)) for other in DIFFERENT]
    verifier = _verifier(alike, "", right, reference=[short, _candidate(BRUTE)],
                         max_candidates=3)
    outcome = verifier.run([right], "def three_sum_closest(nums, target):",
                           lambda c: c.complexity)
    assert len(verifier.references) == 2 and verifier.references[1].failed == ""
    assert outcome.reference == "agrees" and outcome.summary.startswith(
        "; verified: 3/3 docstring examples, agrees with a plain reference version on "), \
        outcome.summary
    assert "another reference version differed (three_sum_closest(" in outcome.summary
    both = _verifier(alike, "", right, reference=[short, short], max_candidates=3)
    outcome = both.run([right], "def three_sum_closest(nums, target):", lambda c: c.complexity)
    # (no candidate agrees with the reference: it is inserted itself, as before)
    assert len(both.references) == 3 and outcome.summary.startswith(
        "; unconfirmed: 3/3 docstring examples, the reference version itself"), outcome.summary


def test_the_reference_outvotes_candidates_that_share_a_bug() -> None:
    """No docstring examples: two samples with the same bug agree with each other, but the
    one that returns what the brute-force reference returns on every probe is chosen."""
    wrong, same_bug, right = _candidate(WRONG), _candidate(WRONG), _candidate(RIGHT)
    verifier = _verifier([same_bug, right], "", wrong, reference=_candidate(BRUTE))
    verifier.doc_cases = []
    outcome = verifier.run([wrong], "def three_sum_closest(nums, target):", lambda c: c.complexity)
    assert outcome.chosen is right and outcome.reference == "agrees"
    assert outcome.tries == 3 and outcome.probes >= 16  # drawn by Hypothesis
    assert f"verified: agrees with a brute-force reference on {outcome.probes} inputs" in \
        outcome.summary
    # With a reference that agrees with the first answer, nothing more is sampled.
    settled = _verifier([same_bug], "", right, reference=_candidate(BRUTE))
    settled.doc_cases = []
    quick = settled.run([right], "def three_sum_closest(nums, target):", lambda c: c.complexity)
    assert quick.chosen is right and quick.tries == 1


def test_model_written_checks_when_there_is_nothing_to_grow_inputs_from() -> None:
    """Without examples or type hints, the model's assert lines supply the inputs; a value it
    got wrong (the last one) is only a weak check."""
    wrong, right = _candidate(WRONG), _candidate(RIGHT)
    checks_text = ("[1, 2, 3], 6) == 6\nassert three_sum_closest([0, 1, 2], 3) == 3\n"
                   "assert three_sum_closest([5, 5, 5, 5], 0) == 0\n")
    verifier = _verifier([right], checks_text, wrong, reference=_candidate(BRUTE))
    verifier.doc_cases = []
    verifier.source_for = lambda c: verifier_source(c).replace(
        "nums: list[int], target: int", "nums, target")
    outcome = verifier.run([wrong], "def three_sum_closest(nums, target):", lambda c: c.complexity)
    assert outcome.model_total == 3 and outcome.passed_model == 2
    assert outcome.chosen is right and outcome.reference == "agrees"


def test_model_checks_on_inputs_the_task_never_defined_do_not_count() -> None:
    """The model asks for the closest sum of two numbers; the brute-force reference raises
    there, so that check is left out and the right candidate, passing the rest, is verified."""
    right = _candidate(RIGHT)
    checks_text = ("[1, 2], 0) == 0\nassert three_sum_closest([0, 1, 2], 3) == 3\n"
                   "assert three_sum_closest([-1, 2, 1, -4], 1) == 2\n")
    verifier = _verifier([], checks_text, right, reference=_candidate(BRUTE))
    verifier.doc_cases = []
    outcome = verifier.run([right], "def three_sum_closest(nums, target):", lambda c: c.complexity)
    assert outcome.chosen is right and outcome.reference == "agrees"
    assert outcome.model_total == 2 and outcome.passed_model == 2
    assert "verified: agrees with a brute-force reference" in outcome.summary
    assert "2/2 model-written checks (1 more left out: the reference raised on them)" in \
        outcome.summary
    # An assert the model got wrong (the only sum here is 3) costs one check, not the
    # verdict: most of them pass.
    verifier = _verifier([], checks_text + "assert three_sum_closest([1, 1, 1], 0) == 0\n",
                         right, reference=_candidate(BRUTE))
    verifier.doc_cases = []
    outcome = verifier.run([right], "def three_sum_closest(nums, target):", lambda c: c.complexity)
    assert "verified: agrees with a brute-force reference" in outcome.summary
    assert "2/3 model-written checks" in outcome.summary


def test_agreeing_candidates_outrank_a_lone_one() -> None:
    """Without docstring examples and with useless model checks, two samples that return the
    same for every probe beat a third that disagrees (but that alone is not "verified")."""
    right, other_right = _candidate(RIGHT), _candidate(RIGHT.replace("lo, hi", "lo,hi"))
    wrong = _candidate(WRONG)
    verifier = _verifier([right, other_right], "", wrong)
    verifier.doc_cases = []
    outcome = verifier.run([wrong], "def three_sum_closest(nums, target):", lambda c: c.complexity)
    assert outcome.chosen is right and outcome.agree == 2
    assert "unconfirmed: 2 of 3 candidates return the same" in outcome.summary


def test_the_chosen_candidate_is_timed_and_its_claim_checked() -> None:
    right = _candidate(RIGHT)
    outcome = _verifier([], "", right).run([right], "def three_sum_closest(nums, target):",
                                           lambda c: c.complexity)
    assert outcome.judgement is not None and outcome.judgement.verdict == "agrees"
    assert outcome.judgement.measured.startswith("measured ≈ n^")


def test_the_reference_itself_when_no_candidate_agrees_with_it() -> None:
    """Every sample shares the first answer's bug: the reference is inserted, slow but
    right, and the message does not call it verified."""
    wrong, same_bug = _candidate(WRONG), _candidate(WRONG)
    brute = _candidate(BRUTE)
    verifier = _verifier([same_bug, _candidate(WRONG)], "", wrong, reference=brute)
    verifier.doc_cases = []
    outcome = verifier.run([wrong], "def three_sum_closest(nums, target):", lambda c: c.complexity)
    assert outcome.chosen is brute and outcome.reference == "chosen"
    assert outcome.summary.startswith("; unconfirmed: the reference version itself")
    # The reference's own growth was timed: it tries every triple.
    assert outcome.judgement is not None and outcome.judgement.measured


def test_a_reference_the_models_asserts_contradict_does_not_replace_a_right_answer() -> None:
    """No docstring examples, and a reference with its own bug (it returns the distance, not
    the sum) that no candidate agrees with: the model's asserts, which the right first answer
    passes and the reference fails, keep the first answer."""
    right, also_right = _candidate(RIGHT), _candidate(RIGHT)
    distance = _candidate(BRUTE.replace("return min((sum(c)", "return min((abs(sum(c) - target)")
                          .replace("key=lambda s: abs(s - target))", "key=abs)"))
    checks_text = ("[-1, 2, 1, -4], 1) == 2\nassert three_sum_closest([0, 0, 0], 1) == 0\n"
                   "assert three_sum_closest([1, 1, 1, 0], 100) == 3\n")
    verifier = _verifier([also_right], checks_text, right, reference=distance)
    verifier.doc_cases = []
    outcome = verifier.run([right], "def three_sum_closest(nums, target):", lambda c: c.complexity)
    assert outcome.chosen is not distance and outcome.reference == "disagrees"
    assert outcome.passed_model == 3 and "DISAGREES" in outcome.summary


def test_a_first_answer_the_reference_confirms_stops_the_batch() -> None:
    """Batched, the asserts and the reference (short rows) end long before the samples: once
    the greedy answer agrees with the reference and passes the asserts, the samples still
    being written are dropped and it is inserted as verified (the time that saves is most of
    the first batch: samples run 300-600 tokens, the reference ~150). A miscalculated assert
    does not keep it going: any other candidate agreeing with the reference would fail it too."""
    right = _candidate(RIGHT)
    verifier = _verifier([_candidate(WRONG), _candidate(BRUTE)],
                         "[1, 2, 3], 6) == 6\nassert three_sum_closest([0, 1, 2], 3) == 3\n"
                         "assert three_sum_closest([5, 5, 5, 5], 0) == 10\n",
                         right, reference=_candidate(BRUTE), batch=3, max_candidates=3)
    verifier.doc_cases = []
    phases: list[str] = []
    verifier.on_phase = phases.append
    outcome = verifier.run([right], "def three_sum_closest(nums, target):",
                           lambda c: c.complexity)
    assert verifier.rounds == [(2, True)] and verifier.dropped == 2
    assert outcome.chosen is right and outcome.tries == 1
    assert outcome.summary.startswith("; verified: agrees with a brute-force reference")
    assert (outcome.passed_model, outcome.model_total) == (2, 3)
    assert any(p.startswith("settled") for p in phases)
    # A wrong first answer does not settle it: every sample is written and checked.
    wrong = _verifier([_candidate(WRONG), right], "", _candidate(WRONG),
                      reference=_candidate(BRUTE), batch=3, max_candidates=3)
    wrong.doc_cases = []
    outcome = wrong.run([_candidate(WRONG)], "def three_sum_closest(nums, target):",
                        lambda c: c.complexity)
    assert wrong.dropped == 0 and outcome.chosen is right and outcome.tries == 3


def test_a_sample_passing_the_users_examples_stops_its_batch_once_the_reference_is_in() -> None:
    """With the user's examples, a later batch stops when a sample passes them all and the
    reference has ended (it may still disagree: then the insert is not called verified)."""
    right = _candidate(RIGHT)
    verifier = _verifier([right, _candidate(WRONG)], "", _candidate(WRONG),
                         reference=_candidate(BRUTE), batch=3, max_candidates=3)
    outcome = verifier.run([_candidate(WRONG)], "def three_sum_closest(nums, target):",
                           lambda c: c.complexity)
    assert verifier.rounds == [(2, True)] and verifier.dropped == 1
    assert outcome.chosen is right and outcome.tries == 2
    assert outcome.summary.startswith("; verified: 3/3 docstring examples, agrees with")
    # Passing the examples, it still waits for the reference, which here ends last.
    heard = _ExamplesBatch(verifier, with_reference=True)
    assert not heard.heard("candidate", right) and not heard.heard("reference", None)
    # with no reference, only AGREEING different programs returning the same settle it (the
    # same program sampled again does not)
    assert not heard.heard("candidate", _candidate(RIGHT))
    settled = [heard.heard("candidate", _candidate(RIGHT.replace("nums = sorted(nums)", other)))
               for other in DIFFERENT]
    assert settled == [False, True]
    assert not _ExamplesBatch(verifier, False).heard("candidate", _candidate(WRONG))


def test_later_rounds_write_samples_and_the_reference_together_when_batched() -> None:
    wrong, right = _candidate(WRONG), _candidate(RIGHT)
    batched = _verifier([_candidate(WRONG), right], "[1, 2, 3], 6) == 6\n", wrong,
                        reference=_candidate(BRUTE), batch=3, max_candidates=3)
    batched.doc_cases = []
    batched.ask_text = lambda *_: pytest.fail("the asserts should come with the batch")
    outcome = batched.run([wrong], "def three_sum_closest(nums, target):",
                          lambda c: c.complexity)
    assert outcome.chosen is right and batched.rounds == [(2, True)]
    assert outcome.model_total == outcome.passed_model == 1  # written in that same batch
    # One row at a time, the reference goes first, alone (it may settle everything).
    alone = _verifier([right], "", wrong, reference=_candidate(BRUTE), max_candidates=3)
    alone.doc_cases = []
    assert alone.run([wrong], "def three_sum_closest(nums, target):",
                     lambda c: c.complexity).chosen is right
    assert alone.rounds == [(0, True), (1, False)]


def test_a_call_that_never_returns_is_reported_and_the_others_still_are() -> None:
    from vibe_ls.verify import sandbox
    from vibe_ls.verify.checks import OUT_OF_TIME, checker, parse_outputs

    source = ("def power_of_four(n):\n    while n % 4 == 0:\n        n //= 4\n"
              "    return n == 1\n")
    script = checker(source, "power_of_four", [Example("f(16)", "True")], ["f(0)", "f(5)"])
    outcome = sandbox.run_python(script, limits=sandbox.Limits(cpu_s=2, wall_s=4))
    assert parse_outputs(outcome.stdout, 3) == [(True, "True"), (False, OUT_OF_TIME),
                                                (False, "False")]


def test_a_candidate_that_never_returns_on_the_smallest_input_loses() -> None:
    """The first answer passes every docstring example but loops forever on an empty list
    (the 0.5B's `is_power_of_four` did on n = 0, and failed every hidden test): it does not
    settle the choice, and a candidate that returns is chosen."""
    loops = _candidate(RIGHT.replace("    nums = sorted(nums)\n",
                                     "    while not nums:\n        pass\n"
                                     "    nums = sorted(nums)\n"))
    right = _candidate(RIGHT)
    verifier = _verifier([right], "", loops)
    outcome = verifier.run([loops], "def three_sum_closest(nums, target):", lambda c: c.complexity)
    assert outcome.chosen is right and outcome.tries == 2
    assert outcome.summary.startswith("; unconfirmed: 3/3 docstring examples")  # no reference
    # alone, it is inserted with a warning that says where it hangs
    alone = _verifier([], "", loops).run([loops], "def three_sum_closest(nums, target):",
                                         lambda c: c.complexity)
    assert alone.chosen is loops
    assert alone.summary.startswith(
        "; WARNING: three_sum_closest(nums=[], target=0) never returns; passes 3/3 docstring "
        "examples"), alone.summary


POWER = '''class Solution:
    def is_power_of_four(self, n: int) -> bool:
        """Return true if n is a power of four.

        Input: n = 16
        Output: true
        Input: n = 5
        Output: false
        Input: n = 1
        Output: true
        """
        # TODO: return whether n is a power of four
        pass
'''
# The 0.5B's answer: right on 16, 5 and 1, wrong on 8, 12, 20...
LOOKS_RIGHT = "```python\ndef is_power_of_four(self, n):\n    return n == 1 or n % 4 == 0\n```"
POWER_RIGHT = ("```python\ndef is_power_of_four(self, n):\n"
               "    return n > 0 and n & (n - 1) == 0 and n % 3 == 1\n```")
POWER_BRUTE = ("```python\ndef is_power_of_four(n):\n    p = 1\n    while p < n:\n"
               "        p *= 4\n    return p == n\n```")


def test_yes_no_examples_alone_do_not_verify_a_predicate() -> None:
    """Three yes/no examples tell little: a predicate that passes them is not inserted as
    verified on that alone. The reference is asked for, a sample that agrees with it is
    chosen (the samples after it are dropped), and without one the insert is called
    unconfirmed."""
    def power(answer: str) -> Implementation:
        return _candidate(answer, "is_power_of_four", "return whether n is a power of four")
    looks_right = power(LOOKS_RIGHT)
    verifier = _verifier([power(POWER_RIGHT), power(LOOKS_RIGHT)], "", looks_right,
                         reference=power(POWER_BRUTE), batch=3, max_candidates=3,
                         source=POWER, function="is_power_of_four")
    assert len(verifier.doc_cases) == 3 and not verifier.decisive
    outcome = verifier.run([looks_right], "def is_power_of_four(n: int) -> bool:",
                           lambda c: c.complexity)
    # the batch stops once a sample passes the examples and agrees with the reference
    assert verifier.rounds == [(2, True)] and verifier.dropped == 1
    assert outcome.chosen.answer.code == power(POWER_RIGHT).answer.code
    assert outcome.summary.startswith("; verified: 3/3 docstring examples, agrees with a "
                                      "brute-force reference"), outcome.summary
    # No reference and no other candidate: inserted, but not called verified.
    alone = _verifier([], "", looks_right, source=POWER, function="is_power_of_four")
    outcome = alone.run([looks_right], "def is_power_of_four(n: int) -> bool:",
                        lambda c: c.complexity)
    assert outcome.chosen is looks_right
    assert outcome.summary.startswith("; unconfirmed: 3/3 docstring examples"), outcome.summary
    # Examples with other answers than yes and no still decide on their own.
    assert _verifier([], "", _candidate(RIGHT)).decisive


def test_a_reference_failing_yes_no_examples_is_not_counted_and_written_again() -> None:
    """Yes/no examples do not verify on their own, but a reference that fails one is known
    to be wrong all the same (the 0.5B's said False for 1 and, counted, made three right
    candidates DISAGREE): a second reference is asked for, naming that example."""
    def power(answer: str) -> Implementation:
        return _candidate(answer, "is_power_of_four", "return whether n is a power of four")
    right = power(POWER_RIGHT)
    from_four = power(POWER_BRUTE.replace("p = 1", "p = 4"))  # 1 is not a power of four?
    verifier = _verifier([], "", right, reference=[from_four, power(POWER_BRUTE)],
                         source=POWER, function="is_power_of_four")
    outcome = verifier.run([right], "def is_power_of_four(n: int) -> bool:",
                           lambda c: c.complexity)
    assert [r.failed for r in verifier.references] == [
        "", "is_power_of_four(n = 1) should return True; it returned False"]
    assert outcome.summary.startswith("; verified: 3/3 docstring examples, agrees with a "
                                      "plain reference version"), outcome.summary


# -- inputs drawn by Hypothesis: the edge of the task -------------------------------------

def _edge_case(source: str, function: str, todo: str, first: str, others: list[str],
               reference: str | None):
    """Verify `first` (then `others`, as later samples) against `reference` on `source`."""
    def made(answer: str) -> Implementation:
        return _candidate(answer, function, todo)
    first_candidate = made(first)
    verifier = _verifier([made(a) for a in others], "", first_candidate,
                         reference=made(reference) if reference else None, source=source,
                         function=function, max_candidates=len(others) + 1)
    signature = f"def {function}(...):"
    return verifier.run([first_candidate], signature, lambda c: c.complexity)


POWER_MOD = '''def power_mod(base: int, exp: int, mod: int) -> int:
    """base ** exp % mod.

    >>> power_mod(2, 10, 1000)
    24
    >>> power_mod(3, 0, 7)
    1
    >>> power_mod(5, 3, 13)
    8
    """
    # TODO: compute base ** exp % mod by repeated squaring
    pass
'''
# Right on every example; wrong only where mod is 1 and exp 0 (1, not 0).
MOD_SLIP = '''```python
def power_mod(base, exp, mod):
    result, base = 1, base % mod
    while exp:
        if exp & 1:
            result = result * base % mod
        base = base * base % mod
        exp >>= 1
    return result
```'''
MOD_RIGHT = MOD_SLIP.replace("result, base = 1, base % mod", "result, base = 1 % mod, base % mod")
MOD_BRUTE = "```python\ndef power_mod(base, exp, mod):\n    return base ** exp % mod\n```"


def test_a_modulus_of_1_tells_candidates_apart() -> None:
    """Both candidates pass every example; the drawn inputs try a modulus of 1 (every example
    modulus is at least 1, so the draw starts there), where only one agrees with the
    reference: it is chosen and verified. Alone, the slip is inserted as unconfirmed, with
    the smallest input where it and the reference differ."""
    todo = "compute base ** exp % mod by repeated squaring"
    outcome = _edge_case(POWER_MOD, "power_mod", todo, MOD_SLIP, [MOD_RIGHT], MOD_BRUTE)
    assert outcome.chosen.answer.code == parse_answer(MOD_RIGHT, "python").code
    assert outcome.summary.startswith("; verified: 3/3 docstring examples, agrees with a "
                                      "brute-force reference"), outcome.summary
    alone = _edge_case(POWER_MOD, "power_mod", todo, MOD_SLIP, [], MOD_BRUTE)
    assert alone.reference == "chosen" and "verified:" not in alone.summary  # slow but right
    assert alone.summary.startswith("; unconfirmed: 3/3 docstring examples, the reference "
                                    "version itself"), alone.summary
    assert "power_mod(" in alone.difference and ", 0, 1): returned 1, the reference " \
        "returned 0" in alone.difference, alone.difference
    assert f"the best differed at {alone.difference}" in alone.summary


MAX_EVEN = '''def max_even(nums: list[int]) -> int:
    """The largest even value in nums, or -1 where there is none.

    >>> max_even([1, 2, 3, 4])
    4
    >>> max_even([7, 6, 5])
    6
    """
    # TODO: return the largest even value
    pass
'''
EVEN_SLIP = ("```python\ndef max_even(nums):\n"
             "    return max([x for x in nums if x % 2 == 0], default=0)\n```")
EVEN_RIGHT = EVEN_SLIP.replace("default=0", "default=-1")
EVEN_BRUTE = ("```python\ndef max_even(nums):\n    best = -1\n    for x in nums:\n"
              "        if x % 2 == 0 and x > best:\n            best = x\n    return best\n```")


def test_a_list_with_no_even_value_tells_candidates_apart() -> None:
    todo = "return the largest even value"
    outcome = _edge_case(MAX_EVEN, "max_even", todo, EVEN_SLIP, [EVEN_RIGHT], EVEN_BRUTE)
    assert outcome.chosen.answer.code == parse_answer(EVEN_RIGHT, "python").code
    assert outcome.summary.startswith("; verified: 2/2 docstring examples"), outcome.summary
    alone = _edge_case(MAX_EVEN, "max_even", todo, EVEN_SLIP, [], EVEN_BRUTE)
    assert "verified:" not in alone.summary and alone.reference == "chosen"
    assert "returned 0, the reference returned -1" in alone.difference, alone.difference


FIRST_MAX = '''def first_max(nums: list[int]) -> int:
    """The index of the largest value in nums; on a tie, the first such index.

    >>> first_max([1, 3, 2])
    1
    >>> first_max([5, 1])
    0
    """
    # TODO: find where the largest value is
    pass
'''
TIE_SLIP = ("```python\ndef first_max(nums):\n    best = 0\n    for i, x in enumerate(nums):\n"
            "        if x >= nums[best]:\n            best = i\n    return best\n```")
TIE_RIGHT = TIE_SLIP.replace("x >= nums[best]", "x > nums[best]")
TIE_BRUTE = "```python\ndef first_max(nums):\n    return nums.index(max(nums))\n```"

K_LARGEST = '''def k_largest(nums: list[int], k: int) -> list[int]:
    """The k largest values of nums, largest first.

    >>> k_largest([3, 1, 2], 1)
    [3]
    >>> k_largest([5, 9, 7], 1)
    [9]
    """
    # TODO: return the k largest values
    pass
'''
ORDER_SLIP = "```python\ndef k_largest(nums, k):\n    return sorted(nums)[-k:]\n```"
ORDER_RIGHT = "```python\ndef k_largest(nums, k):\n    return sorted(nums)[::-1][:k]\n```"
ORDER_BRUTE = ("```python\ndef k_largest(nums, k):\n    out = []\n    rest = list(nums)\n"
               "    for _ in range(min(k, len(rest))):\n        out.append(max(rest))\n"
               "        rest.remove(max(rest))\n    return out\n```")


@pytest.mark.parametrize("source, function, slip, right, brute", [
    (FIRST_MAX, "first_max", TIE_SLIP, TIE_RIGHT, TIE_BRUTE),  # a tie for the largest
    (K_LARGEST, "k_largest", ORDER_SLIP, ORDER_RIGHT, ORDER_BRUTE),  # the order of k > 1
])
def test_ties_and_order_tell_candidates_apart(source: str, function: str, slip: str,
                                              right: str, brute: str) -> None:
    todo = triggers.todo_at(source, "python", _todo_line(source)).description
    outcome = _edge_case(source, function, todo, slip, [right], brute)
    assert outcome.chosen.answer.code == parse_answer(right, "python").code, outcome.summary
    assert outcome.summary.startswith("; verified: 2/2 docstring examples"), outcome.summary
    # alone, the slip is not called verified (here the reference itself is inserted: it
    # passes the examples too, and nothing else agreed with it)
    alone = _edge_case(source, function, todo, slip, [], brute)
    assert "verified:" not in alone.summary and alone.reference == "chosen", alone.summary


MEDIAN = '''def median(numbers: list[int]) -> int:
    """The middle value of numbers once sorted (the upper one of two).

    >>> median([3, 1, 2])
    2
    >>> median([4, 1, 3, 2])
    3
    """
    # TODO: return the median
    pass
'''
# The 0.5B's habit: sorting the caller's list in place.
SORTS_IN_PLACE = ("```python\ndef median(numbers):\n    numbers.sort()\n"
                  "    return numbers[len(numbers) // 2]\n```")
PURE = ("```python\ndef median(numbers):\n    ordered = sorted(numbers)\n"
        "    return ordered[len(ordered) // 2]\n```")
MEDIAN_BRUTE = ("```python\ndef median(numbers):\n    for x in numbers:\n"
                "        below = sum(y < x for y in numbers)\n"
                "        same = sum(y == x for y in numbers)\n"
                "        if below <= len(numbers) // 2 < below + same:\n            return x\n```")


def test_a_candidate_that_changes_its_arguments_loses_to_one_that_does_not() -> None:
    """Both return the same everywhere; one sorts the caller's list. The pure one is chosen,
    with a reference or without; alone, the other is not called verified."""
    todo = "return the median"
    for reference in (MEDIAN_BRUTE, None):
        outcome = _edge_case(MEDIAN, "median", todo, SORTS_IN_PLACE, [PURE], reference)
        assert outcome.chosen.answer.code == parse_answer(PURE, "python").code
        # with the reference agreeing it is verified; the examples alone only unconfirmed
        said = "; verified: 2/2 docstring examples" if reference else \
            "; unconfirmed: 2/2 docstring examples"
        assert outcome.summary.startswith(said), outcome.summary
    # alone beside a pure reference, the reference is inserted instead
    alone = _edge_case(MEDIAN, "median", todo, SORTS_IN_PLACE, [], MEDIAN_BRUTE)
    assert alone.reference == "chosen" and "verified:" not in alone.summary
    # beside a reference that is off (the lower middle, so it fails an example and is
    # neither inserted nor counted), it is kept, and the message says what it does
    lower = MEDIAN_BRUTE.replace("below <= len(numbers) // 2", "below <= (len(numbers) - 1) // 2")
    kept = _edge_case(MEDIAN, "median", todo, SORTS_IN_PLACE, [], lower)
    assert kept.reference == "" and "changes its arguments" in kept.summary
    assert kept.summary.startswith("; unconfirmed: "), kept.summary
    no_reference = _edge_case(MEDIAN, "median", todo, SORTS_IN_PLACE, [], None)
    assert no_reference.summary.startswith("; unconfirmed: 2/2 docstring examples, changes "
                                           "its arguments"), no_reference.summary


def test_a_model_check_that_does_not_fit_the_signature_is_left_out():
    # the 0.5B's asserts for the seed TODO called three_sum_closest with three ints; drawn
    # like them, every input raised TypeError and nothing could be checked
    source = "def three_sum_closest(nums: list[int], target: int) -> int:\n    pass\n"
    fits = [fits_signature(source, "three_sum_closest", call) for call in
            ("f([1, 2, 3], 4)", "f(nums=[1], target=2)", "f(1, 2, 3)", "f([1])", "f(x=[1], y=2)")]
    assert fits == [True, True, False, False, False]
    method = "class S:\n    def g(self, s: str, k=2):\n        pass\n"
    assert fits_signature(method, "g", "f('ab')") and \
        not fits_signature(method, "g", "f(['a'])")


ODDS = '''class Solution:
    def count_odds(self, low: int, high: int) -> int:
        """Return the count of odd numbers between low and high (inclusive).

        Input: low = 3, high = 7
        Output: 3
        Input: low = 8, high = 10
        Output: 1

        Constraints:
        - 0 <= low <= high <= 10^9"""
        # TODO: count the odd numbers from low to high
        pass
'''
ODDS_LOOP = ("```python\ndef count_odds(low, high):\n    count = 0\n"
             "    for i in range(low, high + 1):\n        count += i % 2\n    return count\n```")
# -1 for low > high, where a loop returns 0: inputs outside the stated `low <= high` are not
# drawn, so it is not outvoted by the loop there
ODDS_FORMULA = "```python\ndef count_odds(low, high):\n    return (high + 1) // 2 - low // 2\n```"
ODDS_BRUTE = ("```python\ndef count_odds(low, high):\n"
              "    return sum(1 for i in range(low, high + 1) if i % 2 == 1)\n```")


@pytest.mark.parametrize(("answer", "verified"), [(ODDS_LOOP, False), (ODDS_FORMULA, True)])
def test_right_but_too_slow_for_the_stated_limits_is_not_verified(answer: str,
                                                                   verified: bool) -> None:
    """The 0.5B's `count_odds` looped from low to high: right on both examples and every
    drawn input, agreeing with the reference — and about 8 s a call at the docstring's
    `high <= 10^9`; called verified, it timed out on the hidden tests. The measured growth
    carried to the stated limit now says so, and the insert is not verified; the formula
    is."""
    def odds(text: str) -> Implementation:
        return _candidate(text, "count_odds", "count the odd numbers from low to high")
    first = odds(answer)
    verifier = _verifier([], "", first, reference=odds(ODDS_BRUTE), source=ODDS,
                         function="count_odds")
    verifier.task += "\n" + ODDS.split('"""')[1]  # the docstring, as Implement passes it
    outcome = verifier.run([first], "def count_odds(low: int, high: int) -> int:",
                           lambda c: c.complexity)
    assert outcome.reference == "agrees", outcome.summary
    assert outcome.summary.startswith("; verified: " if verified else "; unconfirmed: "), \
        outcome.summary
    assert ("too slow for the stated limits (about " in outcome.summary) is not verified
    assert verified or " a call at high = 10^9)" in outcome.summary, outcome.summary
