"""Attaching to a live session's supervisor over a terminal: the wire side (no I/O here).

The supervisor (``live_supervisor.py``, shipped as source) owns the live shell on the computer;
a terminal socket only attaches to it, so the socket may drop, idle out or be replaced while
the shell and whatever it runs go on.  How a socket attaches:

* **Starting** is ``boot_line``'s, as for the live Python agent; the attach half then runs with
  the arguments of the line (session id, role, offset, window, whether to create the session).
* **Frames out** are ``\\x1e`` + a nonce + one kind letter + an ASCII body + ``\\n``:
  ``H`` hello (JSON: ``start``/``end`` offsets, ``lost`` bytes, ``in`` input bytes taken,
  ``meta``, ``exited``, ``created``), ``O`` output (``offset,taken,base64``), ``X`` the
  program ended (JSON ``code``), ``G`` nothing to attach to (JSON ``why``), and bash's own
  ``!exit:N`` when the attach process ends.  The nonce is typed as escapes in the line, so its
  echo never looks like a frame; anything outside frames is the shell's noise and skipped.
* **Lines in** (the tty is raw, so any length passes): ``i`` + base64 of typed bytes, ``r`` +
  ``cols,rows``, ``a`` + the offset acknowledged, ``m`` + base64 of the client's note to
  itself (kept by the supervisor for a client that resumes), ``k`` ends the session, ``d``
  detaches.
"""

from __future__ import annotations

import base64
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

from orgorepl.session.boot_line import boot_line, payload
from orgorepl.session.marked_lines import MarkedLines

RS = "\x1e"
SOURCE_FILE = "<orgo-supervisor>"
PROGRAM = ("bash", "-l", "-i")


@dataclass(frozen=True)
class Booted:
    """The bootstrap runs and waits for the supervisor's source."""


@dataclass(frozen=True)
class Hello:
    start: int  # the offset output starts from
    end: int  # the offset the program had reached when we attached
    lost: int  # bytes dropped from the buffer before ``start`` that were asked for
    taken: int  # input bytes the supervisor has taken in all
    created: bool  # a new session (False: an existing one, resumed)
    meta: dict[str, Any] = field(default_factory=dict)
    exited: int | None = None  # the program had ended already


@dataclass(frozen=True)
class Data:
    offset: int
    taken: int
    data: bytes


@dataclass(frozen=True)
class ProgramExited:
    code: int


@dataclass(frozen=True)
class Gone:
    """There is no session to attach to (or the supervisor ended under us)."""

    why: str


@dataclass(frozen=True)
class AttachEnded:
    """The attach process ended (bash's status for it): the socket closes next."""

    code: int


Event = Booted | Hello | Data | ProgramExited | Gone | AttachEnded


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class Attach:
    """The framing of one attach: what to type, and what the terminal's output means."""

    python = "python3"  # what runs the supervisor on the computer

    def __init__(self, nonce: str | None = None) -> None:
        self.nonce = nonce or secrets.token_hex(6)
        self._lines = MarkedLines(RS + self.nonce)

    def bootstrap(self, *, sid: str, role: str, create: bool, offset: int | None, cols: int, rows: int,
                  linger: float, program: tuple[str, ...] = PROGRAM) -> str:
        args = json.dumps({"nonce": self.nonce, "sid": sid, "role": role, "create": create, "offset": offset,
                           "cols": cols, "rows": rows, "linger": linger, "program": list(program)},
                          separators=(",", ":"))
        packed = _b64(args.encode("utf-8"))  # no quote of any kind inside the quoted line
        return boot_line(self.nonce, filename=SOURCE_FILE, module="__orgo_attach__",
                         args=f'json.loads(binascii.a2b_base64(b"{packed}"))', python=self.python)

    @staticmethod
    def payload() -> str:
        return payload("live_supervisor.py")

    @staticmethod
    def keys(data: bytes) -> str:
        return f"i{_b64(data)}\n"

    @staticmethod
    def resize(cols: int, rows: int) -> str:
        return f"r{int(cols)},{int(rows)}\n"

    @staticmethod
    def ack(offset: int) -> str:
        return f"a{int(offset)}\n"

    @staticmethod
    def meta(note: dict[str, Any]) -> str:
        return f"m{_b64(json.dumps(note, separators=(',', ':')).encode('utf-8'))}\n"

    @staticmethod
    def end() -> str:
        return "k\n"

    @staticmethod
    def detach() -> str:
        return "d\n"

    # ---------------------------------------------------------------- what comes back

    def feed(self, text: str) -> list[Event]:
        return [event for event in map(self._parse, self._lines.bodies(text)) if event is not None]

    @property
    def noise(self) -> str:
        return self._lines.noise

    @staticmethod
    def _parse(body: str) -> Event | None:
        kind, rest = body[:1], body[1:]
        obj: Any
        try:
            if kind == "O":
                offset, taken, data = rest.split(",", 2)
                return Data(int(offset), int(taken), base64.b64decode(data))
            if body == "!boot":
                return Booted()
            if body.startswith("!exit:"):
                code = body[len("!exit:"):]
                return AttachEnded(int(code) if code.isdigit() else -1)
            obj = json.loads(rest)
        except ValueError:
            return None
        if not isinstance(obj, dict):
            return None
        if kind == "H":
            kept = obj.get("meta")
            try:
                note = json.loads(kept) if isinstance(kept, str) else {}
            except ValueError:
                note = {}
            exited = obj.get("exited")
            return Hello(start=int(obj.get("start") or 0), end=int(obj.get("end") or 0),
                         lost=int(obj.get("lost") or 0), taken=int(obj.get("in") or 0),
                         created=bool(obj.get("created")), meta=note if isinstance(note, dict) else {},
                         exited=exited if isinstance(exited, int) else None)
        if kind == "X":
            status = obj.get("code")
            return ProgramExited(status if isinstance(status, int) else -1)
        if kind == "G":
            return Gone(str(obj.get("why") or "the live session is gone"))
        return None
