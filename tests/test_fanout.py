"""One submission on many computers: against a real 3-computer emulator."""

from __future__ import annotations

import json
import subprocess

import pytest

from orgorepl import fanout
from orgorepl.client import AsyncOrgoClient
from orgorepl.exitstatus import ExitStatus
from orgorepl.modes import Mode
from orgorepl.session.carry import RemoteSession


@pytest.fixture
def targets(client, emulator):
    by_id = {c.id: c for c in client.list_computers()}
    return [fanout.Target(by_id[c.id], RemoteSession()) for c in emulator.computers]


@pytest.fixture
def make_async(emulator):
    return lambda: AsyncOrgoClient(api_key=emulator.api_key, base_url=emulator.base_url)


def names(emulator, *indexes):
    return tuple(emulator.computers[i].name for i in indexes)


def test_identical_results_are_grouped_and_order_is_stable(targets, make_async, emulator):
    code = "import os\nprint('same')\nif os.environ['HOME'].endswith('%s/home'):\n    print('odd one')\n" % (
        emulator.computers[1].id)
    results = fanout.run(make_async, targets, Mode.PYTHON, code, 10)
    assert [r.target.name for r in results] == list(names(emulator, 0, 1, 2))
    groups = fanout.group_results(results)
    assert [g.names for g in groups] == [names(emulator, 0, 2), names(emulator, 1)]
    assert groups[1].result.outcome.output == "same\nodd one\n"
    text = "".join(t for _, t, *_ in fanout.render(results))
    first, second = names(emulator, 0, 2)
    assert f"==> {first}, {second} (2) <==" in text
    assert text.rstrip().endswith("3 computers: 3 ok · 0 error · 0 timeout · 0 unreachable")


def test_one_timeout_or_error_never_hides_the_others(targets, make_async, emulator):
    slow, bad = emulator.computers[0].id, emulator.computers[2].id
    code = ("import os, time\nhome = os.environ['HOME']\n"
            f"if {slow!r} in home:\n    time.sleep(5)\n"
            f"if {bad!r} in home:\n    raise KeyError('nope')\nprint('fine')\n")
    results = fanout.run(make_async, targets, Mode.PYTHON, code, 1)
    assert [r.status for r in results] == ["timeout", "ok", "error"]
    assert results[1].outcome.output == "fine\n"
    assert fanout.summary(results) == "3 computers: 1 ok · 1 error · 1 timeout · 0 unreachable"
    assert fanout.exit_status(results) == ExitStatus.REMOTE_TIMEOUT


def test_each_target_keeps_its_own_state(targets, make_async, emulator):
    fanout.run(make_async, targets, Mode.PYTHON, "import os\nmine = os.environ['HOME'][-12:]", 10)
    fanout.run(make_async, targets, Mode.BASH, 'd="/tmp/fan-${HOME: -41:36}"; mkdir -p "$d" && cd "$d"', 10)
    results = fanout.run(make_async, targets, Mode.PYTHON, "print(mine == os.environ['HOME'][-12:])", 10)
    assert [r.outcome.output for r in results] == ["True\n"] * 3
    assert [t.session.cwd for t in targets] == [f"/tmp/fan-{c.id}" for c in emulator.computers]


def test_an_unreachable_target_is_reported_and_the_rest_run(targets, make_async, client, emulator):
    stopped = emulator.computers[1]
    client.stop(stopped.id)
    try:
        results = fanout.run(make_async, targets, Mode.BASH, "echo up", 10)
    finally:
        client.start(stopped.id)
    assert [r.status for r in results] == ["ok", "unreachable", "ok"]
    assert "not available" in results[1].outcome.error
    assert fanout.exit_status(results) == ExitStatus.BAD_REQUEST


def test_bounded_concurrency_still_runs_everything(targets, make_async):
    results = fanout.run(make_async, targets * 1, Mode.BASH, "echo $((2 + 3))", 10, parallel=1)
    assert [r.outcome.output for r in results] == ["5\n"] * 3


def test_oneshot_json_has_one_object_per_computer(orgorepl_cmd, orgo_env, emulator):
    argv = orgorepl_cmd + ["bash", "--json"]
    for c in emulator.computers:
        argv += ["--computer", c.name]
    argv.append("echo hi; exit 3")
    p = subprocess.run(argv, capture_output=True, text=True, env=orgo_env, timeout=60)
    data = json.loads(p.stdout)
    assert [d["computer"] for d in data] == [c.name for c in emulator.computers]
    assert {(d["output"], d["exit_code"], d["status"]) for d in data} == {("hi\n", 3, "exit 3")}
    assert p.returncode == 3


def test_oneshot_workspace_plain_output_is_grouped(orgorepl_cmd, orgo_env, emulator):
    p = subprocess.run(orgorepl_cmd + ["exec", "--workspace", "local", "print(6 * 7)"], capture_output=True,
                       text=True, env=orgo_env, timeout=60)
    assert p.returncode == 0, p.stderr
    assert p.stdout.splitlines()[1:] == ["42", "3 computers: 3 ok · 0 error · 0 timeout · 0 unreachable"]
    assert p.stdout.startswith("==> ") and "(3) <==" in p.stdout.splitlines()[0]


def test_unknown_workspace_is_one_line(orgorepl_cmd, orgo_env):
    p = subprocess.run(orgorepl_cmd + ["exec", "--workspace", "nope", "print(1)"], capture_output=True,
                       text=True, env=orgo_env, timeout=60)
    assert p.returncode == ExitStatus.NOT_FOUND
    assert p.stderr.strip().count("\n") == 0 and "local" in p.stderr


def test_progress_hears_each_computer_answer(targets, make_async):
    heard: list[str] = []
    fanout.run(make_async, targets, Mode.BASH, "true", 10, progress=heard.append)
    assert heard == ["1/3 answered", "2/3 answered", "3/3 answered"]
