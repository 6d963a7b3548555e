"""Running the emulator: in a background thread (``EmbeddedEmulator``) or in the foreground (``serve``).

The listening socket is bound here, before uvicorn starts, so a busy port fails at once with an
``OSError`` in the caller's thread and port 0 gives a known port.  Shutdown kills every child
first, so a 300 s cell cannot hold the server's graceful shutdown open.
"""

from __future__ import annotations

import ipaddress
import secrets
import socket
import threading
import time
from pathlib import Path
from typing import Callable

import uvicorn

from orgorepl.emulator.app import create_app
from orgorepl.emulator.procs import ProcessGroups
from orgorepl.emulator.state import ComputerRecord, EmulatorState

START_TIMEOUT = 30.0
GRACEFUL_SHUTDOWN = 2  # seconds uvicorn waits for in-flight requests before cancelling them


def bind_socket(host: str, port: int) -> socket.socket:
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except BaseException:
        sock.close()
        raise
    return sock


def base_url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}/api"


def is_loopback(host: str) -> bool:
    """True when every address ``host`` resolves to is a loopback address."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return False
    addresses = {info[4][0].split("%")[0] for info in infos}
    return bool(addresses) and all(ipaddress.ip_address(a).is_loopback for a in addresses)


def _server(state: EmulatorState, *, quiet: bool) -> tuple[uvicorn.Server, ProcessGroups]:
    app = create_app(state)
    config = uvicorn.Config(
        app, loop="asyncio", lifespan="on",
        log_level="error" if quiet else "info", access_log=not quiet,
        log_config=None if quiet else uvicorn.config.LOGGING_CONFIG,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN, server_header=False,
    )
    return uvicorn.Server(config), app.state.groups


class EmbeddedEmulator:
    """The emulator on a background thread of this process (``--local``, tests)."""

    def __init__(self, data_dir: Path, computers: int = 1, api_key: str | None = None,
                 host: str = "127.0.0.1", port: int = 0):
        self.data_dir = Path(data_dir)
        self.count = computers
        self.api_key = api_key or secrets.token_urlsafe(32)
        self.host = host
        self.port = port
        self.base_url = ""
        self._state: EmulatorState | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._groups: ProcessGroups | None = None

    # --- what clients need once started
    @property
    def computers(self) -> list[ComputerRecord]:
        return self._started().computers

    @property
    def workspace_id(self) -> str:
        return self._started().workspaces[0].id

    @property
    def workspace_name(self) -> str:
        return self._started().workspaces[0].name

    def _started(self) -> EmulatorState:
        if self._state is None:
            raise RuntimeError("the emulator is not started: call start() first")
        return self._state

    # --- lifecycle
    def start(self) -> "EmbeddedEmulator":
        if self._thread is not None:
            raise RuntimeError("the emulator is already started")
        state = EmulatorState.open(self.data_dir, self.count, self.api_key)
        sock = bind_socket(self.host, self.port)
        server, groups = _server(state, quiet=True)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]},
                                  name="orgorepl-emulator", daemon=True)
        thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                sock.close()
                raise RuntimeError("the embedded emulator did not start")
            time.sleep(0.005)
        self._state, self._server, self._thread, self._groups = state, server, thread, groups
        self.base_url = base_url_of(sock)
        return self

    def stop(self) -> None:
        server, thread, groups = self._server, self._thread, self._groups
        if server is None or thread is None or groups is None:
            return
        groups.close()  # no child may outlive us, nor hold up the graceful shutdown
        server.should_exit = True
        thread.join(timeout=GRACEFUL_SHUTDOWN + 10)
        groups.close()
        self._server = self._thread = self._groups = None

    def __enter__(self) -> "EmbeddedEmulator":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


def serve(host: str = "127.0.0.1", port: int = 8765, api_key: str | None = None, computers: int = 1,
          data_dir: Path | None = None, echo: Callable[[str], object] = print) -> None:
    """Serve in the foreground until Ctrl-C or SIGTERM.

    Raises ValueError for a non-loopback host without an explicit key (anyone who can reach the
    port could run commands as this user) and OSError when the port cannot be bound.
    """
    if data_dir is None:
        raise ValueError("serve() needs a data_dir")
    if not api_key and not is_loopback(host):
        raise ValueError(
            f"refusing to listen on {host}, which is not a loopback address, without an explicit "
            "API key: anyone who can reach it could run commands on this machine. "
            "Pass --api-key (or bind to 127.0.0.1)."
        )
    key = api_key or secrets.token_urlsafe(32)
    state = EmulatorState.open(Path(data_dir), computers, key)
    sock = bind_socket(host, port)
    server, groups = _server(state, quiet=False)
    base_url = base_url_of(sock)
    echo(f"Orgo API emulator listening on {base_url}")
    echo(f"API key: {key}" if not api_key else "API key: the one given with --api-key")
    echo(f"Workspace: {state.workspaces[0].name} ({state.workspaces[0].id}), data in {state.data_dir}")
    for computer in state.computers:
        echo(f"  computer {computer.id}  {computer.name}  home {computer.home}")
    echo(f"Try: ORGO_BASE_URL={base_url} ORGO_API_KEY=<key> orgorepl   (Ctrl-C stops the emulator)")
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass  # uvicorn re-raises the Ctrl-C it handled; stopping is what was asked for
    finally:
        groups.close()
        sock.close()
