"""Remote output is untrusted: only colours may reach the terminal, everything else is shown inert."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from prompt_toolkit import print_formatted_text
from prompt_toolkit.data_structures import Size
from prompt_toolkit.output.color_depth import ColorDepth
from prompt_toolkit.output.vt100 import Vt100_Output

from orgorepl.render.sanitize import sanitize
from orgorepl.ui.style import default_style

from outcomes import bash_outcome, render_bash

SGR = re.compile(r"\x1b\[[0-9;:]*m")
FORBIDDEN = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")  # every control but \t and \n

# (name, hostile text, printable text that must still be readable afterwards)
HOSTILE = [
    ("cursor up", "a\x1b[1Ab", "[1A"),
    ("cursor position", "\x1b[10;20Hx", "[10;20H"),
    ("clear screen", "\x1b[2Jgone?", "[2J"),
    ("clear scrollback", "\x1b[3J", "[3J"),
    ("erase whole line", "text\x1b[2K", "[2K"),
    ("erase to line start", "text\x1b[1K", "[1K"),
    ("scroll region", "\x1b[1;5r", "[1;5r"),
    ("alternate screen", "\x1b[?1049h", "[?1049h"),
    ("bracketed paste", "\x1b[?2004l", "[?2004l"),
    ("mouse tracking", "\x1b[?1000h\x1b[?1006h", "[?1006h"),
    ("hide cursor", "\x1b[?25l", "[?25l"),
    ("device status report (terminal answers)", "\x1b[6n", "[6n"),
    ("device attributes", "\x1b[c\x1b[>0c", "[>0c"),
    ("window resize", "\x1b[8;100;300t", "[8;100;300t"),
    ("title report", "\x1b[21t", "[21t"),
    ("private-marker SGR look-alike", "\x1b[?31m", "[?31m"),
    ("SGR with an intermediate byte", "\x1b[1 m", "[1 m"),
    ("OSC title, BEL", "\x1b]0;pwned\x07", "]0;pwned"),
    ("OSC title, ST", "\x1b]2;pwned\x1b\\", "]2;pwned"),
    ("OSC 52 clipboard write", "\x1b]52;c;ZWNobyBwd25lZA==\x07", "]52;c;ZWNobyBwd25lZA=="),
    ("OSC 8 hyperlink", "\x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\", "click"),
    ("OSC 1337 file", "\x1b]1337;File=inline=1:AAAA\x07", "]1337;File"),
    ("DCS XTGETTCAP", "\x1bP+q544e\x1b\\", "P+q544e"),
    ("DCS sixel", "\x1bPq#0;2;0;0;0#0~~\x1b\\", "Pq#0"),
    ("APC (kitty graphics)", "\x1b_Gf=100;AAAA\x1b\\", "_Gf=100"),
    ("PM", "\x1b^private\x1b\\", "^private"),
    ("SOS", "\x1bXstring\x1b\\", "Xstring"),
    ("full reset", "\x1bc", "c"),
    ("save/restore cursor", "\x1b7over\x1b8", "over"),
    ("line-drawing charset", "\x1b(0lqqk\x1b(B", "lqqk"),
    ("screen alignment test", "\x1b#8", "#8"),
    ("index / reverse index", "\x1bD\x1bM", "D"),
    ("8-bit CSI", "\x9b2J", "2J"),
    ("8-bit OSC and ST", "\x9d0;title\x9c", "0;title"),
    ("8-bit DCS", "\x90q\x9c", "q"),
    ("NEL", "a\x85b", "a"),
    ("bell", "ding\x07", "ding"),
    ("backspace overwrite", "safe\x08\x08\x08\x08evil", "safe"),
    ("carriage return overwrite", "rm -rf /\rls -l   ", "rm -rf /"),
    ("NUL", "a\x00b", "a"),
    ("DEL", "a\x7fb", "a"),
    ("vertical tab and form feed", "a\x0bb\x0cc", "b"),
    ("shift out / shift in", "\x0ealt\x0f", "alt"),
    ("unterminated OSC at the end", "text\x1b]0;title", "]0;title"),
    ("unterminated CSI at the end", "text\x1b[", "text"),
    ("ESC at the very end", "text\x1b", "text"),
    ("ESC inside SGR parameters", "\x1b[31\x1b[2Jm", "[2J"),
    ("cursor forward", "a\x1b[5Cb", "[5C"),
    ("cursor back over text", "secret\x1b[6Dxxxxxx", "[6D"),
    ("erase characters", "abc\x1b[3X", "[3X"),
    ("insert and delete lines", "\x1b[2L\x1b[3M", "[3M"),
    ("OSC 4 palette change", "\x1b]4;1;rgb:ff/00/00\x07", "]4;1;rgb:ff/00/00"),
    ("OSC 10 colour query (terminal answers)", "\x1b]10;?\x07", "]10;?"),
    ("OSC 7 working-directory report", "\x1b]7;file://host/etc\x1b\\", "]7;file://host/etc"),
    ("OSC 133 prompt mark", "\x1b]133;A\x07", "]133;A"),
    ("OSC 50 font / profile switch", "\x1b]50;SetProfile=evil\x07", "]50;SetProfile"),
    ("OSC 8 hyperlink, BEL form", "\x1b]8;;http://evil.example\x07click\x1b]8;;\x07", "click"),
    ("DECRQSS (terminal answers)", "\x1bP$qm\x1b\\", "P$qm"),
    ("8-bit APC", "\x9fpayload\x9c", "payload"),
    ("8-bit PM", "\x9eprivate\x9c", "private"),
    ("set tab stop", "\x1bH", "H"),
    ("keypad application mode", "\x1b=", "="),
]


@pytest.mark.parametrize("name,text,readable", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_sequence_is_neutralised_and_visible(name, text, readable):
    out = sanitize(text)
    assert not FORBIDDEN.search(SGR.sub("", out)), repr(out)
    assert readable in out
    assert "^" in out or "\\x" in out, f"{name}: nothing shows that a control was there: {out!r}"


def test_corpus_size():
    assert len(HOSTILE) >= 30


OSC8 = re.compile(r"\x1b\]8;[^;\x00-\x1f]*;[\x21-\x7e]*(?:\x1b\\|\x07)")


@pytest.mark.parametrize("name,text,readable", HOSTILE, ids=[h[0] for h in HOSTILE])
def test_allowing_hyperlinks_lets_nothing_else_through(name, text, readable):
    out = sanitize(text, allow_hyperlinks=True)
    assert not FORBIDDEN.search(OSC8.sub("", SGR.sub("", out))), repr(out)
    if "]8;" not in text:
        assert out == sanitize(text)


def test_allowed_hyperlinks_are_kept_whole():
    link = "\x1b]8;id=1;https://example.com/a?b=c\x1b\\text\x1b]8;;\x1b\\"
    assert sanitize(link, allow_hyperlinks=True) == link
    bel = "\x1b]8;;http://evil.example\x07click\x1b]8;;\x07"
    assert sanitize(bel, allow_hyperlinks=True) == bel
    assert "\x1b" not in sanitize(link) and "\x1b" not in sanitize(bel)


@pytest.mark.parametrize("colored", [
    "\x1b[0m\x1b[01;34mdir\x1b[0m  file.txt  \x1b[01;32mscript.sh\x1b[0m\n",
    "\x1b[31merror\x1b[39m: \x1b[1mbold\x1b[22m \x1b[4munder\x1b[24m\n",
    "\x1b[38;5;196m256\x1b[48;5;22mbg\x1b[m\n",
    "\x1b[38;2;255;128;0mtruecolor\x1b[0m\n",
    "\x1b[38:2::255:128:0mcolon form\x1b[m\n",
    "plain text with\ttabs and unicode: héllo ✓ 漢字\n",
    "\x1b[7mreverse\x1b[27m \x1b[9mstrike\x1b[29m\n",
])
def test_colour_output_is_kept_byte_for_byte(colored):
    assert sanitize(colored) == colored


def test_line_endings():
    assert sanitize("a\r\nb\r\r\nc\n") == "a\nb\nc\n"
    assert sanitize("progress 10%\rprogress 20%\r") == "progress 10%^Mprogress 20%^M"


def test_erase_to_end_of_line_after_colours_is_dropped_quietly():
    grep = "x \x1b[01;31m\x1b[Kmatch\x1b[m\x1b[K y\n"
    assert sanitize(grep) == "x \x1b[01;31mmatch\x1b[m y\n"
    assert sanitize("a\x1b[0Kb") == "ab"


def test_without_colour_sgr_is_removed_and_the_rest_still_shown():
    assert sanitize("\x1b[31mred\x1b[0m \x1b[2J", keep_sgr=False) == "red ^[[2J"


def test_caret_spellings():
    assert sanitize("\x1b\x07\x00\x7f\x9b") == "^[^G^@^?\\x9b"


def test_large_output_is_linear():
    # a pathological run of carriage returns and escapes: must not go quadratic
    text = "\r" * 200_000 + "\x1b[" + "1" * 200_000 + "x"
    out = sanitize(text)
    assert out.startswith("^M^M") and out.endswith("11x")


def test_what_reaches_the_terminal_has_no_escape_sequence_but_colours():
    # one hostile sequence per line of ordinary text, as in a real log: a stream made mostly of
    # control characters (or holding a NUL near its ends) is called binary and not shown at all
    filler = "ordinary words of a log line, long enough to read as text " * 2
    hostile = "".join(f"{filler}{text}\n" for _, text, _ in HOSTILE if "\x00" not in text)
    hostile += f"{filler}\n" * 40 + "NUL in the middle: a\x00b\n" + f"{filler}\n" * 40
    hostile += "\x1b[32mgreen\x1b[0m\n"
    buf = StringIO()
    output = Vt100_Output(buf, lambda: Size(rows=24, columns=80), term="xterm-256color",
                          default_color_depth=ColorDepth.DEPTH_8_BIT)
    print_formatted_text(render_bash(bash_outcome(hostile, 0), timeout=5, elapsed=0.1),
                         output=output, style=default_style(), end="")
    written = buf.getvalue()
    sequences = set(re.findall(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|.)", written))
    assert sequences, "colours were expected in the terminal stream"
    # prompt_toolkit's own autowrap mode aside, every escape sequence written is a colour
    assert all(SGR.fullmatch(seq) or seq == "\x1b[?7h" for seq in sequences), sequences
    assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f\x7f-\x9f]", written)
    assert "^[]52;c;ZWNobyBwd25lZA==^G" in written
    assert "a^@b" in written
    assert "\x1b[0;32mgreen" in written or re.search(r"\x1b\[[0-9;]*32[0-9;]*mgreen", written)
