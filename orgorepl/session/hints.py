"""When a submission over HTTP failed in a way a live session would not have: say so, once.

Over ``/exec`` and ``/bash`` there is no terminal and no keyboard, and a call can only be
abandoned; ``--live`` has all three.  The hint names the reason in the user's terms and is given
once per kind per session, so it informs without nagging.
"""

from __future__ import annotations

import re

from orgorepl.modes import Mode
from orgorepl.outcome import Outcome, Status

_NEEDS_TTY = re.compile(
    r"not a (?:terminal|tty)|no tty present|a terminal is required|Inappropriate ioctl for device"
    r"|stdin is not a terminal|Output is not to a terminal|Input is not from a terminal|cannot open /dev/tty",
    re.IGNORECASE)

HINTS = {
    "input": "input() found no keyboard over HTTP: with %live on, what you type answers it",
    "tty": "that command needs a terminal, which HTTP does not give: %live on runs it in one (or %term)",
    "timeout": "with %live on a command runs until it ends, its output showing as it comes, and Ctrl-C stops it",
    "interrupted": "over HTTP Ctrl-C can only abandon the call; with %live on it interrupts the command itself",
}


def kind_of(outcome: Outcome) -> str | None:
    """Which hint this outcome calls for, if any."""
    if outcome.status is Status.INTERRUPTED and outcome.sent and outcome.exit_code is None:
        return "interrupted"
    if outcome.status is Status.TIMEOUT:
        return "timeout"
    if outcome.mode is Mode.PYTHON and outcome.error_type == "EOFError" and "reading a line" in (outcome.error or ""):
        return "input"
    if outcome.status in (Status.EXIT, Status.ERROR, Status.UNKNOWN) and _NEEDS_TTY.search(outcome.full_text()):
        return "tty"
    return None


class LiveHints:
    """The hints of one session: each kind at most once."""

    def __init__(self) -> None:
        self._given: set[str] = set()

    def after(self, outcome: Outcome) -> str | None:
        kind = kind_of(outcome)
        if kind is None or kind in self._given:
            return None
        self._given.add(kind)
        return HINTS[kind]
