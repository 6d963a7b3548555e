"""Work against the computer while the prompt's thread shows a spinner (the REPL's part of it).

``SpinnerCalls`` is the half of ``InteractiveRepl`` that runs a client call in a ``Job`` and
waits under ``ui.progress``: Ctrl-C abandons it (or, live, interrupts it on the computer), and a
live submission that goes full screen is given the terminal and then waited on again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from orgorepl import errors
from orgorepl import outcome as oc
from orgorepl.repl import effects
from orgorepl.repl.jobs import Abandoned, Job, LinkManager, NotConnected

if TYPE_CHECKING:  # pragma: no cover
    from orgorepl.connect import Connection
    from orgorepl.repl.live import LiveShellView
    from orgorepl.session.carry import RemoteSession
    from orgorepl.ui.notices import NoticeBoard
    from orgorepl.ui.state import UiState

T = TypeVar("T")


class SpinnerCalls:
    # what the session provides (InteractiveRepl)
    link: LinkManager
    state: UiState
    input: Any
    output: Any
    style: Any
    color_depth: Any
    board: NoticeBoard
    _job: Job | None

    def terminal_fds(self) -> tuple[int, int] | None: ...

    def _show_outcome(self, outcome: oc.Outcome, *, streamed: bool = False) -> None: ...

    def _run(self, work: Callable[[Connection, effects.Cancelled], Any], *, phase: str,
             timeout: int | None, live: LiveShellView | None = None) -> tuple[Job, bool]:
        """Run ``work(connection, cancelled)`` in a job; (the job, whether it finished)."""
        from orgorepl.ui.progress import wait_with_spinner

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
            return work(connection, lambda: job.abandoned)

        job = Job(job_work, phase=phase.format(computer=self.state.where), timeout=timeout)
        self._job = job.start()
        finished: bool | None = False
        try:
            finished = job.wait(0.05)
            while not finished:
                finished = wait_with_spinner(job, self.state, input=self.input, output=self.output, style=self.style,
                                             color_depth=self.color_depth, pre_run=self.board.attach, live=live)
                if finished is None and live is not None:  # full screen (vim, less, top): its terminal now
                    live.full_screen(self.terminal_fds())
                elif not finished:
                    break
        except KeyboardInterrupt:
            finished = False
        finally:
            self._job = None
            if not finished:
                job.abandon()
        if finished and isinstance(job.error, (KeyboardInterrupt, SystemExit)):
            raise job.error
        return job, bool(finished)

    def call(self, work: Callable[[Connection, effects.Cancelled], T], *, phase: str,
             timeout: int | None) -> T | None:
        """``effects.Host.call``: the work's result, or None when it failed or was abandoned (shown)."""
        from orgorepl.ui.state import LastCall

        job, finished = self._run(work, phase=phase, timeout=timeout)
        if not finished or job.error is not None:
            if not finished:
                failure = oc.interrupted(self.state.mode, sent=job.sent, duration=job.elapsed())
            elif isinstance(job.error, NotConnected):
                failure = oc.not_connected(self.state.mode)
            else:
                failure = oc.failed(self.state.mode, job.error or errors.OrgoError("no result"),
                                    duration=job.elapsed())
            self._show_outcome(failure)
            self.state.last = LastCall.of(failure)
            return None
        return job.result

    def progress(self, text: str) -> None:
        job = self._job
        if job is not None:
            job.set_phase(text)

    def tell_abandoned(self, remote: RemoteSession, computer_id: str | None = None) -> None:
        """A stateful Python submission was given up with Ctrl-C: tell the computer at once, in
        the background, that it must not change the session (issue 14).  If the computer cannot
        be reached now, the session keeps the mark and the next submission carries it."""
        import threading

        program = remote.abandon()
        connection = self.link.connection
        if program is None or connection is None:
            return
        tokens = list(remote.untold)

        def send() -> None:
            try:
                result = connection.client.exec(computer_id or connection.computer.id, program, 10)
            except Exception:  # unreachable, refused: the next submission carries the mark
                return
            if result.success:
                remote.told(tokens)

        threading.Thread(target=send, name="orgorepl-abandon", daemon=True).start()
