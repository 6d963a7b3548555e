"""A submission's verdict as plain words, for streams and status lines (stdlib only).

The one-shot commands and batch mode write these to stderr without loading prompt_toolkit; the
REPL's status line (``render.result``) uses the same words, so a timeout or an exit code reads
the same everywhere.
"""

from __future__ import annotations

from orgorepl.outcome import Outcome
from orgorepl.render.sanitize import sanitize

STATUS_MAX = 2000  # characters of an exception message shown in the status line


def status_line(outcome: Outcome) -> str:
    """The verdict as one plain, sanitised line for a stream (stderr, a pipe); "" for ok."""
    return one_line(outcome.verdict)


def exception_line(error_type: str | None, error: str | None) -> str:
    name = error_type or "Error"
    message = clip(error or "").strip()
    text = f"{name}: {message}" if message else name
    return sanitize(text, keep_sgr=False).rstrip("\n")


def clip(text: str) -> str:
    if len(text) <= STATUS_MAX:
        return text
    return text[:STATUS_MAX] + f" … ({len(text) - STATUS_MAX:,} more characters)"


def one_line_block(text: str) -> str:
    return sanitize(clip(text), keep_sgr=False).rstrip("\n")


def one_line(text: str) -> str:
    return " ".join(sanitize(clip(text), keep_sgr=False).split())
