"""Starting, stopping and restarting a computer, and waiting until it gets there.

The API answers a lifecycle request at once with an intermediate status (``starting``,
``stopping``, ``restarting``); what a person wants is the computer *running* (or *stopped*).
So after the request we poll ``GET /computers/{id}`` (an idempotent read) and report progress
until the status settles, the computer fails (``error``), or the wait runs out.  A computer
already in the wanted state is not sent a request at all: that is what the 409 would say.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from orgorepl import errors, protocol

GOAL = {"start": "running", "restart": "running", "stop": "stopped"}
FAILED_STATES = {"error", "deleting"}


@dataclass(frozen=True)
class LifecycleResult:
    computer: protocol.Computer
    changed: bool  # False: it already was in the wanted state, nothing was sent
    waited: float


def change_state(
    client, computer: protocol.Computer, action: str, *, wait: bool = True, timeout: float = 180.0,
    progress: Callable[[str, float], None] | None = None, sleep: Callable[[float], None] = time.sleep,
    poll_interval: float = 1.0,
) -> LifecycleResult:
    goal = GOAL[action]
    started = time.monotonic()
    current = client.get_computer(computer.id)
    if action != "restart" and current.status == goal:
        return LifecycleResult(current, changed=False, waited=0.0)
    try:
        getattr(client, action)(computer.id)
    except errors.APIError as err:
        if action == "restart" and err.status == 405:  # legacy hosts: stop, then start (contract §4)
            change_state(client, computer, "stop", timeout=timeout, progress=progress, sleep=sleep,
                         poll_interval=poll_interval)
            return change_state(client, computer, "start", timeout=timeout, progress=progress,
                                sleep=sleep, poll_interval=poll_interval)
        raise
    if not wait:
        return LifecycleResult(current, changed=True, waited=time.monotonic() - started)
    interval = min(0.2, poll_interval)
    while True:
        current = client.get_computer(computer.id)
        elapsed = time.monotonic() - started
        if progress is not None:
            progress(current.status, elapsed)
        if current.status == goal and (action != "restart" or elapsed > 0):
            return LifecycleResult(current, changed=True, waited=elapsed)
        if current.status in FAILED_STATES:
            raise errors.OrgoError(f"{computer.name} went into status {current.status!r} during {action}")
        if elapsed > timeout:
            raise errors.OrgoError(
                f"{computer.name} is still {current.status!r} after {timeout:.0f}s; "
                f"check again with `orgorepl computers`"
            )
        sleep(interval)
        interval = min(interval * 2, poll_interval)
