"""Paint the banner and the prompt before prompt_toolkit is even imported.

Importing prompt_toolkit (and asyncio under it) takes most of orgorepl's start-up time, about
70 ms on a typical machine.  The entry point can call :func:`paint_early_prompt` first thing:
it writes the banner and the prompt with plain ``os.write`` and turns terminal echo off, so the
prompt is on screen at the cost of starting Python.  Keys typed meanwhile wait in the terminal's
input queue (not echoed, so they cannot scribble over the screen); the REPL calls
:meth:`EarlyPrompt.hand_over` just before its first render, which restores the terminal exactly
as it was, moves the cursor back to the start of the prompt line, and lets prompt_toolkit draw
the real prompt in the same place and read the waiting keys.

Stdlib only, and nothing beyond ``os`` until it knows it will paint.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from orgorepl.ui.prompt import PROMPT_TEXT, banner_parts


class EarlyPrompt:
    def __init__(self, fd_in: int, fd_out: int, saved_attrs: list | None) -> None:
        self._fd_in = fd_in
        self._fd_out = fd_out
        self._saved = saved_attrs
        self.banner_shown = True

    def restore_terminal(self) -> None:
        """Put the terminal modes back as they were before painting (idempotent)."""
        saved, self._saved = self._saved, None
        if saved is None:
            return
        import termios

        try:
            termios.tcsetattr(self._fd_in, termios.TCSANOW, saved)  # TCSANOW keeps typed keys
        except (termios.error, OSError):
            pass

    def hand_over(self, write) -> None:
        """Called right before prompt_toolkit's first render; ``write`` writes to the terminal."""
        self.restore_terminal()
        write("\r")  # the real prompt is drawn over the painted one

    def abandon(self) -> None:
        """The REPL will not start after all: leave the cursor on a fresh line."""
        self.restore_terminal()
        try:
            os.write(self._fd_out, b"\r\n")
        except OSError:
            pass


def _toggle_label(env: Mapping[str, str]) -> str:
    """The mode key as config.toml sets it, so the painted banner names the key that works."""
    from orgorepl.config import peek
    from orgorepl.modes import key_label

    return key_label(str(peek("toggle_key", env)))


def paint_early_prompt(
    mode_name: str = "python",
    *,
    version: str | None = None,
    fd_in: int = 0,
    fd_out: int = 1,
    env: Mapping[str, str] | None = None,
) -> EarlyPrompt | None:
    """Paint now if both ends are a real terminal; None when it would not be safe or useful."""
    env = os.environ if env is None else env
    if env.get("ORGOREPL_NO_EARLY_PROMPT") or env.get("TERM", "dumb") in ("", "dumb", "unknown"):
        return None
    try:
        if not (os.isatty(fd_in) and os.isatty(fd_out)):
            return None
        import termios

        saved = termios.tcgetattr(fd_in)
        quiet = list(saved)
        quiet[3] &= ~(termios.ECHO | termios.ECHONL)
        termios.tcsetattr(fd_in, termios.TCSANOW, quiet)
    except (ImportError, OSError, ValueError):
        return None
    except Exception:  # termios.error: not a terminal we can drive
        return None
    early = EarlyPrompt(fd_in, fd_out, saved)
    import atexit

    atexit.register(early.restore_terminal)  # whatever happens before the hand-over
    if version is None:
        from orgorepl import __version__

        version = __version__
    title, hints = banner_parts(version, _toggle_label(env))
    text = f"\x1b[1m{title}\x1b[0m{hints}\r\n{PROMPT_TEXT.get(mode_name, PROMPT_TEXT['python'])}"
    try:
        os.write(fd_out, text.encode("utf-8", "replace"))
    except OSError:
        early.restore_terminal()
        return None
    return early
