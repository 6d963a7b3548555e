"""What carrying state costs per submission: stateful vs --stateless round trips on the emulator.

Three series, interleaved round by round so machine noise hits all alike:
  stateless       `print(1)` sent raw
  state (small)   `print(1)` in a session holding a few names (ints, a dict, a function, a class)
  state (10 MB)   `print(1)` in a session that also holds a 10 MB bytes object and a 10 MB list

    python benchmarks/state_overhead.py [--rounds 30]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from orgorepl.client import OrgoClient
from orgorepl.emulator import EmbeddedEmulator
from orgorepl.session.carry import RemoteSession


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, EmbeddedEmulator(data_dir=Path(tmp)) as emu, \
            OrgoClient(api_key=emu.api_key, base_url=emu.base_url) as client:
        cid = emu.computers[0].id

        def submit(session: RemoteSession, code: str) -> float:
            start = time.perf_counter()
            req = session.python(code)
            out = session.python_done(req, client.exec(cid, req.code, 60))
            elapsed = time.perf_counter() - start
            if not out.success:
                raise SystemExit(f"benchmark submission failed: {out.error_type}: {out.error}")
            return elapsed

        sessions = {
            "stateless": RemoteSession(stateful=False),
            "state (small)": RemoteSession(),
            "state (10 MB)": RemoteSession(),
        }
        setup = "a = 1\nb = {'k': list(range(10))}\ndef f(x):\n    return x\nclass C:\n    pass\nc = C()\n"
        submit(sessions["state (small)"], setup)
        submit(sessions["state (10 MB)"], setup + "big = b'x' * 10_000_000\nbig_list = [0] * 1_250_000\n")
        samples: dict[str, list[float]] = {name: [] for name in sessions}
        for s in sessions.values():  # warm-up, untimed
            submit(s, "print(1)")
        for _ in range(args.rounds):
            for name, s in sessions.items():
                samples[name].append(submit(s, "print(1)"))
    med = {name: statistics.median(v) for name, v in samples.items()}
    for name, value in med.items():
        print(f"{name:15s} median {value * 1000:8.1f} ms   ratio to stateless {value / med['stateless']:5.2f}x")
    print(f"(rounds={args.rounds}; target: state (small) at most 1.5x stateless)")


if __name__ == "__main__":
    main()
