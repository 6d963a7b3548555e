"""Prompt text per mode, the continuation prompt of the same width, and the banner.

Python keeps the ``>>>``/``...`` every Python user reads without thinking; bash gets ``$``/``>``
like the shell.  The class names (``prompt.python``, ``prompt.bash``) let themes colour them.
Stdlib only at import time: ``ui.early`` paints this prompt before prompt_toolkit is loaded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from prompt_toolkit.formatted_text import StyleAndTextTuples

    from orgorepl.modes import Mode

PROMPT_TEXT = {"python": ">>> ", "bash": "$ "}
CONTINUATION_TEXT = {"python": "... ", "bash": "> "}


def prompt_fragments(mode: Mode, cwd: str | None = None) -> StyleAndTextTuples:
    """The prompt; in bash mode the remote cwd stands before it, like a shell's ``\\w $``."""
    if cwd and mode.value == "bash":
        return [("class:prompt.cwd", cwd + " "), (f"class:prompt.{mode.value}", PROMPT_TEXT[mode.value])]
    return [(f"class:prompt.{mode.value}", PROMPT_TEXT[mode.value])]


def continuation_fragments(mode: Mode, width: int) -> StyleAndTextTuples:
    return [("class:prompt.continuation", CONTINUATION_TEXT[mode.value].rjust(width))]


def banner_parts(version: str, toggle_label: str = "F4") -> tuple[str, str]:
    """The first line of a session: the program, then how to get help (title, hints)."""
    return f"orgorepl {version}", f" · %help for help · {toggle_label} switches Python/bash · Ctrl-D exits"
