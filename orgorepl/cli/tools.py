"""The commands that need no computer of their own: config, themes, replay, serve."""

from __future__ import annotations

import json
import sys

import click

from orgorepl import errors
from orgorepl.cli.common import (
    CONTEXT_SETTINGS,
    _connection_options,
    _connector,
    _console,
    _fail,
    _merged,
    _settings,
)
from orgorepl.console import Console
from orgorepl.exitstatus import ExitStatus
from orgorepl.modes import Mode


@click.command("config", context_settings=CONTEXT_SETTINGS)
@click.pass_context
def config_cmd(ctx) -> None:
    """Print the effective configuration and where each value came from (the key masked)."""
    from orgorepl import config, paths

    problems: list[str] = []
    try:
        settings = _settings(ctx, ctx.obj.get("conn", {}))
    except errors.ConfigError:  # show what can be shown, the faults first; still a failure
        settings = _settings(ctx, ctx.obj.get("conn", {}), problems=problems)
    except errors.OrgoError as err:
        _fail(err)
    for problem in problems:
        Console.from_env("never").error(problem)
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
    if problems:
        ctx.exit(errors.ConfigError.exit_status)


@click.command("replay", context_settings=CONTEXT_SETTINGS)
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


@click.command("themes", context_settings=CONTEXT_SETTINGS)
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


@click.command("serve", context_settings=CONTEXT_SETTINGS)
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
@click.option("--terminal-idle", type=click.FloatRange(0, 525600, min_open=True), default=30.0, show_default=True,
              metavar="MINUTES", help="Close a terminal socket after MINUTES without input (code 4008).")
def serve_cmd(host, port, api_key, count, data_dir, executor, memory, max_processes, latency,
              terminal_idle) -> None:
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
              limits=limits, executor=executor, latency=latency / 1000, terminal_idle=terminal_idle * 60)
    except ValueError as exc:
        Console.from_env().error(str(exc), prefix="orgorepl serve: ")
        sys.exit(int(ExitStatus.USAGE))
    except OSError as exc:
        Console.from_env().error(f"cannot listen on {host}:{port}: {exc.strerror or exc}", prefix="orgorepl serve: ")
        sys.exit(int(ExitStatus.USAGE))
