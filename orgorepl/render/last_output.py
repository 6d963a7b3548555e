"""The whole text of the last result, for ``%more`` and ``%save-output`` once the screen showed
only part of it; and the two ways out: a pager and a private file.

The text is kept as it came back (not sanitized): ``%save-output`` writes what the computer
printed, as a pipe would get it; the pager gets it sanitized, since it draws on the terminal.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import TextIO

from orgorepl.outcome import Outcome
from orgorepl.render.sanitize import sanitize


class LastOutput:
    """Holds the full raw text of the most recent result (one at a time; a new one replaces it)."""

    def __init__(self) -> None:
        self._text: str | None = None

    @property
    def text(self) -> str | None:
        """The kept text, or None before any result (or after :meth:`clear`)."""
        return self._text

    def keep(self, outcome: Outcome) -> None:
        """Keep everything a submission sent back (output, then traceback)."""
        self._text = outcome.full_text()

    def keep_text(self, text: str) -> None:
        self._text = text

    def clear(self) -> None:
        self._text = None


def save_output(text: str, path: str | os.PathLike[str]) -> int:
    """Write ``text`` (UTF-8) to ``path`` readable by its owner only (0600: outputs may hold
    secrets, and an existing file is narrowed to 0600 too); returns the bytes written.

    ``~`` is expanded.  Errors (a missing directory, no permission) are raised as ``OSError``.
    """
    data = text.encode("utf-8", "replace")
    target = os.path.expanduser(os.fspath(path))
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
    finally:
        os.close(fd)
    return len(data)


def page_text(text: str, *, color: bool = True, out: TextIO | None = None) -> str:
    """Show ``text`` (sanitized) in the user's pager; returns ``"pager"`` or ``"printed"``.

    The pager is ``$PAGER`` run by the shell (as git and man do; ``PAGER=cat`` prints), or
    ``less -R`` when it is unset; ``LESS`` defaults to ``FRX`` like git's, so a short text is
    printed and left on screen.  Without a pager (``PAGER`` empty, no ``less`` installed, or the
    pager cannot be started), the text is written to ``out`` (default ``sys.stdout``).  Ctrl-C
    belongs to the pager while it runs.  Call it with the terminal in normal mode (between
    prompts, or inside ``run_in_terminal``).
    """
    shown = sanitize(text, keep_sgr=color)
    command = _pager_command()
    if command is not None:
        env = dict(os.environ)
        env.setdefault("LESS", "FRX")
        data = shown.encode("utf-8", "replace")
        try:
            proc = subprocess.Popen(command, shell=True, stdin=subprocess.PIPE, env=env)
        except OSError:
            proc = None
        if proc is not None:
            _feed(proc, data)
            if proc.returncode != 127:  # 127: the shell could not find the pager
                return "pager"
    stream = out if out is not None else sys.stdout
    stream.write(shown if shown.endswith("\n") or not shown else shown + "\n")
    stream.flush()
    return "printed"


def _pager_command() -> str | None:
    pager = os.environ.get("PAGER")
    if pager is not None:
        return pager.strip() or None
    from shutil import which

    return "less -R" if which("less") else None


def _feed(proc: subprocess.Popen[bytes], data: bytes) -> None:
    """Give the pager its input and wait for it; the user quitting early (a closed pipe) and
    Ctrl-C (which the pager handles) end nothing here but the wait."""
    try:
        proc.communicate(data)
    except KeyboardInterrupt:
        try:
            if proc.stdin is not None:
                proc.stdin.close()
        except OSError:
            pass
    while proc.returncode is None:
        try:
            proc.wait()
        except KeyboardInterrupt:
            continue
