"""What a Python run wrote to stderr, carried inside its output.

The service documents ``output`` as stdout only (the emulator drops stderr), so the wrappers
(``remote_python.py`` for a session, ``remote_run.py`` for ``orgorepl exec``, see
``oneshot_python.py``) point file descriptor 2 at a temporary file while the user's code runs
and write what arrived there into stdout, framed by the cell's marker:
``\\n<mark>2>LENGTH\\n`` TEXT ``<mark>2<\\n``.  Here that block is taken out
again, so stdout is the user's byte for byte and stderr is shown apart.
"""

from __future__ import annotations


def take_stderr(output: str, mark: str) -> tuple[str, str]:
    """``output`` without the stderr block, and the block's text ("" when there was none).

    A block that an output limit cut short keeps what arrived of it."""
    opening = "\n" + mark + "2>"
    start = output.rfind(opening)
    if start < 0:
        return output, ""
    head_end = output.find("\n", start + len(opening))
    try:
        size = int(output[start + len(opening):head_end]) if head_end >= 0 else -1
    except ValueError:
        size = -1
    if size < 0:  # the opening line itself was cut: nothing of the text arrived
        return output[:start], ""
    body = head_end + 1
    text = output[body:body + size]
    closing = mark + "2<\n"
    rest = body + size
    if output.startswith(closing, rest):
        rest += len(closing)
    elif len(text) < size:  # cut by a limit inside the text
        rest = len(output)
    return output[:start] + output[rest:], text
