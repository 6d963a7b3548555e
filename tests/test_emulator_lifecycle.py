"""Emulators of their own: computer lifecycle, persistence, shutdown, serve(), child environment."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from orgorepl.emulator import EmbeddedEmulator, serve
from orgorepl.emulator.server import is_loopback
from orgorepl.emulator.state import StateError

from test_emulator_support import assert_error, http, wait_for_file, wait_gone

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def emu(tmp_path):
    with EmbeddedEmulator(data_dir=tmp_path / "emu", computers=2) as e:
        yield e


def test_stop_start_restart(emu):
    cid = emu.computers[0].id
    with http(emu) as api:
        assert api.post(f"computers/{cid}/stop").json() == {"success": True, "status": "stopping"}
        info = api.get(f"computers/{cid}").json()
        assert info["status"] == "stopped" and info["instance_details"] is None
        assert_error(api.post(f"computers/{cid}/exec", json={"code": "print(1)"}), 400,
                     "Desktop instance not available")
        assert_error(api.post(f"computers/{cid}/bash", json={"command": "true"}), 400,
                     "Desktop instance not available")
        assert_error(api.post(f"computers/{cid}/stop"), 409)
        # the other computer is not affected
        other = emu.computers[1].id
        assert api.post(f"computers/{other}/bash", json={"command": "echo up"}).json()["output"] == "up\n"

        assert api.post(f"computers/{cid}/start").json() == {"success": True, "status": "starting"}
        assert api.get(f"computers/{cid}").json()["status"] == "running"
        assert_error(api.post(f"computers/{cid}/start"), 409, "already running")

        password = api.get(f"computers/{cid}").json()["vnc_password"]
        assert api.post(f"computers/{cid}/restart").json() == {"success": True, "status": "restarting"}
        after = api.get(f"computers/{cid}").json()
        assert after["status"] == "running" and after["vnc_password"] != password
        assert api.post(f"computers/{cid}/exec", json={"code": "print(2)"}).json()["output"] == "2\n"
        assert_error(api.post(f"computers/{uuid.uuid4()}/restart"), 404)


def test_stopping_a_computer_kills_what_runs_on_it(emu):
    computer = emu.computers[0]
    pid_file = computer.home / f"pid-{uuid.uuid4().hex}"
    result = {}

    def long_exec():
        with http(emu) as other:
            result["r"] = other.post(f"computers/{computer.id}/exec", json={
                "code": f"import os, time\nopen({pid_file.name!r}, 'w').write(str(os.getpid()))\n"
                        "time.sleep(60)", "timeout": 120}).json()

    worker = threading.Thread(target=long_exec)
    worker.start()
    pid = int(wait_for_file(pid_file))
    with http(emu) as api:
        api.post(f"computers/{computer.id}/stop")
    worker.join(30)
    assert not worker.is_alive()
    assert result["r"]["success"] is False and result["r"]["error_type"] == "ProcessKilled"
    assert wait_gone(pid)


def test_stop_leaves_no_child_processes(tmp_path):
    emu = EmbeddedEmulator(data_dir=tmp_path, computers=1).start()
    computer = emu.computers[0]
    pid_file = computer.home / "exec.pid"
    with http(emu) as api:
        background = int(api.post(f"computers/{computer.id}/bash",
                                  json={"command": "sleep 60 >/dev/null 2>&1 & echo $!"}).json()["output"])
    worker = threading.Thread(target=lambda: http(emu).post(
        f"computers/{computer.id}/exec",
        json={"code": "import os, time\nopen('exec.pid', 'w').write(str(os.getpid()))\ntime.sleep(60)",
              "timeout": 120}))
    worker.daemon = True
    worker.start()
    running = int(wait_for_file(pid_file))
    emu.stop()
    assert wait_gone(running), "an exec still running at stop() survived"
    assert wait_gone(background), "a background job of an earlier bash call survived stop()"
    with pytest.raises(httpx.ConnectError):
        httpx.get(emu.base_url + "/workspaces", headers={"Authorization": f"Bearer {emu.api_key}"})
    emu.stop()  # idempotent


def test_same_data_dir_same_ids_names_and_files(tmp_path):
    with EmbeddedEmulator(data_dir=tmp_path, computers=2) as first:
        before = [(c.id, c.name) for c in first.computers]
        workspace = first.workspace_id
        with http(first) as api:
            api.post(f"computers/{before[0][0]}/bash", json={"command": "echo kept > note.txt"})
    with EmbeddedEmulator(data_dir=tmp_path, computers=2) as second:
        assert [(c.id, c.name) for c in second.computers] == before
        assert second.workspace_id == workspace and second.workspace_name == "local"
        assert second.api_key != first.api_key  # a fresh random key each start
        with http(second) as api:
            out = api.post(f"computers/{before[0][0]}/bash", json={"command": "cat note.txt"}).json()
        assert out["output"] == "kept\n"
    # fewer computers: the first ones, and the others are kept for later; more: new ones added
    with EmbeddedEmulator(data_dir=tmp_path, computers=1) as fewer:
        assert [(c.id, c.name) for c in fewer.computers] == before[:1]
    with EmbeddedEmulator(data_dir=tmp_path, computers=3) as more:
        got = [(c.id, c.name) for c in more.computers]
        assert got[:2] == before and got[2][1] == "computer-3"
        assert all(c.home.is_dir() and tmp_path in c.home.parents for c in more.computers)


def test_corrupt_or_tampered_state_is_refused(tmp_path):
    (tmp_path / "emulator.json").write_text("{ not json")
    with pytest.raises(StateError, match="not valid JSON"):
        EmbeddedEmulator(data_dir=tmp_path).start()
    (tmp_path / "emulator.json").write_text(json.dumps(
        {"computers": [{"id": "../../../etc", "name": "evil"}]}))
    with pytest.raises(StateError, match="no valid id"):
        EmbeddedEmulator(data_dir=tmp_path).start()


def test_children_get_a_clean_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("ORGO_API_KEY", "sk_live_parent_secret")
    monkeypatch.setenv("ORGOREPL_SECRET_PROBE", "leak")
    with EmbeddedEmulator(data_dir=tmp_path, api_key="emulator-key-xyz") as e, http(e) as api:
        cid = e.computers[0].id
        env_text = api.post(f"computers/{cid}/bash", json={"command": "env"}).json()["output"]
        py_env = api.post(f"computers/{cid}/exec", json={
            "code": "import os, json; print(json.dumps(dict(os.environ)))"}).json()["output"]
    env = json.loads(py_env)
    for text in (env_text, py_env):
        assert "sk_live_parent_secret" not in text and "emulator-key-xyz" not in text
        assert "ORGOREPL_SECRET_PROBE" not in text
    assert env["HOME"] == str(e.computers[0].home) and env["LANG"] == "C.UTF-8"
    assert env["PATH"] == os.environ["PATH"]


def test_workspace_create_and_projects_alias(emu):
    with http(emu) as api:
        made = api.post("workspaces", json={"name": "research"}).json()
        assert made["name"] == "research" and made["desktops"] == []
        assert uuid.UUID(made["id"]) and made["user_id"] == api.get("workspaces").json()["workspaces"][0]["user_id"]
        assert_error(api.post("workspaces", json={"name": "RESEARCH"}), 400, "already exists")
        assert_error(api.post("workspaces", json={"name": "  "}), 400, "empty")
        assert_error(api.post("workspaces", json={}), 400, "'name'")
        legacy = api.post("projects", json={"name": "sdk-project"}).json()
        assert {"id", "user_id", "name"} <= set(legacy)
        names = [p["name"] for p in api.get("projects").json()["projects"]]
        assert names == ["local", "research", "sdk-project"]
        assert api.get(f"projects/{legacy['id']}").json()["desktops"] == []
    with EmbeddedEmulator(data_dir=emu.data_dir, computers=2) as again, http(again) as api:
        assert [w["name"] for w in api.get("workspaces").json()["workspaces"]][1:] == ["research", "sdk-project"]


def test_serve_refuses_a_public_address_without_a_key(tmp_path):
    for host in ("0.0.0.0", "8.8.8.8"):
        with pytest.raises(ValueError, match="not a loopback address.*--api-key"):
            serve(host=host, port=0, api_key=None, computers=1, data_dir=tmp_path)
    assert not (tmp_path / "emulator.json").exists()  # refused before touching anything


@pytest.mark.parametrize("host,expected", [("127.0.0.1", True), ("localhost", True), ("::1", True),
                                           ("0.0.0.0", False), ("192.0.2.1", False), ("::", False)])
def test_loopback_detection(host, expected):
    assert is_loopback(host) is expected


@contextmanager
def serving(tmp_path, api_key, computers):
    """``serve()`` in a child process, as ``orgorepl serve`` runs it; killed if a test fails."""
    code = ("import sys; from pathlib import Path; from orgorepl.emulator import serve\n"
            f"serve(host='127.0.0.1', port=0, api_key={api_key!r}, computers={computers}, "
            "data_dir=Path(sys.argv[1]))")
    proc = subprocess.Popen([sys.executable, "-u", "-c", code, str(tmp_path)], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_serve_in_foreground_until_ctrl_c(tmp_path):
    with serving(tmp_path, None, 2) as proc:
        lines = [proc.stdout.readline() for _ in range(5)]
        assert lines[0].startswith("Orgo API emulator listening on http://127.0.0.1:"), lines
        base_url = lines[0].split()[-1]
        key = lines[1].removeprefix("API key: ").strip()
        computer_lines = [line for line in lines if line.strip().startswith("computer ")]
        assert [line.split()[2] for line in computer_lines] == ["computer-1", "computer-2"]
        cid = computer_lines[0].split()[1]
        reply = httpx.post(f"{base_url}/computers/{cid}/exec", json={"code": "print(6*7)"},
                           headers={"Authorization": f"Bearer {key}"}).json()
        assert reply["output"] == "42\n"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(20) == 0
        assert key not in proc.stderr.read()  # logs never hold the key


def test_serve_does_not_echo_a_key_it_was_given(tmp_path):
    with serving(tmp_path, "given-key-123", 1) as proc:
        lines = [proc.stdout.readline() for _ in range(4)]
        assert "given-key-123" not in "".join(lines) and "--api-key" in lines[1]
        base_url = lines[0].split()[-1]
        assert httpx.get(f"{base_url}/workspaces",
                         headers={"Authorization": "Bearer given-key-123"}).status_code == 200
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
        assert "given-key-123" not in proc.stdout.read() + proc.stderr.read()


def test_busy_port_is_an_oserror(emu, tmp_path):
    port = int(emu.base_url.rsplit(":", 1)[1].split("/")[0])
    with pytest.raises(OSError):
        EmbeddedEmulator(data_dir=tmp_path / "other", port=port).start()


@pytest.mark.parametrize("endpoint", ["exec", "bash"])
def test_a_call_running_when_serve_stops_is_answered_at_once_in_one_line(isolated_env, endpoint):
    """Ctrl-C on `orgorepl serve` while a call runs: the run is stopped and its call answered
    503 "shutting down" (not cut by the graceful-shutdown timeout into a bare 500), and the
    emulator's output holds no traceback."""
    from orgorepl import errors
    from orgorepl.client import OrgoClient

    server = subprocess.Popen([sys.executable, "-m", "orgorepl", "serve", "--port", "0", "--api-key", "k-stop",
                               "--data-dir", str(isolated_env / "serve")],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        lines = []
        for line in server.stdout:
            lines.append(line)
            if line.startswith("Try:"):
                break
        base = next(line.split()[-1] for line in lines if line.startswith("Orgo API emulator listening on"))
        client = OrgoClient("k-stop", base)
        computer = client.list_computers()[0]
        failure: list[BaseException] = []

        def call():
            try:
                if endpoint == "exec":
                    client.exec(computer.id, "import time; time.sleep(30)", 60)
                else:
                    client.bash(computer.id, "sleep 30", 60)
            except errors.OrgoError as err:
                failure.append(err)

        thread = threading.Thread(target=call)
        thread.start()
        time.sleep(1.5)
        server.send_signal(signal.SIGINT)
        thread.join(20)
        rest, _ = server.communicate(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
    assert len(failure) == 1 and isinstance(failure[0], errors.APIError) and failure[0].status == 503
    assert "the run was stopped before it ended" in failure[0].one_line()
    assert "Traceback" not in rest and "CancelledError" not in rest, rest
