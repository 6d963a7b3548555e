"""One-shot commands against a network that misbehaves: what a person (or a script) sees.

Every fault the fault server can produce is thrown at `orgorepl exec`, `orgorepl exec --json`,
`orgorepl bash` and piped input (the batch mode), each a real process.  For each, the command
must print exactly one line on stderr (no traceback), exit with the status README documents,
keep the API key to itself, and send the code exactly once: a request that may have reached the
computer is never sent again.

The processes mostly wait (for a read timeout, a connect backoff, the interpreter to start), so
a module fixture runs them all at once and the tests then look at what each one did.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest

from orgorepl import protocol
from orgorepl.exitstatus import ExitStatus

from faultserver import FaultServer, Reply

KEY = "sk_live_PLANTED_cli_faults_6f1d0c93"
CID = "3f1e2d3c-0000-4000-8000-00000000c11f"
COMPUTER = {"id": CID, "name": "agent-1", "status": "running", "os": "linux"}
EXEC_PATH, BASH_PATH = protocol.exec_path(CID), protocol.bash_path(CID)
MB = 1024 * 1024
MARGIN = 1  # ORGOREPL_TIMEOUT_MARGIN: the read timeout of a submission is its timeout + this
MAY_HAVE_RUN = "the code may have run; it was not retried"

pytestmark = pytest.mark.timeout(180)

# How a submission is made: argv after `orgorepl` (before the code), the code, stdin, endpoint.
HOW = {
    "exec": (["exec"], ["print('hi')"], None, EXEC_PATH),
    "exec --json": (["exec", "--json"], ["print('hi')"], None, EXEC_PATH),
    "bash": (["bash"], ["echo hi"], None, BASH_PATH),
    "bash --json": (["bash", "--json"], ["echo hi"], None, BASH_PATH),
    "piped": ([], [], "print('hi')\n", EXEC_PATH),
}

# fault -> (reply, exit status, what the line must say)
FAULTS: dict[str, tuple[Callable[[], Reply], int, str]] = {
    "reset before the answer": (Reply.reset, ExitStatus.NETWORK, "the connection broke"),
    "reset mid-body": (Reply.reset_mid_body, ExitStatus.NETWORK, "the connection broke"),
    "429 with Retry-After": (lambda: Reply.error(429, "slow down", headers={"Retry-After": "7"}),
                             ExitStatus.RATE_LIMITED, "HTTP 429 rate limited: slow down — retry in 7s"),
    "503": (lambda: Reply.error(503, "busy", request_id="req-503"), ExitStatus.SERVER,
            "HTTP 503 server error: busy (request req-503) — transient"),
    "500 with upstream_status": (lambda: Reply.error(500, "vm failed", upstream_status=502),
                                 ExitStatus.SERVER, "HTTP 500/502 server error: vm failed"),
    "non-JSON body": (lambda: Reply.raw(b"<html><body>Bad gateway</body></html>"), ExitStatus.NETWORK,
                      "HTTP 200 with a body that is not JSON: '<html>"),
    "truncated JSON": (lambda: Reply.truncated_json({"output": "x" * 200, "success": True}),
                       ExitStatus.NETWORK, "not JSON"),
    "truncated JSON, connection closed": (
        lambda: Reply.truncated_json({"output": "x" * 200, "success": True}, lie=True),
        ExitStatus.NETWORK, "the connection broke"),
    "body over the size limit": (lambda: Reply.big_exec(70 * MB), ExitStatus.NETWORK,
                                 "over the 64 MiB limit"),
    "stall before the headers": (Reply.stall, ExitStatus.NETWORK, f"within {1 + MARGIN}s"),
    "stall after the headers": (lambda: Reply.stall(after_headers=True), ExitStatus.NETWORK,
                                f"within {1 + MARGIN}s"),
}
STALLS = {"stall before the headers", "stall after the headers"}
# --json and piped input share the error path of exec: one of each kind of error is enough there.
SHARED_PATH_FAULTS = ["reset mid-body", "429 with Retry-After", "500 with upstream_status",
                      "truncated JSON", "stall after the headers"]


def _big(path: str, size: int) -> bytes:
    if path == BASH_PATH:
        return b'{"output": "' + b"y" * size + b'", "exit_code": 0, "success": true}'
    return b'{"success": true, "timeout": false, "output": "' + b"y" * size + b'"}'


@dataclass(frozen=True)
class Case:
    how: str
    fault: str  # a FAULTS key, "refused" or "20 MB"

    @property
    def id(self) -> str:
        return f"{self.how}: {self.fault}"


CASES = [Case(how, fault) for fault in FAULTS for how in ("exec", "bash")]
CASES += [Case(how, fault) for fault in SHARED_PATH_FAULTS for how in ("exec --json", "bash --json", "piped")]
REFUSED = [Case("exec", "refused"), Case("bash --json", "refused")]
BIG = [Case(how, "20 MB") for how in ("exec", "bash", "piped")]


@dataclass
class Outcome:
    process: subprocess.CompletedProcess
    posts: int  # requests to the endpoint the submission goes to
    other_posts: int  # requests to the other code-running endpoint


def run_case(case: Case, home) -> Outcome:
    before, code, stdin, path = HOW[case.how]
    timeout = ["--timeout", "1"] if case.fault in STALLS else []
    argv = [sys.executable, "-m", "orgorepl"] + before + timeout + code
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORGO_", "ORGOREPL_"))}
    env.update(ORGO_API_KEY=KEY, ORGO_COMPUTER=CID, ORGOREPL_TIMEOUT_MARGIN=str(MARGIN),
               ORGOREPL_CONFIG_DIR=str(home / "config"), ORGOREPL_DATA_DIR=str(home / "data"))
    if case.fault == "refused":
        env["ORGO_BASE_URL"] = FaultServer.closed_port_url()
        p = subprocess.run(argv, input=stdin, capture_output=True, text=True, env=env, timeout=60)
        return Outcome(p, 0, 0)
    reply = Reply(body=_big(path, 20 * MB)) if case.fault == "20 MB" else FAULTS[case.fault][0]()
    other = EXEC_PATH if path == BASH_PATH else BASH_PATH
    with FaultServer({f"GET {protocol.computer_path(CID)}": Reply.json(COMPUTER), f"POST {path}": reply}) as srv:
        env["ORGO_BASE_URL"] = srv.base_url
        p = subprocess.run(argv, input=stdin, capture_output=True, text=True, env=env, timeout=60)
        return Outcome(p, srv.count("POST", path), srv.count("POST", other))


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory) -> dict[Case, Outcome]:
    # Module scope is outside conftest's per-test isolation: give the processes a home of their own.
    home = tmp_path_factory.mktemp("cli-faults")
    every = CASES + REFUSED + BIG
    with ThreadPoolExecutor(max_workers=6) as pool:
        return dict(zip(every, pool.map(lambda case: run_case(case, home), every), strict=True))


def assert_one_clear_line(case: Case, p: subprocess.CompletedProcess, status: int, says: str) -> str:
    seen = p.stdout + p.stderr
    assert KEY not in seen and "PLANTED" not in seen
    assert "Traceback" not in p.stderr
    assert p.returncode == status, f"exit {p.returncode}, expected {status}; stderr: {p.stderr!r}"
    lines = p.stderr.splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got: {p.stderr!r}"
    line = lines[0]
    assert line.startswith("orgorepl: ") and says in line, line
    if "--json" in case.how:  # the same words, as an object on stdout
        payload = json.loads(p.stdout)
        assert payload["error"] == line.removeprefix("orgorepl: ")
        assert payload["error_class"]
        if "HTTP 5" in line or "HTTP 429" in line:  # the server's answer, with its fields, for scripts
            assert payload["status"] == int(line.split("HTTP ")[1][:3])
        if "may have run" in line:
            assert payload["may_have_run"] is True
    else:
        assert p.stdout == ""
    return line


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_each_fault_is_one_line_a_documented_status_and_one_request(outcomes, case):
    outcome = outcomes[case]
    _reply, status, says = FAULTS[case.fault]
    line = assert_one_clear_line(case, outcome.process, status, says)
    assert outcome.posts == 1, f"the submission was sent {outcome.posts} times"
    assert outcome.other_posts == 0
    if status == ExitStatus.NETWORK:  # no HTTP status to go by: say whether the code may have run
        assert line.endswith(MAY_HAVE_RUN), line
    if case.fault in STALLS:
        assert "no complete answer to POST" in line


@pytest.mark.parametrize("case", REFUSED, ids=lambda c: c.id)
def test_a_refused_connection_says_so_and_that_nothing_ran(outcomes, case):
    line = assert_one_clear_line(case, outcomes[case].process, ExitStatus.NETWORK, "could not connect to")
    assert "Connection refused" in line and "may have run" not in line


@pytest.mark.parametrize("case", BIG, ids=lambda c: c.id)
def test_a_20_mb_answer_is_delivered_whole(outcomes, case):
    outcome = outcomes[case]
    p = outcome.process
    assert (p.returncode, p.stderr) == (0, "")
    assert len(p.stdout) == 20 * MB and p.stdout.strip("y") == ""
    assert outcome.posts == 1


def test_a_bad_timeout_margin_is_a_configuration_error(orgorepl_cmd):
    env = {**os.environ, "ORGO_API_KEY": KEY, "ORGOREPL_TIMEOUT_MARGIN": "0"}
    p = subprocess.run(orgorepl_cmd + ["exec", "print(1)"], capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == ExitStatus.CONFIG
    assert p.stderr == ("orgorepl: env ORGOREPL_TIMEOUT_MARGIN: timeout_margin = '0' is invalid: "
                        "expected a whole number from 1 to 600\n")
