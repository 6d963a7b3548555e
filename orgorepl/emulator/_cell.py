"""The interpreter side of POST /exec, shared by both executors: enter the cage, run, report.

Never imported by orgorepl: its *text* is put in front of ``_child.py`` (spawn executor) or
``_zygote.py`` (zygote executor) and run by a bare ``python -c``, so it uses the standard
library only (orgorepl need not be importable from a computer's home) and its names live in a
``__main__`` that the user's code never sees (the cell gets a brand-new one).

The report goes to a pipe of its own, never to stdout, which is the user's ``output``.  It is
one record, ``"<kind> <len(type)> " + type + message`` in UTF-8, where kind is ``1`` (success),
``0`` (the cell raised) or ``F`` (the run could not be set up, e.g. its cgroup is gone).  Only
the run's leader reports: a process the cell forked falls out of the cell like any ``python -c``
child would, and exits without a word.
"""

import os
import sys


def _cell_enter(cgroups, memory, nproc):
    """Join the run's cgroups and set its rlimits before any code of the user's runs."""
    pid = str(os.getpid()).encode("ascii")
    for path in cgroups:
        fd = os.open(path, os.O_WRONLY)
        try:
            os.write(fd, pid)
        finally:
            os.close(fd)
    if memory or nproc:
        had = "resource" in sys.modules
        import resource

        if not had:  # the cell's ``sys.modules`` should be what ``python -c`` starts with
            del sys.modules["resource"]
        for which, value in ((resource.RLIMIT_AS, memory), (resource.RLIMIT_NPROC, nproc)):
            if value:
                hard = resource.getrlimit(which)[1]
                if hard != resource.RLIM_INFINITY:
                    value = min(value, hard)
                try:
                    resource.setrlimit(which, (value, value))
                except (ValueError, OSError):
                    if sys.platform.startswith("linux"):
                        raise
                    # elsewhere (macOS) the kernel may not support it: the run goes without


def _cell_describe(exc):
    try:
        text = str(exc)
    except BaseException:
        text = "<unprintable %s object>" % type(exc).__name__
    return type(exc).__name__, text[:1048576]


def _cell_run(source, namespace):
    """(success, error_type, error) of one cell, as ``python -c`` would have ended it."""
    outcome = (True, "", "")
    try:
        exec(compile(source, "<string>", "exec"), namespace)
    except SystemExit as exc:
        if exc.code is not None and exc.code != 0:
            outcome = (False,) + _cell_describe(exc)
    except BaseException as exc:  # the user's exception is the result, whatever it is
        outcome = (False,) + _cell_describe(exc)
    _cell_flush()
    return outcome


def _cell_flush():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass


def _cell_identity(fd):
    """Which pipe ``fd`` is, so a cell that closed it and reused the number is not written to."""
    st = os.fstat(fd)
    return st.st_dev, st.st_ino


def _cell_report(fd, kind, error_type, error, identity=None):
    if identity is not None:
        try:
            if _cell_identity(fd) != identity:
                return
        except OSError:
            return
    kind_b = kind.encode("ascii")
    type_b = error_type.encode("utf-8", "replace")  # lone surrogates cannot travel as UTF-8
    data = b"%s %d %s%s" % (kind_b, len(type_b), type_b, error.encode("utf-8", "replace"))
    try:
        while data:
            data = data[os.write(fd, data):]
    except OSError:
        pass


def _cell_fresh_main(builtins_module, loader):
    """A ``__main__`` like the one ``python -c`` starts with, and nothing else in it."""
    main = type(sys)("__main__")
    main.__dict__.update(__builtins__=builtins_module, __loader__=loader, __annotations__={})
    sys.modules["__main__"] = main
    return main


def _cell_read_all(fd):
    chunks = []
    os.lseek(fd, 0, os.SEEK_SET)
    while True:
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
