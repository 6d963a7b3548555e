"""The `orgorepl` command line: the only place that reads argv or calls sys.exit.

Heavy modules (httpx, the emulator, prompt_toolkit) are imported inside the commands that need
them, so `orgorepl --help` and the first prompt stay fast.  Every failure ends as one line on
stderr and a named exit status (see exitstatus.py).
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any, Callable

import click

from orgorepl import __version__, errors
from orgorepl.exitstatus import ExitStatus
from orgorepl.modes import Mode

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


def _fail(err: errors.OrgoError, *, as_json: bool = False) -> None:
    if as_json:
        payload = {"error": err.one_line(), "error_class": type(err).__name__}
        for attr in ("status", "request_id", "code", "upstream_status", "retry_after", "may_have_run"):
            if getattr(err, attr, None) is not None:
                payload[attr] = getattr(err, attr)
        click.echo(json.dumps(payload))
    click.echo(f"orgorepl: {err.one_line()}", err=True)
    sys.exit(int(err.exit_status))


# settings whose command-line flag is not simply --KEY
_FLAG_NAMES = {"python_timeout": "--timeout", "bash_timeout": "--timeout", "editing_mode": "--vi",
               "stateful": "--stateless", "color": "--no-color"}


def _settings(conn: dict[str, Any], extra: dict[str, Any] | None = None):
    from orgorepl import config

    flags = {k: conn.get(k) for k in ("base_url", "api_key")}
    flags.update(extra or {})
    settings = config.load(flags, flag_names=_FLAG_NAMES)
    for warning in settings.warnings:
        click.echo(f"orgorepl: warning: {warning}", err=True)
    return settings


def _connector(conn: dict[str, Any], extra: dict[str, Any] | None = None, *, resolve: bool = True):
    from orgorepl import connect

    settings = _settings(conn, extra)
    refs = list(conn.get("computer") or ())
    if not refs and settings.computer and not conn.get("workspace"):
        refs = [settings.computer]
    margin = settings.timeout_margin
    if conn.get("local"):
        return settings, connect.local_connector(refs, workspace=conn.get("workspace"), timeout_margin=margin,
                                                 resolve=resolve)
    return settings, connect.remote_connector(settings.base_url, settings.api_key, refs,
                                              workspace=conn.get("workspace"), timeout_margin=margin,
                                              resolve=resolve)


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
        settings, connector = _connector(ctx.obj["conn"], extra)
    except errors.OrgoError as err:
        if early is not None:
            early.abandon()
        _fail(err)
    from orgorepl import repl

    options = repl.ReplOptions(
        mode=Mode.BASH if start_bash else Mode.PYTHON,
        timeouts={Mode.PYTHON: settings.python_timeout, Mode.BASH: settings.bash_timeout},
        vi=settings.editing_mode == "vi",
        target_label=("local emulator" if local else
                      (", ".join(computer) or workspace or settings.computer or settings.base_url)),
        parallel=parallel or 8,
        color=_use_color(settings.color),
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
        status = repl.run_batch(connector, options, sys.stdin.read(), stdout=sys.stdout, stderr=sys.stderr)
    else:
        try:
            status = repl.run_interactive(connector, options, early=early)
        except (ValueError, OSError) as exc:  # --log FILE cannot be used
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            click.echo(f"orgorepl: --log {log_path}: {reason}", err=True)
            sys.exit(int(ExitStatus.USAGE))
    sys.exit(int(status))


def _use_color(setting: str) -> bool:
    """``never`` (or NO_COLOR, or --no-color) wins; ``auto`` means: stdout is a terminal."""
    if setting == "never" or os.environ.get("NO_COLOR"):
        return False
    return setting == "always" or sys.stdout.isatty()


@cli.command("config", context_settings=CONTEXT_SETTINGS)
@click.pass_context
def config_cmd(ctx) -> None:
    """Print the effective configuration and where each value came from (the key masked)."""
    from orgorepl import config, paths

    try:
        settings = _settings(ctx.obj.get("conn", {}), ctx.obj.get("extra"))
    except errors.OrgoError as err:
        _fail(err)
    click.echo(f"# config file: {paths.config_file()}"
               + ("" if paths.config_file().exists() else " (not present)"))
    width = max(len(s.key) for s in config.SCHEMA)
    for setting in config.SCHEMA:
        value = settings.values[setting.key]
        source = settings.sources[setting.key]
        if value is None:
            click.echo(f"# {setting.key.ljust(width - 2)} (not set)  # {source}")
        elif setting.secret:
            click.echo(f"# {setting.key.ljust(width - 2)} = {settings.masked(setting.key)}  # {source}")
        else:  # TOML, so a line can be pasted into config.toml as it is
            shown = json.dumps(value) if not isinstance(value, bool) else str(value).lower()
            click.echo(f"{setting.key.ljust(width)} = {shown}  # {source}")


def _run_oneshot(conn: dict[str, Any], work: Callable[[Any], int], *, as_json: bool,
                 resolve: bool = True) -> None:
    try:
        _settings_, connector = _connector(conn, resolve=resolve)
        connection = connector()
    except errors.OrgoError as err:
        _fail(err, as_json=as_json)
    except KeyboardInterrupt:
        sys.exit(int(ExitStatus.INTERRUPTED))
    try:
        status = work(connection)
    except errors.OrgoError as err:
        connection.close()
        _fail(err, as_json=as_json)
    except KeyboardInterrupt:
        connection.close()
        click.echo("orgorepl: interrupted; the code may still be running on the computer", err=True)
        sys.exit(int(ExitStatus.INTERRUPTED))
    connection.close()
    sys.exit(int(status))


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
    source = _read_arg(code)
    if timeout is None:
        try:
            timeout = _settings(conn).python_timeout
        except errors.OrgoError as err:
            _fail(err, as_json=as_json)

    def work(connection) -> int:
        if len(connection.targets) > 1:
            return _fanout_oneshot(connection, Mode.PYTHON, source, timeout, as_json, conn.get("parallel"))
        result = connection.client.exec(connection.computer.id, source, timeout)
        if as_json:
            click.echo(json.dumps({"output": result.output, "success": result.success,
                                   "error": result.error, "error_type": result.error_type,
                                   "timeout": result.timeout}))
        else:
            _write_output(result.output)
            if result.timeout:
                click.echo(f"orgorepl: TIMEOUT after {timeout}s", err=True)
            elif not result.success:
                click.echo(f"{result.error_type or 'Error'}: {result.error or ''}", err=True)
        if result.timeout:
            return ExitStatus.REMOTE_TIMEOUT
        return ExitStatus.OK if result.success else ExitStatus.REMOTE_EXCEPTION

    _run_oneshot(conn, work, as_json=as_json)


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
    source = _read_arg(command)
    timeout = timeout or 200  # one-shot bash keeps the API's own default, not the REPL's 60

    def work(connection) -> int:
        if len(connection.targets) > 1:
            return _fanout_oneshot(connection, Mode.BASH, source, timeout, as_json, conn.get("parallel"))
        result = connection.client.bash(connection.computer.id, source, timeout)
        if as_json:
            click.echo(json.dumps({"output": result.output, "exit_code": result.exit_code,
                                   "success": result.success, "timeout": result.timeout}))
        else:
            _write_output(result.output)
            if result.timeout:
                click.echo(f"orgorepl: TIMEOUT after {timeout}s", err=True)
        if result.timeout:
            return ExitStatus.REMOTE_TIMEOUT
        return result.exit_code if result.exit_code is not None else ExitStatus.SERVER

    _run_oneshot(conn, work, as_json=as_json)


@cli.command("computers", context_settings=CONTEXT_SETTINGS)
@_connection_options
@click.option("--json", "as_json", is_flag=True, help="Print workspaces and computers as JSON.")
@click.pass_context
def computers_cmd(ctx, computer, workspace, parallel, base_url, api_key, local, as_json) -> None:
    """List workspaces and their computers with status."""
    conn = _merged(ctx, computer=None, base_url=base_url, api_key=api_key, local=local)
    conn.pop("computer", None)
    conn.pop("workspace", None)

    def work(connection) -> int:
        workspaces = connection.client.list_workspaces()
        if as_json:
            click.echo(json.dumps([
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
            click.echo("  ".join(str(v).ljust(widths[i]) for i, v in enumerate(r)).rstrip())
        return ExitStatus.OK

    _run_oneshot(conn, work, as_json=as_json, resolve=False)


_GOALS = {"start": "running", "restart": "running", "stop": "stopped"}


def _lifecycle(action: str):
    @_connection_options
    @click.argument("target", metavar="ID|NAME", required=False)
    @click.pass_context
    def command(ctx, computer, workspace, parallel, base_url, api_key, local, target, wait) -> None:
        conn = _merged(ctx, computer=(target,) if target else computer, base_url=base_url,
                       api_key=api_key, local=local)

        def work(connection) -> int:
            from orgorepl.lifecycle import GOAL, change_state

            name = connection.computer.name
            tty = sys.stderr.isatty()

            def progress(status: str, elapsed: float) -> None:
                if tty:
                    click.echo(f"\r{name}: {status} ({elapsed:.0f}s)\x1b[K", nl=False, err=True)

            result = change_state(connection.client, connection.computer, action, wait=wait,
                                  progress=progress)
            if tty:
                click.echo("\r\x1b[K", nl=False, err=True)
            if not result.changed:
                click.echo(f"{name} is already {result.computer.status}")
            elif wait:
                click.echo(f"{name}: {GOAL[action]} ({result.waited:.1f}s)")
            else:
                click.echo(f"{name}: {action} requested ({result.computer.status} before)")
            return ExitStatus.OK

        _run_oneshot(conn, work, as_json=False)

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

        def work(connection) -> int:
            from pathlib import Path

            from orgorepl import transfer

            bar = transfer.ProgressLine(sys.stderr, Path(source).name) if sys.stderr.isatty() else None
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
                if bar is not None:
                    bar.close()
                click.echo("orgorepl: interrupted: run the same command again to resume", err=True)
                return ExitStatus.INTERRUPTED
            finally:
                if bar is not None:
                    bar.close()
            click.echo(result.summary("uploaded" if direction == "put" else "downloaded"))
            return ExitStatus.OK

        _run_oneshot(conn, work, as_json=False)

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
        settings, connector = _connector(conn, (ctx.obj or {}).get("extra"))
    except errors.OrgoError as err:
        _fail(err)
    from orgorepl.modes import Mode as _Mode
    from orgorepl.replay import run_replay

    from orgorepl.ui.style import load_style

    color = _use_color(settings.color)
    _theme, style, warning = load_style(settings.theme if color else "mono")
    if warning:
        click.echo(f"orgorepl: {warning}", err=True)
    status = run_replay(connector, path, stateful=settings.stateful and not stateless,
                        timeouts={_Mode.PYTHON: settings.python_timeout, _Mode.BASH: settings.bash_timeout},
                        auto=auto, color=color, style=style)
    sys.exit(int(status))


@cli.command("themes", context_settings=CONTEXT_SETTINGS)
@click.option("--no-color", "no_color", is_flag=True, help="List the names only, without samples.")
def themes_cmd(no_color) -> None:
    """List the colour themes, each with a rendered sample."""
    from orgorepl import themes

    show = sys.stdout.isatty() and not no_color and not os.environ.get("NO_COLOR")
    for name, source in themes.available().items():
        where = f"{source.origin}: {source.path}"
        if not show:
            click.echo(f"{name}  ({where})")
            continue
        from orgorepl.ui.style import build_style
        from orgorepl.ui.theme_sample import print_sample

        try:
            theme = themes.load(name)
            style = build_style(theme)
        except errors.OrgoError as err:
            click.echo(f"{name}: {err.one_line()}", err=True)
            continue
        print_sample(theme, style)
        click.echo(f"  ({where})\n")


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
        click.echo(f"orgorepl serve: {exc}", err=True)
        sys.exit(int(ExitStatus.USAGE))
    except OSError as exc:
        click.echo(f"orgorepl serve: cannot listen on {host}:{port}: {exc.strerror or exc}", err=True)
        sys.exit(int(ExitStatus.USAGE))


def _fanout_oneshot(connection, mode, source: str, timeout: int, as_json: bool, parallel) -> int:
    """Several computers at once: grouped plain output (or one JSON object per computer)."""
    from orgorepl import fanout
    from orgorepl.session.carry import RemoteSession

    targets = [fanout.Target(c, RemoteSession(stateful=False)) for c in connection.targets]
    results = fanout.run(connection.make_async, targets, mode, source, timeout,
                         parallel=parallel or fanout.DEFAULT_PARALLEL)
    if as_json:
        click.echo(json.dumps(fanout.to_json(results), indent=2))
    else:
        _write_output("".join(text for _, text, *_ in fanout.render(results, mode=mode, timeout=timeout)))
    return fanout.exit_status(results)


def _write_output(text: str) -> None:
    """Remote output to stdout: as-is into a pipe, sanitised on a terminal.

    A terminal must never receive the remote's control sequences (title, clipboard, cursor
    moves); a pipe or file gets the bytes the computer printed, for scripts to process.
    """
    if not text:
        return
    if sys.stdout.isatty():
        from orgorepl.render.sanitize import sanitize

        text = sanitize(text, keep_sgr="NO_COLOR" not in os.environ)
    sys.stdout.write(text)
    sys.stdout.flush()


def main(early: Any = None) -> None:
    """Entry point; ``early`` is the prompt ``__main__`` painted before click was imported."""
    try:
        cli(prog_name="orgorepl", obj={"early": early})
    except errors.OrgoError as err:  # anything a command did not translate itself
        if early is not None:
            early.abandon()
        _fail(err)
