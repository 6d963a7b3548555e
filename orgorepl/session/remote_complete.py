"""Completion and introspection, computed where the objects are: on the remote computer.

This file is never imported by orgorepl's client code: its text is shipped, to the HTTP probe
(``session/complete.py`` appends one call and sends it as an /exec of its own) and to the live
agent (a ``complete`` request carries it once).  So: Python 3.8+, standard library only, no
orgorepl imports, and every name here lives in a globals dict of its own, never the user's.

Why evaluation is limited: a probe runs while the user types.  Only dotted names are followed
(``a.b.c``), attributes are read with ``inspect.getattr_static`` first so a property's code does
not run to list a menu, and nothing is called.  Over HTTP nothing is saved afterwards anyway; in
the live interpreter a side effect would stay, which is why the rule is the same for both.
"""

import builtins
import inspect
import json
import keyword
import os
import pkgutil
import re
import sys
import types

IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$")
DOTTED = re.compile(r"((?:[A-Za-z_][A-Za-z0-9_]*\.)*)([A-Za-z_][A-Za-z0-9_]*)?$")
CALLEE = re.compile(r"((?:[A-Za-z_][A-Za-z0-9_]*\.)*[A-Za-z_][A-Za-z0-9_]*)\s*$")
IMPORT = re.compile(r"^\s*(?:import\s+(?:[\w.]+\s*,\s*)*|from\s+)([\w.]*)$")
FROM_IMPORT = re.compile(r"^\s*from\s+([\w.]+)\s+import\s+(?:[\w]+\s*,\s*)*(\w*)$")
SUBSCRIPT = re.compile(r"((?:[A-Za-z_][A-Za-z0-9_]*\.)*[A-Za-z_][A-Za-z0-9_]*)\s*\[\s*$")
MAX_ITEMS = 500
MAX_DOC = 20000


class Missing(Exception):
    """A name or attribute that is not there (or whose reading would run code)."""


def kind_of(value):
    """What the menu says about an entry: function, class, module, or ``instance of X``."""
    if isinstance(value, types.ModuleType):
        return "module"
    if isinstance(value, type):
        return "class"
    if isinstance(value, (property,)):
        return "property"
    if isinstance(value, (staticmethod, classmethod)):
        return "function"
    if inspect.isroutine(value):
        return "function"
    return "instance of %s" % type(value).__name__


def resolve(ns, dotted):
    """The object a dotted name means in ``ns``: attributes read statically where they can be."""
    parts = dotted.split(".")
    try:
        obj = ns[parts[0]]
    except KeyError:
        if hasattr(builtins, parts[0]):
            obj = getattr(builtins, parts[0])
        else:
            raise Missing(parts[0]) from None
    for part in parts[1:]:
        obj = attribute(obj, part)
    return obj


def attribute(obj, name):
    if isinstance(obj, types.ModuleType):
        try:
            return getattr(obj, name)
        except Exception:
            raise Missing(name) from None
    try:
        raw = inspect.getattr_static(obj, name)
    except AttributeError:
        raise Missing(name) from None
    if isinstance(raw, (staticmethod, classmethod)) or inspect.isfunction(raw) or inspect.ismethoddescriptor(raw):
        try:
            return getattr(obj, name)
        except Exception:
            return raw
    if isinstance(raw, property) or hasattr(type(raw), "__get__"):
        if hasattr(type(raw), "__set__") or isinstance(raw, property):
            raise Missing(name)  # a property or data descriptor: its value is computed by code
    return raw


def attr_kind(obj, name):
    try:
        raw = inspect.getattr_static(obj, name)
    except AttributeError:
        return ""
    if isinstance(obj, types.ModuleType):
        return kind_of(raw)
    if isinstance(raw, property):
        return "property"
    return kind_of(raw)


def names_of(ns):
    found = {}
    for name in ns:
        if not name.startswith("__orgo"):
            found[name] = None
    for name in getattr(ns, "extra", {}):
        found.setdefault(name, None)
    return list(found)


def name_kind(ns, name):
    if dict.__contains__(ns, name):
        return kind_of(dict.__getitem__(ns, name))
    return getattr(ns, "extra", {}).get(name, "")


def items(pairs, word):
    """Entries starting with ``word``; names with ``_`` only when ``word`` starts so."""
    out, seen = [], set()
    for text, meta in pairs:
        if text in seen or not text.startswith(word) or text == word and not meta.startswith("argument"):
            continue
        if text.startswith("_") and not word.startswith("_"):
            continue
        seen.add(text)
        out.append([text, meta])
        if len(out) >= MAX_ITEMS:
            break
    return out


def open_string(line):
    """(quote, start of the string's text) if ``line`` ends inside a string literal, else None."""
    i, quote, start = 0, None, 0
    while i < len(line):
        ch = line[i]
        if quote is None:
            if ch == "#":
                return None
            if ch in "'\"":
                triple = line[i:i + 3] == ch * 3
                quote = ch * 3 if triple else ch
                i += len(quote)
                start = i
                continue
        elif ch == "\\":
            i += 2
            continue
        elif line.startswith(quote, i):
            i += len(quote)
            quote = None
            continue
        i += 1
    return (quote, start) if quote is not None else None


def open_call(text):
    """The callee of the innermost call ``text`` is inside (``f(a, b=`` -> ``f``), or None."""
    depth, i = 0, len(text) - 1
    while i >= 0:
        ch = text[i]
        if ch in ")]}":
            depth += 1
        elif ch in "([{":
            if depth == 0:
                if ch != "(":
                    return None
                m = CALLEE.search(text[:i])
                return m.group(1) if m and not keyword.iskeyword(m.group(1)) else None
            depth -= 1
        i -= 1
    return None


def signature_text(ns, callee):
    try:
        obj = resolve(ns, callee)
        return "%s%s" % (callee.split(".")[-1], inspect.signature(obj))
    except Exception:
        return ""


def paths(text, cwd):
    """Entries of the directory a partial path names; the menu replaces its last component."""
    head, _, word = text.rpartition("/")
    if "/" in text:
        head = head or "/"
    where = os.path.expanduser(head) if head else (cwd or ".")
    if head and not os.path.isabs(where):
        where = os.path.join(cwd or ".", where)
    try:
        names = sorted(os.listdir(where))
    except OSError:
        return word, []
    out = []
    for name in names:
        if not name.startswith(word) or name.startswith(".") and not word.startswith("."):
            continue  # dotfiles only when asked for, as a shell does
        isdir = os.path.isdir(os.path.join(where, name))
        out.append([name + ("/" if isdir else ""), "directory" if isdir else "file"])
        if len(out) >= MAX_ITEMS:
            break
    return word, out


def modules(dotted):
    base, _, word = dotted.rpartition(".")
    pairs = []
    if not base:
        pairs = [(n, "module") for n in sys.builtin_module_names]
        pairs += [(m.name, "module") for m in pkgutil.iter_modules()]
    else:
        try:
            pkg = __import__(base, fromlist=["_"])
            pairs = [(m.name, "module") for m in pkgutil.iter_modules(getattr(pkg, "__path__", []))]
        except Exception:
            pairs = []
    return word, items(sorted(set(pairs)), word)


def complete(ns, text, cwd=None):
    """What completes ``text`` (everything before the cursor): ``{"word", "items", "sig"}``,
    ``word`` being the text the chosen entry replaces and each item ``[text, kind]``."""
    line = text.rsplit("\n", 1)[-1]
    callee = open_call(text[-4000:])
    sig = signature_text(ns, callee) if callee else ""
    word, found = complete_line(ns, line, callee, cwd)
    return {"word": word, "items": found, "sig": sig}


def complete_line(ns, line, callee, cwd):
    m = FROM_IMPORT.match(line)
    if m:
        word = m.group(2)
        try:
            mod = __import__(m.group(1), fromlist=["_"])
        except Exception:
            return word, []
        pairs = [(n, attr_kind(mod, n)) for n in dir(mod)]
        pairs += [(s.name, "module") for s in pkgutil.iter_modules(getattr(mod, "__path__", []))]
        return word, items(sorted(pairs), word)
    m = IMPORT.match(line)
    if m:
        return modules(m.group(1))
    inside = open_string(line)
    if inside is not None:
        quote, start = inside
        typed = line[start:]
        sub = SUBSCRIPT.search(line[:start - len(quote)])
        if sub:
            return typed, dict_keys(ns, sub.group(1), typed)
        return paths(typed, cwd)
    m = DOTTED.search(line)
    if not m:
        return "", []
    base, word = m.group(1), m.group(2) or ""
    if base:
        try:
            obj = resolve(ns, base[:-1])
        except Exception:
            return word, []
        try:
            attrs = dir(obj)
        except Exception:
            attrs = []
        return word, items(sorted((n, attr_kind(obj, n)) for n in attrs), word)
    if not word:
        return word, []
    pairs = []
    if callee:
        try:
            params = inspect.signature(resolve(ns, callee)).parameters.values()
            pairs += [(p.name + "=", "argument") for p in params
                      if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
        except Exception:
            pass
    pairs += sorted((n, name_kind(ns, n)) for n in names_of(ns))
    pairs += sorted((n, kind_of(getattr(builtins, n))) for n in dir(builtins) if not n.startswith("__"))
    pairs += [(k, "keyword") for k in keyword.kwlist]
    return word, items(pairs, word)


def dict_keys(ns, dotted, typed):
    try:
        obj = resolve(ns, dotted)
        keys = list(obj.keys()) if isinstance(obj, dict) or hasattr(type(obj), "keys") else []
    except Exception:
        return []
    return items(sorted(("%s" % k, "key") for k in keys[:5000] if isinstance(k, str)), typed)


def describe(ns, dotted, source=False):
    """``obj?`` (type, signature, docstring) and ``obj??`` (the source where it can be found)."""
    try:
        obj = resolve(ns, dotted)
    except Exception:
        return "Object `%s` not found." % dotted
    lines = ["Type:       %s" % type(obj).__name__]
    if not isinstance(obj, (types.ModuleType,)) and callable(obj):
        try:
            lines.append("Signature:  %s%s" % (dotted.split(".")[-1], inspect.signature(obj)))
        except Exception:
            pass
    if not inspect.isroutine(obj) and not isinstance(obj, (type, types.ModuleType)):
        try:
            text = repr(obj)
        except Exception:
            text = "<unprintable>"
        lines.append("Value:      %s" % (text if len(text) < 300 else text[:300] + "…"))
    try:
        where = inspect.getsourcefile(obj) or inspect.getfile(obj)
        lines.append("File:       %s" % where)
    except Exception:
        pass
    if source:
        try:
            return "\n".join(lines) + "\nSource:\n" + inspect.getsource(obj)[:MAX_DOC * 10]
        except Exception:
            lines.append("Source:     not available (showing the docstring)")
    doc = inspect.getdoc(obj) if inspect.isroutine(obj) or isinstance(obj, (type, types.ModuleType)) \
        or type(obj).__doc__ != obj.__doc__ else None
    lines.append("Docstring:\n%s" % (doc[:MAX_DOC] if doc else "<no docstring>"))
    return "\n".join(lines)


class Lazy(dict):
    """A saved session's namespace, read-only: definitions rebuilt, values unpickled on first use.

    ``extra`` maps the names the manifest lists to their type, so the menu shows every name of
    the session without unpickling any value."""

    def __init__(self, base, manifest, values_dir):
        dict.__init__(self, base)
        self.extra = dict((n, "instance of %s" % i.get("type", "?")) for n, i in manifest.items()
                          if i.get("status") == "kept")
        self.values_dir = values_dir

    def __contains__(self, name):
        return dict.__contains__(self, name) or name in self.extra

    def __missing__(self, name):
        if name not in self.extra or self.values_dir is None:  # None: a large value left on disk
            raise KeyError(name)
        import pickle

        with open(os.path.join(self.values_dir, name + ".pkl"), "rb") as f:
            value = pickle.loads(f.read())
        self[name] = value
        return value


def load_session(sid, code=""):
    """The saved session ``sid`` as a namespace, touching no file: no directory is made, nothing
    written, so a probe can never change what the next submission finds."""
    import linecache

    sd = os.path.join(os.path.expanduser("~"), ".orgorepl", "sessions", sid)

    def read(name, default=""):
        try:
            with open(os.path.join(sd, name)) as f:
                return f.read()
        except (OSError, ValueError):
            return default

    cwd = read("cwd").rstrip("\n")
    if cwd:
        try:
            os.chdir(cwd)
        except OSError:
            pass
    try:
        with open(os.path.join(sd, "env0"), "rb") as f:
            raw = f.read()
    except OSError:
        raw = b""
    for item in raw.split(b"\0"):  # the session's environment, as its submissions see it
        key, sep, value = item.decode("utf-8", "surrogateescape").partition("=")
        if sep and key.isidentifier() and key not in ("PWD", "OLDPWD", "SHLVL", "_"):
            os.environ[key] = value
    ns = sys.modules["__main__"].__dict__
    parts = [globals().get("__orgo_" + part) for part in ("source", "values", "state", "runtime")]
    if None not in parts and any(os.path.exists(os.path.join(sd, "journal" + ext)) for ext in (".m", ".json")):
        # the session as its next submission restores it (read-only: restore writes nothing),
        # the values it cannot reach left on disk unless the text being completed names them
        source, values, state, runtime = parts
        ast = source()
        # the text being completed is seldom whole code: restore gets the names in it, one per line
        code = "\n".join(n for n in re.findall(r"(?!\d)\w+", code) if not keyword.iskeyword(n))
        restore = state({"code": code}, ns, sd, lambda f: f.startswith("<cell"), ast, runtime(ns, ast), values)[0]
        manifest = restore()[3]
        names = dict((k, v) for k, v in ns.items() if not k.startswith("__"))
        return Lazy(names, manifest if isinstance(manifest, dict) else {}, None)
    out, err = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = open(os.devnull, "w")
    try:
        for d in json.loads(read("defs.json", "[]") or "[]"):
            try:
                where = "<cell defining %s>" % ", ".join(d["names"])
                src = "\n" * (d.get("line", 1) - 1) + d["src"]
                linecache.cache[where] = (len(src), None, src.splitlines(True), where)
                exec(compile(src, where, "exec"), ns)
            except BaseException:  # noqa: B036 - a definition that fails to rebuild is left out
                pass
    finally:
        sys.stdout.close()
        sys.stdout, sys.stderr = out, err
    try:
        manifest = json.loads(read("manifest.json", "{}") or "{}")
    except ValueError:
        manifest = {}
    names = dict((k, v) for k, v in ns.items() if not k.startswith("__"))
    return Lazy(names, manifest if isinstance(manifest, dict) else {}, os.path.join(sd, "values"))


def answer(request, ns=None):
    """One request (``complete`` or ``inspect``) as the JSON text of its reply."""
    try:
        if ns is None:
            ns = load_session(request["sid"], request.get("text") or request.get("expr") or "") \
                if request.get("sid") else {}
        cwd = os.getcwd()
        if request.get("what") == "inspect":
            reply = {"text": describe(ns, request["expr"], bool(request.get("source")))}
        else:
            reply = complete(ns, request["text"], cwd)
    except BaseException as e:  # noqa: B036 - a probe reports, it never raises into its host
        reply = {"error": "%s: %s" % (type(e).__name__, e)}
    return json.dumps(reply)
