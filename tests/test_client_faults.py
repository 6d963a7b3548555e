"""The client against a fault-injecting loopback server: every error class, the retry rules,
the time and size bounds, and that the API key never shows up in an error.

Every test runs the sync and the async client (``flavor``) through the same helper, since they
share the protocol code and must behave the same.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from orgorepl import errors, protocol
from orgorepl.client import AsyncOrgoClient, OrgoClient, RetryPolicy

from faultserver import FaultServer, Reply

KEY = "sk_live_PLANTED_secret_key_0123456789"
CID = "3f1e2d3c-0000-4000-8000-000000000001"
EXEC = f"POST {protocol.exec_path(CID)}"
BASH = f"POST {protocol.bash_path(CID)}"
GET_COMPUTER = f"GET {protocol.computer_path(CID)}"
COMPUTER = {"id": CID, "name": "agent-1", "status": "running", "os": "linux"}
WS = {"id": "ws-1", "name": "prod", "desktops": [COMPUTER]}

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(params=["sync", "async"])
def flavor(request):
    return request.param


def call(flavor, base_url, method, *args, sleeps=None, key=KEY, **client_kw):
    """Make one client of ``flavor``, run ``method(*args)`` on it, close it."""
    sleeps = [] if sleeps is None else sleeps
    if flavor == "sync":
        with OrgoClient(key, base_url, sleep=sleeps.append, **client_kw) as client:
            return getattr(client, method)(*args)

    async def record(delay):
        sleeps.append(delay)

    async def main():
        async with AsyncOrgoClient(key, base_url, sleep=record, **client_kw) as client:
            return await getattr(client, method)(*args)

    return asyncio.run(main())


def assert_no_key(err: BaseException) -> None:
    seen = err
    while seen is not None:
        for text in (str(seen), repr(seen), getattr(seen, "one_line", lambda: "")()):
            assert KEY not in text and "PLANTED" not in text, f"key leaked in {type(seen).__name__}: {text}"
        seen = seen.__cause__ or seen.__context__


def expect(exc_type, flavor, base_url, method, *args, **kw):
    with pytest.raises(exc_type) as info:
        call(flavor, base_url, method, *args, **kw)
    assert_no_key(info.value)
    return info.value


# ------------------------------------------------------------------ requests on the wire


def test_headers_body_and_base_url_with_or_without_slash(flavor):
    reply = Reply.json({"output": "hi\n", "success": True, "action": "exec", "timeout": False})
    with FaultServer({EXEC: reply}) as srv:
        for base in (srv.base_url, srv.base_url + "/"):
            result = call(flavor, base, "exec", CID, "print('hi')", 7)
            assert result == protocol.ExecResult(output="hi\n", success=True)
        sent = srv.requests_to("POST", protocol.exec_path(CID))
        assert len(sent) == 2
        for req in sent:
            assert req.headers["authorization"] == f"Bearer {KEY}"
            assert req.headers["accept"] == "application/json"
            assert req.headers["content-type"] == "application/json"
            assert req.headers["user-agent"].startswith("orgorepl/")
            assert req.json() == {"code": "print('hi')", "timeout": 7}


def test_lifecycle_posts_without_body_and_returns_raw_object(flavor):
    with FaultServer({f"POST computers/{CID}/restart": Reply.json({"success": True, "status": "restarting"})}) as srv:
        assert call(flavor, srv.base_url, "restart", CID) == {"success": True, "status": "restarting"}
        (req,) = srv.requests_to("POST", f"computers/{CID}/restart")
        assert req.body == b""


def test_ids_are_one_path_segment(flavor):
    with FaultServer() as srv:
        expect(errors.NotFoundError, flavor, srv.base_url, "get_computer", "../workspaces")
        assert srv.received[0].path == "computers/..%2Fworkspaces"


def test_custom_user_agent(flavor):
    with FaultServer({GET_COMPUTER: Reply.json(COMPUTER)}) as srv:
        call(flavor, srv.base_url, "get_computer", CID, user_agent="orgorepl-test/9")
        assert srv.received[0].headers["user-agent"] == "orgorepl-test/9"


# ------------------------------------------------------------------ configuration errors


@pytest.mark.parametrize("key", ["", "   "])
def test_empty_key_is_a_config_error(key):
    with pytest.raises(errors.ConfigError):
        OrgoClient(key, "http://127.0.0.1:1/api")
    with pytest.raises(errors.ConfigError):
        AsyncOrgoClient(key, "http://127.0.0.1:1/api")


def test_key_with_a_newline_is_refused_without_echoing_it():
    with pytest.raises(errors.ConfigError) as info:
        OrgoClient(KEY + "\n", "http://127.0.0.1:1/api")
    assert_no_key(info.value)


@pytest.mark.parametrize("url", ["ftp://example.com/api", "not a url", "http:///api", "http://u:p@host/api"])
def test_bad_base_url_is_a_config_error(url):
    with pytest.raises(errors.ConfigError):
        OrgoClient(KEY, url)


def test_repr_never_shows_the_key():
    with OrgoClient(KEY, "http://127.0.0.1:1/api") as client:
        assert KEY not in repr(client) and "127.0.0.1:1/api/" in repr(client)
    client = AsyncOrgoClient(KEY, "http://127.0.0.1:1/api")
    assert KEY not in repr(client)
    asyncio.run(client.aclose())


def test_exec_timeout_out_of_range_sends_nothing(flavor):
    with FaultServer() as srv:
        expect(errors.ConfigError, flavor, srv.base_url, "exec", CID, "1", 301)
        expect(errors.ConfigError, flavor, srv.base_url, "bash", CID, "true", 0)
        assert srv.received == []


# ------------------------------------------------------------------ HTTP error statuses


SCOPE = {"code": "workspace_scope_mismatch", "key_workspace_id": "ws-A", "target_workspace_id": "ws-B"}


@pytest.mark.parametrize(
    "reply, exc_type",
    [
        (Reply.error(400, "timeout must be 1..300", request_id="r400"), errors.BadRequestError),
        (Reply.error(400, "Desktop instance not available", request_id="r400b"), errors.InstanceNotAvailableError),
        (Reply.error(401, "Invalid API key. Check it.", request_id="r401"), errors.AuthError),
        (Reply.error(403, "This API key is scoped to workspace ws-A.", request_id="r403", **SCOPE),
         errors.ForbiddenError),
        (Reply.error(404, "Computer not found", request_id="r404"), errors.NotFoundError),
        (Reply.error(409, "computer is not stopped", request_id="r409", code="computer_waking"),
         errors.ConflictError),
        (Reply.error(429, "slow down", request_id="r429", headers={"Retry-After": "3"}), errors.RateLimitedError),
        (Reply.error(500, "desktop agent crashed", request_id="r500", upstream_status=500), errors.UpstreamError),
        (Reply.error(503, "Could not reach the desktop.", request_id="r503"), errors.UpstreamError),
    ],
    ids=lambda v: str(getattr(v, "status", "")) or None,
)
def test_error_statuses_carry_status_message_request_id_and_are_not_retried_for_exec(flavor, reply, exc_type):
    with FaultServer({EXEC: reply}) as srv:
        sleeps: list[float] = []
        err = expect(exc_type, flavor, srv.base_url, "exec", CID, "print(1)", sleeps=sleeps)
        assert type(err) is exc_type
        body = json.loads(reply.body)
        assert err.status == reply.status
        assert err.message == body["error"]
        assert err.request_id == body["request_id"]
        assert body["request_id"] in err.one_line()
        assert srv.count("POST", protocol.exec_path(CID)) == 1
        assert sleeps == []
        if exc_type is errors.ForbiddenError:
            assert (err.code, err.key_workspace_id, err.target_workspace_id) == (
                "workspace_scope_mismatch", "ws-A", "ws-B")
        if exc_type is errors.RateLimitedError:
            assert err.retry_after == 3
        if reply.status == 500:
            assert err.upstream_status == 500
        if exc_type is errors.ConflictError:
            assert err.code == "computer_waking"


def test_error_page_that_is_not_json_still_gives_the_status(flavor):
    with FaultServer({GET_COMPUTER: Reply.raw(b"<html>Bad gateway</html>", status=502)}) as srv:
        err = expect(errors.UpstreamError, flavor, srv.base_url, "get_computer", CID, max_retries=0)
        assert err.status == 502 and "502" in err.one_line()


def test_redirect_is_not_followed(flavor):
    moved = Reply(status=301, body=b"", headers={"Location": "https://www.orgo.ai/api/workspaces"})
    with FaultServer({"GET workspaces": moved}) as srv:
        err = expect(errors.APIError, flavor, srv.base_url, "list_workspaces")
        assert err.status == 301 and "www.orgo.ai" in err.message
        assert srv.count("GET", "workspaces") == 1


# ------------------------------------------------------------------ bash timeout as a result


@pytest.mark.parametrize("status, upstream", [(500, 408), (504, 504), (502, 504)])
def test_bash_killed_by_its_timeout_is_a_result(flavor, status, upstream):
    reply = Reply.error(status, "desktop timed the action out", request_id="rb", upstream_status=upstream,
                        output="partial\n")
    with FaultServer({BASH: reply}) as srv:
        result = call(flavor, srv.base_url, "bash", CID, "sleep 99", 1)
        assert (result.timeout, result.success, result.exit_code, result.output) == (True, False, None, "partial\n")
        assert srv.count("POST", protocol.bash_path(CID)) == 1


def test_bash_upstream_crash_is_still_an_error(flavor):
    with FaultServer({BASH: Reply.error(500, "spawn failed", upstream_status=500)}) as srv:
        err = expect(errors.UpstreamError, flavor, srv.base_url, "bash", CID, "true")
        assert err.upstream_status == 500
        assert srv.count("POST", protocol.bash_path(CID)) == 1


def test_bash_exit_codes_pass_through(flavor):
    reply = Reply.json({"success": True, "action": "bash", "command": "exit 3", "output": "", "exit_code": 3})
    with FaultServer({BASH: reply}) as srv:
        result = call(flavor, srv.base_url, "bash", CID, "exit 3")
        assert (result.exit_code, result.success, result.timeout) == (3, True, False)
        assert srv.received[0].json() == {"command": "exit 3", "timeout": 200}


# ------------------------------------------------------------------ retries


def test_get_is_retried_after_503_then_succeeds(flavor):
    busy = Reply.error(503, "Could not reach the desktop.", request_id="r")
    with FaultServer({GET_COMPUTER: [busy, busy, Reply.json(COMPUTER)]}) as srv:
        sleeps: list[float] = []
        computer = call(flavor, srv.base_url, "get_computer", CID, sleeps=sleeps)
        assert computer.id == CID and computer.name == "agent-1"
        assert srv.count("GET", protocol.computer_path(CID)) == 3
        assert sleeps == [0.5, 1.0]


def test_get_gives_up_after_max_retries(flavor):
    with FaultServer({GET_COMPUTER: Reply.error(504, "gateway timeout")}) as srv:
        sleeps: list[float] = []
        expect(errors.UpstreamError, flavor, srv.base_url, "get_computer", CID, sleeps=sleeps, max_retries=3)
        assert srv.count("GET", protocol.computer_path(CID)) == 4
        assert sleeps == [0.5, 1.0, 2.0]


def test_get_is_not_retried_on_500_or_404(flavor):
    with FaultServer({GET_COMPUTER: Reply.error(500, "boom")}) as srv:
        expect(errors.UpstreamError, flavor, srv.base_url, "get_computer", CID)
        assert srv.count("GET", protocol.computer_path(CID)) == 1


@pytest.mark.parametrize(
    "reply, delay",
    [
        (Reply.error(429, "slow", headers={"Retry-After": "2"}), 2.0),
        (Reply.error(429, "slow", retry_after=7), 7.0),
        (Reply.error(429, "slow", headers={"Retry-After": "3600"}), 30.0),
        (Reply.error(429, "slow"), 0.5),
    ],
    ids=["header", "body", "capped", "absent"],
)
def test_retry_after_is_honoured_for_gets(flavor, reply, delay):
    with FaultServer({"GET workspaces": [reply, Reply.json({"workspaces": [WS]})]}) as srv:
        sleeps: list[float] = []
        workspaces = call(flavor, srv.base_url, "list_workspaces", sleeps=sleeps)
        assert [w.name for w in workspaces] == ["prod"]
        assert sleeps == [delay]


def test_backoff_doubles_and_is_capped():
    policy = RetryPolicy(10)
    assert [policy.backoff(n) for n in range(6)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]


@pytest.mark.parametrize(
    "reply",
    [Reply.error(503, "busy"), Reply.error(429, "slow", headers={"Retry-After": "1"}), Reply.error(502, "bad gw")],
    ids=["503", "429", "502"],
)
def test_exec_is_never_retried_after_an_error_answer(flavor, reply):
    with FaultServer({EXEC: [reply, Reply.json({"output": "", "success": True})]}) as srv:
        sleeps: list[float] = []
        expect(errors.APIError, flavor, srv.base_url, "exec", CID, "launch_missiles()", sleeps=sleeps)
        assert srv.count("POST", protocol.exec_path(CID)) == 1
        assert sleeps == []


@pytest.mark.parametrize("action", ["start", "stop", "restart"])
def test_lifecycle_is_never_retried(flavor, action):
    with FaultServer({f"POST computers/{CID}/{action}": Reply.error(503, "busy")}) as srv:
        expect(errors.UpstreamError, flavor, srv.base_url, action, CID)
        assert srv.count("POST", f"computers/{CID}/{action}") == 1


def test_exec_after_connection_refused_is_a_connect_error_that_did_not_run(flavor):
    sleeps: list[float] = []
    err = expect(errors.ConnectError, flavor, FaultServer.closed_port_url(), "exec", CID, "1", sleeps=sleeps)
    assert isinstance(err, errors.ConnectionRefused) and err.may_have_run is False
    assert "127.0.0.1" in err.message and "is the server running" in err.one_line()
    # nothing listens: one quick retry (a server restarting), not 3.5 s of backoff before a word
    assert sleeps == [0.2]



# ------------------------------------------------------------------ broken connections


def test_exec_reset_before_answer_is_not_retried(flavor):
    with FaultServer({EXEC: [Reply.reset(), Reply.json({"output": "", "success": True})]}) as srv:
        sleeps: list[float] = []
        err = expect(errors.TransportError, flavor, srv.base_url, "exec", CID, "x = 1", sleeps=sleeps)
        assert type(err) is errors.TransportError
        assert err.may_have_run is True and "may have run" in err.one_line()
        assert srv.count("POST", protocol.exec_path(CID)) == 1 and sleeps == []


def test_exec_reset_mid_response_is_not_retried(flavor):
    with FaultServer({EXEC: [Reply.reset_mid_body(), Reply.json({"output": "", "success": True})]}) as srv:
        err = expect(errors.TransportError, flavor, srv.base_url, "exec", CID, "x = 1")
        assert err.may_have_run is True
        assert srv.count("POST", protocol.exec_path(CID)) == 1


def test_get_reset_is_retried(flavor):
    with FaultServer({GET_COMPUTER: [Reply.reset(), Reply.json(COMPUTER)]}) as srv:
        sleeps: list[float] = []
        assert call(flavor, srv.base_url, "get_computer", CID, sleeps=sleeps).id == CID
        assert srv.count("GET", protocol.computer_path(CID)) == 2 and sleeps == [0.5]


def test_truncated_json_with_honest_length_is_malformed(flavor):
    with FaultServer({EXEC: Reply.truncated_json({"output": "abc" * 50, "success": True})}) as srv:
        err = expect(errors.MalformedResponseError, flavor, srv.base_url, "exec", CID, "1")
        assert err.may_have_run is True and err.status == 200
        assert srv.count("POST", protocol.exec_path(CID)) == 1


def test_connection_closed_before_the_promised_length_is_a_transport_error(flavor):
    with FaultServer({EXEC: Reply.truncated_json({"output": "abc" * 50, "success": True}, lie=True)}) as srv:
        err = expect(errors.TransportError, flavor, srv.base_url, "exec", CID, "1")
        assert err.may_have_run is True
        assert srv.count("POST", protocol.exec_path(CID)) == 1


def test_non_json_success_body_is_malformed(flavor):
    with FaultServer({GET_COMPUTER: Reply.raw(b"<html>hello</html>")}) as srv:
        err = expect(errors.MalformedResponseError, flavor, srv.base_url, "get_computer", CID)
        assert err.may_have_run is False and "not JSON" in err.message and "<html>" in err.message


def test_json_of_the_wrong_shape_is_malformed(flavor):
    with FaultServer({EXEC: Reply.json(["not", "an", "object"]),
                      f"POST computers/{CID}/start": Reply.json("started")}) as srv:
        expect(errors.MalformedResponseError, flavor, srv.base_url, "exec", CID, "1")
        expect(errors.MalformedResponseError, flavor, srv.base_url, "start", CID)


# ------------------------------------------------------------------ time bounds


@pytest.mark.parametrize("after_headers", [False, True], ids=["before-headers", "after-headers"])
def test_exec_read_timeout_is_remote_timeout_plus_margin(flavor, after_headers):
    # The server never finishes; the call must still end, after timeout + margin = 1.2 s.
    with FaultServer({EXEC: Reply.stall(after_headers=after_headers)}) as srv:
        sleeps: list[float] = []
        err = expect(errors.RequestTimeout, flavor, srv.base_url, "exec", CID, "import time; time.sleep(99)", 1,
                     timeout_margin=0.2, sleeps=sleeps)
        assert err.may_have_run is True
        assert "1.2s" in err.message
        assert srv.count("POST", protocol.exec_path(CID)) == 1 and sleeps == []


def test_get_read_timeout_is_fixed_and_not_retried(flavor):
    with FaultServer({GET_COMPUTER: Reply.stall()}) as srv:
        err = expect(errors.RequestTimeout, flavor, srv.base_url, "get_computer", CID, read_timeout=0.3)
        assert err.may_have_run is False and "0.3s" in err.message
        assert srv.count("GET", protocol.computer_path(CID)) == 1


# ------------------------------------------------------------------ size bounds


def test_a_20_mb_answer_is_accepted(flavor):
    size = 20 * 1024 * 1024
    with FaultServer({EXEC: Reply.big_exec(size)}) as srv:
        result = call(flavor, srv.base_url, "exec", CID, "print('x' * 20_000_000)")
        assert result.success and len(result.output) == size


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_70_mb_answer_is_refused(flavor, chunked):
    with FaultServer({EXEC: Reply.big_exec(70 * 1024 * 1024, chunked=chunked)}) as srv:
        err = expect(errors.MalformedResponseError, flavor, srv.base_url, "exec", CID, "print('x' * 10**8)")
        assert "64 MiB" in err.message and err.may_have_run is True
        assert srv.count("POST", protocol.exec_path(CID)) == 1


# ------------------------------------------------------------------ workspaces fallback


def test_workspaces_fall_back_to_projects_and_remember_it(flavor):
    script = {
        "GET workspaces": Reply.error(404, "Not found"),
        "GET projects": Reply.json({"projects": [WS]}),
        "GET projects/ws-1": Reply.json(WS),
    }
    with FaultServer(script) as srv:
        if flavor == "sync":
            with OrgoClient(KEY, srv.base_url) as client:
                first = client.list_workspaces()
                second = client.list_computers()
                ws = client.get_workspace("ws-1")
        else:
            async def main():
                async with AsyncOrgoClient(KEY, srv.base_url) as client:
                    return (await client.list_workspaces(), await client.list_computers(),
                            await client.get_workspace("ws-1"))
            first, second, ws = asyncio.run(main())
        assert [w.id for w in first] == ["ws-1"]
        assert [c.id for c in second] == [CID] and second[0].workspace_name == "prod"
        assert ws.computers[0].id == CID
        assert srv.count("GET", "workspaces") == 1  # learnt once
        assert srv.count("GET", "workspaces/ws-1") == 0


def test_get_workspace_falls_back_on_405(flavor):
    with FaultServer({"GET workspaces/ws-1": Reply.error(405, "method not allowed"),
                      "GET projects/ws-1": Reply.json(WS)}) as srv:
        assert call(flavor, srv.base_url, "get_workspace", "ws-1").name == "prod"


def test_unknown_workspace_reports_the_modern_404(flavor):
    with FaultServer({"GET workspaces/nope": Reply.error(404, "Workspace not found", request_id="modern"),
                      "GET projects/nope": Reply.error(404, "Project not found", request_id="legacy")}) as srv:
        err = expect(errors.NotFoundError, flavor, srv.base_url, "get_workspace", "nope")
        assert err.request_id == "modern"


def test_workspace_auth_error_does_not_fall_back(flavor):
    with FaultServer({"GET workspaces": Reply.error(401, "Invalid API key", request_id="k")}) as srv:
        expect(errors.AuthError, flavor, srv.base_url, "list_workspaces")
        assert srv.count("GET", "projects") == 0


def test_resolve_uses_get_computer_for_an_id_when_listing_is_forbidden(flavor):
    with FaultServer({GET_COMPUTER: Reply.json(COMPUTER),
                      "GET workspaces": Reply.error(403, "scoped", **SCOPE)}) as srv:
        assert call(flavor, srv.base_url, "resolve_computer", CID).name == "agent-1"
        assert srv.count("GET", "workspaces") == 0


# ------------------------------------------------------------------ resolving by name across workspaces


def _listing(*workspaces):
    return {"GET workspaces": Reply.json({"workspaces": list(workspaces)})}


TWIN_A = {"id": "id-a", "name": "twin", "status": "running"}
TWIN_B = {"id": "id-b", "name": "twin", "status": "stopped"}
SOLO = {"id": "id-c", "name": "Solo", "status": "running"}
TWO_WORKSPACES = _listing({"id": "w1", "name": "one", "desktops": [TWIN_A, SOLO]},
                          {"id": "w2", "name": "two", "desktops": [TWIN_B]})


def test_duplicate_name_across_workspaces_is_ambiguous_and_lists_ids(flavor):
    with FaultServer(TWO_WORKSPACES) as srv:
        err = expect(errors.ResolutionError, flavor, srv.base_url, "resolve_computer", "twin")
        assert err.candidates == ["id-a", "id-b"]
        assert "ambiguous" in err.message and "id-a" in err.message and "id-b" in err.message
        # the id settles it, and the workspace is known from the listing
        twin_b = call(flavor, srv.base_url, "resolve_computer", "id-b")
        assert (twin_b.id, twin_b.workspace_name, twin_b.status) == ("id-b", "two", "stopped")


def test_name_match_prefers_exact_case_then_ignores_case(flavor):
    with FaultServer(TWO_WORKSPACES) as srv:
        assert call(flavor, srv.base_url, "resolve_computer", "solo").id == "id-c"
        assert call(flavor, srv.base_url, "resolve_computer", "  Solo ").id == "id-c"


def test_no_computers_at_all(flavor):
    with FaultServer(_listing({"id": "w1", "name": "empty", "desktops": []})) as srv:
        err = expect(errors.ResolutionError, flavor, srv.base_url, "resolve_computer", None)
        assert "no computers" in err.message
        err = expect(errors.ResolutionError, flavor, srv.base_url, "resolve_computer", "x")
        assert "no computer named 'x'" in err.message


def test_several_computers_without_a_ref_names_them_with_ids_for_twins(flavor):
    with FaultServer(TWO_WORKSPACES) as srv:
        err = expect(errors.ResolutionError, flavor, srv.base_url, "resolve_computer", None)
        assert "--computer" in err.message
        assert "twin (id-a)" in err.message and "twin (id-b)" in err.message and "Solo" in err.message
        assert err.candidates == ["id-a", "id-c", "id-b"]


def test_uuid_shaped_name_falls_back_to_the_listing(flavor):
    named_like_an_id = {"id": "id-z", "name": CID, "status": "running"}
    with FaultServer({**_listing({"id": "w1", "name": "one", "desktops": [named_like_an_id]}),
                      GET_COMPUTER: Reply.error(404, "Computer not found")}) as srv:
        assert call(flavor, srv.base_url, "resolve_computer", CID).id == "id-z"
        assert srv.count("GET", protocol.computer_path(CID)) == 1
