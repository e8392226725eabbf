"""Does a rewrite in C, C++, Rust, Java, JavaScript or TypeScript do what the code it
replaces does? The differential test of `differential`, for the languages the harness runs.

The original file and each candidate file are built by the language's harness (one program
each: a file's includes, helpers and `main` stay as they are; built two at a time) and run
on the same inputs: the literal arguments of the file's own calls of the function (in code
or in doc-comment examples), the smallest inputs of each parameter type (an
empty vector or string, 0, a negative, one element, two equal ones), then seeded random
values of growing size drawn from the parameter types. A candidate must return the same,
leave what it may change (a C++ reference, a Rust `&mut`, a JavaScript array) as the
original leaves it, and throw (panic) where the original does. An input the original crashes
on (an index out of range: C++ vectors are built with their checks on) is skipped. The native
side has no Hypothesis: a difference is shrunk here, by running both again on smaller
inputs (an element left out, a number brought towards 0) while they still differ.
"""

from __future__ import annotations

import ast
import contextlib
import itertools
import json
import math
import random
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from vibe_ls.verify.differential import Comparison, Difference, Report
from vibe_ls.verify.harness.signatures import BOOL, FLOAT, NUMBER, STR, Param, Signature, Type

GENERATED = 160  # random inputs after the explicit ones, of sizes growing to MAX_SIZE
MAX_SIZE = 12
SHRINK_ROUNDS = 30
SHOWN = 160  # characters of a value in the message
BUILDS = 2  # programs built at once (the original's and a candidate's)


# What makes a function's result depend on the world, not its arguments, or writes to the
# output the harness answers on: its results cannot be compared run against run.
_WORLDLY = re.compile(r"\b(?:s?rand|time|clock|random_device|mt19937|cin|cout|cerr|printf|"
                      r"puts|scanf|getline|chrono|thread_rng|SystemTime|Instant|stdin|"
                      r"Math\.random|Date\.now|console\.\w+|"
                      r"System\.(?:out|in|currentTimeMillis|nanoTime)|Random)\b|"
                      r"\be?print(?:ln)?!")


def worldly(function_code: str) -> str:
    """What makes a function in C, C++, Rust, Java or JavaScript depend on more than its
    arguments (I/O, the clock, random numbers), or ""."""
    found = _WORLDLY.search(function_code)
    return found.group(0) if found else ""


@dataclass(frozen=True)
class Outcome:
    """What one call did: "returned", "raised" or "crashed"; the value returned (the
    exception's name, why it crashed) and the changeable arguments as the call left them."""

    kind: str
    value: object = None
    left: tuple = ()


def compare(language: str, original: str, candidates: list[str], function: str,
            calls: list[str]) -> Report:
    """Every candidate file against the original file, on the same inputs."""
    from vibe_ls.verify import harness

    found = harness.signature(language, original, function, void=True)
    if found is None:
        return Report([], f"the types of `{function}` are not ones the {language} harness "
                          "can make inputs for")
    given = explicit(found, calls)
    with contextlib.ExitStack() as stack:
        reference, programs = _built(stack, found, original, candidates)
        if reference.error:
            return Report([], f"the original did not build ({reference.error.splitlines()[0]})")
        raw = found
        found, guessed = typed(raw, given, reference)
        if found is None:
            return Report([], "no inputs can be made: its parameters have no types and no "
                              "examples, and the original threw on every type tried")
        inputs = given + edge_inputs(found.visible) + generated(found.visible)
        inputs = list({repr(i): i for i in inputs}.values())
        theirs = _outcomes(reference, inputs)
        if all(o.kind == "crashed" for o in theirs):
            return Report([], "the original crashed or never finished on every input made "
                              "for it")
        comparisons = [p if isinstance(p, Comparison) else replace(
            _against(reference, theirs, inputs, found, p), guessed=guessed) for p in programs]
    return Report(comparisons)


def _built(stack: contextlib.ExitStack, found: Signature, original: str,
           candidates: list[str]) -> tuple:
    """The original's program and each candidate's (or why a candidate cannot be compared),
    built BUILDS at a time (a C++ build takes seconds), closed with `stack`."""
    from vibe_ls.verify import harness

    def build(source: str, signature: Signature) -> harness.Program:
        return harness.Program(found.language, source, signature)
    with ThreadPoolExecutor(max_workers=BUILDS) as pool:
        reference = pool.submit(build, original, found)
        pending = []
        for source in candidates:
            mine = harness.signature(found.language, source, found.name, void=True)
            if mine is None or [p.type for p in mine.visible] != [
                    p.type for p in found.visible] or mine.returns != found.returns:
                pending.append(Comparison(0, Difference(
                    "the rewrite's signature", "takes and returns these types",
                    "changed them")))
            else:
                pending.append(pool.submit(build, source, mine))
    programs = [stack.enter_context(reference.result())]
    programs += [p if isinstance(p, Comparison) else stack.enter_context(p.result())
                 for p in pending]
    return programs[0], programs[1:]


# JavaScript's parameters have no types: guessed in this order, as Python's are.
GUESSES = (Type("list", NUMBER), NUMBER, STR, Type("list", STR))


def typed(found: Signature, given: list[list], reference) -> tuple[Signature | None, str]:
    """The signature with a type for each untyped parameter (JavaScript): the type of the
    file's own call values, else the first guess the original runs on without a TypeError;
    and the words for what was guessed. None where no guess fits."""
    untyped = [p.name for p in found.visible if p.type.kind == "any"]
    if not untyped:
        return found, ""
    if given:
        kinds = [_type_of(v) for v in given[0]]
        if None not in kinds:
            return _with_types(found, kinds), ""
    if len(untyped) > 2:
        return None, ""
    for kinds in itertools.product(GUESSES, repeat=len(untyped)):
        chosen = iter(kinds)
        trial = _with_types(found, [next(chosen) if p.type.kind == "any" else p.type
                                    for p in found.visible])
        outcomes = _outcomes(reference, edge_inputs(trial.visible))
        if any(o.kind == "returned" for o in outcomes) and not any(
                o.kind == "raised" and o.value == "TypeError" for o in outcomes):
            return trial, ", ".join(f"{n} as {k.python()}" for n, k in zip(untyped, kinds,
                                                                            strict=True))
    return None, ""


def _with_types(found: Signature, kinds: list[Type]) -> Signature:
    params = iter(kinds)
    return replace(found, params=tuple(replace(p, type=next(params)) if p.passing != "length"
                                       else p for p in found.params))


def _type_of(value: object) -> Type | None:
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, int):
        return NUMBER
    if isinstance(value, float):
        return FLOAT
    if isinstance(value, str):
        return STR
    if isinstance(value, list) and value:
        item = _type_of(value[0])
        return Type("list", item) if item is not None else None
    return None


def _against(reference, theirs: list[Outcome], inputs: list[list], found: Signature,
             program) -> Comparison:
    """One candidate's program against the original's outcomes (`found`: the original's
    signature, with the types guessed for untyped parameters)."""
    if program.error:
        return Comparison(0, Difference("building the rewrite", "built",
                                        f"did not build: {program.error.splitlines()[0]}"))
    outcomes = _outcomes(program, inputs)
    count = returned = 0
    for values, a, b in zip(inputs, theirs, outcomes, strict=True):
        if a.kind == "crashed":
            continue
        count += 1
        returned += a.kind == "returned"
        if (words := differs(a, b, found)) is not None:
            values, words = shrink(reference, program, found, values, words)
            return Comparison(count, Difference(call_text(found, values), *words),
                              returned=returned)
    return Comparison(count, None, returned=returned)


def _outcomes(program, inputs: list[list]) -> list[Outcome]:
    kinds = {"ok": "returned", "err": "raised", "crash": "crashed"}
    return [Outcome(kinds[tag], value, left) for tag, value, left in program.run(inputs)]


# -- comparing -----------------------------------------------------------------------------

def same(a: object, b: object) -> bool:
    """Equal, floats to 1e-9 (the harness writes them to 17 digits)."""
    if isinstance(a, float) or isinstance(b, float):
        if isinstance(a, bool) or isinstance(b, bool) or not isinstance(a, int | float) or \
                not isinstance(b, int | float):
            return False
        return a == b or (a != a and b != b) or math.isclose(a, b, rel_tol=1e-9,
                                                              abs_tol=1e-12)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def differs(a: Outcome, b: Outcome, found: Signature) -> tuple[str, str] | None:
    """How the candidate's outcome `b` differs from the original's `a`, in words, or None."""
    if a.kind != b.kind or (a.kind == "raised" and a.value != b.value) or (
            a.kind == "returned" and not same(a.value, b.value)):
        return said(a, found), said(b, found)
    if a.kind != "returned":
        return None
    from vibe_ls.verify import harness

    for param, x, y in zip(harness.changeable(found), a.left, b.left, strict=False):
        if not same(x, y):
            return (f"left {param.name} as {literal(x, param.type, found.language)}",
                    f"left it as {literal(y, param.type, found.language)}")
    return None


def said(outcome: Outcome, found: Signature) -> str:
    if outcome.kind == "returned" and found.returns.kind == "void":
        return "returned"
    if outcome.kind == "returned":
        return "returned " + literal(outcome.value, found.returns, found.language)
    if outcome.kind == "raised":
        return "panicked" if outcome.value == "panic" else f"threw {outcome.value}"
    return "did not finish" if outcome.value == "did not finish" else "crashed"


def literal(value: object, kind: Type, language: str) -> str:
    """A value as the language writes it: `{1, 2}` in C++, `vec![1, 2]` in Rust."""
    if kind.kind == "list" and isinstance(value, list | tuple):
        items = ", ".join(literal(v, kind.item, language) for v in value)
        text = {"rust": f"vec![{items}]", "javascript": f"[{items}]",
                "typescript": f"[{items}]"}.get(language, f"{{{items}}}")
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif kind.kind == "char" and isinstance(value, str):
        text = repr(value)
    elif isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
    else:
        text = json.dumps(value) if kind.kind == "any" else repr(value)
    return text if len(text) <= SHOWN else text[:SHOWN - 3] + "..."


def call_text(found: Signature, values: list) -> str:
    """`dedupe({0, 0})`; Rust's borrows with their `&`."""
    parts = []
    for param, value in zip(found.visible, values, strict=True):
        borrow = {"ref": "&", "mut": "&mut "}.get(param.passing, "") \
            if found.language == "rust" and param.type.kind == "list" else ""
        parts.append(borrow + literal(value, param.type, found.language))
    return f"{found.name}({', '.join(parts)})"


# -- inputs --------------------------------------------------------------------------------

def _fits(value: object, kind: Type) -> bool:
    from vibe_ls.verify.harness import wire

    if kind.kind == "any":
        return True  # JavaScript: any value goes (as JSON)
    try:
        wire.encode(value, kind, [])
    except (wire.Unfit, ValueError, TypeError):
        return False
    return True


def edges(kind: Type) -> list:
    """The smallest values of a type, the first the smallest of all."""
    if kind.kind == "int":
        found = [0, 1, -1, 2]
    elif kind.kind == "float":
        found = [0.0, 1.5, -2.5]
    elif kind.kind == "bool":
        found = [False, True]
    elif kind.kind == "str":
        found = ["", "a", "aa", "ab"]
    elif kind.kind == "char":
        found = ["a", "b"]
    elif kind.kind == "list":
        items = edges(kind.item)
        one = items[1] if len(items) > 1 else items[0]
        found = [[], [items[0]], [one], [one, one], [one, items[0]]]
    else:  # JavaScript without types: small numbers
        found = [0, 1, -1]
    return [v for v in found if _fits(v, kind)]


def edge_inputs(params: tuple[Param, ...]) -> list[list]:
    """Every parameter at its smallest value, then one at a time through its other small
    values, then all at their last."""
    choices = [edges(p.type) or [None] for p in params]
    first = [c[0] for c in choices]
    found = [first]
    for i, values in enumerate(choices):
        found += [[*first[:i], v, *first[i + 1:]] for v in values[1:]]
    found.append([c[-1] for c in choices])
    return found


def draw(kind: Type, size: int, rnd: random.Random) -> object:
    """A random value of a type, its lengths and magnitudes about `size` (small values: equal
    elements and ties are common)."""
    if kind.kind in ("int", "any"):
        low = max(kind.low if kind.low is not None else -size - 2, -size - 2)
        high = min(kind.high if kind.high is not None else size + 2, size + 2)
        return rnd.randint(low, high)
    if kind.kind == "float":
        return round(rnd.uniform(-size - 1, size + 1), 2)
    if kind.kind == "bool":
        return rnd.random() < 0.5
    if kind.kind == "char":
        return rnd.choice("abc")
    if kind.kind == "str":
        return "".join(rnd.choice("abc") for _ in range(rnd.randint(0, size)))
    return [draw(kind.item, max(1, size // 2) if kind.item.kind == "list" else size, rnd)
            for _ in range(rnd.randint(0, size))]


def generated(params: tuple[Param, ...], count: int = GENERATED, seed: int = 0) -> list[list]:
    """Seeded random inputs, growing from size 1 to MAX_SIZE."""
    rnd = random.Random(seed)
    return [[draw(p.type, 1 + i * MAX_SIZE // count, rnd) for p in params]
            for i in range(count)]


def explicit(found: Signature, calls: list[str]) -> list[list]:
    """The `f(...)` calls whose values fit the parameter types, as inputs."""
    from vibe_ls.verify import growth
    from vibe_ls.verify.harness import wire

    found_inputs = []
    for call in calls:
        literal_text = growth.sample_from_call(call)
        try:
            args, kwargs = ast.literal_eval(literal_text) if literal_text else (None, None)
            values = wire.arguments(found, list(args), kwargs)
        except (wire.Unfit, ValueError, TypeError, SyntaxError):
            continue
        if all(_fits(v, p.type) for v, p in zip(values, found.visible, strict=True)):
            found_inputs.append(values)
    return found_inputs


# C++'s, Rust's, Java's and JavaScript's spellings of literal values, as Python's.
_SPELLINGS = [(re.compile(r"\bvec!\s*\["), "["), (re.compile(r"&\s*(mut\s+)?"), ""),
              (re.compile(r"\bnew\s+\w+\s*\[\s*\]\s*\{"), "{"),
              (re.compile(r"\b(?:std::)?vector\s*<[^{}()]*>\s*\{"), "{"),
              (re.compile(r"\.to_string\(\)|\.to_owned\(\)|\.into\(\)"), ""),
              (re.compile(r"\bString::from\s*\(([^()]*)\)"), r"\1"),
              (re.compile(r"\btrue\b"), "True"), (re.compile(r"\bfalse\b"), "False"),
              (re.compile(r"(?<=\d)(?:[iu](?:8|16|32|64|size)|[uUlL]{1,3})\b"), "")]


def call_sites(source: str, function: str) -> list[str]:
    """The calls of `function` in `source` whose arguments are all literals, as Python's
    `f(...)`: `sum_of_squares({1, 2, 3})` (C++), `f(&vec![1, 2])` (Rust) -> `f([1, 2])`."""
    found = []
    for match in re.finditer(rf"(?<![\w.:]){re.escape(function)}\s*\(", source):
        inside = _balanced(source, match.end())
        if inside is None or len(inside) > 400:
            continue
        text = inside
        for pattern, replacement in _SPELLINGS:
            text = pattern.sub(replacement, text)
        text = text.replace("{", "[").replace("}", "]")
        try:
            values = ast.literal_eval(f"({text},)") if text.strip() else ()
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            continue
        found.append(f"f({', '.join(repr(v) for v in values)})")
    return list(dict.fromkeys(found))


def _balanced(source: str, start: int) -> str | None:
    """The text from `start` to the parenthesis that closes the one before it."""
    depth = 1
    for i in range(start, min(len(source), start + 2000)):
        depth += {"(": 1, ")": -1}.get(source[i], 0)
        if depth == 0:
            return source[start:i]
    return None


# -- shrinking -----------------------------------------------------------------------------

def smaller(value: object, kind: Type) -> list:
    """Values a step smaller than `value`: halves and elements left out of a list or string,
    a number towards 0, an element of a list made smaller."""
    if isinstance(value, bool):
        return [False] if value else []
    if isinstance(value, int) and kind.kind != "char":
        steps = [0, value // 2 if value > 0 else -(-value // 2), -value if value < 0 else None]
        return [s for s in steps if s is not None and s != value and _fits(s, kind)]
    if isinstance(value, float):
        return [v for v in (0.0, float(int(value))) if v != value]
    if kind.kind == "char" or not isinstance(value, list | str):
        return []
    half = len(value) // 2
    found = [value[:half], value[half:]] if len(value) > 1 else []
    found += [value[:i] + value[i + 1:] for i in range(len(value))]
    if isinstance(value, list) and kind.kind == "list":
        # each value made smaller everywhere it is (two equal elements stay equal), then
        # one element at a time
        distinct = {repr(x): x for x in value}.values()
        found += [[s if x == old else x for x in value] for old in distinct
                  for s in smaller(old, kind.item)]
        found += [[*value[:i], s, *value[i + 1:]] for i, x in enumerate(value)
                  for s in smaller(x, kind.item)]
    return found


def _size(values: list) -> int:
    return len(repr(values))


def shrink(reference, program, found: Signature, values: list,
           said_now: tuple[str, str]) -> tuple[list, tuple[str, str]]:
    """The smallest input found, a step at a time, on which the two still differ, and how."""
    for _ in range(SHRINK_ROUNDS):
        tries = [[*values[:i], s, *values[i + 1:]] for i, (v, p) in
                 enumerate(zip(values, found.visible, strict=True)) for s in smaller(v, p.type)]
        tries = sorted({repr(t): t for t in tries}.values(), key=_size)[:80]
        if not tries:
            break
        still = [(t, d) for t, a, b in zip(tries, _outcomes(reference, tries),
                                           _outcomes(program, tries), strict=True)
                 if a.kind != "crashed" and (d := differs(a, b, found)) is not None]
        if not still:
            break
        values, said_now = still[0]
    return values, said_now
