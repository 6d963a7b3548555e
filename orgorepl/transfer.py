"""Copy files to and from a remote computer through POST /exec, in verified, resumable chunks.

The API has no file endpoint we can rely on, so each step is a small stdlib program run by
/exec (``session.transfer_code``): a chunk goes out base64-encoded inside the code, or comes
back base64-encoded in ``output``.  Why it is shaped like this:

* **Chunks, sized for the wire.**  A chunk of ``chunk_size`` raw bytes is about 4/3 of that on
  the wire; the default (4 MiB, about 5.6 MB encoded) stays well under the emulator's 16 MiB
  request-body and output caps and the 10 MB the real service documents for its own uploads,
  and is large enough that the per-call cost (a fresh interpreter) is a small share.
* **Never retried here.**  A failed call is reported, not repeated: whether it ran is unknown.
  Both sides keep a partial file (``NAME.orgorepl-part``) that is always a correct prefix, so
  running the same command again resumes where the bytes stop being right.
* **Verified end to end.**  The sha256 of the whole file is compared on the side that received
  it, before the partial file is renamed onto the target; a mismatch deletes the partial file
  and is an error, never a silently wrong file.

The progress display is a callback (``progress(done_bytes, total_bytes)``, called after each
chunk); ``TransferProgress`` turns it into one line of text for the front end's progress channel
(the REPL's spinner line, the command line's status line).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orgorepl import errors, protocol
from orgorepl.exitstatus import ExitStatus
from orgorepl.session import transfer_code as code

MIB = 1024 * 1024
DEFAULT_CHUNK = 4 * MIB
MAX_CHUNK = 8 * MIB  # 8 MiB raw is ~11.2 MB of base64: the largest that fits a 16 MiB body
DEFAULT_TIMEOUT = 60  # seconds one step may take on the remote (exec's own limit is 300)
PART_SUFFIX = code.PART_SUFFIX

Progress = Callable[[int, int], Any]


class TransferError(errors.OrgoError):
    """A transfer that could not start, or stopped, for a reason a person can act on.

    ``kind`` is the classified cause (``missing``, ``permission``, ``is_dir``, ``mismatch``,
    ...), ``side`` is ``"local"`` or ``"remote"``.
    """

    def __init__(self, message: str, *, kind: str, side: str, path: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.side = side
        self.path = path
        self.exit_status = ExitStatus.NOT_FOUND if kind == "missing" else ExitStatus.BAD_REQUEST


@dataclass(frozen=True)
class TransferResult:
    local: Path
    remote: str  # absolute path on the remote computer
    bytes: int
    sha256: str
    resumed_from: int  # bytes that were already in place and were not sent again
    seconds: float

    @property
    def sent(self) -> int:
        return self.bytes - self.resumed_from

    def summary(self, verb: str) -> str:
        """The line a person sees when a transfer is done."""
        rate = _rate(self.sent, self.seconds)
        resumed = f", resumed at {_size(self.resumed_from)}" if self.resumed_from else ""
        return (f"{verb} {_size(self.bytes)} in {self.seconds:.1f}s ({rate}{resumed}), "
                f"sha256 {self.sha256[:12]}")


# ----------------------------------------------------------------------------------- upload


def put(client, computer_id: str, local: Path | str, remote: str | None = None, *,
        chunk_size: int = DEFAULT_CHUNK, progress: Progress | None = None, resume: bool = True,
        timeout: int = DEFAULT_TIMEOUT, cwd: str | None = None) -> TransferResult:
    """Upload ``local`` to ``remote`` (default: its name, in ``cwd`` or the remote home).

    A ``remote`` that is an existing directory, or ends with ``/``, receives the file under its
    own name.  A relative ``remote`` is taken from ``cwd`` (the session's) or the remote home.
    """
    chunk_size = _check(chunk_size, timeout)
    local = Path(local).expanduser()
    started = time.monotonic()
    fh, st = _open_source(local)
    with fh:
        total = st.st_size
        opened = _step(client, computer_id, timeout, {
            "op": "put_open", "path": remote, "name": local.name, "cwd": cwd,
            "resume": bool(resume), "suffix": PART_SUFFIX,
        })
        target, part = opened["path"], opened["part"]
        hasher, offset = hashlib.sha256(), 0
        have = int(opened["size"])
        if resume and 0 < have <= total:
            prefix = _hash_prefix(fh, have)
            if prefix.hexdigest() == opened["sha256"]:
                hasher, offset = prefix, have
        fh.seek(offset)
        resumed_from = offset
        while True:
            want = min(chunk_size, total - offset)
            chunk = fh.read(want)
            if len(chunk) != want:
                raise TransferError(f"local file changed during the transfer: {local}",
                                    kind="changed", side="local", path=str(local))
            hasher.update(chunk)
            final = offset + len(chunk) >= total
            params: dict[str, Any] = {"op": "put_write", "path": target, "part": part,
                                      "offset": offset, "final": final}
            if final:
                params.update(sha256=hasher.hexdigest(), mode=st.st_mode & 0o777,
                              umask=opened.get("umask", 0o022))
            reply = _step(client, computer_id, timeout, params, _b64(chunk), what=target)
            offset += len(chunk)
            if progress is not None:
                progress(offset, total)
            if final:
                break
    if reply.get("sha256") != hasher.hexdigest():  # the remote said ok: this cannot differ
        raise _mismatch(target, hasher.hexdigest(), reply.get("sha256"), "remote")
    return TransferResult(local=local.resolve(), remote=target, bytes=offset,
                          sha256=hasher.hexdigest(), resumed_from=resumed_from,
                          seconds=time.monotonic() - started)


# --------------------------------------------------------------------------------- download


def get(client, computer_id: str, remote: str, local: Path | str | None = None, *,
        chunk_size: int = DEFAULT_CHUNK, progress: Progress | None = None, resume: bool = True,
        timeout: int = DEFAULT_TIMEOUT, cwd: str | None = None) -> TransferResult:
    """Download ``remote`` to ``local`` (default: its name, in the local working directory).

    A ``local`` that is an existing directory receives the file under the remote name.
    """
    chunk_size = _check(chunk_size, timeout)
    name = code.remote_basename(remote)
    if local is None or Path(local).expanduser().is_dir():
        if not name:
            raise TransferError(f"cannot name a local file after {remote!r}: give a local path",
                                kind="is_dir", side="remote", path=remote)
        local = (Path(local).expanduser() if local is not None else Path()) / name
    local = Path(local).expanduser()
    part = local.with_name(local.name + PART_SUFFIX)
    started = time.monotonic()
    created = not os.path.lexists(part)
    try:
        fd = os.open(part, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as exc:
        kind = code.kind_of(exc)
        blamed = part.parent if kind == "permission" or not part.parent.exists() else part
        raise _local_error(kind, blamed) from None
    with os.fdopen(fd, "r+b") as fh:
        have = os.fstat(fh.fileno()).st_size
        params: dict[str, Any] = {"op": "get_read", "path": remote, "cwd": cwd, "offset": 0,
                                  "n": chunk_size}
        if resume and have:
            params["prefix"] = [have, _hash_prefix(fh, have).hexdigest()]
        try:
            reply = _step(client, computer_id, timeout, params, what=remote)
        except BaseException:
            if created:  # nothing was received: leave no trace of the attempt
                _unlink(part)
            raise
        target, total = reply["path"], int(reply["size"])
        resumed_from = offset = int(reply["start"])
        fh.truncate(offset)
        params = {"op": "get_read", "path": target, "n": chunk_size,
                  "expect": [total, reply["mtime_ns"]]}
        while True:
            data = _unb64(reply.get("data", ""), target)
            fh.seek(offset)
            fh.write(data)
            fh.truncate(offset + len(data))
            fh.flush()
            offset += len(data)
            if progress is not None:
                progress(offset, total)
            if "sha256" in reply:
                break
            if not data:  # shrank under us and the remote did not notice
                raise _remote_error({"kind": "changed", "path": target})
            reply = _step(client, computer_id, timeout, {**params, "offset": offset}, what=target)
        digest = _hash_prefix(fh, None).hexdigest()  # what is on disk, not what we meant to write
    if digest != reply["sha256"] or offset != total:
        _unlink(part)
        raise _mismatch(str(local), digest, reply["sha256"], "local")
    try:
        os.replace(part, local)
    except OSError as exc:
        raise _local_error(code.kind_of(exc), local) from None
    return TransferResult(local=local.resolve(), remote=target, bytes=offset, sha256=digest,
                          resumed_from=resumed_from, seconds=time.monotonic() - started)


# ---------------------------------------------------------------------------------- helpers


def _step(client, computer_id: str, timeout: int, params: dict, data: str = "", *,
          what: str = "") -> dict:
    """Run one remote step; its failures become TransferError, API errors pass through."""
    result: protocol.ExecResult = client.exec(computer_id, code.program(params, data), timeout)
    reply = code.parse_reply(result.output)
    if reply is None:
        if result.timeout:
            raise TransferError(
                f"a transfer step took longer than {timeout}s on the remote computer; run the "
                "same command again to resume (a smaller chunk size or a larger timeout may help)",
                kind="timeout", side="remote", path=what)
        detail = f"{result.error_type}: {result.error}" if result.error_type else "no reply"
        raise TransferError(f"the remote transfer step failed ({detail}); the remote needs "
                            "Python 3.8 or later", kind="remote_failed", side="remote", path=what)
    if not reply.get("ok"):
        raise _remote_error(reply)
    return reply


def _open_source(local: Path):
    """The file to upload, open, with its stat; a FIFO or device is refused before it can block."""
    try:
        if not stat.S_ISREG(os.stat(local).st_mode):
            raise _local_error("is_dir" if local.is_dir() else "special", local)
        fh = open(local, "rb")  # noqa: SIM115 - the caller's ``with`` closes it
    except OSError as exc:
        raise _local_error(code.kind_of(exc), local) from None
    return fh, os.fstat(fh.fileno())


def _check(chunk_size: int, timeout: int) -> int:
    protocol.check_exec_timeout(timeout)
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
        raise errors.ConfigError(f"chunk size must be a positive number of bytes, got {chunk_size!r}")
    if chunk_size > MAX_CHUNK:
        raise errors.ConfigError(f"chunk size must be at most {MAX_CHUNK // MIB} MiB "
                                 "(the API's request and output limits)")
    return chunk_size


def _hash_prefix(fh, limit: int | None):
    """sha256 of the first ``limit`` bytes of an open file (all of it for None)."""
    h = hashlib.sha256()
    fh.seek(0)
    left = limit
    while left is None or left > 0:
        piece = fh.read(MIB if left is None else min(MIB, left))
        if not piece:
            break
        h.update(piece)
        if left is not None:
            left -= len(piece)
    return h


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii") if raw else ""


def _unb64(text: str, path: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise TransferError(f"the remote sent a chunk that is not base64 for {path}",
                            kind="malformed", side="remote", path=path) from None


def _local_error(kind: str, path: Path | str) -> TransferError:
    return TransferError(code.describe(kind, str(path), "local"), kind=kind, side="local",
                         path=str(path))


def _remote_error(reply: dict) -> TransferError:
    kind, path = str(reply.get("kind", "os")), str(reply.get("path", ""))
    if kind == "mismatch":
        return _mismatch(path, None, reply.get("sha256"), "remote")
    message = code.describe(kind, path, "remote", str(reply.get("message", "")))
    if kind in ("changed", "part_gone"):
        message += "; run the same command again to resume"
    return TransferError(message, kind=kind, side="remote", path=path)


def _mismatch(path: str, ours: str | None, theirs: str | None, side: str) -> TransferError:
    got = f" (got {str(theirs)[:12]})" if theirs and side == "remote" else ""
    return TransferError(
        f"checksum mismatch: {path} does not match the source{got}; the partial file was "
        "removed, run the same command again to transfer it afresh",
        kind="mismatch", side=side, path=path)


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def _rate(n: int, seconds: float) -> str:
    return f"{_size(n / seconds)}/s" if seconds > 0 else "-"


# --------------------------------------------------------------------------------- progress


class TransferProgress:
    """A transfer's progress as one line of text, handed to the front end's progress channel.

    ``show`` draws it where the front end draws progress (the REPL's spinner line, the command
    line's status line on stderr); this class never writes to a stream itself, so two things can
    never draw on the same row.  Redraws at most every ``interval`` seconds (and always at 100%),
    so a fast local transfer does not spend its time drawing.
    """

    def __init__(self, show: Callable[[str], None], label: str = "", *, width: int = 24,
                 interval: float = 0.1, clock: Callable[[], float] = time.monotonic) -> None:
        self.show = show
        self.label = label
        self.width = width
        self.interval = interval
        self._clock = clock
        self._first: tuple[float, int] | None = None
        self._last = float("-inf")

    def __call__(self, done: int, total: int) -> None:
        self.update(done, total)

    def update(self, done: int, total: int) -> None:
        now = self._clock()
        if self._first is None:
            # The rate is measured from the first report on: bytes a resumed transfer found
            # already in place, and the chunk before the first report, are not counted.
            self._first = (now, done)
        if done < total and now - self._last < self.interval:
            return
        self._last = now
        t0, d0 = self._first
        self.show(self.render(done, total, (done - d0) / (now - t0) if now > t0 else 0.0))

    def render(self, done: int, total: int, rate: float = 0.0) -> str:
        frac = 1.0 if total <= 0 else min(1.0, done / total)
        filled = int(frac * self.width)
        bar = "#" * filled + "-" * (self.width - filled)
        label = f"{self.label} " if self.label else ""
        text = f"{label}[{bar}] {frac * 100:3.0f}%  {_size(done)} / {_size(total)}"
        if rate > 0:
            text += f"  {_size(rate)}/s"
            if done < total:
                text += f"  ETA {_eta((total - done) / rate)}"
        return text


def _eta(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
