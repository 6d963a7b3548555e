"""One submission path: every front end reads one Outcome, and meta-commands act through one table.

Each test here is a bug that the front ends' separate copies had (issue 10), checked where a user
meets it: the toolbar, the transcript, the exit status, a pipe, a terminal.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from orgorepl import commands, fanout
from orgorepl import outcome as oc
from orgorepl.console import Console, use_color
from orgorepl.exitstatus import ExitStatus
from orgorepl.protocol import BashResult, Computer
from orgorepl.render.result import render_outcome
from orgorepl.repl import ReplOptions, effects, run_batch
from orgorepl.session.carry import RemoteSession
from orgorepl.transcript import Entry
from orgorepl.ui.state import LastCall

from test_repl import start  # noqa: F401  (the fixture)
from test_repl_batch import connect  # noqa: F401  (the fixture)

REPO = Path(__file__).resolve().parent.parent


class TtyStream(io.StringIO):
    def isatty(self) -> bool:
        return True


def bash_reply(output: str, exit_code: int | None, success: bool) -> oc.Outcome:
    """A /bash answer as the session layer reads it (the one classification path)."""
    session = RemoteSession(stateful=False)
    request = session.bash("true")
    return session.bash_outcome(request, BashResult(output=output, exit_code=exit_code, success=success))


def text_of(fragments) -> str:
    return "".join(t for _, t, *_ in fragments)


# --------------------------------------------------------------------------------------------
# a bash reply without an exit code means one thing everywhere


def test_a_failed_bash_reply_without_exit_code_is_the_same_failure_everywhere():
    o = bash_reply("partial\n", None, success=False)
    assert o.status is oc.Status.UNKNOWN
    assert LastCall.of(o) == LastCall("failed", "no exit code", 0.0)  # the toolbar
    assert Entry.from_outcome("x", o).status == "unknown"  # the transcript
    assert "failed: the computer reported no exit code" in text_of(render_outcome(o))  # the REPL
    target = fanout.Target(Computer(id="c", name="c", status="running"))
    result = fanout.TargetResult(target, o)
    assert result.status == "no exit code" and result.kind == "error"  # fan-out, not "exit None"
    assert fanout.exit_status([result]) == o.exit_status == ExitStatus.SERVER  # fan-out exits 14 too
    out, err = TtyStream(), io.StringIO()
    assert Console.from_env("never", stdout=out, stderr=err).report(o) == ExitStatus.SERVER  # one-shot, batch
    assert "no exit code" in err.getvalue()


def test_a_successful_bash_reply_without_exit_code_is_ok_everywhere():
    o = bash_reply("done\n", None, success=True)  # the older API: success means it completed
    assert o.status is oc.Status.OK and o.exit_status == 0
    assert LastCall.of(o).outcome == "ok" and Entry.from_outcome("x", o).status == "ok"
    assert "failed" not in text_of(render_outcome(o))


# --------------------------------------------------------------------------------------------
# batch mode runs every meta-command, or says why not


def batch(connect, script, **options):  # noqa: F811
    out, err = io.StringIO(), io.StringIO()
    status = run_batch(connect, ReplOptions(**options), script, stdout=out, stderr=err)
    return int(status), out.getvalue(), err.getvalue()


@pytest.mark.parametrize("line", sorted(f"%{c.name}" for c in commands.registry.commands()))
def test_every_meta_command_piped_in_works_or_fails_in_one_line(connect, line):  # noqa: F811
    status, out, err = batch(connect, line)
    if status == 0:
        assert err == "", f"{line}: exit 0 but said {err!r}"
    else:
        assert err.count("\n") == 1 and err.startswith("orgorepl: "), f"{line}: exit {status}, stderr {err!r}"


def test_batch_save_output_without_output_exits_non_zero(connect, tmp_path):  # noqa: F811
    status, out, err = batch(connect, f"%save-output {tmp_path / 'out.txt'}\n")
    assert status != 0 and "no output yet" in err
    assert not (tmp_path / "out.txt").exists()


def test_batch_put_and_get_copy_files(connect, tmp_path, emulator):  # noqa: F811
    local = tmp_path / "up.txt"
    local.write_text("piped payload\n")
    status, out, err = batch(connect, f"%put {local} batch-up.txt")
    assert (status, err) == (0, "") and out.startswith("uploaded ")
    assert (emulator.computers[1].home / "batch-up.txt").read_text() == "piped payload\n"
    back = tmp_path / "back.txt"
    status, out, err = batch(connect, f"%get batch-up.txt {back}")
    assert status == 0 and back.read_text() == "piped payload\n"


def test_batch_state_and_theme(connect):  # noqa: F811
    status, out, err = batch(connect, "%theme dark")
    assert status == ExitStatus.USAGE and "batch mode" in err
    status, out, err = batch(connect, "%theme")
    assert status == 0 and "default" in out
    status, out, err = batch(connect, "%state", session_id="abcd1234")
    assert status == 0 and out.startswith("session abcd1234:")


def test_every_effect_has_a_handler():
    kinds = commands.Effect.__args__  # type: ignore[attr-defined]
    assert set(kinds) == set(effects.EFFECTS)


# --------------------------------------------------------------------------------------------
# fan-out: scripts get everything; the REPL's limits and --raw-escapes apply


def test_oneshot_fanout_into_a_pipe_gets_every_line_raw(orgorepl_cmd, orgo_env, emulator):
    code = "print('\\x1b[31mred\\x1b[0m')\nfor i in range(5000): print('line', i)"
    argv = orgorepl_cmd + ["exec", "-c", emulator.computers[0].name, "-c", emulator.computers[1].name, code]
    p = subprocess.run(argv, capture_output=True, text=True, env=orgo_env, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.count("line 4999\n") == 1 and p.stdout.count("line 2500\n") == 1  # grouped: shown once
    assert "\x1b[31mred\x1b[0m" in p.stdout  # the bytes the computer printed
    assert "%more" not in p.stdout and "not shown" not in p.stdout


def test_repl_fanout_honours_output_limits_and_raw_escapes(start, emulator):  # noqa: F811
    from orgorepl.connect import remote_connector

    a, b = emulator.computers[0].name, emulator.computers[1].name
    s = start(connect=remote_connector(emulator.base_url, emulator.api_key, [a, b]), output_max_lines=20)
    s.expect(r"connected to ")
    s.submit("for i in range(500): print('n', i)")
    s.submit("")
    s.expect(r"not shown: %more pages the whole output")
    s.expect(r"^n 499$")
    assert s.absent(r"^n 250$")


def test_repl_fanout_raw_escapes_pass_the_remote_sequences(start, emulator):  # noqa: F811
    from orgorepl.connect import remote_connector

    a, b = emulator.computers[0].name, emulator.computers[1].name
    s = start(connect=remote_connector(emulator.base_url, emulator.api_key, [a, b]), raw_escapes=True)
    s.expect(r"connected to ")
    s.submit("print('x\\x1b[2Cy')")  # cursor forward 2: obeyed only when raw
    s.expect(r"^x  y$")


# --------------------------------------------------------------------------------------------
# progress goes through the running application, never straight to stderr


def test_put_progress_goes_to_the_spinner_not_to_stderr(start, tmp_path, monkeypatch):  # noqa: F811
    from orgorepl.repl.loop import InteractiveRepl

    seen: list[str] = []
    real = InteractiveRepl.progress
    monkeypatch.setattr(InteractiveRepl, "progress", lambda self, text: (seen.append(text), real(self, text)))
    fake_tty = TtyStream()
    monkeypatch.setattr(sys, "stderr", fake_tty)
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(9 << 20))
    s = start()
    s.expect(r"connected to ")
    s.submit(f"%put {big}")
    s.expect(r"^uploaded 9\.0 MiB", timeout=60)
    assert fake_tty.getvalue() == ""  # nothing drawn over the spinner's row
    assert seen and all(t.startswith("uploading big.bin [") for t in seen)
    assert "100%" in seen[-1]


# --------------------------------------------------------------------------------------------
# settings and colour: one decision, made once


def test_exec_loads_the_config_once(orgorepl_cmd, orgo_env, isolated_env, emulator):
    config = isolated_env / "config" / "config.toml"
    config.write_text(f'api_key = "{orgo_env["ORGO_API_KEY"]}"\n')
    os.chmod(config, 0o644)  # a world-readable key: one warning
    env = {k: v for k, v in orgo_env.items() if k != "ORGO_API_KEY"}
    argv = orgorepl_cmd + ["exec", "-c", emulator.computers[0].id, "print(1)"]
    p = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 0 and p.stdout == "1\n"
    assert p.stderr.count("readable by others") == 1, p.stderr


@pytest.mark.parametrize("env,setting,expected", [
    ({}, "auto", True), ({"NO_COLOR": "1"}, "auto", False), ({"NO_COLOR": ""}, "auto", True),
    ({}, "never", False), ({"NO_COLOR": "1"}, "always", False),
])
def test_one_colour_rule(env, setting, expected):
    assert use_color(setting, isatty=True, env=env) is expected
    assert use_color("auto", isatty=False, env=env) is False


@pytest.mark.pty
@pytest.mark.parametrize("how", ["--no-color", "config"])
def test_oneshot_output_on_a_terminal_follows_no_color(how, orgo_env, isolated_env, emulator):
    import pexpect

    argv = ["-m", "orgorepl"] + (["--no-color"] if how == "--no-color" else []) + [
        "exec", "-c", emulator.computers[0].id, "print('\\x1b[31mred\\x1b[0m', 'text')"]
    if how == "config":
        (isolated_env / "config" / "config.toml").write_text('color = "never"\n')
    child = pexpect.spawn(sys.executable, argv, env=orgo_env, dimensions=(24, 100))
    child.expect(pexpect.EOF, timeout=30)
    child.close()
    seen = child.before.decode()
    assert "red text" in seen and "\x1b[31m" not in seen, repr(seen)
    assert child.exitstatus == 0


# --------------------------------------------------------------------------------------------
# shape


# Two modules may be longer: the bash grammar (one table-driven parser), and the live agent, a
# whole program shipped to the remote computer as one source text (it imports nothing of ours).
LONG_ON_PURPOSE = ("session/bashsyntax.py", "session/live_agent.py")


def test_no_module_is_over_about_500_lines_but_the_bash_grammar_and_the_remote_agent():
    sizes = {p.relative_to(REPO).as_posix(): len(p.read_text().splitlines())
             for p in (REPO / "orgorepl").rglob("*.py")}
    big = {p: n for p, n in sizes.items() if n > 520 and not p.endswith(LONG_ON_PURPOSE)}
    assert not big, big


def test_front_ends_neither_classify_nor_write_to_streams_themselves():
    """Only the Console writes to sys.stdout/stderr, and only outcome.py classifies replies."""
    offenders = []
    for path in (REPO / "orgorepl").rglob("*.py"):
        rel = path.relative_to(REPO).as_posix()
        own_io = ("orgorepl/console.py", "orgorepl/render/last_output.py")
        if rel.startswith(("orgorepl/emulator/", "orgorepl/session/")) or rel in own_io:
            continue
        text = path.read_text()
        for pattern in (r"sys\.std(out|err)\.write", r"click\.echo\(", r"\bprint\(f?[\"']", r"\.exit_code not in"):
            for m in re.finditer(pattern, text):
                offenders.append(f"{rel}: {m.group(0)}")
    assert not offenders, offenders
