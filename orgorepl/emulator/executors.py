"""Two ways to start the interpreter of an exec, behind one interface.

* ``zygote`` (default): fork a pristine child from a warm interpreter (``zygote``), about a
  millisecond instead of a fresh interpreter's start-up;
* ``spawn``: a fresh ``python -c`` per call, the way the emulator first worked.  It is the
  baseline of ``benchmarks/emulator_speed.py`` and a fallback should the zygote misbehave.

Both run the same child code (``_cell.py``), get the same three fds (the code in a memfd, the
output pipe, the report pipe) and the same spec (cwd, environment, cgroups, rlimits), and
return a ``procs.RunProcess`` whose pid is also the run's process group.  bash does not go
through an executor: it is spawned directly (``execution.run_bash``).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

from orgorepl.emulator.containment import SpawnError
from orgorepl.emulator.procs import RunProcess, Spawned
from orgorepl.emulator.zygote import Zygote

EXECUTORS = ("zygote", "spawn")
# The zygote needs SOCK_SEQPACKET and fd passing as Linux has them; elsewhere spawn is the default.
DEFAULT_EXECUTOR = "zygote" if sys.platform.startswith("linux") else "spawn"


class Executor(Protocol):
    name: str

    async def start(self, spec: dict[str, Any], code_fd: int, out_fd: int, report_fd: int) -> RunProcess: ...

    async def aclose(self) -> None: ...


@lru_cache(maxsize=1)
def runner_source() -> str:
    here = Path(__file__).parent
    return "\n\n".join((here / name).read_text(encoding="utf-8") for name in ("_cell.py", "_child.py"))


class SpawnExecutor:
    """A fresh interpreter per call."""

    name = "spawn"

    async def start(self, spec: dict[str, Any], code_fd: int, out_fd: int, report_fd: int) -> RunProcess:
        argv = [sys.executable, "-c", runner_source(), str(code_fd), str(report_fd),
                str(spec["memory"] or ""), str(spec["nproc"] or ""), *spec["cgroups"]]
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv, cwd=spec["cwd"], env=spec["env"], stdin=subprocess.DEVNULL, stdout=out_fd,
                stderr=subprocess.DEVNULL, pass_fds=(code_fd, report_fd), start_new_session=True,
            )
        except OSError as exc:
            raise SpawnError(f"cannot start the interpreter: {exc}") from exc
        return Spawned(proc)

    async def aclose(self) -> None:
        pass


class ZygoteExecutor:
    """Runs forked from one warm zygote; ``env`` is every computer's environment but ``HOME``."""

    name = "zygote"

    def __init__(self, env: dict[str, str]):
        self.zygote = Zygote(env)

    async def start(self, spec: dict[str, Any], code_fd: int, out_fd: int, report_fd: int) -> RunProcess:
        return await self.zygote.spawn(spec, [code_fd, out_fd, report_fd])

    async def aclose(self) -> None:
        await self.zygote.aclose()


def make_executor(name: str, env: dict[str, str]) -> Executor:
    if name == "zygote":
        return ZygoteExecutor(env)
    if name == "spawn":
        return SpawnExecutor()
    raise ValueError(f"executor must be one of {', '.join(EXECUTORS)}, got {name!r}")
