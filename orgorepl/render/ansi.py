"""Turn SGR colour sequences in (sanitized) text into prompt_toolkit fragments.

prompt_toolkit prints fragment text literally (it even rewrites ESC to ``?``), so the colours
a remote ``ls --color`` or ``grep --color`` produced must become styles.  Its own ``ANSI`` class
does this one character at a time and ignores the ``:`` forms; this one works segment by
segment, so megabytes of coloured output stay cheap.

OSC 8 hyperlinks, when the sanitizer let them through, become zero-width escape fragments
(``[ZeroWidthEscape]``), which prompt_toolkit and :mod:`orgorepl.render.terminal` write as they are.
"""

from __future__ import annotations

import re

from orgorepl.render.sanitize import OSC8_PATTERN, SGR_PATTERN

ZERO_WIDTH = "[ZeroWidthEscape]"
_SEQUENCE = re.compile(SGR_PATTERN.pattern + "|(" + OSC8_PATTERN.pattern + ")")

_BASIC = ("black", "red", "green", "yellow", "blue", "magenta", "cyan", "gray")
_BRIGHT = ("brightblack", "brightred", "brightgreen", "brightyellow", "brightblue",
           "brightmagenta", "brightcyan", "white")
_ATTRS = {1: "bold", 3: "italic", 4: "underline", 5: "blink", 7: "reverse", 8: "hidden", 9: "strike"}
_ATTR_OFF = {21: ("bold",), 22: ("bold",), 23: ("italic",), 24: ("underline",), 25: ("blink",),
             27: ("reverse",), 28: ("hidden",), 29: ("strike",)}


def _xterm_256(n: int) -> str:
    if n < 8:
        return "ansi" + _BASIC[n]
    if n < 16:
        return "ansi" + _BRIGHT[n - 8]
    if n < 232:
        n -= 16
        levels = [0 if v == 0 else 55 + 40 * v for v in (n // 36, (n // 6) % 6, n % 6)]
        return "#%02x%02x%02x" % tuple(levels)
    grey = 8 + 10 * (n - 232)
    return "#%02x%02x%02x" % (grey, grey, grey)


class _State:
    __slots__ = ("fg", "bg", "attrs")

    def __init__(self) -> None:
        self.fg: str | None = None
        self.bg: str | None = None
        self.attrs: set[str] = set()

    def style(self) -> str:
        parts = sorted(self.attrs)
        if self.fg:
            parts.append(self.fg)
        if self.bg:
            parts.append("bg:" + self.bg)
        return " ".join(parts)

    def apply(self, params: str) -> None:
        if not params:
            params = "0"
        if ":" in params:  # ITU form, e.g. 38:2::255:0:0 or 38:5:196 - one parameter per group
            for group in params.split(";"):
                self._apply_group(group.split(":"))
            return
        codes = [int(p) if p.isdigit() else 0 for p in params.split(";")]
        i = 0
        while i < len(codes):
            i = self._apply_codes(codes, i)

    def _apply_group(self, fields: list[str]) -> None:
        nums = [int(f) if f.isdigit() else None for f in fields]
        head = nums[0] or 0
        if head in (38, 48) and len(nums) >= 3:
            if nums[1] == 5 and nums[2] is not None:
                self._set(head, _xterm_256(nums[2] % 256))
            elif nums[1] == 2:
                rgb = [n or 0 for n in nums[-3:]]
                self._set(head, "#%02x%02x%02x" % tuple(min(v, 255) for v in rgb))
            return
        self._apply_codes([head], 0)

    def _set(self, which: int, color: str) -> None:
        if which == 38:
            self.fg = color
        else:
            self.bg = color

    def _apply_codes(self, codes: list[int], i: int) -> int:
        code = codes[i]
        if code == 0:
            self.fg = self.bg = None
            self.attrs.clear()
        elif code in _ATTRS:
            self.attrs.add(_ATTRS[code])
        elif code in _ATTR_OFF:
            self.attrs.difference_update(_ATTR_OFF[code])
        elif 30 <= code <= 37:
            self.fg = "ansi" + _BASIC[code - 30]
        elif 40 <= code <= 47:
            self.bg = "ansi" + _BASIC[code - 40]
        elif 90 <= code <= 97:
            self.fg = "ansi" + _BRIGHT[code - 90]
        elif 100 <= code <= 107:
            self.bg = "ansi" + _BRIGHT[code - 100]
        elif code == 39:
            self.fg = None
        elif code == 49:
            self.bg = None
        elif code in (38, 48) and i + 1 < len(codes):
            if codes[i + 1] == 5 and i + 2 < len(codes):
                self._set(code, _xterm_256(codes[i + 2] % 256))
                return i + 3
            if codes[i + 1] == 2 and i + 4 < len(codes):
                self._set(code, "#%02x%02x%02x" % tuple(min(v, 255) for v in codes[i + 2:i + 5]))
                return i + 5
            return len(codes)
        return i + 1


def ansi_fragments(text: str, base: str = "class:output") -> list[tuple[str, str]]:
    """Fragments for ``text`` (already sanitized), each styled ``base`` plus its SGR state."""
    if "\x1b" not in text:
        return [(base, text)] if text else []
    state = _State()
    out: list[tuple[str, str]] = []
    pos = 0
    for m in _SEQUENCE.finditer(text):
        if m.start() > pos:
            out.append(_styled(base, state, text[pos:m.start()]))
        if m.group(2):
            out.append((ZERO_WIDTH, m.group(2)))
        else:
            state.apply(m.group(1))
        pos = m.end()
    if pos < len(text):
        out.append(_styled(base, state, text[pos:]))
    return out


def _styled(base: str, state: _State, chunk: str) -> tuple[str, str]:
    extra = state.style()
    return (f"{base} {extra}" if extra else base, chunk)
