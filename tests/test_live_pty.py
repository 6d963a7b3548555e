"""`orgorepl --live` end to end in a real pseudo-terminal: bash mode on one persistent remote shell."""

from __future__ import annotations

import re
import time

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
