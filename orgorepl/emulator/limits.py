"""What one exec or bash run may use, and how a limit it reached is told to the caller.

The real service runs each call on a VM of its own; here every call shares this machine, so a
fork bomb, an endless print or a memory hog in one call must not take the emulator down nor
starve the calls next to it.  Each run therefore gets, per call (docs/emulator.md, "Limits"):

* **wall time**: the request's ``timeout``; the run's whole process group is killed at the end;
* **memory** (default 2 GiB): exec sets ``RLIMIT_AS`` in the interpreter, so a hog meets a
  ``MemoryError`` it can catch; where a cgroup is available the run's processes together (bash
  included) are also held to it, and the kernel kills them past it;
* **processes** (default 512 tasks, threads included): a cgroup's ``pids.max`` where one is
  available, else a watchdog that kills a process group that reaches it (plus, when not root,
  ``RLIMIT_NPROC`` as a backstop: it counts every process of the user, so it is set to what
  the user already runs plus twice the cap);
* **output** (16 MiB): the rest is read and dropped, a marker line says where it was cut.

A limit reached is reported in the reply's own shape: ``error``/``error_type`` for exec, a
marker line in ``output`` for bash (see ``notes``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

GIB = 1024 ** 3
MIB = 1024 ** 2

DEFAULT_MEMORY = 2 * GIB
DEFAULT_PROCESSES = 512
DEFAULT_OUTPUT = 16 * MIB
DEFAULT_BODY = 16 * MIB  # largest request body accepted (413 beyond)

MEMORY = "memory"
PROCESSES = "processes"


@dataclass(frozen=True)
class Limits:
    """Per-run limits; ``None`` turns memory or processes off."""

    memory: int | None = DEFAULT_MEMORY
    processes: int | None = DEFAULT_PROCESSES
    output: int = DEFAULT_OUTPUT
    body: int = DEFAULT_BODY

    def __post_init__(self) -> None:
        for name in ("memory", "processes"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ValueError(f"the {name} limit must be a positive integer or None, got {value!r}")
        for name in ("output", "body"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"the {name} limit must be a positive integer, got {value!r}")
        if self.memory is not None and self.memory < 64 * MIB:
            raise ValueError("the memory limit must be at least 64 MiB (an interpreter needs about 30)")
        if self.processes is not None and self.processes < 8:
            raise ValueError("the process limit must be at least 8")


def parse_size(text: str) -> int:
    """``2G``, ``512M``, ``1.5GiB``, ``1073741824`` -> bytes (for command-line flags)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*", str(text), re.IGNORECASE)
    if not match:
        raise ValueError(f"not a size: {text!r} (try 512M or 2G)")
    number, unit = float(match.group(1)), match.group(2).lower()
    return int(number * 1024 ** " kmgt".index(unit or " "))


def size_text(size: int) -> str:
    for unit, factor in (("GiB", GIB), ("MiB", MIB)):
        if size >= factor:
            value = size / factor
            return f"{value:g} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{size} bytes"


def note(limit: str, limits: Limits) -> str:
    """The sentence that tells the caller which limit a run reached."""
    if limit == MEMORY:
        return (f"[orgorepl emulator: this run reached its memory limit of "
                f"{size_text(limits.memory or 0)}]")
    return f"[orgorepl emulator: this run reached its limit of {limits.processes} processes]"
