"""The local side of a full-screen pass-through (`term`, a live full-screen program): raw mode in,
filtered remote text out, and an exact restore.

Why:

* **Raw mode, saved and put back whole.**  Every key must reach the remote (Ctrl-C is a byte
  for the remote program, not a signal for us), so the terminal goes raw; what it was is saved
  with ``tcgetattr`` first and set back with ``tcsetattr`` however the session ends, so
  ``stty -a`` reads the same before and after.
* **Remote text only through the screen filter.**  It is the sanitiser's terminal policy
  (``render.screen_filter``): screen control passes, what could act on this machine (clipboard,
  title, DCS/APC strings, window reports) does not.  The filter also knows which modes the
  remote left on (alternate screen, hidden cursor, mouse, bracketed paste, ...), and only
  those are turned off at the end: a blanket reset would clear things the user had set.
* **Answers to the remote's queries go to the remote, never to whoever reads next.**  A query
  (cursor position, device attributes) makes the local terminal type an answer; one still
  in flight when the session ends would land at the REPL prompt or the shell, so pending
  input is flushed after a short pause.
"""

from __future__ import annotations

import os
import termios
import time
import tty
from typing import Any

from orgorepl.render.screen_filter import ScreenFilter

ANSWER_GRACE = 0.05  # seconds for a terminal's answer still on its way to arrive before the flush


def _printable(line: str) -> str:
    """Our own words on a raw screen: nothing in them may act on the terminal."""
    return "".join(ch if ch.isprintable() else "?" for ch in line)


class LocalTerminal:
    def __init__(self, in_fd: int, out_fd: int, *, allow_title: bool = False) -> None:
        self.in_fd = in_fd
        self.out_fd = out_fd
        self.allow_title = allow_title
        self.filter = self._new_filter()
        self.interactive = os.isatty(in_fd)
        self._saved: list[Any] | None = None
        self._blocked: list[str] = []

    def size(self) -> tuple[int, int]:
        """(cols, rows) of the local window; 80x24 when there is none (a pipe)."""
        for fd in (self.out_fd, self.in_fd):
            try:
                size = os.get_terminal_size(fd)
            except OSError:
                continue
            if size.columns > 0 and size.lines > 0:
                return size.columns, size.lines
        return 80, 24

    def resized(self) -> tuple[int, int]:
        """The window's new size, which the filter needs too (a full-height scroll region is no region)."""
        cols, rows = self.size()
        self.filter.rows = rows
        return cols, rows

    def _new_filter(self) -> ScreenFilter:
        return ScreenFilter(allow_title=self.allow_title, rows=self.size()[1])

    # ---------------------------------------------------------------- modes

    def enter(self) -> None:
        if self.interactive and self._saved is None:
            self._saved = termios.tcgetattr(self.in_fd)
            tty.setraw(self.in_fd, termios.TCSANOW)

    def leave(self) -> None:
        """Turn off what the remote left on, then give the terminal back as it was."""
        self.end_screen()
        if self._saved is not None:
            time.sleep(ANSWER_GRACE)
            try:
                termios.tcflush(self.in_fd, termios.TCIFLUSH)
            finally:
                termios.tcsetattr(self.in_fd, termios.TCSADRAIN, self._saved)
                self._saved = None

    def end_screen(self) -> None:
        """The remote screen is gone (session over, or about to reconnect to a new shell)."""
        self.filter.flush()  # a sequence left unfinished is dropped, and counted if it was blocked
        restore = self.filter.restore_sequence()
        if restore:
            self._write(restore)
        summary = self.filter.summary()
        if summary:
            self._blocked.append(summary)
        self.filter = self._new_filter()

    def blocked_summary(self) -> str:
        return "; ".join(self._blocked)

    # ---------------------------------------------------------------- output

    def show_remote(self, text: str) -> None:
        shown = self.filter.feed(text)
        if shown:
            self._write(shown)

    def show_line(self, line: str) -> None:
        """One of our own lines, in the middle of a raw screen: on a line of its own."""
        self._write(f"\r\n{_printable(line)}\r\n")

    def show_text(self, text: str) -> None:
        self._write("\r\n")  # the cursor may be anywhere on the remote's line: start a new one
        for line in text.splitlines():
            self._write(_printable(line) + "\r\n")

    def _write(self, text: str) -> None:
        data = memoryview(text.encode("utf-8", "replace"))
        while data:
            try:
                data = data[os.write(self.out_fd, data):]
            except BlockingIOError:
                time.sleep(0.001)
            except InterruptedError:
                continue

    # ---------------------------------------------------------------- input

    def read_keys(self) -> bytes | None:
        """What is waiting on the input: b"" at its end, None when nothing is there after all."""
        try:
            return os.read(self.in_fd, 65536)
        except (BlockingIOError, InterruptedError):
            return None
        except OSError:
            return b""
