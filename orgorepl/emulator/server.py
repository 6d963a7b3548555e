"""Running the emulator: in a background thread (``EmbeddedEmulator``) or in the foreground (``serve``).

The listening socket is bound here, before uvicorn starts, so a busy port fails at once with an
``OSError`` in the caller's thread and port 0 gives a known port.  Shutdown kills every child
first, so a 300 s cell cannot hold the server's graceful shutdown open.

uvicorn answers a request it cannot parse (bad request line, headers too large, ...) itself,
in plain text; ``JsonH11Protocol`` makes that answer a contract-shaped JSON 400 as well.

WebSockets (the terminal) use uvicorn's ``websockets-sansio`` protocol.  On shutdown uvicorn
closes every open socket with 1012 before the app hears of it; ``EmulatorServer`` first closes
the terminals itself, with the 1001 the real service sends when a computer goes away.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
import secrets
import socket
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from orgorepl import protocol
from orgorepl.emulator.app import create_app
from orgorepl.emulator.limits import Limits, size_text
from orgorepl.emulator.runtime import Runtime, check_options
from orgorepl.emulator.state import ComputerRecord, EmulatorState
from orgorepl.emulator.terminal import IDLE_DEFAULT, idle_text

START_TIMEOUT = 30.0
GRACEFUL_SHUTDOWN = 2  # seconds uvicorn waits for in-flight requests before cancelling them


class _ShutdownNoise(logging.Filter):
    """Drops asyncio's "Unknown child process pid N" while an embedded emulator shuts down.

    Killing every run at shutdown races asyncio's per-child waiter threads; the warning then
    printed at the end of a REPL session or a one-shot command says nothing the user can act
    on.  Outside a shutdown the warning is kept: there it would mean a wrong exit code.
    """

    stopping = 0
    lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        return not (self.stopping and record.getMessage().startswith("Unknown child process pid"))


_NOISE = _ShutdownNoise()


class _HideTokens(logging.Filter):
    """uvicorn logs each WebSocket's path with its query: the terminal's token must not be in a log."""

    _TOKEN = re.compile(r"(token=)[^&\s\"']+")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "token=" in message:
            record.msg, record.args = self._TOKEN.sub(r"\1<hidden>", message), ()
        return True


_HIDE_TOKENS = _HideTokens()


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
    addresses = {str(info[4][0]).split("%")[0] for info in infos}
    return bool(addresses) and all(ipaddress.ip_address(a).is_loopback for a in addresses)


class JsonH11Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol, but its own "400 Invalid HTTP request" is JSON like ours."""

    def send_400_response(self, msg: str) -> None:
        body = json.dumps({"error": f"Bad request: {msg}", "request_id": str(uuid.uuid4())}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                   (b"connection", b"close")]
        try:
            for event in (h11.Response(status_code=400, headers=headers, reason=b"Bad Request"),
                          h11.Data(data=body), h11.EndOfMessage()):
                self.transport.write(self.conn.send(event))
        except h11.LocalProtocolError:  # too late to answer on this connection
            pass
        self.transport.close()


class EmulatorServer(uvicorn.Server):
    """uvicorn's server, but the terminals close with 1001 before uvicorn closes sockets (1012)."""

    def __init__(self, config: uvicorn.Config, runtime: Runtime):
        super().__init__(config)
        self.runtime = runtime

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        await self.runtime.terminals.aclose()
        self.runtime.close_now()  # runs in flight end now and their calls are answered (503)
        await super().shutdown(sockets)


def _server(state: EmulatorState, *, quiet: bool, limits: Limits | None, executor: str | None,
            containment: str, latency: float = 0.0,
            terminal_idle: float = IDLE_DEFAULT) -> tuple[uvicorn.Server, Runtime]:
    app = create_app(state, limits=limits, executor=executor, containment=containment, latency=latency,
                     terminal_idle=terminal_idle)
    config = uvicorn.Config(
        app, loop="asyncio", http=JsonH11Protocol, ws="websockets-sansio", lifespan="on",
        log_level="error" if quiet else "info", access_log=not quiet,
        log_config=None if quiet else uvicorn.config.LOGGING_CONFIG,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN, server_header=False,
    )
    logging.getLogger("uvicorn.error").addFilter(_HIDE_TOKENS)  # idempotent: a filter is added once
    runtime: Runtime = app.state.runtime
    return EmulatorServer(config, runtime), runtime


class EmbeddedEmulator:
    """The emulator on a background thread of this process (``--local``, tests).

    ``limits``, ``executor``, ``containment``, ``latency`` and ``terminal_idle`` (seconds) are
    those of ``create_app``.  The terminal socket of a computer is at ``ws_url(computer)``.
    """

    def __init__(self, data_dir: Path, computers: int = 1, api_key: str | None = None,
                 host: str = "127.0.0.1", port: int = 0, *, limits: Limits | None = None,
                 executor: str | None = None, containment: str = "auto", latency: float = 0.0,
                 terminal_idle: float = IDLE_DEFAULT):
        check_options(executor, containment, terminal_idle)
        self.latency = latency
        self.terminal_idle = terminal_idle
        self.data_dir = Path(data_dir)
        self.count = computers
        self.api_key = api_key or secrets.token_urlsafe(32)
        self.host = host
        self.port = port
        self.limits = limits
        self.executor = executor
        self.containment = containment
        self.base_url = ""
        self._state: EmulatorState | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.runtime: Runtime | None = None

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

    @property
    def origin(self) -> str:
        """``http://HOST:PORT``: where the terminal sockets are (``base_url`` without ``/api``)."""
        return self.base_url[:-len("/api")] if self.base_url.endswith("/api") else self.base_url

    def terminal_url(self, computer: ComputerRecord, token: str | None = None, cols: int | None = None,
                     rows: int | None = None) -> str:
        """``ws://HOST:PORT/desktops/{instance_id}/ws/terminal?token=..`` for one of our computers.

        ``token`` defaults to the computer's current ``vnc_password``; ``cols``/``rows`` are left
        out unless given (the server's defaults are 80x24).
        """
        query = {"token": computer.vnc_password if token is None else token}
        if cols is not None:
            query["cols"] = str(cols)
        if rows is not None:
            query["rows"] = str(rows)
        self._started()
        origin = "ws" + self.origin[len("http"):]
        return f"{origin}{protocol.terminal_socket_path(computer.instance_id)}?{urlencode(query)}"

    def _started(self) -> EmulatorState:
        if self._state is None:
            raise RuntimeError("the emulator is not started: call start() first")
        return self._state

    # --- lifecycle
    def start(self) -> EmbeddedEmulator:
        if self._thread is not None:
            raise RuntimeError("the emulator is already started")
        logging.getLogger("asyncio").addFilter(_NOISE)  # idempotent: a filter is added once
        state = EmulatorState.open(self.data_dir, self.count, self.api_key)
        server, runtime = _server(state, quiet=True, limits=self.limits, executor=self.executor,
                                  containment=self.containment, latency=self.latency,
                                  terminal_idle=self.terminal_idle)
        sock = bind_socket(self.host, self.port)
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
        self._state, self._server, self._thread, self.runtime = state, server, thread, runtime
        self.base_url = base_url_of(sock)
        return self

    def stop(self, *, wait: bool = True) -> None:
        """Kill every run and shut the server down.

        ``wait=False`` (a process about to exit, e.g. after a one-shot ``--local`` command) kills
        the runs at once and lets the server thread finish on its own instead of waiting for
        uvicorn's graceful shutdown (~0.2 s): no child outlives the call either way.
        """
        server, thread, runtime = self._server, self._thread, self.runtime
        if server is None or thread is None or runtime is None:
            return
        with _NOISE.lock:
            _NOISE.stopping += 1  # from now on this process only shuts emulators down or exits
        runtime.close_now()  # no child may outlive us, nor hold up the graceful shutdown
        server.should_exit = True
        if wait:
            thread.join(timeout=GRACEFUL_SHUTDOWN + 10)
            runtime.close_now()
        self._server = self._thread = None

    def __enter__(self) -> EmbeddedEmulator:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()


def describe_runs(runtime: Runtime) -> str:
    """One line on how runs are started and limited (decides the containment mode now)."""
    limits = runtime.limits
    memory = size_text(limits.memory) if limits.memory else "unlimited"
    processes = str(limits.processes) if limits.processes else "unlimited"
    return (f"Runs: {runtime.executor.name} executor; each may use {memory} of memory, {processes} "
            f"processes ({runtime.containment.mode}) and print {size_text(limits.output)}")


def serve(host: str = "127.0.0.1", port: int = 8765, api_key: str | None = None, computers: int = 1,
          data_dir: Path | None = None, echo: Callable[[str], object] = print, *,
          limits: Limits | None = None, executor: str | None = None, containment: str = "auto",
          latency: float = 0.0, terminal_idle: float = IDLE_DEFAULT) -> None:
    """Serve in the foreground until Ctrl-C or SIGTERM (``terminal_idle`` in seconds).

    Raises ValueError for a non-loopback host without an explicit key (anyone who can reach the
    port could run commands as this user) and OSError when the port cannot be bound.
    """
    if data_dir is None:
        raise ValueError("serve() needs a data_dir")
    check_options(executor, containment, terminal_idle)
    if not api_key and not is_loopback(host):
        raise ValueError(
            f"refusing to listen on {host}, which is not a loopback address, without an explicit "
            "API key: anyone who can reach it could run commands on this machine. "
            "Pass --api-key (or bind to 127.0.0.1)."
        )
    key = api_key or secrets.token_urlsafe(32)
    state = EmulatorState.open(Path(data_dir), computers, key)
    server, runtime = _server(state, quiet=False, limits=limits, executor=executor,
                              containment=containment, latency=latency, terminal_idle=terminal_idle)
    sock = bind_socket(host, port)
    try:
        base_url = base_url_of(sock)
        echo(f"Orgo API emulator listening on {base_url}")
        echo(f"API key: {key}" if not api_key else "API key: the one given with --api-key")
        echo(f"Workspace: {state.workspaces[0].name} ({state.workspaces[0].id}), data in {state.data_dir}")
        for computer in state.computers:
            echo(f"  computer {computer.id}  {computer.name}  home {computer.home}")
        echo(describe_runs(runtime))
        origin = "ws" + base_url[len("http"):-len("/api")]
        echo(f"Terminals: {origin}{protocol.terminal_socket_path('<instance_id>')}?token=<vnc_password>, "
             f"closed after {idle_text(runtime.terminals.idle)} without input")
        echo(f"Try: ORGO_BASE_URL={base_url} ORGO_API_KEY=<key> orgorepl   (Ctrl-C stops the emulator)")
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass  # uvicorn re-raises the Ctrl-C it handled; stopping is what was asked for
    finally:
        runtime.close_now()
        sock.close()
