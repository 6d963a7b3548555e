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
    ``iter_child_nodes``, ``get_source_segment``) that also has ``source_lines`` and ``remember``."""
    import _ast
    import sys

    ast = type(sys)("_orgorepl_ast")
    ast.__dict__.update((k, v) for k, v in vars(_ast).items() if not k.startswith("__"))

    def parse(source, filename="<unknown>"):
        return compile(source, filename, "exec", _ast.PyCF_ONLY_AST, True)

    def iter_child_nodes(node):
        for field in node._fields:
            value = getattr(node, field, None)
            if isinstance(value, _ast.AST):
                yield value
            elif isinstance(value, list):
                for item in value:
                    if isinstance(item, _ast.AST):
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

    waiting = {}

    class CellLines:
        """First in ``sys.meta_path`` until ``linecache`` is imported; then it hands the module
        the lines kept so far and leaves (imports of anything else pass straight by)."""

        def find_spec(self, name, path=None, target=None):
            if name != "linecache":
                return None
            if self in sys.meta_path:
                sys.meta_path.remove(self)
            for finder in sys.meta_path:
                find = getattr(finder, "find_spec", None)
                spec = find(name, path, target) if find is not None else None
                if spec is not None:
                    break
            else:
                return None
            run = getattr(spec.loader, "exec_module", None)
            if run is None or isinstance(spec.loader, type):
                return spec  # a loader we cannot wrap alone: the lines stay unknown to tracebacks

            def exec_module(module):
                run(module)
                module.cache.update(waiting)

            spec.loader.exec_module = exec_module
            return spec

    def remember(where, lines):
        """Give ``linecache`` the lines of ``where`` (``<cell>``, ``<cell defining f>``) now, or
        when it is first imported."""
        entry = (sum(map(len, lines)), None, lines, where)
        linecache = sys.modules.get("linecache")
        if linecache is not None:
            linecache.cache[where] = entry
            return
        if not waiting:
            sys.meta_path.insert(0, CellLines())
        waiting[where] = entry

    for helper in (parse, iter_child_nodes, walk, source_lines, get_source_segment, remember):
        setattr(ast, helper.__name__, helper)
    return ast
