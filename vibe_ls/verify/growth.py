"""Measuring how a candidate's running time grows, and judging its `Time: O(…)` claim.

Inputs of growing size are grown from a sample call (a docstring example, a model-written
check, or one made up from the type hints): every list and string in it gets n elements, and
when there is none every integer becomes n. The candidate is timed at n = 2^k until a time
budget, inside the sandbox; the slope of log(time) over log(n) on the largest sizes is the
measured exponent. A claim is turned into the exponent it predicts over the same sizes (so
`n log n` predicts ~1.1 there, not 1), and the two are compared.

Big-O bounds the worst case, random inputs show the typical one: a claim measured to grow
clearly *faster* than stated is false and gets corrected (or flagged when no class fits);
one that grows slower is left as stated, with the measurement beside it.
"""

from __future__ import annotations

import ast
import json
import math
import re
import statistics
from dataclasses import dataclass

from vibe_ls.verify.checks import find_function

MIN_SECONDS = 2e-5  # per call; below this, interpreter overhead hides the growth


def too_fast(floor: float) -> str:
    return f"under {floor * 1e6:g} µs per call" if floor >= 1e-6 else \
        f"under {floor * 1e9:g} ns per call"


TOO_FAST = too_fast(MIN_SECONDS)
AGREE = 0.35  # |measured - claimed| exponents that still agree
FIT = 0.3  # how close the nearest class must be to replace a false claim
EXPONENTIAL = 6.0  # a fitted exponent above this is no polynomial a claim would state
CLASSES = ("O(1)", "O(log n)", "O(n)", "O(n log n)", "O(n^2)", "O(n^2 log n)", "O(n^3)",
           "O(2^n)")
# Variables that stand for the size of an input here (all inputs grow together).
SIZE_NAMES = {"n", "m", "l", "s", "t", "len", "length", "size", "N", "M", "L", "r", "c",
              "rows", "cols", "w", "h"}


@dataclass(frozen=True)
class Growth:
    sizes: tuple[int, ...]
    seconds: tuple[float, ...]  # per call, the best of a few runs
    error: str = ""  # why it stopped early (an exception at some size), if it did
    floor: float = MIN_SECONDS  # per call; faster calls are too quick to tell growth from
    tolerance: float = AGREE  # how far above a claim's exponent the measurement may still be

    def _fitted(self) -> list[tuple[int, float]]:
        """The largest sizes timed above the floor, at most 5, in a row (a slow first call,
        before a JIT or the caches warm up, is not part of the curve)."""
        points: list[tuple[int, float]] = []
        for n, t in reversed(list(zip(self.sizes, self.seconds, strict=True))):
            if t < self.floor or len(points) == 5:
                break
            points.append((n, t))
        return points[::-1]

    @property
    def exponent(self) -> float | None:
        """The fitted slope on the largest sizes; 0 when even the largest are too fast to
        tell; None with too few points."""
        points = self._fitted()
        if not points and len(self.sizes) >= 3 and self.sizes[-1] >= 1024:
            return 0.0
        if len(points) == 2 and points[1][1] > 1000 * points[0][1]:
            pass  # it exploded on one doubling: two points say enough
        elif len(points) < 3 or points[-1][0] < 4 * points[0][0]:
            return None
        # The median of the pairwise slopes (Theil-Sen), not least squares: timing noise comes
        # as one-sided spikes, and one slow size (a preempted run, a cache spill) moved a
        # least-squares fit of linear Rust code on a CI VM from n^1.05 to n^1.36.
        logs = [(math.log(n), math.log(t)) for n, t in points]
        slopes = [(y2 - y1) / (x2 - x1) for i, (x1, y1) in enumerate(logs)
                  for x2, y2 in logs[i + 1:]]
        return max(statistics.median(slopes), 0.0)

    @property
    def span(self) -> tuple[int, int]:
        """The sizes the exponent was fitted on."""
        fitted = [n for n, _ in self._fitted()]
        if len(fitted) < 3:
            fitted = list(self.sizes[-5:])
        return fitted[0], fitted[-1]

    def describe(self) -> str:
        exponent = self.exponent
        if exponent is None:
            return ""
        if exponent > EXPONENTIAL:
            ratio = self.seconds[-1] / self.seconds[-2]
            return (f"measured exponential: {ratio:.0f} times slower from "
                    f"n={self.sizes[-2]} to n={self.sizes[-1]}")
        if exponent == 0.0 and all(t < self.floor for t in self.seconds):
            return f"measured {too_fast(self.floor)} up to n={self.sizes[-1]}"
        return f"measured ≈ n^{exponent:.2f}"


@dataclass(frozen=True)
class Judgement:
    claimed: str  # the model's claim, e.g. "O(n)"
    time: str  # what the note states: the claim, or its correction
    measured: str  # "measured ≈ n^1.98", or ""
    verdict: str  # "agrees", "corrected", "doubtful", "slower than claimed" is never one:
    #               "agrees" / "corrected" / "doubtful" / "loose" / "not comparable" / ""

    @property
    def note(self) -> str:
        """What goes in brackets after the time in the note."""
        if not self.measured:
            return ""
        if self.verdict == "corrected":
            return f"{self.measured}; the model claimed {self.claimed}"
        if self.verdict == "doubtful":
            return f"{self.measured}, which disagrees with this claim"
        return self.measured


# -- claims ---------------------------------------------------------------------------

_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d+)?)|([A-Za-z_]\w*)|(\*\*|[-+*/^()!]))")


def _expression(big_o: str) -> str | None:
    """`O(n log n)` -> `n*log2(n)`, with every size variable as `n`; None when the claim
    names something that does not grow with the inputs (`O(k)`, `O(V + E)`)."""
    inner = big_o.strip()
    if inner.startswith("O(") and inner.endswith(")"):
        inner = inner[2:-1]
    out: list[str] = []
    pos, prev = 0, ""  # prev: "operand" when the last token ends an operand
    pending_func: list[str] = []
    while pos < len(inner):
        m = _TOKEN.match(inner, pos)
        if m is None:
            if inner[pos:].strip():
                return None
            break
        pos = m.end()
        number, name, op = m.groups()
        if number or name:
            if prev == "operand" and not pending_func:
                out.append("*")
            if name in ("log", "sqrt"):
                pending_func.append(name)
                prev = ""
                continue
            if name is not None and name not in SIZE_NAMES:
                return None
            atom = number or "n"
            while pending_func:
                atom = f"{'log2' if pending_func.pop() == 'log' else 'sqrt'}({atom})"
            out.append(atom)
            prev = "operand"
        elif op == "(":
            if prev == "operand":
                out.append("*")
            out.append("(")
            prev = ""
        elif op == "!":
            out.append("**50")  # n! grows like an exponential: treat it as one
            prev = "operand"
        else:
            if op == ")" and pending_func:
                return None
            out.append({"^": "**"}.get(op, op))
            prev = "operand" if op == ")" else ""
    if pending_func or not out:
        return None
    return "".join(out)


def predicted_exponent(big_o: str, low: int, high: int) -> float | None:
    """The slope a claim predicts between sizes `low` and `high` (inf: exponential)."""
    expression = _expression(big_o)
    if expression is None:
        return None
    scope = {"log2": lambda x: math.log2(max(x, 2)), "sqrt": math.sqrt, "__builtins__": {}}
    try:
        at_low = eval(expression, scope, {"n": float(low)})  # built from the tokens above
        at_high = eval(expression, scope, {"n": float(high)})
    except OverflowError:
        return math.inf
    except (ArithmeticError, SyntaxError, TypeError, ValueError):
        return None
    if not (isinstance(at_low, float | int) and isinstance(at_high, float | int)):
        return None
    if math.isinf(at_high) or at_high > 1e300:
        return math.inf
    if at_low <= 0 or at_high <= 0:
        return None
    return max(math.log(at_high / at_low) / math.log(high / low), 0.0)


# A sort call in C, C++, Java, JavaScript, Go, Rust or Python.
_SORT_CALL = re.compile(r"\bsort(?:ed)?\s*\(|\.sort\w*\s*\(|::sort\w*\s*\(|\bsort\.\w+\s*\(")
SORT_CEILING = 1.75  # a sort's n log n, with its memory effects, measured below this


def sorts(code: str) -> bool:
    """The code sorts: a superlinear measurement below n^1.75 is then its n log n."""
    return bool(_SORT_CALL.search(code))


def judge(claimed: str, growth: Growth | None, sorting: bool = False) -> Judgement:
    """The claim checked against the measurement: kept, corrected, or flagged. Where the
    code is `sorting`, growth between n and n^1.75 is taken as n log n: sorting random integers
    in Python measured n^1.43 (memory, not comparisons), which no class fits."""
    measured = growth.describe() if growth else ""
    exponent = growth.exponent if growth else None
    if exponent is None or not measured:
        return Judgement(claimed, claimed, "", "")
    low, high = growth.span
    predicted = predicted_exponent(claimed, low, high) if claimed not in ("", "?") else None
    if predicted is None:
        nearest = _nearest_class(exponent, low, high, growth.tolerance)
        if claimed in ("", "?") and nearest:
            return Judgement(claimed, nearest, measured, "corrected")
        return Judgement(claimed, claimed, measured, "not comparable")
    if exponent <= predicted + growth.tolerance:
        loose = exponent < predicted - 2 * AGREE and not math.isinf(predicted)
        return Judgement(claimed, claimed, measured, "loose" if loose else "agrees")
    nearest = _nearest_class(exponent, low, high, growth.tolerance)
    if nearest:
        return Judgement(claimed, nearest, measured, "corrected")
    n_log_n = predicted_exponent("O(n log n)", low, high) or 1.0
    if sorting and 1.0 < exponent < SORT_CEILING:
        if predicted >= n_log_n - 1e-9:
            return Judgement(claimed, claimed, measured, "agrees")
        return Judgement(claimed, "O(n log n)", measured, "corrected")
    return Judgement(claimed, claimed, measured, "doubtful")


def _nearest_class(exponent: float, low: int, high: int,
                   tolerance: float = AGREE) -> str | None:
    if exponent > EXPONENTIAL:
        return "O(2^n)"
    # Over the sizes timed, a log factor adds only 0.1-0.2 to the exponent, less than timing
    # noise: quadratic loops measured n^2.20 on one machine (caches, a busy core). So a plain
    # power that fits wins, and a log class only where none does.
    fits = [(abs(p - exponent), c) for c in CLASSES
            if (p := predicted_exponent(c, low, high)) is not None and not math.isinf(p)]
    limit = max(FIT, tolerance - 0.05)  # a noisier measurement may sit further from its class
    for group in ([f for f in fits if "log" not in f[1]], fits):
        distance, best = min(group)
        if distance <= limit:
            return best
    return None


# -- sample inputs -----------------------------------------------------------------------

def sample_from_call(call: str) -> str | None:
    """`f([1, 2], t=3)` -> the literal `([[1, 2]], {'t': 3})`, or None."""
    try:
        node = ast.parse(call, mode="eval").body
    except SyntaxError:
        return None
    if not isinstance(node, ast.Call):
        return None
    try:
        args = [ast.literal_eval(a) for a in node.args]
        kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords if k.arg}
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    return repr((args, kwargs))


_ANNOTATION_SAMPLES = {"int": 5, "float": 2.5, "str": "abc", "bool": True}


def _sample_for(annotation: ast.expr | None) -> object:
    if annotation is None:
        raise ValueError("no annotation")
    text = ast.unparse(annotation).replace("typing.", "").replace(" ", "")
    text = re.sub(r"^Optional\[(.*)\]$", r"\1", text)
    if text in _ANNOTATION_SAMPLES:
        return _ANNOTATION_SAMPLES[text]
    inner = re.fullmatch(r"(?:[Ll]ist|Sequence|Iterable)\[(.*)\]", text)
    if inner:
        element = ast.parse(inner.group(1), mode="eval").body
        value = _sample_for(element)
        if isinstance(value, int) and not isinstance(value, bool):
            return [2, -1, 3]  # distinct, with a negative: grown lists span [-n, n]
        return [value, value, value]
    raise ValueError(f"cannot make up a {text}")


def sample_from_signature(source: str, function: str) -> str | None:
    """A sample call made up from the type hints of `function` in `source`, or None."""
    node = find_function(source, function)
    if node is None:
        return None
    params = [a for a in node.args.args if a.arg not in ("self", "cls")]
    try:
        return repr(([_sample_for(a.annotation) for a in params], {}))
    except (ValueError, SyntaxError):
        return None


def pick_sample(source: str, function: str, calls: list[str],
                weak_calls: list[str] = ()) -> str | None:
    """The sample to grow inputs from: the largest of `calls` (the user's examples), else one
    made up from the type hints, else the largest of `weak_calls` (model-written)."""
    mine = [s for c in calls if (s := sample_from_call(c))]
    theirs = [s for c in weak_calls if (s := sample_from_call(c))]
    return (max(mine, key=len) if mine else None) or sample_from_signature(
        source, function) or (max(theirs, key=len) if theirs else None)


# -- the timing script ---------------------------------------------------------------------

MARK = "__vibe_ls_growth__"

# Growing a sample input to size n, for timing (also run by the native harness).
GROW = r'''
import random as __vibe_ls_random, string as __vibe_ls_string


def __vibe_ls_has_sequences(values):
    return any(isinstance(v, (list, str)) for v in values)


def __vibe_ls_grow(v, n, rnd, has_sequences):
    if isinstance(v, bool) or v is None or isinstance(v, float):
        return v
    if isinstance(v, int):  # alone, the largest prime up to n: a power of two is even, and
        return v if has_sequences else __vibe_ls_prime_below(n)  # trial division stops at 2
    if isinstance(v, str):
        alphabet = sorted(set(v)) or list(__vibe_ls_string.ascii_lowercase)
        return "".join(rnd.choice(alphabet) for _ in range(n))
    if isinstance(v, list):
        if not v:
            return [rnd.randint(-n, n) for _ in range(n)]
        first = v[0]
        if isinstance(first, list) and len(v) == len(first) and len(v) > 1:
            side = max(2, int(n ** 0.5))  # a square grid: n cells
            cells = [x for row in v for x in row]
            return [[__vibe_ls_scalar(cells, rnd, n) for _ in range(side)]
                    for _ in range(side)]
        if isinstance(first, (list, str)):
            return [__vibe_ls_grow(rnd.choice(v), len(rnd.choice(v)), rnd, True)
                    for _ in range(n)]
        return [__vibe_ls_scalar(v, rnd, n) for _ in range(n)]
    return v


def __vibe_ls_prime_below(n):
    def prime(p):
        return p > 1 and all(p % d for d in range(2, int(p ** 0.5) + 1))
    return next((p for p in range(n, 1, -1) if prime(p)), n)


def __vibe_ls_scalar(pool, rnd, n):
    ints = [p for p in pool if isinstance(p, int) and not isinstance(p, bool)]
    if len(ints) < len(pool):
        return rnd.choice(pool)
    low, high = min(ints), max(ints)
    if high - low <= 1:  # 0/1 arrays stay 0/1
        return rnd.randint(low, high)
    return rnd.randint(-n if low < 0 else 0, max(n, high))


def __vibe_ls_grown(sample, n, seed):
    args, kwargs = sample
    values = list(args) + list(kwargs.values())
    has = __vibe_ls_has_sequences(values)
    rnd = __vibe_ls_random.Random(seed)
    ints = [abs(v) for v in values if isinstance(v, int) and not isinstance(v, bool)]
    if not has and len(ints) > 1 and max(ints) > 0:
        # Several numbers and nothing else (`count_odds(low=3, high=7)`): each grows in
        # proportion, the largest to n, so that the range between them grows too (all the
        # same prime, the loop from low to high ran once and read as O(1)).
        top, big = max(ints), __vibe_ls_prime_below(n)

        def grow(v):
            if isinstance(v, int) and not isinstance(v, bool):
                return big if v == top else -big if v == -top else v * big // top
            return __vibe_ls_grow(v, n, rnd, has)
    else:
        def grow(v):
            return __vibe_ls_grow(v, n, rnd, has)
    return [grow(v) for v in args], {k: grow(v) for k, v in kwargs.items()}
'''

_SCRIPT = r'''
def __vibe_ls_growth(f, sample, budget_s, per_call_cap_s):
    import gc, json, pickle, time
    args, kwargs = sample
    has_sequences = __vibe_ls_has_sequences(list(args) + list(kwargs.values()))

    def size(a, k):
        return sum(len(x) if isinstance(x, (list, str)) else (x if isinstance(x, int)
                   and not isinstance(x, bool) else 0) for x in list(a) + list(k.values()))

    start, last_size, fitted, previous = time.perf_counter(), -1, 0, None
    for power in range(4, 18 if has_sequences else 21):
        n = 2 ** power
        a, k = __vibe_ls_grown(sample, n, power)
        grown = size(a, k)
        if grown <= last_size:
            print("__MARK__" + json.dumps({"error": "the inputs do not grow"}), flush=True)
            return
        last_size = grown
        frozen = pickle.dumps((a, k))
        best, calls = float("inf"), 1
        gc.disable()
        try:
            for _ in range(3):
                copies = [pickle.loads(frozen) for _ in range(calls)]
                ca = ck = None  # the last batch's input is freed here, not while timed
                t0 = time.perf_counter()
                for ca, ck in copies:
                    f(*ca, **ck)
                elapsed = time.perf_counter() - t0
                best = min(best, elapsed / calls)
                if elapsed < 0.002:  # too quick to time: more calls, within memory
                    calls = min(calls * 4, 4096, max(1, 2_000_000 // max(grown, 1)))
                if elapsed > per_call_cap_s:
                    break
        except RecursionError:
            print("__MARK__" + json.dumps({"error": f"recursion too deep at n={n}"}), flush=True)
            return
        except Exception as exc:
            print("__MARK__" + json.dumps({"error": f"{type(exc).__name__} at n={n}"}),
                  flush=True)
            return
        finally:
            gc.enable()
        print("__MARK__" + json.dumps({"n": n, "s": best}), flush=True)
        fitted += best >= __MIN__
        if best > per_call_cap_s or time.perf_counter() - start > budget_s or fitted >= 5:
            return
        if previous and best * (best / previous) > 4 * per_call_cap_s:
            return  # the next size would take far too long at this rate
        previous = best
'''.replace("__MARK__", MARK).replace("__MIN__", repr(MIN_SECONDS))


def script(source: str, target: str, sample: str, budget_s: float = 2.0,
           per_call_cap_s: float = 0.25) -> str:
    """A script that times `target` (an expression naming the function in `source`)."""
    return (f"{source}\n\n{GROW}\n{_SCRIPT}\n"
            f"__vibe_ls_growth({target}, {sample}, {budget_s!r}, {per_call_cap_s!r})\n")


def parse(stdout: str) -> Growth | None:
    """The measurements the script printed (all it got to before any limit stopped it)."""
    sizes: list[int] = []
    seconds: list[float] = []
    error = ""
    for line in stdout.splitlines():
        if not line.startswith(MARK):
            continue
        try:
            point = json.loads(line[len(MARK):])
        except json.JSONDecodeError:
            continue
        if "error" in point:
            error = str(point["error"])
        else:
            sizes.append(int(point["n"]))
            seconds.append(float(point["s"]))
    if not sizes:
        return None
    return Growth(tuple(sizes), tuple(seconds), error)


def measure(source: str, target: str, sample: str, budget_s: float = 2.0) -> Growth | None:
    """Time `target` in the sandbox on inputs grown from `sample` (None: nothing measured)."""
    from vibe_ls.verify import sandbox

    code = script(source, target, sample, budget_s)
    outcome = sandbox.run_python(code, limits=sandbox.Limits(
        cpu_s=budget_s + 3, wall_s=budget_s + 5, memory_mb=2048))
    growth = parse(outcome.stdout)
    if growth is not None and outcome.reason and not growth.error:
        growth = Growth(growth.sizes, growth.seconds, outcome.reason)
    return growth
