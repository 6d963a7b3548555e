"""Commands about computers rather than code: list them, start/stop/restart, copy files."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from orgorepl.cli.common import (
    CONTEXT_SETTINGS,
    _connection_options,
    _merged,
    _run_oneshot,
)
from orgorepl.console import Console
from orgorepl.exitstatus import ExitStatus

if TYPE_CHECKING:  # pragma: no cover
    from orgorepl.connect import Connection


@click.command("computers", context_settings=CONTEXT_SETTINGS)
@_connection_options
@click.option("--json", "as_json", is_flag=True, help="Print workspaces and computers as JSON.")
@click.pass_context
def computers_cmd(ctx, computer, workspace, parallel, base_url, api_key, local, as_json) -> None:
    """List workspaces and their computers with status."""
    conn = _merged(ctx, computer=None, base_url=base_url, api_key=api_key, local=local)
    conn.pop("computer", None)
    conn.pop("workspace", None)

    def work(connection: Connection, console: Console) -> int:
        workspaces = connection.client.list_workspaces()
        if as_json:
            console.line(json.dumps([
                {"id": w.id, "name": w.name,
                 "computers": [{"id": c.id, "name": c.name, "status": c.status, "os": c.os,
                                "ram": c.ram, "cpu": c.cpu} for c in w.computers]}
                for w in workspaces
            ], indent=2))
            return ExitStatus.OK
        rows = [("WORKSPACE", "NAME", "ID", "STATUS", "SIZE")]
        for w in workspaces:
            for c in w.computers:
                size = f"{c.cpu or '?'} cpu / {c.ram or '?'} GB" if (c.cpu or c.ram) else ""
                rows.append((w.name, c.name, c.id, c.status, size))
            if not w.computers:
                rows.append((w.name, "(no computers)", "", "", ""))
        widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
        for r in rows:
            console.line("  ".join(str(v).ljust(widths[i]) for i, v in enumerate(r)).rstrip())
        return ExitStatus.OK

    _run_oneshot(ctx, conn, work, as_json=as_json, resolve=False)


_GOALS = {"start": "running", "restart": "running", "stop": "stopped"}


def _lifecycle(action: str):
    @_connection_options
    @click.argument("target", metavar="ID|NAME", required=False)
    @click.pass_context
    def command(ctx, computer, workspace, parallel, base_url, api_key, local, target, wait) -> None:
        conn = _merged(ctx, computer=(target,) if target else computer, base_url=base_url,
                       api_key=api_key, local=local)

        def work(connection: Connection, console: Console) -> int:
            from orgorepl.lifecycle import GOAL, change_state

            name = connection.computer.name
            result = change_state(connection.client, connection.computer, action, wait=wait,
                                  progress=lambda status, elapsed: console.status(f"{name}: {status} ({elapsed:.0f}s)"))
            console.done_status()
            if not result.changed:
                console.line(f"{name} is already {result.computer.status}")
            elif wait:
                console.line(f"{name}: {GOAL[action]} ({result.waited:.1f}s)")
            else:
                console.line(f"{name}: {action} requested ({result.computer.status} before)")
            return ExitStatus.OK

        _run_oneshot(ctx, conn, work, as_json=False)

    command = click.option("--no-wait", "wait", is_flag=True, flag_value=False, default=True,
                           help="Return once the request is accepted.")(command)
    command.__doc__ = f"{action.capitalize()} a computer and wait until it is {_GOALS[action]}."
    return command


LIFECYCLE = [click.command(a, context_settings=CONTEXT_SETTINGS)(_lifecycle(a)) for a in ("start", "stop", "restart")]


def _transfer(direction: str):
    @_connection_options
    @click.option("--chunk-size", type=click.IntRange(1, 8), default=4, show_default=True, metavar="MiB",
                  help="Data per request, in MiB.")
    @click.option("--no-resume", "resume", is_flag=True, flag_value=False, default=True,
                  help="Start over even if an interrupted copy is there.")
    @click.option("--timeout", "-t", type=click.IntRange(1, 300), default=60, show_default=True,
                  help="Seconds each request may take on the computer.")
    @click.argument("source")
    @click.argument("destination", required=False)
    @click.pass_context
    def command(ctx, computer, workspace, parallel, base_url, api_key, local, chunk_size, resume, timeout,
                source, destination) -> None:
        conn = _merged(ctx, computer=computer, base_url=base_url, api_key=api_key, local=local)

        def work(connection: Connection, console: Console) -> int:
            from pathlib import Path

            from orgorepl import transfer

            bar = transfer.TransferProgress(console.status, Path(source).name)
            try:
                if direction == "put":
                    result = transfer.put(connection.client, connection.computer.id, Path(source), destination,
                                          chunk_size=chunk_size << 20, progress=bar, resume=resume,
                                          timeout=timeout)
                else:
                    result = transfer.get(connection.client, connection.computer.id, source,
                                          Path(destination) if destination else None,
                                          chunk_size=chunk_size << 20, progress=bar, resume=resume,
                                          timeout=timeout)
            except KeyboardInterrupt:
                console.error("interrupted: run the same command again to resume")
                return ExitStatus.INTERRUPTED
            finally:
                console.done_status()
            console.line(result.summary("uploaded" if direction == "put" else "downloaded"))
            return ExitStatus.OK

        _run_oneshot(ctx, conn, work, as_json=False)

    command.__doc__ = (
        "Copy LOCAL to the computer (REMOTE: default its name in the home directory)."
        if direction == "put" else
        "Copy REMOTE from the computer (LOCAL: default its name in the current directory)."
    ) + "\n\nChunked through /exec, checksummed (sha256), resumed after an interruption."
    return command


TRANSFER = [click.command(d, context_settings=CONTEXT_SETTINGS)(_transfer(d)) for d in ("put", "get")]
