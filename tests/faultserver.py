"""A fault-injecting HTTP/1.1 server on 127.0.0.1, for failures the emulator cannot produce.

It speaks raw sockets (one thread per connection) so a test can choose the exact bytes, or the
lack of them: resets mid-response, stalls before or after the headers, lying Content-Length,
bodies too big to hold.  Replies are scripted per ``"METHOD path"`` (path relative to
``base_url``, the same strings ``protocol`` builds), consumed in order with the last one
repeating, and every request is recorded so a test can prove how often something was sent::

    with FaultServer({"POST computers/c1/exec": [Reply.error(503, "busy")]}) as srv:
        client = OrgoClient("sk_test", srv.base_url)
        ...
        assert srv.count("POST", "computers/c1/exec") == 1

Unscripted paths answer 404 with a JSON error body.  ``closed_port_url()`` gives a URL on
which nothing listens (connection refused).
"""

from __future__ import annotations

import json
import socket
import struct
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

API_PREFIX = "/api/"


@dataclass
class Reply:
    """One scripted answer.  ``fault`` picks how the answer goes wrong, if at all."""

    status: int = 200
    body: bytes | Iterable[bytes] = b"{}"
    headers: dict[str, str] = field(default_factory=dict)
    # None | reset | reset_mid_body | close_mid_body | stall_before_headers | stall_after_headers
    fault: str | None = None
    content_length: int | None = None  # override (lie); None = the real length when known
    chunked: bool = False

    # ---- constructors for the usual cases
    @classmethod
    def json(cls, obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Reply:
        return cls(status=status, body=json.dumps(obj).encode(), headers=dict(headers or {}))

    @classmethod
    def error(cls, status: int, message: str, headers: dict[str, str] | None = None, **fields: Any) -> Reply:
        return cls.json({"error": message, **fields}, status=status, headers=headers)

    @classmethod
    def raw(cls, body: bytes, status: int = 200, content_type: str = "text/html") -> Reply:
        return cls(status=status, body=body, headers={"Content-Type": content_type})

    @classmethod
    def truncated_json(cls, obj: Any, keep: float = 0.5, lie: bool = False) -> Reply:
        """Half a JSON document: framed correctly (``lie=False``) or cut short by a closed connection."""
        full = json.dumps(obj).encode()
        part = full[: max(1, int(len(full) * keep))]
        if lie:
            return cls(body=part, content_length=len(full), fault="close_mid_body")
        return cls(body=part)

    @classmethod
    def big_exec(cls, size: int, *, chunked: bool = False) -> Reply:
        """A valid exec reply whose ``output`` is ``size`` bytes, produced lazily."""
        head = b'{"success": true, "action": "exec", "timeout": false, "output": "'
        tail = b'"}'
        block = b"x" * (1024 * 1024)

        def produce() -> Iterator[bytes]:
            yield head
            left = size
            while left > 0:
                n = min(left, len(block))
                yield block[:n]
                left -= n
            yield tail

        return cls(body=produce(), content_length=None if chunked else len(head) + size + len(tail),
                   chunked=chunked)

    @classmethod
    def reset(cls) -> Reply:
        """Read the request, then reset the connection without a byte of answer."""
        return cls(fault="reset")

    @classmethod
    def reset_mid_body(cls, obj: Any = None) -> Reply:
        full = json.dumps(obj if obj is not None else {"output": "x" * 1000, "success": True}).encode()
        return cls(body=full[: len(full) // 2], content_length=len(full), fault="reset_mid_body")

    @classmethod
    def stall(cls, *, after_headers: bool = False) -> Reply:
        """Say nothing (before the headers, or after them) until the server shuts down."""
        return cls(body=b'{"success": true, "output": ""}',
                   fault="stall_after_headers" if after_headers else "stall_before_headers")


@dataclass
class Received:
    method: str
    path: str  # relative to base_url, e.g. "computers/c1/exec"
    headers: dict[str, str]  # lower-case names
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


_REASONS = {200: "OK", 201: "Created", 301: "Moved Permanently", 400: "Bad Request",
            401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
            409: "Conflict", 429: "Too Many Requests", 500: "Internal Server Error",
            502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


class FaultServer:
    def __init__(self, script: dict[str, Reply | list[Reply]] | None = None) -> None:
        self._script: dict[str, list[Reply]] = {}
        for key, replies in (script or {}).items():
            self.set(key, replies)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._conns: list[socket.socket] = []
        self.received: list[Received] = []
        self._sock: socket.socket | None = None
        self.port = 0

    # ---- script and records
    def set(self, key: str, replies: Reply | list[Reply]) -> None:
        """Script ``key`` (``"METHOD path"``): replies in order, the last one repeating."""
        method, _, path = key.partition(" ")
        items = list(replies) if isinstance(replies, list) else [replies]
        if not items:
            raise ValueError("a script entry needs at least one reply")
        self._script[f"{method.upper()} {path.lstrip('/')}"] = items

    def count(self, method: str, path: str) -> int:
        path = path.lstrip("/")
        with self._lock:
            return sum(1 for r in self.received if r.method == method and r.path == path)

    def requests_to(self, method: str, path: str) -> list[Received]:
        path = path.lstrip("/")
        with self._lock:
            return [r for r in self.received if r.method == method and r.path == path]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{API_PREFIX.rstrip('/')}"

    @staticmethod
    def closed_port_url() -> str:
        """A base URL on which nothing listens: connecting is refused."""
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        return f"http://127.0.0.1:{port}/api"

    # ---- lifecycle
    def start(self) -> FaultServer:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.port = self._sock.getsockname()[1]
        t = threading.Thread(target=self._accept_loop, name="faultserver-accept", daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._sock is not None:
            try:
                self._sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._sock.close()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for t in self._threads:
            t.join(timeout=5)

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # ---- serving
    def _accept_loop(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with self._lock:
                self._conns.append(conn)
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            t.start()
            self._threads.append(t)

    def _next_reply(self, method: str, path: str) -> Reply:
        key = f"{method} {path}"
        with self._lock:
            replies = self._script.get(key)
            if not replies:
                return Reply.error(404, f"no scripted reply for {key}", request_id="fault-404")
            return replies.pop(0) if len(replies) > 1 else replies[0]

    def _serve(self, conn: socket.socket) -> None:
        buf = b""
        try:
            while not self._stop.is_set():
                while b"\r\n\r\n" not in buf:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buf += data
                head, _, buf = buf.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, target, _version = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                length = int(headers.get("content-length", "0") or 0)
                while len(buf) < length:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buf += data
                body, buf = buf[:length], buf[length:]
                path = target.split("?", 1)[0]
                path = path[len(API_PREFIX):] if path.startswith(API_PREFIX) else path.lstrip("/")
                with self._lock:
                    self.received.append(Received(method, path, headers, body))
                if not self._answer(conn, self._next_reply(method, path)):
                    return
                if headers.get("connection", "").lower() == "close":
                    return
        except OSError:
            return
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def _answer(self, conn: socket.socket, reply: Reply) -> bool:
        """Send one reply; False when the connection must not be used again."""
        if reply.fault == "reset":
            _reset(conn)
            return False
        if reply.fault == "stall_before_headers":
            self._stop.wait()
            return False
        chunks: Iterable[bytes] = [reply.body] if isinstance(reply.body, bytes) else reply.body
        length = reply.content_length
        if length is None and isinstance(reply.body, bytes) and not reply.chunked:
            length = len(reply.body)
        head = [f"HTTP/1.1 {reply.status} {_REASONS.get(reply.status, 'Status')}"]
        names = {k.lower() for k in reply.headers}
        if "content-type" not in names:
            head.append("Content-Type: application/json")
        head += [f"{k}: {v}" for k, v in reply.headers.items()]
        head.append(f"Content-Length: {length}" if length is not None else "Transfer-Encoding: chunked")
        conn.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        if reply.fault == "stall_after_headers":
            self._stop.wait()
            return False
        for chunk in chunks:
            if self._stop.is_set():
                return False
            if length is None:
                conn.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
            else:
                conn.sendall(chunk)
        if reply.fault == "reset_mid_body":
            _reset(conn)
            return False
        if reply.fault == "close_mid_body":
            conn.shutdown(socket.SHUT_WR)
            return False
        if length is None:
            conn.sendall(b"0\r\n\r\n")
        return True


def _reset(conn: socket.socket) -> None:
    """Close with SO_LINGER 0: the peer sees a TCP reset, not an orderly end."""
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()
