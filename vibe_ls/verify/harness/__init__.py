"""Running a candidate written in another language than Python: its signature read with
tree-sitter, a generated `main` that feeds it the same examples and growing inputs the
Python checks use, compiled (g++, gcc, rustc, javac) or run (node) in the sandbox.

Languages whose compiler or runtime is not on the machine are skipped (`available`); so is a
function whose types the harness cannot feed (`signature` returns None)."""

from __future__ import annotations

import ast
import functools
import json
import logging
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from vibe_ls.verify import growth
from vibe_ls.verify.harness import cpp, others, typescript, wire
from vibe_ls.verify.harness.signatures import Signature, Type, python_signature, read

__all__ = ["Signature", "available", "measure", "python_signature", "run_calls", "sample",
           "signature", "unrunnable"]

log = logging.getLogger(__name__)

# Seconds per call below which call overhead hides the growth: compiled code, and the JIT
# runtimes (boxing, warm-up).
FLOORS = {"c": 1e-6, "cpp": 1e-6, "rust": 1e-6, "java": 1e-6, "javascript": 2e-6,
          "typescript": 2e-6}
# A JIT's warm-up and tiering bend the curve (a linear scan in Java measured n^0.5 to n^1.7
# here): a claim must be off by more before it is called wrong.
TOLERANCE = {"java": 0.6, "javascript": 0.6, "typescript": 0.6}
# A harness stops after five sizes in a row timed above its stop floor; a JIT's small sizes
# are slow for other reasons (interpreted first calls), so there it counts only slow sizes.
STOP_FLOORS = {"java": 5e-5, "javascript": 5e-5, "typescript": 5e-5}
LANGUAGES = ("c", "cpp", "rust", "java", "javascript", "typescript")
# Run by node: JavaScript, and TypeScript with its types stripped.
NODE = ("javascript", "typescript")
COMPILE_ERROR = "did not compile"  # what a call shows when its candidate did not build
_MB = 1 << 20


@dataclass(frozen=True)
class _Built:
    run: list[str]  # argv, inside the workspace
    error: str = ""  # why it did not build


def _which(name: str, *fallbacks: str) -> str | None:
    found = shutil.which(name)
    if found:
        return os.path.abspath(found)  # not resolved: rustup's proxies go by their name
    for path in fallbacks:
        path = os.path.expanduser(path)
        if os.access(path, os.X_OK):
            return path
    return None


@functools.cache
def _rustc() -> str | None:
    """The toolchain's own rustc (not the rustup proxy, which needs $HOME)."""
    proxy = _which("rustc", "~/.cargo/bin/rustc")
    if proxy is None:
        return None
    try:
        sysroot = subprocess.run([proxy, "--print", "sysroot"], capture_output=True,
                                 text=True, timeout=30, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    real = Path(sysroot, "bin", "rustc")
    return str(real) if real.exists() else proxy


@functools.cache
def _tools(language: str) -> tuple[str, ...] | None:
    if language == "cpp":
        found = (_which("g++"),)
    elif language == "c":
        found = (_which("gcc"),)
    elif language == "rust":
        found = (_rustc(),)
    elif language == "java":
        found = (_which("javac"), _which("java"))
    elif language in NODE:
        found = (_which("node"),)
    else:
        return None
    return found if all(found) else None


def available(language: str) -> bool:
    """Whether candidates in `language` can be run on this machine."""
    return _tools(language) is not None


_NEEDS = {"c": "gcc", "cpp": "g++", "rust": "rustc", "java": "javac and java",
          "javascript": "node", "typescript": "node"}


def missing(language: str) -> str:
    """Why candidates in `language` are not run here ("" when they are)."""
    from vibe_ls.verify import sandbox

    if sandbox.unavailable():
        return sandbox.unavailable()
    if available(language):
        return ""
    if language in _NEEDS:
        return f"{_NEEDS[language]} not found"
    return f"no {language} harness yet"


def unrunnable(language: str, source: str) -> str:
    """Why no candidate in this file can be run, whatever it is ("" when one can): a
    TypeScript file that is more than JavaScript with types (an `enum` of the user's)."""
    if language == "typescript":
        try:
            typescript.to_javascript(source)
        except typescript.NotStrippable as exc:
            return f"the file's TypeScript cannot be run by node without its types ({exc})"
    return ""


def signature(language: str, source: str, function: str,
              void: bool = False) -> Signature | None:
    return read(language, source, function, void) if available(language) else None


_SAMPLES = {"int": 5, "float": 2.5, "bool": True, "str": "abc", "char": "a"}


def _sample_value(kind: Type) -> object:
    if kind.kind == "list":
        item = _sample_value(kind.item)
        if kind.item.kind == "int":
            return [2, 1, 3] if kind.item.low == 0 else [2, -1, 3]
        return [item, item, item]
    if kind.kind not in _SAMPLES:
        raise ValueError(kind.kind)
    return _SAMPLES[kind.kind]


def sample(found: Signature) -> str | None:
    """A sample call made up from the types, as `repr(([args], {}))`, or None."""
    try:
        return repr(([_sample_value(p.type) for p in found.visible], {}))
    except ValueError:
        return None


# -- building ------------------------------------------------------------------------------

_COMPILE = dict(cpu_s=60, wall_s=120, memory_mb=3072, file_mb=256, processes=32,
                open_files=256)
_JVM = ["-Xmx512m", "-Xss64m", "-XX:-UsePerfData", "-XX:+UseSerialGC"]


def _build(space, language: str, source: str, found: Signature,
           checked: bool = False) -> _Built:
    """Build the harness for `found` in `space`. `checked`: a C++ vector's `[]`, `front`,
    `back` check their index (abort, not undefined behaviour), for the rewrite check."""
    from vibe_ls.verify import sandbox

    tools = _tools(language)
    compile_limits = sandbox.Limits(**_COMPILE)
    if language in ("cpp", "c"):
        program = (cpp.cpp_program if language == "cpp" else cpp.c_program)(source, found)
        name = "main.cpp" if language == "cpp" else "main.c"
        (space.work / name).write_text(program, encoding="utf-8")
        flags = ["-std=c++17"] if language == "cpp" else ["-std=gnu11"]
        if checked and language == "cpp":
            flags.append("-D_GLIBCXX_ASSERTIONS")
        argv = [tools[0], *flags, "-O2", "-w", "-o", "prog", name]
        if language == "c":
            argv.append("-lm")
        outcome = space.run(argv, limits=compile_limits)
        return _Built([str(space.work / "prog")], _compile_error(outcome))
    if language == "rust":
        (space.work / "main.rs").write_text(others.rust_program(source, found), "utf-8")
        # The system linker: rust-lld sits under the toolchain's directory, which the
        # sandbox user can read but not look up with access() (as under /root).
        outcome = space.run([tools[0], "--edition", "2021", "-O", "-C", "codegen-units=1",
                             "-C", "linker-features=-lld", "-o", "prog", "main.rs"],
                            limits=compile_limits)
        return _Built([str(space.work / "prog")], _compile_error(outcome))
    if language == "java":
        files = others.java_program(source, found)
        for name, text in files.items():
            (space.work / name).write_text(text, encoding="utf-8")
        limits = sandbox.Limits(**{**_COMPILE, "memory_kind": "data", "memory_mb": 2048})
        outcome = space.run([tools[0], *(f"-J{flag}" for flag in _JVM),
                             "-J-XX:TieredStopAtLevel=1", "-nowarn",
                             "-encoding", "UTF-8", "-d", ".", *files], limits=limits)
        return _Built([tools[1], *_JVM, "-cp", str(space.work), "VibeLsHarness"],
                      _compile_error(outcome))
    if language == "typescript":
        try:
            source = typescript.to_javascript(source)
        except typescript.NotStrippable as exc:
            return _Built([], f"its types could not be stripped for node: {exc}")
    name, program = others.js_program(source, found)
    (space.work / name).write_text(program, encoding="utf-8")
    return _Built([tools[0], "--max-old-space-size=512", "--stack-size=8000",
                   "--experimental-permission", f"--allow-fs-read={space.work}/*",
                   "--no-warnings", str(space.work / name)])


def _compile_error(outcome) -> str:
    """The compiler's errors from the first on (40 lines at most): the first line alone is
    fit for a message; the rest (where, what was expected, the next errors) is what a model
    needs to fix them all at once."""
    if outcome.returncode == 0:
        return ""
    lines = outcome.stderr.splitlines()
    first = next((i for i, line in enumerate(lines) if "error" in line.lower()), None)
    said = "\n".join(x[:300] for x in lines[first: first + 40]) if first is not None else \
        f"the compiler exited with {outcome.returncode}"
    return (outcome.reason or "") + ("; " if outcome.reason else "") + said


def _run_limits(language: str, cpu_s: float, wall_s: float, memory_mb: int = 1024):
    from vibe_ls.verify import sandbox

    if language in ("java", *NODE):  # runtimes that reserve address space and spawn
        return sandbox.Limits(cpu_s=cpu_s + 2, wall_s=wall_s + 3, memory_mb=memory_mb,
                              memory_kind="data", processes=64, open_files=256)
    return sandbox.Limits(cpu_s=cpu_s, wall_s=wall_s, memory_mb=memory_mb)


# -- running -------------------------------------------------------------------------------

def _calls(found: Signature, calls: list[str]) -> list[str | None]:
    """Each `f(...)` call as the harness's input, or None where its values do not fit."""
    encoded: list[str | None] = []
    for call in calls:
        literal = growth.sample_from_call(call)
        try:
            args, kwargs = ast.literal_eval(literal) if literal else (None, None)
            if args is None:
                raise wire.Unfit("not a call with literal arguments")
            if found.language in NODE:
                encoded.append(json.dumps(wire.arguments(found, args, kwargs)))
            else:
                encoded.append(wire.encode_call(found, args, kwargs))
        except (wire.Unfit, ValueError, TypeError, SyntaxError):
            encoded.append(None)
    return encoded


def fits(language: str, source: str, function: str, calls: list[str]) -> list[bool]:
    """Whether each `f(...)` call's values fit `function`'s parameter types."""
    found = signature(language, source, function)
    if found is None:
        return [False] * len(calls)
    return [e is not None for e in _calls(found, calls)]


def _request(found: Signature, inputs: list[str], mode: str = "C") -> str:
    if found.language in NODE:
        return json.dumps({"mode": mode, "calls": [json.loads(i) for i in inputs]})
    return f"{mode} {len(inputs)}\n" + "\n".join(inputs) + "\n"


def _answers(found: Signature, stdout: str) -> list[tuple[str, object]]:
    if found.language not in NODE:
        return wire.results(stdout.encode("utf-8", "surrogateescape"), found.returns)
    answers = []
    for line in stdout.splitlines():
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            break
        if "ok" in item:
            answers.append(("ok", item["ok"]))
        elif "err" in item:
            answers.append(("err", str(item["err"])))
    return answers


def run_calls(language: str, source: str, function: str, calls: list[str],
              expected: list[str | None]) -> list[tuple[bool, str]]:
    """Run each `f(...)` call on `function` of `source`: (passed, what it returned) per
    call, as the Python checker reports them ("raised X", "did not run")."""
    found = signature(language, source, function)
    results: list[tuple[bool, str]] = [(False, "did not run")] * len(calls)
    if found is None or not calls:
        return results
    from vibe_ls.verify import sandbox

    encoded = _calls(found, calls)
    results = [(False, "did not fit the parameter types") if e is None else r
               for e, r in zip(encoded, results, strict=True)]
    with sandbox.Workspace() as space:
        built = _build(space, language, source, found)
        if built.error:
            log.info("%s candidate did not build: %s", language, built.error)
            return [(False, f"{COMPILE_ERROR}: {built.error}")] * len(calls)
        pending = [i for i, e in enumerate(encoded) if e is not None]
        while pending:  # a crash ends a run: the calls after it run again without it
            outcome = space.run(built.run, _request(found, [encoded[i] for i in pending]),
                                _run_limits(language, 2, 4), keep=False)
            answers = _answers(found, outcome.stdout)
            for i, (tag, value) in zip(pending, answers, strict=False):
                results[i] = _result(tag, value, expected[i])
            if len(answers) >= len(pending):
                break
            crashed = pending[len(answers)]
            results[crashed] = (False, f"crashed ({outcome.reason or 'exit'})")
            pending = pending[len(answers) + 1:]
    return results


def _result(tag: str, value: object, expected: str | None) -> tuple[bool, str]:
    if tag == "err":
        return False, f"raised {value}"
    passed = False
    if expected is not None:
        try:
            passed = value == ast.literal_eval(expected)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            passed = False
    return passed, wire.shown(value)


# -- the rewrite check: what each call returned and left in its arguments ---------------------

# The languages whose harness writes back the arguments a call can change (mode D): C++
# references, Rust `&mut` borrows, JavaScript's arrays. C's and Java's are not compared.
LEFT_BEHIND = ("cpp", "rust", "javascript", "typescript")


def changeable(found: Signature) -> tuple:
    """The parameters whose values a call can change for its caller, as mode D writes them
    back after the returned value."""
    if found.language in NODE:
        return found.visible
    kind = {"cpp": "ref", "rust": "mut"}.get(found.language)
    return tuple(p for p in found.visible if p.passing == kind)


class Program:
    """A function's harness built once in a workspace of its own, then run on batches of
    inputs (the rewrite check runs the original's and each candidate's again while it
    shrinks a difference). Each answer is ("ok", value, (arguments left)), ("err", name,
    ()) or ("crash", why, ())."""

    def __init__(self, language: str, source: str, found: Signature) -> None:
        from vibe_ls.verify import sandbox

        self.found = found
        self.space = sandbox.Workspace()
        self.built = _build(self.space, language, source, found, checked=True)

    def __enter__(self) -> Program:
        return self

    def __exit__(self, *exc: object) -> None:
        self.space.close()

    @property
    def error(self) -> str:
        return self.built.error

    def run(self, inputs: list[list], cpu_s: float = 4) -> list[tuple[str, object, tuple]]:
        """Each input (the visible parameters' values, in order) run once."""
        encoded = [self._encoded(values) for values in inputs]
        answers: list[tuple[str, object, tuple]] = []
        timeouts = 0
        while len(answers) < len(inputs):  # a crash ends a run: the rest run again after it
            if timeouts >= 2:  # never finishing: the rest would cost as much each
                answers += [("crash", "did not finish", ())] * (len(inputs) - len(answers))
                break
            rest = encoded[len(answers):]
            mode = "D" if self.found.language in LEFT_BEHIND else "C"
            outcome = self.space.run(self.built.run, _request(self.found, rest, mode),
                                     _run_limits(self.found.language, cpu_s, 2 * cpu_s),
                                     keep=False)
            answers += self._answers(outcome.stdout)[:len(rest)]
            if len(answers) < len(inputs):
                timed_out = outcome.timed_out or outcome.reason in ("timeout", "cpu limit")
                timeouts += timed_out
                why = "did not finish" if timed_out else "crashed"
                answers.append(("crash", why, ()))
        return answers

    def _encoded(self, values: list) -> str:
        if self.found.language in NODE:
            return json.dumps(wire.arguments(self.found, values, {}))
        return wire.encode_call(self.found, values, {})

    def _answers(self, stdout: str) -> list[tuple[str, object, tuple]]:
        if self.found.language in NODE:
            return _node_answers(stdout)
        reader, found = wire.Reader(stdout.encode("utf-8", "surrogateescape")), []
        left = changeable(self.found) if self.found.language in LEFT_BEHIND else ()
        try:
            while not reader.at_end():
                tag = reader.token()
                if tag == "ok":
                    value = reader.value(self.found.returns)
                    found.append(("ok", value, tuple(reader.value(p.type) for p in left)))
                elif tag == "err":
                    found.append(("err", reader.string(), ()))
                else:
                    break
        except (ValueError, IndexError):
            pass  # cut off mid-value: that call did not finish
        return found


def _node_answers(stdout: str) -> list[tuple[str, object, tuple]]:
    answers: list[tuple[str, object, tuple]] = []
    for line in stdout.splitlines():
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            break
        if "ok" in item:
            answers.append(("ok", item["ok"], tuple(item.get("args", ()))))
        elif "err" in item:
            answers.append(("err", str(item["err"]), ()))
    return answers


# -- timing --------------------------------------------------------------------------------

def _sizes(found: Signature, literal: str) -> list[tuple[int, str]]:
    """Inputs grown from the sample at n = 2^k, encoded for the harness."""
    scope: dict = {}
    exec(growth.GROW, scope)  # our own helper code, not generated code
    value = ast.literal_eval(literal)
    args = list(value[0]) + list(value[1].values())
    sequences = any(isinstance(a, list | str) for a in args)
    sized, total = [], 0
    for power in range(4, 18 if sequences else 21):
        n = 2 ** power
        grown_args, grown_kwargs = scope["__vibe_ls_grown"](value, n, power)
        try:
            if found.language in NODE:
                text = json.dumps(wire.arguments(found, grown_args, grown_kwargs))
            else:
                text = wire.encode_call(found, grown_args, grown_kwargs)
        except (wire.Unfit, ValueError, TypeError):
            break  # grown past what the type holds
        total += len(text)
        if total > 48 * _MB:
            break
        sized.append((n, text))
    return sized


def measure(language: str, source: str, function: str, literal: str,
            budget_s: float = 2.0, cap_s: float = 0.25,
            void: bool = False) -> growth.Growth | None:
    """Time `function` on inputs grown from `literal` (`repr(([args], {}))`), in the
    sandbox; None when nothing was measured. `void`: a C++ or Rust function that returns
    nothing is timed too."""
    found = signature(language, source, function, void)
    if found is None:
        return None
    sizes = _sizes(found, literal)
    if len(sizes) < 3:
        return None
    from vibe_ls.verify import sandbox

    floor, stop = FLOORS[language], STOP_FLOORS.get(language, FLOORS[language])
    if language in NODE:
        request = json.dumps({"mode": "T", "sizes": sizes, "budget": budget_s, "cap": cap_s,
                              "floor": stop})
    else:
        request = f"T {len(sizes)} {budget_s!r} {cap_s!r} {stop!r}\n" + "\n".join(
            f"{n} {text}" for n, text in sizes) + "\n"
    with sandbox.Workspace() as space:
        built = _build(space, language, source, found)
        if built.error:
            return None
        outcome = space.run(built.run, request, _run_limits(
            language, budget_s + 3, budget_s + 6, memory_mb=2048), keep=False)
    if language in NODE:
        points = []
        for line in outcome.stdout.splitlines():
            try:
                n, seconds = json.loads(line)["t"]
            except (json.JSONDecodeError, KeyError, TypeError, ValueError):
                continue
            points.append((int(n), float(seconds)))
    else:
        points = wire.timings(outcome.stdout.encode("utf-8", "surrogateescape"))
    if not points:
        return None
    error = ""
    if outcome.returncode != 0 and len(points) < len(sizes):
        error = outcome.reason or f"stopped at n={sizes[len(points)][0]}"
    return growth.Growth(tuple(n for n, _ in points), tuple(s for _, s in points), error,
                         floor=floor, tolerance=TOLERANCE.get(language, growth.AGREE))


