"""End to end in a real pseudo-terminal: `python -m orgorepl --local`, typed at like a person.

Few and hardened (after pgcli's behave suite): fixed 24x100 terminal, TERM=xterm, no cursor
position queries (PROMPT_TOOLKIT_NO_CPR=1), private config/data dirs, no EDITOR/PAGER surprises,
and on failure a message saying what was expected and what the screen showed.
"""

from __future__ import annotations

import os
import re
import sys
import time

import pexpect
import pytest

from orgorepl.repl import INTERRUPTED_NOTE

pytestmark = pytest.mark.pty

CONTROL = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b[=>78]")
F4, CTRL_C, CTRL_D = "\x1bOS", "\x03", "\x04"


class Terminal:
    def __init__(self, isolated_env) -> None:
        env = dict(os.environ)
        env.update(TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1", LINES="24", COLUMNS="100",
                   EDITOR="true", VISUAL="true", PAGER="cat",
                   ORGOREPL_CONFIG_DIR=str(isolated_env / "config"),
                   ORGOREPL_DATA_DIR=str(isolated_env / "data"))
        self.child = pexpect.spawn(sys.executable, ["-m", "orgorepl", "--local"], env=env,
                                   dimensions=(24, 100), encoding="utf-8", codec_errors="replace")
        self.seen = ""
        self.pos = 0

    def text(self) -> str:
        return CONTROL.sub("", self.seen).replace("\r\r\n", "\n").replace("\r\n", "\n")

    def expect(self, pattern: str, timeout: float = 20.0) -> re.Match:
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            match = regex.search(self.text(), self.pos)
            if match:
                self.pos = match.end()
                return match
            left = deadline - time.monotonic()
            if left <= 0:
                self.fail(pattern, "timed out")
            try:
                self.seen += self.child.read_nonblocking(65536, timeout=min(left, 0.2))
            except pexpect.TIMEOUT:
                continue
            except pexpect.EOF:
                match = regex.search(self.text(), self.pos)
                if match:
                    self.pos = match.end()
                    return match
                self.fail(pattern, "the program exited")

    def fail(self, pattern: str, why: str) -> None:
        raise AssertionError(f"{why}\nExpected: {pattern!r}\nActual screen text since the last match:\n"
                             f"{self.text()[self.pos:][-2000:]}")

    def send(self, keys: str) -> None:
        self.child.send(keys)

    def submit(self, line: str) -> None:
        self.send(line + "\r")

    def exit_status(self, timeout: float = 20.0) -> int:
        deadline = time.monotonic() + timeout
        while self.child.isalive() and time.monotonic() < deadline:
            try:
                self.seen += self.child.read_nonblocking(65536, timeout=0.2)
            except (pexpect.TIMEOUT, pexpect.EOF):
                pass
        assert not self.child.isalive(), f"orgorepl did not exit; screen:\n{self.text()[-1500:]}"
        self.child.close()
        return self.child.exitstatus


@pytest.fixture
def term(isolated_env):
    t = Terminal(isolated_env)
    yield t
    if t.child.isalive():
        t.child.terminate(force=True)


def started(term: Terminal) -> None:
    term.expect(r">>> ")
    term.expect(r"connected to \S+ \(running\)")


def test_python_statement_and_expression_echo(term):
    started(term)
    term.submit("print('pty-' + 'ok')")
    term.expect(r"\npty-ok\n")
    term.submit("21 * 2")
    term.expect(r"\n42\n")


def test_mode_switch_by_key_then_a_bash_command(term):
    started(term)
    term.send(F4)
    term.expect(r"\$ ")
    term.submit("echo $((6 * 7)) from $0")
    term.expect(r"\n42 from \S*bash\n")
    term.submit("%python")
    term.expect(r">>> ")
    term.submit("!echo bang-$((2 + 3))")
    term.expect(r"\nbang-5\n")


def test_ctrl_c_abandons_a_long_call(term):
    started(term)
    term.submit("%timeout 60")
    term.submit("import time; time.sleep(30)")
    term.expect(r"python on .* / 60s")
    term.send(CTRL_C)
    term.expect(re.escape(INTERRUPTED_NOTE))
    term.submit("print('alive after ' + 'ctrl-c')")
    term.expect(r"\nalive after ctrl-c\n")


def test_ctrl_d_exits_cleanly(term):
    started(term)
    term.send(CTRL_D)
    assert term.exit_status() == 0
