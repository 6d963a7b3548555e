"""The session-state half of the remote wrapper: restore a namespace before a cell, save it after.

Like ``remote_python.py`` this file is never imported by orgorepl: its text is sent ahead of that
one's, and ``__orgo_main`` takes ``__orgo_state`` out of ``__main__`` and calls it with globals of
its own.  Python 3.8+, standard library only.

Why it is shaped so (see ../../docs/sessions.md):

- One **journal** (``journal.m``, marshal: reading it imports nothing) lists what the session
  made, in the order it made it: statements to re-run (imports, ``def``, ``class``, and
  ``NAME = call(...)`` when the call made a class, ``TypeVar`` or ``NewType`` that pickle can
  only store by reference) and values to unpickle, interleaved.  Rebuilding in that order is what lets ``def f(n=N)`` or
  ``class Board: cells = [0] * SIZE`` see ``N`` and ``SIZE``; a name bound again moves to the end
  (its new place), so ``@dataclass class S`` after an earlier ``class S`` is rebuilt after it.
  Anything that still fails for want of something later is retried after the rest (a fixpoint).
- The values a save writes go into **one segment** written by one Pickler (its memo is shared),
  one ``dump`` per name, so ``b = a`` stays ``a is b`` and parent/child links survive; each
  name's offset is recorded so one that fails to load does not take the others with it.  Plain
  data goes as marshal, small plain data into the journal itself.  A segment is written once;
  the values of all segments are loaded together (all or none, so sharing holds), and not at all
  when the cell can reach none of them (``needed``): unchanged values are never rewritten.
- Imports a cell cannot reach are not run (numpy costs 100 ms to import; a user module's
  top-level code would run again).
- What a rebuilt function or class gained after its definition (``f.calls = 3``, ``K.n += 1``,
  a mutable default that grew, defaults evaluated from a value since rebound) is pickled too and
  put back after the rebuild.  ``random``'s and numpy's state, ``sys.path``, the recursion
  limit and the ``decimal`` context travel in ``runtime.pkl`` (put back when the module is imported).
- What cannot be carried is noted in the trailer by the cell that made the difference (an
  ``lru_cache`` filled, logging configured, an attribute set on a module, a user module imported,
  an ``atexit`` handler), once per session.
"""


def __orgo_state(P, ns, sd, users, ast, runtime, values):  # noqa: N802 - reserved name, removed from __main__
    """``ast``: ``remote_source``'s stand-in (no ``import ast``); ``values``: ``remote_values``'s maker."""
    import marshal
    import os
    import sys

    module_type, function_type, code_type = type(sys), type(lambda: 0), type((lambda: 0).__code__)
    S = {"lost": {}, "loaded": {}, "journal": [], "manifest": {}, "noted": [], "flags": 0, "skipped": set(),
         "files": {}, "stream": True, "kept_attrs": set(), "need": None}
    dynamic = {"globals", "vars", "dir", "locals", "eval", "exec", "__import__", "__main__", "breakpoint", "help"}

    def needed(journal):
        """Names this cell can reach, so a large value it cannot reach stays on disk unread; None
        when that cannot be known (``globals()``, ``import *``, a value holding code of the session's)."""
        try:  # every name its code objects load, store or import (attributes too: a superset), no tree
            codes, todo = [compile(P["code"], "<cell>", "exec", S["flags"], True)], []
        except Exception:
            return set()
        while codes:
            code = codes.pop()
            todo.extend(code.co_names)
            codes.extend(c for c in code.co_consts if isinstance(c, code_type))
        entry_of = {n: e for e in journal for n in e["names"]}
        todo += [n for e in journal for n in e.get("deps", ())]  # every definition is rebuilt
        need = set()
        while todo:
            n = todo.pop()
            if n in dynamic or n == "*":
                return None
            if n in need or n not in entry_of:
                continue
            need.add(n)
            e = entry_of[n]
            if e.get("code"):
                return None
            todo.extend(e.get("uses", ()))
        return need

    def names_in(src, kind):
        """(names a definition uses anywhere, names it needs when it is made) from its source."""
        try:
            node = ast.parse(src).body[0]
        except Exception:
            return [], []
        uses = sorted({n.id for n in ast.walk(node) if isinstance(n, ast.Name)})
        if kind != "def":
            return uses, uses  # a class body and a call run when made
        parts = list(node.decorator_list) + [node.returns] + node.args.defaults + list(node.args.kw_defaults) \
            + [a.annotation for a in node.args.args + node.args.kwonlyargs + node.args.posonlyargs]
        return uses, sorted({n.id for p in parts if p is not None for n in ast.walk(p) if isinstance(n, ast.Name)})

    def immutable(obj, depth=0):
        if obj is None or isinstance(obj, (bool, int, float, complex, str, bytes, range)):
            return True
        return isinstance(obj, (tuple, frozenset)) and depth < 3 and all(immutable(x, depth + 1) for x in obj)

    def read(name, default=None, binary=False):
        try:
            with open(os.path.join(sd, name), "rb" if binary else "r") as f:
                data = f.read()
        except (OSError, ValueError):
            return default
        S["files"][name] = data
        return data

    def write(name, data):
        """Replace a file atomically, unless it holds ``data`` already (as this run read it)."""
        if S["files"].get(name) == data:
            return
        path = os.path.join(sd, name)
        tmp = "%s.tmp.%d" % (path, os.getpid())
        with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode("utf-8", "surrogateescape"))
        os.replace(tmp, path)
        S["files"][name] = data

    def write_data(name, data):
        """Write a list or dict as ``NAME.m`` unless it holds the same data: marshal's bytes for equal
        data differ with reference counts, so compare what they mean."""
        try:
            if marshal.loads(S["files"][name + ".m"]) == data:
                return
        except Exception:  # noqa: S110 - not read this run, or unreadable: write it
            pass
        write(name + ".m", marshal.dumps(data, 4))

    def read_data(name):
        """A list or dict the session keeps (``NAME.m``, marshal), or the JSON an orgorepl before
        it wrote (``NAME.json``); None when there is neither."""
        data = read(name + ".m", None, True)
        if data is not None:
            return marshal.loads(data)
        text = read(name + ".json")
        if text is None:
            return None
        import json

        return json.loads(text)

    load, plain_segment, Stream, alone = values(ns, users, read, write)

    def future_flags(journal):
        """``from __future__ import annotations`` in an earlier cell applies to the definitions
        rebuilt from later ones, and to later cells, as in one interpreter."""
        flags = 0
        for e in journal:
            if e["kind"] == "import" and e["src"].lstrip().startswith("from __future__ import"):
                import __future__

                for n in e["names"]:
                    flags |= getattr(getattr(__future__, n, None), "compiler_flag", 0)
        return flags

    def rebuild(entry):
        where = "<cell defining %s>" % ", ".join(entry["names"])
        lines = ["\n"] * (entry.get("line", 1) - 1) + ast.source_lines(entry["src"])
        ast.remember(where, lines)
        exec(compile("".join(lines), where, "exec", S["flags"], True), ns)

    def restore():
        """Re-run statements and load values in journal order, retrying what failed for want of
        something that comes later until nothing more succeeds.  The values of the shared segments
        are loaded all or none: none when the cell can reach none of them."""
        try:
            S["journal"] = read_data("journal") or []
            S["manifest"] = read_data("manifest") or {}
            S["noted"] = list(read_data("noted") or [])
        except (ValueError, EOFError, TypeError, AttributeError):
            S["journal"], S["manifest"] = [], {}
        if not S["journal"] and read("defs.json") is not None:  # saved by an orgorepl before issue 14
            S["lost"].update((n, "saved by an earlier orgorepl in a form this one does not read; run its "
                              "cell again") for n, i in S["manifest"].items() if i.get("status") != "lost")
        S["flags"] = future_flags(S["journal"])
        need = S["need"] = needed(S["journal"])
        shared = [e for e in S["journal"] if e["kind"] in ("value", "attrs") and "file" not in e]
        S["stream"] = need is None or any(e["names"][0] in need for e in shared)
        attrs = []
        pending, errors = [], {}
        for e in S["journal"]:
            if e["kind"] in ("value", "attrs") and ("file" in e and need is not None and e["names"][0] not in need
                                                   or "file" not in e and not S["stream"]):
                # a value this cell cannot reach stays on disk, as it is
                (S["skipped"] if e["kind"] == "value" else S["kept_attrs"]).add(e["names"][0])
            elif e["kind"] == "import" and need is not None and e["names"][0][0] != "*" \
                    and not any(n in need for n in e["names"]):
                S["skipped"].update(e["names"])  # an import this cell cannot reach is not run (numpy: 100 ms)
            else:
                pending.append(e)
        out, err = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = open(os.devnull, "w")  # a class body's print must not repeat
        try:
            progress = True
            while pending and progress:
                progress, rest = False, []
                for e in pending:
                    try:
                        if e["kind"] == "attrs":
                            attrs.append((e["names"][0], load(e)))
                        elif e["kind"] == "value":
                            ns[e["names"][0]] = S["loaded"][e["names"][0]] = load(e)
                        else:
                            rebuild(e)
                        progress = True
                    except BaseException as ex:  # noqa: B036 - a user's class body may raise anything
                        errors[id(e)] = ex
                        rest.append(e)
                pending = rest
        finally:
            sys.stdout.close()
            sys.stdout, sys.stderr = out, err
        for e in pending:
            why = errors.get(id(e))
            verb = "restored" if e["kind"] in ("value", "attrs") else "rebuilt"
            for n in e["names"]:
                S["lost"][n] = "could not be %s: %s: %s" % (verb, type(why).__name__, why)
        for name, state in attrs:
            put_attrs(ns.get(name), state)
        runtime.restore(read("runtime.pkl", b"", True))
        return S["lost"], S["loaded"], S["flags"], S["manifest"]

    def get_attrs(obj):
        """What a function or class gained after its definition, as a picklable dict (or None)."""
        if isinstance(obj, function_type):
            state = {"d": obj.__defaults__, "k": obj.__kwdefaults__,
                     "a": {k: v for k, v in vars(obj).items() if k != "__wrapped__"}}
            return state if state["d"] or state["k"] or state["a"] else None
        if isinstance(obj, type) and type(obj).__name__ not in ("EnumMeta", "EnumType"):
            data = {k: v for k, v in vars(obj).items()
                    if not k.startswith("__") and not hasattr(type(v), "__get__")}
            return {"c": data} if data else None
        return None

    def put_attrs(obj, state):
        try:
            if "c" in state:
                for k, v in state["c"].items():
                    if obj.__dict__.get(k, put_attrs) is not v:
                        setattr(obj, k, v)
                return
            obj.__defaults__, obj.__kwdefaults__ = state["d"], state["k"]
            for k, v in state["a"].items():
                setattr(obj, k, v)
        except Exception:  # noqa: S110 - an attribute the rebuilt object refuses stays as rebuilt
            pass

    def bound_names(stmt):
        """Names a top-level statement binds, in order, outside nested scopes."""
        found = []

        def visit(node):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                found.append(node.name)
                for d in getattr(node, "decorator_list", []):
                    visit(d)
                return
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                found.extend(a.asname or (a.name.split(".")[0] if isinstance(node, ast.Import) else a.name)
                             for a in node.names if a.name != "*")
                return
            if isinstance(node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
                return
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                found.append(node.id)
            elif type(node).__name__ == "NamedExpr":
                found.append(node.target.id)
            for child in ast.iter_child_nodes(node):
                visit(child)

        visit(stmt)
        return found

    def made_here(obj, name):
        try:
            if isinstance(obj, type):
                return getattr(obj, "__module__", None) == "__main__" and obj.__qualname__ == name
            for _ in range(20):
                inner = getattr(obj, "__wrapped__", None)
                if inner is None:
                    break
                obj = inner
            code = getattr(obj, "__code__", None)
            return getattr(obj, "__qualname__", None) == name and isinstance(code, code_type) \
                and users(code.co_filename)
        except Exception:
            return False

    def by_reference(value, name):
        """True for a value that pickle stores as ``__main__.NAME`` (a class made by a call, a
        TypeVar, a NewType): it must be made again by its own statement."""
        try:
            if isinstance(value, type):
                return value.__module__ == "__main__" and value.__qualname__ == name
            return type(value).__module__ == "typing" and getattr(value, "__name__", None) == name
        except Exception:
            return False

    def events(tree, text, lines, changed, error, error_line):
        """This cell's bindings, in the order its statements made them: (name, entry) pairs."""
        last = {}
        for node in (tree.body if tree is not None else []):
            start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
            for name in bound_names(node):
                last[name] = (node, start)
        order = sorted(last.items(), key=lambda kv: kv[1][0].lineno)
        seen = set()
        for node in (tree.body if tree is not None else []):
            if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names) \
                    and (error is None or node.lineno < error_line):
                yield "*" + (node.module or ""), {"names": ["*" + (node.module or "")], "kind": "import",
                                                  "src": ast.get_source_segment(text, node) + "\n"}
        for name, (node, start) in order:
            if not changed(name):
                continue
            seen.add(name)
            value = ns[name]
            entry = {"names": [name], "kind": "value"}
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and made_here(value, name):
                entry = {"names": [name], "kind": "class" if isinstance(node, ast.ClassDef) else "def",
                         "line": start, "src": "".join(lines[start - 1:node.end_lineno])}
            elif isinstance(node, (ast.Import, ast.ImportFrom)) or isinstance(value, module_type):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    src = ast.get_source_segment(text, node) + "\n"
                elif value.__name__ != name:
                    src = "import %s as %s\n" % (value.__name__, name)
                else:
                    src = "import %s\n" % name
                entry = {"names": [name], "kind": "import", "src": src}
            elif isinstance(node, (ast.Assign, ast.AnnAssign)) and by_reference(value, name) \
                    and bound_names(node) == [name]:
                entry = {"names": [name], "kind": "call", "line": start,
                         "src": "".join(lines[start - 1:node.end_lineno])}
            if entry["kind"] in ("def", "class", "call"):
                entry["uses"], entry["deps"] = names_in(entry["src"], entry["kind"])
            yield name, entry
        for name in ns:  # bound where the source does not say (a function's ``global``, globals())
            if name not in seen and not name.startswith("__") and changed(name):
                value = ns[name]
                if isinstance(value, module_type):
                    yield name, {"names": [name], "kind": "import", "src": "import %s as %s\n" % (value.__name__, name)}
                else:
                    yield name, {"names": [name], "kind": "value"}

    def save(tree, src_lines, error, changed):
        """Write the journal, the values this save must write (see ``remote_values.py``), the
        manifest; return what the trailer says: names lost now, notes."""
        text = "".join(src_lines)
        tb = getattr(error, "__traceback__", None)
        while tb is not None and tb.tb_frame.f_code.co_filename != "<cell>":
            tb = tb.tb_next
        fresh = dict(events(tree, text, src_lines, changed, error, tb.tb_lineno if tb else 0))
        journal = []
        for e in S["journal"]:
            names = [n for n in e["names"] if n not in fresh and (n in ns or n[0] == "*" or n in S["skipped"])]
            if names and e["kind"] in ("value", "attrs") and e["names"] != names:
                continue
            if names:
                journal.append(dict(e, names=names))
        # a definition's attributes are saved again unless they stayed on disk unread (kept_attrs)
        journal = [e for e in journal if e["kind"] != "attrs" or e["names"][0] in S["kept_attrs"]]
        journal.extend(fresh.values())
        owner = {}
        for e in journal:
            for n in e["names"]:
                owner[n] = e
        journal = [e for e in journal if e["kind"] != "value" or owner[e["names"][0]] is e]

        by_name = {id(ns[n]) for e in journal if e["kind"] in ("def", "class") for n in e["names"] if n in ns}
        manifest, lost_now, kept_journal = {}, {}, []
        todo, large, attrs = [], [], []  # (entry, value) to write into a new segment; large ones on their own
        old = S["manifest"]

        def lose(name, reason, kind):
            manifest[name] = {"type": kind, "status": "lost", "reason": reason}
            if (old.get(name) or {}).get("status") != "lost" or changed(name):
                lost_now[name] = reason

        def why(ex):
            first = str(ex).splitlines()[0] if str(ex) else ""
            if "not the same object" in first:
                return "its class was defined again since it was made; make it again to keep it"
            return "cannot be pickled (%s: %s)" % (type(ex).__name__, first)

        for e in journal:
            name = e["names"][0]
            if e["kind"] != "value":
                kept_journal.append(e)
                for n in e["names"]:
                    if n in ns and e["kind"] != "attrs":
                        manifest[n] = {"type": type(ns[n]).__name__, "status": "rebuilt"}
                    elif n in S["skipped"]:
                        manifest[n] = old.get(n) or {"type": "module", "status": "rebuilt"}
                if e["kind"] in ("def", "class") and name not in S["kept_attrs"]:
                    state = get_attrs(ns.get(name))
                    if state is not None:  # after the values: memo references point backwards
                        attrs.append(({"names": [name], "kind": "attrs"}, state))
                continue
            if name in S["skipped"] and name not in ns:  # not loaded, not bound since (``_`` can be)
                kept_journal.append(e)
                manifest[name] = old.get(name) or {"type": "?", "status": "kept"}
                continue
            value = ns[name]
            kind = type(value).__name__
            entry = {"names": [name], "kind": "value"}
            big = (old.get(name) or {}).get("size", 0) >= 1 << 20
            try:
                big = big or (isinstance(value, (list, dict, set, frozenset, tuple, str, bytes))
                              and len(value) >= 100000)
            except Exception:  # noqa: S110 - a len() that fails: not known to be large
                pass
            if big and "file" in e and S["loaded"].get(name, lose) is value and not changed(name) \
                    and immutable(value):
                kept_journal.append(e)  # unchanged: its file is still right
                manifest[name] = {"type": kind, "status": "kept", "size": e.get("len", 0)}
            elif isinstance(value, type) and made_here(value, name):
                lose(name, "a class made inside a block or an expression: make it at the top level of a "
                     "cell (a class statement, or NAME = call(...) alone) to keep it", kind)
            else:
                kept_journal.append(entry)
                (large if big else todo).append((entry, value))
        todo += attrs
        segment = "seg.%s" % (P.get("token") or os.getpid())
        fields = plain_segment(segment, [v for _, v in todo]) if todo and not large else None
        if fields is not None:  # plain data only: one marshal dump
            for (entry, value), more in zip(todo, fields):  # noqa: B905 - runs on the computer's Python (3.8+: no strict=)
                entry.update(more, len=len(marshal.dumps(value, 4)))
        elif todo or large:
            stream, apart = Stream(segment, by_name), []
            for entry, value in large:
                try:
                    data, ids, code = alone(value, by_name)
                    apart.append((entry, value, data, ids))
                    entry.update(file="v.%s.pkl" % entry["names"][0], len=len(data), code=code)
                except BaseException as ex:  # noqa: B036 - any pickling failure loses this name only
                    kept_journal.remove(entry)
                    lose(entry["names"][0], why(ex), type(value).__name__)
            for entry, value in todo:
                try:
                    entry.update(stream.dump(value))
                except BaseException as ex:  # noqa: B036 - any pickling failure loses this name only
                    if entry["kind"] == "value":
                        kept_journal.remove(entry)
                        lose(entry["names"][0], why(ex), type(value).__name__)
            shared = stream.memo_ids()
            for entry, value, data, ids in apart:
                others = set().union(*[other[3] for other in apart if other[0] is not entry])
                if ids & shared or ids & others:  # it shares objects with other names: into the one stream
                    del entry["file"]
                    entry.update(stream.dump(value), code=True)
                else:
                    write(entry["file"], data)
            stream.finish()
        for entry, _ in todo:
            if entry["kind"] == "value" and "len" in entry:
                manifest[entry["names"][0]] = {"type": type(ns[entry["names"][0]]).__name__,
                                               "status": "kept", "size": entry["len"]}
            elif entry["kind"] == "attrs" and ("seg" in entry or "value" in entry):
                kept_journal.append(entry)
        for entry, value in large:
            if entry in kept_journal:
                manifest[entry["names"][0]] = {"type": type(value).__name__, "status": "kept",
                                               "size": entry["len"]}
        for name, reason in S["lost"].items():
            if name not in manifest:
                manifest[name] = {"type": "?", "status": "lost", "reason": reason}
                lost_now[name] = reason
        for name, info in old.items():
            if name not in manifest and name not in ns and info.get("status") == "lost":
                manifest[name] = info

        notes = runtime.notes(tree, [n for n in owner if n in ns], S["noted"], text if error is None else "")
        total = sum(m.get("size", 0) for m in manifest.values())
        before = sum(m.get("size", 0) for m in old.values())
        limit = 50 * 1024 * 1024
        if before < limit <= total:
            notes.append("the session now holds %d MB of values; a submission loads and saves every "
                         "value it can reach (about 16 ms per MB): del what you no longer need" % (total >> 20))
        blob, was = runtime.save(), S["files"].get("runtime.pkl") or b""
        if not (blob[:1] == was[:1] == b"M" and marshal.loads(blob[1:]) == marshal.loads(was[1:])):
            write("runtime.pkl", blob)  # unless it means the same (marshal's bytes vary with refcounts)
        write_data("journal", kept_journal)
        files = {e.get("file") or e.get("seg", "values.pkl") for e in kept_journal
                 if e["kind"] in ("value", "attrs") and "value" not in e}
        old_dir = os.path.join(sd, "values")  # an earlier orgorepl's form: said once at restore, then gone
        for fname in os.listdir(old_dir) if os.path.isdir(old_dir) else []:
            try:
                os.remove(os.path.join(old_dir, fname))
            except OSError:
                pass
        for fname in os.listdir(sd):  # the values no entry points to any more, and an earlier orgorepl's files
            if fname not in files and (fname.startswith("seg.") or fname.endswith(".json") or fname == "values.pkl"
                                       or fname.startswith("v.") and fname.endswith(".pkl")):
                try:
                    os.remove(os.path.join(sd, fname))
                except OSError:
                    pass
        write_data("manifest", manifest)
        if notes:
            write_data("noted", S["noted"])
        return {"lost": lost_now, "notes": notes}

    return restore, save, read, write
