"""Examples a candidate implementation must satisfy: read from the code the user wrote
(doctests `>>> f(2)` then `4`, and LeetCode-style `Input: a = 1, b = [2]` / `Output: 3` lines
in the docstring), and written by the model (`assert f(2) == 4` lines). Run in the sandbox
against the whole edited file (Python)."""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass

_INPUT = re.compile(r"^\s*Input:\s*(?P<args>.+?)\s*$", re.MULTILINE)
_OUTPUT = re.compile(r"^\s*Output:\s*(?P<value>.+?)\s*$", re.MULTILINE)
_DOCTEST = re.compile(r"^\s*>>> (?P<call>.+)\n\s*(?P<value>[^>\s].*?)\s*$", re.MULTILINE)
_JSON_WORDS = {"true": "True", "false": "False", "null": "None"}
# LeetCode's in-place problems: `Output: 2, nums = [2,2,_,_]` (what the call returns, then
# what the array must hold)
_RETURNED_THEN_STATE = re.compile(r"^(?P<value>.+?),\s*\w+\s*=\s*")


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


def examples(docstring: str | None, name: str, language: str = "python") -> list[Example]:
    """The examples a function's docstring (or a TODO comment) gives: LeetCode-style
    `Input:`/`Output:` lines, doctests, and calls written with their result on one line
    (`fib(10) == 55`, `Example: f("abc") returns 3`, `f([1, 2]) -> [2, 1]`), in any of our
    languages' comments. A call counts only with literal arguments and a literal result; in
    a language other than Python, braces are an array (`{1, 2}` in C++ is no set)."""
    found: list[Example] = []
    text = docstring or ""
    for inp, out in zip(_INPUT.finditer(text), _OUTPUT.finditer(text), strict=False):
        call, expected = _keyword_call(inp["args"]), _pythonic(out["value"])
        returned = _RETURNED_THEN_STATE.match(expected)
        if returned and not _is_literal(expected):
            expected = returned["value"]
        if call and _is_literal(expected):
            found.append(Example(call, expected))
    for test in _DOCTEST.finditer(text):
        call = re.sub(rf"\b{re.escape(name)}\(", "f(", test["call"], count=1)
        if call.startswith("f(") and _is_literal(test["value"]):
            found.append(Example(call, test["value"]))
    found += _calls_with_results(text, name, language != "python")
    unique: dict[str, Example] = {}
    for example in found:
        unique.setdefault(example.call, example)
    return list(unique.values())


# What stands between a call and its result on one line: `f(2) == 4`, `-> 4`, `=> 4`,
# `returns 4`, `should return 4`, `gives 4`, `is 4`, `// 4`, `# 4`, `: 4`
_RESULT = re.compile(r"\s*(?:={2,3}|->|=>|→|⇒|//|#|:|=|\b(?:should\s+)?(?:returns?|gives?|"
                     r"yields?|is|be|equals?|evaluates\s+to)\b)\s*(?P<value>\S.*)$")


def _calls_with_results(text: str, name: str, braces_are_arrays: bool) -> list[Example]:
    found = []
    if braces_are_arrays:  # `{1, 2}`, `new int[]{1, 2}`: an array
        text = re.sub(r"\bnew\s+\w+(?:\s*\[\s*\])+\s*\{", "{", text)
        text = text.replace("{", "[").replace("}", "]")
    for line in text.splitlines():
        for start in re.finditer(rf"(?<![\w.])(?:\w+\.)?{re.escape(name)}\s*\(", line):
            end = _closing(line, start.end() - 1)
            if end is None:
                continue
            args = _plain(line[start.end():end])
            call = _keyword_call(args) if args.strip() else "f()"
            value = _result_of(line[:start.start()], line[end + 1:])
            if call and value is not None:
                found.append(Example(call, value))
    return found


def _result_of(before: str, after: str) -> str | None:
    """The result written beside a call: after it (`== 55`, `returns 55`), or as the other
    argument of a test assertion (`assert_eq!(f(10), 55)`, `assert.strictEqual(f(10), 55)`,
    `self.assertEqual(f(10), 55)`, `expect(f(10)).toBe(55)`, `assertEquals(55, f(10))`)."""
    if (found := _RESULT.match(after)) is not None:
        return _literal_prefix(_plain(found["value"]))  # `returns 3 (the length)`
    if re.search(r"(?:assert_eq!|assert\.\w+|assertEquals?)\s*\(\s*$", before) and \
            (found := re.match(r"\s*,\s*(?P<rest>.*)$", after)) is not None:
        return _argument(found["rest"])
    if re.search(r"\bexpect\s*\(\s*$", before) and (found := re.match(
            r"\s*\)\s*\.\s*to(?:Be|Equal|StrictEqual)\s*\((?P<rest>.*)$", after)) is not None:
        return _argument(found["rest"])
    if (found := re.search(r"assertEquals?\s*\((?P<value>.+),\s*$", before)) is not None:
        return _argument(found["value"] + ")")
    return None


def _argument(rest: str) -> str | None:
    """The literal before the `)` that closes the call `rest` is inside of."""
    end = _closing("(" + rest, 0)
    if end is None:
        return None
    value = _pythonic(_plain(rest[:end - 1]).strip())
    return value if value and _is_literal(value) else None


def _plain(text: str) -> str:
    """Rust's spelling of a literal as Python's: `vec![1, 2]` and `&[1, 2]` as `[1, 2]`,
    `"ab".to_string()` as `"ab"`."""
    return re.sub(r"\.to_string\(\)|\.to_owned\(\)", "",
                  re.sub(r"(?:vec!|&)\s*\[", "[", text))


def _closing(line: str, opening: int) -> int | None:
    """The index of the bracket that closes the one at `opening`, strings skipped."""
    depth, quote = 0, ""
    for i in range(opening, len(line)):
        char = line[i]
        if quote:
            if char == quote and line[i - 1] != "\\":
                quote = ""
        elif char in "\"'":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth == 0:
                return i
    return None


def _literal_prefix(text: str) -> str | None:
    """The longest run of words at the start of `text` that is a literal (`3` of `3 (the
    length of "abc").`), trailing punctuation left off. None where the words after it say
    it is wrong (`returns [1] instead of [1, 2]`: a bug, not an example)."""
    words = text.split(" ")
    for count in range(len(words), 0, -1):
        value = _pythonic(" ".join(words[:count]).strip().rstrip(".,;:"))
        if value and _is_literal(value):
            rest = " ".join(words[count:]).lower()
            return None if re.match(r"\W*(?:instead|but|rather|not|wrongly)\b", rest) \
                else value
    return None


def find_function(source: str, name: str) -> ast.FunctionDef | None:
    """The definition of function (or method) `name` in Python source, if it parses."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    return next((n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == name),
                None)


# A hint's outer name, and the types of literal that can stand for it.
_HINTED = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,),
           "list": (list,), "List": (list,), "dict": (dict,), "Dict": (dict,),
           "tuple": (tuple,), "Tuple": (tuple,), "set": (set,), "Set": (set,)}


def fits_signature(source: str, function: str, call: str) -> bool:
    """Whether the literal call `f(...)` can be made of `function` in `source`: the number
    of arguments, their names, and literals against plain hints (`list[int]` takes a list).
    True where it cannot tell. (The 0.5B's asserts for `three_sum_closest(nums, target)`
    called it with three ints; drawn like them, every input raised TypeError.)"""
    node = find_function(source, function)
    try:
        parsed = ast.parse(call, mode="eval").body
        args = [ast.literal_eval(a) for a in parsed.args]
        kwargs = {k.arg: ast.literal_eval(k.value) for k in parsed.keywords}
    except (SyntaxError, ValueError, AttributeError, TypeError):
        return True
    if node is None or None in kwargs:
        return True
    spec = node.args
    params = [a for a in [*spec.posonlyargs, *spec.args] if a.arg not in ("self", "cls")]
    if len(args) > len(params) and spec.vararg is None:
        return False
    bound = dict(zip([a.arg for a in params], args, strict=False))
    names = {a.arg for a in [*params, *spec.kwonlyargs]}
    if any(k not in names or k in bound for k in kwargs) and spec.kwarg is None:
        return False
    bound.update(kwargs)
    required = [a.arg for a in params[:len(params) - len(spec.defaults)]]
    required += [a.arg for a, d in zip(spec.kwonlyargs, spec.kw_defaults, strict=True) if d is None]
    if any(name not in bound for name in required):
        return False
    hints = {a.arg: a.annotation for a in [*params, *spec.kwonlyargs] if a.annotation}
    return all(_literal_fits(bound[name], hint) for name, hint in hints.items() if name in bound)


def _literal_fits(value: object, hint: ast.expr) -> bool:
    outer = hint.value if isinstance(hint, ast.Subscript) else hint
    name = outer.id if isinstance(outer, ast.Name) else \
        outer.attr if isinstance(outer, ast.Attribute) else None
    kinds = _HINTED.get(name or "")
    if kinds is None:
        return True
    return isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)


def class_of(source: str, function: str | None) -> str | None:
    """The class that defines `function` in Python source, if any."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and any(
                isinstance(f, ast.FunctionDef) and f.name == function for f in node.body):
            return node.name
    return None


def call_target(source: str, name: str) -> str:
    """An expression for the function `name` of `source`: `name`, or `Cls().name` for a
    method (LeetCode's `class Solution`)."""
    owner = class_of(source, name)
    return f"{owner}().{name}" if owner else name


def model_checks(text: str, name: str, limit: int = 6) -> list[Example]:
    """The `assert name(...) == value` lines of a model's answer, as examples; a call the
    answer gives two different values for is dropped (one of them must be wrong)."""
    found: dict[str, str] = {}
    conflicting: set[str] = set()
    for line in text.splitlines():
        line = line.strip().rstrip(";")
        if not line.startswith("assert "):
            continue
        test = _assert_statement(line)
        if test is None:
            continue
        compare = getattr(test, "test", None)
        if not (isinstance(compare, ast.Compare) and len(compare.ops) == 1
                and isinstance(compare.ops[0], ast.Eq)):
            continue
        call, value = compare.left, compare.comparators[0]
        if isinstance(value, ast.Call) and not isinstance(call, ast.Call):
            call, value = value, call
        if not (isinstance(call, ast.Call) and ast.unparse(call.func).split(".")[-1] == name):
            continue
        arguments = [*call.args, *(k.value for k in call.keywords)]
        if not all(_is_literal(ast.unparse(a)) for a in arguments) or \
                not _is_literal(ast.unparse(value)):
            continue
        call.func = ast.Name("f")
        key, expected = ast.unparse(call), ast.unparse(value)
        if key in found and found[key] != expected:
            conflicting.add(key)
        found.setdefault(key, expected)
    cases = [Example(k, v) for k, v in found.items() if k not in conflicting]
    return cases[:limit]


def _assert_statement(line: str) -> ast.stmt | None:
    """An assert line as a statement. A small model copies LeetCode's output format into its
    asserts (`assert f([3,2,2,3], 3) == 2, nums = [2,2,_,_]`): cut at a top-level comma until
    what is left parses."""
    cuts, depth = [len(line)], 0
    for i, char in enumerate(line):
        depth += (char in "([{") - (char in ")]}")
        if char == "," and depth == 0:
            cuts.append(i)
    for cut in sorted(cuts, reverse=True):
        try:
            return ast.parse(line[:cut]).body[0]
        except (SyntaxError, IndexError, ValueError):
            continue
    return None


# CPU time one checked call may take: the examples and probes are small, so a call that takes
# longer loops forever (the 0.5B's `while n % 4 == 0: n //= 4` on n = 0).
CALL_CPU_S = 0.4
OUT_OF_TIME = "did not finish"
# Beside what a call returned, where it changed its arguments (then with what it left them
# as, where it returned None: the state is then the answer).
MUTATED = " and changed its arguments "


def mutates(shown: str) -> bool:
    return MUTATED in shown


def checker(source: str, name: str, cases: list[Example], probes: list[str] = ()) -> str:
    """A script that runs the edited file, then each example and each probe (a call with no
    expected value, `f(...)`) on function `name`, and prints what each returned, whether it
    changed its arguments, and whether each example passed."""
    target = call_target(source, name)
    calls = json.dumps([[c.call, c.expected] for c in cases] + [[p, None] for p in probes])
    # Each call has CALL_CPU_S of CPU time (a BaseException, so that the candidate's own
    # `except Exception` cannot swallow it): a call that loops forever is reported as such,
    # and the others still report what they returned.
    return (f"{source}\n\n"
            "def __vibe_ls_check():\n"
            "    import json, signal\n"
            "    class OutOfTime(BaseException):\n"
            "        pass\n"
            "    def out_of_time(*_):\n"
            "        raise OutOfTime()\n"
            "    signal.signal(signal.SIGPROF, out_of_time)\n"
            "    def shown(value):\n"
            "        if isinstance(value, float):\n"
            "            return repr(round(value, 6))\n"
            "        return repr(value)[:2000]\n"
            f"    f = {target}\n"
            "    results = []\n"
            f"    for call, expected in json.loads({calls!r}):\n"
            "        try:\n"
            "            args, kwargs = eval('(lambda *a, **k: (list(a), k))' + call[1:])\n"
            "            before = repr((args, kwargs))\n"
            f"            signal.setitimer(signal.ITIMER_PROF, {CALL_CPU_S})\n"
            "            try:\n"
            "                value = f(*args, **kwargs)\n"
            "            finally:\n"
            "                signal.setitimer(signal.ITIMER_PROF, 0)\n"
            "            ok = expected is not None and value == eval(expected)\n"
            "            after = repr((args, kwargs))\n"
            "            text = shown(value)\n"
            "            if after != before:  # where it returns None, the state is the answer\n"
            f"                text += {MUTATED!r} + (after[:2000] if value is None else '')\n"
            "            results.append([bool(ok), text])\n"
            "        except OutOfTime:\n"
            f"            results.append([False, {OUT_OF_TIME!r}])\n"
            "        except Exception as exc:\n"
            "            results.append([False, 'raised ' + type(exc).__name__])\n"
            "    print('\\n__vibe_ls__' + json.dumps(results))\n\n"
            "__vibe_ls_check()\n")


def parse_outputs(stdout: str, count: int) -> list[tuple[bool, str]]:
    """(passed, what it returned) per call, from the checker's output; all failed, if it
    never got there (the file crashed, or a limit stopped it)."""
    for line in reversed(stdout.splitlines()):
        if line.startswith("__vibe_ls__"):
            try:
                results = json.loads(line[len("__vibe_ls__"):])
            except json.JSONDecodeError:
                break
            if len(results) == count:
                return [(bool(ok), str(shown)) for ok, shown in results]
    return [(False, "did not run")] * count


def parse_results(stdout: str, count: int) -> list[bool]:
    """Which examples passed, from the checker's output (none, if it never got there)."""
    return [ok for ok, _ in parse_outputs(stdout, count)]
