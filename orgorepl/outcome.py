"""The one typed result of a submission, and the rules that read it.

Every front end (the interactive REPL, batch mode, one-shot commands, fan-out, replay), the
transcript, the toolbar and the exit status read an :class:`Outcome`; none of them classifies a
reply itself.  So "what does a bash reply without an exit code mean" is answered here, once:
``success: true`` alone is the older API's "completed successfully" (ok, exit 0), ``success:
false`` alone is :attr:`Status.UNKNOWN` (it failed, how is not known: exit 14, like any reply that
breaks the contract).

Output is a sequence of :class:`Piece` s in the order they arrived, each saying which stream it
came from where that is known (/exec gives stdout only, /bash stdout and stderr merged).  An
:class:`OutcomeBuilder` is fed pieces as they come and finished with the final status, so a
transport that streams plugs in under the same path as one that answers once.

Text in an outcome (output, error, traceback, notes) may come from the remote computer: it is
untrusted and reaches a terminal only through the sanitiser (``console`` and ``render``).
"""

from __future__ import annotations

import enum
import signal
from collections.abc import Callable
from dataclasses import dataclass, field

from orgorepl import errors
from orgorepl.exitstatus import ExitStatus
from orgorepl.modes import Mode


class Status(str, enum.Enum):
    OK = "ok"
    ERROR = "error"  # the Python code raised
    EXIT = "exit"  # bash ended with a non-zero exit code
    UNKNOWN = "unknown"  # bash failed and the computer reported no exit code
    TIMEOUT = "timeout"  # the code ran past its limit and was killed
    INTERRUPTED = "interrupted"  # Ctrl-C: the call was abandoned (see Outcome.sent)
    REFUSED = "refused"  # the API answered with an error: the code did not run
    UNREACHABLE = "unreachable"  # no usable answer: the code may or may not have run


class Stream(str, enum.Enum):
    STDOUT = "stdout"
    STDERR = "stderr"
    COMBINED = "combined"  # stdout and stderr interleaved by the computer (/bash)


@dataclass(frozen=True)
class Piece:
    text: str
    stream: Stream = Stream.STDOUT


# Where each status leads on the command line; EXIT passes the remote code through and the two
# client-side failures take the status of their error class (errors.py).
_EXIT_STATUS = {
    Status.OK: ExitStatus.OK,
    Status.ERROR: ExitStatus.REMOTE_EXCEPTION,
    Status.UNKNOWN: ExitStatus.SERVER,
    Status.TIMEOUT: ExitStatus.REMOTE_TIMEOUT,
    Status.INTERRUPTED: ExitStatus.INTERRUPTED,
}

UNKNOWN_EXIT = "the computer reported no exit code"
INTERRUPTED_NOTE = "interrupted: the call was abandoned; it may still be running on the computer"
INTERRUPTED_UNSENT_NOTE = "interrupted: nothing was sent"
INTERRUPTED_LIVE_NOTE = "interrupted by Ctrl-C"


def exit_text(code: int) -> str:
    """``exit 137 (killed by SIGKILL)``: a signal death named, as shells do."""
    text = f"exit {code}"
    if 128 < code < 128 + 65:
        try:
            return f"{text} (killed by {signal.Signals(code - 128).name})"
        except ValueError:
            pass
    return text


@dataclass(frozen=True)
class Outcome:
    """How one submission on one computer ended."""

    mode: Mode
    status: Status
    pieces: tuple[Piece, ...] = ()
    exit_code: int | None = None  # bash: the command's own exit code, when reported
    error_type: str | None = None  # the exception's class (Python), or the client error's class
    error: str | None = None  # the exception's message, or the client error's one line
    traceback: str | None = None  # the user's own frames, when they came back
    duration: float = 0.0  # seconds, from sending to the answer
    timeout: int | None = None  # the limit that applied, seconds
    notes: tuple[str, ...] = ()  # what the session must tell the user after this submission
    sent: bool = True  # INTERRUPTED/UNREACHABLE: a request may have left, so the code may have run
    client_status: int | None = None  # REFUSED/UNREACHABLE: the exit status of the client error
    details: tuple[tuple[str, object], ...] = ()  # REFUSED/UNREACHABLE: the error's own fields (for --json)

    @property
    def output(self) -> str:
        return "".join(p.text for p in self.pieces)

    @property
    def ok(self) -> bool:
        return self.status is Status.OK

    @property
    def ran(self) -> bool:
        """An answer came back from the computer (whatever it said)."""
        return self.status not in (Status.INTERRUPTED, Status.REFUSED, Status.UNREACHABLE)

    @property
    def exit_status(self) -> int:
        """The command line's exit status for this outcome (README, "Exit statuses")."""
        if self.status is Status.EXIT:
            return self.exit_code if self.exit_code is not None else int(ExitStatus.SERVER)
        if self.status in (Status.REFUSED, Status.UNREACHABLE):
            return self.client_status if self.client_status is not None else int(ExitStatus.SERVER)
        return int(_EXIT_STATUS[self.status])

    @property
    def label(self) -> str:
        """A few words for the toolbar and fan-out headers: ``ok``, ``NameError``, ``exit 2``."""
        if self.status is Status.ERROR:
            return self.error_type or "error"
        if self.status is Status.EXIT:
            return f"exit {self.exit_code}"
        if self.status is Status.UNKNOWN:
            return "no exit code"
        return self.status.value

    @property
    def bucket(self) -> str:
        """The fan-out summary's column: ok, error, timeout or unreachable (did not run)."""
        if self.status in (Status.ERROR, Status.EXIT, Status.UNKNOWN):
            return "error"
        if self.status in (Status.OK, Status.TIMEOUT):
            return self.status.value
        return "unreachable"

    @property
    def verdict(self) -> str:
        """How it ended, in plain words; "" for ok.  May quote the remote: sanitise to show it."""
        kind = self.status
        if kind is Status.TIMEOUT:
            limit = f" after {self.timeout}s" if self.timeout else ""
            return f"TIMEOUT{limit}: the code ran past its limit and was killed"
        if kind is Status.ERROR:
            name, message = self.error_type or "Error", (self.error or "").strip()
            return f"{name}: {message}" if message else name
        if kind is Status.EXIT:
            return exit_text(self.exit_code) if self.exit_code is not None else "exit ?"
        if kind is Status.UNKNOWN:
            return f"failed: {UNKNOWN_EXIT}"
        if kind in (Status.REFUSED, Status.UNREACHABLE):
            return f"not run: {self.error}" if self.error and not self.sent else (self.error or kind.value)
        if kind is Status.INTERRUPTED:
            if self.exit_code is not None:  # live: the command got SIGINT and the shell says how it ended
                return f"{INTERRUPTED_LIVE_NOTE}: {exit_text(self.exit_code)}"
            if self.error_type == "KeyboardInterrupt":  # live Python: raised in the cell, names kept
                return f"{INTERRUPTED_LIVE_NOTE}: KeyboardInterrupt in the cell (names and state kept)"
            return INTERRUPTED_NOTE if self.sent else INTERRUPTED_UNSENT_NOTE
        return ""

    def full_text(self) -> str:
        """Everything the computer sent back for this submission: output, then traceback."""
        output, traceback = self.output, self.traceback or ""
        if traceback and output and not output.endswith("\n"):
            output += "\n"
        return output + traceback



# --------------------------------------------------------------------------------------------
# Building outcomes: the classification rules, in one place


def python_status(*, success: bool, timed_out: bool) -> Status:
    if timed_out:
        return Status.TIMEOUT
    return Status.OK if success else Status.ERROR


def bash_status(*, exit_code: int | None, success: bool, timed_out: bool) -> Status:
    if timed_out:
        return Status.TIMEOUT
    if exit_code is None:
        return Status.OK if success else Status.UNKNOWN
    return Status.OK if exit_code == 0 else Status.EXIT


_ERROR_FIELDS = ("status", "request_id", "code", "upstream_status", "retry_after", "may_have_run")


def failed(mode: Mode, err: BaseException, *, duration: float = 0.0, timeout: int | None = None) -> Outcome:
    """A submission that produced no result because the request itself failed."""
    if isinstance(err, errors.OrgoError):
        line, status = err.one_line(), int(err.exit_status)
    else:  # a bug of ours: still one line, and the session goes on
        line, status = f"internal error: {type(err).__name__}: {err}", int(ExitStatus.SERVER)
    unreachable = isinstance(err, errors.TransportError)
    details = tuple((name, getattr(err, name)) for name in _ERROR_FIELDS if getattr(err, name, None) is not None)
    return Outcome(
        mode=mode,
        status=Status.UNREACHABLE if unreachable else Status.REFUSED,
        error_type=type(err).__name__,
        error=line,
        duration=duration,
        timeout=timeout,
        sent=bool(getattr(err, "may_have_run", False)) if unreachable else False,
        client_status=status,
        details=details,
    )


def not_connected(mode: Mode) -> Outcome:
    """Connecting failed (the reason was shown when it happened): nothing was sent."""
    return Outcome(mode=mode, status=Status.UNREACHABLE, error="there is no connection to the computer",
                   sent=False, client_status=int(ExitStatus.NETWORK))


def interrupted(mode: Mode, *, sent: bool, duration: float = 0.0, timeout: int | None = None) -> Outcome:
    """The user abandoned the call (Ctrl-C); ``sent``: a request may have left."""
    return Outcome(mode=mode, status=Status.INTERRUPTED, duration=duration, timeout=timeout, sent=sent)


class OutcomeBuilder:
    """An outcome fed by chunks of output as they arrive, finished by the final status.

    ``on_piece`` sees every piece the moment it is fed (a front end that streams shows it then);
    :meth:`finish` returns the Outcome with all pieces in order.
    """

    def __init__(self, mode: Mode, on_piece: Callable[[Piece], None] | None = None) -> None:
        self.mode = mode
        self._pieces: list[Piece] = []
        self._on_piece = on_piece

    def feed(self, text: str, stream: Stream = Stream.STDOUT) -> None:
        if not text:
            return
        piece = Piece(text, stream)
        self._pieces.append(piece)
        if self._on_piece is not None:
            self._on_piece(piece)

    def finish(self, status: Status, *, exit_code: int | None = None, error_type: str | None = None,
               error: str | None = None, traceback: str | None = None, duration: float = 0.0,
               timeout: int | None = None, notes: tuple[str, ...] = ()) -> Outcome:
        return Outcome(mode=self.mode, status=status, pieces=tuple(self._pieces), exit_code=exit_code,
                       error_type=error_type, error=error, traceback=traceback, duration=duration,
                       timeout=timeout, notes=notes)


def as_json(outcome: Outcome) -> dict[str, object]:
    """The fields of ``--json``: the API's own shape for the mode, or the error when none came."""
    if not outcome.ran:
        return {"error": outcome.error, "error_class": outcome.error_type, **dict(outcome.details)}
    if outcome.mode is Mode.BASH:
        return {"output": outcome.output, "exit_code": outcome.exit_code,
                "success": outcome.status is not Status.UNKNOWN, "timeout": outcome.status is Status.TIMEOUT}
    stdout = "".join(p.text for p in outcome.pieces if p.stream is not Stream.STDERR)
    fields: dict[str, object] = {"output": stdout, "success": outcome.ok, "error": outcome.error,
                                 "error_type": outcome.error_type, "timeout": outcome.status is Status.TIMEOUT}
    stderr = "".join(p.text for p in outcome.pieces if p.stream is Stream.STDERR)
    if stderr:  # brought back by the wrapper; the API's own answer has no such field
        fields["stderr"] = stderr
    return fields


@dataclass(frozen=True)
class Tally:
    """Outcomes of one submission on several computers, counted for a summary line."""

    outcomes: tuple[Outcome, ...] = field(default_factory=tuple)

    def counts(self) -> dict[str, int]:
        counts = {k: 0 for k in ("ok", "error", "timeout", "unreachable")}
        for o in self.outcomes:
            counts[o.bucket] += 1
        return counts

    @property
    def exit_status(self) -> int:
        """0 when every computer succeeded; else the status of the first one that did not."""
        for o in self.outcomes:
            if not o.ok:
                return o.exit_status
        return int(ExitStatus.OK)
