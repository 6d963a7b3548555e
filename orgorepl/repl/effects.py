"""What a meta-command's effects do: one table, for the interactive session and batch mode alike.

``commands`` handlers are pure: they return typed effects.  :func:`apply` carries them out on a
:class:`Host`, the small surface a front end offers (show a line, run work against the computer
under its progress display, page text ...).  The interactive session and batch mode are both
hosts, so ``%save-output out.txt`` does the same thing typed at the prompt or piped in; where an
effect needs a prompt (switching the theme, adding computers to the session), the batch host says
so in one line and the run exits non-zero instead of silently doing nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from orgorepl import commands as cmd
from orgorepl.modes import Mode
from orgorepl.session.carry import RemoteSession, parse_listing

if TYPE_CHECKING:  # pragma: no cover
    from orgorepl.connect import Connection
    from orgorepl.render.last_output import LastOutput
    from orgorepl.transcript import Transcript

T = TypeVar("T")
Cancelled = Callable[[], bool]
HOUSEKEEPING_TIMEOUT = 30


class Host(Protocol):
    """The surface of a front end that effects act on."""

    remote: RemoteSession
    last_output: LastOutput
    transcript: Transcript

    def show(self, text: str, *, error: bool = False) -> None: ...

    def call(self, work: Callable[[Connection, Cancelled], T], *, phase: str, timeout: int | None) -> T | None:
        """Run ``work(connection, cancelled)`` against the computer; None when it failed or was
        abandoned (the host has said so).  ``cancelled()`` turns true once the user gave up."""
        ...

    def progress(self, text: str) -> None:
        """The progress channel: what the running work is doing now (one line)."""
        ...

    def set_mode(self, mode: Mode) -> None: ...

    def set_timeout(self, mode: Mode, seconds: int) -> None: ...

    def set_stateful(self, stateful: bool) -> None: ...

    def clear_screen(self) -> None: ...

    def request_exit(self) -> None: ...

    def page(self, text: str) -> None: ...

    def switch_theme(self, name: str | None) -> None: ...

    def edit_targets(self, verb: str, names: tuple[str, ...]) -> None: ...

    def computer_status(self, status: str) -> None: ...

    def session_reset(self) -> None: ...

    def set_live(self, live: bool) -> None: ...

    def detach(self) -> None: ...

    def terminal_fds(self) -> tuple[int, int] | None:
        """(input, output) descriptors of the user's terminal, or None when there is none."""
        ...

    def confirm(self, question: str, *, otherwise: str) -> bool | None:
        """The user's yes or no; None when there is nobody to ask (batch mode: the host has
        said ``otherwise``, the one line telling how to do it without a question)."""
        ...

    def run_source(self, mode: Mode, text: str) -> None:
        """Run ``text`` as one submission in ``mode``, as a script runs (no expression echo)."""
        ...

    def load_input(self, mode: Mode, text: str) -> None:
        """Put ``text`` in the next prompt's input, in ``mode``."""
        ...

    def set_pprint(self, on: bool) -> None: ...


def apply(host: Host, result: cmd.CommandResult) -> None:
    """Show the command's text, then carry out its effects in order."""
    if result.text:
        host.show(result.text, error=result.error)
    for effect in result.effects:
        EFFECTS[type(effect)](host, effect)


# --------------------------------------------------------------------------------------------


def _page(host: Host, effect: Any) -> None:
    text = host.last_output.text
    if text is None:
        host.show("no output yet: %more pages the last result's whole output", error=True)
        return
    host.page(text)


def _save_output(host: Host, effect: cmd.SaveOutput) -> None:
    from orgorepl.render.last_output import save_output

    text = host.last_output.text
    if text is None:
        host.show("no output yet: %save-output FILE writes the last result's whole output", error=True)
        return
    try:
        written = save_output(text, os.path.expanduser(effect.path))
    except OSError as exc:
        host.show(f"cannot write {effect.path}: {exc.strerror or exc}", error=True)
        return
    host.show(f"wrote {written:,} bytes to {effect.path}")


def _save_transcript(host: Host, effect: cmd.SaveTranscript) -> None:
    try:
        count = host.transcript.save(os.path.expanduser(effect.path))
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        host.show(f"cannot save to {effect.path}: {reason}", error=True)
        return
    host.show(f"saved {count} submission{'s' if count != 1 else ''} to {effect.path}")


def _transfer(host: Host, effect: cmd.Transfer) -> None:
    from orgorepl import transfer

    put = effect.direction == "put"
    local = Path(os.path.expanduser(effect.source if put else (effect.destination or ".")))
    label = Path(effect.source).name
    verb = "uploading" if put else "downloading"

    def work(c: Connection, cancelled: Cancelled) -> transfer.TransferResult:
        bar = transfer.TransferProgress(lambda line: host.progress(f"{verb} {line}"), label)

        def progress(done: int, total: int) -> None:
            if cancelled():
                raise KeyboardInterrupt  # Ctrl-C: stop between chunks; the next try resumes
            bar.update(done, total)

        if put:
            return transfer.put(c.client, c.computer.id, local, effect.destination, progress=progress,
                                cwd=host.remote.cwd)
        return transfer.get(c.client, c.computer.id, effect.source, local if effect.destination else None,
                            progress=progress, cwd=host.remote.cwd)

    result = host.call(work, phase=f"{verb} {label}", timeout=None)
    if result is not None:
        host.show(result.summary("uploaded" if put else "downloaded"))


def _start(host: Host, effect: Any) -> None:
    from orgorepl.lifecycle import change_state

    done = host.call(lambda c, cancelled: change_state(c.client, c.computer, "start"),
                     phase="starting {computer}", timeout=None)
    if done is None:
        return
    host.computer_status(done.computer.status)
    host.show(f"{done.computer.name} is already running" if not done.changed
              else f"{done.computer.name} is running ({done.waited:.1f}s)")


def _terminal(host: Host, effect: cmd.OpenTerminal) -> None:
    fds = host.terminal_fds()
    if fds is None:
        host.show("%term needs a terminal: run `orgorepl term` from one", error=True)
        return
    connection = host.call(lambda c, cancelled: c, phase="connecting to {computer}", timeout=None)
    if connection is None:
        return
    from orgorepl import term

    end = term.run_on(connection, in_fd=fds[0], out_fd=fds[1], reconnect=effect.reconnect)
    for text, error in end.lines():
        host.show(text, error=error)


def _housekeeping(host: Host, program: str, phase: str, failure: str) -> str | None:
    """Run one of the session's own programs on the computer; its output, or None (said why)."""
    result = host.call(
        lambda c, cancelled: c.client.exec(c.computer.id, program, HOUSEKEEPING_TIMEOUT, cancelled=cancelled),
        phase=phase, timeout=HOUSEKEEPING_TIMEOUT)
    if result is None:
        return None
    if not result.success:
        host.show(f"{failure}: {result.error_type}: {result.error}", error=True)
        return None
    return result.output


def _show_state(host: Host, effect: Any) -> None:
    output = _housekeeping(host, host.remote.listing_program(), "reading the session on {computer}",
                           "could not read the session")
    if output is not None:
        host.show(cmd.format_state(parse_listing(output), host.remote.session_id))


def _reset(host: Host, effect: cmd.ResetSession) -> None:
    if not effect.force:
        answer = host.confirm(f"forget session {host.remote.session_id}: every name, the cwd and the "
                              "environment changes?",
                              otherwise="%reset asks before it forgets the session: use %reset -f here")
        if answer is None:
            return
        if not answer:
            host.show("nothing was reset")
            return
    if _housekeeping(host, host.remote.reset_program(), "resetting the session on {computer}",
                     "could not reset the session") is None:
        return
    host.remote.cwd = None
    host.session_reset()
    host.show(f"session {host.remote.session_id} reset: no names, and the computer's default "
              "directory and environment")


def _read_local(host: Host, path: str, verb: str) -> tuple[Mode, str] | None:
    """A local file's text and the mode it runs in (``.sh``: bash), or None (said why)."""
    try:
        text = Path(os.path.expanduser(path)).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        host.show(f"%{verb}: cannot read {path}: {reason}", error=True)
        return None
    return (Mode.BASH if path.endswith((".sh", ".bash")) else Mode.PYTHON), text


def _run_file(host: Host, effect: cmd.RunFile) -> None:
    found = _read_local(host, effect.path, "run")
    if found is not None and found[1].strip():
        host.run_source(*found)


def _load_file(host: Host, effect: cmd.LoadFile) -> None:
    found = _read_local(host, effect.path, "load")
    if found is not None:
        host.load_input(found[0], found[1].rstrip("\n"))


EFFECTS: dict[type, Callable[[Host, Any], None]] = {
    cmd.SetMode: lambda host, e: host.set_mode(e.mode),
    cmd.SetTimeout: lambda host, e: host.set_timeout(e.mode, e.seconds),
    cmd.SetStateful: lambda host, e: host.set_stateful(e.stateful),
    cmd.ClearScreen: lambda host, e: host.clear_screen(),
    cmd.Exit: lambda host, e: host.request_exit(),
    cmd.PageOutput: _page,
    cmd.SaveOutput: _save_output,
    cmd.SaveTranscript: _save_transcript,
    cmd.Transfer: _transfer,
    cmd.SwitchTheme: lambda host, e: host.switch_theme(e.name),
    cmd.StartComputer: _start,
    cmd.OpenTerminal: _terminal,
    cmd.SetLive: lambda host, e: host.set_live(e.live),
    cmd.Detach: lambda host, e: host.detach(),
    cmd.EditTargets: lambda host, e: host.edit_targets(e.verb, e.names),
    cmd.ShowState: _show_state,
    cmd.ResetSession: _reset,
    cmd.RunFile: _run_file,
    cmd.LoadFile: _load_file,
    cmd.SetPretty: lambda host, e: host.set_pprint(e.on),
}
