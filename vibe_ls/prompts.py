"""What the model is asked: the system prompt, one user message per task, and the context
around the code, cut to a token budget measured with the model's own tokenizer."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass

SYSTEM_PROMPT = (
    "You are an algorithm engineer. You write correct, efficient code for algorithm and "
    "data-structure tasks. First reason briefly about the best algorithm and the edge cases. "
    "Then give the complete code in one fenced code block in the requested language. After "
    "the code block write one line in exactly this form:\n"
    "Complexity: Time O(...), Space O(...). Approach: <a few words>.\n"
    "Write the reasoning and the complexity line in English, even when the task is written in "
    "another language."
)

LANGUAGE_NAMES = {"python": "Python", "c": "C", "cpp": "C++", "java": "Java",
                  "javascript": "JavaScript", "typescript": "TypeScript", "tsx": "TypeScript",
                  "go": "Go", "rust": "Rust"}
FENCE_TAGS = {"tsx": "typescript", "cpp": "cpp"}

CONTEXT_BUDGET = 1536  # tokens of file context; the prompt's fixed parts come on top

CountTokens = Callable[[str], int]


@dataclass(frozen=True)
class CodeContext:
    language: str
    file_name: str
    code: str  # the enclosing scope, or the selection
    imports: tuple[str, ...] = ()
    surrounding: str = ""  # more of the file, included while the budget allows


def _fence(language: str, code: str) -> str:
    return f"```{FENCE_TAGS.get(language, language)}\n{code.rstrip()}\n```"


def _context_block(ctx: CodeContext, count: CountTokens, budget: int) -> str:
    """The code the model sees: the scope always, imports and more of the file if they fit."""
    parts = [f"File: {ctx.file_name} ({LANGUAGE_NAMES[ctx.language]})"]
    if ctx.imports:
        parts.append("Imports already in the file:\n" + "\n".join(ctx.imports))
    parts.append(_fence(ctx.language, ctx.code))
    text = "\n".join(parts)
    if ctx.surrounding and count(text) + count(ctx.surrounding) < budget:
        text += "\nRest of the file, for reference:\n" + _fence(ctx.language, ctx.surrounding)
    if count(text) > budget:  # a huge scope: keep its head, where signature and TODO are
        lines = text.splitlines()
        while len(lines) > 8 and count("\n".join(lines)) > budget:
            lines = lines[: int(len(lines) * 0.8)]
        text = "\n".join(lines) + "\n…"
    return text


# Problem statements pasted from a judge's site carry its HTML and pictures.
_PICTURE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_SUP = re.compile(r"<sup>\s*([^<]*?)\s*</sup>", re.IGNORECASE)
_SUB = re.compile(r"<sub>\s*([^<]*?)\s*</sub>", re.IGNORECASE)
_TAG = re.compile(r"</?(?:code|strong|em|b|i|u|p|pre|span|font|ul|ol|li|div|br)\b[^>]*>",
                  re.IGNORECASE)
_BLANK_LINES = re.compile(r"\n\s*\n(?:\s*\n)+")


def readable(text: str) -> str:
    """A task as plain text for the model: `nums<sup>2</sup>` as `nums^2`, `id<sub>i</sub>` as
    `id_i`, other markup and pictures left out. Text without markup comes back unchanged."""
    if "<" not in text and "](" not in text and "&" not in text:
        return text
    text = _SUB.sub(r"_\1", _SUP.sub(r"^\1", _PICTURE.sub("", text)))
    text = html.unescape(_TAG.sub("", text))
    return _BLANK_LINES.sub("\n\n", text)


def messages(system_prompt: str, user: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": system_prompt or SYSTEM_PROMPT},
            {"role": "user", "content": user}]


def implement(ctx: CodeContext, todo: str, function: str | None, count: CountTokens,
              system_prompt: str = "", budget: int = CONTEXT_BUDGET,
              docstring: str | None = None) -> list[dict[str, str]]:
    """The Implement question; a `docstring` left out of the code comes with the task."""
    target = (f"Implement the function `{function}` as its TODO comment asks: {todo}\n"
              "Keep its name and signature, and write the complete function."
              if function else f"Write the code this TODO comment asks for: {todo}")
    problem = ""
    if docstring:
        problem = f"Problem:\n{readable(docstring.strip())}\n\n"
        target += " Its docstring, left out of the code, is the problem above."
    user = (f"{problem}{_context_block(ctx, count, budget)}\n\n{target}\n"
            f"Answer in {LANGUAGE_NAMES[ctx.language]}.")
    return messages(system_prompt, user)


REWRITE = ("Rewrite this code with a better algorithm (lower time complexity where possible). "
           "Keep the same names, signatures and behaviour for every input. Give the complete "
           "rewritten code.")
COMPLEXITY = ("What are the time and space complexity of this code, and what is its approach? "
              "Think briefly, then answer with one line in exactly this form:\n"
              "Complexity: Time O(...), Space O(...). Approach: <a few words>.")
EXPLAIN = ("Explain this code for a programmer, in Markdown, in at most 12 short lines, under "
           "these headings: **What it computes**, **Algorithm**, **Complexity** (time and space "
           "in big-O), **Edge cases**. Do not repeat the code.")


def about_code(instruction: str, ctx: CodeContext, count: CountTokens, system_prompt: str = "",
               budget: int = CONTEXT_BUDGET) -> list[dict[str, str]]:
    """A question about the code in `ctx`: REWRITE, COMPLEXITY or EXPLAIN."""
    return messages(system_prompt, f"{_context_block(ctx, count, budget)}\n\n{instruction}")


def checks(task: str, signature: str, name: str, count: int = 5,
           system_prompt: str = "") -> list[dict[str, str]]:
    """Ask for test cases of a Python function, as `assert name(...) == value` lines."""
    user = (f"A Python function does this: {readable(task.strip())}\n"
            f"```python\n{signature.strip()}\n```\n"
            f"Write {count} test cases for `{name}` as Python assert statements, one per line, "
            f"in the form `assert {name}(arguments) == expected`. Use small inputs and cover "
            "edge cases. Work out each expected value carefully by hand from the task. Write "
            "only the assert lines.")
    return messages(system_prompt, user)


def fix_build(messages: list[dict[str, str]], language: str, code: str,
              error: str) -> list[dict[str, str]]:
    """The Implement question, the model's answer to it (`code`), and what its compiler said."""
    return [*messages, {"role": "assistant", "content": _fence(language, code)},
            {"role": "user", "content": (
                f"This code does not compile:\n```\n{error.strip()}\n```\nFix it: give the "
                "complete corrected function, with the same name and signature.")}]


def reference(task: str, signature: str, system_prompt: str = "",
              failed: str = "", plain: bool = False) -> list[dict[str, str]]:
    """Ask for a slow, obviously correct version of a function, to test fast ones against:
    by brute force, or `plain` (the task's definitions followed literally); `failed` says
    which example an earlier version got wrong."""
    again = (f"An earlier version got an example wrong: {failed}. Read the task again. "
             if failed else "")
    how = ("Write a simple, obviously correct reference version of this function, to test a "
           "fast one against. Follow the task's definitions literally; it may be slow. "
           if plain else
           "Write a slow but obviously correct reference version of this function, to test a "
           "fast one against. Use plain brute force: try every possible choice (nested loops "
           "or itertools), with no clever algorithm. ")
    user = (f"Task: {readable(task.strip())}\n```python\n{signature.strip()}\n```\n"
            f"{again}{how}Keep the same name and signature. Only the code.")
    return messages(system_prompt, user)

