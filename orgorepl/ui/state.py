"""The session state the UI shows, owned and updated by the REPL.

The UI only reads it (prompt, toolbar, lexer, completer all look at ``mode``), so one mutable
object is the whole contract between the REPL and its widgets; updates from the connection
thread are single attribute assignments followed by an ``invalidate``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from orgorepl.modes import Mode


class Link(enum.Enum):
    IDLE = "idle"  # connect() not started yet (before the first render)
    CONNECTING = "connecting"
    READY = "ready"
    FAILED = "failed"


@dataclass(frozen=True)
class LastCall:
    """How the last submission ended, for the toolbar."""

    outcome: str  # "ok" | "error" | "timeout" | "exit" | "interrupted" | "failed"
    detail: str = ""  # error type, exit code, ...
    elapsed: float = 0.0


@dataclass
class UiState:
    mode: Mode = Mode.PYTHON
    timeouts: dict[Mode, int] = field(default_factory=lambda: {Mode.PYTHON: 10, Mode.BASH: 60})
    target_label: str = ""
    link: Link = Link.IDLE
    computer_name: str | None = None
    computer_status: str | None = None
    link_error: str | None = None
    last: LastCall | None = None
    stateful: bool = True  # submissions carry the session's state (False: sent raw)
    cwd: str | None = None  # the remote working directory, shortened like a shell prompt's
    toggle_label: str = "F4"  # the mode-switch key, as the hints show it

    @property
    def timeout(self) -> int:
        return self.timeouts[self.mode]

    @property
    def where(self) -> str:
        """The computer as a person knows it: its name once known, else what was asked for."""
        return self.computer_name or self.target_label or "computer"
