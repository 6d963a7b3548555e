"""`orgorepl --live` end to end in a real pseudo-terminal: bash mode on one persistent remote shell."""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import pytest

from test_term_pty import LOCAL, Shell

pytestmark = pytest.mark.pty


@pytest.fixture
def live_repl(isolated_env, tmp_path):
    shell = Shell(isolated_env, tmp_path)
    shell.orgorepl("--local --live --bash")
    shell.expect(rb"connected to (\x1b\[[0-9;]*m)?computer-1")
    yield shell
    shell.close()


def test_output_streams_as_the_command_prints_it(live_repl):
    live_repl.line("echo first-line; sleep 3; echo last-line")
    start = time.monotonic()
    live_repl.expect(rb"first-line")
    first_seen = time.monotonic() - start
    live_repl.expect(rb"last-line")
    assert first_seen < 2.0, first_seen  # on screen well before the command ended


def test_keys_answer_read_ctrl_c_interrupts_and_the_shell_lives_on(live_repl):
    live_repl.line("read -p 'name? ' who; echo \"hello $who\"")
    live_repl.expect(rb"(?<!')name\? ")  # the command's own prompt (in the typed line it is quoted)
    live_repl.line("ada")
    live_repl.expect(rb"hello ada")
    live_repl.line("KEEP=kept; sleep 30; echo never")
    time.sleep(1.0)
    live_repl.type("\x03")
    live_repl.expect(rb"interrupted by Ctrl-C: exit 130")
    live_repl.line("echo still-$KEEP")
    live_repl.expect(rb"still-kept")
    assert not re.search(rb"[\r\n]never[\r\n]", live_repl.seen)  # the command after sleep never ran


def test_bash_and_python_share_the_directory(live_repl, tmp_path):
    (tmp_path / "shared dir").mkdir()
    live_repl.line(f"cd '{tmp_path}/shared dir'")
    live_repl.expect(rb"shared dir(\x1b\[[0-9;]*m)? ?(\x1b\[[0-9;]*m)?\$")
    live_repl.type("\x1bOS")  # F4: Python mode
    live_repl.expect(rb">>> ")
    live_repl.line("import os; os.getcwd()")
    live_repl.expect(re.escape(repr(str(tmp_path / "shared dir")).encode()))
    live_repl.type("\x04")
    live_repl.expect(re.escape(LOCAL))


def test_vi_from_live_bash_mode_gets_the_whole_terminal_and_gives_it_back(live_repl, isolated_env):
    live_repl.line("vi notes.txt")
    live_repl.expect(rb"notes\.txt")
    time.sleep(0.5)
    live_repl.type("ihello from live vi")
    live_repl.type("\x1b")
    time.sleep(0.3)
    live_repl.type(":wq\r")
    live_repl.expect(rb"live bash on")  # the spinner again, after vi
    live_repl.expect(rb"\$ ")  # and the REPL prompt
    live_repl.line("cat notes.txt")
    live_repl.expect(rb"hello from live vi\r*\n")  # cat's output (in vi it had no line end)
    homes = list((isolated_env / "data").rglob("home/notes.txt"))
    assert [p.read_text() for p in homes] == ["hello from live vi\n"]
    after_vi = live_repl.seen[live_repl.seen.rfind(b"\x1b[?1049l"):]
    assert b"^[" not in after_vi  # no sequence of vim's shown as text


def test_percent_live_switches_bash_mode_to_one_persistent_shell_and_back(isolated_env, tmp_path):
    shell = Shell(isolated_env, tmp_path)
    try:
        shell.orgorepl("--local --bash")
        shell.expect(rb"connected to (\x1b\[[0-9;]*m)?computer-1")
        shell.line("%live on")
        shell.expect(rb"live: bash and Python now run in a persistent shell")
        shell.line("sleep 60 & echo job-$!")
        shell.expect(rb"[\r\n]job-\d+")
        shell.line("jobs | wc -l")
        shell.expect(rb"(?:\x1b\[0m|[\r\n])1\r*\n")  # the job is the live shell's own
        shell.line("%live")
        shell.expect(rb"live: on")
        shell.line("%live off")
        shell.expect(rb"live off")
        shell.line("jobs | wc -l")
        shell.expect(rb"(?:\x1b\[0m|[\r\n])0\r*\n")  # a fresh shell per submission again
        shell.type("\x04")
        shell.expect(re.escape(LOCAL))
    finally:
        shell.close()


def _orgorepl_pid(shell: Shell) -> int:
    """The orgorepl the test's bash started (its one child), to kill it by pid."""
    children = Path(f"/proc/{shell.child.pid}/task/{shell.child.pid}/children").read_text().split()
    assert len(children) == 1, children
    return int(children[0])


def test_resume_after_the_client_is_killed_picks_up_the_running_command(isolated_env, tmp_path, emulator):
    computer = emulator.computers[1]
    shell = Shell(isolated_env, tmp_path, ORGO_BASE_URL=emulator.base_url, ORGO_API_KEY=emulator.api_key)
    try:
        shell.orgorepl(f"--live --bash -c {computer.id}")
        shell.expect(rb"connected to")
        shell.line("%info")
        shell.expect(rb"orgorepl --live --resume ([0-9a-f]+) takes it over")
        sid = shell.child.match.group(1).decode()
        shell.line("TOKEN=kept-across; cd /tmp")
        shell.expect(rb"/tmp(\x1b\[[0-9;]*m)? ?(\x1b\[[0-9;]*m)?\$")  # the prompt shows the new directory
        shell.line("echo started; sleep 1; echo printed-while-gone; sleep 2; echo finished-late")
        shell.expect(rb"started\r")  # the output, not the typed line ("started;")
        os.kill(_orgorepl_pid(shell), signal.SIGKILL)  # no goodbye: the socket just dies with it
        shell.expect(re.escape(LOCAL))
        time.sleep(1.5)
        shell.orgorepl(f"--live --bash -c {computer.id} --resume {sid}")
        shell.expect(rf"live bash of session {sid} resumed".encode())
        shell.expect(rb"printed-while-gone")
        shell.expect(rb"still running")
        shell.expect(rb"finished-late")
        shell.line("echo $TOKEN in $PWD")
        shell.expect(rb"kept-across in /tmp")
        shell.line("%detach")
        shell.expect(rf"orgorepl --live --resume {sid}".encode())
        shell.expect(re.escape(LOCAL))
        shell.orgorepl(f"--live --bash -c {computer.id} --resume {sid}")
        shell.expect(rf"live bash of session {sid} resumed".encode())
        shell.line("echo again $TOKEN")
        shell.expect(rb"again kept-across")
        shell.type("\x04")  # leaving any other way ends the session
        shell.expect(re.escape(LOCAL))
        shell.orgorepl(f"--live --bash -c {computer.id} --resume {sid}")
        shell.expect(rf"no live session {sid} is running".encode())
        shell.line("echo ${TOKEN:-fresh}")
        shell.expect(rb"fresh\r")  # the output, not the typed line ("fresh}")
    finally:
        shell.close()
