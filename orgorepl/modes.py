"""The two input modes, and the one rule that says where a piece of input goes.

Every part that needs to know whether text is a meta-command, a ``!`` shell escape or code for
the current mode (the lexer that colours it, the completeness check that decides whether Enter
submits, the REPL that sends it) asks :func:`classify`.  Nothing else re-implements the rule.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass


class Mode(str, enum.Enum):
    PYTHON = "python"
    BASH = "bash"

    @property
    def other(self) -> Mode:
        return Mode.BASH if self is Mode.PYTHON else Mode.PYTHON


class Kind(enum.Enum):
    CODE = "code"  # send to the endpoint of the current mode
    SHELL_ESCAPE = "shell"  # `!cmd` in Python mode: this one submission goes to bash
    CAPTURE = "capture"  # `name = !cmd` in Python mode: bash runs it, Python gets its output lines
    META = "meta"  # `%name args`: handled locally
    EMPTY = "empty"


META_PREFIX = "%"
SHELL_PREFIX = "!"
# IPython's ``files = !ls``: one line, a plain name, then ``= !`` (never valid Python otherwise).
_CAPTURE = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*!(.*\S.*)")


@dataclass(frozen=True)
class Classified:
    kind: Kind
    mode: Mode  # the endpoint it goes to (for META: the mode it was typed in)
    text: str  # what to send or run: code, the command after `!`, or the meta line after `%`
    name: str = ""  # CAPTURE: the Python name that gets the command's output lines

    @property
    def meta_name(self) -> str:
        return self.text.split(None, 1)[0] if self.kind is Kind.META and self.text.strip() else ""


def key_label(key: str) -> str:
    """How a prompt_toolkit key name is shown to a person: ``f4`` -> ``F4``, ``c-t`` -> ``Ctrl-T``."""
    if key.startswith("c-"):
        return "Ctrl-" + key[2:].upper()
    return key.upper()


def classify(text: str, mode: Mode) -> Classified:
    """Tell what ``text`` typed in ``mode`` is.

    A meta-command is a single line whose first non-blank character is ``%`` followed by a
    letter (so ``%`` as the modulo operator inside Python code is never taken for one).  In
    Python mode a submission whose first non-blank character is ``!`` goes to bash, and one line
    ``name = !cmd`` runs ``cmd`` in bash and binds its output lines to ``name``.
    """
    stripped = text.strip()
    if not stripped:
        return Classified(Kind.EMPTY, mode, "")
    if (
        stripped.startswith(META_PREFIX)
        and len(stripped) > 1
        and (stripped[1].isalpha())
        and "\n" not in stripped
    ):
        return Classified(Kind.META, mode, stripped[1:])
    capture = _CAPTURE.fullmatch(stripped) if mode is Mode.PYTHON and "\n" not in stripped else None
    if capture:
        return Classified(Kind.CAPTURE, Mode.BASH, capture.group(2).strip(), name=capture.group(1))
    if mode is Mode.PYTHON and stripped.startswith(SHELL_PREFIX):
        return Classified(Kind.SHELL_ESCAPE, Mode.BASH, text.lstrip()[1:].strip())
    return Classified(Kind.CODE, mode, text)
