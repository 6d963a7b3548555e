"""Live Python: one persistent interpreter on the emulator's terminal, driven through ``live_python.LivePython``.

Everything here goes over the real WebSocket to a real login bash in a PTY, where the agent runs
under the computer's ``python3``; what is asserted is what a user of the live session sees:
values that live on, output by stream and as it comes, tracebacks, stdin, Ctrl-C.
"""

from __future__ import annotations

import ast
import secrets
import threading
import time
from pathlib import Path

import pytest

from orgorepl import outcome as oc
from orgorepl.live_python import NEW_INTERPRETER, NOT_STARTED, SYSTEM_EXIT_NOTE, LivePython
from orgorepl.session import live_python as framing_module
from orgorepl.session.live_python import Booted, Done, Exited, Output, Ready
from orgorepl.session.live_python import LivePython as Framing

from test_live_bash import processes_running


@pytest.fixture
def live(emulator, client):
    computer = emulator.computers[2]
    python = LivePython(lambda fresh: client.terminal_access(computer.id, fresh_token=fresh), emulator.base_url,
                        session_id=secrets.token_hex(4))
    python.start()
    yield python
    python.close(end=True)


def run(live: LivePython, code: str) -> tuple[str, oc.Status]:
    outcome = live.run(code)
    return outcome.output, outcome.status


def in_background(live: LivePython, code: str) -> tuple[threading.Thread, list[oc.Outcome]]:
    result: list[oc.Outcome] = []
    thread = threading.Thread(target=lambda: result.append(live.run(code)))
    thread.start()
    return thread, result


def test_names_imports_and_functions_live_on(live):
    assert run(live, "x = 41\nimport json\ndef twice(v):\n    return 2 * v") == ("", oc.Status.OK)
    assert run(live, "print(json.dumps({'x': x + 1}), twice(x))") == ('{"x": 42} 82\n', oc.Status.OK)
    assert run(live, "__name__") == ("'__main__'\n", oc.Status.OK)


def test_objects_that_cannot_be_pickled_live_on(live, tmp_path):
    (tmp_path / "lines.txt").write_text("one\ntwo\n")
    run(live, "g = (i * i for i in range(5))")
    assert run(live, "next(g)")[0] == "0\n"
    assert run(live, "next(g)")[0] == "1\n"
    run(live, f"f = open({str(tmp_path / 'lines.txt')!r}); first = f.readline()\n"
              "double = lambda v: v * 2\n"
              "import threading; stop = threading.Event(); t = threading.Thread(target=stop.wait); t.start()")
    assert run(live, "f.readline(), double(21), t.is_alive()") == ("('two\\n', 42, True)\n", oc.Status.OK)
    assert run(live, "stop.set(); t.join(); t.is_alive()")[0] == "False\n"


def test_the_last_expression_is_echoed_and_kept_in_underscore(live):
    assert run(live, "6 * 7") == ("42\n", oc.Status.OK)
    assert run(live, "_ + 1") == ("43\n", oc.Status.OK)
    assert run(live, "None") == ("", oc.Status.OK)
    assert live.run("'quiet'", echo=False).output == ""
    assert run(live, "x = 5")[0] == ""


def test_a_traceback_names_the_users_cell_and_line(live):
    run(live, "def inner():\n    return 1 / 0")
    outcome = live.run("a = 1\ninner()")
    assert outcome.status is oc.Status.ERROR
    assert (outcome.error_type, outcome.error) == ("ZeroDivisionError", "division by zero")
    tb = outcome.traceback or ""
    assert tb.startswith("Traceback (most recent call last):\n")
    assert 'File "<cell 2>", line 2, in <module>\n    inner()' in tb
    assert 'File "<cell 1>", line 2, in inner\n    return 1 / 0' in tb
    assert "orgo-live" not in tb and tb.rstrip().endswith("ZeroDivisionError: division by zero")
    syntax = live.run("x = (1,\ny = 2 +")
    assert syntax.status is oc.Status.ERROR and syntax.error_type == "SyntaxError"
    assert 'File "<cell 3>"' in (syntax.traceback or "")
    assert run(live, "a") == ("1\n", oc.Status.OK)  # what ran before the error stays


def test_stdout_and_stderr_come_as_separate_pieces_in_order(live):
    outcome = live.run("import sys, os\nprint('out 1')\nprint('err 1', file=sys.stderr)\n"
                       "os.system('echo from-shell; echo shell-err >&2')\nprint('out 2')")
    pieces = [(p.text, p.stream) for p in outcome.pieces]
    assert pieces == [("out 1\n", oc.Stream.STDOUT), ("err 1\n", oc.Stream.STDERR),
                      ("from-shell\n", oc.Stream.STDOUT), ("shell-err\n", oc.Stream.STDERR),
                      ("out 2\n", oc.Stream.STDOUT)]


def test_output_that_looks_like_a_frame_is_only_output(live):
    nonce = live.shell._framing.nonce
    text = f"\x1e{nonce}{{\"t\":\"done\",\"id\":1,\"status\":\"ok\"}}\n"
    outcome = live.run(f"print({text!r}, end=''); 'still running'")
    assert outcome.output == text + "'still running'\n"


def test_output_streams_while_the_cell_runs(live):
    seen: list[tuple[float, str]] = []
    start = time.monotonic()
    outcome = live.run("import time\nfor i in range(3):\n    print('tick', i)\n    time.sleep(0.6)",
                       on_piece=lambda piece: seen.append((time.monotonic() - start, piece.text)))
    assert outcome.output == "tick 0\ntick 1\ntick 2\n"
    first_at = next(t for t, text in seen if "tick 0" in text)
    assert first_at < outcome.duration - 1.0  # on screen well before the cell ended


def test_input_is_answered_from_the_keyboard_and_a_password_is_not_echoed(live):
    thread, result = in_background(live, "import getpass\nname = input('name? ')\npw = getpass.getpass('pw? ')\n"
                                         "print('hi', name, len(pw))")
    time.sleep(0.8)
    assert live.reading
    live.send_keys("adx\x7fa\r")  # typed, with a backspace
    time.sleep(0.5)
    live.send_keys("hunter2\r")
    thread.join(10)
    outcome = result[0]
    assert outcome.status is oc.Status.OK
    assert "name? adx\b \ba\n" in outcome.output  # the answer echoed as typed
    assert "hunter2" not in outcome.output  # the password not
    assert outcome.output.endswith("hi ada 7\n")
    assert run(live, "name")[0] == "'ada'\n"
    thread, result = in_background(live, "import sys; data = sys.stdin.read(); data")
    time.sleep(0.5)
    live.send_keys("line 1\rline 2\r\x04")  # Ctrl-D ends the input
    thread.join(10)
    assert result[0].output.endswith("'line 1\\nline 2\\n'\n")


def test_the_terminal_is_out_of_the_cells_reach(live):
    outcome = live.run("open('/dev/tty')")  # what getpass, sudo and ssh would read from
    assert outcome.error_type == "OSError" and "No such device" in (outcome.error or "")


def test_ctrl_c_interrupts_the_cell_keeps_its_output_and_the_state(live):
    run(live, "keep = 'kept'")
    thread, result = in_background(live, "import time\nprint('started')\ntime.sleep(30)\nprint('never')")
    time.sleep(1.0)
    asked = time.monotonic()
    live.interrupt()
    thread.join(10)
    outcome = result[0]
    assert time.monotonic() - asked < 2
    assert outcome.status is oc.Status.INTERRUPTED and outcome.error_type == "KeyboardInterrupt"
    assert outcome.output == "started\n"
    assert 'File "<cell 2>", line 3, in <module>' in (outcome.traceback or "")
    assert run(live, "keep") == ("'kept'\n", oc.Status.OK)


def test_ctrl_c_reaches_a_busy_loop_and_a_child_process(live):
    thread, result = in_background(live, "n = 0\nwhile True:\n    n += 1")
    time.sleep(0.5)
    live.interrupt()
    thread.join(5)
    assert result[0].status is oc.Status.INTERRUPTED
    assert run(live, "n > 0") == ("True\n", oc.Status.OK)
    thread, result = in_background(live, "import subprocess\nsubprocess.run(['sleep', '30.19'])")
    time.sleep(0.5)
    assert len(processes_running("sleep", "30.19")) == 1
    live.interrupt()
    thread.join(5)
    assert result[0].status is oc.Status.INTERRUPTED and result[0].duration < 4
    assert processes_running("sleep", "30.19") == []  # nothing left behind


def test_system_exit_ends_the_cell_not_the_interpreter(live):
    run(live, "mark = 'alive'")
    outcome = live.run("import sys; print('bye'); sys.exit(3)")
    assert outcome.status is oc.Status.ERROR and outcome.verdict == "SystemExit: 3"
    assert outcome.output == "bye\n" and SYSTEM_EXIT_NOTE in outcome.notes
    assert live.run("exit()").status is oc.Status.OK  # code 0, as over HTTP (it also closes stdin)
    assert run(live, "mark") == ("'alive'\n", oc.Status.OK)


def test_cwd_follows_the_interpreter(live):
    run(live, "import os; os.chdir('/tmp')")
    assert live.cwd == "/tmp"


def test_an_interpreter_that_dies_is_reported_and_a_new_one_starts(live):
    run(live, "mark = 'old'")
    outcome = live.run("import os; print('going', flush=True); os._exit(4)")
    assert outcome.status is oc.Status.ERROR and outcome.error_type == "SystemExit"
    assert "status 4" in (outcome.error or "") and outcome.output == "going\n"
    outcome = live.run("globals().get('mark', 'gone')")
    assert outcome.output == "'gone'\n" and NEW_INTERPRETER in outcome.notes


def test_no_python_on_the_computer_is_one_clear_line(emulator, client, monkeypatch):
    original = Framing.bootstrap
    monkeypatch.setattr(Framing, "bootstrap", lambda self: original(self).replace(" python3 -c", " no-such-python3 -c"))
    computer = emulator.computers[2]
    python = LivePython(lambda fresh: client.terminal_access(computer.id, fresh_token=fresh), emulator.base_url)
    try:
        outcome = python.run("1")
    finally:
        python.close()
    assert outcome.status is oc.Status.REFUSED and outcome.sent is False
    assert NOT_STARTED in (outcome.error or "") and "python3 was not found" in (outcome.error or "")


# ------------------------------------------------------------------ the framing and the agent alone


def test_the_agent_runs_on_python_3_8():
    source = (Path(framing_module.__file__).with_name("live_agent.py")).read_text()
    ast.parse(source, feature_version=(3, 8))
    assert framing_module.agent_payload().endswith("\n") and "\n" not in framing_module.agent_payload()[:-1]


def _frame(framing: Framing, body: str) -> str:
    return f"\x1e{framing.nonce}{body}\n"


def test_the_framing_gives_the_same_events_however_the_stream_is_cut():
    reference = Framing(nonce="abc123")
    whole = ("bash noise \x1e half " + _frame(reference, "!boot")
             + _frame(reference, '{"t":"ready","pid":7,"version":"3.8.18","cwd":"/root"}')
             + _frame(reference, '{"t":"out","s":"stderr","d":"e\\u001e\\n"}')
             + _frame(reference, '{"t":"done","id":1,"status":"ok","cwd":"/tmp"}\r')
             + "\x1eabc12")
    expected = [Booted(), Ready(7, "3.8.18", "/root"), Output("e\x1e\n", "stderr"), Done(1, "ok", cwd="/tmp")]
    assert reference.feed(whole) == expected
    for cut in range(1, len(whole)):
        framing = Framing(nonce="abc123")
        assert framing.feed(whole[:cut]) + framing.feed(whole[cut:]) == expected, cut


def test_a_frame_cut_short_is_dropped_and_bash_reports_the_end():
    framing = Framing(nonce="n1")
    events = framing.feed('\x1en1{"t":"out","s":"stdout","d":"lo' + _frame(framing, "!exit:137"))
    assert events == [Exited(137)]
    assert framing.feed("bash: python3: command not found\r\n") == []
    assert "command not found" in framing.noise
