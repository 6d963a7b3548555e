"""``orgorepl exec``'s Python: the code wrapped (``remote_run.py``) to bring back the full
traceback the REPL shows and what the run wrote to stderr, with no session state at all."""

from __future__ import annotations

import ast
import functools
import secrets
from dataclasses import dataclass
from pathlib import Path

from orgorepl.protocol import ExecResult
from orgorepl.session.python_state import MARK_PREFIX, CellOutcome, StatefulCell, unwrap_stateful


@functools.lru_cache(maxsize=1)
def _run_source() -> str:
    """``remote_run.py`` as sent: no docstrings, one space per indent (as ``python_state`` does)."""
    tree = ast.parse(Path(__file__).with_name("remote_run.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            body[:] = body[1:] or [ast.Pass()]
    lines = []
    for line in ast.unparse(tree).splitlines():
        code = line.lstrip(" ")
        if code:
            lines.append(" " * ((len(line) - len(code)) // 4) + code)
    return "\n".join(lines) + "\n"


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
