"""Per-run limits: a fork bomb, an endless print or a memory hog neither takes the emulator down
nor starves the calls next to it, each limit is told to the caller, and nothing is left running.

Every containment mode this machine offers is tested: ``cgroup`` where cgroups can be made (the
kernel enforces the caps), and always ``watchdog`` (a /proc scan kills a process group that
reaches the cap, plus ``RLIMIT_NPROC`` when not root).  The emulators here have small limits
(32 processes, 256 MiB, 1 MiB of output) so the tests stay cheap, and the fork bomb only runs
after ``test_process_cap_holds_for_a_bounded_spawner`` has shown, with a bounded number of
forks, that the cap holds in that mode.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from pathlib import Path

import pytest

from orgorepl.emulator import EmbeddedEmulator, Limits
from orgorepl.emulator.cgroups import CgroupTree

from test_emulator_support import gone, http

LIMITS = Limits(processes=32, memory=256 * 1024 * 1024, output=1024 * 1024)


def _modes() -> list[str]:
    tree = CgroupTree.create(LIMITS)
    if tree is None:
        return ["watchdog"]
    tree.close()
    return ["cgroup", "watchdog"]


MODES = _modes()


@pytest.fixture(scope="module", params=MODES)
def emu(request, tmp_path_factory):
    with EmbeddedEmulator(data_dir=tmp_path_factory.mktemp(f"limits-{request.param}"), computers=2,
                          limits=LIMITS, containment=request.param) as e:
        assert e.runtime.containment.mode == request.param
        yield e


def post(emu, path, body, timeout=30):
    with http(emu, timeout=timeout) as api:
        resp = api.post(f"computers/{emu.computers[0].id}/{path}", json=body)
    assert resp.headers["content-type"].startswith("application/json"), resp.text[:200]
    return resp


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of a process group."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                data = Path(f"/proc/{entry}/stat").read_bytes()
            except OSError:
                continue
            fields = data[data.rfind(b")") + 2:].split()
            if int(fields[2]) == pgid and fields[0] not in (b"Z", b"X"):
                found.append(int(entry))
    return found


def wait_empty(pgid: int, within: float = 10.0) -> list[int]:
    deadline = time.monotonic() + within
    while (members := group_members(pgid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return members


def while_running(emu, path, body, during):
    """Send ``body`` in a thread; call ``during()`` once it runs; return (its reply, during's)."""
    result = {}

    def worker():
        result["reply"] = post(emu, path, body)

    thread = threading.Thread(target=worker)
    thread.start()
    try:
        result["during"] = during()
    finally:
        thread.join(60)
    assert not thread.is_alive()
    return result["reply"], result["during"]


def wait_for(path, within=10.0):
    deadline = time.monotonic() + within
    while not (path.exists() and path.read_text().strip()):
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.01)
    return path.read_text()


# ------------------------------------------------------------------------------------ processes


def test_process_cap_holds_for_a_bounded_spawner(emu):
    """At most 3x the cap of forks, each child sleeping: the cap must hold before any bomb runs."""
    name = f"kids-{uuid.uuid4().hex}"
    code = ("import os, time\nmade = failed = 0\n"
            f"with open({name!r}, 'w') as log:\n"
            f"    for _ in range({3 * LIMITS.processes}):\n"
            "        try:\n            pid = os.fork()\n        except OSError:\n"
            "            failed += 1\n            continue\n"
            "        if pid == 0:\n            time.sleep(30)\n            os._exit(0)\n"
            "        made += 1\n        log.write(f'{pid}\\n')\n        log.flush()\n"
            "time.sleep(1)\nprint(made, failed)")
    body = post(emu, "exec", {"code": code, "timeout": 20}).json()
    kids = [int(p) for p in (emu.computers[0].home / name).read_text().split()]
    if body["success"]:  # the kernel refused the forks past the cap
        made, failed = map(int, body["output"].split())
        assert made < LIMITS.processes and failed > 0
    else:  # the watchdog killed the whole group when it reached the cap
        assert body["error_type"] == "ProcessKilled", body
        assert f"limit of {LIMITS.processes} processes" in body["error"]
    deadline = time.monotonic() + 10
    while not all(gone(pid) for pid in kids):  # a run that reached the cap is killed entirely
        assert time.monotonic() < deadline, "children of a run at its process cap survived it"
        time.sleep(0.05)


def test_fork_bomb_is_contained_and_others_still_run(emu):
    marker = emu.computers[0].home / f"bomb-{uuid.uuid4().hex}"
    bomb = f"import os\nopen({marker.name!r}, 'w').write(str(os.getpid()))\nwhile True:\n    os.fork()\n"

    def others():
        wait_for(marker)
        replies = [post(emu, "exec", {"code": "print(6 * 7)"}).json(),
                   post(emu, "bash", {"command": "echo ok"}).json()]
        with http(emu) as api:  # and the other computer too
            replies.append(api.post(f"computers/{emu.computers[1].id}/exec", json={"code": "print(1)"}).json())
        return replies

    reply, (py, sh, other) = while_running(emu, "exec", {"code": bomb, "timeout": 3}, others)
    assert (py["output"], py["success"]) == ("42\n", True)
    assert (sh["output"], sh["exit_code"]) == ("ok\n", 0)
    assert other["output"] == "1\n"
    body = reply.json()
    assert reply.status_code == 200 and body["success"] is False, body
    note = f"[orgorepl emulator: this run reached its limit of {LIMITS.processes} processes]"
    if emu.runtime.containment.mode == "watchdog" and os.geteuid() != 0:
        # RLIMIT_NPROC may refuse the leader's fork before a scan sees the group: then the
        # kernel's own refusal is the answer (and the bomb, all refused at once, dies out)
        assert note in body["error"] or body["error_type"] == "BlockingIOError", body
    else:
        assert note in body["error"], body
    leader = int(marker.read_text())
    assert wait_empty(leader) == [], "processes of the fork bomb outlived its call"
    assert post(emu, "exec", {"code": "print('still here')"}).json()["output"] == "still here\n"


def test_bash_fork_past_the_cap_is_reported(emu):
    # bash retries a refused fork for a while, so this run ends by its timeout (or the watchdog)
    command = f"for i in $(seq {2 * LIMITS.processes}); do sleep 30 & done; wait; echo finished"
    resp = post(emu, "bash", {"command": command, "timeout": 2})
    note = f"[orgorepl emulator: this run reached its limit of {LIMITS.processes} processes]\n"
    assert resp.json()["output"].endswith(note) and "finished" not in resp.json()["output"]


# ------------------------------------------------------------------------------------ output


def test_endless_print_is_capped_and_others_still_run(emu):
    marker = emu.computers[0].home / f"print-{uuid.uuid4().hex}"
    code = f"open({marker.name!r}, 'w').write('x')\nwhile True:\n    print('y' * 1000)\n"

    def others():
        wait_for(marker)
        return post(emu, "exec", {"code": "print('meanwhile')"}).json()

    reply, meanwhile = while_running(emu, "exec", {"code": code, "timeout": 1}, others)
    assert meanwhile["output"] == "meanwhile\n"
    body = reply.json()
    assert body["timeout"] is True and body["error_type"] == "TimeoutError"
    cap = LIMITS.output
    assert body["output"].startswith(("y" * 1000 + "\n") * (cap // 1001))
    assert f"[orgorepl emulator: output truncated at {cap} bytes; " in body["output"][cap:]
    assert len(body["output"]) < cap + 200


def test_endless_bash_output_is_capped(emu):
    resp = post(emu, "bash", {"command": "yes", "timeout": 1})
    body = resp.json()
    assert resp.status_code == 500 and body["upstream_status"] == 408
    assert body["output"].startswith("y\n" * 1000)
    assert f"[orgorepl emulator: output truncated at {LIMITS.output} bytes; " in body["output"]


# ------------------------------------------------------------------------------------ memory


@pytest.mark.parametrize("code", [
    "x = bytearray(1 << 30)",
    "chunks = []\nwhile True:\n    chunks.append(b'm' * (1 << 20))",
])
def test_memory_hog_meets_memory_error_with_the_limit_named(emu, code):
    body = post(emu, "exec", {"code": "print('before', flush=True)\n" + code, "timeout": 20}).json()
    assert body["success"] is False and body["error_type"] == "MemoryError", body
    assert "[orgorepl emulator: this run reached its memory limit of 256 MiB]" in body["error"]
    assert body["output"] == "before\n"


def test_memory_error_can_be_caught_like_on_any_machine(emu):
    code = "try:\n    x = bytearray(1 << 30)\nexcept MemoryError:\n    print('caught')"
    assert post(emu, "exec", {"code": code}).json() == {
        "output": "caught\n", "success": True, "action": "exec", "timeout": False}


def test_bash_memory_hog(emu):
    """With a cgroup the run's processes together are held to the limit (the kernel kills the
    hog); without one bash has no memory limit (RLIMIT_AS would break runtimes that reserve
    address space up front, such as the JVM), so a 400 MiB allocation simply works."""
    hog = "python3 -c \"x = b'h' * (400 << 20); print(len(x))\"; echo status=$?"
    body = post(emu, "bash", {"command": hog, "timeout": 30}).json()
    if emu.runtime.containment.mode == "cgroup":
        assert "status=137" in body["output"]  # SIGKILL from the OOM killer
        assert body["output"].endswith("[orgorepl emulator: this run reached its memory limit of 256 MiB]\n")
    else:
        assert body["output"] == f"{400 << 20}\nstatus=0\n"


# ------------------------------------------------------------------------------------ leftovers


def test_nothing_of_any_run_is_left_over(emu):
    """After the runs above (and a background job), stopping the computer leaves no process."""
    with http(emu) as api:
        cid = emu.computers[0].id
        pid = int(api.post(f"computers/{cid}/bash", json={"command": "sleep 60 >/dev/null & echo $!"}).json()["output"])
        assert not gone(pid)
        assert api.post(f"computers/{cid}/stop").status_code == 200
        try:
            deadline = time.monotonic() + 10
            while not gone(pid):
                assert time.monotonic() < deadline, "a background job survived the computer's stop"
                time.sleep(0.02)
            deadline = time.monotonic() + 10
            while emu.runtime.containment.live_pids():
                assert time.monotonic() < deadline, "a run's processes are still alive"
                time.sleep(0.05)
        finally:
            api.post(f"computers/{cid}/start")
