"""The sans-IO core both clients share: operations as generators of HTTP calls, the retry
policy, body limits, error translation and resolving a computer.  See ``client/__init__``."""

from __future__ import annotations

import re
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass
from typing import Any

import httpx

from orgorepl import __version__, errors, protocol

MAX_BODY_BYTES = 64 * 1024 * 1024
GET_READ_TIMEOUT = 30.0
LIFECYCLE_READ_TIMEOUT = 60.0  # start/stop/restart "may take longer than a normal request"

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_HEADER_SAFE = re.compile(r"^[\x21-\x7e]+$")  # visible ASCII: what a bearer token can be


@dataclass(frozen=True)
class _Call:
    """One HTTP exchange an operation needs.  ``runs_code``: the server may act on it."""

    method: str
    path: str
    body: dict[str, Any] | None
    runs_code: bool
    read_timeout: float

    @property
    def label(self) -> str:
        return f"{self.method} /{self.path}"


# An operation: yields calls, is sent each call's decoded JSON (or thrown its error), returns T.
_Op = Generator[_Call, Any, Any]


def _refused(exc: BaseException | None, depth: int = 0) -> bool:
    """Whether a connect failure was "connection refused", wherever the HTTP stack put it (httpx's
    own text, a cause, or one of the attempts anyio grouped: each address tried)."""
    if exc is None or depth > 6:
        return False
    if isinstance(exc, ConnectionRefusedError) or "refused" in str(exc).lower():
        return True
    inner = list(getattr(exc, "exceptions", ()))
    if inner:
        return all(_refused(e, depth + 1) for e in inner)
    return _refused(exc.__cause__ or exc.__context__, depth + 1)


REFUSED_RETRY = 0.2  # seconds before the one retry of a refused connection (a server restarting)


class RetryPolicy:
    """Decides whether, and after how long, a failed call is tried again."""

    RETRY_STATUSES = frozenset({502, 503, 504})

    def __init__(
        self,
        max_retries: int = 3,
        *,
        backoff_base: float = 0.5,
        backoff_cap: float = 8.0,
        retry_after_cap: float = 30.0,
    ) -> None:
        self.max_retries = max(0, int(max_retries))
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.retry_after_cap = retry_after_cap

    def backoff(self, attempt: int) -> float:
        return min(self.backoff_cap, self.backoff_base * (2**attempt))

    def delay(self, call: _Call, attempt: int, error: errors.OrgoError) -> float | None:
        """Seconds to wait before retry number ``attempt + 1``, or None to give up.

        ``attempt`` counts retries already made (0 after the first failure).
        """
        if attempt >= self.max_retries:
            return None
        if isinstance(error, errors.ConnectionRefused):  # nobody listens: once more, then say so
            return REFUSED_RETRY if attempt == 0 else None
        if isinstance(error, errors.ConnectError):  # never sent: safe for every call
            return self.backoff(attempt)
        if call.runs_code:
            return None
        if isinstance(error, errors.RateLimitedError):
            if error.retry_after is not None:
                return min(error.retry_after, self.retry_after_cap)
            return self.backoff(attempt)
        if isinstance(error, errors.UpstreamError) and error.status in self.RETRY_STATUSES:
            return self.backoff(attempt)
        if type(error) is errors.TransportError:  # connection broke (stale keep-alive, reset)
            return self.backoff(attempt)
        return None


class _BodyBuffer:
    """Collects a streamed body, refusing it as soon as it passes the limit."""

    def __init__(self, call: _Call, response: httpx.Response, limit: int) -> None:
        self._call = call
        self._status = response.status_code
        self._limit = limit
        self.data = bytearray()
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            raise self._too_big(f"{int(declared)} bytes")

    def feed(self, chunk: bytes) -> None:
        self.data += chunk
        if len(self.data) > self._limit:
            raise self._too_big(f"more than {self._limit} bytes")

    def _too_big(self, size: str) -> errors.MalformedResponseError:
        return errors.MalformedResponseError(
            f"refused the answer to {self._call.label}: its body is {size}, over the "
            f"{self._limit // (1024 * 1024)} MiB limit",
            may_have_run=self._call.runs_code,
            status=self._status,
        )


class _ClientCore:
    """Everything both clients share: settings, requests, replies, errors, operations."""

    def __init__(
        self,
        api_key: str,
        base_url: str = protocol.DEFAULT_BASE_URL,
        *,
        connect_timeout: float = 10.0,
        timeout_margin: float = 15.0,
        max_retries: int = 3,
        user_agent: str | None = None,
        read_timeout: float = GET_READ_TIMEOUT,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        if not api_key or not api_key.strip():
            raise errors.NoApiKeyError("no API key: set ORGO_API_KEY or pass --api-key")
        if not _HEADER_SAFE.fullmatch(api_key):
            # Never echo the key: say what is wrong with it, not what it is.
            raise errors.ConfigError(
                "the API key contains spaces, control or non-ASCII characters; check for a "
                "stray quote or newline"
            )
        self._base_url = _normalise_base_url(base_url)
        self._headers = {
            "Authorization": f"Bearer {api_key}",
            "Accept": "application/json",
            "Content-Type": "application/json",
            "User-Agent": user_agent or f"orgorepl/{__version__}",
        }
        self.connect_timeout = float(connect_timeout)
        self.timeout_margin = float(timeout_margin)
        self.read_timeout = float(read_timeout)
        self.max_body_bytes = int(max_body_bytes)
        self.retry = RetryPolicy(max_retries)
        self._legacy_workspaces = False  # set once /workspaces answered 404/405

    @property
    def base_url(self) -> str:
        return self._base_url

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self._base_url!r})"

    def _httpx_options(self, transport: Any) -> dict[str, Any]:
        return dict(
            base_url=self._base_url,
            headers=self._headers,
            timeout=httpx.Timeout(self.read_timeout, connect=self.connect_timeout),
            transport=transport,
            follow_redirects=False,  # a redirect to another host would drop or leak the key
        )

    # ---------------------------------------------------------------- one exchange

    def _timeout_for(self, call: _Call) -> httpx.Timeout:
        return httpx.Timeout(
            connect=self.connect_timeout,
            read=call.read_timeout,
            write=call.read_timeout,
            pool=self.connect_timeout,
        )

    def _buffer(self, call: _Call, response: httpx.Response) -> _BodyBuffer:
        return _BodyBuffer(call, response, self.max_body_bytes)

    def _interpret(self, call: _Call, response: httpx.Response, content: bytes | bytearray) -> Any:
        status = response.status_code
        if status >= 400:
            raise protocol.api_error(status, bytes(content), response.headers.get("retry-after"))
        if status >= 300:
            location = response.headers.get("location", "?")
            raise errors.APIError(
                f"the server redirected {call.label} to {location}; set the base URL to the "
                "final address (the API key is not sent across redirects)",
                status=status,
            )
        return protocol.decode_json(content, may_have_run=call.runs_code, status=status)

    def _translate(self, exc: httpx.HTTPError, call: _Call) -> errors.OrgoError:
        """The only place httpx exceptions become orgorepl errors."""
        detail = str(exc) or type(exc).__name__
        ran = call.runs_code
        if isinstance(exc, httpx.ConnectTimeout):
            return errors.ConnectError(
                f"could not connect to {self._base_url} within {self.connect_timeout:g}s",
                may_have_run=False,
            )
        if isinstance(exc, httpx.ConnectError):
            kind = errors.ConnectionRefused if _refused(exc) else errors.ConnectError
            return kind(f"could not connect to {self._base_url} ({detail})", may_have_run=False)
        if isinstance(exc, httpx.PoolTimeout):
            return errors.RequestTimeout(
                f"{call.label} waited over {self.connect_timeout:g}s for a free connection",
                may_have_run=False,
            )
        if isinstance(exc, httpx.TimeoutException):  # read or write
            return errors.RequestTimeout(
                f"no complete answer to {call.label} within {call.read_timeout:g}s", may_have_run=ran
            )
        if isinstance(exc, httpx.DecodingError):
            return errors.MalformedResponseError(
                f"the answer to {call.label} could not be decoded ({detail})", may_have_run=ran
            )
        if isinstance(exc, (httpx.NetworkError, httpx.ProtocolError)):
            return errors.TransportError(
                f"the connection broke before a complete answer to {call.label} ({detail})",
                may_have_run=ran,
            )
        return errors.TransportError(f"{call.label} failed ({detail})", may_have_run=ran)

    # ---------------------------------------------------------------- calls

    def _get(self, path: str) -> _Call:
        return _Call("GET", path, None, False, self.read_timeout)

    def _post(self, path: str, body: dict[str, Any] | None, read_timeout: float) -> _Call:
        return _Call("POST", path, body, True, read_timeout)

    # ---------------------------------------------------------------- operations

    def _op_exec(self, computer_id: str, code: str, timeout: int) -> _Op:
        timeout = protocol.check_exec_timeout(timeout)
        data = yield self._post(
            protocol.exec_path(computer_id), protocol.exec_body(code, timeout), timeout + self.timeout_margin
        )
        return protocol.ExecResult.from_json(data)

    def _op_bash(self, computer_id: str, command: str, timeout: int) -> _Op:
        if isinstance(timeout, bool) or not isinstance(timeout, int) or timeout < 1:
            raise errors.ConfigError(f"timeout must be a positive whole number of seconds, got {timeout!r}")
        try:
            data = yield self._post(
                protocol.bash_path(computer_id), protocol.bash_body(command, timeout),
                timeout + self.timeout_margin,
            )
        except errors.UpstreamError as err:
            if err.upstream_status in protocol.BASH_TIMEOUT_UPSTREAM:
                return protocol.BashResult.timed_out(err)
            raise
        return protocol.BashResult.from_json(data)

    def _op_get_computer(self, computer_id: str) -> _Op:
        data = yield self._get(protocol.computer_path(computer_id))
        return protocol.Computer.from_json(data)

    def _op_terminal_access(self, computer_id: str, fresh_token: bool) -> _Op:
        """The computer as it is now, and its terminal token: the token rotates on every restart,
        so it is read fresh each time, from /vnc-password when the computer object has none (or
        when the one it had was just refused)."""
        computer = yield from self._op_get_computer(computer_id)
        if not computer.instance_id:
            raise errors.MalformedResponseError(
                f"computer {computer.name} has no instance_id: the server offers no terminal for it")
        token = computer.vnc_password
        if fresh_token or not token:
            token = protocol.password_from_json((yield self._get(protocol.vnc_password_path(computer_id))))
        return protocol.TerminalAccess(computer=computer, instance_id=computer.instance_id, token=token)

    def _op_lifecycle(self, computer_id: str, action: str) -> _Op:
        call = self._post(protocol.lifecycle_path(computer_id, action), None, LIFECYCLE_READ_TIMEOUT)
        data = yield call
        if not isinstance(data, dict):
            raise errors.MalformedResponseError(
                f"malformed {action} reply: expected a JSON object, got {type(data).__name__}",
                may_have_run=True,
            )
        return data

    def _op_with_legacy_fallback(self, path: Callable[[bool], str]) -> _Op:
        """GET a /workspaces path, falling back once (and for good) to the /projects alias."""
        if self._legacy_workspaces:
            return (yield self._get(path(True)))
        try:
            return (yield self._get(path(False)))
        except errors.APIError as err:
            if err.status not in (404, 405):
                raise
            try:
                data = yield self._get(path(True))
            except errors.APIError as legacy_err:
                if legacy_err.status in (404, 405):
                    raise err from None  # neither exists: the modern answer says why
                raise
            self._legacy_workspaces = True
            return data

    def _op_list_workspaces(self) -> _Op:
        data = yield from self._op_with_legacy_fallback(
            lambda legacy: protocol.PROJECTS_PATH if legacy else protocol.WORKSPACES_PATH
        )
        return protocol.workspaces_from_listing(data)

    def _op_get_workspace(self, workspace_id: str) -> _Op:
        data = yield from self._op_with_legacy_fallback(
            lambda legacy: protocol.workspace_path(workspace_id, legacy=legacy)
        )
        return protocol.Workspace.from_json(data)

    def _op_list_computers(self) -> _Op:
        workspaces = yield from self._op_list_workspaces()
        return [computer for ws in workspaces for computer in ws.computers]

    def _op_resolve_computer(self, ref: str | None) -> _Op:
        if ref is not None:
            ref = ref.strip()
            if not ref:
                raise errors.ResolutionError("empty computer name or id")
            if _UUID.fullmatch(ref):  # one GET, and it works for a key that cannot list workspaces
                try:
                    return (yield from self._op_get_computer(ref))
                except errors.NotFoundError:
                    pass  # a name can look like an id; try the listing
        computers = yield from self._op_list_computers()
        return pick_computer(computers, ref)


def pick_computer(computers: Iterable[protocol.Computer], ref: str | None) -> protocol.Computer:
    """Choose the computer ``ref`` names (exact id, then name, then name ignoring case)."""
    computers = list(computers)
    if ref is None:
        if len(computers) == 1:
            return computers[0]
        if not computers:
            raise errors.ResolutionError("no computers found in your workspaces: create one first")
        raise errors.ResolutionError(
            f"{len(computers)} computers are available; choose one with --computer: "
            + _describe(computers),
            candidates=[c.id for c in computers],
        )
    for computer in computers:
        if computer.id == ref:
            return computer
    named = [c for c in computers if c.name == ref]
    if not named:
        named = [c for c in computers if c.name.casefold() == ref.casefold()]
    if len(named) == 1:
        return named[0]
    if named:
        ids = [c.id for c in named]
        raise errors.ResolutionError(
            f"computer name {ref!r} is ambiguous: it matches {', '.join(ids)}; pass the id instead",
            candidates=ids,
        )
    if not computers:
        raise errors.ResolutionError(f"no computer named {ref!r}; no computers are available")
    raise errors.ResolutionError(
        f"no computer named {ref!r}; available: {_describe(computers)}",
        candidates=[c.name for c in computers],
    )


def _describe(computers: list[protocol.Computer], limit: int = 20) -> str:
    counts: dict[str, int] = {}
    for c in computers:
        counts[c.name] = counts.get(c.name, 0) + 1
    shown = [c.name if counts[c.name] == 1 else f"{c.name} ({c.id})" for c in computers[:limit]]
    if len(computers) > limit:
        shown.append(f"and {len(computers) - limit} more")
    return ", ".join(shown)


def _normalise_base_url(base_url: str) -> str:
    """A base URL ending in '/', so relative API paths append to it; refuse what is not HTTP(S)."""
    try:
        url = httpx.URL(str(base_url).strip())
    except (httpx.InvalidURL, TypeError) as exc:
        raise errors.ConfigError(f"invalid base URL ({exc})") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise errors.ConfigError(
            "invalid base URL: expected http(s)://host[:port]/path, e.g. " + protocol.DEFAULT_BASE_URL
        )
    if url.userinfo:
        raise errors.ConfigError("the base URL must not carry a user name or password; use --api-key")
    url = url.copy_with(query=None, fragment=None)
    text = str(url)
    return text if text.endswith("/") else text + "/"
