"""Make remote output safe to print: colours stay, every other control sequence is shown, inert.

Output of a remote command is untrusted text headed for the user's terminal.  Escape sequences
in it could move the cursor over earlier lines, clear the screen, switch to the alternate
screen, set the window title, write the clipboard (OSC 52), plant hyperlinks (OSC 8), or hide
text with a carriage return.  So exactly one kind of sequence survives: SGR (``ESC [`` digits,
``;`` and ``:`` ``m``), which only sets colours and attributes.  Every other control character
is replaced by a visible, harmless spelling, so the user can see that something was there:

* C0 controls and DEL in caret notation (``ESC`` -> ``^[``, ``BEL`` -> ``^G``, ``DEL`` -> ``^?``);
  once its ``ESC`` is visible, the rest of a sequence is plain printable text, terminated or not;
* C1 controls (U+0080..U+009F, such as the 8-bit CSI U+009B) as ``\\x9b``;
* tab and newline are kept; ``\\r\\n`` (also ``\\r\\r\\n``) becomes ``\\n``; any other carriage
  return is shown as ``^M``, never obeyed, since obeying it lets later text overwrite earlier;
* one exception is dropped rather than shown: erase-to-end-of-line (``ESC [ K``, ``ESC [ 0 K``),
  which ``grep --color`` and gcc write after every coloured span.  Printed in sequence it erases
  nothing (the cursor is always at the end of what was written), and showing it would litter
  every match with ``^[[K``;
* OSC 8 hyperlinks are kept only when the user allowed them (``allow_hyperlinks``), and only in
  their strict form (parameters and URI of printable ASCII, ended by ST or BEL): a link's text
  can name another address than the one it opens, so they are off by default.

One pass of one regular expression with no backtracking, so the cost is linear in the text.

This is the REPL's policy.  The full-screen pass-through (``orgorepl term``) has its own, the
terminal policy in :mod:`orgorepl.render.screen_filter`: screen control passes there, what could
act on the local machine (clipboard, title, DCS/APC strings, window operations) is dropped.
"""

from __future__ import annotations

import re

_SGR = r"\x1b\[[0-9;:]*m"
_OSC8 = r"\x1b\]8;[\x20-\x3a\x3c-\x7e]{0,512};[\x21-\x7e]{0,4096}(?:\x1b\\|\x07)"
_REST = r"|(\r+)(\n?)|(\x1b\[0?K)|([\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f])"
_PATTERN = re.compile(r"(" + _SGR + r")()" + _REST)
_PATTERN_LINKS = re.compile(r"(" + _SGR + r")|(" + _OSC8 + r")" + _REST)
_ANY = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # anything at all to look at (\r included)

SGR_PATTERN = re.compile(r"\x1b\[([0-9;:]*)m")
OSC8_PATTERN = re.compile(_OSC8)


def _visible(code: int) -> str:
    if code < 0x20:
        return "^" + chr(code + 0x40)
    if code == 0x7F:
        return "^?"
    return "\\x%02x" % code


_VISIBLE = {chr(c): _visible(c) for c in [*range(0x20), *range(0x7F, 0xA0)]}


_INERT = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def make_inert(text: str) -> str:
    """Every control character but newline and tab shown visibly, no exception made.

    The last line of defence at the terminal writer: whatever reaches it as text (a note that
    quotes a remote message, a computer's name) cannot act on the terminal, even if a path
    upstream forgot to sanitise it.  Colours have become styles by then, so nothing is lost.
    """
    if not _INERT.search(text):
        return text
    return _INERT.sub(lambda m: _VISIBLE[m.group()], text)


def sanitize(text: str, *, keep_sgr: bool = True, allow_hyperlinks: bool = False) -> str:
    """``text`` with every control sequence but SGR made visible (see the module doc).

    ``keep_sgr=False`` drops the SGR sequences as well (for output without colour);
    ``allow_hyperlinks=True`` lets well-formed OSC 8 hyperlinks through.
    """
    if not _ANY.search(text):
        return text

    def replace(m: re.Match[str]) -> str:
        sgr, link, crs, nl, erase, ctl = m.groups()
        if sgr is not None:
            return sgr if keep_sgr else ""
        if link:
            return link
        if crs is not None:
            return "\n" if nl else "^M" * len(crs)
        if erase is not None:
            return ""
        return _VISIBLE[ctl]

    return (_PATTERN_LINKS if allow_hyperlinks else _PATTERN).sub(replace, text)
