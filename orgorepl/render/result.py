"""What a person sees after a submission: the output, then one status line if there is news.

The output comes first, as the program wrote it (sanitized, its colours kept); a missing final
newline never glues the status line to it.  The status line appears only when it says something:
the exception (after the traceback of the user's own frames, highlighted), a timeout with the
limit that was hit, a non-zero exit code, a round trip longer than a second.  Output that is one
JSON document is highlighted as JSON.  Lexers are picked by what is known, never guessed.

Cost is bounded by :class:`~orgorepl.render.bounded.OutputLimits`, not by the size of the
output: long output and long tracebacks are cut to a head and a tail around a line saying what
was left out, binary output is described instead of shown, and at most ``highlight_max_bytes``
per result go through a lexer (Pygments lexes tracebacks at about 1.5 MB/s).

Every fragment carries a style class (``class:output``, ``class:status.error`` ...); the colours
live in the theme.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from prompt_toolkit.formatted_text import (
    FormattedText,
    PygmentsTokens,
    to_formatted_text,
)

from orgorepl.outcome import (
    UNKNOWN_EXIT,
    Outcome,
    Status,
    exit_text,
)
from orgorepl.render.ansi import ZERO_WIDTH, ansi_fragments
from orgorepl.render.bounded import DEFAULT_LIMITS, Bounded, OutputLimits, bound
from orgorepl.render.sanitize import sanitize
from orgorepl.render.verdict import exception_line, one_line, one_line_block

HIGHLIGHT_LIMIT = DEFAULT_LIMITS.highlight_max_bytes  # characters; larger output is shown plain
SLOW = 1.0  # seconds; a round trip longer than this is reported
CUT_STYLE = "class:note class:output.cut"
BINARY_STYLE = "class:note class:output.binary"

Fragments = list[tuple[str, str]]


class _Budget:
    """Characters that may still go through a lexer for this result."""

    def __init__(self, limit: int) -> None:
        self.left = limit

    def take(self, size: int) -> bool:
        if size > self.left:
            return False
        self.left -= size
        return True


def render_outcome(outcome: Outcome, *, color: bool = True, limits: OutputLimits = DEFAULT_LIMITS,
                   hyperlinks: bool = False, raw_escapes: bool = False, streamed: bool = False) -> FormattedText:
    """Everything a person sees after one submission: its output, one status line if there is
    news, then the session's notes.

    ``hyperlinks`` lets OSC 8 links through; ``raw_escapes`` passes every control sequence of
    the output to the terminal untouched (``--raw-escapes``; still cut to ``limits``).
    ``streamed``: the output is on screen already (``render_stream``); only what follows it.
    """
    status_kind = outcome.status
    if status_kind in (Status.REFUSED, Status.UNREACHABLE):
        return _with_notes(render_error_line(outcome.verdict), outcome.notes)
    budget = _Budget(limits.highlight_max_bytes)
    frags = [] if streamed else _output(outcome.output, color, limits, budget, hyperlinks, raw_escapes)
    if status_kind is Status.INTERRUPTED:
        if frags:
            _ensure_line_start(frags)
        return _with_notes(FormattedText([*frags, *render_note(outcome.verdict)]), outcome.notes)
    status: Fragments = []
    if status_kind is Status.TIMEOUT:
        status = _timeout_badge(outcome.timeout)
    elif status_kind is Status.ERROR:
        body, exc_lines = _split_traceback(outcome.traceback, outcome.error_type, limits)
        if body is not None:
            _ensure_line_start(frags)
            frags += _shown(body, lambda part: _traceback(part, color, budget))
        status = [("class:status.error", exc_lines or exception_line(outcome.error_type, outcome.error))]
    elif status_kind is Status.EXIT and outcome.exit_code is not None:
        status = [("class:status.exit", exit_text(outcome.exit_code))]
    elif status_kind is Status.UNKNOWN:
        status = [("class:status.exit", f"failed: {UNKNOWN_EXIT}")]
    return _with_notes(_finish(frags, status, outcome.duration), outcome.notes)


def _with_notes(text: FormattedText, notes: Iterable[str]) -> FormattedText:
    frags = list(text)
    for note in notes:
        frags += render_note(note)
    return FormattedText(frags)


def render_text(text: str, *, color: bool = True, limits: OutputLimits = DEFAULT_LIMITS,
                hyperlinks: bool = False, raw_escapes: bool = False) -> FormattedText:
    """Any other remote text (a file's contents, a fan-out target's output), bounded and
    sanitized like a result's output, without a status line."""
    frags = _output(text, color, limits, _Budget(limits.highlight_max_bytes), hyperlinks, raw_escapes)
    _ensure_line_start(frags)
    return FormattedText(_merge(frags))


def render_error_line(err: BaseException | str) -> FormattedText:
    """The single line for a request that produced no result (an ``OrgoError`` or its line)."""
    if isinstance(err, str):
        text = err
    else:
        describe = getattr(err, "one_line", None)
        text = describe() if callable(describe) else f"{type(err).__name__}: {err}"
    return FormattedText([("class:note.error", one_line(text) + "\n")])


def render_note(text: str, *, error: bool = False, style: str = "class:note") -> FormattedText:
    """A remark of orgorepl's own between results; it may quote the remote, so it is sanitised."""
    text = sanitize(text, keep_sgr=False)
    return FormattedText([("class:note.error" if error else style, text if text.endswith("\n") else text + "\n")])


# --------------------------------------------------------------------------------------------


def _output(text: str, color: bool, limits: OutputLimits, budget: _Budget, hyperlinks: bool,
            raw_escapes: bool) -> Fragments:
    if not text:
        return []
    view = bound(text, limits)
    if raw_escapes:
        return _shown(view, lambda part: [(ZERO_WIDTH, part.replace("\n", "\r\n"))] if part else [])
    if color and len(text) <= budget.left and _is_json_document(text):
        from pygments.lexers.data import JsonLexer

        budget.take(view.shown())
        lexer = JsonLexer(stripnl=False, ensurenl=False)
        return _shown(view, lambda part: _lexed(lexer, sanitize(part, keep_sgr=False), "class:output"))
    return _shown(view, lambda part: ansi_fragments(
        sanitize(part, keep_sgr=color, allow_hyperlinks=hyperlinks)))


def _shown(view: Bounded, render_part: Callable[[str], Fragments]) -> Fragments:
    """The head, the cut line and the tail, each part rendered by ``render_part``."""
    if view.binary:
        return [(BINARY_STYLE, view.describe_binary() + "\n")]
    frags = render_part(view.head) if view.head else []
    if view.cut is not None:
        _ensure_line_start(frags)
        frags.append((CUT_STYLE, view.cut.describe() + "\n"))
        if view.tail:
            frags += render_part(view.tail)
    return frags


def _is_json_document(text: str) -> bool:
    stripped = text.strip()
    if not stripped or stripped[0] not in "[{" or stripped[-1] not in "]}":
        return False
    try:
        return isinstance(json.loads(stripped), (dict, list))
    except ValueError:
        return False


def _traceback(text: str, color: bool, budget: _Budget) -> Fragments:
    clean = sanitize(text, keep_sgr=False)
    if color and budget.take(len(clean)):
        from pygments.lexers.python import PythonTracebackLexer

        return _lexed(PythonTracebackLexer(stripnl=False, ensurenl=False), clean, "class:traceback")
    return [("class:traceback", clean)] if clean else []


def _lexed(lexer: Any, text: str, base: str) -> Fragments:
    tokens = PygmentsTokens(list(lexer.get_tokens(text)))
    return [(f"{base} {style}", chunk) for style, chunk, *_ in to_formatted_text(tokens)]


def _split_traceback(text: str | None, error_type: str | None,
                     limits: OutputLimits) -> tuple[Bounded | None, str]:
    """The traceback (cut to ``limits``) without its final ``ErrorType: message`` part, and that
    part.

    The part is found from the end of what is shown: the last line that starts with the error
    type (qualified or not, e.g. ``json.decoder.JSONDecodeError``); a multi-line message and
    notes come with it.  When it lies in the hidden middle (a huge message), it is not split off
    and the status line is made from the API's fields.
    """
    if not text:
        return None, ""
    view = bound(text, limits, sniff=False)
    last = view.tail if view.cut is not None else view.head
    clean = last.rstrip("\n")
    if error_type:
        head = re.compile(r"(?:[\w.]+\.)?" + re.escape(error_type) + r"(?::|$)")
        lines = clean.split("\n")
        first = 1 if view.cut is not None and view.cut.tail_inside else 0
        for index in range(len(lines) - 1, first - 1, -1):
            if head.match(lines[index]):
                body = "\n".join(lines[:index])
                view = _with_last(view, body + "\n" if body else "")
                if not (view.head or view.cut):
                    return None, one_line_block("\n".join(lines[index:]))
                return view, one_line_block("\n".join(lines[index:]))
    return _with_last(view, clean + "\n"), ""


def _with_last(view: Bounded, last: str) -> Bounded:
    return replace(view, tail=last) if view.cut is not None else replace(view, head=last)


def _timeout_badge(timeout: int | None) -> Fragments:
    return [("class:status.timeout", f" TIMEOUT after {timeout}s " if timeout else " TIMEOUT ")]


def _duration(elapsed: float) -> str:
    if elapsed < 60:
        return f"{elapsed:.1f}s"
    minutes, seconds = divmod(int(round(elapsed)), 60)
    return f"{minutes}m{seconds:02d}s"


def _ensure_line_start(frags: Fragments) -> None:
    if frags and not frags[-1][1].endswith("\n"):
        frags.append(("class:output", "\n"))


def _finish(frags: Fragments, status: Fragments, elapsed: float) -> FormattedText:
    if elapsed > SLOW:
        if status:
            status.append(("", "  "))
        status.append(("class:status.duration", _duration(elapsed)))
    if status:
        _ensure_line_start(frags)
        frags += status
        frags.append(("", "\n"))
    else:
        _ensure_line_start(frags)
    return FormattedText(_merge(frags))


def _merge(frags: Iterable[tuple[str, str]]) -> Fragments:
    """Adjacent fragments of one style joined: fewer, longer writes to the terminal."""
    out: Fragments = []
    style_now: str = ""
    parts: list[str] = []
    for style, text in frags:
        if not text:
            continue
        if style != style_now and parts:
            out.append((style_now, "".join(parts)))
            parts = []
        style_now = style
        parts.append(text)
    if parts:
        out.append((style_now, "".join(parts)))
    return out
