"""The live Python agent: a persistent interpreter on the remote computer, driven over its terminal.

This file is never imported by orgorepl: ``session/live_python.py`` ships its text (zlib, base64)
through the terminal to a ``python3 -c`` bootstrap, which runs it with globals of its own (so
nothing of the agent's is in the user's ``__main__``) and ``ARGS = (nonce, sys.path[0])``.  It
must run on any Python 3.8+ with the standard library only: no 3.9+ syntax or API here (a
test parses it with ``feature_version=(3, 8)``).

The terminal is only the agent's control channel; nothing the user's code does can reach it:

* **The real PTY is kept aside.**  The bootstrap put it in raw mode (no echo, no line editing,
  no signals from its bytes); the agent keeps duplicates of it for its frames and requests and
  gives it up as controlling terminal (``TIOCNOTTY``: not a session leader, so only this
  process and what it starts lose it), so ``/dev/tty`` cannot be opened by a cell, a
  ``getpass`` or a ``sudo`` prompt that would otherwise read the agent's requests.
* **fds 0, 1 and 2 become pipes.**  What is written to fd 1 or 2 by anything (``os.system``,
  a C library, a child process) is read back by a pump thread and sent as ``out`` frames of its
  stream; ``sys.stdout`` and ``sys.stderr`` are text streams whose every write becomes an
  ``out`` frame as soon as it is flushed (they are line-buffered, as a terminal Python's are:
  a newline or ``\\r`` flushes, and so do ``input()``, ``getpass`` and the cell's end), after
  whatever the pipes already hold, so the order within a stream and between Python's and the
  subprocesses' writes is the order in which they were written.  A frame is written by the
  thread that has something to say, at once (what a cell printed right before ``os._exit`` is
  on the wire, as it would be on a terminal), under one lock, in one ``write`` with SIGINT
  blocked: a ``KeyboardInterrupt`` can never cut a frame in half.
* **fd 0 is a pipe the keyboard feeds.**  Keys the user types (``keys`` requests) pass through a
  small line discipline here, as a terminal's would: echoed as output unless a password is
  being read, backspace and Ctrl-U edit the line, Enter delivers it, Ctrl-D ends the input,
  Ctrl-C interrupts.  So ``input()``, ``sys.stdin.read()`` and a subprocess reading its stdin
  all read what was typed.  ``getpass.getpass`` is replaced by one that turns the echo off.
* **Ctrl-C is a real SIGINT**, sent to the main thread (so a blocking ``time.sleep`` or
  ``input`` is cut short) and to the other processes of the agent's process group (what a
  terminal's Ctrl-C reaches: a ``subprocess.run`` or ``os.system`` child).  Between cells
  SIGINT is ignored, so a late one never lands in the agent's own code.

Frames to the client: ``\\x1e`` + nonce + JSON (ASCII only) + ``\\n``.  Requests from it: one
JSON object per line.  Raw mode passes every byte as is, and both are printable ASCII anyway.
"""

import __future__

import ast
import builtins
import codecs
import fcntl
import getpass
import io
import json
import linecache
import os
import queue
import select
import signal
import sys
import termios
import threading
import traceback

AGENT_FILE = "<orgo-live>"  # the filename the bootstrap compiles this text with
CELL_PREFIX = "<cell "
FUTURE_FLAGS = 0
for _feature in __future__.all_feature_names:
    FUTURE_FLAGS |= getattr(__future__, _feature).compiler_flag
MAX_ERROR = 1048576


def idle_sigint(signum, frame):
    """SIGINT between cells: ignored (a Ctrl-C that arrived as a cell ended)."""


def source_lines(text):
    """Lines as the compiler counts them (``str.splitlines`` would also split at form feeds)."""
    parts = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return [part + "\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])


def describe(exc):
    try:
        text = str(exc)
    except BaseException:
        text = "<unprintable %s object>" % type(exc).__name__
    return text[:MAX_ERROR]


def write_all(fd, data):
    while data:
        try:
            data = data[os.write(fd, data):]
        except InterruptedError:
            continue


def block_sigint():
    """Helper threads never take SIGINT: it is for the main thread (and the user's threads)."""
    try:
        signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGINT])
    except (AttributeError, OSError, ValueError):
        pass


class Sink(io.RawIOBase):
    """The binary layer under ``sys.stdout``/``sys.stderr``: each write is an ``out`` frame."""

    def __init__(self, agent, fd, stream):
        io.RawIOBase.__init__(self)
        self.agent, self.fd, self.stream = agent, fd, stream
        self.name = "<%s>" % stream
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def writable(self):
        return True

    def fileno(self):
        return self.fd

    def isatty(self):
        return False

    def write(self, data):
        data = bytes(data)
        self.agent.python_output(self, data)
        return len(data)


class Stdin(io.TextIOWrapper):
    """``sys.stdin``: fd 0, and an ``input`` event whenever a read is about to wait for keys."""

    def _wait(self):
        self.agent_ref.reading()

    def read(self, *args):
        self._wait()
        return io.TextIOWrapper.read(self, *args)

    def readline(self, *args):
        self._wait()
        return io.TextIOWrapper.readline(self, *args)

    def readlines(self, *args):
        self._wait()
        return io.TextIOWrapper.readlines(self, *args)

    def __next__(self):
        self._wait()
        return io.TextIOWrapper.__next__(self)


class Agent:
    def __init__(self, nonce, path0):
        self.mark = ("\x1e" + nonce).encode("ascii")
        self.path0 = path0
        self.pid = os.getpid()
        self.main_ident = threading.get_ident()
        self.lock = threading.Lock()  # ``running`` and the signals sent for it
        self.out_lock = threading.RLock()  # one frame at a time, in the order things were written
        self.runs = queue.SimpleQueue()  # to the main thread
        self.typed = queue.SimpleQueue()  # to the stdin feeder thread
        self.running = False
        self.echo = True  # the line discipline echoes typed keys
        self.line = ""
        self.escape = 0
        self.counter = 0
        self.flags = 0  # ``from __future__`` imports of earlier cells hold for later ones
        self.pipes = {}
        self.stdin_w = None
        self.completer = None  # remote_complete.py's globals, once its source has come

    # ------------------------------------------------------------------ setup

    def start(self):
        self.ctl_in, self.ctl_out = os.dup(0), os.dup(1)  # the real PTY, kept off children
        try:
            fcntl.ioctl(self.ctl_in, termios.TIOCNOTTY)
        except (OSError, AttributeError):
            pass
        self.new_stdin_pipe()
        for fd, stream in ((1, "stdout"), (2, "stderr")):
            r, w = os.pipe()
            os.dup2(w, fd)
            os.close(w)
            os.set_blocking(r, False)
            self.pipes[r] = (stream, codecs.getincrementaldecoder("utf-8")("replace"))
        self.sink = {}
        for name, stream in (("stdin", self.make_stdin()), ("stdout", self.make_out(1, "stdout")),
                             ("stderr", self.make_out(2, "stderr"))):
            setattr(sys, name, stream)
            setattr(sys, "__%s__" % name, stream)  # what ``sys.stdout = sys.__stdout__`` restores
        signal.signal(signal.SIGINT, idle_sigint)
        getpass.getpass = getpass.unix_getpass = self.getpass

        main = sys.modules["__main__"].__dict__
        keep = ("__name__", "__doc__", "__package__", "__loader__", "__spec__", "__annotations__",
                "__builtins__")
        for name in list(main):
            if name not in keep:
                del main[name]
        sys.argv = [""]
        if self.path0 is not None:
            sys.path.insert(0, self.path0)

        for target in (self.reader, self.pump, self.feeder):
            threading.Thread(target=target, name="orgo-live-" + target.__name__, daemon=True).start()
        self.send({"t": "ready", "pid": self.pid, "version": "%d.%d.%d" % sys.version_info[:3],
                         "executable": sys.executable, "cwd": self.cwd()})
        self.serve()

    def make_out(self, fd, stream):
        sink = Sink(self, fd, stream)
        return io.TextIOWrapper(sink, encoding="utf-8", errors="backslashreplace", line_buffering=True)

    def make_stdin(self):
        raw = io.FileIO(0, "r", closefd=False)
        stdin = Stdin(io.BufferedReader(raw), encoding="utf-8", errors="replace")
        stdin.agent_ref = self
        return stdin

    def new_stdin_pipe(self):
        r, w = os.pipe()
        os.dup2(r, 0)
        os.close(r)
        self.stdin_w = w

    def cwd(self):
        try:
            return os.getcwd()
        except OSError:
            return None

    # ------------------------------------------------------------------ output

    def forked(self):
        return os.getpid() != self.pid

    def python_output(self, sink, data):
        if self.forked():  # a child of a cell (multiprocessing, os.fork): through the pipe
            write_all(sink.fd, data)
            return
        text = sink.decoder.decode(data)
        if text:
            self.send({"t": "out", "s": sink.stream, "d": text})

    def send(self, frame):
        """One frame to the client, after what the pipes hold (so it follows what was written
        to fd 1 and 2 before it)."""
        data = self.mark + json.dumps(frame, separators=(",", ":")).encode("ascii") + b"\n"
        with self.out_lock:
            self.drain()
            self.write(data)

    def write(self, data):
        """Frames to the PTY in one ``write`` (the fd is blocking: a write is whole unless a
        signal cuts it, and SIGINT, the one this agent sends, is blocked for its duration)."""
        old = None
        try:
            if threading.get_ident() == self.main_ident:
                old = signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGINT])
            write_all(self.ctl_out, data)
        except OSError:
            self.hang_up()
        finally:
            if old is not None:
                signal.pthread_sigmask(signal.SIG_SETMASK, old)

    def drain(self):
        """What the pipes hold now, written as frames (the caller holds ``out_lock``)."""
        for r in list(self.pipes):
            stream, decoder = self.pipes[r]
            for _ in range(64):
                try:
                    data = os.read(r, 65536)
                except BlockingIOError:
                    break
                except OSError:
                    data = b""
                if not data:  # every writer closed it (the user closed fd 1 and 2): stop watching
                    del self.pipes[r]
                    break
                text = decoder.decode(data)
                if text:
                    frame = {"t": "out", "s": stream, "d": text}
                    self.write(self.mark + json.dumps(frame, separators=(",", ":")).encode("ascii") + b"\n")

    def echo_text(self, text):
        if self.echo and text:
            self.send({"t": "out", "s": "stdout", "d": text})

    def reading(self):
        if self.forked():
            return
        try:
            waiting = not select.select([0], [], [], 0)[0]
        except (OSError, ValueError):
            waiting = True
        if waiting:
            self.send({"t": "input", "echo": self.echo})

    # ------------------------------------------------------------------ threads

    def pump(self):
        block_sigint()
        while self.pipes:
            try:
                select.select(list(self.pipes), [], [])
            except InterruptedError:
                continue
            except (OSError, ValueError):
                return
            with self.out_lock:
                self.drain()

    def reader(self):
        block_sigint()
        pending = b""
        while True:
            try:
                data = os.read(self.ctl_in, 65536)
            except InterruptedError:
                continue
            except OSError:
                data = b""
            if not data:
                self.hang_up()
            pending += data
            while b"\n" in pending:
                line, _, pending = pending.partition(b"\n")
                try:
                    request = json.loads(line.decode("utf-8", "replace"))
                except ValueError:
                    continue
                if isinstance(request, dict):
                    self.handle(request)

    def handle(self, request):
        kind = request.get("t")
        if kind == "run":
            self.runs.put(request)
        elif kind == "keys":
            self.keys(str(request.get("d") or ""))
        elif kind == "int":
            self.interrupt()
        elif kind == "complete":
            self.complete(request)

    def complete(self, request):
        """Completion and ``obj?`` from the real namespace, by ``remote_complete.py`` (its source
        comes with the first request), on this reader thread: never while a cell runs."""
        reply = {"t": "reply", "id": request.get("id"), "d": None}
        try:
            if request.get("src"):
                self.completer = {"__name__": "__orgo_complete__"}
                exec(compile(str(request["src"]), "<orgo-complete>", "exec"), self.completer)
            completer = self.completer
            if completer is None:
                reply["need"] = True
            elif not self.running:
                reply["d"] = completer["answer"](request.get("q") or {}, sys.modules["__main__"].__dict__)
        except BaseException as e:  # noqa: B036 - a probe must never take the agent down
            reply["d"] = json.dumps({"error": describe(e)})
        self.send(reply)

    def feeder(self):
        """Typed lines into fd 0's pipe; None closes it (Ctrl-D), and the next line opens a new one."""
        block_sigint()
        while True:
            item = self.typed.get()
            if item is None:
                if self.stdin_w is not None:
                    os.close(self.stdin_w)
                    self.stdin_w = None
                continue
            if self.stdin_w is None:
                self.new_stdin_pipe()
            try:
                write_all(self.stdin_w, item.encode("utf-8", "surrogateescape"))
            except OSError:
                pass

    def hang_up(self):
        """The terminal is gone: so is everything this agent started, and the agent."""
        self.signal_group(signal.SIGHUP)
        os._exit(0)

    # ------------------------------------------------------------------ keyboard and signals

    def keys(self, data):
        for ch in data:
            if self.escape:  # a cursor key or the like: a line of input has no use for it
                if self.escape == 1 and ch in "[O":
                    self.escape = 2
                elif self.escape == 1 or "@" <= ch <= "~":
                    self.escape = 0
                continue
            if ch == "\x03":
                self.line = ""
                self.interrupt()
            elif ch in "\r\n":
                self.echo_text("\n")
                self.typed.put(self.line + "\n")
                self.line = ""
            elif ch in "\x7f\x08":
                if self.line:
                    self.line = self.line[:-1]
                    self.echo_text("\b \b")
            elif ch == "\x15":
                self.echo_text("\b \b" * len(self.line))
                self.line = ""
            elif ch == "\x04":
                self.typed.put(self.line if self.line else None)
                self.line = ""
            elif ch == "\x1b":
                self.escape = 1
            elif ch >= " " or ch == "\t":
                self.line += ch
                self.echo_text(ch)

    def getpass(self, prompt="Password: ", stream=None):
        """``getpass.getpass``: the prompt on stderr, the answer read from the keys unechoed."""
        stream = stream or sys.stderr
        self.echo = False
        try:
            stream.write(prompt)
            stream.flush()
            line = sys.stdin.readline()
        finally:
            self.echo = True
        stream.write("\n")
        stream.flush()
        if not line:
            raise EOFError
        return line[:-1] if line.endswith("\n") else line

    def group_members(self):
        """The other processes of this agent's process group (None: not known without /proc)."""
        me, group = os.getpid(), os.getpgrp()
        try:
            names = os.listdir("/proc")
        except OSError:
            return None
        found = []
        for name in names:
            if not name.isdigit() or int(name) == me:
                continue
            try:
                with open("/proc/%s/stat" % name, "rb") as f:
                    stat = f.read()
                fields = stat[stat.rfind(b")") + 2:].split()
                if int(fields[2]) == group:
                    found.append(int(name))
            except (OSError, ValueError, IndexError):
                continue
        return found

    def signal_group(self, signum):
        members = self.group_members()
        if members is None:
            try:
                os.killpg(os.getpgrp(), signum)
            except OSError:
                pass
            return
        for pid in members:
            try:
                os.kill(pid, signum)
            except OSError:
                pass

    def interrupt(self):
        """The main thread first: the scan of /proc for the group's other processes costs a GIL
        hand-off per file, which a cell spinning in pure Python makes take seconds."""
        with self.lock:
            if not self.running:
                return
            try:
                signal.pthread_kill(self.main_ident, signal.SIGINT)
            except (AttributeError, OSError):
                os.kill(self.pid, signal.SIGINT)
        self.signal_group(signal.SIGINT)

    def arm(self):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGINT])  # whatever a cell or a cut ``write`` left
        if signal.getsignal(signal.SIGINT) is idle_sigint:
            signal.signal(signal.SIGINT, signal.default_int_handler)

    def disarm(self):
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            signal.signal(signal.SIGINT, idle_sigint)

    # ------------------------------------------------------------------ cells

    def serve(self):
        while True:
            try:
                request = self.runs.get()
            except KeyboardInterrupt:
                continue
            try:
                self.run_cell(request)
            except BaseException:  # noqa: B036 - the agent outlives whatever a cell does
                try:
                    self.send({"t": "done", "id": request.get("id"), "status": "error",
                                     "error_type": "AgentError", "error": "the cell's result was lost"})
                except BaseException:  # noqa: B036
                    pass

    def restore_stdio(self):
        """A closed or missing standard stream (``exit()`` closes stdin) is made anew."""
        for name, make in (("stdin", self.make_stdin), ("stdout", lambda: self.make_out(1, "stdout")),
                           ("stderr", lambda: self.make_out(2, "stderr"))):
            stream = getattr(sys, name)
            try:
                broken = stream is None or stream.closed
            except Exception:
                broken = False
            if broken:
                setattr(sys, name, make())

    def run_cell(self, request):
        self.counter += 1
        filename = "%s%d>" % (CELL_PREFIX, self.counter)
        code = str(request.get("code") or "")
        lines = source_lines(code)
        linecache.cache[filename] = (len(code), None, lines, filename)
        self.restore_stdio()
        namespace = sys.modules["__main__"].__dict__
        error = None
        try:
            try:
                with self.lock:
                    self.running = True
                self.arm()
                self.width = request.get("width") or 0  # %pprint: read by display()
                self.execute(code, filename, namespace, bool(request.get("echo", True)))
            finally:
                self.disarm()
        except BaseException as e:  # noqa: B036 - the user's exception is the cell's result
            error = e
        with self.lock:
            self.running = False
        if self.forked():  # a child forked by the cell came back here: it ends with the cell
            os._exit(1 if error is not None else 0)
        self.finish(request, filename, lines, error)

    def execute(self, code, filename, namespace, echo):
        tree = compile(code, filename, "exec", ast.PyCF_ONLY_AST | self.flags, True)
        body, last = tree.body, None
        if echo and body and isinstance(body[-1], ast.Expr):
            body, last = body[:-1], body[-1]
        module = compile(ast.Module(body=body, type_ignores=[]), filename, "exec", self.flags, True)
        self.flags |= module.co_flags & FUTURE_FLAGS
        if last is not None:
            last = compile(ast.Expression(last.value), filename, "eval", self.flags, True)
        exec(module, namespace)
        if last is not None:
            value = eval(last, namespace)
            self.display(value)
            if value is not None and getattr(builtins, "_", None) is value:
                namespace["_"] = value  # as the HTTP path does: ``_`` is also the session's global

    def display(self, value):
        """``sys.displayhook``, with the value pretty-printed to the user's terminal width
        (``%pprint``) when the hook is Python's own and the repr would not fit on one line.
        The same rule as ``remote_python.display`` (the HTTP path)."""
        width = getattr(self, "width", 0)
        # over 100 KB of repr, pprint would take seconds for a view that is cut anyway
        if width and sys.displayhook is sys.__displayhook__ \
                and not isinstance(value, (str, bytes)) and width < len(repr(value)) <= 100000:
            import pprint

            builtins._ = None
            sys.stdout.write(pprint.pformat(value, width=width, sort_dicts=False) + "\n")
            builtins._ = value
        else:
            sys.displayhook(value)  # called for None too, like the REPL; the default one skips it

    def finish(self, request, filename, lines, error):
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        with self.out_lock:
            self.drain()
        done = {"t": "done", "id": request.get("id"), "status": "ok", "error_type": None, "error": None,
                "traceback": None, "system_exit": False}
        if isinstance(error, SystemExit):
            done["system_exit"] = True
            if error.code is not None and error.code != 0:
                done.update(status="error", error_type="SystemExit", error=describe(error))
        elif error is not None:
            done.update(status="interrupted" if isinstance(error, KeyboardInterrupt) else "error",
                        error_type=type(error).__name__, error=describe(error),
                        traceback=self.format(error, filename, lines))
            sys.last_type, sys.last_value, sys.last_traceback = type(error), error, error.__traceback__
            sys.last_exc = error  # 3.12's name for the same (pdb.pm reads it)
        done["cwd"] = self.cwd()
        self.send(done)

    def format(self, error, filename, lines):
        """The traceback of the user's frames: from the first cell frame on, the agent's left out."""
        try:
            if isinstance(error, SyntaxError) and error.filename == filename and not error.text \
                    and isinstance(error.lineno, int) and 0 < error.lineno <= len(lines):
                error.text = lines[error.lineno - 1]  # an error found by compile, not by parse
            tb = error.__traceback__
            while tb is not None and not tb.tb_frame.f_code.co_filename.startswith(CELL_PREFIX):
                tb = tb.tb_next
            if tb is None and not isinstance(error, SyntaxError):
                return "".join(traceback.format_exception_only(type(error), error))
            report = traceback.TracebackException(type(error), error, tb)
            report.stack = traceback.StackSummary.from_list(
                [frame for frame in report.stack if frame.filename != AGENT_FILE])
            return "".join(report.format())
        except BaseException:  # noqa: B036 - a traceback that cannot be formatted must not hide the error
            return None


if __name__ == "__orgo_live__":
    Agent(*globals()["ARGS"]).start()
