"""A final expression's value, shown in a script the way the REPL showed it.

The REPL passes the value of a submission's final expression to ``sys.displayhook``; a script
does not.  The ``.py`` export therefore wraps that expression in ``_echo(...)`` (the same
``sys.displayhook``, imported under that name in the script's header), and reading the script back
for replay unwraps it, so the class sees what the user typed.
"""

from __future__ import annotations

import ast

from orgorepl.transcript.entry import LINE_BREAK

ECHO_NAME = "_echo"
ECHO_IMPORT = f"from sys import displayhook as {ECHO_NAME}"


def echo_final(source: str) -> str:
    """``source`` with its final expression statement wrapped in ``_echo(...)``, as the REPL
    displayed it.  ``print(...)`` is left alone: it returns None, which is never displayed."""
    node = _final_expression(source)
    if node is None:
        return source
    call = node.value
    if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "print":
        return source
    start, end = _offsets(source, node.value)
    return f"{source[:start]}{ECHO_NAME}({source[start:end]}){source[end:]}"


def unecho(source: str) -> str:
    """The inverse of :func:`echo_final`, so a replayed cell is what the user typed."""
    node = _final_expression(source)
    if node is None:
        return source
    call = node.value
    if (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == ECHO_NAME
            and len(call.args) == 1 and not call.keywords):
        outer, inner = _offsets(source, call), _offsets(source, call.args[0])
        return source[:outer[0]] + source[inner[0]:inner[1]] + source[outer[1]:]
    return source


def _final_expression(source: str) -> ast.Expr | None:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    last = tree.body[-1] if tree.body else None
    return last if isinstance(last, ast.Expr) else None


def _offsets(source: str, node: ast.AST) -> tuple[int, int]:
    """String offsets of a node (ast columns count UTF-8 bytes, not characters)."""
    starts, pos = [], 0
    for match in LINE_BREAK.finditer(source + "\n"):
        starts.append((pos, source[pos:match.start()]))
        pos = match.end()

    def at(line: int, col: int) -> int:
        line_start, text = starts[line - 1]
        return line_start + len(text.encode("utf-8")[:col].decode("utf-8", "ignore"))

    return at(node.lineno, node.col_offset), at(node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]
