"""A small terminal model for the REPL tests, and its own tests.

prompt_toolkit redraws in place (cursor moves, erase-to-end), so the raw byte stream of a session
is not what a person sees: a spinner frame and the result printed after it end up glued together.
``VtScreen`` replays the stream the way a terminal would, keeping everything that scrolled up, so
tests can assert on the screen.  It knows the sequences prompt_toolkit's Vt100 output uses
(cursor up/down/left/right/column/position, erase line/screen, SGR and modes ignored); anything
else is dropped.  The screen is modelled as unbounded downwards (scrollback included).
"""

from __future__ import annotations

import re

CSI = re.compile(r"\x1b\[([0-?]*)([ -/]*)([@-~])")
OTHER_ESCAPE = re.compile(r"\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b[=>78]|\x1bO.")


class VtScreen:
    def __init__(self, rows: int = 24, columns: int = 100) -> None:
        self.rows, self.columns = rows, columns
        self.lines: list[list[str]] = [[]]
        self.row = self.col = 0
        self.autowrap = True
        self.wrapped: set[int] = set()  # rows that continue the row above (soft wrap)
        self._pending = ""

    # -- feeding

    def feed(self, data: str) -> None:
        data = self._pending + data
        self._pending = ""
        i = 0
        while i < len(data):
            ch = data[i]
            if ch == "\x1b":
                match = CSI.match(data, i)
                if match:
                    self._csi(match.group(1), match.group(3))
                    i = match.end()
                    continue
                other = OTHER_ESCAPE.match(data, i)
                if other:
                    i = other.end()
                    continue
                if len(data) - i < 8:  # an escape split across writes: wait for the rest
                    self._pending = data[i:]
                    return
                i += 1
                continue
            if ch == "\r":
                self.col = 0
            elif ch == "\n":
                self._down(1)
            elif ch == "\b":
                self.col = max(0, self.col - 1)
            elif ch == "\t":
                self.col = min(self.columns - 1, (self.col // 8 + 1) * 8)
            elif ch >= " ":
                self._put(ch)
            i += 1

    def _line(self) -> list[str]:
        while len(self.lines) <= self.row:
            self.lines.append([])
        return self.lines[self.row]

    def _down(self, n: int) -> None:
        self.row += n
        self._line()

    def _put(self, ch: str) -> None:
        if self.col >= self.columns:
            if not self.autowrap:
                self.col = self.columns - 1
            else:
                self.col = 0
                self._down(1)
                self.wrapped.add(self.row)
        line = self._line()
        while len(line) < self.col:
            line.append(" ")
        if self.col < len(line):
            line[self.col] = ch
        else:
            line.append(ch)
        self.col += 1

    def _top(self) -> int:
        return max(0, len(self.lines) - self.rows)

    def _csi(self, params: str, final: str) -> None:
        private = params.startswith("?")
        nums = [int(p) if p.isdigit() else 0 for p in params.lstrip("?").split(";")] if params else []
        n = (nums[0] if nums and nums[0] else 1)
        if private:
            if nums == [7]:
                self.autowrap = final == "h"
            return
        if final == "A":
            self.row = max(self._top(), self.row - n)
        elif final == "B":
            self._down(n)
        elif final == "C":
            self.col = min(self.columns - 1, self.col + n)
        elif final == "D":
            self.col = max(0, self.col - n)
        elif final == "G":
            self.col = n - 1
        elif final in "Hf":
            row = nums[0] if nums and nums[0] else 1
            col = nums[1] if len(nums) > 1 and nums[1] else 1
            self.row, self.col = self._top() + row - 1, col - 1
            self._line()
        elif final == "J":
            mode = nums[0] if nums else 0
            if mode == 0:
                del self._line()[self.col:]
                del self.lines[self.row + 1:]
                self.wrapped = {r for r in self.wrapped if r <= self.row}
            elif mode in (2, 3):
                top = self._top()
                for r in range(top, len(self.lines)):
                    self.lines[r] = []
        elif final == "K":
            mode = nums[0] if nums else 0
            line = self._line()
            if mode == 0:
                del line[self.col:]
            elif mode == 2:
                line.clear()
        # SGR (m), device status (n) and everything else: no effect on the text

    # -- reading

    def text(self, *, join_wrapped: bool = True) -> str:
        """The screen, one string; lines the terminal wrapped are joined back by default."""
        out: list[str] = []
        for row, line in enumerate(self.lines):
            text = "".join(line)
            if join_wrapped and row in self.wrapped and out:
                out[-1] += text
            else:
                out.append(text)
        return "\n".join(line.rstrip() for line in out)


def test_plain_lines_and_crlf():
    s = VtScreen()
    s.feed("hello\r\nworld\r\n")
    assert s.text() == "hello\nworld\n"


def test_redraw_in_place_overwrites_and_erases():
    s = VtScreen()
    s.feed("\x1b[0;1m⠋ running 0.1s\x1b[0m")
    s.feed("\r\x1b[J⠙ running 0.2s")
    s.feed("\r\x1b[J")  # erased when done
    s.feed("42\r\n")
    assert s.text() == "42\n"


def test_cursor_up_and_erase_below():
    s = VtScreen()
    s.feed(">>> 1+1\r\n toolbar\x1b[1A\r\x1b[4C\x1b[J")
    assert s.text() == ">>>"


def test_split_escape_sequence_across_writes():
    s = VtScreen()
    s.feed("a\x1b[")
    s.feed("2Cb")
    assert s.text() == "a  b"


def test_soft_wrapped_lines_are_joined_back():
    s = VtScreen(columns=10)
    s.feed("0123456789abcdef\r\nnext\r\n")
    assert s.text() == "0123456789abcdef\nnext\n"
    assert s.text(join_wrapped=False) == "0123456789\nabcdef\nnext\n"
