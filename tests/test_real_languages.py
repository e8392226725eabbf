"""The real default model implements a TODO in eight languages: each insert parses cleanly
(tree-sitter), sits in the stub's body at its indentation, resolves the TODO and carries a
complexity note in the language's comment syntax; where the language's toolchain is here, the
candidates were run and the summary says what was checked."""

from __future__ import annotations

from pathlib import Path

import pytest

from vibe_ls import triggers
from vibe_ls.assist import Assistant, Target
from vibe_ls.edits import apply
from vibe_ls.settings import Settings
from vibe_ls.verify import harness

pytestmark = pytest.mark.real_model

STUBS = {
    "python": ("def max_of(a: list[int]) -> int:\n"
               "    # TODO: return the largest element of the list\n    pass\n"),
    "c": ("#include <stdio.h>\n\nint max_of(const int *a, int n) {\n"
          "    // TODO: return the largest element of the array a of length n\n    return 0;\n}\n"),
    "cpp": ("#include <vector>\n\nint max_of(const std::vector<int>& a) {\n"
            "    // TODO: return the largest element of the vector\n    return 0;\n}\n"),
    "java": ("public class A {\n    public static int maxOf(int[] a) {\n"
             "        // TODO: return the largest element of the array\n        return 0;\n"
             "    }\n}\n"),
    "javascript": ("function maxOf(a) {\n  // TODO: return the largest element of the array\n"
                   "  return 0;\n}\n"),
    "typescript": ("export function maxOf(a: number[]): number {\n"
                   "  // TODO: return the largest element of the array\n  return 0;\n}\n"),
    "go": ("package main\n\nfunc maxOf(a []int) int {\n"
           "\t// TODO: return the largest element of the slice\n\treturn 0\n}\n"),
    "rust": ("fn max_of(a: &[i32]) -> i32 {\n    // TODO: return the largest element of the slice\n"
             "    0\n}\n"),
}
FILES = {"python": "a.py", "c": "a.c", "cpp": "a.cpp", "java": "A.java", "javascript": "a.js",
         "typescript": "a.ts", "go": "a.go", "rust": "a.rs"}


@pytest.fixture(scope="module")
def assistant(real_model: Path) -> Assistant:
    return Assistant(Settings(model=str(real_model), device="cpu"))


@pytest.mark.parametrize("language", sorted(STUBS))
def test_insert_is_valid_code_with_a_note(assistant: Assistant, language: str) -> None:
    source = STUBS[language]
    line = next(i for i, row in enumerate(source.split("\n")) if "TODO" in row)
    proposal = assistant.implement(Target(source, language, FILES[language]), line)
    out = apply(source, proposal.edits)
    tree = triggers._parser(language).parse(out.encode())
    assert not tree.root_node.has_error, out
    assert "TODO" not in out and "return the largest element" in out
    prefix = triggers.comment_prefix(language)
    rows = out.split("\n")
    notes = [i for i, row in enumerate(rows) if row.strip().startswith(f"{prefix} Time: O(")]
    assert len(notes) == 1, out
    scope = triggers.enclosing_scope(out, language, notes[0])  # imports may shift lines
    assert scope is not None and not scope.is_stub
    body = [row for row in rows[notes[0] : scope.range[1][0]] if row.strip()]
    assert all(row.startswith(scope.body_indent) for row in body), out
    if language == "python" or harness.available(language):
        assert any(word in proposal.summary for word in ("verified:", "unconfirmed:",
                                                          "WARNING:")), proposal.summary
    else:
        assert f"not verified: {harness.missing(language)}" in proposal.summary
