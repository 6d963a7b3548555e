"""Output shown as it arrives (live sessions): the same sanitiser and the same bounds as a finished
result, applied piece by piece.

Pieces are cut wherever the transport cut them, so an escape sequence may be split between two:
the start of one is held back until its end comes (a lone ``ESC`` shown as ``^[`` would be a lie
about what the program printed).  A stream has no tail to show, so the bound is the head alone:
once ``head_lines + tail_lines`` lines or ``max_bytes_shown`` bytes are on screen, one line says
the rest is not shown and ``%more`` pages all of it when the submission ends.
"""

from __future__ import annotations

import re

from orgorepl.render.ansi import ansi_fragments
from orgorepl.render.bounded import DEFAULT_LIMITS, OutputLimits
from orgorepl.render.result import CUT_STYLE
from orgorepl.render.sanitize import sanitize

Fragments = list[tuple[str, str]]

# an escape sequence that may still be going on at the end of a piece
_OPEN_ESCAPE = re.compile(r"\x1b(?:\[[0-9;:?]*|\][^\x07\x1b]{0,512})?\Z")
MORE = "… more output not shown here: %more pages all of it once the command ends"


class StreamView:
    def __init__(self, *, color: bool, limits: OutputLimits = DEFAULT_LIMITS, hyperlinks: bool = False) -> None:
        self.color, self.hyperlinks = color, hyperlinks
        self._lines_left = limits.head_lines + limits.tail_lines
        self._bytes_left = limits.max_bytes_shown
        self._held = ""
        self._cut = False
        self._at_line_start = True

    @property
    def at_line_start(self) -> bool:
        """What was shown so far ends with a newline (or nothing was shown)."""
        return self._at_line_start

    def feed(self, text: str) -> Fragments:
        text = self._held + text
        open_escape = _OPEN_ESCAPE.search(text)
        self._held, text = (text[open_escape.start():], text[:open_escape.start()]) if open_escape else ("", text)
        return self._show(text)

    def end(self) -> Fragments:
        """What was held back (an unfinished sequence: shown, inert), and a newline if one is missing."""
        frags = self._show(self._held)
        self._held = ""
        if not self._cut and not self._at_line_start:
            frags.append(("class:output", "\n"))
            self._at_line_start = True
        return frags

    def _show(self, text: str) -> Fragments:
        if not text or self._cut:
            return []
        lines = text.count("\n")
        if lines > self._lines_left or len(text) > self._bytes_left:
            text = self._head(text)
            self._cut = True
        self._lines_left -= text.count("\n")
        self._bytes_left -= len(text)
        frags = ansi_fragments(sanitize(text, keep_sgr=self.color, allow_hyperlinks=self.hyperlinks))
        if text:
            self._at_line_start = text.endswith("\n")
        if self._cut:
            if not self._at_line_start:
                frags.append(("class:output", "\n"))
            frags.append((CUT_STYLE, MORE + "\n"))
            self._at_line_start = True
        return frags

    def _head(self, text: str) -> str:
        """The part of ``text`` that still fits, ending at a line end where there is one."""
        text = text[:max(0, self._bytes_left)]
        at, count = 0, 0
        while count < self._lines_left:
            found = text.find("\n", at)
            if found < 0:
                return text
            at, count = found + 1, count + 1
        return text[:at]
