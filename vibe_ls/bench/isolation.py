"""The cost of the sandbox: the median wall time of one run of a trivial Python candidate and
of a compiled C program, as a plain subprocess, through the sandbox of commit 9f32b19
("before": an audit hook and a network namespace in a preexec function, Landlock for native
code) and through today's ("after": bubblewrap, Landlock, a cgroup), all in one run.

The old sandbox is not part of the package: from a git checkout its file is taken out of
history into a temporary directory and timed in a subprocess of this interpreter."""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PYTHON_CANDIDATE = "def add(a, b):\n    return a + b\n\nprint(add(2, 3))\n"
C_CANDIDATE = '#include <stdio.h>\nint main(void) { printf("%d\\n", 2 + 3); return 0; }\n'
BEFORE = "9f32b19"  # the last commit with the audit-hook sandbox (vibe_ls/sandbox.py)
_COMPILE = {"cpu_s": 30, "wall_s": 60, "processes": 16, "file_mb": 64}

# Runs with the chosen sandbox module importable as `box` (and this package, for its timer):
# prints the times of its runs (ms) as JSON.
_TIMER = r'''
import inspect, json, os, sys
import box
from vibe_ls.bench.isolation import times_ms
py, c, repeats, gcc = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]

def python():
    out = box.run_python(py)
    assert out.stdout == "5\n", out

result = {"python": times_ms(python, repeats)}
if gcc:
    with box.Workspace({"p.c": c}) as space:
        built = space.run([gcc, "-O2", "-o", "p", "p.c"], limits=box.Limits(**@COMPILE@))
        assert built.returncode == 0, built
        program = os.path.join(space.work, "p")
        # As the harness runs a built program: nothing kept (a choice the old one lacked).
        keep = {"keep": False} if "keep" in inspect.signature(space.run).parameters else {}
        result["c"] = times_ms(lambda: space.run([program], **keep), repeats)
print(json.dumps(result))
'''.replace("@COMPILE@", repr(_COMPILE))


def times_ms(run, repeats: int) -> list[float]:
    run()  # warm: one-time probes, the page cache
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return times


# No sandbox at all, with the sandbox's interface, so that the same timer runs it.
_PLAIN = r'''
import os, subprocess, sys, tempfile

class Limits:
    def __init__(self, **limits):
        pass

def run_python(code):
    return subprocess.run([sys.executable, "-I", "-B", "-c", code], capture_output=True,
                          text=True)

class Workspace:
    def __init__(self, files):
        self.tmp = tempfile.TemporaryDirectory()
        self.work = self.tmp.name
        for name, text in files.items():
            with open(os.path.join(self.work, name), "w") as f:
                f.write(text)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.tmp.cleanup()

    def run(self, argv, limits=None):
        return subprocess.run(argv, cwd=self.work, capture_output=True, text=True)
'''


def _plain(repeats: int, gcc: str | None) -> dict:
    """The same candidates with no sandbox at all, through the same timer."""
    repo = Path(__file__).resolve().parents[2]
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "box.py").write_text(_PLAIN, encoding="utf-8")
        return _timed(f"{tmp}:{repo}", repeats, gcc)


def _timed(module_dir: str, repeats: int, gcc: str | None) -> dict:
    done = subprocess.run([sys.executable, "-c", _TIMER, PYTHON_CANDIDATE, C_CANDIDATE,
                           str(repeats), gcc or ""], capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": module_dir},
                          timeout=600)
    if done.returncode != 0:
        return {"skipped": done.stderr.strip()[-300:]}
    return json.loads(done.stdout)


def _before(repeats: int, gcc: str | None) -> dict:
    """The old sandbox, taken out of git history into a temporary directory."""
    repo = Path(__file__).resolve().parents[2]
    with tempfile.TemporaryDirectory() as tmp:
        shown = subprocess.run(["git", "-C", str(repo), "show", f"{BEFORE}:vibe_ls/sandbox.py"],
                               capture_output=True, text=True)
        if shown.returncode != 0:
            return {"skipped": f"not a git checkout with commit {BEFORE} "
                               f"({shown.stderr.strip()[:120] or 'git failed'})"}
        Path(tmp, "box.py").write_text(shown.stdout, encoding="utf-8")
        return _timed(f"{tmp}:{repo}", repeats, gcc)


def _after(repeats: int, gcc: str | None) -> dict:
    """Today's sandbox, through the same timer (`box` re-exports vibe_ls.verify.sandbox)."""
    repo = Path(__file__).resolve().parents[2]
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "box.py").write_text("from vibe_ls.verify.sandbox import *  # noqa\n"
                                       "from vibe_ls.verify.sandbox import Limits, Workspace\n")
        return _timed(f"{tmp}:{repo}", repeats, gcc)


def isolation_cost(repeats: int = 30, rounds: int = 5) -> dict:
    """Medians (ms) of each way to run each candidate. The ways take turns, `rounds` times,
    so that a machine whose load changes meanwhile weighs on all of them alike."""
    from vibe_ls.verify import cgroup, jail, sandbox

    why = sandbox.unavailable()
    if why:
        return {"skipped": why}
    gcc, each = shutil.which("gcc"), max(1, repeats // rounds)
    ways = {"plain": _plain, "before": _before, "after": _after}
    samples: dict = {way: {} for way in ways}
    for _ in range(rounds):
        for way, measure in ways.items():
            for name, times in measure(each, gcc).items():
                samples[way].setdefault(name, []).extend(
                    times if isinstance(times, list) else [times])
    report = {way: {name: statistics.median(times) if name != "skipped" else times[0]
                    for name, times in found.items()} for way, found in samples.items()}
    return {"repeats": each * rounds, "gcc": gcc, **report, "layers": sandbox.isolation(),
            "landlock_abi": jail.landlock_abi(), "memory": cgroup.describe()}


def _row(report: dict, name: str) -> str:
    plain = report["plain"].get(name)
    if plain is None:
        return f"  {name:<7} skipped: no gcc"
    cells = [f"plain {plain:6.1f} ms"]
    for when in ("before", "after"):
        ms = report[when].get(name)
        cells.append(f"{when} {ms:6.1f} ms ({ms - plain:+6.1f})" if ms is not None else
                     f"{when}: skipped")
    before, after = report["before"].get(name), report["after"].get(name)
    if before is not None and after is not None:
        cells.append(f"after - before {after - before:+6.1f} ms")
    return f"  {name:<7} " + "   ".join(cells)


def print_isolation(report: dict) -> None:
    if "skipped" in report:
        print(f"sandbox cost: skipped ({report['skipped']})")
        return
    print(f"sandbox cost, median of {report['repeats']} runs each, one run of this command "
          f"(target: after - before under 30 ms):")
    for when in ("before", "after"):
        if "skipped" in report[when]:
            print(f"  {when}: skipped ({report[when]['skipped']})")
    for name in ("python", "c"):
        print(_row(report, name))
    missing = [layer for layer, present in report["layers"].items() if not present]
    print(f"  layers: {'all present' if not missing else 'MISSING ' + ', '.join(missing)}"
          f"; Landlock ABI {report['landlock_abi']}; memory bounded {report['memory']}")
