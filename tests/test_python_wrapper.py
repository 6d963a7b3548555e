"""The stateful Python wrapper, run for real: through RemoteSession on the emulator, and with `python -c`.

What is checked is what the user and the API see: the output byte for byte, the echo, the
traceback's lines, and that success/error/error_type are those of the same code run unwrapped.
Carrying names from one submission to the next is tests/test_state.py's subject.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from orgorepl.protocol import ExecResult
from orgorepl.session import python_state
from orgorepl.session.carry import RemoteSession
from orgorepl.session.python_state import MARK_PREFIX


def run(client, computer_id, code, *, echo=True, timeout=10, session=None):
    session = session or RemoteSession()
    request = session.python(code, echo=echo)
    return session.python_done(request, client.exec(computer_id, request.code, timeout))


def run_plain(client, computer_id, code, timeout=10):
    return client.exec(computer_id, code, timeout)


def run_local(program: str, home) -> subprocess.CompletedProcess:
    """`python -c program`, the way a bare interpreter on the computer would run it."""
    env = {**os.environ, "HOME": str(home)}
    return subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60,
                          env=env, check=False)


def frames(traceback_text: str) -> list[str]:
    return [line.split('"')[1] for line in traceback_text.splitlines() if line.startswith('  File "')]


# --------------------------------------------------------------------------------------------
# through the emulator


def test_exception_traceback_has_the_users_lines_and_frames_only(client, computer_id):
    code = "print('before')\ndef f():\n    return 1 / 0\n\nf()"
    out = run(client, computer_id, code)
    plain = run_plain(client, computer_id, code)
    assert out.output == "before\n"
    assert (out.success, out.error_type, out.error) == (False, "ZeroDivisionError", "division by zero")
    assert (out.success, out.error_type, out.error) == (plain.success, plain.error_type, plain.error)
    tb = out.traceback
    assert tb.startswith("Traceback (most recent call last):\n")
    assert '  File "<cell>", line 5, in <module>\n    f()\n' in tb
    assert '  File "<cell>", line 3, in f\n    return 1 / 0\n' in tb
    assert tb.rstrip().endswith("ZeroDivisionError: division by zero")
    assert frames(tb) == ["<cell>", "<cell>"]
    assert "orgo" not in tb
    assert out.state.arrived and out.state.saved


def test_frames_below_the_cell_are_kept(client, computer_id):
    out = run(client, computer_id, "import json\njson.loads('not json')")
    files = frames(out.traceback)
    assert files[0] == "<cell>"
    assert any(f.endswith("json/__init__.py") for f in files[1:])
    assert out.error_type == "JSONDecodeError"


def test_a_function_from_an_earlier_submission_shows_its_own_lines(client, computer_id):
    session = RemoteSession()
    run(client, computer_id, "import math\n\n\ndef unused():\n    pass\n\n\n"
                             "def ratio(a, b):\n    scale = 2\n    return scale * a / b\n", session=session)
    out = run(client, computer_id, "x = 1\nratio(x, 0)", session=session)
    assert out.error_type == "ZeroDivisionError"
    tb = out.traceback
    assert '  File "<cell>", line 2, in <module>\n    ratio(x, 0)\n' in tb
    # the line number is the one in the submission that defined it, and the line is shown
    assert '  File "<cell defining ratio>", line 10, in ratio\n    return scale * a / b\n' in tb
    assert "orgo" not in tb


@pytest.mark.parametrize("code", [
    "undefined_name",
    "{}['missing']",
    "raise ValueError('first line\\nsecond line')",
    "raise ValueError('non-ASCII: h\u00e9llo \u2713')",
    "class MyError(Exception):\n    pass\nraise MyError('mine')",
    "import sys\nsys.exit(3)",
    "import sys\nsys.exit('bye')",
    "import sys\nsys.exit(0)",
    "raise SystemExit",
    "raise KeyboardInterrupt",
    "def f():\n  return 1\n   x = 2",
    "try:\n    1 / 0\nexcept ZeroDivisionError:\n    raise RuntimeError('while handling')",
    "def f():\n    return f()\nf()",
    # found by the compiler after parsing: nothing may run before it, as with the bare code
    "print('side effect')\nyield 1",
    "print('side effect')\nreturn 1",
    # the user's own stdout closed: the bare code succeeds, and so must the wrapper
    "import sys\nsys.stdout.close()",
], ids=lambda code: code.replace("\n", "|")[:40])
def test_result_fields_are_those_of_the_bare_code(client, computer_id, code):
    out = run(client, computer_id, code)
    plain = run_plain(client, computer_id, code)
    assert (out.success, out.error_type) == (plain.success, plain.error_type)
    if plain.error_type in ("SyntaxError", "IndentationError"):
        # the message names the file: "<cell>" instead of the bare run's "<string>"
        assert out.error == plain.error.replace("(<string>,", "(<cell>,")
    else:
        assert out.error == plain.error
    assert out.output == plain.output == ""
    if plain.success or plain.error_type == "SystemExit":
        assert out.traceback is None
    else:
        assert out.traceback is not None and plain.error_type in out.traceback
    assert out.state.arrived and out.state.saved, out.state


def test_syntax_error_comes_back_as_syntax_error_with_its_position(client, computer_id):
    code = "x = 1\ny = 2\nz = (3,"
    out = run(client, computer_id, code)
    plain = run_plain(client, computer_id, code)
    assert plain.error_type == out.error_type == "SyntaxError"
    assert out.success is False
    assert out.error == plain.error.replace("<string>", "<cell>")
    assert '  File "<cell>", line 3\n' in out.traceback
    assert "    z = (3,\n" in out.traceback
    assert out.traceback.rstrip().endswith("SyntaxError: '(' was never closed")
    assert out.output == ""


def test_a_syntax_error_the_compiler_finds_shows_its_line_too(client, computer_id):
    out = run(client, computer_id, "x = 1\nyield x")
    assert (out.error_type, out.error) == ("SyntaxError", "'yield' outside function (<cell>, line 2)")
    assert '  File "<cell>", line 2\n    yield x\n' in out.traceback


def test_traceback_lines_are_counted_like_the_compiler_counts_them(client, computer_id):
    # form feed, U+2028 and \x1c sit inside one line for Python; str.splitlines would split there
    code = "a = 'x\x0cy'\nb = 'x\u2028y'\nc = 'x\x1cy'\nraise ValueError(len(a + b + c))"
    out = run(client, computer_id, code)
    assert '  File "<cell>", line 4, in <module>\n    raise ValueError(len(a + b + c))\n' in out.traceback


def test_echo_of_the_last_expression(client, computer_id):
    out = run(client, computer_id, "x = 6\nx * 7")
    assert (out.output, out.success) == ("42\n", True)
    assert run(client, computer_id, "'text'").output == "'text'\n"
    assert run(client, computer_id, "[1, 'a', None]").output == "[1, 'a', None]\n"
    none = run(client, computer_id, "None")
    assert none.output == ""  # None is not echoed, as in the interpreter
    printed = run(client, computer_id, "print('once')")
    assert printed.output == "once\n"  # print returns None: nothing echoed after it
    assigned = run(client, computer_id, "y = 5")
    assert assigned.output == ""
    only_last = run(client, computer_id, "1\n2\n3")
    assert only_last.output == "3\n"


def test_echo_goes_through_sys_displayhook(client, computer_id):
    code = "import sys\nsys.displayhook = lambda v: print('hook saw', repr(v))\n'value'"
    assert run(client, computer_id, code).output == "hook saw 'value'\n"
    # like the REPL, the hook is called for None too (the default hook is what skips it)
    code = "import sys\nsys.displayhook = lambda v: print('hook saw', repr(v))\nNone"
    assert run(client, computer_id, code).output == "hook saw None\n"


def test_echo_off_prints_nothing(client, computer_id):
    out = run(client, computer_id, "6 * 7", echo=False)
    assert (out.output, out.success) == ("", True)


def test_output_without_final_newline_stays_intact(client, computer_id):
    out = run(client, computer_id, "print('no newline', end='')")
    assert (out.output, out.traceback) == ("no newline", None)
    failed = run(client, computer_id, "print('partial', end='')\nraise ValueError('v')")
    assert failed.output == "partial"
    assert failed.traceback.rstrip().endswith("ValueError: v")
    assert '  File "<cell>", line 2, in <module>' in failed.traceback


def test_output_printed_after_the_wrapper_finished_is_kept(client, computer_id):
    code = "import atexit\natexit.register(print, 'at exit')\nprint('x', end='')"
    out = run(client, computer_id, code)
    assert out.output == run_plain(client, computer_id, code).output == "xat exit\n"
    assert out.state.arrived and out.state.saved


def test_error_while_echoing_points_at_the_repr(client, computer_id):
    code = "class R:\n    def __repr__(self):\n        raise RuntimeError('bad repr')\nR()"
    out = run(client, computer_id, code)
    assert (out.error_type, out.error) == ("RuntimeError", "bad repr")
    assert '  File "<cell>", line 3, in __repr__' in out.traceback


def test_an_error_in_an_earlier_class_while_echoing_shows_its_frame(client, computer_id):
    session = RemoteSession()
    run(client, computer_id, "class R:\n    def __repr__(self):\n        raise RuntimeError('bad repr')",
        session=session)
    out = run(client, computer_id, "R()", session=session)
    assert (out.error_type, out.error) == ("RuntimeError", "bad repr")
    assert out.traceback.startswith("Traceback (most recent call last):\n")
    assert '  File "<cell defining R>", line 3, in __repr__\n' in out.traceback


def test_user_code_runs_in_main_and_the_wrapper_leaves_no_names(client, computer_id):
    code = (
        "import __main__, pickle\n"
        "class P:\n    pass\n"
        "x = 1\n"
        "print(__main__.x, __name__, '__orgo_main' in globals(), '__orgo_main' in dir())\n"
        "print(pickle.loads(pickle.dumps(P())).__class__.__name__)\n"
        "print(sorted(n for n in dir() if not n.startswith('__')), [n for n in dir() if 'orgo' in n])"
    )
    session = RemoteSession()
    out = run(client, computer_id, code, session=session)
    assert out.output == "1 __main__ False False\nP\n['P', 'pickle', 'x'] []\n", out
    # the next submission, with the names carried over, sees the same and nothing more
    again = run(client, computer_id, "print(sorted(n for n in dir() if not n.startswith('__')),"
                                     " [n for n in dir() if 'orgo' in n])", session=session)
    assert again.output == "['P', 'pickle', 'x'] []\n", again


def test_names_that_shadow_builtins_do_not_break_the_wrapper(client, computer_id):
    session = RemoteSession()
    first = run(client, computer_id, "id = 5\ntype = 'fruit'\nlen = None\nopen = sorted = isinstance = 0",
                session=session)
    assert first.success and first.state.saved, first
    out = run(client, computer_id, "print(id, type, len, open)\nraise KeyError('k')", session=session)
    assert out.output == "5 fruit None 0\n"
    assert (out.error_type, out.error) == ("KeyError", "'k'")
    assert out.traceback.rstrip().endswith("KeyError: 'k'")
    assert out.state.saved


def test_a_marker_forged_by_the_user_is_left_alone(client, computer_id):
    fake = MARK_PREFIX + "0" * 16 + "__:"
    forged = f"\n{fake}>\nnot a traceback\n{fake}<\n\n{fake}" + '{"saved": false, "cwd": "/forged"}\n'
    out = run(client, computer_id, f"import sys\nsys.stdout.write({forged!r})\nNone")
    assert out.output == forged
    assert out.traceback is None
    assert out.state.arrived and out.state.saved and out.state.cwd != "/forged"


def test_timeout_keeps_the_output_printed_before(client, computer_id):
    code = "import time\nprint('started', flush=True)\ntime.sleep(30)"
    out = run(client, computer_id, code, timeout=1)
    assert out.timeout is True and out.success is False
    assert out.output.startswith("started\n")
    assert MARK_PREFIX not in out.output
    assert out.traceback is None and not out.state.arrived


def test_a_block_cut_off_by_the_output_limit_shows_what_arrived(client, computer_id):
    """The emulator keeps 16 MiB of output: the traceback block is cut ten characters in."""
    session = RemoteSession()
    request = session.python("")
    opening = len("\n" + request.cell.mark + ">\n")
    keep = 16 * 1024 * 1024 - opening - 10
    out = run(client, computer_id, f"import sys\nsys.stdout.write('x' * {keep})\nraise ValueError('cut')",
              session=session)
    assert (out.success, out.error_type, out.error) == (False, "ValueError", "cut")
    assert out.output == "x" * keep
    assert out.traceback.startswith("Traceback ")
    assert "truncated" in out.traceback  # the emulator's note about the cut comes after it
    assert MARK_PREFIX not in out.output + out.traceback
    assert not out.state.arrived


# --------------------------------------------------------------------------------------------
# with a bare interpreter (fast): what the program does on its own


def local_outcome(cell, proc) -> python_state.CellOutcome:
    return python_state.unwrap_stateful(cell, ExecResult(output=proc.stdout, success=proc.returncode == 0))


def test_program_sets_builtins_underscore_like_the_repl(tmp_path):
    cell = python_state.wrap_stateful("40 + 2", "0123abcd")
    proc = run_local(cell.program + "import builtins\nprint('_ is', builtins._)\n", tmp_path)
    assert local_outcome(cell, proc).output == "42\n_ is 42\n"


def test_program_reraises_so_the_interpreter_reports_the_users_exception(tmp_path):
    cell = python_state.wrap_stateful("x = [1]\nx[5]", "0123abcd")
    proc = run_local(cell.program, tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.rstrip().splitlines()[-1] == "IndexError: list index out of range"
    out = local_outcome(cell, proc)
    assert out.output == ""
    assert '  File "<cell>", line 2, in <module>\n    x[5]\n' in out.traceback
    assert out.state.saved


def test_system_exit_passes_through_untouched(tmp_path):
    cell = python_state.wrap_stateful("import sys\nprint('bye')\nsys.exit(7)", "0123abcd")
    proc = run_local(cell.program, tmp_path)
    assert (proc.returncode, proc.stderr) == (7, "")
    out = local_outcome(cell, proc)
    assert (out.output, out.traceback, out.state.saved) == ("bye\n", None, True)


def test_program_text_is_small_and_plain_python_38():
    """The program goes with every submission: it is sent without docstrings and comments."""
    empty = python_state.wrap_stateful("", "0123abcd").program
    print(f"\nwrapper program: {len(empty)} characters for an empty submission")
    assert len(empty) < 16_000  # all three parts, compressed (state, stderr, Ctrl-C marks: issue 14)
    source = "".join(Path(python_state.__file__).with_name(name).read_text(encoding="utf-8")
                     for name in ("remote_python.py", "remote_state.py", "remote_runtime.py", "remote_io.py"))
    assert len(empty) < 0.75 * len(source)
    assert not any(line.lstrip().startswith("#") for line in empty.splitlines())
    ast.parse(empty, feature_version=(3, 8))
    text = python_state._remote_text()  # what the one line unpacks: plain Python 3.8 too
    assert not any(line.lstrip().startswith("#") for line in text.splitlines())
    ast.parse(text, feature_version=(3, 8))
    one = python_state.wrap_stateful("x = 1", "0123abcd").program
    assert len(one) - len(empty) == len(repr("x = 1")) - len(repr(""))
    from orgorepl.session.oneshot_python import wrap_oneshot

    oneshot = wrap_oneshot("").program
    assert len(oneshot) < 2_500 and not any(line.lstrip().startswith("#") for line in oneshot.splitlines())
    ast.parse(oneshot, feature_version=(3, 8))


def test_each_cell_gets_its_own_marker():
    session = RemoteSession()
    first, second = session.python("1"), session.python("1")
    assert first.cell.mark != second.cell.mark
    assert first.cell.mark.startswith(MARK_PREFIX)


# --------------------------------------------------------------------------------------------
# unwrapping (what came back, as the API would hand it over)


def _done(session, request, output, **kw):
    return session.python_done(request, ExecResult(output=output, success=kw.pop("success", False), **kw))


TRAILER = ascii({"cwd": "/home/user", "saved": True, "home": "/home/user", "lost": {}, "assigned": ["y"]})


def test_unwrap_strips_exactly_the_marked_blocks():
    session = RemoteSession()
    request = session.python("y = 1\nx")
    m = request.cell.mark
    text = f"out\n\n{m}>\nTraceback...\nNameError: x\n{m}<\n\n{m}{TRAILER}\n"
    outcome = _done(session, request, text, error="x", error_type="NameError")
    assert outcome.output == "out\n"
    assert outcome.traceback == "Traceback...\nNameError: x\n"
    assert (outcome.error_type, outcome.success) == ("NameError", False)
    assert (outcome.state.arrived, outcome.state.saved, outcome.state.assigned) == (True, True, ("y",))
    assert session.cwd == "/home/user"


def test_unwrap_keeps_output_after_the_blocks_and_a_missing_newline():
    session = RemoteSession()
    request = session.python("x")
    m = request.cell.mark
    text = f"no newline\n{m}>\nTB\n{m}<\n\n{m}{TRAILER}\natexit said this"
    outcome = _done(session, request, text)
    assert (outcome.output, outcome.traceback) == ("no newlineatexit said this", "TB\n")
    assert outcome.state.saved


@pytest.mark.parametrize("arrived,output,traceback", [
    # cut inside the traceback block
    ("start\n{m}>\nTraceback (most rec", "start", "Traceback (most rec"),
    ("start\n{m}>\nTraceback (most rec\n[output truncated]\n", "start",
     "Traceback (most rec\n[output truncated]\n"),
    # cut inside the trailer's JSON
    ("start\n{m}{{\"cwd\": \"/ho", "start", None),
    ("start\n{m}{{\"cwd\": \"/ho\n[output truncated]\n", "start\n[output truncated]\n", None),
    # cut inside a marker
    ("start\n{m6}", "start", None),
    ("start\n{m6}\n[output truncated]\n", "start\n[output truncated]\n", None),
    ("start\n{m}>\nTB\n{m}<\n\n{m6}", "start", "TB\n"),
])
def test_unwrap_a_block_cut_off_by_an_output_limit(arrived, output, traceback):
    session = RemoteSession()
    request = session.python("x")
    m = request.cell.mark
    outcome = _done(session, request, arrived.format(m=m, m6=m[:len(MARK_PREFIX) + 6]))
    assert (outcome.output, outcome.traceback) == (output, traceback)
    assert not outcome.state.arrived


def test_unwrap_ignores_another_cells_marker():
    session = RemoteSession()
    first, second = session.python("x"), session.python("x")
    m = first.cell.mark
    not_second = "0" if second.cell.mark[len(MARK_PREFIX)] != "0" else "1"
    text = f"\n{m}>\nTB\n{m}<\n\n{m}{TRAILER}\n\n{MARK_PREFIX}{not_second}"
    outcome = _done(session, second, text)
    assert (outcome.output, outcome.traceback, outcome.state.arrived) == (text, None, False)


# --------------------------------------------------------------------------------------------
# issue 14, cause 7: stderr comes back, apart from stdout (the service returns stdout only)

STDERR_CASES = {
    "print": ("import sys\nprint('to err', file=sys.stderr)", "to err\n"),
    "warnings": ("import warnings\nwarnings.warn('careful')", "UserWarning: careful"),
    "logging": ("import logging\nlogging.warning('logged')", "WARNING:root:logged\n"),
    "child": ("import subprocess\nsubprocess.run(['sh', '-c', 'echo from child >&2'])", "from child\n"),
}


@pytest.mark.parametrize("name", sorted(STDERR_CASES))
def test_stderr_of_a_stateful_submission_comes_back_apart(client, computer_id, name):
    code, expected = STDERR_CASES[name]
    out = run(client, computer_id, "print('out')\n" + code + "\nNone")
    assert out.output == "out\n"
    assert expected in out.stderr
    assert MARK_PREFIX not in out.stderr and out.state.arrived and out.state.saved


@pytest.mark.parametrize("name", sorted(STDERR_CASES))
def test_stderr_of_a_one_shot_submission_comes_back_apart(client, computer_id, name):
    code, expected = STDERR_CASES[name]
    session = RemoteSession(stateful=False, oneshot=True)
    request = session.python("print('out')\n" + code)
    outcome = session.python_outcome(request, client.exec(computer_id, request.code, 10))
    assert [(p.stream.value, p.text) for p in outcome.pieces][0] == ("stdout", "out\n")
    assert expected in "".join(p.text for p in outcome.pieces if p.stream.value == "stderr")
    assert outcome.ok


def test_stderr_shares_no_line_with_stdout_and_survives_an_exception(client, computer_id):
    from orgorepl.outcome import Stream

    session = RemoteSession()
    request = session.python("import sys\nprint('partial', end='')\nprint('oops', file=sys.stderr)\n1/0")
    outcome = session.python_outcome(request, client.exec(computer_id, request.code, 10))
    assert [(p.stream, p.text) for p in outcome.pieces] == [(Stream.STDOUT, "partial"), (Stream.STDERR, "\noops\n")]
    assert outcome.error_type == "ZeroDivisionError" and "1/0" in outcome.traceback


def test_without_the_wrapper_stderr_is_dropped(client, computer_id):
    """Why the wrapper carries it: the API (and the emulator) return stdout only."""
    assert run_plain(client, computer_id, "import sys\nprint('e', file=sys.stderr)").output == ""


# issue 14, cause 8: one-shot ``exec`` gets the REPL's full traceback (the wrapper, without state)

def test_one_shot_exec_has_the_full_traceback_and_no_state(client, computer_id, tmp_path):
    session = RemoteSession(stateful=False, oneshot=True)
    request = session.python("print('before')\ndef f():\n    return 1 / 0\n\nf()")
    out = session.python_done(request, client.exec(computer_id, request.code, 10))
    assert out.output == "before\n"
    assert (out.success, out.error_type, out.error) == (False, "ZeroDivisionError", "division by zero")
    assert '  File "<cell>", line 5, in <module>\n    f()\n' in out.traceback
    assert '  File "<cell>", line 3, in f\n    return 1 / 0\n' in out.traceback
    assert frames(out.traceback) == ["<cell>", "<cell>"] and "orgo" not in out.traceback
    assert not out.state.arrived  # nothing saved: the next one-shot sees no names
    again = session.python("print(sorted(n for n in globals() if not n.startswith('__')))")
    assert session.python_done(again, client.exec(computer_id, again.code, 10)).output == "[]\n"


@pytest.mark.parametrize("code", ["import sys\nsys.exit(3)", "x = 1", "def broken(:\n", "raise KeyError('k')",
                                  "1 + 1"])
def test_one_shot_result_fields_are_those_of_the_bare_code(client, computer_id, code):
    session = RemoteSession(stateful=False, oneshot=True)
    request = session.python(code)
    out = session.python_done(request, client.exec(computer_id, request.code, 10))
    plain = run_plain(client, computer_id, code)
    assert (out.success, out.error_type, out.output) == (plain.success, plain.error_type, plain.output)
    assert (out.error or "").replace("<cell>", "<string>") == (plain.error or "")


def test_a_run_that_closes_stderr_still_saves(client, computer_id):
    session = RemoteSession()
    code = "import os, sys\nprint('x', file=sys.stderr)\nos.close(2)\nkept = 1"
    out = run(client, computer_id, code, session=session)
    assert out.output == "" and out.success and out.state.saved
    assert run(client, computer_id, "print(kept)", session=session).output == "1\n"
