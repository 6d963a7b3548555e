"""Output and stderr for the programs orgorepl runs around a submission (``remote_python.py``,
the stateful wrapper, and ``remote_run.py``, the one-shot one): sent ahead of either, never
imported, Python 3.8+, standard library only; its one name is taken out of ``__main__`` before the
user's code runs.

Why it is one piece: both wrappers must write their framed blocks the same way (to the stdout the
code started with, or to file descriptor 1 when the user closed or broke it) and capture stderr the
same way (file descriptor 2 to an anonymous file, so child processes are caught too).
"""


def __orgo_io(out):  # noqa: N802 - reserved name, removed from __main__ with the wrapper's
    """(emit, capture) for a wrapper whose stdout, before the user's code ran, is ``out``."""
    import os
    import sys

    def emit(text):
        """Write to stdout as it was before the user's code ran; if that fails (the user closed
        it, or it cannot encode a character of the traceback), to file descriptor 1 directly."""
        try:
            out.write(text)
            out.flush()
            return
        except Exception:
            pass
        try:
            data = text.encode("utf-8", "backslashreplace")
            while data:
                data = data[os.write(1, data):]
        except Exception:
            pass

    def capture():
        """Point file descriptor 2 (``sys.stderr``, ``warnings``, ``logging``, child processes)
        at an anonymous file for the run; returns how to put it back and take what came."""
        try:
            sys.stderr.flush()
            fd, saved = os.memfd_create("stderr"), os.dup(2)
            os.dup2(fd, 2)
        except Exception:  # no memfd (not Linux), or a stderr that is gone: left as it is
            return lambda: ""

        def stop():
            for stream in (sys.stderr, sys.__stderr__):
                try:
                    stream.flush()
                except Exception:
                    pass
            try:  # the user's code may have closed either descriptor
                os.dup2(saved, 2)
                os.close(saved)
                with open(fd, "rb") as f:
                    f.seek(0)
                    return f.read().decode("utf-8", "backslashreplace")
            except Exception:
                return ""

        return stop

    return emit, capture
