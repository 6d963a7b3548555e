"""What a person sees after a submission: output first, then a status line only when it has news."""

from __future__ import annotations

import json
import re
from io import StringIO

import pytest
from prompt_toolkit import print_formatted_text
from prompt_toolkit.data_structures import Size
from prompt_toolkit.formatted_text import fragment_list_to_text
from prompt_toolkit.output.color_depth import ColorDepth
from prompt_toolkit.output.vt100 import Vt100_Output

from orgorepl import errors
from orgorepl.render.bounded import OutputLimits
from orgorepl.render.result import (
    HIGHLIGHT_LIMIT,
    render_error_line,
    render_note,
)
from orgorepl.ui.style import default_style

from outcomes import bash_outcome, python_outcome, render_bash, render_exec

TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "<cell>", line 4, in <module>\n'
    "    f()\n"
    '  File "<cell>", line 2, in f\n'
    "    return 1 / 0\n"
    "           ~~^~~\n"
    "ZeroDivisionError: division by zero\n"
)


def outcome(output="", *, traceback=None, success=True, error=None, error_type=None, timeout=False):
    return python_outcome(output=output, traceback=traceback, success=success, error=error,
                          error_type=error_type, timeout=timeout)


def bash(output="", exit_code=0, *, timeout=False, success=True):
    return bash_outcome(output=output, exit_code=exit_code, success=success, timeout=timeout)


def text(ft) -> str:
    return fragment_list_to_text(ft)


def styled(ft, cls: str) -> str:
    """All text carrying style class ``cls``."""
    return "".join(t for style, t, *_ in ft if f"class:{cls}" in style.split())


def terminal(ft) -> str:
    """What lands on screen when the REPL prints it (escape sequences removed)."""
    buf = StringIO()
    out = Vt100_Output(buf, lambda: Size(rows=24, columns=200), term="xterm-256color",
                       default_color_depth=ColorDepth.DEPTH_8_BIT)
    print_formatted_text(ft, output=out, style=default_style(), end="")
    return re.sub(r"\x1b\[[0-?]*[ -/]*[@-~]", "", buf.getvalue()).replace("\r\n", "\n")


# --------------------------------------------------------------------------------------------
# Python


def test_plain_success_is_just_the_output():
    ft = render_exec(outcome("hello\n"), timeout=10, elapsed=0.2)
    assert terminal(ft) == "hello\n"
    assert styled(ft, "output") == "hello\n"


def test_nothing_at_all_for_silent_fast_success():
    assert text(render_exec(outcome(""), timeout=10, elapsed=0.01)) == ""


def test_exception_with_traceback():
    ft = render_exec(outcome("before\n", traceback=TRACEBACK, success=False, error="division by zero",
                             error_type="ZeroDivisionError"), timeout=10, elapsed=0.3)
    screen = terminal(ft)
    assert screen == "before\n" + TRACEBACK
    assert styled(ft, "status.error") == "ZeroDivisionError: division by zero"
    assert "ZeroDivisionError" not in styled(ft, "traceback")
    # highlighted by the traceback lexer: several token classes, not one blob
    assert len({s for s, t, *_ in ft if "class:traceback" in s}) > 3
    assert any("class:pygments.generic.traceback" in s for s, *_ in ft)


def test_missing_newline_still_leaves_the_status_on_its_own_line():
    ft = render_exec(outcome("partial", traceback="Traceback (most recent call last):\n"
                             '  File "<cell>", line 2, in <module>\nValueError: v\n',
                             success=False, error="v", error_type="ValueError"), timeout=10, elapsed=0.1)
    lines = terminal(ft).splitlines()
    assert lines[0] == "partial"
    assert lines[-1] == "ValueError: v"
    ft = render_exec(outcome("no newline", success=False, error="x", error_type="NameError"),
                     timeout=10, elapsed=0.1)
    assert terminal(ft) == "no newline\nNameError: x\n"


def test_exception_without_traceback_uses_the_api_fields():
    ft = render_exec(outcome(success=False, error="name 'x' is not defined", error_type="NameError"),
                     timeout=10, elapsed=0.1)
    assert terminal(ft) == "NameError: name 'x' is not defined\n"
    assert styled(ft, "status.error") == "NameError: name 'x' is not defined"


def test_qualified_and_multiline_exception_lines():
    tb = ("Traceback (most recent call last):\n  File \"<cell>\", line 2, in <module>\n"
          "json.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)\n")
    ft = render_exec(outcome(traceback=tb, success=False, error="Expecting value: line 1 column 1 (char 0)",
                             error_type="JSONDecodeError"), timeout=10, elapsed=0.1)
    assert styled(ft, "status.error") == "json.decoder.JSONDecodeError: Expecting value: line 1 column 1 (char 0)"
    tb = "Traceback (most recent call last):\n  File \"<cell>\", line 1, in <module>\nValueError: one\ntwo\n"
    ft = render_exec(outcome(traceback=tb, success=False, error="one\ntwo", error_type="ValueError"),
                     timeout=10, elapsed=0.1)
    assert styled(ft, "status.error") == "ValueError: one\ntwo"
    assert terminal(ft).endswith("ValueError: one\ntwo\n")


def test_syntax_error_traceback_keeps_the_caret():
    tb = '  File "<cell>", line 1\n    x = )\n        ^\nSyntaxError: unmatched \')\'\n'
    ft = render_exec(outcome(traceback=tb, success=False, error="unmatched ')' (<cell>, line 1)",
                             error_type="SyntaxError"), timeout=10, elapsed=0.1)
    assert terminal(ft) == tb
    assert styled(ft, "status.error") == "SyntaxError: unmatched ')'"


def test_timeout_badge_names_the_limit():
    ft = render_exec(outcome("started\n", success=False, timeout=True, error_type="TimeoutError",
                             error="Execution timed out after 10 seconds"), timeout=10, elapsed=10.2)
    assert "TIMEOUT after 10s" in styled(ft, "status.timeout")
    screen = terminal(ft)
    assert screen.startswith("started\n")
    assert "TimeoutError" not in screen
    assert screen.rstrip().endswith("10.2s")


def test_duration_only_when_slow():
    assert "s" not in styled(render_exec(outcome("x\n"), timeout=10, elapsed=0.99), "status.duration")
    ft = render_exec(outcome("x\n"), timeout=10, elapsed=2.345)
    assert styled(ft, "status.duration") == "2.3s"
    assert terminal(ft) == "x\n2.3s\n"
    assert styled(render_exec(outcome(), timeout=300, elapsed=125), "status.duration") == "2m05s"


def test_session_notes_follow_the_result_with_remote_controls_made_visible():
    note = "not kept: f (cannot pickle: \x07\x08\x08\x9b2J\x1b]0;title\x07)"
    ft = render_exec(python_outcome(output="1\n", success=False, error="boom", error_type="RuntimeError",
                                    notes=(note,)), timeout=10, elapsed=0.1)
    assert terminal(ft) == "1\nRuntimeError: boom\nnot kept: f (cannot pickle: ^G^H^H\\x9b2J^[]0;title^G)\n"


# --------------------------------------------------------------------------------------------
# bash


def test_bash_zero_exit_has_no_status():
    assert terminal(render_bash(bash("a\nb\n"), timeout=200, elapsed=0.1)) == "a\nb\n"


def test_bash_nonzero_exit_code():
    ft = render_bash(bash("oops", 42), timeout=200, elapsed=0.1)
    assert terminal(ft) == "oops\nexit 42\n"
    assert styled(ft, "status.exit") == "exit 42"
    assert styled(render_bash(bash("", 137), timeout=200, elapsed=0.1), "status.exit") == \
        "exit 137 (killed by SIGKILL)"


def test_bash_timeout_and_duration():
    ft = render_bash(bash("partial\n", None, timeout=True, success=False), timeout=3, elapsed=3.4)
    assert "TIMEOUT after 3s" in styled(ft, "status.timeout")
    assert styled(ft, "status.duration") == "3.4s"
    assert "exit" not in terminal(ft)


def test_bash_colours_become_styles():
    ft = render_bash(bash("\x1b[31mred\x1b[0m \x1b[1;38;5;21mblue\x1b[m plain\n"), timeout=5, elapsed=0.1)
    frags = [(s, t) for s, t, *_ in ft]
    assert ("class:output ansired", "red") in frags
    assert ("class:output bold #0000ff", "blue") in frags
    assert terminal(ft) == "red blue plain\n"


# --------------------------------------------------------------------------------------------
# highlighting


def test_json_output_is_highlighted():
    doc = json.dumps({"name": "agent-1", "ram": 4, "tags": [True, None]}, indent=2) + "\n"
    ft = render_bash(bash(doc), timeout=5, elapsed=0.1)
    assert terminal(ft) == doc
    assert any("class:pygments.name.tag" in s for s, *_ in ft)
    assert any("class:pygments.literal.number" in s for s, *_ in ft)


@pytest.mark.parametrize("not_json", [
    '{"a": 1',  # cut off
    "42\n",  # JSON, but not an object or array
    '"just a string"\n',
    '[1, 2]\n[3]\n',  # two documents
    "def f():\n    return {'a': 1}\n",  # code is never guessed at
    "<html><body>hi</body></html>\n",
])
def test_other_output_is_not_lexed(not_json):
    ft = render_bash(bash(not_json), timeout=5, elapsed=0.1)
    assert {s for s, *_ in ft} == {"class:output"}


def test_no_highlighting_above_the_size_limit():
    big = json.dumps(["x" * 100] * (HIGHLIGHT_LIMIT // 100)) + "\n"
    assert len(big) > HIGHLIGHT_LIMIT
    limits = OutputLimits(max_bytes_shown=2 * HIGHLIGHT_LIMIT)  # all of it shown, none lexed
    ft = render_bash(bash(big), timeout=5, elapsed=0.1, limits=limits)
    assert [(s, t) for s, t, *_ in ft] == [("class:output", big)]


def test_without_colour_nothing_is_lexed_or_coloured():
    doc = '{"a": "\x1b[31mb\x1b[0m"}\n'
    ft = render_exec(outcome(doc, traceback=TRACEBACK, success=False, error="division by zero",
                             error_type="ZeroDivisionError"), timeout=10, elapsed=0.1, color=False)
    assert not any("pygments" in s or "ansi" in s for s, *_ in ft)
    assert terminal(ft).startswith('{"a": "b"}\n')


# --------------------------------------------------------------------------------------------
# notes and errors


def test_error_line_is_one_sanitized_line():
    err = errors.NotFoundError("Computer not found\x1b]0;pwned\x07", status=404, request_id="r-1")
    ft = render_error_line(err)
    screen = terminal(ft)
    assert screen.count("\n") == 1
    assert screen.startswith("HTTP 404 not found: Computer not found^[]0;pwned^G")
    assert "(request r-1)" in screen
    assert {s for s, *_ in ft} == {"class:note.error"}


def test_transport_error_line_says_the_code_may_have_run():
    err = errors.RequestTimeout("no answer within 30s", may_have_run=True)
    assert "may have run" in terminal(render_error_line(err))


def test_note():
    ft = render_note("session reset")
    assert [(s, t) for s, t, *_ in ft] == [("class:note", "session reset\n")]
