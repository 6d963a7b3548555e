"""The link to the computer, made in the background, and how a job that needed it gives up.

The connection is made after the first prompt is drawn (:class:`LinkManager`) and retried only
when a submission needs it.  Work runs in a ``submit.Job`` while the prompt's thread shows a
spinner; Ctrl-C abandons it at once (nothing is retried, and whatever it returns later is dropped).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from orgorepl import errors
from orgorepl.submit import Job

if TYPE_CHECKING:  # pragma: no cover
    from orgorepl.connect import Connection, Connector


class Abandoned(Exception):
    """The user gave up on a job before it reached the network."""


class NotConnected(Exception):
    """A submission could not run because connecting failed (already reported on screen)."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


class LinkManager:
    """The connection, made in the background; retried (only) when a submission needs it."""

    def __init__(self, connect: Connector, on_change: Callable[[], None]) -> None:
        self._connect = connect
        self._on_change = on_change
        self._cond = threading.Condition()
        self.connection: Connection | None = None
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

    def wait(self, job: Job | None = None) -> Connection:
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
