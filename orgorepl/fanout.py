"""One submission, many computers: run concurrently, then group identical results.

An instructor runs the same command on every student's computer; a debugger collects the same
facts from a fleet.  Each target keeps its own session (state carry-over works per computer),
requests go out over one async client with bounded concurrency, and one target failing or
timing out never hides the others.  Identical results (same output, same status) are shown once
under all their names, dshbak-style; the order is always the order the targets were given.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from orgorepl import errors, protocol
from orgorepl.modes import Mode
from orgorepl.session.carry import RemoteSession

DEFAULT_PARALLEL = 8


@dataclass
class Target:
    computer: protocol.Computer
    session: RemoteSession = field(default_factory=RemoteSession)

    @property
    def name(self) -> str:
        return self.computer.name


@dataclass(frozen=True)
class TargetResult:
    target: Target
    outcome: Any = None  # python_state.CellOutcome or bash_cell.BashOutcome
    error: errors.OrgoError | None = None
    elapsed: float = 0.0

    @property
    def status(self) -> str:
        """ok | error | timeout | exit N | unreachable"""
        if self.error is not None:
            return "unreachable"
        o = self.outcome
        if o.timeout:
            return "timeout"
        if hasattr(o, "exit_code"):
            return "ok" if o.exit_code == 0 else f"exit {o.exit_code}"
        return "ok" if o.success else "error"

    @property
    def kind(self) -> str:
        """The summary bucket: ok / error / timeout / unreachable."""
        status = self.status
        return "error" if status.startswith("exit") else status

    def signature(self) -> tuple:
        """What must be equal for two targets to be shown as one group."""
        if self.error is not None:
            return ("unreachable", self.error.one_line())
        o = self.outcome
        return (self.status, o.output, getattr(o, "error_type", None), getattr(o, "error", None),
                getattr(o, "traceback", None))


@dataclass(frozen=True)
class Group:
    names: tuple[str, ...]
    result: TargetResult  # the first of the group, standing for all of them


def group_results(results: list[TargetResult]) -> list[Group]:
    """Identical results once, with every name; groups ordered by their first target."""
    groups: dict[tuple, list[TargetResult]] = {}
    for r in results:
        groups.setdefault(r.signature(), []).append(r)
    return [Group(tuple(r.target.name for r in members), members[0]) for members in groups.values()]


def summary(results: list[TargetResult]) -> str:
    counts = {k: 0 for k in ("ok", "error", "timeout", "unreachable")}
    for r in results:
        counts[r.kind] += 1
    return f"{len(results)} computers: " + " · ".join(f"{n} {k}" for k, n in counts.items())


async def _run_one(client, target: Target, mode: Mode, text: str, timeout: int,
                   sem: asyncio.Semaphore, cancelled: Callable[[], bool] | None) -> TargetResult:
    async with sem:
        if cancelled is not None and cancelled():  # Ctrl-C: the computers still waiting get nothing
            return TargetResult(target, error=errors.OrgoError("not sent: the submission was abandoned"))
        started = time.monotonic()
        try:
            if mode is Mode.PYTHON:
                request = target.session.python(text)
                result = await client.exec(target.computer.id, request.code, timeout, cancelled=cancelled)
                outcome = target.session.python_done(request, result)
            else:
                request = target.session.bash(text)
                result = await client.bash(target.computer.id, request.command, timeout, cancelled=cancelled)
                outcome = target.session.bash_done(request, result)
        except errors.OrgoError as err:
            return TargetResult(target, error=err, elapsed=time.monotonic() - started)
        return TargetResult(target, outcome=outcome, elapsed=time.monotonic() - started)


async def run_async(client, targets: list[Target], mode: Mode, text: str, timeout: int, *,
                    parallel: int = DEFAULT_PARALLEL,
                    cancelled: Callable[[], bool] | None = None) -> list[TargetResult]:
    sem = asyncio.Semaphore(max(1, parallel))
    return list(await asyncio.gather(*(_run_one(client, t, mode, text, timeout, sem, cancelled)
                                       for t in targets)))


def run(make_client: Callable[[], Any], targets: list[Target], mode: Mode, text: str, timeout: int, *,
        parallel: int = DEFAULT_PARALLEL, cancelled: Callable[[], bool] | None = None) -> list[TargetResult]:
    """Blocking: one event loop and one async client for this submission, results in target order."""

    async def main() -> list[TargetResult]:
        client = make_client()
        try:
            return await run_async(client, targets, mode, text, timeout, parallel=parallel, cancelled=cancelled)
        finally:
            await client.aclose()

    return asyncio.run(main())


def render(results: list[TargetResult], *, mode: Mode, timeout: int, color: bool = True) -> list:
    """Fragments for the grouped results and the summary line (prompt_toolkit formatted text)."""
    from orgorepl.render.result import render_bash, render_error_line, render_exec

    frags: list = []
    for group in group_results(results):
        names = ", ".join(group.names)
        count = f" ({len(group.names)})" if len(group.names) > 1 else ""
        frags.append(("class:fanout.header", f"==> {names}{count} <==\n"))
        r = group.result
        if r.error is not None:
            frags.extend(render_error_line(r.error))
        elif mode is Mode.PYTHON:
            frags.extend(render_exec(r.outcome, timeout=timeout, elapsed=r.elapsed))
        else:
            frags.extend(render_bash(r.outcome, timeout=timeout, elapsed=r.elapsed))
    frags.append(("class:fanout.summary", summary(results) + "\n"))
    return frags


def exit_status(results: list[TargetResult]) -> int:
    """0 when every target succeeded; else the status of the first target that did not."""
    from orgorepl.exitstatus import ExitStatus

    for r in results:
        if r.error is not None:
            return int(r.error.exit_status)
        o = r.outcome
        if o.timeout:
            return int(ExitStatus.REMOTE_TIMEOUT)
        if hasattr(o, "exit_code"):
            if o.exit_code:
                return int(o.exit_code)
        elif not o.success:
            return int(ExitStatus.REMOTE_EXCEPTION)
    return int(ExitStatus.OK)


def to_json(results: list[TargetResult]) -> list[dict]:
    """One object per target, in target order (for --json)."""
    out = []
    for r in results:
        item: dict[str, Any] = {"computer": r.target.name, "id": r.target.computer.id, "status": r.status,
                                "elapsed": round(r.elapsed, 4)}
        if r.error is not None:
            item["error"] = r.error.one_line()
        else:
            o = r.outcome
            item["output"] = o.output
            item["timeout"] = o.timeout
            if hasattr(o, "exit_code"):
                item["exit_code"] = o.exit_code
            else:
                item.update(success=o.success, error=o.error, error_type=o.error_type)
        out.append(item)
    return out
