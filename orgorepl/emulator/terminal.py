"""The terminal WebSocket (contract §8, §13.1): one login bash in a PTY per socket.

``GET /desktops/{instance_id}/ws/terminal?token=..&cols=..&rows=..`` (the route and its checks
are in ``app``; close codes and frames in ``protocol``).  One socket is one shell: ``bash -l``,
interactive, with the PTY's slave as its controlling terminal (``setsid`` + ``TIOCSCTTY``), the
computer's home as its directory and the computer's environment plus ``TERM``.  It runs in a
cage (``containment``) kept together by *session*: job control puts every job of an interactive
shell in a process group of its own, so a process group would not hold them.

How the pieces look:

* The shell is started through a tiny ``python -I -S -c`` trampoline (``_TRAMPOLINE``) that
  takes the PTY as its controlling terminal, enters the cage (cgroup, ``RLIMIT_NPROC``) and
  execs bash, so nothing of the user's ever runs outside the cage; ``subprocess`` has no way to
  set a controlling terminal, and forking the (threaded) emulator by hand is not safe.
* Output is read from the PTY only as fast as the socket takes it (each read waits for the
  previous frame's send, which waits while the transport's buffer is full) and decoded with an
  incremental UTF-8 decoder, so a character split across two reads arrives whole.
* Input goes to the PTY without blocking the event loop; while more than ``INPUT_HIGH`` bytes
  wait for the PTY, the socket is not read (the client's TCP window closes), so a paste of any
  size arrives whole.
* When the socket ends, for any reason, the shell and everything it started get SIGHUP, then
  SIGKILL; the PTY's master is closed.  When the shell exits first, its remaining output is
  sent, then ``{"type": "exit", "code": N}``, then a close 1000.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import fcntl
import logging
import os
import struct
import sys
import termios
import threading
from collections import deque
from typing import Any

from starlette.websockets import WebSocket

from orgorepl import protocol
from orgorepl.emulator.containment import Cage, Containment, Refused, SpawnError
from orgorepl.emulator.limits import note
from orgorepl.emulator.state import ComputerRecord

log = logging.getLogger("orgorepl.emulator")

TERM = "xterm-256color"
IDLE_DEFAULT = 30 * 60.0  # seconds without an input frame before a close 4008 (the service's 30 min)
READ_SIZE = 64 * 1024
INPUT_HIGH = 256 * 1024  # input bytes waiting for the PTY before the socket stops being read
DRAIN_IDLE = 0.1  # after the shell exited: this long without output ends the drain
DRAIN_MAX = 3.0  # and never longer than this
HANGUP_GRACE = 0.2  # between SIGHUP and SIGKILL, while something of the terminal still lives
SEND_WAIT = 5.0  # a last frame (exit, close) waits this long for a client that reads nothing
SHUTDOWN_WAIT = 3.0  # how long closing the emulator waits for its terminals to say goodbye
SHELL = ("bash", "-l", "-i")

# argv: NPROC NCGROUPS CGROUP_PROCS_FILE... COMMAND...  (stdin, stdout and stderr: the PTY's slave;
# the process is a session leader already: subprocess called setsid)
_TRAMPOLINE = """\
import fcntl, os, resource, signal, sys, termios
signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # Python ignores it; `seq 1 9999999 | head` must not complain
args = sys.argv[1:]
nproc, count = args[0], int(args[1])
files, argv = args[2:2 + count], args[2 + count:]
try:
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    for name in files:
        fd = os.open(name, os.O_WRONLY)
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
    if nproc:
        resource.setrlimit(resource.RLIMIT_NPROC, (int(nproc), int(nproc)))
    os.execvp(argv[0], argv)
except OSError as exc:
    os.write(2, ("orgorepl emulator: cannot start the terminal's shell: %s\\r\\n" % exc).encode())
    os._exit(125)
"""


def check_idle(seconds: float) -> float:
    """The idle limit in seconds (a positive number), or ValueError."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not 0 < seconds < float("inf"):
        raise ValueError(f"the terminal idle limit must be a positive number of seconds, got {seconds!r}")
    return float(seconds)


def idle_text(seconds: float) -> str:
    if seconds >= 60:
        minutes = seconds / 60
        return f"{minutes:g} minute" + ("" if minutes == 1 else "s")
    return f"{seconds:g} second" + ("" if seconds == 1 else "s")


def window_size(cols: Any, rows: Any) -> tuple[int, int] | None:
    """(cols, rows) when both are whole numbers 1..TERMINAL_SIZE_MAX, else None."""
    size = []
    for value in (cols, rows):
        if isinstance(value, str):
            value = value.strip()
            if not value.isdigit() or len(value) > 6:
                return None
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= protocol.TERMINAL_SIZE_MAX:
            return None
        size.append(value)
    return size[0], size[1]


def set_window(fd: int, cols: int, rows: int) -> None:
    """TIOCSWINSZ: the shell's foreground job gets SIGWINCH and sees the new size."""
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def exit_status(returncode: int | None) -> int:
    """The shell's status as a shell reports it: 128+N when killed by signal N."""
    if returncode is None:
        return 255
    return 128 - returncode if returncode < 0 else returncode


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class _Gone(Exception):
    """The client's side of the socket is closed: nothing more can be sent."""


class _PtyWriter:
    """Input for the PTY, written without blocking; ``room`` is clear while too much waits."""

    def __init__(self, fd: int):
        self.fd = fd
        self.room = asyncio.Event()
        self.room.set()
        self._loop = asyncio.get_running_loop()
        self._chunks: deque[memoryview] = deque()
        self._pending = 0
        self._watching = False

    def write(self, data: bytes) -> None:
        if data and self.fd >= 0:
            self._chunks.append(memoryview(data))
            self._pending += len(data)
            self._flush()

    def _flush(self) -> None:
        while self._chunks and self.fd >= 0:
            chunk = self._chunks[0]
            try:
                written = os.write(self.fd, chunk)
            except BlockingIOError:
                break
            except OSError:  # the shell is gone (EIO): nobody will read the rest
                self._chunks.clear()
                self._pending = 0
                break
            self._pending -= written
            if written == len(chunk):
                self._chunks.popleft()
            else:
                self._chunks[0] = chunk[written:]
        wanted = bool(self._chunks) and self.fd >= 0
        if wanted != self._watching:
            if wanted:
                self._loop.add_writer(self.fd, self._flush)
            else:
                self._loop.remove_writer(self.fd)
            self._watching = wanted
        if self._pending < INPUT_HIGH:
            self.room.set()
        else:
            self.room.clear()

    def close(self) -> None:
        if self._watching:
            self._loop.remove_writer(self.fd)
            self._watching = False
        self._chunks.clear()
        self._pending = 0
        self.fd = -1
        self.room.set()


class TerminalHub:
    """The open terminals of one emulator: closes them when a computer stops or the emulator does."""

    def __init__(self, containment: Containment, idle: float = IDLE_DEFAULT):
        self.containment = containment
        self.idle = check_idle(idle)
        self.closing = False  # set from any thread; read by every terminal before it says goodbye
        self._sessions: set[TerminalSession] = set()
        self._lock = threading.Lock()

    async def serve(self, websocket: WebSocket, computer: ComputerRecord, env: dict[str, str],
                    cols: int, rows: int) -> None:
        """Run one accepted socket's terminal to its end; never raises for what the client does."""
        session = TerminalSession(self, websocket, computer, env, cols, rows)
        with self._lock:
            refused = self.closing
            if not refused:
                self._sessions.add(session)
        if refused:
            await session.say_goodbye(protocol.CLOSE_GOING_AWAY, "the emulator is shutting down")
            return
        try:
            await session.run()
        finally:
            with self._lock:
                self._sessions.discard(session)
            session.finished.set()

    def close_computer(self, computer_id: str, reason: str) -> None:
        """On the event loop: the computer stops or restarts, its terminals close with 1001."""
        with self._lock:
            sessions = [s for s in self._sessions if s.computer.id == computer_id]
        for session in sessions:
            session.go_away(reason)

    def close_threadsafe(self, reason: str = "the emulator is shutting down") -> None:
        """From any thread: refuse new terminals, ask every open one to close with 1001."""
        self.closing = True
        with self._lock:
            sessions = list(self._sessions)
        for session in sessions:
            with contextlib.suppress(RuntimeError):  # its loop is already gone
                session.loop.call_soon_threadsafe(session.go_away, reason)

    async def aclose(self, timeout: float = SHUTDOWN_WAIT) -> None:
        """On the event loop: close every terminal with 1001 and wait (bounded) until they are."""
        self.closing = True
        with self._lock:
            sessions = list(self._sessions)
        for session in sessions:
            session.go_away("the emulator is shutting down")
        waits = [asyncio.ensure_future(s.finished.wait()) for s in sessions if s.loop is asyncio.get_running_loop()]
        if waits:
            _, pending = await asyncio.wait(waits, timeout=timeout)
            for task in pending:
                task.cancel()


class TerminalSession:
    """One socket's shell, from spawn to the last process killed."""

    def __init__(self, hub: TerminalHub, websocket: WebSocket, computer: ComputerRecord,
                 env: dict[str, str], cols: int, rows: int):
        self.hub = hub
        self.ws = websocket
        self.computer = computer
        self.env = env
        self.size = (cols, rows)
        self.loop = asyncio.get_running_loop()
        self.finished = asyncio.Event()
        self.away: str | None = None  # why the server closes it (1001)
        self._woken = asyncio.Event()
        self._closed = False  # our close frame is sent (or the client is gone)
        self._progress = 0  # reads from the PTY plus frames sent: what "still draining" means
        self._last_input = self.loop.time()

    def go_away(self, reason: str) -> None:
        if self.away is None:
            self.away = reason
        self._woken.set()

    # ------------------------------------------------------------------ sending

    async def _send(self, frame: str) -> None:
        if self._closed:
            raise _Gone()
        try:
            await self.ws.send_text(frame)
        except Exception as exc:  # WebSocketDisconnect, a closed state (RuntimeError), OSError
            self._closed = True
            raise _Gone() from exc

    async def say_goodbye(self, code: int, reason: str) -> None:
        """The close frame (a reason fits in 123 bytes); given up on if the client reads nothing."""
        if self._closed:
            return
        self._closed = True
        short = reason.encode("utf-8")[:120].decode("utf-8", "ignore")
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.ws.close(code, short), SEND_WAIT)

    # ------------------------------------------------------------------ the run

    async def run(self) -> None:
        containment = self.hub.containment
        try:
            cage = containment.open(self.computer.id, session=True)
        except Refused:
            await self.say_goodbye(protocol.CLOSE_GOING_AWAY, "the emulator is shutting down")
            return
        except SpawnError as exc:
            await self.say_goodbye(protocol.CLOSE_SPAWN_FAILED, f"cannot start a shell: {exc}")
            return
        master = slave = -1
        ended = False
        try:
            try:
                master, slave = os.openpty()  # both close-on-exec: no child inherits the master
                set_window(slave, *self.size)
                spec = cage.child_spec()
                argv = [sys.executable, "-I", "-S", "-c", _TRAMPOLINE, str(spec["nproc"] or ""),
                        str(len(spec["cgroups"])), *spec["cgroups"], *SHELL]
                proc = await asyncio.create_subprocess_exec(
                    *argv, stdin=slave, stdout=slave, stderr=slave, cwd=self.computer.home,
                    env=self.env, start_new_session=True, close_fds=True)
            except OSError as exc:
                await self.say_goodbye(protocol.CLOSE_SPAWN_FAILED,
                                       f"cannot start a shell: {exc.strerror or exc}")
                return
            finally:
                if slave >= 0:  # the shell holds it now: EOF on the master once every holder is gone
                    os.close(slave)
            containment.attach(cage, proc.pid)
            await self._converse(master, proc, cage)
            await self._end(cage, proc)
            ended = True
        finally:
            if master >= 0:
                os.close(master)
            if not ended:  # cancelled (server stopping) or failed: no time for manners
                cage.kill()
                self._closed = True
            containment.release(cage)

    async def _end(self, cage: Cage, proc: asyncio.subprocess.Process) -> None:
        """SIGHUP to the whole session, a moment to go, SIGKILL to whatever stayed (what left the
        session lives on in the cage: see ``Cage.end_session``)."""
        if cage.session_alive():
            cage.hang_up()
            deadline = self.loop.time() + HANGUP_GRACE
            while cage.session_alive() and self.loop.time() < deadline:
                await asyncio.sleep(0.02)
        cage.end_session()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(proc.wait(), 5)
        deadline = self.loop.time() + 1.0  # let the kernel finish them, so the cage can be dropped
        while cage.session_alive() and self.loop.time() < deadline:
            await asyncio.sleep(0.01)

    async def _converse(self, master: int, proc: asyncio.subprocess.Process, cage: Cage) -> None:
        """Pump frames both ways until the shell exits, the client goes, idles, or we are told to close."""
        os.set_blocking(master, False)
        writer = _PtyWriter(master)
        output = self.loop.create_task(self._pump_output(master))
        inbound = self.loop.create_task(self._pump_input(master, writer))
        exited = self.loop.create_task(proc.wait())
        idle = self.loop.create_task(self._idle())
        woken = self.loop.create_task(self._woken.wait())
        tasks = {output, inbound, exited, idle, woken}
        try:
            await asyncio.wait({inbound, exited, idle, woken}, return_when=asyncio.FIRST_COMPLETED)
            if self.away is not None or self.hub.closing or not self.computer.running:
                output.cancel()
                reason = self.away or ("the emulator is shutting down" if self.hub.closing
                                       else "the computer is stopping")
                await self.say_goodbye(protocol.CLOSE_GOING_AWAY, reason)
            elif exited.done():
                await self._drain(output)
                output.cancel()
                await asyncio.gather(output, return_exceptions=True)
                code = exit_status(exited.result())
                frames = [protocol.output_frame(f"\r\n{note(limit, self.hub.containment.limits)}\r\n")
                          for limit in sorted(cage.hits())]
                try:
                    for frame in [*frames, protocol.exit_frame(code)]:
                        await asyncio.wait_for(self._send(frame), SEND_WAIT)
                except (_Gone, asyncio.TimeoutError):
                    self._closed = True
                    return
                await self.say_goodbye(protocol.CLOSE_NORMAL, f"the shell exited with status {code}")
            elif idle.done():
                output.cancel()
                await self.say_goodbye(protocol.CLOSE_IDLE,
                                       f"closed after {idle_text(self.hub.idle)} without input")
            else:  # the client closed or dropped the connection
                self._closed = True
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            writer.close()

    async def _drain(self, output: asyncio.Task[None]) -> None:
        """The shell exited: send what it wrote, without waiting on background holders of the PTY."""
        deadline = self.loop.time() + DRAIN_MAX
        while not output.done():
            before = self._progress
            await asyncio.wait({output}, timeout=DRAIN_IDLE)
            if self._progress == before or self.loop.time() > deadline:
                return

    async def _idle(self) -> None:
        """Returns once no input frame came for the idle limit (pings do not count)."""
        while True:
            remaining = self._last_input + self.hub.idle - self.loop.time()
            if remaining <= 0:
                return
            await asyncio.sleep(remaining)

    # ------------------------------------------------------------------ the pumps

    async def _read(self, master: int) -> bytes:
        """The next bytes of output; b"" once every holder of the slave is gone (EIO).

        A PTY hands out at most about 4 KiB per read; what is already waiting is gathered (up to
        READ_SIZE) into one frame, so a flood costs a frame per 64 KiB rather than per 4 KiB.
        """
        while True:
            try:
                first = os.read(master, READ_SIZE)
                if not first:
                    return first
                chunks, size = [first], len(first)
                while size < READ_SIZE:
                    try:
                        more = os.read(master, READ_SIZE - size)
                    except OSError:  # nothing more now (or EIO: said on the next call)
                        break
                    if not more:
                        break
                    chunks.append(more)
                    size += len(more)
                return b"".join(chunks)
            except BlockingIOError:
                pass
            except OSError:
                return b""
            ready = self.loop.create_future()
            self.loop.add_reader(master, _wake, ready)
            try:
                await ready
            finally:
                self.loop.remove_reader(master)

    async def _pump_output(self, master: int) -> None:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        try:
            while True:
                chunk = await self._read(master)
                self._progress += 1
                text = decoder.decode(chunk, final=not chunk)
                if text:
                    await self._send(protocol.output_frame(text))
                    self._progress += 1
                if not chunk:
                    return
        except _Gone:
            return

    async def _pump_input(self, master: int, writer: _PtyWriter) -> None:
        """Client frames until the client closes or drops the connection."""
        try:
            while True:
                await writer.room.wait()  # backpressure: the PTY has not taken the last paste yet
                message = await self.ws.receive()
                if message["type"] != "websocket.receive":
                    return
                raw = message.get("text")
                if raw is None:
                    raw = message.get("bytes")
                frame = protocol.parse_client_frame(raw) if raw is not None else None
                if frame is None:
                    await self._send(protocol.error_frame("ignored a frame that is not a JSON object with a 'type'"))
                    continue
                await self._handle(frame, master, writer)
        except _Gone:
            return
        except Exception:  # the socket broke under us (starlette raises on a receive after a close)
            self._closed = True
            return

    async def _handle(self, frame: dict[str, Any], master: int, writer: _PtyWriter) -> None:
        kind = frame["type"]
        if kind == "input":
            data = frame.get("data")
            if not isinstance(data, str):
                await self._send(protocol.error_frame("ignored an input frame whose 'data' is not a string"))
                return
            self._last_input = self.loop.time()
            writer.write(data.encode("utf-8", "replace"))
        elif kind == "resize":
            size = window_size(frame.get("cols"), frame.get("rows"))
            if size is None:
                await self._send(protocol.error_frame(
                    f"ignored a resize: 'cols' and 'rows' must be whole numbers 1..{protocol.TERMINAL_SIZE_MAX}"))
                return
            with contextlib.suppress(OSError):
                set_window(master, *size)
                self.size = size
        elif kind == "ping":
            await self._send(protocol.pong_frame())
        else:
            shown = kind if len(kind) <= 40 and kind.isprintable() else kind[:40].encode("unicode_escape").decode()
            await self._send(protocol.error_frame(f"ignored a frame of unknown type '{shown}'"))
