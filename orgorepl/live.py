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
import contextlib
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Future
from dataclasses import dataclass, replace
from typing import Any

from orgorepl import errors, protocol
from orgorepl import outcome as oc
from orgorepl.live_channel import LINGER, NoSupervisor, Plain, SessionGone, Supervised
from orgorepl.modes import Mode
from orgorepl.session.live_attach import Hello
from orgorepl.session.live_bash import INTERRUPT, Done, NeedsMore, Output
from orgorepl.session.live_bash import LiveBash as Framing

START_TIMEOUT = 30.0
LIMIT_GRACE = 3.0  # after the hard limit's Ctrl-C, before the stronger stop
COLS, ROWS = 200, 50  # the shell's window: wide, so programs that format for it rarely wrap
QUIT = "\x1c"  # the tty's Ctrl-\\: SIGQUIT for the foreground job
INCOMPLETE = "bash expected more input (an open quote, heredoc or block): nothing was run"
SHELL_ENDED = "the live shell exited: the next submission starts a new one"
NEW_SHELL = "a new live shell: names, cwd, jobs and options of the previous one are gone"

AccessFetcher = Callable[[bool], Awaitable[protocol.TerminalAccess]]


class LiveCore:
    """What a live shell and a live interpreter share: one terminal socket, replaced when it is
    gone, and the frames it brings.  Subclasses say how to start on it and what frames mean."""

    new_note = ""  # said in the first Outcome of a replacement (the old state is gone)
    role = "bash"  # which of the session's supervised programs this is

    def __init__(self, fetch_access: AccessFetcher, base_url: str, *, size: tuple[int, int] = (COLS, ROWS),
                 session_id: str | None = None, linger: float = LINGER) -> None:
        self._fetch, self._base_url, self._size = fetch_access, base_url, size
        self._sid, self._linger = session_id, linger
        self._terminal: Supervised | Plain | None = None
        self.cwd: str | None = None
        self.started_count = 0
        self.resumed: Resumed | None = None  # the start found the session running (``--resume``)
        self.unsupervised_note = ""  # why this one does not survive a dropped socket (until said)
        self._sent = asyncio.Event()  # the running submission has been sent (made on the core's loop)
        self._running = False  # a submission is on its way or running
        self._reattached_seen = 0
        self._frames: asyncio.Queue[Any] = asyncio.Queue()  # what the reader brought, in order
        self._reader: asyncio.Task[None] | None = None

    @property
    def alive(self) -> bool:
        return self._terminal is not None

    @property
    def supervised(self) -> bool:
        return self._terminal is not None and self._terminal.supervised

    async def start(self) -> None:
        raise NotImplementedError

    async def _open(self, *, create: bool = True) -> Supervised | Plain:
        """The socket to run on: attached to the session's supervisor (a new session, or the one
        running, resumed), or, where the supervisor cannot run, the socket's own shell."""
        if self._sid is not None:
            channel = Supervised(self._fetch, self._base_url, self._size, sid=self._sid, role=self.role,
                                 linger=self._linger)
            try:
                await channel.connect(create=create)
            except NoSupervisor as err:
                self.unsupervised_note = f"{err.message}: this live {self.role} will not survive a dropped connection"
            else:
                self._listen(channel)
                return channel
        terminal = Plain(self._fetch, self._base_url, *self._size)
        await terminal.connect()
        self._listen(terminal)
        return terminal

    def _listen(self, terminal: Supervised | Plain) -> None:
        """Read the socket all the time, not only while a submission runs: a supervised channel
        reattaches a socket that drops while idle at once, and what background jobs print
        between submissions is kept (shown with the next one), as a terminal would show it."""
        self._terminal, self._frames = terminal, asyncio.Queue()
        self._reader = asyncio.get_running_loop().create_task(self._read(terminal, self._frames))

    @staticmethod
    async def _read(terminal: Supervised | Plain, frames: asyncio.Queue[Any]) -> None:
        while True:
            try:
                frame = await terminal.receive()
            except Exception as exc:  # noqa: BLE001 - handed to whoever reads next, as it is
                frames.put_nowait(exc)
                return
            frames.put_nowait(frame)
            if frame is None:
                return

    async def _stop_listening(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader

    def _hello(self) -> Hello | None:
        """What the supervisor said when this one attached to a session that was running."""
        terminal = self._terminal
        hello = terminal.hello if terminal is not None else None
        return hello if hello is not None and not hello.created and hello.meta.get("nonce") else None

    async def _ready_to_run(self) -> tuple[tuple[str, ...], list[protocol.TerminalFrame]]:
        """A working socket before a submission, and what arrived while idle (background jobs'
        output).  A supervised one that dropped while idle has been reattached by its reader
        (nothing was lost); one that is gone is replaced, and the notes say the old state is gone."""
        idle: list[protocol.TerminalFrame] = []
        while self._terminal is not None and not self._frames.empty():
            try:
                frame = self._taken(self._frames.get_nowait())
            except errors.OrgoError:
                break
            if frame is not None:
                idle.append(frame)
        if self._terminal is not None:
            return self._unsaid(), idle
        notes = (self.new_note,) if self.started_count else ()
        await self.start()
        return (*notes, *self._unsaid()), idle

    def _unsaid(self) -> tuple[str, ...]:
        """Why this shell will not survive a dropped socket, said with the first submission on it."""
        note, self.unsupervised_note = self.unsupervised_note, ""
        return (note,) if note else ()

    def _drop_notes(self) -> tuple[str, ...]:
        """Said once per reattach: the connection dropped and came back, with what it cost."""
        terminal = self._terminal
        if not isinstance(terminal, Supervised) or terminal.reattached == self._reattached_seen:
            return ()
        self._reattached_seen = terminal.reattached
        lost = f"; {terminal.lost} bytes of output were dropped meanwhile" if terminal.lost else ": nothing was lost"
        return (f"the connection dropped and was re-established{lost}",)

    async def _frame(self) -> protocol.TerminalFrame | None:
        """The next frame; None once the socket closed normally (the process on it ended)."""
        assert self._terminal is not None
        return self._taken(await self._frames.get())

    def _taken(self, item: Any) -> protocol.TerminalFrame | None:
        """A frame as the reader left it: an error it met is raised here, once."""
        if item is None or isinstance(item, SessionGone):
            self._terminal = None  # the program ended (or is gone): the next submission starts anew
            return None
        if isinstance(item, BaseException):  # stopped, refused, or a drop that did not come back
            self._terminal = None  # the next submission starts a new one (and says so)
            raise item
        frame: protocol.TerminalFrame = item
        return frame

    async def _running_note(self, busy: Any) -> None:
        """Tell the supervisor whether a submission runs (for a client that resumes) and, when
        it ended, that everything up to here was shown."""
        if self._terminal is not None:
            await self._terminal.note({**self._note(), "busy": busy})
            if not busy:
                await self._terminal.ack()

    def _note(self) -> dict[str, Any]:
        return {}

    async def resize(self, cols: int, rows: int) -> None:
        self._size = (cols, rows)
        if self._terminal is not None:
            await self._terminal.resize(cols, rows)

    async def close(self) -> None:
        """Leave the session running on the computer (``%detach``, a lost connection)."""
        await self._stop_listening()
        terminal, self._terminal = self._terminal, None
        if terminal is not None:
            await terminal.detach()

    async def end(self) -> None:
        """End it on the computer: the shell and everything it runs."""
        await self._stop_listening()
        terminal, self._terminal = self._terminal, None
        if terminal is not None:
            await terminal.end()


@dataclass(frozen=True)
class Resumed:
    """What a start found when the session was running already: what it printed since the last
    client saw it, and whether a submission of that client is still running."""

    output: str
    busy: bool
    lost: int = 0


class ShellEnded(Exception):
    """The remote shell exited (or its socket closed normally) in the middle of a submission."""


class LiveShell(LiveCore):
    """One live bash over one terminal socket."""

    new_note = NEW_SHELL

    def __init__(self, fetch_access: AccessFetcher, base_url: str, **options: Any) -> None:
        super().__init__(fetch_access, base_url, **options)
        self._framing = Framing()
        self._interrupted = False

    async def start(self, timeout: float = START_TIMEOUT, *, create: bool = True) -> None:
        """A shell to run on: a new one set up, or (``create`` False: only that) the session's
        running one taken over, with what it printed meanwhile in ``resumed``."""
        self._framing = Framing()
        terminal = await self._open(create=create)
        hello = self._hello()
        try:
            if hello is not None:
                await asyncio.wait_for(self._resume(hello), timeout)
            else:
                await terminal.send_input(self._framing.setup())
                await asyncio.wait_for(self._until_ready(), timeout)
                await self._running_note(False)
        except BaseException:
            await (self.close() if hello is not None else self.end())  # a new one half set up: ended
            raise
        self.started_count += 1

    def _note(self) -> dict[str, Any]:
        return {"nonce": self._framing.nonce, "cwd": self.cwd}

    async def _resume(self, hello: Hello) -> None:
        self._framing = Framing(nonce=str(hello.meta["nonce"]))
        self.cwd = hello.meta.get("cwd") or self.cwd
        busy = bool(hello.meta.get("busy"))
        self._framing.resume(busy=busy)
        shown: list[str] = []
        assert isinstance(self._terminal, Supervised)
        try:
            while self._terminal is not None and (self._terminal.received < hello.end or not self._frames.empty()):
                for event in await self._events():
                    if isinstance(event, Output):
                        shown.append(event.text)
                    elif isinstance(event, Done):
                        busy, self.cwd = False, event.cwd or self.cwd
        except ShellEnded:
            busy = False
        self.resumed = Resumed("".join(shown), busy, hello.lost)

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

    async def run(self, text: str | None, *, on_piece: Callable[[oc.Piece], None] | None = None,
                  timeout: int | None = None) -> oc.Outcome:
        """Run one submission (None: wait for the one a resumed session is still running)."""
        self._running = True
        notes, idle = await self._ready_to_run() if text is not None else ((), [])
        assert self._terminal is not None
        builder = oc.OutcomeBuilder(Mode.BASH, on_piece)
        for frame in idle:  # printed by background jobs since the last prompt: first, as on a terminal
            for event in self._framing.feed(frame.data) if frame.type == "output" else ():
                if isinstance(event, Output):
                    builder.feed(event.text)
        started = time.monotonic()
        self._interrupted = False
        if text is not None:
            await self._running_note(True)
            await self._terminal.send_input(self._framing.submission(text))
        self._sent.set()  # keys typed meanwhile may follow it now
        try:
            outcome = await self._outcome(builder, started, timeout, notes)
            await self._running_note(False)
            return outcome
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
                    notes = (*notes, *self._drop_notes())
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

    async def stop_harder(self) -> None:
        """Past the hard limit, SIGINT ignored: SIGQUIT for the foreground job (Ctrl-\\)."""
        if self._terminal is not None:
            await self._terminal.send_input(QUIT)

    async def send_keys(self, text: str) -> None:
        """What the user typed while a submission runs (answers to ``read``, ``y/n``, a password).

        Keys typed before the submission went out (the shell may still be starting) wait for it:
        sent first, they would be typed in front of the command."""
        if not self._running:
            return  # nothing runs to read them (the command just ended): like keys after a program exits
        await self._sent.wait()
        if self._terminal is not None:
            await self._terminal.send_input(text)


class _PastLimit(Exception):
    """A live submission ran past its hard limit."""


class Blocking:
    """A live shell or interpreter for blocking callers (the REPL's job threads, the UI's loop):
    its event loop runs on a thread of its own.  ``shell`` is the asynchronous core; ``mode`` says
    whose failure an Outcome reports."""

    mode = Mode.BASH
    thread_name = "orgorepl-live"

    def __init__(self, fetch_access: Callable[[bool], protocol.TerminalAccess], base_url: str, *,
                 size: tuple[int, int] = (COLS, ROWS), session_id: str | None = None,
                 linger: float = LINGER) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=self.thread_name, daemon=True)
        self._thread.start()

        async def fetch(fresh: bool) -> protocol.TerminalAccess:
            return await asyncio.to_thread(fetch_access, fresh)

        self.shell = self._core(fetch, base_url, size=size, session_id=session_id, linger=linger)

    def _core(self, fetch: AccessFetcher, base_url: str, **options: Any) -> Any:
        return LiveShell(fetch, base_url, **options)

    def _call(self, coro: Awaitable) -> Future:
        return asyncio.run_coroutine_threadsafe(coro, self._loop)  # type: ignore[arg-type]

    def start(self) -> None:
        self._call(self.shell.start()).result()

    def resume(self) -> Resumed | None:
        """Take over the session's running program, if there is one (``--resume``); None if not."""
        try:
            self._call(self.shell.start(create=False)).result()
        except SessionGone:
            return None
        return self.shell.resumed

    def run(self, text: str | None, *, on_piece: Callable[[oc.Piece], None] | None = None,
            timeout: int | None = None, limit: int | None = None, **options: Any) -> oc.Outcome:
        """Run one submission (None: wait for the one a resumed session is running); Ctrl-C
        (KeyboardInterrupt) here interrupts it on the computer and still returns its Outcome,
        with the output up to then."""
        future = self._call(self.shell.run(text, on_piece=on_piece, timeout=timeout, **options))
        try:
            try:
                return self._wait(future, time.monotonic() + limit if limit else None)
            except _PastLimit:
                return self._stop_at_limit(future, limit or 0)
        except KeyboardInterrupt:
            self.interrupt()
            return self._wait(future)
        except errors.OrgoError as err:
            return oc.failed(self.mode, err, timeout=timeout)

    def _stop_at_limit(self, future: Future, limit: int) -> oc.Outcome:
        """The hard limit (``live_time_limit = "interrupt"``): Ctrl-C for it, and if it has not
        ended after a grace, the stronger stop; the Outcome says TIMEOUT, with its output."""
        self.interrupt()
        try:
            outcome = self._wait(future, time.monotonic() + LIMIT_GRACE)
        except _PastLimit:
            self._call(self.shell.stop_harder()).result()
            outcome = self._wait(future)
        note = f"stopped at the {limit}s time limit (live_time_limit = \"interrupt\"); the session goes on"
        return replace(outcome, status=oc.Status.TIMEOUT, timeout=limit, notes=(*outcome.notes, note))

    @staticmethod
    def _wait(future: Future, deadline: float | None = None) -> oc.Outcome:
        while True:  # short waits: a KeyboardInterrupt reaches this thread between them
            try:
                return future.result(timeout=0.1)
            except TimeoutError:
                if deadline is not None and time.monotonic() > deadline:
                    raise _PastLimit from None

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

    def close(self, *, end: bool = False) -> None:
        """Detach (the session goes on, for ``--resume``), or ``end`` it on the computer."""
        try:
            self._call(self.shell.end() if end else self.shell.close()).result(timeout=10)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)


class LiveBash(Blocking):
    """A LiveShell for blocking callers."""
