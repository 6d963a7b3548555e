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

from test_repl_vt import VtScreen

pytestmark = pytest.mark.pty

F4, CTRL_C, CTRL_D = "\x1bOS", "\x03", "\x04"


class Terminal:
    """orgorepl in a pseudo-terminal, its output replayed on a 24x100 terminal model."""

    def __init__(self, isolated_env, **env_overrides: str) -> None:
        env = dict(os.environ)
        env.update(TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1", LINES="24", COLUMNS="100",
                   EDITOR="true", VISUAL="true", PAGER="cat",
                   ORGOREPL_CONFIG_DIR=str(isolated_env / "config"),
                   ORGOREPL_DATA_DIR=str(isolated_env / "data"))
        env.update(env_overrides)
        self.child = pexpect.spawn(sys.executable, ["-m", "orgorepl", "--local"], env=env,
                                   dimensions=(24, 100), encoding="utf-8", codec_errors="replace")
        self.screen = VtScreen(rows=24, columns=100)

    def _read(self, timeout: float) -> bool:
        """Feed what the program wrote to the screen; False once it has exited."""
        try:
            self.screen.feed(self.child.read_nonblocking(65536, timeout=timeout))
        except pexpect.TIMEOUT:
            pass
        except pexpect.EOF:
            return False
        return True

    def expect(self, pattern: str, timeout: float = 20.0) -> re.Match:
        """Wait until ``pattern`` (a multi-line regex) is on the screen."""
        regex = re.compile(pattern, re.MULTILINE)
        deadline = time.monotonic() + timeout
        alive = True
        while True:
            match = regex.search(self.screen.text())
            if match:
                return match
            if not alive or time.monotonic() > deadline:
                why = "the program exited" if not alive else "timed out"
                raise AssertionError(f"{why}\nExpected on screen: {pattern!r}\n"
                                     f"Actual screen:\n{self.screen.text()[-2000:]}")
            alive = self._read(min(0.2, max(0.01, deadline - time.monotonic())))

    def send(self, keys: str) -> None:
        self.child.send(keys)

    def submit(self, line: str) -> None:
        self.send(line + "\r")

    def exit_status(self, timeout: float = 20.0) -> int:
        deadline = time.monotonic() + timeout
        while self._read(0.2) and time.monotonic() < deadline:
            pass
        self.child.close()
        assert not self.child.isalive(), f"orgorepl did not exit; screen:\n{self.screen.text()[-1500:]}"
        return self.child.exitstatus


@pytest.fixture
def term(isolated_env):
    t = Terminal(isolated_env)
    yield t
    if t.child.isalive():
        t.child.terminate(force=True)


def started(term: Terminal) -> None:
    term.expect(r"^>>>")
    term.expect(r"^connected to \S+ \(running\)")


def test_python_statement_and_expression_echo(term):
    started(term)
    term.submit("print('pty-' + 'ok')")
    term.expect(r"^pty-ok$")
    term.submit("21 * 2")
    term.expect(r"^42$")


def test_mode_switch_by_key_then_a_bash_command(term):
    started(term)
    term.send(F4)
    term.expect(r"^(\S+ )?\$$")
    term.submit("echo $((6 * 7)) from $0")
    term.expect(r"^42 from \S*bash$")
    term.submit("%python")
    term.expect(r"^python mode")
    term.submit("!echo bang-$((2 + 3))")
    term.expect(r"^bang-5$")


def test_ctrl_c_abandons_a_long_call(term):
    started(term)
    term.submit("%timeout 60")
    term.submit("import time; time.sleep(30)")
    term.expect(r"python on .* / 60s")
    term.send(CTRL_C)
    term.expect("^" + re.escape(INTERRUPTED_NOTE) + "$")
    term.submit("print('alive after ' + 'ctrl-c')")
    term.expect(r"^alive after ctrl-c$")


def test_ctrl_d_exits_cleanly(term):
    started(term)
    term.send(CTRL_D)
    assert term.exit_status() == 0


def test_tab_completes_from_the_computer_in_a_real_terminal(term):
    started(term)
    term.submit("import os")
    term.send("os.pa\t")
    term.expect(r"path\s+module")
    term.send("\x1b\x01\x0b")  # Esc, Ctrl-A, Ctrl-K: the menu closed, the line empty
    term.send("!cat /etc/pas\t")
    term.expect(r"passwd\s+file")
    term.send("\x1b\x01\x0b")
    term.submit("len?")  # introspection, through the pager (PAGER=cat)
    term.expect(r"^Signature:\s+len\(obj, /\)$")
    term.send(CTRL_D)
    assert term.exit_status() == 0
