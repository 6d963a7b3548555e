"""The vocabulary of transcripts: one :class:`Entry` per submission and computer, the statuses,
which suffix means which format, and the small text helpers every format shares.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from orgorepl.modes import Mode
from orgorepl.outcome import Outcome, Piece, Status

REDACTED = "<redacted>"
STATUSES = (*(s.value for s in Status), "failed")  # "failed": no result, in files written before 0.2
SAVE_FORMATS = (".md", ".py", ".sh", ".json", ".jsonl")
LOG_FORMATS = (".md", ".py", ".sh", ".jsonl")
LOAD_FORMATS = (".md", ".markdown", ".py", ".sh", ".bash", ".json", ".jsonl")
JSON_FORMAT = "orgorepl-transcript"
LINE_BREAK = re.compile(r"\r\n|\r|\n")  # Python's own line ends (str.splitlines has more)


def now_iso() -> str:
    return datetime.now().astimezone().isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class Entry:
    """One submission on one computer, and how it ended.

    ``status`` is the Outcome's (``outcome.Status``): ``ok``, ``error``, ``exit``, ``unknown``,
    ``timeout``, ``interrupted``, ``refused``, ``unreachable``; files written by older versions
    may say ``failed`` (no result), read as ``refused``.  ``seq`` numbers submissions: entries of one fan-out submission
    share it.
    """

    mode: str  # "python" | "bash" (a `!cmd` line of Python mode is bash, without the `!`)
    source: str
    target: str = ""
    output: str = ""
    status: str = "ok"
    error_type: str | None = None
    error: str | None = None
    exit_code: int | None = None
    started_at: str = ""
    elapsed: float = 0.0
    traceback: str | None = None
    timeout: int | None = None  # the limit that applied, seconds
    seq: int | None = None

    def __post_init__(self) -> None:
        mode = getattr(self.mode, "value", self.mode)  # a modes.Mode is welcome
        if mode not in ("python", "bash"):
            raise ValueError(f"mode must be 'python' or 'bash', got {self.mode!r}")
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, got {self.status!r}")
        object.__setattr__(self, "mode", mode)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    # -- to and from the one Outcome ---------------------------------------------------------

    @classmethod
    def from_outcome(cls, source: str, outcome: Outcome, *, target: str = "",
                     started_at: str | None = None) -> Entry:
        return cls(mode=outcome.mode.value, source=source, target=target, output=outcome.output,
                   status=outcome.status.value, error_type=outcome.error_type, error=outcome.error,
                   exit_code=outcome.exit_code, started_at=started_at or now_iso(),
                   elapsed=round(outcome.duration, 3), traceback=outcome.traceback, timeout=outcome.timeout)

    def to_outcome(self) -> Outcome:
        status = Status.REFUSED if self.status == "failed" else Status(self.status)  # "failed": older files
        return Outcome(mode=Mode(self.mode), status=status, pieces=(Piece(self.output),) if self.output else (),
                       exit_code=self.exit_code, error_type=self.error_type, error=self.error,
                       traceback=self.traceback, duration=self.elapsed, timeout=self.timeout,
                       sent=status is not Status.REFUSED)

    # -- plain data -------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> Entry:
        if not isinstance(data, dict):
            raise ValueError("a transcript entry must be a JSON object")
        known = {f.name for f in dataclasses.fields(cls)}
        try:
            return cls(**{k: v for k, v in data.items() if k in known})
        except TypeError as exc:
            raise ValueError(f"a transcript entry is missing a field: {exc}") from None

    def redacted(self, secret: str | None) -> Entry:
        if not secret:
            return self
        changes = {
            f.name: getattr(self, f.name).replace(secret, REDACTED)
            for f in dataclasses.fields(self)
            if isinstance(getattr(self, f.name), str) and secret in getattr(self, f.name)
        }
        return dataclasses.replace(self, **changes) if changes else self


class Submission(NamedTuple):
    mode: Mode
    source: str


def entry_groups(entries: Iterable[Entry]) -> Iterable[list[Entry]]:
    """Consecutive entries of one submission (fan-out) go together: one input, one script cell."""
    group: list[Entry] = []
    for entry in entries:
        if group and (entry.seq is None or entry.seq != group[0].seq):
            yield group
            group = []
        group.append(entry)
    if group:
        yield group


def trim(text: str) -> str:
    """The text without the blank lines around it, so cells and blocks compare as typed."""
    lines = LINE_BREAK.split(text)
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines)


def check_suffix(path: Path, allowed: tuple[str, ...], what: str, hint: str = "") -> str:
    kind = path.suffix.lower()
    if kind not in allowed:
        extra = f" ({hint})" if hint and kind == ".json" else ""
        raise ValueError(
            f"cannot tell the {what} format of {path.name!r}{extra}: use one of {', '.join(allowed)}"
        )
    return kind
