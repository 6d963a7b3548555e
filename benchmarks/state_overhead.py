"""What carrying state costs per submission: stateful vs --stateless round trips on the emulator.

Series, interleaved round by round so machine noise hits all alike:
  stateless       `print(1)` sent raw
  state (small)   `print(1)` in a session holding a few names (ints, a dict, a function, a class)
  state (10 MB)   `print(1)` in a session that also holds a 10 MB bytes object and a 10 MB list
  bash stateless  `echo 1` sent raw to /bash
  bash fresh      `echo 1` in a bash session holding nothing yet
  bash 1 MB       `echo 1` in a bash session holding a 1 MB shell variable (issue 14: at most 2x fresh)
  bash 10 MB      the same with 10 MB

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

        def submit_bash(session: RemoteSession, command: str) -> float:
            start = time.perf_counter()
            req = session.bash(command)
            out = session.bash_done(req, client.bash(cid, req.command, 60))
            elapsed = time.perf_counter() - start
            if out.exit_code != 0:
                raise SystemExit(f"benchmark bash submission failed: {out.exit_code}: {out.output[-300:]}")
            return elapsed

        shells = {
            "bash stateless": RemoteSession(stateful=False),
            "bash fresh": RemoteSession(),
            "bash 1 MB": RemoteSession(),
            "bash 10 MB": RemoteSession(),
        }
        submit_bash(shells["bash fresh"], "true")
        submit_bash(shells["bash 1 MB"], "big=$(head -c 1000000 /dev/zero | tr '\\0' x)")
        submit_bash(shells["bash 10 MB"], "big=$(head -c 10000000 /dev/zero | tr '\\0' x)")
        sessions = {
            "stateless": RemoteSession(stateful=False),
            "state (small)": RemoteSession(),
            "state (10 MB)": RemoteSession(),
        }
        setup = "a = 1\nb = {'k': list(range(10))}\ndef f(x):\n    return x\nclass C:\n    pass\nc = C()\n"
        submit(sessions["state (small)"], setup)
        submit(sessions["state (10 MB)"], setup + "big = b'x' * 10_000_000\nbig_list = [0] * 1_250_000\n")
        samples: dict[str, list[float]] = {name: [] for name in [*sessions, *shells]}
        for s in sessions.values():  # warm-up, untimed
            submit(s, "print(1)")
        for s in shells.values():
            submit_bash(s, "echo 1")
        for _ in range(args.rounds):
            for name, s in sessions.items():
                samples[name].append(submit(s, "print(1)"))
            for name, s in shells.items():
                samples[name].append(submit_bash(s, "echo 1"))
    med = {name: statistics.median(v) for name, v in samples.items()}
    for name, value in med.items():
        base = "bash stateless" if name.startswith("bash") else "stateless"
        extra = f"   ratio to fresh {value / med['bash fresh']:5.2f}x" if name.startswith("bash ") else ""
        print(f"{name:15s} median {value * 1000:8.1f} ms   ratio to stateless {value / med[base]:5.2f}x{extra}")
    print(f"(rounds={args.rounds}; targets: state (small) at most 1.5x stateless; bash 1 MB at most 2x bash fresh)")


if __name__ == "__main__":
    main()
