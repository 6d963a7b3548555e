"""The emulator over real HTTP on loopback: exec, bash, errors and shapes (contract §0-3, §12).

These use the session emulator from conftest.py and never change its computers' state; tests
that stop computers or need their own data dir are in test_emulator_lifecycle.py.
"""

from __future__ import annotations

import threading
import uuid

import pytest

from test_emulator_support import assert_error, http, wait_gone

CAP = 16 * 1024 * 1024


@pytest.fixture
def api(emulator):
    with http(emulator) as c:
        yield c


@pytest.fixture
def cid(emulator):
    return emulator.computers[0].id


def run(api, cid, code, **extra):
    resp = api.post(f"computers/{cid}/exec", json={"code": code, **extra})
    assert resp.status_code == 200, resp.text
    return resp.json()


def bash(api, cid, command, **extra):
    resp = api.post(f"computers/{cid}/bash", json={"command": command, **extra})
    assert resp.status_code == 200, resp.text
    return resp.json()


# ------------------------------------------------------------------------------------ exec


def test_exec_success_has_the_contract_shape(api, cid):
    assert run(api, cid, "print('hello')") == {
        "output": "hello\n", "success": True, "action": "exec", "timeout": False,
    }


def test_exec_runs_in_the_computer_home(api, cid, emulator):
    body = run(api, cid, "import os; print(os.getcwd()); print(os.environ['HOME'])")
    home = str(emulator.computers[0].home)
    assert body["output"] == f"{home}\n{home}\n"


def test_each_computer_has_its_own_home(api, emulator):
    name = f"mark-{uuid.uuid4().hex}"
    first, second = emulator.computers[0], emulator.computers[1]
    run(api, first.id, f"open({name!r}, 'w').write('x')")
    assert (first.home / name).exists()
    assert run(api, second.id, f"import os; print(os.path.exists({name!r}))")["output"] == "False\n"


def test_no_state_survives_between_execs(api, cid):
    assert run(api, cid, "import json\nx = 41")["success"] is True
    body = run(api, cid, "print(x)")
    assert body["success"] is False and body["error_type"] == "NameError"
    assert run(api, cid, "print('json' in dir())")["output"] == "False\n"


def test_exception_keeps_stdout_printed_before_it(api, cid):
    body = run(api, cid, "print('before')\nraise ValueError('bad value')")
    assert body == {"output": "before\n", "success": False, "action": "exec", "timeout": False,
                    "error": "bad value", "error_type": "ValueError"}


def test_stderr_is_not_part_of_exec_output(api, cid):
    body = run(api, cid, "import sys\nprint('out')\nprint('err', file=sys.stderr)\n"
                         "import os; os.system('echo shell-err >&2')")
    assert body["output"] == "out\n" and body["success"] is True


def test_syntax_error_is_a_failed_result(api, cid):
    body = run(api, cid, "print('never')\ndef broken(:\n")
    assert body["success"] is False and body["error_type"] == "SyntaxError"
    assert body["output"] == "" and "line 2" in body["error"]


def test_user_defined_exception_class_name(api, cid):
    body = run(api, cid, "class Boom(Exception):\n    pass\nraise Boom('x')")
    assert (body["error_type"], body["error"]) == ("Boom", "x")


@pytest.mark.parametrize("code", ["import sys; sys.exit()", "import sys; sys.exit(0)", "raise SystemExit"])
def test_clean_system_exit_is_success(api, cid, code):
    body = run(api, cid, "print('bye')\n" + code)
    assert body == {"output": "bye\n", "success": True, "action": "exec", "timeout": False}


def test_nonzero_system_exit_fails(api, cid):
    body = run(api, cid, "import sys; sys.exit(3)")
    assert (body["success"], body["error_type"], body["error"]) == (False, "SystemExit", "3")


def test_hard_exit_without_cleanup_fails(api, cid):
    body = run(api, cid, "import os; print('x', flush=True); os._exit(5)")
    assert body["success"] is False and body["error_type"] == "SystemExit" and "5" in body["error"]
    assert body["output"] == "x\n"


def test_code_runs_as_main_and_classes_pickle(api, cid):
    code = ("import pickle\nclass P:\n    pass\n"
            "print(__name__, pickle.loads(pickle.dumps(P())).__class__.__name__)")
    assert run(api, cid, code)["output"] == "__main__ P\n"


def test_exec_timeout_kills_the_process_group(api, cid):
    code = ("import subprocess, time\n"
            "child = subprocess.Popen(['sleep', '60'])\n"
            "print('child', child.pid)\n"
            "time.sleep(60)\n")
    body = run(api, cid, code, timeout=1)
    assert body["success"] is False and body["timeout"] is True
    assert body["error_type"] == "TimeoutError" and "timed out after 1 seconds" in body["error"]
    assert body["output"].startswith("child ")  # partial output is kept
    assert wait_gone(int(body["output"].split()[1])), "the grandchild `sleep` survived the timeout"


def test_exec_timeout_at_the_upper_bound_is_accepted(api, cid):
    assert run(api, cid, "print(300)", timeout=300)["output"] == "300\n"


@pytest.mark.parametrize("timeout", [True, 1.5, "5", 0, 301, -1, [10]])
def test_exec_bad_timeout_is_400(api, cid, timeout):
    assert_error(api.post(f"computers/{cid}/exec", json={"code": "print(1)", "timeout": timeout}),
                 400, "timeout")


@pytest.mark.parametrize("body", [{}, {"code": None}, {"code": 42}, {"code": ["print(1)"]}])
def test_exec_missing_or_non_string_code_is_400(api, cid, body):
    assert_error(api.post(f"computers/{cid}/exec", json=body), 400, "'code'")


def test_invalid_json_and_non_object_bodies_are_400(api, cid):
    assert_error(api.post(f"computers/{cid}/exec", content=b"{not json"), 400, "JSON")
    assert_error(api.post(f"computers/{cid}/exec", json=["print(1)"]), 400, "object")
    assert_error(api.post(f"computers/{cid}/bash", content=b"\xff\xfe"), 400, "JSON")


def test_lone_surrogates_in_code_or_command_are_400(api, cid):
    raw = b'{"code": "print(1) # \\ud800"}'
    assert_error(api.post(f"computers/{cid}/exec", content=raw), 400, "'code'")
    assert_error(api.post(f"computers/{cid}/bash", content=raw.replace(b"code", b"command")), 400)


def test_exec_output_is_utf8(api, cid):
    assert run(api, cid, "print('héllo ✓ 日本')")["output"] == "héllo ✓ 日本\n"


def test_exec_output_is_capped_with_a_marker(api, cid):
    body = run(api, cid, f"import sys; sys.stdout.write('x' * {CAP + 1000}); print('END')")
    out = body["output"]
    assert body["success"] is True
    assert out.startswith("x" * CAP) and "END" not in out
    marker = out[CAP:]
    assert marker.startswith("\n[orgorepl emulator: output truncated at 16777216 bytes")


# ------------------------------------------------------------------------------------ bash


def test_bash_shape_and_stream_order(api, cid):
    command = "echo one; echo two >&2; echo three; echo four >&2"
    assert bash(api, cid, command) == {
        "success": True, "action": "bash", "command": command,
        "output": "one\ntwo\nthree\nfour\n", "exit_code": 0,
    }


def test_bash_nonzero_exit_is_still_success(api, cid):
    body = bash(api, cid, "echo partial; exit 7")
    assert (body["success"], body["exit_code"], body["output"]) == (True, 7, "partial\n")


def test_bash_runs_in_home_and_is_not_a_login_shell(api, cid, emulator):
    body = bash(api, cid, 'pwd; echo "$HOME"; shopt -q login_shell && echo login || echo plain')
    home = str(emulator.computers[0].home)
    assert body["output"] == f"{home}\n{home}\nplain\n"


def test_bash_output_without_newline_and_invalid_utf8(api, cid):
    body = bash(api, cid, r"printf 'ok\377done'")
    assert body["output"] == "ok\ufffddone"


def test_bash_timeout_is_an_upstream_error_and_kills_the_group(api, cid):
    resp = api.post(f"computers/{cid}/bash",
                    json={"command": "sleep 60 & echo bg $!; sleep 60", "timeout": 1})
    body = assert_error(resp, 500, "timed out after 1 seconds")
    assert body["upstream_status"] == 408
    assert body["output"].startswith("bg ")
    assert wait_gone(int(body["output"].split()[1])), "the background `sleep` survived the timeout"


def test_bash_background_job_does_not_hold_the_reply(api, cid):
    # The reply must come when the shell exits, although `sleep` still holds the output pipe.
    resp = api.post(f"computers/{cid}/bash", json={"command": "sleep 60 & echo $!", "timeout": 120},
                    timeout=20)
    pid = int(resp.json()["output"])
    try:
        assert resp.json()["exit_code"] == 0
    finally:
        import os
        import signal
        os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("timeout", [False, 2.5, "10", 0, 3601])
def test_bash_bad_timeout_is_400(api, cid, timeout):
    assert_error(api.post(f"computers/{cid}/bash", json={"command": "true", "timeout": timeout}),
                 400, "timeout")


@pytest.mark.parametrize("body", [{}, {"command": 1}, {"cmd": "ls"}, {"command": "a\x00b"}])
def test_bash_bad_command_is_400(api, cid, body):
    assert_error(api.post(f"computers/{cid}/bash", json=body), 400, "'command'")


def test_bash_output_is_capped_with_a_marker(api, cid):
    body = bash(api, cid, f"head -c {CAP + 5} /dev/zero | tr '\\0' y; echo; echo tail >&2")
    assert body["output"].startswith("y" * CAP)
    assert "[orgorepl emulator: output truncated at 16777216 bytes" in body["output"]
    assert "tail" not in body["output"] and body["exit_code"] == 0


# ------------------------------------------------------------------------------------ concurrency


def test_a_long_exec_does_not_block_a_short_bash(api, cid, emulator):
    # The exec waits for a file that only the later bash call creates: if requests were
    # served one at a time, the exec would time out without ever seeing it.
    flag = f"flag-{uuid.uuid4().hex}"
    result = {}

    def long_exec():
        with http(emulator) as other:
            result["exec"] = run(other, cid, "import os, time\n"
                                             f"while not os.path.exists({flag!r}):\n"
                                             "    time.sleep(0.01)\nprint('saw flag')", timeout=60)

    worker = threading.Thread(target=long_exec)
    worker.start()
    try:
        assert bash(api, cid, f"touch {flag} && echo made")["output"] == "made\n"
    finally:
        worker.join(70)
    assert result["exec"]["output"] == "saw flag\n" and result["exec"]["success"] is True


# ------------------------------------------------------------------------------------ auth, errors


def test_missing_and_wrong_keys_are_401(emulator, cid):
    import httpx

    url = f"{emulator.base_url}/computers/{cid}"
    assert_error(httpx.get(url), 401, "Missing API key")
    assert_error(httpx.get(url, headers={"Authorization": f"Basic {emulator.api_key}"}), 401, "Missing")
    assert_error(httpx.get(url, headers={"Authorization": "Bearer"}), 401, "Missing")
    body = assert_error(httpx.get(url, headers={"Authorization": "Bearer sk_live_wrong"}), 401,
                        "Invalid API key")
    assert emulator.api_key not in str(body)
    assert httpx.get(url, headers={"Authorization": f"bearer {emulator.api_key}"}).status_code == 200


def test_unknown_computer_is_404(api):
    for cid in (str(uuid.uuid4()), "computer-1", "..%2F..%2Fetc"):
        assert_error(api.get(f"computers/{cid}"), 404)
        assert_error(api.post(f"computers/{cid}/exec", json={"code": "print(1)"}), 404)
        assert_error(api.post(f"computers/{cid}/bash", json={"command": "true"}), 404)
    assert_error(api.get(f"computers/{uuid.uuid4()}"), 404, "Computer not found")


def test_unknown_route_and_wrong_method_answer_json(api, cid):
    assert_error(api.get("no/such/endpoint"), 404)
    assert_error(api.get(f"computers/{cid}/screenshot"), 404)
    resp = api.delete(f"computers/{cid}")
    assert_error(resp, 405)
    assert "GET" in resp.headers.get("allow", "")
    assert_error(api.get(f"computers/{cid}/exec"), 405)


def test_unknown_computer_id_in_body_checked_before_body(api):
    # A stopped or unknown computer is refused before its body is even looked at.
    assert_error(api.post(f"computers/{uuid.uuid4()}/exec", content=b"garbage"), 404)


# ------------------------------------------------------------------------------------ shapes


def test_get_computer_shape(api, emulator):
    computer = emulator.computers[0]
    body = api.get(f"computers/{computer.id}").json()
    assert body["id"] == computer.id and body["name"] == computer.name == "computer-1"
    assert body["status"] == "running" and body["os"] == "linux"
    assert body["instance_details"]["resolution"] == "1280x720x24"
    assert body["workspace_id"] == emulator.workspace_id and body["project_name"] == "local"
    for key in ("ram", "cpu", "disk_size_gb", "created_at", "instance_id", "vnc_password"):
        assert key in body


def test_computer_ids_are_case_insensitive_uuids(api, emulator):
    computer = emulator.computers[0]
    assert api.get(f"computers/{computer.id.upper()}").json()["id"] == computer.id


def test_workspaces_and_projects_listings(api, emulator):
    listing = api.get("workspaces").json()
    projects = api.get("projects").json()
    assert set(listing) == {"workspaces"} and set(projects) == {"projects"}
    assert listing["workspaces"] == projects["projects"]
    main = listing["workspaces"][0]
    assert (main["id"], main["name"]) == (emulator.workspace_id, emulator.workspace_name)
    assert [d["id"] for d in main["desktops"]] == [c.id for c in emulator.computers]
    assert isinstance(main["user_id"], str)
    for path in (f"workspaces/{main['id']}", f"projects/{main['id']}"):
        one = api.get(path).json()
        assert one["id"] == main["id"] and one["user_id"] == main["user_id"]
        assert [d["name"] for d in one["desktops"]] == ["computer-1", "computer-2", "computer-3"]
    assert_error(api.get(f"workspaces/{uuid.uuid4()}"), 404, "Workspace not found")
    assert_error(api.get("projects/not-a-uuid"), 404)
