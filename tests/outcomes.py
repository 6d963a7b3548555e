"""Outcomes as the session layer makes them, from the few fields a rendering test cares about."""

from __future__ import annotations

from dataclasses import replace

from orgorepl import outcome as oc
from orgorepl.modes import Mode
from orgorepl.render.result import render_outcome


def python_outcome(output="", *, traceback=None, success=True, error=None, error_type=None, timeout=False,
                   notes=(), **_session_fields) -> oc.Outcome:
    b = oc.OutcomeBuilder(Mode.PYTHON)
    b.feed(output)
    return b.finish(oc.python_status(success=success, timed_out=timeout), error_type=error_type, error=error,
                    traceback=traceback, notes=tuple(notes))


def bash_outcome(output="", exit_code=0, *, timeout=False, success=True, **_session_fields) -> oc.Outcome:
    b = oc.OutcomeBuilder(Mode.BASH)
    b.feed(output, oc.Stream.COMBINED)
    status = oc.bash_status(exit_code=exit_code, success=success, timed_out=timeout)
    return b.finish(status, exit_code=exit_code, error=oc.UNKNOWN_EXIT if status is oc.Status.UNKNOWN else None)


def render_exec(outcome: oc.Outcome, *, timeout: int, elapsed: float, **options):
    """What the REPL shows for ``outcome`` with this limit and round-trip time."""
    return render_outcome(replace(outcome, timeout=timeout, duration=elapsed), **options)


render_bash = render_exec
