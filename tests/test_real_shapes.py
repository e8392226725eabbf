"""The shapes users write TODOs in, on the real default model through the CLI, as a user runs
it (`vibe-ls implement FILE --write`): one definition, the file's function runs the inserted
code, the lines around it are kept byte for byte, and the message speaks of the edited file."""

from __future__ import annotations

import doctest
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.shapes import PAIR_DOCTEST as DOCTEST

pytestmark = pytest.mark.real_model

ABOVE = """# TODO: return the sorted list of x in [0, m) with x*x % m == 1
def square_roots_of_one(m: int) -> list[int]:
    pass
"""
JAVASCRIPT = """// TODO: return the largest sum of a non-empty contiguous subarray of nums
function maxSubarraySum(nums) { return 0; }

module.exports = { maxSubarraySum };
"""


def implement(tmp_path: Path, name: str, source: str) -> tuple[str, str]:
    """The file after `vibe-ls implement --write`, and the result message."""
    path = tmp_path / name
    path.write_text(source)
    proc = run_cli("implement", str(path), "--write")
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = [line for line in proc.stderr.split("\n") if line.startswith("vibe-ls: ")][-1]
    return path.read_text(), summary


def test_a_todo_above_a_stub_fills_the_stub(real_model: Path, tmp_path: Path) -> None:
    text, summary = implement(tmp_path, "roots.py", ABOVE)
    assert text.count("def square_roots_of_one") == 1, text
    assert "    pass\n" not in text and "TODO" not in text
    assert text.startswith("# return the sorted list of x in [0, m) with x*x % m == 1\n")
    namespace: dict = {}
    exec(compile(text, "roots.py", "exec"), namespace)
    assert namespace["square_roots_of_one"](8) is not None  # the inserted code, not the stub
    assert "implemented `square_roots_of_one`" in summary, summary


def test_a_doctest_docstring_is_kept_and_the_verdict_is_the_files(real_model: Path,
                                                                  tmp_path: Path) -> None:
    text, summary = implement(tmp_path, "pairs.py", DOCTEST)
    docstring = DOCTEST[DOCTEST.index('    """'):DOCTEST.index('    """\n    #') + 8]
    assert docstring in text and text.count("def has_pair_with_sum") == 1, text
    assert "    pass\n" not in text
    namespace: dict = {}
    exec(compile(text, "pairs.py", "exec"), namespace)
    finder, runner = doctest.DocTestFinder(), doctest.DocTestRunner(verbose=False)
    (test,) = finder.find(namespace["has_pair_with_sum"], globs=namespace)
    failed, tried = runner.run(test, out=lambda _: None)
    said = re.search(r"(\d+)/(\d+) docstring examples", summary)
    assert said is not None, summary
    assert (int(said[1]), int(said[2])) == (tried - failed, tried), summary


def test_a_javascript_todo_above_a_function_leaves_one_declaration(real_model: Path,
                                                                   tmp_path: Path) -> None:
    text, summary = implement(tmp_path, "subarray.js", JAVASCRIPT)
    assert len(re.findall(r"function maxSubarraySum\b", text)) == 1, text
    assert "{ return 0; }" not in text and text.endswith("module.exports = { maxSubarraySum };\n")
    if shutil.which("node"):
        done = subprocess.run(["node", "-e", "const {maxSubarraySum} = require(process.argv[1]);"
                               " console.log(typeof maxSubarraySum([1, -2, 3]))",
                               str(tmp_path / "subarray.js")],
                              capture_output=True, text=True, timeout=60)
        assert done.stdout.strip() == "number", done.stderr
    assert "implemented `maxSubarraySum`" in summary, summary
