"""What the handlers run code with: the limits, the containment of runs, the exec executor and
the open terminals.

One ``Runtime`` per emulator (``create_app``).  Children get a small, fixed environment: the
computer's home as ``HOME`` and working directory, the server's ``PATH``, ``LANG=C.UTF-8``, and
who they run as.  Nothing else of the server's environment leaks in, in particular not
``ORGO_API_KEY`` nor the emulator's own key.
"""

from __future__ import annotations

import getpass
import os
from functools import lru_cache

from orgorepl.emulator.containment import MODES, Containment
from orgorepl.emulator.executors import DEFAULT_EXECUTOR, EXECUTORS, make_executor
from orgorepl.emulator.limits import Limits
from orgorepl.emulator.state import ComputerRecord
from orgorepl.emulator.terminal import IDLE_DEFAULT, TerminalHub, check_idle


@lru_cache(maxsize=1)
def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return str(os.getuid())


def base_env() -> dict[str, str]:
    """Every computer's environment except ``HOME``."""
    user = _user()
    env = {
        "PATH": os.environ.get("PATH") or os.defpath,
        "LANG": "C.UTF-8",
        "USER": user,
        "LOGNAME": user,
        "SHELL": "/bin/bash",
    }
    if os.environ.get("TMPDIR"):
        env["TMPDIR"] = os.environ["TMPDIR"]
    return env


def child_env(computer: ComputerRecord) -> dict[str, str]:
    return {"HOME": str(computer.home), **base_env()}


def check_options(executor: str | None, containment: str, terminal_idle: float = IDLE_DEFAULT) -> None:
    """Raise ValueError for an unknown executor or containment mode, or a bad idle limit,
    before anything is touched."""
    if executor is not None and executor not in EXECUTORS:
        raise ValueError(f"executor must be one of {', '.join(EXECUTORS)}, got {executor!r}")
    if containment not in MODES:
        raise ValueError(f"containment mode must be one of {', '.join(MODES)}, got {containment!r}")
    check_idle(terminal_idle)


class Runtime:
    def __init__(self, limits: Limits | None = None, executor: str | None = None, containment: str = "auto",
                 *, terminal_idle: float = IDLE_DEFAULT):
        check_options(executor, containment, terminal_idle)
        self.limits = limits or Limits()
        self.containment = Containment(self.limits, containment)
        self.executor = make_executor(executor or DEFAULT_EXECUTOR, base_env())
        self.terminals = TerminalHub(self.containment, terminal_idle)

    def close_now(self) -> None:
        """From any thread: refuse new runs and terminals and kill every run (the loop may be busy
        or gone); open terminals are told first, so they close with 1001, not with an exit."""
        self.terminals.close_threadsafe()
        self.containment.close()

    async def aclose(self) -> None:
        await self.terminals.aclose()
        self.containment.close()
        await self.executor.aclose()
        self.containment.close()  # runs that were still being set up when the first close ran
