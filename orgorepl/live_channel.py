"""A live session's channel: a terminal socket attached to the session's supervisor, reattached
when it drops, so the remote shell and its output survive the socket (issue 12).

``Supervised`` has the face of ``client.terminal.Terminal`` that ``live.LiveCore`` uses
(``receive`` output frames, ``send_input``, ``resize``, ``close``) plus what a supervisor
offers: ``ack``/``note`` (what a client resuming later needs: where this one had read to,
and its framing's nonce), ``detach`` (leave the session running) and ``end`` (end it).

Why each rule:

* **Output is counted in bytes, exactly.**  The supervisor numbers what the program printed;
  frames carry their offset, so a reattach asks for the next byte it has not seen, and an
  overlap is cut.  Decoding to text happens here, once, with an incremental UTF-8 decoder, so
  a character cut between two frames (or two sockets) comes out whole.
* **Input is counted too.**  Everything typed is kept until the supervisor says it has taken
  it; a reattach resends the rest, so a key pressed while the socket was dying is typed once.
* **Reattaching is not re-running.**  Nothing that was sent is sent again except input the
  supervisor reports it never took; no user code runs twice.  A drop is retried for
  ``reconnect_for`` seconds with backoff; a computer that stopped, a token refused, or a
  supervisor that is gone end the session with one line, never a hang.
* **The supervisor is optional.**  It needs ``python3`` on the computer; without it the live
  shell runs on the socket's own shell (``Plain``), as before, and does not survive a drop.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from orgorepl import errors, protocol
from orgorepl.client.terminal import Terminal
from orgorepl.exitstatus import ExitStatus
from orgorepl.session.live_attach import Attach, AttachEnded, Booted, Data, Event, Gone, Hello, ProgramExited

AccessFetcher = Callable[[bool], Awaitable[protocol.TerminalAccess]]

LINGER = 24 * 3600.0  # a session nobody is attached to ends after this long
RECONNECT_FOR = 60.0
ATTACH_TIMEOUT = 20.0
END_WAIT = 3.0
# a socket that went like this may come back; any other close ends the session's channel
REATTACHABLE = (errors.TerminalDroppedError, errors.TerminalIdleError, errors.TerminalUnreachableError,
                errors.ConnectError)


class SessionGone(errors.OrgoError):
    """The session's supervisor is not there (ended, killed, the computer restarted)."""

    exit_status = ExitStatus.SERVER


class NoSupervisor(errors.OrgoError):
    """The supervisor cannot run on this computer (no ``python3``): the shell stays unsupervised."""

    exit_status = ExitStatus.SERVER


class Plain(Terminal):
    """The socket's own shell, unsupervised: what runs on it dies with the socket."""

    hello: Hello | None = None
    supervised = False
    reattached = lost = 0

    async def ack(self) -> None:
        return None

    async def note(self, note: dict[str, Any]) -> None:
        return None

    async def detach(self) -> None:
        await self.close()

    async def end(self) -> None:
        await self.close()


class Supervised:
    """A channel to one session's supervisor, over whichever socket currently reaches it."""

    supervised = True

    def __init__(self, fetch_access: AccessFetcher, base_url: str, size: tuple[int, int], *, sid: str,
                 role: str, linger: float = LINGER, reconnect_for: float = RECONNECT_FOR) -> None:
        self._fetch, self._base_url, self._size = fetch_access, base_url, size
        self._sid, self._role, self._linger, self._reconnect_for = sid, role, linger, reconnect_for
        self._terminal: Terminal | None = None
        self._framing = Attach()
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._pending: deque[protocol.TerminalFrame] = deque()
        self._input = bytearray()  # typed, not yet reported taken by the supervisor
        self._input_base = 0  # how many bytes the supervisor had taken before ``_input``
        self._note: dict[str, Any] | None = None
        self.hello: Hello | None = None
        self.received = 0  # offset of the next output byte
        self.ended_code: int | None = None  # the program ended (its status)
        self.reattached = 0
        self.lost = 0  # output bytes the supervisor no longer had when asked for them

    @property
    def dropped(self) -> bool:
        """The socket closed while nobody read it (an idle close, a network gone quiet)."""
        return self._terminal is None or self._terminal.socket.close_code is not None

    # ---------------------------------------------------------------- attaching

    async def connect(self, *, create: bool = True) -> Hello:
        """Attach: to the session as it is (a resume) or, with ``create``, a new one when there is none."""
        return await self._attach(create=create, offset=None)

    async def _attach(self, *, create: bool, offset: int | None) -> Hello:
        terminal = Terminal(self._fetch, self._base_url, *self._size)
        await terminal.connect()
        framing = Attach()
        try:
            await terminal.send_input(framing.bootstrap(
                sid=self._sid, role=self._role, create=create, offset=offset, cols=self._size[0],
                rows=self._size[1], linger=self._linger))
            _, rest = await asyncio.wait_for(self._expect(terminal, framing, Booted), ATTACH_TIMEOUT)
            await terminal.send_input(framing.payload())
            hello, rest = await asyncio.wait_for(self._expect(terminal, framing, Hello), ATTACH_TIMEOUT)
        except asyncio.TimeoutError:
            await terminal.close()
            raise NoSupervisor(f"the live session's supervisor did not answer within {ATTACH_TIMEOUT:g}s") from None
        except BaseException:
            await terminal.close()
            raise
        assert isinstance(hello, Hello)
        self._terminal, self._framing, self.hello = terminal, framing, hello
        if offset is None:  # a first attach: from where the last client acknowledged
            self.received, self._input_base = hello.start, hello.taken
            self._input.clear()
            self._decoder.reset()
        elif hello.start > offset:
            self.lost += hello.start - offset
            self.received = hello.start
        self._taken(hello.taken)
        if self._input:  # typed while the old socket was dying: the supervisor never saw it
            await terminal.send_input(framing.keys(bytes(self._input)))
        if self._note is not None:
            await terminal.send_input(framing.meta(self._note))
        self._absorb(rest)
        return hello

    async def _expect(self, terminal: Terminal, framing: Attach, kind: type) -> tuple[Event, list[Event]]:
        while True:
            frame = await terminal.receive()
            if frame is None:
                raise NoSupervisor(self._no_start(framing, None))
            if frame.type != "output":
                continue
            events = framing.feed(frame.data)
            for at, event in enumerate(events):
                if isinstance(event, Gone):
                    raise SessionGone(event.why)
                if isinstance(event, AttachEnded):
                    raise NoSupervisor(self._no_start(framing, event.code))
                if isinstance(event, kind):
                    return event, events[at + 1:]

    @staticmethod
    def _no_start(framing: Attach, code: int | None) -> str:
        how = ("python3 was not found" if code == 127 else
               f"it ended with status {code}" if code is not None else "the terminal closed")
        said = " ".join(framing.noise.split())[-200:]
        return f"the live session's supervisor could not start ({how})" + (f": {said}" if said else "")

    async def reattach(self) -> None:
        """A new socket to the same session, from the next byte not seen (the old one is dropped)."""
        old, self._terminal = self._terminal, None
        if old is not None:
            await old.close()
        loop = asyncio.get_running_loop()
        deadline, delay = loop.time() + self._reconnect_for, 0.25
        while True:
            try:
                await self._attach(create=False, offset=self.received)
            except (*REATTACHABLE, NoSupervisor) as err:  # it ran a moment ago: a boot cut short
                if loop.time() + delay > deadline:
                    raise errors.TerminalDroppedError(
                        f"the connection to the live session dropped and did not come back within "
                        f"{self._reconnect_for:g}s ({err.message})") from None
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            self.reattached += 1
            return

    # ---------------------------------------------------------------- frames in

    async def receive(self) -> protocol.TerminalFrame | None:
        """The next output (text, decoded once); None when the program ended."""
        while not self._pending:
            if self.ended_code is not None:
                return None
            if self.dropped:
                await self.reattach()
            assert self._terminal is not None
            try:
                frame = await self._terminal.receive()
            except REATTACHABLE:
                await self.reattach()
                continue
            if frame is None:  # the attach ended without the program ending: reach it again
                await self.reattach()
                continue
            if frame.type == "error":
                return frame
            if frame.type == "output":
                self._absorb(self._framing.feed(frame.data))
        return self._pending.popleft()

    def _absorb(self, events: list[Event]) -> None:
        for event in events:
            if isinstance(event, Data):
                data = event.data
                if event.offset > self.received:
                    self.lost += event.offset - self.received
                elif event.offset < self.received:
                    data = data[self.received - event.offset:]  # seen before the socket was replaced
                self.received = max(self.received, event.offset + len(event.data))
                self._taken(event.taken)
                text = self._decoder.decode(data)
                last = self._pending[-1] if self._pending else None
                if last is not None and last.type == "output":  # one frame per socket frame
                    self._pending[-1] = protocol.TerminalFrame("output", data=last.data + text)
                elif text:
                    self._pending.append(protocol.TerminalFrame("output", data=text))
            elif isinstance(event, ProgramExited):
                tail = self._decoder.decode(b"", final=True)
                if tail:
                    self._pending.append(protocol.TerminalFrame("output", data=tail))
                self.ended_code = event.code
            elif isinstance(event, Gone):
                raise SessionGone(event.why)

    def _taken(self, taken: int) -> None:
        done = min(taken - self._input_base, len(self._input))
        if done > 0:
            del self._input[:done]
            self._input_base += done

    # ---------------------------------------------------------------- frames out

    async def _send(self, line: str) -> None:
        if self._terminal is not None and not self.dropped:
            await self._terminal.send_input(line)

    async def send_input(self, data: str) -> None:
        raw = data.encode("utf-8", "replace")
        self._input += raw
        await self._send(self._framing.keys(raw))

    async def resize(self, cols: int, rows: int) -> None:
        self._size = (cols, rows)
        await self._send(self._framing.resize(cols, rows))

    async def ack(self) -> None:
        """Everything received so far is shown: a client resuming later starts after it."""
        await self._send(self._framing.ack(self.received))

    async def note(self, note: dict[str, Any]) -> None:
        """Kept by the supervisor for a client that resumes (the framing's nonce, a busy flag)."""
        self._note = note
        await self._send(self._framing.meta(note))

    async def detach(self) -> None:
        """Leave: the session goes on, for ``--resume``."""
        await self._send(self._framing.detach())
        await self.close()

    async def end(self) -> None:
        """End the session: its shell and everything it runs."""
        terminal = self._terminal
        await self._send(self._framing.end())
        if terminal is not None:
            with contextlib.suppress(asyncio.TimeoutError, errors.OrgoError):
                await asyncio.wait_for(self._until_closed(terminal), END_WAIT)
        await self.close()

    @staticmethod
    async def _until_closed(terminal: Terminal) -> None:
        while await terminal.receive() is not None:
            pass

    async def close(self) -> None:
        terminal, self._terminal = self._terminal, None
        if terminal is not None:
            await terminal.close()
