"""The interactive session's live controls: ``%live on|off``, ``%detach`` and ``--live --resume``.

``LiveControls`` is the part of ``InteractiveRepl`` that makes, ends, leaves and takes over the
live session (``repl.live.LiveShellView``); each is a policy of the session, not of the loop.
Leaving ends the live shell and interpreter on the computer (as closing ssh does); only
``%detach`` leaves them running, for a later ``--live --resume ID``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from orgorepl.repl.live import LiveShellView

if TYPE_CHECKING:  # pragma: no cover
    from orgorepl import outcome as oc
    from orgorepl.render.bounded import OutputLimits
    from orgorepl.repl.jobs import LinkManager
    from orgorepl.repl.options import ReplOptions
    from orgorepl.session.carry import RemoteSession
    from orgorepl.ui.state import UiState


class LiveControls:
    # what the session provides (InteractiveRepl)
    live: LiveShellView | None
    options: ReplOptions
    limits: OutputLimits
    remote: RemoteSession
    state: UiState
    link: LinkManager
    _run: Callable[..., Any]
    _window: Callable[[], tuple[int, int]]

    def print(self, fragments: Any, *, now: bool = False) -> None: ...

    def show(self, text: str, *, error: bool = False) -> None: ...

    def clear_screen(self) -> None: ...

    def request_exit(self) -> None: ...

    def _show_outcome(self, outcome: oc.Outcome, *, streamed: bool = False) -> None: ...

    def set_live(self, live: bool) -> None:
        if live and self.live is None:
            self.live = LiveShellView(lambda f: self.print(f, now=True), color=self.options.color,
                                      limits=self.limits, size=self._window, clear=self.clear_screen,
                                      session_id=lambda: self.remote.session_id,
                                      hard_limit=self.options.live_hard_limit)
        elif not live and self.live is not None:
            self.live.close(end=True)
            self.live = None

    def detach(self) -> None:
        """Leave, with the live shell and interpreter running on the computer for ``--resume``."""
        if self.live is None or not self.live.started:
            self.show("%detach: no live session is running (%exit leaves)", error=True)
            return
        self.live.close(end=False)
        self.live = None
        sid = self.remote.session_id
        self.show(f"detached: the live session goes on on {self.state.where}; "
                  f"orgorepl --live --resume {sid} picks it up")
        self.request_exit()

    def _resume_live(self) -> None:
        """``--live --resume ID``: take over the session's shell and interpreter where they run,
        show what they printed meanwhile, and wait for a submission still running."""
        live, sid = self.live, self.remote.session_id
        assert live is not None
        self.link.start()
        job, finished = self._run(lambda c, cancelled: live.resume(c), phase="reattaching live session on {computer}",
                                  timeout=None)
        if not finished or job.error is not None:
            self.show(f"live: session {sid} could not be reattached"
                      + (f" ({job.error})" if job.error is not None else ""), error=True)
            return
        if not job.result:
            self.show(f"live: no live session {sid} is running on {self.state.where}: "
                      "a new one starts with the first submission")
        for mode, resumed in job.result:
            lost = f"; {resumed.lost} bytes of its output were dropped meanwhile" if resumed.lost else ""
            said = ", what it printed meanwhile:" if resumed.output else ""
            self.show(f"live {mode.value} of session {sid} resumed{lost}{said}")
            live.show_text(resumed.output)
            if resumed.busy:
                self.show("a submission started before is still running: its output follows (Ctrl-C interrupts it)")
                job, finished = live.adopt(self._run, mode)
                if finished and job.error is None:
                    self._show_outcome(job.result, streamed=live.take_streamed())
