"""The interactive front end, split by responsibility.

``loop`` (the session at a terminal), ``jobs`` (blocking work off the UI thread, the link),
``effects`` (what meta-commands do, one table for every front end), ``targets`` (the computers a
session runs on), ``batch`` (stdin not a terminal), ``options`` (what a session is opened with).
"""

from orgorepl.outcome import INTERRUPTED_NOTE, INTERRUPTED_UNSENT_NOTE
from orgorepl.repl.batch import run_batch
from orgorepl.repl.loop import InteractiveRepl, run_interactive
from orgorepl.repl.options import DEFAULT_TIMEOUTS, ReplOptions

__all__ = ["DEFAULT_TIMEOUTS", "INTERRUPTED_NOTE", "INTERRUPTED_UNSENT_NOTE", "InteractiveRepl", "ReplOptions",
           "run_batch", "run_interactive"]
