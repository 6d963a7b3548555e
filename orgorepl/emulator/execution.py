"""What /exec and /bash do on a computer, and the reply bodies they produce (contract §1, §2, §12).

Children get a small, fixed environment: the computer's home as ``HOME`` and working directory,
the server's ``PATH``, ``LANG=C.UTF-8``, and who they run as.  Nothing else of the server's
environment leaks in, in particular not ``ORGO_API_KEY`` nor the emulator's own key.
"""

from __future__ import annotations

import getpass
import json
import os
import shutil
import signal
import sys
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

from orgorepl.emulator.procs import Outcome, ProcessGroups, run_captured
from orgorepl.emulator.state import ComputerRecord


class BashTimedOut(Exception):
    """The real API reports a bash run killed by its timeout as an HTTP error, not a result."""

    def __init__(self, timeout: int, output: str):
        super().__init__(f"command timed out after {timeout} seconds")
        self.timeout = timeout
        self.output = output


@lru_cache(maxsize=1)
def _runner_source() -> str:
    return (Path(__file__).with_name("_child.py")).read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return str(os.getuid())


def child_env(computer: ComputerRecord) -> dict[str, str]:
    user = _user()
    env = {
        "HOME": str(computer.home),
        "PATH": os.environ.get("PATH") or os.defpath,
        "LANG": "C.UTF-8",
        "USER": user,
        "LOGNAME": user,
        "SHELL": "/bin/bash",
    }
    if os.environ.get("TMPDIR"):
        env["TMPDIR"] = os.environ["TMPDIR"]
    return env


async def run_exec(computer: ComputerRecord, code: str, timeout: int, groups: ProcessGroups) -> dict[str, Any]:
    """A fresh interpreter per call: no variable or import survives from one call to the next."""
    scratch = Path(tempfile.mkdtemp(prefix="orgorepl-exec-"))
    try:
        code_file, result_file = scratch / "code.py", scratch / "result.json"
        code_file.write_bytes(code.encode("utf-8"))
        outcome = await run_captured(
            [sys.executable, "-c", _runner_source(), str(code_file), str(result_file)],
            cwd=computer.home, env=child_env(computer), timeout=timeout, merge_stderr=False,
            groups=groups, owner=computer.id,
        )
        return exec_reply(outcome, _read_result(result_file), timeout)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def exec_reply(outcome: Outcome, result: dict[str, Any] | None, timeout: int) -> dict[str, Any]:
    reply: dict[str, Any] = {"output": outcome.output.text(), "success": True, "action": "exec",
                             "timeout": False}
    if outcome.timed_out:
        reply.update(success=False, timeout=True, error_type="TimeoutError",
                     error=f"Execution timed out after {timeout} seconds")
    elif result is not None:
        if not result.get("success"):
            reply.update(success=False, error=str(result.get("error", "")),
                         error_type=str(result.get("error_type") or "Exception"))
    elif outcome.returncode and outcome.returncode > 0:  # os._exit(n): no result written
        reply.update(success=False, error_type="SystemExit",
                     error=f"the interpreter exited with status {outcome.returncode}")
    elif outcome.returncode and outcome.returncode < 0:
        reply.update(success=False, error_type="ProcessKilled",
                     error=f"the interpreter was killed by {_signal_name(-outcome.returncode)}")
    return reply


async def run_bash(computer: ComputerRecord, command: str, timeout: int, groups: ProcessGroups) -> dict[str, Any]:
    """``bash -c`` (not a login shell), stdout and stderr through one pipe so their order holds."""
    outcome = await run_captured(
        ["bash", "-c", command], cwd=computer.home, env=child_env(computer), timeout=timeout,
        merge_stderr=True, groups=groups, owner=computer.id,
    )
    if outcome.timed_out:
        raise BashTimedOut(timeout, outcome.output.text())
    code = outcome.returncode or 0
    exit_code = 128 - code if code < 0 else code  # killed by a signal: the shell's convention
    return {"success": True, "action": "bash", "command": command, "output": outcome.output.text(),
            "exit_code": exit_code}


def _read_result(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # killed before (or while) writing it
    return data if isinstance(data, dict) else None


def _signal_name(number: int) -> str:
    try:
        return f"{signal.Signals(number).name} ({number})"
    except ValueError:
        return f"signal {number}"
