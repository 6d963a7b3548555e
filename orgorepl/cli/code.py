"""``orgorepl exec`` and ``orgorepl bash``: one submission, raw, on one computer or several."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, NoReturn

import click

from orgorepl import protocol
from orgorepl.cli.common import (
    CONTEXT_SETTINGS,
    _connection_options,
    _merged,
    _read_arg,
    _run_oneshot,
    _settings,
)
from orgorepl.console import Console
from orgorepl.modes import Mode

if TYPE_CHECKING:  # pragma: no cover
    from orgorepl.connect import Connection


def _run_code(ctx: click.Context, conn: dict[str, Any], mode: Mode, source: str, timeout: int | None,
              as_json: bool) -> NoReturn:
    """``exec`` and ``bash``: one submission, no session, on one computer or several.  Python goes
    in a wrapper without state (``session/remote_run.py``) that brings back the full traceback
    and what the run wrote to stderr; bash goes raw (its stderr shares stdout's pipe)."""

    def work(connection: Connection, console: Console) -> int:
        from orgorepl import outcome as oc
        from orgorepl.session.carry import RemoteSession
        from orgorepl.submit import Code, submit

        settings = _settings(ctx, conn)
        limit = timeout or (settings.python_timeout if mode is Mode.PYTHON else _ONESHOT_BASH_TIMEOUT)
        if len(connection.targets) > 1:
            from orgorepl import fanout

            targets = [fanout.Target(c, RemoteSession(stateful=False, oneshot=True)) for c in connection.targets]
            results = fanout.run(connection.make_async, targets, mode, source, limit,
                                 parallel=conn.get("parallel") or fanout.DEFAULT_PARALLEL)
            if as_json:
                console.line(json.dumps(fanout.to_json(results), indent=2))
                return fanout.exit_status(results)
            return fanout.report(console, results)
        outcome = submit(connection.client, connection.computer.id, RemoteSession(stateful=False, oneshot=True),
                         Code(mode, source, limit))
        if as_json:
            console.line(json.dumps(oc.as_json(outcome)))
            if not outcome.ran:  # scripts read the JSON; a person reads stderr
                console.error(outcome.error or outcome.verdict)
            return outcome.exit_status
        return console.report(outcome)

    _run_oneshot(ctx, conn, work, as_json=as_json)


# one-shot bash keeps the API's own default, not the REPL's 60
_ONESHOT_BASH_TIMEOUT = protocol.BASH_TIMEOUT_DEFAULT


@click.command("exec", context_settings=CONTEXT_SETTINGS)
@_connection_options
@click.option("--timeout", "-t", type=click.IntRange(1, 300),
              help="Seconds before the interpreter is killed (default: python_timeout, 10).")
@click.option("--json", "as_json", is_flag=True, help="Print the result object as JSON.")
@click.argument("code")
@click.pass_context
def exec_cmd(ctx, computer, workspace, parallel, base_url, api_key, local, timeout, as_json, code) -> None:
    """Run Python CODE once on a computer, or on several ('-' reads it from stdin).

    Exit status: 0 ok, 1 remote exception, 124 timeout, 10-16 client errors (see README);
    with several computers, the status of the first one that did not succeed.
    """
    conn = _merged(ctx, computer=computer, workspace=workspace, parallel=parallel, base_url=base_url,
                   api_key=api_key, local=local)
    _run_code(ctx, conn, Mode.PYTHON, _read_arg(code), timeout, as_json)


@click.command("bash", context_settings=CONTEXT_SETTINGS)
@_connection_options
@click.option("--timeout", "-t", type=click.IntRange(1, 3600),
              help="Seconds before the command is killed (default 200, the API's).")
@click.option("--json", "as_json", is_flag=True, help="Print the result object as JSON.")
@click.argument("command")
@click.pass_context
def bash_cmd(ctx, computer, workspace, parallel, base_url, api_key, local, timeout, as_json, command) -> None:
    """Run a bash COMMAND once on a computer, or on several ('-' reads it from stdin).

    Exit status: the remote exit code; 124 on timeout; 10-16 client errors (see README);
    with several computers, the status of the first one that did not succeed.
    """
    conn = _merged(ctx, computer=computer, workspace=workspace, parallel=parallel, base_url=base_url,
                   api_key=api_key, local=local)
    _run_code(ctx, conn, Mode.BASH, _read_arg(command), timeout, as_json)
