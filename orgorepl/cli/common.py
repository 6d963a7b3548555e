"""What every command shares: the connection options, settings loaded once, the Console, failing
in one line with a named exit status, and running work against one connection."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NoReturn

import click

from orgorepl import errors
from orgorepl.console import Console
from orgorepl.exitstatus import ExitStatus

if TYPE_CHECKING:  # pragma: no cover
    from orgorepl.config import Settings
    from orgorepl.connect import Connector

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


# Where the server is and who you are: the same for every command that talks to a computer.
_SERVER_OPTIONS = (
    click.option("--base-url", metavar="URL", help="Orgo API base URL (env ORGO_BASE_URL)."),
    click.option("--api-key", metavar="KEY", help="Orgo API key (env ORGO_API_KEY)."),
    click.option("--local", is_flag=True, default=None,
                 help="Run against the embedded local emulator (no account, no network)."),
)


def _applied(fn: Callable, opts: tuple[Callable, ...]) -> Callable:
    for opt in reversed(opts):
        fn = opt(fn)
    return fn


def _connection_options(fn: Callable) -> Callable:
    """Options every command that talks to a computer accepts (also before the subcommand)."""
    return _applied(fn, (
        click.option("--computer", "-c", "computer", metavar="ID|NAME", multiple=True,
                     help="Computer to use (id or name); repeat it to run on several at once. "
                          "Default: ORGO_COMPUTER, or the only one."),
        click.option("--workspace", "-w", "workspace", metavar="NAME",
                     help="Run on every running computer of this workspace (fan-out)."),
        click.option("--parallel", type=click.IntRange(1, 256), metavar="N",
                     help="Fan-out: at most N computers at a time (default 8)."),
        *_SERVER_OPTIONS,
    ))


def _one_computer_options(fn: Callable) -> Callable:
    """The connection options of a command that works on one computer only (no fan-out)."""
    return _applied(fn, (
        click.option("--computer", "-c", "computer", metavar="ID|NAME",
                     help="Computer to use (id or name). Default: ORGO_COMPUTER, or the only one."),
        *_SERVER_OPTIONS,
    ))


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


def _settings(ctx: click.Context, conn: dict[str, Any], *, problems: list[str] | None = None) -> Settings:
    """The settings of this run: loaded once (flags given before the subcommand included), so
    every warning is printed once.  ``problems``: faults collected there, not raised (config.load)."""
    from orgorepl import config

    obj = ctx.obj if isinstance(ctx.obj, dict) else {}
    flags: dict[str, Any] = {k: conn.get(k) for k in ("base_url", "api_key")}
    flags.update(obj.get("extra") or {})
    if problems is not None:
        return config.load(flags, flag_names=_FLAG_NAMES, problems=problems)
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
