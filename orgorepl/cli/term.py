"""`orgorepl term`: the computer's terminal, full screen, like ssh."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from orgorepl.cli.common import CONTEXT_SETTINGS, _merged, _one_computer_options, _run_oneshot
from orgorepl.console import Console

if TYPE_CHECKING:  # pragma: no cover
    from orgorepl.connect import Connection


@click.command("term", context_settings=CONTEXT_SETTINGS)
@_one_computer_options
@click.option("--reconnect", is_flag=True,
              help="When the connection drops, open a new shell after 2 s, 4 s, ... up to 30 s.")
@click.option("--allow-title", is_flag=True, help="Let the remote set the window title.")
@click.pass_context
def term_cmd(ctx, computer, base_url, api_key, local, reconnect, allow_title) -> None:
    """A full-screen terminal on the computer (a real PTY), like ssh.

    Every key goes to the remote, Ctrl-C included. At the start of a line, ~. disconnects and
    ~? lists the escapes. Exits with the remote shell's exit status.
    """
    conn = _merged(ctx, computer=(computer,) if computer else None, base_url=base_url, api_key=api_key,
                   local=local)
    if len(conn.get("computer") or ()) > 1 or conn.get("workspace"):  # given before `term`
        raise click.UsageError("term opens one computer's terminal: give one --computer, not several or a workspace")

    def work(connection: Connection, console: Console) -> int:
        from orgorepl import term

        end = term.run_on(connection, in_fd=sys.stdin.fileno(), out_fd=sys.stdout.fileno(),
                          reconnect=reconnect, allow_title=allow_title)
        term.report_end(console, end)
        return end.exit_status

    _run_oneshot(ctx, conn, work, as_json=False)
