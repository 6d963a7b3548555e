"""Results to formatted text: sanitizing remote output, cutting it to the limits, colours,
highlighting, status lines.

Rendering does no I/O: the REPL prints what :mod:`~orgorepl.render.result` returns, with
:func:`~orgorepl.render.terminal.write_fragments`.  The exceptions are the explicit ways out:
:mod:`~orgorepl.render.terminal` (the write itself) and :mod:`~orgorepl.render.last_output`
(``%more`` through a pager, ``%save-output`` to a file).
"""
