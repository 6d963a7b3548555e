"""The typed effects a meta-command returns: what it asks the session to do, as plain values.

They are the whole contract between ``commands`` (pure handlers) and ``repl.effects`` (the one
table that carries them out), so they live apart from the handlers that make them.
"""

from __future__ import annotations

from dataclasses import dataclass

from orgorepl.modes import Mode


@dataclass(frozen=True)
class SetMode:
    mode: Mode


@dataclass(frozen=True)
class SetTimeout:
    mode: Mode
    seconds: int


@dataclass(frozen=True)
class ClearScreen:
    pass


@dataclass(frozen=True)
class Exit:
    pass


@dataclass(frozen=True)
class SetStateful:
    stateful: bool


@dataclass(frozen=True)
class PageOutput:
    """Page the last result's whole output (%more)."""


@dataclass(frozen=True)
class SaveOutput:
    path: str


@dataclass(frozen=True)
class SaveTranscript:
    path: str


@dataclass(frozen=True)
class Transfer:
    direction: str  # "put" | "get"
    source: str
    destination: str | None = None


@dataclass(frozen=True)
class SwitchTheme:
    name: str | None  # None: list the themes


@dataclass(frozen=True)
class StartComputer:
    pass


@dataclass(frozen=True)
class SetLive:
    live: bool


@dataclass(frozen=True)
class Detach:
    """Leave the REPL; the live session goes on on the computer."""


@dataclass(frozen=True)
class OpenTerminal:
    reconnect: bool = False


@dataclass(frozen=True)
class EditTargets:
    verb: str  # "list" | "add" | "remove"
    names: tuple[str, ...] = ()


@dataclass(frozen=True)
class ShowState:
    pass


@dataclass(frozen=True)
class ResetSession:
    force: bool = False  # -f: no question asked


@dataclass(frozen=True)
class RunFile:
    """Send a local file as one submission (%run): Python, or bash for a ``.sh`` file."""

    path: str


@dataclass(frozen=True)
class LoadFile:
    """Put a local file in the input line to edit before running it (%load)."""

    path: str


@dataclass(frozen=True)
class SetPretty:
    on: bool


Effect = (SetMode | SetTimeout | ClearScreen | Exit | SetStateful | PageOutput | SaveOutput | SaveTranscript
          | Transfer | SwitchTheme | StartComputer | OpenTerminal | SetLive | Detach | EditTargets | ShowState
          | ResetSession | RunFile | LoadFile | SetPretty)
