"""Python over the terminal: the wire side of live Python (no I/O here).

A live Python is a small agent (``live_agent.py``, stdlib only, any Python 3.8+) started in a
terminal socket's own login bash and kept for the session: every submission runs in its real
``__main__``, so every object lives on as it is (generators, open files, sockets, threads,
lambdas): nothing is pickled.  What was learned about PTYs (``../shared/design-live.md``) and
how it is used:

* **Starting it** is ``boot_line``'s (one pasted line, a raw tty, the source read after
  ``!boot``); the agent then says ``ready``.  ``python3`` missing or the agent failing to start
  is the ``!exit:N`` line bash prints when the interpreter ends; so is the agent's death later
  (``os._exit``, a kill), after which bash exits and the socket closes.
* **Frames.**  The agent writes ``\\x1e`` + a per-session nonce + one JSON object (ASCII only:
  a control character in it is escaped) + ``\\n`` and nothing else ever reaches the PTY (the
  user's fds 0-2 are pipes).  Anything else in the stream is the shell's noise from before the
  agent took over, and is skipped; a frame cut short by another one is dropped.  The markers
  typed in the bootstrap line are escapes (``\\x1e`` as four characters), so bash's echo of the
  line can never look like a frame.
* **Requests.**  One JSON object per line (``run``, ``keys``, ``int``); printable ASCII, so no
  base64 is needed: the tty is raw and passes every byte as it is.

Events: ``ready`` (pid, Python version, cwd), ``out`` (stream, text), ``input`` (a read of
stdin waits for keys; ``echo`` false for a password), ``done`` (how the cell ended, the
traceback of the user's frames, the cwd), ``reply`` (the answer to a ``complete`` request,
which the agent only answers between cells: completion never runs beside a cell).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass

from orgorepl.session.boot_line import boot_line, payload
from orgorepl.session.marked_lines import MarkedLines

RS = "\x1e"
AGENT_FILE = "<orgo-live>"


@dataclass(frozen=True)
class Booted:
    """The bootstrap runs and waits for the agent's source."""


@dataclass(frozen=True)
class Ready:
    pid: int
    version: str
    cwd: str | None


@dataclass(frozen=True)
class Output:
    text: str
    stream: str  # "stdout" | "stderr"


@dataclass(frozen=True)
class InputWanted:
    """The cell reads stdin and nothing typed is waiting; ``echo`` false: a password is read."""

    echo: bool


@dataclass(frozen=True)
class Done:
    id: int | None
    status: str  # "ok" | "error" | "interrupted"
    error_type: str | None = None
    error: str | None = None
    traceback: str | None = None
    cwd: str | None = None
    system_exit: bool = False  # the cell raised SystemExit (the agent went on)


@dataclass(frozen=True)
class Exited:
    """The interpreter ended; ``code`` is the status bash saw (128 + N: killed by signal N)."""

    code: int


@dataclass(frozen=True)
class Reply:
    """The answer to a ``complete`` request: the JSON text ``remote_complete.answer`` made, or
    ``need_source`` when the agent has not been sent that module's source yet."""

    id: int | None
    data: str | None
    need_source: bool = False


Event = Booted | Ready | Output | InputWanted | Done | Exited | Reply


def agent_payload() -> str:
    """The agent's source as the bootstrap reads it (``boot_line.payload``)."""
    return payload("live_agent.py")


def _request(obj: dict[str, object]) -> str:
    return json.dumps(obj, ensure_ascii=True, separators=(",", ":")) + "\n"


class LivePython:
    """The framing of one live Python: what to send, and what the terminal's output means."""

    def __init__(self, nonce: str | None = None) -> None:
        self.nonce = nonce or secrets.token_hex(6)
        self._lines = MarkedLines(RS + self.nonce)

    # ---------------------------------------------------------------- what to send

    def bootstrap(self) -> str:
        """The line typed into the fresh shell (``boot_line``; the agent's ``ARGS``: the nonce and
        the ``sys.path`` entry taken off, for the user's cells)."""
        return boot_line(self.nonce, filename=AGENT_FILE, module="__orgo_live__", args=f'("{self.nonce}",p)')

    def payload(self) -> str:
        return agent_payload()

    def run(self, ident: int, code: str, *, echo: bool = True, width: int = 0) -> str:
        return _request({"t": "run", "id": ident, "code": code, "echo": echo, "width": width})

    def keys(self, text: str) -> str:
        return _request({"t": "keys", "d": text})

    def interrupt(self) -> str:
        return _request({"t": "int"})

    def complete(self, ident: int, query: dict[str, object], source: str | None = None) -> str:
        """A completion or introspection request, answered between cells by a ``reply`` frame;
        ``source``: ``remote_complete.py``, sent with the first request to each agent."""
        request: dict[str, object] = {"t": "complete", "id": ident, "q": query}
        if source is not None:
            request["src"] = source
        return _request(request)

    # ---------------------------------------------------------------- what comes back

    def feed(self, text: str) -> list[Event]:
        """The events in what the terminal printed; a frame not yet whole waits for the rest.
        Output of one stream in frames that came together is one event (a loop of prints is a
        few pieces, not one per line); nothing is held back for it."""
        events: list[Event] = []
        for body in self._lines.bodies(text):
            event = self._parse(body)
            last = events[-1] if events else None
            if isinstance(event, Output) and isinstance(last, Output) and last.stream == event.stream:
                events[-1] = Output(last.text + event.text, event.stream)  # one piece, not one per line
            elif event is not None:
                events.append(event)
        return events

    @property
    def noise(self) -> str:
        return self._lines.noise

    def unread(self, events: list[Event]) -> None:
        """Put events read while answering a completion back, to be read again (with what comes
        next) by the submission after it: output of a thread between cells is never lost, and
        an interpreter that ended is noticed."""
        bodies = []
        for event in events:
            if isinstance(event, Output):
                bodies.append(json.dumps({"t": "out", "s": event.stream, "d": event.text},
                                         ensure_ascii=True, separators=(",", ":")))
            elif isinstance(event, Exited):
                bodies.append(f"!exit:{event.code}")
        self._lines.push_front(bodies)

    @staticmethod
    def _parse(body: str) -> Event | None:
        if body == "!boot":
            return Booted()
        if body.startswith("!exit:"):
            code = body[len("!exit:"):]
            return Exited(int(code) if code.isdigit() else -1)
        try:
            data = json.loads(body)
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        kind = data.get("t")
        if kind == "out":
            return Output(str(data.get("d") or ""), "stderr" if data.get("s") == "stderr" else "stdout")
        if kind == "input":
            return InputWanted(bool(data.get("echo", True)))
        if kind == "done":
            return Done(id=data.get("id") if isinstance(data.get("id"), int) else None,
                        status=str(data.get("status") or "error"), error_type=_text(data.get("error_type")),
                        error=_text(data.get("error")), traceback=_text(data.get("traceback")),
                        cwd=_text(data.get("cwd")), system_exit=bool(data.get("system_exit")))
        if kind == "reply":
            return Reply(id=data.get("id") if isinstance(data.get("id"), int) else None,
                         data=_text(data.get("d")), need_source=bool(data.get("need")))
        if kind == "ready":
            pid = data.get("pid")
            return Ready(pid=pid if isinstance(pid, int) else 0, version=str(data.get("version") or "?"),
                         cwd=_text(data.get("cwd")))
        return None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
