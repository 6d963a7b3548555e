"""Issue 14's notebook-style fidelity suite: every notebook of ``fidelity/python_notebooks.py``
run cell by cell over HTTP through orgorepl's submit path (one stateful submission per cell),
compared with one persistent interpreter (the ground truth, a subprocess that runs every cell
in its real ``__main__`` and echoes the last expression like the REPL).

A cell matches when its stdout and its error type are the same.  A cell is indeterminate when
two runs of the ground truth disagree on it.  At least 97 % of determinate cells must match, and
every cell that does not must come after a note about something it uses (a name, a module),
said by the cell that made the difference or by this one, never silently.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

from fidelity.python_notebooks import notebooks

from orgorepl import submit
from orgorepl.modes import Mode
from orgorepl.session.carry import RemoteSession

GROUND_TRUTH = r'''
import ast, io, json, sys, types
real_out = sys.stdout
main = types.ModuleType("__main__")
main.__builtins__ = __builtins__
sys.modules["__main__"] = main
for line in sys.stdin:
    src = json.loads(line)
    buf = io.StringIO()
    sys.stdout = buf
    error = None
    try:
        tree = ast.parse(src, "<cell>")
        body, last = tree.body, None
        if body and isinstance(body[-1], ast.Expr):
            body, last = body[:-1], body[-1]
        exec(compile(ast.Module(body=body, type_ignores=[]), "<cell>", "exec"), main.__dict__)
        if last is not None:
            sys.displayhook(eval(compile(ast.Expression(last.value), "<cell>", "eval"), main.__dict__))
    except BaseException as e:
        error = type(e).__name__
    sys.stdout = real_out
    real_out.write(json.dumps([buf.getvalue(), error]) + "\n")
    real_out.flush()
'''


def ground_truth(cells: list[str], cwd) -> list[tuple[str, str | None]]:
    proc = subprocess.run([sys.executable, "-c", GROUND_TRUTH], input="".join(json.dumps(c) + "\n" for c in cells),
                          capture_output=True, text=True, cwd=cwd, timeout=120)
    return [tuple(json.loads(line)) for line in proc.stdout.splitlines()]  # type: ignore[misc]


def over_http(client, computer_id, cells: list[str]) -> list[tuple[str, str | None, list[str]]]:
    session = RemoteSession()
    results = []
    for cell in cells:
        outcome = submit.submit(client, computer_id, session, submit.Code(Mode.PYTHON, cell, 60))
        output = outcome.output
        results.append((output, outcome.error_type, list(outcome.notes)))
    return results


def subject(note: str) -> str:
    """What a note is about: ``not kept: stock (...)`` -> stock; ``not carried: ways: ...`` -> ways;
    ``not carried: logging configuration ...`` -> logging."""
    return re.split(r"[ :.(]", note.split(": ", 1)[-1], maxsplit=1)[0]


def test_notebooks_match_one_interpreter(client, computer_id, tmp_path):
    total = matched = indeterminate = 0
    silent, report = [], []
    for name, cells in notebooks().items():
        (tmp_path / name).mkdir()
        truth = ground_truth(cells, tmp_path / name)
        again = ground_truth(cells, tmp_path / name)
        assert len(truth) == len(cells), f"{name}: the ground truth stopped early"
        ours = over_http(client, computer_id, cells)
        subjects: set[str] = set()  # what the notes so far were about (a name, a module)
        for i, (cell, want, want2, got) in enumerate(zip(cells, truth, again, ours, strict=True)):
            subjects.update(subject(note) for note in got[2])
            noted = bool(subjects & set(re.findall(r"[A-Za-z_]\w*", cell)))
            if want != want2:
                indeterminate += 1
                continue
            total += 1
            if (got[0], got[1]) == want:
                matched += 1
                continue
            report.append(f"{name}[{i}] {cell!r}: want {want!r}, got {got[:2]!r}, notes so far: {noted}")
            if not noted:
                silent.append(report[-1])
    print(f"\npython fidelity: {matched}/{total} determinate cells match "
          f"({100 * matched / total:.1f} %), {indeterminate} indeterminate")
    print("\n".join(report))
    assert total >= 150
    assert matched >= 0.97 * total, "\n".join(report)
    assert not silent, "differences nobody announced:\n" + "\n".join(silent)
