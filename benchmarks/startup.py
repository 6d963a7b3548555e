"""Time to first prompt in a pseudo-terminal: `orgorepl --local` vs ptpython vs bare `python3 -q`.

Each round starts the three programs in turn (interleaved, so machine noise hits all of them
alike) in a fresh 24x100 pseudo-terminal, and measures from spawn until the prompt text is on
the terminal.  Prints per-program medians and the ratios orgorepl/ptpython and orgorepl/python.
The issue's target is orgorepl <= 0.6x ptpython.

    python benchmarks/startup.py [--rounds N]

Needs pexpect and ptpython (`pip install -e '.[bench,test]'`).  Every run gets its own config,
data and XDG dirs, so no user configuration (or ptpython config file) skews the figures.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pexpect

REPO = Path(__file__).resolve().parent.parent
CONTROL = re.compile(rb"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[()][0-9A-Za-z]|\x1b[=>]")


def programs() -> dict[str, list[str]]:
    ptpython = shutil.which("ptpython")
    progs = {
        "orgorepl": [sys.executable, "-m", "orgorepl", "--local"],
        "ptpython": [ptpython] if ptpython else [sys.executable, "-m", "ptpython"],
        "python": [sys.executable, "-q"],
    }
    return progs


def time_to_prompt(argv: list[str], env: dict[str, str], timeout: float = 30.0) -> float:
    """Seconds from spawn until `>>> ` (or ptpython's `In [1]:`) is visible on the terminal."""
    started = time.perf_counter()
    child = pexpect.spawn(argv[0], argv[1:], env=env, cwd=str(REPO), dimensions=(24, 100))
    seen = b""
    try:
        while True:
            try:
                seen += child.read_nonblocking(4096, timeout=max(0.01, started + timeout - time.perf_counter()))
            except pexpect.TIMEOUT:
                raise RuntimeError(f"{argv[0]}: no prompt after {timeout}s; saw {seen[-300:]!r}") from None
            plain = CONTROL.sub(b"", seen)
            if b">>> " in plain or b"In [1]:" in plain:
                return time.perf_counter() - started
    finally:
        child.terminate(force=True)
        child.close(force=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="orgorepl-bench-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORGO_", "ORGOREPL_", "PYTHON"))}
    env.update(
        TERM="xterm-256color", PROMPT_TOOLKIT_NO_CPR="1", LINES="24", COLUMNS="100",
        ORGOREPL_CONFIG_DIR=str(scratch / "config"), ORGOREPL_DATA_DIR=str(scratch / "data"),
        XDG_CONFIG_HOME=str(scratch / "xdg-config"), XDG_DATA_HOME=str(scratch / "xdg-data"),
        XDG_CACHE_HOME=str(scratch / "xdg-cache"), HOME=str(scratch / "home"),
    )
    (scratch / "home").mkdir()
    env["PYTHONPATH"] = str(REPO)
    progs = programs()
    for name, argv in progs.items():  # warm the OS caches (and .pyc files) once, unmeasured
        time_to_prompt(argv, env)

    times: dict[str, list[float]] = {name: [] for name in progs}
    for _ in range(args.rounds):
        for name, argv in progs.items():
            times[name].append(time_to_prompt(argv, env))
    shutil.rmtree(scratch, ignore_errors=True)

    med = {name: statistics.median(values) for name, values in times.items()}
    print(f"time to first prompt, median of {args.rounds} interleaved rounds (Python {sys.version.split()[0]})")
    for name, value in med.items():
        spread = f"min {min(times[name]) * 1000:.0f} / max {max(times[name]) * 1000:.0f} ms"
        print(f"  {name:<9} {value * 1000:7.1f} ms   ({spread})")
    print(f"  orgorepl/ptpython = {med['orgorepl'] / med['ptpython']:.2f}  (target <= 0.60)")
    print(f"  orgorepl/python   = {med['orgorepl'] / med['python']:.2f}")


if __name__ == "__main__":
    main()
