"""Batch mode: stdin is not a terminal, so the whole input is one submission, like ``python3 < file``.

Output goes to stdout as the computer produced it (every byte into a pipe; sanitised on a
terminal), the verdict to stderr, and the exit status is the Outcome's.  A meta-command piped in
runs through the same effects table as at the prompt (``repl.effects``): it either works, or
says in one line why it cannot here and exits non-zero.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO, TypeVar

from orgorepl import errors, fanout
from orgorepl.commands import CommandContext, ComputerInfo, registry
from orgorepl.console import Console
from orgorepl.exitstatus import ExitStatus
from orgorepl.modes import Kind, Mode, classify
from orgorepl.repl import effects
from orgorepl.repl.options import ReplOptions
from orgorepl.session.carry import RemoteSession
from orgorepl.submit import Code, submit

if TYPE_CHECKING:  # pragma: no cover
    from orgorepl.connect import Connection, Connector

T = TypeVar("T")


class BatchHost:
    """``effects.Host`` on plain streams, for one meta-command piped in."""

    def __init__(self, console: Console, connection: Connection, options: ReplOptions, remote: RemoteSession) -> None:
        from orgorepl.render.last_output import LastOutput
        from orgorepl.transcript import Transcript

        self.console, self.connection, self.options = console, connection, options
        self.remote = remote
        self.last_output = LastOutput()
        self.transcript = Transcript(secret=options.secret)
        self.timeouts = options.all_timeouts()
        self.mode = options.mode
        self.status = int(ExitStatus.OK)

    def fail(self, text: str, status: int) -> None:
        self.console.error(text)
        self.status = self.status or status

    def show(self, text: str, *, error: bool = False) -> None:
        if error:
            self.fail(text, ExitStatus.REMOTE_EXCEPTION)
        else:
            self.console.line(text)

    def call(self, work: Callable[[Connection, effects.Cancelled], T], *, phase: str,
             timeout: int | None) -> T | None:
        self.console.status(phase.format(computer=self.connection.computer.name))
        try:
            return work(self.connection, lambda: False)
        except errors.OrgoError as err:
            self.fail(err.one_line(), err.exit_status)
        except KeyboardInterrupt:
            self.fail("interrupted: the command was stopped", ExitStatus.INTERRUPTED)
        finally:
            self.console.done_status()
        return None

    def progress(self, text: str) -> None:
        self.console.status(text)

    def set_mode(self, mode: Mode) -> None:
        self.mode = mode

    def set_timeout(self, mode: Mode, seconds: int) -> None:
        self.timeouts[mode] = seconds

    def set_stateful(self, stateful: bool) -> None:
        self.remote.stateful = stateful

    def clear_screen(self) -> None:
        self.console.clear_screen()

    def request_exit(self) -> None:
        pass

    def page(self, text: str) -> None:
        self.console.page(text)

    def switch_theme(self, name: str | None) -> None:
        from orgorepl import themes

        if name is None:
            self.console.line("themes: " + ", ".join(themes.available()))
            return
        self.fail(f"%theme {name}: there is no prompt to colour in batch mode (use --theme or theme in "
                  "config.toml)", ExitStatus.USAGE)

    def edit_targets(self, verb: str, names: tuple[str, ...]) -> None:
        if verb == "list":
            rows = [f"  {c.name}  {c.id}  {c.status}" for c in self.connection.targets]
            self.console.line(f"{len(rows)} target(s):\n" + "\n".join(rows))
            return
        self.fail(f"%target {verb}: batch mode runs one submission; choose computers with --computer",
                  ExitStatus.USAGE)

    def computer_status(self, status: str) -> None:
        pass

    def session_reset(self) -> None:
        pass

    def set_live(self, live: bool) -> None:
        self.fail("%live: batch mode runs over /exec and /bash (a live shell is for the interactive session)",
                  ExitStatus.USAGE)

    def detach(self) -> None:
        self.fail("%detach: batch mode has no live session to leave running", ExitStatus.USAGE)

    def terminal_fds(self) -> tuple[int, int] | None:
        return None  # batch input is a script, not a person at a terminal

    def confirm(self, question: str, *, otherwise: str) -> bool | None:
        self.fail(otherwise, ExitStatus.USAGE)  # nobody to ask
        return None

    def run_source(self, mode: Mode, text: str) -> None:
        code = Code(mode, text, self.timeouts[mode], echo=False)
        status = self.console.report(submit(self.connection.client, self.connection.computer.id, self.remote, code))
        self.status = self.status or int(status)

    def load_input(self, mode: Mode, text: str) -> None:
        self.fail("%load: batch mode has no input line to put the file in (%run FILE runs it)", ExitStatus.USAGE)

    def set_pprint(self, on: bool) -> None:
        self.fail("%pprint: batch mode shows no expression values (it runs like python3 < file)", ExitStatus.USAGE)


def run_batch(connect: Connector, options: ReplOptions, script: str, *, stdout: TextIO | None = None,
              stderr: TextIO | None = None, console: Console | None = None) -> int:
    """Run the whole ``script`` as one submission in ``options.mode``; return the exit status.

    Python scripts run like ``python3 < file``: no expression echo.  With several computers the
    script runs on each (fan-out) and the results are grouped.
    """
    console = console or Console.from_env("always" if options.color else "never", stdout=stdout, stderr=stderr)
    target = classify(script, options.mode)
    if target.kind is Kind.EMPTY:
        return ExitStatus.OK
    try:
        connection = connect()
    except errors.OrgoError as err:
        console.error(err.one_line())
        return err.exit_status
    except KeyboardInterrupt:
        return ExitStatus.INTERRUPTED
    # A script runs like `python3 < file`: raw, unless it joins a session with --resume.
    remote = RemoteSession(stateful=options.session_id is not None and options.stateful)
    if options.session_id:
        remote.session_id = options.session_id
    try:
        if target.kind is Kind.META:
            return _meta(console, connection, options, remote, target.text)
        code = Code(target.mode, target.text, options.all_timeouts()[target.mode], echo=False)
        if len(connection.targets) > 1:
            targets = [fanout.Target(c, RemoteSession(stateful=False)) for c in connection.targets]
            results = fanout.run(connection.make_async, targets, code.mode, code.text, code.timeout,
                                 parallel=options.parallel, echo=False)
            return fanout.report(console, results)
        return console.report(submit(connection.client, connection.computer.id, remote, code))
    except KeyboardInterrupt:
        console.error("interrupted; the code may still be running on the computer")
        _mark_abandoned(connection, remote)
        return ExitStatus.INTERRUPTED
    finally:
        connection.close()


def _mark_abandoned(connection: Connection, remote: RemoteSession) -> None:
    """A session's submission interrupted (``--resume``): it must not change the session, so mark
    it on the computer before leaving; if the computer does not answer, it may still save."""
    program = remote.abandon()
    if program is None:
        return
    try:
        connection.client.exec(connection.computer.id, program, 5)
    except (errors.OrgoError, KeyboardInterrupt):
        pass


def _meta(console: Console, connection: Connection, options: ReplOptions, remote: RemoteSession, line: str) -> int:
    host = BatchHost(console, connection, options, remote)
    ctx = CommandContext(
        mode=options.mode, timeouts=host.timeouts, target_label=options.target_label,
        computer=ComputerInfo.from_computer(connection.computer), base_url=connection.base_url,
        local=connection.local, session_id=remote.session_id, stateful=remote.stateful,
    )
    result = registry.run(line, ctx)
    if result.error:
        console.error(result.text)
        return ExitStatus.USAGE
    effects.apply(host, result)
    return host.status
