"""Training examples for `vibe-ls tune`: (chat messages, answer) pairs.

From JSONL (one {"instruction", "input", "output"} object a line) or from a folder of
Python files, whose documented functions become the Implement requests the server would send
for them (the body replaced by a TODO that says what the docstring or leading comment says)
answered by the function as written.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Callable
from pathlib import Path

from vibe_ls.errors import VibeError

Example = tuple[list[dict[str, str]], str]  # (messages, answer)


def load_examples(data: Path, count: Callable[[str], int]) -> list[Example]:
    """The examples in `data` (a .jsonl file or a folder of source files), or an error
    saying why there are none."""
    if data.is_file():
        examples = _jsonl_examples(data)
    elif data.is_dir():
        examples = _folder_examples(data, count)
    else:
        raise VibeError(f"{data} does not exist", "pass a .jsonl file or a folder of sources")
    if not examples:
        raise VibeError(f"no training examples in {data}",
                        "JSONL lines need instruction and output; source files need "
                        "functions with a docstring or a leading comment")
    return examples


def _jsonl_examples(path: Path) -> list[Example]:
    from vibe_ls import prompts

    examples = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            instruction, output = row["instruction"], row["output"]
        except (ValueError, KeyError, TypeError) as exc:
            raise VibeError(f"{path}:{number} is not an instruction/input/output object "
                            f"({exc})") from None
        user = instruction + (f"\n\n{row['input']}" if row.get("input") else "")
        examples.append((prompts.messages("", user), output))
    return examples


def _folder_examples(folder: Path, count: Callable[[str], int]) -> list[Example]:
    examples = []
    for path in sorted(folder.rglob("*.py")):
        try:
            text = path.read_text(encoding="utf-8")
            tree = ast.parse(text)
        except (UnicodeDecodeError, SyntaxError):
            continue  # not a file a user would implement in: skip it
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                example = function_example(text, node, path.name, count)
                if example:
                    examples.append(example)
    return examples


def _leading_comment(lines: list[str], body: list) -> tuple[str, int] | None:
    """The comment lines right above the first statement of a body (after its docstring),
    joined, and the index of the first of them."""
    first = body[0].lineno - 1
    start = first
    while start > 0 and lines[start - 1].strip().startswith("#"):
        start -= 1
    text = " ".join(lines[i].strip().lstrip("#").strip() for i in range(start, first))
    return (text, start) if text else None


def _summary(lines: list[str], node) -> str | None:
    """What the function does, from its docstring's first line or the comment above it."""
    doc = ast.get_docstring(node)
    if doc and doc.strip():
        return doc.strip().splitlines()[0].strip()
    above = node.lineno - 2 - len(node.decorator_list)
    if above >= 0 and lines[above].strip().startswith("#"):
        return lines[above].strip().lstrip("#").strip() or None
    return None


def stub(text: str, node) -> tuple[str, int] | None:
    """The file with `node`'s body (after its docstring) replaced by `# TODO: what it does`
    and `pass`, and the TODO's line; what it does is the comment leading the body, else the
    docstring's first line, else the comment above the function. None when nothing says."""
    lines = text.split("\n")
    body = node.body[1:] if ast.get_docstring(node) else node.body
    if not body:
        return None
    leading = _leading_comment(lines, body)
    summary, start = leading or (_summary(lines, node), body[0].lineno - 1)
    if not summary:
        return None
    indent = " " * body[0].col_offset
    todo = [f"{indent}# TODO: {summary}", f"{indent}pass"]
    return "\n".join(lines[:start] + todo + lines[node.end_lineno:]), start


def function_example(text: str, node, file_name: str,
                     count: Callable[[str], int]) -> Example | None:
    """The Implement request for the stubbed function, answered by the function itself."""
    from vibe_ls.assist import Target, implement_prompt

    stubbed = stub(text, node)
    if stubbed is None:
        return None
    source, line = stubbed
    lines = text.split("\n")
    first = node.lineno - 1 - len(node.decorator_list)
    body = node.body[1:] if ast.get_docstring(node) else node.body
    # the answer as the model should write it: signature and code; the docstring and the
    # comment it answers stay in the file where they are (the server keeps them)
    function = "\n".join(lines[first:node.body[0].lineno - 1]
                         + lines[body[0].lineno - 1:node.end_lineno])
    try:
        messages = implement_prompt(Target(source, "python", file_name), line, count)
    except VibeError:
        return None
    return messages, f"```python\n{function}\n```"
