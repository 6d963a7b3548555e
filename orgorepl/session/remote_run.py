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
        io = sys.modules["__main__"].__dict__.pop("__orgo_io")
        clean_globals = {"__builtins__": sys.modules["builtins"]}
        return type(self)(self.__code__, clean_globals)(P, type(io)(io.__code__, clean_globals))
    io = clean

    ns = sys.modules["__main__"].__dict__
    out = sys.stdout

    emit, capture = io(out)

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
