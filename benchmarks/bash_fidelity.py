"""How close bash mode is to one persistent interactive bash: the fidelity corpus
(tests/fidelity/bash_sequences.py) run on every registered transport against `bash -i` in a pty.
`--corpus public` runs the public corpus instead (tests/fidelity/public_corpus.py: the examples of
public bash books, built into a JSON outside git; see that module), `--corpus both` runs both.

Prints one row per transport (steps matched / total, %, the categories with most mismatches),
then matched/total per category, then the mismatched steps themselves (`--mismatches N` per
transport, 0 for none).

    python benchmarks/bash_fidelity.py [--workers 4] [--mismatches 20] [--category jobs ...]
                                       [--corpus own|public|both]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from fidelity import public_corpus  # noqa: E402
from fidelity.bash_sequences import SEQUENCES  # noqa: E402
from fidelity.harness import TRANSPORTS, Lab, category_table, measure, mismatch_report, table  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=4, help="sequences run at once (default 4)")
    parser.add_argument("--mismatches", type=int, default=20, help="mismatched steps listed per transport")
    parser.add_argument("--category", action="append", help="only these categories (repeatable)")
    parser.add_argument("--transport", action="append", choices=sorted(TRANSPORTS),
                        help="only these transports (repeatable; default all)")
    parser.add_argument("--corpus", choices=("own", "public", "both"), default="own",
                        help="the project's own corpus, the public one, or both (default own)")
    args = parser.parse_args()
    corpora = []
    if args.corpus in ("own", "both"):
        corpora.append(("own corpus", SEQUENCES))
    if args.corpus in ("public", "both"):
        public = public_corpus.load()
        if not public:
            raise SystemExit(f"no public corpus at {public_corpus.corpus_path()} (see tests/fidelity/public_corpus.py)")
        corpora.append(("public corpus", public))
    for index, (label, corpus) in enumerate(corpora):
        if index:
            print("\n")
        run(label, corpus, args)


def run(label: str, corpus, args) -> None:
    sequences = [s for s in corpus if not args.category or s.category in args.category]
    if not sequences:
        raise SystemExit(f"no sequence in categories {args.category}")
    names = args.transport or list(TRANSPORTS)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="orgorepl-fidelity-") as root, Lab(Path(root), len(sequences)) as lab:
        transports = {name: TRANSPORTS[name](lab) for name in names}
        measured = measure(lab, sequences, transports, workers=args.workers)
    figures = [measured.figure(name) for name in names]
    steps = sum(len(s.steps) for s in sequences)
    print(f"bash fidelity, {label}: {len(sequences)} sequences, {steps} steps, ground truth: bash -i in a pty "
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
