"""The placement shape matrix: every shape a TODO is written in (tests/shapes.py), in every
language where the shape exists, implemented by the trained "polyglot" tiny model through the
real export -> ONNX -> engine -> Assistant path. Each case checks the invariant on the edited
file (it parses as well as the original did, one definition of the function, the lines
around the stub unchanged, the TODO resolved and its words kept) and that calling the
function in the edited file runs the new code."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests import shapes
from vibe_ls import edits, triggers
from vibe_ls.assist import Assistant, Target
from vibe_ls.settings import Settings

EXPECTED = 14  # the sum of the squares of 1, 2, 3


@pytest.fixture(scope="module")
def assistant(lsp_home: Path) -> Assistant:
    # the model by its directory: VIBE_LS_HOME stays the user's for the tests after these
    return Assistant(Settings(model=str(lsp_home / "models" / "polyglot"), device="cpu",
                              verify=False))


@pytest.mark.parametrize("shape", shapes.SHAPES, ids=lambda s: s.id)
def test_the_insert_is_one_working_function(shape: shapes.Shape, assistant: Assistant,
                                             tmp_path: Path) -> None:
    target = Target(shape.source, shape.language, shape.file_name)
    proposal = assistant.implement(target, shape.todo_line)
    text = edits.apply(shape.source, proposal.edits)
    assert triggers.error_count(text, shape.language) == triggers.error_count(
        shape.source, shape.language), text
    definitions = [s for s in triggers.definitions(text, shape.language)
                   if s.name == shape.function]
    assert len(definitions) == 1, text
    assert shapes.TODO_TEXT not in text
    assert shapes.TODO_TEXT.removeprefix("TODO: ") in text
    assert _kept_lines(shape) <= set(text.split("\n")), text
    assert run(shape, text, tmp_path) == EXPECTED, text


def _kept_lines(shape: shapes.Shape) -> set[str]:
    """The lines of the original that are neither the stub's placeholder nor the TODO."""
    placeholder = shapes.STUBS[shape.language][1]
    return {line for line in shape.source.split("\n")
            if placeholder not in line and shapes.TODO_TEXT not in line
            and not edits.PLACEHOLDER.match(line) and line.strip()
            and not (shape.real_body and line.startswith((" ", "\t")))}


# -- running the edited file ------------------------------------------------------------------

def run(shape: shapes.Shape, text: str, folder: Path) -> int | None:
    """What the edited file's function returns for [1, 2, 3] (Go, with no toolchain here, by
    reading the function back)."""
    runner = RUNNERS[shape.language]
    return runner(shape, text, folder)


def _python(shape: shapes.Shape, text: str, folder: Path) -> int:
    namespace: dict = {}
    exec(compile(text, shape.file_name, "exec"), namespace)
    function = namespace[shape.owner]().__getattribute__(shape.function) if shape.owner \
        else namespace[shape.function]
    return function([1, 2, 3])


def _output(command: list[str], folder: Path) -> int:
    done = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return int(done.stdout.strip())


def _c(shape: shapes.Shape, text: str, folder: Path) -> int:
    call = "sum_of_squares(a, 3)"
    (folder / "main.c").write_text(f"#include <stdio.h>\n{text}\nint main(void) {{\n"
                                   f"    int a[] = {{1, 2, 3}};\n    printf(\"%d\\n\", {call});\n"
                                   "    return 0;\n}\n")
    _build(["gcc", "-o", "main", "main.c"], folder)
    return _output(["./main"], folder)


def _cpp(shape: shapes.Shape, text: str, folder: Path) -> int:
    call = f"{shape.owner}().sum_of_squares(v)" if shape.owner else "sum_of_squares(v)"
    (folder / "main.cpp").write_text(f"#include <cstdio>\n#include <vector>\n{text}\n"
                                     "int main() {\n    std::vector<int> v{1, 2, 3};\n"
                                     f"    std::printf(\"%d\\n\", {call});\n}}\n")
    _build(["g++", "-std=c++17", "-o", "main", "main.cpp"], folder)
    return _output(["./main"], folder)


def _java(shape: shapes.Shape, text: str, folder: Path) -> int:
    (folder / shape.file_name).write_text(text)
    owner = Path(shape.file_name).stem  # Java's class is named after its file
    (folder / "Main.java").write_text(
        "public class Main {\n    public static void main(String[] args) {\n"
        f"        System.out.println({owner}.sumOfSquares(new int[]{{1, 2, 3}}));\n    }}\n}}\n")
    _build(["javac", "-d", ".", shape.file_name, "Main.java"], folder)
    return _output(["java", "-cp", ".", "Main"], folder)


def _node(shape: shapes.Shape, text: str, folder: Path) -> int:
    if shape.language == "typescript":
        from vibe_ls.verify.harness.typescript import to_javascript

        text = to_javascript(text)
    text = re.sub(r"^export (default )?", "", text, flags=re.MULTILINE)
    call = f"new {shape.owner}().sumOfSquares([1, 2, 3])" if shape.owner \
        else "sumOfSquares([1, 2, 3])"
    (folder / "main.js").write_text(f"{text}\nconsole.log({call});\n")
    return _output(["node", "main.js"], folder)


def _rust(shape: shapes.Shape, text: str, folder: Path) -> int:
    call = f"{shape.owner}::sum_of_squares(&[1, 2, 3])" if shape.owner \
        else "sum_of_squares(&[1, 2, 3])"
    (folder / "main.rs").write_text(f"#![allow(dead_code)]\n{text}\n"
                                    f"fn main() {{\n    println!(\"{{}}\", {call});\n}}\n")
    _build(["rustc", "--edition", "2021", "-o", "main", "main.rs"], folder)
    return _output(["./main"], folder)


def _go(shape: shapes.Shape, text: str, folder: Path) -> int | None:
    """No Go toolchain here: the function's body, read back, is the answer's body."""
    (function,) = [s for s in triggers.definitions(text, "go") if s.name == shape.function]
    body = shapes.CODE["go"].split("{", 1)[1].rsplit("}", 1)[0]
    statements = [line.strip() for line in body.split("\n") if line.strip()]
    found = [line.strip() for line in function.text.split("\n")]
    return EXPECTED if all(s in found for s in statements) and "return 0" not in found \
        else None


def _build(command: list[str], folder: Path) -> None:
    if shutil.which(command[0]) is None:
        pytest.skip(f"{command[0]} is not installed")
    done = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr


RUNNERS = {"python": _python, "c": _c, "cpp": _cpp, "java": _java, "javascript": _node,
           "typescript": _node, "rust": _rust, "go": _go}
