"""The user's source on the remote computer: parse it, walk it, keep its lines for tracebacks.

Part of the remote wrapper's text (sent ahead of ``remote_runtime.py``, never imported), Python
3.8+, standard library only.  Why it exists: a bare interpreter pays about 6 ms to import ``ast``
and as much again for ``linecache`` (both pull in ``re``, ``enum``, ``functools``...), which was
most of what a stateful submission cost over a stateless one.  The compiler's own ``_ast``
gives the same trees for free, so this is the small part of ``ast`` the wrapper uses; and the
lines of ``<cell>`` and of rebuilt definitions reach ``linecache`` only when something imports
it (a traceback, ``inspect``, ``warnings``), through a finder that waits for that import.
"""


def __orgo_source():  # noqa: N802 - reserved name, removed from __main__ with the wrapper's
    """A stand-in for the ``ast`` module (its node classes, ``parse``, ``walk``,
    ``iter_child_nodes``, ``get_source_segment``) that also has ``source_lines``, ``remember`` and
    ``when_imported``."""
    import sys

    ast = type(sys)("_orgorepl_ast")

    def node_classes(name):
        """The node classes come on first use: importing ``_ast`` costs a spawn about 0.8 ms, and a
        cell that is one expression (``1+1``, ``print(x)``) never needs a tree."""
        import _ast

        ast.__dict__.update((k, v) for k, v in vars(_ast).items() if not k.startswith("__"))
        ast.__dict__.pop("__getattr__", None)
        try:
            return ast.__dict__[name]
        except KeyError:
            raise AttributeError(name) from None

    ast.__getattr__ = node_classes  # a module's own __getattr__ (PEP 562)

    def parse(source, filename="<unknown>"):
        return compile(source, filename, "exec", ast.PyCF_ONLY_AST, True)

    def iter_child_nodes(node):
        for field in node._fields:
            value = getattr(node, field, None)
            if isinstance(value, ast.AST):
                yield value
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, ast.AST):
                        yield item

    def walk(node):
        """Breadth first, as ``ast.walk``."""
        todo, at = [node], 0
        while at < len(todo):
            node, at = todo[at], at + 1
            todo.extend(iter_child_nodes(node))
            yield node

    def source_lines(text):
        """Lines as the compiler counts them (not ``str.splitlines``, which also splits at form
        feeds, ``\\x1c``-``\\x1e``, ``\\u2028`` and others that can sit inside a line)."""
        parts = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        return [part + "\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])

    def get_source_segment(text, node):
        """The text of ``node`` (its offsets count UTF-8 bytes), as ``ast.get_source_segment``."""
        lines = source_lines(text)
        first, last = node.lineno - 1, node.end_lineno - 1
        if first == last:
            return lines[first].encode()[node.col_offset:node.end_col_offset].decode()
        return "".join([lines[first].encode()[node.col_offset:].decode()] + lines[first + 1:last]
                       + [lines[last].encode()[:node.end_col_offset].decode()])

    hooks = {}  # a module's name -> what to do once it is imported (this submission has not yet)

    class AfterImport:
        """First in ``sys.meta_path`` while an import is awaited: it lets the other finders find
        the module, then runs the waiting actions right after the module's own code, and leaves
        when nothing more is awaited (imports of anything else pass straight by)."""

        def find_spec(self, name, path=None, target=None):
            actions = hooks.pop(name, None)
            if actions is None:
                return None
            if not hooks and self in sys.meta_path:
                sys.meta_path.remove(self)
            for finder in sys.meta_path:
                find = getattr(finder, "find_spec", None)
                spec = find(name, path, target) if find is not None and finder is not self else None
                if spec is not None:
                    break
            else:
                return None
            run = getattr(spec.loader, "exec_module", None)
            if run is None or isinstance(spec.loader, type):
                return spec  # a loader we cannot wrap alone (a builtin module): the actions do not run

            def exec_module(module):
                run(module)
                for action in actions:
                    try:
                        action(module)
                    except Exception:  # noqa: S110 - a state that no longer applies; the import stands
                        pass

            spec.loader.exec_module = exec_module
            return spec

    def when_imported(name, action):
        """``action(module)`` now if ``name`` is imported, else right after its import, if any."""
        if name in sys.modules:
            action(sys.modules[name])
            return
        if not hooks:
            sys.meta_path.insert(0, AfterImport())
        hooks.setdefault(name, []).append(action)

    waiting = {}

    def remember(where, lines):
        """Give ``linecache`` the lines of ``where`` (``<cell>``, ``<cell defining f>``) now, or
        when it is first imported."""
        waiting[where] = (sum(map(len, lines)), None, lines, where)
        if len(waiting) == 1 or "linecache" in sys.modules:
            when_imported("linecache", lambda linecache: linecache.cache.update(waiting))

    for helper in (parse, iter_child_nodes, walk, source_lines, get_source_segment, remember, when_imported):
        setattr(ast, helper.__name__, helper)
    return ast
