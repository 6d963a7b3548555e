"""Issue 13's conveniences: history by prefix, the pager, pretty printing, %run / %load,
``name = !cmd``, pasted transcripts and safe suggestions.

Policies are checked as plain functions over real Buffers and values; the rest drives the whole
session through a pipe against the real emulator, and reads what a person would see.  The pager
is a real program (``$PAGER``, a script that writes what it got to a file), never a mock.
"""

from __future__ import annotations

import io
import stat
from collections import deque

import pytest
from prompt_toolkit.buffer import Buffer
from prompt_toolkit.filters import Condition

from orgorepl import commands
from orgorepl.commands import CommandContext, registry
from orgorepl.modes import Kind, Mode, classify
from orgorepl.render.pager import asks_for_help, screen_lines, should_page
from orgorepl.repl import ReplOptions, run_batch
from orgorepl.session.pasted import strip_prompts
from orgorepl.ui import keys
from orgorepl.ui.state import UiState

from test_repl import ENTER, UP, connector_for, ready, start  # noqa: F401 - `start` is a fixture


def ctx(**kw) -> CommandContext:
    return CommandContext(**{"mode": Mode.PYTHON, "timeouts": {Mode.PYTHON: 10, Mode.BASH: 60}, **kw})


# -- history by prefix -------------------------------------------------------------------------


def history_buffer(state: UiState, entries: list[str]) -> Buffer:
    """A real Buffer as the session builds it (ui.session), its history loaded: ``entries``
    oldest first, then the line being typed."""
    b = Buffer(multiline=True, enable_history_search=Condition(lambda: state.prefix_search))
    b._working_lines = deque(entries + [""])  # what loading the history leaves
    b.working_index = len(entries)
    return b


def test_up_with_text_typed_searches_entries_starting_with_it():
    state = UiState()
    b = history_buffer(state, ["help(os)", "x = 1", "help(len)", "y = 2"])
    b.insert_text("help")
    keys.history_by_prefix(state, b, backward=True)
    assert b.text == "help(len)"
    keys.history_by_prefix(state, b, backward=True)
    assert b.text == "help(os)"
    keys.history_by_prefix(state, b, backward=True)
    assert b.text == "help(os)"  # no older match: stays
    keys.history_by_prefix(state, b, backward=False)
    assert b.text == "help(len)"
    keys.history_by_prefix(state, b, backward=False)
    assert b.text == "help"  # back to what was typed
    assert state.prefix_search is False  # only during the key


def test_up_on_an_empty_line_walks_every_entry():
    state = UiState()
    b = history_buffer(state, ["a = 1", "b = 2"])
    keys.history_by_prefix(state, b, backward=True)
    assert b.text == "b = 2"
    keys.history_by_prefix(state, b, backward=True)
    assert b.text == "a = 1"


def test_up_inside_a_multiline_buffer_moves_between_its_lines_first():
    state = UiState()
    b = history_buffer(state, ["old = 1"])
    b.insert_text("for i in x:\n    print(i)")
    keys.history_by_prefix(state, b, backward=True)
    assert b.text == "for i in x:\n    print(i)" and b.document.cursor_position_row == 0
    keys.history_by_prefix(state, b, backward=True)
    assert b.text == "for i in x:\n    print(i)"  # no entry starts with "for i in x:" (the prefix)
    b.text = ""
    keys.history_by_prefix(state, b, backward=True)
    assert b.text == "old = 1"


# -- pasted transcripts ------------------------------------------------------------------------


def test_a_doctest_transcript_becomes_its_code():
    pasted = ">>> x = [1, 2]\n>>> for i in x:\n...     print(i)\n...\n1\n2\n>>> len(x)\n2\n"
    assert strip_prompts(pasted) == "x = [1, 2]\nfor i in x:\n    print(i)\n\nlen(x)"


@pytest.mark.parametrize("text", ["x = 1\n>>> y", "print('>>> ')", "a >>> b", "", "...\n>>> x"])
def test_text_that_is_not_a_transcript_is_left_alone(text):
    assert strip_prompts(text) is None


def test_pasting_a_transcript_in_python_mode_inserts_the_code_only():
    b = Buffer(multiline=True)
    keys.paste(b, ">>> a = 1\r\n>>> a\r\n1\r\n", Mode.PYTHON)
    assert b.text == "a = 1\na"
    b = Buffer(multiline=True)
    keys.paste(b, ">>> a = 1\n", Mode.BASH)  # bash mode: a paste is what was pasted
    assert b.text == ">>> a = 1\n"


# -- x = !cmd ----------------------------------------------------------------------------------


def test_capture_is_told_apart_in_python_mode_only():
    got = classify("files = !ls -1 /etc", Mode.PYTHON)
    assert (got.kind, got.mode, got.text, got.name) == (Kind.CAPTURE, Mode.BASH, "ls -1 /etc", "files")
    assert classify("x != 3", Mode.PYTHON).kind is Kind.CODE
    assert classify("x = !ls", Mode.BASH).kind is Kind.CODE
    assert classify("a.b = !ls", Mode.PYTHON).kind is Kind.CODE


# -- safe suggestions and %reset ---------------------------------------------------------------


@pytest.mark.parametrize("typed", ["rest", "rset", "resett", "edit", "exti", "exi", "quti", "eixt"])
def test_a_mistyped_command_is_never_offered_a_destructive_one(typed):
    result = registry.run(typed, ctx())
    assert result.error and result.text.startswith(f"unknown command %{typed}")
    assert registry.suggest(typed) not in ("reset", "exit"), f"%{typed} was offered {result.text!r}"


def test_reset_takes_only_f():
    assert registry.run("reset", ctx()).effects == (commands.ResetSession(force=False),)
    assert registry.run("reset -f", ctx()).effects == (commands.ResetSession(force=True),)
    assert registry.run("reset now", ctx()).error


def test_pprint_toggles_and_file_commands_want_a_file():
    assert registry.run("pprint", ctx(pprint=True)).effects == (commands.SetPretty(False),)
    assert registry.run("pprint", ctx(pprint=False)).effects == (commands.SetPretty(True),)
    assert registry.run("pprint on", ctx(pprint=True)).effects == (commands.SetPretty(True),)
    assert registry.run("run", ctx()).error and registry.run("load", ctx()).error
    assert registry.run("run 'my file.py'", ctx()).effects == (commands.RunFile("my file.py"),)


# -- the paging decision -----------------------------------------------------------------------


def test_the_paging_decision():
    tall, short = "line\n" * 30, "line\n" * 3
    assert should_page(tall, policy="auto", terminal=True, rows=24, columns=80)
    assert not should_page(short, policy="auto", terminal=True, rows=24, columns=80)
    assert not should_page(tall, policy="auto", terminal=False, rows=24, columns=80)  # a pipe
    assert not should_page(tall, policy="never", terminal=True, rows=24, columns=80)
    assert should_page(short, policy="always", terminal=True, rows=24, columns=80)
    assert not should_page("", policy="always", terminal=True, rows=24, columns=80)
    assert screen_lines("x" * 250 + "\n", 100) == 3  # a long line wraps
    assert should_page(short, policy="auto", terminal=True, rows=24, columns=80, help=True)
    assert not should_page(short, policy="auto", terminal=False, rows=24, columns=80, help=True)


@pytest.mark.parametrize("code,asks", [("help(len)", True), ("help()", True), ("help(os.path)\n", True),
                                       ("x = help(len)", False), ("help(len); 1", False), ("help(", False),
                                       ("helper(1)", False)])
def test_a_help_call_is_told_apart(code, asks):
    assert asks_for_help(code) is asks


# -- the whole session, through a pipe ---------------------------------------------------------


@pytest.fixture
def fake_pager(tmp_path, monkeypatch):
    """``$PAGER``: a real program that keeps what it was given in a file (it writes to the test
    process's own stdout, not to the session's recorded screen)."""
    got = tmp_path / "paged.txt"
    script = tmp_path / "fake-pager"
    script.write_text(f'#!/bin/sh\ncat >> "{got}"\necho "[fake pager: $(wc -l < "{got}") lines]"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PAGER", str(script))
    return got


def test_up_after_typing_searches_history_by_prefix(start):  # noqa: F811
    s = start()
    ready(s)
    s.submit("print('alpha-' + 'one')")
    s.expect(r"^alpha-one$")
    s.submit("print('beta-' + 'two')")
    s.expect(r"^beta-two$")
    s.send("print('al" + UP)  # the newer beta entry does not start with it
    s.expect(r"^>>> print\('alpha-' \+ 'one'\)$")
    s.send(ENTER)
    s.expect(r"^alpha-one\n(.*\n)*alpha-one$")
    s.send(UP + UP + ENTER)  # an empty line walks every entry: back two is the beta one
    s.expect(r"^beta-two\n(.*\n)*beta-two$")


def test_results_are_pretty_printed_to_the_width_and_pprint_toggles(start):  # noqa: F811
    s = start()
    ready(s)
    s.submit("{'key%d' % i: 'v' * 12 for i in range(9)}")
    s.expect(r"^\{'key0': 'vvvvvvvvvvvv',\n 'key1': 'vvvvvvvvvvvv',\n")
    s.submit("[1, 2, 3]")  # what fits stays one line
    s.expect(r"^\[1, 2, 3\]$")
    s.submit("%pprint")
    s.expect(r"^pretty printing: off")
    s.submit("{'row%d' % i: 'v' * 12 for i in range(9)}")
    s.expect(r"^\{'row0': 'vvvvvvvvvvvv', 'row1': 'vvvvvvvvvvvv', 'row2'")


def test_long_output_and_help_go_to_the_pager_when_always(start, fake_pager):  # noqa: F811
    s = start(pager="always")
    ready(s)
    s.submit("print('\\n'.join('row %d' % i for i in range(60)))")
    s.submit("help(len)")
    s.submit("%pprint on")  # a meta-command's answer is not a result: on screen, once the pager ended
    s.expect(r"^pretty printing: on")
    paged = fake_pager.read_text()
    assert "row 0\nrow 1\n" in paged and "row 59\n" in paged and "Help on built-in function len" in paged
    assert s.absent(r"^row 59$") and s.absent("Help on built-in")


def test_auto_does_not_page_where_there_is_no_terminal_and_never_does_not_page(start, fake_pager):  # noqa: F811
    for policy in ("auto", "never"):
        s = start(pager=policy)
        ready(s)
        s.submit("print('\\n'.join('%s %d' % ('row', i) for i in range(60)))")
        s.expect(r"^row 59$")
        s.close()
    assert not fake_pager.exists()


def test_more_still_pages_with_pager_never(start, fake_pager):  # noqa: F811
    s = start(pager="never")
    ready(s)
    s.submit("print('kept for more')")
    s.expect(r"^kept for more$")
    s.submit("%more")
    s.submit("print('after ' + 'more')")
    s.expect(r"^after more$")
    assert fake_pager.read_text() == "kept for more\n"


def test_run_and_load_local_files(start, tmp_path):  # noqa: F811
    script = tmp_path / "job.py"
    script.write_text("print('ran ' + 'the file')\n6 * 7\n")
    shell = tmp_path / "job.sh"
    shell.write_text("echo from-$((40 + 2))-bash\n")
    s = start()
    ready(s)
    s.submit(f"%run {script}")
    s.expect(r"^ran the file$")
    s.submit(f"%run {shell}")
    s.expect(r"^from-42-bash$")
    assert s.absent(r"^42$")  # a file runs as a script: no echo
    s.submit(f"%run {tmp_path / 'missing.py'}")
    s.expect(r"%run: cannot read \S+missing.py: No such file or directory")
    loaded = tmp_path / "snippet.py"
    loaded.write_text("print('loaded ' + 'then run')\n")
    s.submit(f"%load {loaded}")
    s.expect(r"^>>> print\('loaded ' \+ 'then run'\)$")  # in the input, not run yet
    assert s.absent(r"^loaded then run$")
    s.send(ENTER)
    s.expect(r"^loaded then run$")


def test_pprint_in_live_python(start):  # noqa: F811
    s = start(live=True)
    ready(s)
    s.submit("{'live%d' % i: 'w' * 12 for i in range(9)}")
    s.expect(r"^\{'live0': 'wwwwwwwwwwww',\n 'live1': 'wwwwwwwwwwww',\n")
    s.submit("%pprint off")
    s.submit("{'flat%d' % i: 'w' * 12 for i in range(9)}")
    s.expect(r"^\{'flat0': 'wwwwwwwwwwww', 'flat1': 'wwwwwwwwwwww', 'flat2'")


def test_capture_binds_the_output_lines_in_python(start):  # noqa: F811
    s = start()
    ready(s)
    s.submit("names = !printf 'a b\\nc\\n'")
    s.submit("names")
    s.expect(r"^\['a b', 'c'\]$")
    s.submit("lines = !echo oops; exit 3")  # a failed command is shown, and still bound
    s.expect(r"^oops\n.*exit 3")
    s.submit("lines")
    s.expect(r"^\['oops'\]$")


def test_a_pasted_transcript_runs_as_its_code(start):  # noqa: F811
    s = start()
    ready(s)
    s.send("\x1b[200~>>> pasted = 20\n>>> pasted + 1\n21\n\x1b[201~")
    s.expect(r"^>>> pasted = 20\n\.\.\. pasted \+ 1$")
    s.send("\x1b\r")  # run it as it is
    s.expect(r"^21$")
    assert s.absent("SyntaxError")


def test_reset_asks_first(start):  # noqa: F811
    s = start()
    ready(s)
    s.submit("kept = 1")
    s.submit("%reset")
    s.expect(r"every name, the cwd and the environment changes\? \[y/N\]")
    s.submit("n")
    s.expect(r"^nothing was reset$")
    s.submit("kept")
    s.expect(r"^1$")
    s.submit("%reset -f")
    s.expect(r"^session \w+ reset")
    s.submit("'kept' in dir()")
    s.expect(r"^False$")


def test_batch_reset_without_f_refuses_in_one_line_and_run_works(emulator, tmp_path):
    def batch(script: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        status = run_batch(connector_for(emulator), ReplOptions(), script, stdout=out, stderr=err)
        return int(status), out.getvalue(), err.getvalue()

    status, out, err = batch("%reset")
    assert status != 0 and err == "orgorepl: %reset asks before it forgets the session: use %reset -f here\n"
    status, out, err = batch("%reset -f")
    assert status == 0 and "reset" in out
    (tmp_path / "b.py").write_text("print('batch ' + 'run')\n")
    status, out, err = batch(f"%run {tmp_path / 'b.py'}")
    assert status == 0 and out == "batch run\n"


# -- in a real terminal ------------------------------------------------------------------------


@pytest.mark.pty
def test_pty_up_searches_history_by_prefix(isolated_env):
    from test_pty import Terminal, started

    term = Terminal(isolated_env)
    try:
        started(term)
        term.submit("print('gamma-' + 'one')")
        term.expect(r"^gamma-one$")
        term.submit("print('delta-' + 'two')")
        term.expect(r"^delta-two$")
        term.send("print('ga" + UP)
        term.expect(r"^>>> print\('gamma-' \+ 'one'\)$")
        term.send(ENTER)
        term.expect(r"^gamma-one\n(.*\n)*gamma-one$")
    finally:
        term.child.terminate(force=True)


@pytest.mark.pty
def test_pty_a_result_taller_than_the_screen_opens_the_pager(isolated_env, tmp_path):
    from test_pty import Terminal, started

    got = tmp_path / "paged.txt"
    pager = tmp_path / "fake-pager"
    pager.write_text(f'#!/bin/sh\ncat >> "{got}"\necho "[fake pager: $(wc -l < "{got}") lines]"\n')
    pager.chmod(0o755)
    term = Terminal(isolated_env, PAGER=str(pager))
    try:
        started(term)
        term.submit("print('short ' + 'output')")  # fits on the screen: printed
        term.expect(r"^short output$")
        term.submit("print('\\n'.join('line %d' % i for i in range(80)))")  # 80 rows on a 24-row screen
        term.expect(r"^\[fake pager: 80 lines\]$")
        assert got.read_text().splitlines()[-1] == "line 79"
        term.submit("help(len)")  # help() pages at any length, as Python's own REPL does
        term.expect(r"^\[fake pager: \d+ lines\]\n(.*\n)*\[fake pager: \d+ lines\]$")
        assert "Help on built-in function len" in got.read_text()
    finally:
        term.child.terminate(force=True)
