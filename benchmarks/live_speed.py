"""Live bash against bash over HTTP, on the embedded emulator, in one run.

* round trip: median of `true` per submission, live vs HTTP (a stateful session, as the REPL
  sends it);
* state size: the same `true` once the session holds a 10 MB shell variable (and 1 MB), as a
  ratio to the empty session (the issue's goal for live: at most 1.1x);
* time to first output: `echo first; sleep 2; echo done`, when "first" is seen;
* Python: `print(1)` and `1+1` per submission, live vs HTTP (stateful, as the REPL sends it),
  empty and with a 5-million-element list in the session.

    python benchmarks/live_speed.py [--rounds 30]
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from orgorepl.client import OrgoClient  # noqa: E402
from orgorepl.emulator import EmbeddedEmulator  # noqa: E402
from orgorepl.live import LiveBash  # noqa: E402
from orgorepl.live_python import LivePython  # noqa: E402
from orgorepl.modes import Mode  # noqa: E402
from orgorepl.session.carry import RemoteSession  # noqa: E402
from orgorepl.submit import Code, submit  # noqa: E402

BIG = "X=$(head -c {n} /dev/zero | tr '\\0' x)"


class Http:
    name = "http"

    def __init__(self, client: OrgoClient, computer_id: str) -> None:
        self.client, self.computer_id, self.session = client, computer_id, RemoteSession(stateful=True)

    def run(self, text: str, on_piece=None):
        return submit(self.client, self.computer_id, self.session, Code(Mode.BASH, text, 120), on_piece=on_piece)


class Live:
    name = "live"

    def __init__(self, client: OrgoClient, computer_id: str, base_url: str) -> None:
        self.bash = LiveBash(lambda fresh: client.terminal_access(computer_id, fresh_token=fresh), base_url,
                             session_id=secrets.token_hex(4))  # supervised, as the REPL runs it
        self.bash.start()

    def run(self, text: str, on_piece=None):
        return self.bash.run(text, on_piece=on_piece)


class HttpPython:
    name = "http"

    def __init__(self, client: OrgoClient, computer_id: str) -> None:
        self.client, self.computer_id, self.session = client, computer_id, RemoteSession(stateful=True)

    def run(self, text: str, on_piece=None):
        return submit(self.client, self.computer_id, self.session, Code(Mode.PYTHON, text, 120), on_piece=on_piece)


class LivePy:
    name = "live"

    def __init__(self, client: OrgoClient, computer_id: str, base_url: str) -> None:
        self.python = LivePython(lambda fresh: client.terminal_access(computer_id, fresh_token=fresh), base_url,
                                 session_id=secrets.token_hex(4))  # supervised, as the REPL runs it
        self.python.start()

    def run(self, text: str, on_piece=None):
        return self.python.run(text, on_piece=on_piece)


def python_rows(client: OrgoClient, emu: EmbeddedEmulator, rounds: int) -> list[tuple[str, float, float, float]]:
    rows = []
    for t in (HttpPython(client, emu.computers[0].id), LivePy(client, emu.computers[1].id, emu.base_url)):
        median_ms(t, "1+1", 3)
        printed = median_ms(t, "print(1)", rounds)
        empty = median_ms(t, "1+1", rounds)
        t.run("big = list(range(5_000_000))")
        full = median_ms(t, "1+1", max(3, rounds // (6 if isinstance(t, HttpPython) else 1)))
        rows.append((t.name, printed, empty, full))
        if isinstance(t, LivePy):
            t.python.close(end=True)
    return rows


def median_ms(transport, text: str, rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        outcome = transport.run(text)
        samples.append(time.perf_counter() - start)
        if outcome.exit_status != 0:
            raise SystemExit(f"{transport.name}: {text!r} failed: {outcome.verdict} {outcome.output[:200]!r}")
    return statistics.median(samples) * 1000


def first_output(transport) -> tuple[float, float]:
    seen: list[float] = []
    start = time.perf_counter()
    transport.run("echo first; sleep 2; echo done",
                  on_piece=lambda piece: seen.append(time.perf_counter() - start) if "first" in piece.text else None)
    return (seen[0] if seen else float("nan")), time.perf_counter() - start


def reattach_ms(live: Live, rounds: int) -> float:
    """A live submission right after the network dropped its socket: the supervisor's session is
    reattached on a new socket first (the same shell, its 10 MB variable still set)."""
    samples = []
    for _ in range(rounds):
        socket = live.bash.shell._terminal._terminal.socket
        start = time.perf_counter()
        live.bash._loop.call_soon_threadsafe(socket._ws.transport.abort)  # no close frame, as a dead network
        outcome = live.run("true")
        samples.append(time.perf_counter() - start)
        if outcome.exit_status != 0:
            raise SystemExit(f"live: true after a cut failed: {outcome.verdict}")
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, EmbeddedEmulator(data_dir=Path(tmp), computers=2) as emu:
        with OrgoClient(api_key=emu.api_key, base_url=emu.base_url) as client:
            transports = [Http(client, emu.computers[0].id), Live(client, emu.computers[1].id, emu.base_url)]
            rows = []
            for t in transports:
                median_ms(t, "true", 3)  # warm up
                empty = median_ms(t, "true", args.rounds)
                t.run(BIG.format(n=1_000_000))
                one_mb = median_ms(t, "true", max(5, args.rounds // 3))
                t.run(BIG.format(n=10_000_000))
                ten_mb = median_ms(t, "true", max(5, args.rounds // 3))
                first, total = first_output(t)
                rows.append((t.name, empty, one_mb, ten_mb, first, total))
            reattach = reattach_ms(transports[1], max(5, args.rounds // 4))
            transports[1].bash.close(end=True)
            py_rows = python_rows(client, emu, args.rounds)
    print(f"bash `true`, median ms ({args.rounds} rounds; the state rows fewer)")
    print(f"{'transport':10s} {'empty':>9s} {'1 MB var':>10s} {'10 MB var':>10s} {'1MB/empty':>10s} "
          f"{'10MB/empty':>11s} {'first out':>10s} {'whole':>7s}")
    for name, empty, one_mb, ten_mb, first, total in rows:
        print(f"{name:10s} {empty:9.2f} {one_mb:10.2f} {ten_mb:10.2f} {one_mb / empty:9.2f}x {ten_mb / empty:10.2f}x "
              f"{first:9.2f}s {total:6.2f}s")
    http, live = rows
    print(f"live/http round trip (empty session): {live[1] / http[1]:.2f}x")
    print(f"live `true` right after its socket was cut (reattach included): {reattach:.1f} ms median, "
          f"{reattach / live[1]:.0f}x a round trip")
    print()
    print("python, median ms")
    print(f"{'transport':10s} {'print(1)':>9s} {'1+1':>8s} {'1+1, 5M list':>13s} {'list/empty':>11s}")
    for name, printed, empty, full in py_rows:
        print(f"{name:10s} {printed:9.2f} {empty:8.2f} {full:13.2f} {full / empty:10.2f}x")
    print(f"live/http print(1): {py_rows[1][1] / py_rows[0][1]:.2f}x")


if __name__ == "__main__":
    main()
