"""One-shot commands as a user runs them: real processes, real emulator, real exit statuses."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from orgorepl.exitstatus import ExitStatus


def run(cmd, args, env, stdin=None, timeout=60):
    return subprocess.run(cmd + args, input=stdin, capture_output=True, text=True, env=env, timeout=timeout)


@pytest.fixture
def env(orgo_env, emulator):
    e = dict(orgo_env)
    e["ORGO_COMPUTER"] = emulator.computers[0].id
    return e


def test_version_and_help_list_every_command(orgorepl_cmd):
    from orgorepl import __version__

    out = subprocess.run(orgorepl_cmd + ["--version"], capture_output=True, text=True).stdout
    assert __version__ in out
    help_text = subprocess.run(orgorepl_cmd + ["--help"], capture_output=True, text=True).stdout
    for command in ("exec", "bash", "computers", "serve", "start", "stop", "restart"):
        assert f"  {command} " in help_text


def test_exec_prints_output_and_exits_zero(orgorepl_cmd, env):
    p = run(orgorepl_cmd, ["exec", "print(6*7)"], env)
    assert (p.returncode, p.stdout, p.stderr) == (0, "42\n", "")


def test_exec_remote_exception_is_the_full_traceback_on_stderr_and_status_1(orgorepl_cmd, env):
    """Issue 14, cause 8: the traceback the REPL shows, not only its last line."""
    p = run(orgorepl_cmd, ["exec", "print('before'); 1/0"], env)
    assert p.returncode == ExitStatus.REMOTE_EXCEPTION
    assert p.stdout == "before\n"
    assert p.stderr.startswith("Traceback (most recent call last):\n  File \"<cell>\", line 1, in <module>\n")
    assert p.stderr.rstrip().endswith("ZeroDivisionError: division by zero")
    assert "orgo" not in p.stderr


def test_exec_remote_stderr_goes_to_stderr(orgorepl_cmd, env):
    """Issue 14, cause 7: print(file=sys.stderr), warnings, logging and a child's stderr."""
    code = ("import sys, subprocess, warnings, logging\nprint('out')\nprint('err', file=sys.stderr)\n"
            "warnings.warn('careful')\nlogging.warning('logged')\n"
            "subprocess.run(['sh', '-c', 'echo child >&2'])")
    p = run(orgorepl_cmd, ["exec", code], env)
    assert (p.returncode, p.stdout) == (0, "out\n")
    assert p.stderr.startswith("err\n<cell>:4: UserWarning: careful\n")
    assert p.stderr.endswith("WARNING:root:logged\nchild\n")
    data = json.loads(run(orgorepl_cmd, ["exec", "--json", code], env).stdout)
    assert data["output"] == "out\n" and data["stderr"] == p.stderr


def test_exec_timeout_is_124(orgorepl_cmd, env):
    p = run(orgorepl_cmd, ["exec", "--timeout", "1", "import time; print('x', flush=True); time.sleep(5)"], env)
    assert p.returncode == ExitStatus.REMOTE_TIMEOUT
    assert "TIMEOUT after 1s" in p.stderr


def test_exec_reads_code_from_stdin(orgorepl_cmd, env):
    p = run(orgorepl_cmd, ["exec", "-"], env, stdin="for i in range(3):\n    print(i)\n")
    assert (p.returncode, p.stdout) == (0, "0\n1\n2\n")


def test_exec_json_prints_the_result_object(orgorepl_cmd, env):
    p = run(orgorepl_cmd, ["exec", "--json", "raise KeyError('k')"], env)
    data = json.loads(p.stdout)
    assert data["success"] is False and data["error_type"] == "KeyError" and data["timeout"] is False
    assert p.returncode == ExitStatus.REMOTE_EXCEPTION


def test_bash_passes_the_remote_exit_code_through(orgorepl_cmd, env):
    p = run(orgorepl_cmd, ["bash", "echo out; echo err >&2; exit 42"], env)
    assert p.returncode == 42
    assert p.stdout == "out\nerr\n"


def test_bash_json(orgorepl_cmd, env):
    p = run(orgorepl_cmd, ["bash", "--json", "printf abc"], env)
    assert json.loads(p.stdout) == {"output": "abc", "exit_code": 0, "success": True, "timeout": False}


def test_bash_timeout_is_124(orgorepl_cmd, env):
    p = run(orgorepl_cmd, ["bash", "--timeout", "1", "sleep 5"], env)
    assert p.returncode == ExitStatus.REMOTE_TIMEOUT
    assert "TIMEOUT" in p.stderr


def test_wrong_key_is_one_line_and_auth_status(orgorepl_cmd, env):
    env = dict(env, ORGO_API_KEY="sk_wrong_key_123456")
    p = run(orgorepl_cmd, ["exec", "print(1)"], env)
    assert p.returncode == ExitStatus.AUTH
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and "401" in lines[0]
    assert "sk_wrong_key_123456" not in p.stderr + p.stdout


def test_unknown_computer_lists_candidates(orgorepl_cmd, env, emulator):
    p = run(orgorepl_cmd, ["exec", "--computer", "no-such-box", "print(1)"], env)
    assert p.returncode == ExitStatus.NOT_FOUND
    assert len(p.stderr.strip().splitlines()) == 1
    assert emulator.computers[0].name in p.stderr


def test_computer_by_name(orgorepl_cmd, env, emulator):
    name = emulator.computers[1].name
    p = run(orgorepl_cmd, ["bash", "--computer", name, "basename \"$HOME\""], env)
    assert p.returncode == 0
    assert p.stdout.strip() == emulator.computers[1].home.name


def test_network_down_is_one_line(orgorepl_cmd, env):
    import socket

    with socket.socket() as s:  # a port that was free a moment ago and has no listener
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(env, ORGO_BASE_URL=f"http://127.0.0.1:{port}/api")
    p = run(orgorepl_cmd, ["exec", "print(1)"], env)
    assert p.returncode == ExitStatus.NETWORK
    assert len(p.stderr.strip().splitlines()) == 1


def test_missing_key_says_how_to_fix(orgorepl_cmd, env):
    env = {k: v for k, v in env.items() if k != "ORGO_API_KEY"}
    p = run(orgorepl_cmd, ["exec", "print(1)"], env)
    assert p.returncode == ExitStatus.AUTH == 10  # as the README's table says: key missing or refused
    assert "ORGO_API_KEY" in p.stderr and "--local" in p.stderr


def test_computers_table_and_json(orgorepl_cmd, env, emulator):
    p = run(orgorepl_cmd, ["computers"], env)
    assert p.returncode == 0
    for c in emulator.computers:
        assert c.id in p.stdout and c.name in p.stdout
    data = json.loads(run(orgorepl_cmd, ["computers", "--json"], env).stdout)
    ids = {c["id"] for w in data for c in w["computers"]}
    assert {c.id for c in emulator.computers} <= ids


def test_lifecycle_stop_refuses_exec_then_start(orgorepl_cmd, env, emulator):
    target = emulator.computers[2].name
    assert run(orgorepl_cmd, ["stop", target], env).returncode == 0
    try:
        p = run(orgorepl_cmd, ["exec", "--computer", target, "print(1)"], env)
        assert p.returncode == ExitStatus.BAD_REQUEST
        assert "not available" in p.stderr
    finally:
        assert run(orgorepl_cmd, ["start", target], env).returncode == 0
    assert run(orgorepl_cmd, ["exec", "--computer", target, "print(1)"], env).stdout == "1\n"


def test_local_runs_with_no_account(orgorepl_cmd, isolated_env):
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("ORGO_")}
    p = run(orgorepl_cmd, ["exec", "--local", "import os; print(os.getcwd() == os.environ['HOME'])"], env)
    assert (p.returncode, p.stdout) == (0, "True\n"), p.stderr
    # its computer's disk persists between runs, like a real computer's
    run(orgorepl_cmd, ["bash", "--local", "echo kept > note.txt"], env)
    p = run(orgorepl_cmd, ["bash", "--local", "cat note.txt"], env)
    assert p.stdout == "kept\n"


def test_python_m_orgorepl_works(env):
    p = subprocess.run([sys.executable, "-m", "orgorepl", "exec", "print('m')"], capture_output=True,
                       text=True, env=env)
    assert p.stdout == "m\n"


def test_computers_lists_every_computer_without_choosing_one(orgorepl_cmd, orgo_env, emulator):
    env = {k: v for k, v in orgo_env.items() if k != "ORGO_COMPUTER"}
    p = run(orgorepl_cmd, ["computers"], env)
    assert p.returncode == 0, p.stderr
    assert [c.name in p.stdout for c in emulator.computers] == [True] * len(emulator.computers)


def test_exec_timeout_defaults_to_the_configured_python_timeout(orgorepl_cmd, env):
    from orgorepl import paths

    paths.config_file().write_text("python_timeout = 1\n")
    p = run(orgorepl_cmd, ["exec", "import time; time.sleep(3)"], env)
    assert p.returncode == ExitStatus.REMOTE_TIMEOUT
    assert "TIMEOUT after 1s" in p.stderr


def test_put_then_get_through_the_cli(orgorepl_cmd, env, tmp_path):
    src = tmp_path / "data.bin"
    src.write_bytes(bytes(range(256)) * 1000)
    p = run(orgorepl_cmd, ["put", str(src), "cli-copy.bin"], env)
    assert p.returncode == 0 and p.stdout.startswith("uploaded 250.0 KiB"), p.stdout + p.stderr
    back = tmp_path / "back.bin"
    p = run(orgorepl_cmd, ["get", "cli-copy.bin", str(back)], env)
    assert p.returncode == 0 and p.stdout.startswith("downloaded"), p.stderr
    assert back.read_bytes() == src.read_bytes()
    p = run(orgorepl_cmd, ["get", "no-such-file.bin", str(tmp_path / "x")], env)
    assert p.returncode != 0 and p.stderr.count("\n") == 1 and "not found" in p.stderr


def test_replay_all_runs_a_saved_session_with_state(orgorepl_cmd, env, tmp_path):
    lesson = tmp_path / "lesson.md"
    lesson.write_text("```python\nx = 20\n```\n\n```bash\necho from-bash\n```\n\n```python\nx + 22\n```\n")
    p = run(orgorepl_cmd, ["replay", "--all", str(lesson)], env)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert "from-bash" in lines and "42" in lines


def test_serve_refuses_a_bad_memory_size_in_one_line(orgorepl_cmd, tmp_path):
    p = subprocess.run(orgorepl_cmd + ["serve", "--port", "0", "--memory", "lots", "--data-dir", str(tmp_path)],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2
    assert p.stderr.count("\n") == 1 and "lots" in p.stderr


def test_a_server_that_is_not_orgo_is_called_a_wrong_address(orgorepl_cmd, env, tmp_path):
    """A plain web server (its own 404 page, no Orgo error) behind the base URL: the advice is
    to check the address, not to list computers with the very command that failed."""
    import functools
    import http.server
    import threading

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        env = dict(env, ORGO_BASE_URL=f"http://127.0.0.1:{server.server_address[1]}/api")
        p = run(orgorepl_cmd, ["computers"], env)
    finally:
        server.shutdown()
        server.server_close()
    assert p.returncode == ExitStatus.NOT_FOUND
    assert "is the base URL right? Orgo's API is under /api" in p.stderr
    assert "orgorepl computers" not in p.stderr
