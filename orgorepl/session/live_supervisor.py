"""The live session's supervisor, run on the computer: it owns the live shell, so the shell
outlives the terminal socket that reached it (a dropped network, a client killed, ``%detach``).

Shipped as source (stdlib only, any Python 3.8+, nothing of orgorepl imported), like the live
Python agent.  One file, two roles, in the way dtach and abduco do it:

* ``serve`` (the supervisor): started detached (its own session, no controlling terminal), it
  runs the program (``bash -l -i``) in a PTY of its own and keeps everything the program prints
  in a numbered buffer (byte offsets from 0), whether or not anyone is attached.  A client on
  its Unix socket (in a 0700 directory: only the user) says from which offset it wants output
  and gets it from there, then live; what it types goes to the PTY.  One client at a time: a
  new one replaces the old, which is how a reconnect after a dropped socket takes over.
* ``attach`` (run in the terminal's shell by the client's bootstrap line, the tty in raw mode):
  connects to the supervisor, starting it first when asked to, and relays between the
  terminal and the socket.  Towards the terminal everything is one-line frames of ASCII
  (``\\x1e`` + nonce + kind + body), output in base64 with its offset, so the client counts
  bytes exactly, whatever the program printed and however the terminal's frames cut it.

Why offsets both ways: output is numbered, so a reattach asks for exactly what it has not seen;
input is counted (the supervisor says how many bytes it took), so a client resends exactly what
a dropped socket swallowed: nothing is shown twice, lost, or typed twice.

Output is read from the program as it comes while nobody is attached (it never blocks on us);
past ``RING`` bytes the oldest are dropped and a reattach is told how many.  While a client is
attached and more than ``LAG`` bytes behind, the program is not read, so it waits, as it would
on a slow terminal.  With nobody attached for ``linger`` seconds the program is ended.
"""

import base64
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import time

RING = 16 << 20
LAG = 1 << 20
CHUNK = 1 << 16
HEAD = struct.Struct(">cI")  # message kind, body length (Unix socket, both ways)
OFFSETS = struct.Struct(">QQ")  # output offset, input bytes taken so far
EXIT_LINGER = 600.0  # a program that ended waits this long for someone to collect its end


def pack(kind, body=b""):
    return HEAD.pack(kind, len(body)) + body


class Messages:
    """Unpacks messages from a byte stream that arrives in any cuts."""

    def __init__(self):
        self.buf = bytearray()

    def feed(self, data):
        self.buf += data
        found = []
        while len(self.buf) >= HEAD.size:
            kind, size = HEAD.unpack_from(self.buf)
            if len(self.buf) < HEAD.size + size:
                break
            found.append((kind, bytes(self.buf[HEAD.size:HEAD.size + size])))
            del self.buf[:HEAD.size + size]
        return found


def session_dir(sid, role):
    base = os.path.join(os.path.expanduser("~"), ".orgorepl", "live")
    os.makedirs(base, mode=0o700, exist_ok=True)
    path = os.path.join(base, sid + "-" + role)
    os.makedirs(path, mode=0o700, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def in_dir(directory, action):
    """Bind or connect by a relative name: a home deep enough would pass the 107-byte limit."""
    here = os.getcwd()
    os.chdir(directory)
    try:
        return action("sock")
    finally:
        os.chdir(here)


def set_window(fd, cols, rows):
    import fcntl
    import termios
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def session_members(sid):
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/" + entry + "/stat", "rb") as fh:
                data = fh.read()
        except OSError:
            continue
        fields = data[data.rfind(b")") + 2:].split()
        if len(fields) > 3 and fields[0] not in (b"Z", b"X") and int(fields[3]) == sid:
            found.append(int(entry))
    return found


def end_session(leader):
    """SIGHUP to the program's whole session (bash passes it to its jobs), then SIGKILL."""
    for sig, wait in ((signal.SIGHUP, 1.5), (signal.SIGKILL, 0)):
        try:
            members = session_members(leader)
        except OSError:  # no /proc: the leader's group is what we can reach
            members = []
        for pid in members or [leader]:
            try:
                os.kill(pid, sig)
            except OSError:
                pass
        deadline = time.monotonic() + wait
        while wait and time.monotonic() < deadline:
            try:
                if not session_members(leader):
                    return
            except OSError:
                return
            time.sleep(0.05)


# ---------------------------------------------------------------------------------- serve


class Supervisor:
    def __init__(self, directory, cols, rows, linger, program):
        self.directory, self.linger = directory, linger
        self.ring, self.base = bytearray(), 0
        self.taken = 0  # input bytes taken from clients
        self.to_pty = bytearray()
        self.acked, self.meta = 0, b"{}"
        self.client = None
        self.exited = None
        self.alone_since = time.monotonic()
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        in_dir(directory, self.listener.bind)
        self.listener.listen(4)
        self.listener.setblocking(False)
        import pty
        self.pid, self.master = pty.fork()
        if self.pid == 0:
            try:  # Python ignores SIGPIPE and we ignore SIGHUP: the program must not inherit that
                for sig in (signal.SIGPIPE, signal.SIGHUP, signal.SIGTERM):
                    signal.signal(sig, signal.SIG_DFL)
                os.execvp(program[0], program)
            finally:
                os._exit(127)
        set_window(self.master, cols, rows)
        os.set_blocking(self.master, False)

    @property
    def total(self):
        return self.base + len(self.ring)

    def run(self):
        while True:
            client = self.client
            reading = [self.listener]
            writing = []
            if self.master is not None:
                if client is None or client.hello is None or self.total - client.pos < LAG:
                    reading.append(self.master)
                if self.to_pty:
                    writing.append(self.master)
            if client is not None:
                reading.append(client.sock)
                if client.wants_to_write(self):
                    writing.append(client.sock)
            readable, writable, _ = select.select(reading, writing, [], 1.0)
            if self.listener in readable:
                self.accept()
            if self.master is not None and self.master in readable:
                self.read_program()
            if self.master is not None and self.master in writable:
                self.write_program()
            client = self.client
            if client is not None and client.sock in readable:
                self.read_client(client)
            client = self.client
            if client is not None and client.sock in writable:
                client.write(self)
            if self.finished():
                return

    def finished(self):
        alone = time.monotonic() - self.alone_since if self.client is None else 0
        if self.exited is not None:
            client = self.client
            if client is not None and client.sent_exit and not client.out:
                return True
            return alone > min(self.linger, EXIT_LINGER)
        if alone > self.linger:
            self.end()
            return True
        return False

    def accept(self):
        try:
            sock, _ = self.listener.accept()
        except OSError:
            return
        if self.client is not None:
            self.client.sock.close()
        sock.setblocking(False)
        self.client = Client(sock)

    def read_program(self):
        try:
            data = os.read(self.master, CHUNK)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.program_ended()
            return
        self.ring += data
        excess = len(self.ring) - RING
        if excess > 0:
            client = self.client
            if client is not None and client.hello is not None:
                excess = min(excess, client.pos - self.base)
            del self.ring[:excess]
            self.base += excess

    def write_program(self):
        try:
            done = os.write(self.master, self.to_pty)
        except BlockingIOError:
            return
        except OSError:
            self.to_pty.clear()
            return
        del self.to_pty[:done]

    def program_ended(self):
        os.close(self.master)
        self.master = None
        _, status = os.waitpid(self.pid, 0)
        if os.WIFSIGNALED(status):
            self.exited = 128 + os.WTERMSIG(status)
        else:
            self.exited = os.WEXITSTATUS(status)

    def read_client(self, client):
        try:
            data = client.sock.recv(CHUNK)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.drop(client)
            return
        for kind, body in client.messages.feed(data):
            if kind == b"H":
                client.hello_from(self, json.loads(body.decode("utf-8")))
            elif kind == b"I":
                self.taken += len(body)
                if self.master is not None:
                    self.to_pty += body
            elif kind == b"R" and self.master is not None:
                cols, rows = json.loads(body.decode("utf-8"))
                set_window(self.master, int(cols), int(rows))
            elif kind == b"A":
                self.acked = min(int(body.decode("ascii")), self.total)
            elif kind == b"M":
                self.meta = body
            elif kind == b"K":
                self.end()
                self.exited = self.exited if self.exited is not None else 129
                self.drop(client)
                self.alone_since = -1e9  # nobody to wait for: gone now

    def drop(self, client):
        client.sock.close()
        if self.client is client:
            self.client = None
            self.alone_since = time.monotonic()

    def end(self):
        if self.master is not None:
            end_session(self.pid)
            try:
                os.close(self.master)
            except OSError:
                pass
            self.master = None
            try:
                os.waitpid(self.pid, 0)
            except OSError:
                pass

    def close(self):
        self.end()
        for name in ("sock", "supervisor.py", "log"):
            try:
                os.unlink(os.path.join(self.directory, name))
            except OSError:
                pass
        try:
            os.rmdir(self.directory)
        except OSError:
            pass


class Client:
    def __init__(self, sock):
        self.sock = sock
        self.messages = Messages()
        self.hello = None
        self.pos = 0
        self.out = bytearray()
        self.sent_exit = False

    def hello_from(self, sup, hello):
        asked = hello.get("offset")
        start = sup.acked if asked is None else max(0, min(int(asked), sup.total))
        lost = max(0, sup.base - start)
        start = max(start, sup.base)
        self.hello, self.pos = hello, start
        reply = {"start": start, "end": sup.total, "lost": lost, "in": sup.taken, "pid": sup.pid,
                 "meta": sup.meta.decode("utf-8", "replace"), "exited": sup.exited}
        self.out += pack(b"H", json.dumps(reply).encode("utf-8"))

    def wants_to_write(self, sup):
        return bool(self.out) or (self.hello is not None and (
            self.pos < sup.total or (sup.exited is not None and not self.sent_exit)))

    def write(self, sup):
        if self.hello is not None and len(self.out) < 4 * CHUNK:
            if self.pos < sup.total:
                at = self.pos - sup.base
                chunk = bytes(sup.ring[at:at + CHUNK])
                self.out += pack(b"O", OFFSETS.pack(self.pos, sup.taken) + chunk)
                self.pos += len(chunk)
            elif sup.exited is not None and not self.sent_exit:
                self.out += pack(b"X", json.dumps({"code": sup.exited}).encode("ascii"))
                self.sent_exit = True
        try:
            done = self.sock.send(self.out)
        except BlockingIOError:
            return
        except OSError:
            sup.drop(self)
            return
        del self.out[:done]


def serve(directory, cols, rows, linger, program):
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    sup = Supervisor(directory, cols, rows, linger, program)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        sup.run()
    finally:
        sup.close()
    return 0


# ---------------------------------------------------------------------------------- attach


def write_all(fd, data):
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view):]
        except BlockingIOError:
            select.select([], [fd], [])


def start_supervisor(directory, source, args):
    path = os.path.join(directory, "supervisor.py")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(source)
    log = os.open(os.path.join(directory, "log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    argv = [sys.executable, "-I", path, "serve", directory, str(args["cols"]), str(args["rows"]),
            str(args["linger"]), "--"] + list(args["program"])
    subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, close_fds=True,
                     start_new_session=True)
    os.close(log)


def connect(directory, wait=0.0):
    deadline = time.monotonic() + wait
    while True:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            in_dir(directory, sock.connect)
            return sock
        except OSError:
            sock.close()
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.02)


def attach(source, args):
    mark = b"\x1e" + args["nonce"].encode("ascii")

    def say(kind, body=b""):
        write_all(1, mark + kind + body + b"\n")

    directory = session_dir(args["sid"], args["role"])
    sock = connect(directory)
    created = False
    if sock is None:
        if not args.get("create"):
            say(b"G", json.dumps({"why": "no live session " + args["sid"] + " on this computer"}).encode())
            return 3
        try:
            os.unlink(os.path.join(directory, "sock"))  # one left by a supervisor that was killed
        except OSError:
            pass
        start_supervisor(directory, source, args)
        sock = connect(directory, wait=10.0)
        if sock is None:
            say(b"G", json.dumps({"why": "the supervisor did not start"}).encode())
            return 4
        created = True
    sock.sendall(pack(b"H", json.dumps({"offset": args.get("offset")}).encode("utf-8")))
    messages, typed = Messages(), bytearray()
    while True:
        readable, _, _ = select.select([0, sock], [], [])
        if sock in readable:
            data = sock.recv(CHUNK)
            if not data:
                say(b"G", b'{"why": "the supervisor ended"}')
                return 5
            for kind, body in messages.feed(data):
                if kind == b"H":
                    reply = json.loads(body.decode("utf-8"))
                    reply["created"] = created
                    say(b"H", json.dumps(reply).encode("ascii"))
                elif kind == b"O":
                    offset, taken = OFFSETS.unpack_from(body)
                    say(b"O", b"%d,%d," % (offset, taken) + base64.b64encode(body[OFFSETS.size:]))
                elif kind == b"X":
                    say(b"X", body)
                    return 0
        if 0 in readable:
            try:
                data = os.read(0, CHUNK)
            except OSError:  # the terminal hung up
                data = b""
            if not data:
                return 6
            typed += data
            while b"\n" in typed:
                line, _, rest = bytes(typed).partition(b"\n")
                typed[:] = rest
                kind, body = line[:1], line[1:].rstrip(b"\r")
                if kind == b"i":
                    sock.sendall(pack(b"I", base64.b64decode(body)))
                elif kind == b"r":
                    sock.sendall(pack(b"R", b"[" + body + b"]"))
                elif kind == b"a":
                    sock.sendall(pack(b"A", body))
                elif kind == b"m":
                    sock.sendall(pack(b"M", base64.b64decode(body)))
                elif kind == b"k":
                    sock.sendall(pack(b"K"))
                    return 0
                elif kind == b"d":
                    return 0


def main(argv):
    if argv[:1] == ["serve"]:
        directory, cols, rows, linger = argv[1], int(argv[2]), int(argv[3]), float(argv[4])
        return serve(directory, cols, rows, linger, argv[argv.index("--") + 1:])
    sys.stderr.write("usage: supervisor.py serve DIR COLS ROWS LINGER -- PROGRAM...\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
elif __name__ == "__orgo_attach__":
    sys.exit(attach(globals()["SOURCE"], globals()["ARGS"]))  # given by the bootstrap line
