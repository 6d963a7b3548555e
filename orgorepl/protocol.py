"""The Orgo wire format: URL paths, JSON field names, request bodies and typed results.

This is the only module of the client side that knows what the API looks like on the wire
(``../shared/orgo-api.md`` is the contract).  It does no I/O, so the sync and the async client
share it, and tests can check it without a server.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from orgorepl import errors

DEFAULT_BASE_URL = "https://www.orgo.ai/api"

EXEC_TIMEOUT_DEFAULT = 10
EXEC_TIMEOUT_MIN = 1
EXEC_TIMEOUT_MAX = 300
BASH_TIMEOUT_DEFAULT = 200

LIFECYCLE_ACTIONS = ("start", "stop", "restart")
# How a bash run killed by its timeout is reported by the real API: an HTTP error whose
# upstream_status says the desktop timed the action out (contract §2, §12).
BASH_TIMEOUT_UPSTREAM = (408, 504)


def _seg(value: str) -> str:
    """One path segment, percent-encoded so an id can never add or climb path segments."""
    return quote(str(value), safe="")


def exec_path(computer_id: str) -> str:
    return f"computers/{_seg(computer_id)}/exec"


def bash_path(computer_id: str) -> str:
    return f"computers/{_seg(computer_id)}/bash"


def computer_path(computer_id: str) -> str:
    return f"computers/{_seg(computer_id)}"


def lifecycle_path(computer_id: str, action: str) -> str:
    if action not in LIFECYCLE_ACTIONS:
        raise ValueError(f"unknown lifecycle action {action!r}")
    return f"computers/{_seg(computer_id)}/{action}"


WORKSPACES_PATH = "workspaces"
PROJECTS_PATH = "projects"  # deprecated alias the official SDK still uses


def workspace_path(workspace_id: str, *, legacy: bool = False) -> str:
    return f"{PROJECTS_PATH if legacy else WORKSPACES_PATH}/{_seg(workspace_id)}"


def exec_body(code: str, timeout: int = EXEC_TIMEOUT_DEFAULT) -> dict[str, Any]:
    return {"code": code, "timeout": int(timeout)}


def bash_body(command: str, timeout: int = BASH_TIMEOUT_DEFAULT) -> dict[str, Any]:
    return {"command": command, "timeout": int(timeout)}


def check_exec_timeout(timeout: int) -> int:
    """The exec timeout range is the API's; refuse it here so no request is wasted."""
    if isinstance(timeout, bool) or not isinstance(timeout, int):
        raise errors.ConfigError(f"timeout must be a whole number of seconds, got {timeout!r}")
    if not EXEC_TIMEOUT_MIN <= timeout <= EXEC_TIMEOUT_MAX:
        raise errors.ConfigError(
            f"timeout must be between {EXEC_TIMEOUT_MIN} and {EXEC_TIMEOUT_MAX} seconds, got {timeout}"
        )
    return timeout


# --------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class ExecResult:
    """The answer of POST /computers/{id}/exec.  A remote exception is ``success=False``."""

    output: str
    success: bool
    error: str | None = None
    error_type: str | None = None
    timeout: bool = False
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> ExecResult:
        data = _require_object(data, "exec")
        output = data.get("output")
        success = data.get("success")
        if not isinstance(success, bool):
            raise errors.MalformedResponseError(
                "malformed exec reply: 'success' is missing or not a boolean", may_have_run=True
            )
        return cls(
            output=output if isinstance(output, str) else ("" if output is None else str(output)),
            success=success,
            error=_opt_str(data.get("error")),
            error_type=_opt_str(data.get("error_type")),
            timeout=bool(data.get("timeout", False)),
            raw=data,
        )


@dataclass(frozen=True)
class BashResult:
    """The answer of POST /computers/{id}/bash.

    ``timeout`` is ours: the real API reports a bash run killed by its timeout as an HTTP error
    with ``upstream_status`` 408/504; the client turns that into a result, since to a person it
    is an outcome of their command, not a failure of the service.
    """

    output: str
    exit_code: int | None
    success: bool
    timeout: bool = False
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> BashResult:
        data = _require_object(data, "bash")
        output = data.get("output")
        exit_code = data.get("exit_code")
        if isinstance(exit_code, bool) or not isinstance(exit_code, (int, type(None))):
            raise errors.MalformedResponseError(
                "malformed bash reply: 'exit_code' is not an integer", may_have_run=True
            )
        success = data.get("success")
        if not isinstance(success, bool):
            success = exit_code == 0
        return cls(
            output=output if isinstance(output, str) else ("" if output is None else str(output)),
            exit_code=exit_code,
            success=success,
            raw=data,
        )

    @classmethod
    def timed_out(cls, err: errors.UpstreamError) -> BashResult:
        out = err.body.get("output")
        return cls(output=out if isinstance(out, str) else "", exit_code=None, success=False,
                   timeout=True, raw=err.body)


@dataclass(frozen=True)
class Computer:
    id: str
    name: str
    status: str
    workspace_id: str | None = None
    workspace_name: str | None = None
    os: str | None = None
    ram: int | None = None
    cpu: int | None = None
    disk_size_gb: int | None = None
    instance_id: str | None = None  # what the terminal socket's URL takes (not ``id``)
    connection_url: str | None = None
    vnc_password: str | None = field(default=None, repr=False, compare=False)  # the socket's token: a secret
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Any, *, workspace: Mapping[str, Any] | None = None) -> Computer:
        data = _require_object(data, "computer", may_have_run=False)
        cid = data.get("id")
        if not isinstance(cid, str) or not cid:
            raise errors.MalformedResponseError("malformed computer: 'id' is missing")
        ws = workspace or {}
        return cls(
            id=cid,
            name=str(data.get("name") or cid),
            status=str(data.get("status") or "unknown"),
            workspace_id=_opt_str(data.get("workspace_id") or data.get("project_id") or ws.get("id")),
            workspace_name=_opt_str(data.get("project_name") or ws.get("name")),
            os=_opt_str(data.get("os")),
            ram=_opt_int(data.get("ram")),
            cpu=_opt_int(data.get("cpu")),
            disk_size_gb=_opt_int(data.get("disk_size_gb")),
            instance_id=_opt_str(data.get("instance_id") or data.get("fly_instance_id")),
            connection_url=_opt_str(data.get("connection_url")),
            vnc_password=_opt_str(data.get("vnc_password")),
            raw=data,
        )


@dataclass(frozen=True)
class Workspace:
    id: str
    name: str
    computers: tuple[Computer, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: Any) -> Workspace:
        data = _require_object(data, "workspace", may_have_run=False)
        wid = data.get("id")
        if not isinstance(wid, str) or not wid:
            raise errors.MalformedResponseError("malformed workspace: 'id' is missing")
        desktops = data.get("desktops")
        if desktops is None:
            desktops = data.get("computers") or []  # older docs' key
        if not isinstance(desktops, list):
            raise errors.MalformedResponseError("malformed workspace: 'desktops' is not a list")
        computers = tuple(Computer.from_json(d, workspace=data) for d in desktops)
        return cls(id=wid, name=str(data.get("name") or wid), computers=computers, raw=data)


def workspaces_from_listing(data: Any) -> list[Workspace]:
    """GET /workspaces answers ``{"workspaces": [...]}``; the /projects alias ``{"projects": [...]}``."""
    data = _require_object(data, "workspace listing", may_have_run=False)
    items = data.get("workspaces")
    if items is None:
        items = data.get("projects")
    if not isinstance(items, list):
        raise errors.MalformedResponseError("malformed workspace listing: no 'workspaces' list")
    return [Workspace.from_json(item) for item in items]


# --------------------------------------------------------------------------------------------
# Errors


def parse_retry_after(header: str | None, body: Mapping[str, Any]) -> float | None:
    """Seconds to wait, from the Retry-After header (seconds form) or a ``retry_after`` body field."""
    for value in (header, body.get("retry_after")):
        if value is None or isinstance(value, bool):
            continue
        try:
            seconds = float(value)
        except (TypeError, ValueError):
            continue
        if seconds >= 0:
            return seconds
    return None


def api_error(status: int, content: bytes, retry_after_header: str | None = None) -> errors.APIError:
    """Build the exception for an HTTP error answer, whatever shape its body has."""
    body: dict[str, Any] = {}
    try:
        parsed = json.loads(content.decode("utf-8")) if content else None
    except (UnicodeDecodeError, ValueError):
        parsed = None
    if isinstance(parsed, dict):
        body = parsed
    message = body.get("error") if isinstance(body.get("error"), str) else None
    if not message:
        message = body.get("message") if isinstance(body.get("message"), str) else None
    if not message:
        message = f"the server answered HTTP {status} without an error message"
    kwargs: dict[str, Any] = dict(
        status=status,
        request_id=_opt_str(body.get("request_id")),
        code=_opt_str(body.get("code")),
        body=body,
    )
    cls = errors.error_class_for_status(status)
    if status == 404 and not body:  # not an answer of Orgo's (an HTML page, nothing): wrong address
        error = errors.NotFoundError(message, **kwargs)
        error.hint = ("is the base URL right? Orgo's API is under /api "
                      "(https://www.orgo.ai/api; the emulator's http://127.0.0.1:PORT/api)")
        return error
    if status == 400 and "not available" in message.lower():
        cls = errors.InstanceNotAvailableError
    if cls is errors.RateLimitedError:
        return errors.RateLimitedError(
            message, retry_after=parse_retry_after(retry_after_header, body), **kwargs
        )
    if cls is errors.UpstreamError:
        return errors.UpstreamError(message, upstream_status=_opt_int(body.get("upstream_status")), **kwargs)
    return cls(message, **kwargs)


def decode_json(content: bytes | bytearray, *, may_have_run: bool, status: int = 200) -> Any:
    try:
        return json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        preview = content[:60].decode("utf-8", "replace").replace("\n", " ")
        raise errors.MalformedResponseError(
            f"the server answered HTTP {status} with a body that is not JSON: {preview!r}",
            may_have_run=may_have_run,
            status=status,
        ) from None


# --------------------------------------------------------------------------------------------


def _require_object(data: Any, what: str, *, may_have_run: bool = True) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise errors.MalformedResponseError(
            f"malformed {what} reply: expected a JSON object, got {type(data).__name__}",
            may_have_run=may_have_run,
        )
    return data


def _opt_str(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def _opt_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


# --------------------------------------------------------------------------------------------
# The terminal WebSocket (contract §8, §13.1): a PTY, JSON text frames both ways

TERMINAL_COLS_DEFAULT = 80
TERMINAL_ROWS_DEFAULT = 24
TERMINAL_SIZE_MAX = 1000  # ours: a window larger than this on either side is refused
TERMINAL_PING_INTERVAL = 20.0  # the contract says every 10-30 s

# Close codes.  The docs list one set, the proxy (orgo-vnc) sends another; both are understood.
CLOSE_NORMAL = 1000  # the shell exited (after an ``exit`` frame), or the client hung up
CLOSE_GOING_AWAY = 1001  # the computer (or the server) is stopping
CLOSE_BAD_PATH = 4000
CLOSE_AUTH = 4001  # bad or missing token (docs: 4401)
CLOSE_NOT_RUNNING = 4003  # the computer is not running (docs: part of 4404)
CLOSE_NO_COMPUTER = 4004  # no such instance: "it is the instance_id field, not the computer UUID"
CLOSE_SCOPE = 4006
CLOSE_MFA = 4007
CLOSE_IDLE = 4008  # closed after a time without input (30 min on the service)
CLOSE_VIEW_ONLY = 4011  # a view-only grant has no terminal
CLOSE_DOCS_AUTH = 4401
CLOSE_DOCS_NOT_FOUND = 4404  # not found or not running
CLOSE_SPAWN_FAILED = 4500
CLOSE_UNREACHABLE = 4502  # the proxy could not reach the computer

_CLOSE_ERRORS: dict[int, tuple[type[errors.TerminalClosedError], str]] = {
    CLOSE_GOING_AWAY: (errors.TerminalStoppedError, "the computer is stopping"),
    CLOSE_BAD_PATH: (errors.TerminalNotFoundError, "the terminal address is wrong"),
    CLOSE_AUTH: (errors.TerminalAuthError, "the computer's terminal token was refused"),
    CLOSE_DOCS_AUTH: (errors.TerminalAuthError, "the computer's terminal token was refused"),
    CLOSE_NOT_RUNNING: (errors.TerminalNotRunningError, "the computer is not running"),
    CLOSE_NO_COMPUTER: (errors.TerminalNotFoundError, "no such computer behind the terminal proxy"),
    CLOSE_DOCS_NOT_FOUND: (errors.TerminalNotFoundError, "the computer was not found or is not running"),
    CLOSE_SCOPE: (errors.TerminalAuthError, "the token is not for this workspace"),
    CLOSE_MFA: (errors.TerminalAuthError, "multi-factor authentication is required"),
    CLOSE_IDLE: (errors.TerminalIdleError, "the terminal was closed after a long time without input"),
    CLOSE_VIEW_ONLY: (errors.TerminalAuthError, "a view-only grant has no terminal"),
    CLOSE_SPAWN_FAILED: (errors.TerminalUnreachableError, "the computer could not start a shell"),
    CLOSE_UNREACHABLE: (errors.TerminalUnreachableError, "the proxy could not reach the computer"),
}
AUTH_CLOSE_CODES = frozenset({CLOSE_AUTH, CLOSE_DOCS_AUTH})


def terminal_close_error(code: int | None, reason: str = "") -> errors.TerminalClosedError | None:
    """The error a close code means, or None for a normal close (1000).

    ``code`` None (or 1006) is a connection that dropped without a close frame.
    """
    if code == CLOSE_NORMAL:
        return None
    reason = " ".join(str(reason or "").split())[:300]
    if code is None or code == 1006:
        return errors.TerminalDroppedError("the terminal connection dropped", code=code, reason=reason)
    cls, message = _CLOSE_ERRORS.get(code, (errors.TerminalClosedError, "the terminal was closed"))
    return cls(message, code=code, reason=reason)


def terminal_socket_url(base_url: str, instance_id: str, token: str, cols: int, rows: int,
                        connection_url: str | None = None) -> str:
    """``wss://HOST/desktops/{instance_id}/ws/terminal?token=..&cols=..&rows=..``.

    The computer's ``connection_url`` (``{origin}/desktops/{instance_id}``) is used when it is an
    http(s) URL; otherwise the origin of the API base URL (the socket is not under ``/api``).
    """
    base = connection_url if connection_url and connection_url.startswith(("http://", "https://")) else None
    if base is None:
        parts = urlsplit(base_url)
        base = f"{parts.scheme}://{parts.netloc}/desktops/{_seg(instance_id)}"
    scheme, rest = base.split("://", 1)
    ws_scheme = "wss" if scheme == "https" else "ws"
    query = urlencode({"token": token, "cols": int(cols), "rows": int(rows)})
    return f"{ws_scheme}://{rest.rstrip('/')}/ws/terminal?{query}"


def terminal_socket_path(instance_id: str) -> str:
    """The server side's route (emulator): not under ``/api``, as on the real host."""
    return f"/desktops/{instance_id}/ws/terminal"


def vnc_password_path(computer_id: str) -> str:
    return f"computers/{_seg(computer_id)}/vnc-password"


@dataclass(frozen=True)
class TerminalAccess:
    """What opening a computer's terminal takes: where it is and its current token (a secret)."""

    computer: Computer
    instance_id: str
    token: str = field(repr=False)

    def url(self, base_url: str, cols: int, rows: int) -> str:
        return terminal_socket_url(base_url, self.instance_id, self.token, cols, rows,
                                   self.computer.connection_url)


def password_from_json(data: Any) -> str:
    """``GET /computers/{id}/vnc-password`` -> ``{"password": ...}``."""
    data = _require_object(data, "vnc-password", may_have_run=False)
    password = data.get("password")
    if not isinstance(password, str) or not password:
        raise errors.MalformedResponseError("malformed vnc-password reply: 'password' is missing")
    return password


@dataclass(frozen=True)
class TerminalFrame:
    """One server -> client frame: ``output`` (data), ``error`` (message), ``exit`` (code), ``pong``."""

    type: str
    data: str = ""
    code: int | None = None
    message: str = ""


def _frame(**fields: Any) -> str:
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":"))


def input_frame(data: str) -> str:
    return _frame(type="input", data=data)


def resize_frame(cols: int, rows: int) -> str:
    return _frame(type="resize", cols=int(cols), rows=int(rows))


def ping_frame() -> str:
    return _frame(type="ping")


def output_frame(data: str) -> str:
    return _frame(type="output", data=data)


def error_frame(message: str) -> str:
    return _frame(type="error", message=message)


def exit_frame(code: int) -> str:
    return _frame(type="exit", code=int(code))


def pong_frame() -> str:
    return _frame(type="pong")


def parse_client_frame(text: str | bytes) -> dict[str, Any] | None:
    """A client frame as a dict with a string ``type``, or None when it is not one (ignored)."""
    try:
        data = json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        return None
    return data


def parse_terminal_frame(text: str | bytes) -> TerminalFrame:
    """A server frame; anything that is not one raises MalformedResponseError."""
    data = parse_client_frame(text)
    if data is None:
        raise errors.MalformedResponseError("the terminal sent a frame that is not a JSON object with a type")
    kind = data["type"]
    code = data.get("code")
    return TerminalFrame(
        type=kind,
        data=data["data"] if isinstance(data.get("data"), str) else "",
        code=code if isinstance(code, int) and not isinstance(code, bool) else None,
        message=str(data.get("message") or ""),
    )
