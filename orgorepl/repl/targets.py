"""The computers an interactive session runs on: one, or several (fan-out), edited by %target.

The first target shares the single-computer session (its ``RemoteSession``); every other keeps
its own, so state carries over per computer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from orgorepl import protocol
from orgorepl.fanout import Target
from orgorepl.session.carry import RemoteSession

if TYPE_CHECKING:  # pragma: no cover
    from orgorepl.connect import Connection


class Targets:
    def __init__(self) -> None:
        self._targets: list[Target] | None = None

    def of(self, connection: Connection | None, first: RemoteSession) -> list[Target]:
        """Every target, made from the connection the first time it is asked for."""
        if self._targets is None and connection is not None:
            self._targets = [Target(connection.targets[0], first)] + [
                Target(c, RemoteSession(stateful=first.stateful)) for c in connection.targets[1:]
            ]
        return self._targets or []

    def several(self, connection: Connection | None, first: RemoteSession) -> bool:
        return len(self.of(connection, first)) > 1

    def add(self, computers: list[protocol.Computer], stateful: bool) -> list[protocol.Computer]:
        """Add the computers not there yet; returns those added."""
        assert self._targets is not None, "targets are known once connected"
        have = {t.computer.id for t in self._targets}
        added = [c for c in computers if c.id not in have]
        self._targets += [Target(c, RemoteSession(stateful=stateful)) for c in added]
        return added

    def remove(self, names: tuple[str, ...]) -> tuple[list[str], Target | None]:
        """Drop the named targets (name or id); returns the unknown names and the new first
        target, or None when that would leave no target (nothing is removed then)."""
        targets = self._targets or []
        unknown = [n for n in names if all(n not in (t.name, t.computer.id) for t in targets)]
        keep = [t for t in targets if t.name not in names and t.computer.id not in names]
        if not keep:
            return unknown, None
        targets[:] = keep
        return unknown, keep[0]

    def set_stateful(self, stateful: bool) -> None:
        for t in self._targets or []:
            t.session.stateful = stateful
