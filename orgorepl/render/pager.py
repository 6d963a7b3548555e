"""Whether a text goes to the pager or straight to the screen: the one decision, for every caller.

Results, ``help()`` output and introspection all ask :func:`should_page`; ``%more`` pages
whatever it says (asking for the pager is the user's decision).  The setting is pgcli's
``pager = "auto" | "always" | "never"``.  "auto" pages only what would scroll off a terminal,
because a pager that opens for three lines, or on a pipe, is in the way rather than a help.
"""

from __future__ import annotations

from orgorepl.render.sanitize import sanitize

POLICIES = ("auto", "always", "never")


def asks_for_help(code: str) -> bool:
    """True for a submission that is one ``help(...)`` call: Python's own REPL pages its text
    whatever its length, so "auto" does too (``less -FRX`` leaves a short one on screen)."""
    import ast

    try:
        body = ast.parse(code).body
    except (SyntaxError, ValueError):
        return False
    return (len(body) == 1 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Call)
            and isinstance(body[0].value.func, ast.Name) and body[0].value.func.id == "help")


def screen_lines(text: str, columns: int) -> int:
    """How many terminal rows ``text`` takes, long lines wrapping at ``columns``."""
    from prompt_toolkit.utils import get_cwidth

    width = max(1, columns)
    rows = 0
    for line in sanitize(text, keep_sgr=False).split("\n"):
        rows += max(1, -(-get_cwidth(line) // width))
    return rows - 1 if text.endswith("\n") else rows


def should_page(text: str, *, policy: str, terminal: bool, rows: int, columns: int, help: bool = False) -> bool:
    """True when ``text`` goes to the pager.

    ``terminal``: the session's input and output are a terminal (never true in batch mode, in a
    pipe or when replaying a log, so those never page).  "always" pages any text in the
    interactive session; "auto" only ``help()``'s text (``help``: see :func:`asks_for_help`) and
    text taller than the screen less the prompt's line.
    """
    if not text or policy == "never":
        return False
    if policy == "always":
        return True
    return terminal and (help or screen_lines(text, columns) > max(1, rows - 1))
