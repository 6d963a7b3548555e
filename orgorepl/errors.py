"""Every error orgorepl raises, in one tree.

A Python exception raised by the user's code on the remote computer is *not* here: the API
answers it with HTTP 200 and ``success: false``, so it is a result (``ExecResult``), never an
exception.  What is here is everything that stops a request from producing a result::

    OrgoError                       anything orgorepl raises on purpose
    ├── ConfigError                 bad flag, environment value or config file entry
    ├── ResolutionError             a computer name/id that matches none or several
    ├── APIError                    the server answered with an error status
    │   ├── BadRequestError         400 (body, timeout range, ...)
    │   │   └── InstanceNotAvailableError   400 "Desktop instance not available"
    │   ├── AuthError               401 missing or invalid API key
    │   ├── ForbiddenError          403 (workspace-scope fields: code, key/target workspace)
    │   ├── NotFoundError           404 unknown computer or workspace
    │   ├── ConflictError           409 state conflict (start while running, ...)
    │   ├── RateLimitedError        429 (retry_after seconds when the server says)
    │   └── UpstreamError           5xx (upstream_status when the VM side failed)
    └── TransportError              no usable answer at all
        ├── ConnectError            could not connect; the request was not sent
        ├── RequestTimeout          no complete answer in time; the request may have run
        └── MalformedResponseError  an answer that is not the JSON the contract promises
    TerminalClosedError             the terminal WebSocket closed with a code that is not 1000
    ├── TerminalAuthError           4001/4401 token refused, 4006 scope, 4007 MFA, 4011 view-only
    ├── TerminalNotFoundError       4004/4404 no such instance (or 4000 a bad path)
    ├── TerminalNotRunningError     4003 the computer is not running
    ├── TerminalIdleError           4008 closed after a long time without input
    ├── TerminalStoppedError        1001 the computer (or the server) is stopping
    ├── TerminalUnreachableError    4500 no shell, 4502 the proxy could not reach the computer
    └── TerminalDroppedError        no close frame at all: the connection dropped

Every ``APIError`` carries ``status``, the server's ``message`` and its ``request_id``.
``TransportError`` carries ``may_have_run``: whether user code could have started, which is
what a person deciding whether to run something again needs to know.  No error ever holds the
API key: messages are built from the server's words and our own, never from request headers.
"""

from __future__ import annotations

from typing import Any

from orgorepl.exitstatus import ExitStatus


class OrgoError(Exception):
    """Base of every error orgorepl raises on purpose."""

    exit_status: ExitStatus = ExitStatus.SERVER
    hint: str = ""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def one_line(self) -> str:
        """The single line a person sees: what happened, then what to do."""
        text = " ".join(str(self.message).split())
        return f"{text} ({self.hint})" if self.hint else text


class ConfigError(OrgoError):
    exit_status = ExitStatus.CONFIG


class NoApiKeyError(ConfigError):
    """No key anywhere: the same exit status as a key the server refused (README: 10)."""

    exit_status = ExitStatus.AUTH


class ResolutionError(OrgoError):
    """A computer or workspace reference that matches no candidate, or more than one."""

    exit_status = ExitStatus.NOT_FOUND

    def __init__(self, message: str, candidates: list[str] | None = None) -> None:
        super().__init__(message)
        self.candidates = list(candidates or [])


class APIError(OrgoError):
    """The server answered with an HTTP error status and (usually) a JSON error body."""

    exit_status = ExitStatus.BAD_REQUEST
    label = "error"

    def __init__(
        self,
        message: str,
        *,
        status: int,
        request_id: str | None = None,
        code: str | None = None,
        body: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.request_id = request_id
        self.code = code
        self.body = dict(body or {})

    def one_line(self) -> str:
        parts = [f"HTTP {self.status} {self.label}: " + " ".join(str(self.message).split())]
        if self.code:
            parts.append(f"[{self.code}]")
        if self.request_id:
            parts.append(f"(request {self.request_id})")
        line = " ".join(parts)
        return f"{line} — {self.hint}" if self.hint else line


class BadRequestError(APIError):
    label = "bad request"


class InstanceNotAvailableError(BadRequestError):
    label = "computer not available"
    hint = "it may be stopped or still booting: try `orgorepl start` or wait"


class AuthError(APIError):
    exit_status = ExitStatus.AUTH
    label = "unauthorized"
    hint = "check ORGO_API_KEY / --api-key"


class ForbiddenError(APIError):
    exit_status = ExitStatus.AUTH
    label = "forbidden"
    hint = "the key is not allowed to reach this workspace or computer"

    @property
    def key_workspace_id(self) -> str | None:
        return self.body.get("key_workspace_id")

    @property
    def target_workspace_id(self) -> str | None:
        return self.body.get("target_workspace_id")


class NotFoundError(APIError):
    exit_status = ExitStatus.NOT_FOUND
    label = "not found"
    hint = "list what you can reach with `orgorepl computers`"


class ConflictError(APIError):
    label = "conflict"


class RateLimitedError(APIError):
    exit_status = ExitStatus.RATE_LIMITED
    label = "rate limited"

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after
        self.hint = (
            f"retry in {retry_after:g}s" if retry_after is not None else "wait a moment and retry"
        )


class UpstreamError(APIError):
    exit_status = ExitStatus.SERVER
    label = "server error"

    def __init__(self, message: str, *, upstream_status: int | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.upstream_status = upstream_status
        if upstream_status in (408, 504):
            self.hint = "the computer timed the action out: pass a larger timeout"
        elif self.status == 503:
            self.hint = "transient: try again in a moment"

    def one_line(self) -> str:
        line = super().one_line()
        if self.upstream_status is not None:
            line = line.replace(f"HTTP {self.status} ", f"HTTP {self.status}/{self.upstream_status} ", 1)
        return line


class TransportError(OrgoError):
    """No usable HTTP answer."""

    exit_status = ExitStatus.NETWORK

    def __init__(self, message: str, *, may_have_run: bool = False, status: int | None = None) -> None:
        super().__init__(message)
        self.may_have_run = may_have_run
        self.status = status

    def one_line(self) -> str:
        line = super().one_line()
        if self.may_have_run:
            line += " — the request was sent, so the code may have run; it was not retried"
        return line


class TerminalClosedError(OrgoError):
    """The terminal socket closed with a code that means something went wrong (``protocol``)."""

    exit_status = ExitStatus.SERVER

    def __init__(self, message: str, *, code: int | None = None, reason: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason

    def one_line(self, *, advice: bool = True) -> str:
        """``advice=False``: what happened only (when orgorepl is already doing something about it)."""
        text = " ".join(str(self.message).split())
        if self.code is not None:
            text += f" (close code {self.code})"
        if self.reason and self.reason.lower() not in text.lower():
            text += f": {self.reason}"
        return f"{text} — {self.hint}" if self.hint and advice else text


class TerminalAuthError(TerminalClosedError):
    exit_status = ExitStatus.AUTH
    hint = "the token is the computer's vnc_password, which rotates on every restart"


class TerminalNotFoundError(TerminalClosedError):
    exit_status = ExitStatus.NOT_FOUND
    hint = "the socket takes the computer's instance_id, not its id; list computers with `orgorepl computers`"


class TerminalNotRunningError(TerminalClosedError):
    exit_status = ExitStatus.BAD_REQUEST
    hint = "start it with `orgorepl start`"


class TerminalIdleError(TerminalClosedError):
    exit_status = ExitStatus.NETWORK
    hint = "open it again; `orgorepl term --reconnect` does so by itself"


class TerminalStoppedError(TerminalClosedError):
    exit_status = ExitStatus.SERVER
    hint = "it was stopped or restarted: `orgorepl start` if it stays stopped"


class TerminalUnreachableError(TerminalClosedError):
    exit_status = ExitStatus.SERVER
    hint = "transient on the service's side: try again in a moment"


class TerminalDroppedError(TerminalClosedError):
    exit_status = ExitStatus.NETWORK
    hint = "is the network up? `orgorepl term --reconnect` reconnects by itself"


class ConnectError(TransportError):
    hint = "is the network up and the base URL right?"


class ConnectionRefused(ConnectError):
    """Nothing listens at the address: a server that is not there does not come up in seconds,
    so this is tried again once, at once, not with the backoff a flaky network gets."""

    hint = "is the server running and the base URL right?"


class RequestTimeout(TransportError):
    pass


class MalformedResponseError(TransportError):
    pass


_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitedError,
}


def error_class_for_status(status: int) -> type[APIError]:
    """The exception class for an HTTP error status (unknown 4xx -> APIError, 5xx -> UpstreamError)."""
    if status >= 500:
        return UpstreamError
    return _BY_STATUS.get(status, APIError)
