"""The emulator's side of the zygote (``_zygote.py``): start it, ask it for runs, hear how they end.

Why a zygote: a fresh ``python -c`` costs tens of milliseconds of interpreter start-up per exec;
forking a process that has already started costs about one.  The zygote is started on first
use, one per emulator (every computer's runs differ only in cwd, ``HOME`` and cgroup, which the
child sets itself).  If it dies (a run may kill its parent), the runs it was watching are
reported as killed and the next exec starts a new one; a request is re-sent to a new zygote
only when the old one never received it, so no code ever runs twice.
"""

from __future__ import annotations

import asyncio
import marshal
import os
import shutil
import signal
import socket
import sys
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

from orgorepl.emulator.containment import SpawnError
from orgorepl.emulator.procs import HostLost

START_TIMEOUT = 30.0

BOOT = (
    "import sys;_orgo_base=frozenset(sys.modules);import os\n"
    "_orgo_src=b''\n"
    "while True:\n"
    "    _orgo_chunk=os.read(0,65536)\n"
    "    if not _orgo_chunk:\n"
    "        break\n"
    "    _orgo_src+=_orgo_chunk\n"
    "exec(compile(_orgo_src,'<orgorepl-zygote>','exec'))\n"
)


@lru_cache(maxsize=1)
def zygote_source() -> bytes:
    here = Path(__file__).parent
    parts = [(here / name).read_text(encoding="utf-8") for name in ("_cell.py", "_zygote.py")]
    return "\n\n".join(parts).encode("utf-8")


class ZygoteRun:
    """A forked run: its pid (and process group) and its exit, as the zygote reports it."""

    def __init__(self, pid: int, ended: asyncio.Future):
        self.pid = pid
        self._ended = ended

    async def wait(self) -> int | None:
        return await asyncio.shield(self._ended)  # a timed-out wait must not cancel the exit


def _fail(future: asyncio.Future, exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
        future.add_done_callback(lambda f: f.cancelled() or f.exception())  # retrieved by design


class Zygote:
    """One zygote process and the requests in flight to it."""

    def __init__(self, env: dict[str, str]):
        self._env = dict(env)
        self._proc: asyncio.subprocess.Process | None = None
        self._sock: socket.socket | None = None
        self._home: str | None = None
        self._starting: asyncio.Task | None = None
        self._ready: asyncio.Future | None = None
        self._next_id = 0
        self._pids: dict[int, asyncio.Future] = {}
        self._exits: dict[int, asyncio.Future] = {}
        self._abandoned: set[int] = set()
        self._write_waiters: list[asyncio.Future] = []
        self.starts = 0  # how many zygotes this emulator has started (tests, benchmarks)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None and self._sock is not None else None

    # ------------------------------------------------------------------ life

    async def _ensure(self) -> None:
        if self._sock is not None:
            return
        if self._starting is None:
            self._starting = asyncio.get_running_loop().create_task(self._start())
        starting = self._starting
        try:
            await asyncio.shield(starting)
        except Exception:
            if self._starting is starting:
                self._starting = None
            raise

    async def _start(self) -> None:
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        home = tempfile.mkdtemp(prefix="orgorepl-zygote-")  # empty: no user site of ours leaks in
        try:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-c", BOOT, str(theirs.fileno()),
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.DEVNULL, pass_fds=(theirs.fileno(),), cwd="/",
                env=dict(self._env, HOME=home), start_new_session=True,
            )
        except BaseException:
            ours.close()
            shutil.rmtree(home, ignore_errors=True)
            raise
        finally:
            theirs.close()
        ours.setblocking(False)
        self._proc, self._sock, self._home = proc, ours, home
        self._ready = loop.create_future()
        loop.add_reader(ours.fileno(), self._readable)
        try:
            assert proc.stdin is not None
            proc.stdin.write(zygote_source())
            await proc.stdin.drain()
            proc.stdin.close()
            await asyncio.wait_for(asyncio.shield(self._ready), START_TIMEOUT)
        except BaseException:
            self._lost()
            raise
        self.starts += 1
        self._starting = None

    def _lost(self) -> None:
        """The zygote is gone (or must go): fail what waits on it; the next run starts another."""
        sock, proc, home = self._sock, self._proc, self._home
        self._sock = self._proc = self._home = None
        self._starting = None
        if sock is not None:
            try:
                loop = asyncio.get_running_loop()
                loop.remove_reader(sock.fileno())
                loop.remove_writer(sock.fileno())
            except (RuntimeError, ValueError):
                pass
            sock.close()
        if proc is not None and proc.returncode is None:
            try:
                proc.kill()
            except ProcessLookupError:
                pass
        if home is not None:
            shutil.rmtree(home, ignore_errors=True)
        for future in [self._ready, *self._pids.values(), *self._exits.values(), *self._write_waiters]:
            if future is not None:
                _fail(future, HostLost("the zygote died"))
        self._pids.clear()
        self._exits.clear()
        self._abandoned.clear()
        self._write_waiters.clear()

    async def aclose(self) -> None:
        """Kill the zygote and every process still in its session (runs in setup included)."""
        proc = self._proc
        session = proc.pid if proc is not None else None
        self._lost()
        if proc is not None:
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except asyncio.TimeoutError:
                pass
        if session is not None:
            kill_session(session)

    # ------------------------------------------------------------------ messages

    def _readable(self) -> None:
        while self._sock is not None:
            try:
                data = self._sock.recv(1 << 16)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:
                self._lost()
                return
            try:
                message = marshal.loads(data)
            except (EOFError, ValueError, TypeError):
                continue
            self._dispatch(message)

    def _dispatch(self, message: dict[str, Any]) -> None:
        if "ready" in message:
            if self._ready is not None and not self._ready.done():
                self._ready.set_result(message["ready"])
            return
        rid: Any = message.get("id")  # an int; absent only from a malformed message
        if "pid" in message:
            future = self._pids.pop(rid, None)
            if rid in self._abandoned:  # its request was cancelled while the fork was under way
                self._abandoned.discard(rid)
                _kill_run(message["pid"])
            elif future is not None and not future.done():
                future.set_result(message["pid"])
        elif "error" in message:
            self._exits.pop(rid, None)
            self._abandoned.discard(rid)
            future = self._pids.pop(rid, None)
            if future is not None:
                _fail(future, SpawnError(str(message["error"])))
        elif "status" in message:
            future = self._exits.pop(rid, None)
            if future is not None and not future.done():
                future.set_result(os.waitstatus_to_exitcode(message["status"]))

    async def _send(self, message: dict[str, Any], fds: list[int]) -> None:
        data = marshal.dumps(message)
        while True:
            if self._sock is None:
                raise HostLost("the zygote died")
            try:
                socket.send_fds(self._sock, [data], fds)
                return
            except BlockingIOError:
                await self._writable()
            except OSError as exc:
                self._lost()
                raise HostLost("the zygote died") from exc

    async def _writable(self) -> None:
        """Wait until the zygote's queue has room (it holds few messages: max_dgram_qlen)."""
        loop = asyncio.get_running_loop()
        assert self._sock is not None
        future = loop.create_future()
        self._write_waiters.append(future)
        if len(self._write_waiters) == 1:  # one registration per fd: add_writer replaces, not adds
            loop.add_writer(self._sock.fileno(), self._wake_writers)
        await future

    def _wake_writers(self) -> None:
        if self._sock is not None:
            asyncio.get_running_loop().remove_writer(self._sock.fileno())
        waiters, self._write_waiters = self._write_waiters, []
        for future in waiters:
            if not future.done():
                future.set_result(None)

    # ------------------------------------------------------------------ runs

    async def spawn(self, spec: dict[str, Any], fds: list[int]) -> ZygoteRun:
        """Fork a run; raises SpawnError, or HostLost if the zygote died with the request."""
        loop = asyncio.get_running_loop()
        for attempt in (1, 2):
            await self._ensure()
            self._next_id += 1
            rid = self._next_id
            started, ended = loop.create_future(), loop.create_future()
            self._pids[rid], self._exits[rid] = started, ended
            try:
                await self._send({"id": rid, "spec": spec}, fds)
            except HostLost:
                self._pids.pop(rid, None)
                self._exits.pop(rid, None)
                if attempt == 2:
                    raise
                continue  # never delivered: nothing ran, a new zygote may take it
            try:
                pid = await asyncio.shield(started)
            except asyncio.CancelledError:
                if not started.done():
                    self._abandoned.add(rid)
                    self._exits.pop(rid, None)
                else:
                    _kill_run(started.result())
                raise
            return ZygoteRun(pid, ended)
        raise HostLost("the zygote died")  # pragma: no cover - the loop returns or raises


def _kill_run(pid: int) -> None:
    for kill in (os.killpg, os.kill):
        try:
            kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def kill_session(sid: int) -> None:
    """SIGKILL every process of a session (the zygote's children stay in its session)."""
    try:
        entries = os.listdir("/proc")
    except OSError:
        return
    for entry in entries:
        if not entry.isdigit():
            continue
        try:
            data = Path(f"/proc/{entry}/stat").read_bytes()
        except OSError:
            continue
        fields = data[data.rfind(b")") + 2:].split()
        if len(fields) > 3 and fields[3] == str(sid).encode():
            try:
                os.kill(int(entry), signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
