"""Interpreter-wide state around a session's names, part of the remote wrapper's text (sent
ahead of ``remote_state.py``, never imported): what ``random``, ``sys.path``, the recursion
limit and the ``decimal`` context were, carried to the next submission, and the differences a
cell made that cannot be carried, noted by that cell.  Python 3.8+, standard library only.
"""


def __orgo_runtime(ns, ast):  # noqa: N802 - reserved name, removed from __main__ with the wrapper's
    """``ast``: ``remote_source``'s stand-in for the module (importing ``ast`` costs milliseconds)."""
    import marshal
    import sys

    start_path, start_limit = list(sys.path), sys.getrecursionlimit()

    class Runtime:
        """One instance per submission: ``restore`` before the cell, ``save`` and ``notes`` after."""

        @staticmethod
        def restore(blob):
            try:  # "M" + marshal data, "P" + a pickle (a decimal context, numpy's state), or empty
                if blob[:1] == b"M":
                    runtime = marshal.loads(blob[1:])
                elif blob:
                    runtime = __import__("pickle").loads(blob[1:] if blob[:1] == b"P" else blob)
                else:
                    runtime = {}
            except BaseException:  # noqa: B036 - a module gone since: start from defaults
                runtime = {}
            for key, value in runtime.items():
                try:
                    if key == "random":
                        __import__("random").setstate(value)
                    elif key == "numpy":
                        __import__("numpy").random.set_state(value)
                    elif key == "path":
                        sys.path[:] = value
                    elif key == "limit":
                        sys.setrecursionlimit(value)
                    elif key == "decimal":
                        __import__("decimal").setcontext(value)
                except BaseException:  # noqa: B036,S110 - a runtime setting that no longer applies
                    pass

        @staticmethod
        def save():
            runtime = {}
            if "random" in sys.modules:
                runtime["random"] = sys.modules["random"].getstate()
            if "numpy" in sys.modules:
                try:
                    runtime["numpy"] = sys.modules["numpy"].random.get_state()
                except Exception:  # noqa: S110 - numpy without its random module
                    pass
            if sys.path != start_path:
                runtime["path"] = list(sys.path)
            if sys.getrecursionlimit() != start_limit:
                runtime["limit"] = sys.getrecursionlimit()
            if "decimal" in sys.modules:
                runtime["decimal"] = sys.modules["decimal"].getcontext()
            if not runtime:
                return b""
            try:
                return b"M" + marshal.dumps(runtime, 4)
            except ValueError:
                return b"P" + __import__("pickle").dumps(runtime, protocol=3)

        @staticmethod
        def notes(tree, fresh, noted):
            """Differences this cell made that the next submission cannot reproduce: said here, once."""
            found = []
            for name in fresh:
                value = ns.get(name)
                info = getattr(value, "cache_info", None)
                try:
                    if callable(info) and info().currsize:
                        found.append(("cache:" + name, "%s: the contents of its cache are not kept; each "
                                      "submission starts with it empty" % name))
                except Exception:  # noqa: S110 - a cache_info that is not functools' own
                    pass
            logging = sys.modules.get("logging")
            if logging is not None and (logging.root.handlers or logging.root.level != 30):
                found.append(("logging", "logging configuration is not kept: configure it in each "
                              "submission that logs"))
            for node in ast.walk(tree) if tree is not None else ():
                if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) \
                        and isinstance(node.value, ast.Name) \
                        and isinstance(ns.get(node.value.id), type(sys)):
                    found.append(("attr:%s.%s" % (node.value.id, node.attr), "%s.%s: an attribute set on a "
                                  "module is not kept" % (node.value.id, node.attr)))
                elif isinstance(node, ast.Attribute) and node.attr == "register" \
                        and isinstance(node.value, ast.Name) and node.value.id == "atexit":
                    found.append(("atexit", "atexit: handlers run when this submission ends, "
                                  "not when the session ends"))
                elif isinstance(node, (ast.Import, ast.ImportFrom)):
                    for a in node.names:
                        mod = sys.modules.get(node.module if isinstance(node, ast.ImportFrom) else a.name)
                        path = getattr(mod, "__file__", None) or ""
                        if path and not any(path.startswith(p) for p in
                                            {sys.prefix, sys.base_prefix, sys.exec_prefix} if p) \
                                and "-packages" not in path:
                            found.append(("module:" + mod.__name__, "%s: your module is imported again in "
                                          "every submission (its top-level code runs each time; changes "
                                          "to its globals are not kept)" % mod.__name__))
            notes = []
            for key, text in found:
                if key not in noted:
                    noted.append(key)
                    notes.append(text)
            return notes

    return Runtime
