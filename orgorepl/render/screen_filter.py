"""The sanitiser's terminal policy: a remote full screen passes, what could act on this machine does not.

``orgorepl term`` (and ``%term``) show a remote PTY full screen, like ssh: vim, less, top, htop,
man and a Python REPL must work, so screen control passes.  The REPL's policy
(:mod:`orgorepl.render.sanitize`: only colours pass, the rest is shown) is not touched by this.
:class:`ScreenFilter` is a streaming VT500-style parser (ground, escape, escape intermediate,
CSI, CSI ignore, and the OSC/DCS/SOS/PM/APC strings): the remote's output arrives in chunks
split anywhere, and the result is the same as if it came whole.  What it writes is only plain
text, the layout controls and complete, well-formed sequences it chose to pass, so the local
terminal can never see half a sequence or read one differently from the filter.

What passes, and why
  Printable text (all of Unicode); BEL, BS, HT, LF, VT, FF, CR, SO, SI (layout, as any terminal
  needs); CSI sequences (cursor, erase, scroll regions, colours, mode set/reset, the alternate
  screen, mouse, bracketed paste, cursor shape, kitty keyboard flags); and plain escape
  sequences (save/restore cursor, keypad modes, index, RIS, charset designations, ...).
  Queries whose answer the local terminal types: cursor position (``CSI 6n``), device
  attributes (``CSI c``, ``CSI > c``), mode reports (DECRQM ``CSI ? Ps $ p``), XTVERSION,
  the kitty ``CSI ? u``.  The answers go to the remote program that asked, exactly as over
  ssh (vim, less and readline wait for some of them), and they carry numbers and fixed names,
  nothing the remote chose.  A late answer could arrive after the session: the caller flushes
  pending local input when it ends.

What is dropped (silently: littering the screen would break the full-screen program), and why
  * Every OSC string.  OSC 52 writes the local clipboard; OSC 0/1/2 (window and icon title)
    pass only with ``allow_title``, since a title can pretend to be something else (and, read
    back, was the classic injection); OSC 8 hyperlinks can hide their target; OSC 4/5/10-19/104/110-119
    change or query colours (queries type answers); OSC 7 and 133/633 tell the local terminal
    where the user "is"; OSC 50 switches fonts; OSC 46 changes xterm's log file; OSC 3 sets X
    properties; OSC 9/99/777 raise desktop notifications; OSC 1337 and 5113 transfer files and
    images; OSC 22 changes the mouse pointer.  No full-screen program needs any of these.
  * DCS strings: DECRQSS (``DCS $ q``) and XTGETTCAP make the terminal type an answer built
    from the remote's request, the way into past injection bugs, and no program needs them
    over this link; DECUDK redefines what local keys send; XTSETTCAP sets termcap
    entries; DECDLD loads fonts; sixel images; tmux passthrough smuggles any of the above.
    APC (kitty graphics, which can read local files), PM, SOS, and GNU screen's ``ESC k``
    title string (a title under tmux or screen).
  * ``CSI t`` (XTWINOPS): resize, move, iconify, raise, and the title and size reports,
    whose answers the terminal types (the classic title-report injection).  Also the title
    modes (``CSI > t``, ``CSI > T``) and bell volumes (``CSI SP t``, ``CSI SP u``).
  * ``CSI i`` (media copy): printer-controller mode sends what follows to a printer or a
    command instead of the screen, so the local terminal and this filter would disagree.
  * Settings that outlive the session and cannot be put back exactly: DECLL keyboard LEDs,
    DECSCL conformance level (it also switches answers to 8-bit controls), DECTID terminal
    identity, XTSMPOINTER pointer mode, DECSCPP/DECSNLS page size (a resize), the status line
    (DECSSDT/DECSASD), ``ESC SP G`` (8-bit answers), ``ESC %`` (leaves UTF-8), KAM (``CSI 2 h``
    locks the keyboard, so not even ``~.`` would work), SRM (``CSI 12 l``: local echo would
    show the user's passwords), and these DEC private modes, removed from a set/reset and the
    rest kept: 2 (DECANM: VT52 mode, the terminal would parse everything differently), 3
    (DECCOLM: resizes the window), 46 (logging to a local file), 67 and 1034-1039 (what keys
    send, from local resources), 40, 44, 1010, 1011, 1040-1044 (selection, clipboard,
    window raise and urgency on bell, scrolling preferences), 1046 (would forbid the
    alternate screen and defeat the restore).
  * DECRQCRA (``CSI * y``): a checksum of a screen rectangle, enough to read what is on the
    local screen, which may be output from before the session.
  * Any C1 control (U+0080-U+009F, the 8-bit CSI, OSC, DCS, ...): the character is dropped,
    and a sequence it interrupts is dropped with it.  ENQ (the answerback request) and the
    other C0 controls that lay nothing out (NUL, DEL, ...) are dropped too; ENQ is counted.
  * CAN and SUB abort the sequence in progress, as in a real terminal.

Bounded memory, linear time
  Blocked strings are never held, only their first 32 characters (to name them).  A string
  still unterminated after ``max_string`` characters (1 MiB) is dropped and the parser goes
  back to ground, so a stray introducer cannot hide the rest of a session; the limit is that
  high because a blocked image (sixel, OSC 1337) is routinely larger than 64 KiB, and its tail
  would otherwise be printed as text.  A CSI longer than 256 characters is dropped and, like a
  terminal does, the rest of it is ignored up to its final byte.  A title held for
  ``allow_title`` is at most 4096 characters.  Plain text and colours are copied in slices
  found by one regular expression, never a character at a time.

An incomplete sequence at the end of a chunk is held back until the next chunk completes it;
at the end of the session (:meth:`ScreenFilter.flush`) it is dropped, never written half.

The exact restore
  The filter records, from what it passed, the local modes the remote left on, and
  :meth:`ScreenFilter.restore_sequence` turns exactly those off (a blanket reset would also
  clear what the user had set).  Order matters:

  1. the kitty keyboard flags pushed on the alternate screen are popped while still on it,
     since the main and alternate screens keep separate stacks;
  2. the alternate screen is left next, so the rest applies to the main screen; and leaving
     it with 1049 restores the cursor saved on entry, with its colours, origin mode and
     charset, which would undo any reset of those made before;
  3. a scroll region is reset inside a cursor save/restore (``ESC 7 CSI r ESC 8``), since
     DECSTBM moves the cursor home and the main screen's text would be overwritten;
  4. the other modes, each turned off by its own sequence (one per mode: not every terminal
     reads several in one), then origin mode, whose reset homes the cursor (unavoidable, and
     rare);
  5. colours last but synchronized output, which, if left on, goes last so that the
     terminal draws the whole restore at once.

  Tracking is conservative where terminals differ: a mode that may already be off is turned
  off again (harmless) rather than assumed off; each mouse mode is reset on its own although
  xterm keeps only one.  The filter does not know the window's height unless told
  (``rows``): without it a region covering the whole window, such as vim's ``CSI 1;24 r``,
  is reset again, harmlessly.  Of the character sets only G0 and the shift state are put
  back: G1-G3 show only after a shift, which the restore undoes, and their initial values
  differ between terminals (the Linux console's G1 is line drawing).  RIS (``ESC c``)
  resets all tracking; DECSTR (``CSI ! p``) what it resets.
"""

from __future__ import annotations

import re
from collections import Counter

from orgorepl.render.screen_kinds import (
    _ANSI_BLOCKED,
    _DCS_KINDS,
    _DEC_BLOCKED,
    _OSC_COLOURS,
    _OSC_KINDS,
    _STRING_INTRO,
    _WINDOW_OP,
    QUIET_KINDS,
    _csi_blocked,
    _int,
    _window_op_kind,
)
from orgorepl.render.screen_modes import _Modes

__all__ = ["MAX_CSI", "MAX_STRING", "MAX_TITLE", "QUIET_KINDS", "ScreenFilter"]

MAX_STRING = 1 << 20  # characters of an unterminated OSC/DCS/SOS/PM/APC string before giving up
MAX_CSI = 256  # characters between ``ESC [`` and the final byte
MAX_TITLE = 4096  # characters of a title held for ``allow_title``
_PREFIX = 32  # characters of a blocked string kept to name it
_MAX_INTERMEDIATES = 16

_GROUND, _ESC, _ESC_INT, _CSI, _CSI_IGNORE, _STRING, _STRING_ESC = range(7)

# In ground: a run of text, layout controls (BEL..CR), colours and the cursor motions, erases,
# inserts, deletes and scrolls that nothing tracks or blocks, passed in one slice.
_RUN = re.compile(r"(?:[^\x00-\x06\x0e-\x1f\x7f-\x9f]+|\x1b\[[0-9;:]{0,%d}m|\x1b\[[0-9;]{0,%d}[@A-HJ-MPSTX`a-f])+"
                  % (MAX_CSI, MAX_CSI))
_SGR_IN_RUN = re.compile(r"\x1b\[([0-9;:]*)m")
_CSI_WHOLE = re.compile(r"\x1b\[([\x20-\x3f]{0,%d})([\x40-\x7e])" % MAX_CSI)
_ESC_WHOLE = re.compile(r"\x1b([\x20-\x2f]{0,%d})([\x30-\x7e])" % _MAX_INTERMEDIATES)
_ESC_NOT_FINAL = frozenset("[]PX^_k")  # after a lone ESC these start a CSI or a string
_CSI_STOP = re.compile(r"[^\x20-\x3f]")
_CSI_PARTS = re.compile(r"([<-?]?)([0-;]*)([ -/]*)")
_OSC_STOP = re.compile(r"[\x07\x18\x1a\x1b\x80-\x9f]")  # OSC and ``ESC k`` also end with BEL
_STRING_STOP = re.compile(r"[\x18\x1a\x1b\x80-\x9f]")
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f]")
_OSC_NUMBER = re.compile(r"[0-9]*")
_OSC_TITLE = re.compile(r"[012];")

class ScreenFilter:
    """Remote PTY output in, what may reach the local terminal out; see the module doc.

    ``feed(chunk)`` returns what to write now.  ``blocked`` counts what was dropped, by kind;
    ``summary()`` says it in one line.  ``restore_sequence()`` turns off the modes the remote
    left on.  ``held()`` is the incomplete sequence held back; ``flush()`` drops it at the end.
    """

    def __init__(self, allow_title: bool = False, *, rows: int | None = None, max_string: int = MAX_STRING) -> None:
        self.allow_title = allow_title
        self.rows = rows  # the local window's height, when known: a region of all of it is none
        self.max_string = max(1, max_string)
        self.blocked: Counter[str] = Counter()
        self._modes = _Modes()
        self._state = _GROUND
        self._seq = ""  # the CSI body or escape intermediates held
        self._intro = ""  # the string being read: one of _STRING_INTRO
        self._prefix = ""  # its first characters, to name it
        self._length = 0  # its length so far
        self._title: list[str] | None = None  # its text, while it may still be a title to pass

    # ------------------------------------------------------------ public

    @property
    def alternate_screen(self) -> bool:
        """Whether the remote's screen is, as far as passed, the alternate one."""
        return bool(self._modes.alt)

    def feed(self, text: str) -> str:
        """What of ``text`` (the next chunk of remote output) may be written to the terminal now."""
        out: list[str] = []
        pos, end = 0, len(text)
        while pos < end:
            state = self._state
            if state == _GROUND:
                pos = self._ground(text, pos, out)
            elif state == _CSI or state == _CSI_IGNORE:
                pos = self._csi(text, pos, out)
            elif state == _STRING:
                pos = self._string(text, pos, out)
            elif state == _STRING_ESC:
                if text[pos] == "\\":
                    self._end_string("\x1b\\", out)
                    pos += 1
                else:  # the ESC ends the string unfinished and starts a new sequence
                    self._drop_string()
                    self._state, self._seq = _ESC, ""
            else:
                pos = self._escape(text, pos, out)
        return "".join(out)

    def held(self) -> str:
        """The incomplete sequence held back, that may still be written when it completes."""
        if self._state == _ESC:
            return "\x1b"
        if self._state in (_ESC_INT, _CSI):
            return ("\x1b" if self._state == _ESC_INT else "\x1b[") + self._seq
        if self._state in (_STRING, _STRING_ESC) and self._title is not None:
            return "\x1b]" + "".join(self._title) + ("\x1b" if self._state == _STRING_ESC else "")
        return ""

    def flush(self) -> None:
        """The stream ended: an incomplete sequence is dropped, never written half.

        An unterminated string is counted under its kind.  Mode tracking is kept, so
        :meth:`restore_sequence` still knows what to turn off.
        """
        if self._state in (_STRING, _STRING_ESC):
            self._drop_string()
        self._state, self._seq = _GROUND, ""

    def restore_sequence(self) -> str:
        """The escape text that turns off exactly the modes the remote left on; "" if none.

        It does not change what the filter tracks: write it once, when the remote screen ends.
        """
        return self._modes.restore(self.rows)

    def summary(self) -> str:
        """One line naming what was blocked, or "" when nothing worth saying was.

        Queries and decorations that ordinary programs send all the time (vim asks for colours and
        pushes the title, a prompt marks itself with OSC 7 or 133) are blocked without a word: a
        line after every vim session would teach people to ignore the line that matters, the one
        about a clipboard write or a title change.
        """
        counts = [(kind, count) for kind, count in self.blocked.most_common() if kind not in QUIET_KINDS]
        total = sum(count for _, count in counts)
        if not total:
            return ""
        kinds = ", ".join(f"{kind} \u00d7{count}" for kind, count in counts)
        noun = "escape sequence" if total == 1 else "escape sequences"
        return f"blocked {total} {noun} from the remote: {kinds}"

    # ------------------------------------------------------------ states

    def _ground(self, text: str, pos: int, out: list[str]) -> int:
        m = _RUN.match(text, pos)
        if m:
            run = m.group()
            out.append(run)
            if "\x1b" in run:
                self._run_sgr(run)
            pos = m.end()
            if pos == len(text):
                return pos
        c = text[pos]
        if c == "\x1b":  # whole sequences at once; the rest through the states, as they come
            m = _CSI_WHOLE.match(text, pos)
            if m:
                self._dispatch_csi(m.group(1), m.group(2), out)
                return m.end()
            m = _ESC_WHOLE.match(text, pos)
            if m and (m.group(1) or m.group(2) not in _ESC_NOT_FINAL):
                self._dispatch_esc(m.group(1), m.group(2), out)
                return m.end()
            self._state, self._seq = _ESC, ""
        else:
            self._control(c, out)
        return pos + 1

    def _run_sgr(self, run: str) -> None:
        """Track the colours of a run: those after its last full reset are all that count."""
        last = max(run.rfind("\x1b[m"), run.rfind("\x1b[0m"), run.rfind("\x1b[00m"))
        if last >= 0:
            self._modes.sgr = frozenset()
        for m in _SGR_IN_RUN.finditer(run, last + 1):
            self._modes.apply_sgr(m.group(1))

    def _control(self, c: str, out: list[str]) -> None:
        """A control character in ground, or inside an escape or CSI sequence (executed there too)."""
        code = ord(c)
        if 0x07 <= code <= 0x0F:  # BEL BS HT LF VT FF CR SO SI
            out.append(c)
            if code >= 0x0E:
                self._modes.gl = 1 if code == 0x0E else 0
        elif code == 0x05:
            self.blocked["answerback request (ENQ)"] += 1
        elif 0x80 <= code <= 0x9F:
            self.blocked["C1 control"] += 1

    def _interrupt(self, c: str, out: list[str]) -> bool:
        """A character that cannot continue an escape or CSI sequence: True when it is consumed."""
        code = ord(c)
        if code == 0x1B:
            self._state, self._seq = _ESC, ""
        elif code in (0x18, 0x1A):
            self._state, self._seq = _GROUND, ""
        elif code < 0x20 or code == 0x7F:
            self._control(c, out)  # executed as if in ground; the sequence goes on
        elif 0x80 <= code <= 0x9F:
            self._state, self._seq = _GROUND, ""
            self._control(c, out)
        else:  # beyond ASCII: the sequence is abandoned and the character is text
            self._state, self._seq = _GROUND, ""
            return False
        return True

    def _escape(self, text: str, pos: int, out: list[str]) -> int:
        c = text[pos]
        code = ord(c)
        if self._state == _ESC and c in _STRING_INTRO:
            self._start_string(c)
        elif self._state == _ESC and c == "[":
            self._state, self._seq = _CSI, ""
        elif 0x20 <= code <= 0x2F:
            if len(self._seq) <= _MAX_INTERMEDIATES:
                self._seq += c
            self._state = _ESC_INT
        elif 0x30 <= code <= 0x7E:
            inter, self._state, self._seq = self._seq, _GROUND, ""
            self._dispatch_esc(inter, c, out)
        elif not self._interrupt(c, out):
            return pos
        return pos + 1

    def _csi(self, text: str, pos: int, out: list[str]) -> int:
        m = _CSI_STOP.search(text, pos)
        stop = m.start() if m else len(text)
        if self._state == _CSI and stop > pos:
            self._seq += text[pos:stop]
            if len(self._seq) > MAX_CSI:
                self._state, self._seq = _CSI_IGNORE, ""
                self.blocked["malformed sequence"] += 1
        if not m:
            return stop
        c = text[stop]
        if "\x40" <= c <= "\x7e":
            body, state = self._seq, self._state
            self._state, self._seq = _GROUND, ""
            if state == _CSI:
                self._dispatch_csi(body, c, out)
            return stop + 1
        return stop + 1 if self._interrupt(c, out) else stop

    def _start_string(self, intro: str) -> None:
        self._state, self._seq = _STRING, ""
        self._intro, self._prefix, self._length = intro, "", 0
        self._title = [] if intro == "]" and self.allow_title else None

    def _string(self, text: str, pos: int, out: list[str]) -> int:
        m = (_OSC_STOP if self._intro in "]k" else _STRING_STOP).search(text, pos)
        stop = m.start() if m else len(text)
        if stop > pos:
            room = self.max_string - self._length
            if stop - pos >= room:  # too long: drop it, and what follows is text again
                self._take(text[pos:pos + room])
                self._drop_string()
                return pos + room
            self._take(text[pos:stop])
        if not m:
            return stop
        c = text[stop]
        if c == "\x07":
            self._end_string(c, out)
        elif c == "\x1b":
            self._state = _STRING_ESC
        else:  # CAN, SUB, or a C1 control: the string is abandoned
            self._drop_string()
            if c > "\x7f":
                self.blocked["C1 control"] += 1
        return stop + 1

    def _take(self, body: str) -> None:
        if len(self._prefix) < _PREFIX:
            self._prefix += body[:_PREFIX - len(self._prefix)]
        self._length += len(body)
        if self._title is not None:
            if self._length > MAX_TITLE:
                self._title = None
            else:
                self._title.append(body)

    def _end_string(self, terminator: str, out: list[str]) -> None:
        """A string ended properly: a title may pass (BEL- or ST-terminated), the rest is counted."""
        if self._title is not None and _OSC_TITLE.match(self._prefix):
            out.append("\x1b]" + _UNPRINTABLE.sub("", "".join(self._title)) + terminator)
            self._state, self._title = _GROUND, None
        else:
            self._drop_string()

    def _drop_string(self) -> None:
        self.blocked[self._kind()] += 1
        self._state, self._title, self._prefix = _GROUND, None, ""

    def _kind(self) -> str:
        intro, prefix = self._intro, self._prefix
        if intro == "]":
            m = _OSC_NUMBER.match(prefix)
            number = m.group() if m else ""
            if number in _OSC_KINDS:
                return _OSC_KINDS[number]
            if number in _OSC_COLOURS:
                return "colour query (OSC 4/10/11/...)" if "?" in prefix else "colour (OSC 4/10/11/...)"
            if number == "1337":
                return "file/image (OSC 1337)" if prefix[5:].startswith("File") else "iTerm2 command (OSC 1337)"
            return f"OSC {number}" if number else "OSC string"
        if intro == "P":
            for pattern, kind in _DCS_KINDS:
                if pattern.match(prefix):
                    return kind
            return "DCS string"
        if intro == "_":
            return "image (kitty graphics, APC)" if prefix.startswith("G") else "APC string"
        if intro == "k":
            return "title (screen ESC k)"
        return f"{_STRING_INTRO[intro]} string"

    # ------------------------------------------------------------ dispatch

    def _dispatch_esc(self, inter: str, final: str, out: list[str]) -> None:
        if len(inter) > _MAX_INTERMEDIATES:
            self.blocked["malformed sequence"] += 1
            return
        if not inter and final == "\\":
            return  # a stray string terminator: nothing to end
        if inter == " " and final == "G":
            self.blocked["8-bit controls (S8C1T)"] += 1
            return
        if inter.startswith("%"):
            self.blocked["character encoding switch (ESC %)"] += 1
            return
        self._modes.esc(inter, final)
        out.append("\x1b" + inter + final)

    def _dispatch_csi(self, body: str, final: str, out: list[str]) -> None:
        parts = _CSI_PARTS.fullmatch(body)
        if parts is None:  # a private marker after the parameters, or a parameter after an intermediate
            self.blocked["malformed sequence"] += 1
            return
        private, params, inter = parts.groups()
        kind = _csi_blocked(private, inter, final)
        if kind == _WINDOW_OP:
            kind = _window_op_kind(params)
        if kind:
            self.blocked[kind] += 1
            return
        if final in "hl" and not inter and private in ("?", ""):
            blocked = _DEC_BLOCKED if private else _ANSI_BLOCKED
            values = params.split(";")
            kept = [v for v in values if _int(v, -1) not in blocked]
            if len(kept) < len(values):
                for v in values:
                    if _int(v, -1) in blocked:
                        self.blocked[blocked[int(v)]] += 1
                if not kept:
                    return
                params = ";".join(kept)
                body = private + params
        self._modes.csi(private, params, inter, final)
        out.append("\x1b[" + body + final)
