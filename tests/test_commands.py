"""Meta-commands: pure handlers over a context, so every one is checked with plain values."""

from __future__ import annotations

import pytest

from orgorepl import commands
from orgorepl.commands import CommandContext, CommandRegistry, CommandResult, ComputerInfo, registry
from orgorepl.modes import Mode
from orgorepl.protocol import Computer


def ctx(**kw) -> CommandContext:
    base = dict(mode=Mode.PYTHON, timeouts={Mode.PYTHON: 10, Mode.BASH: 60}, target_label="agent-1")
    base.update(kw)
    return CommandContext(**base)


def test_help_lists_every_command_and_the_mode_key():
    text = registry.run("help", ctx()).text
    for name in registry.names():
        assert f"%{name}" in text
    assert "F4" in text and "Ctrl-D" in text


def test_help_for_one_command():
    assert registry.run("help timeout", ctx()).text.startswith("%timeout [N]")


@pytest.mark.parametrize("line,mode", [("bash", Mode.BASH), ("python", Mode.PYTHON), ("sh", Mode.BASH)])
def test_mode_switches(line, mode):
    start = mode.other
    result = registry.run(line, ctx(mode=start))
    assert result.effects == (commands.SetMode(mode),) and not result.error


def test_switching_to_the_current_mode_changes_nothing():
    result = registry.run("python", ctx(mode=Mode.PYTHON))
    assert result.effects == () and "already" in result.text


def test_timeout_sets_the_current_mode_only():
    assert registry.run("timeout 30", ctx()).effects == (commands.SetTimeout(Mode.PYTHON, 30),)
    assert registry.run("timeout 600", ctx(mode=Mode.BASH)).effects == (commands.SetTimeout(Mode.BASH, 600),)


@pytest.mark.parametrize("args", ["0", "301", "-1", "ten", "1.5"])
def test_timeout_outside_the_exec_range_is_refused(args):
    result = registry.run(f"timeout {args}", ctx())
    assert result.error and result.effects == ()
    assert "1 to 300" in result.text


def test_timeout_without_argument_shows_both():
    assert registry.run("timeout", ctx()).text == "timeouts: python 10s, bash 60s"


def test_history_shows_the_last_n_with_multiline_entries_whole():
    hist = ["a = 1", "for i in range(3):\n    print(i)", "b = 2"]
    text = registry.run("history 2", ctx(history=hist)).text
    assert text.splitlines() == ["2  for i in range(3):", "       print(i)", "3  b = 2"]
    assert registry.run("history x", ctx(history=hist)).error


def test_history_empty():
    assert "no python history" in registry.run("history", ctx()).text


def test_clear_and_exit():
    assert registry.run("clear", ctx()).effects == (commands.ClearScreen(),)
    assert registry.run("exit", ctx()).effects == (commands.Exit(),)
    assert registry.run("quit", ctx()).effects == (commands.Exit(),)


def test_info_shows_the_computer_and_never_a_key():
    computer = Computer(id="c-1", name="agent-1", status="running", workspace_id="w-1",
                        workspace_name="prod", os="linux", ram=4, cpu=2)
    text = registry.run("info", ctx(computer=ComputerInfo.from_computer(computer),
                                    base_url="http://127.0.0.1:9/api", local=True)).text
    for expected in ("agent-1", "c-1", "running", "prod (w-1)", "linux, 2 cpu, 4 GB ram",
                     "http://127.0.0.1:9/api  (local emulator)", "python 10s, bash 60s"):
        assert expected in text
    assert "key" not in text.lower()
    assert not hasattr(ComputerInfo, "api_key")


def test_info_before_the_connection():
    text = registry.run("info", ctx(connection_note="connecting…")).text
    assert "agent-1" in text and "connecting…" in text


@pytest.mark.parametrize("typed,suggested", [("inof", "info"), ("foo", "info"), ("hist", "history"),
                                             ("tiemout", "timeout"), ("bsh", "bash")])
def test_unknown_command_suggests_the_closest(typed, suggested):
    result = registry.run(typed, ctx())
    assert result.error
    assert result.text == f"unknown command %{typed}; did you mean %{suggested}?"


def test_unknown_command_without_a_close_match():
    result = registry.run("zzzzzz", ctx())
    assert result.error and result.text == "unknown command %zzzzzz; %help lists the commands"


def test_registry_refuses_duplicates_and_runs_new_commands():
    reg = CommandRegistry()

    @reg.command("ping", help="answer")
    def _ping(c: CommandContext, args: str) -> CommandResult:
        return CommandResult(text=f"pong {args}")

    assert reg.run("ping  x ", ctx()).text == "pong x"
    with pytest.raises(ValueError):
        reg.command("ping", help="again")(_ping)


def test_handlers_do_no_io():
    """The module has no print/open/network: handlers only describe what to do."""
    import inspect

    source = inspect.getsource(commands)
    for forbidden in ("print(", "open(", "sys.stdout", "httpx", "input("):
        assert forbidden not in source


def test_detach_leaves_a_live_session_running_and_says_when_it_cannot():
    from orgorepl.commands import Detach

    assert registry.run("detach", ctx(live=True)).effects == (Detach(),)
    not_live = registry.run("detach", ctx(live=False))
    assert not_live.error and "not in live mode" in not_live.text and not not_live.effects
    local = registry.run("detach", ctx(live=True, local=True))  # the computer would stop with us
    assert local.error and "orgorepl serve" in local.text and not local.effects


def test_info_in_live_mode_says_how_the_session_is_kept_and_taken_over():
    text = registry.run("info", ctx(live=True, session_id="ab12cd34")).text
    assert "live: a persistent shell and interpreter; %detach keeps it running" in text
    assert "orgorepl --live --resume ab12cd34" in text
    local = registry.run("info", ctx(live=True, local=True, session_id="ab12cd34")).text
    assert "stops with this orgorepl" in local
