"""`vibe-ls implement` and `vibe-ls explain` without an editor, with the real default model:
the same code path as the code actions, a unified diff or the file rewritten in place, and
the user's text never lost, also when the file is edited while the model writes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import run_cli

SOURCE = ("def largest(nums: list[int]) -> int:\n"
          "    # TODO: return the largest number in nums\n"
          "    pass\n")


def _largest(text: str) -> int:
    namespace: dict = {}
    exec(compile(text, "largest.py", "exec"), namespace)
    return namespace["largest"]([3, 9, 2, -4])


@pytest.mark.real_model
def test_implement_prints_a_diff_and_leaves_the_file_alone(real_model: Path,
                                                           tmp_path: Path) -> None:
    path = tmp_path / "largest.py"
    path.write_text(SOURCE)
    proc = run_cli("implement", str(path), "--no-verify")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("--- a/largest.py\n+++ b/largest.py\n")
    assert "-    # TODO: return the largest number in nums" in proc.stdout
    assert "+    # Time: O(" in proc.stdout
    assert "vibe-ls: implemented `largest`" in proc.stderr
    assert path.read_text() == SOURCE


@pytest.mark.real_model
def test_write_keeps_a_windows_files_line_endings(real_model: Path, tmp_path: Path) -> None:
    path = tmp_path / "largest.py"
    tail = 'SEPARATOR = "a\rb"  # a lone carriage return, kept as it is\n'
    path.write_bytes((SOURCE + "\n" + tail).replace("\n", "\r\n").encode())
    proc = run_cli("implement", str(path), "--write", "--no-verify")
    assert proc.returncode == 0, proc.stderr
    raw = path.read_bytes().decode()
    assert raw.count("\n") == raw.count("\r\n") and raw.count("\r") == raw.count("\n") + 1
    assert raw.endswith(tail.replace("\n", "\r\n")) and "# Time: O(" in raw
    assert _largest(raw.replace("\r\n", "\n").split("SEPARATOR")[0]) == 9


@pytest.mark.real_model
def test_write_keeps_a_classic_mac_files_line_endings(real_model: Path,
                                                      tmp_path: Path) -> None:
    path = tmp_path / "largest.py"
    path.write_bytes(SOURCE.replace("\n", "\r").encode())
    proc = run_cli("implement", str(path), "--write", "--no-verify")
    assert proc.returncode == 0, proc.stderr
    raw = path.read_bytes().decode()
    assert "\n" not in raw and "# Time: O(" in raw and "TODO" not in raw
    assert _largest(raw.replace("\r", "\n")) == 9


@pytest.mark.real_model
def test_explain_prints_markdown(real_model: Path, tmp_path: Path) -> None:
    path = tmp_path / "largest.py"
    path.write_text("def largest(nums: list[int]) -> int:\n    best = nums[0]\n"
                    "    for x in nums:\n        best = max(best, x)\n    return best\n")
    proc = run_cli("explain", str(path), "--lines", "1-5")
    assert proc.returncode == 0, proc.stderr
    assert "O(" in proc.stdout and "**" in proc.stdout


def _write_while_editing(path: Path, edit) -> subprocess.CompletedProcess:
    """`implement --write`, with `edit(path)` done once the model has started writing."""
    proc = subprocess.Popen([sys.executable, "-m", "vibe_ls", "implement", str(path), "--write",
                             "--no-verify"], stderr=subprocess.PIPE, text=True)
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if "vibe-ls: writing" in line:
            edit(path)
            break
    seen.extend(proc.stderr)
    proc.wait(timeout=600)
    return subprocess.CompletedProcess(proc.args, proc.returncode, "", "".join(seen))


@pytest.mark.real_model
def test_write_follows_the_todo_when_the_file_was_edited_meanwhile(
        real_model: Path, tmp_path: Path) -> None:
    path = tmp_path / "largest.py"
    path.write_text(SOURCE)
    mine = "# my notes, written while the model was busy\n\n"

    def edit(p: Path) -> None:
        p.write_text(mine + p.read_text() + "\n\ndef smallest(nums):\n    return min(nums)\n")

    proc = _write_while_editing(path, edit)
    assert proc.returncode == 0, proc.stderr
    assert "changed meanwhile; the insert follows its TODO" in proc.stderr
    text = path.read_text()
    assert text.startswith(mine) and text.endswith("    return min(nums)\n")
    assert "TODO" not in text and "    # Time: O(" in text
    assert _largest(text) == 9


@pytest.mark.real_model
def test_write_drops_the_insert_when_the_todo_is_gone(real_model: Path,
                                                        tmp_path: Path) -> None:
    path = tmp_path / "largest.py"
    path.write_text(SOURCE)
    rewritten = "def largest(nums: list[int]) -> int:\n    return max(nums)\n"
    proc = _write_while_editing(path, lambda p: p.write_text(rewritten))
    assert proc.returncode != 0
    assert "is gone; nothing was written" in proc.stderr
    assert path.read_text() == rewritten
    assert [p.name for p in tmp_path.iterdir()] == ["largest.py"]  # no temporary left


@pytest.mark.parametrize(("args", "says"), [
    (["implement", "{dir}/missing.py"], "missing.py does not exist"),
    (["implement", "{dir}/latin1.py"], "latin1.py is not UTF-8 text"),
    (["implement", "{dir}/largest.py", "--line", "1"], "no TODO comment on line 1"),
    (["explain", "{dir}/largest.py", "--lines", "2-9"], "not within"),
    (["explain", "{dir}/largest.py", "--lines", "3-2"], "not within"),
    (["implement", "{dir}/largest.py", "--candidates", "0"], "an integer from 1 to 16"),
])
def test_bad_input_is_a_clear_error(tmp_path: Path, args: list[str], says: str) -> None:
    (tmp_path / "largest.py").write_text(SOURCE)
    (tmp_path / "latin1.py").write_bytes("# caf\xe9\n".encode("latin-1"))
    proc = run_cli(*[a.format(dir=tmp_path) for a in args],
                   env={"VIBE_LS_HOME": str(tmp_path / "home")})
    assert proc.returncode != 0
    assert says in proc.stderr and "Traceback" not in proc.stderr
    assert (tmp_path / "largest.py").read_text() == SOURCE
