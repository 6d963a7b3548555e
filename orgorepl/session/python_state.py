"""Client side of stateful Python submissions: build the /exec program, read its reply.

The remote half is ``remote_python.py`` (sent as text).  Everything the wrapper adds to the
output, a traceback block and one trailer line, starts with a marker holding a random nonce,
so user output can never be mistaken for it, and is stripped here: the user sees their own
stdout, byte for byte.
"""

from __future__ import annotations

import functools
import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from orgorepl.protocol import ExecResult


@functools.lru_cache(maxsize=1)
def _remote_source() -> str:
    """The remote program without its module docstring (it is sent with every submission)."""
    text = (Path(__file__).with_name("remote_python.py")).read_text(encoding="utf-8")
    start = text.index("\ndef __orgo_main(")
    return text[start + 1:]


def new_session_id() -> str:
    return secrets.token_hex(4)


@dataclass(frozen=True)
class StatefulCell:
    program: str
    mark: str
    code: str


@dataclass(frozen=True)
class StateReport:
    """What the wrapper said about the session after a submission (None fields: no trailer)."""

    arrived: bool = False
    saved: bool = False
    cwd: str | None = None
    home: str | None = None
    lost: dict[str, str] = field(default_factory=dict)
    assigned: tuple[str, ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class CellOutcome:
    output: str
    traceback: str | None
    success: bool
    error: str | None
    error_type: str | None
    timeout: bool
    state: StateReport = StateReport()


def wrap_stateful(code: str, session_id: str, *, echo: bool = True) -> StatefulCell:
    mark = f"\x1e__orgorepl_{secrets.token_hex(8)}__:"
    params = {"sid": session_id, "code": code, "echo": echo, "mark": mark}
    program = _remote_source() + f"\n__orgo_main({params!r})\n"
    return StatefulCell(program=program, mark=mark, code=code)


def unwrap_stateful(cell: StatefulCell, result: ExecResult) -> CellOutcome:
    output = result.output
    report = StateReport()
    trailer_at = output.rfind("\n" + cell.mark + "{")
    if trailer_at != -1:
        raw = output[trailer_at + 1 + len(cell.mark):].rstrip("\n")
        output = output[:trailer_at]
        try:
            data = json.loads(raw)
        except ValueError:
            data = {}
        if isinstance(data, dict):
            report = StateReport(
                arrived=True,
                saved=bool(data.get("saved")),
                cwd=data.get("cwd") if isinstance(data.get("cwd"), str) else None,
                home=data.get("home") if isinstance(data.get("home"), str) else None,
                lost={str(k): str(v) for k, v in (data.get("lost") or {}).items()},
                assigned=tuple(str(n) for n in data.get("assigned") or ()),
                error=data.get("error") if isinstance(data.get("error"), str) else None,
            )
    traceback_text = None
    open_tag, close_tag = "\n" + cell.mark + ">\n", cell.mark + "<\n"
    start = output.find(open_tag)
    if start != -1:
        end = output.find(close_tag, start + len(open_tag))
        if end != -1:
            traceback_text = output[start + len(open_tag):end]
            output = output[:start] + output[end + len(close_tag):]
    return CellOutcome(
        output=output,
        traceback=traceback_text,
        success=result.success,
        error=result.error,
        error_type=result.error_type,
        timeout=result.timeout,
        state=report,
    )
