"""The session state the UI shows, owned and updated by the REPL.

The UI only reads it (prompt, toolbar, lexer, completer all look at ``mode``), so one mutable
object is the whole contract between the REPL and its widgets; updates from the connection
thread are single attribute assignments followed by an ``invalidate``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from orgorepl.config import DEFAULTS
from orgorepl.modes import Mode
from orgorepl.outcome import Outcome, Status


class Link(enum.Enum):
    IDLE = "idle"  # connect() not started yet (before the first render)
    CONNECTING = "connecting"
    READY = "ready"
    FAILED = "failed"


# The toolbar's style for each outcome status (theme keys toolbar.last.*): the three ways of
# getting no result share the "failed" look.
_STYLE = {Status.UNKNOWN: "failed", Status.REFUSED: "failed", Status.UNREACHABLE: "failed"}
LAST_STYLES = tuple(sorted({_STYLE.get(s, s.value) for s in Status}))  # every toolbar.last.* in use


@dataclass(frozen=True)
class LastCall:
    """How the last submission ended, for the toolbar."""

    outcome: str  # the theme's toolbar.last.* key: ok, error, timeout, exit, interrupted, failed
    detail: str = ""  # what to say: the outcome's label (error type, exit code ...)
    elapsed: float = 0.0

    @classmethod
    def of(cls, outcome: Outcome) -> LastCall:
        return cls(_STYLE.get(outcome.status, outcome.status.value), outcome.label, outcome.duration)

    @classmethod
    def of_many(cls, outcomes: list[Outcome]) -> LastCall:
        """One submission on several computers: ok when all are, else how many were."""
        ok = sum(o.ok for o in outcomes)
        elapsed = max((o.duration for o in outcomes), default=0.0)
        return cls("ok" if ok == len(outcomes) else "error", f"{ok}/{len(outcomes)} ok", elapsed)


@dataclass
class UiState:
    mode: Mode = Mode.PYTHON
    timeouts: dict[Mode, int] = field(default_factory=lambda: {
        Mode.PYTHON: DEFAULTS["python_timeout"], Mode.BASH: DEFAULTS["bash_timeout"]})
    target_label: str = ""
    link: Link = Link.IDLE
    computer_name: str | None = None
    computer_status: str | None = None
    link_error: str | None = None
    last: LastCall | None = None
    stateful: bool = True  # submissions carry the session's state (False: sent raw)
    cwd: str | None = None  # the remote working directory, shortened like a shell prompt's
    toggle_label: str = "F4"  # the mode-switch key, as the hints show it
    prefix_search: bool = False  # true only while Up/Down search the history (ui.keys.history_by_prefix)
    signature: str = ""  # the callee's signature while typing a call (from a completion probe)

    @property
    def timeout(self) -> int:
        return self.timeouts[self.mode]

    @property
    def where(self) -> str:
        """The computer as a person knows it: its name once known, else what was asked for."""
        return self.computer_name or self.target_label or "computer"
