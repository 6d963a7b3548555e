"""A live session outlives its socket: cut mid-command, closed while idle, detached, resumed by
another client, ended (issue 12).

Everything runs on the real emulator: the supervisor really is a detached process on the
"computer", the socket is really cut (its transport aborted, as a dead network does: no close
frame), and what is asserted is what the user sees: the whole output, once, in order; the
state kept; a note; no process left behind once the session is ended.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import threading
import time
from pathlib import Path

import pytest

from orgorepl import outcome as oc
from orgorepl.live import NEW_SHELL, LiveBash
from orgorepl.live_python import LivePython
from orgorepl.session.live_attach import Attach

RESTORED = "the connection dropped and was re-established: nothing was lost"


def make(kind, emulator, client, index, sid, **options):
    computer = emulator.computers[index]
    return kind(lambda fresh: client.terminal_access(computer.id, fresh_token=fresh), emulator.base_url,
                session_id=sid, **options)


@pytest.fixture
def sid():
    return secrets.token_hex(4)


@pytest.fixture
def bash(emulator, client, sid):
    shell = make(LiveBash, emulator, client, 1, sid)
    shell.start()
    yield shell
    shell.close(end=True)


@pytest.fixture
def python(emulator, client, sid):
    shell = make(LivePython, emulator, client, 2, sid)
    shell.start()
    yield shell
    shell.close(end=True)


def cut(live) -> None:
    """The network dies under the socket: no close frame, the client only sees it gone."""
    socket = live.shell._terminal._terminal.socket
    live._loop.call_soon_threadsafe(socket._ws.transport.abort)


def in_background(live, text):
    box: dict[str, oc.Outcome] = {}
    thread = threading.Thread(target=lambda: box.setdefault("outcome", live.run(text)), daemon=True)
    thread.start()
    return thread, box


def supervisors(sid: str) -> list[int]:
    """Live processes of this session's supervisors, found by their command line."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"serve" in cmdline and any(part.endswith(f"{sid}-bash".encode()) or
                                           part.endswith(f"{sid}-python".encode()) for part in cmdline):
                found.append(int(entry))
    return found


def wait_for(predicate, seconds=10.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_a_socket_cut_mid_command_loses_nothing_and_says_so(bash):
    assert bash.shell.supervised
    bash.run("COUNT=3; cd /tmp")
    thread, box = in_background(bash, "for i in 1 2 3 4 5 6; do echo line$i; sleep 0.3; done; echo $COUNT")
    time.sleep(0.8)  # a line or two is on screen when the network dies
    cut(bash)
    thread.join(30)
    outcome = box["outcome"]
    assert outcome.output == "".join(f"line{i}\n" for i in range(1, 7)) + "3\n"
    assert outcome.status is oc.Status.OK
    assert RESTORED in outcome.notes
    assert bash.run("echo $COUNT $PWD").output == "3 /tmp\n"  # the same shell, not a new one


def test_keys_typed_while_the_socket_is_down_arrive_once(bash):
    thread, box = in_background(bash, "read -r answer; echo got:$answer")
    time.sleep(0.5)
    cut(bash)
    bash.send_keys("yes\r")  # typed into a dead socket: resent after the reattach, not twice
    thread.join(30)
    assert box["outcome"].output.endswith("got:yes\n")
    assert box["outcome"].output.count("got:") == 1


def test_a_python_cell_and_its_generator_survive_a_cut(python):
    python.run("gen = iter(range(100))\nnext(gen)")
    thread, box = in_background(python, "import time\nfor i in range(4):\n    print('tick', i, flush=True)\n"
                                        "    time.sleep(0.3)\nnext(gen)")
    time.sleep(0.5)
    cut(python)
    thread.join(30)
    outcome = box["outcome"]
    assert outcome.output == "tick 0\ntick 1\ntick 2\ntick 3\n1\n"
    assert RESTORED in outcome.notes
    assert python.run("next(gen)").output == "2\n"


def test_an_idle_close_is_reattached_with_the_state_kept(tmp_path, sid):
    from orgorepl.client import OrgoClient
    from orgorepl.emulator import EmbeddedEmulator

    with EmbeddedEmulator(data_dir=tmp_path / "emu", terminal_idle=1.0) as emu:
        client = OrgoClient(api_key=emu.api_key, base_url=emu.base_url)
        shell = make(LiveBash, emu, client, 0, sid)
        try:
            shell.start()
            shell.run("KEPT=yes; sleep 60 &")
            time.sleep(2.5)  # the emulator closes the idle socket (4008)
            outcome = shell.run("echo $KEPT; jobs | wc -l")
            assert outcome.output == "yes\n1\n"
            assert RESTORED in outcome.notes
        finally:
            shell.close(end=True)
            client.close()


def test_detach_then_resume_from_another_client_shows_what_was_printed_meanwhile(emulator, client, sid):
    first = make(LiveBash, emulator, client, 1, sid)
    first.start()
    first.run("NAME=kept; cd /tmp; (sleep 0.5; echo printed-while-away) &")
    first.close()  # detach: the shell goes on
    time.sleep(1.2)
    second = make(LiveBash, emulator, client, 1, sid)
    try:
        resumed = second.resume()
        assert resumed is not None and not resumed.busy
        assert "printed-while-away" in resumed.output
        shown = second.run("echo $NAME $PWD").output.splitlines()
        assert shown[0] == "kept /tmp"
        assert shown[1:] == ["[1]+  Done                    ( sleep 0.5; echo printed-while-away )"]  # as bash -i
    finally:
        second.close(end=True)


def test_output_of_a_background_job_between_submissions_is_shown_with_the_next(bash):
    bash.run("(sleep 0.3; echo from-the-background) &")
    time.sleep(1.0)
    assert bash.run("echo next").output.splitlines()[:2] == ["from-the-background", "next"]


def test_resume_takes_over_a_command_still_running(emulator, client, sid):
    first = make(LiveBash, emulator, client, 1, sid)
    first.start()
    thread, _ = in_background(first, "echo started; sleep 1.5; echo finished")
    time.sleep(0.5)
    first._loop.call_soon_threadsafe(first._loop.stop)  # the client dies: no detach, no goodbye
    second = make(LiveBash, emulator, client, 1, sid)
    try:
        resumed = second.resume()
        assert resumed is not None and resumed.busy
        assert resumed.output == "started\n"
        outcome = second.run(None)  # what the REPL does after a resume: wait for it, streaming
        assert outcome.output == "finished\n" and outcome.status is oc.Status.OK
        assert second.run("echo next").output == "next\n"
    finally:
        second.close(end=True)


def test_a_python_session_resumes_with_every_object_alive(emulator, client, sid):
    first = make(LivePython, emulator, client, 2, sid)
    first.start()
    first.run("gen = (i * i for i in range(10))\nnext(gen)\nf = open('/etc/hostname')")
    first.close()
    second = make(LivePython, emulator, client, 2, sid)
    try:
        assert second.resume() is not None
        assert second.run("next(gen), f.closed").output == "(1, False)\n"
    finally:
        second.close(end=True)


def test_ending_the_session_leaves_no_process_and_nothing_to_resume(emulator, client, sid):
    shell = make(LiveBash, emulator, client, 1, sid)
    shell.start()
    shell.run("sleep 300 &")
    assert supervisors(sid)
    shell.close(end=True)
    assert wait_for(lambda: not supervisors(sid))
    assert make(LiveBash, emulator, client, 1, sid).resume() is None


def test_a_session_nobody_attaches_to_ends_after_its_linger(emulator, client, sid):
    shell = make(LiveBash, emulator, client, 1, sid, linger=1.0)
    shell.start()
    shell.close()  # detached, and nobody comes back
    assert wait_for(lambda: not supervisors(sid), 15)
    assert make(LiveBash, emulator, client, 1, sid).resume() is None


def test_the_session_directory_is_the_users_only(emulator, client, sid, bash):
    listing = bash.run(f"stat -c '%a %n' ~/.orgorepl/live/{sid}-bash ~/.orgorepl/live/{sid}-bash/sock").output
    modes = [line.split()[0] for line in listing.splitlines()]
    assert modes[0] == "700"


def test_without_python3_on_the_computer_the_shell_runs_unsupervised(emulator, client, sid, monkeypatch):
    monkeypatch.setattr(Attach, "python", "python3-not-installed")
    shell = make(LiveBash, emulator, client, 1, sid)
    try:
        shell.start()
        assert not shell.shell.supervised
        assert "python3 was not found" in shell.shell.unsupervised_note
        first = shell.run("echo still-works")
        assert first.output == "still-works\n"
        assert any("will not survive a dropped connection" in n for n in first.notes)  # said, once
        assert not any("survive" in n for n in shell.run("true").notes)
    finally:
        shell.close(end=True)


def test_a_supervisor_that_is_gone_is_one_note_and_a_fresh_shell(bash, sid):
    bash.run("GONE=soon")
    for pid in supervisors(sid):  # this test's own session's supervisor, by pid
        os.kill(pid, signal.SIGKILL)
    time.sleep(0.5)
    outcome = bash.run("echo ${GONE:-fresh}")
    assert outcome.output == "fresh\n" and outcome.status is oc.Status.OK
    assert NEW_SHELL in outcome.notes


def test_a_computer_that_stops_is_one_line_then_a_fresh_session(tmp_path, sid):
    from orgorepl.client import OrgoClient
    from orgorepl.emulator import EmbeddedEmulator

    with EmbeddedEmulator(data_dir=tmp_path / "emu") as emu:
        client = OrgoClient(api_key=emu.api_key, base_url=emu.base_url)
        computer = emu.computers[0]
        shell = make(LiveBash, emu, client, 0, sid)
        try:
            shell.start()
            shell.run("X=before-the-stop")
            client.stop(computer.id)
            assert wait_for(lambda: not supervisors(sid))  # stopping the computer ended it
            stopped = shell.run("echo hi")
            assert stopped.status is oc.Status.REFUSED and re.search(r"not running|stopp", stopped.error)
            assert "\n" not in stopped.error
            client.start(computer.id)
            outcome = shell.run("echo ${X:-fresh}")
            assert outcome.output == "fresh\n" and NEW_SHELL in outcome.notes
        finally:
            shell.close(end=True)
            client.close()
