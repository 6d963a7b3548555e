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

    modules = {"random": "random", "numpy": "numpy", "decimal": "decimal"}  # a state's key -> its module
    kept = {}  # the states of modules this submission has not imported: saved again as they were

    def state_of(key, module):
        """A module's state as plain data (marshal, no pickle: reading it back imports nothing)."""
        if key == "random":
            return module.getstate()
        if key == "numpy":
            state = module.random.get_state()
            return (state[0], state[1].tolist()) + tuple(state[2:]) if isinstance(state, tuple) else None
        context = module.getcontext()
        return {"prec": context.prec, "rounding": context.rounding, "Emin": context.Emin, "Emax": context.Emax,
                "capitals": context.capitals, "clamp": context.clamp,
                "flags": [k.__name__ for k, on in context.flags.items() if on],
                "traps": [k.__name__ for k, on in context.traps.items() if on]}

    def put_state(key, value, module):
        if key == "random":
            module.setstate(value)
        elif key == "numpy":
            module.random.set_state(value)
        elif isinstance(value, dict):
            fields = dict(value, flags=[getattr(module, n) for n in value["flags"]],
                          traps=[getattr(module, n) for n in value["traps"]])
            module.setcontext(module.Context(**fields))
        else:  # a Context, from an earlier orgorepl's pickle
            module.setcontext(value)

    class Runtime:
        """One instance per submission: ``restore`` before the cell, ``save`` and ``notes`` after.
        A module's state (random, numpy, decimal) is put back only if the submission imports the
        module, right after its import: ``print(1)`` in a session that imported numpy stays cheap."""

        @staticmethod
        def restore(blob):
            try:  # "M" + marshal data, "P" + a pickle (an earlier orgorepl's), or empty
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
                    if key in modules:
                        kept[key] = value
                        ast.when_imported(modules[key], lambda m, k=key, v=value: put_state(k, v, m))
                    elif key == "path":
                        sys.path[:] = value
                    elif key == "limit":
                        sys.setrecursionlimit(value)
                except BaseException:  # noqa: B036,S110 - a runtime setting that no longer applies
                    pass

        @staticmethod
        def save():
            runtime = {}
            for key, name in modules.items():
                try:
                    state = state_of(key, sys.modules[name]) if name in sys.modules else kept.get(key)
                except Exception:  # noqa: S110 - numpy without its random module, a context it refuses
                    state = kept.get(key)
                if state is not None:
                    runtime[key] = state
            if sys.path != start_path:
                runtime["path"] = list(sys.path)
            if sys.getrecursionlimit() != start_limit:
                runtime["limit"] = sys.getrecursionlimit()
            if not runtime:
                return b""
            try:
                return b"M" + marshal.dumps(runtime, 4)
            except ValueError:
                return b"P" + __import__("pickle").dumps(runtime, protocol=3)

        @staticmethod
        def notes(tree, fresh, noted, text=""):
            """Differences this cell made that the next submission cannot reproduce: said here, once.
            ``tree`` is None for a cell run as one expression: only a call can matter then."""
            found = []
            if tree is None and "register" in text:
                try:
                    tree = ast.parse(text)
                except Exception:  # noqa: S110 - it ran, so it parses; nothing to say if not
                    pass
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
                            found.append(("module:" + mod.__name__, "%s: your module is imported again by "
                                          "each submission that uses it (its top-level code runs then; "
                                          "changes to its globals are not kept)" % mod.__name__))
            notes = []
            for key, text in found:
                if key not in noted:
                    noted.append(key)
                    notes.append(text)
            return notes

    return Runtime
