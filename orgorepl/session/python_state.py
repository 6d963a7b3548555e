"""Client side of stateful Python submissions: build the /exec program, read its reply.

The remote half is ``remote_python.py`` (sent as text).  Everything the wrapper adds to the
output, a traceback block and one trailer line, starts with a marker holding a random nonce,
so user output can never be mistaken for it, and is stripped here: the user sees their own
stdout, byte for byte, including what arrives after the trailer (an ``atexit`` handler, a
thread still printing) and whatever arrived of a block that an output limit cut short.
"""

from __future__ import annotations

import ast
import base64
import functools
import hashlib
import secrets
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from orgorepl.protocol import ExecResult
from orgorepl.session.capture import take_stderr

MARK_PREFIX = "\x1e__orgorepl_"  # every marker starts so; the rest is the cell's nonce


# Runs in a namespace of its own (never ``__main__``): the wrapper's code compiled once per
# computer and Python version, kept as marshal data under ~/.orgorepl/wrapper/, else compiled
# from the packed text (and kept), then run in ``__main__`` (``G``), where it defines only the
# wrapper functions, which remove themselves.
_BOOT = """import marshal, os, sys
p = os.path.join(os.path.expanduser('~'), '.orgorepl', 'wrapper', '%s-%s.code' % (sys.implementation.cache_tag, H))
try:
    with open(p, 'rb') as f:
        c = marshal.loads(f.read())
except Exception:
    import base64, zlib
    c = compile(zlib.decompress(base64.b85decode(D)), '<orgorepl>', 'exec')
    try:
        os.makedirs(os.path.dirname(p), mode=0o700, exist_ok=True)
        with open(os.open(p + '.%d' % os.getpid(), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 'wb') as f:
            marshal.dump(c, f)
        os.replace(p + '.%d' % os.getpid(), p)
    except Exception:
        pass
exec(c, G)
"""


@functools.lru_cache(maxsize=1)
def _remote_source() -> str:
    """The remote program as sent: one line that runs ``_remote_text()``, compiled once.

    It goes with every submission: the three parts (``remote_runtime.py``, ``remote_state.py``,
    ``remote_python.py``) are about 29 KB as plain text, about 12 KB packed; compiling them
    took about 10 ms of every submission, so the computer keeps the compiled code (keyed by a
    hash of the text and the Python version) and compiles only when it has none.
    """
    text = _remote_text()
    packed = base64.b85encode(zlib.compress(text.encode("utf-8"), 9)).decode("ascii")
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    return (f"exec({_BOOT!r}, {{'__builtins__': __builtins__, 'H': {digest!r}, 'D': {packed!r}, "
            f"'G': globals()}})\n")


@functools.lru_cache(maxsize=1)
def _remote_text() -> str:
    """The remote program's text (see ``shipped_text``)."""
    return shipped_text("remote_io.py", "remote_source.py", "remote_values.py", "remote_runtime.py",
                        "remote_state.py", "remote_python.py")


@functools.lru_cache(maxsize=4)
def shipped_text(*names: str) -> str:
    """Files of this package sent to the computer as one program: no docstrings or comments, one space per indent level.

    ``ast.unparse`` puts every statement on one line with the indent as the line's only leading
    spaces (string literals come out as one-line reprs), so re-indenting it line by line is
    safe; the result still runs on the remote's Python 3.8+ (a test parses it as 3.8).  Built
    once per client process, in a few milliseconds.
    """
    lines = []
    for name in names:  # each file on its own: its module docstring is its first statement
        tree = ast.parse(Path(__file__).with_name(name).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            body = getattr(node, "body", None)
            if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                    and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
                body[:] = body[1:] or [ast.Pass()]  # in place: ``node`` is only known to be an AST
        for line in ast.unparse(tree).splitlines():
            code = line.lstrip(" ")
            if code:
                lines.append(" " * ((len(line) - len(code)) // 4) + code)
    return "\n".join(lines) + "\n"


def new_session_id() -> str:
    return secrets.token_hex(4)


@dataclass(frozen=True)
class StatefulCell:
    program: str  # the ``code`` of the /exec request
    mark: str  # the prefix of the traceback block's lines and of the trailer: unique per cell
    code: str  # the user's submission as typed
    echo: bool = True
    token: str = ""  # names the submission to the session (a Ctrl-C marks it abandoned)


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
    notes: tuple[str, ...] = ()  # differences this cell made that the session cannot carry
    late: bool = False  # a submission given up with Ctrl-C had saved before the computer was told
    uncommitted: tuple[str, ...] = ()  # sqlite3 connections whose open transaction ends with the run


@dataclass(frozen=True)
class CellOutcome:
    output: str  # the user's stdout, without the wrapper's block and trailer
    traceback: str | None  # the user's traceback (frames of <cell> and below), if one came back
    success: bool
    error: str | None
    error_type: str | None
    timeout: bool
    state: StateReport = StateReport()
    stderr: str = ""  # what the run wrote to stderr (fd 2), which the wrapper brought back


def wrap_stateful(code: str, session_id: str, *, echo: bool = True, cwd: str | None = None,
                  width: int = 0, abandon: tuple[str, ...] = ()) -> StatefulCell:
    """``cwd``: start there rather than where the session last was (a live shell moved since).
    ``width``: the echoed value is pretty-printed to it there, where its repr is made.
    ``abandon``: tokens of submissions given up with Ctrl-C that the computer was not told of."""
    token = secrets.token_hex(8)
    mark = f"{MARK_PREFIX}{token}__:"
    params: dict[str, object] = {"sid": session_id, "code": code, "echo": echo, "mark": mark, "cwd": cwd,
                                 "token": token}
    if width:
        params["width"] = width
    if abandon:
        params["abandon"] = list(abandon)
    program = _remote_source() + f"__orgo_main({params!r})\n"
    return StatefulCell(program=program, mark=mark, code=code, echo=bool(echo), token=token)


def unwrap_stateful(cell: StatefulCell, result: ExecResult) -> CellOutcome:
    output, report = _take_trailer(result.output, cell.mark)
    output, stderr = take_stderr(output, cell.mark)
    output, traceback_text = _take_block(output, cell.mark)
    if not report.arrived:
        output = _drop_cut_marker(output, cell.mark)
    return CellOutcome(
        output=output,
        traceback=traceback_text,
        success=result.success,
        error=result.error,
        error_type=result.error_type,
        timeout=result.timeout,
        state=report,
        stderr=stderr,
    )


def _take_trailer(output: str, mark: str) -> tuple[str, StateReport]:
    """``output`` without the trailer line ``\\n<mark>{...}\\n``, and what the line said.

    Text after the line stays (it was printed after the wrapper finished).  A line that is not
    a whole literal was cut short by an output limit: it goes, and the newline after it stays, since
    it is not the wrapper's.
    """
    at = output.rfind("\n" + mark + "{")
    if at < 0:
        return output, StateReport()
    body_at = at + 1 + len(mark)
    end = output.find("\n", body_at)
    if end < 0:
        end = len(output)
    try:  # the wrapper writes ``ascii()`` of a dict of strings, lists, booleans and None
        data = ast.literal_eval(output[body_at:end])
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        data = None
    if not isinstance(data, dict):
        return output[:at] + output[end:], StateReport()
    report = StateReport(
        arrived=True,
        saved=bool(data.get("saved")),
        cwd=data.get("cwd") if isinstance(data.get("cwd"), str) else None,
        home=data.get("home") if isinstance(data.get("home"), str) else None,
        lost={str(k): str(v) for k, v in (data.get("lost") or {}).items()},
        assigned=tuple(str(n) for n in data.get("assigned") or ()),
        error=data.get("error") if isinstance(data.get("error"), str) else None,
        notes=tuple(str(n) for n in data.get("notes") or ()),
        late=data.get("late") is True,
        uncommitted=tuple(str(n) for n in data.get("uncommitted") or ()),
    )
    return output[:at] + output[end + 1:], report


def _take_block(output: str, mark: str) -> tuple[str, str | None]:
    """``output`` without the block ``\\n<mark>>\\n ... <mark><\\n``, and the block's text.

    The wrapper writes a newline before the block (the user's output may not end with one),
    and that newline goes with it.  A block cut off by an output limit (no closing line) runs to
    the end: what arrived of the traceback is still the traceback.
    """
    opening, closing = "\n" + mark + ">\n", mark + "<\n"
    start = output.rfind(opening)
    if start < 0:
        return output, None
    body = start + len(opening)
    end = output.find(closing, body)
    if end < 0:
        return output[:start], output[body:]
    return output[:start] + output[end + len(closing):], output[body:end]


def _drop_cut_marker(output: str, mark: str) -> str:
    """``output`` without a marker that an output limit cut in the middle (``\\n\\x1e__orgorepl_3f``
    then the end, or the limit's own note on the next line).  Only a line that starts with the
    marker's fixed prefix and is a prefix of this cell's own marker is taken for one."""
    at = output.rfind("\n" + MARK_PREFIX)
    if at < 0:
        return output
    end = output.find("\n", at + 1)
    if end < 0:
        end = len(output)
    piece = output[at + 1:end]
    if (mark + ">").startswith(piece) or (mark + "{").startswith(piece):
        return output[:at] + output[end:]
    return output
