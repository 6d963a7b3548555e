"""One cgroup per run, when this machine lets us make them: the kernel then enforces the limits.

Why a cgroup rather than rlimits alone: ``pids.max`` caps the processes (and threads) of *one
run*, where ``RLIMIT_NPROC`` counts every process of the user and does not bind root at all;
the memory controller caps what the run's processes use together; the cpu controller makes a
run one scheduling entity, so a fork bomb's hundreds of processes get the CPU share of one
call, not of hundreds; and killing "everything in the cgroup" also reaches the processes that
left the run's process group with ``setsid``.

Layout: ``<hierarchy>/<our cgroup>/orgorepl-emulator-<pid>-<tag>/run-<n>`` in each of the
pids, memory and cpu hierarchies (cgroup v1), or in the unified hierarchy (v2) when the pids
controller is enabled for our subtree.  The child joins its run's directories itself, before
any code of the user's runs (``_cell.enter_cage``), so there is no window in which the run
could fork outside them.  Nothing here is required: ``CgroupTree.create`` answers ``None``
when any step fails (no cgroupfs, read-only, not delegated), and the caller falls back to the
process-group watchdog (``containment``).
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import subprocess
import time
from pathlib import Path

from orgorepl.emulator.limits import MEMORY, PROCESSES, Limits

PREFIX = "orgorepl-emulator-"
_KILL_ROUNDS = 64


def _write(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode("ascii"))
    finally:
        os.close(fd)


def _read(path: Path) -> str:
    try:
        with open(path, encoding="ascii", errors="replace") as fh:
            return fh.read()
    except OSError:
        return ""


def _counter(path: Path, key: str) -> int:
    for line in _read(path).splitlines():
        name, _, value = line.partition(" ")
        if name == key and value.strip().isdigit():
            return int(value)
    return 0


def _pids(directory: Path) -> list[int]:
    return [int(p) for p in _read(directory / "cgroup.procs").split() if p.isdigit()]


class CgroupRun:
    """The cgroup directories of one run (one per hierarchy; the pids one first)."""

    def __init__(self, dirs: list[Path], version: int):
        self.dirs = dirs
        self.version = version
        self._pids_dir = dirs[0]
        self._memory_dir = next((d for d in dirs if (d / self._memory_events).exists()), None)

    @property
    def _memory_events(self) -> str:
        return "memory.oom_control" if self.version == 1 else "memory.events"

    @property
    def procs_files(self) -> list[str]:
        """What the child writes its pid into, in order."""
        return [str(d / "cgroup.procs") for d in self.dirs]

    def pids(self) -> list[int]:
        return _pids(self._pids_dir)

    def populated(self) -> bool:
        return bool(self.pids())

    def kill(self) -> None:
        """SIGKILL every process of the run; ``pids.max`` bounds how often a fork can race us."""
        kill_file = self._pids_dir / "cgroup.kill"
        if self.version == 2 and kill_file.exists():
            try:
                _write(kill_file, "1")
                return
            except OSError:
                pass
        for _ in range(_KILL_ROUNDS):
            pids = self.pids()
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass

    def hits(self) -> set[str]:
        found = set()
        if _counter(self._pids_dir / "pids.events", "max") > 0:
            found.add(PROCESSES)
        if self._memory_dir is not None and _counter(self._memory_dir / self._memory_events, "oom_kill") > 0:
            found.add(MEMORY)
        return found

    def remove(self) -> bool:
        """Remove the directories; False while a process of the run still lives in them."""
        done = True
        for directory in self.dirs:
            try:
                directory.rmdir()
            except FileNotFoundError:
                pass
            except OSError:
                done = False
        return done


class CgroupTree:
    """This emulator's parent directory in each hierarchy, and the runs made under it."""

    def __init__(self, parents: list[Path], version: int, limits: Limits):
        self.parents = parents
        self.version = version
        self.limits = limits
        self._count = 0

    @classmethod
    def create(cls, limits: Limits) -> CgroupTree | None:
        """A working tree (probed by moving a ``sleep`` into a run), or None."""
        for version, bases in (_v1_bases(), _v2_bases()):
            if not bases:
                continue
            tree = None
            try:
                for base in bases:
                    _sweep_stale(base)
                tree = cls._make(bases, version, limits)
                if tree._probe():
                    return tree
            except OSError:
                pass
            if tree is not None:
                tree.close()
        return None

    @classmethod
    def _make(cls, bases: list[Path], version: int, limits: Limits) -> CgroupTree:
        name = f"{PREFIX}{os.getpid()}-{secrets.token_hex(3)}"
        parents: list[Path] = []
        tree = cls(parents, version, limits)
        for base in bases:
            parent = base / name
            parent.mkdir(mode=0o755)
            parents.append(parent)
            if version == 2:
                wanted = {"pids", "memory", "cpu"} & set(_read(parent / "cgroup.controllers").split())
                if "pids" not in wanted:
                    raise OSError("the pids controller is not available to our cgroup")
                _write(parent / "cgroup.subtree_control", " ".join(f"+{c}" for c in sorted(wanted)))
            share = parent / ("cpu.shares" if version == 1 else "cpu.weight")
            if share.exists():  # all our runs together weigh as much as one task per CPU
                cpus = os.cpu_count() or 1
                _write(share, str(1024 * cpus if version == 1 else min(10000, 100 * cpus)))
        return tree

    def _probe(self) -> bool:
        """Can a process really join a run and be counted there?  Try it once with ``sleep``."""
        run = self.run()
        try:
            proc = subprocess.Popen(["sleep", "30"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, close_fds=True)
        except OSError:
            run.remove()
            return False
        try:
            for path in run.procs_files:
                _write(Path(path), str(proc.pid))
            return run.pids() == [proc.pid]
        except OSError:
            return False
        finally:
            proc.kill()
            proc.wait()
            run.remove()

    def run(self) -> CgroupRun:
        """A new run's directories with the limits written; raises OSError if it cannot be made."""
        self._count += 1
        dirs = [parent / f"run-{self._count}" for parent in self.parents]
        made: list[Path] = []
        try:
            for directory in dirs:
                directory.mkdir(mode=0o755)
                made.append(directory)
                self._apply(directory)
        except OSError:
            for directory in reversed(made):
                try:
                    directory.rmdir()
                except OSError:
                    pass
            raise
        return CgroupRun(dirs, self.version)

    def _apply(self, directory: Path) -> None:
        limits = self.limits
        if (directory / "pids.max").exists():
            _write(directory / "pids.max", str(limits.processes) if limits.processes else "max")
        if limits.memory is None:
            return
        if self.version == 1 and (directory / "memory.limit_in_bytes").exists():
            _write(directory / "memory.limit_in_bytes", str(limits.memory))
            _try_write(directory / "memory.memsw.limit_in_bytes", str(limits.memory))
        elif self.version == 2 and (directory / "memory.max").exists():
            _write(directory / "memory.max", str(limits.memory))
            _try_write(directory / "memory.swap.max", "0")

    def close(self) -> None:
        """Kill whatever is left in our runs and remove every directory we made."""
        for parent in self.parents:
            _remove_tree(parent)


def _try_write(path: Path, text: str) -> None:
    try:
        if path.exists():
            _write(path, text)
    except OSError:
        pass


def _remove_tree(parent: Path, wait: float = 1.0) -> None:
    """Kill what is left in each run, give the kernel a moment to let them go, remove it all."""
    try:
        children = [c for c in parent.iterdir() if c.is_dir()]
    except OSError:
        children = []
    deadline = time.monotonic() + wait
    for child in children:
        while pids := _pids(child):
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            if time.monotonic() > deadline:
                break
            time.sleep(0.005)
        try:
            child.rmdir()
        except OSError:
            pass
    try:
        parent.rmdir()
    except OSError:
        pass


def _sweep_stale(base: Path) -> None:
    """Trees left by an emulator that died without closing: kill their leftovers, remove them."""
    try:
        entries = list(base.iterdir())
    except OSError:
        return
    for entry in entries:
        match = re.fullmatch(re.escape(PREFIX) + r"(\d+)-[0-9a-f]+", entry.name)
        if match and not Path(f"/proc/{match.group(1)}").exists():
            _remove_tree(entry)


# ---------------------------------------------------------------------------------- discovery


def _mounts() -> list[tuple[str, str, str, set[str]]]:
    """(mount root, mount point, fs type, super options) of every cgroup mount."""
    found: list[tuple[str, str, str, set[str]]] = []
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return found
    for line in lines:
        left, sep, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if not sep or len(fields) < 5 or len(tail) < 3 or tail[0] not in ("cgroup", "cgroup2"):
            continue
        found.append((fields[3], fields[4].replace("\\040", " "), tail[0], set(tail[2].split(","))))
    return found


def _own_paths() -> dict[str, str]:
    """controller (or "" for the unified hierarchy) -> our path in it, from /proc/self/cgroup."""
    paths: dict[str, str] = {}
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return paths
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) == 3:
            for controller in parts[1].split(",") if parts[1] else [""]:
                paths[controller] = parts[2]
    return paths


def _join(mount_root: str, mount_point: str, own: str) -> Path | None:
    if own != mount_root and not own.startswith(mount_root.rstrip("/") + "/"):
        return None  # our cgroup is not visible through this mount
    rest = own[len(mount_root.rstrip("/")):].lstrip("/")
    path = Path(mount_point) / rest if rest else Path(mount_point)
    return path if os.access(path, os.W_OK) else None


def _v1_bases() -> tuple[int, list[Path]]:
    own = _own_paths()
    bases: list[Path] = []
    for controller in ("pids", "memory", "cpu"):
        mount = next((m for m in _mounts() if m[2] == "cgroup" and controller in m[3]), None)
        path = _join(mount[0], mount[1], own[controller]) if mount and controller in own else None
        if path is None:
            if controller == "pids":
                return 1, []  # no process cap without it: not worth a cgroup
            continue
        if path not in bases:
            bases.append(path)
    return 1, bases


def _v2_bases() -> tuple[int, list[Path]]:
    own = _own_paths().get("")
    mount = next((m for m in _mounts() if m[2] == "cgroup2"), None)
    if own is None or mount is None:
        return 2, []
    path = _join(mount[0], mount[1], own)
    if path is None or "pids" not in _read(path / "cgroup.subtree_control").split():
        return 2, []
    return 2, [path]
