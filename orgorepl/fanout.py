"""One submission, many computers: run concurrently, then group identical results.

An instructor runs the same command on every student's computer; a debugger collects the same
facts from a fleet.  Each target keeps its own session (state carry-over works per computer),
requests go out over one async client with bounded concurrency, and one target failing or
timing out never hides the others.  Identical results (same output, same status) are shown once
under all their names, dshbak-style; the order is always the order the targets were given.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from orgorepl import outcome as oc
from orgorepl import protocol
from orgorepl.console import Console
from orgorepl.modes import Mode
from orgorepl.outcome import Outcome, Status, Tally
from orgorepl.render.bounded import DEFAULT_LIMITS, OutputLimits
from orgorepl.render.verdict import status_line
from orgorepl.session.carry import RemoteSession
from orgorepl.submit import Code, submit_async

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
    outcome: Outcome

    @property
    def status(self) -> str:
        """ok | error | exit N | no exit code | timeout | unreachable (did not run)"""
        if self.outcome.status in (Status.EXIT, Status.UNKNOWN):
            return self.outcome.label
        return self.outcome.bucket

    @property
    def kind(self) -> str:
        """The summary bucket: ok / error / timeout / unreachable."""
        return self.outcome.bucket

    @property
    def name(self) -> str:
        return self.target.name

    @property
    def elapsed(self) -> float:
        return self.outcome.duration

    def signature(self) -> tuple:
        """What must be equal for two targets to be shown as one group."""
        o = self.outcome
        return (o.status, o.exit_code, o.output, o.error_type, o.error, o.traceback, o.notes)


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
    counts = Tally(tuple(r.outcome for r in results)).counts()
    return f"{len(results)} computers: " + " · ".join(f"{n} {k}" for k, n in counts.items())


async def _run_one(client: Any, target: Target, sub: Code, sem: asyncio.Semaphore,
                   cancelled: Callable[[], bool] | None) -> TargetResult:
    async with sem:
        if cancelled is not None and cancelled():  # Ctrl-C: the computers still waiting get nothing
            return TargetResult(target, oc.interrupted(sub.mode, sent=False, timeout=sub.timeout))
        outcome = await submit_async(client, target.computer.id, target.session, sub, cancelled=cancelled)
        return TargetResult(target, outcome)


async def run_async(client: Any, targets: list[Target], mode: Mode, text: str, timeout: int, *,
                    parallel: int = DEFAULT_PARALLEL, echo: bool = True,
                    cancelled: Callable[[], bool] | None = None,
                    progress: Callable[[str], None] | None = None) -> list[TargetResult]:
    """``progress`` (the front end's progress channel) hears how many computers have answered."""
    sem = asyncio.Semaphore(max(1, parallel))
    sub = Code(mode, text, timeout, echo=echo)
    answered = 0

    async def one(target: Target) -> TargetResult:
        nonlocal answered
        result = await _run_one(client, target, sub, sem, cancelled)
        answered += 1
        if progress is not None:
            progress(f"{answered}/{len(targets)} answered")
        return result

    return list(await asyncio.gather(*(one(t) for t in targets)))


def run(make_client: Callable[[], Any], targets: list[Target], mode: Mode, text: str, timeout: int, *,
        parallel: int = DEFAULT_PARALLEL, echo: bool = True, cancelled: Callable[[], bool] | None = None,
        progress: Callable[[str], None] | None = None) -> list[TargetResult]:
    """Blocking: one event loop and one async client for this submission, results in target order."""

    async def main() -> list[TargetResult]:
        client = make_client()
        try:
            return await run_async(client, targets, mode, text, timeout, parallel=parallel, echo=echo,
                                   cancelled=cancelled, progress=progress)
        finally:
            await client.aclose()

    return asyncio.run(main())


def render(results: list[TargetResult], *, color: bool = True, limits: OutputLimits = DEFAULT_LIMITS,
           raw_escapes: bool = False) -> list[tuple[str, str]]:
    """Fragments for a terminal: grouped results, each as the REPL shows one, and the summary."""
    from orgorepl.render.result import render_outcome

    frags: list = []
    for group in group_results(results):
        names = ", ".join(group.names)
        count = f" ({len(group.names)})" if len(group.names) > 1 else ""
        frags.append(("class:fanout.header", f"==> {names}{count} <==\n"))
        frags.extend(render_outcome(group.result.outcome, color=color, limits=limits, raw_escapes=raw_escapes))
    frags.append(("class:fanout.summary", summary(results) + "\n"))
    return frags


def plain_text(results: list[TargetResult]) -> str:
    """The same grouping for a pipe: every byte of every output, raw, and plain status lines."""
    parts: list[str] = []
    for group in group_results(results):
        names = ", ".join(group.names)
        count = f" ({len(group.names)})" if len(group.names) > 1 else ""
        parts.append(f"==> {names}{count} <==\n")
        text = group.result.outcome.full_text()
        if text and not text.endswith("\n"):
            text += "\n"
        parts.append(text)
        o = group.result.outcome
        line = "" if o.status is Status.ERROR and o.traceback else status_line(o)
        if line:
            parts.append(line + "\n")
    parts.append(summary(results) + "\n")
    return "".join(parts)


def full_text(results: list[TargetResult]) -> str:
    """Every computer's whole output under its name (what %more and %save-output keep)."""
    return "".join(f"==> {r.target.name} <==\n" + (r.outcome.full_text() or (status_line(r.outcome) + "\n"))
                   for r in results)


def report(console: Console, results: list[TargetResult]) -> int:
    """Grouped results on the command line; returns the exit status.  A terminal gets them as the
    REPL shows them (sanitised, bounded, coloured); a pipe gets every byte of every output."""
    if console.stdout_isatty:
        console.fragments(render(results, color=console.color))
    else:
        console.out(plain_text(results))
    return exit_status(results)


def exit_status(results: list[TargetResult]) -> int:
    """0 when every target succeeded; else the status of the first target that did not."""
    return Tally(tuple(r.outcome for r in results)).exit_status


def to_json(results: list[TargetResult]) -> list[dict]:
    """One object per target, in target order (for --json)."""
    out = []
    for r in results:
        o = r.outcome
        item: dict[str, Any] = {"computer": r.target.name, "id": r.target.computer.id, "status": r.status,
                                "elapsed": round(o.duration, 4)}
        item.update(oc.as_json(o))
        out.append(item)
    return out
