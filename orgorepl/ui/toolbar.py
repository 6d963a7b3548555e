"""Bottom toolbar fragments: for the prompt, and for the line shown while a call runs.

Fragments carry style classes only (see ``style.py``), so a theme can restyle every part.
"""

from __future__ import annotations

from prompt_toolkit.formatted_text import StyleAndTextTuples

from orgorepl.modes import Mode
from orgorepl.ui.state import LastCall, Link, UiState

SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"
_SEP = ("class:toolbar.sep", " │ ")

_HINTS = (("F4", "mode"), ("Alt-Enter", "run"), ("%help", ""), ("Ctrl-D", "exit"))  # F4: the toggle key


def _computer(state: UiState) -> StyleAndTextTuples:
    if state.link is Link.READY:
        frags: StyleAndTextTuples = [("class:toolbar.computer", state.where)]
        if state.computer_status:
            frags.append(("class:toolbar.hint", f" ({state.computer_status})"))
        return frags
    if state.link is Link.FAILED:
        return [("class:toolbar.failed", f"{state.where}: not connected")]
    return [("class:toolbar.connecting", f"{state.where}: connecting…")]


def _mode(mode: Mode) -> StyleAndTextTuples:
    return [(f"class:toolbar.mode.{mode.value}", f" {mode.value} ")]


def describe_last(last: LastCall) -> StyleAndTextTuples:
    text = last.detail or last.outcome
    frags: StyleAndTextTuples = [("class:toolbar.hint", "last: "), (f"class:toolbar.last.{last.outcome}", text)]
    if last.elapsed:
        took = f"{last.elapsed * 1000:.0f}ms" if last.elapsed < 1 else format_seconds(last.elapsed)
        frags.append(("class:toolbar.hint", f" {took}"))
    return frags


def format_seconds(seconds: float) -> str:
    if seconds < 10:
        return f"{seconds:.1f}s"
    if seconds < 120:
        return f"{seconds:.0f}s"
    return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"


def session_toolbar(state: UiState) -> StyleAndTextTuples:
    frags: StyleAndTextTuples = [("", " ")]
    frags += _computer(state)
    frags.append(_SEP)
    frags += _mode(state.mode)
    frags.append(_SEP)
    frags.append(("class:toolbar.timeout", f"timeout {state.timeout}s"))
    frags.append(_SEP)
    frags.append(("class:toolbar.state", "state") if state.stateful else ("class:toolbar.stateless", "stateless"))
    if state.last is not None:
        frags.append(_SEP)
        frags += describe_last(state.last)
    frags.append(_SEP)
    if state.signature:  # a call being typed: its signature matters more than the key hints
        frags.append(("class:toolbar.hint", state.signature[:120]))
        return frags
    for i, (key, what) in enumerate(_HINTS):
        if i:
            frags.append(("", "  "))
        frags.append(("class:toolbar.key", state.toggle_label if key == "F4" else key))
        if what:
            frags.append(("class:toolbar.hint", f" {what}"))
    return frags


def progress_toolbar(
    state: UiState, *, phase: str, elapsed: float, timeout: int | None, tick: int, live: bool = False,
    hard_limit: bool = False,
) -> StyleAndTextTuples:
    """The line under a running call: spinner, what is happening, elapsed against the limit.

    ``live``: Ctrl-C interrupts the command on the computer (it does not abandon the call)."""
    frags: StyleAndTextTuples = [
        ("", " "),
        ("class:toolbar.spinner", SPINNER[tick % len(SPINNER)]),
        ("", " "),
        ("class:toolbar.hint", f"{phase} "),
        ("class:toolbar.elapsed", format_seconds(elapsed)),
    ]
    if timeout and live and not hard_limit and elapsed > timeout:  # by default a live limit only warns
        frags.append(("class:toolbar.failed", f" past the {timeout}s timeout, still running"))
    elif timeout and (hard_limit or not live):
        frags.append(("class:toolbar.hint", f" / {timeout}s"))
    frags.append(_SEP)
    frags.append(("class:toolbar.key", "Ctrl-C"))
    frags.append(("class:toolbar.hint", " interrupt" if live else " abandon"))
    return frags
