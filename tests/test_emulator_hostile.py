"""Hostile HTTP input at every endpoint: malformed JSON, wrong types, huge bodies, odd unicode,
NUL bytes, path traversal and absurd ids, broken Authorization headers, wrong methods, garbage
request lines.  Whatever comes in, the answer is JSON in the contract's shape: the endpoint's own
answer or a 4xx ``{"error", "request_id"}``, never a 500, never a traceback or HTML.

Requests go over raw sockets, byte for byte as written here (an HTTP library would normalise
paths and refuse bad headers).  Code and commands that could run are made inert first (a
comment on one line), so fuzzing never executes anything but comments.  The number of hostile
requests sent is counted and printed at the end of the module (``hostile inputs tried: N``).
"""

from __future__ import annotations

import json
import socket
import string
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orgorepl.emulator import EmbeddedEmulator, Limits

BODY_LIMIT = 1024 * 1024  # a small cap for this module's emulator: the same code path, cheaper
FUZZ = settings(max_examples=1000, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
TRIED = {"requests": 0}

ENDPOINTS = [
    ("POST", "computers/{cid}/exec"), ("POST", "computers/{cid}/bash"), ("GET", "computers/{cid}"),
    ("POST", "computers/{cid}/start"), ("POST", "computers/{cid}/stop"), ("POST", "computers/{cid}/restart"),
    ("GET", "workspaces"), ("POST", "workspaces"), ("GET", "workspaces/{wid}"),
    ("GET", "projects"), ("POST", "projects"), ("GET", "projects/{wid}"),
]


@pytest.fixture(scope="module")
def world(tmp_path_factory, request):
    root = tmp_path_factory.mktemp("hostile")
    with EmbeddedEmulator(data_dir=root / "data", computers=2, limits=Limits(body=BODY_LIMIT)) as emu:
        host, port = emu.base_url.split("//")[1].split("/")[0].rsplit(":", 1)
        yield {"emu": emu, "root": root, "addr": (host, int(port)), "cid": emu.computers[0].id,
               "wid": emu.workspace_id, "key": emu.api_key}
    line = f"hostile inputs tried: {TRIED['requests']}"
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if capture is not None and reporter is not None:
        with capture.global_and_fixture_disabled():  # shown even when output is captured
            reporter.write_line(line)
    else:
        print(line)


# ------------------------------------------------------------------------------------ raw HTTP


def send(world, raw: bytes, timeout: float = 30, head_only: bool = False):
    """One request on its own connection: (status, headers, body), or None if nothing came back.

    The write side stays open (uvicorn takes a half-close for a client that has gone away); the
    answer ends at its Content-Length (at its headers for HEAD), or when the server closes.
    """
    TRIED["requests"] += 1
    with socket.create_connection(world["addr"], timeout=timeout) as sock:
        try:
            sock.sendall(raw)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered (and closed) before taking it all: read that answer
        data = b""
        while True:
            head, sep, body = data.partition(b"\r\n\r\n")
            if sep and head_only:  # an answer to HEAD has headers only
                break
            if sep:
                length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")[1:]
                               if line.lower().startswith(b"content-length:")), None)
                if length is not None and len(body) >= length:
                    break
            try:
                chunk = sock.recv(1 << 20)
            except (TimeoutError, ConnectionResetError):
                break
            if not chunk:
                break
            data += chunk
    if not data:
        return None
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:])}
    if headers.get("content-length", "").isdigit():
        body = body[:int(headers["content-length"])]  # a pipelined second answer is not this one's
    return status, headers, body


def request(world, method: str, target: str, body: bytes = b"", headers: dict | None = None,
            auth: bytes | None = None) -> tuple[int, dict[str, str], bytes] | None:
    head = [f"{method} {target} HTTP/1.1".encode("latin-1"), b"Host: 127.0.0.1",
            f"Content-Length: {len(body)}".encode()]
    head.append(b"Authorization: " + (auth if auth is not None else f"Bearer {world['key']}".encode()))
    head += [f"{k}: {v}".encode("latin-1") for k, v in (headers or {}).items()]
    return send(world, b"\r\n".join(head) + b"\r\n\r\n" + body, head_only=method == "HEAD")


def assert_contract(answer, method: str = "POST") -> int:
    """JSON in the contract's shape, and never a 5xx."""
    assert answer is not None, "the connection closed without an answer"
    status, headers, body = answer
    assert status < 500, (status, body[:300])
    assert headers.get("content-type", "").startswith("application/json"), (status, headers, body[:200])
    if method == "HEAD":
        return status
    data = json.loads(body)
    assert isinstance(data, dict), body[:200]
    if status >= 400:
        assert isinstance(data.get("error"), str) and data["error"], data
        assert isinstance(data.get("request_id"), str) and len(data["request_id"]) == 36, data
        assert b"Traceback" not in body and b"<html" not in body.lower()
    return status


def running(world) -> None:
    """The fuzzers stop and start the computer: make sure it runs for a test that needs it."""
    answer = request(world, "POST", target(f"computers/{world['cid']}/start"))
    assert answer is not None and answer[0] in (200, 409)


def target(path: str) -> str:
    return f"/api/{path}"


def fill(world, template: str, cid: str | None = None, wid: str | None = None) -> str:
    return template.format(cid=world["cid"] if cid is None else cid, wid=world["wid"] if wid is None else wid)


# ------------------------------------------------------------------------------------ strategies


def inert(value):
    """Code and commands become one comment line: nothing the fuzzer sends can run."""
    if isinstance(value, str):
        return "# " + value.replace("\n", " ").replace("\r", " ")
    return value


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2 ** 80), max_value=2 ** 80)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
field_names = st.sampled_from(["code", "command", "timeout", "name"]) | st.text(max_size=10)
json_objects = st.dictionaries(field_names, json_values, max_size=5).map(
    lambda d: {k: inert(v) if k in ("code", "command") else v for k, v in d.items()})


def _escapes(points):
    return '{"code": "# ' + "".join(f"\\u{p:04x}" for p in points) + '", "name": "w' + \
        "".join(f"\\u{p:04x}" for p in points) + '"}'


bodies = st.one_of(
    st.binary(max_size=600),
    json_objects.map(lambda d: json.dumps(d).encode()),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.lists(st.integers(0, 0xFFFF), min_size=1, max_size=6).map(lambda p: _escapes(p).encode()),
    st.integers(1, 3000).map(lambda n: b"[" * n + b"]" * n),
    st.integers(4000, 6000).map(lambda n: b'{"timeout": ' + b"9" * n + b', "code": "# x"}'),
    st.text(max_size=200).map(lambda t: t.encode("utf-8")),
    st.sampled_from([b"", b"null", b"[]", b'"code"', b"{", b'{"code": "# x"', b"\x00", b'{"code": "# \x00"}',
                     b'{"command": "# a\\u0000b"}', b'{"code": "# \\ud800"}', b'{"name": "\\udfff"}',
                     b"\xef\xbb\xbf{}", b'{"code": "# x", "code": 1}']),
)

hostile_ids = st.one_of(
    st.text(max_size=60),
    st.sampled_from(["..", ".", "../..", "../../etc/passwd", "..%2F..%2Fetc", "%2e%2e%2f%2e%2e", "%00", "%2F",
                     "..\\..\\", "~", "~root", "/etc/passwd", "%252e%252e%252f", "%c0%ae%c0%ae", "NUL", "con",
                     "*", "?", "%", "%zz", "computer-1", "%0d%0aX-Injected:%201"]),
    st.integers(1_000, 60_000).map(lambda n: "a" * n),
    st.builds(lambda u, form: form.format(u), st.uuids(),
              st.sampled_from(["{{{}}}", "urn:uuid:{}", "{}/..", "{}%2F..%2F..", "{}%00", "{}/../..", " {}"])),
)


def id_in_path(value: str, encode: bool) -> str:
    if encode or not all(c in string.printable and c not in " \t\r\n\x0b\x0c#?" for c in value):
        return quote(value, safe="")
    return value


# ------------------------------------------------------------------------------------ tests


@FUZZ
@given(endpoint=st.sampled_from(ENDPOINTS), body=bodies)
def test_any_body_at_any_endpoint(world, endpoint, body):
    method, template = endpoint
    answer = request(world, method, target(fill(world, template)), body)
    assert_contract(answer)


@FUZZ
@given(endpoint=st.sampled_from([e for e in ENDPOINTS if e[0] == "POST"]), fields=json_objects)
def test_fields_of_any_type(world, endpoint, fields):
    method, template = endpoint
    status = assert_contract(request(world, method, target(fill(world, template)), json.dumps(fields).encode()))
    if template.endswith(("exec", "bash")) and status == 200:
        assert isinstance(fields.get("code" if template.endswith("exec") else "command"), str)


@FUZZ
@given(endpoint=st.sampled_from([e for e in ENDPOINTS if "{" in e[1]]), ident=hostile_ids, encode=st.booleans())
def test_hostile_ids_in_paths(world, endpoint, ident, encode):
    method, template = endpoint
    path = fill(world, template, cid=id_in_path(ident, encode), wid=id_in_path(ident, encode))
    body = b'{"code": "# hi", "command": "# hi"}'
    status = assert_contract(request(world, method, target(path), body))
    try:
        known = str(uuid.UUID(ident)) in {world["cid"], world["emu"].computers[1].id, world["wid"]}
    except ValueError:
        known = False
    if not known:
        assert status in (400, 404, 405), (ident, status)


@FUZZ
@given(endpoint=st.sampled_from(ENDPOINTS), auth=st.one_of(
    st.binary(max_size=80).map(lambda b: b.replace(b"\r", b"").replace(b"\n", b"")),
    st.sampled_from([b"", b"Bearer", b"Bearer ", b"bearer  ", b"Basic dXNlcjpwYXNz", b"Bearer \x00",
                     b"Bearer sk_live_wrong", b"Token abc", b"Bearer " + b"k" * 10000, b"Bearer \xff\xfe"]),
    st.text(max_size=40).map(lambda t: b"Bearer " + t.encode("utf-8")),
))
def test_broken_authorization(world, endpoint, auth):
    method, template = endpoint
    status = assert_contract(request(world, method, target(fill(world, template)), b"{}", auth=auth))
    assert status in (400, 401), status


@FUZZ
@given(endpoint=st.sampled_from(ENDPOINTS), method=st.one_of(
    st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD", "TRACE", "PROPFIND", "BREW"]),
    st.text(alphabet=string.ascii_uppercase + "-_!", min_size=1, max_size=12)))
def test_any_method(world, endpoint, method):
    assert_contract(request(world, method, target(fill(world, endpoint[1])), b'{"code": "# x"}'), method)


@FUZZ
@given(method=st.binary(max_size=12) | st.sampled_from([b"GET", b"POST", b"HEAD"]),
       path=st.binary(max_size=60) | st.text(alphabet=string.printable[:94], max_size=60).map(str.encode),
       version=st.sampled_from(
    [b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2", b"HTTP/9.9", b"", b"http/1.1", b"HTTP/1.1 extra"]),
    headers=st.lists(st.binary(max_size=40).map(lambda b: b.replace(b"\r\n", b"")), max_size=4),
    host=st.one_of(st.just(b"127.0.0.1"), st.binary(max_size=30).map(lambda b: b.replace(b"\r\n", b"")),
                   st.sampled_from([b"[::1", b"a b", b"::::", b"x:99999999", b"", b"\x00"])))
def test_garbage_requests(world, method, path, version, headers, host):
    """Raw request lines and headers of any bytes: a JSON answer or none at all, never a 500."""
    raw = method + b" /api/" + path + b" " + version + b"\r\nHost: " + host + b"\r\n"
    raw += b"".join(h + b"\r\n" for h in headers if b"content-length" not in h.lower()
                    and b"transfer-encoding" not in h.lower())
    raw += b"Authorization: Bearer " + world["key"].encode() + b"\r\nContent-Length: 0\r\n\r\n"
    answer = send(world, raw, timeout=5, head_only=method == b"HEAD")
    if answer is not None:  # a peer that never finished a request may just be hung up on
        assert_contract(answer, method.decode("latin-1"))


def test_huge_bodies_are_413_without_reading_them_all(world):
    huge = b'{"code": "# ' + b"x" * (50 * 1024 * 1024) + b'"}'
    for method, template in [("POST", "computers/{cid}/exec"), ("GET", "workspaces"), ("POST", "workspaces")]:
        started = time.monotonic()
        answer = request(world, method, target(fill(world, template)), huge)
        assert assert_contract(answer) == 413 and b"too large" in answer[2]
        assert time.monotonic() - started < 30


def test_chunked_body_past_the_cap_is_413(world):
    chunk = b"x" * 65536
    parts = [b'{"code": "# '] + [chunk] * (BODY_LIMIT // len(chunk) + 4) + [b'"}']
    body = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"
    raw = (f"POST /api/computers/{world['cid']}/exec HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
           f"Authorization: Bearer {world['key']}\r\n\r\n").encode() + body
    assert assert_contract(send(world, raw)) == 413


def test_a_body_at_the_cap_is_accepted(world):
    running(world)
    pad = BODY_LIMIT - len(b'{"code": "# "}')
    body = b'{"code": "# ' + b"x" * pad + b'"}'
    assert len(body) == BODY_LIMIT
    answer = request(world, "POST", target(fill(world, "computers/{cid}/exec")), body)
    assert assert_contract(answer) == 200 and json.loads(answer[2])["success"] is True
    over = request(world, "POST", target(fill(world, "computers/{cid}/exec")), body[:-2] + b'x"}')
    assert assert_contract(over) == 413


def test_deeply_nested_json_is_400(world):
    answer = request(world, "POST", target(fill(world, "computers/{cid}/exec")), b"[" * 200000 + b"]" * 200000)
    assert assert_contract(answer) == 400


def test_names_and_ids_never_escape_the_data_dir(world):
    """Ids are only ever paths once they parse as UUIDs; names never become paths at all."""
    emu, root = world["emu"], world["root"]
    for name in ["../../escape", "/tmp/escape-abs", "..", "a/../../b", "x\x00y", "~/.ssh", "%2e%2e%2fz"]:
        answer = request(world, "POST", target("workspaces"), json.dumps({"name": name}).encode())
        assert assert_contract(answer) in (200, 400)
    for ident in ["../../escape", "..%2F..%2Fescape", "%2e%2e", "../computers"]:
        for path in ("computers/{}/exec", "computers/{}/bash", "computers/{}/start"):
            assert_contract(request(world, "POST", target(path.format(ident)), b'{"code": "# x", "command": "# x"}'))
    # everything lives in the data dir, and the only directories in it are the known computers' homes
    assert sorted(p.name for p in root.iterdir()) == ["data"]
    data = root / "data"
    assert {p.name for p in data.iterdir()} <= {"emulator.json", ".lock", "computers"}
    assert sorted(p.name for p in (data / "computers").iterdir()) == sorted(c.id for c in emu.computers)
    for computer in emu.computers:
        assert [p.name for p in (data / "computers" / computer.id).iterdir()] == ["home"]
        assert computer.home.resolve().is_relative_to(data.resolve())
    assert not Path("/tmp/escape-abs").exists()
    assert not (root.parent / "escape").exists() and not (root.parent.parent / "escape").exists()
    # and the emulator still answers as ever
    running(world)
    answer = request(world, "POST", target(fill(world, "computers/{cid}/exec")), b'{"code": "print(7)"}')
    assert json.loads(answer[2])["output"] == "7\n"
