"""One remote session: what each submission becomes on the wire, and what comes back.

The REPL (and fan-out, one per target) holds a :class:`RemoteSession`; for every submission it
asks for the request to send, sends it with the client, and hands the reply back here.  This
keeps the stateful/stateless switch, the session id and the remote cwd in one place, and keeps
this layer free of I/O.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from orgorepl import outcome as oc
from orgorepl.modes import Mode
from orgorepl.protocol import BashResult, ExecResult
from orgorepl.session import bash_cell, python_state
from orgorepl.session.oneshot_python import OneShotCell, unwrap_oneshot, wrap_oneshot
from orgorepl.session.python_state import CellOutcome, StateReport

SESSION_ID_CHARS = set("0123456789abcdef")


def valid_session_id(text: str) -> bool:
    return 4 <= len(text) <= 32 and set(text) <= SESSION_ID_CHARS


@dataclass(frozen=True)
class PythonRequest:
    code: str  # what goes in the /exec body
    cell: python_state.StatefulCell | None  # None when stateless
    oneshot: OneShotCell | None = None  # stateless but wrapped (``orgorepl exec``)
    abandon: tuple[str, ...] = ()  # submissions given up that this one tells the computer of


@dataclass(frozen=True)
class BashRequest:
    command: str  # what goes in the /bash body
    cell: bash_cell.WrappedBash | None


Request = PythonRequest | BashRequest


@dataclass
class RemoteSession:
    session_id: str = field(default_factory=python_state.new_session_id)
    stateful: bool = True
    cwd: str | None = None  # the remote working directory, once a reply has told us
    home: str | None = None  # the remote HOME, to shorten cwd to ~ like a shell prompt
    moved_to: str | None = None  # a live shell's cwd that the next Python submission starts in
    used: bool = False  # a stateful submission has run: there is something to resume
    oneshot: bool = False  # stateless Python still wrapped, for its traceback and stderr (``exec``)
    # Ctrl-C: the submission in flight, and those given up whose marks the computer has not had yet
    in_flight: str | None = field(default=None, repr=False)
    untold: list[str] = field(default_factory=list, repr=False)
    given_up: set[str] = field(default_factory=set, repr=False)

    def python(self, code: str, *, echo: bool = True, width: int = 0) -> PythonRequest:
        if not self.stateful:
            if self.oneshot:
                wrapped = wrap_oneshot(code)
                return PythonRequest(code=wrapped.program, cell=None, oneshot=wrapped)
            return PythonRequest(code=code, cell=None)
        cwd, self.moved_to = self.moved_to, None
        abandon = tuple(self.untold)
        cell = python_state.wrap_stateful(code, self.session_id, echo=echo, cwd=cwd, width=width, abandon=abandon)
        self.in_flight = cell.token
        return PythonRequest(code=cell.program, cell=cell, abandon=abandon)

    def python_done(self, request: PythonRequest, result: ExecResult) -> CellOutcome:
        if request.oneshot is not None:
            return unwrap_oneshot(request.oneshot, result)
        if request.cell is None:
            return CellOutcome(output=result.output, traceback=None, success=result.success,
                               error=result.error, error_type=result.error_type, timeout=result.timeout)
        outcome = python_state.unwrap_stateful(request.cell, result)
        if self.in_flight == request.cell.token:
            self.in_flight = None
        if request.cell.token in self.given_up:  # its answer came after all: nobody reads it
            return outcome
        if outcome.state.arrived:  # the wrapper marked them before it ran
            self.told(request.abandon)
        self.used = True
        if outcome.state.cwd:
            self.cwd, self.home = outcome.state.cwd, outcome.state.home or self.home
        return outcome

    def python_outcome(self, request: PythonRequest, result: ExecResult, *, duration: float = 0.0,
                       timeout: int | None = None) -> oc.Outcome:
        """The reply as the one typed Outcome, with what the session must tell the user."""
        cell = self.python_done(request, result)
        builder = oc.OutcomeBuilder(Mode.PYTHON)
        builder.feed(cell.output, oc.Stream.STDOUT)
        builder.feed(_line_start(cell.output, cell.stderr), oc.Stream.STDERR)
        return builder.finish(
            oc.python_status(success=cell.success, timed_out=cell.timeout),
            error_type=cell.error_type, error=cell.error, traceback=cell.traceback,
            duration=duration, timeout=timeout,
            notes=tuple(python_notes(cell, stateful=request.cell is not None)),
        )

    def bash(self, command: str) -> BashRequest:
        if not self.stateful:
            return BashRequest(command=command, cell=None)
        cell = bash_cell.wrap_bash(command, self.session_id)
        return BashRequest(command=cell.program, cell=cell)

    def bash_done(self, request: BashRequest, result: BashResult) -> bash_cell.BashOutcome:
        if request.cell is None:
            return bash_cell.BashOutcome(output=result.output, exit_code=result.exit_code,
                                         timeout=result.timeout, cwd=None, success=result.success)
        outcome = bash_cell.unwrap_bash(request.cell, result)
        self.used = True
        if outcome.cwd:
            self.cwd, self.home = outcome.cwd, outcome.home or self.home
        return outcome

    def bash_outcome(self, request: BashRequest, result: BashResult, *, duration: float = 0.0,
                     timeout: int | None = None) -> oc.Outcome:
        """The reply as the one typed Outcome, with what the session must tell the user."""
        done = self.bash_done(request, result)
        builder = oc.OutcomeBuilder(Mode.BASH)
        builder.feed(done.output, oc.Stream.COMBINED)
        status = oc.bash_status(exit_code=done.exit_code, success=done.success, timed_out=done.timeout)
        notes = tuple(bash_notes(done, stateful=request.cell is not None))
        return builder.finish(status, exit_code=done.exit_code, duration=duration, timeout=timeout,
                              error=oc.UNKNOWN_EXIT if status is oc.Status.UNKNOWN else None, notes=notes)

    # -- Ctrl-C ------------------------------------------------------------------------------

    def abandon(self) -> str | None:
        """The Python submission in flight was given up (Ctrl-C): it must not change the session.

        Returns a program that marks it (and any earlier one the computer has not heard of) as
        abandoned in the session; the wrapper of a marked submission does not save.  Send it at
        once; if it cannot be sent, the next submission carries the marks (``told`` clears them
        once the computer has them).  None when no stateful Python submission was in flight."""
        token, self.in_flight = self.in_flight, None
        if token is None:
            return None
        self.given_up.add(token)
        if token not in self.untold:
            self.untold.append(token)
        return _ABANDON.format(root=bash_cell.SESSION_ROOT, sid=self.session_id, tokens=list(self.untold))

    def told(self, tokens: tuple[str, ...] | list[str]) -> None:
        """The computer has the marks of these submissions."""
        self.untold = [t for t in self.untold if t not in tokens]

    # -- the session's own housekeeping, run through /exec like everything else ------------

    def short_cwd(self, width: int = 30) -> str | None:
        """The cwd as a shell prompt shows it: ~ for home, long paths cut from the left."""
        cwd = self.cwd
        if not cwd:
            return None
        home = (self.home or "").rstrip("/")
        if home and (cwd == home or cwd.startswith(home + "/")):
            cwd = "~" + cwd[len(home):]
        if len(cwd) > width:
            parts = cwd.split("/")
            while len(parts) > 2 and len("…/" + "/".join(parts[1:])) > width:
                parts.pop(0)
            cwd = "…/" + "/".join(parts[1:]) if len(parts) > 1 else "…" + cwd[-width:]
        return cwd

    def listing_program(self) -> str:
        return _LISTING.format(root=bash_cell.SESSION_ROOT, sid=self.session_id)

    def reset_program(self) -> str:
        return _RESET.format(root=bash_cell.SESSION_ROOT, sid=self.session_id)


# The manifest is marshal data (remote_state.py); an orgorepl before it wrote manifest.json.
_LISTING = """import json, marshal, os
p = os.path.join(os.path.expanduser("~"), {root!r}, {sid!r}, "manifest")
try:
    with open(p + ".m", "rb") as f:
        print(json.dumps(marshal.loads(f.read())))
except FileNotFoundError:
    try:
        with open(p + ".json") as f:
            print(f.read())
    except FileNotFoundError:
        print("{{}}")
"""

# Marks submissions abandoned, holding the lock the wrapper saves under (remote_python.py).
_ABANDON = """# __orgorepl_abandon_: submissions given up with Ctrl-C must not change the session
import os, time
d = os.path.join(os.path.expanduser("~"), {root!r}, {sid!r})
os.makedirs(os.path.join(d, "abandoned"), exist_ok=True)
with open(os.path.join(d, "lock"), "a") as lock:
    try:  # the same kind of lock as the wrapper's (os.lockf, a POSIX record lock)
        os.lockf(lock.fileno(), os.F_LOCK, 0)
    except (AttributeError, OSError):
        pass
    for token in {tokens!r}:
        open(os.path.join(d, "abandoned", token), "w").close()
    for name in os.listdir(os.path.join(d, "abandoned")):  # of runs long over (300 s at most)
        try:
            if os.path.getmtime(os.path.join(d, "abandoned", name)) < time.time() - 900:
                os.remove(os.path.join(d, "abandoned", name))
        except OSError:
            pass
"""

_RESET = """import os, shutil
shutil.rmtree(os.path.join(os.path.expanduser("~"), {root!r}, {sid!r}), ignore_errors=True)
"""


def _line_start(output: str, stderr: str) -> str:
    """stderr as shown after stdout: on a line of its own."""
    return "\n" + stderr if stderr and output and not output.endswith("\n") else stderr


@dataclass(frozen=True)
class NameState:
    name: str
    type: str
    status: str  # kept | rebuilt | lost
    reason: str = ""
    size: int | None = None  # bytes of its pickle, for a kept value


def parse_listing(output: str) -> list[NameState]:
    try:
        data = json.loads(output or "{}")
    except ValueError:
        return []
    if not isinstance(data, dict):
        return []
    rows = [
        NameState(name=str(name), type=str(info.get("type", "?")), status=str(info.get("status", "?")),
                  reason=str(info.get("reason", "")),
                  size=info["size"] if isinstance(info.get("size"), int) else None)
        for name, info in data.items() if isinstance(info, dict)
    ]
    return sorted(rows, key=lambda r: (r.name.startswith("_"), r.name.lower()))


LATE_NOTE = ("a submission interrupted with Ctrl-C finished before the computer could be told, "
             "and its changes are in the session")


def bash_notes(done: bash_cell.BashOutcome, *, stateful: bool) -> list[str]:
    """What the user must be told about the shell session after a bash submission."""
    if not stateful:
        return []
    if done.timeout:
        return ["timed out: the shell session is as it was before this command"]
    if done.cwd is None:
        return ["the shell session's report for this command did not arrive (the shell ended before "
                "the end of the command, or the output was cut): the session may be as it was before it"]
    if done.gone:
        # A shell cannot stand in a directory that is gone: say where the command ran instead of
        # letting `echo x > out.txt` land in ~ unannounced.  The session keeps the name.
        return [f"the working directory {done.gone} no longer exists: this command ran in ~ "
                "(the session stays in it; cd elsewhere to leave it)"]
    return []


def python_notes(outcome: CellOutcome, *, stateful: bool) -> list[str]:
    """What the user must be told about the session after a Python submission."""
    if not stateful:
        return []
    notes: list[str] = []
    state: StateReport = outcome.state
    if outcome.timeout:
        return ["timed out: the session is as it was before this submission"]
    if not state.arrived:
        # No trailer: the wrapper never ran to the end (killed), or its report was cut off with
        # the output (a size limit), in which case it may well have saved.  Say what we know.
        return ["the session's report for this submission did not arrive (the output may have been "
                "cut): %state shows what the session holds now"]
    if state.late:
        notes.append(LATE_NOTE)
    for name in state.uncommitted:
        notes.append(f"{name}: rows not committed are lost with the connection when the submission ends "
                     f"(call {name}.commit())")
    if not state.saved:
        return [*notes, f"the session state could not be saved ({state.error}); it is as it was before"]
    for name, reason in sorted(state.lost.items()):
        notes.append(f"not kept: {name} ({reason})")
    notes.extend(f"not carried: {note}" for note in state.notes)
    if not outcome.success and outcome.error_type not in (None, "SystemExit", "SyntaxError"):
        user_names = [n for n in state.assigned if n != "_"]
        if user_names:
            notes.append("the error came after these were assigned; they are kept: " + ", ".join(user_names))
    return notes
