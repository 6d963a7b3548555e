"""Results to formatted text: sanitizing remote output, colours, highlighting, status lines.

Nothing here does I/O; the REPL prints what these functions return.
"""
