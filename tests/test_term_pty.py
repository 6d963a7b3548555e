"""`orgorepl term --local` and `%term` end to end, in a real pseudo-terminal, typed at like a person.

The local side is a real bash in a pexpect pty, so ``stty -a`` before and after is the same
terminal's settings, and what reached "the local terminal" is every byte the pty received.
"""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

import pexpect
import pytest

pytestmark = pytest.mark.pty

LOCAL = b"[local]$ "
REMOTE = b"REMOTE> "


class Shell:
    """A local bash in a 24x100 pty; ``seen`` keeps every byte it wrote to its terminal."""

    def __init__(self, isolated_env: Path, cwd: Path, **extra_env: str) -> None:
        env = dict(os.environ, **extra_env)
        env.update(TERM="xterm", PS1=LOCAL.decode(), HISTFILE="/dev/null", LINES="24", COLUMNS="100",
                   PROMPT_TOOLKIT_NO_CPR="1", PAGER="cat", EDITOR="true",
                   ORGOREPL_CONFIG_DIR=str(isolated_env / "config"), ORGOREPL_DATA_DIR=str(isolated_env / "data"))
        self.child = pexpect.spawn("bash", ["--norc", "--noprofile"], env=env, cwd=str(cwd), dimensions=(24, 100))
        self.seen = b""
        self.expect(re.escape(LOCAL))

    def expect(self, pattern: bytes | str, timeout: float = 30.0) -> None:
        if isinstance(pattern, str):
            pattern = pattern.encode()
        try:
            self.child.expect(pattern, timeout=timeout)
        except (pexpect.TIMEOUT, pexpect.EOF):
            tail = (self.seen + (self.child.before or b""))[-1500:]
            raise AssertionError(f"expected {pattern!r}; the terminal showed:\n{tail!r}") from None
        self.seen += self.child.before + self.child.after

    def type(self, text: str) -> None:
        self.child.send(text)

    def line(self, text: str) -> None:
        self.child.send(text + "\r")

    def orgorepl(self, args: str) -> None:
        self.line(f"{sys.executable} -m orgorepl {args}")

    def into_remote(self) -> None:
        """Wait for the remote shell, then give it a prompt the test can recognise."""
        self.expect(rb"[$#] ")
        self.line("PS1='RE''MOTE> '")
        self.expect(re.escape(REMOTE))

    def close(self) -> None:
        self.child.close(force=True)


@pytest.fixture
def shell(isolated_env, tmp_path):
    s = Shell(isolated_env, tmp_path)
    yield s
    s.close()


def test_vi_edits_a_file_and_tilde_dot_leaves_the_terminal_exactly_as_it_was(shell, isolated_env, tmp_path):
    shell.line("stty -a > before.txt")
    shell.expect(re.escape(LOCAL))
    shell.orgorepl("term --local")
    shell.into_remote()
    shell.line("vi notes.txt")
    shell.expect(rb"notes\.txt")  # vi's status line
    time.sleep(0.3)
    shell.type("ihello from vi")
    shell.type("\x1b")
    time.sleep(0.2)
    shell.type(":wq\r")
    shell.expect(re.escape(REMOTE))
    shell.line("cat notes.txt")
    shell.expect(rb"hello from vi\r\n")
    shell.expect(re.escape(REMOTE))
    shell.type("~.")
    shell.expect(rb"Disconnected from computer-1\.")
    shell.expect(re.escape(LOCAL))
    shell.line("echo rc=$?")
    shell.expect(rb"rc=0")
    shell.line("stty -a > after.txt; cmp before.txt after.txt && echo SAME-SETTINGS")
    shell.expect(rb"[\r\n]SAME-SETTINGS\r\n")
    homes = list((isolated_env / "data").rglob("home/notes.txt"))
    assert [p.read_text() for p in homes] == ["hello from vi\n"]
    blocked = shell.seen.find(b"blocked")
    assert blocked < 0, shell.seen[blocked - 50:][:400]  # vim's routine queries are dropped without a word
    assert b"\x1b[?1049h" in shell.seen  # vi's full screen did reach the terminal
    assert shell.seen.rfind(b"\x1b[?1049l") > shell.seen.rfind(b"\x1b[?1049h")  # and it was left


def test_clipboard_and_title_writes_never_reach_the_terminal_while_cursor_movement_does(shell):
    shell.orgorepl("term --local")
    shell.into_remote()
    start = len(shell.seen)
    shell.line(r"printf 'a\033]52;c;SGVsbG8=\007b\033[3;7HMOVED\033]0;EVIL\007c\033P$qm\033\\d\n'")
    shell.expect(rb"MOVED")
    shell.expect(re.escape(REMOTE))
    remote_part = shell.seen[start:]
    assert b"\x1b[3;7H" in remote_part
    assert b"\x1b]52" not in remote_part and b"\x1b]0;" not in remote_part and b"\x1bP" not in remote_part
    shell.line("exit 3")
    shell.expect(rb"blocked 2 escape sequences from the remote: clipboard \(OSC 52\) \xc3\x971, title")
    shell.expect(rb"Connection to computer-1 closed\.")
    shell.expect(re.escape(LOCAL))
    shell.line("echo rc=$?")
    shell.expect(rb"rc=3")


def test_the_window_size_follows_the_local_terminal(shell):
    shell.orgorepl("term --local")
    shell.into_remote()
    shell.line("echo size=$(tput cols)x$(tput lines)")
    shell.expect(rb"size=100x24")
    shell.child.setwinsize(30, 120)  # the kernel sends SIGWINCH to orgorepl
    time.sleep(0.5)
    shell.line("echo size=$(tput cols)x$(tput lines)")
    shell.expect(rb"size=120x30")
    shell.type("~?")
    shell.expect(rb"~\.\s+disconnect")
    shell.type("~.")
    shell.expect(re.escape(LOCAL))


def test_percent_term_returns_to_the_repl_with_its_session_and_history(shell):
    shell.orgorepl("--local")
    shell.expect(rb">>> ")
    shell.line("answer = 41")
    shell.expect(rb">>> ")
    shell.line("%term")
    shell.into_remote()
    shell.line("echo inside-$((6*7))")
    shell.expect(rb"inside-42")
    shell.type("~.")
    shell.expect(rb"Disconnected from computer-1\.")
    shell.expect(rb">>> ")
    shell.line("answer + 1")
    shell.expect(rb"[m\n]42\r\r?\n")
    shell.expect(rb">>> ")
    shell.type("\x10")  # Ctrl-P: the history still holds what came before %term
    shell.expect(rb"answer \+ (\x1b\[[0-9;]*m)?1")
    shell.type("\x15")  # Ctrl-U
    shell.type("\x04")
    shell.expect(re.escape(LOCAL))


@pytest.fixture
def own_emulator(tmp_path):
    """An emulator of the test's own: its computer is restarted and stopped under the terminal."""
    from orgorepl.client import OrgoClient
    from orgorepl.emulator import EmbeddedEmulator

    emu = EmbeddedEmulator(data_dir=tmp_path / "emu").start()
    try:
        with OrgoClient(api_key=emu.api_key, base_url=emu.base_url) as client:
            yield emu, client
    finally:
        emu.stop()


def _shell_pid(shell: Shell) -> int:
    shell.line("echo pid-$$-end")
    shell.expect(rb"[\r\n]pid-\d+-end")
    return int(re.findall(rb"pid-(\d+)-end", shell.seen)[-1])


def test_reconnect_opens_a_new_shell_after_a_restart_and_ends_on_a_refusal(isolated_env, tmp_path, own_emulator):
    emu, client = own_emulator
    shell = Shell(isolated_env, tmp_path, ORGO_BASE_URL=emu.base_url, ORGO_API_KEY=emu.api_key)
    try:
        shell.orgorepl("term --reconnect")
        shell.into_remote()
        first = _shell_pid(shell)
        client.restart(emu.computers[0].id)  # the token rotates: the new socket needs the new one
        shell.expect(rb"the computer is stopping \(close code 1001\)[^\r]*; reconnecting in 2 s")
        shell.into_remote()
        assert _shell_pid(shell) != first  # a new connection is a new shell
        client.stop(emu.computers[0].id)
        shell.expect(rb"reconnecting in 2 s")
        shell.expect(rb"the computer is not running \(close code 4003\)[^\r]* start it with `orgorepl start`")
        shell.expect(re.escape(LOCAL))
        shell.line("echo rc=$?")
        shell.expect(rb"rc=12")
    finally:
        shell.close()


def test_ctrl_c_while_waiting_to_reconnect_gives_up(isolated_env, tmp_path, own_emulator):
    emu, client = own_emulator
    shell = Shell(isolated_env, tmp_path, ORGO_BASE_URL=emu.base_url, ORGO_API_KEY=emu.api_key)
    try:
        shell.orgorepl("term --reconnect")
        shell.into_remote()
        emu.stop()  # the whole server goes away
        shell.expect(rb"reconnecting in 2 s \(Ctrl-C or ~\. gives up\)")
        shell.type("\x03")
        shell.expect(rb"the computer is stopping \(close code 1001\)")
        shell.expect(re.escape(LOCAL))
        shell.line("echo rc=$?")
        shell.expect(rb"rc=14")
    finally:
        shell.close()


def test_modes_the_remote_leaves_on_are_turned_off_when_it_exits(shell):
    shell.orgorepl("term --local")
    shell.into_remote()
    shell.line(r"printf '\033[?1049h\033[?1000;1006h\033[?2004h\033[?25l\033[?1h\033=full screen'; sleep 0.2; exit")
    shell.expect(rb"full screen")
    shell.expect(rb"Connection to computer-1 closed\.")
    shell.expect(re.escape(LOCAL))
    tail = shell.seen[shell.seen.rfind(b"full screen"):]
    for off in (b"\x1b[?1049l", b"\x1b[?1000l", b"\x1b[?1006l", b"\x1b[?25h", b"\x1b[?1l", b"\x1b>"):
        assert off in tail, (off, tail)
    assert tail.find(b"\x1b[?1049l") < tail.find(b"Connection to")  # restored before our line
