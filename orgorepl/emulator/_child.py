"""The spawn executor's interpreter: a fresh ``python -c`` per exec, with ``_cell.py`` in front.

Arguments: the fd holding the code, the fd to report on, the memory limit in bytes and the
process limit for ``RLIMIT_NPROC`` (empty for none), then the cgroup files to join.  The cell
runs in a brand-new ``__main__`` with ``sys.argv == ['-c']``; then the interpreter ends the
ordinary way (non-daemon threads joined, ``atexit`` handlers run), as ``python -c`` would.
"""

# ruff: noqa: F821 - the _cell_* functions are defined by _cell.py, whose text is put in front of this one

import os
import sys


def _child_main():
    import builtins

    code_fd, report_fd = int(sys.argv[1]), int(sys.argv[2])
    memory, nproc = (int(v) if v else None for v in sys.argv[3:5])
    leader = os.getpid()
    try:
        identity = _cell_identity(report_fd)
        _cell_enter(sys.argv[5:], memory, nproc)
        source = _cell_read_all(code_fd)
        os.close(code_fd)
    except BaseException as exc:
        _cell_report(report_fd, "F", type(exc).__name__, "cannot set up the run: %s" % exc)
        os._exit(70)
    sys.argv = ["-c"]
    try:
        sys.stdout.reconfigure(line_buffering=True)  # a killed run keeps its whole lines
    except (AttributeError, ValueError):
        pass
    main = _cell_fresh_main(builtins, sys.modules["__main__"].__loader__)
    success, error_type, error = _cell_run(source, main.__dict__)
    if os.getpid() == leader:
        _cell_report(report_fd, "1" if success else "0", error_type, error, identity)
    elif not success:
        sys.exit(1)


if __name__ == "__main__":
    _child_main()
