"""What /exec and /bash do on a computer, and the reply bodies they produce (contract §1, §2, §12).

Both run inside a cage (``containment``) under the emulator's limits (``limits``); a limit a run
reached is told in the reply's own shape: appended to ``error`` for a failed exec, as a marker
line at the end of ``output`` for bash.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import tempfile
from typing import Any

from orgorepl.emulator.containment import RunStopped, SpawnError
from orgorepl.emulator.limits import MEMORY, Limits, note
from orgorepl.emulator.procs import HostLost, Outcome, Spawned, supervise
from orgorepl.emulator.runtime import Runtime, child_env
from orgorepl.emulator.state import ComputerRecord

FATAL_STATUS = 70  # the child could not set its run up (``_cell.py``)

# bash cannot join a cgroup or lower its own RLIMIT_NPROC before it runs the user's command,
# so when a run needs either, a first bash does that and execs a pristine ``bash -c COMMAND``
# (same $0, same SHLVL, same environment as a direct spawn).
_BASH_CAGE = ('c=$1 n=$2; shift 2; for p; do printf %s "$$" > "$p" || exit 125; done; '
              'if [ -n "$n" ]; then ulimit -u "$n" || exit 125; fi; '
              'export SHLVL=$((SHLVL-1)); exec bash -c "$c"')


class BashTimedOut(Exception):
    """The real API reports a bash run killed by its timeout as an HTTP error, not a result."""

    def __init__(self, timeout: int, output: str):
        super().__init__(f"command timed out after {timeout} seconds")
        self.timeout = timeout
        self.output = output


def _code_fd(code: str) -> int:
    """The cell's source in an anonymous file: any size, no path for anyone to find."""
    try:
        fd = os.memfd_create("orgorepl-cell", os.MFD_CLOEXEC)
    except (AttributeError, OSError):
        with tempfile.TemporaryFile() as fh:
            fd = os.dup(fh.fileno())
    data = memoryview(code.encode("utf-8"))
    try:
        while data:
            data = data[os.write(fd, data):]
    except BaseException:
        os.close(fd)
        raise
    return fd


STOPPED = "The emulator is shutting down: the run was stopped before it ended."


async def run_exec(computer: ComputerRecord, code: str, timeout: int, runtime: Runtime) -> dict[str, Any]:
    """A pristine interpreter per call: no variable or import survives from one call to the next."""
    limits, containment = runtime.limits, runtime.containment
    cage = containment.open(computer.id)
    spec = {"cwd": str(computer.home), "env": child_env(computer), "memory": limits.memory,
            **cage.child_spec()}
    fds: dict[str, int] = {}
    try:
        fds["code"] = _code_fd(code)
        fds["out_r"], fds["out_w"] = os.pipe()
        fds["report_r"], fds["report_w"] = os.pipe()
        proc = await runtime.executor.start(spec, fds["code"], fds["out_w"], fds["report_w"])
    except BaseException as exc:
        for fd in fds.values():
            os.close(fd)
        containment.release(cage)
        if isinstance(exc, HostLost):
            raise SpawnError("the emulator's interpreter host died while starting the run") from exc
        raise
    for name in ("code", "out_w", "report_w"):  # the child has its own copies now
        os.close(fds[name])
    out_r, report_r = fds["out_r"], fds["report_r"]
    containment.attach(cage, proc.pid)
    outcome = await supervise(proc, cage, containment, out_fd=out_r, report_fd=report_r,
                              timeout=timeout, cap=limits.output)
    if containment.closed:
        raise RunStopped(STOPPED)
    return exec_reply(outcome, timeout, limits)


def parse_report(raw: bytes) -> tuple[str, str, str] | None:
    """(kind, error_type, error) from the child's report, or None if it wrote none (or garbage)."""
    try:
        kind, size, rest = raw.split(b" ", 2)
        n = int(size)
        if kind not in (b"0", b"1", b"F") or not 0 <= n <= len(rest):
            return None
        return kind.decode(), rest[:n].decode("utf-8", "replace"), rest[n:].decode("utf-8", "replace")
    except ValueError:
        return None


def exec_reply(outcome: Outcome, timeout: int, limits: Limits) -> dict[str, Any]:
    reply: dict[str, Any] = {"output": outcome.output.text(), "success": True, "action": "exec",
                             "timeout": False}
    report = parse_report(outcome.report)
    hits = set(outcome.hits)
    code = outcome.returncode
    if report is not None and report[0] == "F" and code == FATAL_STATUS:
        raise SpawnError(report[2])
    if outcome.timed_out:
        reply.update(success=False, timeout=True, error_type="TimeoutError",
                     error=f"Execution timed out after {timeout} seconds")
    elif outcome.lost:
        reply.update(success=False, error_type="ProcessKilled",
                     error="the run was stopped: the emulator's interpreter host died")
    elif report is not None and report[0] in ("0", "1"):
        if report[0] == "0":
            reply.update(success=False, error=report[2], error_type=report[1] or "Exception")
            if report[1] == "MemoryError" and limits.memory:
                hits.add(MEMORY)  # RLIMIT_AS said no
    elif MEMORY in hits:  # the kernel killed it for its memory
        reply.update(success=False, error_type="MemoryError", error="the run was killed for its memory use")
    elif code and code > 0:  # os._exit(n): no report written
        reply.update(success=False, error_type="SystemExit",
                     error=f"the interpreter exited with status {code}")
    elif code and code < 0:
        reply.update(success=False, error_type="ProcessKilled",
                     error=f"the interpreter was killed by {_signal_name(-code)}")
    if not reply["success"]:
        for limit in sorted(hits):
            reply["error"] = f"{reply['error']} {note(limit, limits)}".lstrip()
    return reply


async def run_bash(computer: ComputerRecord, command: str, timeout: int, runtime: Runtime) -> dict[str, Any]:
    """``bash -c`` (not a login shell), stdout and stderr through one pipe so their order holds."""
    limits, containment = runtime.limits, runtime.containment
    cage = containment.open(computer.id)
    spec = cage.child_spec()
    argv = ["bash", "-c", command]
    if spec["cgroups"] or spec["nproc"]:
        argv = ["bash", "-c", _BASH_CAGE, "bash", command, str(spec["nproc"] or ""), *spec["cgroups"]]
    try:
        out_r, out_w = os.pipe()
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv, cwd=computer.home, env=child_env(computer), stdin=subprocess.DEVNULL,
                stdout=out_w, stderr=out_w, start_new_session=True,
            )
        except BaseException:
            os.close(out_r)
            raise
        finally:
            os.close(out_w)
    except BaseException as exc:
        containment.release(cage)
        if isinstance(exc, OSError):
            raise SpawnError(f"cannot start bash: {exc}") from exc
        raise
    containment.attach(cage, proc.pid)
    outcome = await supervise(Spawned(proc), cage, containment, out_fd=out_r, timeout=timeout,
                              cap=limits.output)
    if containment.closed:
        raise RunStopped(STOPPED)
    output = outcome.output.text()
    for limit in sorted(outcome.hits):
        output += ("\n" if output and not output.endswith("\n") else "") + note(limit, limits) + "\n"
    if outcome.timed_out:
        raise BashTimedOut(timeout, output)
    code = outcome.returncode or 0
    exit_code = 128 - code if code < 0 else code  # killed by a signal: the shell's convention
    return {"success": True, "action": "bash", "command": command, "output": output, "exit_code": exit_code}


def _signal_name(number: int) -> str:
    try:
        return f"{signal.Signals(number).name} ({number})"
    except ValueError:
        return f"signal {number}"
