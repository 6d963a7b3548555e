"""A local emulator of the Orgo API: the same paths, statuses and JSON shapes, running code here.

Base URL ``http://HOST:PORT/api``.  One workspace ("local") with N computers, each a home
directory under the data dir (``<data_dir>/computers/<id>/home``), which is the working
directory and ``HOME`` of everything run on it.  See docs/emulator.md for the endpoints, the
limits and how it differs from the real service.

Limits per run (ours; the real API documents none), see ``limits``: wall time (the request's
``timeout``; exec 1..300 s, bash 1..3600 s), memory (2 GiB), processes (512), output (16 MiB),
request body (16 MiB, 413 beyond).

Modules, bottom up: ``limits`` (the numbers and how a reached limit is worded), ``cgroups`` and
``containment`` (a run's processes kept together: process group or session, cgroup or watchdog),
``procs`` (supervising one run: pipes, cap, timeout), ``_cell``/``_child``/``_zygote`` (the
interpreter side of exec, stdlib only), ``zygote`` and ``executors`` (starting an exec: forked
from a warm zygote, or spawned), ``runtime`` (all of it for one emulator), ``execution`` (exec
and bash semantics), ``terminal`` (the terminal WebSocket: a login bash in a PTY per socket),
``state`` (ids, names, homes), ``app`` (HTTP and the terminal's route), ``server`` (threads,
sockets, ``serve``).

The terminal WebSocket is at ``ws://HOST:PORT/desktops/{instance_id}/ws/terminal?token=<vnc_password>``
(``EmbeddedEmulator.terminal_url``); see docs/emulator.md, "Terminal".
"""

from orgorepl.emulator.app import create_app
from orgorepl.emulator.limits import Limits
from orgorepl.emulator.server import EmbeddedEmulator, serve

__all__ = ["EmbeddedEmulator", "Limits", "create_app", "serve"]
