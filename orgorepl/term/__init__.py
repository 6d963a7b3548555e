"""The full-screen pass-through to a computer's terminal (``orgorepl term``, ``%term``), like ssh.

Modules: ``escapes`` (the ``~`` keys), ``session`` (the socket and the local terminal wired
together, reconnecting when asked).  The local side (raw mode, the screen filter, the exact
restore) is ``ui.local_terminal``, shared with the live session's full-screen handover.  The
socket itself is ``client.terminal``; the screen policy is ``render.screen_filter``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from orgorepl.term.session import TermEnd, run_terminal

if TYPE_CHECKING:  # pragma: no cover
    from orgorepl.connect import Connection
    from orgorepl.console import Console

__all__ = ["TermEnd", "report_end", "run_on", "run_terminal"]


def run_on(connection: Connection, *, in_fd: int, out_fd: int, reconnect: bool = False,
           allow_title: bool = False) -> TermEnd:
    """The pass-through to the connection's computer (the first target), on these descriptors."""
    import asyncio

    client, computer = connection.client, connection.computer

    async def fetch_access(fresh_token: bool):
        return await asyncio.to_thread(client.terminal_access, computer.id, fresh_token=fresh_token)

    return run_terminal(fetch_access, connection.base_url, in_fd=in_fd, out_fd=out_fd, name=computer.name,
                        reconnect=reconnect, allow_title=allow_title)


def report_end(console: Console, end: TermEnd) -> None:
    """How the session ended, on stderr as ssh says it; the same lines for `term` and `%term`."""
    for text, error in end.lines():
        console.error(text, prefix="orgorepl: " if error else "")
