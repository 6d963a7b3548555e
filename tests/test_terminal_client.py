"""The terminal WebSocket client against a small fault-injecting WebSocket server.

The emulator sends the proxy's close codes; the codes only the docs or the service send (4401,
4404, 4500, 4502, 4011, ...), a connection that drops without a close frame, a refused
handshake and a token that rotated are produced here by a real server on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import threading
from urllib.parse import parse_qs, urlsplit

import pytest
from websockets.asyncio.server import serve

from orgorepl import errors, protocol
from orgorepl.client.terminal import Terminal, TerminalSocket
from orgorepl.exitstatus import ExitStatus


class FaultServer:
    """A WebSocket server in a thread; the path's last part says how it misbehaves."""

    def __init__(self) -> None:
        self.pings = 0
        self.tokens: list[str] = []
        self.inputs: list[str] = []
        self.valid_token = "good"
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        self._ready.wait(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)

        async def main() -> None:
            async with serve(self._handle, "127.0.0.1", 0, process_request=self._process) as server:
                self.port = server.sockets[0].getsockname()[1]
                self._stop = asyncio.Event()
                self._ready.set()
                await self._stop.wait()

        self._loop.run_until_complete(main())

    def _process(self, connection, request):
        if request.path.startswith("/desktops/http404/"):
            return connection.respond(404, "no such thing\n")
        return None

    async def _handle(self, ws) -> None:
        parts = urlsplit(ws.request.path)
        mode = parts.path.split("/")[2]
        token = parse_qs(parts.query).get("token", [""])[0]
        self.tokens.append(token)
        if mode.startswith("close"):
            await ws.close(int(mode[5:]), "as told")
            return
        if mode == "drop":
            ws.transport.abort()  # no close frame at all
            return
        if mode == "garbage":
            await ws.send("this is not json")
            await asyncio.sleep(1)
            return
        if mode == "rotating" and token != self.valid_token:
            await ws.close(protocol.CLOSE_AUTH, "bad token")
            return
        if mode == "late-auth":
            await ws.send(protocol.output_frame("$ "))
            await ws.close(protocol.CLOSE_AUTH, "bad token")
            return
        await ws.send(protocol.output_frame("ready$ "))
        async for message in ws:
            frame = json.loads(message)
            if frame["type"] == "ping":
                self.pings += 1
                await ws.send(protocol.pong_frame())
            elif frame["type"] == "input":
                self.inputs.append(frame["data"])
                if "exit" in frame["data"]:
                    await ws.send(protocol.exit_frame(3))
                    await ws.close(protocol.CLOSE_NORMAL)
                    return

    def url(self, mode: str, token: str = "good") -> str:
        return protocol.terminal_socket_url(f"http://127.0.0.1:{self.port}/api", mode, token, 80, 24)

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(5)


@pytest.fixture(scope="module")
def server():
    s = FaultServer()
    yield s
    s.close()


async def _first_failure(url: str) -> errors.OrgoError:
    with pytest.raises(errors.OrgoError) as info:
        socket = await TerminalSocket.open(url)
        try:
            while await socket.receive() is not None:
                pass
        finally:
            await socket.close()
    return info.value


@pytest.mark.parametrize("code, cls, status, words", [
    (4001, errors.TerminalAuthError, ExitStatus.AUTH, "token was refused"),
    (4401, errors.TerminalAuthError, ExitStatus.AUTH, "token was refused"),
    (4004, errors.TerminalNotFoundError, ExitStatus.NOT_FOUND, "instance_id"),
    (4404, errors.TerminalNotFoundError, ExitStatus.NOT_FOUND, "not found or is not running"),
    (4003, errors.TerminalNotRunningError, ExitStatus.BAD_REQUEST, "orgorepl start"),
    (4008, errors.TerminalIdleError, ExitStatus.NETWORK, "without input"),
    (4011, errors.TerminalAuthError, ExitStatus.AUTH, "view-only"),
    (4006, errors.TerminalAuthError, ExitStatus.AUTH, "workspace"),
    (4007, errors.TerminalAuthError, ExitStatus.AUTH, "multi-factor"),
    (4500, errors.TerminalUnreachableError, ExitStatus.SERVER, "could not start a shell"),
    (4502, errors.TerminalUnreachableError, ExitStatus.SERVER, "could not reach the computer"),
    (1001, errors.TerminalStoppedError, ExitStatus.SERVER, "stopping"),
    (4999, errors.TerminalClosedError, ExitStatus.SERVER, "code 4999"),
])
def test_every_close_code_of_both_sets_is_one_line_with_a_status(server, code, cls, status, words):
    err = asyncio.run(_first_failure(server.url(f"close{code}")))
    assert type(err) is cls
    assert err.exit_status == status
    line = err.one_line()
    assert words in line and "\n" not in line
    assert f"close code {code}" in line


def test_a_connection_that_drops_without_a_close_frame_says_so(server):
    err = asyncio.run(_first_failure(server.url("drop")))
    assert isinstance(err, errors.TerminalDroppedError)
    assert "dropped" in err.one_line() and err.exit_status == ExitStatus.NETWORK


def test_a_refused_handshake_and_a_refused_connection_are_errors_not_tracebacks(server):
    err = asyncio.run(_first_failure(server.url("http404")))
    assert isinstance(err, errors.TerminalNotFoundError) and "HTTP 404" in err.one_line()
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = protocol.terminal_socket_url(f"http://127.0.0.1:{port}/api", "x", "good", 80, 24)
    err = asyncio.run(_first_failure(url))
    assert isinstance(err, errors.ConnectError) and "could not connect" in err.one_line()


def test_a_frame_that_is_not_json_is_a_malformed_reply(server):
    err = asyncio.run(_first_failure(server.url("garbage")))
    assert isinstance(err, errors.MalformedResponseError)


def test_no_message_quotes_the_token(server):
    for mode in ("close4001", "drop", "http404", "garbage"):
        err = asyncio.run(_first_failure(server.url(mode, token="s3cr3t-t0ken")))
        assert "s3cr3t-t0ken" not in err.one_line() and "s3cr3t-t0ken" not in repr(err)


def _access(mode: str, token: str) -> protocol.TerminalAccess:
    computer = protocol.Computer(id="c1", name="computer-1", status="running", instance_id=mode)
    return protocol.TerminalAccess(computer=computer, instance_id=mode, token=token)


def test_an_auth_close_before_anything_was_said_fetches_the_token_once_more(server):
    fetched: list[bool] = []

    async def fetch(fresh: bool) -> protocol.TerminalAccess:
        fetched.append(fresh)
        return _access("rotating", "good" if fresh else "stale")

    async def run() -> list[str]:
        term = Terminal(fetch, f"http://127.0.0.1:{server.port}/api", 80, 24)
        await term.connect()
        first = await term.receive()
        await term.send_input("exit\r")
        seen = [first.data]
        while (frame := await term.receive()) is not None:
            seen.append(f"{frame.type}:{frame.code}")
        return seen

    assert asyncio.run(run()) == ["ready$ ", "exit:3"]
    assert fetched == [False, True]


def test_a_token_refused_again_or_after_output_is_reported_not_retried(server):
    fetched: list[bool] = []

    async def always_stale(fresh: bool) -> protocol.TerminalAccess:
        fetched.append(fresh)
        return _access("rotating", "stale")

    async def late(fresh: bool) -> protocol.TerminalAccess:
        fetched.append(fresh)
        return _access("late-auth", "good")

    async def drain(fetch) -> None:
        term = Terminal(fetch, f"http://127.0.0.1:{server.port}/api", 80, 24)
        await term.connect()
        try:
            while await term.receive() is not None:
                pass
        finally:
            await term.close()

    with pytest.raises(errors.TerminalAuthError):
        asyncio.run(drain(always_stale))
    assert fetched == [False, True]  # once more, not forever
    fetched.clear()
    with pytest.raises(errors.TerminalAuthError):
        asyncio.run(drain(late))
    assert fetched == [False]  # it had worked: a later refusal is news, not a stale token


def test_the_client_pings_and_hides_the_pongs(server):
    async def run() -> list[str]:
        socket = await TerminalSocket.open(server.url("echo"), ping_interval=0.05)
        seen = [(await socket.receive()).data]
        await asyncio.sleep(0.3)
        await socket.send_input("exit\r")
        while (frame := await socket.receive()) is not None:
            seen.append(frame.type)
        return seen

    before = server.pings
    assert asyncio.run(run()) == ["ready$ ", "exit"]  # no pong frame reaches the caller
    assert server.pings - before >= 3


def test_a_large_paste_goes_in_bounded_frames_and_arrives_whole(server):
    text = "".join(f"line {i} é€\n" for i in range(60_000))  # ~1 MB of text, multibyte included

    async def run() -> None:
        socket = await TerminalSocket.open(server.url("echo"))
        await socket.receive()
        await socket.send_input(text)
        await socket.send_input("exit")
        while await socket.receive() is not None:
            pass

    server.inputs.clear()
    asyncio.run(run())
    assert "".join(server.inputs[:-1]) == text
    assert len(server.inputs) > 10 and all(len(part) <= 32 * 1024 for part in server.inputs)


# --------------------------------------------------------------------------------------------
# `orgorepl term` failing before any terminal opens: one line, the documented status


def _run(argv, env):
    import subprocess

    return subprocess.run(argv, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)


def test_term_with_a_wrong_key_or_an_unknown_computer_says_so_in_one_line(orgorepl_cmd, orgo_env):
    wrong = dict(orgo_env, ORGO_API_KEY="not-the-key")
    result = _run([*orgorepl_cmd, "term", "-c", "computer-1"], wrong)
    assert result.returncode == ExitStatus.AUTH and result.stderr.count("\n") == 1
    assert "HTTP 401" in result.stderr and "not-the-key" not in result.stderr
    result = _run([*orgorepl_cmd, "term", "-c", "nosuch"], orgo_env)
    assert result.returncode == ExitStatus.NOT_FOUND and "nosuch" in result.stderr


def test_term_opens_one_computer_only(orgorepl_cmd, orgo_env):
    # the group's options fan out; term takes one computer (its own -c takes one value)
    result = _run([*orgorepl_cmd, "-c", "computer-1", "-c", "computer-2", "term"], orgo_env)
    assert result.returncode == ExitStatus.USAGE and "one --computer" in result.stderr


def test_term_with_input_piped_in_runs_it_and_exits_with_the_shells_status(orgorepl_cmd, orgo_env):
    import subprocess

    result = subprocess.run([*orgorepl_cmd, "term", "-c", "computer-2"], env=orgo_env, capture_output=True,
                            text=True, input="echo piped-$((40+2)); exit 5\n", timeout=60)
    assert result.returncode == 5
    assert "piped-42" in result.stdout
    assert "Connection to computer-2 closed." in result.stderr
