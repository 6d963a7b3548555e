"""Load test: 16 concurrent clients, 2,000 mixed exec/bash requests with timeouts and exceptions.

The emulator runs in a process of its own (an ``EmbeddedEmulator`` with the zygote executor,
or ``--executor spawn``, and the default limits).  Each request's answer is checked against what that request must give;
every run prints its pid first, which is also its process group, so afterwards we can look for
anything it left behind.  Printed figures:

* lost (no answer: connection error, timeout) and malformed (wrong status, shape or content);
* leftover processes: anything alive in the process group (or session) of any run, children of
  the emulator other than the zygote, children of the zygote, zombies among either;
* memory: RSS of the emulator process plus the zygote after a warm-up, and after the load.

Exit status 0 only if lost, malformed and leftover are all 0 and memory grew by less than the
margin.  Not part of the test suite (it takes a minute or so).

    python benchmarks/emulator_load.py [--requests 2000] [--clients 16] [--margin-mib 16] [--executor spawn]
"""

from __future__ import annotations

import argparse
import json
import queue
import random
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
emu = EmbeddedEmulator(data_dir=Path(sys.argv[1]), computers=2, executor=sys.argv[2]).start()
print(json.dumps({"base_url": emu.base_url, "key": emu.api_key, "ids": [c.id for c in emu.computers],
                  "mode": emu.runtime.containment.mode}), flush=True)
sys.stdin.read()  # until the benchmark closes our stdin
emu.stop()
"""

# (weight, path, body, how to check the answer) -- every run prints its pid (= its group) first
KINDS = {
    "exec ok": (40, "exec", {"code": "import os\nprint(os.getpid())\nprint('ok', {n})"}),
    "exec exception": (15, "exec", {"code": "import os\nprint(os.getpid())\nraise ValueError('boom {n}')"}),
    "exec timeout": (3, "exec", {"code": "import os, time\nprint(os.getpid(), flush=True)\ntime.sleep(5)",
                                 "timeout": 1}),
    "exec background": (2, "exec", {"code": "import os, subprocess\nprint(os.getpid())\n"
                                            "subprocess.Popen(['sleep', '0.3'])\nprint('ok', {n})"}),
    "bash ok": (30, "bash", {"command": "echo $$; echo ok {n}"}),
    "bash exit": (7, "bash", {"command": "echo $$; echo err {n} >&2; exit 3"}),
    "bash timeout": (3, "bash", {"command": "echo $$; sleep 5", "timeout": 1}),
}


def expected(kind: str, n: int, status: int, body: dict) -> bool:
    out = body.get("output", "")
    if kind == "exec ok" or kind == "exec background":
        return status == 200 and body.get("success") is True and out.endswith(f"ok {n}\n")
    if kind == "exec exception":
        return (status == 200 and body.get("success") is False and body.get("error_type") == "ValueError"
                and body.get("error") == f"boom {n}")
    if kind == "exec timeout":
        return status == 200 and body.get("timeout") is True and body.get("error_type") == "TimeoutError"
    if kind == "bash ok":
        return status == 200 and body.get("exit_code") == 0 and out.endswith(f"ok {n}\n")
    if kind == "bash exit":
        return status == 200 and body.get("exit_code") == 3 and out.endswith(f"err {n}\n")
    if kind == "bash timeout":
        return status == 500 and body.get("upstream_status") == 408 and isinstance(body.get("request_id"), str)
    return False


def proc_stat(pid: int) -> list[str] | None:
    try:
        data = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    return data[data.rfind(b")") + 2:].decode().split()


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def all_procs() -> dict[int, list[str]]:
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = proc_stat(int(entry.name))
            if fields:
                found[int(entry.name)] = fields
    return found


def children(pid: int, procs: dict[int, list[str]]) -> list[int]:
    return [p for p, f in procs.items() if int(f[1]) == pid]


def run_load(info: dict, count: int, clients: int, seed: int) -> dict:
    rng = random.Random(seed)
    names = list(KINDS)
    weights = [KINDS[k][0] for k in names]
    jobs: queue.Queue = queue.Queue()
    for n in range(count):
        jobs.put((n, rng.choices(names, weights)[0], rng.choice(info["ids"])))
    results = {"lost": [], "malformed": [], "pids": set(), "latency": [], "kinds": {k: 0 for k in names}}
    lock = threading.Lock()

    def worker() -> None:
        with httpx.Client(base_url=info["base_url"] + "/", timeout=60,
                          headers={"Authorization": f"Bearer {info['key']}"}) as http:
            while True:
                try:
                    n, kind, cid = jobs.get_nowait()
                except queue.Empty:
                    return
                _, path, template = KINDS[kind]
                body = {k: v.replace("{n}", str(n)) if isinstance(v, str) else v for k, v in template.items()}
                started = time.perf_counter()
                try:
                    resp = http.post(f"computers/{cid}/{path}", json=body)
                    data = resp.json()
                except (httpx.HTTPError, ValueError) as exc:
                    with lock:
                        results["lost" if isinstance(exc, httpx.TransportError) else "malformed"].append(
                            (n, kind, repr(exc)))
                    continue
                elapsed = time.perf_counter() - started
                with lock:
                    results["latency"].append(elapsed)
                    results["kinds"][kind] += 1
                    first = data.get("output", "").split("\n", 1)[0].strip() if isinstance(data, dict) else ""
                    if first.isdigit():
                        results["pids"].add(int(first))
                    if not isinstance(data, dict) or not expected(kind, n, resp.status_code, data):
                        results["malformed"].append((n, kind, resp.status_code, str(data)[:200]))

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results["seconds"] = time.perf_counter() - started
    return results


def leftovers(emulator_pid: int, zygote_pid: int | None, run_pids: set[int]) -> list[str]:
    procs = all_procs()
    found = []
    for pid, fields in procs.items():
        state, pgid, sid = fields[0], int(fields[2]), int(fields[3])
        if pid in (emulator_pid, zygote_pid):
            continue
        if pgid in run_pids or sid in run_pids:
            found.append(f"{pid} ({state}) of run group {pgid}")
    for parent in (emulator_pid, zygote_pid):
        if parent is None:
            continue
        for child in children(parent, procs):
            if child != zygote_pid:
                found.append(f"{child} ({procs[child][0]}) child of {parent}")
    if zygote_pid is not None and procs.get(zygote_pid, ["Z"])[0] in ("Z", "X"):
        found.append(f"zygote {zygote_pid} is a zombie")
    return sorted(set(found))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--margin-mib", type=float, default=16.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--executor", choices=("zygote", "spawn"), default="zygote")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        host = subprocess.Popen([sys.executable, "-c", HOST, tmp, args.executor], cwd=REPO, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True)
        try:
            info = json.loads(host.stdout.readline())
            warm = run_load(info, args.warmup, args.clients, args.seed + 1)
            time.sleep(1.5)
            procs = all_procs()
            zygotes = children(host.pid, procs)
            zygote = zygotes[0] if len(zygotes) == 1 else None
            before = rss_kib(host.pid) + (rss_kib(zygote) if zygote else 0)
            load = run_load(info, args.requests, args.clients, args.seed)
            time.sleep(1.5)  # background `sleep 0.3` jobs end; killed runs are reaped
            zygote_after = next(iter(children(host.pid, all_procs())), None)
            after = rss_kib(host.pid) + (rss_kib(zygote_after) if zygote_after else 0)
            left = leftovers(host.pid, zygote_after, load["pids"] | warm["pids"])
        finally:
            host.stdin.close()
            host.wait(30)
    lost, malformed = len(load["lost"]), len(load["malformed"])
    growth = (after - before) / 1024
    lat = sorted(load["latency"])
    print(f"load: {args.requests} requests, {args.clients} concurrent clients, {args.executor} executor, "
          f"containment {info['mode']}, "
          f"{load['seconds']:.1f} s ({args.requests / load['seconds']:.0f} req/s)")
    print("  mix: " + ", ".join(f"{k} {v}" for k, v in load["kinds"].items()))
    print(f"  latency median {statistics.median(lat) * 1000:.1f} ms, p99 {lat[int(len(lat) * 0.99)] * 1000:.1f} ms")
    print(f"  lost {lost}   malformed {malformed}")
    print(f"  leftover processes or zombies {len(left)} (runs checked: {len(load['pids'] | warm['pids'])})")
    print(f"  memory (emulator + zygote RSS) {before / 1024:.1f} MiB after warm-up -> {after / 1024:.1f} MiB "
          f"after load ({growth:+.1f} MiB, margin {args.margin_mib:g})")
    for item in (load["lost"] + load["malformed"])[:5] + left[:5]:
        print("   ", item)
    ok = lost == 0 and malformed == 0 and not left and growth < args.margin_mib
    print("PASS" if ok else "FAIL")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
