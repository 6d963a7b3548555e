"""``orgorepl exec``'s Python: the code wrapped (``remote_run.py``) to bring back the full
traceback the REPL shows and what the run wrote to stderr, with no session state at all."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from orgorepl.protocol import ExecResult
from orgorepl.session.python_state import MARK_PREFIX, CellOutcome, StatefulCell, shipped_text, unwrap_stateful


def _run_source() -> str:
    """``remote_io.py`` and ``remote_run.py`` as sent, made small as the stateful program is."""
    return shipped_text("remote_io.py", "remote_run.py")


@dataclass(frozen=True)
class OneShotCell:
    """A one-shot submission wrapped to bring back its traceback and stderr, without state."""

    program: str
    mark: str
    code: str


def wrap_oneshot(code: str) -> OneShotCell:
    mark = f"{MARK_PREFIX}{secrets.token_hex(8)}__:"
    program = _run_source() + f"__orgo_run({ {'code': code, 'mark': mark}!r})\n"
    return OneShotCell(program=program, mark=mark, code=code)


def unwrap_oneshot(cell: OneShotCell, result: ExecResult) -> CellOutcome:
    """The stderr and traceback blocks of a stateful cell's, without the trailer (none comes)."""
    return unwrap_stateful(StatefulCell(program="", mark=cell.mark, code=cell.code, echo=False), result)
