"""What the screen filter blocks, by kind, and which kinds are routine (``render.screen_filter``).

The tables name each blocked sequence the way a person would recognise it in the one line shown
when a session ends; the reasons for each choice are in ``screen_filter``'s module doc.
"""

from __future__ import annotations

import re


def _int(text: str, default: int = 0) -> int:
    return int(text) if text.isdigit() else default


_WINDOW_OP = "window operation (CSI t)"


def _window_op_kind(params: str) -> str:
    first = _int(params.split(";")[0], 0)
    if first in (22, 23):
        return "title stack (CSI 22/23 t)"
    if first in (20, 21):
        return "title report (CSI 20/21 t)"
    if 11 <= first <= 19:
        return "window report (CSI t)"
    return _WINDOW_OP


# Blocked, but not worth a word at the end (see ScreenFilter.summary): what programs send routinely.
QUIET_KINDS = frozenset({
    "title stack (CSI 22/23 t)", "window report (CSI t)", "colour query (OSC 4/10/11/...)",
    "termcap query (XTGETTCAP)", "status query (DECRQSS)", "title mode (XTSMTITLE)", "title mode (XTRMTITLE)",
    "working directory (OSC 7)", "shell integration (OSC 133/633)", "answerback request (ENQ)",
    "probe (DCS zz)",
})

_STRING_INTRO = {"]": "OSC", "P": "DCS", "X": "SOS", "^": "PM", "_": "APC", "k": "screen title"}

_OSC_KINDS = {
    "0": "title (OSC 0/1/2)", "1": "title (OSC 0/1/2)", "2": "title (OSC 0/1/2)",
    "3": "X property (OSC 3)",
    "7": "working directory (OSC 7)",
    "8": "hyperlink (OSC 8)",
    "9": "notification (OSC 9/99/777)", "99": "notification (OSC 9/99/777)",
    "777": "notification (OSC 9/99/777)",
    "22": "pointer shape (OSC 22)",
    "46": "log file (OSC 46)",
    "50": "font (OSC 50)",
    "52": "clipboard (OSC 52)",
    "133": "shell integration (OSC 133/633)", "633": "shell integration (OSC 133/633)",
    "5113": "file transfer (OSC 5113)",
}
_OSC_COLOURS = {"4", "5", "6", "104", "105", "106", *map(str, range(10, 20)), *map(str, range(110, 120))}
_DCS_KINDS = [
    (re.compile(r"\$q"), "status query (DECRQSS)"),
    (re.compile(r"\+q"), "termcap query (XTGETTCAP)"),
    (re.compile(r"\+p"), "termcap setting (XTSETTCAP)"),
    (re.compile(r"[0-9;]*q"), "sixel image (DCS)"),
    (re.compile(r"[0-9;]*\|"), "user-defined keys (DECUDK)"),
    (re.compile(r"[0-9;]*\{"), "soft font (DECDLD)"),
    (re.compile(r"tmux;"), "tmux passthrough (DCS)"),
    (re.compile(r"zz$"), "probe (DCS zz)"),  # vim checks whether the terminal swallows a DCS
]

# DEC private modes removed from a set/reset (the module doc says why).
_DEC_BLOCKED = {
    2: "VT52 mode (DECANM)",
    3: "column mode (DECCOLM)",
    46: "logging (XTLOGGING)",
    **dict.fromkeys([67, 1034, 1035, 1036, 1037, 1039], "keyboard setting (DEC mode)"),
    **dict.fromkeys([40, 44, 1010, 1011, 1040, 1041, 1042, 1043, 1044, 1046], "terminal setting (DEC mode)"),
}
_ANSI_BLOCKED = {2: "keyboard lock (KAM)", 12: "local echo (SRM)"}


def _csi_blocked(private: str, inter: str, final: str) -> str:
    """The kind of a CSI sequence that must not pass, or "" (the module doc says why)."""
    if final == "t":
        if inter == "$":  # DECRARA: attributes in a rectangle of the screen
            return ""
        if inter == " ":
            return "bell volume (DECSWBV)"
        return "title mode (XTSMTITLE)" if private == ">" else _WINDOW_OP
    if final == "T" and private == ">" and not inter:
        return "title mode (XTRMTITLE)"
    if final == "q":
        if not private and not inter:
            return "keyboard LEDs (DECLL)"
        if inter == ",":
            return "terminal identity (DECTID)"
    if final == "p":
        if inter == '"':
            return "conformance level (DECSCL)"
        if private == ">" and not inter:
            return "pointer mode (XTSMPOINTER)"
    if final == "u" and inter == " ":
        return "bell volume (DECSMBV)"
    if final == "i":
        return "printing (media copy, CSI i)"
    if final == "y" and inter == "*":
        return "screen checksum report (DECRQCRA)"
    if final == "|" and inter in ("$", "*"):
        return "page size (DECSCPP/DECSNLS)"
    if final in "~}" and inter == "$":
        return "status line (DECSSDT/DECSASD)"
    return ""
