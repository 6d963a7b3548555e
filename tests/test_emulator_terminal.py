"""The emulator's terminal WebSocket, over loopback with a real WebSocket client.

``/desktops/{instance_id}/ws/terminal?token=<vnc_password>&cols=..&rows=..`` is a login bash in a
PTY: frames both ways, the close codes of the real proxy, the window size, exit codes, isolation
between sockets, backpressure both ways, UTF-8 split across reads, and nothing left running once
a socket is gone, however it went.

The shared ``emulator`` fixture serves the tests that leave computers running; tests that stop,
restart, idle or shut down get an emulator of their own.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from orgorepl import protocol
from orgorepl.emulator import EmbeddedEmulator, Limits

from test_emulator_support import gone, http, wait_gone

REPO = Path(__file__).resolve().parent.parent
PROMPT = r"[$#] $"  # root's or a user's prompt, whatever the machine's bashrc makes of it


class Term:
    """One terminal socket and everything it printed; ``expect`` waits for a pattern in it."""

    def __init__(self, url: str, **kwargs):
        self._stack = ExitStack()
        kwargs = {"open_timeout": 5, "close_timeout": 2, **kwargs}
        self.ws: ClientConnection = self._stack.enter_context(connect(url, **kwargs))
        self.out = ""
        self.seen = 0  # ``expect`` looks past what an earlier ``expect`` matched
        self.frames: list[dict] = []
        self._ids = itertools.count(1)

    def send(self, **frame) -> None:
        self.ws.send(json.dumps(frame))

    def type(self, text: str) -> None:
        self.send(type="input", data=text)

    def next_frame(self, deadline: float) -> dict:
        remaining = deadline - time.monotonic()
        try:
            if remaining <= 0:
                raise TimeoutError
            frame = json.loads(self.ws.recv(timeout=remaining))
        except TimeoutError:
            raise AssertionError(f"nothing more came in time; the terminal showed:\n{self.out[-1500:]!r}") from None
        self.frames.append(frame)
        if frame["type"] == "output":
            self.out += frame["data"]
        return frame

    def expect(self, pattern: str, within: float = 5.0) -> re.Match:
        regex = re.compile(pattern)
        deadline = time.monotonic() + within
        while not (match := regex.search(self.out, self.seen)):
            self.next_frame(deadline)
        self.seen = match.end()
        return match

    def value(self, expression: str, within: float = 5.0) -> str:
        """What ``echo "EXPRESSION"`` prints (tagged so the echoed command line cannot match)."""
        n = next(self._ids)
        self.type(f'echo "<""{n}>{expression}<""/{n}>"\r')
        return self.expect(rf"<{n}>(.*?)</{n}>", within).group(1)

    def closed(self, within: float = 5.0) -> tuple[int | None, str]:
        """Read until the server closes: its close code and reason."""
        deadline = time.monotonic() + within
        try:
            while True:
                self.next_frame(deadline)
        except ConnectionClosed:
            pass
        rcvd = self.ws.protocol.close_rcvd
        return (rcvd.code, rcvd.reason) if rcvd is not None else (None, "")

    def close(self) -> None:
        self._stack.close()


@contextmanager
def terminal(emu: EmbeddedEmulator, computer=None, **query):
    term = Term(emu.terminal_url(computer or emu.computers[0], **query))
    try:
        yield term
    finally:
        term.close()


def refused(url: str) -> tuple[int | None, str, list[dict]]:
    """Open a socket the server refuses: (close code, reason, frames before it)."""
    term = Term(url)
    code, reason = term.closed()
    return code, reason, term.frames


def ptmx_fds() -> int:
    """PTY masters this process (which runs the embedded emulators) holds open."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}") == "/dev/ptmx":
                count += 1
        except OSError:
            pass
    return count


def wait_until(condition, within: float = 5.0, what: str = "the condition") -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, f"{what} did not happen within {within} s"
        time.sleep(0.02)


@pytest.fixture
def own(tmp_path):
    """An emulator of this test's own (it may stop, restart and shut down its computers)."""
    with EmbeddedEmulator(data_dir=tmp_path / "emu", computers=2) as emu:
        yield emu


# ------------------------------------------------------------------------------ the basics


@pytest.mark.timeout(30)
def test_a_login_shell_at_home_with_frames_both_ways(emulator):
    computer = emulator.computers[0]
    before = ptmx_fds()
    with terminal(emulator) as term:
        term.expect(PROMPT)  # a prompt, as in any terminal
        assert all(f["type"] == "output" and isinstance(f["data"], str) for f in term.frames)
        assert term.value("$((6*7))") == "42"
        assert term.value("$PWD") == str(computer.home)
        assert term.value("$HOME|$TERM|$(shopt -q login_shell && echo login)") == \
            f"{computer.home}|xterm-256color|login"
        assert "i" in term.value("$-")  # interactive
        assert term.value("$(tty)").startswith("/dev/pts/")
        # the PTY is the shell's controlling terminal (its session's), not just its stdin
        assert term.value("$(ps -o tty= -p $$ | tr -d ' ')") == term.value("$(tty)").removeprefix("/dev/")
        # no secret of the emulator's, and no PTY master, reaches the shell
        assert term.value("${ORGO_API_KEY:-none}") == "none"
        assert term.value("$(ls -l /proc/$$/fd | grep -c ptmx)") == "0"

        term.send(type="ping")
        deadline = time.monotonic() + 5
        while not any(f["type"] == "pong" for f in term.frames):
            term.next_frame(deadline)
        assert ptmx_fds() == before + 1  # one master while the socket is open
    wait_until(lambda: ptmx_fds() == before, what="closing the PTY master")


@pytest.mark.timeout(30)
def test_garbage_frames_are_answered_with_errors_and_the_shell_goes_on(emulator):
    with terminal(emulator) as term:
        for junk in ("not json", "[1, 2]", '{"no": "type"}', '{"type": "launch-missiles"}',
                     '{"type": "input", "data": 42}', '{"type": "resize", "cols": 0, "rows": 24}',
                     '{"type": "resize", "cols": "wide", "rows": 24}', '{"type": "resize", "cols": 100000, "rows": 9}'):
            term.ws.send(junk)
        term.ws.send(b'{"type": "input", "data": "echo bin$((1+1))ary\\r"}')  # a binary frame is read too
        term.expect("bin2ary")
        errors = [f for f in term.frames if f["type"] == "error"]
        assert len(errors) == 8, errors
        assert all(isinstance(f["message"], str) and f["message"] for f in errors)
        assert "launch-missiles" in errors[3]["message"]
        assert term.value("$(tput cols)") == "80"  # the refused resizes changed nothing


@pytest.mark.timeout(30)
def test_the_window_size_and_resizing_it(emulator):
    with terminal(emulator) as term:
        assert term.value("$(tput cols)x$(tput lines)") == "80x24"  # the defaults
        term.send(type="resize", cols=132, rows=50)
        assert term.value("$(tput cols)x$(tput lines)") == "132x50"
        # the foreground program is told (SIGWINCH), as a full-screen program needs
        term.type("bash -c 'trap \"echo cols=\\$(tput cols); exit\" WINCH; echo R$((1))DY; "
                  "while :; do sleep 0.05; done'\r")
        term.expect("R1DY")
        term.send(type="resize", cols=100, rows=40)
        term.expect(r"cols=100\r\n")
        assert term.value("$(stty size)") == "40 100"
    with terminal(emulator, cols=200, rows=60) as term:
        assert term.value("$(tput cols)x$(tput lines)") == "200x60"


@pytest.mark.timeout(30)
def test_the_exit_status_is_the_last_frame_then_a_normal_close(emulator):
    with terminal(emulator) as term:
        term.expect(PROMPT)
        term.type("echo bye; exit 7\r")
        code, reason = term.closed()
        assert (code, term.frames[-1]) == (protocol.CLOSE_NORMAL, {"type": "exit", "code": 7}), term.frames[-3:]
        assert "bye\r\n" in term.out  # what it printed came before the exit frame
    with terminal(emulator) as term:
        term.expect(PROMPT)
        term.type("kill -9 $$\r")
        code, _ = term.closed()
        assert (code, term.frames[-1]) == (1000, {"type": "exit", "code": 128 + 9})


@pytest.mark.timeout(30)
def test_two_terminals_are_two_shells(emulator):
    computer = emulator.computers[0]
    with terminal(emulator) as one, terminal(emulator) as two:
        one.type("cd /tmp; export ONLY_HERE=one; x=1\r")
        assert one.value("$PWD:$ONLY_HERE:$x") == "/tmp:one:1"
        assert two.value("$PWD:${ONLY_HERE:-}:${x:-}") == f"{computer.home}::"
        # both at once: a slow command in one does not hold up the other
        one.type("sleep 1.5; echo sl$((0))ept\r")
        started = time.monotonic()
        assert two.value("$((2+2))") == "4"
        assert time.monotonic() - started < 1.0
        one.expect("sl0ept", within=5)
        assert one.value("$$") != two.value("$$")


# ------------------------------------------------------------------------------ close codes


def test_refusals_use_the_proxy_close_codes(emulator):
    computer = emulator.computers[0]
    code, reason, frames = refused(emulator.terminal_url(computer, token="wrong"))
    assert (code, frames) == (protocol.CLOSE_AUTH, []) and "token" in reason.lower()
    url = emulator.terminal_url(computer)
    code, reason, _ = refused(url.split("?")[0])  # no token at all
    assert code == protocol.CLOSE_AUTH and "token" in reason.lower()
    code, reason, _ = refused(url.replace(computer.instance_id, computer.id))  # the id, not the instance id
    assert code == protocol.CLOSE_NO_COMPUTER and "instance_id" in reason and "UUID" in reason
    code, reason, _ = refused(url.replace(computer.instance_id, "f" * 8))
    assert code == protocol.CLOSE_NO_COMPUTER
    for cols, rows in ((0, 24), (80, protocol.TERMINAL_SIZE_MAX + 1), ("wide", 24)):
        code, reason, _ = refused(f"{url}&cols={cols}&rows={rows}")
        assert code == protocol.CLOSE_BAD_PATH and "cols" in reason


def test_connection_url_and_vnc_password(emulator):
    computer = emulator.computers[0]
    with http(emulator) as api:
        info = api.get(f"computers/{computer.id}").json()
        origin = emulator.base_url.removesuffix("/api")
        assert info["connection_url"] == f"{origin}/desktops/{computer.instance_id}"
        assert info["instance_id"] == computer.instance_id != computer.id
        secret = api.get(protocol.vnc_password_path(computer.id)).json()
        assert set(secret) == {"password", "desktop_api_token"}
        assert secret["password"] == info["vnc_password"] == computer.vnc_password
        assert api.get(protocol.vnc_password_path(str(uuid.uuid4()))).status_code == 404
        assert httpx.get(f"{emulator.base_url}/{protocol.vnc_password_path(computer.id)}").status_code == 401
    # what the client builds from it reaches the terminal
    url = protocol.terminal_socket_url(emulator.base_url, info["instance_id"], secret["password"], 90, 30,
                                       info["connection_url"])
    term = Term(url)
    try:
        assert term.value("$(tput cols)") == "90"
    finally:
        term.close()


@pytest.mark.timeout(30)
def test_stop_and_restart_close_terminals_and_change_the_token(own):
    computer = own.computers[0]
    with http(own) as api:
        term = Term(own.terminal_url(computer))
        pid = int(term.value("$$"))
        old_token = computer.vnc_password
        assert api.post(f"computers/{computer.id}/stop").status_code == 200
        code, reason = term.closed()
        assert code == protocol.CLOSE_GOING_AWAY and "stop" in reason, reason
        assert not any(f["type"] == "exit" for f in term.frames)
        assert wait_gone(pid)
        code, reason, _ = refused(own.terminal_url(computer, token=old_token))
        assert code == protocol.CLOSE_NOT_RUNNING, reason

        assert api.post(f"computers/{computer.id}/start").status_code == 200
        new_token = api.get(protocol.vnc_password_path(computer.id)).json()["password"]
        assert new_token != old_token  # a new password on every start
        assert refused(own.terminal_url(computer, token=old_token))[0] == protocol.CLOSE_AUTH

        term = Term(own.terminal_url(computer, token=new_token))
        other = Term(own.terminal_url(own.computers[1]))  # another computer's terminal is not touched
        pid = int(term.value("$$"))
        assert api.post(f"computers/{computer.id}/restart").status_code == 200
        code, reason = term.closed()
        assert code == protocol.CLOSE_GOING_AWAY and "restart" in reason, reason
        assert wait_gone(pid)
        assert refused(own.terminal_url(computer, token=new_token))[0] == protocol.CLOSE_AUTH
        newest = api.get(protocol.vnc_password_path(computer.id)).json()["password"]
        assert newest not in (old_token, new_token)
        term = Term(own.terminal_url(computer, token=newest))
        assert term.value("$((1+1))") == "2"
        assert other.value("still$((0))here") == "still0here"
        term.close()
        other.close()


@pytest.mark.timeout(30)
def test_idle_terminals_close_with_4008_and_pings_do_not_count(tmp_path):
    with EmbeddedEmulator(data_dir=tmp_path / "emu", terminal_idle=1.0) as emu:
        with terminal(emu) as term:
            pid = int(term.value("$$"))
            for _ in range(6):  # input keeps it open past the limit
                time.sleep(0.3)
                term.type(" ")
            term.type("\x15")  # ^U: the line is empty again
            started = time.monotonic()
            for _ in range(10):  # pings alone do not
                term.send(type="ping")
                try:
                    term.next_frame(time.monotonic() + 0.25)
                except AssertionError:
                    pass
                except ConnectionClosed:
                    break
            code, reason = term.closed()
            assert code == protocol.CLOSE_IDLE, (code, reason)
            assert "without input" in reason and 0.5 < time.monotonic() - started < 3
            assert any(f["type"] == "pong" for f in term.frames)
            assert wait_gone(pid)


@pytest.mark.timeout(30)
def test_shutting_the_emulator_down_closes_terminals_with_1001(tmp_path):
    emu = EmbeddedEmulator(data_dir=tmp_path / "emu").start()
    try:
        term = Term(emu.terminal_url(emu.computers[0]))
        pid = int(term.value("$$"))
    finally:
        emu.stop()
    code, reason = term.closed()
    assert code == protocol.CLOSE_GOING_AWAY and "shutting down" in reason
    assert wait_gone(pid)


@pytest.mark.timeout(30)
def test_serve_closes_terminals_with_1001_on_ctrl_c(tmp_path):
    code = ("import sys; from pathlib import Path; from orgorepl.emulator import serve\n"
            "serve(host='127.0.0.1', port=0, api_key='k', data_dir=Path(sys.argv[1]), terminal_idle=90)")
    proc = subprocess.Popen([sys.executable, "-u", "-c", code, str(tmp_path)], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = [proc.stdout.readline() for _ in range(6)]
        base_url = lines[0].split()[-1]
        terminals = next(line for line in lines if line.startswith("Terminals:"))
        assert "/desktops/<instance_id>/ws/terminal?token=<vnc_password>" in terminals
        assert "1.5 minutes without input" in terminals
        computer_id = next(line for line in lines if line.strip().startswith("computer ")).split()[1]
        info = httpx.get(f"{base_url}/computers/{computer_id}", headers={"Authorization": "Bearer k"}).json()
        term = Term(protocol.terminal_socket_url(base_url, info["instance_id"], info["vnc_password"], 80, 24,
                                                 info["connection_url"]))
        pid = int(term.value("$$"))
        proc.send_signal(signal.SIGINT)
        code, reason = term.closed()
        assert code == protocol.CLOSE_GOING_AWAY, (code, reason)
        assert proc.wait(20) == 0
        assert wait_gone(pid)
        log = proc.stderr.read()
        assert "/ws/terminal?token=<hidden>" in log and info["vnc_password"] not in log  # no token in a log
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_serve_takes_terminal_idle_in_minutes(monkeypatch, tmp_path):
    from orgorepl.cli.tools import serve_cmd

    seen = {}
    monkeypatch.setattr("orgorepl.emulator.serve", lambda **kwargs: seen.update(kwargs))
    result = CliRunner().invoke(serve_cmd, ["--data-dir", str(tmp_path), "--terminal-idle", "1.5"])
    assert result.exit_code == 0, result.output
    assert seen["terminal_idle"] == 90
    CliRunner().invoke(serve_cmd, ["--data-dir", str(tmp_path)])
    assert seen["terminal_idle"] == 30 * 60
    result = CliRunner().invoke(serve_cmd, ["--data-dir", str(tmp_path), "--terminal-idle", "0"])
    assert result.exit_code == 2 and "--terminal-idle" in result.output
    with pytest.raises(ValueError):
        EmbeddedEmulator(data_dir=tmp_path, terminal_idle=0)


# ------------------------------------------------------------------------------ nothing left behind


def _modes() -> list[str]:
    from orgorepl.emulator.cgroups import CgroupTree

    tree = CgroupTree.create(Limits())
    if tree is None:
        return ["watchdog"]
    tree.close()
    return ["cgroup", "watchdog"]


@pytest.fixture(scope="module", params=_modes())
def contained(request, tmp_path_factory):
    """An emulator per containment mode: both must kill a terminal's whole session."""
    with EmbeddedEmulator(data_dir=tmp_path_factory.mktemp(f"term-{request.param}"),
                          containment=request.param) as emu:
        assert emu.runtime.containment.mode == request.param
        yield emu


def start_leftovers(term: Term) -> list[int]:
    """A background job, a nested child of a background subshell: pids of all of them."""
    pids = [int(term.value("$$"))]
    term.type("sleep 1000 &\r")
    pids.append(int(term.value("$!")))
    term.type("rm -f kid.pid; bash -c 'sleep 1001 & echo $! > kid.pid; wait' &\r")
    pids.append(int(term.value("$!")))
    pids.append(int(term.value("$(until [ -s kid.pid ]; do sleep 0.02; done; cat kid.pid)")))
    return pids


def assert_all_gone(emu: EmbeddedEmulator, pids: list[int]) -> None:
    for pid in pids:
        assert wait_gone(pid), f"process {pid} of a closed terminal is still alive"
    wait_until(lambda: not emu.runtime.containment.live_pids(), what="the terminal's cage emptying")


@pytest.mark.timeout(30)
def test_a_clean_close_kills_everything_the_terminal_started(contained):
    before = ptmx_fds()
    with terminal(contained) as term:
        pids = start_leftovers(term)
        assert not any(gone(pid) for pid in pids)
        assert set(pids) <= contained.runtime.containment.live_pids()
        # job control gave the jobs process groups of their own: only the session holds them all
        assert len({os.getpgid(pid) for pid in pids}) >= 3
    assert_all_gone(contained, pids)
    wait_until(lambda: ptmx_fds() == before, what="closing the PTY master")


CLIENT = """
import json, sys, time
sys.path.insert(0, sys.argv[2])
from test_emulator_terminal import Term, start_leftovers
term = Term(sys.argv[1])
print(json.dumps(start_leftovers(term)), flush=True)
time.sleep(60)
"""


@pytest.mark.timeout(30)
def test_a_killed_client_leaves_nothing_behind(contained):
    url = contained.terminal_url(contained.computers[0])
    client = subprocess.Popen([sys.executable, "-c", CLIENT, url, str(REPO / "tests")], cwd=REPO,
                              stdout=subprocess.PIPE, text=True)
    try:
        pids = json.loads(client.stdout.readline())
        assert len(pids) == 4 and not any(gone(pid) for pid in pids)
    finally:
        client.kill()  # no close frame: the connection just drops
        client.wait()
    assert_all_gone(contained, pids)


# ------------------------------------------------------------------------------ volume and bytes


@pytest.mark.timeout(30)
def test_many_output_frames_arrive_complete_and_in_order(emulator):
    """200,000 numbered lines from a shell loop: thousands of frames (about 10,000 here)."""
    lines = 200_000
    with terminal(emulator) as term:
        term.expect(PROMPT)
        term.type(f'echo "<""go>"; for ((i=1; i<={lines}; i++)); do echo "$i"; done; echo "<""end>"\r')
        term.expect("<go>\r\n")
        parts, tail, frames = [term.out[term.seen:]], "", 0
        deadline = time.monotonic() + 20
        while "<end>" not in tail:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"the output stopped after {frames} frames: {tail!r}"
            frame = json.loads(term.ws.recv(timeout=remaining))
            assert frame["type"] == "output", frame
            frames += 1
            parts.append(frame["data"])
            tail = tail[-8:] + frame["data"]
        body = "".join(parts)
        body = body[:body.index("<end>")]
        assert body.split("\r\n") == [str(i) for i in range(1, lines + 1)] + [""], f"{frames} frames"
        assert frames > 300  # each read of a PTY is at most 4 KiB


@pytest.mark.timeout(30)
def test_output_waits_for_a_client_that_does_not_read(emulator):
    """Backpressure: a flood stalls (not buffered without end) while the client reads nothing,
    and the emulator still answers meanwhile."""
    host, port = emulator.base_url.split("//")[1].split("/")[0].rsplit(":", 1)
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)  # small buffers: it stalls sooner
    sock.connect((host, int(port)))
    # (a close waits behind what is still on its way: not for long here)
    term = Term(emulator.terminal_url(emulator.computers[0]), max_queue=4, sock=sock, close_timeout=0.2)
    try:
        term.expect(PROMPT)
        cage_before = emulator.runtime.containment.live_pids()
        term.type("seq 1 1000000000\r")

        def flood() -> int | None:
            for pid in emulator.runtime.containment.live_pids() - cage_before:
                try:
                    if Path(f"/proc/{pid}/comm").read_text().strip() == "seq":
                        return pid
                except OSError:
                    pass
            return None

        wait_until(lambda: flood() is not None, what="seq starting")
        pid = flood()
        assert pid is not None

        def written() -> int:
            io = dict(line.split(": ") for line in Path(f"/proc/{pid}/io").read_text().splitlines())
            return int(io["wchar"])

        samples = [written()]
        deadline = time.monotonic() + 10
        while len(samples) < 2 or samples[-1] != samples[-2]:  # it stalls once every buffer is full
            assert time.monotonic() < deadline, "the flood never stalled: output is buffered without end"
            time.sleep(0.2)
            samples.append(written())
        started = time.monotonic()
        with http(emulator) as api:
            assert api.get(f"computers/{emulator.computers[0].id}").status_code == 200
        assert time.monotonic() - started < 1.0  # the event loop is not blocked meanwhile
        time.sleep(0.5)
        assert written() == samples[-1], "the flood went on while nobody read it"
        # and once the client reads again (what the buffers on the way hold, then more), it goes on
        deadline = time.monotonic() + 10
        while written() == samples[-1]:
            assert time.monotonic() < deadline, "the flood did not resume once the client read"
            term.ws.recv(timeout=5)
    finally:
        term.close()
    assert wait_gone(pid)


@pytest.mark.timeout(30)
def test_a_one_mebibyte_paste_arrives_whole(emulator):
    computer = emulator.computers[0]
    rng = random.Random(7)
    size = 1024 * 1024
    pieces, total = [], 0
    while total < size - 200:  # base64 lines, with spaces and two- and three-byte characters
        piece = base64.b64encode(rng.randbytes(rng.randint(10, 90))).decode() + rng.choice(["\n", " ", "é", "€"])
        pieces.append(piece)
        total += len(piece.encode())
    text = "".join(pieces)
    text += "x" * (size - len(text.encode()))
    data = text.encode()
    assert len(data) == size
    name = f"paste-{uuid.uuid4().hex}.bin"
    with terminal(emulator) as term:
        term.expect(PROMPT)
        term.type(f"stty raw -echo; echo R$((1))Y; head -c {len(data)} > {name}; stty sane; echo D$((2))N\r")
        term.expect("R1Y")
        step = 64 * 1024
        for i in range(0, len(text), step):
            term.type(text[i:i + step])
        term.expect("D2N", within=20)
    stored = (computer.home / name).read_bytes()
    (computer.home / name).unlink()
    assert len(stored) == len(data) and hashlib.sha256(stored).hexdigest() == hashlib.sha256(data).hexdigest()


@pytest.mark.timeout(30)
def test_a_character_split_across_reads_arrives_whole(emulator):
    with terminal(emulator) as term:
        term.expect(PROMPT)
        term.type("for i in 1 2 3 4 5 6; do printf '\\xe2'; sleep 0.1; printf '\\x82\\xac'; done; "
                  "printf '\\xf0\\x9f'; sleep 0.1; printf '\\x98\\x80\\n'; echo E$((0))ND\r")
        term.expect("E0ND")
        assert "€€€€€€😀" in term.out
        assert "\ufffd" not in term.out
        # bytes that are not UTF-8 at all become U+FFFD, and nothing else is lost
        term.type("printf 'a\\xffb\\n'; echo E$((1))ND\r")
        term.expect("E1ND")
        assert "a\ufffdb\r\n" in term.out


@pytest.mark.timeout(30)
def test_the_process_limit_holds_for_the_whole_session(tmp_path):
    """Jobs in process groups of their own still count: the watchdog counts the session."""
    with EmbeddedEmulator(data_dir=tmp_path / "emu", containment="watchdog", limits=Limits(processes=16)) as emu:
        with terminal(emu) as term:
            term.expect(PROMPT)
            term.type("for i in $(seq 40); do sleep 30 & done; wait\r")
            code, _ = term.closed()
            assert code == protocol.CLOSE_NORMAL
            assert term.frames[-1] == {"type": "exit", "code": 128 + 9}
            assert "[orgorepl emulator: this run reached its limit of 16 processes]" in term.out
        wait_until(lambda: not emu.runtime.containment.live_pids(), what="the terminal's processes ending")
