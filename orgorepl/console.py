"""Where output goes, and the decisions about it made once: streams, tty, colour, pager.

httpie's ``Environment`` is the model: one injectable object instead of ``sys.stdout.isatty()``
and ``os.environ["NO_COLOR"]`` scattered over the front ends.  Every line a command-line front
end writes goes through a :class:`Console`, and the Console applies the one rule for text that
may have come from the remote computer:

* into a **terminal** it is sanitised (``render.sanitize``): colours stay when colour is on,
  every other control sequence is shown, inert;
* into a **pipe or file** remote output is written as the computer printed it, byte for byte,
  so scripts get exactly what ran; orgorepl's own lines are plain text anyway.

Nothing is probed at import time; :meth:`Console.from_env` probes when a command starts.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO

from orgorepl.outcome import Outcome, Status, Stream
from orgorepl.render.sanitize import sanitize
from orgorepl.render.verdict import status_line

COLOR_SETTINGS = ("auto", "always", "never")


def no_color_requested(env: Mapping[str, str] | None = None) -> bool:
    """``NO_COLOR`` set to anything but the empty string (no-color.org)."""
    return bool((os.environ if env is None else env).get("NO_COLOR"))


def use_color(setting: str, *, isatty: bool, env: Mapping[str, str] | None = None) -> bool:
    """The colour decision: ``never``, ``NO_COLOR`` or ``--no-color`` win; ``auto`` is "a terminal"."""
    if setting == "never" or no_color_requested(env):
        return False
    return setting == "always" or isatty


@dataclass
class Console:
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)
    stdout_isatty: bool = False
    stderr_isatty: bool = False
    color: bool = False
    theme: str = "default"  # the colour theme of formatted output (mono when colour is off)
    _status_shown: bool = field(default=False, repr=False)

    @classmethod
    def from_env(cls, color_setting: str = "auto", *, theme: str = "default", stdout: TextIO | None = None,
                 stderr: TextIO | None = None, env: Mapping[str, str] | None = None) -> Console:
        out = stdout if stdout is not None else sys.stdout
        err = stderr if stderr is not None else sys.stderr
        out_tty, err_tty = _isatty(out), _isatty(err)
        return cls(stdout=out, stderr=err, stdout_isatty=out_tty, stderr_isatty=err_tty,
                   color=use_color(color_setting, isatty=out_tty, env=env), theme=theme)

    # -- text ---------------------------------------------------------------------------------

    def out(self, text: str, *, remote: bool = True) -> None:
        """``text`` to stdout: sanitised for a terminal (colours kept when colour is on), as it is
        for a pipe.  ``remote=False``: orgorepl's own text, never coloured by escape codes."""
        if not text:
            return
        self._clear_status()
        if self.stdout_isatty:
            text = sanitize(text, keep_sgr=self.color and remote)
        self.stdout.write(text)
        self.stdout.flush()

    def line(self, text: str) -> None:
        """One line of orgorepl's own on stdout (it may quote remote words, e.g. a computer name)."""
        self.out(text + "\n", remote=False)

    def error(self, text: str, *, prefix: str = "orgorepl: ") -> None:
        """One line on stderr, sanitised for a terminal (the message may quote the remote)."""
        self._clear_status()
        if self.stderr_isatty:
            text = " ".join(sanitize(text, keep_sgr=False).split("\n"))
        self.stderr.write(f"{prefix}{text}\n")
        self.stderr.flush()

    def error_block(self, text: str, *, remote_stderr: bool = False) -> None:
        """Several lines on stderr as they are (a traceback), sanitised for a terminal.
        ``remote_stderr``: what the run itself wrote there, colours kept when colour is on and
        its last line left as it ended, as a local script's stderr would be."""
        if not text:
            return
        self._clear_status()
        if self.stderr_isatty:
            text = sanitize(text, keep_sgr=self.color and remote_stderr)
        self.stderr.write(text if remote_stderr or text.endswith("\n") else text + "\n")
        self.stderr.flush()


    def report(self, outcome: Outcome) -> int:
        """A submission's outcome on plain streams; returns its exit status.

        The output goes to stdout (every byte, for a pipe); the verdict to stderr: a traceback as
        a script's stderr shows it, one line for anything else with news, nothing for a bash exit
        code (the exit status says it, as a shell does).  What the run wrote to stderr, when the
        wrapper brought it back, goes to stderr, as it would from a local script."""
        self.out("".join(p.text for p in outcome.pieces if p.stream is not Stream.STDERR))
        self.error_block("".join(p.text for p in outcome.pieces if p.stream is Stream.STDERR), remote_stderr=True)
        if outcome.status in (Status.REFUSED, Status.UNREACHABLE):
            self.error(outcome.error or outcome.verdict)  # the client error's own line, as any command says it
        elif outcome.status is Status.ERROR and outcome.traceback:
            self.error_block(outcome.traceback)
        elif outcome.status is Status.ERROR:
            self.error(status_line(outcome), prefix="")
        elif outcome.status is not Status.EXIT:
            line = status_line(outcome)
            if line:
                self.error(line)
        for note in outcome.notes:
            self.error(note)
        return outcome.exit_status

    # -- the progress channel of the command line --------------------------------------------

    def status(self, text: str) -> None:
        """One line of progress on stderr, redrawn in place; nothing when stderr is not a terminal."""
        if not self.stderr_isatty:
            return
        self.stderr.write("\r" + sanitize(text, keep_sgr=False).replace("\n", " ") + "\x1b[K")
        self.stderr.flush()
        self._status_shown = True

    def _clear_status(self) -> None:
        if self._status_shown:
            self._status_shown = False
            self.stderr.write("\r\x1b[K")
            self.stderr.flush()

    def done_status(self) -> None:
        """End the progress line (it is erased: the result line says what happened)."""
        self._clear_status()

    def clear_screen(self) -> None:
        """Clear a terminal (orgorepl's own control sequence); nothing into a pipe."""
        if self.stdout_isatty:
            self.stdout.write("\x1b[H\x1b[2J")
            self.stdout.flush()

    # -- formatted text -----------------------------------------------------------------------

    def fragments(self, fragments: Iterable[tuple[Any, ...]], style: Any = None) -> None:
        """prompt_toolkit formatted text on stdout: styled on a terminal (``style``, or the
        console's theme), plain text into a pipe.  Fragment text is made inert by the terminal
        writer (``render.terminal``)."""
        frags = list(fragments)
        self._clear_status()
        if not self.stdout_isatty:
            self.stdout.write("".join(f[1] for f in frags if "[ZeroWidthEscape]" not in f[0]))
            self.stdout.flush()
            return
        from prompt_toolkit.output import ColorDepth
        from prompt_toolkit.output.vt100 import Vt100_Output

        from orgorepl.render.terminal import write_fragments

        if style is None:
            from orgorepl.ui.style import load_style

            _theme, style, _warning = load_style(self.theme if self.color else "mono")
        output = Vt100_Output.from_pty(self.stdout)
        write_fragments(output, frags, style=style, color_depth=None if self.color else ColorDepth.DEPTH_1_BIT,
                        include_default_pygments_style=False)

    def page(self, text: str) -> str:
        """``text`` (remote) in the user's pager; returns ``"pager"`` or ``"printed"``."""
        from orgorepl.render.last_output import page_text

        self._clear_status()
        return page_text(text, color=self.color, out=self.stdout)


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False
