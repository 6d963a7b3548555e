"""What a person sees after a submission: the output, then one status line if there is news.

The output comes first, as the program wrote it (sanitized, its colours kept); a missing final
newline never glues the status line to it.  The status line appears only when it says something:
the exception (after the traceback of the user's own frames, highlighted), a timeout with the
limit that was hit, a non-zero exit code, a round trip longer than a second.  Output that is one
JSON document is highlighted as JSON.  Lexers are picked by what is known, never guessed, and
nothing larger than :data:`HIGHLIGHT_LIMIT` is lexed.

Every fragment carries a style class (``class:output``, ``class:status.error`` ...); the colours
live in the theme.
"""

from __future__ import annotations

import json
import re
import signal
from typing import Any, Iterable

from prompt_toolkit.formatted_text import FormattedText, PygmentsTokens, to_formatted_text

from orgorepl.render.ansi import ansi_fragments
from orgorepl.render.sanitize import sanitize

HIGHLIGHT_LIMIT = 256 * 1024  # characters; larger output is shown plain
SLOW = 1.0  # seconds; a round trip longer than this is reported

Fragments = list[tuple[str, str]]


def render_exec(outcome: Any, *, timeout: int, elapsed: float, color: bool = True) -> FormattedText:
    """A Python submission's outcome (``session.python_cell.CellOutcome`` or anything with its
    ``output``, ``traceback``, ``success``, ``error``, ``error_type`` and ``timeout``)."""
    frags = _output(outcome.output or "", color)
    status: Fragments = []
    if outcome.timeout:
        status = _timeout_badge(timeout)
    elif not outcome.success:
        traceback_text = getattr(outcome, "traceback", None)
        body, exc_lines = _split_traceback(traceback_text, outcome.error_type)
        if body:
            _ensure_line_start(frags)
            frags += _traceback(body, color)
        status = [("class:status.error", exc_lines or _exception_line(outcome.error_type, outcome.error))]
    return _finish(frags, status, elapsed)


def render_bash(result: Any, *, timeout: int, elapsed: float, color: bool = True) -> FormattedText:
    """A bash run (``protocol.BashResult``): its output, then a timeout or a non-zero exit code."""
    frags = _output(result.output or "", color)
    status: Fragments = []
    if result.timeout:
        status = _timeout_badge(timeout)
    elif result.exit_code not in (0, None):
        status = [("class:status.exit", _exit_text(result.exit_code))]
    elif result.exit_code is None and not result.success:
        status = [("class:status.exit", "failed (no exit code reported)")]
    return _finish(frags, status, elapsed)


def render_error_line(err: BaseException) -> FormattedText:
    """The single line for a request that produced no result (an ``OrgoError``)."""
    one_line = getattr(err, "one_line", None)
    text = one_line() if callable(one_line) else f"{type(err).__name__}: {err}"
    return FormattedText([("class:note.error", _one_line(text) + "\n")])


def render_note(text: str) -> FormattedText:
    """A remark of orgorepl's own between results (not remote output)."""
    text = sanitize(text, keep_sgr=False)
    return FormattedText([("class:note", text if text.endswith("\n") else text + "\n")])


# --------------------------------------------------------------------------------------------


def _output(text: str, color: bool) -> Fragments:
    if not text:
        return []
    clean = sanitize(text, keep_sgr=color)
    if color and len(clean) <= HIGHLIGHT_LIMIT and _is_json_document(clean):
        from pygments.lexers.data import JsonLexer

        return _lexed(JsonLexer(stripnl=False, ensurenl=False), clean, "class:output")
    return ansi_fragments(clean)


def _is_json_document(text: str) -> bool:
    stripped = text.strip()
    if not stripped or stripped[0] not in "[{" or stripped[-1] not in "]}":
        return False
    try:
        return isinstance(json.loads(stripped), (dict, list))
    except ValueError:
        return False


def _traceback(text: str, color: bool) -> Fragments:
    clean = sanitize(text, keep_sgr=False)
    if color and len(clean) <= HIGHLIGHT_LIMIT:
        from pygments.lexers.python import PythonTracebackLexer

        return _lexed(PythonTracebackLexer(stripnl=False, ensurenl=False), clean, "class:traceback")
    return [("class:traceback", clean)]


def _lexed(lexer: Any, text: str, base: str) -> Fragments:
    tokens = PygmentsTokens(list(lexer.get_tokens(text)))
    return [(f"{base} {style}", chunk) for style, chunk, *_ in to_formatted_text(tokens)]


def _split_traceback(text: str | None, error_type: str | None) -> tuple[str, str]:
    """The traceback without its final ``ErrorType: message`` part, and that part.

    The part is found from the end: the last line that starts with the error type (qualified or
    not, e.g. ``json.decoder.JSONDecodeError``); a multi-line message and notes come with it.
    """
    if not text:
        return "", ""
    clean = text.rstrip("\n")
    if error_type:
        head = re.compile(r"(?:[\w.]+\.)?" + re.escape(error_type) + r"(?::|$)")
        lines = clean.split("\n")
        for index in range(len(lines) - 1, -1, -1):
            if head.match(lines[index]):
                body = "\n".join(lines[:index])
                return (body + "\n" if body else ""), _one_line_block("\n".join(lines[index:]))
    return clean + "\n", ""


def _exception_line(error_type: str | None, error: str | None) -> str:
    name = error_type or "Error"
    message = (error or "").strip()
    text = f"{name}: {message}" if message else name
    return _one_line_block(text)


def _one_line_block(text: str) -> str:
    return sanitize(text, keep_sgr=False).rstrip("\n")


def _one_line(text: str) -> str:
    return " ".join(sanitize(text, keep_sgr=False).split())


def _timeout_badge(timeout: int) -> Fragments:
    return [("class:status.timeout", f" TIMEOUT after {timeout}s ")]


def _exit_text(code: int) -> str:
    text = f"exit {code}"
    if 128 < code < 128 + 65:
        try:
            return f"{text} (killed by {signal.Signals(code - 128).name})"
        except ValueError:
            pass
    return text


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
    style_now, parts = None, []  # type: ignore[var-annotated]
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
