"""Running one child process for a request: its own session, a capped output pipe, a timeout.

Why the pieces look the way they do:

* ``start_new_session`` puts the child and everything it spawns in one process group, so a
  timeout (or stopping the computer, or stopping the emulator) kills the whole tree with one
  ``killpg``, grandchildren included.
* Output goes through a pipe we create ourselves, not ``asyncio.subprocess.PIPE``: with the
  latter, Python 3.11's ``Process.wait()`` only returns once every holder of the pipe has closed
  it, so ``sleep 100 &`` in a command would hold the request for 100 s.  Here the wait ends when
  the child exits; we then drain what is already written and stop reading once the pipe has
  been idle for ``DRAIN_IDLE`` seconds (background processes keep running, their later output
  is not collected).
* Output past the cap is read and discarded, so a chatty child never blocks on a full pipe.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import threading
from dataclasses import dataclass
from typing import Mapping, Sequence

OUTPUT_CAP = 16 * 1024 * 1024  # bytes of output kept per call
DRAIN_IDLE = 0.05  # seconds of silence after exit that end collection
DRAIN_MAX = 1.0  # never collect more than this long after exit
_CHUNK = 64 * 1024


class CappedOutput:
    """Bytes up to a cap, and a count of everything that was written."""

    def __init__(self, cap: int = OUTPUT_CAP):
        self.cap = cap
        self.total = 0
        self._buf = bytearray()

    def feed(self, chunk: bytes) -> None:
        room = self.cap - len(self._buf)
        if room > 0:
            self._buf += chunk[:room]
        self.total += len(chunk)

    @property
    def truncated(self) -> bool:
        return self.total > self.cap

    def text(self) -> str:
        text = bytes(self._buf).decode("utf-8", errors="replace")
        if self.truncated:
            if text and not text.endswith("\n"):
                text += "\n"
            text += (f"[orgorepl emulator: output truncated at {self.cap} bytes; "
                     f"{self.total} bytes were written]\n")
        return text


@dataclass(frozen=True)
class Outcome:
    output: CappedOutput
    returncode: int | None  # negative: killed by that signal
    timed_out: bool


class ProcessGroups:
    """Process groups this emulator started and that may still have members, per computer.

    A group id stays reserved by the kernel while any member lives, so killing a tracked group
    can only hit our processes; ids of emptied groups are dropped (``prune``) before the kernel
    could hand them out again.
    """

    def __init__(self) -> None:
        self._groups: dict[int, str] = {}
        self._lock = threading.Lock()
        self.closed = False

    def add(self, pgid: int, owner: str) -> None:
        with self._lock:
            self.prune_locked()
            self._groups[pgid] = owner
            if self.closed:  # spawned while the emulator was closing: it must not outlive it
                _killpg(pgid)

    def release(self, pgid: int) -> None:
        """Forget a group once its leader is done, unless members (``cmd &``) live on."""
        with self._lock:
            if not _group_alive(pgid):
                self._groups.pop(pgid, None)

    def kill(self, owner: str | None = None) -> None:
        """SIGKILL every tracked group (of one computer, or all of them)."""
        with self._lock:
            for pgid, who in list(self._groups.items()):
                if owner is None or who == owner:
                    _killpg(pgid)
            self.prune_locked()

    def close(self) -> None:
        """Refuse new children from now on, and kill every one we have."""
        self.closed = True
        self.kill()

    def prune_locked(self) -> None:
        for pgid in [p for p in self._groups if not _group_alive(p)]:
            del self._groups[pgid]


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except (ProcessLookupError, PermissionError):
        return False  # gone, or the id already belongs to someone else
    return True


def _killpg(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


class Refused(RuntimeError):
    """The emulator is shutting down: no new child may start."""


async def run_captured(
    argv: Sequence[str],
    *,
    cwd: os.PathLike | str,
    env: Mapping[str, str],
    timeout: float,
    merge_stderr: bool,
    groups: ProcessGroups,
    owner: str,
    cap: int = OUTPUT_CAP,
) -> Outcome:
    """Run ``argv`` to completion or timeout; stdout (and stderr if merged) through one pipe."""
    if groups.closed:
        raise Refused("the emulator is shutting down")
    loop = asyncio.get_running_loop()
    read_fd, write_fd = os.pipe()
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL, stdout=write_fd,
            stderr=write_fd if merge_stderr else subprocess.DEVNULL, start_new_session=True,
        )
    except BaseException:
        os.close(read_fd)
        raise
    finally:
        os.close(write_fd)
    groups.add(proc.pid, owner)

    output = CappedOutput(cap)
    reader = asyncio.StreamReader(limit=_CHUNK)
    transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(read_fd, "rb", buffering=0)
    )
    collector = asyncio.create_task(_collect(reader, output))
    timed_out = False
    try:
        try:
            await asyncio.wait_for(proc.wait(), timeout)
        except asyncio.TimeoutError:
            timed_out = True
            _killpg(proc.pid)
            await proc.wait()
        await _drain(collector, output)
    finally:
        if proc.returncode is None:  # cancelled (client gone, server stopping)
            _killpg(proc.pid)
        collector.cancel()
        transport.close()
        groups.release(proc.pid)
    return Outcome(output=output, returncode=proc.returncode, timed_out=timed_out)


async def _collect(reader: asyncio.StreamReader, output: CappedOutput) -> None:
    while True:
        chunk = await reader.read(_CHUNK)
        if not chunk:
            return
        output.feed(chunk)


async def _drain(collector: asyncio.Task, output: CappedOutput) -> None:
    """After the child exited: take what is written, without waiting on background holders."""
    deadline = asyncio.get_running_loop().time() + DRAIN_MAX
    while not collector.done():
        before = output.total
        done, _ = await asyncio.wait({collector}, timeout=DRAIN_IDLE)
        if done or output.total == before or asyncio.get_running_loop().time() > deadline:
            return
