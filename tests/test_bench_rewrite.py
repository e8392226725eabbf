"""The rewrite benchmark's machinery: its hidden tests really run against the file the action
left (a wrong rewrite fails them, a problem whose original fails them is reported failing),
and `vibe-ls bench --rewrite` drives the real server over LSP (the tiny taught model).
Speed is the benchmark's to measure, not this file's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli
from vibe_ls.bench import rewrite
from vibe_ls.bench.rewrite_problems import PROBLEMS, Problem
from vibe_ls.verify.sandbox import unavailable

DEDUPE = next(p for p in PROBLEMS if p.name == "dedupe")
# The 0.5B's rewrite from issue 23: it never adds to `seen`, so duplicates stay.
NEVER_ADDS = "def dedupe(xs):\n    seen = set()\n    return [x for x in xs if x not in seen]\n"
WITH_A_SET = ("def dedupe(xs):\n    seen = set()\n    out = []\n    for x in xs:\n"
              "        if x not in seen:\n            seen.add(x)\n            out.append(x)\n"
              "    return out\n")
# dedupe with a hidden test its own original fails: the benchmark must say it fails.
BROKEN = Problem("dedupe", DEDUPE.source, (*DEDUPE.tests, "assert dedupe([1, 1]) == [1, 1]"),
                 "a problem whose hidden tests are wrong")


def test_every_original_passes_its_hidden_tests_and_they_cover_the_edges():
    assert len(PROBLEMS) >= 30 and len({p.name for p in PROBLEMS}) == len(PROBLEMS)
    for problem in PROBLEMS:
        graded = rewrite.grade(problem.source, problem)
        assert graded["passed"] == graded["total"] >= 4, (problem.name, graded["failed"])


def test_a_wrong_rewrite_fails_the_hidden_tests_and_a_right_one_passes():
    wrong = rewrite.grade(NEVER_ADDS, DEDUPE)
    assert 0 < wrong["passed"] < wrong["total"]
    assert any("dedupe([3, 1, 3, 2, 1])" in f for f in wrong["failed"])
    assert rewrite.grade(WITH_A_SET, DEDUPE)["passed"] == len(DEDUPE.tests)
    broken = rewrite.grade("def dedupe(xs):\n    return xs[\n", DEDUPE)
    assert broken["passed"] == 0 and "SyntaxError" in broken["failed"][0]


def test_the_speed_up_comes_from_the_action_or_its_message():
    assert rewrite.speed_up({"applied": True, "speedup": 31.0}) == 31.0
    shown = "same results as the original on 40 inputs; measured ≈ n^1.02 against the " \
            "original's ≈ n^1.98 (2.5\N{MULTIPLICATION SIGN} slower at n=4096)"
    assert rewrite.speed_up({"applied": True, "shown": shown}) == pytest.approx(0.4)
    assert rewrite.classify({"applied": True, "equivalent": True, "shown": shown},
                            0.4) == "no faster"
    assert rewrite.classify({"applied": True, "equivalent": False,
                             "summary": "vibe-ls: rewritten — not checked: no sandbox"},
                            None) == "not checked"
    assert rewrite.classify({"applied": False, "refused": True}, None) == "refused"
    kept = "vibe-ls: the rewrite was not applied, your code stays: no better algorithm found: x"
    assert rewrite.classify({"refused": True, "summary": kept}, None) == "kept"
    slower = "vibe-ls: the rewrite was not applied, your code stays: it is slower: same …"
    assert rewrite.classify({"refused": True, "summary": slower}, None) == "slower"


@pytest.mark.skipif(bool(unavailable()), reason="no sandbox on this machine")
def test_the_benchmark_runs_the_action_and_grades_what_it_left(
        lsp_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("VIBE_LS_HOME", str(tmp_path))
    report = rewrite.rewrite_bench(str(lsp_home / "models" / "taught"), "cpu", 2, lambda _: None,
                                   problems=[DEDUPE, BROKEN])
    sound, broken = report["results"]
    for r in (sound, broken):
        assert r["outcome"] in rewrite.OUTCOMES
        assert r["message"].startswith("vibe-ls:"), r["message"]  # the server answered
    # the tiny model's rewrite is never right: what stays is the user's code, which passes
    assert sound["applied"] or (sound["passed"] and sound["result"] == DEDUPE.source)
    assert not broken["passed"] and not broken["original_passes"]
    assert broken["tests_passed"] < broken["tests"] == len(BROKEN.tests)
    assert any("dedupe([1, 1]) == [1, 1]" in f for f in broken["failed"])
    assert report["originals_failing"] == ["dedupe"]
    assert sum(report["outcomes"].values()) == report["functions"] == 2


@pytest.mark.skipif(bool(unavailable()), reason="no sandbox on this machine")
def test_the_command_prints_the_shares_and_writes_every_case(lsp_home: Path, tmp_path: Path):
    out = tmp_path / "rewrite.json"
    proc = run_cli("bench", "--rewrite", "1", "--model", str(lsp_home / "models" / "taught"),
                   "--device", "cpu", "--json", str(out),
                   env={"VIBE_LS_HOME": str(tmp_path)}, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "rewrites applied: " in proc.stdout and "/1; of those" in proc.stdout
    assert "faster equivalent: " in proc.stdout and "time per function" in proc.stdout
    report = json.loads(out.read_text())
    (case,) = report["results"]
    assert case["problem"] == rewrite.select(1)[0].name
    assert case["tests"] == len(rewrite.select(1)[0].tests)
    assert report["machine"]["cpus"] >= 1


def test_the_users_function_given_back_with_a_note_is_not_counted_as_a_rewrite():
    noted = "# Time: O(n^2), Space: O(n)\n" + DEDUPE.source
    assert rewrite.same_code(noted, DEDUPE)
    undocumented = DEDUPE.source.replace(
        '    """The items of xs without repeats, in the order they first appear."""\n', "")
    assert undocumented != DEDUPE.source and rewrite.same_code(undocumented, DEDUPE)
    assert not rewrite.same_code(DEDUPE.source.replace("out.append(x)", "out += [x]"), DEDUPE)
    assert not rewrite.same_code("def dedupe(xs):\n    return xs[\n", DEDUPE)
    outcome = {"applied": True, "equivalent": True, "faster": False}
    assert rewrite.classify(outcome, 1.0, same=True) == "same code"
    assert rewrite.classify(outcome, 1.0) == "no faster"
