"""The remote half of file transfer, and the pure rules both halves share.

A transfer only has POST /exec to work with, and every exec is a fresh interpreter, so the
remote side is one self-contained function, ``remote_transfer``, whose *source* is sent with
each call followed by one line that calls it and prints its reply after a marker.  It runs on
any Python 3.8+ with the standard library only, and is importable here so the same code can be
tested in-process without a server.

Why the remote side works the way it does:

* **The partial file is always a prefix.**  A chunk is written at an explicit offset no larger
  than the file's size, and the file is then truncated to the chunk's end.  Sending a chunk
  twice therefore changes nothing, and an upload cut at any point (Ctrl-C, a dropped connection,
  a timeout that killed the interpreter mid-write) leaves a file whose every byte is in the right
  place: resuming only needs its size and the hash of those bytes.
* **Verify, then rename.**  The final chunk's call also hashes the whole partial file and compares
  it with the sender's sha256; only a match is renamed onto the target (``os.replace``, atomic on
  one filesystem).  A mismatch deletes the partial file, so the next attempt starts clean.
* **The resume decision is made where the data is.**  A download sends the local prefix's length
  and hash; the remote hashes its own prefix and starts there or at 0 in the same call that sends
  the first chunk, so a small file is one round trip.
* **Errors are data.**  An ``OSError`` becomes ``{"ok": false, "kind": ...}`` classified by errno,
  so the client can say "permission denied" rather than show a remote traceback.
"""

from __future__ import annotations

import errno
import functools
import json
import posixpath

PART_SUFFIX = ".orgorepl-part"
MARK = "\x1eorgorepl-transfer\x1f"

# errno -> kind, shared by the remote side (as a literal, it cannot import this module) and
# the local side, so one error reads the same wherever it happened.
KINDS = {
    errno.ENOENT: "missing",
    errno.EACCES: "permission",
    errno.EPERM: "permission",
    errno.EROFS: "read_only",
    errno.EISDIR: "is_dir",
    errno.ENOTDIR: "not_dir",
    errno.ENOSPC: "no_space",
    errno.EDQUOT: "no_space",
    errno.ENAMETOOLONG: "name_too_long",
}


def kind_of(exc: OSError) -> str:
    return KINDS.get(exc.errno or 0, "os")


def remote_transfer(P, data=""):
    """One step of a transfer on the remote computer; returns the reply (a JSON-able dict).

    ``P["op"]`` is ``put_open`` (resolve the target, open or reset the partial file, report its
    size and hash), ``put_write`` (one chunk at an offset; with ``final``, verify and rename) or
    ``get_read`` (one chunk of a file, the resume decision on the first call, the whole file's
    hash with the last chunk).  ``data`` is a chunk in base64.
    """
    import base64
    import errno
    import hashlib
    import os
    import stat

    kinds = {errno.ENOENT: "missing", errno.EACCES: "permission", errno.EPERM: "permission",
             errno.EROFS: "read_only", errno.EISDIR: "is_dir", errno.ENOTDIR: "not_dir",
             errno.ENOSPC: "no_space", errno.ENAMETOOLONG: "name_too_long"}
    if hasattr(errno, "EDQUOT"):
        kinds[errno.EDQUOT] = "no_space"
    block = 1 << 20

    def fail(kind, path, message=""):
        return {"ok": False, "kind": kind, "path": path, "message": message}

    def os_fail(exc, path):
        return fail(kinds.get(exc.errno, "os"), path, exc.strerror or str(exc))

    def resolve(path):
        path = os.path.expanduser(path)
        if not os.path.isabs(path):
            path = os.path.join(P.get("cwd") or os.path.expanduser("~"), path)
        return os.path.abspath(path)

    def hash_fd(fd, limit):
        """sha256 of the first ``limit`` bytes (fewer if the file is shorter)."""
        h, left = hashlib.sha256(), limit
        os.lseek(fd, 0, os.SEEK_SET)
        while left > 0:
            piece = os.read(fd, min(block, left))
            if not piece:
                break
            h.update(piece)
            left -= len(piece)
        return h.hexdigest()

    def write_all(fd, raw):
        view = memoryview(raw)
        while view:
            view = view[os.write(fd, view):]

    def read_at(fd, offset, n):
        os.lseek(fd, offset, os.SEEK_SET)
        parts, left = [], n
        while left > 0:
            piece = os.read(fd, min(left, 8 * block))
            if not piece:
                break
            parts.append(piece)
            left -= len(piece)
        return b"".join(parts)

    op = P["op"]
    if op == "put_open":
        target = resolve(P.get("path") or P["name"])
        if P.get("path") and (P["path"].endswith("/") or os.path.isdir(target)):
            target = os.path.join(target, P["name"])  # like cp/scp: into an existing directory
        if os.path.isdir(target):
            return fail("is_dir", target, "Is a directory")
        parent = os.path.dirname(target)
        if not os.path.isdir(parent):
            return fail("missing" if not os.path.exists(parent) else "not_dir", parent,
                        "No such directory")
        part = target + P["suffix"]
        try:
            fd = os.open(part, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            return os_fail(exc, target)
        try:
            if not P.get("resume"):
                os.ftruncate(fd, 0)
            size = os.fstat(fd).st_size
            digest = hash_fd(fd, size) if size else hashlib.sha256().hexdigest()
        except OSError as exc:
            return os_fail(exc, part)
        finally:
            os.close(fd)
        mask = os.umask(0)
        os.umask(mask)
        return {"ok": True, "path": target, "part": part, "size": size, "sha256": digest,
                "umask": mask}

    if op == "put_write":
        part, target, offset = P["part"], P["path"], P["offset"]
        raw = base64.b64decode(data) if data else b""
        try:
            fd = os.open(part, os.O_RDWR | (os.O_CREAT if offset == 0 else 0), 0o600)
        except OSError as exc:
            if exc.errno == errno.ENOENT and offset:
                return fail("part_gone", part, "the partial file disappeared")
            return os_fail(exc, part)
        try:
            size = os.fstat(fd).st_size
            if offset > size:
                return fail("part_gone", part, "the partial file is shorter than the offset")
            os.lseek(fd, offset, os.SEEK_SET)
            write_all(fd, raw)
            os.ftruncate(fd, offset + len(raw))
            if not P.get("final"):
                return {"ok": True, "size": offset + len(raw)}
            os.fsync(fd)
            digest = hash_fd(fd, offset + len(raw))
        except OSError as exc:
            return os_fail(exc, part)
        finally:
            os.close(fd)
        if digest != P["sha256"]:
            try:
                os.unlink(part)
            except OSError:
                pass
            reply = fail("mismatch", target, "checksum mismatch")
            reply["sha256"] = digest
            return reply
        try:
            if P.get("mode") is not None:
                os.chmod(part, P["mode"] & ~P.get("umask", 0o022) & 0o7777)
            os.replace(part, target)
        except OSError as exc:
            return os_fail(exc, target)
        return {"ok": True, "path": target, "size": offset + len(raw), "sha256": digest}

    if op == "get_read":
        target = resolve(P["path"])
        try:
            st = os.stat(target)
        except OSError as exc:
            return os_fail(exc, target)
        if stat.S_ISDIR(st.st_mode):
            return fail("is_dir", target, "Is a directory")
        if not stat.S_ISREG(st.st_mode):
            return fail("special", target, "not a regular file")
        try:
            fd = os.open(target, os.O_RDONLY)
        except OSError as exc:
            return os_fail(exc, target)
        try:
            st = os.fstat(fd)
            size, mtime = st.st_size, st.st_mtime_ns
            expect = P.get("expect")
            if expect and [size, mtime] != list(expect):
                return fail("changed", target, "the file changed during the transfer")
            start = P.get("offset", 0)
            prefix = P.get("prefix")
            if prefix:
                start = 0
                if prefix[0] <= size and hash_fd(fd, prefix[0]) == prefix[1]:
                    start = prefix[0]
            chunk = read_at(fd, start, P["n"])
            reply = {"ok": True, "path": target, "size": size, "mtime_ns": mtime, "start": start,
                     "data": base64.b64encode(chunk).decode("ascii")}
            if start + len(chunk) >= size:
                reply["sha256"] = hash_fd(fd, size)
            return reply
        except OSError as exc:
            return os_fail(exc, target)
        finally:
            os.close(fd)

    return fail("os", "", f"unknown operation {op!r}")


@functools.lru_cache(maxsize=1)
def _remote_source() -> str:
    import inspect
    import textwrap

    return textwrap.dedent(inspect.getsource(remote_transfer))


def program(params: dict, data: str = "") -> str:
    """The ``code`` of one exec: the remote function, then a line that prints its reply.

    ``data`` is base64, whose alphabet needs no escaping, so it is quoted directly: ``repr`` of
    a 5 MB string costs more than encoding it.
    """
    if not data.isascii() or '"' in data or "\\" in data or "\n" in data:
        raise ValueError("transfer data must be base64 text")
    return (
        f"{_remote_source()}\n"
        "import json as _j, sys as _s\n"
        f"_r = remote_transfer({params!r}, \"{data}\")\n"
        "_d = _r.get('data')\n"
        "if _d is not None:\n"
        "    _r['data'] = len(_d)\n"
        f"_s.stdout.write({MARK!r} + _j.dumps(_r) + '\\n' + (_d or '') + '\\n')\n"
    )


def parse_reply(output: str) -> dict | None:
    """The reply printed after the marker, or None when the output holds none.

    A chunk read from a file travels on the line after the JSON, not inside it, so neither
    side runs a 5 MB string through a JSON codec.
    """
    at = output.rfind(MARK)
    if at < 0:
        return None
    line, _, rest = output[at + len(MARK):].partition("\n")
    try:
        reply = json.loads(line)
    except ValueError:
        return None
    if not isinstance(reply, dict):
        return None
    if "data" in reply:
        size = reply["data"]
        if not isinstance(size, int) or len(rest) < size:
            return None  # cut short (an output cap, a killed run): not a reply to trust
        reply["data"] = rest[:size]
    return reply


def remote_basename(remote: str) -> str:
    """The name a download is saved under by default ('' when the path names no file)."""
    trimmed = remote.rstrip("/")
    name = posixpath.basename(trimmed)
    if name in ("", ".", "..") or (name.startswith("~") and "/" not in trimmed):
        return ""
    return name


def describe(kind: str, path: str, where: str, message: str = "") -> str:
    """One line for a failed step, the same wording for either side."""
    side = f"{where} " if where else ""
    texts = {
        "missing": f"{side}path not found: {path}",
        "permission": f"{side}permission denied: {path}",
        "read_only": f"{side}read-only file system: {path}",
        "is_dir": f"{side}path is a directory: {path}",
        "not_dir": f"{side}path is not a directory: {path}",
        "no_space": f"no space left on the {where or 'target'} disk: {path}",
        "name_too_long": f"{side}file name too long: {path}",
        "special": f"{side}path is not a regular file: {path}",
        "changed": f"{side}file changed during the transfer: {path}",
        "part_gone": f"the {where} partial file went away during the transfer: {path}",
    }
    text = texts.get(kind)
    if text is None:
        text = f"{side}error on {path}: {message or kind}"
    return text
