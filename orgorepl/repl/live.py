"""The interactive session's live mode (``--live``): a persistent shell and interpreter, streamed.

Bash runs in ``live.LiveBash``, Python in ``live_python.LivePython``, each made on first use on
the session's computer.  Both share one directory: when one moves (``cd`` in bash,
``os.chdir`` in Python), the other follows before its next submission, out of sight.

It is the ``ui.progress.LiveHooks`` of a live submission: keys typed while it runs go to the
remote (so ``read``, ``y/n`` and password prompts are answered from the keyboard, and the
remote's echo shows them, or not), Ctrl-C is a real SIGINT there, and output is handed to the
spinner piece by piece through ``render.stream`` (the same sanitiser and bounds as a result).
"""

from __future__ import annotations

import re
import select
import shlex
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from orgorepl import errors
from orgorepl import outcome as oc
from orgorepl.modes import Mode
from orgorepl.render.bounded import OutputLimits

if TYPE_CHECKING:  # pragma: no cover
    from orgorepl.connect import Connection
    from orgorepl.live import Resumed
    from orgorepl.render.stream import StreamView
    from orgorepl.repl.jobs import Job
    from orgorepl.session.carry import RemoteSession
    from orgorepl.submit import Code


class LiveUnavailable(Exception):
    """The computer's terminal cannot be reached: bash goes on over HTTP."""

    def __init__(self, cause: errors.OrgoError) -> None:
        what = cause.one_line(advice=False) if isinstance(cause, errors.TerminalClosedError) else cause.message
        super().__init__(what)
        self.cause = cause


# a program taking the whole screen (vim, less, top, man): from here on it gets the terminal
_ALT_SCREEN = re.compile(r"\x1b\[\?(?:1049|1047|47)h")
# `clear` (and Ctrl-L in programs): cursor home and erase the screen and scrollback; in the
# REPL it is done as %clear does it, not shown as text
# the start of a control sequence at the very end of a piece: the rest is in the next one
_CUT_SHORT = re.compile(r"\x1b(?:\[[0-9;?]*)?$")
_CLEAR = re.compile(r"(?:\x1b\[H|\x1b\[1;1H)?\x1b\[[23]J(?:\x1b\[3J)?")


class LiveShellView:
    def __init__(self, print_fragments: Callable[[Any], None], *, color: bool, limits: OutputLimits,
                 size: Callable[[], tuple[int, int]], clear: Callable[[], None] = lambda: None,
                 session_id: Callable[[], str | None] = lambda: None, hard_limit: bool = False) -> None:
        self._print = print_fragments
        self.hard_limit = hard_limit  # the mode's timeout interrupts a live submission (else: a warning)
        self._session_id = session_id  # the supervised programs on the computer are this session's
        self._clear = clear
        self._size = size  # (cols, rows) of the user's terminal: the live shell's window
        self._color, self._limits = color, limits
        self._shells: dict[Mode, Any] = {}  # LiveBash, LivePython: one per mode, made on first use
        self._bash: Any = None  # the shell of the running submission (keys, Ctrl-C, full screen)
        self._for: tuple[str, str] | None = None  # the computer the shells run on
        self._connection: Any = None
        self._cwd: str | None = None
        self._lock = threading.Lock()
        self._pending: list[tuple[str, str]] = []
        self._view: StreamView | None = None
        self._screen: list[str] | None = None  # full screen: raw text for the pass-through
        self._clear_first = False  # the command cleared the screen: do so before what follows
        self._carry = ""  # the start of a sequence that the next piece completes
        self.usable = True  # False once the terminal could not be reached: HTTP from then on
        self.streamed = False  # the last submission's output is on screen already

    # ---------------------------------------------------------------- running

    def submit(self, run: Callable[..., tuple[Job, bool]], code: Code, remote: RemoteSession) -> tuple[Job, bool]:
        """One bash submission through the REPL's ``run`` (its spinner, its jobs): on the live
        shell, or, when the terminal cannot be reached, said once and over HTTP from then on."""
        from orgorepl.submit import submit

        self.streamed = False
        job, finished = run(lambda c, cancelled: self.run(c, code), phase=f"live {code.mode.value} on {{computer}}",
                            timeout=code.timeout, live=self)  # the timeout: a warning on the toolbar only
        self.finish()
        if finished and isinstance(job.error, LiveUnavailable):
            self.usable = False
            self._print([("class:note.error", f"live: the terminal cannot be reached ({job.error}); "
                                              "submissions go over HTTP (/exec, /bash) from now on\n")])
            return run(lambda c, cancelled: submit(c.client, c.computer.id, remote, code, cancelled=cancelled),
                       phase=f"{code.mode.value} on {{computer}}", timeout=code.timeout)
        if self.cwd and self.cwd != remote.cwd:  # the prompt shows it; HTTP would go on from there
            remote.cwd = remote.moved_to = self.cwd
        return job, finished

    def take_streamed(self) -> bool:
        """Whether the last submission's output is on screen already (asked once per submission)."""
        streamed, self.streamed = self.streamed, False
        return streamed

    def adopt(self, run: Callable[..., tuple[Job, bool]], mode: Mode) -> tuple[Job, bool]:
        """Wait, streaming, for the submission a resumed session was still running (Ctrl-C
        interrupts it), as if it had been submitted here."""
        self.streamed = False
        job, finished = run(lambda c, cancelled: self.run(c, None, mode=mode),
                            phase=f"live {mode.value} on {{computer}}", timeout=None, live=self)
        self.finish()
        return job, finished

    def run(self, connection: Connection, code: Code | None, *, mode: Mode | None = None) -> oc.Outcome:
        """One submission on the live shell (in the job's thread); the output streams meanwhile.
        ``code`` None: the one a resumed session is running (of ``mode``)."""
        mode = code.mode if code is not None else mode or Mode.BASH
        shell = self._shell(connection, mode)
        if code is not None and not shell.shell.alive and not shell.shell.started_count:
            try:
                shell.start()
            except errors.OrgoError as err:
                raise LiveUnavailable(err) from err
        if code is not None and self._cwd and shell.cwd != self._cwd:  # the other mode moved: follow it
            self._follow(shell, mode, self._cwd)
        before = shell.cwd
        from orgorepl.render.stream import StreamView  # on first use: not on the way to the first prompt

        self._view = StreamView(color=self._color, limits=self._limits)
        self.streamed = True
        self._bash = shell
        text = code.text if code is not None else None
        limit = code.timeout if code is not None and self.hard_limit else None
        if code is not None and mode is Mode.PYTHON:
            outcome = shell.run(text, on_piece=self._piece, timeout=None, limit=limit, echo=code.echo,
                                width=code.width)
        else:
            outcome = shell.run(text, on_piece=self._piece, timeout=None, limit=limit)
        if shell.cwd and (shell.cwd != before or self._cwd is None):
            self._cwd = shell.cwd  # where this mode went is where both are now
        return outcome

    @staticmethod
    def _follow(shell: Any, mode: Mode, directory: str) -> None:
        """Move one mode to where the other went, out of sight: bash's ``cd`` is the builtin (an
        alias or function named cd is not run), typed with a leading space (out of history)."""
        if mode is Mode.PYTHON:
            shell.run(f"__import__('os').chdir({directory!r})", echo=False)
        else:
            shell.run(f" builtin cd -- {shlex.quote(directory)}")

    def resume(self, connection: Connection) -> list[tuple[Mode, Resumed]]:
        """Take over the session's live shell and interpreter where they are running on the
        computer (``--resume``), in the job's thread; those that are not start on first use."""
        found = []
        for mode in (Mode.BASH, Mode.PYTHON):
            shell = self._shell(connection, mode)
            try:
                resumed = shell.resume()
            except errors.OrgoError as err:
                raise LiveUnavailable(err) from err
            if resumed is None:
                self._shells.pop(mode).close()
            else:
                found.append((mode, resumed))
        return found

    def show_text(self, text: str) -> None:
        """Remote output outside a submission (what a resumed session printed meanwhile), through
        the same sanitiser and bounds as a result."""
        from orgorepl.render.stream import StreamView

        view = StreamView(color=self._color, limits=self._limits)
        with self._lock:
            self._pending.extend([*view.feed(text), *view.end()])
        self.write_output()

    def _shell(self, connection: Connection, mode: Mode) -> Any:
        from orgorepl.live import LiveBash
        from orgorepl.live_python import LivePython

        where = (connection.base_url, connection.computer.id)  # a reconnect to the same computer keeps them
        if self._for != where:
            self.close(end=True)
            self._for = where
        self._connection = connection  # the latest one: a reattach asks its client for access
        if mode not in self._shells:
            computer_id = connection.computer.id
            kind = LiveBash if mode is Mode.BASH else LivePython
            self._shells[mode] = kind(
                lambda fresh: self._connection.client.terminal_access(computer_id, fresh_token=fresh),
                connection.base_url, size=self._size(), session_id=self._session_id())
        return self._shells[mode]

    @property
    def cwd(self) -> str | None:
        """The one directory of both modes: where the last of them to move went (None before
        either ran)."""
        return self._cwd

    def _piece(self, piece: oc.Piece) -> None:
        view = self._view
        if view is None:
            return
        with self._lock:
            if self._screen is not None:
                self._screen.append(piece.text)
                return
            text, self._carry = self._carry + piece.text, ""
            cut_short = _CUT_SHORT.search(text)
            if cut_short:  # a sequence cut between two pieces (``ESC[?10`` | ``49h``): whole, next time
                text, self._carry = text[:cut_short.start()], text[cut_short.start():]
            if _CLEAR.search(text):  # whatever came before the last clear is wiped with it
                text = _CLEAR.split(text)[-1]
                self._pending, self._clear_first = [], True
            enters = _ALT_SCREEN.search(text)
            if enters:  # the modes it set just before (mouse, keypad) belong to the full screen too
                first_mode = text.find("\x1b[?")
                cut = first_mode if 0 <= first_mode < enters.start() else enters.start()
                text, self._screen = text[:cut], [text[cut:]]
            self._pending.extend(view.feed(text))

    def wants_screen(self) -> bool:
        with self._lock:
            return self._screen is not None

    def full_screen(self, fds: tuple[int, int] | None) -> None:
        """Give the terminal to the full-screen program until it leaves the alternate screen (or
        ends), as ``%term`` does: raw keys to it, its screen through the screen filter, and the
        terminal restored exactly afterwards.  What it prints after leaving streams as before."""
        from orgorepl.ui.local_terminal import LocalTerminal

        if fds is None or self._bash is None:  # no terminal to hand over: drop to plain streaming
            with self._lock:
                self._screen = None
            return
        local = LocalTerminal(*fds)
        self._bash.resize(*local.size())  # it drew for the shell's window: now it redraws for this one
        local.enter()
        try:
            while True:
                with self._lock:
                    chunks, self._screen = self._screen or [], []
                for chunk in chunks:
                    local.show_remote(chunk)
                if not local.filter.alternate_screen and chunks:
                    break
                if self._view is None:  # the submission ended
                    break
                if select.select([fds[0]], [], [], 0.02)[0]:
                    keys = local.read_keys()
                    if keys:
                        self._bash.send_keys(keys.decode("utf-8", "replace"))
        finally:
            local.leave()
            with self._lock:
                self._screen = None

    def finish(self) -> None:
        """After the submission: what is still held back, then the line end."""
        view, self._view = self._view, None
        if view is not None:
            with self._lock:
                carry, self._carry = self._carry, ""
                self._pending.extend([*view.feed(carry), *view.end()])
        self.write_output()

    # ---------------------------------------------------------------- ui.progress.LiveHooks

    def keys(self, text: str) -> None:
        if self._bash is not None and text:
            self._bash.send_keys(text)

    def interrupt(self) -> None:
        if self._bash is not None:
            self._bash.interrupt()

    def mid_line(self) -> bool:
        view = self._view
        return view is not None and not view.at_line_start

    def has_output(self) -> bool:
        with self._lock:
            return bool(self._pending) or self._clear_first

    def write_output(self) -> None:
        with self._lock:
            frags, self._pending = self._pending, []
            clear, self._clear_first = self._clear_first, False
        if clear:
            self._clear()
        if frags:
            self._print(frags)

    # ---------------------------------------------------------------- completion (repl.completion)

    def has_python(self) -> bool:
        """A live interpreter is up: its names are the ones to complete, not the HTTP session's."""
        python = self._shells.get(Mode.PYTHON)
        return python is not None and python.shell.alive

    def ask_python(self, query: dict[str, object], timeout: float = 1.5) -> dict[str, object] | None:
        import json

        python = self._shells.get(Mode.PYTHON)
        text = python.ask(query, timeout) if python is not None else None
        try:
            data = json.loads(text) if text else None
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    def close(self, *, end: bool = True) -> None:
        """End the live shell and interpreter on the computer, or (``end`` False: ``%detach``)
        leave them running there for ``--resume``."""
        shells, self._shells, self._bash, self._cwd = self._shells, {}, None, None
        for shell in shells.values():
            shell.close(end=end)

    @property
    def started(self) -> bool:
        return any(shell.shell.alive for shell in self._shells.values())
