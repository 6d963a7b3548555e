"""Output of any size comes back as a short screenful: head, a line saying what was cut, tail.

Also: binary output is described instead of dumped, at most ``highlight_max_bytes`` are lexed,
the fast terminal writer draws what print_formatted_text would, and the full last output can be
paged or saved (privately).
"""

from __future__ import annotations

import io
import json
import os
import re
import stat

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prompt_toolkit import print_formatted_text
from prompt_toolkit.data_structures import Size
from prompt_toolkit.formatted_text import FormattedText, fragment_list_to_text
from prompt_toolkit.output.color_depth import ColorDepth
from prompt_toolkit.output.plain_text import PlainTextOutput
from prompt_toolkit.output.vt100 import Vt100_Output

from orgorepl.render import result as result_module
from orgorepl.render import verdict as verdict_module
from orgorepl.render.bounded import MORE_HINT, OutputLimits, bound, looks_binary
from orgorepl.render.last_output import LastOutput, page_text, save_output
from orgorepl.render.result import render_text
from orgorepl.render.sanitize import sanitize
from orgorepl.render.terminal import ansi_text, write_fragments
from orgorepl.ui.style import default_style

from outcomes import bash_outcome, python_outcome, render_bash, render_exec
from test_repl import start  # noqa: F401  (fixture: a REPL session on the emulator)

MB10 = 10 * 1024 * 1024
LIMITS = OutputLimits()
CUT_LINE = re.compile(r"^… ([\d,]+) (bytes|characters)(?: / ([\d,]+) lines?| of one long line)? not shown: "
                      + re.escape(MORE_HINT) + "$")


def bash(output, exit_code=0):
    return bash_outcome(output=output, exit_code=exit_code, success=True)


def text(ft) -> str:
    return fragment_list_to_text(ft)


def numbered_lines(total_chars: int, width: int = 80) -> str:
    lines = []
    size = 0
    i = 0
    while size < total_chars:
        line = f"line {i:09d} " + "." * (width - 16) + "\n"
        lines.append(line)
        size += len(line)
        i += 1
    return "".join(lines)


def split_at_cut(screen: str) -> tuple[str, re.Match, str]:
    """The text before the cut line, the cut line's match, the text after it."""
    lines = screen.split("\n")
    index = next(i for i, line in enumerate(lines) if line.startswith("… "))
    match = CUT_LINE.match(lines[index])
    assert match, lines[index]
    return "\n".join(lines[:index]) + "\n", match, "\n".join(lines[index + 1:])


def number(s: str) -> int:
    return int(s.replace(",", ""))


# --------------------------------------------------------------------------------------------
# long text output


def test_ten_megabytes_of_plain_lines_show_head_cut_line_and_tail():
    big = numbered_lines(MB10)
    screen = text(render_bash(bash(big), timeout=5, elapsed=0.1))
    assert len(screen) <= LIMITS.max_bytes_shown + 200
    head, cut, tail = split_at_cut(screen)
    assert big.startswith(head) and big.endswith(tail)
    assert head.startswith("line 000000000 ") and tail.endswith("\n")
    assert head.endswith("\n")  # cut at a line boundary, not inside a line
    assert number(cut.group(1)) == len(big) - len(head) - len(tail)
    assert cut.group(2) == "bytes"
    assert cut.group(3) is None  # 10 MB hidden: described by size, no pass over it to count lines


def test_line_count_of_the_hidden_part_when_it_is_small_enough():
    big = numbered_lines(1_000_000)
    screen = text(render_bash(bash(big), timeout=5, elapsed=0.1))
    head, cut, tail = split_at_cut(screen)
    assert big.startswith(head) and big.endswith(tail)
    assert number(cut.group(1)) == len(big) - len(head) - len(tail)
    assert number(cut.group(3)) == big.count("\n") - head.count("\n") - tail.count("\n")


def test_line_limits_cut_short_lines():
    big = "".join(f"{i}\n" for i in range(50_000))
    screen = text(render_bash(bash(big), timeout=5, elapsed=0.1,
                              limits=OutputLimits(head_lines=10, tail_lines=5)))
    head, cut, tail = split_at_cut(screen)
    assert head == "".join(f"{i}\n" for i in range(10))
    assert tail == "".join(f"{i}\n" for i in range(49_995, 50_000))
    assert number(cut.group(3)) == 50_000 - 15
    assert cut.group(0).startswith("… 288,840 bytes / 49,985 lines not shown")


def test_output_within_the_limits_is_shown_whole():
    lines = "".join(f"row {i}\n" for i in range(LIMITS.head_lines + LIMITS.tail_lines))
    assert text(render_bash(bash(lines), timeout=5, elapsed=0.1)) == lines
    assert bound(lines).cut is None


def test_a_single_ten_megabyte_line_is_cut_too():
    line = "".join(chr(ord("a") + i % 26) for i in range(1000)) * (MB10 // 1000) + "\n"
    screen = text(render_bash(bash(line), timeout=5, elapsed=0.1))
    assert len(screen) <= LIMITS.max_bytes_shown + 200
    head, cut, tail = split_at_cut(screen)
    head = head[:-1]  # the newline that puts the cut line on its own line
    assert line.startswith(head) and line.endswith(tail)
    assert len(head) > LIMITS.max_bytes_shown // 3 and len(tail) > LIMITS.max_bytes_shown // 3
    assert number(cut.group(1)) == len(line) - len(head) - len(tail)


def test_a_long_line_between_short_ones_says_it_is_one_line():
    text_ = "first\n" + "x" * 500_000 + "\nlast\n"
    screen = text(render_bash(bash(text_), timeout=5, elapsed=0.1))
    head, cut, tail = split_at_cut(screen)
    assert "of one long line" in cut.group(0)
    assert head.startswith("first\nxxx") and tail.endswith("x\nlast\n")
    assert number(cut.group(1)) == len(text_) - len(head[:-1]) - len(tail)


def test_a_cut_never_splits_a_colour_sequence():
    word = "\x1b[38;5;196mred\x1b[0m "
    for shift in range(12):  # move the cut points across every byte of the sequence
        line = "p" * shift + word * (300_000 // len(word))
        ft = render_bash(bash(line), timeout=5, elapsed=0.1)
        screen = text(ft)
        assert "^[" not in screen and "[38;5" not in screen and "8;5;196m" not in screen, shift
        assert any("#ff0000" in s or "ansired" in s for s, *_ in ft)


def test_crlf_and_non_ascii_output():
    big = "".join(f"zeile {i} – grüße\r\n" for i in range(200_000))
    screen = text(render_bash(bash(big), timeout=5, elapsed=0.1))
    head, cut, tail = split_at_cut(screen)
    assert "^M" not in screen
    assert cut.group(2) == "characters"  # not ASCII: sized without encoding the hidden part
    assert number(cut.group(1)) == len(big) - len(head.replace("\n", "\r\n")) - len(tail.replace("\n", "\r\n"))
    assert tail.endswith("zeile 199999 – grüße\n")


# --------------------------------------------------------------------------------------------
# tracebacks and JSON


FRAME = '  File "/srv/app/handlers.py", line 120, in dispatch\n    return self.dispatch(request, *args)\n'


def huge_traceback(size: int) -> str:
    return ("Traceback (most recent call last):\n" + FRAME * (size // len(FRAME))
            + "RecursionError: maximum recursion depth exceeded\n")


def test_ten_megabyte_traceback_is_cut_highlighted_and_keeps_its_status_line():
    tb = huge_traceback(MB10)
    ft = render_exec(python_outcome(output="started\n", traceback=tb, success=False,
                                 error="maximum recursion depth exceeded", error_type="RecursionError",
                                 timeout=False), timeout=10, elapsed=0.1)
    screen = text(ft)
    assert len(screen) <= LIMITS.max_bytes_shown + 300
    assert screen.startswith("started\nTraceback (most recent call last):\n" + FRAME)
    assert screen.endswith(FRAME + "RecursionError: maximum recursion depth exceeded\n")
    assert "".join(t for s, t, *_ in ft if "status.error" in s) == \
        "RecursionError: maximum recursion depth exceeded"
    assert sum(1 for line in screen.split("\n") if line.startswith("… ")) == 1
    assert any("class:pygments.generic.traceback" in s for s, *_ in ft)  # the shown part is lexed
    cut_frags = [t for s, t, *_ in ft if "output.cut" in s]
    assert len(cut_frags) == 1 and MORE_HINT in cut_frags[0]


def test_huge_exception_message_stays_bounded_in_the_status_line():
    message = "m" * MB10
    ft = render_exec(python_outcome(output="", traceback=None, success=False, error=message,
                                 error_type="ValueError", timeout=False), timeout=10, elapsed=0.1)
    status = "".join(t for s, t, *_ in ft if "status.error" in s)
    assert status.startswith("ValueError: mmm") and len(status) < 3000
    assert f"{MB10 - verdict_module.STATUS_MAX:,} more characters" in status


def test_ten_megabytes_of_json_are_cut_and_not_lexed():
    doc = json.dumps([{"id": i, "name": f"agent-{i}", "ok": True} for i in range(250_000)], indent=2) + "\n"
    assert len(doc) > MB10
    ft = render_bash(bash(doc), timeout=5, elapsed=0.1)
    screen = text(ft)
    assert len(screen) <= LIMITS.max_bytes_shown + 200
    head, _, tail = split_at_cut(screen)
    assert doc.startswith(head) and doc.endswith(tail)
    assert not any("pygments" in s for s, *_ in ft)


def test_json_below_the_highlight_limit_is_lexed_even_when_cut():
    doc = json.dumps(list(range(30_000)), indent=1) + "\n"  # 30,000 lines, under 256 KiB
    assert len(doc) < LIMITS.highlight_max_bytes
    ft = render_bash(bash(doc), timeout=5, elapsed=0.1)
    head, _, tail = split_at_cut(text(ft))
    assert doc.startswith(head) and doc.endswith(tail)
    assert any("class:pygments.literal.number" in s for s, t, *_ in ft if t.strip() == "29999")
    assert any("class:pygments.literal.number" in s for s, t, *_ in ft if t.strip() == "0")


def test_highlighting_stops_at_the_limit_for_the_whole_result():
    tb = huge_traceback(20_000)
    doc = json.dumps({"k": list(range(1000))}) + "\n"
    outcome = python_outcome(output=doc, traceback=tb, success=False, error="x", error_type="RecursionError",
                          timeout=False)
    both = render_exec(outcome, timeout=5, elapsed=0.1)
    assert any("pygments" in s and "class:output" in s for s, *_ in both)
    assert any("pygments" in s and "class:traceback" in s for s, *_ in both)
    # room for the JSON, not for the traceback after it: the traceback is shown plain
    limits = OutputLimits(highlight_max_bytes=len(doc) + 1000)
    some = render_exec(outcome, timeout=5, elapsed=0.1, limits=limits)
    assert any("pygments" in s and "class:output" in s for s, *_ in some)
    assert not any("pygments" in s and "class:traceback" in s for s, *_ in some)
    assert text(some) == text(both)


def test_work_is_bounded_by_the_limits_not_by_the_size(monkeypatch):
    """No sanitizing or lexing pass ever sees more than the limits let through."""
    seen: list[int] = []
    real_sanitize = result_module.sanitize
    monkeypatch.setattr(result_module, "sanitize", lambda t, **kw: seen.append(len(t)) or real_sanitize(t, **kw))
    real_lexed = result_module._lexed
    monkeypatch.setattr(result_module, "_lexed", lambda lx, t, b: seen.append(len(t)) or real_lexed(lx, t, b))
    render_exec(python_outcome(output=numbered_lines(MB10), traceback=huge_traceback(MB10), success=False,
                            error="e" * MB10, error_type="RecursionError", timeout=False),
                timeout=5, elapsed=0.1)
    render_bash(bash("y" * MB10), timeout=5, elapsed=0.1)
    assert seen and max(seen) <= LIMITS.max_bytes_shown


# --------------------------------------------------------------------------------------------
# binary and invalid UTF-8


def test_binary_output_is_described_not_dumped():
    blob = bytes(range(256)) * 40_000
    decoded = blob.decode("utf-8", "replace")
    ft = render_bash(bash(decoded), timeout=5, elapsed=0.1)
    assert text(ft) == (f"binary output ({len(decoded):,} characters) not shown: "
                        "%save-output FILE writes it\n")
    assert {s for s, *_ in ft} == {"class:note class:output.binary"}
    nul_ascii = "PK\x03\x04\x14\x00\x00\x00" + "abc" * 10_000
    assert text(render_bash(bash(nul_ascii), timeout=5, elapsed=0.1)).startswith(
        f"binary output ({len(nul_ascii):,} bytes) not shown")


def test_binary_at_the_end_of_text_output_is_caught():
    assert looks_binary("ordinary text\n" * 1000 + "\x00\x01\x02\x03" * 500)
    assert not looks_binary("ordinary text\n" * 1000)


def test_invalid_utf8_is_shown_as_replacement_characters():
    raw = ("Größe: 10 café crème\n".encode("latin-1")) * 50
    decoded = raw.decode("utf-8", "replace")
    assert "\ufffd" in decoded
    screen = text(render_bash(bash(decoded), timeout=5, elapsed=0.1))
    assert screen == decoded
    assert screen.startswith("Gr\ufffd\ufffde: 10 caf\ufffd cr\ufffdme\n")


def test_escape_heavy_but_textual_output_is_not_binary():
    coloured = "".join(f"\x1b[3{i % 8}mitem {i}\x1b[0m\n" for i in range(500))
    assert not looks_binary(coloured)
    assert "item 499" in text(render_bash(bash(coloured), timeout=5, elapsed=0.1))


# --------------------------------------------------------------------------------------------
# every kind of result and remote text


def test_all_result_types_are_bounded():
    big = numbered_lines(3_000_000)

    results = [
        render_exec(python_outcome(output=big, traceback=None, success=True, error=None, error_type=None,
                                timeout=False), timeout=5, elapsed=0.1),
        render_bash(bash(big, 3), timeout=5, elapsed=0.1),
        render_bash(bash_outcome(output=big, exit_code=0, timeout=False, cwd="/root"), timeout=5, elapsed=0.1),
        render_text(big),
    ]
    for ft in results:
        screen = text(ft)
        assert len(screen) <= LIMITS.max_bytes_shown + 200
        head, _, _ = split_at_cut(screen)
        assert big.startswith(head)


def test_limits_are_validated():
    with pytest.raises(ValueError, match="head_lines"):
        OutputLimits(head_lines=-1)
    with pytest.raises(ValueError):
        OutputLimits(max_bytes_shown=0)
    with pytest.raises(ValueError, match="max_bytes_shown"):
        OutputLimits(max_bytes_shown="200k")


def test_raw_escapes_pass_everything_but_stay_bounded():
    hostile = "\x1b]0;title\x07\x1b[2Jcleared\n"
    ft = render_bash(bash(hostile), timeout=5, elapsed=0.1, raw_escapes=True)
    written = ansi_text(ft, style=default_style(), color_depth=ColorDepth.DEPTH_8_BIT)
    assert "\x1b]0;title\x07\x1b[2Jcleared\r\n" in written
    screen = text(render_bash(bash(numbered_lines(MB10)), timeout=5, elapsed=0.1, raw_escapes=True))
    assert len(screen) <= LIMITS.max_bytes_shown * 1.1 and MORE_HINT in screen


# --------------------------------------------------------------------------------------------
# hyperlinks


LINK = "\x1b]8;;https://example.com/docs\x1b\\the docs\x1b]8;;\x1b\\"


def test_hyperlinks_are_neutralised_unless_allowed():
    out = sanitize(LINK)
    assert "\x1b" not in out and "the docs" in out
    assert sanitize(LINK, allow_hyperlinks=True) == LINK
    # a link whose URI smuggles a control is not a well-formed link: neutralised
    bad = "\x1b]8;;https://x\x1b[2J\x1b\\t\x1b]8;;\x1b\\"
    assert "\x1b[2J" not in sanitize(bad, allow_hyperlinks=True)


def test_allowed_hyperlinks_reach_the_terminal_intact():
    style = default_style()
    allowed = ansi_text(render_bash(bash(f"see {LINK}\n"), timeout=5, elapsed=0.1, hyperlinks=True),
                        style=style, color_depth=ColorDepth.DEPTH_8_BIT)
    assert "\x1b]8;;https://example.com/docs\x1b\\" in allowed and "the docs" in allowed
    default = ansi_text(render_bash(bash(f"see {LINK}\n"), timeout=5, elapsed=0.1),
                        style=style, color_depth=ColorDepth.DEPTH_8_BIT)
    assert "\x1b]8" not in default and "^[]8;;https://example.com/docs" in default


# --------------------------------------------------------------------------------------------
# the fast terminal writer


def vt100(buf, depth=ColorDepth.DEPTH_8_BIT):
    return Vt100_Output(buf, lambda: Size(rows=24, columns=120), term="xterm-256color",
                        default_color_depth=depth)


def cells(stream: str) -> list[tuple[str, str]]:
    """(character, SGR in force) for every character a terminal would draw."""
    out, current, pos = [], "", 0
    for m in re.finditer(r"\x1b\[[0-9;]*m|\x1b\[\?7h", stream):
        out += [(ch, current) for ch in stream[pos:m.start()]]
        if m.group().endswith("m"):
            current = m.group()
        pos = m.end()
    out += [(ch, current) for ch in stream[pos:]]
    return out


def sample_fragments():
    tb = ("Traceback (most recent call last):\n  File \"<cell>\", line 2, in <module>\n"
          "    1 / 0\nZeroDivisionError: division by zero\n")
    doc = json.dumps({"name": "agent-1", "ok": True, "n": [1, 2.5, None]}, indent=2) + "\n"
    ansi = "\x1b[1;31merror\x1b[0m: \x1b[38;5;33mblue\x1b[m \x1b[38;2;0;200;0mgreen\x1b[4m under\x1b[0m\r\n"
    frags = list(render_exec(python_outcome(output=doc + ansi, traceback=tb, success=False, error="division by zero",
                                         error_type="ZeroDivisionError", timeout=False),
                             timeout=10, elapsed=2.5))
    frags += list(render_bash(bash("x\x1b]0;t\x07\n", 137), timeout=5, elapsed=0.1))
    frags += [("class:prompt.python", ">>> "), ("", "tab\there\n")]
    return frags


@pytest.mark.parametrize("depth", list(ColorDepth))
def test_write_fragments_draws_what_print_formatted_text_draws(depth):
    style = default_style()
    frags = sample_fragments()
    slow, fast = io.StringIO(), io.StringIO()
    print_formatted_text(FormattedText(frags), output=vt100(slow), style=style, color_depth=depth, end="",
                         include_default_pygments_style=True)
    write_fragments(vt100(fast), frags, style=style, color_depth=depth)
    assert cells(fast.getvalue()) == cells(slow.getvalue())
    assert "\r\n" in fast.getvalue() and not re.search(r"(?<!\r)\n", fast.getvalue())
    if depth != ColorDepth.DEPTH_1_BIT:
        assert len({sgr for _, sgr in cells(fast.getvalue())}) > 5  # really coloured


def test_one_bit_depth_writes_no_colours():
    buf = io.StringIO()
    write_fragments(vt100(buf), sample_fragments(), style=default_style(), color_depth=ColorDepth.DEPTH_1_BIT)
    sgrs = set(re.findall(r"\x1b\[([0-9;]*)m", buf.getvalue()))
    codes = {int(c) for sgr in sgrs for c in sgr.split(";") if c}
    assert codes and codes <= {0, 1, 2, 3, 4, 5, 7, 8, 9}  # attributes only, no 3x/4x/9x/38/48
    assert "1" in {c for sgr in sgrs for c in sgr.split(";")}  # bold stays


def test_write_fragments_takes_the_outputs_default_depth():
    buf = io.StringIO()
    write_fragments(vt100(buf, ColorDepth.DEPTH_1_BIT), [("class:status.exit", "exit 1\n")], style=default_style())
    assert buf.getvalue() == "\x1b[0m\x1b[?7h\x1b[0;1mexit 1\r\n\x1b[0m"


def test_write_fragments_on_a_plain_text_output_writes_no_escapes():
    buf = io.StringIO()
    write_fragments(PlainTextOutput(buf), sample_fragments(), style=default_style())
    assert "\x1b" not in buf.getvalue()
    assert "ZeroDivisionError: division by zero" in buf.getvalue()


def test_write_fragments_of_a_ten_megabyte_result_is_short():
    buf = io.StringIO()
    write_fragments(vt100(buf), render_bash(bash(numbered_lines(MB10)), timeout=5, elapsed=0.1),
                    style=default_style())
    assert len(buf.getvalue()) < LIMITS.max_bytes_shown * 1.1
    assert MORE_HINT in buf.getvalue()


# --------------------------------------------------------------------------------------------
# the last output, %more and %save-output


def test_last_output_keeps_the_whole_text():
    last = LastOutput()
    assert last.text is None
    big = numbered_lines(MB10)
    last.keep(bash(big))
    assert last.text is big
    last.keep(python_outcome(output="partial", traceback="Traceback ...\nValueError: v\n", success=False,
                          error="v", error_type="ValueError", timeout=False))
    assert last.text == "partial\nTraceback ...\nValueError: v\n"
    last.clear()
    assert last.text is None


def test_save_output_writes_the_raw_text_privately(tmp_path):
    target = tmp_path / "out.txt"
    raw = "secret=hunter2 \x1b[31mred\x1b[0m – ü\n"
    assert save_output(raw, target) == len(raw.encode("utf-8"))
    assert target.read_bytes() == raw.encode("utf-8")
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    existing = tmp_path / "old.txt"
    existing.write_text("old contents that are much longer than the new ones\n")
    existing.chmod(0o644)
    assert save_output("new\n", existing) == 4
    assert existing.read_text() == "new\n"
    assert stat.S_IMODE(existing.stat().st_mode) == 0o600


def test_save_output_of_ten_megabytes(tmp_path):
    big = numbered_lines(MB10)
    assert save_output(big, tmp_path / "big.log") == len(big)
    assert (tmp_path / "big.log").stat().st_size == len(big)


def test_save_output_into_a_missing_directory_raises(tmp_path):
    with pytest.raises(FileNotFoundError):
        save_output("x", tmp_path / "missing" / "out.txt")


def test_page_text_hands_the_whole_sanitized_text_to_the_pager(tmp_path, monkeypatch):
    paged = tmp_path / "paged.txt"
    monkeypatch.setenv("PAGER", f"cat > '{paged}'")
    big = numbered_lines(2_000_000) + "\x1b]52;c;cHduZWQ=\x07 \x1b[32mgreen\x1b[0m\n"
    assert page_text(big) == "pager"
    shown = paged.read_text()
    assert shown == sanitize(big)
    assert len(shown) > 2_000_000 and "\x1b]52" not in shown and "\x1b[32mgreen" in shown
    page_text(big, color=False)
    assert "\x1b" not in paged.read_text()


def test_page_text_sets_less_options_only_when_unset(tmp_path, monkeypatch):
    env_file = tmp_path / "less.txt"
    monkeypatch.setenv("PAGER", f"echo \"$LESS\" > '{env_file}'; cat > /dev/null")
    monkeypatch.delenv("LESS", raising=False)
    page_text("x\n")
    assert env_file.read_text() == "FRX\n"
    monkeypatch.setenv("LESS", "-S")
    page_text("x\n")
    assert env_file.read_text() == "-S\n"


@pytest.mark.parametrize("pager", ["", "no-such-pager-orgorepl-test"])
def test_page_text_prints_when_there_is_no_pager(monkeypatch, pager):
    monkeypatch.setenv("PAGER", pager)
    out = io.StringIO()
    assert page_text("one\x1b[2J\ntwo", out=out) == "printed"
    assert out.getvalue() == "one^[[2J\ntwo\n"


def test_page_text_with_a_pager_that_quits_early(monkeypatch):
    monkeypatch.setenv("PAGER", "head -c 10 > /dev/null")
    assert page_text(numbered_lines(MB10)) == "pager"  # the closed pipe is no error


def test_save_output_mode_ignores_the_umask(tmp_path):
    old = os.umask(0)
    try:
        path = tmp_path / "u.txt"
        save_output("x", path)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


# --------------------------------------------------------------------------------------------
# the REPL with a 10 MB result (real emulator, real prompt_toolkit session)


def test_ten_megabytes_of_output_leave_the_repl_responsive(start):  # noqa: F811
    from test_repl import ready

    s = start()
    ready(s)
    s.submit("print('\\n'.join('row %07d' % i for i in range(1_000_000)))")
    s.expect(r"^… [\d,]+ bytes not shown: %more pages the whole output", timeout=60)
    s.expect(r"^row 0999999$")
    s.submit("print(6 * 7)")
    s.expect(r"^42$")


# --------------------------------------------------------------------------------------------
# the cutting rules, on any text


PIECES = st.sampled_from(["a", "bc", "\n", "\x1b[31m", "\x1b[0m", "\x1b[38;5;2m", "\r\n", "é", "word "])


@settings(max_examples=300, deadline=None)
@given(pieces=st.lists(PIECES, max_size=300), max_bytes=st.integers(1, 120),
       head_lines=st.integers(0, 12), tail_lines=st.integers(0, 12))
def test_bound_shows_a_prefix_and_a_suffix_and_counts_what_it_hides(pieces, max_bytes, head_lines, tail_lines):
    if head_lines + tail_lines == 0:
        head_lines = 1
    txt = "".join(pieces)
    limits = OutputLimits(max_bytes_shown=max_bytes, head_lines=head_lines, tail_lines=tail_lines)
    view = bound(txt, limits, sniff=False)
    if view.cut is None:
        assert view.head == txt and view.tail == ""
        assert len(txt) <= max_bytes and txt.count("\n") + (not txt.endswith("\n") and txt != "") \
            <= head_lines + tail_lines
        return
    head_end, tail_start = len(view.head), len(txt) - len(view.tail)
    assert txt.startswith(view.head) and txt.endswith(view.tail) and head_end < tail_start
    assert view.shown() <= max_bytes
    assert view.head.count("\n") <= head_lines
    assert view.tail.rstrip("\n").count("\n") < max(tail_lines, 1)
    assert view.cut.hidden == tail_start - head_end
    # lines wholly inside the hidden part
    starts = [0] + [i + 1 for i, ch in enumerate(txt) if ch == "\n"]
    wholly = sum(1 for s in starts if s >= head_end and txt.find("\n", s) != -1
                 and txt.find("\n", s) < tail_start)
    assert view.cut.lines == wholly
    # no colour sequence is cut in two
    for m in re.finditer(r"\x1b\[[0-9;]*m", txt):
        assert not (m.start() < head_end < m.end()) and not (m.start() < tail_start < m.end())
