"""The bare model's column of the quality benchmark: the same stub files, asked of the same
weights with a plain chat prompt, greedy, with none of vibe-ls' flow (no system prompt of
ours, no context building, no verification, no placement). Its code replaces the whole
stub file. This is the bar the code action must clear: it should never lose to its own
model asked directly."""

from __future__ import annotations

import re
import time

RAW_INSTRUCTION = "Complete the function."
# Enough for a short reasoning and a whole LeetCode solution; the answer ends anyway once its
# first code block closes (the only part that is used).
RAW_MAX_NEW_TOKENS = 1024

_FIRST_BLOCK = re.compile(r"```[^\n]*\n(.*?)(?:^[ \t]*```|\Z)", re.S | re.M)


def raw_messages(source: str) -> list[dict[str, str]]:
    """The file as-is with a one-line instruction. No system message: the chat template's
    own default stands, as for someone asking the model in a chat window."""
    return [{"role": "user", "content": f"{RAW_INSTRUCTION}\n\n```python\n{source}```"}]


def first_code_block(answer: str) -> str:
    """The first fenced block's code (an unclosed one runs to the end), else the answer."""
    found = _FIRST_BLOCK.search(answer)
    return found.group(1) if found else answer


def raw_module(source: str, code: str) -> str:
    """The file the bare model's answer makes: its code in place of the whole stub, with
    the stub's imports it left out (the stub had them; dropping them is not the model's
    answer being wrong)."""
    missing = [line for line in source.splitlines()
               if line.startswith(("import ", "from ")) and line not in code.splitlines()]
    return "".join(line + "\n" for line in missing) + code


def raw_answer(engine, source: str) -> tuple[str, str, float]:
    """The bare model's greedy answer for one stub: (module text, finish reason, seconds)."""
    from vibe_ls.engine import Request

    start = time.perf_counter()
    result = engine.generate(Request(prompt=engine.encode_chat(raw_messages(source)),
                                     max_new_tokens=RAW_MAX_NEW_TOKENS, after_code=0))
    module = raw_module(source, first_code_block(result.text))
    return module, result.finish_reason, time.perf_counter() - start
