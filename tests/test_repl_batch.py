"""Batch mode: stdin is not a terminal, so the whole input is one submission and the exit
status is the remote one.  Against the real emulator."""

from __future__ import annotations

import io
import subprocess

import pytest

from orgorepl import errors
from orgorepl.connect import Connection
from orgorepl.exitstatus import ExitStatus
from orgorepl.modes import Mode
from orgorepl.repl import ReplOptions, run_batch


@pytest.fixture
def connect(emulator):
    opened: list[Connection] = []

    def connect() -> Connection:
        from orgorepl.client import OrgoClient

        client = OrgoClient(api_key=emulator.api_key, base_url=emulator.base_url)
        conn = Connection(client=client, computer=client.get_computer(emulator.computers[1].id),
                          base_url=emulator.base_url, _cleanup=[client.close])
        opened.append(conn)
        return conn

    connect.opened = opened
    return connect


def batch(connect, script: str, **options) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = run_batch(connect, ReplOptions(**options), script, stdout=out, stderr=err)
    return int(status), out.getvalue(), err.getvalue()


def test_python_script_runs_as_one_submission(connect):
    script = "import sys\nfor i in range(3):\n    print('line', i)\n\nprint('end', file=sys.stderr)\n6 * 7\n"
    status, out, err = batch(connect, script)
    assert status == 0
    assert out.splitlines()[:3] == ["line 0", "line 1", "line 2"]
    assert "42" not in out  # a script is not a REPL: no expression echo, like `python3 < file`
    assert connect.opened and all(not c._cleanup for c in connect.opened)  # closed afterwards


def test_python_exception_exits_1_with_the_error_on_stderr(connect):
    status, out, err = batch(connect, "print('before')\nraise ValueError('bad value')\n")
    assert status == ExitStatus.REMOTE_EXCEPTION == 1
    assert out == "before\n"
    assert "ValueError: bad value" in err


def test_python_timeout_exits_124(connect):
    status, out, err = batch(connect, "import time\ntime.sleep(5)\n", timeouts={Mode.PYTHON: 1, Mode.BASH: 5})
    assert status == ExitStatus.REMOTE_TIMEOUT == 124
    assert "TIMEOUT" in err and "1s" in err


def test_bash_exit_code_passes_through(connect):
    status, out, err = batch(connect, "echo out; echo err >&2; exit 7\n", mode=Mode.BASH)
    assert status == 7
    assert "out" in out and "err" in out  # /bash combines the streams
    assert err == ""


def test_bang_script_in_python_mode_goes_to_bash(connect):
    status, out, _ = batch(connect, "!echo $((2 + 3))\n")
    assert (status, out) == (0, "5\n")


def test_meta_command_script(connect, emulator):
    status, out, _ = batch(connect, "%info\n")
    assert status == 0 and emulator.computers[1].id in out and emulator.api_key not in out
    status, out, err = batch(connect, "%nope\n")
    assert status == ExitStatus.USAGE and "unknown command %nope" in err


def test_connection_error_is_one_line_with_its_exit_status():
    def refuse() -> Connection:
        raise errors.ConnectError("could not connect to http://127.0.0.1:9/api")

    status, out, err = batch(refuse, "print(1)\n")
    assert status == ExitStatus.NETWORK
    assert err.count("\n") == 1 and err.startswith("orgorepl: could not connect")


def test_empty_script_does_nothing():
    def never() -> Connection:
        raise AssertionError("must not connect")

    assert batch(never, "  \n\n") == (0, "", "")


def test_piped_stdin_through_the_command_line(orgorepl_cmd, orgo_env, emulator):
    env = dict(orgo_env, ORGO_COMPUTER=emulator.computers[1].id)
    done = subprocess.run(orgorepl_cmd, input="print(6 * 7)\nraise SystemExit(3)\n", env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.stdout == "42\n"
    assert done.returncode == 1  # a remote exception (SystemExit included) is exit status 1
    done = subprocess.run(orgorepl_cmd + ["--bash"], input="echo from-bash; exit 4\n", env=env,
                          capture_output=True, text=True, timeout=60)
    assert (done.stdout, done.returncode) == ("from-bash\n", 4)


def test_ctrl_c_in_a_resumed_session_leaves_the_session_alone(connect):
    """Issue 14, cause 6, piped input joined to a session (``--resume``): Ctrl-C ends orgorepl
    while the code runs on; it is marked abandoned before orgorepl leaves, so it does not save."""
    import os
    import signal
    import threading
    import time

    sid = "1a2b3c4d"
    assert batch(connect, "zz = 'before'", session_id=sid)[0] == ExitStatus.OK
    threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
    status, _, err = batch(connect, "import time\ntime.sleep(1.5)\nzz = 'after sleep'", session_id=sid)
    assert status == ExitStatus.INTERRUPTED and "interrupted" in err
    time.sleep(2)
    assert batch(connect, "print(zz)", session_id=sid)[:2] == (ExitStatus.OK, "before\n")
