"""The Python submission wrapper, run for real: on the emulator over HTTP, and with `python -c`.

What is checked is what the user and the API see: the output byte for byte, the echo, the
traceback's lines, and that success/error/error_type are those of the same code run unwrapped.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from orgorepl.protocol import ExecResult
from orgorepl.session.python_cell import split_traceback, unwrap_cell, wrap_cell


def run_wrapped(client, computer_id, code, *, echo=True, timeout=10):
    cell = wrap_cell(code, echo=echo)
    return unwrap_cell(cell, client.exec(computer_id, cell.program, timeout))


def run_plain(client, computer_id, code, timeout=10):
    return client.exec(computer_id, code, timeout)


def run_local(program: str) -> subprocess.CompletedProcess:
    """`python -c program`, the way a bare interpreter on the computer would run it."""
    return subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)


# --------------------------------------------------------------------------------------------
# through the emulator


def test_exception_traceback_has_the_users_lines_and_frames_only(client, computer_id):
    code = "print('before')\ndef f():\n    return 1 / 0\n\nf()"
    out = run_wrapped(client, computer_id, code)
    plain = run_plain(client, computer_id, code)
    assert out.output == "before\n"
    assert (out.success, out.error_type, out.error) == (False, "ZeroDivisionError", "division by zero")
    assert (out.success, out.error_type, out.error) == (plain.success, plain.error_type, plain.error)
    tb = out.traceback
    assert tb.startswith("Traceback (most recent call last):\n")
    assert '  File "<cell>", line 5, in <module>\n    f()\n' in tb
    assert '  File "<cell>", line 3, in f\n    return 1 / 0\n' in tb
    assert tb.rstrip().endswith("ZeroDivisionError: division by zero")
    files = [line.split('"')[1] for line in tb.splitlines() if line.startswith('  File "')]
    assert files == ["<cell>", "<cell>"]
    assert "orgorepl" not in tb


def test_frames_below_the_cell_are_kept(client, computer_id):
    out = run_wrapped(client, computer_id, "import json\njson.loads('not json')")
    files = [line.split('"')[1] for line in out.traceback.splitlines() if line.startswith('  File "')]
    assert files[0] == "<cell>"
    assert any(f.endswith("json/__init__.py") for f in files[1:])
    assert out.error_type == "JSONDecodeError"


@pytest.mark.parametrize("code", [
    "undefined_name",
    "{}['missing']",
    "raise ValueError('first line\\nsecond line')",
    "class MyError(Exception):\n    pass\nraise MyError('mine')",
    "import sys\nsys.exit(3)",
    "import sys\nsys.exit('bye')",
    "raise KeyboardInterrupt",
    "def f():\n  return 1\n   x = 2",
    "try:\n    1 / 0\nexcept ZeroDivisionError:\n    raise RuntimeError('while handling')",
])
def test_result_fields_are_those_of_the_bare_code(client, computer_id, code):
    out = run_wrapped(client, computer_id, code)
    plain = run_plain(client, computer_id, code)
    assert (out.success, out.error_type) == (plain.success, plain.error_type)
    if plain.error_type in ("SyntaxError", "IndentationError"):
        # the message names the file: "<cell>" instead of the bare run's "<string>"
        assert out.error.split(" (")[0] == plain.error.split(" (")[0]
    else:
        assert out.error == plain.error
    assert out.output == plain.output == ""
    if plain.error_type == "SystemExit":
        assert out.traceback is None
    else:
        assert out.traceback is not None and plain.error_type in out.traceback


def test_syntax_error_comes_back_as_syntax_error_with_its_position(client, computer_id):
    code = "x = 1\ny = 2\nz = (3,"
    out = run_wrapped(client, computer_id, code)
    plain = run_plain(client, computer_id, code)
    assert plain.error_type == out.error_type == "SyntaxError"
    assert out.success is False
    assert out.error == plain.error.replace("<string>", "<cell>")
    assert '  File "<cell>", line 3\n' in out.traceback
    assert "    z = (3,\n" in out.traceback
    assert out.traceback.rstrip().endswith("SyntaxError: '(' was never closed")
    assert out.output == "" and out.echoed is False


def test_echo_of_the_last_expression(client, computer_id):
    out = run_wrapped(client, computer_id, "x = 6\nx * 7")
    assert (out.output, out.success, out.echoed) == ("42\n", True, True)
    assert run_wrapped(client, computer_id, "'text'").output == "'text'\n"
    assert run_wrapped(client, computer_id, "[1, 'a', None]").output == "[1, 'a', None]\n"
    none = run_wrapped(client, computer_id, "None")
    assert (none.output, none.echoed) == ("", True)
    printed = run_wrapped(client, computer_id, "print('once')")
    assert printed.output == "once\n"  # print returns None: nothing echoed after it
    assigned = run_wrapped(client, computer_id, "y = 5")
    assert (assigned.output, assigned.echoed) == ("", False)
    only_earlier = run_wrapped(client, computer_id, "1\n2\n3")
    assert only_earlier.output == "3\n"


def test_echo_goes_through_sys_displayhook(client, computer_id):
    code = "import sys\nsys.displayhook = lambda v: print('hook saw', repr(v))\n'value'"
    assert run_wrapped(client, computer_id, code).output == "hook saw 'value'\n"


def test_echo_off_prints_nothing(client, computer_id):
    out = run_wrapped(client, computer_id, "6 * 7", echo=False)
    assert (out.output, out.echoed, out.success) == ("", False, True)


def test_output_without_final_newline_stays_intact(client, computer_id):
    out = run_wrapped(client, computer_id, "print('no newline', end='')")
    assert (out.output, out.traceback) == ("no newline", None)
    failed = run_wrapped(client, computer_id, "print('partial', end='')\nraise ValueError('v')")
    assert failed.output == "partial"
    assert failed.traceback.rstrip().endswith("ValueError: v")
    assert '  File "<cell>", line 2, in <module>' in failed.traceback


def test_error_while_echoing_points_at_the_repr(client, computer_id):
    code = "class R:\n    def __repr__(self):\n        raise RuntimeError('bad repr')\nR()"
    out = run_wrapped(client, computer_id, code)
    assert (out.error_type, out.error) == ("RuntimeError", "bad repr")
    assert '  File "<cell>", line 3, in __repr__' in out.traceback


def test_user_code_runs_in_main_and_the_wrapper_leaves_no_names(client, computer_id):
    code = (
        "import __main__, pickle\n"
        "class P:\n    pass\n"
        "x = 1\n"
        "print(__main__.x, __name__, '__orgorepl_cell' in globals())\n"
        "print(pickle.loads(pickle.dumps(P())).__class__.__name__)\n"
        "print(sorted(n for n in globals() if not n.startswith('__')))"
    )
    out = run_wrapped(client, computer_id, code)
    assert out.output == "1 __main__ False\nP\n['P', 'pickle', 'x']\n", out


def test_a_marker_forged_by_the_user_is_left_alone(client, computer_id):
    fake = "#orgorepl-tb-0000000000000000"
    code = f"print('\\n{fake}>\\nnot a traceback\\n{fake}<')"
    out = run_wrapped(client, computer_id, code)
    assert out.output == f"\n{fake}>\nnot a traceback\n{fake}<\n"
    assert out.traceback is None


def test_timeout_keeps_the_output_printed_before(client, computer_id):
    code = "import time\nprint('started', flush=True)\ntime.sleep(30)"
    out = run_wrapped(client, computer_id, code, timeout=1)
    assert out.timeout is True and out.success is False
    assert out.output.startswith("started\n")
    assert out.traceback is None


# --------------------------------------------------------------------------------------------
# with a bare interpreter (fast): what the program does on its own


def test_program_sets_builtins_underscore_like_the_repl():
    cell = wrap_cell("40 + 2")
    proc = run_local(cell.program + "import builtins\nprint('_ is', builtins._)\n")
    assert proc.stdout == "42\n_ is 42\n"


def test_program_reraises_so_the_interpreter_reports_the_users_exception():
    cell = wrap_cell("x = [1]\nx[5]")
    proc = run_local(cell.program)
    assert proc.returncode == 1
    assert proc.stderr.rstrip().splitlines()[-1] == "IndexError: list index out of range"
    output, tb = split_traceback(proc.stdout, cell.marker)
    assert output == ""
    assert '  File "<cell>", line 2, in <module>\n    x[5]\n' in tb


def test_system_exit_passes_through_untouched():
    proc = run_local(wrap_cell("import sys\nprint('bye')\nsys.exit(7)").program)
    assert (proc.returncode, proc.stdout, proc.stderr) == (7, "bye\n", "")


def test_slots_for_state_carry_over():
    cell = wrap_cell("print('user')\n1 / 0", restore="print('restore')",
                     save="print('save sees', type(error).__name__)")
    proc = run_local(cell.program)
    output, tb = split_traceback(proc.stdout, cell.marker)
    assert output == "restore\nuser\nsave sees ZeroDivisionError\n"
    assert tb is not None and proc.returncode == 1


def test_wrapper_is_small():
    cell = wrap_cell("")
    assert len(cell.program) < 1800
    assert len(wrap_cell("x = 1").program) - len(cell.program) == len(repr("x = 1")) - len(repr(""))


def test_each_cell_gets_its_own_marker():
    assert wrap_cell("1").marker != wrap_cell("1").marker


# --------------------------------------------------------------------------------------------
# unwrapping


def _result(output: str, **kw) -> ExecResult:
    return ExecResult(output=output, success=kw.pop("success", False), **kw)


def test_unwrap_strips_exactly_the_marked_block():
    cell = wrap_cell("x")
    text = f"out\n\n{cell.marker}>\nTraceback...\nNameError: x\n{cell.marker}<\n"
    outcome = unwrap_cell(cell, _result(text, error="x", error_type="NameError"))
    assert outcome.output == "out\n"
    assert outcome.traceback == "Traceback...\nNameError: x\n"
    assert (outcome.error_type, outcome.success, outcome.echoed) == ("NameError", False, True)


def test_unwrap_keeps_output_after_the_block_and_a_missing_newline():
    cell = wrap_cell("x")
    text = f"no newline\n{cell.marker}>\nTB\n{cell.marker}<\natexit said this"
    output, tb = split_traceback(text, cell.marker)
    assert (output, tb) == ("no newlineatexit said this", "TB\n")


def test_unwrap_a_block_cut_off_by_an_output_limit():
    cell = wrap_cell("x")
    output, tb = split_traceback(f"start\n{cell.marker}>\nTraceback (most rec", cell.marker)
    assert (output, tb) == ("start", "Traceback (most rec")


def test_unwrap_ignores_another_cells_marker():
    first, second = wrap_cell("x"), wrap_cell("x")
    text = f"\n{first.marker}>\nTB\n{first.marker}<\n"
    assert split_traceback(text, second.marker) == (text, None)
