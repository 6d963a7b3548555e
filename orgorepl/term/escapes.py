"""The pass-through's escape keys, ssh's convention: ``~`` right after Enter (or at the start).

Every other key goes to the remote untouched, Ctrl-C included, so the escapes have to be
something a person never types by accident: a tilde as the first character of a line.  ssh
users already know them, and Orgo's own ``orgo ssh`` uses ``~.`` too.
"""

from __future__ import annotations

from dataclasses import dataclass

ESCAPE = "~"

HELP = """Supported escape sequences (after Enter):
 ~.   disconnect (the remote shell and what it runs are ended)
 ~?   this help
 ~~   send one ~
"""


@dataclass(frozen=True)
class Send:
    text: str


@dataclass(frozen=True)
class Disconnect:
    pass


@dataclass(frozen=True)
class Help:
    pass


Action = Send | Disconnect | Help


class EscapeKeys:
    """Turns what the user typed into actions; holds a lone ``~`` until the next key says what it is."""

    def __init__(self) -> None:
        self._line_start = True
        self._pending = False  # a ~ seen at a line start, not yet sent

    def feed(self, text: str) -> list[Action]:
        actions: list[Action] = []
        out: list[str] = []

        def flush() -> None:
            if out:
                actions.append(Send("".join(out)))
                out.clear()

        for ch in text:
            if self._pending:
                self._pending = False
                if ch == ".":
                    flush()
                    actions.append(Disconnect())
                    return actions  # what follows ~. is not sent anywhere
                if ch == "?":
                    flush()
                    actions.append(Help())
                    self._line_start = True  # as in ssh: another escape may follow at once
                    continue
                if ch == ESCAPE:
                    out.append(ESCAPE)
                    self._line_start = False
                    continue
                out.append(ESCAPE)  # not an escape after all: both keys go through
            if ch == ESCAPE and self._line_start:
                self._pending = True
                continue
            out.append(ch)
            self._line_start = ch in "\r\n"
        flush()
        return actions
