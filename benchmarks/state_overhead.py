"""What carrying state costs per submission: stateful vs --stateless round trips on the emulator.

Series, interleaved round by round (each round starting with a different one) so machine noise
hits all alike, each timing ``print(1)`` and
``1+1`` (issue 14's sizes):
  stateless        sent raw
  empty            a stateful session holding nothing
  small            a few names (ints, a dict, a function, a class, an instance)
  5M list          ``big = list(range(5_000_000))``
  70 MB set        ``s = set(range(2_000_000))`` (about 70 MB in memory)
  numpy            ``import numpy as np`` (skipped where numpy is not installed)
and, for bash, each timing ``echo 1``:
  bash stateless   sent raw to /bash
  bash fresh       a bash session holding nothing yet
  bash 1 MB        a bash session holding a 1 MB shell variable
  bash 10 MB       the same with 10 MB

Ratios: empty to stateless (goal at most 1.5x), the others to empty (goal at most 1.3x); bash
to a fresh bash session (goal: 1 MB at most 2x).

    python benchmarks/state_overhead.py [--rounds 10]
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import tempfile
import time
from pathlib import Path

from orgorepl.client import OrgoClient
from orgorepl.emulator import EmbeddedEmulator
from orgorepl.session.carry import RemoteSession

SETUPS = {
    "stateless": None,
    "empty": "",
    "small": "a = 1\nb = {'k': list(range(10))}\ndef f(x):\n    return x\nclass C:\n    pass\nc = C()\n",
    "5M list": "big = list(range(5_000_000))\n",
    "70 MB set": "s = set(range(2_000_000))\n",
    "numpy": "import numpy as np\n",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    setups = dict(SETUPS)
    if importlib.util.find_spec("numpy") is None:
        del setups["numpy"]
    with tempfile.TemporaryDirectory() as tmp, EmbeddedEmulator(data_dir=Path(tmp)) as emu, \
            OrgoClient(api_key=emu.api_key, base_url=emu.base_url) as client:
        cid = emu.computers[0].id

        def submit(session: RemoteSession, code: str) -> float:
            start = time.perf_counter()
            req = session.python(code)
            out = session.python_done(req, client.exec(cid, req.code, 120))
            elapsed = time.perf_counter() - start
            if not out.success:
                raise SystemExit(f"benchmark submission failed: {out.error_type}: {out.error}")
            return elapsed

        def submit_bash(session: RemoteSession, command: str) -> float:
            start = time.perf_counter()
            req = session.bash(command)
            out = session.bash_done(req, client.bash(cid, req.command, 60))
            elapsed = time.perf_counter() - start
            if out.exit_code != 0:
                raise SystemExit(f"benchmark bash submission failed: {out.exit_code}: {out.output[-300:]}")
            return elapsed

        shells = {name: RemoteSession(stateful=name != "bash stateless")
                  for name in ("bash stateless", "bash fresh", "bash 1 MB", "bash 10 MB")}
        submit_bash(shells["bash fresh"], "true")
        submit_bash(shells["bash 1 MB"], "big=$(head -c 1000000 /dev/zero | tr '\\0' x)")
        submit_bash(shells["bash 10 MB"], "big=$(head -c 10000000 /dev/zero | tr '\\0' x)")
        sessions = {name: RemoteSession(stateful=setup is not None) for name, setup in setups.items()}
        for name, setup in setups.items():
            if setup:
                submit(sessions[name], setup)
        samples: dict[tuple[str, str], list[float]] = {}
        for s in sessions.values():  # warm-up, untimed
            submit(s, "print(1)")
        def rotated(series: dict[str, RemoteSession], turn: int) -> list[tuple[str, RemoteSession]]:
            """Each round starts with a different series, so no series always follows the costly one."""
            items = list(series.items())
            return items[turn % len(items):] + items[:turn % len(items)]

        for turn in range(args.rounds):
            for code in ("print(1)", "1+1"):
                for name, s in rotated(sessions, turn):
                    samples.setdefault((name, code), []).append(submit(s, code))
            for name, s in rotated(shells, turn):
                samples.setdefault((name, "echo 1"), []).append(submit_bash(s, "echo 1"))
    med = {key: statistics.median(v) for key, v in samples.items()}
    for (name, code), value in med.items():
        if name.startswith("bash"):
            against = "bash stateless" if name == "bash fresh" else "bash fresh"
        else:
            against = "stateless" if name == "empty" else "empty"
        key = (against, code)
        ratio = f"{value / med[key]:5.2f}x {against}" if name not in ("stateless", "bash stateless") else ""
        print(f"{name:14s} {code:9s} median {value * 1000:8.1f} ms   {ratio}")
    print(f"(rounds={args.rounds}; goals: empty at most 1.5x stateless, the others at most 1.3x empty; "
          "bash 1 MB at most 2x bash fresh)")


if __name__ == "__main__":
    main()
