"""Time to first prompt in a pseudo-terminal: `orgorepl --local` vs ptpython vs bare `python3 -q`.

Each round starts the three programs in turn (interleaved, so machine noise hits all of them
alike) in a fresh 24x100 pseudo-terminal and takes two figures:

* prompt:  from spawn until the prompt text is on the terminal;
* echo:    from spawn until a key typed at spawn time shows up after the prompt, drawn by the
           program itself (so the prompt is not only visible but reading input).

Prints per-program medians and the ratios orgorepl/ptpython and orgorepl/python for both.  The
issue's target is orgorepl's time to first prompt <= 0.6x ptpython's.

    python benchmarks/startup.py [--rounds N] [--orgorepl "CMD ARGS"]

Needs pexpect and ptpython (`pip install -e '.[bench,test]'`).  Every run gets its own config,
data and XDG dirs, so no user configuration (or ptpython config file) skews the figures.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pexpect

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
from test_repl_vt import VtScreen  # noqa: E402  (the tests' terminal model)

PROMPT = re.compile(r">>>|In \[1\]:")
ECHO = re.compile(r"(>>>|In \[1\]:) ?7$", re.MULTILINE)


def programs(orgorepl: str | None) -> dict[str, list[str]]:
    ptpython = shutil.which("ptpython")
    progs = {
        "orgorepl": shlex.split(orgorepl) if orgorepl else [sys.executable, "-m", "orgorepl", "--local"],
        "ptpython": [ptpython] if ptpython else [sys.executable, "-m", "ptpython"],
        "python": [sys.executable, "-q"],
    }
    return progs


def time_to_prompt(argv: list[str], env: dict[str, str], timeout: float = 30.0) -> tuple[float, float]:
    """(prompt, echo) seconds after spawn; see the module docstring."""
    started = time.perf_counter()
    child = pexpect.spawn(argv[0], argv[1:], env=env, cwd=str(REPO), dimensions=(24, 100))
    child.send(b"7")  # typed at once; it waits in the terminal until the program reads it
    screen = VtScreen(rows=24, columns=100)
    prompt_at = None
    try:
        while True:
            left = started + timeout - time.perf_counter()
            try:
                screen.feed(child.read_nonblocking(65536, timeout=max(0.01, left)).decode("utf-8", "replace"))
            except pexpect.TIMEOUT:
                raise RuntimeError(f"{argv[0]}: no prompt after {timeout}s; saw {screen.text()[-300:]!r}") from None
            now = time.perf_counter() - started
            text = screen.text()
            if prompt_at is None and PROMPT.search(text):
                prompt_at = now
            if prompt_at is not None and ECHO.search(text):
                return prompt_at, now
    finally:
        child.terminate(force=True)
        child.close(force=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--orgorepl", metavar="CMD", help="command line to measure instead of "
                        "`python -m orgorepl --local` (e.g. an installed console script)")
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
    progs = programs(args.orgorepl)
    for argv in progs.values():  # warm the OS caches (and .pyc files) once, unmeasured
        time_to_prompt(argv, env)

    prompt: dict[str, list[float]] = {name: [] for name in progs}
    echo: dict[str, list[float]] = {name: [] for name in progs}
    for _ in range(args.rounds):
        for name, argv in progs.items():
            p, e = time_to_prompt(argv, env)
            prompt[name].append(p)
            echo[name].append(e)
    shutil.rmtree(scratch, ignore_errors=True)

    print(f"median of {args.rounds} interleaved rounds, Python {sys.version.split()[0]}, "
          f"{os.cpu_count()} cpus; orgorepl = {' '.join(progs['orgorepl'])}")
    print(f"  {'':<9} {'prompt':>9} {'echo':>9}")
    med_p = {n: statistics.median(v) for n, v in prompt.items()}
    med_e = {n: statistics.median(v) for n, v in echo.items()}
    for name in progs:
        print(f"  {name:<9} {med_p[name] * 1000:7.1f}ms {med_e[name] * 1000:7.1f}ms")
    for other in ("ptpython", "python"):
        print(f"  orgorepl/{other:<8} {med_p['orgorepl'] / med_p[other]:7.2f}  {med_e['orgorepl'] / med_e[other]:7.2f}"
              + ("   (target: prompt <= 0.60)" if other == "ptpython" else ""))


if __name__ == "__main__":
    main()
