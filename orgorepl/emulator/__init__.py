"""A local emulator of the Orgo API: the same paths, statuses and JSON shapes, running code here.

Base URL ``http://HOST:PORT/api``.  One workspace ("local") with N computers, each a home
directory under the data dir (``<data_dir>/computers/<id>/home``), which is the working
directory and ``HOME`` of everything run on it.  See docs/emulator.md for the endpoints and for
how it differs from the real service.

Limits (ours; the real API documents none):

* output of one exec or bash call is capped at 16 MiB (``procs.OUTPUT_CAP``); the rest is read
  and discarded and a marker line says where it was cut;
* exec ``timeout`` 1..300 s (default 10), bash ``timeout`` 1..3600 s (default 200); on timeout
  the whole process group of the call is killed.

Modules: ``state`` (ids, names, homes, persistence), ``procs`` (one child process: group,
pipe, cap, timeout), ``execution`` (exec and bash semantics), ``_child`` (the interpreter side
of exec), ``app`` (HTTP), ``server`` (threads, sockets, ``serve``).
"""

from orgorepl.emulator.app import create_app
from orgorepl.emulator.server import EmbeddedEmulator, serve

__all__ = ["EmbeddedEmulator", "create_app", "serve"]
