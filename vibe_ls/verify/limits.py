"""The limits a task states (`Constraints: 0 <= low <= high <= 10^9`, `1 <= nums.length <=
10^5`), and whether code measured on small inputs would still answer at them.

A loop from `low` to `high` is right on every drawn input and every example, yet takes
about 8 s a call at `high = 10^9`: the 0.5B's `count_odds` was called verified and timed
out on the hidden tests. The measured growth, carried to the stated limit, says so first.
"""

from __future__ import annotations

import ast
import operator
import re
from dataclasses import dataclass

from vibe_ls.verify import growth

TOO_SLOW_S = 2.0  # a call predicted to take longer than this at the stated limit: a judge
# allows about this for all of its tests together

_LENGTH = re.compile(r"^(?:len\((\w+)\)|(\w+)\.(?:length|size\(\)|len\(\)))$")
_SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")
_OPERATORS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
              ast.Pow: operator.pow}


@dataclass(frozen=True)
class Bound:
    name: str  # `high`, or the sequence whose length it bounds (`nums`)
    high: int
    text: str  # as stated: `10^9`
    length: bool  # bounds a length (`nums.length`), not a value


def _number(text: str) -> int | None:
    """`10^9`, `2^31 - 1`, `5 * 10^4`, `10**5`, `1e5`, `10⁵`, `100,000` as an integer."""
    text = re.sub(r"([⁰¹²³⁴⁵⁶⁷⁸⁹]+)", lambda m: "**" + m[1].translate(_SUPERSCRIPT),
                  text.strip().strip("`*"))
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text).replace("^", "**")
    text = text.replace("\N{MULTIPLICATION SIGN}", "*")
    if not re.fullmatch(r"[\d\s+\-*().e]+", text):
        return None
    try:
        tree = ast.parse(text, mode="eval").body
    except SyntaxError:
        return None

    def value(node: ast.expr) -> float:
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return node.value
        if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            left, right = value(node.left), value(node.right)
            if isinstance(node.op, ast.Pow) and right > 64:
                raise ValueError
            return _OPERATORS[type(node.op)](left, right)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -value(node.operand)
        raise ValueError

    try:
        return int(value(tree))
    except (ValueError, OverflowError, TypeError):
        return None


_CHAIN = re.compile(r"\s*(<=|≤|=<|<)\s*")


def _chains(text: str) -> list[tuple[list[list[tuple]], list[str]]]:
    """Each line of `text` that chains comparisons (`0 <= low <= high <= 10^9`), as its
    terms — each a list of items, one per comma-separated part: ("number", value, as
    written), ("length", sequence), ("name", name) or ("other", text) — and its operators."""
    chains = []
    for line in text.splitlines():
        line = line.strip().lstrip("-*• ").replace("`", "").rstrip(".")
        line = re.sub(r"^[A-Za-z][A-Za-z ]*:\s*", "", line)  # `Constraints: 0 <= …`
        pieces = _CHAIN.split(line)
        if len(pieces) < 3:
            continue
        terms = []
        for term in pieces[::2]:
            items = []
            for part in (p.strip() for p in term.split(",")):
                number, found = _number(part), _LENGTH.match(part)
                if number is not None:
                    items.append(("number", number, part))
                elif found:
                    items.append(("length", found[1] or found[2]))
                elif re.fullmatch(r"[A-Za-z_]\w*", part):
                    items.append(("name", part))
                else:
                    items.append(("other", part))
            terms.append(items)
        chains.append((terms, pieces[1::2]))
    return chains


def stated(text: str) -> list[Bound]:
    """Every upper bound a line of `text` states on a name or a length."""
    bounds = []
    for terms, _ in _chains(text):
        last = terms[-1]
        if len(last) != 1 or last[0][0] != "number":
            continue
        _, high, said = last[0]
        first_is_number = len(terms[0]) == 1 and terms[0][0][0] == "number"
        for term in terms[1 if first_is_number else 0:-1]:
            for kind, *rest in term:
                if kind in ("length", "name"):
                    bounds.append(Bound(rest[0], high, said, kind == "length"))
    return bounds


def rules(text: str) -> dict:
    """What a drawn input must keep to, from lines like `0 <= low <= high <= 10^9` and
    `1 <= nums.length <= 10^4`: `order` [a, b, strict] between two names, `range` and
    `length` {name: [lowest, highest]} (None where unstated). Lines that say anything else
    are left alone."""
    order, ranges, lengths = [], {}, {}
    for terms, ops in _chains(text):
        if any(len(term) != 1 or term[0][0] == "other" for term in terms):
            continue
        kinds = [term[0][:2] for term in terms]
        for i, (kind, value) in enumerate(kinds):
            if kind == "number":
                continue
            table = ranges if kind == "name" else lengths
            low, high = table.get(value, [None, None])
            if i > 0 and kinds[i - 1][0] == "number":
                low = kinds[i - 1][1] + (ops[i - 1] == "<")
            if i + 1 < len(kinds) and kinds[i + 1][0] == "number":
                high = kinds[i + 1][1] - (ops[i] == "<")
            table[value] = [low, high]
            if kind == "name" and i + 1 < len(kinds) and kinds[i + 1][0] == "name":
                order.append([value, kinds[i + 1][1], ops[i] == "<"])
    return {"order": order, "range": ranges, "length": lengths}


def _largest(bounds: list[Bound], sample: str) -> Bound | None:
    """The stated limit the timed `n` stands for: with sequences among the sample's
    arguments, n is their length (the largest `x.length` bound); with numbers alone, the
    largest number (the largest bound on a plain name)."""
    try:
        args, kwargs = ast.literal_eval(sample)
    except (ValueError, SyntaxError, TypeError):
        return None
    values = [*args, *kwargs.values()]
    sequences = any(isinstance(v, (list, tuple, str)) for v in values)
    if not sequences and not any(isinstance(v, int) and not isinstance(v, bool)
                                 for v in values):
        return None
    fitting = [b for b in bounds if b.length == sequences]
    # on a tie the last stated: `low <= high <= 10^9` bounds high, and low through it
    return max(reversed(fitting), key=lambda b: b.high, default=None)


def too_slow(task: str, sample: str | None, timing: growth.Growth | None) -> str:
    """`about 8 s a call at high = 10^9`, where the measured growth carried to the task's
    stated limit passes TOO_SLOW_S; "" where it does not, or cannot be told."""
    if sample is None or timing is None or not timing.sizes:
        return ""
    limit = _largest(stated(task), sample)
    exponent = timing.exponent
    if limit is None or exponent is None or limit.high <= timing.sizes[-1]:
        return ""
    seconds = timing.seconds[-1] * (limit.high / timing.sizes[-1]) ** min(exponent, 12.0)
    if seconds <= TOO_SLOW_S:
        return ""
    name = f"{limit.name}.length" if limit.length else limit.name
    return f"about {_duration(seconds)} a call at {name} = {limit.text}"


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.0f} h"
    return "days"
