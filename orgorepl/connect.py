"""Getting from settings to a live client and a resolved computer.

Connecting is the slow part of starting orgorepl (importing httpx, maybe starting the embedded
emulator, one or two HTTP round trips), so it is packaged as a *connector*: a callable the REPL
runs in the background after the first prompt is on screen, and the one-shot commands run
directly.  The embedded emulator (``--local``) is started here and stopped with the connection.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orgorepl import errors, paths, protocol

if TYPE_CHECKING:  # pragma: no cover
    from orgorepl.client import OrgoClient


def _no_async_client() -> Any:
    raise RuntimeError("this connection was made without an asynchronous client factory")


@dataclass(init=False)
class Connection:
    """A live client and the computers it talks to.

    ``computer`` is the first target: the one a single-computer session talks to.  A connection
    made without resolving (a connector with ``resolve=False``, for listings) has none, and
    asking it for one is an error, not a None.
    """

    client: OrgoClient
    _computer: protocol.Computer | None
    base_url: str
    local: bool
    targets: list[protocol.Computer]  # every computer (fan-out)
    make_async: Callable[[], Any] = field(repr=False)  # AsyncOrgoClient factory (fan-out)
    _cleanup: list[Callable[[], Any]] = field(repr=False)
    _lock: threading.Lock = field(repr=False)

    def __init__(self, client: OrgoClient, computer: protocol.Computer | None, base_url: str,
                 local: bool = False, targets: list[protocol.Computer] | None = None,
                 make_async: Callable[[], Any] | None = None,
                 _cleanup: list[Callable[[], Any]] | None = None) -> None:
        self.client = client
        self._computer = computer
        self.base_url = base_url
        self.local = local
        self.targets = targets or ([computer] if computer is not None else [])
        self.make_async = make_async or _no_async_client
        self._cleanup = [] if _cleanup is None else _cleanup
        self._lock = threading.Lock()

    @property
    def computer(self) -> protocol.Computer:
        if self._computer is None:
            raise errors.ResolutionError("this connection was made for listings: no computer was chosen")
        return self._computer

    @computer.setter
    def computer(self, computer: protocol.Computer) -> None:
        self._computer = computer

    def close(self) -> None:
        with self._lock:
            steps, self._cleanup = self._cleanup, []
        for step in reversed(steps):
            try:
                step()
            except Exception:  # closing must never mask the reason we are closing
                pass


Connector = Callable[[], Connection]


def _as_list(refs: Any) -> list[str]:
    if refs is None:
        return []
    return [refs] if isinstance(refs, str) else list(refs)


def resolve_targets(client: OrgoClient, refs: Any, workspace: str | None = None) -> list[protocol.Computer]:
    """The computers named by ``refs`` (ids or names) plus every running one in ``workspace``.

    One name is resolved the way a single-computer session always was (including "the only one
    there is" when nothing is named); several, or a workspace, are resolved from one listing.
    """
    refs = _as_list(refs)
    if workspace is None and len(refs) <= 1:
        return [client.resolve_computer(refs[0] if refs else None)]
    from orgorepl.client import pick_computer

    workspaces = client.list_workspaces()
    chosen: list[protocol.Computer] = []
    if workspace is not None:
        wanted = workspace.lower()
        matches = [w for w in workspaces if w.id == workspace or w.name.lower() == wanted]
        if not matches:
            names = ", ".join(w.name for w in workspaces) or "(none)"
            raise errors.ResolutionError(f"no workspace named {workspace!r}; available: {names}",
                                         candidates=[w.name for w in workspaces])
        running = [c for w in matches for c in w.computers if c.status == "running"]
        if not running:
            raise errors.ResolutionError(f"workspace {workspace!r} has no running computer")
        chosen.extend(running)
    every = [c for w in workspaces for c in w.computers]
    for ref in refs:
        chosen.append(pick_computer(every, ref))
    unique: dict[str, protocol.Computer] = {}
    for c in chosen:
        unique.setdefault(c.id, c)
    return list(unique.values())


def remote_connector(base_url: str, api_key: str | None, computer: Any = None,
                     workspace: str | None = None, *, timeout_margin: float = 15.0,
                     resolve: bool = True) -> Connector:
    """A connector for a real (or any already running) Orgo API.

    ``resolve=False`` gives only a client, for listings: no computer is chosen.

    ``timeout_margin``: how long past a submission's own timeout the client waits for the
    answer (the server needs a moment to report the kill; a slow network needs more).
    """

    def connect() -> Connection:
        if not api_key:
            raise errors.NoApiKeyError(
                "no API key: set ORGO_API_KEY, pass --api-key, or try the local emulator with --local"
            )
        from orgorepl.client import OrgoClient

        client = OrgoClient(api_key=api_key, base_url=base_url, timeout_margin=timeout_margin)
        try:
            targets = resolve_targets(client, computer, workspace) if resolve else []
        except BaseException:
            client.close()
            raise
        return Connection(client=client, computer=targets[0] if targets else None, base_url=base_url,
                          targets=targets,
                          make_async=_async_factory(api_key, base_url, timeout_margin),
                          _cleanup=[client.close])

    return connect


def _async_factory(api_key: str, base_url: str, timeout_margin: float) -> Callable[[], Any]:
    """Makes the async client for fan-out; asyncio loads only when fan-out runs."""

    def make() -> Any:
        from orgorepl.client.aio import AsyncOrgoClient

        return AsyncOrgoClient(api_key=api_key, base_url=base_url, timeout_margin=timeout_margin)

    return make


def local_connector(computer: Any = None, *, data_dir: Path | None = None,
                    workspace: str | None = None, timeout_margin: float = 15.0,
                    resolve: bool = True) -> Connector:
    """A connector that starts the embedded emulator on a random port with a random key.

    Its data dir persists between runs (like a real computer's disk), so files written in one
    session are there in the next.
    """

    def connect() -> Connection:
        from orgorepl.client import OrgoClient
        from orgorepl.emulator import EmbeddedEmulator

        directory = data_dir or paths.local_emulator_dir()
        paths.ensure_private_dir(directory)
        try:
            emu = EmbeddedEmulator(data_dir=directory, computers=1).start()
        except ValueError as exc:  # a corrupt emulator.json: say where, never overwrite it
            raise errors.ConfigError(f"local emulator in {directory}: {exc}") from None
        try:
            client = OrgoClient(api_key=emu.api_key, base_url=emu.base_url, timeout_margin=timeout_margin)
            targets = resolve_targets(client, computer, workspace) if resolve else []
        except BaseException:
            emu.stop()
            raise
        return Connection(
            client=client, computer=targets[0] if targets else None, base_url=emu.base_url, local=True,
            targets=targets,
            make_async=_async_factory(emu.api_key, emu.base_url, timeout_margin),
            # the emulator dies with this connection (the end of a command or a session): kill
            # its runs now, without waiting for a graceful server shutdown
            _cleanup=[lambda: emu.stop(wait=False), client.close],
        )

    return connect
