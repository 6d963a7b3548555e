"""What happened in a session, kept so it can be read, re-run or replayed later.

A :class:`Transcript` holds one :class:`Entry` per submission and target (meta-commands are not
submissions).  Everything stored has the API key replaced by ``<redacted>`` first, so no export,
log or error message built from a transcript can leak it.

Formats, chosen by the file's suffix:

* ``.md``: for people.  Inputs as fenced code blocks tagged ``python``/``bash`` (so any
  Markdown viewer highlights them), outputs as ``text`` blocks with terminal escapes removed, a
  traceback as a ``pytb`` block, and a status line for anything that did not end ``ok``.
* ``.py`` / ``.sh``: for machines.  Only the *successful* submissions of that language, in order,
  each after a ``# %%`` line, under a comment header: a runnable script (``orgorepl exec - <
  s.py``, ``orgorepl bash - < s.sh``).  The REPL shows the value of a final expression; the
  script does the same through ``_echo(...)`` (``sys.displayhook``, what the REPL itself calls),
  so re-running it prints what the session printed.
* ``.json``: every submission with mode, target, output, status and timings, losslessly.
* ``.jsonl``: the same entries, one per line: the continuous log format for machines.

A log (``--log FILE``) is appended to after every submission and fsync'd, so a client that dies
loses nothing already shown.  ``.md``, ``.jsonl``, ``.py`` and ``.sh`` can be appended to;
``.json`` cannot (one document), so it is refused as a log with a pointer to ``.jsonl``.

:func:`load_submissions` reads the inputs back (for replay) from ``.md`` (python/bash code blocks,
hand-written lesson files included), ``.py``/``.sh`` (cells split at ``# %%``, or, without
markers, at blank lines between complete statements) and ``.json``/``.jsonl``.
"""

from orgorepl.transcript.entry import (
    LOAD_FORMATS,
    LOG_FORMATS,
    REDACTED,
    SAVE_FORMATS,
    STATUSES,
    Entry,
    Submission,
    now_iso,
)
from orgorepl.transcript.reading import (
    bash_cells,
    load_entries,
    load_submissions,
    markdown_submissions,
    python_cells,
)
from orgorepl.transcript.record import Transcript

__all__ = [
    "LOAD_FORMATS", "LOG_FORMATS", "REDACTED", "SAVE_FORMATS", "STATUSES", "Entry", "Submission",
    "Transcript", "bash_cells", "load_entries", "load_submissions", "markdown_submissions", "now_iso",
    "python_cells",
]
