"""Live bash: one persistent shell on the emulator's terminal, driven through ``live.LiveBash``.

Everything here goes over the real WebSocket to a real login bash in a PTY; what is asserted is
what a user of the live session would see: output, exit status, state kept, Ctrl-C, stdin.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from pathlib import Path

import pytest

from orgorepl import outcome as oc
from orgorepl.live import INCOMPLETE, NEW_SHELL, SHELL_ENDED, LiveBash
from orgorepl.session.live_bash import Done, NeedsMore, Output
from orgorepl.session.live_bash import LiveBash as Framing


@pytest.fixture
def live(emulator, client):
    computer = emulator.computers[1]
    shell = LiveBash(lambda fresh: client.terminal_access(computer.id, fresh_token=fresh), emulator.base_url,
                     session_id=secrets.token_hex(4))
    shell.start()
    yield shell
    shell.close(end=True)


def processes_running(*argv: str) -> list[int]:
    """Pids of processes whose command line is exactly ``argv`` (to count them, never to kill)."""
    wanted = "\0".join(argv).encode() + b"\0"
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if Path(f"/proc/{entry}/cmdline").read_bytes() == wanted:
                    found.append(int(entry))
            except OSError:
                continue
    return found


def run(live: LiveBash, text: str) -> tuple[str, int | None, oc.Status]:
    outcome = live.run(text)
    return outcome.output, outcome.exit_code, outcome.status


def test_output_and_exit_status_come_back_without_any_framing(live):
    assert run(live, "echo hello") == ("hello\n", 0, oc.Status.OK)
    assert run(live, "ls /nonexistent-dir") [1] == 2
    output, code, status = run(live, "printf 'a\\tb\\n'; false")
    assert (output, code, status) == ("a\tb\n", 1, oc.Status.EXIT)


def test_everything_a_persistent_shell_keeps_is_kept(live, tmp_path):
    (tmp_path / "sub dir").mkdir()
    run(live, f"cd '{tmp_path}'")
    run(live, "cd 'sub dir'")
    assert run(live, "cd - >/dev/null; pwd")[0] == f"{tmp_path}\n"
    assert live.cwd == str(tmp_path)
    run(live, "greet() { echo \"hi $1\"; }; alias ll='echo LL'; X=41; set -o pipefail; shopt -s extglob")
    assert run(live, "greet you; ll; echo $((X+1)); false | true; echo $?")[0] == "hi you\nLL\n42\n1\n"
    run(live, "trap 'echo bye-trap' USR1; umask 027")
    assert run(live, "kill -USR1 $$; umask")[0] == "bye-trap\n0027\n"
    assert run(live, "echo one two; echo $_")[0] == "one two\ntwo\n"
    assert run(live, "false")[1] == 1 and run(live, "echo $?")[0] == "1\n"


def test_background_jobs_stay_the_shells(live):
    run(live, "sleep 100 &")
    assert "sleep 100" in run(live, "jobs")[0]
    run(live, "kill %1; wait 2>/dev/null")
    assert run(live, "jobs")[0] == ""


def test_heredocs_quoting_and_multi_line_input_arrive_intact(live):
    text = "cat <<'EOF'\n$HOME `x` \"q\" 'p' \\ \t tab\nEOF\nfor i in 1 2; do\n  echo \"n=$i\"\ndone"
    assert run(live, text)[0] == "$HOME `x` \"q\" 'p' \\ \t tab\nn=1\nn=2\n"
    big = "x" * 20000
    assert run(live, f"echo {big} | wc -c")[0] == "20001\n"


def test_set_x_shows_the_users_commands_and_nothing_of_the_framing(live):
    output = run(live, "set -x; echo traced; set +x")[0]
    assert output == "+ echo traced\ntraced\n+ set +x\n"


def test_incomplete_input_is_dropped_and_said_not_left_hanging(live):
    outcome = live.run("echo 'unclosed")
    assert outcome.status is oc.Status.ERROR and outcome.error == INCOMPLETE
    assert run(live, "echo after") == ("after\n", 0, oc.Status.OK)


def test_output_streams_while_the_command_runs(live):
    seen: list[tuple[float, str]] = []
    start = time.monotonic()
    outcome = live.run("echo first; sleep 1.5; echo second",
                       on_piece=lambda piece: seen.append((time.monotonic() - start, piece.text)))
    assert outcome.output == "first\nsecond\n"
    first_at = next(t for t, text in seen if "first" in text)
    assert first_at < outcome.duration - 1.0  # on screen well before the command ended


def test_ctrl_c_interrupts_the_command_keeps_its_output_and_the_shell(live):
    run(live, "KEEP=kept")
    result: list[oc.Outcome] = []
    thread = threading.Thread(target=lambda: result.append(live.run("echo started; sleep 30.17; echo never")))
    thread.start()
    time.sleep(1.0)
    assert len(processes_running("sleep", "30.17")) == 1
    live.interrupt()
    thread.join(10)
    outcome = result[0]
    assert outcome.status is oc.Status.INTERRUPTED and outcome.exit_code == 130
    assert processes_running("sleep", "30.17") == []  # nothing left behind
    assert "started" in outcome.output and "never" not in outcome.output
    assert outcome.duration < 10
    assert run(live, "echo $KEEP") == ("kept\n", 0, oc.Status.OK)


def test_what_the_user_types_answers_read_and_a_hidden_prompt_is_not_echoed(live):
    result: list[oc.Outcome] = []
    thread = threading.Thread(target=lambda: result.append(
        live.run("read -p 'name? ' name; read -s -p 'secret? ' pw; echo; echo \"hi $name, ${#pw} chars\"")))
    thread.start()
    time.sleep(0.8)
    live.send_keys("ada\r")
    time.sleep(0.5)
    live.send_keys("hunter2\r")
    thread.join(10)
    output = result[0].output
    assert "name? ada\n" in output  # the tty echoed the answer
    assert "hunter2" not in output  # read -s turned echo off
    assert output.endswith("hi ada, 7 chars\n")


def test_exit_ends_the_shell_and_the_next_submission_starts_a_new_one(live):
    run(live, "MARK=old")
    outcome = live.run("exit 3")
    assert outcome.error == SHELL_ENDED
    outcome = live.run("echo ${MARK:-gone}")
    assert outcome.output == "gone\n" and NEW_SHELL in outcome.notes


# ------------------------------------------------------------------ the framing alone


def _stream(framing: Framing, nonce_text: str) -> str:
    """What a shell prints for one submission: readline's redraw, the output, the prompt."""
    end = f"\x1eEND{framing.nonce}:0:/tmp\x1f"
    return (f"\x1b[7m{nonce_text}\x1b[27m\r{end}{nonce_text}\r\n\x1b[?2004l\r"
            f"line one\r\nline \x1e two\r\n\x1b[?2004h{end}")


def test_the_framing_gives_the_same_events_however_the_stream_is_cut():
    reference = Framing(nonce="abc123")
    reference._state = "idle"
    reference.submission("echo x")
    whole = _stream(reference, "echo x")
    expected = reference.feed(whole)
    text = "".join(e.text for e in expected if isinstance(e, Output))
    assert text == "line one\nline \x1e two\n" and expected[-1] == Done(0, "/tmp")
    for cut in range(1, len(whole)):
        framing = Framing(nonce="abc123")
        framing._state = "idle"
        framing.submission("echo x")
        events = framing.feed(whole[:cut]) + framing.feed(whole[cut:])
        assert "".join(e.text for e in events if isinstance(e, Output)) == text, cut
        assert events[-1] == Done(0, "/tmp")


def test_the_framing_reports_continuation_prompts():
    framing = Framing(nonce="n1")
    framing._state = "idle"
    framing.submission("echo 'x")
    events = framing.feed("echo 'x\r\n\x1b[?2004l\r\x1b[?2004h\x1eMOREn1\x1f")
    assert events == [NeedsMore()]
    events = framing.feed("^C\r\n\x1b[?2004h\x1eENDn1:130:/tmp\x1f")
    assert events == [Done(130, "/tmp")] and framing.ready


def test_a_shell_lost_while_idle_is_replaced_with_a_note_not_an_error(live, client, emulator):
    run(live, "MARK=before")
    client.restart(emulator.computers[1].id)  # closes the terminal (1001) and rotates its token
    time.sleep(0.5)
    outcome = live.run("echo ${MARK:-new}")
    assert outcome.output == "new\n" and outcome.status is oc.Status.OK
    assert NEW_SHELL in outcome.notes


def test_a_pipeline_cut_short_is_quiet_as_in_a_terminal(live):
    """SIGPIPE at its default for the shell and what it runs (a Python parent ignores it, and an
    exec would pass that on): ``seq`` ends silently when ``head`` has had enough."""
    output, code, _ = run(live, "seq 1 5000000 | head -2; trap -p PIPE; echo done")
    assert (output, code) == ("1\n2\ndone\n", 0)
