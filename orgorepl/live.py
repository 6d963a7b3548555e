"""Live bash: submissions run in one persistent shell on the computer's terminal (issue 12's base).

``LiveShell`` is the asynchronous core: it opens the terminal (``client.terminal``), sets the
shell up and runs one submission at a time through the framing of ``session.live_bash``,
feeding an ``OutcomeBuilder`` as output arrives, so a front end can show it as it comes.
``LiveBash`` (below) is the blocking face a thread-based front end uses: it owns an event loop
on a thread of its own and forwards Ctrl-C to the remote, where it is a real SIGINT.

What a submission's Outcome says: ``ok``/``exit`` with the shell's ``$?``; ``interrupted``
(``$?`` 130 or whatever the program made of SIGINT) when Ctrl-C was sent, the output up to then
kept; ``error`` for input bash found incomplete (it is dropped with Ctrl-C, never left
half-typed).  When the shell itself ends (``exit``), the Outcome says so and the next
submission starts a new shell, with a note that the old one's state is gone.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from typing import Any

from orgorepl import errors, protocol
from orgorepl import outcome as oc
from orgorepl.client.terminal import Terminal
from orgorepl.modes import Mode
from orgorepl.session.live_bash import INTERRUPT, Done, NeedsMore, Output
from orgorepl.session.live_bash import LiveBash as Framing

START_TIMEOUT = 30.0
COLS, ROWS = 200, 50  # the shell's window: wide, so programs that format for it rarely wrap
INCOMPLETE = "bash expected more input (an open quote, heredoc or block): nothing was run"
SHELL_ENDED = "the live shell exited: the next submission starts a new one"
NEW_SHELL = "a new live shell: names, cwd, jobs and options of the previous one are gone"

AccessFetcher = Callable[[bool], Awaitable[protocol.TerminalAccess]]


class LiveCore:
    """What a live shell and a live interpreter share: one terminal socket, replaced when it is
    gone, and the frames it brings.  Subclasses say how to start on it and what frames mean."""

    new_note = ""  # said in the first Outcome of a replacement (the old state is gone)

    def __init__(self, fetch_access: AccessFetcher, base_url: str, *, size: tuple[int, int] = (COLS, ROWS)) -> None:
        self._fetch, self._base_url, self._size = fetch_access, base_url, size
        self._terminal: Terminal | None = None
        self.cwd: str | None = None
        self.started_count = 0
        self._sent = asyncio.Event()  # the running submission has been sent (made on the core's loop)
        self._running = False  # a submission is on its way or running

    @property
    def alive(self) -> bool:
        return self._terminal is not None

    async def start(self) -> None:
        raise NotImplementedError

    async def _open(self) -> Terminal:
        terminal = Terminal(self._fetch, self._base_url, *self._size)
        await terminal.connect()
        self._terminal = terminal
        return terminal

    async def _ready_to_run(self) -> tuple[str, ...]:
        """A working socket before a submission: one that closed while idle (a restart, the idle
        close) is replaced, and the notes say the old state is gone."""
        if self._terminal is not None and self._terminal.socket.close_code is not None:
            self._terminal = None  # nothing was lost yet: no submission was running on it
        if self._terminal is not None:
            return ()
        notes = (self.new_note,) if self.started_count else ()
        await self.start()
        return notes

    async def _frame(self) -> protocol.TerminalFrame | None:
        """The next frame; None once the socket closed normally (the process on it ended)."""
        assert self._terminal is not None
        try:
            frame = await self._terminal.receive()
        except errors.TerminalClosedError:  # stopped, dropped, idle: this one is gone for good
            self._terminal = None  # the next submission starts a new one (and says so)
            raise
        if frame is None:
            self._terminal = None
        return frame

    async def resize(self, cols: int, rows: int) -> None:
        self._size = (cols, rows)
        if self._terminal is not None:
            await self._terminal.resize(cols, rows)

    async def close(self) -> None:
        terminal, self._terminal = self._terminal, None
        if terminal is not None:
            await terminal.close()


class ShellEnded(Exception):
    """The remote shell exited (or its socket closed normally) in the middle of a submission."""


class LiveShell(LiveCore):
    """One live bash over one terminal socket."""

    new_note = NEW_SHELL

    def __init__(self, fetch_access: AccessFetcher, base_url: str, *, size: tuple[int, int] = (COLS, ROWS)) -> None:
        super().__init__(fetch_access, base_url, size=size)
        self._framing = Framing()
        self._interrupted = False

    async def start(self, timeout: float = START_TIMEOUT) -> None:
        self._framing = Framing()
        terminal = await self._open()
        await terminal.send_input(self._framing.setup())
        try:
            await asyncio.wait_for(self._until_ready(), timeout)
        except BaseException:
            await self.close()
            raise
        self.started_count += 1

    async def _until_ready(self) -> None:
        while not self._framing.ready:
            await self._events()

    async def _events(self) -> list:
        while True:
            frame = await self._frame()
            if frame is None:
                raise ShellEnded
            if frame.type == "output":
                return self._framing.feed(frame.data)
            if frame.type == "error":
                return [Output(f"\n[the terminal says: {frame.message}]\n")]

    async def run(self, text: str, *, on_piece: Callable[[oc.Piece], None] | None = None,
                  timeout: int | None = None) -> oc.Outcome:
        self._running = True
        notes = await self._ready_to_run()
        assert self._terminal is not None
        builder = oc.OutcomeBuilder(Mode.BASH, on_piece)
        started = time.monotonic()
        self._interrupted = False
        await self._terminal.send_input(self._framing.submission(text))
        self._sent.set()  # keys typed meanwhile may follow it now
        try:
            return await self._outcome(builder, started, timeout, notes)
        finally:
            self._running = False
            self._sent = asyncio.Event()

    async def _outcome(self, builder: oc.OutcomeBuilder, started: float, timeout: int | None,
                       notes: tuple[str, ...]) -> oc.Outcome:
        assert self._terminal is not None
        incomplete = False
        while True:
            try:
                events = await self._events()
            except ShellEnded:
                return builder.finish(oc.Status.ERROR, error_type="ShellExited", error=SHELL_ENDED,
                                      duration=time.monotonic() - started, timeout=timeout, notes=notes)
            for event in events:
                if isinstance(event, Output):
                    builder.feed(event.text)
                elif isinstance(event, NeedsMore):
                    incomplete = True
                    await self._terminal.send_input(INTERRUPT)
                elif isinstance(event, Done):
                    self.cwd = event.cwd or self.cwd
                    duration = time.monotonic() - started
                    if incomplete:
                        return builder.finish(oc.Status.ERROR, error_type="IncompleteInput", error=INCOMPLETE,
                                              duration=duration, timeout=timeout, notes=notes)
                    if self._interrupted:
                        return builder.finish(oc.Status.INTERRUPTED, exit_code=event.exit_code, duration=duration,
                                              timeout=timeout, notes=notes)
                    status = oc.bash_status(exit_code=event.exit_code, success=True, timed_out=False)
                    return builder.finish(status, exit_code=event.exit_code, duration=duration, timeout=timeout,
                                          notes=notes)

    async def interrupt(self) -> None:
        """Ctrl-C, as typed at the terminal: SIGINT for the running program."""
        if self._terminal is not None:
            self._interrupted = True
            await self._terminal.send_input(INTERRUPT)

    async def send_keys(self, text: str) -> None:
        """What the user typed while a submission runs (answers to ``read``, ``y/n``, a password).

        Keys typed before the submission went out (the shell may still be starting) wait for it:
        sent first, they would be typed in front of the command."""
        if not self._running:
            return  # nothing runs to read them (the command just ended): like keys after a program exits
        await self._sent.wait()
        if self._terminal is not None:
            await self._terminal.send_input(text)


class Blocking:
    """A live shell or interpreter for blocking callers (the REPL's job threads, the UI's loop):
    its event loop runs on a thread of its own.  ``shell`` is the asynchronous core; ``mode`` says
    whose failure an Outcome reports."""

    mode = Mode.BASH
    thread_name = "orgorepl-live"

    def __init__(self, fetch_access: Callable[[bool], protocol.TerminalAccess], base_url: str, *,
                 size: tuple[int, int] = (COLS, ROWS)) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=self.thread_name, daemon=True)
        self._thread.start()

        async def fetch(fresh: bool) -> protocol.TerminalAccess:
            return await asyncio.to_thread(fetch_access, fresh)

        self.shell = self._core(fetch, base_url, size)

    def _core(self, fetch: AccessFetcher, base_url: str, size: tuple[int, int]) -> Any:
        return LiveShell(fetch, base_url, size=size)

    def _call(self, coro: Awaitable) -> Future:
        return asyncio.run_coroutine_threadsafe(coro, self._loop)  # type: ignore[arg-type]

    def start(self) -> None:
        self._call(self.shell.start()).result()

    def run(self, text: str, *, on_piece: Callable[[oc.Piece], None] | None = None,
            timeout: int | None = None, **options: Any) -> oc.Outcome:
        """Run one submission; Ctrl-C (KeyboardInterrupt) here interrupts it on the computer and
        still returns its Outcome, with the output up to then."""
        future = self._call(self.shell.run(text, on_piece=on_piece, timeout=timeout, **options))
        try:
            return self._wait(future)
        except KeyboardInterrupt:
            self.interrupt()
            return self._wait(future)
        except errors.OrgoError as err:
            return oc.failed(self.mode, err, timeout=timeout)

    @staticmethod
    def _wait(future: Future) -> oc.Outcome:
        while True:  # short waits: a KeyboardInterrupt reaches this thread between them
            try:
                return future.result(timeout=0.1)
            except TimeoutError:
                continue

    def interrupt(self) -> None:
        self._call(self.shell.interrupt()).result()

    def send_keys(self, text: str) -> None:
        """Never waits: the caller is the UI's loop, which must not block on the remote."""
        self._call(self.shell.send_keys(text))

    def resize(self, cols: int, rows: int) -> None:
        self._call(self.shell.resize(cols, rows)).result()

    @property
    def cwd(self) -> str | None:
        return self.shell.cwd

    def close(self) -> None:
        try:
            self._call(self.shell.close()).result(timeout=5)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)


class LiveBash(Blocking):
    """A LiveShell for blocking callers."""
