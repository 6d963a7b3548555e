"""Python syntax errors shown before anything is sent, with the position of the error.

A submission that cannot compile would only come back as a remote ``SyntaxError`` after a round
trip; checking locally is instant and puts the cursor on the offending spot.  Bash and
meta-command lines are not checked here (bash has no cheap local parser of its own).
"""

from __future__ import annotations

from collections.abc import Callable

from prompt_toolkit.document import Document
from prompt_toolkit.validation import ValidationError, Validator

from orgorepl.modes import Kind, Mode, classify
from orgorepl.session import completeness
from orgorepl.session.complete import introspection


def cursor_index(text: str, lineno: int | None, offset: int | None) -> int:
    """Index in ``text`` of a 1-based (line, column) position, clamped into the text."""
    lines = text.split("\n")
    row = min(max((lineno or 1) - 1, 0), len(lines) - 1)
    col = min(max((offset or 1) - 1, 0), len(lines[row]))
    return sum(len(line) + 1 for line in lines[:row]) + col


class PythonSyntaxValidator(Validator):
    def __init__(self, get_mode: Callable[[], Mode]) -> None:
        self._get_mode = get_mode

    def validate(self, document: Document) -> None:
        target = classify(document.text, self._get_mode())
        if target.kind is not Kind.CODE or target.mode is not Mode.PYTHON or introspection(document.text):
            return
        info = completeness.python_syntax_error(document.text)
        if info is None:
            return
        where = f"line {info.lineno}" if info.lineno else ""
        if info.offset:
            where += f", column {info.offset}" if where else f"column {info.offset}"
        kind = getattr(info, "error_type", None) or "SyntaxError"
        message = f"{kind}: {info.msg}" + (f" ({where})" if where else "")
        message += " — fix it, or Ctrl-C to clear"
        raise ValidationError(cursor_position=cursor_index(document.text, info.lineno, info.offset),
                              message=message)
