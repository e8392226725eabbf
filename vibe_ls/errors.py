"""The one error type users see: a message plus what to do about it."""

from __future__ import annotations


class VibeError(Exception):
    """A failure with a message meant for the user and an optional hint."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  hint: {self.hint}" if self.hint else self.message
