"""The terminal policy (``orgorepl term``): a remote full screen passes, what acts on this machine does not.

What a user would see is what is asserted: the bytes written to the local terminal.  Screen
programs (vim, less, top, htop, a Python REPL) come through byte for byte; the clipboard,
titles, strings (DCS/APC/PM/SOS), window operations and C1 controls do not, and the text
around them is intact; chunks split anywhere give what the whole gives; memory stays bounded;
and at the end exactly the modes the remote left on are turned off.
"""

from __future__ import annotations

import re
import time
import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orgorepl.render.screen_filter import MAX_CSI, MAX_STRING, QUIET_KINDS, ScreenFilter

from test_hostile_paths import PAYLOADS
from test_render_sanitize import HOSTILE

# What must never reach the local terminal (titles aside, when allowed): a string introducer,
# any C1 control, ENQ, a window operation or media copy.
DANGEROUS = re.compile(r"\x1b[\]P^_Xk]|[\x80-\x9f\x05]|\x1b\[[\x30-\x3f]*[\x20-\x23\x25-\x2f]?t|\x1b\[[\x30-\x3f]*i")

# Everything the filter writes is one of these, whole: text, a layout control, a complete CSI,
# a complete escape sequence that starts no string.  So the local terminal reads it as we did.
_ESC_FINALS = "".join(chr(c) for c in range(0x30, 0x7F) if chr(c) not in "[]PX^_k\\")
WELL_FORMED = re.compile(r"(?:[^\x00-\x1f\x7f-\x9f]|[\x07-\x0f]|\x1b\[[<-?]?[0-;]*[ -/]*[@-~]"
                         r"|\x1b[ -/]+[0-~]|\x1b[" + re.escape(_ESC_FINALS) + r"])*")


def run(text: str, **kw) -> tuple[str, ScreenFilter]:
    f = ScreenFilter(**kw)
    return f.feed(text), f


def shown(text: str, **kw) -> str:
    return run(text, **kw)[0]


# --------------------------------------------------------------------------------------------
# Screen programs pass byte for byte

VIM = ("\x1b[?1049h\x1b[>4;2m\x1b[?1h\x1b=\x1b[?2004h\x1b[?1004h\x1b[1;24r\x1b[?12h\x1b[?12l"
       "\x1b[27m\x1b[23m\x1b[29m\x1b[m\x1b[H\x1b[2J\x1b[?25l\x1b[24;1H\"notes.txt\" 3L, 42B"
       "\x1b[1;1Hfirst line\r\n\x1b[94m~                   \x1b[m\r\n\x1b[2 q\x1b[?1006h\x1b[?1002h"
       "\x1b[1;5H\x1b[?25h\x1b[6n\x1b[c\x1b[>c\x1b[?u\x1b[>q\x1b[?2026h\x1b[2;1H\x1b[K\x1b[?2026l"
       "\x1b[1;24r\x1b[24;1H\x1b[K\x1b[?1002l\x1b[?1006l\x1b[0 q\x1b[?25l\x1b[?1004l\x1b[?2004l"
       "\x1b[?1l\x1b>\x1b[>4;m\x1b[?25h\x1b[?1049l")
LESS = ("\x1b[?1049h\x1b[22;0;0t\x1b[?1h\x1b=\r" + "".join(f"line {i}\r\n" for i in range(22))
        + "\x1b[7m(END)\x1b[27m\x1b[K\r\x1b[K\x1b[H\x1b[2J\x1b[1;1Hline 40\x1b[23;1H\x1b[Kb\x08 \x08"
        "\x1bM\x1b[1S\x1b[2T\x1b[?1l\x1b>\x1b[?1049l\x1b[23;0;0t")
LESS_PASSED = LESS.replace("\x1b[22;0;0t", "").replace("\x1b[23;0;0t", "")
TOP = ("\x1b[?1h\x1b=\x1b[?25l\x1b[H\x1b[2Jtop - 12:00:01 up 3 days,  1 user,  load average: 0.00\x1b[K\n"
       "Tasks:\x1b[m\x1b[1m 123 \x1b[m\x1b[39;49mtotal\x1b[K\n\x1b[7m    PID USER      %CPU\x1b[m\x1b[K\n"
       "\x1b[m    1 root       0.0\x1b[K\x1b[J\x1b[1;1H\x1b[6;1H\x1b[?25h\x1b[?1l\x1b>")
HTOP = ("\x1b[?1049h\x1b[1;24r\x1b(B\x1b[m\x1b[4l\x1b[?7h\x1b[?1h\x1b=\x1b[?1000h\x1b[?1006h\x1b[?25l"
        "\x1b[H\x1b[2J\x1b[30m\x1b[46m  PID\x1b[39;49m\x1b(0lqqqk\x1b(B\x1b[38;5;208mbar\x1b[38;2;1;2;3m|"
        "\x1b[m\x1b[3;5H\x1b[1K\x1b[2X\x1b[3@\x1b[2P\x1b[4L\x1b[1M\x1b[?1000l\x1b[?1006l\x1b[24;1H"
        "\x1b[?1049l\r\x1b[?1l\x1b>\x1b[?25h")
PYREPL = ("\x1b[?2004h\x1b[?1h\x1b=>>> \x1b[6n\x1b[?7l\x1b[1Gdef f():\x1b[K\r\n... \x1b[4h    pass"
          "\x1b[4l\x1b[?7h\r\n\x1b[?1l\x1b>\x1b[?2004l")
ESCAPES = ("\x1b7saved\x1b8\x1bD\x1bE\x1bM\x1bH\x1b#8\x1b#3\x1b(0q\x1b(B\x1b)0\x0eq\x0f\x1b)B\x1bN\x1bO"
           "\x1b[?1048h\x1b[?1048l\x1b[s\x1b[u\x1b[5;10r\x1b[r\x1b[3g\x1b[?5W\x1b[?1$p\x1b[2$p\x1b[5n")
TEXT = ("plain text \u00e9\u00e8 \u2713 \u6f22\u5b57 \U0001f600 tabs\there\r\nbell\x07 bs\x08 vt\x0b ff\x0c\r\n"
        "\x1b[0m\x1b[01;34mdir\x1b[0m  file.txt  \x1b[01;32mscript.sh\x1b[0m\n"
        "\x1b[38:2::255:128:0mcolon\x1b[m \x1b[4:3mcurly\x1b[4:0m\n")

PROGRAMS = {"vim": VIM, "top": TOP, "htop": HTOP, "python repl": PYREPL, "escapes": ESCAPES, "text": TEXT}


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_screen_programs_pass_byte_for_byte(name):
    out, f = run(PROGRAMS[name])
    assert out == PROGRAMS[name]
    assert not f.blocked and f.summary() == ""


def test_less_passes_but_its_title_stack_operations():
    out, f = run(LESS)
    assert out == LESS_PASSED
    assert f.blocked == {"title stack (CSI 22/23 t)": 2}
    assert f.summary() == ""  # routine: not worth a line after every `less`


def test_the_answers_to_queries_go_to_the_remote_so_the_queries_pass():
    queries = "\x1b[6n\x1b[?6n\x1b[5n\x1b[c\x1b[>c\x1b[=c\x1b[>0q\x1b[?u\x1b[?2004$p\x1b[4$p\x1b[?4m"
    assert shown(queries) == queries


def test_cursor_shape_kitty_keys_and_modify_other_keys_pass():
    seq = "\x1b[5 q\x1b[>1u\x1b[=3;1u\x1b[<u\x1b[>4;2m\x1b[>4m"
    assert shown(seq) == seq


# --------------------------------------------------------------------------------------------
# What acts on the local machine is dropped, the text around it stays

BLOCKED = [
    ("OSC 52 clipboard, BEL", "\x1b]52;c;ZWNobyBwd25lZA==\x07", "clipboard (OSC 52)"),
    ("OSC 52 clipboard, ST", "\x1b]52;c;ZWNobyBwd25lZA==\x1b\\", "clipboard (OSC 52)"),
    ("OSC 52 clipboard query", "\x1b]52;c;?\x07", "clipboard (OSC 52)"),
    ("OSC 0 title", "\x1b]0;PWNED\x07", "title (OSC 0/1/2)"),
    ("OSC 2 title, ST", "\x1b]2;PWNED\x1b\\", "title (OSC 0/1/2)"),
    ("OSC 1 icon name", "\x1b]1;PWNED\x07", "title (OSC 0/1/2)"),
    ("OSC 4 palette", "\x1b]4;1;rgb:ff/00/00\x07", "colour (OSC 4/10/11/...)"),
    ("OSC 11 background query", "\x1b]11;?\x07", "colour query (OSC 4/10/11/...)"),
    ("OSC 7 cwd", "\x1b]7;file://host/etc\x1b\\", "working directory (OSC 7)"),
    ("OSC 50 font", "\x1b]50;SetProfile=evil\x07", "font (OSC 50)"),
    ("OSC 133 prompt mark", "\x1b]133;A\x07", "shell integration (OSC 133/633)"),
    ("OSC 1337 file", "\x1b]1337;File=name=eA==;inline=1:AAAA\x07", "file/image (OSC 1337)"),
    ("OSC 1337 other", "\x1b]1337;SetUserVar=a=Yg==\x07", "iTerm2 command (OSC 1337)"),
    ("OSC 9 notification", "\x1b]9;hello\x07", "notification (OSC 9/99/777)"),
    ("OSC 5113 file transfer", "\x1b]5113;ac=send\x1b\\", "file transfer (OSC 5113)"),
    ("OSC without a number", "\x1b];x\x07", "OSC string"),
    ("DECRQSS", "\x1bP$qm\x1b\\", "status query (DECRQSS)"),
    ("XTGETTCAP", "\x1bP+q544e\x1b\\", "termcap query (XTGETTCAP)"),
    ("DECUDK", "\x1bP0;1|17/6563686f\x1b\\", "user-defined keys (DECUDK)"),
    ("sixel", "\x1bP0;1;0q#0;2;0;0;0#0~~-\x1b\\", "sixel image (DCS)"),
    ("tmux passthrough", "\x1bPtmux;text\x1b\\", "tmux passthrough (DCS)"),
    ("APC kitty graphics", "\x1b_Gf=100,a=T;AAAA\x1b\\", "image (kitty graphics, APC)"),
    ("APC other", "\x1b_hello\x1b\\", "APC string"),
    ("PM", "\x1b^private\x1b\\", "PM string"),
    ("SOS", "\x1bXstring\x1b\\", "SOS string"),
    ("screen title", "\x1bktitle\x1b\\", "title (screen ESC k)"),
    ("title report", "\x1b[21t", "title report (CSI 20/21 t)"),
    ("resize", "\x1b[8;1;1t", "window operation (CSI t)"),
    ("iconify", "\x1b[2t", "window operation (CSI t)"),
    ("size report", "\x1b[18t", "window report (CSI t)"),
    ("title mode", "\x1b[>3t", "title mode (XTSMTITLE)"),
    ("bell volume", "\x1b[8 t", "bell volume (DECSWBV)"),
    ("keyboard LEDs", "\x1b[1q", "keyboard LEDs (DECLL)"),
    ("conformance level, 8-bit answers", "\x1b[62;0\"p", "conformance level (DECSCL)"),
    ("printer controller", "\x1b[5i", "printing (media copy, CSI i)"),
    ("screen checksum", "\x1b[1;1;1;1;24;80*y", "screen checksum report (DECRQCRA)"),
    ("132 columns", "\x1b[?3h", "column mode (DECCOLM)"),
    ("VT52 mode", "\x1b[?2l", "VT52 mode (DECANM)"),
    ("logging", "\x1b[?46h", "logging (XTLOGGING)"),
    ("keyboard lock", "\x1b[2h", "keyboard lock (KAM)"),
    ("local echo", "\x1b[12l", "local echo (SRM)"),
    ("8-bit answers", "\x1b G", "8-bit controls (S8C1T)"),
    ("leave UTF-8", "\x1b%@", "character encoding switch (ESC %)"),
    ("8-bit CSI", "\x9b", "C1 control"),
    ("8-bit OSC", "\x9d", "C1 control"),
    ("NEL", "\x85", "C1 control"),
    ("answerback", "\x05", "answerback request (ENQ)"),
]


@pytest.mark.parametrize("name,seq,kind", BLOCKED, ids=[b[0] for b in BLOCKED])
def test_blocked_sequence_is_dropped_and_the_text_around_it_kept(name, seq, kind):
    out, f = run(f"before {seq} after\r\n")
    assert out == "before  after\r\n"
    assert f.blocked == {kind: 1}
    if kind in QUIET_KINDS:  # routine queries and decorations: blocked without a word
        assert f.summary() == ""
    else:
        assert f.summary() == f"blocked 1 escape sequence from the remote: {kind} \u00d71"


def test_tmux_passthrough_and_what_it_smuggles_are_both_dropped():
    # the doubled ESC ends the DCS for a terminal that is not tmux: then the OSC 52 is its own
    out, f = run("a\x1bPtmux;\x1b\x1b]52;c;AA==\x07\x1b\\b")
    assert out == "ab"
    assert f.blocked == {"tmux passthrough (DCS)": 1, "clipboard (OSC 52)": 1}


def test_8bit_csi_drops_the_character_and_shows_the_rest_as_text():
    assert shown("a\x9b2Jb") == "a2Jb"
    assert shown("\x9d0;C1-TITLE\x9c") == "0;C1-TITLE"


def test_hyperlink_dropped_its_text_kept():
    out, f = run("see \x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\ here")
    assert out == "see click here"
    assert f.blocked == {"hyperlink (OSC 8)": 2}


@pytest.mark.parametrize("title", ["\x1b]0;my title\x07", "\x1b]2;my title \u2713\x1b\\", "\x1b]1;icon\x07"])
def test_titles_pass_when_allowed(title):
    out, f = run(f"a{title}b", allow_title=True)
    assert out == f"a{title}b" and not f.blocked


def test_allowing_titles_lets_nothing_else_through():
    for _, seq, kind in BLOCKED:
        if not kind.startswith("title (OSC"):
            assert shown(f"a{seq}b", allow_title=True) == "ab"
    # a title's control characters are removed; an overlong title and ESC k do not pass
    assert shown("\x1b]0;a\nb\x07", allow_title=True) == "\x1b]0;ab\x07"
    assert shown("\x1b]0;" + "t" * 5000 + "\x07x", allow_title=True) == "x"
    assert shown("\x1bktitle\x1b\\", allow_title=True) == ""
    assert shown("\x1b]0;unfinished\x1b[1mX", allow_title=True) == "\x1b[1mX"


def test_dec_mode_set_keeps_the_allowed_modes_of_a_combined_sequence():
    out, f = run("\x1b[?3;25;1043h")
    assert out == "\x1b[?25h"
    assert f.blocked == {"column mode (DECCOLM)": 1, "terminal setting (DEC mode)": 1}


def test_a_vim_session_blocks_its_routine_queries_without_a_word_but_not_a_clipboard_write():
    f = ScreenFilter()
    f.feed("\x1b[22;2t\x1b[22;1t\x1b]10;?\x07\x1b]11;?\x07\x1bP+q436f\x1b\\\x1b[14t\x1b[23;2t\x1b[23;1t"
           "\x1bPzz\x1b\\")
    assert sum(f.blocked.values()) == 9 and f.summary() == ""
    f.feed("\x1b]52;c;AA==\x07")
    assert f.summary() == "blocked 1 escape sequence from the remote: clipboard (OSC 52) \u00d71"


def test_summary_counts_by_kind_most_first():
    f = ScreenFilter()
    f.feed("\x1b]52;c;AA==\x07x\x1b]0;t\x07\x1b]52;c;BB==\x1b\\")
    assert f.summary() == ("blocked 3 escape sequences from the remote: "
                           "clipboard (OSC 52) \u00d72, title (OSC 0/1/2) \u00d71")
    assert ScreenFilter().summary() == ""


# --------------------------------------------------------------------------------------------
# The hostile corpora of the REPL's own tests


CORPUS = [text for _, text, _ in HOSTILE] + [p.text for p in PAYLOADS]


@pytest.mark.parametrize("text", CORPUS)
def test_no_dangerous_sequence_of_the_corpora_passes(text):
    out = shown(text)
    assert not DANGEROUS.search(out), repr(out)
    assert WELL_FORMED.fullmatch(out), repr(out)


@pytest.mark.parametrize("payload", PAYLOADS, ids=[p.name for p in PAYLOADS])
def test_hostile_paths_payloads_keep_their_markers(payload):
    out = shown(payload.text)
    assert out.startswith(payload.open) and out.endswith(payload.close)
    middle = out[len(payload.open):-len(payload.close)]
    if DANGEROUS.search(payload.seq):
        assert "\x1b]" not in middle and not re.search(r"[\x80-\x9f]", middle)
    else:  # screen control, passed as it is
        assert middle == payload.seq


# --------------------------------------------------------------------------------------------
# Split anywhere, the same as whole


def feed_all(chunks, **kw):
    f = ScreenFilter(**kw)
    out = "".join(f.feed(c) for c in chunks)
    return out, dict(f.blocked), f.restore_sequence(), f.held()


SPLIT = [seq for _, seq, _ in BLOCKED] + CORPUS + [VIM, HTOP, PYREPL, ESCAPES, "\x1b]0;title\x07", "a\x1b[31\x18b"]


@pytest.mark.parametrize("text", SPLIT)
@pytest.mark.parametrize("allow_title", [False, True])
def test_every_split_point_gives_the_same_as_whole(text, allow_title):
    text = "<" + text + ">"
    whole = feed_all([text], allow_title=allow_title)
    for at in range(1, len(text)):
        assert feed_all([text[:at], text[at:]], allow_title=allow_title) == whole, at
    assert feed_all(list(text), allow_title=allow_title) == whole


PIECES = st.sampled_from(SPLIT + ["\x1b", "\x1b[", "\x1b]", "\x1bP", "\x07", "\x1b\\", "\x9c", "\x18", "\x1a"])
NOISE = st.text(alphabet=st.sampled_from(list("ab ;:?0123456789[]P\\_^Xk$>=<(#!Hhlmrstu"
                                             " \t\r\n\x00\x07\x08\x0e\x0f\x18\x1a\x1b\x7f\x85\x9b\x9c\u00e9\u2713")),
                max_size=30)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pieces=st.lists(st.one_of(PIECES, NOISE), max_size=12), allow_title=st.booleans(),
       max_string=st.sampled_from([5, 40, MAX_STRING]), data=st.data())
def test_random_chunking_gives_the_same_as_whole(pieces, allow_title, max_string, data):
    text = "".join(pieces)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(text)), max_size=8)))
    chunks = [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]
    kw = {"allow_title": allow_title, "max_string": max_string}
    whole = feed_all([text], **kw)
    assert feed_all(chunks, **kw) == whole
    assert feed_all(list(text), **kw) == whole  # one character at a time: no fast path at all
    if not allow_title:
        assert not DANGEROUS.search(whole[0]), repr(whole[0])
        assert WELL_FORMED.fullmatch(whole[0]), repr(whole[0])


def test_an_incomplete_sequence_is_held_until_completed_and_dropped_at_the_end():
    f = ScreenFilter()
    assert f.feed("text\x1b[3") == "text"
    assert f.held() == "\x1b[3"
    assert f.feed("1mred") == "\x1b[31mred"
    assert f.feed("more\x1b") == "more" and f.held() == "\x1b"
    f.flush()
    assert f.held() == ""
    assert f.feed("[2J") == "[2J"  # the dropped ESC did not come back
    f.feed("\x1b]52;c;AAAA")
    f.flush()
    assert f.blocked == {"clipboard (OSC 52)": 1}
    assert f.restore_sequence() == "\x1b[m"  # tracking outlives the flush


@pytest.mark.parametrize("abort", ["\x18", "\x1a"])
def test_can_and_sub_abort_a_sequence(abort):
    assert shown(f"a\x1b[31{abort}b") == "ab"
    assert shown(f"a\x1b({abort}0b") == "a0b"
    out, f = run(f"\x1b]52;c;AAAA{abort}visible")
    assert out == "visible" and f.blocked == {"clipboard (OSC 52)": 1}
    assert shown(f"\x1bP$q{abort}m") == "m"


def test_controls_inside_a_sequence_act_as_in_a_terminal():
    # a layout control inside a CSI is executed where it stands; ESC starts over
    assert shown("\x1b[1\n2A") == "\n\x1b[12A"
    assert shown("\x1b[31\x1b[2Jm") == "\x1b[2Jm"
    assert shown("\x1b[3\x9b1m") == "1m"  # a C1 ends it
    assert shown("\x1b[\u00e9x") == "\u00e9x"  # so does a character beyond ASCII, which is text
    assert shown("\x1b[1;?2h") == ""  # malformed: a private marker after the parameters


# --------------------------------------------------------------------------------------------
# Bounded memory, linear time


def test_an_unterminated_string_does_not_hold_memory_and_output_resumes():
    f = ScreenFilter()
    tracemalloc.start()
    try:
        out = [f.feed("\x1b]52;c;")]
        chunk = "QUJD" * 4096  # 16 KiB
        for _ in range(3 * MAX_STRING // len(chunk)):
            out.append(f.feed(chunk))
            assert f.held() == ""
        out.append(f.feed("\r\nhello\r\n"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    text = "".join(out)
    assert text.endswith("\r\nhello\r\n")
    # everything past the limit is text again ("52;c;" counted in the string)
    assert len(text) == 3 * MAX_STRING - (MAX_STRING - len("52;c;")) + len("\r\nhello\r\n")
    assert f.blocked == {"clipboard (OSC 52)": 1}
    assert peak < 2 * MAX_STRING  # the chunks' output, not the string


def test_a_long_string_that_ends_in_time_is_dropped_whole():
    image = "\x1bPq" + "#0~~-" * 100_000 + "\x1b\\"  # a 500 KB sixel image
    out, f = run("a" + image + "b")
    assert out == "ab" and f.blocked == {"sixel image (DCS)": 1}


def test_an_overlong_csi_is_dropped_and_ignored_to_its_end():
    f = ScreenFilter()
    out = f.feed("a\x1b[" + "1" * 5000)
    assert out == "a" and len(f.held()) <= MAX_CSI + 2
    assert f.feed("1" * 5000 + "mvisible") == "visible"
    assert f.blocked == {"malformed sequence": 1}
    assert f.restore_sequence() == ""
    longest = "\x1b[" + "1;" * (MAX_CSI // 2) + "m"
    assert shown(longest) == longest


@pytest.mark.parametrize("text", [
    "\x1b[" + "1" * 2_000_000 + "m",
    "\x1b]" + "a" * 3_000_000,
    "\x1b" * 1_000_000,
    "\x1b[1" * 500_000,
    "\x1b]0;" * 500_000,
    "\x9b" * 1_000_000,
    "\x1b[31mx" * 300_000,
])
def test_pathological_input_is_linear(text):
    start = time.perf_counter()
    for chunked in (False, True):
        f = ScreenFilter(allow_title=True)
        if chunked:
            for i in range(0, len(text), 4096):
                f.feed(text[i:i + 4096])
        else:
            f.feed(text)
        assert len(f.held()) <= 4 * 1024 + 8
    assert time.perf_counter() - start < 10


# --------------------------------------------------------------------------------------------
# The exact restore


def restore_after(text: str, rows: int | None = 24) -> str:
    f = ScreenFilter(rows=rows)
    f.feed(text)
    return f.restore_sequence()


def test_restore_after_vim_like_modes_turns_exactly_those_off():
    restore = restore_after("\x1b[?1049h\x1b[?1h\x1b=\x1b[?25l\x1b[?2004h\x1b[?1006h")
    assert restore.startswith("\x1b[?1049l")  # first, so the rest applies to the main screen
    parts = re.findall(r"\x1b\[[?<>=]?[0-9;]*[ '$]?[a-zA-Z]|\x1b[0-~]|\x1b\(B|\x0f", restore)
    assert "".join(parts) == restore
    assert sorted(parts) == sorted(["\x1b[?1049l", "\x1b[?1l", "\x1b>", "\x1b[?25h", "\x1b[?2004l",
                                    "\x1b[?1006l"])


def test_nothing_to_restore_after_the_remote_restored_itself():
    assert restore_after(VIM) == ""
    assert restore_after(LESS) == ""
    assert restore_after(TOP) == ""
    assert restore_after(HTOP) == ""
    assert restore_after(PYREPL) == ""
    assert restore_after(TEXT + ESCAPES) == ""
    assert restore_after("\x1b[?1049h\x1b[?25l\x1b[31m\x1b[?1049l\x1b[?25h") == ""


def test_combined_parameters_and_each_mode_its_own_reset():
    assert restore_after("\x1b[?1049;1006;1000h") == "\x1b[?1049l\x1b[?1000l\x1b[?1006l"
    assert restore_after("\x1b[?1049;1006;1000h\x1b[?1000;1006l") == "\x1b[?1049l"
    assert restore_after("\x1b[?47h") == "\x1b[?47l"
    assert restore_after("\x1b[?1047h\x1b[?1047l") == ""


def test_full_reset_forgets_everything():
    assert restore_after("\x1b[?1049h\x1b[?1h\x1b=\x1b[?25l\x1b[?2004h\x1b[5;10r\x1b[31m\x1bc") == ""
    assert restore_after("\x1bc\x1b[?2004h") == "\x1b[?2004l"


def test_soft_reset_forgets_what_it_resets():
    assert restore_after("\x1b[?25l\x1b[4h\x1b[?1h\x1b=\x1b[31m\x1b[2;5r\x1b[?2004h\x1b[!p") == "\x1b[?2004l"


@pytest.mark.parametrize("text,restore", [
    ("\x1b[?7l", "\x1b[?7h"),
    ("\x1b[?5h", "\x1b[?5l"),
    ("\x1b[?6h", "\x1b[?6l"),
    ("\x1b[?1004h", "\x1b[?1004l"),
    ("\x1b[?2026h", "\x1b[?2026l"),
    ("\x1b[?9h\x1b[?1001h\x1b[?1003h\x1b[?1005h\x1b[?1015h\x1b[?1016h",
     "\x1b[?9l\x1b[?1001l\x1b[?1003l\x1b[?1005l\x1b[?1015l\x1b[?1016l"),
    ("\x1b[4h", "\x1b[4l"),
    ("\x1b[20h", "\x1b[20l"),
    ("\x1b[3;20r", "\x1b7\x1b[r\x1b8"),
    ("\x1b[3;20r\x1b[r", ""),
    ("\x1b[1;20r", "\x1b7\x1b[r\x1b8"),
    ("\x1b[1;24r", ""),
    ("\x1b[;30r", ""),
    ("\x1b[1m", "\x1b[m"),
    ("\x1b[1;0m", ""),
    ("\x1b[38;5;0m", "\x1b[m"),
    ("\x1b[31m\x1b[39m", ""),
    ("\x1b[4:3m\x1b[4:0m", ""),
    ("\x1b[>1u\x1b[>5u", "\x1b[<2u"),
    ("\x1b[>1u\x1b[<u", ""),
    ("\x1b[=1;1u", "\x1b[=0;1u"),
    ("\x1b[>4;2m", "\x1b[>4m"),
    ("\x1b[5 q", "\x1b[0 q"),
    ("\x1b[1;1'z", "\x1b[0'z"),
    ("\x1bH", "\x1b[?5W"),
    ("\x1b(0", "\x1b(B"),
    ("\x1b)0\x0e", "\x0f"),
    ("\x1b[?2004s\x1b[?2004h\x1b[?2004r", ""),
    ("\x1b[?25l\x1b[?25s\x1b[?25h\x1b[?25r", "\x1b[?25h"),
])
def test_each_tracked_mode(text, restore):
    assert restore_after(text) == restore


def test_restore_order_and_what_leaving_the_1049_screen_restores_itself():
    # colours set only on the alternate screen end with it: DECRC on leaving restores the main's
    assert restore_after("\x1b[?1049h\x1b[31m\x1b(0") == "\x1b[?1049l"
    # colours set before entering come back on leaving, so they are reset after leaving
    assert restore_after("\x1b[31m\x1b[?1049h\x1b[0m") == "\x1b[?1049l\x1b[m"
    # the kitty flags of the alternate screen are popped on it; the region reset keeps the cursor
    assert restore_after("\x1b[>1u\x1b[?1049h\x1b[>1u\x1b[2;20r\x1b[?2026h\x1b[?25l") == (
        "\x1b[<1u\x1b[?1049l\x1b7\x1b[r\x1b8\x1b[?25h\x1b[<1u\x1b[?2026l")
    # DECSC / DECRC on the main screen
    assert restore_after("\x1b7\x1b[1m\x1b8") == ""


def test_without_the_height_a_full_screen_region_is_reset_again_harmlessly():
    assert restore_after("\x1b[1;24r", rows=None) == "\x1b7\x1b[r\x1b8"
    f = ScreenFilter()
    f.feed("\x1b[1;24r")
    f.rows = 24  # the caller learnt the height (or it changed)
    assert f.restore_sequence() == ""


def test_restore_does_not_change_what_is_tracked():
    f = ScreenFilter()
    f.feed("\x1b[?1049h\x1b[?25l")
    assert f.restore_sequence() == f.restore_sequence() == "\x1b[?1049l\x1b[?25h"
    assert f.alternate_screen


def test_blocked_modes_are_not_tracked():
    assert restore_after("\x1b[?3h\x1b[?1046l\x1b[2h\x1b[12l\x1b]52;c;AA==\x07") == ""
