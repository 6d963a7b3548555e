"""Every client call against the real emulator on 127.0.0.1, for the sync and the async client.

The async client is driven through ``Blocking``, which runs each coroutine to completion on its
own event loop, so one set of tests speaks to both clients through the same calls.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from contextlib import contextmanager

import pytest

from orgorepl import errors
from orgorepl.client import AsyncOrgoClient, OrgoClient

pytestmark = pytest.mark.timeout(60)


class Blocking:
    """The async client with blocking methods (each call runs on this object's event loop)."""

    def __init__(self, *args, **kwargs) -> None:
        self._loop = asyncio.new_event_loop()
        self._client = AsyncOrgoClient(*args, **kwargs)

    def __getattr__(self, name):
        method = getattr(self._client, name)
        return lambda *a, **kw: self._loop.run_until_complete(method(*a, **kw))

    def close(self) -> None:
        self._loop.run_until_complete(self._client.aclose())
        self._loop.close()


@pytest.fixture(params=["sync", "async"])
def make_api(request):
    made = []

    def make(api_key, base_url, **kwargs):
        api = OrgoClient(api_key, base_url, **kwargs) if request.param == "sync" else Blocking(
            api_key, base_url, **kwargs)
        made.append(api)
        return api

    yield make
    for api in made:
        api.close()


@pytest.fixture
def api(make_api, emulator):
    return make_api(emulator.api_key, emulator.base_url)


@pytest.fixture
def raises(emulator):
    """pytest.raises that also proves the error never shows the emulator's API key."""

    @contextmanager
    def check(exc_type):
        with pytest.raises(exc_type) as info:
            yield info
        err = info.value
        for text in (str(err), repr(err), err.one_line(), repr(err.__cause__)):
            assert emulator.api_key not in text

    return check


# ------------------------------------------------------------------ exec


def test_exec_returns_stdout(api, computer_id):
    result = api.exec(computer_id, "import sys\nprint(1 + 1)\nprint('done', file=sys.stdout)")
    assert result.success is True and result.timeout is False
    assert result.output == "2\ndone\n"
    assert result.error is None and result.error_type is None


def test_exec_exception_is_a_result_not_an_error(api, computer_id):
    result = api.exec(computer_id, "print('before')\n1 / 0")
    assert result.success is False and result.timeout is False
    assert result.error_type == "ZeroDivisionError"
    assert "division" in (result.error or "")
    assert "before" in result.output


def test_exec_syntax_error(api, computer_id):
    result = api.exec(computer_id, "def (")
    assert result.success is False and result.error_type == "SyntaxError"


def test_exec_timeout_is_a_result(api, computer_id):
    result = api.exec(computer_id, "import time\nprint('started', flush=True)\ntime.sleep(30)", 1)
    assert result.timeout is True and result.success is False


def test_exec_timeout_range_is_checked_before_sending(raises, api, computer_id):
    with raises(errors.ConfigError):
        api.exec(computer_id, "1", 0)


# ------------------------------------------------------------------ bash


@pytest.mark.parametrize("code", [0, 1, 3, 42])
def test_bash_exit_codes(api, computer_id, code):
    result = api.bash(computer_id, f"echo out; echo err >&2; exit {code}")
    assert result.exit_code == code and result.timeout is False
    assert "out\n" in result.output and "err\n" in result.output  # stdout and stderr merged


def test_bash_timeout_is_a_result(api, computer_id):
    result = api.bash(computer_id, "sleep 30", 1)
    assert result.timeout is True and result.success is False and result.exit_code is None


# ------------------------------------------------------------------ computers and workspaces


def test_get_computer(api, emulator):
    target = emulator.computers[1]
    computer = api.get_computer(target.id)
    assert (computer.id, computer.name) == (target.id, target.name)
    assert computer.status == "running"


def test_list_workspaces_and_get_workspace(api, emulator):
    workspaces = api.list_workspaces()
    listed = {c.id for ws in workspaces for c in ws.computers}
    assert {c.id for c in emulator.computers} <= listed
    for ws in workspaces:
        again = api.get_workspace(ws.id)
        assert (again.id, again.name) == (ws.id, ws.name)
        assert {c.id for c in again.computers} == {c.id for c in ws.computers}


def test_list_computers_is_the_flattened_listing(api, emulator):
    computers = api.list_computers()
    assert {c.id for c in emulator.computers} <= {c.id for c in computers}
    names = {c.id: c.name for c in computers}
    for expected in emulator.computers:
        assert names[expected.id] == expected.name
    assert all(c.workspace_id for c in computers)


def test_unknown_computer_is_not_found(raises, api):
    unknown = str(uuid.uuid4())
    for call in (lambda: api.get_computer(unknown), lambda: api.exec(unknown, "1"),
                 lambda: api.bash(unknown, "true"), lambda: api.start(unknown)):
        with raises(errors.NotFoundError) as info:
            call()
        assert info.value.status == 404 and info.value.request_id


def test_unknown_workspace_is_not_found(raises, api):
    with raises(errors.NotFoundError):
        api.get_workspace(str(uuid.uuid4()))


def test_wrong_key_is_an_auth_error_that_does_not_echo_the_key(raises, make_api, emulator, computer_id):
    wrong = "sk_live_WRONG_key_for_this_test"
    api = make_api(wrong, emulator.base_url)
    for call in (lambda: api.get_computer(computer_id), lambda: api.exec(computer_id, "1"),
                 lambda: api.list_workspaces()):
        with raises(errors.AuthError) as info:
            call()
        err = info.value
        assert err.status == 401 and err.request_id
        for text in (str(err), repr(err), err.one_line()):
            assert wrong not in text and emulator.api_key not in text
    assert wrong not in repr(api)


def test_base_url_with_trailing_slash(make_api, emulator, computer_id):
    api = make_api(emulator.api_key, emulator.base_url.rstrip("/") + "/")
    assert api.get_computer(computer_id).id == computer_id


# ------------------------------------------------------------------ lifecycle


def test_stop_start_restart_and_their_conflicts(raises, api, emulator):
    target = emulator.computers[-1].id  # the last computer; other tests use the first ones
    try:
        reply = api.stop(target)
        assert isinstance(reply, dict) and reply.get("success") is True
        assert api.get_computer(target).status in ("stopping", "stopped")
        _wait_for_status(api, target, "stopped")

        with raises(errors.ConflictError) as info:
            api.stop(target)
        assert info.value.status == 409
        with raises(errors.InstanceNotAvailableError) as info:
            api.exec(target, "print(1)")
        assert info.value.status == 400
        with raises(errors.InstanceNotAvailableError):
            api.bash(target, "true")

        reply = api.start(target)
        assert reply.get("success") is True
        _wait_for_status(api, target, "running")
        with raises(errors.ConflictError):
            api.start(target)

        reply = api.restart(target)
        assert reply.get("success") is True
        _wait_for_status(api, target, "running")
        assert api.exec(target, "print('back')").output == "back\n"
    finally:
        if api.get_computer(target).status == "stopped":
            api.start(target)
        _wait_for_status(api, target, "running")


def _wait_for_status(api, computer_id, status, attempts=100):
    for _ in range(attempts):
        if api.get_computer(computer_id).status == status:
            return
        time.sleep(0.05)
    raise AssertionError(f"{computer_id} never became {status}: {api.get_computer(computer_id).status}")


# ------------------------------------------------------------------ resolving a computer


def test_resolve_by_id_and_by_name(api, emulator):
    for expected in emulator.computers:
        assert api.resolve_computer(expected.id).id == expected.id
        assert api.resolve_computer(expected.name).id == expected.id


def test_resolve_unknown_name_lists_the_candidates(raises, api, emulator):
    with raises(errors.ResolutionError) as info:
        api.resolve_computer("no-such-computer")
    err = info.value
    assert "no computer named 'no-such-computer'" in err.message
    for computer in emulator.computers:
        assert computer.name in err.message and computer.name in err.candidates


def test_resolve_without_a_ref_needs_a_choice_among_several(raises, api, emulator):
    with raises(errors.ResolutionError) as info:
        api.resolve_computer(None)
    assert "--computer" in info.value.message
    assert {c.id for c in emulator.computers} <= set(info.value.candidates)


def test_resolve_without_a_ref_takes_the_only_computer(make_api, tmp_path):
    from orgorepl.emulator import EmbeddedEmulator

    emu = EmbeddedEmulator(data_dir=tmp_path / "solo", computers=1).start()
    try:
        api = make_api(emu.api_key, emu.base_url)
        assert api.resolve_computer(None).id == emu.computers[0].id
    finally:
        emu.stop()
