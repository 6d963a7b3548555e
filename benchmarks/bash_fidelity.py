"""How close bash mode is to one persistent interactive bash: the fidelity corpus
(tests/fidelity/bash_sequences.py) run on every registered transport against `bash -i` in a pty.

Prints one row per transport (steps matched / total, %, the categories with most mismatches),
then matched/total per category, then the mismatched steps themselves (`--mismatches N` per
transport, 0 for none).

    python benchmarks/bash_fidelity.py [--workers 4] [--mismatches 20] [--category jobs ...]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fidelity.bash_sequences import SEQUENCES  # noqa: E402
from fidelity.harness import TRANSPORTS, Lab, category_table, measure, mismatch_report, table  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=4, help="sequences run at once (default 4)")
    parser.add_argument("--mismatches", type=int, default=20, help="mismatched steps listed per transport")
    parser.add_argument("--category", action="append", help="only these categories (repeatable)")
    parser.add_argument("--transport", action="append", choices=sorted(TRANSPORTS),
                        help="only these transports (repeatable; default all)")
    args = parser.parse_args()
    sequences = [s for s in SEQUENCES if not args.category or s.category in args.category]
    if not sequences:
        raise SystemExit(f"no sequence in categories {args.category}")
    names = args.transport or list(TRANSPORTS)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="orgorepl-fidelity-") as root, Lab(Path(root), len(sequences)) as lab:
        transports = {name: TRANSPORTS[name](lab) for name in names}
        measured = measure(lab, sequences, transports, workers=args.workers)
    figures = [measured.figure(name) for name in names]
    steps = sum(len(s.steps) for s in sequences)
    print(f"bash fidelity: {len(sequences)} sequences, {steps} steps, ground truth: bash -i in a pty "
          f"({time.monotonic() - started:.1f}s)\n")
    print(table(figures))
    print()
    print(category_table(figures))
    if args.mismatches:
        for fig in figures:
            print()
            print(mismatch_report(fig, limit=args.mismatches))


if __name__ == "__main__":
    main()
