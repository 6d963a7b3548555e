"""The program that runs on the remote computer around a one-shot Python submission (``orgorepl exec``).

Like ``remote_python.py`` it is never imported: its text is sent, with one call appended, as
the ``code`` of POST /exec, so it needs only the standard library of any Python 3.8+, and it
leaves no names in ``__main__``.  It is the stateful wrapper's *run* without its state: nothing
is restored or saved, no value is echoed (``exec`` runs a script, as ``python -c`` does).

1. compile the code as ``<cell>`` and run it in the real ``__main__``, with file descriptor 2 (so
   ``sys.stderr``, ``warnings``, ``logging`` and child processes alike) going to a temporary file;
2. put fd 2 back and write what the run wrote there in a block framed by the cell's marker
   (``\\n<mark>2>LENGTH\\n`` TEXT ``<mark>2<\\n``): the service documents ``output`` as stdout
   only, so stderr travels inside it and the client takes it apart (``capture.py``);
3. on an exception, write a traceback of the user's frames in the marked block the stateful
   wrapper writes, then re-raise it, so ``success``, ``error`` and ``error_type`` are those of
   the bare code.
"""


def __orgo_run(P, clean=False):  # noqa: N802 - the name is reserved; it removes itself from __main__
    import sys

    if not clean:
        self = sys.modules["__main__"].__dict__.pop("__orgo_run")
        return type(self)(self.__code__, {"__builtins__": sys.modules["builtins"]})(P, True)
    import os

    ns = sys.modules["__main__"].__dict__
    out = sys.stdout

    def emit(text):
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

    src = P["code"]
    error = None
    stop = capture()
    try:
        exec(compile(src, "<cell>", "exec"), ns)
    except BaseException as e:  # noqa: B036 - every exception is the user's, re-raised below
        error = e
    try:
        out.flush()
    except Exception:
        pass
    text = stop()
    if text:
        emit("\n%s2>%d\n%s%s2<\n" % (P["mark"], len(text), text, P["mark"]))
    if error is not None and not isinstance(error, SystemExit):
        try:  # imported only now: ``traceback`` costs a run that succeeds several milliseconds
            import linecache
            import traceback

            parts = src.replace("\r\n", "\n").replace("\r", "\n").split("\n")
            lines = [part + "\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])
            linecache.cache["<cell>"] = (len(src), None, lines, "<cell>")
            tb = error.__traceback__
            while tb is not None and tb.tb_frame.f_code.co_filename != "<cell>":
                tb = tb.tb_next
            if tb is None:  # a SyntaxError: no frame of the user's, the error says where
                formatted = traceback.format_exception_only(type(error), error)
            else:
                formatted = traceback.format_exception(type(error), error, tb)
            emit("\n%s>\n%s%s<\n" % (P["mark"], "".join(formatted), P["mark"]))
        except BaseException:  # a traceback that cannot be formatted must not hide the error
            pass
    if error is not None:
        raise error.with_traceback(None) if isinstance(error, SyntaxError) else error
