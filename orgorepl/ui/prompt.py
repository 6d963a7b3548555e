"""Prompt text per mode, and the continuation prompt of the same width.

Python keeps the ``>>>``/``...`` every Python user reads without thinking; bash gets ``$``/``>``
like the shell.  The class names (``prompt.python``, ``prompt.bash``) let themes colour them.
"""

from __future__ import annotations

from prompt_toolkit.formatted_text import StyleAndTextTuples

from orgorepl.modes import Mode

PROMPTS = {Mode.PYTHON: ">>> ", Mode.BASH: "$ "}
CONTINUATIONS = {Mode.PYTHON: "... ", Mode.BASH: "> "}


def prompt_fragments(mode: Mode) -> StyleAndTextTuples:
    return [(f"class:prompt.{mode.value}", PROMPTS[mode])]


def continuation_fragments(mode: Mode, width: int) -> StyleAndTextTuples:
    text = CONTINUATIONS[mode]
    return [("class:prompt.continuation", text.rjust(width))]
