"""A 100-computer fan-out of `print(1)` against 100 sequential calls, on the emulator.

Both send raw (stateless) requests to the same 100 computers of one emulator; rounds alternate
the two so machine noise hits both alike.  Prints medians and the speed-up, twice:

* with the emulator answering as fast as this machine can (a few ms a call): on 2 cores the
  work itself is the limit, so this shows the cost of the fan-out machinery more than its gain;
* with ``--latency`` ms added to every answer (default 50), standing for the network and VM
  round trip of a real cloud computer: the wait fan-out exists to overlap.

    python benchmarks/fanout_speed.py [--computers 100] [--rounds 5] [--parallel 8] [--latency 50]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from orgorepl import fanout
from orgorepl.client import AsyncOrgoClient, OrgoClient
from orgorepl.emulator import EmbeddedEmulator
from orgorepl.modes import Mode
from orgorepl.session.carry import RemoteSession


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--computers", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--parallel", type=int, default=fanout.DEFAULT_PARALLEL)
    parser.add_argument("--latency", type=int, default=50, help="ms added to every answer (second run)")
    args = parser.parse_args()
    for latency in (0, args.latency):
        measure(args, latency)


def measure(args, latency_ms: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, \
            EmbeddedEmulator(data_dir=Path(tmp), computers=args.computers, latency=latency_ms / 1000) as emu, \
            OrgoClient(api_key=emu.api_key, base_url=emu.base_url) as client:
        computers = client.list_computers()
        targets = [fanout.Target(c, RemoteSession(stateful=False)) for c in computers]

        def make_async():
            return AsyncOrgoClient(api_key=emu.api_key, base_url=emu.base_url)

        def sequential() -> float:
            start = time.perf_counter()
            for c in computers:
                assert client.exec(c.id, "print(1)", 30).output == "1\n"
            return time.perf_counter() - start

        def fanned() -> float:
            start = time.perf_counter()
            results = fanout.run(make_async, targets, Mode.PYTHON, "print(1)", 30, parallel=args.parallel)
            elapsed = time.perf_counter() - start
            assert [r.status for r in results] == ["ok"] * len(targets), fanout.summary(results)
            return elapsed

        sequential(), fanned()  # warm-up, untimed
        seq, fan = [], []
        for _ in range(args.rounds):
            seq.append(sequential())
            fan.append(fanned())
    s, f = statistics.median(seq), statistics.median(fan)
    print(f"{len(computers)} computers, parallel {args.parallel}, {args.rounds} rounds, "
          f"added latency {latency_ms} ms")
    print(f"sequential  median {s * 1000:8.1f} ms")
    print(f"fan-out     median {f * 1000:8.1f} ms")
    print(f"speed-up    {s / f:8.2f}x   (target: at least 5x)")


if __name__ == "__main__":
    main()
