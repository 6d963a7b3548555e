"""Frames inside a terminal's output: lines that start with a mark, amid whatever else the
terminal shows (no I/O here).

Both programs orgorepl starts on a computer's terminal, the live Python agent and the live
session's attach, speak this way: ``mark`` + one line of ASCII + ``\\n``.  The mark holds a nonce
that the bootstrap line types as escapes, so the terminal's echo of that line can never look
like a frame.  What this keeps in one place: a frame cut between two reads waits for the rest
(also a mark cut in two); text outside frames is the shell's noise, kept short for an error
message; a frame cut short by the next mark (a program killed mid-line) is dropped.
"""

from __future__ import annotations

NOISE_KEPT = 2000


class MarkedLines:
    def __init__(self, mark: str) -> None:
        self.mark = mark
        self._buffer = ""
        self.noise = ""  # the end of what was not a frame (the shell's words when a start fails)

    def bodies(self, text: str) -> list[str]:
        """The bodies of the frames completed by ``text`` (the mark and line end taken off)."""
        buf, mark, pos = self._buffer + text, self.mark, 0
        found: list[str] = []
        while True:
            at = buf.find(mark, pos)
            if at < 0:
                keep = self._partial_mark(buf, pos)
                self._skip(buf[pos:keep])
                self._buffer = buf[keep:]
                return found
            self._skip(buf[pos:at])
            body_at = at + len(mark)
            end = buf.find("\n", body_at)
            again = buf.find(mark, body_at)
            if again >= 0 and (end < 0 or again < end):  # cut short by the next frame: dropped
                pos = again
                continue
            if end < 0:
                self._buffer = buf[at:]
                return found
            found.append(buf[body_at:end].rstrip("\r"))
            pos = end + 1

    def push_front(self, bodies: list[str]) -> None:
        """Frames to be read again first, before what is waiting and what comes next."""
        self._buffer = "".join(self.mark + body + "\n" for body in bodies) + self._buffer

    def _partial_mark(self, buf: str, pos: int) -> int:
        """Where a mark may be starting at the end of ``buf`` (its length if none)."""
        start = max(pos, len(buf) - len(self.mark) + 1)
        for at in range(start, len(buf)):
            if self.mark.startswith(buf[at:]):
                return at
        return len(buf)

    def _skip(self, text: str) -> None:
        if text:
            self.noise = (self.noise + text)[-NOISE_KEPT:]
