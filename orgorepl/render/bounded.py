"""Very long remote output cut to its first and last part; binary output held back.

A remote command can print megabytes.  Sanitizing, highlighting and drawing all of it would keep
the prompt away for seconds and bury the screen, so only a head and a tail are shown, with one
line between them saying what was left out (the whole text stays available to ``%more`` and
``%save-output``).  The work done here must itself be bounded by the limits, not by the size:
it slices, looks for newlines inside windows no larger than the limits, and sniffs 4 KB at each
end for binary data.  Nothing scans the whole text, except one newline count of the hidden part
when that part is at most ``line_count_max_bytes`` (a C-speed count, about 0.3 ms per MB).

Sizes are measured in characters of the decoded text, which are bytes when the text is ASCII
(an O(1) check in CPython); the cut line says "characters" otherwise, since counting UTF-8
bytes would mean encoding the whole hidden part.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from orgorepl.config import DEFAULTS

SNIFF = 4096  # characters looked at, at each end, to tell binary from text
MORE_HINT = "%more pages the whole output, %save-output FILE writes it"

# control characters that text output does not contain (tab, newline, CR and ESC excluded)
_BINARY_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f-\x9f]")
_PARTIAL_SGR = re.compile(r"\x1b(?:\[[0-9;:]*)?")
_SGR = re.compile(r"\x1b\[[0-9;:]*m")
_ESCAPE_REACH = 64  # an SGR longer than this is not worth keeping whole across a cut


@dataclass(frozen=True)
class OutputLimits:
    """How much of one result reaches the screen.

    ``max_bytes_shown`` bounds head plus tail together (half each); ``head_lines`` and
    ``tail_lines`` bound them in lines; whichever limit is reached first cuts.  Highlighting
    (tracebacks, JSON) is done for at most ``highlight_max_bytes`` per result, plain above.
    A hidden part larger than ``line_count_max_bytes`` is described by its size alone, so that
    no pass over the whole output is needed.
    """

    max_bytes_shown: int = DEFAULTS["output_max_bytes"]
    head_lines: int = DEFAULTS["output_max_lines"] // 2
    tail_lines: int = DEFAULTS["output_max_lines"] // 2
    highlight_max_bytes: int = 256 * 1024
    line_count_max_bytes: int = 2 * 1024 * 1024

    @classmethod
    def shown(cls, max_bytes: int, max_lines: int) -> OutputLimits:
        """The limits of the settings ``output_max_bytes`` and ``output_max_lines`` (head + tail)."""
        half = max(1, max_lines // 2)
        return cls(max_bytes_shown=max_bytes, head_lines=half, tail_lines=half)

    def __post_init__(self) -> None:
        for name in ("max_bytes_shown", "head_lines", "tail_lines", "highlight_max_bytes",
                     "line_count_max_bytes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"OutputLimits.{name} must be a non-negative integer, not {value!r}")
        if self.max_bytes_shown == 0 or self.head_lines + self.tail_lines == 0:
            raise ValueError("OutputLimits must let something through (max_bytes_shown and "
                             "head_lines + tail_lines above 0)")


DEFAULT_LIMITS = OutputLimits()


@dataclass(frozen=True)
class Cut:
    """What was left out between head and tail."""

    hidden: int  # characters (bytes when ``ascii``)
    lines: int | None  # lines wholly hidden; None when not counted (hidden part too large)
    ascii: bool
    head_inside: bool  # the head ends inside a line (a very long one)
    tail_inside: bool  # the tail starts inside a line

    def describe(self) -> str:
        unit = "bytes" if self.ascii else "characters"
        if self.lines is None:
            what = f"{self.hidden:,} {unit}"
        elif self.lines == 0:
            what = f"{self.hidden:,} {unit} of one long line"
        else:
            what = f"{self.hidden:,} {unit} / {self.lines:,} line{'s' if self.lines != 1 else ''}"
        return f"… {what} not shown: {MORE_HINT}"


@dataclass(frozen=True)
class Bounded:
    """The part of a text to show: ``head``, then (when ``cut``) the cut line and ``tail``."""

    head: str
    tail: str = ""
    cut: Cut | None = None
    binary: bool = False
    size: int = 0  # characters in the whole text
    ascii: bool = True

    def shown(self) -> int:
        return len(self.head) + len(self.tail)

    def describe_binary(self) -> str:
        unit = "bytes" if self.ascii else "characters"
        return f"binary output ({self.size:,} {unit}) not shown: %save-output FILE writes it"


def looks_binary(text: str) -> bool:
    """Whether ``text`` is binary data rather than text (judged from 4 KB at each end).

    A NUL, more than 10% control characters, or more than 30% controls and U+FFFD together
    (what undecodable bytes became on the server) say binary.  Text in a wrong encoding has a
    few replacement characters and stays text: they are shown as they are.
    """
    samples = [text[:SNIFF]]
    if len(text) > SNIFF:
        samples.append(text[-SNIFF:])
    for sample in samples:
        if "\x00" in sample:
            return True
        controls = len(_BINARY_CONTROLS.findall(sample))
        if controls * 10 > len(sample):
            return True
        if (controls + sample.count("\ufffd")) * 10 > len(sample) * 3:
            return True
    return False


def bound(text: str, limits: OutputLimits = DEFAULT_LIMITS, *, sniff: bool = True) -> Bounded:
    """``text`` cut to ``limits``: cuts fall on line boundaries near the limit when there are
    any, inside a line when there are none (one huge line), never inside a colour sequence."""
    n = len(text)
    is_ascii = text.isascii()
    if sniff and looks_binary(text):
        return Bounded("", binary=True, size=n, ascii=is_ascii)
    budget = limits.max_bytes_shown
    if n <= budget and _line_count(text) <= limits.head_lines + limits.tail_lines:
        return Bounded(text, size=n, ascii=is_ascii)
    if not limits.tail_lines:
        head_budget = budget
    elif not limits.head_lines:
        head_budget = 0
    else:
        head_budget = budget // 2
    head_end = _head_end(text, head_budget, limits.head_lines)
    tail_start = _tail_start(text, max(head_end, n - (budget - head_budget)), limits.tail_lines)
    if tail_start <= head_end:
        return Bounded(text, size=n, ascii=is_ascii)
    head_inside = head_end > 0 and text[head_end - 1] != "\n"
    tail_inside = text[tail_start - 1] != "\n"
    hidden = tail_start - head_end
    lines: int | None = None
    if hidden <= limits.line_count_max_bytes:
        breaks = text.count("\n", head_end, tail_start)
        lines = breaks - 1 if head_inside and breaks else breaks
    cut = Cut(hidden=hidden, lines=lines, ascii=is_ascii, head_inside=head_inside, tail_inside=tail_inside)
    return Bounded(text[:head_end], text[tail_start:], cut, size=n, ascii=is_ascii)


def _line_count(text: str) -> int:
    return text.count("\n") + (0 if not text or text.endswith("\n") else 1)


def _head_end(text: str, budget: int, max_lines: int) -> int:
    """Where the head stops: after ``max_lines`` lines, or at a line end near ``budget``, or
    (a very long line) at ``budget``."""
    limit = min(budget, len(text))
    pos = 0
    for _ in range(max_lines):
        newline = text.find("\n", pos, limit)
        if newline < 0:
            break
        pos = newline + 1
    else:
        return pos
    if limit == len(text):
        return limit
    if pos and pos >= limit - limit // 4:  # a line boundary near the limit
        return pos
    return _before_escape(text, limit)


def _tail_start(text: str, low: int, max_lines: int) -> int:
    """Where the tail starts (at or after ``low``): ``max_lines`` lines before the end, or at a
    line start near ``low``, or (a very long line) at ``low``."""
    n = len(text)
    end = n - 1 if text.endswith("\n") else n
    start = n
    for _ in range(max_lines):
        newline = text.rfind("\n", low, end)
        if newline < 0:
            break
        start = end = newline
        start += 1
    else:
        return start
    if low == 0 or text[low - 1] == "\n":
        return low
    if start < n and start <= low + (n - low) // 4:  # a line boundary near the limit
        return start
    return _after_escape(text, low)


def _before_escape(text: str, pos: int) -> int:
    """``pos`` moved back so that the head does not end in part of a colour sequence or a CR."""
    esc = text.rfind("\x1b", max(0, pos - _ESCAPE_REACH), pos)
    if esc >= 0 and _PARTIAL_SGR.fullmatch(text, esc, pos):
        pos = esc
    if pos and text[pos - 1] == "\r":
        pos -= 1
    return pos


def _after_escape(text: str, pos: int) -> int:
    """``pos`` moved on so that the tail does not start with the rest of a colour sequence."""
    esc = text.rfind("\x1b", max(0, pos - _ESCAPE_REACH), pos)
    if esc >= 0:
        match = _SGR.match(text, esc)
        if match and match.end() > pos:
            return match.end()
    return pos
