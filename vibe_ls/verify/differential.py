"""Does a rewrite do what the code it replaces does? A differential test, in the sandbox.

The user's function is the reference. One sandboxed script loads the original file and each
candidate file (the file with the rewrite in it) side by side and calls both functions on the
same inputs: first the explicit ones (the docstring's examples, the literal arguments of calls
in the file, the smallest input of each type), then inputs Hypothesis draws from the
signature's type hints (`strategies.from_type`), or, where a parameter has no hint, from the
types of its example values, or from a guess the original accepts (it did not raise a
TypeError on it). Each candidate must return the same (floats to 1e-9), print the same, leave
its arguments as the original leaves them, and raise the same exception type where the
original raises. Hypothesis shrinks a difference to the smallest input it can, for the
message. `database=None` and `derandomize=True`: the same inputs on every run, nothing
written anywhere.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass

from vibe_ls.verify import checks, inputs

MARK = "__vibe_ls_differ__"
CALL_CPU_S = 0.25  # CPU time per call: the inputs are small, a longer call never ends
EXAMPLES = 120  # inputs Hypothesis draws per candidate (fewer when the budget runs out)
BUDGET_S = 6.0  # seconds of drawing per candidate, after which the inputs so far count
# Calls that make a function's result depend on the world, not on its arguments: its
# output cannot be compared run against run.
_WORLDLY = re.compile(r"\b(?:open|input|random\.\w+|time\.\w+|datetime\.\w+|os\.\w+|"
                      r"subprocess\.\w+|socket\.\w+|requests\.\w+|urllib\.\w+|"
                      r"sys\.stdin\w*|uuid\.\w+|secrets\.\w+)\s*\(")


@dataclass(frozen=True)
class Difference:
    """The smallest input found on which the candidate does not do what the original does."""

    call: str  # `dedupe([0, 0])`
    original: str  # `returned [0]`
    candidate: str  # `returned [0, 0]`

    def words(self) -> str:
        return f"{self.call}: the original {self.original}, the rewrite {self.candidate}"


@dataclass(frozen=True)
class Comparison:
    """One candidate against the original."""

    inputs: int  # inputs both ran on (where the original finished)
    difference: Difference | None
    guessed: str = ""  # `xs as list[int]`: parameter types guessed, not read from hints
    returned: int = 0  # inputs the original returned on (not raised)

    @property
    def equivalent(self) -> bool:
        return self.difference is None and self.inputs > 0


@dataclass(frozen=True)
class Report:
    comparisons: list[Comparison]
    unchecked: str = ""  # why the original could not be run on inputs ("" when it was)


def worldly(function_code: str) -> str:
    """The call that makes a function depend on more than its arguments (I/O, the clock,
    random numbers), or ""."""
    found = _WORLDLY.search(function_code)
    return found.group(0).rstrip("( ") if found else ""


def call_sites(source: str, function: str) -> list[str]:
    """The calls of `function` in `source` whose arguments are all literals, as `f(...)`:
    inputs the user's own code passes it."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and _named(node.func) == function):
            continue
        values = [*node.args, *(k.value for k in node.keywords)]
        if any(k.arg is None for k in node.keywords) or any(
                isinstance(a, ast.Starred) for a in node.args):
            continue
        if all(checks._is_literal(ast.unparse(v)) for v in values):
            call = ast.Call(ast.Name("f"), node.args, node.keywords)
            found.append(ast.unparse(call))
    return list(dict.fromkeys(found))


def _named(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else ""


def script(original: str, candidates: list[str], function: str, calls: list[str],
           examples: int = EXAMPLES, budget_s: float = BUDGET_S) -> str:
    """The script that compares every candidate file with the original file."""
    spec = {"original": original, "candidates": candidates,
            "target": checks.call_target(original, function), "name": function,
            "calls": calls, "examples": examples, "budget": budget_s, "cpu": CALL_CPU_S,
            "mark": MARK}
    call = f"__vibe_ls_differ(__import__('json').loads({json.dumps(spec)!r}))"
    return f"{inputs.HYPOTHESIS_PRELUDE}{_RUNNER}\n{call}\n"


def parse(stdout: str, count: int) -> Report:
    comparisons: list[Comparison] = []
    unchecked = "the check did not finish"
    for line in stdout.splitlines():
        if not line.startswith(MARK):
            continue
        found = json.loads(line[len(MARK):])
        if "unchecked" in found:
            return Report([], found["unchecked"])
        differs = found["difference"]
        comparisons.append(Comparison(found["inputs"], Difference(**differs) if differs
                                      else None, found.get("guessed", ""),
                                      found.get("returned", 0)))
        unchecked = ""
    if len(comparisons) < count:
        return Report(comparisons, unchecked or "the check stopped before every candidate")
    return Report(comparisons)


def compare(original: str, candidates: list[str], function: str, calls: list[str],
            examples: int = EXAMPLES, budget_s: float = BUDGET_S) -> Report:
    """Every candidate file against the original file, in one sandbox run."""
    from vibe_ls.verify import sandbox

    code = script(original, candidates, function, calls, examples, budget_s)
    seconds = (budget_s + 4) * max(1, len(candidates)) + 4
    outcome = sandbox.run_python(code, limits=sandbox.Limits(
        cpu_s=seconds, wall_s=seconds + 10, memory_mb=2048))
    report = parse(outcome.stdout, len(candidates))
    if report.unchecked == "the check did not finish":
        why = outcome.reason or (outcome.stderr.strip().splitlines() or ["no output"])[-1]
        return Report(report.comparisons, f"the check did not finish ({why[:200]})")
    return report


# The script run in the sandbox. Our own code: it loads the original and the candidates as
# modules of their own, so a candidate cannot change what the original sees.
_RUNNER = r'''
def __vibe_ls_differ(spec):
    import copy, inspect, io, itertools, json, math, signal, sys, time, typing
    import contextlib
    __vibe_ls_hypothesis_in_sandbox()
    from hypothesis import HealthCheck, Phase, given, reject, settings, strategies as st

    mark, cpu = spec["mark"], spec["cpu"]

    def emit(value):
        print(mark + json.dumps(value), flush=True)

    class OutOfTime(BaseException):
        pass

    def out_of_time(*_):
        raise OutOfTime()
    signal.signal(signal.SIGPROF, out_of_time)

    def load(source, label):
        module = {"__name__": "vibe_ls_" + label}
        exec(compile(source, "<" + label + ">", "exec"), module)
        return eval(spec["target"], module)

    class Run:
        def __init__(self, kind, value, state, printed):
            self.kind, self.value, self.state, self.printed = kind, value, state, printed

    def call(f, args, kwargs):
        args, kwargs = copy.deepcopy((list(args), dict(kwargs)))
        printed = io.StringIO()
        kind, value = "returned", None
        signal.setitimer(signal.ITIMER_PROF, cpu)
        try:
            with contextlib.redirect_stdout(printed):
                value = f(*args, **kwargs)
                if inspect.isgenerator(value) or type(value).__name__ in ("map", "filter",
                                                                          "zip"):
                    value = list(itertools.islice(value, 100000))
        except OutOfTime:
            kind = "timeout"
        except RecursionError:
            kind, value = "raised", "RecursionError"
        except Exception as exc:
            kind, value = "raised", type(exc).__name__
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)
        return Run(kind, value, (args, kwargs), printed.getvalue())

    def same(a, b):
        numbers = (int, float)
        if isinstance(a, float) or isinstance(b, float):
            if isinstance(a, numbers) and isinstance(b, numbers) and not isinstance(
                    a, bool) and not isinstance(b, bool):
                return a == b or (a != a and b != b) or math.isclose(
                    a, b, rel_tol=1e-9, abs_tol=1e-12)
            return False
        if type(a) is not type(b):
            return False
        if isinstance(a, (list, tuple)):
            return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
        if isinstance(a, dict):
            return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
        try:
            return bool(a == b)
        except Exception:
            return False

    def shown(value):
        text = repr(value)
        return text if len(text) <= 160 else text[:157] + "..."

    def said(run):
        if run.kind == "timeout":
            return "did not finish within %g s of CPU" % cpu
        if run.kind == "raised":
            return "raised " + run.value
        return "returned " + shown(run.value)

    def call_text(args, kwargs):
        parts = [shown(a) for a in args] + ["%s=%s" % (k, shown(v)) for k, v in kwargs.items()]
        return spec["name"] + "(" + ", ".join(parts) + ")"

    def difference(a, b, names):
        """How run b differs from run a (the original's), or None."""
        if a.kind != b.kind or (a.kind == "raised" and a.value != b.value) or (
                a.kind == "returned" and not same(a.value, b.value)):
            return said(a), said(b)
        if a.kind != "returned":
            return None
        for i, (x, y) in enumerate(zip(a.state[0], b.state[0])):
            if not same(x, y):
                name = names[i] if i < len(names) else "argument %d" % (i + 1)
                return ("left %s as %s" % (name, shown(x)),
                        "left it as %s" % shown(y))
        for k in a.state[1]:
            if not same(a.state[1][k], b.state[1].get(k)):
                return ("left %s as %s" % (k, shown(a.state[1][k])),
                        "left it as %s" % shown(b.state[1].get(k)))
        if a.printed != b.printed:
            return "printed " + shown(a.printed), "printed " + shown(b.printed)
        return None

    original = load(spec["original"], "original")
    try:
        signature = inspect.signature(original)
    except (TypeError, ValueError):
        emit({"unchecked": "its signature cannot be read"})
        return
    params = [p for p in signature.parameters.values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    names = [p.name for p in params]

    explicit = __vibe_ls_parse_calls(spec["calls"])

    try:
        hints = typing.get_type_hints(original)
    except Exception:
        hints = {}

    def like(value):
        """A strategy for values of the type of an example value."""
        if isinstance(value, bool):
            return st.booleans()
        if isinstance(value, int):
            return st.integers(-1000, 1000)
        if isinstance(value, float):
            return st.floats(-1e6, 1e6, allow_nan=False)
        if isinstance(value, str):
            letters = sorted(set(value))
            return st.text(alphabet=st.sampled_from(letters)) if len(letters) >= 2 \
                else st.text()
        if isinstance(value, (list, tuple, set)) and value:
            inner = st.one_of(*[like(v) for v in list(value)[:3]])
            made = {list: st.lists, set: st.sets}.get(type(value))
            if made is not None:
                return made(inner, max_size=12)
            return st.tuples(*[like(v) for v in value])
        if isinstance(value, dict) and value:
            k, v = next(iter(value.items()))
            return st.dictionaries(like(k), like(v), max_size=8)
        if value is None:
            return st.none()
        return st.just(value)

    st.register_type_strategy(int, st.integers(-1000, 1000))
    GUESSES = [("list[int]", st.lists(st.integers(-20, 20), max_size=12)),
               ("int", st.integers(-50, 200)), ("str", st.text(alphabet="abcab ", max_size=12)),
               ("list[str]", st.lists(st.text(alphabet="abc", max_size=4), max_size=8)),
               ("list[list[int]]", st.lists(st.lists(st.integers(-9, 9), max_size=5),
                                            max_size=5)),
               ("float", st.floats(-100, 100, allow_nan=False)),
               ("dict[str, int]", st.dictionaries(st.text(alphabet="abc", max_size=3),
                                                  st.integers(-9, 9), max_size=6))]
    TRIALS = {"list[int]": [[], [1], [3, 1, 2, 1]], "int": [0, 1, 5], "str": ["", "a", "abca"],
              "list[str]": [[], ["a"], ["b", "a", "b"]], "list[list[int]]": [[], [[1, 2], [3, 4]]],
              "float": [0.0, 1.5], "dict[str, int]": [{}, {"a": 1, "b": 2}]}

    strategies, unknown = {}, []
    for i, p in enumerate(params):
        if p.name in hints:
            try:
                strategies[p.name] = st.from_type(hints[p.name])
                continue
            except Exception:
                pass
        values = [a[i] for a, _ in explicit if i < len(a)] + [
            k[p.name] for _, k in explicit if p.name in k]
        if values:
            strategies[p.name] = st.one_of(*[like(v) for v in values[:4]])
        elif p.default is not p.empty:
            continue  # left at its default
        else:
            unknown.append(p.name)

    def accepts(kinds):
        """The original runs on values of these guessed types (no TypeError or
        AttributeError on any, and it returns on one)."""
        ran = False
        for values in itertools.product(*[TRIALS[k] for k in kinds]):
            run = call(original, list(values), {})
            if run.kind == "raised" and run.value in ("TypeError", "AttributeError"):
                return False
            ran = ran or run.kind == "returned"
        return ran

    guessed = ""
    if unknown:
        if len(unknown) > 3:
            emit({"unchecked": "no inputs can be made: %s have no type hints and no examples"
                  % ", ".join(unknown)})
            return
        fixed = [(n, None) for n in names if n not in unknown]
        if fixed:
            emit({"unchecked": "no inputs can be made for %s (no type hint, no example)"
                  % ", ".join(unknown)})
            return
        choices = [k for k, _ in GUESSES]
        found = None
        for kinds in itertools.product(choices, repeat=len(unknown)):
            if accepts(kinds):
                found = kinds
                break
        if found is None:
            emit({"unchecked": "no inputs can be made: %s have no type hints and no examples, "
                  "and the original raised on every type tried" % ", ".join(unknown)})
            return
        table = dict(GUESSES)
        for n, k in zip(unknown, found):
            strategies[n] = table[k]
        guessed = ", ".join("%s as %s" % (n, k) for n, k in zip(unknown, found))

    given_names = [n for n in names if n in strategies]

    def smallest(value):
        if isinstance(value, bool):
            return False
        if isinstance(value, (int, float)):
            return type(value)(0)
        if isinstance(value, (str, list, tuple, dict, set)):
            return type(value)()
        return value
    budget = spec["budget"]

    def smaller(args, kwargs):
        """The inputs with one element of one list or string argument left out."""
        for place, value in [*enumerate(args), *kwargs.items()]:
            if not isinstance(value, (list, str)):
                continue
            for i in range(len(value)):
                a, k = list(args), dict(kwargs)
                if isinstance(place, int):
                    a[place] = value[:i] + value[i + 1:]
                else:
                    k[place] = value[:i] + value[i + 1:]
                yield a, k

    def shrink(candidate, args, kwargs, d, tries=300):
        """A smaller input that still differs (an explicit one is not shrunk by Hypothesis):
        elements dropped one at a time while the two still differ."""
        progress = True
        while progress and tries > 0:
            progress = False
            for a, k in smaller(args, kwargs):
                tries -= 1
                first = call(original, a, k)
                found = first.kind != "timeout" and difference(first, call(candidate, a, k),
                                                               names)
                if found:
                    args, kwargs, d, progress = a, k, found, True
                    break
                if tries <= 0:
                    break
        return args, kwargs, d

    def compare(label, candidate):
        count, returned, found = [0], [0], []
        for args, kwargs in explicit + edges:
            a, b = call(original, args, kwargs), call(candidate, args, kwargs)
            if a.kind == "timeout":
                continue
            count[0] += 1
            returned[0] += a.kind == "returned"
            d = difference(a, b, names)
            if d:
                args, kwargs, d = shrink(candidate, args, kwargs, d)
                return {"inputs": count[0], "guessed": guessed, "returned": returned[0],
                        "difference": {"call": call_text(args, kwargs), "original": d[0],
                                       "candidate": d[1]}}
        if spec["examples"] <= 0 or not given_names:
            return {"inputs": count[0], "guessed": guessed, "returned": returned[0],
                    "difference": None}
        started = time.monotonic()

        @settings(database=None, derandomize=True, max_examples=spec["examples"],
                  deadline=None, suppress_health_check=list(HealthCheck),
                  phases=(Phase.explicit, Phase.generate, Phase.shrink))
        @given(st.fixed_dictionaries({n: strategies[n] for n in given_names}))
        def same_as_original(values):
            if time.monotonic() - started > budget and not found:
                return  # out of time: the inputs so far are what was shown
            args = [values[n] for n in given_names]
            a, b = call(original, args, {}), call(candidate, args, {})
            if a.kind == "timeout":
                reject()
            d = difference(a, b, names)
            if d:
                found.append({"call": call_text(args, {}), "original": d[0],
                              "candidate": d[1]})
                raise AssertionError(d)
            if not found:
                count[0] += 1
                returned[0] += a.kind == "returned"
        try:
            same_as_original()
        except BaseException:
            if not found:
                raise
        return {"inputs": count[0], "guessed": guessed, "returned": returned[0],
                "difference": found[-1] if found else None}

    edges = []
    if given_names and not explicit:
        try:
            probe = st.fixed_dictionaries({n: strategies[n] for n in given_names})
            drawn = []

            @settings(database=None, derandomize=True, max_examples=3, deadline=None,
                      suppress_health_check=list(HealthCheck), phases=(Phase.generate,))
            @given(probe)
            def draw(values):
                drawn.append(values)
            draw()
            shape = max(drawn, key=lambda v: len(repr(v)))
            edges.append(([smallest(shape[n]) for n in given_names], {}))
        except Exception:
            pass
    # Small integers, one parameter at a time, on the first known input: a draw from the
    # examples' range mostly lands where a naive original never finishes (the 0.5B's
    # `fib(n // 2) + fib(n // 2 - 1)` agreed with a recursive fib on 20 drawn inputs, none
    # of them between 2 and 25, and was applied).
    base = (explicit + edges)[:1]
    for args, kwargs in base:
        for place, value in enumerate(args):
            if isinstance(value, int) and not isinstance(value, bool):
                for small in (-2, -1, 0, 1, 2, 3, 4, 5, 6, 7, 10, 13):
                    edges.append((args[:place] + [small] + args[place + 1:], kwargs))
    for i, source in enumerate(spec["candidates"]):
        try:
            candidate = load(source, "candidate%d" % i)
        except BaseException as exc:
            emit({"inputs": 0, "difference": {"call": "loading the rewrite",
                  "original": "loaded", "candidate": "raised " + type(exc).__name__}})
            continue
        emit(compare("candidate%d" % i, candidate))
'''
