"""The bash fidelity yardstick: each sequence of the corpus run in one persistent ``bash -i`` in a
pty (the ground truth) and through each orgorepl transport, compared step by step.

Vocabulary
----------
A *step* is the text of one submission (possibly several lines).  A *transport* runs the steps of
one sequence, in order, in one session of its own, and returns one :class:`StepResult` per step::

    class Transport(Protocol):
        name: str
        def run_steps(self, steps: list[str], place: Place) -> list[StepResult]: ...

``steps[0]`` is always the harness's own ``cd -- '<place.tmp>'`` (its result is not counted);
the others are the sequence's steps with ``{tmp}`` replaced by ``place.tmp``.  ``place`` says
which computer to run on (``computer_id``), its ``HOME`` and the environment the ground truth
was given (so a transport that starts its own shell can start it the same way).  A step's
``exit_status`` is the status a user of that transport is shown (``Outcome.exit_status`` over
HTTP, ``$?`` after the step in the ground truth); ``None`` means the shell was gone before the
step ended (it exited, or was killed by a signal it did not trap).

Transports are built by the factories in :data:`TRANSPORTS` (name -> ``factory(lab)``); the live
transport plugs in there.

Every sequence runs on a computer of its own (the :class:`Lab` starts an emulator with one
computer per sequence), in a directory of its own (``place.tmp``, outside ``HOME``).  The ground
truth runs with the computer's ``HOME`` and the emulator's environment for runs, so paths,
``~`` and ``cd`` with no argument agree between the two sides without any rewriting.  Before
every run (ground truth or transport) the sequence's directory and the computer's home are
emptied, so no run sees what another left, and the sequence's ``files`` (if any: the public
corpus's example files) are written into its directory.  The ground truth's bash starts with
SIGPIPE at its default, as a shell in a terminal does (not ignored, as Python has it).

Normalisation (applied identically to both sides, and nothing else)
--------------------------------------------------------------------
1. ``\\r\\n`` -> ``\\n``: the pty's line discipline (``onlcr``) turns every newline the ground
   truth writes into CR LF; HTTP output has bare LFs.
2. ``[N] <digits>`` on a line of its own -> ``[N] PID``: interactive bash announces a background
   job with its process id, which differs from run to run.

No trailing-whitespace or other rewriting: the ground truth's prompt is ``\\n<marker>\\n`` and
exactly the one newline the prompt adds before its marker is dropped, so output that does not
end in a newline stays as it was (as the HTTP wrapper does with its trailer).
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple, Protocol

import pexpect

from orgorepl.modes import Mode
from orgorepl.session.carry import RemoteSession
from orgorepl.submit import Code, submit

from .bash_sequences import TMP, BashSequence

STEP_TIMEOUT = 30  # seconds, per step, on every side


class StepResult(NamedTuple):
    output: str
    exit_status: int | None  # None: the shell was gone before the step ended


@dataclass(frozen=True)
class Place:
    """Where one sequence runs: its computer, that computer's HOME, and its own directory."""

    computer_id: str
    home: str
    tmp: str
    env: Mapping[str, str]  # what a shell on the computer starts with (HOME, PATH, LANG, USER...)


class Transport(Protocol):
    name: str

    def run_steps(self, steps: list[str], place: Place) -> list[StepResult]: ...


class HarnessError(RuntimeError):
    """The yardstick itself failed (a step hung, the corpus left a command open): not a mismatch."""


# --------------------------------------------------------------------------------------------
# Normalisation


_JOB_PID = re.compile(r"^(\[\d+\]) \d+$", re.MULTILINE)


def normalise(output: str) -> str:
    """The two rewrites of the module docstring; both sides go through this."""
    return _JOB_PID.sub(r"\1 PID", output.replace("\r\n", "\n"))


def same(expected: StepResult, got: StepResult) -> bool:
    return normalise(expected.output) == normalise(got.output) and expected.exit_status == got.exit_status


# --------------------------------------------------------------------------------------------
# Ground truth: one persistent interactive bash in a pty


class PtyBash:
    """``bash --norc --noprofile --noediting -i`` in a pty, fed one line at a time.

    The prompts mark where output ends: ``PS1`` is ``\\n__END_<nonce>_$?__\\n`` (carrying the
    step's status) and ``PS2`` is ``__CONT_<nonce>__`` (bash wants more lines: the next line of
    the step is sent).  A step's output is what came before each marker, with the markers and
    the one newline ``PS1`` adds removed.  Echo is off (``stty -echo``), so nothing typed comes
    back; ``--noediting`` leaves readline (and bracketed paste) out, so lines are read as typed;
    history is on, in memory only (``HISTFILE=/dev/null``), cleared after the set-up line.  The
    nonce is new for every shell and the set-up line spells the markers in pieces, so no echoed
    or printed text can contain them.
    """

    def __init__(self, name: str = "bash -i", *, columns: int = 80, rows: int = 24) -> None:
        self.name = name
        self.dimensions = (rows, columns)

    def run_steps(self, steps: list[str], place: Place) -> list[StepResult]:
        nonce = secrets.token_hex(8)
        end = re.compile(r"\r?\n__END_%s_(\d+)__\r?\n" % nonce)
        cont = re.compile(r"__CONT_%s__" % nonce)
        child = pexpect.spawn("bash", ["--norc", "--noprofile", "--noediting", "-i"], env=dict(place.env),
                              cwd=place.home, dimensions=self.dimensions, encoding="utf-8",
                              codec_errors="replace", echo=False, timeout=STEP_TIMEOUT,
                              preexec_fn=_default_sigpipe)
        child.delaybeforesend = None
        try:
            child.sendline("stty -echo; HISTFILE=/dev/null; PS2='__CO''NT_%s__'; "
                           "PS1='\\n__E''ND_%s_$?__\\n'; history -c" % (nonce, nonce))
            child.expect(end)
            results: list[StepResult] = []
            for step in steps:
                if not child.isalive():
                    results.append(StepResult("", None))
                    continue
                results.append(self._step(child, step, end, cont))
            return results
        finally:
            _close(child)

    def _step(self, child: pexpect.spawn, step: str, end: re.Pattern, cont: re.Pattern) -> StepResult:
        output, status, waiting = [], None, False
        for line in step.split("\n"):
            child.sendline(line)
            try:
                index = child.expect([end, cont, pexpect.EOF])
            except pexpect.TIMEOUT as exc:
                raise HarnessError(f"no prompt after {STEP_TIMEOUT}s; step {step!r}") from exc
            output.append(child.before)
            if index == 2:  # the shell ended during this step (exit, an untrapped signal)
                return StepResult("".join(output), None)
            waiting = index == 1
            if index == 0:
                status = int(child.match.group(1))
        if waiting:
            raise HarnessError(f"the step leaves bash waiting for more input (fix the corpus): {step!r}")
        return StepResult("".join(output), status)


def _default_sigpipe() -> None:
    """In the child, before bash starts: SIGPIPE back to its default, as in a terminal's shell.
    Python ignores SIGPIPE and pexpect's fork+exec would pass that on to bash and to everything
    it runs, so ``seq 100000 | head -1`` would say ``seq: write error: Broken pipe``, which no
    shell in a terminal says (``subprocess`` restores it the same way: ``restore_signals``)."""
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)


def _close(child: pexpect.spawn) -> None:
    """SIGHUP first: an interactive bash passes it on to its jobs, so no `sleep 30 &` outlives it."""
    try:
        if child.isalive():
            child.kill(signal.SIGHUP)
            deadline = time.monotonic() + 2
            while child.isalive() and time.monotonic() < deadline:
                time.sleep(0.01)
        child.close(force=True)
    except (OSError, pexpect.ExceptionPexpect):
        pass


# --------------------------------------------------------------------------------------------
# orgorepl over HTTP: the one submission path every front end uses


class HttpBash:
    """A fresh :class:`RemoteSession` per sequence, each step sent with ``submit`` in bash mode."""

    def __init__(self, client, *, stateful: bool = True, name: str | None = None) -> None:
        self.client, self.stateful = client, stateful
        self.name = name or ("http" if stateful else "stateless")

    def run_steps(self, steps: list[str], place: Place) -> list[StepResult]:
        session = RemoteSession(stateful=self.stateful)
        results = []
        for step in steps:
            outcome = submit(self.client, place.computer_id, session, Code(Mode.BASH, step, STEP_TIMEOUT))
            results.append(StepResult(outcome.output, outcome.exit_status))
        return results


class LiveBashSteps:
    """``--live``: one persistent shell on the computer's terminal per sequence (``live.LiveBash``),
    with the ground truth's window size, so that programs that format for the window agree."""

    name = "live"

    def __init__(self, lab: Lab) -> None:
        self.lab = lab

    def run_steps(self, steps: list[str], place: Place) -> list[StepResult]:
        from orgorepl.live import LiveBash

        client = self.lab.client
        shell = LiveBash(lambda fresh: client.terminal_access(place.computer_id, fresh_token=fresh),
                         self.lab.emulator.base_url, size=(80, 24))
        try:
            shell.start()
            results = []
            for step in steps:
                outcome = shell.run(step)
                results.append(StepResult(outcome.output, outcome.exit_status))
            return results
        finally:
            shell.close()


# The transports the fidelity figures are measured for: name -> factory(lab); the test and the
# benchmark pick them up from this table.
TRANSPORTS: dict[str, Callable[[Lab], Transport]] = {
    "http": lambda lab: HttpBash(lab.client, stateful=True),
    "stateless": lambda lab: HttpBash(lab.client, stateful=False),
    "live": LiveBashSteps,
}


# --------------------------------------------------------------------------------------------
# The lab: an emulator with one computer per sequence


class Lab:
    """An emulator with ``size`` computers under ``root``, a client, and a directory per sequence."""

    def __init__(self, root: Path, size: int) -> None:
        from orgorepl.client import OrgoClient
        from orgorepl.emulator import EmbeddedEmulator
        from orgorepl.emulator.runtime import base_env

        self.root = Path(root)
        self.emulator = EmbeddedEmulator(data_dir=self.root / "emulator", computers=size).start()
        self.client = OrgoClient(api_key=self.emulator.api_key, base_url=self.emulator.base_url)
        self._env = base_env()

    def place(self, index: int, sequence: BashSequence) -> Place:
        computer = self.emulator.computers[index]
        tmp = self.root / "seq" / f"{index:03d}" / sequence.name
        return Place(computer_id=computer.id, home=str(computer.home), tmp=str(tmp),
                     env={**self._env, "HOME": str(computer.home)})

    def reset(self, place: Place) -> None:
        """An empty home (the directory itself, as the emulator made it, is kept) and an empty
        sequence directory, before every run."""
        home, tmp = Path(place.home), Path(place.tmp)
        for entry in home.iterdir():
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, onerror=_force_remove)
            else:
                entry.unlink()
        if tmp.exists():
            shutil.rmtree(tmp, onerror=_force_remove)
        tmp.mkdir(parents=True)

    @staticmethod
    def seed(place: Place, sequence: BashSequence) -> None:
        """The files the sequence starts with (the public corpus's example files), in its directory."""
        for name, text in sequence.files:
            (Path(place.tmp) / name).write_text(text, encoding="utf-8")

    def close(self) -> None:
        self.client.close()
        self.emulator.stop()
        _kill_leftovers(self.root)

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def _force_remove(func, path, _exc) -> None:
    """A step may leave a directory without write permission (chmod): give it back and retry."""
    parent = os.path.dirname(path)
    os.chmod(parent, 0o755)
    if os.path.isdir(path):
        os.chmod(path, 0o755)
    func(path)


def _kill_leftovers(root: Path) -> None:
    """Background jobs started over HTTP outlive their call (the emulator leaves them running):
    kill, by pid, the processes whose working directory is under our lab."""
    prefix = str(root.resolve())
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if cwd == prefix or cwd.startswith(prefix + "/"):
            try:
                os.kill(int(entry.name), signal.SIGKILL)
            except OSError:
                pass


# --------------------------------------------------------------------------------------------
# Running and comparing


def concrete_steps(sequence: BashSequence, place: Place) -> list[str]:
    """The texts actually sent: the harness's cd into the sequence's directory, then the steps."""
    quoted = "'" + place.tmp.replace("'", "'\\''") + "'"
    return [f"cd -- {quoted}"] + [step.replace(TMP, place.tmp) for step in sequence.steps]


@dataclass(frozen=True)
class Mismatch:
    sequence: str
    category: str
    index: int  # 1-based, as the corpus lists the steps
    step: str
    expected: StepResult
    got: StepResult


@dataclass
class Figure:
    """One transport's fidelity: matched steps / all steps, by category, and what did not match."""

    transport: str
    matched: int = 0
    total: int = 0
    by_category: dict[str, list[int]] = field(default_factory=dict)  # category -> [matched, total]
    by_sequence: dict[str, list[int]] = field(default_factory=dict)
    mismatches: list[Mismatch] = field(default_factory=list)

    @property
    def percent(self) -> float:
        return 100.0 * self.matched / self.total if self.total else 0.0

    def top_categories(self, n: int = 5) -> list[tuple[str, int]]:
        """The categories with the most mismatched steps."""
        return Counter(m.category for m in self.mismatches).most_common(n)


@dataclass
class Measurement:
    sequences: list[BashSequence]
    places: list[Place]
    truth: list[list[StepResult]]  # per sequence, the ground truth's results (the cd left out)
    runs: dict[str, list[list[StepResult]]]  # transport -> per sequence
    seconds: float = 0.0

    def figure(self, transport: str) -> Figure:
        fig = Figure(transport)
        rows = zip(self.sequences, self.places, self.truth, self.runs[transport], strict=True)
        for seq, place, expected, got in rows:
            cat = fig.by_category.setdefault(seq.category, [0, 0])
            per_seq = fig.by_sequence.setdefault(seq.name, [0, 0])
            for i, (step, e, g) in enumerate(zip(seq.steps, expected, got, strict=True), start=1):
                ok = same(e, g)
                for counter in (cat, per_seq):
                    counter[0] += ok
                    counter[1] += 1
                fig.matched += ok
                fig.total += 1
                if not ok:
                    fig.mismatches.append(Mismatch(seq.name, seq.category, i, step,
                                                   _readable(e, place), _readable(g, place)))
        return fig


def _readable(result: StepResult, place: Place) -> StepResult:
    """For reports only: the sequence's directory as {tmp} and its home as ~."""
    text = normalise(result.output).replace(place.tmp, TMP).replace(place.home, "~")
    return StepResult(text, result.exit_status)


def measure(lab: Lab, sequences: Sequence[BashSequence], transports: Mapping[str, Transport], *,
            truth: Transport | None = None, workers: int = 4) -> Measurement:
    """Run every sequence in the ground truth, then in each transport, in the same place (emptied
    before each run); sequences run in parallel, each on its own computer."""
    truth = truth or PtyBash()
    sequences = list(sequences)
    places = [lab.place(i, seq) for i, seq in enumerate(sequences)]

    def one(index: int) -> tuple[list[StepResult], dict[str, list[StepResult]]]:
        seq, place = sequences[index], places[index]
        steps = concrete_steps(seq, place)
        lab.reset(place)
        lab.seed(place, seq)
        expected = truth.run_steps(steps, place)[1:]
        got = {}
        for name, transport in transports.items():
            lab.reset(place)
            lab.seed(place, seq)
            results = transport.run_steps(steps, place)[1:]
            if len(results) != len(seq.steps):
                raise HarnessError(f"{name} returned {len(results)} results for {len(seq.steps)} steps")
            got[name] = results
        return expected, got

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        done = list(pool.map(one, range(len(sequences))))
    return Measurement(
        sequences=sequences, places=places, truth=[e for e, _ in done],
        runs={name: [g[name] for _, g in done] for name in transports},
        seconds=time.monotonic() - started,
    )


# --------------------------------------------------------------------------------------------
# Reports


def table(figures: Sequence[Figure]) -> str:
    """transport | matched/total | % | top mismatch categories."""
    lines = [f"{'transport':<18} {'steps matched':>14} {'%':>6}  top mismatch categories (steps)"]
    for fig in figures:
        top = ", ".join(f"{c} {n}" for c, n in fig.top_categories()) or "-"
        lines.append(f"{fig.transport:<18} {f'{fig.matched}/{fig.total}':>14} {fig.percent:>6.1f}  {top}")
    return "\n".join(lines)


def category_table(figures: Sequence[Figure]) -> str:
    """One row per category, one column per transport: matched/total."""
    categories = sorted({c for fig in figures for c in fig.by_category})
    head = f"{'category':<18}" + "".join(f" {fig.transport:>14}" for fig in figures)
    rows = [head]
    for cat in categories:
        cells = []
        for fig in figures:
            m, t = fig.by_category.get(cat, [0, 0])
            cells.append(f" {f'{m}/{t}':>14}")
        rows.append(f"{cat:<18}" + "".join(cells))
    return "\n".join(rows)


def mismatch_report(fig: Figure, limit: int | None = None) -> str:
    out = [f"{fig.transport}: {len(fig.mismatches)} mismatched steps"]
    for m in fig.mismatches[:limit]:
        out.append(f"- {m.sequence} step {m.index} [{m.category}]: {m.step!r}")
        out.append(f"    expected ({m.expected.exit_status}): {m.expected.output!r}")
        out.append(f"    got      ({m.got.exit_status}): {m.got.output!r}")
    return "\n".join(out)
