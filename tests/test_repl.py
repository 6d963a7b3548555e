"""The whole interactive session, driven like a person would, against the real emulator.

The real prompt_toolkit application reads keys from a pipe and writes to a recording terminal
(a Vt100 output whose writes are kept and whose cursor-position queries are answered, so the
bottom toolbar is drawn as on a real terminal).  Assertions read what a person would see on
screen, with control sequences removed.
"""

from __future__ import annotations

import os
import re
import stat
import threading
import time

import pytest
from prompt_toolkit.data_structures import Size
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output.vt100 import Vt100_Output

from orgorepl import paths
from orgorepl.connect import Connection
from orgorepl.modes import Mode
from orgorepl.repl import INTERRUPTED_NOTE, ReplOptions, run_interactive

from test_repl_vt import VtScreen

ENTER, ESC_ENTER, F4, CTRL_C, CTRL_D, UP = "\r", "\x1b\r", "\x1bOS", "\x03", "\x04", "\x1b[A"


class Screen:
    """The terminal the REPL writes to: a VtScreen fed from a file-like object."""

    encoding = "utf-8"

    def __init__(self) -> None:
        self._vt = VtScreen(rows=24, columns=100)
        self._cond = threading.Condition()
        self.on_cursor_query = lambda: None

    def write(self, data: str) -> int:
        with self._cond:
            self._vt.feed(data)
            self._cond.notify_all()
        if "\x1b[6n" in data:
            self.on_cursor_query()
        return len(data)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return True

    def text(self) -> str:
        with self._cond:
            return self._vt.text()

    def wait(self, timeout: float) -> None:
        with self._cond:
            self._cond.wait(timeout)


class Session:
    """One run of ``run_interactive`` in a thread, fed through a pipe."""

    def __init__(self, connect, options: ReplOptions, early=None) -> None:
        self._early = early
        self._pipe_cm = create_pipe_input()
        self.pipe = self._pipe_cm.__enter__()
        self.screen = Screen()
        # Answer cursor-position queries as a terminal whose cursor is on the last row, so the
        # bottom toolbar is drawn (prompt_toolkit only draws it once it knows the space below).
        self.screen.on_cursor_query = lambda: self.pipe.send_text("\x1b[24;1R")
        output = Vt100_Output(self.screen, lambda: Size(rows=24, columns=100), term="xterm", enable_cpr=True)
        self.status: int | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(connect, options, output), daemon=True)
        self.thread.start()

    def _run(self, connect, options, output) -> None:
        try:
            self.status = run_interactive(connect, options, input=self.pipe, output=output, early=self._early)
        except BaseException as exc:  # surfaced by expect()/close()
            self.error = exc

    def send(self, keys: str) -> None:
        self.pipe.send_text(keys)

    def submit(self, text: str) -> None:
        self.send(text + ENTER)

    def expect(self, pattern: str, timeout: float = 15.0) -> re.Match:
        """Wait until ``pattern`` (a regex, multi-line) is on the screen."""
        regex = re.compile(pattern, re.MULTILINE)
        deadline = time.monotonic() + timeout
        while True:
            text = self.screen.text()
            match = regex.search(text)
            if match:
                return match
            if self.error is not None:
                raise AssertionError(f"the REPL crashed: {self.error!r}") from self.error
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise AssertionError(f"Expected on screen: {pattern!r}\nActual screen:\n{text[-3000:]}")
            self.screen.wait(0.05)

    def absent(self, pattern: str) -> bool:
        return re.search(pattern, self.screen.text(), re.MULTILINE) is None

    def close(self) -> int | None:
        if self.thread.is_alive():
            self.send(CTRL_C + CTRL_D)
            self.thread.join(15)
        self._pipe_cm.__exit__(None, None, None)
        assert not self.thread.is_alive(), "the REPL did not exit on Ctrl-D"
        if self.error is not None:
            raise self.error
        return self.status


def connector_for(emulator, index: int = 0):
    def connect() -> Connection:
        from orgorepl.client import OrgoClient

        client = OrgoClient(api_key=emulator.api_key, base_url=emulator.base_url)
        computer = client.get_computer(emulator.computers[index].id)
        return Connection(client=client, computer=computer, base_url=emulator.base_url,
                          local=True, _cleanup=[client.close])

    return connect


@pytest.fixture
def start(emulator):
    sessions: list[Session] = []

    def start_session(**options) -> Session:
        options.setdefault("target_label", "local emulator")
        options.setdefault("secret", emulator.api_key)
        connect = options.pop("connect", None) or connector_for(emulator)
        early = options.pop("early", None)
        session = Session(connect, ReplOptions(**options), early)
        sessions.append(session)
        session.expect(r"^(>>>|\$)")
        return session

    yield start_session
    for session in sessions:
        session.close()


def ready(session: Session) -> None:
    session.expect(r"connected to \S+ \(running\)")


# --------------------------------------------------------------------------------------------


def test_prompt_banner_then_connection_in_the_background(start, emulator):
    gate = threading.Event()
    inner = connector_for(emulator)

    def gated_connect() -> Connection:
        gate.wait(10)
        return inner()

    s = start(connect=gated_connect)  # the prompt is up while connect() has not returned
    s.expect(r"^orgorepl \S+ · %help for help · F4 switches Python/bash · Ctrl-D exits\n>>>$")
    s.expect(r"^ local emulator: connecting… │  python  │")  # the toolbar
    gate.set()
    name = re.escape(emulator.computers[0].name)
    s.expect(rf"^connected to {name} \(running\) · {emulator.computers[0].id} · the local emulator$")
    s.expect(rf"^ {name} \(running\) │  python  │ timeout 10s │ state │ F4 mode")  # the toolbar


class PaintedPrompt:
    """Stands in for ui.early.EarlyPrompt: the entry point already painted banner and prompt."""

    banner_shown = True

    def __init__(self) -> None:
        self.handed_over: list[str] = []

    def hand_over(self, write) -> None:
        self.handed_over.append("hand_over")
        write("\r")

    def abandon(self) -> None:
        self.handed_over.append("abandon")


def test_an_early_painted_prompt_is_taken_over_in_place(start):
    early = PaintedPrompt()
    s = start(early=early)
    ready(s)
    assert early.handed_over == ["hand_over"]
    assert s.absent(r"^orgorepl \S+ · %help")  # the banner was painted already, not again
    s.submit("print('after ' + 'hand-over')")
    s.expect(r"^after hand-over$")
    assert early.handed_over == ["hand_over"]


def test_python_statement_output_and_expression_echo(start):
    s = start()
    ready(s)
    s.submit("print('hello ' + 'world')")
    s.expect(r"^hello world$")
    s.submit("6 * 7")
    s.expect(r"^42$")
    s.submit("None")
    s.submit("'done' + '!'")
    s.expect(r"^'done!'$")
    # like the standard REPL, None is not echoed: the line after `>>> None` is the next prompt
    s.expect(r"^>>> None\n>>> 'done' \+ '!'$")


def test_submission_before_the_connection_waits_for_it(start, emulator):
    gate = threading.Event()
    inner = connector_for(emulator)

    def slow_connect():
        gate.wait(10)
        return inner()

    s = start(connect=slow_connect)
    s.submit("print('aban' + 'doned')")
    s.expect(r"connecting… \d")  # the spinner line, waiting for the connection
    s.send(CTRL_C)
    s.expect(r"^interrupted: nothing was sent$")
    s.submit("print(6 * 7)")
    s.expect(r"connecting… \d")
    gate.set()
    s.expect(r"^42$")
    time.sleep(0.3)
    assert s.absent(r"^abandoned$")  # the abandoned submission never runs, even once connected


def test_multiline_python_by_enter_rules_with_auto_indent(start):
    s = start()
    ready(s)
    s.send("for i in range(3):" + ENTER)
    s.expect(r"^>>> for i in range\(3\):\n\.\.\.     $|^\.\.\.")
    # the body is typed without indentation: auto-indent supplies it
    s.send("print(i * 10)" + ENTER)
    s.send(ENTER)  # a blank line closes the block
    s.expect(r"^\.\.\.     print\(i \* 10\)\n(\.\.\.\s*\n)?0\n10\n20$")


def test_open_bracket_continues_and_alt_enter_forces(start):
    s = start()
    ready(s)
    s.send("print(sum([1," + ENTER)
    s.expect(r"^\.\.\.")
    s.send("2, 3]) * 7)" + ENTER)
    s.expect(r"^42$")
    # a block that codeop would keep open for a blank line: Esc-Enter runs it now
    s.send("if True:" + ENTER + "print('for' + 'ced')" + ESC_ENTER)
    s.expect(r"^forced$")


def test_syntax_error_is_shown_before_sending(start):
    s = start()
    ready(s)
    s.submit("x = = 1")
    s.expect(r"SyntaxError: invalid syntax \(line 1, column 5\)")
    s.send(CTRL_C)
    s.submit("print('after the ' + 'error')")
    s.expect(r"^after the error$")


def test_remote_exception_and_timeout_are_rendered(start):
    s = start()
    ready(s)
    s.submit("1 / 0")
    s.expect(r"ZeroDivisionError: division by zero")
    s.submit("%timeout 1")
    s.expect(r"^python timeout: 1s$")
    s.submit("import time; time.sleep(5)")
    s.expect(r"TIMEOUT")
    s.expect(r"│ timeout 1s │ state │ last: timeout")  # the toolbar
    s.submit("print('still ' + 'here')")
    s.expect(r"^still here$")


def test_bash_mode_by_command_and_by_key_and_bang_lines(start):
    s = start()
    ready(s)
    s.submit("%bash")
    s.expect(r"^(\S+ )?\$$")
    s.submit("echo $((6 * 7))")
    s.expect(r"^42$")
    s.submit("echo to-stderr >&2; exit 3")
    s.expect(r"^to-stderr$")
    s.expect(r"exit 3")
    s.expect(r"last: exit 3")  # the toolbar
    s.send(F4)  # back to Python
    s.expect(r"^>>>$")
    s.submit("print('py ' + 'again')")
    s.expect(r"^py again$")
    s.submit("!echo from bash $((1 + 1))")
    s.expect(r"^from bash 2$")
    s.send(F4)
    s.expect(r"^(\S+ )?\$$")
    s.submit("if true; then")
    s.expect(r"^ *> ?$")  # bash continuation prompt: the `if` is open
    s.submit("echo in$((1))side")
    s.submit("fi")
    s.expect(r"^in1side$")


def test_f4_keeps_the_typed_text(start):
    s = start()
    ready(s)
    s.send("echo kept-$((40 + 2))")
    s.send(F4)
    s.expect(r"^\$ echo kept-\$\(\(40 \+ 2\)\)$")
    s.send(ENTER)
    s.expect(r"^kept-42$")


def test_bracketed_paste_is_one_submission(start):
    s = start()
    ready(s)
    s.send("\x1b[200~print('pasted-' + 'a')\nprint('pasted-' + 'b')\n\x1b[201~")
    s.expect(r"^\.\.\. print\('pasted-' \+ 'b'\)$")
    time.sleep(0.3)
    assert s.absent(r"^pasted-a$"), "the paste ran before Enter"
    s.send(ENTER)
    s.expect(r"^pasted-a\npasted-b$")


def test_ctrl_c_abandons_a_long_call_and_the_session_goes_on(start):
    s = start(timeouts={Mode.PYTHON: 60, Mode.BASH: 60})
    ready(s)
    s.submit("import time; time.sleep(30); print('too ' + 'late')")
    s.expect(r"python on \S+ \d+\.\ds / 60s │ Ctrl-C abandon")  # the spinner line
    s.send(CTRL_C)
    s.expect("^" + re.escape(INTERRUPTED_NOTE) + "$")
    s.expect(r"last: interrupted")
    s.submit("print('next ' + 'one')")
    s.expect(r"^next one$")
    assert s.absent(r"^too late$")


def test_ctrl_c_a_submission_that_finishes_later_leaves_the_session_alone(start):
    """Issue 14, cause 6: nothing is submitted while the abandoned call runs on, and still it
    does not change the session (the REPL marks it abandoned on the computer at Ctrl-C)."""
    s = start(timeouts={Mode.PYTHON: 60, Mode.BASH: 60})
    ready(s)
    s.submit("zz = 'before'")
    s.submit("import time; time.sleep(1.5); zz = 'after sleep'")
    s.expect(r"python on \S+ \d+\.\ds / 60s │ Ctrl-C abandon")
    s.send(CTRL_C)
    s.expect("^" + re.escape(INTERRUPTED_NOTE) + "$")
    time.sleep(2.5)  # it has finished on the computer by now
    s.submit("print('zz is', zz)")
    s.expect(r"^zz is before$")


def test_ctrl_c_clears_the_input_and_ctrl_d_exits(start):
    s = start()
    ready(s)
    s.send("print('never ' + 'run')")
    s.send(CTRL_C)
    s.submit("print('r' + 'an')")
    s.expect(r"^ran$")
    assert s.absent(r"^never run$")
    s.send(CTRL_D)
    s.thread.join(10)
    assert not s.thread.is_alive() and s.status == 0


def test_meta_commands_and_unknown_command_suggestion(start, emulator):
    s = start()
    s.submit("%inof")
    s.expect(r"^unknown command %inof; did you mean %info\?$")
    ready(s)
    s.submit("%info")
    s.expect(rf"^id +{emulator.computers[0].id}$")
    s.expect(r"^status +running$")
    assert emulator.api_key not in s.screen.text()
    s.submit("%timeout 500")
    s.expect(r"^%timeout wants a whole number of seconds from 1 to 300 in python mode$")
    s.submit("%help")
    s.expect(r"^  F4 +switch between Python and bash mode$")


def test_client_error_is_one_line_and_the_session_goes_on(start, emulator):
    def wrong_key() -> Connection:
        from orgorepl.client import OrgoClient
        from orgorepl.protocol import Computer

        client = OrgoClient(api_key="sk_wrong_key_0000", base_url=emulator.base_url)
        computer = Computer(id=emulator.computers[0].id, name="box", status="running")
        return Connection(client=client, computer=computer, base_url=emulator.base_url,
                          _cleanup=[client.close])

    s = start(connect=wrong_key)
    s.submit("print(1)")
    s.expect(r"^not run: HTTP 401 unauthorized: .*check ORGO_API_KEY")
    s.expect(r"last: refused")
    s.submit("%help")
    s.expect(r"%timeout \[N\]")


def test_connection_failure_is_reported_and_retried(start, emulator):
    from orgorepl import errors

    attempts: list[float] = []
    good = connector_for(emulator)

    def flaky() -> Connection:
        attempts.append(time.monotonic())
        if len(attempts) == 1:
            raise errors.ConnectError("could not connect to http://127.0.0.1:1/api")
        return good()

    s = start(connect=flaky)
    s.expect(r"^not connected: could not connect to http://127.0.0.1:1/api .*\(the next submission tries again\)$")
    s.expect(r"not connected │")  # the toolbar
    s.submit("print('second ' + 'try')")
    s.expect(r"^second try$")
    assert len(attempts) == 2


def test_history_persists_per_mode_across_sessions_without_the_key(start, emulator):
    key = emulator.api_key
    s = start()
    ready(s)
    s.send("for n in range(2):" + ENTER + "print('hist', n)" + ENTER + ENTER)
    s.expect(r"^hist 0\nhist 1$")
    s.submit(f"token = '{key}'")
    s.submit("%bash")
    s.submit("echo bash-$((1))-history")
    s.expect(r"^bash-1-history$")
    assert s.close() == 0

    py_file, sh_file = paths.history_file("python"), paths.history_file("bash")
    assert stat.S_IMODE(os.stat(py_file).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(sh_file).st_mode) == 0o600
    assert key not in py_file.read_text() and key not in sh_file.read_text()
    assert "echo bash-$((1))-history" in sh_file.read_text()
    assert "bash-$((1))" not in py_file.read_text()

    s2 = start()
    ready(s2)
    s2.submit("%history 5")
    s2.expect(r"^1  for n in range\(2\):\n {7}print\('hist', n\)\n2  token = '<redacted>'\n3  %bash\n4  %history 5$")
    # Up recalls whole entries: %history 5, %bash, token = ..., then the two-line loop
    s2.send(UP * 4)
    s2.send(ENTER + ENTER)
    s2.expect(r"^>>> for n in range\(2\):\n\.\.\.     print\('hist', n\)\n(\.\.\..*\n)?hist 0\nhist 1$")
    # Ctrl-R finds an entry by a word in it; Enter takes it, Enter again runs it
    s2.send("\x12" + "'hist'")
    s2.expect(r"^I-search backward: 'hist'$")
    s2.send(ENTER)
    s2.send(ENTER + ENTER)
    s2.expect(r"^hist 1\n(.*\n)+hist 0\nhist 1$")


def test_tab_completes_meta_commands_and_clear_wipes_the_screen(start):
    s = start()
    ready(s)
    s.send("%tim\t")
    s.expect(r"^>>> %timeout$")
    s.send(ENTER)
    s.expect(r"^timeouts: python 10s, bash 60s$")
    s.submit("%clear")
    s.submit("print('on a ' + 'clean screen')")
    s.expect(r"^on a clean screen$")
    assert s.absent(r"^timeouts:") and s.absent(r"^orgorepl ")


def test_vi_mode_runs_and_escape_enter_still_forces(start):
    s = start(vi=True)
    ready(s)
    s.submit("print('v' + 'i')")
    s.expect(r"^vi$")
    s.send("if True:" + ENTER + "print('vi ' + 'forced')" + ESC_ENTER)
    s.expect(r"^vi forced$")
