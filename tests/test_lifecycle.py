"""Starting and stopping computers, as a user sees it: one-shot commands and the REPL."""

from __future__ import annotations

import subprocess

from orgorepl.connect import remote_connector
from orgorepl.lifecycle import change_state

from test_repl import start  # noqa: F401  (the fixture)


def test_change_state_waits_and_skips_what_is_already_done(client, emulator):
    c = client.get_computer(emulator.computers[2].id)
    seen = []
    stopped = change_state(client, c, "stop", progress=lambda status, t: seen.append(status))
    assert (stopped.changed, stopped.computer.status) == (True, "stopped")
    assert seen[-1] == "stopped"
    again = change_state(client, c, "stop")
    assert (again.changed, again.computer.status) == (False, "stopped")
    assert change_state(client, c, "start").computer.status == "running"


def test_cli_start_stop_messages(orgorepl_cmd, orgo_env, emulator):
    name = emulator.computers[2].name

    def run(*args):
        return subprocess.run(orgorepl_cmd + list(args), capture_output=True, text=True, env=orgo_env, timeout=60)

    p = run("stop", name)
    assert (p.returncode, p.stdout.split(":")[0]) == (0, name)
    assert "stopped" in p.stdout
    assert run("stop", name).stdout.strip() == f"{name} is already stopped"
    p = run("start", name)
    assert p.returncode == 0 and "running" in p.stdout
    p = run("start", "no-such-computer")
    assert p.returncode == 11 and p.stderr.count("\n") == 1


def test_repl_offers_to_start_a_stopped_computer(start, emulator, client):  # noqa: F811
    target = emulator.computers[2]
    client.stop(target.id)
    try:
        s = start(connect=remote_connector(emulator.base_url, emulator.api_key, [target.name]))
        s.expect(rf"^{target.name} is stopped: %start starts it")
        s.submit("%start")
        s.expect(rf"^{target.name} is running")
        s.submit("print('awake')")
        s.expect(r"^awake$")
    finally:
        client.start(target.id) if client.get_computer(target.id).status != "running" else None
