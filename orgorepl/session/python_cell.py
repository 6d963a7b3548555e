"""A Python submission as the code sent to POST /exec, and the reply as what the user sees.

The remote runs nothing but the standard library, so the wrapper is a short program text, not
an import.  It gives the REPL what the bare endpoint cannot:

* the user's code compiled as ``<cell>``, so tracebacks name the lines of the submission;
* the value of a final expression echoed like the interactive interpreter (``sys.displayhook``,
  which also binds ``builtins._``);
* on an uncaught exception, a traceback of the user's frames only, printed to stdout between two
  marker lines that carry a random nonce, then the same exception re-raised, so the endpoint's
  ``success``, ``error`` and ``error_type`` are those of the bare code (``SystemExit`` passes
  through untouched).

The user's code runs in the real ``__main__`` namespace; the wrapper's only global is its own
function, which removes itself before the user's code starts.  :data:`TEMPLATE` has named
slots (``{restore}``, ``{save}``) for the state carry-over prologue and epilogue.
"""

from __future__ import annotations

import ast
import secrets
import warnings
from dataclasses import dataclass

from orgorepl.protocol import ExecResult

# The remote program.  ``{restore}`` runs before the user's code; ``{save}`` after it, whatever
# happened (``error`` holds the user's exception, or None), before that exception is re-raised.
# Both are indented one level, inside the function; literal braces would have to be doubled.
TEMPLATE = '''\
def __orgorepl_cell(src, echo, mark):
    import ast, sys
    ns = sys.modules["__main__"].__dict__
    ns.pop("__orgorepl_cell", None)
    out = sys.stdout
    error = None
{restore}
    try:
        tree = compile(src, "<cell>", "exec", ast.PyCF_ONLY_AST)
        last = tree.body.pop() if echo and tree.body and isinstance(tree.body[-1], ast.Expr) else None
        exec(compile(tree, "<cell>", "exec"), ns)
        if last is not None:
            sys.displayhook(eval(compile(ast.Expression(last.value), "<cell>", "eval"), ns))
    except BaseException as e:
        error = e
        if not isinstance(e, SystemExit):
            try:
                import linecache, traceback
                linecache.cache["<cell>"] = (len(src), None, src.splitlines(True), "<cell>")
                tb = e.__traceback__
                while tb is not None and tb.tb_frame.f_code.co_filename != "<cell>":
                    tb = tb.tb_next
                text = "".join(traceback.format_exception(type(e), e, tb))
                sys.stdout.flush()
                out.write("\\n" + mark + ">\\n" + text + mark + "<\\n")
                out.flush()
            except BaseException:
                pass
{save}
    if error is not None:
        raise error
__orgorepl_cell({src!r}, {echo!r}, {mark!r})
'''


@dataclass(frozen=True)
class WrappedCell:
    program: str  # the ``code`` of the /exec request
    marker: str  # the nonce line prefix of the traceback block
    code: str  # the user's submission as typed
    echo: bool


@dataclass(frozen=True)
class CellOutcome:
    output: str  # the user's stdout, byte for byte, without the traceback block
    traceback: str | None  # the user's traceback (frames of <cell> and below), if one came back
    success: bool
    error: str | None
    error_type: str | None
    timeout: bool
    echoed: bool  # the submission ended with an expression, so its value (unless None) was shown


def wrap_cell(code: str, *, echo: bool = True, restore: str = "", save: str = "") -> WrappedCell:
    """The program for ``code``.  ``restore``/``save`` are extra statements for the template's
    slots (state carry-over); each line is indented into the wrapper function."""
    marker = f"#orgorepl-tb-{secrets.token_hex(8)}"
    program = TEMPLATE.format(
        src=code, echo=bool(echo), mark=marker,
        restore=_indent(restore), save=_indent(save),
    )
    return WrappedCell(program=program, marker=marker, code=code, echo=bool(echo))


def unwrap_cell(cell: WrappedCell, result: ExecResult) -> CellOutcome:
    """The reply, with the marked traceback block taken out of ``output`` and returned apart."""
    output, traceback_text = split_traceback(result.output, cell.marker)
    return CellOutcome(
        output=output,
        traceback=traceback_text,
        success=result.success,
        error=result.error,
        error_type=result.error_type,
        timeout=result.timeout,
        echoed=cell.echo and _ends_with_expression(cell.code),
    )


def split_traceback(output: str, marker: str) -> tuple[str, str | None]:
    """``output`` without the block ``\\n<marker>>\\n ... <marker><\\n``, and the block's text.

    The wrapper always writes a newline before the opening marker (the user's output may not end
    with one), and that newline is removed with the block.  A block cut off by an output limit
    (no closing marker) runs to the end.
    """
    opening = "\n" + marker + ">\n"
    start = output.rfind(opening)
    if start < 0:
        return output, None
    body_start = start + len(opening)
    closing = marker + "<\n"
    end = output.find(closing, body_start)
    if end < 0:
        return output[:start], output[body_start:]
    return output[:start] + output[end + len(closing):], output[body_start:end]


def _indent(block: str) -> str:
    lines = [line for line in block.splitlines() if line.strip()]
    return "\n".join("    " + line for line in lines) if lines else "    pass"


def _ends_with_expression(code: str) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            tree = ast.parse(code)
        except (SyntaxError, ValueError, OverflowError, MemoryError, RecursionError):
            return False
    return bool(tree.body) and isinstance(tree.body[-1], ast.Expr)
