"""The interactive session and the batch mode: read -> command or code -> client -> render.

Policies that live here and nowhere else:

* The prompt comes first.  ``connect()`` (which may import httpx, start the embedded emulator
  and do HTTP) runs in a background thread started after the first prompt is on screen; the
  toolbar says "connecting…" until it is done.  A submission typed before that waits for it.
* Every client call runs in a worker thread while a spinner shows elapsed time against the
  timeout.  Ctrl-C abandons the call at once: nothing is retried, and whatever it returns later
  is dropped, never printed.
* A client error is one line; the session goes on.  Ctrl-D on an empty prompt leaves.
* Timeouts default to 10 s in Python mode (the API's own default) and 60 s in bash mode (the
  API's 200 s is long to stare at a spinner; ``%timeout`` or ``--timeout`` raise it).
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, TextIO

from orgorepl import __version__, errors
from orgorepl.commands import CommandContext, CommandResult, ComputerInfo, registry
from orgorepl.exitstatus import ExitStatus
from orgorepl.modes import Kind, Mode, classify, key_label
from orgorepl.session.carry import RemoteSession, parse_listing, python_notes

if TYPE_CHECKING:  # pragma: no cover
    from orgorepl.connect import Connection, Connector
    from orgorepl.ui.early import EarlyPrompt

DEFAULT_TIMEOUTS = {Mode.PYTHON: 10, Mode.BASH: 60}
INTERRUPTED_NOTE = "interrupted: the call was abandoned; it may still be running on the computer"
INTERRUPTED_UNSENT_NOTE = "interrupted: nothing was sent"


@dataclass
class ReplOptions:
    mode: Mode = Mode.PYTHON
    timeouts: dict[Mode, int] = field(default_factory=lambda: dict(DEFAULT_TIMEOUTS))
    vi: bool = False
    target_label: str = ""  # shown before the connection is up: a computer ref or "local emulator"
    color: bool = True
    history: bool = True  # persistent history in paths.history_file(mode)
    secret: str | None = None  # the API key: redacted from every history entry
    stateful: bool = True  # carry names, cwd and env between submissions (--stateless: False)
    session_id: str | None = None  # --resume: reattach to this remote session
    toggle_key: str = "f4"  # the key that switches modes (config toggle_key)
    history_size: int = 10000  # entries kept per mode on disk (0: none)
    theme: str = "default"
    parallel: int = 8  # fan-out: at most this many computers at a time
    output_max_bytes: int = 128 * 1024  # one result's shown part (head + tail); %more has the rest
    output_max_lines: int = 2000
    raw_escapes: bool = False  # pass the remote's control sequences through untouched
    log_path: str | None = None  # --log FILE: every submission appended as it happens


# --------------------------------------------------------------------------------------------
# One submission on the wire (shared by the interactive and the batch mode)


@dataclass(frozen=True)
class PythonRun:
    outcome: Any  # session.python_state.CellOutcome
    elapsed: float


@dataclass(frozen=True)
class BashRun:
    result: Any  # session.bash_cell.BashOutcome
    elapsed: float


def run_python(connection: "Connection", remote: "RemoteSession", code: str, timeout: int, *,
               echo: bool, cancelled: Callable[[], bool] | None = None) -> PythonRun:
    request = remote.python(code, echo=echo)
    started = time.monotonic()
    result = connection.client.exec(connection.computer.id, request.code, timeout, cancelled=cancelled)
    return PythonRun(remote.python_done(request, result), time.monotonic() - started)


def run_bash(connection: "Connection", remote: "RemoteSession", command: str, timeout: int, *,
             cancelled: Callable[[], bool] | None = None) -> BashRun:
    request = remote.bash(command)
    started = time.monotonic()
    result = connection.client.bash(connection.computer.id, request.command, timeout, cancelled=cancelled)
    return BashRun(remote.bash_done(request, result), time.monotonic() - started)


def entry_for(mode: str, source: str, outcome: Any, target: str, elapsed: float, timeout: int):
    """A transcript entry for one shown result (meta-commands are never recorded)."""
    from orgorepl.transcript import Entry

    make = Entry.from_python if mode == "python" else Entry.from_bash
    return make(source, outcome, target=target, elapsed=elapsed, timeout=timeout)


# --------------------------------------------------------------------------------------------
# Background work


class Abandoned(Exception):
    """The user gave up on a job before it reached the network."""


class NotConnected(Exception):
    """A submission could not run because connecting failed (already reported on screen)."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


class Job:
    """A blocking call in a daemon thread, which the UI can wait on or abandon."""

    def __init__(self, work: Callable[["Job"], Any], *, phase: str, timeout: int | None) -> None:
        self._work = work
        self._phase = phase
        self.timeout = timeout
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[], None]] = []
        self._done = threading.Event()
        self._abandoned = threading.Event()
        self._started = time.monotonic()
        self._ended: float | None = None
        self.result: Any = None
        self.error: BaseException | None = None
        self.sent = False  # set by the work once a request may have left

    def start(self) -> "Job":
        self._started = time.monotonic()
        threading.Thread(target=self._run, name="orgorepl-call", daemon=True).start()
        return self

    def _run(self) -> None:
        try:
            self.result = self._work(self)
        except BaseException as exc:  # handed to the waiting thread, never lost
            self.error = exc
        finally:
            with self._lock:
                self._ended = time.monotonic()
                self._done.set()
                callbacks, self._callbacks = self._callbacks, []
            if not self._abandoned.is_set():
                for callback in callbacks:
                    callback()

    # the view the spinner needs (ui.progress.Waitable)
    def phase(self) -> str:
        return self._phase

    def set_phase(self, text: str) -> None:
        self._phase = text

    def elapsed(self) -> float:
        return (self._ended or time.monotonic()) - self._started

    def add_done_callback(self, callback: Callable[[], None]) -> None:
        with self._lock:
            if not self._done.is_set():
                self._callbacks.append(callback)
                return
        callback()

    def wait(self, timeout: float | None = None) -> bool:
        return self._done.wait(timeout)

    def done(self) -> bool:
        return self._done.is_set()

    def abandon(self) -> None:
        self._abandoned.set()
        with self._lock:
            self._callbacks = []

    @property
    def abandoned(self) -> bool:
        return self._abandoned.is_set()


class LinkManager:
    """The connection, made in the background; retried (only) when a submission needs it."""

    def __init__(self, connect: "Connector", on_change: Callable[[], None]) -> None:
        self._connect = connect
        self._on_change = on_change
        self._cond = threading.Condition()
        self.connection: "Connection | None" = None
        self.error: BaseException | None = None
        self._connecting = False
        self._closed = False
        self._attempts = 0

    @property
    def started(self) -> bool:
        with self._cond:
            return self._attempts > 0

    @property
    def connecting(self) -> bool:
        with self._cond:
            return self._connecting

    def start(self) -> None:
        """Begin connecting unless connected or already trying."""
        with self._cond:
            if self._closed or self._connecting or self.connection is not None:
                return
            self._connecting = True
            self.error = None
            self._attempts += 1
        self._on_change()  # before the thread: its own report must come last
        threading.Thread(target=self._run, name="orgorepl-connect", daemon=True).start()

    def _run(self) -> None:
        connection, error = None, None
        try:
            connection = self._connect()
        except BaseException as exc:  # reported on screen, and again to whoever waits
            error = exc
        with self._cond:
            self._connecting = False
            closed = self._closed
            if not closed:
                self.connection, self.error = connection, error
            self._cond.notify_all()
        if closed and connection is not None:
            connection.close()
            return
        self._on_change()

    def wait(self, job: Job | None = None) -> "Connection":
        """The connection, waiting for it (and starting a new attempt after a failure)."""
        with self._cond:
            ready = self.connection
        if ready is not None:
            return ready
        if not self.connecting:
            self.start()
        with self._cond:
            while self._connecting and not (job and job.abandoned):
                self._cond.wait(0.1)
            if job is not None and job.abandoned:
                raise Abandoned
            if self.connection is None:
                raise self.error or errors.ConnectError("not connected")
            return self.connection

    def close(self) -> None:
        with self._cond:
            self._closed = True
            connection, self.connection = self.connection, None
        if connection is not None:
            connection.close()


# --------------------------------------------------------------------------------------------
# The interactive session


class InteractiveRepl:
    def __init__(self, connect: "Connector", options: ReplOptions, *, input=None, output=None,
                 early: "EarlyPrompt | None" = None) -> None:
        from prompt_toolkit.output import ColorDepth

        from orgorepl.ui import keys
        from orgorepl.ui.completer import ReplCompleter
        from orgorepl.ui.history import build_history
        from orgorepl.ui.lexer import ModeLexer
        from orgorepl.ui.notices import NoticeBoard
        from orgorepl.ui.session import build_session
        from orgorepl.ui.state import UiState
        from orgorepl.ui.style import load_style
        from orgorepl.ui.validation import PythonSyntaxValidator

        self.options = options
        timeouts = dict(DEFAULT_TIMEOUTS)
        timeouts.update(options.timeouts or {})
        self.state = UiState(mode=options.mode, timeouts=timeouts, target_label=options.target_label,
                             stateful=options.stateful, toggle_label=key_label(options.toggle_key))
        self.remote = RemoteSession(stateful=options.stateful)
        if options.session_id:
            self.remote.session_id = options.session_id
            self.remote.used = True
        self._targets: list | None = None  # fanout.Target per computer, once connected
        from orgorepl.render.bounded import OutputLimits
        from orgorepl.render.last_output import LastOutput
        from orgorepl.transcript import Transcript

        half = max(1, options.output_max_lines // 2)
        self.limits = OutputLimits(max_bytes_shown=options.output_max_bytes, head_lines=half, tail_lines=half)
        self.last_output = LastOutput()
        self.transcript = Transcript(secret=options.secret)
        if options.log_path:
            self.transcript.attach_log(options.log_path)  # ValueError/OSError: the CLI reports it
        get_mode = lambda: self.state.mode  # noqa: E731
        # No colour (NO_COLOR, --no-color, not a terminal) is the mono theme at 1-bit depth.
        self.theme, self.style, self._theme_warning = load_style(options.theme if options.color else "mono")
        self.color_depth = None if options.color else ColorDepth.DEPTH_1_BIT
        self.history = build_history(get_mode, persistent=options.history, secret=options.secret,
                                     max_entries=options.history_size)
        self.lexer = ModeLexer(get_mode)
        self.completer = ReplCompleter(get_mode, {c.name: c.help for c in registry.commands()})
        self.session = build_session(
            self.state,
            history=self.history,
            lexer=self.lexer,
            completer=self.completer,
            validator=PythonSyntaxValidator(get_mode),
            key_bindings=keys.build_key_bindings(self.state, toggle_key=options.toggle_key),
            style=self.style,
            vi=options.vi,
            color_depth=self.color_depth,
            input=input,
            output=output,
        )
        self.input = self.session.app.input
        self.output = self.session.app.output
        self.board = NoticeBoard(self.print)
        self.link = LinkManager(connect, self._link_changed)
        self._exit = False
        self._early = early

    # -- output

    def print(self, fragments) -> None:
        """Straight to the terminal (render.terminal), not through prompt_toolkit's printer: a
        bounded result is still up to ~130 KB, and that printer is slow on large text."""
        from prompt_toolkit.formatted_text import to_formatted_text

        from orgorepl.render.terminal import write_fragments

        frags = list(to_formatted_text(fragments))
        text = "".join(t for _, t, *_ in frags)
        if not text:
            return
        if not text.endswith("\n"):
            frags.append(("", "\n"))
        from prompt_toolkit.application import get_app_or_none, run_in_terminal

        def write() -> None:
            write_fragments(self.output, frags, style=self.style, color_depth=self.color_depth,
                            include_default_pygments_style=False)

        app = get_app_or_none()
        if app is not None and app.is_running:  # a prompt is on screen: print above it
            run_in_terminal(write, in_executor=False)
        else:
            write()

    def note(self, text: str, *, error: bool = False) -> None:
        self.print([("class:note.error" if error else "class:note", text)])

    def _error(self, err: BaseException) -> None:
        if isinstance(err, errors.OrgoError):
            from orgorepl.render.result import render_error_line

            self.print(render_error_line(err))
        else:
            self.note(f"internal error: {type(err).__name__}: {err}", error=True)

    def banner(self) -> None:
        from orgorepl.ui.prompt import banner_parts

        title, hints = banner_parts(__version__, self.state.toggle_label)
        self.print([("class:banner", title), ("class:banner.hint", hints)])

    # -- connection

    def _link_changed(self) -> None:
        from orgorepl.ui.state import Link

        link, state = self.link, self.state
        if link.connection is not None:
            computer = link.connection.computer
            state.link, state.link_error = Link.READY, None
            state.computer_name, state.computer_status = computer.name, computer.status
            where = "the local emulator" if link.connection.local else link.connection.base_url
            notice = [
                ("class:note", "connected to "),
                ("class:toolbar.computer", computer.name),
                ("class:note", f" ({computer.status}) · {computer.id} · {where}"),
            ]
            if computer.status in ("stopped", "suspended"):
                notice.append(("class:note.error", f"\n{computer.name} is {computer.status}: "
                                                    "%start starts it (or run code: it may wake it)"))
            self.board.post(notice)
        elif link.connecting:
            state.link = Link.CONNECTING
            self.board.post(None)
        elif link.error is not None:
            err = link.error
            line = err.one_line() if isinstance(err, errors.OrgoError) else f"{type(err).__name__}: {err}"
            state.link, state.link_error = Link.FAILED, line
            self.board.post([
                ("class:note.error", f"not connected: {line}"),
                ("class:note", " (the next submission tries again)"),
            ])

    def _pre_prompt(self) -> None:
        if self._early is not None:  # the painted prompt becomes the real one, in place
            early, self._early = self._early, None
            early.hand_over(lambda text: (self.output.write_raw(text), self.output.flush()))
        self.board.attach()
        if not self.link.started:
            app = self.session.app

            def first_render(_sender: Any) -> None:
                app.after_render.remove_handler(first_render)
                self.link.start()
                threading.Thread(target=self.lexer.warm_up, name="orgorepl-warm-up", daemon=True).start()

            app.after_render.add_handler(first_render)

    # -- running things

    def _wait(self, job: Job) -> bool:
        """True when the job finished; False when the user abandoned it (Ctrl-C)."""
        from orgorepl.ui.progress import wait_with_spinner

        job.start()
        finished = False
        try:
            finished = job.wait(0.05) or wait_with_spinner(
                job, self.state, input=self.input, output=self.output, style=self.style,
                color_depth=self.color_depth, pre_run=self.board.attach,
            )
        except KeyboardInterrupt:
            finished = False
        finally:
            if not finished:
                job.abandon()
        return finished

    def _call(self, work: Callable[..., Any], *, phase: str, timeout: int | None,
              cancellable: bool = False) -> Any:
        """Run ``work(connection)`` under the spinner; None when abandoned or failed (reported).

        ``cancellable``: work that runs code is called as ``work(connection, cancelled)`` and
        hands ``cancelled`` to the client, so a Ctrl-C also stops the client's reconnect retries
        (otherwise the abandoned code would be sent once the server is back).
        """
        from orgorepl.ui.state import LastCall

        def job_work(job: Job) -> Any:
            if self.link.connection is None:
                job.set_phase("connecting…")
            try:
                connection = self.link.wait(job)
            except (Abandoned, KeyboardInterrupt, SystemExit):
                raise
            except BaseException as exc:
                raise NotConnected(exc) from exc
            if job.abandoned:
                raise Abandoned
            job.set_phase(phase.format(computer=connection.computer.name))
            job.sent = True
            if cancellable:
                return work(connection, lambda: job.abandoned)
            return work(connection)

        job = Job(job_work, phase=phase.format(computer=self.state.where), timeout=timeout)
        if not self._wait(job):
            self.note(INTERRUPTED_NOTE if job.sent else INTERRUPTED_UNSENT_NOTE)
            self.state.last = LastCall("interrupted", elapsed=job.elapsed())
            return None
        if job.error is not None:
            if isinstance(job.error, (KeyboardInterrupt, SystemExit)):
                raise job.error
            if isinstance(job.error, NotConnected):
                self.note("not run: there is no connection to the computer", error=True)
            else:
                self._error(job.error)
            self.state.last = LastCall("failed", elapsed=job.elapsed())
            return None
        return job.result

    def run_python(self, code: str) -> None:
        from orgorepl.render.result import render_exec
        from orgorepl.ui.state import LastCall

        timeout = self.state.timeouts[Mode.PYTHON]
        if self._fan_out(Mode.PYTHON, code, timeout):
            return
        run = self._call(lambda c, cancelled: run_python(c, self.remote, code, timeout, echo=True,
                                                         cancelled=cancelled),
                         phase="python on {computer}", timeout=timeout, cancellable=True)
        if run is None:
            self._record_not_run("python", code)
            return
        outcome = run.outcome
        # logged before it is shown: once a result is on screen, it is on disk too
        self._record(entry_for("python", code, outcome, self.state.where, run.elapsed, timeout))
        self.print(render_exec(outcome, timeout=timeout, elapsed=run.elapsed, limits=self.limits,
                               raw_escapes=self.options.raw_escapes, color=self.options.color))
        self.last_output.keep(outcome)
        for line in python_notes(outcome, stateful=self.remote.stateful):
            self.note(line)
        self._follow_cwd()
        if outcome.timeout:
            self.state.last = LastCall("timeout", elapsed=run.elapsed)
        elif not outcome.success:
            self.state.last = LastCall("error", outcome.error_type or "error", run.elapsed)
        else:
            self.state.last = LastCall("ok", elapsed=run.elapsed)

    def run_bash(self, command: str) -> None:
        from orgorepl.render.result import render_bash
        from orgorepl.ui.state import LastCall

        timeout = self.state.timeouts[Mode.BASH]
        if self._fan_out(Mode.BASH, command, timeout):
            return
        run = self._call(lambda c, cancelled: run_bash(c, self.remote, command, timeout, cancelled=cancelled),
                         phase="bash on {computer}", timeout=timeout, cancellable=True)
        if run is None:
            self._record_not_run("bash", command)
            return
        result = run.result
        self._record(entry_for("bash", command, result, self.state.where, run.elapsed, timeout))
        self.print(render_bash(result, timeout=timeout, elapsed=run.elapsed, limits=self.limits,
                               raw_escapes=self.options.raw_escapes, color=self.options.color))
        self.last_output.keep(result)
        if self.remote.stateful and result.timeout:
            self.note("timed out: the shell session is as it was before this command")
        self._follow_cwd()
        if result.timeout:
            self.state.last = LastCall("timeout", elapsed=run.elapsed)
        elif result.exit_code not in (0, None):
            self.state.last = LastCall("exit", str(result.exit_code), run.elapsed)
        else:
            self.state.last = LastCall("ok", elapsed=run.elapsed)

    def _record_not_run(self, mode: str, source: str) -> None:
        """A submission with no result (Ctrl-C, or a client error) still belongs in the transcript."""
        from orgorepl.transcript import Entry

        last = self.state.last
        status = "interrupted" if last is not None and last.outcome == "interrupted" else "failed"
        self._record(Entry.not_run(mode, source, status=status, target=self.state.where,
                                   elapsed=last.elapsed if last is not None else 0.0))

    def _record(self, entry) -> None:
        self.transcript.add(entry)
        problem = self.transcript.take_log_error()
        if problem:
            self.note(problem, error=True)

    # -- many computers

    def targets(self) -> list:
        """One fanout.Target per computer; the first shares the single-computer session."""
        from orgorepl import fanout

        connection = self.link.connection
        if self._targets is None and connection is not None:
            self._targets = [fanout.Target(connection.targets[0], self.remote)] + [
                fanout.Target(c, RemoteSession(stateful=self.remote.stateful)) for c in connection.targets[1:]
            ]
        return self._targets or []

    def _fan_out(self, mode: Mode, text: str, timeout: int) -> bool:
        """Run on every target when there are several; False when this is a one-computer session."""
        from orgorepl import fanout
        from orgorepl.ui.state import LastCall

        if self.link.connection is None or len(self.targets()) < 2:
            return False
        targets = self.targets()
        for t in targets:
            t.session.stateful = self.remote.stateful
        results = self._call(
            lambda c, cancelled: fanout.run(c.make_async, targets, mode, text, timeout,
                                            parallel=self.options.parallel, cancelled=cancelled),
            phase=f"{mode.value} on {len(targets)} computers", timeout=timeout, cancellable=True,
        )
        if results is None:
            return True
        self.print(fanout.render(results, mode=mode, timeout=timeout))
        from orgorepl.transcript import Entry

        self.last_output.keep_text("".join(
            f"==> {r.target.name} <==\n" + (r.error.one_line() + "\n" if r.error else (r.outcome.output or ""))
            for r in results))
        self.transcript.add_group([
            Entry.not_run(mode.value, text, error=r.error, target=r.target.name, elapsed=r.elapsed)
            if r.error is not None else
            entry_for(mode.value, text, r.outcome, r.target.name, r.elapsed, timeout)
            for r in results])
        ok = sum(r.kind == "ok" for r in results)
        elapsed = max((r.elapsed for r in results), default=0.0)
        self.state.last = LastCall("ok" if ok == len(results) else "error", f"{ok}/{len(results)} ok", elapsed)
        return True

    def _edit_targets(self, payload: tuple[str, ...]) -> None:
        verb, names = payload[0], payload[1:]
        from orgorepl import fanout

        if verb == "list":
            if self.link.connection is None:
                self.note("not connected yet", error=True)
                return
            rows = [f"  {t.name}  {t.computer.id}  {t.computer.status}" for t in self.targets()]
            self.print([("class:meta.text", f"{len(rows)} target(s):\n" + "\n".join(rows))])
            return
        if verb == "add":
            from orgorepl.connect import resolve_targets

            found = self._call(lambda c: resolve_targets(c.client, list(names)),
                               phase="looking up computers", timeout=None)
            if found is None:
                return
            have = {t.computer.id for t in self.targets()}
            for computer in found:
                if computer.id not in have:
                    self.targets().append(fanout.Target(computer, RemoteSession(stateful=self.remote.stateful)))
                    self.note(f"added {computer.name} ({computer.id})")
        else:
            keep = [t for t in self.targets() if t.name not in names and t.computer.id not in names]
            unknown = [n for n in names if all(n not in (t.name, t.computer.id) for t in self.targets())]
            if unknown:
                self.note("not a target: " + ", ".join(unknown), error=True)
            if not keep:
                self.note("the last target stays: a session needs one computer", error=True)
                return
            self._targets[:] = keep
            self.remote = keep[0].session
            self.link.connection.computer = keep[0].computer
            self.state.computer_name = keep[0].name
        count = len(self.targets())
        self.note(f"{count} target(s): " + ", ".join(t.name for t in self.targets()))

    def _follow_cwd(self) -> None:
        self.state.cwd = self.remote.short_cwd() if self.remote.stateful else None

    # -- meta-commands

    def command_context(self, computer: ComputerInfo | None = None) -> CommandContext:
        connection = self.link.connection
        if computer is None and connection is not None:
            computer = ComputerInfo.from_computer(connection.computer)
        note = "connecting…" if self.link.connecting else (self.state.link_error or "not connected yet")
        return CommandContext(
            mode=self.state.mode,
            timeouts=dict(self.state.timeouts),
            target_label=self.options.target_label,
            computer=computer,
            base_url=connection.base_url if connection else None,
            local=bool(connection and connection.local),
            connection_note=note,
            history=self.history.store_for(self.state.mode).get_strings(),
            session_id=self.remote.session_id,
            stateful=self.remote.stateful,
            toggle_label=self.state.toggle_label,
        )

    def run_meta(self, line: str, name: str) -> None:
        command = registry.lookup(name)
        computer = None
        if command is not None and command.wants_fresh_computer and self.link.connection is not None:
            conn = self.link.connection
            fresh = self._call(lambda c: c.client.get_computer(c.computer.id),
                               phase="reading details of {computer}", timeout=None)
            computer = ComputerInfo.from_computer(fresh if fresh is not None else conn.computer)
            if fresh is not None:
                self.state.computer_status = fresh.status
        self.apply(registry.run(line, self.command_context(computer)))

    def apply(self, result: CommandResult) -> None:
        if result.set_mode is not None:
            self.state.mode = result.set_mode
        if result.set_timeout is not None:
            mode, seconds = result.set_timeout
            self.state.timeouts[mode] = seconds
        if result.clear_screen:
            self.output.erase_screen()
            self.output.cursor_goto(0, 0)
            self.output.flush()
        if result.text:
            self.print([("class:note.error" if result.error else "class:meta.text", result.text)])
        if result.set_stateful is not None:
            self.remote.stateful = self.state.stateful = result.set_stateful
            self._follow_cwd()
        if result.remote == "more":
            self._more()
        elif result.remote == "save-output":
            self._save_output(result.payload[0])
        elif result.remote == "save":
            self._save_transcript(result.payload[0])
        elif result.remote in ("put", "get"):
            self._transfer(result.remote, *result.payload)
        elif result.remote == "theme":
            self._switch_theme(result.payload[0] if result.payload else "")
        elif result.remote == "start":
            self._start_computer()
        elif result.remote == "target":
            self._edit_targets(result.payload)
        elif result.remote == "state":
            self._show_state()
        elif result.remote == "reset":
            self._reset_session()
        if result.exit:
            self._exit = True

    def _more(self) -> None:
        from prompt_toolkit.application import run_in_terminal

        from orgorepl.render.last_output import page_text

        text = self.last_output.text
        if text is None:
            self.note("no output yet: %more pages the last result's whole output")
            return
        run_in_terminal(lambda: page_text(text, color=self.options.color), in_executor=False) \
            if self.session.app.is_running else page_text(text, color=self.options.color)

    def _save_output(self, path: str) -> None:
        from orgorepl.render.last_output import save_output

        text = self.last_output.text
        if text is None:
            self.note("no output yet: %save-output FILE writes the last result's whole output")
            return
        try:
            written = save_output(text, os.path.expanduser(path))
        except OSError as exc:
            self.note(f"cannot write {path}: {exc.strerror or exc}", error=True)
            return
        self.note(f"wrote {written:,} bytes to {path}")

    def _save_transcript(self, path: str) -> None:
        try:
            count = self.transcript.save(os.path.expanduser(path))
        except (OSError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            self.note(f"cannot save to {path}: {reason}", error=True)
            return
        self.note(f"saved {count} submission{'s' if count != 1 else ''} to {path}")

    def _transfer(self, direction: str, source: str, destination: str | None = None) -> None:
        import sys
        from pathlib import Path

        from orgorepl import transfer

        local = Path(os.path.expanduser(source if direction == "put" else (destination or ".")))
        label = Path(source).name

        def work(c, cancelled):
            bar = transfer.ProgressLine(sys.stderr, label) if sys.stderr.isatty() else None

            def progress(done: int, total: int) -> None:
                if cancelled():
                    raise KeyboardInterrupt  # Ctrl-C: stop between chunks; the next try resumes
                if bar is not None:
                    bar.update(done, total)

            try:
                if direction == "put":
                    return transfer.put(c.client, c.computer.id, local, destination, progress=progress,
                                        cwd=self.remote.cwd)
                return transfer.get(c.client, c.computer.id, source, local if destination else None,
                                    progress=progress, cwd=self.remote.cwd)
            finally:
                if bar is not None:
                    bar.close()

        result = self._call(work, phase=f"{'uploading' if direction == 'put' else 'downloading'} {label}",
                            timeout=None, cancellable=True)
        if result is not None:
            self.note(result.summary("uploaded" if direction == "put" else "downloaded"))

    def _switch_theme(self, name: str) -> None:
        from orgorepl import themes
        from orgorepl.ui.style import load_style

        if not name:
            names = ", ".join(themes.available())
            self.print([("class:meta.text", f"theme: {self.theme.name}; available: {names}")])
            return
        if not self.options.color:
            self.note("colours are off (NO_COLOR or --no-color): the theme stays mono", error=True)
            return
        theme, style, warning = load_style(name)
        if warning:
            self.note(warning.replace(" — using the default theme", " — the theme is unchanged"), error=True)
            return
        self.theme, self.style = theme, style
        self.session.style = style
        self.note(f"theme: {theme.name}")

    def _start_computer(self) -> None:
        from orgorepl.lifecycle import change_state

        done = self._call(lambda c: change_state(c.client, c.computer, "start"),
                          phase="starting {computer}", timeout=None)
        if done is None:
            return
        self.state.computer_status = done.computer.status
        self.note(f"{done.computer.name} is already running" if not done.changed
                  else f"{done.computer.name} is running ({done.waited:.1f}s)")

    def _housekeeping(self, program: str, phase: str, failure: str) -> str | None:
        """Run one of the session's own programs on the computer; its output, or None (said why)."""
        result = self._call(lambda c, cancelled: c.client.exec(c.computer.id, program, 30, cancelled=cancelled),
                            phase=phase, timeout=30, cancellable=True)
        if result is None:
            return None
        if not result.success:
            self.note(f"{failure}: {result.error_type}: {result.error}", error=True)
            return None
        return result.output

    def _show_state(self) -> None:
        from orgorepl.commands import format_state

        output = self._housekeeping(self.remote.listing_program(), "reading the session on {computer}",
                                    "could not read the session")
        if output is not None:
            self.print([("class:meta.text", format_state(parse_listing(output), self.remote.session_id))])

    def _reset_session(self) -> None:
        if self._housekeeping(self.remote.reset_program(), "resetting the session on {computer}",
                              "could not reset the session") is None:
            return
        self.remote.cwd = None
        self._follow_cwd()
        self.note(f"session {self.remote.session_id} reset: no names, and the computer's default "
                  "directory and environment")

    def handle(self, text: str) -> None:
        target = classify(text, self.state.mode)
        if target.kind is Kind.EMPTY:
            return
        if target.kind is Kind.META:
            self.run_meta(target.text, target.meta_name)
            return
        self.completer.learn(target.text, target.mode)
        if target.mode is Mode.PYTHON:
            self.run_python(target.text)
        else:
            self.run_bash(target.text)

    def run(self) -> int:
        if self._early is None or not self._early.banner_shown:
            self.banner()
        if self._theme_warning:
            self.board.post([("class:note.error", self._theme_warning)])
        try:
            while not self._exit:
                try:
                    text = self.session.prompt(pre_run=self._pre_prompt)
                except KeyboardInterrupt:  # Ctrl-C outside the prompt's own binding
                    continue
                except EOFError:  # Ctrl-D on an empty prompt, or input closed
                    break
                try:
                    self.handle(text)
                except KeyboardInterrupt:
                    self.note(INTERRUPTED_NOTE)
        finally:
            for fragments in self.board.drain():
                self.print(fragments)
            if self.remote.stateful and self.remote.used and self.link.connection is not None:
                sid = self.remote.session_id
                self.note(f"session {sid} stays on {self.state.where}: orgorepl --resume {sid} to pick it up")
            self.link.close()
        return ExitStatus.OK


def run_interactive(connect: "Connector", options: ReplOptions, *, input=None, output=None,
                    early: "EarlyPrompt | None" = None) -> int:
    """Open the interactive session; return the exit status when the user leaves.

    ``early`` is what ``ui.early.paint_early_prompt`` returned if the entry point painted the
    banner and prompt before loading the rest; the session then takes that prompt over.
    """
    try:
        repl = InteractiveRepl(connect, options, input=input, output=output, early=early)
    except BaseException:
        if early is not None:
            early.abandon()
        raise
    return repl.run()


# --------------------------------------------------------------------------------------------
# Batch mode: stdin is not a terminal


def run_batch(connect: "Connector", options: ReplOptions, script: str, *, stdout: TextIO, stderr: TextIO) -> int:
    """Run the whole ``script`` as one submission in ``options.mode``; return the exit status.

    Output is written as the computer produced it (stdout), problems go to stderr as plain
    lines.  Python scripts run like ``python3 < file``: no expression echo.
    """
    target = classify(script, options.mode)
    if target.kind is Kind.EMPTY:
        return ExitStatus.OK
    timeouts = dict(DEFAULT_TIMEOUTS)
    timeouts.update(options.timeouts or {})

    def fail(line: str) -> None:
        stderr.write(f"orgorepl: {line}\n")
        stderr.flush()

    try:
        connection = connect()
    except errors.OrgoError as err:
        fail(err.one_line())
        return err.exit_status
    except KeyboardInterrupt:
        return ExitStatus.INTERRUPTED
    try:
        if target.kind is Kind.META:
            ctx = CommandContext(
                mode=options.mode, timeouts=timeouts, target_label=options.target_label,
                computer=ComputerInfo.from_computer(connection.computer),
                base_url=connection.base_url, local=connection.local,
            )
            result = registry.run(target.text, ctx)
            if result.text:
                (stderr if result.error else stdout).write(result.text + "\n")
            return ExitStatus.USAGE if result.error else ExitStatus.OK
        # A script runs like `python3 < file`: raw, unless it joins a session with --resume.
        remote = RemoteSession(stateful=options.session_id is not None and options.stateful)
        if options.session_id:
            remote.session_id = options.session_id
        if target.mode is Mode.PYTHON:
            return _batch_python(connection, remote, target.text, timeouts[Mode.PYTHON], stdout, stderr)
        return _batch_bash(connection, remote, target.text, timeouts[Mode.BASH], stdout, stderr)
    except errors.OrgoError as err:
        fail(err.one_line())
        return err.exit_status
    except KeyboardInterrupt:
        fail("interrupted; the code may still be running on the computer")
        return ExitStatus.INTERRUPTED
    finally:
        stdout.flush()
        stderr.flush()
        connection.close()


def _batch_python(connection: "Connection", remote: RemoteSession, code: str, timeout: int,
                  stdout: TextIO, stderr: TextIO) -> int:
    outcome = run_python(connection, remote, code, timeout, echo=False).outcome
    stdout.write(outcome.output or "")
    stdout.flush()
    if outcome.timeout:
        stderr.write(f"orgorepl: TIMEOUT: the code ran past its {timeout}s limit and was killed\n")
        return ExitStatus.REMOTE_TIMEOUT
    if not outcome.success:
        traceback = (outcome.traceback or "").rstrip("\n")
        stderr.write((traceback or f"{outcome.error_type or 'Error'}: {outcome.error or ''}") + "\n")
        return ExitStatus.REMOTE_EXCEPTION
    return ExitStatus.OK


def _batch_bash(connection: "Connection", remote: RemoteSession, command: str, timeout: int,
                stdout: TextIO, stderr: TextIO) -> int:
    result = run_bash(connection, remote, command, timeout).result
    stdout.write(result.output or "")
    stdout.flush()
    if result.timeout:
        stderr.write(f"orgorepl: TIMEOUT: the command ran past its {timeout}s limit and was killed\n")
        return ExitStatus.REMOTE_TIMEOUT
    if result.exit_code is None:
        stderr.write("orgorepl: the computer reported no exit code\n")
        return ExitStatus.SERVER
    return result.exit_code
