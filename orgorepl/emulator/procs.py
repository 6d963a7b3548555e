"""Supervising one run: reading its pipes with a cap, waiting for its end, killing it on timeout.

Why the pieces look the way they do:

* The run's output goes through a pipe we create ourselves and read with ``os.read`` from the
  event loop.  The wait ends when the run's *leader* exits (the exit status comes from
  asyncio for a spawned child, from the zygote for a forked one), not when every holder of the
  pipe has closed it: ``sleep 100 &`` must not hold the reply for 100 s.  After the exit we
  drain what is already written and stop once the pipe has been idle for ``DRAIN_IDLE``
  (background processes keep running; their later output is not collected).
* Output past the cap is read and discarded in large reads, so a chatty child never blocks on
  a full pipe and costs the emulator little.
* A timeout, a cancelled request or a stopped computer kills the run's whole cage: its process
  group and, where there is one, its cgroup.  So does reaching the process limit, once the
  call ends: a fork bomb's leader may well end first, and what it started must not live on.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from typing import Protocol

from orgorepl.emulator.containment import Cage, Containment
from orgorepl.emulator.limits import DEFAULT_OUTPUT, PROCESSES

OUTPUT_CAP = DEFAULT_OUTPUT  # bytes of output kept per call
DRAIN_IDLE = 0.05  # seconds of silence after exit that end collection
DRAIN_MAX = 1.0  # never collect more than this long after exit
RESULT_CAP = 4 * 1024 * 1024  # the child's own report (an exception text is cut at 1 MiB)
_READ = 256 * 1024


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

    def raw(self) -> bytes:
        return bytes(self._buf)

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
    returncode: int | None  # negative: killed by that signal; None: unknown (host lost)
    timed_out: bool
    report: bytes = b""  # what the child wrote on its result pipe
    hits: set[str] = field(default_factory=set)  # limits the run reached
    lost: bool = False  # the process that could tell how the run ended died first


class RunProcess(Protocol):
    """A started run: its leader's pid (also its process group) and a way to await its end."""

    pid: int

    async def wait(self) -> int | None: ...


class Spawned:
    """A RunProcess for a child asyncio spawned (and reaps)."""

    def __init__(self, proc: asyncio.subprocess.Process):
        self.pid = proc.pid
        self._proc = proc

    async def wait(self) -> int | None:
        return await self._proc.wait()


class HostLost(Exception):
    """The process that started the run (the zygote) died before telling how it ended."""


class PipeReader:
    """Reads one pipe from the event loop into a CappedOutput until EOF or close()."""

    def __init__(self, fd: int, sink: CappedOutput):
        self.fd = fd
        self.sink = sink
        self.eof = asyncio.get_running_loop().create_future()
        self._loop = asyncio.get_running_loop()
        os.set_blocking(fd, False)
        self._loop.add_reader(fd, self._readable)

    def _readable(self) -> None:
        try:
            chunk = os.read(self.fd, _READ)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if chunk:
            self.sink.feed(chunk)
            return
        self.close()

    async def drain(self) -> None:
        """After the leader exited: take what is written, without waiting on background holders."""
        deadline = self._loop.time() + DRAIN_MAX
        while not self.eof.done():
            before = self.sink.total
            await asyncio.wait({self.eof}, timeout=DRAIN_IDLE)
            if self.sink.total == before or self._loop.time() > deadline:
                return

    def close(self) -> None:
        if self.fd < 0:
            return
        self._loop.remove_reader(self.fd)
        os.close(self.fd)
        self.fd = -1
        if not self.eof.done():
            self.eof.set_result(None)


async def supervise(proc: RunProcess, cage: Cage, containment: Containment, *, out_fd: int,
                    timeout: float, cap: int = OUTPUT_CAP, report_fd: int | None = None) -> Outcome:
    """Wait for the run to end or time out; both pipes' read ends are ours and get closed."""
    output, report = CappedOutput(cap), CappedOutput(RESULT_CAP)
    readers = [PipeReader(out_fd, output)]
    if report_fd is not None:
        readers.append(PipeReader(report_fd, report))
    timed_out = lost = finished = False
    returncode: int | None = None
    try:
        try:
            try:
                returncode = await asyncio.wait_for(proc.wait(), timeout)
            except asyncio.TimeoutError:
                timed_out = True
                cage.kill()
                returncode = await proc.wait()
        except HostLost:
            lost = True
            cage.kill()
        finished = True
        await asyncio.gather(*(reader.drain() for reader in readers))
    finally:
        if not finished:  # cancelled (client gone, server stopping)
            cage.kill()
        else:
            containment.settle(cage)
            if PROCESSES in cage.hits():  # a runaway (a fork bomb's leader may end first): all of it
                cage.kill()
        for reader in readers:
            reader.close()
        hits = cage.hits()
        containment.release(cage)
    return Outcome(output=output, returncode=returncode, timed_out=timed_out, report=report.raw(),
                   hits=hits, lost=lost)
