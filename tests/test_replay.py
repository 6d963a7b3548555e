"""Replaying a saved session against the emulator, driven key by key through a pipe.

The replay writes to a recording terminal (the REPL tests' terminal model), so assertions read
what the class would see: each submission with its prompt, then its output, as in the REPL.
"""

from __future__ import annotations

import io
import re
import threading
import time

import pytest
from prompt_toolkit.data_structures import Size
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output.vt100 import Vt100_Output

from orgorepl.connect import Connection, remote_connector
from orgorepl.exitstatus import ExitStatus
from orgorepl.modes import Mode
from orgorepl.replay import replay, run_replay
from orgorepl.transcript import Entry, Submission, Transcript, load_submissions

from test_repl import Screen, connector_for

ENTER, SPACE, CTRL_C, CTRL_D = "\r", " ", "\x03", "\x04"


def connection_for(emulator, index: int = 0) -> Connection:
    return connector_for(emulator, index)()


class Run:
    """One replay in a thread, fed key by key."""

    def __init__(self, target, subs, **options) -> None:
        self._pipe_cm = create_pipe_input()
        self.pipe = self._pipe_cm.__enter__()
        self.screen = Screen()
        output = Vt100_Output(self.screen, lambda: Size(rows=24, columns=100), term="xterm", enable_cpr=False)
        self.result = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(target, subs, output, options), daemon=True)
        self.thread.start()

    def _run(self, target, subs, output, options) -> None:
        try:
            runner = run_replay if isinstance(subs, str) or hasattr(subs, "suffix") else replay
            self.result = runner(target, subs, input=self.pipe, output=output, **options)
        except BaseException as exc:
            self.error = exc

    def key(self, keys: str) -> None:
        self.pipe.send_text(keys)

    def expect(self, pattern: str, timeout: float = 20.0) -> str:
        regex = re.compile(pattern, re.MULTILINE)
        deadline = time.monotonic() + timeout
        while True:
            text = self.screen.text()
            if regex.search(text):
                return text
            if self.error is not None:
                raise AssertionError(f"the replay crashed: {self.error!r}") from self.error
            if (not self.thread.is_alive() and not regex.search(self.screen.text())) or time.monotonic() > deadline:
                raise AssertionError(f"Expected on screen: {pattern!r}\nActual screen:\n{text[-3000:]}")
            self.screen.wait(0.05)

    def finish(self, timeout: float = 20.0):
        self.thread.join(timeout)
        self._pipe_cm.__exit__(None, None, None)
        assert not self.thread.is_alive(), "the replay did not end"
        if self.error is not None:
            raise self.error
        return self.result


@pytest.fixture
def conn(emulator):
    c = connection_for(emulator)
    yield c
    c.close()


LESSON = [
    Submission(Mode.PYTHON, "x = 5"),
    Submission(Mode.PYTHON, "print(x + 1)"),
    Submission(Mode.BASH, "echo skipped-$((40 + 2))"),
    Submission(Mode.PYTHON, "def tenfold(v):\n    return v * 10\n\ntenfold(x)"),
    Submission(Mode.PYTHON, "print('never ' + 'shown')"),
]


def test_enter_runs_space_runs_s_skips_q_quits_and_state_carries(conn):
    transcript = Transcript()
    run = Run(conn, LESSON, transcript=transcript)
    run.expect(r"^>>> x = 5$")
    run.expect(r"replay 1/5 .*Enter run.*s skip.*q quit")
    run.key(ENTER)
    run.expect(r"^>>> print\(x \+ 1\)$")
    run.key(SPACE)
    run.expect(r"^6$")
    run.expect(r"^~ \$ echo skipped-\$\(\(40 \+ 2\)\)$")
    run.key("s")
    run.expect(r"^skipped$")
    run.expect(r"^>>> def tenfold\(v\):\n\.\.\.     return v \* 10\n\.\.\. ?\n\.\.\. tenfold\(x\)$")
    run.key("x")  # any other key does nothing
    run.key(ENTER)
    run.expect(r"^50$")  # x and tenfold() from earlier submissions: the session carried them
    run.expect(r"^>>> print\('never ' \+ 'shown'\)$")
    run.key("q")
    report = run.finish()
    text = run.screen.text()
    assert "replay stopped at 5 of 5" in text
    assert re.search(r"^replay done: 3 of 5 run, 1 skipped$", text, re.M)
    assert not re.search(r"^skipped-42$", text, re.M) and not re.search(r"^never shown$", text, re.M)
    assert "Enter run" not in text  # each key hint is erased once answered
    assert (report.ran, report.skipped, report.quit_at, report.failed) == (3, 1, 5, 0)
    assert report.exit_status == ExitStatus.OK
    assert [e.source for e in transcript.entries] == ["x = 5", "print(x + 1)", LESSON[3].source]
    assert [e.output for e in transcript.entries] == ["", "6\n", "50\n"]
    assert re.search(rf"^session {report.session_id} stays on {conn.computer.name}", text, re.M)


def test_bash_and_python_share_the_directory_and_the_prompt_shows_it(conn):
    subs = [Submission(Mode.BASH, "mkdir -p /tmp/replay-cwd && cd /tmp/replay-cwd"),
            Submission(Mode.BASH, "pwd"),
            Submission(Mode.PYTHON, "import os\nprint(os.getcwd())")]
    run = Run(conn, subs)
    for position in (1, 2, 3):
        run.expect(rf"replay {position}/3")
        run.key(ENTER)
    report = run.finish()
    text = run.screen.text()
    assert re.search(r"^/tmp/replay-cwd \$ pwd\n/tmp/replay-cwd$", text, re.M)
    assert re.search(r"print\(os.getcwd\(\)\)\n/tmp/replay-cwd$", text, re.M)
    assert report.ran == 3 and report.exit_status == ExitStatus.OK


def test_quitting_at_once_runs_nothing(conn):
    run = Run(conn, LESSON)
    run.expect(r"replay 1/5")
    run.key(CTRL_D)
    report = run.finish()
    assert report.ran == 0 and report.quit_at == 1
    assert "stays on" not in run.screen.text()  # nothing ran: no session to resume


def test_errors_are_shown_like_the_repl_and_the_replay_goes_on(conn):
    subs = [Submission(Mode.PYTHON, "{}['missing']"), Submission(Mode.BASH, "echo out; exit 4"),
            Submission(Mode.PYTHON, "print('still here')")]
    run = Run(conn, subs)
    for position in (1, 2, 3):
        run.expect(rf"replay {position}/3")
        run.key(ENTER)
    report = run.finish()
    text = run.screen.text()
    assert re.search(r"^  File \"<cell>\", line 1", text, re.M)
    assert re.search(r"^KeyError: 'missing'$", text, re.M)
    assert re.search(r"^out\nexit 4$", text, re.M)
    assert re.search(r"^still here$", text, re.M)
    assert [e.status for e in report.entries] == ["error", "exit", "ok"]
    assert report.exit_status == ExitStatus.REMOTE_EXCEPTION


def test_ctrl_c_abandons_a_running_submission_and_the_next_one_still_runs(conn):
    subs = [Submission(Mode.PYTHON, "import time\ntime.sleep(3)"), Submission(Mode.PYTHON, "print('next')")]
    run = Run(conn, subs)
    run.expect(r"replay 1/2")
    run.key(ENTER)
    run.expect(r"Ctrl-C abandon")
    run.key(CTRL_C)
    run.expect(r"^interrupted: the call was abandoned")
    run.expect(r"replay 2/2")
    run.key(ENTER)
    report = run.finish()
    assert re.search(r"^next$", run.screen.text(), re.M)
    assert [e.status for e in report.entries] == ["interrupted", "ok"]


def test_replaying_a_saved_markdown_transcript_from_its_file(conn, tmp_path):
    saved = Transcript()
    saved.add(Entry("python", "word = 'saved'"))
    saved.add(Entry("bash", "echo from-the-file"))
    saved.add(Entry("python", "word.upper()", output="'SAVED'\n"))
    path = tmp_path / "lesson.md"
    saved.save(path)
    run = Run(conn, path)
    for position in (1, 2, 3):
        run.expect(rf"replay {position}/3")
        run.key(ENTER)
    assert run.finish() == ExitStatus.OK
    text = run.screen.text()
    assert re.search(r"^from-the-file$", text, re.M) and re.search(r"^'SAVED'$", text, re.M)


def test_auto_mode_runs_everything_without_keys(emulator, tmp_path):
    """A lesson checked before class: no terminal input, a connector opened and closed here."""
    path = tmp_path / "lesson.py"
    saved = Transcript()
    for source in ("n = 2", "n ** 10", "print(n, 'ok')"):
        saved.add(Entry("python", source))
    saved.save(path)
    assert load_submissions(path)[1].source == "n ** 10"
    out = io.StringIO()
    output = Vt100_Output(out, lambda: Size(rows=24, columns=100), term="xterm", enable_cpr=False)
    connector = remote_connector(emulator.base_url, emulator.api_key, emulator.computers[1].id)
    status = run_replay(connector, path, output=output, auto=True, color=False)
    assert status == ExitStatus.OK
    text = re.sub(r"\x1b\[[0-?]*[ -/]*[@-~]", "", out.getvalue()).replace("\r\n", "\n")
    assert "1024\n" in text and "2 ok\n" in text and "replay done: 3 of 3 run" in text


def test_exit_status_for_unreadable_files_and_refused_connections(emulator, tmp_path):
    out = io.StringIO()
    output = Vt100_Output(out, lambda: Size(rows=24, columns=100), term="xterm", enable_cpr=False)
    connector = remote_connector(emulator.base_url, "wrong-key", emulator.computers[0].id)
    assert run_replay(connector, tmp_path / "missing.md", output=output) == ExitStatus.USAGE
    assert "cannot replay" in out.getvalue() and "No such file" in out.getvalue()
    (tmp_path / "notes.txt").write_text("x = 1\n")
    assert run_replay(connector, tmp_path / "notes.txt", output=output) == ExitStatus.USAGE
    (tmp_path / "empty.md").write_text("# nothing here\n")
    assert run_replay(connector, tmp_path / "empty.md", output=output) == ExitStatus.OK
    assert "nothing to replay" in out.getvalue()
    (tmp_path / "one.py").write_text("print(1)\n")
    assert run_replay(connector, tmp_path / "one.py", output=output, auto=True) == ExitStatus.AUTH
    assert "wrong-key" not in out.getvalue()
