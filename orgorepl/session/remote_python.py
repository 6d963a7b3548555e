"""The program that runs on the remote computer around every stateful Python submission.

This file is never imported by orgorepl: its text is sent, with one call appended, as the
``code`` of POST /exec.  It must therefore run on any Python 3.8+ with nothing but the standard
library, and leave no names of its own in the user's namespace (everything lives inside the one
function, which removes itself before the user's code runs).  The function then runs again with
globals of its own: the user's names are restored into ``__main__``, and a user's ``id = 5`` or
``type = "fruit"`` must not change what ``id`` or ``type`` mean to the wrapper.

What one call does, in order (see ../../docs/sessions.md for the user-facing story):

1. restore: ``cd`` to the session's cwd and apply its environment (files shared with bash mode);
   then ``remote_state.py`` re-runs the session's *definitions* (imports, ``def``, ``class``,
   each the user's own source of one statement, never a whole earlier submission, so no side
   effect happens twice, each compiled as ``<cell defining NAME>`` with its own line numbers and
   source, so a traceback through it reads like one through ``<cell>``) and unpickles the saved
   values, interleaved in the order the session made them;
2. run the submission compiled as ``<cell>`` in the real ``__main__`` namespace (all of it is
   compiled before any of it runs, as for the bare code), passing the last expression's value to
   ``sys.displayhook`` like the standard REPL (which prints its repr and binds ``_``), or, with
   ``P["width"]`` (``%pprint``), pretty-printing a repr too long for one line to that width here,
   where the repr is made;
   While it runs, file descriptor 2 goes to an anonymous file; what arrived there is written
   afterwards in a marked block (``\\n<mark>2>LENGTH\\n`` TEXT ``<mark>2<\\n``, see capture.py):
   the service documents stdout only;
3. on an exception, print a traceback of the user's frames only inside a marked block;
4. save (``remote_state.py``): definitions this submission made, every picklable value (one
   pickle stream with a shared memo, so aliases stay aliases), and a manifest saying what is
   kept, rebuilt or lost and why; write the cwd and environment back; print one trailer line
   (JSON) with what was lost and what this cell did that cannot be carried.  The save holds the
   session's lock and does not happen at all if the client marked this submission abandoned
   (Ctrl-C: ``abandoned/TOKEN``, written by carry.py's mark or by the next submission's
   ``P["abandon"]``): a submission the user gave up never changes the session;
5. re-raise the user's exception, so the API reports ``success``, ``error`` and ``error_type``
   exactly as for the bare code.  A timeout kills the process before step 4: the state from before
   the submission stays, since every file is replaced by rename, never rewritten in place.
"""


def __orgo_main(P, clean=False):  # noqa: N802 - the name is reserved; it removes itself from __main__
    import sys

    if not clean:
        self = sys.modules["__main__"].__dict__.pop("__orgo_main")
        clean_globals = {"__builtins__": sys.modules["builtins"]}
        parts = (sys.modules["__main__"].__dict__.pop(k) for k in
                 ("__orgo_source", "__orgo_values", "__orgo_state", "__orgo_runtime", "__orgo_io"))
        return type(self)(self.__code__, clean_globals)(P, tuple(type(f)(f.__code__, clean_globals)
                                                                for f in parts))
    source, values, state, runtime, io = clean
    import builtins
    import os

    ast = source()  # the part of ``ast`` the wrapper uses, without importing it (remote_source.py)

    ns = sys.modules["__main__"].__dict__
    out = sys.stdout
    sd = os.path.join(os.path.expanduser("~"), ".orgorepl", "sessions", P["sid"])
    try:
        os.makedirs(sd, mode=0o700, exist_ok=True)
    except OSError:
        pass

    def users(filename):
        """True for code of the user's: this submission, or a definition rebuilt from an earlier one."""
        return filename == "<cell>" or filename.startswith("<cell defining ")

    emit, capture = io(out)
    # the session's files are read and written one way, the state half's (replaced atomically)
    restore, save_state, read, write = state(P, ns, sd, users, ast, runtime(ns, ast), values)

    def display(value, width):
        """``sys.displayhook``, with the value pretty-printed to the user's terminal ``width``
        (``%pprint``) when the hook is Python's own and the repr would not fit on one line.
        The same rule as the live agent's ``Agent.display``."""
        # over 100 KB of repr, pprint would take seconds for a view that is cut anyway
        if width and sys.displayhook is sys.__displayhook__ \
                and not isinstance(value, (str, bytes)) and width < len(repr(value)) <= 100000:
            import pprint

            builtins._ = None
            sys.stdout.write(pprint.pformat(value, width=width, sort_dicts=False) + "\n")
            builtins._ = value
        else:
            sys.displayhook(value)  # called for None too, like the REPL; the default one skips it

    def env_items(raw):
        for item in raw.split(b"\0"):
            key, sep, value = item.partition(b"=")
            name = key.decode("utf-8", "surrogateescape")
            if sep and name.isidentifier() and name not in ("PWD", "OLDPWD", "SHLVL", "_"):
                yield name, value.decode("utf-8", "surrogateescape")

    # 1. restore ---------------------------------------------------------------------------
    cwd = P.get("cwd") or (read("cwd") or "").rstrip("\n")  # P["cwd"]: a live shell's, newer
    if cwd:
        try:
            os.chdir(cwd)
        except OSError:
            pass
    os.environ.update(dict(env_items(read("env0", b"", True) or b"")))
    env_data = getattr(os.environ, "_data", os.environ)  # bytes to bytes: copied without decoding each item
    env_before = dict(env_data)

    flags = restore()[2]
    before = {k: id(v) for k, v in ns.items()}
    # "SAVES\nTOKEN\n": how many saves (bash's too: bash_cell.py reads the first line), and the
    # submission that made the last one (a bash save writes no token)
    generation = (read("gen") or "0").strip()

    # 2. run --------------------------------------------------------------------------------
    def locked(action):
        """``action()`` holding the session's lock, so marking a submission abandoned and its save
        never interleave (the lock goes with the process, also when it is killed)."""
        try:
            lock = open(os.path.join(sd, "lock"), "a")
        except OSError:
            return action()
        with lock:
            try:  # a POSIX record lock: os has it already, importing fcntl costs a spawn 0.7 ms
                os.lockf(lock.fileno(), os.F_LOCK, 0)
            except (AttributeError, OSError):
                pass
            return action()

    def mark_abandoned():
        """Mark the submissions the client gave up (Ctrl-C) and could not tell the computer about
        then; True if one of them has saved already (it finished before this one started)."""
        try:
            os.makedirs(os.path.join(sd, "abandoned"), exist_ok=True)
            for t in P["abandon"]:
                open(os.path.join(sd, "abandoned", t), "w").close()
        except OSError:  # the session's directory is unusable: its save will say so
            pass
        return (read("gen") or "").strip().partition("\n")[2] in P["abandon"]

    late = bool(P.get("abandon")) and locked(mark_abandoned)

    src = P["code"]
    src_lines = ast.source_lines(src)
    ast.remember("<cell>", src_lines)
    error = None
    tree = None
    stop_capture = capture()
    try:
        last = None
        if P.get("echo") and src[:1] not in " \t\f":  # one expression: no tree to build (remote_source.py)
            try:
                last = compile(src, "<cell>", "eval", flags, True)
            except (SyntaxError, ValueError):
                pass
        if last is None:
            tree = ast.parse(src, "<cell>")
            body = tree.body
            if P.get("echo") and body and isinstance(body[-1], ast.Expr):
                body, last = body[:-1], body[-1]
            code = compile(ast.Module(body=body, type_ignores=[]), "<cell>", "exec", flags, True)
            if last is not None:
                last = compile(ast.Expression(last.value), "<cell>", "eval", flags, True)
            exec(code, ns)
        if last is not None:
            value = eval(last, ns)
            display(value, P.get("width"))
            if value is not None and getattr(builtins, "_", None) is value:
                ns["_"] = value  # a carried-over ``_`` is a global: keep it what the hook made it
    except BaseException as e:  # noqa: B036 - every exception is the user's, re-raised below
        error = e

    try:
        out.flush()
    except Exception:
        pass
    stderr_text = stop_capture()
    if stderr_text:  # the service returns stdout only: stderr travels in it, framed (capture.py)
        emit("\n%s2>%d\n%s%s2<\n" % (P["mark"], len(stderr_text), stderr_text, P["mark"]))
    if error is not None and not isinstance(error, SystemExit):
        try:
            if isinstance(error, SyntaxError) and error.filename == "<cell>" and not error.text \
                    and isinstance(error.lineno, int) and 0 < error.lineno <= len(src_lines):
                error.text = src_lines[error.lineno - 1]  # an error found by compile, not by parse
            tb = error.__traceback__
            while tb is not None and not users(tb.tb_frame.f_code.co_filename):
                tb = tb.tb_next
            import traceback  # only now: it costs a run that succeeds several milliseconds

            lines = traceback.format_exception(type(error), error, tb)
            if tb is None and not isinstance(error, SyntaxError):
                lines = traceback.format_exception_only(type(error), error)
            emit("\n%s>\n%s%s<\n" % (P["mark"], "".join(lines), P["mark"]))
        except BaseException:  # a traceback that cannot be formatted must not hide the error
            pass

    def changed(n):
        return n in ns and id(ns[n]) != before.get(n)

    def save():
        if (read("gen") or "0").strip() != generation:
            # a submission that started after this one (this one was abandoned with Ctrl-C and
            # ran on) has saved already: its state is the newer one, keep it
            raise RuntimeError("a later submission saved the session first")
        report = save_state(tree, src_lines, error, changed)
        try:
            write("cwd", os.getcwd() + "\n")
        except OSError:
            pass
        if env_data != env_before:
            write("env0", b"".join(("%s=%s\0" % kv).encode("utf-8", "surrogateescape")
                                   for kv in os.environ.items()))
        count = generation.partition("\n")[0]
        write("gen", "%d\n%s\n" % (int(count) + 1 if count.isdigit() else 1, P["token"]))
        report["assigned"] = sorted(n for n in ns if not n.startswith("__") and changed(n))
        return report

    # 4. save -------------------------------------------------------------------------------
    report = {"cwd": None, "saved": False, "home": os.path.expanduser("~")}
    try:
        report["cwd"] = os.getcwd()
    except OSError:
        pass

    def save_unless_abandoned():
        """The rule of Ctrl-C: a submission the client gave up never changes the session."""
        mark = os.path.join(sd, "abandoned", P["token"])
        if os.path.exists(mark):
            os.remove(mark)
            raise RuntimeError("interrupted (Ctrl-C): it does not change the session")
        return save()

    report["late"] = late
    if "sqlite3" in sys.modules:  # its rows not committed go when the connection does, at the end
        report["uncommitted"] = sorted(n for n, v in ns.items() if type(v).__module__ == "sqlite3"
                                       and getattr(v, "in_transaction", False) is True)
    try:
        report.update(locked(save_unless_abandoned))
        report["saved"] = True
    except BaseException as e:
        report["error"] = "%s: %s" % (type(e).__name__, e)
    emit("\n%s%s\n" % (P["mark"], ascii(report)))  # read with ast.literal_eval (no json here)
    if error is not None:
        raise error.with_traceback(None) if isinstance(error, SyntaxError) else error

