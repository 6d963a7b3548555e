"""The HTTP face of the emulator: Orgo's paths, statuses and JSON shapes (contract §0-4, 6, 9, 12).

Plus the terminal WebSocket (contract §8, §13.1) at ``/desktops/{instance_id}/ws/terminal``, not
under ``/api``, as on the real host: it is accepted, then checked (instance id, token, status) and
closed with the proxy's codes when a check fails; the terminal itself is ``terminal``'s.

Every answer is a JSON object, errors included (``{"error", "request_id", ...}``): the official
SDK turns a non-JSON 2xx into a connection error and indexes error bodies as objects, so no
framework HTML or plain text may ever escape, not for 404, 405, a body too large or a crash.
Nothing a client sends (any bytes, any header, any path) may produce a 500: an answer is either
the endpoint's own or a 4xx (see tests/test_emulator_hostile.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route, Router, WebSocketRoute
from starlette.websockets import WebSocket

from orgorepl import protocol
from orgorepl.emulator.containment import Refused, RunStopped, SpawnError
from orgorepl.emulator.execution import BashTimedOut, run_bash, run_exec
from orgorepl.emulator.limits import Limits
from orgorepl.emulator.runtime import Runtime, child_env
from orgorepl.emulator.state import (
    RESOLUTION,
    ComputerRecord,
    EmulatorState,
    WorkspaceRecord,
)
from orgorepl.emulator.terminal import IDLE_DEFAULT, TERM, window_size

log = logging.getLogger("orgorepl.emulator")

BASH_TIMEOUT_MAX = 3600  # ours: the contract gives no maximum


class Reply(JSONResponse):
    """JSON that survives any string: lone surrogates become '?' instead of a crash."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, allow_nan=False,
                          separators=(",", ":")).encode("utf-8", "replace")


class ApiError(Exception):
    def __init__(self, status: int, message: str, **extra: Any):
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = extra


def error_reply(status: int, message: str, headers: dict[str, str] | None = None,
                request_id: str | None = None, **extra: Any) -> Reply:
    body = {"error": message, "request_id": request_id or str(uuid.uuid4()), **extra}
    return Reply(body, status_code=status, headers=headers)


# -------------------------------------------------------------------------------- auth


class BearerAuth:
    """Every request carries ``Authorization: Bearer <key>`` (contract §0), checked in constant time."""

    def __init__(self, app, api_key: str):
        self.app = app
        self._key = api_key.encode("utf-8")

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            problem = self._problem(dict(scope["headers"]).get(b"authorization"))
            if problem:
                await error_reply(401, problem)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _problem(self, header: bytes | None) -> str | None:
        scheme, _, token = (header or b"").strip().partition(b" ")
        token = token.strip()
        if scheme.lower() != b"bearer" or not token:
            return "Missing API key. Send it as 'Authorization: Bearer <key>'."
        if not hmac.compare_digest(token, self._key):
            return "Invalid API key. Check it for typos; `orgorepl serve` prints the key it expects."
        return None


# -------------------------------------------------------------------------------- body size


class BodyLimit:
    """Read every request body up front, at most ``limit`` bytes; a larger one is a 413.

    The body is read (and the excess thrown away, up to ``drain``) even when the answer does not
    need it, so the client has finished sending when the answer comes and can read it: closing a
    socket with unread data resets it, and the client would see a reset instead of our JSON.
    """

    def __init__(self, app, limit: int, drain: int = 256 * 1024 * 1024):
        self.app = app
        self.limit = limit
        self.drain = drain

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"").strip()
        too_large = declared.isdigit() and int(declared) > self.limit
        body, more, size = bytearray(), True, 0
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client is gone: nobody to answer
            chunk = message.get("body", b"")
            more = message.get("more_body", False)
            size += len(chunk)
            if size > self.limit:
                too_large = True
            if too_large:
                if size > self.limit + self.drain:
                    break
                continue
            body += chunk
        if too_large:
            await error_reply(413, f"Request body too large: at most {self.limit} bytes are accepted",
                              headers={"connection": "close"} if more else None)(scope, receive, send)
            return
        await self.app(scope, _replay(bytes(body), receive), send)


def _replay(body: bytes, receive):
    sent = False

    async def replay():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # a disconnect, when it comes

    return replay


# -------------------------------------------------------------------------------- bodies


def _origin(request: Request) -> tuple[str, str | None]:
    """scheme://host[:port] and host name of this request, whatever its Host header says."""
    try:
        url = request.url
        return f"{url.scheme}://{url.netloc}", url.hostname
    except ValueError:  # a Host header no URL parser accepts
        host, port = (request.scope.get("server") or ("127.0.0.1", None))[:2]
        return (f"http://{host}:{port}" if port else f"http://{host}"), host


def computer_json(state: EmulatorState, c: ComputerRecord, request: Request) -> dict[str, Any]:
    workspace = state.workspace(c.workspace_id)
    origin, hostname = _origin(request)
    return {
        "id": c.id, "name": c.name,
        "workspace_id": c.workspace_id, "project_id": c.workspace_id,
        "project_name": workspace.name if workspace else None,
        "os": "linux", "ram": 4, "cpu": 1, "disk_size_gb": 8, "gpu": "none",
        "resolution": RESOLUTION,
        "status": c.status,
        "url": f"{origin}/api/computers/{c.id}",
        "created_at": c.created_at,
        "instance_id": c.instance_id, "fly_instance_id": c.instance_id,
        "hostname": hostname,
        "connection_url": f"{origin}/desktops/{c.instance_id}",  # + /ws/terminal: the terminal socket
        "vnc_password": c.vnc_password,
        "instance_details": (
            {"id": c.instance_id, "resolution": RESOLUTION, "webrtc": False} if c.running else None
        ),
    }


def workspace_json(state: EmulatorState, w: WorkspaceRecord, request: Request) -> dict[str, Any]:
    return {
        "id": w.id, "name": w.name, "user_id": state.user_id, "status": "active", "icon_url": None,
        "created_at": w.created_at, "updated_at": w.updated_at, "role": "owner",
        "desktops": [computer_json(state, c, request) for c in state.computers_of(w)],
    }


async def json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, ValueError, RecursionError):  # RecursionError: [[[[... nested too deep
        raise ApiError(400, "Invalid JSON in request body") from None
    if not isinstance(data, dict):
        raise ApiError(400, "Request body must be a JSON object")
    return data


def text_field(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str):
        what = "is required" if value is None else "must be a string"
        raise ApiError(400, f"'{name}' {what}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError(400, f"'{name}' is not valid Unicode text (lone surrogate)") from None
    return value


def timeout_field(body: dict[str, Any], default: int, low: int, high: int) -> int:
    value = body.get("timeout")
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        shown = repr(value) if not isinstance(value, (list, dict)) else type(value).__name__
        raise ApiError(400, f"'timeout' must be an integer between {low} and {high} (seconds), "
                            f"got {_shown(shown, 60)}")
    return value


# -------------------------------------------------------------------------------- handlers


def _state(request: Request) -> EmulatorState:
    return request.app.state.emulator


def _runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def _computer(request: Request) -> ComputerRecord:
    computer = _state(request).computer(request.path_params["computer_id"])
    if computer is None:
        raise ApiError(404, "Computer not found")
    return computer


def _running(request: Request) -> ComputerRecord:
    computer = _computer(request)
    if not computer.running:
        raise ApiError(400, "Desktop instance not available")
    return computer


async def get_computer(request: Request) -> Reply:
    return Reply(computer_json(_state(request), _computer(request), request))


async def _round_trip(request: Request) -> None:
    latency = getattr(request.app.state, "latency", 0.0)
    if latency:
        await asyncio.sleep(latency)


async def exec_code(request: Request) -> Reply:
    await _round_trip(request)
    computer = _running(request)
    body = await json_body(request)
    code = text_field(body, "code")
    timeout = timeout_field(body, protocol.EXEC_TIMEOUT_DEFAULT, protocol.EXEC_TIMEOUT_MIN,
                            protocol.EXEC_TIMEOUT_MAX)
    return Reply(await run_exec(computer, code, timeout, _runtime(request)))


async def bash_command(request: Request) -> Reply:
    await _round_trip(request)
    computer = _running(request)
    body = await json_body(request)
    command = text_field(body, "command")
    if "\x00" in command:
        raise ApiError(400, "'command' must not contain NUL characters")
    timeout = timeout_field(body, protocol.BASH_TIMEOUT_DEFAULT, 1, BASH_TIMEOUT_MAX)
    try:
        return Reply(await run_bash(computer, command, timeout, _runtime(request)))
    except BashTimedOut as exc:
        raise ApiError(500, str(exc), upstream_status=408, output=exc.output) from None


async def vnc_password(request: Request) -> Reply:
    """The terminal's token (contract §13.1); it changes on every start and restart."""
    computer = _computer(request)
    return Reply({"password": computer.vnc_password, "desktop_api_token": computer.desktop_api_token})


def _power_off(request: Request, computer: ComputerRecord, reason: str) -> None:
    """Memory is lost on stop and restart: so are its processes, and its terminals close (1001)."""
    runtime = _runtime(request)
    runtime.terminals.close_computer(computer.id, reason)  # first: they must say 1001, not "exit"
    runtime.containment.kill(owner=computer.id)


async def start_computer(request: Request) -> Reply:
    computer = _computer(request)
    if computer.running:
        raise ApiError(409, "Computer is not stopped (it is already running)")
    computer.new_credentials()  # a new VNC password on every boot (§13.1)
    computer.status = "running"
    return Reply({"success": True, "status": "starting"})


async def stop_computer(request: Request) -> Reply:
    computer = _computer(request)
    if not computer.running:
        raise ApiError(409, "Computer is not running (it is already stopped)")
    computer.status = "stopped"
    _power_off(request, computer, "the computer is stopping")
    return Reply({"success": True, "status": "stopping"})


async def restart_computer(request: Request) -> Reply:
    computer = _computer(request)
    _power_off(request, computer, "the computer is restarting")
    computer.new_credentials()  # rotates on restart (§3)
    computer.status = "running"
    return Reply({"success": True, "status": "restarting"})


# -------------------------------------------------------------------------------- the terminal


async def _refuse(websocket: WebSocket, code: int, reason: str) -> None:
    with contextlib.suppress(Exception):  # the client may be gone already
        await websocket.close(code, reason)


async def terminal_socket(websocket: WebSocket) -> None:
    """``/desktops/{instance_id}/ws/terminal?token=..&cols=..&rows=..``: accepted, checked, served.

    The checks answer as the real proxy does, with a close after the handshake: the emulator
    shutting down 1001, an unknown instance id 4004 (with a hint when it is a computer's ``id``),
    a missing or wrong token 4001, a stopped computer 4003, a window size past
    ``TERMINAL_SIZE_MAX`` 4000.
    """
    try:
        await websocket.accept()
    except Exception:
        return
    state: EmulatorState = websocket.app.state.emulator
    runtime: Runtime = websocket.app.state.runtime
    if runtime.terminals.closing:
        await _refuse(websocket, protocol.CLOSE_GOING_AWAY, "the emulator is shutting down")
        return
    instance_id = websocket.path_params.get("instance_id", "")
    computer = state.computer_by_instance(instance_id)
    if computer is None:
        if state.computer(instance_id) is not None:
            await _refuse(websocket, protocol.CLOSE_NO_COMPUTER,
                          "It is the instance_id field, not the computer UUID")
        else:
            await _refuse(websocket, protocol.CLOSE_NO_COMPUTER, "No computer has this instance_id")
        return
    query = websocket.query_params
    token = query.get("token") or ""
    if not token:
        await _refuse(websocket, protocol.CLOSE_AUTH, "Missing token: pass ?token=<vnc_password>")
        return
    if not hmac.compare_digest(token.encode("utf-8", "replace"), computer.vnc_password.encode("utf-8")):
        await _refuse(websocket, protocol.CLOSE_AUTH, "Invalid token: fetch the computer's current vnc_password")
        return
    if not computer.running:
        await _refuse(websocket, protocol.CLOSE_NOT_RUNNING, "The computer is not running")
        return
    size = window_size(query.get("cols") or protocol.TERMINAL_COLS_DEFAULT,
                       query.get("rows") or protocol.TERMINAL_ROWS_DEFAULT)
    if size is None:
        await _refuse(websocket, protocol.CLOSE_BAD_PATH,
                      f"cols and rows must be whole numbers 1..{protocol.TERMINAL_SIZE_MAX}")
        return
    try:
        await runtime.terminals.serve(websocket, computer, {**child_env(computer), "TERM": TERM}, *size)
    except Exception:  # a bug of ours: the client gets a close, the log the traceback
        log.exception("terminal of computer %s failed", computer.id)
        await _refuse(websocket, 1011, "Internal error in the orgorepl emulator")


def _listing_key(request: Request) -> str:
    return "projects" if request.scope["path"].rstrip("/").endswith("/projects") else "workspaces"


async def workspaces(request: Request) -> Reply:
    state = _state(request)
    if request.method == "POST":
        body = await json_body(request)
        name = text_field(body, "name")
        try:
            record = state.create_workspace(name)
        except ValueError as exc:
            raise ApiError(400, str(exc)) from None
        return Reply(workspace_json(state, record, request))
    items = [workspace_json(state, w, request) for w in state.workspaces]
    return Reply({_listing_key(request): items})


async def get_workspace(request: Request) -> Reply:
    state = _state(request)
    record = state.workspace(request.path_params["workspace_id"])
    if record is None:
        raise ApiError(404, "Workspace not found")
    return Reply(workspace_json(state, record, request))


# -------------------------------------------------------------------------------- errors


async def on_api_error(request: Request, exc: ApiError) -> Reply:
    return error_reply(exc.status, exc.message, **exc.extra)


async def on_http_error(request: Request, exc: HTTPException) -> Reply:
    path = _shown(request.scope["path"])
    if exc.status_code == 404:
        message = f"Not found: {path} is not an endpoint of the orgorepl emulator"
    elif exc.status_code == 405:
        message = f"Method {request.method} is not allowed on {path}"
    else:
        message = str(exc.detail) or "Request failed"
    return error_reply(exc.status_code, message, headers=dict(exc.headers or {}))


def _shown(path: str, limit: int = 200) -> str:
    """A path fit to quote in an error: control characters escaped, absurd lengths cut."""
    text = path.encode("unicode_escape").decode("ascii") if not path.isprintable() else path
    return text if len(text) <= limit else text[:limit] + "..."


async def on_refused(request: Request, exc: Refused) -> Reply:
    if isinstance(exc, RunStopped):
        return error_reply(503, str(exc))
    return error_reply(503, "Could not reach the desktop: the emulator is shutting down.")


async def on_spawn_error(request: Request, exc: SpawnError) -> Reply:
    """The contract's "upstream desktop-agent failure (process spawn error)"."""
    return error_reply(500, f"Upstream desktop agent failure: {exc}", upstream_status=500)


async def on_crash(request: Request, exc: Exception) -> Reply:
    """Starlette re-raises after this, so the server still logs the traceback (never the key)."""
    request_id = str(uuid.uuid4())
    log.error("request %s (%s %s) failed", request_id, request.method, _shown(request.scope["path"]))
    return error_reply(500, "Internal error in the orgorepl emulator", request_id=request_id)


def create_app(state: EmulatorState, *, limits: Limits | None = None, executor: str | None = None,
               containment: str = "auto", latency: float = 0.0,
               terminal_idle: float = IDLE_DEFAULT) -> Starlette:
    """The ASGI app for one emulator state; its shutdown kills every child it started.

    ``executor`` is ``"zygote"`` (fork from a warm interpreter; the default on Linux) or
    ``"spawn"`` (a fresh one per exec; the default elsewhere); ``containment`` is ``"auto"``,
    ``"cgroup"`` or ``"watchdog"`` (see ``containment``).  ``latency`` (seconds) is added to
    every exec and bash answer, to stand for the network and VM round trip of a real cloud
    computer (the fan-out benchmark measures what overlapping that wait is worth).
    ``terminal_idle`` (seconds) closes a terminal socket that got no input frame for that long
    (4008), as the service does after 30 minutes.
    """
    runtime = Runtime(limits, executor, containment, terminal_idle=terminal_idle)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        try:
            yield
        finally:
            await runtime.aclose()

    routes = [
        Route("/computers/{computer_id}", get_computer, methods=["GET"]),
        Route("/computers/{computer_id}/exec", exec_code, methods=["POST"]),
        Route("/computers/{computer_id}/bash", bash_command, methods=["POST"]),
        Route("/computers/{computer_id}/start", start_computer, methods=["POST"]),
        Route("/computers/{computer_id}/stop", stop_computer, methods=["POST"]),
        Route("/computers/{computer_id}/restart", restart_computer, methods=["POST"]),
        Route("/computers/{computer_id}/vnc-password", vnc_password, methods=["GET"]),
        Route("/workspaces", workspaces, methods=["GET", "POST"]),
        Route("/workspaces/{workspace_id}", get_workspace, methods=["GET"]),
        Route("/projects", workspaces, methods=["GET", "POST"]),
        Route("/projects/{workspace_id}", get_workspace, methods=["GET"]),
    ]
    # each handler takes the class it is registered for, which Starlette's handler type (any
    # Exception) cannot say: the mapping is typed by what Starlette calls, (request, exc) -> reply
    handlers: dict[type[Exception], Callable[..., Awaitable[Reply]]] = {
        ApiError: on_api_error, Refused: on_refused, SpawnError: on_spawn_error,
        HTTPException: on_http_error, Exception: on_crash,
    }
    app = Starlette(
        # no trailing-slash redirects: a 307 has no JSON body (an unknown path is a JSON 404)
        routes=[Mount("/api", app=Router(routes, redirect_slashes=False)),
                WebSocketRoute(protocol.terminal_socket_path("{instance_id}"), terminal_socket)],
        exception_handlers=handlers,
        middleware=[Middleware(BodyLimit, limit=runtime.limits.body),
                    Middleware(BearerAuth, api_key=state.api_key)],
        lifespan=lifespan,
    )
    app.router.redirect_slashes = False
    app.state.emulator = state
    app.state.runtime = runtime
    app.state.latency = max(0.0, float(latency))
    return app
