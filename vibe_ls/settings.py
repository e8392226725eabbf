"""User settings: one schema for initializationOptions, workspace/configuration and the CLI.

Keys are camelCase as editors send them. A bad value falls back to its default and yields a
warning the server shows the user; it never stops the server.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from typing import Any

from vibe_ls.home import DEFAULT_MODEL

SECTION = "vibeLs"
ALL_LANGUAGES = ("python", "c", "cpp", "java", "javascript", "typescript", "tsx", "go", "rust")


@dataclass(frozen=True)
class Settings:
    model: str = DEFAULT_MODEL
    device: str = "auto"
    adapter: str = ""  # a LoRA adapter of the model (name or directory); empty: none
    max_new_tokens: int = 768
    reasoning_budget: int = 384
    system_prompt: str = ""  # empty: the built-in English prompt
    todo_marker: str = "TODO"
    hover: bool = True
    languages: tuple[str, ...] = field(default=ALL_LANGUAGES)
    verify: bool = True  # run candidates against the docstring's examples before inserting
    candidates: int = 0  # most candidates to try when one fails its checks; 0: by device
    verify_budget: int = 0  # seconds verification may add to an Implement; 0: twice what
    #                         writing the first answer took, at least 20 s


def _is_int_in(low: int, high: int) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and low <= v <= high


_RULES: dict[str, tuple[str, Callable[[Any], bool], str]] = {
    # attribute: (editor key, check, what a good value is)
    "model": ("model", lambda v: isinstance(v, str) and v.strip() != "", "a model name or path"),
    "device": ("device", lambda v: v in ("auto", "cuda", "cpu"), "auto, cuda or cpu"),
    "adapter": ("adapter", lambda v: isinstance(v, str), "an adapter name or directory"),
    "max_new_tokens": ("maxNewTokens", _is_int_in(16, 8192), "an integer from 16 to 8192"),
    "reasoning_budget": ("reasoningBudget", _is_int_in(0, 8192), "an integer from 0 to 8192"),
    "system_prompt": ("systemPrompt", lambda v: isinstance(v, str), "a string"),
    "todo_marker": ("todoMarker", lambda v: isinstance(v, str) and v.strip().isidentifier(),
                    "a word such as TODO or FIXME"),
    "hover": ("hover", lambda v: isinstance(v, bool), "true or false"),
    "verify": ("verify", lambda v: isinstance(v, bool), "true or false"),
    "candidates": ("candidates", _is_int_in(0, 16), "an integer from 0 (by device) to 16"),
    "verify_budget": ("verifyBudget", _is_int_in(0, 3600),
                      "seconds from 0 (automatic) to 3600"),
    "languages": ("languages",
                  lambda v: isinstance(v, list) and all(x in ALL_LANGUAGES for x in v),
                  f"a list drawn from {', '.join(ALL_LANGUAGES)}"),
}


def _section(raw: Any) -> dict[str, Any]:
    """Accept the settings bare or nested under the `vibeLs` section."""
    if not isinstance(raw, dict):
        return {}
    nested = raw.get(SECTION)
    return nested if isinstance(nested, dict) else raw


def parse_settings(raw: Any, base: Settings | None = None) -> tuple[Settings, list[str]]:
    """Settings from an editor's JSON, and a warning for each value that was rejected."""
    values, warnings = {}, []
    data = _section(raw)
    for attr, (key, check, expected) in _RULES.items():
        if key not in data or data[key] is None:
            continue
        if check(data[key]):
            value = data[key]
            values[attr] = tuple(value) if isinstance(value, list) else value
        else:
            default = getattr(Settings(), attr)
            warnings.append(f"vibe-ls: setting {key}={data[key]!r} is invalid (expected "
                            f"{expected}); using {default!r}")
            values[attr] = default
    return replace(base or Settings(), **values), warnings


def as_dict(settings: Settings) -> dict[str, Any]:
    """The settings as an editor sends them (camelCase keys, lists)."""
    return {_RULES[f.name][0]: list(v) if isinstance(v := getattr(settings, f.name), tuple)
            else v for f in fields(settings)}
