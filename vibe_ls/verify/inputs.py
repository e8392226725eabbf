"""Inputs to tell candidate implementations apart, drawn by Hypothesis in the sandbox.

Implement runs every candidate and the brute-force reference on the same inputs and compares
what they return. Those inputs are drawn here, once per Implement, with Hypothesis
(`derandomize`: the same inputs on every run, nothing written anywhere), smallest first:

- a parameter with example values (the user's examples, the model's asserts, a sample call)
  is drawn like them and within what they show of the task's domain: integers from 1 where
  every example is at least 1 (so a modulus of 1 is tried), from 0 where none is negative;
  lists non-empty where no example is empty, their elements drawn the same way from a small
  range (ties, and lists with no even value, come up); strings from the examples' letters;
  grids rectangular where the examples are;
- a parameter with only a type hint is drawn by `strategies.from_type` (integers kept small);
- Hypothesis tries the simplest input first (the lower bounds, the shortest lists).

`edge_calls` is the smallest input of the shape of a sample (numbers 0, collections empty),
possibly outside the task: there only never returning counts against a candidate.
"""

from __future__ import annotations

import ast
import json
import logging

log = logging.getLogger(__name__)

MARK = "__vibe_ls_inputs__"
DRAWN = 24  # inputs drawn per Implement (fewer where Hypothesis finds fewer distinct ones)


def call_text(args: list, kwargs: dict) -> str:
    """`f(1, [2], k=3)`: a call of the function under test, as source text."""
    parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    return f"f({', '.join(parts)})"


def _smallest(value: object) -> object:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return type(value)(0)
    if isinstance(value, (str, list, tuple, dict, set)):
        return type(value)()
    return value


def edge_calls(sample: str) -> list[str]:
    """The smallest input shaped like `sample` (a `([args], {kwargs})` literal: numbers 0,
    collections empty), as `f(...)` source text, unless that is the sample. A right answer
    may raise there (the task may not define it), but one that never returns is wrong. (-1 is
    left out: a loop that is right for the task's n >= 1 may never end on it.)"""
    try:
        args, kwargs = ast.literal_eval(sample)
        edge_args = [_smallest(a) for a in args]
        edge_kwargs = {k: _smallest(v) for k, v in kwargs.items()}
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return []
    if (edge_args, edge_kwargs) == (list(args), kwargs):
        return []
    return [call_text(edge_args, edge_kwargs)]


def script(source: str | None, target: str, calls: list[str], count: int = DRAWN,
           rules: dict | None = None) -> str:
    """The sandboxed script that draws `count` inputs. `source`: the file whose function
    (`target`, an expression) gives parameter names and type hints; None where the function
    is not Python (then only the example `calls` say what the inputs look like). `rules`:
    what the task states of its inputs (`limits.rules`), kept to where every example does."""
    spec = {"source": source, "target": target, "calls": calls, "count": count,
            "mark": MARK, "rules": rules or {}}
    call = f"__vibe_ls_draw(__import__('json').loads({json.dumps(spec)!r}))"
    return f"{HYPOTHESIS_PRELUDE}{_RUNNER}\n{call}\n"


def parse(stdout: str) -> list[str]:
    for line in stdout.splitlines():
        if line.startswith(MARK):
            try:
                found = json.loads(line[len(MARK):])
            except json.JSONDecodeError:
                return []
            return [c for c in found if isinstance(c, str) and _literal_call(c)]
    return []


def _literal_call(text: str) -> bool:
    try:
        node = ast.parse(text, mode="eval").body
        if not isinstance(node, ast.Call):
            return False
        for value in [*node.args, *(k.value for k in node.keywords)]:
            ast.literal_eval(value)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def draw(source: str | None, target: str, calls: list[str], count: int = DRAWN,
         rules: dict | None = None) -> list[str]:
    """`count` or fewer distinct `f(...)` calls, smallest first (none where nothing tells
    what the inputs look like, or the sandbox could not run the draw), within `rules`."""
    from vibe_ls.verify import sandbox

    if not calls and source is None:
        return []
    outcome = sandbox.run_python(script(source, target, calls, count, rules),
                                 limits=sandbox.Limits(cpu_s=8, wall_s=15, memory_mb=2048))
    drawn = parse(outcome.stdout)
    if not drawn:
        log.info("no inputs drawn: %s", (outcome.stderr or outcome.reason)[-400:])
    known = set(calls)
    return [c for c in drawn if c not in known]


# Before Hypothesis is imported in a sandboxed script: it checks with gc.get_referrers that
# its own PRNG is referenced; the sandbox's tripwire blocks that call (model code has no
# business walking the heap), so Hypothesis is told of a referrer instead. Nothing else of
# gc is touched. Also the parser of `f(...)` call texts both sandboxed scripts read.
HYPOTHESIS_PRELUDE = r'''
def __vibe_ls_hypothesis_in_sandbox():
    import gc
    import hypothesis.internal.entropy as entropy

    class _Gc:
        collect = staticmethod(gc.collect)

        @staticmethod
        def get_referrers(*objects):
            return list(objects)
    entropy.gc = _Gc


def __vibe_ls_parse_calls(texts):
    """The `f(...)` call texts that parse, as ([args], {kwargs})."""
    calls = []
    for text in texts:
        try:
            calls.append(eval("(lambda *a, **k: (list(a), k))" + text[1:], {}))
        except Exception:
            pass
    return calls
'''


# The script run in the sandbox: our own code (it loads the file only to read the function's
# signature and hints).
_RUNNER = r'''
def __vibe_ls_draw(spec):
    import inspect, json, typing
    __vibe_ls_hypothesis_in_sandbox()
    from hypothesis import HealthCheck, Phase, given, settings, strategies as st

    calls = __vibe_ls_parse_calls(spec["calls"])

    names, hints, defaults = None, {}, {}
    if spec["source"] is not None:
        module = {"__name__": "vibe_ls_inputs"}
        try:
            exec(compile(spec["source"], "<file>", "exec"), module)
            function = eval(spec["target"], module)
            params = [p for p in inspect.signature(function).parameters.values()
                      if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
            names = [p.name for p in params]
            defaults = {p.name for p in params if p.default is not p.empty}
            try:
                hints = typing.get_type_hints(function)
            except Exception:
                hints = {}
        except BaseException:
            names = None

    # the slots of a call: parameter names where known, else the longest example's shape
    if names is not None:
        keys = names
    else:
        template = max(calls, key=lambda c: len(c[0]) + len(c[1]), default=([], {}))
        keys = list(range(len(template[0]))) + list(template[1])
    pools = {k: [] for k in keys}
    for args, kwargs in calls:
        for i, v in enumerate(args):
            key = names[i] if names is not None and i < len(names) else i
            if key in pools:
                pools[key].append(v)
        for k, v in kwargs.items():
            if k in pools:
                pools[k].append(v)

    def ints(values, element):
        """A scalar (a size, a k, a modulus) small, from 1 where every example is at least
        1; list elements from a wider range, so that ties the task may rule out (\"exactly
        one solution\") are rare, yet still from 0 or 1 where the examples are."""
        low, high = min(values), max(values)
        if element and low >= 0 and high <= 1:
            return st.integers(low, 1)  # 0/1 arrays stay 0/1
        hi = min(max(100, 2 * high) if element else max(12, 2 * high), 1000)
        lo = 1 if low >= 1 else 0 if low >= 0 else max(-1000, min(-10, 2 * low, -hi))
        return st.integers(lo, max(hi, lo))

    def like(values, element=False):
        """A strategy for values like these (all of one parameter, or all elements)."""
        kinds = {type(v) for v in values}
        if len(kinds) > 1:
            if kinds <= {int, float}:
                return like([float(v) for v in values], element)
            return st.one_of(*[like([v for v in values if type(v) is k], element)
                               for k in sorted(kinds, key=lambda k: k.__name__)])
        kind = kinds.pop()
        if kind is bool:
            return st.booleans()
        if kind is int:
            return ints(values, element)
        if kind is float:
            low, high = min(values), max(values)
            lo = 0.0 if low >= 0 else max(-1000.0, min(-10.0, 2 * low))
            return st.floats(lo, min(max(10.0, 2 * high), 1000.0), allow_nan=False)
        if kind is str:
            letters = sorted(set("".join(values)))
            if len(letters) < 2:
                letters = sorted(set(letters) | set("ab"))
            low = 1 if all(values) else 0
            longest = max(8, min(12, max(len(v) for v in values)))
            wide = st.text(alphabet=st.sampled_from(letters), min_size=low, max_size=longest)
            if len(letters) <= len(few):
                return wide
            # Half the strings from the same two or three letters, in every parameter:
            # drawn from a dozen, two strings rarely share a letter, let alone repeat one
            # (`count_characters`: may "tt" be made from "t"? — no draw asked, and a
            # candidate and a reference both ignoring the counts were called verified).
            return st.one_of(wide, st.text(alphabet=st.sampled_from(few), min_size=low,
                                           max_size=longest))
        if kind in (list, tuple):
            low = 1 if all(values) else 0
            elements = [x for v in values for x in v]
            if not elements:
                return st.just(kind())
            first = [x for x in elements if isinstance(x, list)]
            widths = {len(row) for row in first}
            if len(first) == len(elements) and len(widths) == 1 and not all(
                    len(v) == len(v[0]) for v in values):
                # rows of one width (pairs, triples: `[id, score]`) keep it, columns typed
                # apart (an id is drawn like the ids, a score like the scores)
                width = widths.pop()
                columns = [like([row[i] for row in first], True) for i in range(width)]
                made = st.lists(st.tuples(*columns).map(list), min_size=low, max_size=8)
            elif len(first) == len(elements) and all(
                    len(v) > 1 and len({len(row) for row in v}) == 1 for v in values):
                cell = like([x for row in elements for x in row] or [0], True)
                square = all(len(v) == len(v[0]) for v in values)  # an n x n grid
                made = st.integers(max(low, 1), 4).flatmap(
                    lambda rows: (st.just(rows) if square else st.integers(1, 4)).flatmap(
                        lambda cols: st.lists(st.lists(cell, min_size=cols, max_size=cols),
                                              min_size=rows, max_size=rows)))
            else:
                made = st.lists(like(elements, True), min_size=low, max_size=8)
            return made.map(tuple) if kind is tuple else made
        if kind is dict:
            if not any(values):
                return st.just({})
            return st.dictionaries(like([k for v in values for k in v], True),
                                   like([x for v in values for x in v.values()], True),
                                   max_size=6)
        if values[0] is None:
            return st.none()
        return st.sampled_from(values)

    def strings(value):
        if isinstance(value, str):
            yield value
        elif isinstance(value, (list, tuple)):
            for v in value:
                yield from strings(v)
        elif isinstance(value, dict):
            for k, v in value.items():
                yield from strings(k)
                yield from strings(v)

    # the letters most used in the examples' strings, shared by every string drawn narrow
    counts = {}
    for pool in pools.values():
        for text in strings(pool):
            for ch in text:
                counts[ch] = counts.get(ch, 0) + 1
    few = sorted(sorted(counts, key=lambda ch: (-counts[ch], ch))[:3])

    st.register_type_strategy(int, st.integers(-20, 50))
    strategies = {}
    for key in keys:
        try:
            if pools[key]:
                strategies[key] = like(pools[key])
            elif key in hints:
                strategies[key] = st.from_type(hints[key])
            elif key in defaults:
                continue
            else:
                strategies = None
                break
        except Exception:
            strategies = None
            break
    if not strategies:
        print(spec["mark"] + "[]", flush=True)
        return

    # What the task states of its inputs (`0 <= low <= high`, `1 <= nums.length`): a drawn
    # input outside it is no test (`count_odds(4, 1)`: a formula returned -1, a loop 0, and
    # the right formula lost to the loop). A rule an example breaks was misread: dropped.
    def number(v):
        return isinstance(v, (int, float)) and not isinstance(v, bool)

    def keeps(values, rule):
        kind, a, b = rule
        if kind == "order":
            x, y = values.get(a[0]), values.get(a[1])
            return not (number(x) and number(y)) or (x < y if a[2] else x <= y)
        v = values.get(a)
        if kind == "length":
            if not isinstance(v, (list, tuple, str)):
                return True
            v = len(v)
        elif not number(v):
            return True
        return (b[0] is None or v >= b[0]) and (b[1] is None or v <= b[1])

    stated = spec.get("rules") or {}
    checks = ([("order", o, None) for o in stated.get("order", [])]
              + [("range", k, v) for k, v in stated.get("range", {}).items()]
              + [("length", k, v) for k, v in stated.get("length", {}).items()])
    examples = []
    for args, kwargs in calls:
        values = dict(kwargs)
        for i, v in enumerate(args):
            if names is not None and i < len(names):
                values[names[i]] = v
        examples.append(values)
    checks = [c for c in checks if all(keeps(e, c) for e in examples)]

    def shown(args, kwargs):
        parts = [repr(a) for a in args] + ["%s=%r" % (k, v) for k, v in kwargs.items()]
        return "f(" + ", ".join(parts) + ")"

    drawn = {}

    @settings(database=None, derandomize=True, max_examples=spec["count"] * 3, deadline=None,
              suppress_health_check=list(HealthCheck), phases=(Phase.generate,))
    @given(st.fixed_dictionaries(strategies).filter(
        lambda values: all(keeps(values, c) for c in checks)))
    def collect(values):
        if len(drawn) >= spec["count"]:
            return
        args, kwargs = [], {}
        for k in keys:
            if k not in values:
                continue
            if isinstance(k, int) or (names is not None and not kwargs and
                                      len(args) == keys.index(k)):
                args.append(values[k])
            else:
                kwargs[k] = values[k]
        text = shown(args, kwargs)
        if len(text) <= 400:
            drawn.setdefault(text, len(drawn))
    try:
        collect()
    except Exception:
        pass
    ordered = sorted(drawn, key=lambda t: (len(t), drawn[t]))
    print(spec["mark"] + json.dumps(ordered), flush=True)
'''
