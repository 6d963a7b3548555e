"""The per-key-press and per-result costs: completeness checks, sanitizing, rendering.

Enter runs a completeness check on every press and every result goes through the sanitizer
and the renderer, so these must stay far below what a person can notice (~50 ms).

    python benchmarks/input_and_output.py
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from orgorepl import outcome as oc
from orgorepl.modes import Mode
from orgorepl.render.result import render_outcome
from orgorepl.render.sanitize import sanitize
from orgorepl.session.completeness import bash_is_complete, python_is_complete

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "bash_corpus" / "snippets.txt"

SCRIPT = """
for f in *.txt; do
  if [ -s "$f" ]; then
    echo "$f: $(wc -l < "$f") lines"
  else
    case "$f" in
      a*) echo a ;;
      *) echo other ;;
    esac
  fi
done
cat <<EOF
hello ${USER:-x} $(date)
EOF
"""

PYTHON = '''
import os, sys

class Point:
    def __init__(self, x, y):
        self.x, self.y = x, y

    def __repr__(self):
        return f"Point({self.x}, {self.y})"

def walk(root):
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames:
            yield os.path.join(dirpath, name)

'''


def per_call(fn, arg, seconds: float = 0.5) -> float:
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        fn(arg)
        n += 1
    return (time.perf_counter() - start) / n


def throughput(fn, text: str, rounds: int = 5) -> float:
    best = min(_timed(fn, text) for _ in range(rounds))
    return len(text.encode("utf-8")) / best / 1e6


def _timed(fn, text: str) -> float:
    start = time.perf_counter()
    fn(text)
    return time.perf_counter() - start


def main() -> None:
    snippets = [line.replace("\\n", "\n") for line in CORPUS.read_text().splitlines()
                if line and not line.startswith("## ")]
    start = time.perf_counter()
    for s in snippets:
        bash_is_complete(s)
    per_snippet = (time.perf_counter() - start) / len(snippets)
    print(f"bash_is_complete, corpus ({len(snippets)} snippets): {per_snippet * 1e6:8.1f} us each")
    for lines in (14, 1400):
        script = SCRIPT * (lines // 14)
        print(f"bash_is_complete, {lines:5d}-line script:           {per_call(bash_is_complete, script) * 1e3:8.2f} ms")
    for copies in (1, 100):
        code = PYTHON * copies
        n = code.count("\n")
        print(f"python_is_complete, {n:5d}-line cell:            {per_call(python_is_complete, code) * 1e3:8.2f} ms")

    plain = ("total 48\ndrwxr-xr-x  5 user user 4096 Jan  1 12:00 some-directory\n" * 20000)
    colored = ("\x1b[0m\x1b[01;34mdirectory\x1b[0m  \x1b[01;32mscript.sh\x1b[0m  file.txt\n" * 20000)
    hostile = ("\x1b]0;title\x07\x1b[2J\x1b[H\rtext\x9b31m\x00\x08" * 20000)
    doc = json.dumps([{"id": i, "name": f"agent-{i}", "tags": ["a", "b"]} for i in range(2000)], indent=2)
    for name, text in (("plain", plain), ("ls --color", colored), ("hostile", hostile)):
        print(f"sanitize, {name:10s} ({len(text) / 1e6:.1f} MB): {throughput(sanitize, text):8.1f} MB/s")

    def render(text: str) -> None:
        render_outcome(oc.Outcome(Mode.BASH, oc.Status.OK, pieces=(oc.Piece(text),), exit_code=0, duration=0.1))

    for name, text in (("plain", plain), ("ls --color", colored), ("hostile", hostile), ("JSON", doc)):
        print(f"render_outcome, {name:10s} ({len(text) / 1e6:.2f} MB): {throughput(render, text):8.1f} MB/s")


if __name__ == "__main__":
    main()
