"""One pass-through session: keys to the remote PTY, its screen to ours, until it ends.

The session ends in exactly one of four ways, and each has one line and one exit status:
the remote shell exited (its status, as ssh passes it on), the user typed ``~.`` (0), the
server closed the socket normally (0), or it failed (the error's status and its one line).
With ``reconnect``, a failure that a new socket can cure (a dropped connection, the idle
close, the computer restarting, the proxy not reaching it) is followed by a new shell after
2 s, 4 s, ... up to 30 s between tries, each announced in one line; Ctrl-C or ``~.`` while
waiting gives up.  A new socket is a new shell: the old screen's modes are turned off first.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import signal
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from orgorepl import errors, protocol
from orgorepl.client.terminal import Terminal
from orgorepl.exitstatus import ExitStatus
from orgorepl.term.escapes import HELP, Disconnect, EscapeKeys, Help, Send
from orgorepl.ui.local_terminal import LocalTerminal

BACKOFF_FIRST = 2.0
BACKOFF_MAX = 30.0
RESIZE_POLL = 0.5  # where SIGWINCH cannot be caught (not the main thread), the size is polled

RECONNECTABLE = (errors.TerminalDroppedError, errors.TerminalIdleError, errors.TerminalStoppedError,
                 errors.TerminalUnreachableError, errors.ConnectError)

AccessFetcher = Callable[[bool], Awaitable[protocol.TerminalAccess]]


@dataclass(frozen=True)
class TermEnd:
    """How a session ended: the status to exit with and the line to say it in."""

    exit_status: int
    line: str
    failed: bool = False
    blocked: str = ""  # what the screen filter kept from the local terminal, if anything

    def lines(self) -> list[tuple[str, bool]]:
        """(text, is_error) to show once the terminal is back: the same for `term` and `%term`."""
        shown = [(self.blocked, True)] if self.blocked else []
        return [*shown, (self.line, self.failed)]


@dataclass(frozen=True)
class _Exited:
    code: int | None  # None: closed normally without an exit frame


@dataclass(frozen=True)
class _Disconnected:
    pass


async def _pump(terminal: Terminal, local: LocalTerminal, keys: EscapeKeys) -> _Exited | _Disconnected:
    loop = asyncio.get_running_loop()
    stop: asyncio.Future[_Disconnected] = loop.create_future()
    outgoing: asyncio.Queue[str] = asyncio.Queue()
    decode = codecs.getincrementaldecoder("utf-8")("replace").decode

    def on_keys() -> None:
        data = local.read_keys()
        if data is None:
            return
        if not data:  # the input ended (a pipe): the remote runs on until it exits
            loop.remove_reader(local.in_fd)
            return
        for action in keys.feed(decode(data)):
            if isinstance(action, Send):
                outgoing.put_nowait(action.text)
            elif isinstance(action, Help):
                local.show_text(HELP)
            elif isinstance(action, Disconnect) and not stop.done():
                stop.set_result(_Disconnected())

    async def send_keys() -> None:
        while True:
            parts = [await outgoing.get()]
            while not outgoing.empty():
                parts.append(outgoing.get_nowait())
            await terminal.send_input("".join(parts))

    async def show_screen() -> _Exited:
        code: int | None = None
        while True:
            frame = await terminal.receive()
            if frame is None:
                return _Exited(code)
            if frame.type == "output":
                local.show_remote(frame.data)
            elif frame.type == "exit":
                code = frame.code
            elif frame.type == "error":
                local.show_line(f"orgorepl: the terminal says: {frame.message}")

    async def follow_size() -> None:
        last = local.size()
        while True:
            await asyncio.sleep(RESIZE_POLL)
            if local.size() != last:
                last = local.resized()
                await terminal.resize(*last)

    def on_winch() -> None:
        loop.create_task(terminal.resize(*local.resized()))

    screen = loop.create_task(show_screen())
    tasks: list[asyncio.Task[object]] = [loop.create_task(send_keys()), screen]
    winch = False
    try:
        loop.add_signal_handler(signal.SIGWINCH, on_winch)
        winch = True
    except (ValueError, RuntimeError, NotImplementedError):  # not the main thread
        tasks.append(loop.create_task(follow_size()))
    loop.add_reader(local.in_fd, on_keys)
    try:
        waiters: list[asyncio.Future[Any]] = [stop, screen]
        await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        if stop.done():
            return stop.result()
        return screen.result()
    finally:
        loop.remove_reader(local.in_fd)
        if winch:
            loop.remove_signal_handler(signal.SIGWINCH)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _wait_or_give_up(local: LocalTerminal, seconds: float) -> bool:
    """Wait before the next try; False when the user pressed Ctrl-C or typed ``~.`` meanwhile."""
    loop = asyncio.get_running_loop()
    gave_up: asyncio.Future[bool] = loop.create_future()
    keys = EscapeKeys()

    def on_keys() -> None:
        data = local.read_keys()
        if data is None:
            return
        if not data:
            loop.remove_reader(local.in_fd)
            return
        if b"\x03" in data or any(isinstance(a, Disconnect) for a in keys.feed(data.decode("utf-8", "replace"))):
            if not gave_up.done():
                gave_up.set_result(True)

    loop.add_reader(local.in_fd, on_keys)
    try:
        await asyncio.wait_for(asyncio.shield(gave_up), seconds)
    except asyncio.TimeoutError:
        return True
    finally:
        loop.remove_reader(local.in_fd)
    return False


async def run_session(fetch_access: AccessFetcher, base_url: str, local: LocalTerminal, *,
                      name: str, reconnect: bool = False) -> TermEnd:
    """Run the pass-through on ``local`` (already in raw mode) until it ends; see the module doc."""
    keys = EscapeKeys()
    delay = BACKOFF_FIRST
    while True:
        terminal = Terminal(fetch_access, base_url, *local.size())
        try:
            await terminal.connect()
            ended = await _pump(terminal, local, keys)
        except errors.OrgoError as err:
            local.end_screen()
            if not (reconnect and isinstance(err, RECONNECTABLE)):
                return TermEnd(int(err.exit_status), err.one_line(), failed=True)
            if _lived(terminal):  # it had worked: start the backoff over
                delay = BACKOFF_FIRST
            what = err.one_line(advice=False) if isinstance(err, errors.TerminalClosedError) else err.message
            local.show_line(f"orgorepl: {what}; reconnecting in {delay:g} s (Ctrl-C or ~. gives up)")
            if not await _wait_or_give_up(local, delay):
                return TermEnd(int(err.exit_status), err.one_line(), failed=True)
            delay = min(BACKOFF_MAX, delay * 2)
            continue
        finally:
            with contextlib.suppress(Exception):
                await terminal.close()
        local.end_screen()
        if isinstance(ended, _Disconnected):
            return TermEnd(int(ExitStatus.OK), f"Disconnected from {name}.")
        code = ended.code
        status = int(ExitStatus.OK) if code is None else code & 0xFF
        return TermEnd(status, f"Connection to {name} closed.")


def _lived(terminal: Terminal) -> bool:
    """The socket that just failed had worked (so the next try starts the backoff over)."""
    try:
        return terminal.socket.received_any
    except RuntimeError:
        return False


def run_terminal(fetch_access: AccessFetcher, base_url: str, *, in_fd: int, out_fd: int, name: str,
                 reconnect: bool = False, allow_title: bool = False) -> TermEnd:
    """The whole pass-through, from raw mode on to the terminal given back exactly as it was."""
    local = LocalTerminal(in_fd, out_fd, allow_title=allow_title)
    local.enter()
    try:
        end = asyncio.run(run_session(fetch_access, base_url, local, name=name, reconnect=reconnect))
    finally:
        local.leave()
    blocked = local.blocked_summary()
    return TermEnd(end.exit_status, end.line, end.failed, blocked) if blocked else end
