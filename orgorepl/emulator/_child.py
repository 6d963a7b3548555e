"""The child side of POST /exec: run one cell in a fresh interpreter, report how it ended.

The emulator passes this file's *text* to ``python -c`` (stdlib only: orgorepl need not be
importable from the computer's home), with two arguments: the file holding the user's code and
the file to write the result to.  The result goes to that file, not to stdout, because stdout
is the user's ``output`` and must hold nothing of ours.

The code runs in a brand-new ``__main__`` module, as ``python -c`` would run it, so pickling a
class defined in the cell works as it does on the real computer.  stdout is line-buffered so
that a run killed by its timeout still returns the lines printed before the kill.
"""

import sys


def _describe(exc):
    try:
        text = str(exc)
    except BaseException:
        text = "<unprintable %s object>" % type(exc).__name__
    # Lone surrogates cannot travel as UTF-8 JSON.
    text = text.encode("utf-8", "replace").decode("utf-8")
    return {"success": False, "error": text[:1048576], "error_type": type(exc).__name__}


def _main():
    import builtins
    import json
    import types

    code_path, result_path = sys.argv[1], sys.argv[2]
    with open(code_path, "rb") as fh:
        source = fh.read()
    sys.argv = ["-c"]
    try:
        sys.stdout.reconfigure(line_buffering=True)
    except (AttributeError, ValueError):
        pass

    main = types.ModuleType("__main__")
    main.__dict__["__builtins__"] = builtins
    sys.modules["__main__"] = main

    result = {"success": True}
    try:
        exec(compile(source, "<string>", "exec"), main.__dict__)
    except SystemExit as exc:
        if exc.code is not None and exc.code != 0:
            result = _describe(exc)
    except BaseException as exc:  # the user's exception is the result, whatever it is
        result = _describe(exc)
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except BaseException:
                pass
    with open(result_path, "w", encoding="utf-8") as fh:
        json.dump(result, fh)


if __name__ == "__main__":
    _main()
