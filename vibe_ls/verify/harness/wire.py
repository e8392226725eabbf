"""The text the host and a compiled harness exchange, typed by the signature.

Values: an integer or float as a token; a boolean as 1 or 0; a string (or char) as its UTF-8
byte length, a colon and the bytes (`3:abc`); a list as its length, then its elements; all
separated by whitespace. The harness answers each call with `ok <value>` or `err <string>`
(the exception's name) on a line, and each timed size with `t <n> <seconds per call>`.
JavaScript exchanges JSON lines instead (`{"ok": value}`)."""

from __future__ import annotations

import math

from vibe_ls.verify.harness.signatures import Signature, Type


class Unfit(ValueError):
    """A Python value that the parameter's type cannot hold."""


def encode(value: object, kind: Type, out: list[str]) -> None:
    if kind.kind == "int":
        if isinstance(value, bool) or not isinstance(value, int) or (
                kind.low is not None and not kind.low <= value <= kind.high):
            raise Unfit(f"{value!r} is not a {kind.python()} here")
        out.append(str(value))
    elif kind.kind == "float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise Unfit(f"{value!r} is not a float")
        out.append(repr(float(value)))
    elif kind.kind == "bool":
        if not isinstance(value, bool):
            raise Unfit(f"{value!r} is not a bool")
        out.append("1" if value else "0")
    elif kind.kind in ("str", "char"):
        if not isinstance(value, str) or (kind.kind == "char" and len(value) != 1):
            raise Unfit(f"{value!r} is not a {kind.kind}")
        data = value.encode("utf-8", "surrogatepass")
        if kind.kind == "char" and len(data) != 1:
            raise Unfit(f"{value!r} is not a one-byte char")
        out.append(f"{len(data)}:{value}")
    elif kind.kind == "list":
        if not isinstance(value, list | tuple):
            raise Unfit(f"{value!r} is not a list")
        out.append(str(len(value)))
        for item in value:
            encode(item, kind.item, out)
    else:
        raise Unfit(f"no encoding for {kind.kind}")


def arguments(signature: Signature, args: list, kwargs: dict) -> list[object]:
    """The values for the visible parameters, in order, from a Python call's arguments
    (keywords matched by name, else taken in order)."""
    params = signature.visible
    if len(args) + len(kwargs) != len(params):
        raise Unfit(f"{len(args) + len(kwargs)} arguments for {len(params)} parameters")
    values = list(args)
    rest = params[len(args):]
    if all(p.name in kwargs for p in rest):
        values += [kwargs[p.name] for p in rest]
    else:
        values += list(kwargs.values())
    return values


def encode_call(signature: Signature, args: list, kwargs: dict) -> str:
    out: list[str] = []
    for value, param in zip(arguments(signature, args, kwargs), signature.visible, strict=True):
        encode(value, param.type, out)
    return " ".join(out)


class Reader:
    """A cursor over a harness's output bytes."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def _skip(self) -> None:
        while self.pos < len(self.data) and self.data[self.pos] in b" \t\r\n":
            self.pos += 1

    def at_end(self) -> bool:
        self._skip()
        return self.pos >= len(self.data)

    def token(self) -> str:
        self._skip()
        start = self.pos
        while self.pos < len(self.data) and self.data[self.pos] not in b" \t\r\n:":
            self.pos += 1
        if start == self.pos:
            raise ValueError("truncated output")
        return self.data[start:self.pos].decode("ascii", "replace")

    def string(self) -> str:
        length = int(self.token())
        if self.pos >= len(self.data) or self.data[self.pos:self.pos + 1] != b":":
            raise ValueError("bad string")
        start = self.pos + 1
        self.pos = start + length
        if self.pos > len(self.data):
            raise ValueError("truncated string")
        return self.data[start:self.pos].decode("utf-8", "replace")

    def value(self, kind: Type) -> object:
        if kind.kind == "int":
            return int(self.token())
        if kind.kind == "float":
            return float(self.token())
        if kind.kind == "bool":
            return self.token() not in ("0", "false")
        if kind.kind in ("str", "char"):
            return self.string()
        if kind.kind == "list":
            return [self.value(kind.item) for _ in range(int(self.token()))]
        if kind.kind == "void" and self.token() == "-":
            return None
        raise ValueError(f"cannot read a {kind.kind}")


def shown(value: object) -> str:
    """How a returned value is shown and compared (as the Python checker shows it)."""
    if isinstance(value, float):
        return repr(round(value, 6)) if math.isfinite(value) else repr(value)
    return repr(value)[:2000]


def results(stdout: bytes, returns: Type) -> list[tuple[str, object]]:
    """("ok", value) or ("err", name) per call the harness finished, in order."""
    reader, found = Reader(stdout), []
    try:
        while not reader.at_end():
            tag = reader.token()
            if tag == "ok":
                found.append(("ok", reader.value(returns)))
            elif tag == "err":
                found.append(("err", reader.string()))
            else:
                break
    except (ValueError, IndexError):
        pass  # cut off mid-value: that call did not finish
    return found


def timings(stdout: bytes) -> list[tuple[int, float]]:
    points = []
    for line in stdout.decode("utf-8", "replace").splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "t":
            try:
                points.append((int(parts[1]), float(parts[2])))
            except ValueError:
                break
    return points
