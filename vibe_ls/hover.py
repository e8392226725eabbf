"""Hover answers at once with what is known, and the explanation follows in the background.

Editors cancel a hover when the mouse moves, so waiting for the model (20 s on a CPU for a
full explanation) is no answer. The first hover over a function shows what needs no model:
the complexity note the file already has above it and the growth vibe-ls measured for it,
with a line saying the explanation is being written; the server writes it (and times the
function) in the background, and the next hover has it, with the measured growth beside the
model's claim.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vibe_ls import triggers
from vibe_ls.verify import growth

PENDING = ("_vibe-ls is writing the explanation; hover again in a few seconds, or run "
           "**Explain selection**._")
_CLAIM = re.compile(r"\bO\((?:[^()]|\([^()]*\))*\)")
_NOTE = re.compile(r"^\s*(?:#|//)\s*Time:\s*(?P<note>.+)$")


@dataclass(frozen=True)
class Known:
    """What a hover can say before the model has written anything."""

    markdown: str
    complete: bool  # the explanation is in it: nothing left to write in the background


def claimed_time(markdown: str) -> str:
    """The time complexity an explanation states: the first O(...) under its Complexity
    heading (else anywhere), or ""."""
    at = markdown.lower().find("complexity")
    found = _CLAIM.search(markdown, max(at, 0)) or _CLAIM.search(markdown)
    return found.group(0).replace(" ", "") if found else ""


def note_above(text: str, scope: triggers.Scope | None) -> str:
    """The complexity note right above a function (`Time: O(n), Space: O(1)`), or ""."""
    if scope is None:
        return ""
    lines = text.split("\n")
    for row in range(scope.lead_row, scope.head_row + 1):
        if row < len(lines) and (found := _NOTE.match(lines[row])):
            return "Time: " + found["note"].strip()
    return ""


def measured_words(judgement: growth.Judgement) -> str:
    """The measurement for a hover: `**Measured** (timed on growing inputs): time ≈ n^1.98,
    so O(n^2), not the O(n) stated above`."""
    measured = judgement.measured.removeprefix("measured ")
    text = f"**Measured** (vibe-ls timed it on growing inputs): time {measured}"
    claimed = judgement.claimed if judgement.claimed not in ("", "?") else ""
    if judgement.verdict == "corrected":
        return text + (f", so {judgement.time}, not the {claimed} stated above" if claimed
                       else f", so {judgement.time}")
    if judgement.verdict == "agrees":
        return text + f", which agrees with {judgement.time}"
    if judgement.verdict == "doubtful":
        return text + f", which disagrees with the {claimed} stated above"
    return text


def known(name: str, note: str, judgement: growth.Judgement | None) -> Known:
    """The hover before the explanation: the function's note and its measured growth."""
    parts = [f"**`{name}`**" if name else ""]
    if note:
        parts.append(f"**Complexity** (the note in the file): {note}")
    if judgement is not None and judgement.measured:
        parts.append(measured_words(judgement))
    parts.append(PENDING)
    return Known("\n\n".join(p for p in parts if p), complete=False)
