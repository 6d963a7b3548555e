"""The zygote: a warm interpreter that forks one pristine child per exec (``_cell.py`` in front).

Started once per emulator by ``zygote.Zygote`` as ``python -c BOOT FD``: BOOT notes which
modules a bare ``python -c`` has (``_orgo_base``), then reads this text from stdin and runs it.
FD is a SOCK_SEQPACKET Unix socket to the emulator.  Messages are ``marshal``-ed dicts:

* emulator -> zygote: ``{"id", "spec"}`` with three fds attached (SCM_RIGHTS): the code (a
  memfd), the write end of the output pipe, the write end of the report pipe;
* zygote -> emulator: ``{"ready": pid}`` once; ``{"id", "pid"}`` when a child is forked (its
  process group already made, by both sides of the fork, so a kill can never miss it);
  ``{"id", "error"}`` when the fork failed; ``{"id", "status"}`` (a wait status) when it ends.

The zygote never runs user code and never writes to its stdout.  It exits when the emulator
closes the socket, and if the emulator died without removing its run cgroups (SIGKILL), the
zygote kills what is left in them and removes them on its way out.  It is a child subreaper, so
what a run leaves behind is reaped here.

A child, before the cell: joins its process group and cgroups, sets its rlimits, takes the
output pipe as stdout and /dev/null as stdin and stderr, closes every other fd of the zygote,
moves to the computer's home with exactly the computer's environment (and its user site dir,
if any), and drops from ``sys.modules`` every module a bare ``python -c`` would not have, so the
cell imports fresh copies and sees a fresh ``__main__``.  After the cell it ends the way an
interpreter does (non-daemon threads joined, ``atexit`` handlers run, ``__main__`` and the modules
the run imported cleared and cycles collected, so open files are flushed), then ``os._exit``.
What cannot be made fresh: the hash seed is the zygote's (``hash('x')`` is the same in every
run) and ``/proc/self/cmdline`` shows the zygote's command line.
"""

# ruff: noqa: F821 - the _cell_* functions are defined by _cell.py, whose text is put in front of this one

import os
import sys


def _zygote_serve(ctl_fd, base):
    import atexit
    import builtins
    import marshal
    import resource  # noqa: F401 - imported here so _cell_enter does not pay for it per run
    import select
    import signal
    import socket

    sock = socket.socket(fileno=ctl_fd)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)  # stdin carried this program; the children get /dev/null
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda signum, frame: None)
    _zygote_subreaper()
    loader = sys.modules["__main__"].__loader__
    runs = {}
    trees = set()  # the emulator's cgroup directories, to clean up if it dies without doing so

    def send(message):
        sock.sendmsg([marshal.dumps(message)])

    def start(rid, spec, fds):
        trees.update(os.path.dirname(os.path.dirname(path)) for path in spec["cgroups"])
        try:
            pid = os.fork()
        except OSError as exc:
            for fd in fds:
                os.close(fd)
            send({"id": rid, "error": "fork failed: %s" % exc})
            return
        if pid == 0:
            try:
                signal.set_wakeup_fd(-1)
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                sock.detach()  # closed below with every other fd; the object must never close a reused number
                _zygote_child(spec, fds, devnull, base, builtins, loader, atexit)
            finally:
                os._exit(70)
        try:
            os.setpgid(pid, pid)
        except OSError:
            pass  # the child did it first, or is already gone
        for fd in fds:
            os.close(fd)
        runs[pid] = rid
        send({"id": rid, "pid": pid})

    def reap():
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            rid = runs.pop(pid, None)
            if rid is not None:
                send({"id": rid, "status": status})

    send({"ready": os.getpid()})
    poller = select.poll()
    poller.register(sock.fileno(), select.POLLIN)
    poller.register(wake_r, select.POLLIN)
    while True:
        for fd, _ in poller.poll():
            if fd == wake_r:
                try:
                    while os.read(wake_r, 512):
                        pass
                except BlockingIOError:
                    pass
                reap()
                continue
            try:
                data, fds, flags, _ = socket.recv_fds(sock, 1 << 20, 8)
            except ConnectionError:
                data, fds = b"", []
            if not data:  # the emulator is gone (maybe killed): so are we, and what it left
                _zygote_clean_up(trees)
                os._exit(0)
            try:
                request = marshal.loads(data)
                rid, spec = request["id"], request["spec"]
            except Exception:
                for fd in fds:
                    os.close(fd)
                continue
            if len(fds) != 3:
                for fd in fds:
                    os.close(fd)
                send({"id": rid, "error": "expected 3 file descriptors, got %d" % len(fds)})
                continue
            start(rid, spec, fds)


def _zygote_child(spec, fds, devnull, base, builtins, loader, atexit):
    code_fd, out_fd, report_fd = fds
    leader = os.getpid()
    try:
        os.setpgid(0, 0)
    except OSError:
        pass
    try:
        _cell_enter(spec["cgroups"], spec["memory"], spec["nproc"])
        identity = _cell_identity(report_fd)
        source = _cell_read_all(code_fd)
        os.dup2(out_fd, 1)
        os.dup2(devnull, 2)
        os.closerange(3, report_fd)
        os.closerange(report_fd + 1, max(os.sysconf("SC_OPEN_MAX"), report_fd + 2))
        os.chdir(spec["cwd"])
    except BaseException as exc:
        _cell_report(report_fd, "F", type(exc).__name__, "cannot set up the run: %s" % exc)
        os._exit(70)
    os.environ.clear()
    os.environ.update(spec["env"])
    _zygote_user_site()
    sys.argv = ["-c"]
    sys.orig_argv = [sys.executable, "-c", source.decode("utf-8", "surrogateescape")]
    for name in [n for n in sys.modules if n not in base]:
        del sys.modules[name]
    for finder in list(sys.path_importer_cache.values()):  # directory listings may be stale
        if hasattr(finder, "invalidate_caches"):
            finder.invalidate_caches()
    try:
        sys.stdout.reconfigure(line_buffering=True)  # a killed run keeps its whole lines
    except (AttributeError, ValueError):
        pass
    main = _cell_fresh_main(builtins, loader)
    success, error_type, error = _cell_run(source, main.__dict__)
    del main
    if os.getpid() == leader:
        _cell_report(report_fd, "1" if success else "0", error_type, error, identity)
    _zygote_finish(atexit, 0 if success or os.getpid() == leader else 1, base)


def _zygote_finish(atexit, status, base):
    """What an interpreter does on its way out, then out."""
    threading = sys.modules.get("threading")
    if threading is not None:
        try:
            threading._shutdown()
        except BaseException:
            pass
    try:
        atexit._run_exitfuncs()
    except BaseException:
        pass
    _zygote_release(base)
    _cell_flush()
    os._exit(status)


def _zygote_release(base):
    """Let go of what the run made, as interpreter shutdown does, so a file still open is flushed
    and closed by its finaliser (``f = open('p.txt', 'w'); f.write('a')`` keeps its ``a``):
    ``__main__``'s names, then those of the modules the run imported, then a collection for
    objects in cycles.  ``os._exit`` afterwards skips only what is left of the shutdown."""
    import gc

    main = sys.modules.get("__main__")
    modules = [m for n, m in list(sys.modules.items()) if n not in base and n != "__main__"]
    for module in [main] + modules:
        try:
            module.__dict__.clear()
        except BaseException:
            pass
    del main, modules
    try:
        gc.collect()
    except BaseException:
        pass


def _zygote_user_site():
    """The computer's ``~/.local/lib/pythonX.Y/site-packages``, where ``python -c`` puts it."""
    import site

    if not site.ENABLE_USER_SITE:
        return
    site.USER_BASE = site.USER_SITE = None
    path = site.getusersitepackages()
    if not os.path.isdir(path):
        return
    before = list(sys.path)
    site.addsitedir(path)
    added = [p for p in sys.path if p not in before]
    at = next((i for i, p in enumerate(before) if p.rstrip("/").endswith("-packages")), len(before))
    sys.path[:] = before[:at] + added + before[at:]


def _zygote_clean_up(trees):
    """Kill what is left in the emulator's run cgroups and remove them (it may have been killed)."""
    import signal
    import time

    deadline = time.monotonic() + 2
    for tree in trees:
        try:
            runs = [os.path.join(tree, n) for n in os.listdir(tree)]
        except OSError:
            continue
        for run in [r for r in runs if os.path.isdir(r)]:
            while time.monotonic() < deadline:
                try:
                    with open(os.path.join(run, "cgroup.procs")) as fh:
                        pids = [int(p) for p in fh.read().split()]
                except (OSError, ValueError):
                    pids = []
                if not pids:
                    break
                for pid in pids:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except OSError:
                        pass
                time.sleep(0.005)
            try:
                os.rmdir(run)
            except OSError:
                pass
        try:
            os.rmdir(tree)
        except OSError:
            pass


def _zygote_subreaper():
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except Exception:
        pass


_orgo_base: frozenset[str]  # set by the bootstrap (zygote.BOOT) before this text runs

if __name__ == "__main__":
    _zygote_serve(int(sys.argv[1]), _orgo_base)
