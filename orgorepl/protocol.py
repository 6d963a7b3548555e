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
from urllib.parse import quote

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
