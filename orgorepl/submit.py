"""The one submission path: text -> the session's wire request -> the client -> an Outcome.

The interactive REPL, batch mode, the one-shot commands, fan-out and replay all send code
through :func:`submit` (or :func:`submit_async`, for fan-out's async client), so a reply is
read, classified and turned into notes in exactly one way.  A request that fails becomes an
``Outcome`` too (``refused`` / ``unreachable``): front ends never catch client errors of a
submission themselves.  Ctrl-C is the caller's: it abandons the call and records
``outcome.interrupted``.

Output arrives in pieces: ``on_piece`` sees each piece as it is fed.  Over HTTP the whole output
comes in one answer, so it is one piece when the answer arrives; a streaming transport feeds the
same builder as bytes come, and no front end changes.

:class:`Job` runs a blocking call (a submission, a transfer) in a daemon thread that a front end
waits on under its spinner and can abandon with Ctrl-C.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from orgorepl import errors
from orgorepl import outcome as oc
from orgorepl.modes import Mode
from orgorepl.session.carry import BashRequest, PythonRequest, RemoteSession

Cancelled = Callable[[], bool]
OnPiece = Callable[[oc.Piece], None]


@dataclass(frozen=True)
class Code:
    """One piece of code to run, in one mode, with its time limit."""

    mode: Mode
    text: str
    timeout: int
    echo: bool = True  # Python: show a final expression's value (a REPL does; a script does not)
    width: int = 0  # Python: pretty-print that value to this many columns (0: its plain repr)


class _Wire:
    """One submission's request and how its answer becomes an Outcome (shared by sync and async)."""

    def __init__(self, session: RemoteSession, sub: Code) -> None:
        self.session, self.sub = session, sub
        self.request: PythonRequest | BashRequest
        if sub.mode is Mode.PYTHON:
            self.request = session.python(sub.text, echo=sub.echo, width=sub.width)
            self.endpoint, self.body = "exec", self.request.code
        else:
            self.request = session.bash(sub.text)
            self.endpoint, self.body = "bash", self.request.command
        self.started = time.monotonic()

    def call(self, client: Any, computer_id: str, cancelled: Cancelled | None) -> Any:
        return getattr(client, self.endpoint)(computer_id, self.body, self.sub.timeout, cancelled=cancelled)

    def done(self, result: Any, on_piece: OnPiece | None) -> oc.Outcome:
        duration = time.monotonic() - self.started
        if isinstance(self.request, PythonRequest):
            outcome = self.session.python_outcome(self.request, result, duration=duration, timeout=self.sub.timeout)
        else:
            outcome = self.session.bash_outcome(self.request, result, duration=duration, timeout=self.sub.timeout)
        if on_piece is not None:
            for piece in outcome.pieces:
                on_piece(piece)
        return outcome

    def failed(self, err: errors.OrgoError) -> oc.Outcome:
        return oc.failed(self.sub.mode, err, duration=time.monotonic() - self.started, timeout=self.sub.timeout)


def submit(client: Any, computer_id: str, session: RemoteSession, sub: Code, *,
           cancelled: Cancelled | None = None, on_piece: OnPiece | None = None) -> oc.Outcome:
    """Run one submission with a blocking client (``client.OrgoClient``)."""
    wire = _Wire(session, sub)
    try:
        result = wire.call(client, computer_id, cancelled)
    except errors.OrgoError as err:
        return wire.failed(err)
    return wire.done(result, on_piece)


async def submit_async(client: Any, computer_id: str, session: RemoteSession, sub: Code, *,
                       cancelled: Cancelled | None = None, on_piece: OnPiece | None = None) -> oc.Outcome:
    """Run one submission with an async client (``client.AsyncOrgoClient``)."""
    wire = _Wire(session, sub)
    try:
        result = await wire.call(client, computer_id, cancelled)
    except errors.OrgoError as err:
        return wire.failed(err)
    return wire.done(result, on_piece)


class Job:
    """A blocking call in a daemon thread, which the UI can wait on or abandon."""

    def __init__(self, work: Callable[[Job], Any], *, phase: str, timeout: int | None) -> None:
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

    def start(self) -> Job:
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
