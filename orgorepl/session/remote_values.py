"""The session's values on the remote computer: how they are written and read back.

Part of the remote wrapper's text (sent ahead of ``remote_state.py``, never imported), Python
3.8+, standard library only.  Why it is shaped so:

- Values go into **segments**, files written once and never rewritten: a save that loaded no
  value writes only what the cell bound, into a new segment, and leaves the old ones as they are;
  a save that loaded them writes them all into one new segment (and the old ones go).  So a cell
  that cannot reach the session's values (``print(1)`` beside a dict and an instance) reads and
  writes none of them.
- A segment of plain data (numbers, strings, bytes, lists, dicts, sets, tuples: what ``marshal``
  takes, exact types only) is one ``marshal`` dump: object sharing and cycles survive within it,
  and a bare interpreter reads it without importing ``pickle`` (about 3 ms, then ``re``...).
- Anything else makes the segment **one pickle stream** written by one Pickler (its memo is
  shared), one ``dump`` per name, so ``b = a`` stays ``a is b`` and parent/child links survive;
  each name's offset is recorded so one that fails to load does not take the others with it.
  Functions pickle cannot find by name (closures, lambdas, a def inside a block or another
  function) go by value: their code by ``marshal`` (the same interpreter reads it back), their
  closure cells by value with the shared memo, so two closures that share a variable still do.
"""


def __orgo_values(ns, users, read, write):  # noqa: N802 - reserved name, removed from __main__
    import io
    import marshal
    import sys

    function_type = type(lambda: 0)
    cell_type = type((lambda x: lambda: x)(0).__closure__[0])
    PROTOCOL = 3  # explicit memo indices: a name that is skipped or retried shifts no other's
    cache = {}  # segment -> its marshal list, or its (reader, unpickler)

    def pickle():
        """The pickle module, imported only when a value needs it (``_pickle`` alone is cheaper)."""
        if "pickle" not in cache:
            try:
                import _pickle as module
            except ImportError:
                import pickle as module
            cache["pickle"] = module
        return cache["pickle"]

    # the makers of functions and cells live in a module of their own, found by reference
    helper = sys.modules.get("_orgorepl_state") or type(sys)("_orgorepl_state")
    sys.modules["_orgorepl_state"] = helper

    def make_fn(code, name, closure):
        return function_type(marshal.loads(code), ns, name, None, closure)

    def set_fn(fn, state):
        fn.__defaults__, fn.__kwdefaults__, fn.__qualname__ = state[0], state[1], state[2]
        fn.__dict__.update(state[3])

    def make_cell():
        return cell_type()

    def set_cell(cell, content):
        cell.cell_contents = content

    for maker in (make_fn, set_fn, make_cell, set_cell):
        maker.__module__, maker.__qualname__ = "_orgorepl_state", maker.__name__
        setattr(helper, maker.__name__, maker)

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

    def load(entry):
        """The value of a journal entry (raises what unpickling raises, e.g. for a class not rebuilt yet)."""
        if "value" in entry:
            return entry["value"]
        if "file" in entry:
            return pickle().loads(read(entry["file"], b"", True))
        seg = entry.get("seg", "values.pkl")
        if seg.endswith(".m"):
            if seg not in cache:
                cache[seg] = marshal.loads(read(seg, b"", True))
            return cache[seg][entry["at"]]
        if seg not in cache:
            reader = Reader(read(seg, b"", True) or b"")
            cache[seg] = reader, pickle().Unpickler(reader)
        reader, unpickler = cache[seg]
        reader.pos = entry["off"]
        return unpickler.load()[1]  # (the memo marker, the value)

    def pickler(buf, by_name):
        """A Pickler into ``buf``; ``by_name``: ids of the session's own functions rebuilt from
        source (pickled by reference, not by value). Its ``code`` is set when what it pickled
        holds functions or instances of the session's."""

        class Pickler(pickle().Pickler):
            code = False

            def reducer_override(self, obj):
                if type(obj) in (function_type, cell_type) or type(obj).__module__ == "__main__":
                    self.code = True
                if type(obj) is function_type and id(obj) not in by_name \
                        and users(obj.__code__.co_filename):
                    return (make_fn, (marshal.dumps(obj.__code__), obj.__name__, obj.__closure__),
                            (obj.__defaults__, obj.__kwdefaults__, obj.__qualname__, dict(vars(obj))),
                            None, None, set_fn)
                if type(obj) is cell_type:
                    try:
                        return make_cell, (), obj.cell_contents, None, None, set_cell
                    except ValueError:  # an empty cell (a variable not yet assigned)
                        return make_cell, ()
                return NotImplemented

        return Pickler(buf, protocol=PROTOCOL)

    def plain_segment(name, values):
        """The entries' fields for ``values`` if they are all plain data, else None: up to 16 KB
        they go into the journal itself (``value``: one marshal dump with it, so sharing holds),
        beyond it into a marshal segment (``seg``, ``at``)."""
        try:
            data = marshal.dumps(list(values), 4)
        except ValueError:  # unmarshallable: a class instance, a subclass of a builtin, ...
            return None
        if len(data) <= 16384:
            return [{"value": value} for value in values]
        write(name + ".m", data)
        return [{"seg": name + ".m", "at": i} for i in range(len(values))]

    class Stream:
        """A new pickle segment, one ``dump`` per name into one shared memo."""

        def __init__(self, name, by_name):
            self.name, self.buf = name + ".pkl", io.BytesIO()
            self.pickler = pickler(self.buf, by_name)
            self.keep_alive = []  # the markers: their ids must stay unique while the memo lives

        def dump(self, value):
            """The entry's fields for ``value``; on failure the failed part leaves the memo."""
            marker = []
            self.keep_alive.append(marker)
            at = self.buf.tell()
            self.pickler.code = False
            try:
                self.pickler.dump((marker, value))
            except BaseException:
                memo = self.pickler.memo.copy()
                cut = memo.get(id(marker), (len(memo),))[0]
                self.pickler.memo = {k: v for k, v in memo.items() if v[0] < cut}
                self.buf.seek(at)
                self.buf.truncate()
                raise
            return {"seg": self.name, "off": at, "len": self.buf.tell() - at, "code": self.pickler.code}

        def memo_ids(self):
            return set(self.pickler.memo.copy())

        def finish(self):
            if self.buf.tell():
                write(self.name, self.buf.getvalue())

    def alone(value, by_name):
        """A large value pickled on its own: (its bytes, the ids in its memo, whether it holds code)."""
        buf = io.BytesIO()
        one = pickler(buf, by_name)
        one.dump(value)
        return buf.getvalue(), set(one.memo.copy()), one.code

    return load, plain_segment, Stream, alone
