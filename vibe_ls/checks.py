"""Examples a candidate implementation must satisfy, read from the code the user wrote:
doctests (`>>> f(2)` then `4`) and LeetCode-style `Input: a = 1, b = [2]` / `Output: 3`
lines in the docstring. Run in the sandbox against the whole edited file (Python)."""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass

_INPUT = re.compile(r"^\s*Input:\s*(?P<args>.+?)\s*$", re.MULTILINE)
_OUTPUT = re.compile(r"^\s*Output:\s*(?P<value>.+?)\s*$", re.MULTILINE)
_DOCTEST = re.compile(r"^\s*>>> (?P<call>.+)\n\s*(?P<value>[^>\s].*?)\s*$", re.MULTILINE)
_JSON_WORDS = {"true": "True", "false": "False", "null": "None"}


@dataclass(frozen=True)
class Example:
    call: str  # a Python expression, `f` standing for the function under test
    expected: str  # a Python literal


def _pythonic(literal: str) -> str:
    return re.sub(r"\b(true|false|null)\b", lambda m: _JSON_WORDS[m.group(1)], literal)


def _is_literal(text: str) -> bool:
    try:
        ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def _keyword_call(args: str) -> str | None:
    """`a = "11", b = [1,2]` -> `f(a="11", b=[1,2])`, if every value is a literal."""
    call = f"f({_pythonic(args)})"
    try:
        node = ast.parse(call, mode="eval").body
    except SyntaxError:
        # `a = 1, b = 2` is not Python call syntax only because of the spaces: fix that
        call = "f(" + re.sub(r"(\w+)\s*=\s*", r"\1=", _pythonic(args)) + ")"
        try:
            node = ast.parse(call, mode="eval").body
        except SyntaxError:
            return None
    values = [*node.args, *(k.value for k in node.keywords)]
    return call if all(_is_literal(ast.unparse(v)) for v in values) else None


def examples(docstring: str | None, name: str) -> list[Example]:
    """The examples a function's docstring gives (LeetCode-style and doctests)."""
    found: list[Example] = []
    text = docstring or ""
    for inp, out in zip(_INPUT.finditer(text), _OUTPUT.finditer(text), strict=False):
        call, expected = _keyword_call(inp["args"]), _pythonic(out["value"])
        if call and _is_literal(expected):
            found.append(Example(call, expected))
    for test in _DOCTEST.finditer(text):
        call = re.sub(rf"\b{re.escape(name)}\(", "f(", test["call"], count=1)
        if call.startswith("f(") and _is_literal(test["value"]):
            found.append(Example(call, test["value"]))
    return found


def checker(source: str, name: str, class_name: str | None, cases: list[Example]) -> str:
    """A script that runs the edited file, then each example, and prints the results."""
    target = f"{class_name}().{name}" if class_name else name
    calls = json.dumps([[c.call, c.expected] for c in cases])
    return (f"{source}\n\n"
            "def __vibe_ls_check():\n"
            "    import json\n"
            f"    f = {target}\n"
            "    results = []\n"
            f"    for call, expected in json.loads({calls!r}):\n"
            "        try:\n"
            "            results.append(eval(call) == eval(expected))\n"
            "        except Exception:\n"
            "            results.append(False)\n"
            "    print('\\n__vibe_ls__' + json.dumps(results))\n\n"
            "__vibe_ls_check()\n")


def parse_results(stdout: str, count: int) -> list[bool]:
    """Which examples passed, from the checker's output (none, if it never got there)."""
    for line in reversed(stdout.splitlines()):
        if line.startswith("__vibe_ls__"):
            results = json.loads(line[len("__vibe_ls__"):])
            return [bool(r) for r in results]
    return [False] * count
