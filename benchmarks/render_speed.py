"""From a result in hand to the prompt back: render + write, for 10 KB to 10 MB of output.

Each case is a result object as the session layer returns it (an ``outcome.Outcome`` with a
long traceback, or a bash outcome holding one JSON document or plain log lines).  One sample
keeps the full text for ``%more`` (``LastOutput``), renders it with the default
``OutputLimits`` and writes it with ``write_fragments`` to a prompt_toolkit ``Vt100_Output``
whose stdout is a real pseudo-terminal, drained by a thread so writes never block.  Cases are
interleaved (every round runs every case once) so that drift in the machine hits all alike.

Prints the median per case and, per kind, the ratio 10 MB / 100 KB.  Target: at most 2x (the
cost is bounded by the limits, not by the size).  ``--print-formatted-text`` also times the
same rendering written with prompt_toolkit's ``print_formatted_text`` instead.

    python benchmarks/render_speed.py [--rounds 15] [--print-formatted-text]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from prompt_toolkit import print_formatted_text
from prompt_toolkit.data_structures import Size
from prompt_toolkit.output.color_depth import ColorDepth
from prompt_toolkit.output.vt100 import Vt100_Output

from orgorepl import outcome as oc
from orgorepl.modes import Mode
from orgorepl.render.last_output import LastOutput
from orgorepl.render.result import render_outcome
from orgorepl.render.terminal import write_fragments
from orgorepl.ui.style import default_style

SIZES = [("10 KB", 10_000), ("100 KB", 100_000), ("1 MB", 1_000_000), ("10 MB", 10_000_000)]
KINDS = ["traceback", "json", "plain"]


# ---------------------------------------------------------------------------------- data

def _traceback(size: int, rng: random.Random) -> str:
    modules = ["app/handlers.py", "app/models/user.py", "lib/retry.py", "site-packages/requests/api.py",
               "site-packages/urllib3/connectionpool.py", "<cell>"]
    funcs = ["handle", "dispatch", "_call_with_retry", "request", "urlopen", "load_user", "<module>"]
    code = ["return self.dispatch(request, *args, **kwargs)", "result = fn(*args, **kwargs)",
            "user = User.objects.get(pk=user_id)", "raise ConnectionError(err, request=request)",
            "return session.request(method=method, url=url, **kwargs)", "x = compute(a, b)[key]"]
    lines = ["Traceback (most recent call last):\n"]
    total = len(lines[0])
    tail = "ConnectionError: HTTPSConnectionPool(host='api.example.com', port=443): Max retries exceeded\n"
    while total < size - len(tail):
        mod, fn, src = rng.choice(modules), rng.choice(funcs), rng.choice(code)
        frame = f'  File "/srv/{mod}", line {rng.randint(1, 2000)}, in {fn}\n    {src}\n'
        if rng.random() < 0.2:
            frame += "    " + " " * rng.randint(0, 8) + "^" * rng.randint(3, 20) + "\n"
        lines.append(frame)
        total += len(frame)
    return "".join(lines) + tail


def _json(size: int, rng: random.Random) -> str:
    records, total = [], 2
    while total < size:
        record = {"id": len(records), "name": f"agent-{rng.randint(1, 10**6)}", "ok": rng.random() < 0.9,
                  "ram_gb": rng.choice([2, 4, 8, 16]), "load": round(rng.random(), 3),
                  "tags": rng.sample(["gpu", "eu", "us", "spot", "test"], 2), "owner": None}
        text = json.dumps(record, indent=2)
        records.append(record)
        total += len(text) + 4
    return json.dumps(records, indent=2) + "\n"


def _plain(size: int, rng: random.Random) -> str:
    levels = ["INFO", "INFO", "INFO", "DEBUG", "WARNING"]
    lines, total, n = [], 0, 0
    while total < size:
        line = (f"2024-05-01 12:{n // 60 % 60:02d}:{n % 60:02d},{rng.randint(0, 999):03d} "
                f"{rng.choice(levels):7s} worker-{rng.randint(1, 8)} processed item {n} "
                f"in {rng.random():.3f}s\n")
        lines.append(line)
        total += len(line)
        n += 1
    return "".join(lines)


def make_case(kind: str, size: int):
    rng = random.Random(size)
    if kind == "traceback":
        tb = _traceback(size, rng)
        return oc.Outcome(Mode.PYTHON, oc.Status.ERROR, traceback=tb, error="Max retries exceeded",
                          error_type="ConnectionError", timeout=30, duration=0.2), len(tb)
    text = _json(size, rng) if kind == "json" else _plain(size, rng)
    return oc.Outcome(Mode.BASH, oc.Status.OK, pieces=(oc.Piece(text, oc.Stream.COMBINED),), exit_code=0,
                      timeout=30, duration=0.2), len(text)


# ---------------------------------------------------------------------------------- terminal

class Pty:
    """A pseudo-terminal whose far end is read (and thrown away) by a thread."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        self.stdout = os.fdopen(self.slave, "w", encoding="utf-8", closefd=False)
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        while True:
            try:
                if not os.read(self.master, 1 << 16):
                    return
            except OSError:
                return

    def output(self) -> Vt100_Output:
        return Vt100_Output(self.stdout, lambda: Size(rows=50, columns=200), term="xterm-256color",
                            default_color_depth=ColorDepth.DEPTH_8_BIT)

    def close(self) -> None:
        self.stdout.close()
        os.close(self.slave)
        os.close(self.master)


# ---------------------------------------------------------------------------------- timing

def one_sample(result, output, style, last: LastOutput, writer: str) -> float:
    start = time.perf_counter()
    last.keep(result)
    frags = render_outcome(result)
    if writer == "write_fragments":
        write_fragments(output, frags, style=style, color_depth=ColorDepth.DEPTH_8_BIT)
    else:
        print_formatted_text(frags, output=output, style=style, end="",
                             color_depth=ColorDepth.DEPTH_8_BIT, include_default_pygments_style=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--print-formatted-text", action="store_true",
                        help="also time the same rendering written with print_formatted_text")
    args = parser.parse_args()

    print("building cases ...", flush=True)
    cases = {(kind, label): make_case(kind, size) for kind in KINDS for label, size in SIZES}
    writers = ["write_fragments"] + (["print_formatted_text"] if args.print_formatted_text else [])
    pty = Pty()
    output = pty.output()
    style = default_style()
    last = LastOutput()
    times: dict[tuple[str, str, str], list[float]] = {}
    try:
        for result, _ in cases.values():  # warm up: imports, lexers, style caches
            one_sample(result, output, style, last, "write_fragments")
        for round_no in range(args.rounds):
            order = [(key, writer) for key in cases for writer in writers]
            random.Random(round_no).shuffle(order)
            for key, writer in order:
                sample = one_sample(cases[key][0], output, style, last, writer)
                times.setdefault((*key, writer), []).append(sample)
    finally:
        pty.close()

    print(f"\nresult in hand -> prompt back (render + write to a pty), median of {args.rounds} rounds")
    for writer in writers:
        print(f"\n{writer}:")
        print(f"  {'kind':10s} " + " ".join(f"{label:>9s}" for label, _ in SIZES) + "   10 MB / 100 KB")
        for kind in KINDS:
            medians = {label: statistics.median(times[(kind, label, writer)]) * 1e3 for label, _ in SIZES}
            ratio = medians["10 MB"] / medians["100 KB"]
            cells = " ".join(f"{medians[label]:7.2f}ms" for label, _ in SIZES)
            verdict = "ok" if ratio <= 2 else "OVER TARGET (2x)"
            print(f"  {kind:10s} {cells}   {ratio:5.2f}x  {verdict}")
    print("\nactual input sizes: " + ", ".join(
        f"{kind} {label} = {cases[(kind, label)][1]:,}" for kind in KINDS for label, _ in SIZES[-1:]))


if __name__ == "__main__":
    main()
