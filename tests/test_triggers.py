"""Tree-sitter triggers: TODO comments, enclosing scopes, stubs and imports in all languages."""

from __future__ import annotations

import pytest

from vibe_ls.triggers import (
    LANGUAGES,
    comment_prefix,
    enclosing_scope,
    find_todos,
    imports,
    language_for,
    scope_named_at,
    todo_at,
)


def cut(source: str, span: tuple[tuple[int, int], tuple[int, int]]) -> str:
    """The text a (start, end) range of (line, code-point column) positions covers."""
    lines = source.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    (start_line, start_column), (end_line, end_column) = span
    return source[offsets[start_line] + start_column:offsets[end_line] + end_column]


def line_of(source: str, needle: str) -> int:
    return next(i for i, line in enumerate(source.split("\n")) if needle in line)


PYTHON = '''"""Three-sum helpers."""
from typing import List


class Solution:
    def three_sum_closest(self, nums: List[int], target: int) -> int:
        """Return the sum of three numbers closest to target."""
        # TODO: find three numbers whose sum is closest to target
        raise NotImplementedError
'''

C = """#include <stdlib.h>

/* Returns the index of target in nums, or -1. */
int binary_search(const int *nums, int n, int target) {
    // TODO: binary search over the sorted array
    return -1;
}
"""

CPP = """#include <vector>
#include <algorithm>

class Solution {
public:
    int threeSumClosest(std::vector<int>& nums, int target) {
        // TODO find three numbers whose sum is closest to target
        return 0;
    }
};
"""

JAVA = """package lists;

import java.util.List;

public class Merger {
    /** Merges two sorted lists. */
    public List<Integer> merge(List<Integer> a, List<Integer> b) {
        /* TODO: merge the two sorted lists in linear time */
        throw new UnsupportedOperationException("not implemented");
    }
}
"""

JAVASCRIPT = """import { setTimeout } from "timers";

export function debounce(fn, wait) {
  // TODO: return a debounced version of fn
  return null;
}
"""

TYPESCRIPT = """import type { Item } from "./item";

export const groupBy = <T>(items: T[], key: (item: T) => string): Record<string, T[]> => {
  // TODO: group items by key
  return {};
};
"""

TSX = """import React from "react";

export function TodoList({ items }: { items: string[] }) {
  // TODO: render the items as an unordered list
  return null;
}
"""

GO = """package twosum

import "sort"

// TwoSum returns the indices of the two numbers adding up to target.
func TwoSum(nums []int, target int) []int {
\t// TODO: return indices of the two numbers adding up to target
\treturn nil
}
"""

RUST = """use std::collections::HashMap;

pub struct Solution;

impl Solution {
    /// Finds the sum of three numbers closest to target.
    pub fn three_sum_closest(nums: Vec<i32>, target: i32) -> i32 {
        // TODO: sort, then use two pointers
        todo!()
    }
}
"""

# language, source, description, marker text, kind, name, signature, body text, body indent
CASES = [
    ("python", PYTHON, "find three numbers whose sum is closest to target", "TODO: ", "method",
     "three_sum_closest",
     "def three_sum_closest(self, nums: List[int], target: int) -> int:",
     '"""Return the sum of three numbers closest to target."""\n'
     "        # TODO: find three numbers whose sum is closest to target\n"
     "        raise NotImplementedError", "        "),
    ("c", C, "binary search over the sorted array", "TODO: ", "function", "binary_search",
     "int binary_search(const int *nums, int n, int target)",
     "\n    // TODO: binary search over the sorted array\n    return -1;\n", "    "),
    ("cpp", CPP, "find three numbers whose sum is closest to target", "TODO ", "method",
     "threeSumClosest", "int threeSumClosest(std::vector<int>& nums, int target)",
     "\n        // TODO find three numbers whose sum is closest to target\n        return 0;\n    ",
     "        "),
    ("java", JAVA, "merge the two sorted lists in linear time", "TODO: ", "method", "merge",
     "public List<Integer> merge(List<Integer> a, List<Integer> b)",
     "\n        /* TODO: merge the two sorted lists in linear time */\n"
     '        throw new UnsupportedOperationException("not implemented");\n    ', "        "),
    ("javascript", JAVASCRIPT, "return a debounced version of fn", "TODO: ", "function",
     "debounce", "function debounce(fn, wait)",
     "\n  // TODO: return a debounced version of fn\n  return null;\n", "  "),
    ("typescript", TYPESCRIPT, "group items by key", "TODO: ", "function", "groupBy",
     "const groupBy = <T>(items: T[], key: (item: T) => string): Record<string, T[]> =>",
     "\n  // TODO: group items by key\n  return {};\n", "  "),
    ("tsx", TSX, "render the items as an unordered list", "TODO: ", "function", "TodoList",
     "function TodoList({ items }: { items: string[] })",
     "\n  // TODO: render the items as an unordered list\n  return null;\n", "  "),
    ("go", GO, "return indices of the two numbers adding up to target", "TODO: ", "function",
     "TwoSum", "func TwoSum(nums []int, target int) []int",
     "\n\t// TODO: return indices of the two numbers adding up to target\n\treturn nil\n", "\t"),
    ("rust", RUST, "sort, then use two pointers", "TODO: ", "method", "three_sum_closest",
     "pub fn three_sum_closest(nums: Vec<i32>, target: i32) -> i32",
     "\n        // TODO: sort, then use two pointers\n        todo!()\n    ", "        "),
]


def test_every_language_has_a_case() -> None:
    assert sorted(case[0] for case in CASES) == sorted(LANGUAGES)


@pytest.mark.parametrize(("language", "source", "description", "marker", "kind", "name",
                          "signature", "body", "body_indent"), CASES,
                         ids=[case[0] for case in CASES])
def test_todo_inside_stub(language: str, source: str, description: str, marker: str,
                          kind: str, name: str, signature: str, body: str,
                          body_indent: str) -> None:
    line = line_of(source, "TODO")
    todo = todo_at(source, language, line)
    assert todo is not None
    assert todo.line == line
    assert todo.description == description
    assert cut(source, todo.marker_range) == marker
    assert cut(source, todo.comment_range) == source.split("\n")[line].strip()
    assert todo.indent == body_indent

    scope = enclosing_scope(source, language, line)
    assert scope is not None
    assert (scope.kind, scope.name, scope.signature) == (kind, name, signature)
    assert scope.body_range is not None
    assert cut(source, scope.body_range) == body
    assert scope.is_stub is True
    assert scope.body_indent == body_indent
    assert cut(source, scope.range) == scope.text
    assert scope.text.startswith(signature)
    closing = "" if language == "python" else "}"
    assert scope.text.removesuffix(";").endswith(body + closing)


@pytest.mark.parametrize(("language", "source", "docstring"), [
    ("python", PYTHON, "Return the sum of three numbers closest to target."),
    ("c", C, "Returns the index of target in nums, or -1."),
    ("java", JAVA, "Merges two sorted lists."),
    ("go", GO, "TwoSum returns the indices of the two numbers adding up to target."),
    ("rust", RUST, "Finds the sum of three numbers closest to target."),
    ("cpp", CPP, None),
])
def test_docstring(language: str, source: str, docstring: str | None) -> None:
    scope = enclosing_scope(source, language, line_of(source, "TODO"))
    assert scope is not None
    assert scope.docstring == docstring


def test_todo_in_string_is_not_a_trigger() -> None:
    python = 'def f():\n    s = "# TODO: not a comment"\n    return s\n'
    assert find_todos(python, "python") == []
    assert todo_at(python, "python", 1) is None
    rust = 'fn f() -> &\'static str {\n    "// TODO: not a comment"\n}\n'
    assert find_todos(rust, "rust") == []
    javascript = "const s = `/* TODO: not a comment */`;\n"
    assert find_todos(javascript, "javascript") == []


def test_plain_line_is_not_a_trigger() -> None:
    assert todo_at(PYTHON, "python", line_of(PYTHON, "class Solution")) is None
    assert todo_at(PYTHON, "python", 999) is None


@pytest.mark.parametrize("comment", [
    "# see the TODO list", "# TODOS: plural", "# todo: lowercase", "# NOTE: TODO later",
])
def test_marker_must_start_the_comment_as_a_word(comment: str) -> None:
    assert find_todos(f"x = 1  {comment}\n", "python") == []


def test_marker_variants() -> None:
    source = "# TODO x\n#TODO:y\n# TODO : spaced\n# FIXME: other\n# TODO\n"
    todos = find_todos(source, "python")
    assert [(t.line, t.description) for t in todos] == [(0, "x"), (1, "y"), (2, "spaced"),
                                                         (4, "")]
    assert [cut(source, t.marker_range) for t in todos] == ["TODO ", "TODO:", "TODO : ", "TODO"]
    fixme = find_todos(source, "python", marker="FIXME")
    assert [(t.line, t.description) for t in fixme] == [(3, "other")]


def test_chinese_description_with_full_width_colon() -> None:
    source = ('def 三数之和(nums, target):\n'
              '    最优 = None  # TODO\uff1a找出数组中三个数之和最接近目标值的组合\n'
              '    return 最优\n')
    todo = todo_at(source, "python", 1)
    assert todo is not None
    assert todo.description == "找出数组中三个数之和最接近目标值的组合"
    # Code points, not UTF-8 bytes: "    最优 = None  " is 15 characters (but 19 bytes).
    assert todo.comment_range == ((1, 15), (1, 41))
    assert todo.marker_range == ((1, 17), (1, 22))
    assert cut(source, todo.marker_range) == "TODO\uff1a"
    scope = enclosing_scope(source, "python", 1)
    assert scope is not None
    assert scope.name == "三数之和"
    assert scope.is_stub is False
    assert scope_named_at(source, "python", 0, 5) == scope


def test_chinese_in_brace_language_columns() -> None:
    source = 'int f() {\n    char *s = "中文"; // TODO: 实现\n    return 0;\n}\n'
    todo = todo_at(source, "c", 1)
    assert todo is not None
    # '    char *s = "中文"; ' is 20 characters (24 bytes).
    assert todo.marker_range == ((1, 23), (1, 29))
    assert todo.description == "实现"
    scope = enclosing_scope(source, "c", 1)
    assert scope is not None and scope.is_stub is False


def test_non_stub_body() -> None:
    source = ("def two_sum(nums, target):\n"
              "    # TODO: make this faster than quadratic\n"
              "    for i, a in enumerate(nums):\n"
              "        for j in range(i + 1, len(nums)):\n"
              "            if a + nums[j] == target:\n"
              "                return i, j\n"
              "    return None\n")
    scope = enclosing_scope(source, "python", 1)
    assert scope is not None
    assert scope.name == "two_sum"
    assert scope.is_stub is False


@pytest.mark.parametrize(("language", "source", "is_stub"), [
    ("python", "def f():\n    pass\n", True),
    ("python", "def f():\n    ...\n", True),
    ("python", 'def f():\n    """Doc."""\n', True),
    ("python", 'def f():\n    """Doc."""\n    raise NotImplementedError("later")\n', True),
    ("python", "def f():\n    raise ValueError('bad')\n", False),
    ("python", "def f():\n    return 1\n", False),
    ("c", "int f(void) {}\n", True),
    ("c", "int f(void) { return 1; }\n", False),
    ("cpp", "bool f() { return false; }\n", True),
    ("java", "class A { String f() { return \"\"; } }\n", True),
    ("java", "class A { int f() { int x = 0; return x; } }\n", False),
    ("javascript", "function f() { return null; }\n", True),
    ("javascript", "function f() { throw new Error('Not implemented'); }\n", True),
    ("go", "package p\n\nfunc f() error {\n\tpanic(\"todo\")\n}\n", True),
    ("go", "package p\n\nfunc f() (int, error) {\n\treturn 0, nil\n}\n", True),
    ("go", "package p\n\nfunc f() int {\n\treturn 42\n}\n", False),
    ("rust", "fn f() -> u8 {\n    unimplemented!(\"no\")\n}\n", True),
    ("rust", "fn f() -> u8 {\n    todo!();\n}\n", True),
    ("rust", "fn f() -> u8 {\n    7\n}\n", False),
])
def test_stub_detection(language: str, source: str, is_stub: bool) -> None:
    scope = enclosing_scope(source, language, line_of(source, "f("))
    assert scope is not None
    assert scope.is_stub is is_stub


def test_module_level_todo_has_no_scope() -> None:
    source = "import os\n\n# TODO: add a main function\n\ndef helper():\n    return os.sep\n"
    todo = todo_at(source, "python", 2)
    assert todo is not None and todo.description == "add a main function"
    assert enclosing_scope(source, "python", 2) is None
    go = "package main\n\n// TODO: write main\n"
    assert todo_at(go, "go", 2) is not None
    assert enclosing_scope(go, "go", 2) is None


def test_python_comment_before_block_is_inside_the_function() -> None:
    # tree-sitter makes this comment a child of function_definition, before the block.
    source = 'def f(a):\n    # TODO: double it\n    """Doc."""\n    pass\n'
    scope = enclosing_scope(source, "python", 1)
    assert scope is not None
    assert scope.name == "f"
    assert cut(source, scope.body_range) == '# TODO: double it\n    """Doc."""\n    pass'
    assert scope.docstring == "Doc."
    assert scope.is_stub is True


def test_python_comment_on_def_line_stays_in_the_header_line() -> None:
    source = "def f(a):  # TODO: double it\n    return a\n"
    assert todo_at(source, "python", 0).description == "double it"
    scope = enclosing_scope(source, "python", 0)
    assert scope is not None
    assert scope.signature == "def f(a):"
    assert cut(source, scope.body_range) == "return a"
    assert scope.body_indent == "    "


def test_python_comment_only_body() -> None:
    # Not valid Python: tree-sitter gives f an empty block and leaves the comment outside it.
    source = "def f(a):\n    # TODO: implement\n\n\ndef g():\n    return 1\n"
    scope = enclosing_scope(source, "python", 1)
    assert scope is not None
    assert scope.name == "f"
    assert scope.range == ((0, 0), (1, 21))
    assert cut(source, scope.body_range) == "# TODO: implement"
    assert scope.is_stub is True
    assert scope.body_indent == "    "
    assert enclosing_scope(source, "python", 2) is None


def test_class_scope_when_no_method_encloses() -> None:
    source = "class Stack:\n    # TODO: add push and pop\n    items: list\n"
    scope = enclosing_scope(source, "python", 1)
    assert scope is not None
    assert (scope.kind, scope.name, scope.signature) == ("class", "Stack", "class Stack:")


def test_nested_function_is_innermost() -> None:
    source = "def outer():\n    def inner():\n        pass  # TODO: x\n    return inner\n"
    scope = enclosing_scope(source, "python", 2)
    assert scope is not None
    assert (scope.kind, scope.name) == ("function", "inner")


def test_body_indent_fallbacks() -> None:
    spaces = "class A:\n  def f(self): pass  # TODO: x\n"
    assert enclosing_scope(spaces, "python", 1).body_indent == "    "
    tabs = "class A:\n\tdef f(self): pass  # TODO: x\n"
    assert enclosing_scope(tabs, "python", 1).body_indent == "\t\t"
    javascript = "class A {\n  f() {}\n}\n"
    assert enclosing_scope(javascript, "javascript", 1).body_indent == "    "
    go = "package p\n\nfunc f() {}\n"
    assert enclosing_scope(go, "go", 2).body_indent == "\t"


def test_scope_named_at() -> None:
    line = line_of(RUST, "pub fn")
    column = RUST.split("\n")[line].index("three_sum_closest")
    scope = scope_named_at(RUST, "rust", line, column + 3)
    assert scope is not None and scope.name == "three_sum_closest"
    assert scope_named_at(RUST, "rust", line, column - 1) is None  # on "fn "
    assert scope_named_at(RUST, "rust", line, column + len("three_sum_closest")) is None
    class_line = line_of(PYTHON, "class Solution")
    assert scope_named_at(PYTHON, "python", class_line, 7) is None
    cpp_line = line_of(CPP, "threeSumClosest")
    cpp_column = CPP.split("\n")[cpp_line].index("threeSumClosest")
    assert scope_named_at(CPP, "cpp", cpp_line, cpp_column).name == "threeSumClosest"


def test_multiline_block_comment_and_rust_doc_comment() -> None:
    java = ("class A {\n    int f() {\n        /*\n         * TODO: first line\n"
            "         * second line\n         */\n        return 0;\n    }\n}\n")
    todo = todo_at(java, "java", 4)
    assert todo is not None
    assert todo.line == 2
    assert todo.description == "first line second line"
    assert cut(java, todo.marker_range) == "TODO: "
    rust = "fn f() {\n    /// TODO: doc style\n    let x = 1;\n}\n"
    todo = todo_at(rust, "rust", 1)
    assert todo is not None
    assert todo.comment_range == ((1, 4), (1, 23))


@pytest.mark.parametrize(("language", "source", "expected", "insert_line"), [
    ("python", PYTHON, ["from typing import List"], 2),
    ("python", '"""Module doc."""\n\n\ndef f():\n    import os\n', [], 1),
    ("python", "#!/usr/bin/env python\ndef main():\n    pass\n", [], 1),
    ("python", "def main():\n    pass\n", [], 0),
    ("cpp", CPP, ["#include <vector>", "#include <algorithm>"], 2),
    ("cpp", "// Copyright.\n\nint main() {}\n", [], 1),
    ("go", GO, ['import "sort"'], 3),
    ("go", 'package p\n\nimport (\n\t"fmt"\n\t"os"\n)\n\nfunc f() {}\n',
     ['import (\n\t"fmt"\n\t"os"\n)'], 6),
    ("go", "// Package p does things.\npackage p\n\nfunc f() {}\n", [], 2),
    ("rust", RUST, ["use std::collections::HashMap;"], 1),
    ("rust", "//! Crate docs.\n\nfn main() {}\n", [], 1),
    ("java", JAVA, ["import java.util.List;"], 3),
    ("java", "package a.b;\n\nclass A {}\n", [], 1),
    ("javascript", JAVASCRIPT, ['import { setTimeout } from "timers";'], 1),
    ("javascript", "/** Doc for f. */\nfunction f() {}\n", [], 0),
])
def test_imports(language: str, source: str, expected: list[str], insert_line: int) -> None:
    assert imports(source, language) == (expected, insert_line)


@pytest.mark.parametrize(("path", "language_id", "expected"), [
    ("file:///home/u/a.py", None, "python"),
    ("/src/a.h", None, "c"),
    ("file:///src/a%20b.hpp", None, "cpp"),
    ("Main.java", None, "java"),
    ("a.jsx", None, "javascript"),
    ("a.ts", None, "typescript"),
    ("a.tsx", None, "tsx"),
    ("main.go", None, "go"),
    ("lib.rs", None, "rust"),
    ("notes.txt", None, None),
    ("untitled:Untitled-1", "python", "python"),
    ("a.txt", "typescriptreact", "tsx"),
    ("a.txt", "javascriptreact", "javascript"),
    ("a.py", "plaintext", "python"),
])
def test_language_for(path: str, language_id: str | None, expected: str | None) -> None:
    assert language_for(path, language_id) == expected


def test_comment_prefix() -> None:
    assert comment_prefix("python") == "#"
    assert {comment_prefix(name) for name in LANGUAGES if name != "python"} == {"//"}


def test_unsupported_language_is_an_error() -> None:
    with pytest.raises(ValueError, match="unsupported language"):
        find_todos("x", "cobol")
