"""Where an Implement's answer lands, and the invariant the edited file must pass: the
placement model on hand-written answers (the shape matrix on the trained model is in
tests/test_shapes.py)."""

from __future__ import annotations

import pytest

from tests.shapes import PAIR_DOCTEST as DOCTEST
from vibe_ls import edits, placement, triggers
from vibe_ls.assist import Implementation
from vibe_ls.postprocess import Complexity, parse_answer

NOTE = Complexity("O(n)", "O(1)", "one pass")


def place(source: str, language: str, answer: str) -> tuple[placement.Placed, str]:
    todo = triggers.find_todos(source, language)[0]
    implementation = Implementation(language, parse_answer(answer, language), NOTE,
                                    todo.description, None)
    placed = implementation.placed(source, todo.line, "TODO")
    return placed, edits.apply(source, placed.edits)


def run(source: str, name: str, *args):
    namespace: dict = {}
    exec(compile(source, "edited.py", "exec"), namespace)
    return namespace[name](*args)


PAIR = ("```python\nfrom typing import List\n\n"
        "def has_pair_with_sum(numbers: List[int], target: int) -> bool:\n"
        "    seen = set()\n    for x in numbers:\n        if target - x in seen:\n"
        "            return True\n        seen.add(x)\n    return False\n```")


def test_a_doctest_docstring_stays_byte_identical() -> None:
    placed, text = place(DOCTEST, "python", PAIR)
    docstring = DOCTEST[DOCTEST.index('    """'):DOCTEST.index('    """\n    #') + 8]
    assert docstring in text
    assert placed.how == "filled" and "    pass\n" not in text
    assert run(text, "has_pair_with_sum", [4, 1, 6, 3], 7) is True
    assert run(text, "has_pair_with_sum", [1, 2, 3], 7) is False


ABOVE = ("# TODO: return the sorted list of x in [0, m) with x*x % m == 1\n"
         "def square_roots_of_one(m: int) -> list[int]:\n    pass\n")
ROOTS = ("```python\ndef square_roots_of_one(m: int) -> list[int]:\n"
         "    return [x for x in range(m) if x * x % m == 1]\n```")


def test_a_todo_above_a_stub_fills_it_once() -> None:
    placed, text = place(ABOVE, "python", ROOTS)
    assert text.count("def square_roots_of_one") == 1
    assert text.startswith("# return the sorted list of x in [0, m) with x*x % m == 1\n")
    assert run(text, "square_roots_of_one", 8) == [1, 3, 5, 7]
    assert placed.function == "square_roots_of_one"


def test_a_todo_among_decorators_fills_the_function_below() -> None:
    source = "import functools\n\n\n@functools.cache\n# TODO: the nth Fibonacci number\n" \
             "def fib(n: int) -> int:\n    ...\n"
    answer = "```python\ndef fib(n: int) -> int:\n    return n if n < 2 else fib(n - 1) + " \
             "fib(n - 2)\n```"
    _, text = place(source, "python", answer)
    assert "@functools.cache\n# the nth Fibonacci number\ndef fib(n: int) -> int:\n" in text
    assert run(text, "fib", 30) == 832040


def test_a_function_the_answer_redefines_is_replaced_whole() -> None:
    source = "def total(n):\n    # TODO: make this O(1)\n    s = 0\n    for i in range(n):\n" \
             "        s += i\n    return s\n\n\nprint(total(4))\n"
    answer = "```python\ndef total(n):\n    return n * (n - 1) // 2\n```"
    placed, text = place(source, "python", answer)
    assert placed.how == "replaced"
    assert text.count("def total") == 1 and "for i in range(n)" not in text
    assert "# make this O(1)\n" in text and "TODO" not in text
    assert text.endswith("\n\n\nprint(total(4))\n")


def test_a_stub_elsewhere_in_the_class_is_filled_not_defined_again() -> None:
    source = "class Stack:\n    def peek(self):\n        pass\n\n    # TODO: peek\n"
    answer = "```python\nclass Stack:\n    def peek(self):\n        return self.items[-1]\n```"
    placed, text = place(source, "python", answer)
    assert placed.how == "filled" and text.count("def peek") == 1
    assert "return self.items[-1]" in text


def test_helpers_the_file_has_are_not_added_again() -> None:
    source = "def gcd(a, b):\n    return a if b == 0 else gcd(b, a % b)\n\n\n" \
             "# TODO: least common multiple\ndef lcm(a, b):\n    pass\n"
    answer = "```python\ndef gcd(a, b):\n    while b:\n        a, b = b, a % b\n    return a\n\n" \
             "def lcm(a, b):\n    return a * b // gcd(a, b)\n```"
    _, text = place(source, "python", answer)
    assert text.count("def gcd") == 1
    assert run(text, "lcm", 4, 6) == 12


METHOD = ("import math\n\n\nclass Solution:\n    def is_power_of_four(self, n: int) -> bool:\n"
          '        """Return true if n is a power of four."""\n'
          "        # TODO: return whether n is a power of four\n        pass\n\n"
          "    def other(self):\n        return 1\n")


def call_method(source: str, name: str, *args):
    namespace: dict = {}
    exec(compile(source, "edited.py", "exec"), namespace)
    return getattr(namespace["Solution"](), name)(*args)


@pytest.mark.parametrize("answer", [
    # a plain function calling itself by its bare name (a string and comment stay as written)
    "```python\ndef is_power_of_four(n: int) -> bool:\n    if n == 1:\n        return True\n"
    "    if n <= 0 or n % 4:  # is_power_of_four(x) needs n % 4 == 0\n        return False\n"
    "    return is_power_of_four(n // 4) and 'is_power_of_four(' != ''\n```",
    # the problem's own spelling of the name, recursive
    "```python\ndef isPowerOfFour(n):\n    return n == 1 or (n > 0 and n % 4 == 0 and "
    "isPowerOfFour(n // 4))\n```",
    # plain helpers, one calling another
    "```python\ndef is_power_of_two(n):\n    return n > 0 and n & (n - 1) == 0\n\n\n"
    "def odd_power(n):\n    return is_power_of_two(n) and n % 3 == 1\n\n\n"
    "def is_power_of_four(n: int) -> bool:\n    return odd_power(n)\n```",
    # the class wrapped around a helper method
    "```python\nclass Solution:\n    def is_power_of_two(self, n):\n"
    "        return n > 0 and n & (n - 1) == 0\n\n"
    "    def is_power_of_four(self, n: int) -> bool:\n"
    "        return self.is_power_of_two(n) and n % 3 == 1\n```",
])
def test_a_plain_function_filling_a_method_still_calls_itself_and_its_helpers(
        answer: str) -> None:
    """LeetCode's `class Solution` stub, answered with plain functions (what small models
    write): as a method, a bare `f(n // 4)` or `helper(n)` is a NameError. The recursion is
    made through `self`, plain helpers go above the class, and a wrapper's helper methods
    stay methods. Before, the 0.5B's recursive reference and every helper failed this way."""
    placed, text = place(METHOD, "python", answer)
    assert placed.how == "filled" and text.count("def is_power_of_four") == 1
    assert [call_method(text, "is_power_of_four", n) for n in (1, 4, 5, 8, 16, 64, 0)] == \
        [True, True, False, False, True, True, False]
    assert call_method(text, "other") == 1
    assert 'Return true if n is a power of four."""' in text
    assert "# is_power_of_four(x) needs" in text or "needs" not in answer


def test_a_plain_function_replacing_a_method_takes_its_receiver_back() -> None:
    source = ("class Solution:\n    def total(self, n):\n        # TODO: make this O(1)\n"
              "        s = 0\n        for i in range(n):\n            s += i\n        return s\n")
    answer = ("```python\ndef triangle(k):\n    return k * (k - 1) // 2\n\n\n"
              "def total(n):\n    return triangle(n) if n < 10 else total(9) + "
              "sum(range(9, n))\n```")
    placed, text = place(source, "python", answer)
    assert placed.how == "replaced" and "def total(self, n):" in text
    assert "self.total(9)" in text and text.startswith("def triangle(k):")
    assert [call_method(text, "total", n) for n in (0, 4, 12)] == [0, 6, 66]


STATIC = ("class Outer:\n    class Solution:\n        @staticmethod\n"
          "        def climb(n: int) -> int:\n            # TODO: ways to climb n stairs\n"
          "            pass\n")
RECURSIVE_CLIMB = ("```python\ndef step(a, b):\n    return b, a + b\n\n\n"
                   "def climb(n):\n    if n <= 2:\n        return n\n"
                   "    return climb(n - 1) + climb(n - 2) if n < 5 else loop(n)\n\n\n"
                   "def loop(n):\n    a, b = 1, 2\n    for _ in range(n - 2):\n"
                   "        a, b = step(a, b)\n    return b\n```")


def test_a_plain_function_filling_or_replacing_a_static_method_calls_through_the_class(
        ) -> None:
    """A `@staticmethod` has no `self` to call through: the recursion goes through the
    class (`Outer.Solution.climb`), the plain helpers above the outermost class — inside
    it, as before, `loop(n)` and `step(a, b)` were NameErrors in the inserted code."""
    placed, text = place(STATIC, "python", RECURSIVE_CLIMB)
    assert placed.how == "filled" and "Outer.Solution.climb(n - 1)" in text, text
    assert text.index("def step") < text.index("class Outer") and "@staticmethod" in text
    namespace: dict = {}
    exec(compile(text, "edited.py", "exec"), namespace)
    assert [namespace["Outer"].Solution.climb(n) for n in (1, 2, 3, 4, 5, 10)] == \
        [1, 2, 3, 5, 8, 89]
    slow = STATIC.replace("            # TODO: ways to climb n stairs\n            pass\n",
                          "            # TODO: make this faster\n"
                          "            return n if n <= 2 else Outer.Solution.climb(n - 1)"
                          " + Outer.Solution.climb(n - 2)\n")
    placed, text = place(slow, "python", RECURSIVE_CLIMB)
    assert placed.how == "replaced" and "def climb(n):" in text and "@staticmethod" in text
    namespace = {}
    exec(compile(text, "edited.py", "exec"), namespace)
    assert namespace["Outer"].Solution.climb(10) == 89


@pytest.mark.parametrize(("answer", "why"), [
    ("```python\ndef g(x:\n    return (\n```", "would not parse"),
    ("```python\ndef helper():\n    return 1\n\ndef helper():\n    return 2\n\n"
     "def g(x):\n    return helper()\n```", "define `helper` twice"),
])
def test_an_answer_that_would_break_the_file_is_refused(answer: str, why: str) -> None:
    with pytest.raises(placement.PlacementError, match=why):
        place("# TODO: g\ndef g(x):\n    pass\n", "python", answer)


def test_an_edit_inside_a_docstring_is_refused() -> None:
    """The invariant itself, on an edit that writes into a docstring (what the old
    placeholder search did to a doctest's `False` line)."""
    todo = triggers.find_todos(DOCTEST, "python")[0]
    bad = placement.Placed([edits.resolve_marker(todo),
                            edits.TextEdit((7, 0), (8, 0), "    return False\n"),
                            edits.TextEdit((12, 0), (13, 0), "")], "filled", "f")
    assert "inside the comment or string on line 5" in placement.check(
        DOCTEST, "python", todo, bad, "TODO")


@pytest.mark.parametrize(("language", "source", "answer", "expected"), [
    ("javascript",
     "// TODO: largest sum of a contiguous subarray\nfunction maxSub(nums) { return 0; }\n\n"
     "module.exports = { maxSub };\n",
     "```javascript\nfunction maxSub(nums) {\n  let best = nums[0], cur = 0;\n"
     "  for (const x of nums) { cur = Math.max(x, cur + x); best = Math.max(best, cur); }\n"
     "  return best;\n}\n```",
     "function maxSub(nums) {\n    // Time: O(n), Space: O(1) — one pass\n"
     "    let best = nums[0], cur = 0;"),
    ("typescript",
     "// TODO: double it\nexport function dbl(x: number): number {\n}\n",
     "```typescript\nexport function dbl(x: number): number {\n  return 2 * x;\n}\n```",
     "// double it\nexport function dbl(x: number): number {\n"
     "    // Time: O(n), Space: O(1) — one pass\n    return 2 * x;\n}\n"),
    ("rust",
     "/// Sum.\n/// TODO: sum of squares\n#[inline]\npub fn sum_sq(v: &[i32]) -> i32 {\n"
     "    todo!()\n}\n",
     "```rust\nfn square(x: i32) -> i32 { x * x }\n\npub fn sum_sq(v: &[i32]) -> i32 {\n"
     "    v.iter().map(|&x| square(x)).sum()\n}\n```",
     "fn square(x: i32) -> i32 { x * x }\n\n/// Sum.\n/// sum of squares\n#[inline]\n"
     "pub fn sum_sq(v: &[i32]) -> i32 {\n    // Time: O(n), Space: O(1) — one pass\n"
     "    v.iter().map(|&x| square(x)).sum()\n}\n"),
    ("cpp",
     "#include <vector>\n\n// TODO: largest element\ntemplate <typename T>\n"
     "T largest(const std::vector<T>& v) { return T{}; }\n",
     "```cpp\ntemplate <typename T>\nT largest(const std::vector<T>& v) {\n"
     "    return *std::max_element(v.begin(), v.end());\n}\n```",
     "// largest element\n// Time: O(n), Space: O(1) — one pass\ntemplate <typename T>\n"
     "T largest(const std::vector<T>& v) {\n"),
    ("java",
     "class Solution {\n    // TODO: sum\n    public int sum(int[] a) {\n        return 0;\n"
     "    }\n}\n",
     "```java\nclass Solution {\n    public int sum(int[] a) {\n        int s = 0;\n"
     "        for (int x : a) s += x;\n        return s;\n    }\n}\n```",
     "    // sum\n    public int sum(int[] a) {\n        // Time: O(n), Space: O(1) — one "
     "pass\n        int s = 0;\n"),
])
def test_other_languages_fill_the_function_below_once(language: str, source: str,
                                                      answer: str, expected: str) -> None:
    placed, text = place(source, language, answer)
    assert expected in text, text
    assert triggers.error_count(text, language) == 0
    assert "TODO" not in text and placed.function is not None


def test_an_answer_that_only_repeats_a_function_elsewhere_is_refused() -> None:
    source = "def area(r):\n    return 3.14159 * r * r\n\n\nx = 1\n# TODO: area of a circle\n"
    with pytest.raises(placement.PlacementError, match="only defines `area` again"):
        place(source, "python", "```python\ndef area(r):\n    return math.pi * r ** 2\n```")


JS_FOUR = ("function other(xs) {\n    if (xs) {\n        return 1;\n    }\n}\n\n"
           "// TODO: sum the numbers\nfunction total(xs) {\n}\n")
JS_TWO = ("```javascript\nfunction total(xs) {\n  let s = 0;\n  for (const x of xs) {\n"
          "    s += x;\n  }\n  return s;\n}\n```")


def test_an_answer_takes_the_files_indentation_unit() -> None:
    _, text = place(JS_FOUR, "javascript", JS_TWO)
    body = text[text.index("function total"):]
    assert "\n    let s = 0;\n    for (const x of xs) {\n        s += x;\n    }\n" in body
    go = "package main\n\n// TODO: sum the numbers\nfunc total(xs []int) int {\n\treturn 0\n}\n"
    _, text = place(go, "go", "```go\nfunc total(xs []int) int {\n    s := 0\n"
                    "    for _, x := range xs {\n        s += x\n    }\n    return s\n}\n```")
    assert "\n\ts := 0\n\tfor _, x := range xs {\n\t\ts += x\n\t}\n" in text


def test_the_first_includes_of_a_file_stand_apart_from_its_code() -> None:
    c = "// TODO: return the larger of a and b\nint larger(int a, int b) {\n    return 0;\n}\n"
    _, text = place(c, "cpp", "```cpp\nint larger(int a, int b) {\n"
                    "    return std::max(a, b);\n}\n```")
    assert text.startswith("#include <algorithm>\n\n// return the larger")
