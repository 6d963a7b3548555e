"""Every run's processes, kept together so they can be limited, counted and killed as one.

A run is a *cage*: its own process group (the child is the group leader) and, when the machine
allows it, its own cgroup (``cgroups``).  A terminal (``terminal``) is a cage by *session*
instead: its login shell is a session leader with job control, which puts every job it starts
(``sleep 100 &``, a pipeline) in a process group of its own, so its cage counts and kills every
process of the session (the ``session`` field of ``/proc/PID/stat``), not one group.  The
containment is per emulator and decides, once, how the process limit is enforced:

* ``cgroup``: the kernel refuses a fork past ``pids.max``, the memory controller holds the
  run's processes together to the memory limit, and killing a cage also reaches processes that
  left its process group;
* ``watchdog`` (no usable cgroup): every 50 ms while runs are alive, a scan of ``/proc``
  counts the tasks of each run's process group (a terminal's session) and kills one that
  reached the cap; when not root, ``RLIMIT_NPROC`` is set as well (the user's current task
  count plus twice the cap), so the kernel bounds the growth between two scans.  Root ignores ``RLIMIT_NPROC``, so
  there the watchdog alone stands between a fork bomb and the machine.  Without /proc (macOS)
  neither works: only the wall time and output limits hold there.

A cage outlives its call while processes of the run live on (``cmd &``): stopping or
restarting the computer, and closing the emulator, kill them.  Group ids of emptied cages are
dropped before the kernel could hand them out again, so a kill only ever hits our processes.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
from pathlib import Path
from typing import Any

from orgorepl.emulator.cgroups import CgroupRun, CgroupTree
from orgorepl.emulator.limits import PROCESSES, Limits

WATCH_INTERVAL = 0.05
MODES = ("auto", "cgroup", "watchdog")


class Refused(RuntimeError):
    """The emulator is shutting down: no new child may start."""


class RunStopped(Refused):
    """The emulator shut down while a run was going: it was killed, and its call is answered so
    (a 503 at once) instead of being cut by the server's graceful-shutdown timeout (a bare 500)."""


class SpawnError(Exception):
    """A run could not be started (no processes left, its cgroup could not be made, ...)."""


class Cage:
    """One run's processes: a process group (or a session), maybe a cgroup, and the limits it reached.

    ``pgid`` is the leader's pid, which is also the id of its group and, for a ``session`` cage
    (a terminal, whose leader called ``setsid``), of its session.
    """

    def __init__(self, owner: str, cgroup: CgroupRun | None, nproc: int | None, *, session: bool = False):
        self.owner = owner
        self.cgroup = cgroup
        self.nproc = nproc
        self.session = session
        self.pgid: int | None = None
        self.watchdog_hit = False

    def child_spec(self) -> dict[str, Any]:
        """What the child applies to itself before any code of the user's runs."""
        return {"cgroups": self.cgroup.procs_files if self.cgroup else [], "nproc": self.nproc}

    def kill(self) -> None:
        if self.pgid is not None:
            if self.session:  # every job of the session; the leader's own group also without /proc
                _kill_session(self.pgid)
            _killpg(self.pgid)
        if self.cgroup is not None:
            self.cgroup.kill()

    def hang_up(self) -> None:
        """SIGHUP to the terminal's session (a hang-up's polite first word before ``end_session``)."""
        if self.pgid is not None:
            for pid in _members(self.pgid, session=self.session):
                _signal(pid, signal.SIGHUP)

    def end_session(self) -> None:
        """SIGKILL to what is left of the terminal's session.  Processes that left it (``setsid``,
        a live session's supervisor) live on, as on a computer whose ssh connection closed; they
        stay in the cage, so stopping the computer or the emulator still ends them."""
        if self.pgid is not None:
            _kill_session(self.pgid)
            _killpg(self.pgid)

    def session_alive(self) -> bool:
        return self.pgid is not None and (_group_alive(self.pgid) or bool(_members(self.pgid, session=True)))

    def alive(self) -> bool:
        if self.cgroup is not None and self.cgroup.populated():
            return True
        if self.pgid is None:
            return False
        if _group_alive(self.pgid):  # the leader's own group: the cheap test first
            return True
        return self.session and bool(_members(self.pgid, session=True))

    def hits(self) -> set[str]:
        found = self.cgroup.hits() if self.cgroup is not None else set()
        if self.watchdog_hit:
            found.add(PROCESSES)
        return found


class Containment:
    """The cages of one emulator, by computer, and the mechanism that limits them."""

    def __init__(self, limits: Limits, mode: str = "auto"):
        if mode not in MODES:
            raise ValueError(f"containment mode must be one of {', '.join(MODES)}, got {mode!r}")
        self.limits = limits
        self.requested = mode
        self.closed = False
        self._mode: str | None = None
        self._tree: CgroupTree | None = None
        self._cages: set[Cage] = set()
        self._lock = threading.RLock()
        self._watching = False

    @property
    def mode(self) -> str:
        """``cgroup`` or ``watchdog``; decided on first use (probing makes a cgroup and a process)."""
        with self._lock:
            if self._mode is None:
                if self.requested in ("auto", "cgroup"):
                    self._tree = CgroupTree.create(self.limits)
                    if self._tree is None and self.requested == "cgroup":
                        raise SpawnError("no usable cgroup on this machine for per-run limits")
                self._mode = "cgroup" if self._tree is not None else "watchdog"
            return self._mode

    def open(self, owner: str, *, session: bool = False) -> Cage:
        """A cage for a new run (``session``: one kept together by session, for a terminal).

        Raises Refused once the emulator is closing, SpawnError when the cgroup cannot be made.
        """
        if self.closed:
            raise Refused("the emulator is shutting down")
        mode = self.mode
        with self._lock:
            self._prune_locked()
            try:
                cgroup = self._tree.run() if mode == "cgroup" and self._tree is not None else None
            except OSError as exc:  # never run without the cage we promised
                raise SpawnError(f"cannot make the run's cgroup: {exc}") from exc
            nproc = None
            if mode == "watchdog" and self.limits.processes and os.geteuid() != 0:
                tasks = user_tasks()  # a backstop above the cap, so the watchdog still sees it reached
                nproc = tasks + 2 * self.limits.processes if tasks is not None else None
            cage = Cage(owner, cgroup, nproc, session=session)
            self._cages.add(cage)
            return cage

    def attach(self, cage: Cage, pgid: int) -> None:
        """The run's leader exists: track its group (and kill it if we are closing)."""
        with self._lock:
            cage.pgid = pgid
            if self.closed:
                cage.kill()
        if self.mode == "watchdog" and self.limits.processes:
            self._watch()

    def settle(self, cage: Cage) -> None:
        """The run's call is ending: in watchdog mode, count what is left of it right now.

        A fork bomb's leader may end (on a refused fork) before the next scan; what it started
        must still count, so that the caller is told and the rest is killed with it.
        """
        cap = self.limits.processes
        if self.mode != "watchdog" or not cap or cage.pgid is None or not cage.alive():
            return
        if cage_tasks([cage]).get(cage, 0) >= cap:
            cage.watchdog_hit = True

    def release(self, cage: Cage) -> None:
        """The run's call is over: forget the cage unless processes of it live on."""
        with self._lock:
            if not cage.alive() and (cage.cgroup is None or cage.cgroup.remove()):
                self._cages.discard(cage)

    def kill(self, owner: str | None = None) -> None:
        """SIGKILL every run (of one computer, or all of them)."""
        with self._lock:
            for cage in list(self._cages):
                if owner is None or cage.owner == owner:
                    cage.kill()
            self._prune_locked()

    def live_pids(self) -> set[int]:
        """Every live process of every run still tracked (for tests and the load benchmark)."""
        with self._lock:
            cages = list(self._cages)
        pids: set[int] = set()
        groups = {c.pgid for c in cages if c.pgid is not None and not c.session}
        sessions = {c.pgid for c in cages if c.pgid is not None and c.session}
        for pid, _, pgrp, sid, _ in _processes():
            if pgrp in groups or sid in sessions:
                pids.add(pid)
        for cage in cages:
            if cage.cgroup is not None:
                pids.update(cage.cgroup.pids())
        return pids

    def close(self) -> None:
        """Refuse new runs from now on, kill every one we have, remove our cgroups."""
        with self._lock:
            self.closed = True
            for cage in list(self._cages):
                cage.kill()
            self._prune_locked()
            if self._tree is not None:
                self._tree.close()

    def _prune_locked(self) -> None:
        for cage in list(self._cages):
            if cage.pgid is not None and not cage.alive() and (cage.cgroup is None or cage.cgroup.remove()):
                self._cages.discard(cage)

    # ------------------------------------------------------------------ watchdog

    def _watch(self) -> None:
        if self._watching:
            return
        self._watching = True
        asyncio.get_running_loop().call_later(WATCH_INTERVAL, self._tick)

    def _tick(self) -> None:
        with self._lock:
            cages = [c for c in self._cages if c.pgid is not None]
        if not cages or self.closed:
            self._watching = False
            return
        cap = self.limits.processes or 0
        for cage, tasks in cage_tasks(cages).items():
            if tasks >= cap:  # as pids.max: reaching the cap is the limit
                cage.watchdog_hit = True
                cage.kill()
        with self._lock:
            self._prune_locked()
        asyncio.get_running_loop().call_later(WATCH_INTERVAL, self._tick)


# ---------------------------------------------------------------------------------- /proc


def _stat_fields(pid: str) -> list[str] | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read()
    except OSError:
        return None
    return data[data.rfind(b")") + 2:].decode("ascii", "replace").split()


def _proc_entries() -> list[str]:
    try:
        return [e for e in os.listdir("/proc") if e.isdigit()]
    except OSError:  # no /proc (macOS): nothing to count, the watchdog stands down
        return []


def _processes() -> list[tuple[int, str, int, int, int]]:
    """(pid, state, process group, session, threads) of every live process (zombies left out)."""
    found = []
    for entry in _proc_entries():
        fields = _stat_fields(entry)
        if fields is None or len(fields) < 18 or fields[0] in ("Z", "X"):
            continue
        try:
            found.append((int(entry), fields[0], int(fields[2]), int(fields[3]), int(fields[17])))
        except ValueError:
            continue
    return found


def group_tasks(pgids: set[int]) -> dict[int, int]:
    """Tasks (threads included, as ``pids.max`` counts them) per process group, for some groups."""
    counts: dict[int, int] = {}
    for _, _, pgrp, _, threads in _processes():
        if pgrp in pgids:
            counts[pgrp] = counts.get(pgrp, 0) + threads
    return counts


def cage_tasks(cages: list[Cage]) -> dict[Cage, int]:
    """Tasks per cage, by process group or by session as each cage is kept, in one scan."""
    groups = {c.pgid: c for c in cages if c.pgid is not None and not c.session}
    sessions = {c.pgid: c for c in cages if c.pgid is not None and c.session}
    counts: dict[Cage, int] = {}
    for _, _, pgrp, sid, threads in _processes():
        cage = sessions.get(sid) or groups.get(pgrp)
        if cage is not None:
            counts[cage] = counts.get(cage, 0) + threads
    return counts


def _members(leader: int, *, session: bool) -> list[int]:
    """Live processes of a session (or a process group)."""
    return [pid for pid, _, pgrp, sid, _ in _processes() if (sid if session else pgrp) == leader]


def user_tasks(uid: int | None = None) -> int | None:
    """Tasks of a user, which is what ``RLIMIT_NPROC`` counts (None without /proc)."""
    uid = os.getuid() if uid is None else uid
    entries = _proc_entries()
    if not entries:
        return None
    total = 0
    for entry in entries:
        try:
            if Path(f"/proc/{entry}").stat().st_uid != uid:
                continue
        except OSError:
            continue
        fields = _stat_fields(entry)
        if fields is not None and len(fields) >= 18:
            total += int(fields[17])
    return total


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


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _kill_session(sid: int, rounds: int = 16) -> None:
    """SIGKILL every process of a session, again for any that a fork in flight added meanwhile."""
    killed: set[int] = set()
    for _ in range(rounds):
        fresh = set(_members(sid, session=True)) - killed
        if not fresh:
            return
        for pid in fresh:
            _signal(pid, signal.SIGKILL)
        killed |= fresh
