"""The `orgorepl` command line: the only place that reads argv or calls sys.exit.

Heavy modules (httpx, the emulator, prompt_toolkit) are imported inside the commands that need
them, so `orgorepl --help` and the first prompt stay fast.  Every failure ends as one line on
stderr and a named exit status (see exitstatus.py).
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any, Callable, NoReturn

import click

from orgorepl import __version__, errors, protocol
from orgorepl.console import Console
from orgorepl.exitstatus import ExitStatus
from orgorepl.modes import Mode

if TYPE_CHECKING:  # pragma: no cover
    from orgorepl.config import Settings
    from orgorepl.connect import Connection, Connector

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


def _connection_options(fn: Callable) -> Callable:
    """Options every command that talks to a computer accepts (also before the subcommand)."""
    opts = [
        click.option("--computer", "-c", "computer", metavar="ID|NAME", multiple=True,
                     help="Computer to use (id or name); repeat it to run on several at once. "
                          "Default: ORGO_COMPUTER, or the only one."),
        click.option("--workspace", "-w", "workspace", metavar="NAME",
                     help="Run on every running computer of this workspace (fan-out)."),
        click.option("--parallel", type=click.IntRange(1, 256), metavar="N",
                     help="Fan-out: at most N computers at a time (default 8)."),
        click.option("--base-url", metavar="URL", help="Orgo API base URL (env ORGO_BASE_URL)."),
        click.option("--api-key", metavar="KEY", help="Orgo API key (env ORGO_API_KEY)."),
        click.option("--local", is_flag=True, default=None,
                     help="Run against the embedded local emulator (no account, no network)."),
    ]
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


def _merged(ctx: click.Context, **given: Any) -> dict[str, Any]:
    """Subcommand options override the same options given before the subcommand."""
    base = dict((ctx.obj or {}).get("conn", {}))
    base.update({k: v for k, v in given.items() if v is not None and v != ()})
    return base


def _fail(err: errors.OrgoError, *, as_json: bool = False, console: Console | None = None) -> NoReturn:
    console = console or Console.from_env("never")
    if as_json:
        payload = {"error": err.one_line(), "error_class": type(err).__name__}
        for attr in ("status", "request_id", "code", "upstream_status", "retry_after", "may_have_run"):
            if getattr(err, attr, None) is not None:
                payload[attr] = getattr(err, attr)
        console.line(json.dumps(payload))
    console.error(err.one_line())
    sys.exit(int(err.exit_status))


# settings whose command-line flag is not simply --KEY
_FLAG_NAMES = {"python_timeout": "--timeout", "bash_timeout": "--timeout", "editing_mode": "--vi",
               "stateful": "--stateless", "color": "--no-color"}


def _settings(ctx: click.Context, conn: dict[str, Any]) -> Settings:
    """The settings of this run: loaded once (flags given before the subcommand included), so
    every warning is printed once."""
    from orgorepl import config

    obj = ctx.obj if isinstance(ctx.obj, dict) else {}
    flags: dict[str, Any] = {k: conn.get(k) for k in ("base_url", "api_key")}
    flags.update(obj.get("extra") or {})
    key = repr(sorted(flags.items()))
    cached = obj.get("settings")
    if cached is not None and cached[0] == key:
        return cached[1]
    settings = config.load(flags, flag_names=_FLAG_NAMES)
    for warning in settings.warnings:
        Console.from_env("never").error(f"warning: {warning}")
    obj["settings"] = (key, settings)
    return settings


def _console(settings: Settings) -> Console:
    return Console.from_env(settings.color, theme=settings.theme)


def _connector(settings: Settings, conn: dict[str, Any], *, resolve: bool = True) -> Connector:
    from orgorepl import connect

    refs = list(conn.get("computer") or ())
    if not refs and settings.computer and not conn.get("workspace"):
        refs = [settings.computer]
    margin = settings.timeout_margin
    if conn.get("local"):
        return connect.local_connector(refs, workspace=conn.get("workspace"), timeout_margin=margin,
                                       resolve=resolve)
    return connect.remote_connector(settings.base_url, settings.api_key, refs, workspace=conn.get("workspace"),
                                    timeout_margin=margin, resolve=resolve)


def _read_arg(text: str) -> str:
    return sys.stdin.read() if text == "-" else text


@click.group(invoke_without_command=True, context_settings=CONTEXT_SETTINGS)
@_connection_options
@click.option("--timeout", "-t", type=click.IntRange(1, 300), metavar="N",
              help="Seconds before a submission is killed (both modes).")
@click.option("--vi", is_flag=True, help="Vi editing keys.")
@click.option("--bash", "start_bash", is_flag=True, help="Start in bash mode.")
@click.option("--stateless", is_flag=True,
              help="Send submissions raw: no names, cwd or env carried between them.")
@click.option("--resume", "resume", metavar="ID", help="Reattach to the remote session ID (see %info).")
@click.option("--theme", metavar="NAME", help="Colour theme (`orgorepl themes` lists them).")
@click.option("--no-color", "no_color", is_flag=True, help="No colours (also when NO_COLOR is set).")
@click.option("--raw-escapes", is_flag=True,
              help="Pass the remote's control sequences to the terminal untouched (unsafe).")
@click.option("--log", "log_path", metavar="FILE", type=click.Path(dir_okay=False),
              help="Record every submission to FILE (.md, .jsonl, .py, .sh), flushed as it happens.")
@click.version_option(__version__, "-V", "--version", prog_name="orgorepl")
@click.pass_context
def cli(ctx: click.Context, computer, workspace, parallel, base_url, api_key, local, timeout, vi,
        start_bash, stateless, resume, theme, no_color, raw_escapes, log_path) -> None:
    """A REPL and shell for remote Orgo computers.

    With no command, opens the interactive session (Python mode; F4 or %bash for bash).
    With input piped in, runs it as one submission and exits with its status.
    """
    early = (ctx.obj or {}).get("early")
    extra = {
        "python_timeout": timeout, "bash_timeout": timeout,
        "editing_mode": "vi" if vi else None,
        "stateful": False if stateless else None,
        "theme": theme,
        "color": "never" if no_color else None,
    }
    ctx.obj = {"conn": {k: v for k, v in dict(computer=computer or None, workspace=workspace,
                                                  parallel=parallel, base_url=base_url, api_key=api_key,
                                                  local=local).items() if v is not None},
               "extra": extra}
    if ctx.invoked_subcommand is not None:
        return
    try:
        from orgorepl.session.carry import valid_session_id

        if resume is not None and not valid_session_id(resume):
            raise errors.ConfigError(f"--resume {resume!r}: a session id is 4-32 hex digits, as %info shows")
        settings = _settings(ctx, ctx.obj["conn"])
        connector = _connector(settings, ctx.obj["conn"])
    except errors.OrgoError as err:
        if early is not None:
            early.abandon()
        _fail(err)
    from orgorepl import repl

    console = _console(settings)
    options = repl.ReplOptions(
        mode=Mode.BASH if start_bash else Mode.PYTHON,
        timeouts={Mode.PYTHON: settings.python_timeout, Mode.BASH: settings.bash_timeout},
        vi=settings.editing_mode == "vi",
        target_label=("local emulator" if local else
                      (", ".join(computer) or workspace or settings.computer or settings.base_url)),
        parallel=parallel or repl.ReplOptions.parallel,
        color=console.color,
        secret=settings.api_key,
        stateful=settings.stateful,
        session_id=resume,
        toggle_key=settings.toggle_key,
        history_size=settings.history_size,
        theme=settings.theme,
        output_max_bytes=settings.output_max_bytes,
        output_max_lines=settings.output_max_lines,
        raw_escapes=raw_escapes,
        log_path=log_path,
    )
    if not sys.stdin.isatty():
        status = repl.run_batch(connector, options, sys.stdin.read(), console=console)
    else:
        try:
            status = repl.run_interactive(connector, options, early=early)
        except (ValueError, OSError) as exc:  # --log FILE cannot be used
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            console.error(f"--log {log_path}: {reason}")
            sys.exit(int(ExitStatus.USAGE))
    sys.exit(int(status))


@cli.command("config", context_settings=CONTEXT_SETTINGS)
@click.pass_context
def config_cmd(ctx) -> None:
    """Print the effective configuration and where each value came from (the key masked)."""
    from orgorepl import config, paths

    try:
        settings = _settings(ctx, ctx.obj.get("conn", {}))
    except errors.OrgoError as err:
        _fail(err)
    console = _console(settings)
    console.line(f"# config file: {paths.config_file()}"
                 + ("" if paths.config_file().exists() else " (not present)"))
    width = max(len(s.key) for s in config.SCHEMA)
    for setting in config.SCHEMA:
        value = settings.values[setting.key]
        source = settings.sources[setting.key]
        if value is None:
            console.line(f"# {setting.key.ljust(width - 2)} (not set)  # {source}")
        elif setting.secret:
            console.line(f"# {setting.key.ljust(width - 2)} = {settings.masked(setting.key)}  # {source}")
        else:  # TOML, so a line can be pasted into config.toml as it is
            shown = json.dumps(value) if not isinstance(value, bool) else str(value).lower()
            console.line(f"{setting.key.ljust(width)} = {shown}  # {source}")


def _run_oneshot(ctx: click.Context, conn: dict[str, Any], work: Callable[[Any, Console], int], *,
                 as_json: bool, resolve: bool = True) -> NoReturn:
    console = None
    try:
        settings = _settings(ctx, conn)
        console = _console(settings)
        connection = _connector(settings, conn, resolve=resolve)()
    except errors.OrgoError as err:
        _fail(err, as_json=as_json, console=console)
    except KeyboardInterrupt:
        sys.exit(int(ExitStatus.INTERRUPTED))
    try:
        status = work(connection, console)
    except errors.OrgoError as err:
        connection.close()
        _fail(err, as_json=as_json, console=console)
    except KeyboardInterrupt:
        connection.close()
        console.error("interrupted; the code may still be running on the computer")
        sys.exit(int(ExitStatus.INTERRUPTED))
    connection.close()
    sys.exit(int(status))


def _run_code(ctx: click.Context, conn: dict[str, Any], mode: Mode, source: str, timeout: int | None,
              as_json: bool) -> NoReturn:
    """``exec`` and ``bash``: one submission, raw (no session), on one computer or several."""

    def work(connection: Connection, console: Console) -> int:
        from orgorepl import fanout
        from orgorepl import outcome as oc
        from orgorepl.session.carry import RemoteSession
        from orgorepl.submit import Code, submit

        settings = _settings(ctx, conn)
        limit = timeout or (settings.python_timeout if mode is Mode.PYTHON else _ONESHOT_BASH_TIMEOUT)
        if len(connection.targets) > 1:
            targets = [fanout.Target(c, RemoteSession(stateful=False)) for c in connection.targets]
            results = fanout.run(connection.make_async, targets, mode, source, limit,
                                 parallel=conn.get("parallel") or fanout.DEFAULT_PARALLEL)
            if as_json:
                console.line(json.dumps(fanout.to_json(results), indent=2))
                return fanout.exit_status(results)
            return fanout.report(console, results)
        outcome = submit(connection.client, connection.computer.id, RemoteSession(stateful=False),
                         Code(mode, source, limit))
        if not outcome.ran:  # the request failed: one line, the client error's status
            if as_json:
                console.line(json.dumps(oc.as_json(outcome)))
            console.error(outcome.error or outcome.verdict)
            return outcome.exit_status
        if as_json:
            console.line(json.dumps(oc.as_json(outcome)))
            return outcome.exit_status
        return console.report(outcome)

    _run_oneshot(ctx, conn, work, as_json=as_json)


# one-shot bash keeps the API's own default, not the REPL's 60
_ONESHOT_BASH_TIMEOUT = protocol.BASH_TIMEOUT_DEFAULT


@cli.command("exec", context_settings=CONTEXT_SETTINGS)
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


@cli.command("bash", context_settings=CONTEXT_SETTINGS)
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


@cli.command("computers", context_settings=CONTEXT_SETTINGS)
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


for _action in ("start", "stop", "restart"):
    cli.command(_action, context_settings=CONTEXT_SETTINGS)(_lifecycle(_action))


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


cli.command("put", context_settings=CONTEXT_SETTINGS)(_transfer("put"))
cli.command("get", context_settings=CONTEXT_SETTINGS)(_transfer("get"))


@cli.command("replay", context_settings=CONTEXT_SETTINGS)
@_connection_options
@click.option("--all", "auto", is_flag=True, help="Run every submission without waiting for keys.")
@click.option("--stateless", is_flag=True, help="Send the submissions raw.")
@click.argument("path", type=click.Path(dir_okay=False))
@click.pass_context
def replay_cmd(ctx, computer, workspace, parallel, base_url, api_key, local, auto, stateless, path) -> None:
    """Step through a saved session (.md, .py, .sh) on a computer, one submission per key press.

    Enter or Space runs the next submission, s skips it, q quits.
    """
    conn = _merged(ctx, computer=computer, base_url=base_url, api_key=api_key, local=local)
    try:
        settings = _settings(ctx, conn)
        connector = _connector(settings, conn)
    except errors.OrgoError as err:
        _fail(err)
    from orgorepl.replay import run_replay
    from orgorepl.ui.style import load_style

    console = _console(settings)
    _theme, style, warning = load_style(settings.theme if console.color else "mono")
    if warning:
        console.error(warning)
    status = run_replay(connector, path, stateful=settings.stateful and not stateless,
                        timeouts={Mode.PYTHON: settings.python_timeout, Mode.BASH: settings.bash_timeout},
                        auto=auto, color=console.color, style=style)
    sys.exit(int(status))


@cli.command("themes", context_settings=CONTEXT_SETTINGS)
@click.option("--no-color", "no_color", is_flag=True, help="List the names only, without samples.")
@click.pass_context
def themes_cmd(ctx, no_color) -> None:
    """List the colour themes, each with a rendered sample."""
    from orgorepl import themes

    try:
        settings = _settings(ctx, {})
    except errors.OrgoError as err:
        _fail(err)
    console = Console.from_env("never" if no_color else settings.color)
    show = console.color
    for name, source in themes.available().items():
        where = f"{source.origin}: {source.path}"
        if not show:
            console.line(f"{name}  ({where})")
            continue
        from orgorepl.ui.style import build_style
        from orgorepl.ui.theme_sample import print_sample

        try:
            theme = themes.load(name)
            style = build_style(theme)
        except errors.OrgoError as err:
            console.error(f"{name}: {err.one_line()}", prefix="")
            continue
        print_sample(theme, style)
        console.line(f"  ({where})\n")


@cli.command("serve", context_settings=CONTEXT_SETTINGS)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535),
              help="Port (0 picks a free one).")
@click.option("--api-key", metavar="KEY", help="Key clients must send (random when not given).")
@click.option("--computers", "count", default=1, show_default=True, type=click.IntRange(1, 1000),
              help="How many computers the workspace holds.")
@click.option("--data-dir", type=click.Path(file_okay=False), metavar="DIR",
              help="Where computers' home directories live (default: the user data dir).")
@click.option("--executor", type=click.Choice(["zygote", "spawn"]),
              help="How exec starts its interpreter: fork a warm one (zygote) or spawn one per call.")
@click.option("--memory", metavar="SIZE", help="Memory each run may use, e.g. 2G, 512M (0: no limit).")
@click.option("--max-processes", type=click.IntRange(0, 100000), metavar="N",
              help="Processes each run may have at once (0: no limit).")
@click.option("--latency", type=click.IntRange(0, 60000), default=0, metavar="MS",
              help="Add MS milliseconds to every exec/bash answer, like a real network round trip.")
def serve_cmd(host, port, api_key, count, data_dir, executor, memory, max_processes, latency) -> None:
    """Serve a local emulator of the Orgo API (base URL http://HOST:PORT/api)."""
    from pathlib import Path

    from orgorepl import paths
    from orgorepl.emulator import Limits, serve
    from orgorepl.emulator.limits import parse_size

    directory = Path(data_dir) if data_dir else paths.data_dir() / "emulator"
    try:
        limits = None
        if memory is not None or max_processes is not None:
            defaults = Limits()
            size = parse_size(memory) if memory is not None else defaults.memory
            limits = Limits(memory=size or None,
                            processes=defaults.processes if max_processes is None else (max_processes or None))
        serve(host=host, port=port, api_key=api_key, computers=count, data_dir=directory, echo=click.echo,
              limits=limits, executor=executor, latency=latency / 1000)
    except ValueError as exc:
        Console.from_env().error(str(exc), prefix="orgorepl serve: ")
        sys.exit(int(ExitStatus.USAGE))
    except OSError as exc:
        Console.from_env().error(f"cannot listen on {host}:{port}: {exc.strerror or exc}", prefix="orgorepl serve: ")
        sys.exit(int(ExitStatus.USAGE))


def main(early: Any = None) -> None:
    """Entry point; ``early`` is the prompt ``__main__`` painted before click was imported."""
    try:
        cli(prog_name="orgorepl", obj={"early": early})
    except errors.OrgoError as err:  # anything a command did not translate itself
        if early is not None:
            early.abandon()
        _fail(err)
