"""Stepping through a saved session on a computer, one submission per key press, for live teaching.

Each submission is shown as the REPL would show it typed (prompt, highlighting), then waits:
Enter or Space runs it, ``s`` skips it, ``q`` (or Ctrl-D, Ctrl-C) stops.  It runs through the
same pipeline as the REPL (``submit``, ``render.result``), so names, the working directory and the environment carry
from one replayed submission to the next, and the audience sees what a live session looks like.
Ctrl-C while a submission runs abandons that call (nothing is retried) and the replay goes on.

``auto=True`` runs every submission without waiting (no key presses, no spinner): a lesson can be
checked in CI before the class.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orgorepl import errors
from orgorepl import outcome as oc
from orgorepl.config import DEFAULTS
from orgorepl.exitstatus import ExitStatus
from orgorepl.modes import Mode
from orgorepl.outcome import Outcome
from orgorepl.session.carry import RemoteSession
from orgorepl.submit import Code, Job, submit
from orgorepl.transcript import Entry, Submission, Transcript, load_submissions, now_iso

if TYPE_CHECKING:  # pragma: no cover
    from prompt_toolkit.input import Input
    from prompt_toolkit.output import Output
    from prompt_toolkit.styles import BaseStyle

    from orgorepl.connect import Connection, Connector

RUN, SKIP, QUIT = "run", "skip", "quit"


@dataclass
class ReplayReport:
    total: int
    entries: list[Entry] = field(default_factory=list)  # one per submission that was run
    skipped: int = 0
    quit_at: int | None = None  # 1-based number of the submission shown when the user stopped
    session_id: str = ""

    @property
    def ran(self) -> int:
        return len(self.entries)

    @property
    def failed(self) -> int:
        return sum(1 for e in self.entries if not e.ok)

    @property
    def exit_status(self) -> int:
        return ExitStatus.OK if self.failed == 0 else ExitStatus.REMOTE_EXCEPTION


class _Screen:
    """Where the replay writes, with the REPL's style (print_formatted_text on one output)."""

    def __init__(self, output: Output | None, style: BaseStyle | None, color: bool) -> None:
        from prompt_toolkit.output import ColorDepth

        from orgorepl.ui.style import default_style

        if output is None:
            from prompt_toolkit.output.defaults import create_output

            output = create_output()
        self.output = output
        self.style = style or default_style()
        self.color_depth = None if color else ColorDepth.DEPTH_1_BIT
        self.color = color

    def print(self, fragments: Any) -> None:
        from prompt_toolkit.formatted_text import to_formatted_text

        from orgorepl.render.terminal import write_fragments

        frags = list(to_formatted_text(fragments))
        if not "".join(t for _, t, *_ in frags):
            return
        if not frags[-1][1].endswith("\n"):
            frags.append(("", "\n"))
        write_fragments(self.output, frags, style=self.style, color_depth=self.color_depth,
                        include_default_pygments_style=False)

    def note(self, text: str, *, error: bool = False) -> None:
        self.print([("class:note.error" if error else "class:note", text)])

    def submission(self, sub: Submission, cwd: str | None) -> None:
        """The submission as the REPL shows it typed: prompt, continuation prompts, highlighting."""
        from prompt_toolkit.document import Document

        from orgorepl.ui.lexer import ModeLexer
        from orgorepl.ui.prompt import continuation_fragments, prompt_fragments

        mode = Mode(sub.mode)
        lexer = ModeLexer(lambda: mode)
        document = Document(sub.source)
        get_line = lexer.lex_document(document)
        first = prompt_fragments(mode, cwd)
        width = sum(len(t) for _, t, *_ in first)
        frags: list = []
        for index in range(len(document.lines)):
            frags += first if index == 0 else continuation_fragments(mode, width)
            frags += [(style, text) for style, text, *_ in get_line(index)]
            frags.append(("", "\n"))
        self.print(frags)


def _ask(screen: _Screen, input: Input | None, position: int, total: int) -> str:
    """Wait for one key: RUN, SKIP or QUIT.  Other keys are ignored."""
    from prompt_toolkit.application import Application
    from prompt_toolkit.formatted_text import StyleAndTextTuples
    from prompt_toolkit.key_binding import KeyBindings
    from prompt_toolkit.keys import Keys
    from prompt_toolkit.layout import Layout, Window
    from prompt_toolkit.layout.controls import FormattedTextControl

    kb = KeyBindings()

    def choose(result: str) -> Callable[[Any], None]:
        def handler(event: Any) -> None:
            if not event.app.is_done:
                event.app.exit(result=result)
        return handler

    for key in ("enter", "space"):
        kb.add(key)(choose(RUN))
    kb.add("s")(choose(SKIP))
    for key in ("q", "c-d", "c-c", "<sigint>"):
        kb.add(key)(choose(QUIT))
    kb.add(Keys.Any)(lambda event: None)

    hint: StyleAndTextTuples = [
        ("class:toolbar.hint", f" replay {position}/{total} "), ("class:toolbar.sep", "│ "),
        ("class:toolbar.key", "Enter"), ("class:toolbar.hint", " run  "),
        ("class:toolbar.key", "s"), ("class:toolbar.hint", " skip  "),
        ("class:toolbar.key", "q"), ("class:toolbar.hint", " quit"),
    ]
    app: Application[str] = Application(
        layout=Layout(Window(FormattedTextControl(hint), height=1, style="class:bottom-toolbar")),
        key_bindings=kb, style=screen.style, input=input, output=screen.output,
        color_depth=screen.color_depth, erase_when_done=True,
    )
    return app.run() or QUIT


def replay(
    connection: Connection | Connector,
    submissions: Iterable[Submission | tuple[str, str]],
    *,
    input: Input | None = None,
    output: Output | None = None,
    stateful: bool = True,
    session_id: str | None = None,
    timeouts: dict[Mode, int] | None = None,
    auto: bool = False,
    color: bool = True,
    style: BaseStyle | None = None,
    transcript: Transcript | None = None,
) -> ReplayReport:
    """Step through ``submissions`` on the connection's computer; what ran is in the report.

    ``connection`` may be a connector (called here, and closed at the end) or an open
    ``Connection`` (left open).  Connecting errors (``errors.OrgoError``) propagate.
    """
    subs = [Submission(Mode(m), s) for m, s in submissions]
    own = not hasattr(connection, "client")
    conn: Connection = connection() if own else connection  # type: ignore[operator,assignment]
    limits = {Mode.PYTHON: DEFAULTS["python_timeout"], Mode.BASH: DEFAULTS["bash_timeout"]}
    limits.update(timeouts or {})
    remote = RemoteSession(stateful=stateful)
    if session_id:
        remote.session_id, remote.used = session_id, True
    screen = _Screen(output, style, color)
    report = ReplayReport(total=len(subs), session_id=remote.session_id)
    try:
        for position, sub in enumerate(subs, 1):
            screen.submission(sub, remote.short_cwd() if remote.stateful and sub.mode is Mode.BASH else None)
            choice = RUN if auto else _ask(screen, input, position, len(subs))
            if choice == QUIT:
                report.quit_at = position
                screen.note(f"replay stopped at {position} of {len(subs)}")
                break
            if choice == SKIP:
                report.skipped += 1
                screen.note("skipped")
                continue
            entry = _run_one(conn, remote, sub, limits[sub.mode], screen, input=input, wait=not auto)
            report.entries.append(entry)
            if transcript is not None:
                transcript.add(entry)
                problem = transcript.take_log_error()
                if problem:
                    screen.note(problem, error=True)
        _summary(screen, report, remote, conn)
    finally:
        if own:
            conn.close()
    return report


def run_replay(
    connection: Connection | Connector,
    source: str | os.PathLike[str] | Sequence[Submission],
    **options: Any,
) -> int:
    """``orgorepl replay FILE``: load, replay, and return the exit status (0: every submission
    that ran succeeded; 1: one failed; a client error's own status when connecting failed;
    2 when the file cannot be read)."""
    screen = _Screen(options.get("output"), options.get("style"), options.get("color", True))
    if isinstance(source, (str, os.PathLike)):
        try:
            subs = load_submissions(source)
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            screen.note(f"cannot replay {Path(source)}: {reason}", error=True)
            return ExitStatus.USAGE
        if not subs:
            screen.note(f"nothing to replay in {Path(source)}: no python or bash submissions")
            return ExitStatus.OK
    else:
        subs = list(source)
    try:
        report = replay(connection, subs, **options)
    except errors.OrgoError as err:
        from orgorepl.render.result import render_error_line

        screen.print(render_error_line(err))
        return err.exit_status
    except KeyboardInterrupt:
        return ExitStatus.INTERRUPTED
    return report.exit_status


# --------------------------------------------------------------------------------------------


def _run_one(conn: Connection, remote: RemoteSession, sub: Submission, timeout: int, screen: _Screen,
             *, input: Input | None, wait: bool) -> Entry:
    from orgorepl.render.result import render_outcome

    code = Code(sub.mode, sub.source, timeout)
    started_at = now_iso()

    def work(cancelled: Callable[[], bool] | None = None) -> Outcome:
        return submit(conn.client, conn.computer.id, remote, code, cancelled=cancelled)

    outcome = _call(work, screen, input, f"{sub.mode.value} on {conn.computer.name}", code) if wait else work()
    if outcome.status is oc.Status.INTERRUPTED and outcome.sent and sub.mode is Mode.PYTHON:
        _tell_abandoned(conn, remote)
    screen.print(render_outcome(outcome, color=screen.color))
    return Entry.from_outcome(sub.source, outcome, target=conn.computer.name, started_at=started_at)


def _tell_abandoned(conn: Connection, remote: RemoteSession) -> None:
    """The interrupted submission must not change the session: mark it on the computer now (if
    that fails, the next submission carries the mark)."""
    program = remote.abandon()
    if program is None:
        return
    tokens = list(remote.untold)
    try:
        if conn.client.exec(conn.computer.id, program, 10).success:
            remote.told(tokens)
    except errors.OrgoError:
        pass


def _call(work: Callable[[Callable[[], bool]], Outcome], screen: _Screen, input: Input | None, phase: str,
          code: Code) -> Outcome:
    """``work(cancelled)`` in a worker thread under the REPL's spinner; an interrupted Outcome
    when abandoned with Ctrl-C (``cancelled`` then stops the client's reconnect retries)."""
    from orgorepl.ui.progress import wait_with_spinner
    from orgorepl.ui.state import UiState

    def job_work(job: Job) -> Outcome:
        job.sent = True
        return work(lambda: job.abandoned)

    job = Job(job_work, phase=phase, timeout=code.timeout).start()
    finished = False
    try:
        finished = job.wait(0.05) or bool(wait_with_spinner(
            job, UiState(), input=input, output=screen.output, style=screen.style,
            color_depth=screen.color_depth))
    except KeyboardInterrupt:
        finished = False
    finally:
        if not finished:
            job.abandon()
    if not finished:
        return oc.interrupted(code.mode, sent=job.sent, duration=job.elapsed(), timeout=code.timeout)
    if job.error is not None:
        raise job.error
    result: Outcome = job.result
    return result


def _summary(screen: _Screen, report: ReplayReport, remote: RemoteSession, conn: Connection) -> None:
    parts = [f"{report.ran} of {report.total} run"]
    if report.failed:
        parts.append(f"{report.failed} did not succeed")
    if report.skipped:
        parts.append(f"{report.skipped} skipped")
    screen.note("replay done: " + ", ".join(parts))
    if remote.stateful and remote.used:
        screen.note(f"session {remote.session_id} stays on {conn.computer.name}: "
                    f"orgorepl --resume {remote.session_id} to pick it up")
