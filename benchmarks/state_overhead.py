"""What carrying state costs per submission: stateful vs --stateless round trips on the emulator.

Series, interleaved round by round so machine noise hits all alike, each timing ``print(1)`` and
``1+1`` (issue 14's sizes):
  stateless        sent raw
  empty            a stateful session holding nothing
  small            a few names (ints, a dict, a function, a class, an instance)
  5M list          ``big = list(range(5_000_000))``
  70 MB set        ``s = set(range(2_000_000))`` (about 70 MB in memory)
  numpy            ``import numpy as np`` (skipped where numpy is not installed)

Ratios: empty to stateless (goal at most 1.5x), the others to empty (goal at most 1.3x).

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

        sessions = {name: RemoteSession(stateful=setup is not None) for name, setup in setups.items()}
        for name, setup in setups.items():
            if setup:
                submit(sessions[name], setup)
        samples: dict[tuple[str, str], list[float]] = {}
        for s in sessions.values():  # warm-up, untimed
            submit(s, "print(1)")
        for _ in range(args.rounds):
            for code in ("print(1)", "1+1"):
                for name, s in sessions.items():
                    samples.setdefault((name, code), []).append(submit(s, code))
    med = {key: statistics.median(v) for key, v in samples.items()}
    for (name, code), value in med.items():
        base = med[("stateless", code)] if name == "empty" else med[("empty", code)]
        against = "stateless" if name == "empty" else "empty"
        ratio = f"{value / base:5.2f}x {against}" if name != "stateless" else ""
        print(f"{name:10s} {code:9s} median {value * 1000:8.1f} ms   {ratio}")
    print(f"(rounds={args.rounds}; goals: empty at most 1.5x stateless, the others at most 1.3x empty)")


if __name__ == "__main__":
    main()
