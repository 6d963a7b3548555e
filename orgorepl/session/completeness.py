"""Whether Enter submits or opens a new line, and how far the new line is indented.

Runs on every Enter press, so it is local and instant: CPython's own ``codeop`` for Python (the
module the interactive interpreter uses), and a pure-Python copy of bash's grammar for bash
(:mod:`orgorepl.session.bashsyntax`).  The rule a person knows from ``python -i`` and from a bash
prompt is the rule here; a syntax error counts as complete, so Enter sends it and the error is
shown instead of trapping the cursor in an input that can never become valid.
"""

from __future__ import annotations

import ast
import codeop
import io
import re
import tokenize
import warnings
from typing import NamedTuple

from orgorepl.session import bashsyntax

# Statements with a body: at the interactive prompt they end only at a blank line.
_COMPOUND = tuple(
    getattr(ast, name)
    for name in ("If", "For", "AsyncFor", "While", "With", "AsyncWith", "Try", "TryStar",
                 "FunctionDef", "AsyncFunctionDef", "ClassDef", "Match")
    if hasattr(ast, name)
)
_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # Python's own line ends (str.splitlines has more)
_DEDENT_WORDS = frozenset(("return", "pass", "break", "continue", "raise"))
INDENT_UNIT = "    "
_LAYOUT_TOKENS = frozenset((tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER))


class SyntaxErrorInfo(NamedTuple):
    """A compile error found before sending: where it is and what the compiler said."""

    msg: str
    lineno: int | None
    offset: int | None  # 1-based column, as SyntaxError.offset
    text: str | None  # the offending line, without its line end
    error_type: str = "SyntaxError"  # or IndentationError, TabError, ValueError (NUL bytes)
    end_lineno: int | None = None
    end_offset: int | None = None

    def caret_lines(self) -> list[str]:
        """The offending line and a caret under the error, as the interpreter prints them."""
        if not self.text:
            return []
        line = self.text.rstrip("\r\n")
        stripped = line.lstrip()
        shift = len(line) - len(stripped)
        col = max((self.offset or 1) - 1 - shift, 0)
        width = 1
        if self.end_offset and self.end_lineno in (None, self.lineno) and self.end_offset > (self.offset or 0):
            width = self.end_offset - (self.offset or 1)
        col = min(col, len(stripped))
        width = max(1, min(width, len(stripped) - col)) if stripped else 1
        return [f"    {stripped}", "    " + " " * col + "^" * width]


def python_is_complete(text: str) -> bool:
    """What ``python -i`` decides if the same lines were typed one by one (see module doc).

    ``codeop`` (exec mode) answers "needs more" for open brackets, strings, backslashes and
    headers without a body; a compound statement that ends the input also needs the blank line
    the interactive prompt asks for, whether it spans lines or not (``if x: pass`` too).

    Where a multi-line buffer is not a line-by-line prompt, on purpose: a line of only spaces
    ends a block (auto-indent puts them there), a syntax error anywhere makes the whole input
    complete, and a pasted block with blank lines inside stays one statement.
    """
    if not text.strip():
        return True
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            code = codeop.compile_command(text, "<input>", "exec")
        except (SyntaxError, ValueError, OverflowError, MemoryError, RecursionError):
            return True
        if code is None:
            return False
        try:
            tree = ast.parse(text, "<input>")
        except (SyntaxError, ValueError, OverflowError, MemoryError, RecursionError):
            return True
    if not tree.body or not isinstance(tree.body[-1], _COMPOUND):
        return True
    end = tree.body[-1].end_lineno or 0
    after = _LINE_BREAK.split(text)[end:]
    return any(not line.strip() for line in after)


def python_syntax_error(text: str) -> SyntaxErrorInfo | None:
    """The error compiling ``text`` would raise on the computer, or None if it compiles."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            compile(text, "<cell>", "exec", dont_inherit=True)
        except SyntaxError as err:
            line = err.text.rstrip("\r\n") if isinstance(err.text, str) else None
            return SyntaxErrorInfo(
                msg=str(err.msg), lineno=err.lineno, offset=err.offset, text=line,
                error_type=type(err).__name__,
                end_lineno=getattr(err, "end_lineno", None), end_offset=getattr(err, "end_offset", None),
            )
        except (ValueError, OverflowError, MemoryError, RecursionError) as err:
            return SyntaxErrorInfo(msg=str(err), lineno=None, offset=None, text=None,
                                   error_type=type(err).__name__)
    return None


def bash_is_complete(text: str) -> bool:
    """False exactly where bash would show its continuation prompt (PS2) for these lines."""
    if not text.strip():
        return True
    return not bashsyntax.needs_more_input(text)


def indent_for_next_line(text: str, mode_name: object) -> str:
    """Leading whitespace for the line Enter opens, given the text before the cursor.

    ``mode_name`` is ``"python"``/``"bash"`` or a :class:`orgorepl.modes.Mode`.  Bash keeps the
    current line's indentation.  Python does too, and also opens a block after a statement ending
    in ``:`` and closes one after ``return``, ``pass``, ``break``, ``continue`` and ``raise``,
    measured from the first line of the statement (so a header split over lines still works).
    """
    lines = text.split("\n")
    current = _leading_space(lines[-1])
    if str(getattr(mode_name, "value", mode_name)) != "python":
        return current
    code_now = _strip_comment(lines[-1]).strip()
    if not code_now:
        return current
    first_row, open_brackets = _statement_start(text)
    if open_brackets or first_row is None:
        return current
    indent = _leading_space(lines[first_row - 1])
    unit = "\t" if indent.startswith("\t") else INDENT_UNIT
    if code_now.endswith(":"):
        return indent + unit
    words = _strip_comment(lines[first_row - 1]).split(None, 1)
    first_word = re.split(r"[^\w]", words[0], maxsplit=1)[0] if words else ""
    if first_word in _DEDENT_WORDS:
        return indent[: -len(unit)] if len(indent) >= len(unit) else ""
    return indent


def _leading_space(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def _statement_start(text: str) -> tuple[int | None, bool]:
    """The 1-based row where the last statement of ``text`` begins, and whether the text ends
    inside brackets or a string (then the row does not matter)."""
    row, depth = None, 0
    after_newline = True
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            for tok in tokenize.generate_tokens(io.StringIO(text).readline):
                if tok.type == tokenize.NEWLINE:
                    after_newline = True
                elif tok.type not in _LAYOUT_TOKENS:
                    if after_newline:
                        row, after_newline = tok.start[0], False
                    if tok.type == tokenize.OP and tok.string in "([{":
                        depth += 1
                    elif tok.type == tokenize.OP and tok.string in ")]}":
                        depth = max(depth - 1, 0)
        except (tokenize.TokenError, SyntaxError):
            return row, True
    return row, depth > 0


def _strip_comment(line: str) -> str:
    """``line`` without a trailing ``#`` comment; a ``#`` inside a string literal stays."""
    quote = ""
    i = 0
    while i < len(line):
        c = line[i]
        if quote:
            if c == "\\":
                i += 2
                continue
            if line.startswith(quote, i):
                i += len(quote)
                quote = ""
                continue
        elif c in "'\"":
            quote = line[i:i + 3] if line[i:i + 3] in ("'''", '"""') else c
            i += len(quote)
            continue
        elif c == "#":
            return line[:i]
        i += 1
    return line
