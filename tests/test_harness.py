"""Candidates in other languages than Python, really compiled and run in the sandbox: their
signatures, their answers to the same calls the Python checks make, and their measured
growth. A language whose toolchain is missing is skipped."""

from __future__ import annotations

import pytest

from vibe_ls.postprocess import Complexity
from vibe_ls.verify import growth, harness, verifier
from vibe_ls.verify.harness import signatures

# count_positive(a) -> how many elements are > 0; the wrong one counts zeros too.
RIGHT = {
    "cpp": ("#include <vector>\nusing namespace std;\n\nclass Solution {\npublic:\n"
            "    int count_positive(vector<int>& a) {\n        int c = 0;\n"
            "        for (int x : a) if (x > 0) c++;\n        return c;\n    }\n};\n"),
    "c": ("int count_positive(const int *a, int n) {\n    int c = 0;\n"
          "    for (int i = 0; i < n; i++) if (a[i] > 0) c++;\n    return c;\n}\n"
          "int main(void) { return 0; }\n"),
    "rust": ("fn count_positive(a: &[i32]) -> i32 {\n"
             "    a.iter().filter(|&&x| x > 0).count() as i32\n}\n\nfn main() {}\n"),
    "java": ("package demo;\n\npublic class Counter {\n"
             "    public int count_positive(int[] a) {\n        int c = 0;\n"
             "        for (int x : a) if (x > 0) c++;\n        return c;\n    }\n}\n"),
    "javascript": ("function count_positive(a) {\n  return a.filter((x) => x > 0).length;\n}\n"
                   "module.exports = { count_positive };\n"),
    # TypeScript runs in node with its types stripped: generics, a cast, a non-null `!`.
    "typescript": ("interface Counted { n: number }\n\nclass Counter {\n"
                   "    count_positive(a: readonly number[]): number {\n"
                   "        const seen = new Map<string, Counted>();\n"
                   "        seen.set(\"c\", { n: 0 });\n"
                   "        for (const x of a) if ((x as number) > 0) seen.get(\"c\")!.n++;\n"
                   "        return seen.get(\"c\")!.n;\n    }\n}\n"),
}
WRONG = {language: text.replace("> 0", ">= 0") for language, text in RIGHT.items()}
CALLS = ["f([1, 2, 3])", "f(a=[-1, 5])", "f([0, 0, 7])", "f([])"]
EXPECTED = ["3", "1", "1", "0"]


def _need(language: str) -> None:
    if not harness.available(language):
        pytest.skip(f"no toolchain for {language} on this machine")


@pytest.mark.parametrize("language", sorted(RIGHT))
def test_a_right_candidate_passes_and_a_wrong_one_fails(language: str) -> None:
    _need(language)
    right = harness.run_calls(language, RIGHT[language], "count_positive", CALLS, EXPECTED)
    assert right == [(True, "3"), (True, "1"), (True, "1"), (True, "0")]
    wrong = harness.run_calls(language, WRONG[language], "count_positive", CALLS, EXPECTED)
    assert [ok for ok, _ in wrong] == [True, True, False, True]
    assert wrong[2] == (False, "3")


@pytest.mark.parametrize("language", sorted(RIGHT))
def test_the_python_reference_gets_the_same_signature(language: str) -> None:
    _need(language)
    found = harness.signature(language, RIGHT[language], "count_positive")
    expected = "def count_positive(a):" if language == "javascript" else \
        "def count_positive(a: list[int]) -> int:"
    assert harness.python_signature(found) == expected


def test_signatures_read_owners_borrows_and_hidden_lengths() -> None:
    cpp = signatures.read("cpp", "class S {\npublic:\n  static long long f(const std::vector"
                          "<std::string>& w, int k) { return 0; }\n};\n", "f")
    assert (cpp.owner, cpp.static, cpp.returns.kind) == ("S", True, "int")
    assert [(p.native, p.passing, p.type.python()) for p in cpp.params] == [
        ("std::vector<std::string>", "ref", "list[str]"), ("int", "value", "int")]
    c = signatures.read("c", "double avg(int a[], int n, char *label) { return 0; }", "avg")
    assert [p.passing for p in c.params] == ["value", "length", "value"]
    assert harness.python_signature(c) == "def avg(a: list[int], label: str) -> float:"
    rust = signatures.read("rust", "impl Solution {\n    pub fn f(g: Vec<Vec<i64>>, s: &str, "
                           "m: &mut Vec<u8>) -> bool { true }\n}\n", "f")
    assert [(p.native, p.passing) for p in rust.params] == [
        ("Vec<Vec<i64>>", "value"), ("String", "ref"), ("Vec<u8>", "mut")]
    assert rust.owner == "Solution" and rust.params[2].type.item.low == 0


@pytest.mark.parametrize(("language", "source"), [
    ("cpp", "void f(std::vector<int>& a) {}"),  # returns nothing to compare
    ("cpp", "int f(Node* root) { return 0; }"),
    ("c", "int f(int *a) { return 0; }"),  # an array without its length
    ("rust", "fn f(m: HashMap<i32, i32>) -> i32 { 0 }"),
    ("java", "class A { int f(Map<String, Integer> m) { return 0; } }"),
])
def test_types_the_harness_cannot_feed_are_not_checked(language: str, source: str) -> None:
    assert signatures.read(language, source, "f") is None


def test_values_that_do_not_fit_the_type_are_not_run() -> None:
    _need("cpp")
    source = "#include <cstdint>\nuint32_t twice(uint32_t x) { return x * 2; }\n"
    results = harness.run_calls("cpp", source, "twice", ["f(4)", "f(-1)", "f('a')"],
                                ["8", None, None])
    unfit = (False, "did not fit the parameter types")
    assert results == [(True, "8"), unfit, unfit]
    assert harness.fits("cpp", source, "twice", ["f(4)", "f(-1)", "f('a')"]) == \
        [True, False, False]


def test_a_crash_loses_only_its_own_call() -> None:
    _need("cpp")
    source = ("#include <vector>\n#include <cstdlib>\nint first(const std::vector<int>& a) {\n"
              "    if (a.empty()) abort();\n    return a[0];\n}\n")
    results = harness.run_calls("cpp", source, "first", ["f([4])", "f([])", "f([7, 1])"],
                                ["4", None, "7"])
    assert results[0] == (True, "4") and results[2] == (True, "7")
    assert results[1][0] is False and results[1][1].startswith("crashed")


def test_a_candidate_that_does_not_compile_fails_every_call() -> None:
    _need("cpp")
    source = "int f(int x) { return x +; }\n"
    (result,) = harness.run_calls("cpp", source, "f", ["f(1)"], ["1"])
    assert result[0] is False and result[1].startswith("did not compile: ")
    assert "error" in result[1] and "return x +;" in result[1]  # what the compiler said


def test_a_candidate_that_does_not_compile_is_fixed_from_the_compilers_error() -> None:
    _need("cpp")
    broken = RIGHT["cpp"].replace("c++;", "c++")
    heard: list[str] = []

    def repair(code: str, error: str) -> str:
        heard.append(error)
        return RIGHT["cpp"] if len(heard) == 2 else code  # right the second time
    chooser = verifier.Verifier(
        task="count the positive elements", function="count_positive",
        source_for=lambda code: code, write=lambda *_args, **_kw: ([], None, None),
        ask_text=lambda *_: "assert count_positive([1, -2, 3]) == 2\n"
                            "assert count_positive([0, 5]) == 1\n",
        doc_cases=[], system_prompt="", max_candidates=1, budget_s=60, on_phase=None,
        cancel=None, runs=verifier.runs_for("cpp"), repair=repair)
    outcome = chooser.run([broken], "def count_positive(a: list[int]) -> int:",
                           lambda _: Complexity("O(n)", "O(1)", ""))
    assert outcome.chosen == RIGHT["cpp"] and outcome.tries == 3
    assert len(heard) == 2 and all("error" in e and "return c;" in e for e in heard)
    assert "2/2 model-written checks" in outcome.summary
    assert "fixed after the compiler's error" in outcome.summary


QUADRATIC = {
    "cpp": ("#include <vector>\nlong long pairs(const std::vector<int>& a) {\n"
            "    long long c = 0;\n    for (int i = 0; i < (int) a.size(); i++)\n"
            "        for (int j = i + 1; j < (int) a.size(); j++) c += a[i] < a[j];\n"
            "    return c;\n}\n"),
    "c": ("long long pairs(const int *a, int n) {\n    long long c = 0;\n"
          "    for (int i = 0; i < n; i++)\n        for (int j = i + 1; j < n; j++) "
          "c += a[i] < a[j];\n    return c;\n}\n"),
    "java": ("class Pairs {\n    static long pairs(int[] a) {\n        long c = 0;\n"
             "        for (int i = 0; i < a.length; i++)\n"
             "            for (int j = i + 1; j < a.length; j++) if (a[i] < a[j]) c++;\n"
             "        return c;\n    }\n}\n"),
    "javascript": ("function pairs(a) {\n  let c = 0;\n  for (let i = 0; i < a.length; i++)\n"
                   "    for (let j = i + 1; j < a.length; j++) if (a[i] < a[j]) c++;\n"
                   "  return c;\n}\n"),
    "typescript": ("function pairs(a: number[]): number {\n  let c: number = 0;\n"
                   "  for (let i = 0; i < a.length; i++)\n"
                   "    for (let j = i + 1; j < a.length; j++) if (a[i] < a[j]) c++;\n"
                   "  return c;\n}\n"),
}


@pytest.mark.parametrize("language", sorted(QUADRATIC))
def test_a_false_linear_claim_on_quadratic_code_is_caught(language: str) -> None:
    _need(language)
    measured = harness.measure(language, QUADRATIC[language], "pairs",
                               repr(([[3, -1, 2]], {})))
    assert measured is not None and measured.exponent is not None, measured
    assert measured.exponent > 1.6, measured
    judgement = growth.judge("O(n)", measured)
    # caught is the point: the class it is corrected to can read O(n^3) on a loaded machine
    assert judgement.verdict == "corrected" and judgement.time.startswith("O(n^"), judgement


@pytest.mark.parametrize("language", sorted(RIGHT))
def test_linear_code_measures_linear(language: str) -> None:
    _need(language)
    measured = harness.measure(language, RIGHT[language], "count_positive",
                               repr(([[2, -1, 3]], {})))
    assert measured is not None and measured.exponent is not None, measured
    assert 0.4 < measured.exponent < 1.8, measured
    assert growth.judge("O(n)", measured).verdict in ("agrees", "loose"), measured


def test_typescript_types_are_stripped_and_what_is_more_than_types_is_refused() -> None:
    from vibe_ls.verify.harness.typescript import NotStrippable, to_javascript

    source = ("type Pair = [number, number];\n"
              "function f<T>(a: T[], k?: number): Pair {\n"
              "  let best!: number;\n  const m = new Map<T, number>();\n"
              "  return [a.length as number, (k ?? 0)!] satisfies Pair;\n}\n"
              "class C { private readonly n: number = 1; static g(): void {} }\n")
    assert to_javascript(source) == (
        "\nfunction f(a, k) {\n  let best;\n  const m = new Map();\n"
        "  return [a.length, (k ?? 0)];\n}\nclass C {   n = 1; static g() {} }\n")
    for source, why in [("enum E { A }\n", "enum"),
                        ("class C { constructor(private x: number) {} }\n", "field"),
                        ("namespace N { export const a = 1; }\n", "module"),
                        ("function f(a: number {\n", "does not parse")]:
        with pytest.raises(NotStrippable, match=why):
            to_javascript(source)


def test_typescript_that_cannot_be_stripped_is_reported_as_not_built() -> None:
    _need("typescript")
    source = "enum Sign { Plus }\n" + RIGHT["typescript"]
    results = harness.run_calls("typescript", source, "count_positive", CALLS, EXPECTED)
    assert all(not ok and shown.startswith(harness.COMPILE_ERROR) for ok, shown in results)
    assert "enum" in results[0][1]
    # Where the user's own file holds the enum, no candidate is tried at all.
    assert "enum" in harness.unrunnable("typescript", source)
    assert harness.unrunnable("typescript", RIGHT["typescript"]) == ""
    assert harness.unrunnable("javascript", "enum E { A }\n") == ""  # node says so itself
