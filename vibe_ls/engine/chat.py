"""Tokenization with `tokenizers` and chat prompts with the model's own jinja2 template."""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path

import jinja2
import numpy as np
from jinja2.sandbox import ImmutableSandboxedEnvironment
from tokenizers import Tokenizer


def _raise(message: str) -> None:
    raise jinja2.TemplateError(message)


def _tojson(value: object, indent: int | None = None) -> str:
    return json.dumps(value, ensure_ascii=False, indent=indent)


class ChatFormat:
    """A model directory's tokenizer.json plus chat_template.jinja."""

    def __init__(self, model_dir: Path) -> None:
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        # The same environment settings transformers renders chat templates with.
        env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
        env.globals["raise_exception"] = _raise
        env.filters["tojson"] = _tojson
        self.template = env.from_string((model_dir / "chat_template.jinja").read_text())

    def render(self, messages: list[dict[str, str]], add_generation_prompt: bool = True) -> str:
        return self.template.render(messages=messages, add_generation_prompt=add_generation_prompt)

    def encode(self, text: str) -> list[int]:
        """Token ids; special tokens written in the text (<|im_start|>) map to their ids."""
        return self.tokenizer.encode(text, add_special_tokens=False).ids

    def decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=True)

    @cached_property
    def backtick_ids(self) -> np.ndarray:
        """Tokens that could close a code block: they begin with a backtick (after any
        whitespace) or hold two. Decoding the whole vocabulary takes 0.3 s, once."""
        texts = self.tokenizer.decode_batch([[i] for i in range(self.tokenizer.get_vocab_size())],
                                            skip_special_tokens=False)
        return np.array([i for i, x in enumerate(texts)
                         if x.lstrip().startswith("`") or "``" in x], dtype=np.int64)


class TextStream:
    """Incremental detokenization: the new text each token adds, never half a character."""

    def __init__(self, chat: ChatFormat) -> None:
        self.chat = chat
        self.ids: list[int] = []
        self.prefix = 0  # decode from here, so merges across the boundary come out right
        self.read = 0  # text of ids[prefix:read] has already been emitted

    def push(self, ids: list[int]) -> str:
        self.ids.extend(ids)
        before = self.chat.decode(self.ids[self.prefix : self.read])
        after = self.chat.decode(self.ids[self.prefix :])
        if after.endswith("\ufffd") or len(after) <= len(before):
            return ""  # an incomplete UTF-8 sequence: wait for the next token
        self.prefix, self.read = self.read, len(self.ids)
        return after[len(before) :]
