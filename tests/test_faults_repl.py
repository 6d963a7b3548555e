"""The interactive session against a network that misbehaves, as a person at the prompt sees it.

The REPL connects to the fault server for real (``remote_connector``; ``GET computers/{id}``
answers), then the code-running endpoints fault.  Each fault must show as one line, leave the
session usable (the next submission, answered properly, is shown), and reach the server once.
Ctrl-C while a request hangs, again and again, must leave the prompt responsive and every entry
in the history file; and a REPL killed with SIGKILL must not lose an entry it had accepted.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import sys
import threading
import time

import pexpect
import pytest
from prompt_toolkit.history import FileHistory

from orgorepl import paths, protocol
from orgorepl.connect import remote_connector
from orgorepl.modes import Mode
from orgorepl.render.bounded import DEFAULT_LIMITS
from orgorepl.repl import INTERRUPTED_NOTE, ReplOptions
from orgorepl.session.hints import HINTS

from faultserver import FaultServer, Reply
from test_repl import CTRL_C, ENTER, Session
from test_repl_vt import VtScreen

KEY = "sk_live_PLANTED_repl_faults_2b7e41aa"
CID = "3f1e2d3c-0000-4000-8000-00000000fa17"
COMPUTER = {"id": CID, "name": "agent-9", "status": "running", "os": "linux"}
GET_COMPUTER = f"GET {protocol.computer_path(CID)}"
EXEC, BASH = f"POST {protocol.exec_path(CID)}", f"POST {protocol.bash_path(CID)}"
EXEC_OK = Reply.json({"output": "fine\n", "success": True, "action": "exec", "timeout": False})
BASH_OK = Reply.json({"output": "fine\n", "exit_code": 0, "success": True})
MAY_HAVE_RUN = "the request was sent, so the code may have run; it was not retried"

pytestmark = pytest.mark.timeout(90)

FAULTS = {
    "reset before the answer": (Reply.reset, f"the connection broke before a complete answer to POST .*{MAY_HAVE_RUN}"),
    "reset mid-body": (Reply.reset_mid_body, f"the connection broke .*{MAY_HAVE_RUN}"),
    "429 with Retry-After": (lambda: Reply.error(429, "slow down", headers={"Retry-After": "7"}),
                             "HTTP 429 rate limited: slow down — retry in 7s"),
    "503": (lambda: Reply.error(503, "busy"), "HTTP 503 server error: busy — transient: try again in a moment"),
    "500 with upstream_status": (lambda: Reply.error(500, "vm failed", upstream_status=502),
                                 "HTTP 500/502 server error: vm failed"),
    "non-JSON body": (lambda: Reply.raw(b"<html>Bad gateway</html>"),
                      "the server answered HTTP 200 with a body that is not JSON: '<html>Bad gateway</html>'"
                      f" — {MAY_HAVE_RUN}"),
    "truncated JSON": (lambda: Reply.truncated_json({"output": "x" * 100, "success": True}),
                       f"not JSON: .* — {MAY_HAVE_RUN}"),
    "body over the size limit": (lambda: Reply.big_exec(70 * 1024 * 1024),
                                 f"over the 64 MiB limit — {MAY_HAVE_RUN}"),
    # the read timeout is the mode's timeout (1 s here) plus the margin (1 s)
    "stall before the headers": (Reply.stall, f"no complete answer to POST .* within 2s — {MAY_HAVE_RUN}"),
    "stall after the headers": (lambda: Reply.stall(after_headers=True), f"within 2s — {MAY_HAVE_RUN}"),
}


@pytest.fixture
def srv():
    with FaultServer({GET_COMPUTER: Reply.json(COMPUTER), EXEC: EXEC_OK, BASH: BASH_OK}) as server:
        yield server


@pytest.fixture
def repl(srv):
    sessions: list[Session] = []

    def start(timeout: int = 1, connect=None) -> Session:
        connect = connect or remote_connector(srv.base_url, KEY, CID, timeout_margin=1)
        options = ReplOptions(secret=KEY, target_label=CID, timeouts={Mode.PYTHON: timeout, Mode.BASH: timeout})
        session = Session(connect, options)
        sessions.append(session)
        session.expect(r"^>>>")
        return session

    yield start
    for session in sessions:
        session.close()


PROMPTS = {Mode.PYTHON: r">>>", Mode.BASH: r"(?:\S+ )?\$"}


def submit_and_read(s: Session, mode: Mode, text: str, timeout: float = 20) -> list[str]:
    """Submit one line; the lines shown between its echo and the next prompt."""
    s.submit(text)
    prompt = PROMPTS[mode]
    match = s.expect(rf"^{prompt} {re.escape(text)}\n(?P<shown>(?:.*\n)*?){prompt}$", timeout=timeout)
    assert KEY not in s.screen.text()
    return match.group("shown").splitlines()


def submissions(srv, endpoint: str) -> int:
    """Requests to ``endpoint`` ("POST path") that carry a submission: a completion probe (typing
    ``(`` asks for the callee's signature) and the mark of a submission given up with Ctrl-C (so
    that it does not change the session) are requests of their own, marked as such, not counted."""
    return sum(1 for r in srv.requests_to(*endpoint.split(" "))
               if b"__orgorepl_probe_" not in r.body and b"__orgorepl_abandon_" not in r.body)


def run_both_modes(s: Session, srv: FaultServer, fault_reply, says: str, tag: str) -> None:
    """In each mode: the fault is one line; then the same session runs a good submission."""
    for mode, endpoint, good in ((Mode.PYTHON, EXEC, EXEC_OK), (Mode.BASH, BASH, BASH_OK)):
        if mode is Mode.BASH:
            s.submit("%bash")
            s.expect(rf"^{PROMPTS[Mode.BASH]}$")
        code = f"print('{tag}')" if mode is Mode.PYTHON else f"echo {tag}"
        srv.set(endpoint, fault_reply())
        before = submissions(srv, endpoint)
        shown = submit_and_read(s, mode, code)
        assert len(shown) == 1 and re.search(says, shown[0]), f"{mode.value}: shown {shown!r}"
        assert submissions(srv, endpoint) == before + 1, "the submission was sent more than once"
        srv.set(endpoint, good)
        shown = submit_and_read(s, mode, f"print('{tag}', 2)" if mode is Mode.PYTHON else f"echo {tag} 2")
        assert shown[0] == "fine", f"{mode.value}: the session did not go on: {shown!r}"
        assert submissions(srv, endpoint) == before + 2
        s.expect(r"last: ok")  # the toolbar


@pytest.mark.parametrize("fault", list(FAULTS))
def test_each_fault_is_one_line_and_the_session_goes_on(repl, srv, fault):
    make_reply, says = FAULTS[fault]
    s = repl()
    s.expect(r"^connected to agent-9 \(running\)")
    run_both_modes(s, srv, make_reply, says, tag=re.sub(r"\W+", "-", fault))


class SamePortServer(FaultServer):
    """A fault server that comes back on the port an earlier one used (a server restarting)."""

    def __init__(self, script, port: int) -> None:
        super().__init__(script)
        self._wanted_port = port

    def start(self) -> SamePortServer:
        # FaultServer.start with the port fixed (it always asks for a free one)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", self._wanted_port))
        self._sock.listen(64)
        self.port = self._wanted_port
        accept = threading.Thread(target=self._accept_loop, name="faultserver-accept", daemon=True)
        accept.start()
        self._threads.append(accept)
        return self


def test_a_refused_connection_says_nothing_was_sent_and_the_session_recovers(repl, srv):
    s = repl()
    s.expect(r"^connected to agent-9")
    port = srv.port
    srv.stop()  # the API goes away after the session connected
    shown = submit_and_read(s, Mode.PYTHON, "print('refused')")
    assert len(shown) == 1 and re.search(r"^not run: could not connect to http://127\.0\.0\.1:\d+/api/"
                                         r" .*Connection refused", shown[0]), shown
    assert "may have run" not in shown[0]
    with SamePortServer({EXEC: EXEC_OK}, port) as back:  # ... and comes back
        assert submit_and_read(s, Mode.PYTHON, "print('back')")[0] == "fine"
        assert submissions(back, EXEC) == 1
    assert submissions(srv, EXEC) == 0


def test_ctrl_c_while_the_client_waits_to_reconnect_means_the_code_is_never_sent(repl, srv):
    s = repl(timeout=10)
    s.expect(r"^connected to agent-9")
    port = srv.port
    srv.stop()
    s.submit("print('abandoned')")
    s.expect(r"python on agent-9")  # refused, and the client backs off before trying again
    s.send(CTRL_C)
    s.expect("^" + re.escape(INTERRUPTED_NOTE) + "$")
    with SamePortServer({EXEC: EXEC_OK}, port) as back:
        time.sleep(4)  # longer than every backoff the client would have waited (0.5 + 1 + 2 s)
        assert submissions(back, EXEC) == 0, "the abandoned code ran after all"
        assert submit_and_read(s, Mode.PYTHON, "print('wanted')")[0] == "fine"
        assert submissions(back, EXEC) == 1


@pytest.mark.parametrize("give_up", [False, True])
def test_a_cancelled_call_stops_retrying(give_up):
    """A network that cannot be reached (not a fault a local server can make: an unreachable
    route) is retried with backoff; a cancelled call stops at once."""
    import httpx

    from orgorepl import errors
    from orgorepl.client import OrgoClient

    def unreachable(request):
        raise httpx.ConnectError("[Errno 101] Network is unreachable", request=request)

    sleeps: list[float] = []
    with OrgoClient(KEY, "http://10.0.0.1/api", sleep=sleeps.append,
                    transport=httpx.MockTransport(unreachable)) as client:
        with pytest.raises(errors.ConnectError):
            client.exec(CID, "print(1)", 5, cancelled=lambda: give_up and len(sleeps) > 0)
    assert sleeps == ([0.5] if give_up else [0.5, 1.0, 2.0])


def test_a_refused_connection_is_tried_once_more_at_once():
    from orgorepl import errors
    from orgorepl.client import OrgoClient

    sleeps: list[float] = []
    with OrgoClient(KEY, FaultServer.closed_port_url(), sleep=sleeps.append) as client:
        with pytest.raises(errors.ConnectionRefused):
            client.exec(CID, "print(1)", 5)
    assert sleeps == [0.2]


def test_a_20_mb_answer_is_shown_cut_and_the_session_goes_on(repl, srv):
    s = repl(timeout=10)
    s.expect(r"^connected to agent-9")
    srv.set(EXEC, Reply.big_exec(20 * 1024 * 1024))
    shown = submit_and_read(s, Mode.PYTHON, "print('big')")
    cut = [line for line in shown if "bytes not shown" in line]
    assert len(cut) == 1 and re.search(r"^… [\d,]+ bytes not shown: %more", cut[0]), shown
    assert sum(map(len, shown)) <= DEFAULT_LIMITS.max_bytes_shown + 1000  # a bounded part reached the screen
    srv.set(EXEC, EXEC_OK)
    assert submit_and_read(s, Mode.PYTHON, "print('small')")[0] == "fine"
    assert submissions(srv, EXEC) == 2


# --------------------------------------------------------------------------------------------
# Ctrl-C while a request is in flight


def history_entries(mode: str) -> list[str]:
    """The entries in a mode's history file, oldest first, read the way the REPL reads them."""
    return list(reversed(list(FileHistory(str(paths.history_file(mode))).load_history_strings())))


def test_ctrl_c_twenty_times_while_requests_hang(repl, srv):
    s = repl(timeout=10)  # read timeout 11 s: every Ctrl-C lands while its request still hangs
    s.expect(r"^connected to agent-9")
    srv.set(EXEC, Reply.stall())
    typed = []
    for n in range(1, 21):
        code = f"print('hang {n}')"
        typed.append(code)
        s.submit(code)
        deadline = time.monotonic() + 15
        while submissions(srv, EXEC) < n:  # the request is at the server, and hangs there
            assert time.monotonic() < deadline, f"request {n} never arrived"
            time.sleep(0.01)
        s.send(CTRL_C)
        hint = f"{re.escape(HINTS['interrupted'])}\n" if n == 1 else ""  # said once, the first time
        s.expect(rf"^>>> {re.escape(code)}\n{re.escape(INTERRUPTED_NOTE)}\n{hint}>>>$")
    assert s.screen.text().count(INTERRUPTED_NOTE) == 20
    srv.set(EXEC, EXEC_OK)
    assert submit_and_read(s, Mode.PYTHON, "print('responsive')")[0] == "fine"
    assert submissions(srv, EXEC) == 21  # each hanging submission was sent once, none again
    assert history_entries("python") == typed + ["print('responsive')"]


# --------------------------------------------------------------------------------------------
# SIGKILL


def test_sigkill_mid_session_loses_no_submitted_entry(srv, isolated_env):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORGO_", "ORGOREPL_"))}
    env.update(TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1", LINES="24", COLUMNS="100",
               ORGO_API_KEY=KEY, ORGO_BASE_URL=srv.base_url, ORGO_COMPUTER=CID,
               ORGOREPL_CONFIG_DIR=str(isolated_env / "config"), ORGOREPL_DATA_DIR=str(isolated_env / "data"))
    child = pexpect.spawn(sys.executable, ["-m", "orgorepl"], env=env, dimensions=(24, 100),
                          encoding="utf-8", codec_errors="replace")
    screen = VtScreen(rows=24, columns=100)
    reader_done = threading.Event()

    def read_all() -> None:
        while True:
            try:
                screen.feed(child.read_nonblocking(65536, timeout=0.1))
            except pexpect.TIMEOUT:
                continue
            except (pexpect.EOF, OSError):
                reader_done.set()
                return

    threading.Thread(target=read_all, daemon=True).start()

    def wait_for(pattern: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while not re.search(pattern, screen.text(), re.MULTILINE):
            assert time.monotonic() < deadline, f"Expected {pattern!r}\nActual screen:\n{screen.text()[-2000:]}"
            time.sleep(0.02)

    try:
        wait_for(r"^connected to agent-9")
        python_entries = ["x = 1", "print('two')", "for i in range(2):\n    print(i)", "%bash"]
        child.send("x = 1" + ENTER)
        wait_for(r"^>>> x = 1\n(.*\n)*>>>$")
        child.send("print('two')" + ENTER)
        wait_for(r"^>>> print\('two'\)\n(.*\n)*>>>$")
        child.send("for i in range(2):" + ENTER + "print(i)" + ENTER + ENTER)
        wait_for(r"^\.\.\.\s+print\(i\)\n(.*\n)*>>>$")
        child.send("%bash" + ENTER)
        wait_for(r"^\$$")
        child.send("echo three" + ENTER)
        wait_for(r"^\$ echo three\n(.*\n)*\$$")
        srv.set(BASH, Reply.stall())
        child.send("sleep 100  # in flight when killed" + ENTER)
        deadline = time.monotonic() + 15
        while submissions(srv, BASH) < 2:
            assert time.monotonic() < deadline, "the last command never reached the server"
            time.sleep(0.01)
        os.kill(child.pid, signal.SIGKILL)
        reader_done.wait(10)
    finally:
        child.close(force=True)
    assert child.signalstatus == signal.SIGKILL
    assert history_entries("python") == python_entries
    assert history_entries("bash") == ["echo three", "sleep 100  # in flight when killed"]
    for mode in ("python", "bash"):
        assert KEY not in paths.history_file(mode).read_text()
