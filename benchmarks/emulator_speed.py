"""HTTP round trip of exec ``print(1)``: zygote executor against spawn-per-call; and requests/s.

Two emulators run side by side, each in a process of its own (an ``EmbeddedEmulator``, without
access logs), one per executor.  Each round sends the same request to both, in
turn, over keep-alive connections, so drift in machine load hits both alike; the medians and
their ratio are printed (target: zygote/spawn <= 0.25).  Then 16 concurrent keep-alive clients
(threads) hammer each emulator for a few seconds with exec ``print(1)`` and with bash ``true``,
and the requests per second are printed.

    python benchmarks/emulator_speed.py [--rounds 200] [--seconds 5] [--clients 16]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent

HOST = """
import json, sys
from pathlib import Path
from orgorepl.emulator import EmbeddedEmulator
emu = EmbeddedEmulator(data_dir=Path(sys.argv[1]), computers=1, executor=sys.argv[2]).start()
print(json.dumps({"base_url": emu.base_url, "key": emu.api_key, "id": emu.computers[0].id}), flush=True)
sys.stdin.read()  # until the benchmark closes our stdin
emu.stop()
"""


@contextlib.contextmanager
def emulator(executor: str, data_dir: str):
    """(base_url, key, computer id) of an emulator serving in a process of its own."""
    proc = subprocess.Popen([sys.executable, "-c", HOST, data_dir, executor], cwd=REPO,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        info = json.loads(proc.stdout.readline())
        yield info["base_url"], info["key"], info["id"]
    finally:
        proc.stdin.close()
        proc.wait(30)


def client(base_url: str, key: str) -> httpx.Client:
    return httpx.Client(base_url=base_url + "/", headers={"Authorization": f"Bearer {key}"}, timeout=60)


def exec_once(http: httpx.Client, cid: str) -> float:
    start = time.perf_counter()
    reply = http.post(f"computers/{cid}/exec", json={"code": "print(1)"})
    elapsed = time.perf_counter() - start
    if reply.status_code != 200 or reply.json().get("output") != "1\n":
        raise SystemExit(f"unexpected answer: {reply.status_code} {reply.text[:200]}")
    return elapsed


def throughput(base_url: str, key: str, cid: str, path: str, body: dict, clients: int, seconds: float) -> float:
    """Requests per second of ``clients`` threads, each with its own keep-alive connection."""
    counts = [0] * clients
    errors: list[str] = []
    stop = time.perf_counter() + seconds
    barrier = threading.Barrier(clients + 1)

    def worker(i: int) -> None:
        with client(base_url, key) as http:
            http.get("workspaces")  # open the connection before the clock starts
            barrier.wait()
            while time.perf_counter() < stop:
                reply = http.post(f"computers/{cid}/{path}", json=body)
                if reply.status_code != 200:
                    errors.append(f"{reply.status_code} {reply.text[:100]}")
                    return
                counts[i] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    if errors:
        raise SystemExit(f"errors under load: {errors[:3]}")
    return sum(counts) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, \
            emulator("zygote", f"{tmp}/zygote") as zyg, emulator("spawn", f"{tmp}/spawn") as spn:
        targets = {"zygote": zyg, "spawn": spn}
        samples: dict[str, list[float]] = {name: [] for name in targets}
        https = {name: client(url, key) for name, (url, key, _) in targets.items()}
        for name, (_, _, cid) in targets.items():  # warm up: start the zygote, fill caches
            for _ in range(5):
                exec_once(https[name], cid)
        for _ in range(args.rounds):
            for name, (_, _, cid) in targets.items():
                samples[name].append(exec_once(https[name], cid))
        for http in https.values():
            http.close()
        medians = {name: statistics.median(values) for name, values in samples.items()}
        print(f"exec print(1), HTTP round trip, {args.rounds} interleaved rounds")
        for name, value in medians.items():
            q = statistics.quantiles(samples[name], n=20)
            print(f"  {name:7s} median {value * 1000:7.2f} ms   p5 {q[0] * 1000:7.2f}   p95 {q[-1] * 1000:7.2f}")
        print(f"  ratio zygote/spawn {medians['zygote'] / medians['spawn']:.3f}x   (target <= 0.25x)")
        print(f"requests/s, {args.clients} concurrent keep-alive clients, {args.seconds:g} s each")
        for name, (url, key, cid) in targets.items():
            rate_exec = throughput(url, key, cid, "exec", {"code": "print(1)"}, args.clients, args.seconds)
            rate_bash = throughput(url, key, cid, "bash", {"command": "true"}, args.clients, args.seconds)
            print(f"  {name:7s} exec print(1) {rate_exec:8.1f}/s   bash true {rate_bash:8.1f}/s")


if __name__ == "__main__":
    main()
