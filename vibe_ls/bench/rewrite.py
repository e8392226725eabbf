"""Rewrite benchmark: slow-but-correct functions (`rewrite_problems`) are rewritten through the
real LSP flow — select the function, run "Rewrite with a better algorithm", apply the
server's edit — and the file as the action left it is run against the function's hidden
tests (which vibe-ls never sees). Reports how many rewrites were applied, the share of those
passing the hidden tests (the target is all of them), the share of functions that got a
faster equivalent, the median measured speed-up, and why the others were kept."""

from __future__ import annotations

import ast
import asyncio
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lsprotocol import types

from vibe_ls.bench.lsp_driver import Driver
from vibe_ls.bench.quality import CASE_TIMEOUT_S, _limits
from vibe_ls.bench.rewrite_problems import PROBLEMS, Problem
from vibe_ls.verify.rewrite import FASTER

TITLE = "Rewrite with a better algorithm"
STATEMENT_S = 5  # seconds one hidden test may run (a rewrite that never ends fails it)
# "same code": applied, but the function is the user's own, statement for statement (the
# model gave it back; only its complexity note was added)
# "kept": refused because the model only gave the code back; "slower": equivalent but
# measured slower, so refused (both leave the user's code as it was)
OUTCOMES = ("faster", "no faster", "same code", "not checked", "refused", "kept", "slower",
            "not applied", "error")

# Runs each hidden test against solution.py as its own statement, in a copy of the module's
# names, so one failure does not hide the others; prints what passed and what did not.
_GRADER = """\
import json, signal, sys

def _late(*_):
    raise TimeoutError("took longer than %(limit)s s")

signal.signal(signal.SIGALRM, _late)
tests = json.load(open("tests.json"))
failed = []
try:
    import solution
except BaseException as exc:
    failed = [f"import: {type(exc).__name__}: {exc}"] * len(tests)
else:
    for test in tests:
        signal.alarm(%(limit)s)
        try:
            exec(test, dict(vars(solution)))
        except Exception as exc:
            failed.append(f"{test}: {type(exc).__name__}: {exc}"[:300])
        finally:
            signal.alarm(0)
print("__graded__" + json.dumps({"passed": len(tests) - len(failed), "failed": failed}))
"""


def grade(text: str, problem: Problem) -> dict:
    """{"passed": hidden tests passed, "total": hidden tests, "failed": what failed} for the
    file `text`, imported as Python runs it, in a fresh process with CPU and memory limits."""
    total = len(problem.tests)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "solution.py").write_text(text)
        (Path(tmp) / "tests.json").write_text(json.dumps(list(problem.tests)))
        (Path(tmp) / "grade.py").write_text(_GRADER % {"limit": STATEMENT_S})
        try:
            proc = subprocess.run([sys.executable, "-E", "-s", "grade.py"], cwd=tmp,
                                  text=True, capture_output=True,
                                  timeout=CASE_TIMEOUT_S * 2, preexec_fn=_limits)
        except subprocess.TimeoutExpired:
            return {"passed": 0, "total": total, "failed": ["the tests never finished"]}
    found = [line for line in proc.stdout.splitlines() if line.startswith("__graded__")]
    if not found:
        why = (proc.stderr.strip().splitlines() or [f"exit status {proc.returncode}"])[-1]
        return {"passed": 0, "total": total, "failed": [f"the tests did not run: {why}"]}
    return {**json.loads(found[-1][len("__graded__"):]), "total": total}


def select(count: int) -> list[Problem]:
    """`count` problems spread over the set (its kinds are grouped), in the set's order."""
    stride = max(len(PROBLEMS) // max(count, 1), 1)
    chosen = list(PROBLEMS[::stride][:count])
    rest = [p for p in PROBLEMS if p not in chosen]
    return chosen + rest[:count - len(chosen)]


async def _rewrite_action(driver: Driver, uri: str, source: str) -> types.CodeAction | None:
    """The rewrite action an editor lists with the whole function selected."""
    last = source.rstrip("\n").count("\n") + 1  # the line after the function's last
    result = await driver.client.text_document_code_action_async(types.CodeActionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        range=types.Range(types.Position(0, 0), types.Position(last, 0)),
        context=types.CodeActionContext(diagnostics=[])))
    return next((a for a in result or [] if isinstance(a, types.CodeAction)
                 and a.title == TITLE), None)


async def _one(driver: Driver, folder: Path, problem: Problem) -> dict:
    uri = driver.open(folder / f"{problem.name}.py", problem.source, "python")
    action = await _rewrite_action(driver, uri, problem.source)
    start = time.perf_counter()
    try:
        outcome = await driver.execute(action) if action else {"error": "no rewrite action"}
    except Exception as exc:  # the server answered with an error: a result like any other
        outcome = {"error": f"{type(exc).__name__}: {exc}"}
    seconds = time.perf_counter() - start
    outcome = outcome if isinstance(outcome, dict) else {"error": f"answered {outcome!r}"}
    text = driver.texts[uri]
    graded = grade(text, problem)
    speedup = speed_up(outcome)
    same = same_code(text, problem)
    return {"problem": problem.name, "slow": problem.slow,
            "outcome": classify(outcome, speedup, same),
            "applied": bool(outcome.get("applied")), "same_code": same,
            "passed": graded["passed"] == graded["total"],
            "tests_passed": graded["passed"], "tests": graded["total"],
            "failed": graded["failed"], "speedup": speedup, "seconds": seconds,
            "message": outcome.get("summary") or outcome.get("error") or "",
            "tried": outcome.get("tried"), "inputs": outcome.get("inputs"),
            "original_passes": grade(problem.source, problem)["passed"] == len(problem.tests),
            "result": text}


_TIMES = re.compile(r"(\d+(?:\.\d+)?)\N{MULTIPLICATION SIGN} (faster|slower)")


def speed_up(outcome: dict) -> float | None:
    """How many times faster the applied rewrite ran than the original at the largest size
    both were timed at: the action's own number, else the one its message gives."""
    if outcome.get("speedup") is not None:
        return float(outcome["speedup"])
    found = _TIMES.search(outcome.get("shown") or outcome.get("summary") or "")
    if found is None or not outcome.get("applied"):
        return None
    ratio = float(found.group(1))
    return ratio if found.group(2) == "faster" else 1 / ratio


def same_code(text: str, problem: Problem) -> bool:
    """Whether the file still defines the problem's function statement for statement as it
    was (comments and the docstring aside): nothing was rewritten."""
    mine = _statements(text, problem.name)
    return mine is not None and mine == _statements(problem.source, problem.name)


def _statements(source: str, name: str) -> str | None:
    """The last definition of `name` in `source`, without its docstring, as an AST dump."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    found = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name]
    if not found:
        return None
    node = found[-1]
    if ast.get_docstring(node) is not None:
        node.body = node.body[1:]
    return ast.dump(node)


def classify(outcome: dict, speedup: float | None, same: bool = False) -> str:
    """One of OUTCOMES for what the action did."""
    summary = outcome.get("summary") or ""
    if outcome.get("refused"):
        return "kept" if "no better algorithm found" in summary else \
            "slower" if "it is slower" in summary else "refused"
    if outcome.get("error"):
        return "error"
    if not outcome.get("applied"):
        return "not applied"
    if same:
        return "same code"
    if "not checked:" in summary or not outcome.get("equivalent"):
        return "not checked"
    if outcome.get("faster") is not None:
        return "faster" if outcome["faster"] else "no faster"
    faster = speedup is not None and speedup >= FASTER and "no faster" not in summary
    return "faster" if faster else "no faster"


async def _run(problems: list[Problem], model: str, device: str, log) -> list[dict]:
    driver = Driver()
    results = []
    try:
        await driver.start({"model": model, "device": device, "verify": True})
        with tempfile.TemporaryDirectory() as tmp:
            for problem in problems:
                r = await _one(driver, Path(tmp), problem)
                results.append(r)
                speed = f", {r['speedup']:.1f}x" if r["speedup"] is not None else ""
                log(f"{problem.name}: {r['outcome']}{speed}, hidden tests "
                    f"{r['tests_passed']}/{r['tests']}, {r['seconds']:.1f} s — "
                    f"{r['message'][:160]}")
    finally:
        await driver.stop()
    return results


def summary(results: list[dict]) -> dict:
    n = len(results) or 1
    applied = [r for r in results if r["applied"]]
    rewritten = [r for r in applied if not r["same_code"]]
    timed = [r["speedup"] for r in applied if r["speedup"] is not None
             and r["outcome"] in ("faster", "no faster")]
    faster = [r for r in results if r["outcome"] == "faster"]
    return {"functions": len(results),
            "applied": len(applied),
            "applied_passing": sum(r["passed"] for r in applied) / max(len(applied), 1),
            "applied_failing": [r["problem"] for r in applied if not r["passed"]],
            "rewritten": len(rewritten),
            "rewritten_passing": sum(r["passed"] for r in rewritten) / max(len(rewritten), 1),
            "faster_share": len(faster) / n,
            "median_speedup": statistics.median(timed) if timed else None,
            "median_speedup_faster": statistics.median(r["speedup"] for r in faster)
            if faster else None,
            "outcomes": {kind: sum(r["outcome"] == kind for r in results) for kind in OUTCOMES},
            "kept_passing": sum(r["passed"] for r in results if not r["applied"])
            / max(len(results) - len(applied), 1),
            "originals_failing": [r["problem"] for r in results if not r["original_passes"]],
            "seconds_per_function": sum(r["seconds"] for r in results) / n,
            "seconds_median": statistics.median(r["seconds"] for r in results)
            if results else 0.0}


def machine() -> dict:
    return {"processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(), "python": platform.python_version(),
            "load_average": os.getloadavg()}


def rewrite_bench(model: str, device: str, count: int, log=print,
                  problems: list[Problem] | None = None) -> dict:
    """Each problem's function rewritten through one server session, then graded."""
    chosen = problems if problems is not None else select(count)
    report: dict = {"model": model, "machine": machine()}
    log(f"rewriting {len(chosen)} slow functions through the server:")
    started = time.perf_counter()
    results = asyncio.run(_run(chosen, model, device, log))
    report.update(summary(results), wall_seconds=time.perf_counter() - started,
                  load_average_after=os.getloadavg(), results=results)
    return report


def _share(x: float) -> str:
    return f"{x:.0%}"


def print_rewrite(report: dict) -> None:
    m = report["machine"]
    print(f"{report['model']} on {m['processor']} ({m['cpus']} CPUs, load "
          f"{m['load_average'][0]:.1f} at the start, "
          f"{report['load_average_after'][0]:.1f} at the end)")
    passing = (f"{_share(report['applied_passing'])} pass the hidden tests"
               if report["applied"] else "none to test")
    print(f"rewrites applied: {report['applied']}/{report['functions']}; of those, {passing}"
          + (f" (failing: {', '.join(report['applied_failing'])})"
             if report["applied_failing"] else ""))
    median = report["median_speedup"]
    print(f"faster equivalent: {_share(report['faster_share'])} of the functions; median "
          f"measured speed-up of the equivalent rewrites "
          + (f"{median:.1f}x" if median is not None else "-")
          + (f" ({report['median_speedup_faster']:.1f}x over the faster ones)"
             if report["median_speedup_faster"] is not None else ""))
    if report["rewritten"] != report["applied"]:
        print(f"of the applied, {report['rewritten']} changed the code (the rest gave the "
              f"user's function back with a note); {_share(report['rewritten_passing'])} of "
              f"those pass the hidden tests")
    print("outcomes: " + ", ".join(f"{kind} {count}" for kind, count
                                    in report["outcomes"].items() if count))
    print(f"time per function: mean {report['seconds_per_function']:.1f} s, median "
          f"{report['seconds_median']:.1f} s")
    if report["originals_failing"]:
        print("the originals of these fail their own hidden tests (a broken problem): "
              + ", ".join(report["originals_failing"]))
