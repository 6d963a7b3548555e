"""Median wall time of `orgorepl exec --local 'print(1)'` against a bare `python -c 'print(1)'`.

Each round runs both commands once, in turn, so drift in machine load hits both alike.  The
orgorepl figure is the whole user-visible cost: interpreter start, imports, starting the embedded
emulator, one HTTP round trip and a fresh remote interpreter.

    python benchmarks/oneshot_latency.py [--rounds 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time


def timed(argv, env) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, env=env)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0 or proc.stdout.strip() != "1":
        raise SystemExit(f"{argv!r} failed: {proc.returncode} {proc.stdout!r} {proc.stderr!r}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ORGO")}
        env["ORGOREPL_DATA_DIR"] = tmp
        env["ORGOREPL_CONFIG_DIR"] = tmp
        commands = {
            "orgorepl exec --local": [sys.executable, "-m", "orgorepl", "exec", "--local", "print(1)"],
            "python -c": [sys.executable, "-c", "print(1)"],
        }
        for argv in commands.values():  # warm the page cache once, untimed
            timed(argv, env)
        samples: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.rounds):
            for name, argv in commands.items():
                samples[name].append(timed(argv, env))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    for name, value in medians.items():
        print(f"{name:24s} median {value * 1000:8.1f} ms  (n={len(samples[name])})")
    print(f"ratio orgorepl/python      {medians['orgorepl exec --local'] / medians['python -c']:8.2f}x")


if __name__ == "__main__":
    main()
