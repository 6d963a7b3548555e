"""The local terminal modes a remote screen left on, tracked from what the filter passed, and
the escape text that turns exactly those off again (``render.screen_filter``).
"""

from __future__ import annotations

from orgorepl.render.screen_kinds import _int

# DEC private modes tracked for the restore: off by default (restored with ``l``) ...
_DEC_DEFAULT_OFF = frozenset({
    1,  # application cursor keys (DECCKM)
    5,  # reverse video (DECSCNM)
    9, 1000, 1001, 1002, 1003,  # mouse tracking
    1005, 1006, 1015, 1016,  # mouse encodings
    12,  # blinking cursor
    45,  # reverse wraparound
    66,  # application keypad (DECNKM)
    69,  # left/right margins (DECLRMM); resetting it also drops the margins
    1004,  # focus events
    1050, 1051, 1052, 1053, 1060, 1061,  # function-key emulations
    2004,  # bracketed paste
    2026,  # synchronized output
    2031,  # colour-scheme reports
    2048,  # in-band resize reports
    9001,  # win32 input mode
})
# ... and on by default (restored with ``h``).
_DEC_DEFAULT_ON = frozenset({7, 8, 25})  # autowrap, autorepeat, cursor visible
_ALT_SCREENS = (47, 1047, 1049)
_ANSI_TRACKED = frozenset({4, 20})  # insert (IRM), newline (LNM)

# SGR parameter -> the attribute it sets or clears (38/48/58 take their colour arguments).
_SGR_SETS: dict[int, str] = {
    1: "intensity", 2: "intensity", 3: "italic", 4: "underline", 21: "underline", 5: "blink", 6: "blink",
    7: "reverse", 8: "hidden", 9: "strike", 26: "spacing", 51: "frame", 52: "frame", 53: "overline",
    73: "script", 74: "script", 38: "fg", 48: "bg", 58: "ulcolour",
    **{n: "font" for n in range(11, 21)}, **{n: "fg" for n in [*range(30, 38), *range(90, 98)]},
    **{n: "bg" for n in [*range(40, 48), *range(100, 108)]}, **{n: "ideogram" for n in range(60, 65)},
}
_SGR_CLEARS: dict[int, str] = {
    10: "font", 22: "intensity", 23: "italic", 24: "underline", 25: "blink", 27: "reverse", 28: "hidden",
    29: "strike", 39: "fg", 49: "bg", 50: "spacing", 54: "frame", 55: "overline", 59: "ulcolour",
    65: "ideogram", 75: "script",
}
_SgrEffect = tuple[bool, frozenset[str], frozenset[str]]  # (resets all first, clears, sets)
_SGR_CACHE: dict[str, _SgrEffect] = {}
_SGR_CACHE_SIZE = 512


def _sgr_effect(params: str) -> _SgrEffect:
    effect = _SGR_CACHE.get(params)
    if effect is not None:
        return effect
    reset = False
    clears: set[str] = set()
    sets: set[str] = set()
    parts = params.split(";")
    i = 0
    while i < len(parts):
        head, colon, sub = parts[i].partition(":")
        code = int(head) if head.isdigit() else 0 if not head else -1
        if code == 0:
            reset, clears, sets = True, set(), set()
        elif code == 4 and colon and sub.split(":")[0] in ("", "0"):
            sets.discard("underline")  # 4:0 is underline off
            clears.add("underline")
        elif code in _SGR_SETS:
            group = _SGR_SETS[code]
            sets.add(group)
            clears.discard(group)
            if code in (38, 48, 58) and not colon and i + 1 < len(parts):
                i += {"5": 2, "2": 4}.get(parts[i + 1], 0)
        elif code in _SGR_CLEARS:
            group = _SGR_CLEARS[code]
            clears.add(group)
            sets.discard(group)
        else:
            sets.add("other")  # unknown: only a full reset is known to clear it
        i += 1
    effect = (reset, frozenset(clears), frozenset(sets))
    if len(_SGR_CACHE) < _SGR_CACHE_SIZE:
        _SGR_CACHE[params] = effect
    return effect


# The state DECSC saves and DECRC (and leaving the 1049 screen) restores, as far as tracked:
# (SGR attributes, origin mode, G0 designation, which G set is shifted into GL).
_Cursor = tuple[frozenset[str], bool, str, int]
_DEFAULT_CURSOR: _Cursor = (frozenset(), False, "(B", 0)


class _Modes:
    """The local terminal modes the remote left on, from the sequences that were passed."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.alt = 0  # the mode that entered the alternate screen (47, 1047, 1049), 0 on main
        self.dec_on: set[int] = set()
        self.dec_off: set[int] = set()
        self.ansi_on: set[int] = set()
        self.keypad = False
        self.region: tuple[int, int] | None = None  # (top, bottom) of a scroll region, 0 = default
        self.tabs = False
        self.cursor_style = False
        self.locator = False
        self.modkeys: set[str] = set()
        self.kitty = [0, 0]  # kitty keyboard pushes, main and alternate screen
        self.kitty_set = [False, False]  # flags changed without a push
        self.sgr: frozenset[str] = frozenset()
        self.origin = False
        self.g0 = "(B"
        self.gl = 0
        self.saved: list[_Cursor] = [_DEFAULT_CURSOR, _DEFAULT_CURSOR]
        self.xtsaved: dict[int, bool] = {}

    # ------------------------------------------------------------ cursor state

    @property
    def screen(self) -> int:
        return 1 if self.alt else 0

    def cursor(self) -> _Cursor:
        return (self.sgr, self.origin, self.g0, self.gl)

    def set_cursor(self, state: _Cursor) -> None:
        self.sgr, self.origin, self.g0, self.gl = state

    def save_cursor(self) -> None:
        self.saved[self.screen] = self.cursor()

    def restore_cursor(self) -> None:
        self.set_cursor(self.saved[self.screen])

    def apply_sgr(self, params: str) -> None:
        reset, clears, sets = _sgr_effect(params)
        self.sgr = ((frozenset() if reset else self.sgr) - clears) | sets

    # ------------------------------------------------------------ modes

    def dec_value(self, mode: int) -> bool | None:
        if mode in _ALT_SCREENS:
            return self.alt == mode
        if mode == 6:
            return self.origin
        if mode in _DEC_DEFAULT_ON:
            return mode not in self.dec_off
        if mode in _DEC_DEFAULT_OFF:
            return mode in self.dec_on
        return None

    def dec(self, mode: int, on: bool) -> None:
        if mode in _ALT_SCREENS:
            if mode == 1049 and on:
                self.save_cursor()
            if on and not self.alt:
                self.alt = mode
                self.kitty[1], self.kitty_set[1] = 0, False
            elif not on and self.alt:
                self.alt = 0
            if mode == 1049 and not on:
                self.restore_cursor()
        elif mode == 1048:
            (self.save_cursor if on else self.restore_cursor)()
        elif mode == 6:
            self.origin = on
        elif mode in _DEC_DEFAULT_ON:
            (self.dec_off.discard if on else self.dec_off.add)(mode)
        elif mode in _DEC_DEFAULT_OFF:
            (self.dec_on.add if on else self.dec_on.discard)(mode)

    def csi(self, private: str, params: str, inter: str, final: str) -> None:
        """Track a CSI sequence that is being passed."""
        if final == "m":
            if not private and not inter:
                self.apply_sgr(params)
            elif private == ">" and not inter:  # XTMODKEYS
                parts = params.split(";")
                if not params:
                    self.modkeys.clear()
                elif len(parts) > 1 and parts[1]:
                    self.modkeys.add(parts[0])
                else:
                    self.modkeys.discard(parts[0])
            return
        if final in "hl" and not inter:
            on = final == "h"
            for part in params.split(";"):
                if part.isdigit():
                    if private == "?":
                        self.dec(int(part), on)
                    elif not private and int(part) in _ANSI_TRACKED:
                        (self.ansi_on.add if on else self.ansi_on.discard)(int(part))
            return
        key = (private, inter, final)
        if key == ("", "", "r"):
            parts = params.split(";")
            top, bottom = _int(parts[0]), _int(parts[1]) if len(parts) > 1 else 0
            self.region = None if top <= 1 and bottom == 0 else (top, bottom)
        elif key == ("?", "", "s"):  # XTSAVE
            for part in params.split(";"):
                value = self.dec_value(_int(part, -1))
                if value is not None:
                    self.xtsaved[int(part)] = value
        elif key == ("?", "", "r"):  # XTRESTORE
            for part in params.split(";"):
                mode = _int(part, -1)
                if mode in self.xtsaved:
                    self.dec(mode, self.xtsaved[mode])
                elif mode in _DEC_DEFAULT_OFF or mode in _DEC_DEFAULT_ON or mode == 6:
                    self.dec(mode, mode not in _DEC_DEFAULT_ON)  # unknown: assume not the default
        elif key == ("", "", "s") and not params and 69 not in self.dec_on:  # SCOSC
            self.save_cursor()
        elif key == ("", "", "u") and not params:  # SCORC
            self.restore_cursor()
        elif final == "u" and not inter and private in ("<", ">", "="):  # kitty keyboard
            screen = self.screen
            if private == ">":
                self.kitty[screen] += 1
            elif private == "<":
                self.kitty[screen] = max(0, self.kitty[screen] - max(1, _int(params, 1)))
            elif not self.kitty[screen]:
                parts = params.split(";")
                flags, how = _int(parts[0]), _int(parts[1], 1) if len(parts) > 1 else 1
                if how == 1:
                    self.kitty_set[screen] = flags != 0
                elif how == 2 and flags:
                    self.kitty_set[screen] = True
        elif key == (">", "", "n") and params:  # XTMODKEYS off: not the initial value either
            self.modkeys.add(params.split(";")[0])
        elif key == ("", " ", "q"):  # DECSCUSR
            self.cursor_style = params not in ("", "0")
        elif key == ("", "!", "p"):  # DECSTR, the soft reset
            self.dec_off.discard(25)
            self.dec_on.difference_update({1, 66})
            self.ansi_on.discard(4)
            self.keypad, self.region = False, None
            self.set_cursor(_DEFAULT_CURSOR)
            self.saved[self.screen] = _DEFAULT_CURSOR
        elif final == "g" and not private and not inter:  # TBC
            self.tabs = True
        elif final == "W" and not inter:
            if private == "?" and params == "5":  # DECST8C: tabs every 8 columns again
                self.tabs = False
            elif not private:  # CTC
                self.tabs = True
        elif key == ("", "'", "z"):  # DECELR
            self.locator = params.split(";")[0] not in ("", "0")
        elif final in "q}" and inter == "#":  # XTPOPSGR: attributes from a stack we do not model
            self.sgr = self.sgr | {"other"}

    def esc(self, inter: str, final: str) -> None:
        """Track a plain escape sequence that is being passed."""
        if not inter:
            if final == "c":
                self.reset()
            elif final == "7":
                self.save_cursor()
            elif final == "8":
                self.restore_cursor()
            elif final == "=":
                self.keypad = True
            elif final == ">":
                self.keypad = False
            elif final == "H":
                self.tabs = True
            elif final in "no":
                self.gl = 2 if final == "n" else 3
        elif inter[0] == "(" or (inter[0] == "$" and inter[1:2] in ("", "(")):
            self.g0 = inter + final

    # ------------------------------------------------------------ restore

    def restore(self, rows: int | None) -> str:
        out: list[str] = []
        sgr, origin, g0, gl = self.cursor()
        if self.alt:
            if self.kitty[1]:
                out.append(f"\x1b[<{self.kitty[1]}u")
            out.append(f"\x1b[?{self.alt}l")
            if self.alt == 1049:
                sgr, origin, g0, gl = self.saved[0]
        if self.region and not (self.region[0] <= 1 and rows and self.region[1] >= rows):
            out.append("\x1b7\x1b[r\x1b8")
        out += [f"\x1b[?{m}l" for m in sorted(self.dec_on - {2026})]
        out += [f"\x1b[?{m}h" for m in sorted(self.dec_off)]
        out += [f"\x1b[{m}l" for m in sorted(self.ansi_on)]
        if self.keypad:
            out.append("\x1b>")
        out += [f"\x1b[>{p}m" for p in sorted(self.modkeys)]
        if self.kitty[0]:
            out.append(f"\x1b[<{self.kitty[0]}u")
        if self.kitty_set[0]:
            out.append("\x1b[=0;1u")
        if self.cursor_style:
            out.append("\x1b[0 q")
        if self.locator:
            out.append("\x1b[0'z")
        if self.tabs:
            out.append("\x1b[?5W")
        if g0 != "(B":
            out.append("\x1b(B")
        if gl:
            out.append("\x0f")
        if origin:
            out.append("\x1b[?6l")
        if sgr:
            out.append("\x1b[m")
        if 2026 in self.dec_on:
            out.append("\x1b[?2026l")
        return "".join(out)
