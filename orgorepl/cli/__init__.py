"""The `orgorepl` command line: the only place that reads argv or calls sys.exit.

Heavy modules (httpx, the emulator, prompt_toolkit) are imported inside the commands that need
them, so `orgorepl --help` and the first prompt stay fast.  Every failure ends as one line on
stderr and a named exit status (see exitstatus.py).
"""

from __future__ import annotations

import sys
from typing import Any

import click

from orgorepl import __version__, errors
from orgorepl.cli import code, computers, term, tools
from orgorepl.cli.common import (
    _FLAG_NAMES,
    CONTEXT_SETTINGS,
    _connection_options,
    _connector,
    _console,
    _fail,
    _settings,
)
from orgorepl.exitstatus import ExitStatus
from orgorepl.modes import Mode

__all__ = ["_FLAG_NAMES", "cli", "main"]  # _FLAG_NAMES: read by docs/hooks.py


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
@click.option("--live", is_flag=True,
              help="Bash mode runs in one persistent shell on the computer's terminal: output streams, "
                   "keys reach the command, Ctrl-C interrupts it there.")
@click.option("--log", "log_path", metavar="FILE", type=click.Path(dir_okay=False),
              help="Record every submission to FILE (.md, .jsonl, .py, .sh), flushed as it happens.")
@click.version_option(__version__, "-V", "--version", prog_name="orgorepl")
@click.pass_context
def cli(ctx: click.Context, computer, workspace, parallel, base_url, api_key, local, timeout, vi,
        start_bash, stateless, resume, theme, no_color, raw_escapes, live, log_path) -> None:
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
        complete_while_typing=settings.complete_while_typing,
        history_size=settings.history_size,
        theme=settings.theme,
        output_max_bytes=settings.output_max_bytes,
        output_max_lines=settings.output_max_lines,
        pager=settings.pager,
        raw_escapes=raw_escapes,
        log_path=log_path,
        live=live or settings.transport == "live",
        live_hard_limit=settings.live_time_limit == "interrupt",
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


for _command in (code.exec_cmd, code.bash_cmd, computers.computers_cmd, *computers.LIFECYCLE,
                 *computers.TRANSFER, term.term_cmd, tools.config_cmd, tools.replay_cmd, tools.themes_cmd,
                 tools.serve_cmd):
    cli.add_command(_command)


def main(early: Any = None) -> None:
    """Entry point; ``early`` is the prompt ``__main__`` painted before click was imported."""
    try:
        cli(prog_name="orgorepl", obj={"early": early})
    except errors.OrgoError as err:  # anything a command did not translate itself
        if early is not None:
            early.abandon()
        _fail(err)
