"""Getting from settings to a live client and a resolved computer.

Connecting is the slow part of starting orgorepl (importing httpx, maybe starting the embedded
emulator, one or two HTTP round trips), so it is packaged as a *connector*: a callable the REPL
runs in the background after the first prompt is on screen, and the one-shot commands run
directly.  The embedded emulator (``--local``) is started here and stopped with the connection.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from orgorepl import errors, paths, protocol

if TYPE_CHECKING:  # pragma: no cover
    from orgorepl.client import OrgoClient


@dataclass
class Connection:
    client: "OrgoClient"
    computer: protocol.Computer
    base_url: str
    local: bool = False
    _cleanup: list[Callable[[], Any]] = field(default_factory=list, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def close(self) -> None:
        with self._lock:
            steps, self._cleanup = self._cleanup, []
        for step in reversed(steps):
            try:
                step()
            except Exception:  # closing must never mask the reason we are closing
                pass


Connector = Callable[[], Connection]


def remote_connector(base_url: str, api_key: str | None, computer: str | None) -> Connector:
    """A connector for a real (or any already running) Orgo API."""

    def connect() -> Connection:
        if not api_key:
            raise errors.ConfigError(
                "no API key: set ORGO_API_KEY, pass --api-key, or try the local emulator with --local"
            )
        from orgorepl.client import OrgoClient

        client = OrgoClient(api_key=api_key, base_url=base_url)
        conn_cleanup: list[Callable[[], Any]] = [client.close]
        try:
            target = client.resolve_computer(computer)
        except BaseException:
            client.close()
            raise
        return Connection(client=client, computer=target, base_url=base_url, _cleanup=conn_cleanup)

    return connect


def local_connector(computer: str | None = None, *, data_dir: Path | None = None) -> Connector:
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
            client = OrgoClient(api_key=emu.api_key, base_url=emu.base_url)
            target = client.resolve_computer(computer)
        except BaseException:
            emu.stop()
            raise
        return Connection(
            client=client, computer=target, base_url=emu.base_url, local=True,
            _cleanup=[emu.stop, client.close],
        )

    return connect
