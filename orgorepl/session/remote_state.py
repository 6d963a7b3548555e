"""The session-state half of the remote wrapper: restore a namespace before a cell, save it after.

Like ``remote_python.py`` this file is never imported by orgorepl: its text is sent ahead of that
one's, and ``__orgo_main`` takes ``__orgo_state`` out of ``__main__`` and calls it with globals of
its own.  Python 3.8+, standard library only.

Why it is shaped so (see ../../docs/sessions.md):

- One **journal** (``journal.json``) lists what the session made, in the order it made it:
  statements to re-run (imports, ``def``, ``class``, and ``NAME = call(...)`` when the call made a
  class, ``TypeVar`` or ``NewType`` that pickle can only store by reference) and values to
  unpickle, interleaved.  Rebuilding in that order is what lets ``def f(n=N)`` or
  ``class Board: cells = [0] * SIZE`` see ``N`` and ``SIZE``; a name bound again moves to the end
  (its new place), so ``@dataclass class S`` after an earlier ``class S`` is rebuilt after it.
  Anything that still fails for want of something later is retried after the rest (a fixpoint).
- All values go into **one pickle stream** written by one Pickler (its memo is shared), one
  ``dump`` per name, so ``b = a`` stays ``a is b`` and parent/child links survive; each name's
  offset is recorded so one that fails to load does not take the others with it.
- What a rebuilt function or class gained after its definition (``f.calls = 3``, ``K.n += 1``,
  a mutable default that grew, defaults evaluated from a value since rebound) is pickled too and
  put back after the rebuild.  ``random``'s state, ``sys.path``, the recursion limit and the
  ``decimal`` context travel in ``runtime.pkl``.
- What cannot be carried is noted in the trailer by the cell that made the difference (an
  ``lru_cache`` filled, logging configured, an attribute set on a module, a user module imported,
  an ``atexit`` handler), once per session.
"""


def __orgo_state(P, ns, sd, users, source_lines, runtime):  # noqa: N802 - reserved name, removed from __main__
    import ast
    import io
    import json
    import linecache
    import marshal
    import os
    import pickle
    import sys
    import types


    # Functions pickle cannot find by name (closures, lambdas, a def inside a block or inside
    # another function) go by value: their code by ``marshal`` (the same interpreter reads it
    # back), their closure cells by value with a shared memo, so two closures that share a
    # variable still share it.  The makers live in a module of their own, found by reference.
    helper = sys.modules.get("_orgorepl_state") or types.ModuleType("_orgorepl_state")
    sys.modules["_orgorepl_state"] = helper

    def make_fn(code, name, closure):
        return types.FunctionType(marshal.loads(code), ns, name, None, closure)

    def set_fn(fn, state):
        fn.__defaults__, fn.__kwdefaults__, fn.__qualname__ = state[0], state[1], state[2]
        fn.__dict__.update(state[3])

    def make_cell():
        return types.CellType()

    def set_cell(cell, content):
        cell.cell_contents = content

    for maker in (make_fn, set_fn, make_cell, set_cell):
        maker.__module__, maker.__qualname__ = "_orgorepl_state", maker.__name__
        setattr(helper, maker.__name__, maker)
    S = {"lost": {}, "loaded": {}, "journal": [], "manifest": {}, "noted": [], "flags": 0, "skipped": set()}
    PROTOCOL = 3  # explicit memo indices: a name that is skipped or retried shifts no other's
    dynamic = {"globals", "vars", "dir", "locals", "eval", "exec", "__import__", "__main__", "breakpoint", "help"}

    def needed(journal):
        """Names this cell can reach, so a large value it cannot reach stays on disk unread; None
        when that cannot be known (``globals()``, ``import *``, a value holding code of the session's)."""
        try:
            todo = [n.id if isinstance(n, ast.Name) else n.name for n in ast.walk(ast.parse(P["code"]))
                    if isinstance(n, (ast.Name, ast.alias))]
        except Exception:
            return set()
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
                return f.read()
        except (OSError, ValueError):
            return default

    def write(name, data):
        path = os.path.join(sd, name)
        tmp = "%s.tmp.%d" % (path, os.getpid())
        with open(tmp, "wb" if isinstance(data, bytes) else "w") as f:
            f.write(data)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)

    class Reader:
        """A file for the Unpickler whose position we set: no read-ahead, so each name's bytes
        start exactly at its recorded offset, and a name that fails leaves the others loadable."""

        def __init__(self, data):
            self.data, self.pos = memoryview(data), 0

        def read(self, n=-1):
            end = len(self.data) if n < 0 else self.pos + n
            chunk = bytes(self.data[self.pos:end])
            self.pos += len(chunk)
            return chunk

        def readline(self):
            end = bytes(self.data[self.pos:self.pos + 65536]).find(b"\n")
            return self.read(-1 if end < 0 else end + 1)

    def future_flags(journal):
        """``from __future__ import annotations`` in an earlier cell applies to the definitions
        rebuilt from later ones, and to later cells, as in one interpreter."""
        import __future__

        flags = 0
        for e in journal:
            if e["kind"] == "import" and e["src"].lstrip().startswith("from __future__ import"):
                for n in e["names"]:
                    flags |= getattr(getattr(__future__, n, None), "compiler_flag", 0)
        return flags

    def rebuild(entry):
        where = "<cell defining %s>" % ", ".join(entry["names"])
        lines = ["\n"] * (entry.get("line", 1) - 1) + source_lines(entry["src"])
        linecache.cache[where] = (len(entry["src"]), None, lines, where)
        exec(compile("".join(lines), where, "exec", S["flags"], True), ns)

    def restore():
        """Re-run statements and load values in journal order, retrying what failed for want of
        something that comes later until nothing more succeeds."""
        try:
            S["journal"] = json.loads(read("journal.json") or "[]")
            S["manifest"] = json.loads(read("manifest.json") or "{}")
            S["noted"] = list(json.loads(read("noted.json") or "[]"))
        except (ValueError, AttributeError):
            S["journal"], S["manifest"] = [], {}
        if not S["journal"] and read("defs.json") is not None:  # saved by an orgorepl before issue 14
            S["lost"].update((n, "saved by an earlier orgorepl in a form this one does not read; run its "
                              "cell again") for n, i in S["manifest"].items() if i.get("status") != "lost")
        S["flags"] = future_flags(S["journal"])
        need = needed(S["journal"])
        blob = read("values.pkl", b"", True) or b""
        reader = Reader(blob)
        unpickler = pickle.Unpickler(reader)
        attrs = []
        pending, errors = list(S["journal"]), {}
        out, err = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = open(os.devnull, "w")  # a class body's print must not repeat
        try:
            progress = True
            while pending and progress:
                progress, rest = False, []
                for e in pending:
                    try:
                        if "file" in e and need is not None and e["names"][0] not in need:
                            S["skipped"].add(e["names"][0])  # a large value this cell cannot reach
                        elif "file" in e:
                            ns[e["names"][0]] = S["loaded"][e["names"][0]] = \
                                pickle.loads(read(e["file"], b"", True))
                        elif e["kind"] in ("value", "attrs"):
                            reader.pos = e["off"]
                            value = unpickler.load()[1]  # (the memo marker, the value)
                            if e["kind"] == "attrs":
                                attrs.append((e["names"][0], value))
                            else:
                                ns[e["names"][0]] = S["loaded"][e["names"][0]] = value
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
        return S["lost"], S["loaded"], S["flags"]

    def get_attrs(obj):
        """What a function or class gained after its definition, as a picklable dict (or None)."""
        if isinstance(obj, types.FunctionType):
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
            return getattr(obj, "__qualname__", None) == name and isinstance(code, types.CodeType) \
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
            elif isinstance(node, (ast.Import, ast.ImportFrom)) or isinstance(value, types.ModuleType):
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
                if isinstance(value, types.ModuleType):
                    yield name, {"names": [name], "kind": "import", "src": "import %s as %s\n" % (value.__name__, name)}
                else:
                    yield name, {"names": [name], "kind": "value"}

    def save(tree, src_lines, error, changed):
        """Write the journal, the values (one stream, shared memo), the manifest; return what the
        trailer says: names lost now, notes, assigned names."""
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
        journal = [e for e in journal if e["kind"] != "attrs"]
        journal.extend(fresh.values())
        owner = {}
        for e in journal:
            for n in e["names"]:
                owner[n] = e
        journal = [e for e in journal if e["kind"] != "value" or owner[e["names"][0]] is e]

        by_name = {id(ns[n]) for e in journal if e["kind"] in ("def", "class") for n in e["names"] if n in ns}

        class Pickler(pickle.Pickler):
            code = False  # set when what it pickled holds functions or instances of the session's

            def reducer_override(self, obj):
                if type(obj) in (types.FunctionType, types.CellType) or type(obj).__module__ == "__main__":
                    self.code = True
                if type(obj) is types.FunctionType and id(obj) not in by_name \
                        and users(obj.__code__.co_filename):
                    return (make_fn, (marshal.dumps(obj.__code__), obj.__name__, obj.__closure__),
                            (obj.__defaults__, obj.__kwdefaults__, obj.__qualname__, dict(vars(obj))),
                            None, None, set_fn)
                if type(obj) is types.CellType:
                    try:
                        return make_cell, (), obj.cell_contents, None, None, set_cell
                    except ValueError:  # an empty cell (a variable not yet assigned)
                        return make_cell, ()
                return NotImplemented

        buf = io.BytesIO()
        pickler = Pickler(buf, protocol=PROTOCOL)
        alone = []  # large values pickled on their own: (entry, their memo's ids, bytes)
        manifest, lost_now, kept_journal, keep_alive = {}, {}, [], []
        old = S["manifest"]

        def dump(value):
            """Dump into the shared stream; on failure take the failed part out of the memo."""
            marker = []
            keep_alive.append(marker)
            at = buf.tell()
            pickler.code = False
            try:
                pickler.dump((marker, value))
            except BaseException:
                memo = pickler.memo.copy()
                cut = memo.get(id(marker), (len(memo),))[0]
                pickler.memo = {k: v for k, v in memo.items() if v[0] < cut}
                buf.seek(at)
                buf.truncate()
                raise
            return at, buf.tell() - at

        def lose(name, reason, kind):
            manifest[name] = {"type": kind, "status": "lost", "reason": reason}
            if (old.get(name) or {}).get("status") != "lost" or changed(name):
                lost_now[name] = reason

        attrs = []
        for e in journal:
            name = e["names"][0]
            if e["kind"] != "value":
                kept_journal.append(e)
                for n in e["names"]:
                    if n in ns:
                        manifest[n] = {"type": type(ns[n]).__name__, "status": "rebuilt"}
                if e["kind"] in ("def", "class"):
                    attrs.append(name)
                continue
            if name in S["skipped"]:
                kept_journal.append(e)
                manifest[name] = old.get(name) or {"type": "?", "status": "kept"}
                continue
            value = ns[name]
            kind = type(value).__name__
            try:
                large = (old.get(name) or {}).get("size", 0) >= 1 << 20
                try:
                    large = large or (isinstance(value, (list, dict, set, frozenset, tuple, str, bytes))
                                      and len(value) >= 100000)
                except Exception:  # noqa: S110 - a len() that fails: not known to be large
                    pass
                if large and "file" in e and S["loaded"].get(name, lose) is value and not changed(name) \
                        and immutable(value):
                    kept_journal.append(e)  # unchanged: its file is still right
                    manifest[name] = {"type": kind, "status": "kept", "size": e.get("len", 0)}
                    continue
                if large:
                    one = io.BytesIO()
                    alone_pickler = Pickler(one, protocol=PROTOCOL)
                    alone_pickler.dump(value)
                    entry = {"names": [name], "kind": "value", "file": "v.%s.pkl" % name,
                             "len": one.tell(), "code": alone_pickler.code}
                    alone.append((entry, set(alone_pickler.memo.copy()), one.getvalue(), value))
                    kept_journal.append(entry)
                    manifest[name] = {"type": kind, "status": "kept", "size": one.tell()}
                    continue
                if isinstance(value, type) and made_here(value, name):
                    reason = "a class made inside a block or an expression: make it at the top " \
                             "level of a cell (a class statement, or NAME = call(...) alone) to keep it"
                else:
                    off, size = dump(value)
                    kept_journal.append(dict(e, off=off, len=size, code=pickler.code))
                    manifest[name] = {"type": kind, "status": "kept", "size": size}
                    continue
            except BaseException as ex:  # noqa: B036 - any pickling failure loses this name only
                first = str(ex).splitlines()[0] if str(ex) else ""
                reason = "cannot be pickled (%s: %s)" % (type(ex).__name__, first)
                if "not the same object" in first:
                    reason = "its class was defined again since it was made; make it again to keep it"
            lose(name, reason, kind)
        for name in attrs:
            state = get_attrs(ns.get(name))
            if state is not None:
                try:
                    off, size = dump(state)
                    kept_journal.append({"names": [name], "kind": "attrs", "off": off, "len": size})
                except BaseException:  # noqa: B036,S110 - its attributes stay as the definition makes them
                    pass
        shared = set(pickler.memo.copy())
        for entry, ids, data, value in alone:
            others = set().union(*[other[1] for other in alone if other[0] is not entry])
            if ids & shared or ids & others:  # it shares objects with other names: into the one stream
                kept_journal.remove(entry)
                off, size = dump(value)
                kept_journal.append({"names": entry["names"], "kind": "value", "off": off, "len": size,
                                     "code": True})
            else:
                write(entry["file"], data)
        for name, reason in S["lost"].items():
            if name not in manifest:
                manifest[name] = {"type": "?", "status": "lost", "reason": reason}
                lost_now[name] = reason
        for name, info in old.items():
            if name not in manifest and name not in ns and info.get("status") == "lost":
                manifest[name] = info

        notes = runtime.notes(tree, [n for n in owner if n in ns], S["noted"])
        total = sum(m.get("size", 0) for m in manifest.values())
        before = sum(m.get("size", 0) for m in old.values())
        limit = 50 * 1024 * 1024
        if before < limit <= total:
            notes.append("the session now holds %d MB of values; a submission loads and saves every "
                         "value it can reach (about 16 ms per MB): del what you no longer need" % (total >> 20))
        write("values.pkl", buf.getvalue())
        write("runtime.pkl", runtime.save())
        write("journal.json", json.dumps(kept_journal))
        old_dir = os.path.join(sd, "values")  # an earlier orgorepl's form: said once above, then gone
        for fname in ["../defs.json"] + (os.listdir(old_dir) if os.path.isdir(old_dir) else []):
            try:
                os.remove(os.path.join(old_dir, fname))
            except OSError:
                pass
        files = {e.get("file") for e in kept_journal}
        for fname in os.listdir(sd):
            if fname.startswith("v.") and fname.endswith(".pkl") and fname not in files:
                try:
                    os.remove(os.path.join(sd, fname))
                except OSError:
                    pass
        write("manifest.json", json.dumps(manifest))
        if notes:
            write("noted.json", json.dumps(S["noted"]))
        return {"lost": lost_now, "notes": notes}

    return restore, save, read, write
