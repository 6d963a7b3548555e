"""Live Python: submissions run in one persistent interpreter on the computer (issue 12).

``LivePythonShell`` is the asynchronous core: it opens a terminal socket of its own (its own
login bash in its own PTY, apart from a live bash's), starts the agent there
(``session.live_python`` says how, ``session/live_agent.py`` is the agent) and runs one
submission at a time, feeding an ``OutcomeBuilder`` as output arrives, stdout and stderr as
separate streams.  ``LivePython`` (below) is the blocking face, with the API of
``live.LiveBash``: ``start``, ``run``, ``interrupt``, ``send_keys``, ``cwd``, ``close``.

What a submission's Outcome says, the same fields the HTTP path fills (``render.result`` shows
both alike): ``ok``; ``error`` with ``error_type``, ``error`` (the exception's text) and
``traceback`` (the user's frames only, their lines named ``<cell N>``); ``interrupted`` when the
cell ended in a ``KeyboardInterrupt`` (Ctrl-C: ``error_type`` says so and ``traceback`` where it
stopped), the output up to then kept and every name intact.  ``SystemExit`` ends the cell, never
the interpreter (a non-zero code is an error, as over HTTP, and a note says the interpreter goes
on).  When the interpreter itself ends (``os._exit``, a kill), the Outcome says how, and the next
submission starts a new one, with a note that the old one's names are gone.

Why not one process per submission, as over HTTP: an interpreter that stays is what keeps
generators, open files, sockets, threads and lambdas, none of which pickle.  Why a terminal and
not /exec: /exec answers once, at the end; the terminal streams, takes keys and carries Ctrl-C.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from typing import Any

from orgorepl import errors
from orgorepl import outcome as oc
from orgorepl.exitstatus import ExitStatus
from orgorepl.live import AccessFetcher, Blocking, LiveCore, Resumed
from orgorepl.live_channel import SessionGone, Supervised
from orgorepl.modes import Mode
from orgorepl.session.live_attach import Hello
from orgorepl.session.live_python import Booted, Done, Event, Exited, InputWanted, Output, Ready, Reply
from orgorepl.session.live_python import LivePython as Framing

START_TIMEOUT = 30.0
NOT_STARTED = "the live Python could not be started on the computer"
NEW_INTERPRETER = "a new live Python: names, imports, open files and threads of the previous one are gone"
SYSTEM_EXIT_NOTE = "SystemExit ended the cell; the live Python goes on, its names kept"
ENDED = "the next submission starts a new one"


class LivePythonUnavailable(errors.OrgoError):
    """The agent could not be started (no ``python3``, a start that failed or never finished)."""

    exit_status = ExitStatus.SERVER


class AgentEnded(Exception):
    """The interpreter ended (``code``: its status as bash saw it; None: the socket just closed)."""

    def __init__(self, code: int | None) -> None:
        super().__init__(code)
        self.code = code


def ended_text(code: int | None) -> tuple[str, str]:
    """(error_type, error) for an interpreter that ended under a cell, worded as over HTTP."""
    if code is None:
        return "ProcessKilled", f"the live Python's terminal closed: {ENDED}"
    if code > 128:
        return "ProcessKilled", f"the live Python was killed ({oc.exit_text(code)}): {ENDED}"
    return "SystemExit", f"the live Python exited with status {code}: {ENDED}"


class LivePythonShell(LiveCore):
    """One live Python over one terminal socket."""

    new_note = NEW_INTERPRETER
    role = "python"

    def __init__(self, fetch_access: AccessFetcher, base_url: str, **options: Any) -> None:
        super().__init__(fetch_access, base_url, **options)
        self._framing = Framing()
        self.pid: int | None = None
        self.version: str | None = None
        self.reading = False  # the running cell waits for keys (an ``input()``)
        self.echoing = True  # ... and they are echoed (False: a password)
        self._ids = 0
        self._adopt: int | None = None  # a resumed session's cell still running

    async def start(self, timeout: float = START_TIMEOUT, *, create: bool = True) -> None:
        """An interpreter to run on: a new one, or (``create`` False: only that) the session's
        running one taken over, with what it printed meanwhile in ``resumed``."""
        self._framing = Framing()
        await self._open(create=create)
        hello = self._hello()
        try:
            if hello is not None:
                await asyncio.wait_for(self._resume(hello), timeout)
            else:
                await asyncio.wait_for(self._boot(), timeout)
                await self._running_note(False)
        except asyncio.TimeoutError:
            await self.end()
            raise LivePythonUnavailable(f"{NOT_STARTED}: it did not answer within {timeout:g}s") from None
        except AgentEnded as end:
            await self.close()
            if hello is not None:
                raise SessionGone("the live Python of this session has ended") from None
            said = " ".join(self._framing.noise.split())[-300:]
            how = "python3 was not found" if end.code == 127 else (
                oc.exit_text(end.code) if end.code is not None else "the terminal closed")
            raise LivePythonUnavailable(f"{NOT_STARTED} ({how})" + (f": {said}" if said else "")) from None
        except BaseException:
            await (self.close() if hello is not None else self.end())  # a new one half started: ended
            raise
        self.started_count += 1

    def _note(self) -> dict[str, Any]:
        return {"nonce": self._framing.nonce, "pid": self.pid, "version": self.version, "cwd": self.cwd,
                "ids": self._ids}

    async def _resume(self, hello: Hello) -> None:
        meta = hello.meta
        self._framing = Framing(nonce=str(meta["nonce"]))
        self.pid = meta.get("pid") if isinstance(meta.get("pid"), int) else None
        self.version, self.cwd = meta.get("version"), meta.get("cwd") or self.cwd
        ids, busy = meta.get("ids"), meta.get("busy")
        self._ids = ids if isinstance(ids, int) else 0
        if not isinstance(busy, int) or isinstance(busy, bool):
            busy = None
        shown: list[str] = []
        assert isinstance(self._terminal, Supervised)
        while self._terminal is not None and (self._terminal.received < hello.end or not self._frames.empty()):
            for event in await self._events():
                if isinstance(event, Exited):
                    raise AgentEnded(event.code)
                if isinstance(event, Output):
                    shown.append(event.text)
                elif isinstance(event, Done) and event.id == busy:
                    busy, self.cwd = None, event.cwd or self.cwd
        self._adopt = busy
        self.resumed = Resumed("".join(shown), busy is not None, hello.lost)

    async def _boot(self) -> None:
        assert self._terminal is not None
        await self._terminal.send_input(self._framing.bootstrap())
        await self._until(Booted)
        await self._terminal.send_input(self._framing.payload())
        ready = await self._until(Ready)
        assert isinstance(ready, Ready)
        self.pid, self.version, self.cwd = ready.pid, ready.version, ready.cwd or self.cwd

    async def _until(self, kind: type) -> Event:
        while True:
            for event in await self._events():
                if isinstance(event, Exited):
                    await self.close()
                    raise AgentEnded(event.code)
                if isinstance(event, kind):
                    return event

    async def _events(self) -> list[Event]:
        """The next events (an ``Exited`` among them comes after the output before it);
        AgentEnded when the terminal closed."""
        while True:
            frame = await self._frame()
            if frame is None:
                raise AgentEnded(None)
            if frame.type == "output":
                return self._framing.feed(frame.data)
            if frame.type == "error":
                return [Output(f"\n[the terminal says: {frame.message}]\n", "stderr")]

    async def run(self, code: str | None, *, on_piece: Callable[[oc.Piece], None] | None = None,
                  timeout: int | None = None, echo: bool = True, width: int = 0) -> oc.Outcome:
        """Run one submission (None: wait for the cell a resumed session is still running).
        ``echo``: show the last expression's value (as the REPL does; ``width``: pretty-printed
        to it).  ``timeout`` is recorded in the Outcome, not enforced: Ctrl-C or the hard limit
        (``Blocking.run``) is how a live cell is stopped."""
        notes, idle = await self._ready_to_run() if code is not None else ((), [])
        assert self._terminal is not None
        builder = oc.OutcomeBuilder(Mode.PYTHON, on_piece)
        for frame in idle:  # printed by its threads since the last cell: first, as on a terminal
            for event in self._framing.feed(frame.data) if frame.type == "output" else ():
                if isinstance(event, Output):
                    builder.feed(event.text, oc.Stream.STDERR if event.stream == "stderr" else oc.Stream.STDOUT)
        started = time.monotonic()
        if code is None:
            ident, self._adopt = self._adopt or 0, None
        else:
            self._ids += 1
            ident = self._ids
            await self._running_note(ident)
            await self._terminal.send_input(self._framing.run(ident, code, echo=echo, width=width))
        self._running = True
        self._sent.set()  # keys typed meanwhile may follow it now
        try:
            outcome = await self._outcome(ident, builder, started, timeout, notes)
            await self._running_note(False)
            return outcome
        finally:
            self._running = self.reading = False
            self.echoing = True
            self._sent = asyncio.Event()

    async def _outcome(self, ident: int, builder: oc.OutcomeBuilder, started: float, timeout: int | None,
                       notes: tuple[str, ...]) -> oc.Outcome:
        while True:
            try:
                events = await self._events()
            except AgentEnded as end:
                return self._ended(end.code, builder, started, timeout, notes)
            for event in events:
                if isinstance(event, Exited):  # what it printed before it ended is kept
                    await self.close()
                    return self._ended(event.code, builder, started, timeout, notes)
                if isinstance(event, Output):
                    self.reading = False
                    builder.feed(event.text, oc.Stream.STDERR if event.stream == "stderr" else oc.Stream.STDOUT)
                elif isinstance(event, InputWanted):
                    self.reading, self.echoing = True, event.echo
                elif isinstance(event, Done) and event.id == ident:
                    notes = (*notes, *self._drop_notes())
                    return self._finished(event, builder, time.monotonic() - started, timeout, notes)

    @staticmethod
    def _ended(code: int | None, builder: oc.OutcomeBuilder, started: float, timeout: int | None,
               notes: tuple[str, ...]) -> oc.Outcome:
        error_type, error = ended_text(code)
        return builder.finish(oc.Status.ERROR, error_type=error_type, error=error,
                              duration=time.monotonic() - started, timeout=timeout, notes=notes)

    def _finished(self, done: Done, builder: oc.OutcomeBuilder, duration: float, timeout: int | None,
                  notes: tuple[str, ...]) -> oc.Outcome:
        self.cwd = done.cwd or self.cwd
        if done.system_exit:
            notes = (*notes, SYSTEM_EXIT_NOTE)
        if done.status == "interrupted":
            status = oc.Status.INTERRUPTED
        else:
            status = oc.python_status(success=done.status == "ok", timed_out=False)
        return builder.finish(status, error_type=done.error_type, error=done.error, traceback=done.traceback,
                              duration=duration, timeout=timeout, notes=notes)

    async def interrupt(self) -> None:
        """Ctrl-C: SIGINT for the running cell (a KeyboardInterrupt there) and its child processes."""
        if self._terminal is not None and self._running:
            await self._terminal.send_input(self._framing.interrupt())

    async def stop_harder(self) -> None:
        """Past the hard limit, the KeyboardInterrupt caught: once more (the cell's child
        processes got SIGINT with the first)."""
        await self.interrupt()

    async def send_keys(self, text: str) -> None:
        """What the user typed while a submission runs: lines for ``input()`` (Enter ends one,
        backspace edits it, Ctrl-D ends the input), echoed by the interpreter's side except
        while a password is read.  Keys typed before the submission went out wait for it."""
        if not self._running:
            return  # nothing runs to read them (the cell just ended)
        await self._sent.wait()
        if self._terminal is not None:
            if "\r" in text or "\n" in text:
                self.reading = False
            await self._terminal.send_input(self._framing.keys(text))

    async def ask(self, query: dict[str, object], timeout: float) -> str | None:
        """A completion or ``obj?`` answered by the interpreter itself (its names, its objects),
        only while no cell runs; None when it is busy, gone or slower than ``timeout``."""
        if self._running or self._terminal is None:
            return None
        self._asking = asyncio.current_task()
        try:
            return await asyncio.wait_for(self._ask(query), timeout)
        except (asyncio.TimeoutError, AgentEnded, errors.OrgoError):
            return None
        finally:
            self._asking = None

    async def _ask(self, query: dict[str, object]) -> str | None:
        from orgorepl.session.complete import source

        for send_source in (getattr(self, "_source_sent", -1) != self.started_count, True):
            assert self._terminal is not None
            self._ids += 1
            ident = self._ids
            await self._terminal.send_input(self._framing.complete(ident, query, source() if send_source else None))
            if send_source:
                self._source_sent = self.started_count
            while True:
                events = await self._events()
                replies = [e for e in events if isinstance(e, Reply) and e.id == ident]
                self._framing.unread([e for e in events if not isinstance(e, Reply)])
                if replies:
                    break
            if not replies[0].need_source:
                return replies[0].data
        return None

    async def settle(self) -> None:
        """A question still on its way is dropped before a submission reads the terminal."""
        task = getattr(self, "_asking", None)
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task


class LivePython(Blocking):
    """A LivePythonShell for blocking callers (``echo`` is a keyword of ``run``)."""

    mode = Mode.PYTHON
    thread_name = "orgorepl-live-python"

    def _core(self, fetch: AccessFetcher, base_url: str, **options: Any) -> LivePythonShell:
        return LivePythonShell(fetch, base_url, **options)

    @property
    def reading(self) -> bool:
        """The running cell waits for a line typed (``input()``, ``sys.stdin.readline()``)."""
        return self.shell.reading

    def ask(self, query: dict[str, object], timeout: float = 1.5) -> str | None:
        """``LivePythonShell.ask`` for a blocking caller (the completion thread)."""
        future = self._call(self.shell.ask(query, timeout))
        try:
            return future.result(timeout + 1)
        except Exception:
            return None

    def run(self, text: str | None, **options: Any) -> oc.Outcome:
        """A question in flight never shares the terminal with a cell: it is dropped first."""
        self._call(self.shell.settle()).result()
        return super().run(text, **options)

