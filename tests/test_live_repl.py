"""The interactive session with a live bash, driven through prompt_toolkit's pipe input."""

from __future__ import annotations

from orgorepl import errors
from orgorepl.connect import Connection

from test_repl import connector_for, ready, start  # noqa: F401 - the fixture


class NoTerminalClient:
    """The real client, on a server whose terminal cannot be reached (a fault the emulator,
    which always has one, cannot produce)."""

    def __init__(self, client) -> None:
        self._client = client

    def __getattr__(self, name):
        return getattr(self._client, name)

    def terminal_access(self, computer_id, *, fresh_token=False):
        raise errors.TerminalNotFoundError("the server has no terminal at this address (HTTP 404)")


def test_live_bash_keeps_the_shell_between_submissions(start):  # noqa: F811
    session = start(live=True)
    ready(session)
    session.send("\x1bOS")  # F4: bash mode
    session.submit("LIVE_VAR=kept-$((6*7)); set -o noclobber")
    session.submit("echo $LIVE_VAR; set -o | grep noclobber")
    session.expect(r"kept-42\nnoclobber\s+on")
    session.submit("%exit")  # leaving ends the live shell on the computer, and says so
    session.expect(r"^live session [0-9a-f]+ ended on \S+ \(%detach leaves it running\)$")


def test_without_a_terminal_live_says_so_once_and_bash_runs_over_http(start, emulator):  # noqa: F811
    real = connector_for(emulator)

    def connect() -> Connection:
        connection = real()
        connection.client = NoTerminalClient(connection.client)
        return connection

    session = start(live=True, connect=connect)
    ready(session)
    session.send("\x1bOS")
    session.submit("echo over-$((40+2))")
    session.expect(r"live: the terminal cannot be reached \(the server has no terminal")
    session.expect(r"^over-42$")
    session.submit("%live")
    session.expect(r"live: off")
    session.submit("echo again")
    session.expect(r"^again$")
    assert session.screen.text().count("cannot be reached") == 1


def test_live_python_keeps_every_object_and_starts_in_the_live_shells_directory(start, tmp_path):  # noqa: F811
    session = start(live=True)
    ready(session)
    session.submit("g = (i * i for i in range(5)); next(g)")
    session.expect(r"^0$")
    session.submit("next(g), next(g)")
    session.expect(r"^\(1, 4\)$")  # a generator lives on between submissions: nothing is pickled
    (tmp_path / "there").mkdir()
    session.send("\x1bOS")  # bash
    session.submit(f"cd {tmp_path}/there")
    session.send("\x1bOS")  # back to Python
    session.submit("import os; os.getcwd()")
    session.expect(rf"^'{tmp_path}/there'$")
    session.submit("next(g)")
    session.expect(r"^9$")


def test_over_http_the_session_suggests_live_once_where_it_would_have_helped(start):  # noqa: F811
    session = start()
    ready(session)
    session.submit("name = input('name? ')")
    session.expect(r"EOFError")
    session.expect(r"input\(\) found no keyboard over HTTP: with %live on, what you type answers it")
    session.send("\x1bOS")  # bash
    session.submit("tty")
    session.expect(r"that command needs a terminal, which HTTP does not give: %live on runs it in one")
    session.submit("tty; echo second")
    session.expect(r"^second$")
    assert session.screen.text().count("needs a terminal") == 1  # once per kind, not on every submission


def test_clear_in_live_bash_clears_the_screen_instead_of_showing_its_sequences(start):  # noqa: F811
    session = start(live=True)
    ready(session)
    session.send("\x1bOS")
    session.submit("echo before-clear")
    session.expect(r"^before-clear$")
    session.submit("clear; echo after-clear")
    session.expect(r"^after-clear$")
    screen = session.screen.text()
    assert "before-clear" not in screen and "^[" not in screen


def test_a_hard_time_limit_stops_a_live_submission_and_the_session_goes_on(start):  # noqa: F811
    session = start(live=True, live_hard_limit=True)
    ready(session)
    session.send("\x1bOS")  # bash
    session.submit("%timeout 2")
    session.submit("KEEP=yes; echo begun; sleep 30; echo never")
    session.expect(r"^begun$")
    session.expect(r"TIMEOUT after 2s")
    session.expect(r"stopped at the 2s time limit")
    session.submit("(trap '' INT; exec sleep 30); echo after-quit")  # deaf to Ctrl-C: the stronger stop
    session.expect(r"after-quit")
    session.submit("echo $KEEP")
    session.expect(r"^yes$")
    session.send("\x1bOS")  # Python
    session.submit("%timeout 2")
    session.submit("import time\nx = 5\ntime.sleep(30)")
    session.expect(r"TIMEOUT after 2s")
    session.submit("x + 1")
    session.expect(r"^6$")
    assert "never" not in session.screen.text().splitlines()  # only in the typed line, never as output


def test_python_moving_takes_bash_along_and_back(start, tmp_path):  # noqa: F811
    (tmp_path / "from python").mkdir()
    (tmp_path / "from bash").mkdir()
    session = start(live=True)
    ready(session)
    session.submit(f"import os; os.chdir({str(tmp_path / 'from python')!r})")
    session.send("\x1bOS")  # bash
    session.submit("pwd; echo $? ${OLDPWD:+has-oldpwd}")
    session.expect(rf"^{tmp_path}/from python\n0 has-oldpwd$")
    session.submit(f"cd '{tmp_path}/from bash'")
    session.send("\x1bOS")  # Python again: it follows bash, and a cell of its own does not move it back
    session.submit("os.getcwd()")
    session.expect(rf"^'{tmp_path}/from bash'$")
    session.submit("os.getcwd()")
    session.expect(rf"^'{tmp_path}/from bash'$")
    assert session.screen.text().count("builtin cd") == 0  # the follow is never shown


def test_the_alternate_screen_is_seen_when_its_sequence_is_cut_between_pieces():
    """A program's output reaches the view in pieces cut anywhere (the supervisor's reads, the
    socket's frames): ``ESC[?10`` + ``49h`` is still a full-screen program."""
    from orgorepl import outcome as oc
    from orgorepl.render.bounded import OutputLimits
    from orgorepl.render.stream import StreamView
    from orgorepl.repl.live import LiveShellView

    shown: list = []
    view = LiveShellView(shown.append, color=False, limits=OutputLimits(), size=lambda: (80, 24))
    view._view = StreamView(color=False, limits=OutputLimits())
    view._piece(oc.Piece("before\n\x1b[?10", oc.Stream.COMBINED))
    assert not view.wants_screen()
    view._piece(oc.Piece("49h\x1b[Hvim's screen", oc.Stream.COMBINED))
    assert view.wants_screen()
    view.finish()
    text = "".join(t for _, t in (f for frags in shown for f in frags))
    assert "before" in text and "49h" not in text and "vim's screen" not in text
