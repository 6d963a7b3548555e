"""The terminal WebSocket client: one remote PTY, JSON frames both ways (contract §8, §13.1).

Why it is built this way:

* **Closes become errors in one place.**  Every way a socket can end (a close code from either
  of the two sets, a handshake the server refused, a connection that dropped without a close
  frame) is turned into the error tree by ``protocol.terminal_close_error`` here, so a front
  end only ever sees an ``errors.TerminalClosedError`` with a one-line message, or a normal end.
* **The token is fetched, not remembered.**  It is the computer's ``vnc_password``, which
  rotates on every restart.  ``Terminal`` asks for access when it connects, and once more
  (from ``/vnc-password``) when the socket is refused for auth before it said anything: a
  token read a moment before a restart is the common case, and the user has lost nothing yet.
  Any later auth close is reported, never retried in a loop.
* **Keep-alive on two levels.**  A JSON ``ping`` every 20 s (the contract asks for 10-30 s) and
  the WebSocket protocol's own ping, whose missing pong is how a dead network is noticed.
* **The token never leaves.**  It is only in the URL handed to ``websockets``; no message built
  here quotes the URL or an exception text of the library that might.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import websockets
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI

from orgorepl import __version__, errors, protocol

OPEN_TIMEOUT = 15.0
INPUT_CHUNK = 32 * 1024  # characters per input frame: a 1 MB paste is many frames, never one huge one
MAX_FRAME = 16 * 1024 * 1024

AccessFetcher = Callable[[bool], Awaitable[protocol.TerminalAccess]]  # fresh_token -> access


def _closed_error(exc: ConnectionClosed) -> errors.TerminalClosedError | None:
    """The error a finished connection means; None for a normal close by either side."""
    frame = exc.rcvd if exc.rcvd is not None else None
    if frame is None:
        sent = exc.sent
        if sent is not None and sent.code == protocol.CLOSE_NORMAL:
            return None  # we closed it ourselves
        return protocol.terminal_close_error(None)
    return protocol.terminal_close_error(frame.code, frame.reason)


class TerminalSocket:
    """One open terminal socket.  ``receive`` skips pongs and returns None at a normal close."""

    def __init__(self, ws: ClientConnection, ping_interval: float) -> None:
        self._ws = ws
        self.received_any = False
        self._pinger = asyncio.get_running_loop().create_task(self._ping_every(ping_interval))

    @classmethod
    async def open(cls, url: str, *, open_timeout: float = OPEN_TIMEOUT,
                   ping_interval: float = protocol.TERMINAL_PING_INTERVAL) -> TerminalSocket:
        try:
            ws = await connect(url, open_timeout=open_timeout, ping_interval=ping_interval,
                               ping_timeout=ping_interval, close_timeout=2, max_size=MAX_FRAME,
                               user_agent_header=f"orgorepl/{__version__} websockets/{websockets.__version__}",
                               compression=None)
        except InvalidStatus as exc:
            status = exc.response.status_code
            if status in (401, 403):
                raise errors.TerminalAuthError(f"the terminal refused the connection (HTTP {status})") from None
            if status == 404:
                raise errors.TerminalNotFoundError(
                    "the server has no terminal at this address (HTTP 404)") from None
            raise errors.TerminalUnreachableError(
                f"the terminal could not be opened (HTTP {status})") from None
        except InvalidURI:
            raise errors.ConfigError("the terminal address is not a valid WebSocket URL") from None
        except (InvalidHandshake, ConnectionClosed):
            raise errors.TerminalDroppedError("the terminal handshake failed") from None
        except (OSError, asyncio.TimeoutError) as exc:
            what = "timed out" if isinstance(exc, asyncio.TimeoutError) else (exc.strerror or type(exc).__name__)
            raise errors.ConnectError(f"could not connect to the terminal: {what}") from None
        return cls(ws, ping_interval)

    async def _ping_every(self, interval: float) -> None:
        with contextlib.suppress(ConnectionClosed, asyncio.CancelledError):
            while True:
                await asyncio.sleep(interval)
                await self._ws.send(protocol.ping_frame())

    async def receive(self) -> protocol.TerminalFrame | None:
        while True:
            try:
                message = await self._ws.recv()
            except ConnectionClosed as exc:
                self._pinger.cancel()
                error = _closed_error(exc)
                if error is not None:
                    raise error from None
                return None
            frame = protocol.parse_terminal_frame(message)
            if frame.type == "pong":
                continue
            self.received_any = True
            return frame

    async def _send(self, text: str) -> None:
        """Sending on a closed socket does nothing: ``receive`` is the one place that reports the end
        (and the one that may reconnect after an early auth close, which must not be preempted)."""
        with contextlib.suppress(ConnectionClosed):
            await self._ws.send(text)

    async def send_input(self, data: str) -> None:
        for start in range(0, len(data), INPUT_CHUNK):
            await self._send(protocol.input_frame(data[start:start + INPUT_CHUNK]))

    async def resize(self, cols: int, rows: int) -> None:
        await self._send(protocol.resize_frame(cols, rows))

    async def ping(self) -> None:
        await self._send(protocol.ping_frame())

    @property
    def close_code(self) -> int | None:
        return self._ws.close_code

    async def close(self) -> None:
        self._pinger.cancel()
        with contextlib.suppress(Exception):
            await self._ws.close(protocol.CLOSE_NORMAL)


class Terminal:
    """A computer's terminal: access fetched for it, and refetched once after an early auth close."""

    def __init__(self, fetch_access: AccessFetcher, base_url: str, cols: int, rows: int, *,
                 ping_interval: float = protocol.TERMINAL_PING_INTERVAL) -> None:
        self._fetch = fetch_access
        self._base_url = base_url
        self._size = (cols, rows)
        self._ping_interval = ping_interval
        self._socket: TerminalSocket | None = None
        self._refetched = False
        self.computer: protocol.Computer | None = None

    async def connect(self, *, fresh_token: bool = False) -> None:
        access = await self._fetch(fresh_token)
        self.computer = access.computer
        self._socket = await TerminalSocket.open(access.url(self._base_url, *self._size),
                                                 ping_interval=self._ping_interval)

    @property
    def socket(self) -> TerminalSocket:
        if self._socket is None:
            raise RuntimeError("the terminal is not connected")
        return self._socket

    async def receive(self) -> protocol.TerminalFrame | None:
        while True:
            socket = self.socket
            try:
                return await socket.receive()
            except errors.TerminalClosedError as err:
                if (err.code not in protocol.AUTH_CLOSE_CODES or socket.received_any or self._refetched):
                    raise
                self._refetched = True  # the token rotated under us: once, with a fresh one
                await self.connect(fresh_token=True)

    async def send_input(self, data: str) -> None:
        await self.socket.send_input(data)

    async def resize(self, cols: int, rows: int) -> None:
        self._size = (cols, rows)
        await self.socket.resize(cols, rows)

    async def close(self) -> None:
        if self._socket is not None:
            await self._socket.close()
