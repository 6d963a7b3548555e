"""The interactive session: read -> meta-command or code -> ``submit`` -> show the Outcome.

Policies that live here and nowhere else:

* The prompt comes first.  ``connect()`` (which may import httpx, start the embedded emulator
  and do HTTP) runs in a background thread started after the first prompt is on screen; the
  toolbar says "connecting…" until it is done.  A submission typed before that waits for it.
* Every client call runs in a worker thread (``jobs.Job``) while a spinner shows elapsed time
  against the timeout and what the work reports on the progress channel (``calls.SpinnerCalls``).
  Ctrl-C abandons the call at once: nothing is retried, and whatever it returns later is dropped,
  never printed (live mode: it interrupts the command on the computer instead).
* What a submission produced is one ``Outcome``; it is logged, then shown, then kept for
  ``%more``, then read by the toolbar, in that order, for one computer or several.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any, TypeVar

from orgorepl import __version__, errors, fanout
from orgorepl import outcome as oc
from orgorepl.commands import CommandContext, ComputerInfo, registry
from orgorepl.exitstatus import ExitStatus
from orgorepl.modes import Kind, Mode, classify, key_label
from orgorepl.repl import effects
from orgorepl.repl.calls import SpinnerCalls
from orgorepl.repl.completion import RemoteCompletion, introspect
from orgorepl.repl.conveniences import Conveniences
from orgorepl.repl.jobs import Job, LinkManager, NotConnected
from orgorepl.repl.live import LiveShellView
from orgorepl.repl.live_controls import LiveControls
from orgorepl.repl.options import ReplOptions
from orgorepl.repl.targets import Targets
from orgorepl.session.carry import RemoteSession
from orgorepl.session.complete import introspection
from orgorepl.session.hints import LiveHints
from orgorepl.submit import Code, submit

if TYPE_CHECKING:  # pragma: no cover
    from orgorepl.connect import Connector
    from orgorepl.ui.early import EarlyPrompt

T = TypeVar("T")
NO_CONNECTION = "there is no connection to the computer"


class InteractiveRepl(SpinnerCalls, Conveniences, LiveControls):
    """The session at a terminal; also the ``effects.Host`` its meta-commands act on."""

    def __init__(self, connect: Connector, options: ReplOptions, *, input: Any = None, output: Any = None,
                 early: EarlyPrompt | None = None) -> None:
        from prompt_toolkit.completion import ThreadedCompleter
        from prompt_toolkit.filters import Condition
        from prompt_toolkit.output import ColorDepth

        from orgorepl import themes
        from orgorepl.render.last_output import LastOutput
        from orgorepl.transcript import Transcript
        from orgorepl.ui import keys
        from orgorepl.ui.completer import ReplCompleter
        from orgorepl.ui.history import build_history
        from orgorepl.ui.lexer import ModeLexer
        from orgorepl.ui.notices import NoticeBoard
        from orgorepl.ui.session import build_session
        from orgorepl.ui.state import UiState
        from orgorepl.ui.style import load_style
        from orgorepl.ui.validation import PythonSyntaxValidator

        self.options = options
        self.state = UiState(mode=options.mode, timeouts=options.all_timeouts(), target_label=options.target_label,
                             stateful=options.stateful, toggle_label=key_label(options.toggle_key))
        self.remote = RemoteSession(stateful=options.stateful)
        if options.session_id:
            self.remote.session_id = options.session_id
            self.remote.used = True
        self.targets = Targets()
        self.limits = options.limits()
        self.last_output = LastOutput()
        self.transcript = Transcript(secret=options.secret)
        if options.log_path:
            self.transcript.attach_log(options.log_path)  # ValueError/OSError: the CLI reports it
        get_mode = lambda: self.state.mode  # noqa: E731
        # No colour (NO_COLOR, --no-color, not a terminal) is the mono theme at 1-bit depth.
        self.theme, self.style, self._theme_warning = load_style(options.theme if options.color else "mono")
        self.color_depth = None if options.color else ColorDepth.DEPTH_1_BIT
        self.history = build_history(get_mode, persistent=options.history, secret=options.secret,
                                     max_entries=options.history_size)
        self.lexer = ModeLexer(get_mode)
        self.completion = RemoteCompletion(self)
        self.completer = ReplCompleter(get_mode, {c.name: c.help for c in registry.commands()},
                                       remote=self.completion, themes=lambda: themes.available(),
                                       computers=self.completion.computers)
        typing = Condition(lambda: options.complete_while_typing == "on" or (
            options.complete_while_typing == "auto" and self.live is not None and self.live.usable))
        self.session = build_session(
            self.state, history=self.history, lexer=self.lexer, completer=ThreadedCompleter(self.completer),
            complete_while_typing=typing,
            validator=PythonSyntaxValidator(get_mode),
            key_bindings=keys.build_key_bindings(self.state, toggle_key=options.toggle_key),
            style=self.style, vi=options.vi, color_depth=self.color_depth, input=input, output=output,
        )
        self.completion.watch(self.session.default_buffer)
        self.input = self.session.app.input
        self.output = self.session.app.output
        self.board = NoticeBoard(self.print)
        self.link = LinkManager(connect, self._link_changed)
        self._exit = False
        self._early = early
        self._job: Job | None = None  # the call under the spinner, for the progress channel
        self.live: LiveShellView | None = None
        self.hints = LiveHints()
        self.pretty = True  # %pprint
        self._next_input: str | None = None  # %load: the next prompt's text
        self.set_live(options.live)

    # -- output

    def print(self, fragments: Any, *, now: bool = False) -> None:
        """Straight to the terminal (render.terminal), not through prompt_toolkit's printer: a
        bounded result is still up to ~130 KB, and that printer is slow on large text.
        ``now``: the caller has the terminal already (inside ``run_in_terminal``)."""
        from prompt_toolkit.application import get_app_or_none, run_in_terminal
        from prompt_toolkit.formatted_text import to_formatted_text

        from orgorepl.render.terminal import write_fragments

        frags = list(to_formatted_text(fragments))
        if not "".join(t for _, t, *_ in frags):
            return
        if not now and not frags[-1][1].endswith("\n"):  # ``now``: a stream, whose line may go on
            frags.append(("", "\n"))

        def write() -> None:
            write_fragments(self.output, frags, style=self.style, color_depth=self.color_depth,
                            include_default_pygments_style=False)

        app = get_app_or_none()
        if not now and app is not None and app.is_running:  # a prompt is on screen: print above it
            run_in_terminal(write, in_executor=False)
        else:
            write()

    def show(self, text: str, *, error: bool = False) -> None:
        from orgorepl.render.result import render_note

        self.print(render_note(text, error=error, style="class:meta.text"))

    def banner(self) -> None:
        from orgorepl.ui.prompt import banner_parts

        title, hints = banner_parts(__version__, self.state.toggle_label)
        self.print([("class:banner", title), ("class:banner.hint", hints)])

    # -- connection

    def _link_changed(self) -> None:
        from prompt_toolkit.formatted_text import StyleAndTextTuples

        from orgorepl.ui.state import Link

        link, state = self.link, self.state
        if link.connection is not None:
            computer = link.connection.computer
            state.link, state.link_error = Link.READY, None
            state.computer_name, state.computer_status = computer.name, computer.status
            where = "the local emulator" if link.connection.local else link.connection.base_url
            notice: StyleAndTextTuples = [
                ("class:note", "connected to "),
                ("class:toolbar.computer", computer.name),
                ("class:note", f" ({computer.status}) · {computer.id} · {where}"),
            ]
            if computer.status in ("stopped", "suspended"):
                notice.append(("class:note.error", f"\n{computer.name} is {computer.status}: "
                                                    "%start starts it (or run code: it may wake it)"))
            self.board.post(notice)
        elif link.connecting:
            state.link = Link.CONNECTING
            self.board.post(None)
        elif link.error is not None:
            err = link.error
            line = err.one_line() if isinstance(err, errors.OrgoError) else f"{type(err).__name__}: {err}"
            state.link, state.link_error = Link.FAILED, line
            self.board.post([("class:note.error", f"not connected: {line}"),
                             ("class:note", " (the next submission tries again)")])

    def _pre_prompt(self) -> None:
        if self._early is not None:  # the painted prompt becomes the real one, in place
            early, self._early = self._early, None
            early.hand_over(lambda text: (self.output.write_raw(text), self.output.flush()))
        self.board.attach()
        if not self.link.started:
            app = self.session.app

            def first_render(_sender: Any) -> None:
                app.after_render.remove_handler(first_render)
                self.link.start()
                threading.Thread(target=self.lexer.warm_up, name="orgorepl-warm-up", daemon=True).start()

            app.after_render.add_handler(first_render)

    def _submit(self, code: Code) -> oc.Outcome:
        """One submission on the session's computer: always an Outcome (abandoned and failed too)."""
        if self.live is not None and self.live.usable:
            job, finished = self.live.submit(self._run, code, self.remote)
        else:
            job, finished = self._run(
                lambda c, cancelled: submit(c.client, c.computer.id, self.remote, code, cancelled=cancelled),
                phase=f"{code.mode.value} on {{computer}}", timeout=code.timeout)
        if not finished:
            if code.mode is Mode.PYTHON and job.sent:
                self.tell_abandoned(self.remote)
            return oc.interrupted(code.mode, sent=job.sent, duration=job.elapsed(), timeout=code.timeout)
        if isinstance(job.error, NotConnected):
            return oc.not_connected(code.mode)
        if job.error is not None:
            return oc.failed(code.mode, job.error, duration=job.elapsed(), timeout=code.timeout)
        result: oc.Outcome = job.result
        return result

    def _fan_out(self, code: Code) -> list[fanout.TargetResult]:
        targets = self.targets.of(self.link.connection, self.remote)
        phase = f"{code.mode.value} on {len(targets)} computers"
        job, finished = self._run(
            lambda c, cancelled: fanout.run(c.make_async, targets, code.mode, code.text, code.timeout,
                                            parallel=self.options.parallel, cancelled=cancelled,
                                            progress=lambda text: self.progress(f"{phase}: {text}")),
            phase=phase, timeout=code.timeout)
        if finished and job.error is None:
            results: list[fanout.TargetResult] = job.result
            return results
        if not finished:
            for target in targets if code.mode is Mode.PYTHON and job.sent else ():
                self.tell_abandoned(target.session, target.computer.id)
            failure = oc.interrupted(code.mode, sent=job.sent, duration=job.elapsed(), timeout=code.timeout)
        else:
            failure = oc.failed(code.mode, job.error or errors.OrgoError("no result"), duration=job.elapsed())
        return [fanout.TargetResult(t, failure) for t in targets]

    # -- a submission, start to end

    def run_code(self, mode: Mode, text: str, *, echo: bool = True, quiet: bool = False) -> oc.Outcome | None:
        """Run one submission and show it; its Outcome (None on several computers).  ``quiet``:
        show nothing unless it failed (``name = !cmd`` keeps the output instead)."""
        from orgorepl.render.pager import asks_for_help
        from orgorepl.ui.state import LastCall

        code = Code(mode, text, self.state.timeouts[mode], echo=echo,
                    width=self.pprint_width() if mode is Mode.PYTHON else 0)
        if self.link.connection is not None and self.targets.several(self.link.connection, self.remote):
            results = self._fan_out(code)
            self._record(text, [(r.name, r.outcome) for r in results])  # logged before it is shown
            self.print(fanout.render(results, color=self.options.color, limits=self.limits,
                                     raw_escapes=self.options.raw_escapes))
            self.last_output.keep_text(fanout.full_text(results))
            self.state.last = LastCall.of_many([r.outcome for r in results])
            self.session_reset()
            return None
        outcome = self._submit(code)
        self._record(text, [(self.state.where, outcome)])  # logged before it is shown
        streamed = bool(self.live and self.live.take_streamed())
        if not (quiet and outcome.ok):
            # output taller than the screen goes to the pager; what follows it is printed
            paged = not streamed and bool(outcome.output) and self.paged(
                outcome.output, help=mode is Mode.PYTHON and asks_for_help(text))
            self._show_outcome(outcome, streamed=streamed or paged)
        hint = self.hints.after(outcome) if self.live is None else None
        if hint:
            self.show(hint)
        if outcome.ran:
            self.last_output.keep(outcome)
        self.state.last = LastCall.of(outcome)
        self.session_reset()
        return outcome

    def _record(self, source: str, results: list[tuple[str, oc.Outcome]]) -> None:
        from orgorepl.transcript import Entry

        entries = [Entry.from_outcome(source, outcome, target=name) for name, outcome in results]
        if len(entries) == 1:
            self.transcript.add(entries[0])
        else:
            self.transcript.add_group(entries)
        problem = self.transcript.take_log_error()
        if problem:
            self.show(problem, error=True)

    def _show_outcome(self, outcome: oc.Outcome, *, streamed: bool = False) -> None:
        from orgorepl.render.result import render_outcome

        self.print(render_outcome(outcome, color=self.options.color, limits=self.limits,
                                  raw_escapes=self.options.raw_escapes, streamed=streamed))

    # -- meta-commands (effects.Host)

    def command_context(self, computer: ComputerInfo | None = None) -> CommandContext:
        connection = self.link.connection
        if computer is None and connection is not None:
            computer = ComputerInfo.from_computer(connection.computer)
        note = "connecting…" if self.link.connecting else (self.state.link_error or "not connected yet")
        return CommandContext(
            mode=self.state.mode, timeouts=dict(self.state.timeouts), target_label=self.options.target_label,
            computer=computer, base_url=connection.base_url if connection else None,
            local=bool(connection and connection.local), connection_note=note,
            history=self.history.store_for(self.state.mode).get_strings(),
            session_id=self.remote.session_id, stateful=self.remote.stateful, toggle_label=self.state.toggle_label,
            live=self.live is not None and self.live.usable, pprint=self.pretty,
        )

    def run_meta(self, line: str, name: str) -> None:
        command = registry.lookup(name)
        computer = None
        if command is not None and command.wants_fresh_computer and self.link.connection is not None:
            conn = self.link.connection
            fresh = self.call(lambda c, cancelled: c.client.get_computer(c.computer.id),
                              phase="reading details of {computer}", timeout=None)
            computer = ComputerInfo.from_computer(fresh if fresh is not None else conn.computer)
            if fresh is not None:
                self.state.computer_status = fresh.status
        effects.apply(self, registry.run(line, self.command_context(computer)))

    def set_mode(self, mode: Mode) -> None:
        self.state.mode = mode

    def set_timeout(self, mode: Mode, seconds: int) -> None:
        self.state.timeouts[mode] = seconds

    def set_stateful(self, stateful: bool) -> None:
        self.remote.stateful = self.state.stateful = stateful
        self.targets.set_stateful(stateful)
        self.session_reset()

    def session_reset(self) -> None:
        self.state.cwd = self.remote.short_cwd() if self.remote.stateful else None

    def computer_status(self, status: str) -> None:
        self.state.computer_status = status

    def _window(self) -> tuple[int, int]:
        size = self.output.get_size()
        return max(20, size.columns), max(5, size.rows)

    def terminal_fds(self) -> tuple[int, int] | None:
        try:
            fds = self.input.fileno(), self.output.fileno()
        except (NotImplementedError, AttributeError, ValueError, OSError):
            return None
        return fds if all(os.isatty(fd) for fd in fds) else None

    def clear_screen(self) -> None:
        self.output.erase_screen()
        self.output.cursor_goto(0, 0)
        self.output.flush()

    def request_exit(self) -> None:
        self._exit = True

    def page(self, text: str) -> None:
        from prompt_toolkit.application import run_in_terminal

        from orgorepl.render.last_output import page_text

        if self.session.app.is_running:
            run_in_terminal(lambda: page_text(text, color=self.options.color), in_executor=False)
        else:
            page_text(text, color=self.options.color)

    def switch_theme(self, name: str | None) -> None:
        from orgorepl import themes
        from orgorepl.ui.style import load_style

        if not name:
            self.show(f"theme: {self.theme.name}; available: {', '.join(themes.available())}")
            return
        if not self.options.color:
            self.show("colours are off (NO_COLOR or --no-color): the theme stays mono", error=True)
            return
        theme, style, warning = load_style(name)
        if warning:
            self.show(warning.replace(" — using the default theme", " — the theme is unchanged"), error=True)
            return
        self.theme, self.style = theme, style
        self.session.style = style
        self.show(f"theme: {theme.name}")

    def edit_targets(self, verb: str, names: tuple[str, ...]) -> None:
        connection = self.link.connection
        if connection is None:
            self.show("not connected yet", error=True)
            return
        targets = self.targets.of(connection, self.remote)
        if verb == "list":
            rows = [f"  {t.name}  {t.computer.id}  {t.computer.status}" for t in targets]
            self.show(f"{len(rows)} target(s):\n" + "\n".join(rows))
            return
        if verb == "add":
            from orgorepl.connect import resolve_targets

            found = self.call(lambda c, cancelled: resolve_targets(c.client, list(names)),
                              phase="looking up computers", timeout=None)
            if found is None:
                return
            for computer in self.targets.add(found, self.remote.stateful):
                self.show(f"added {computer.name} ({computer.id})")
        else:
            unknown, first = self.targets.remove(names)
            if unknown:
                self.show("not a target: " + ", ".join(unknown), error=True)
            if first is None:
                self.show("the last target stays: a session needs one computer", error=True)
                return
            self.remote = first.session
            connection.computer = first.computer
            self.state.computer_name = first.name
        shown = self.targets.of(connection, self.remote)
        self.show(f"{len(shown)} target(s): " + ", ".join(t.name for t in shown))

    # -- the loop

    def handle(self, text: str) -> None:
        target = classify(text, self.state.mode)
        if target.kind is Kind.EMPTY:
            return
        self.completion.invalidate()  # whatever ran may change names, files and the cwd
        asked = introspection(target.text) if target.kind is Kind.CODE and target.mode is Mode.PYTHON else None
        if asked is not None:  # obj? / obj??: a look, not a submission (never recorded)
            shown = introspect(self, *asked, call=self.call)
            if shown is not None:
                self.page(shown)
            return
        if target.kind is Kind.META:
            self.run_meta(target.text, target.meta_name)
            return
        if target.kind is Kind.CAPTURE:
            self.capture(target.name, target.text)
            return
        self.completer.learn(target.text, target.mode)
        self.run_code(target.mode, target.text)

    def run(self) -> int:
        if self._early is None or not self._early.banner_shown:
            self.banner()
        if self._theme_warning:
            self.board.post([("class:note.error", self._theme_warning)])
        if self.live is not None and self.options.session_id:
            self._resume_live()
        try:
            while not self._exit:
                try:
                    text, self._next_input = self.session.prompt(pre_run=self._pre_prompt,
                                                                 default=self._next_input or ""), None
                except KeyboardInterrupt:  # Ctrl-C outside the prompt's own binding
                    continue
                except EOFError:  # Ctrl-D on an empty prompt, or input closed
                    break
                try:
                    self.handle(text)
                except KeyboardInterrupt:
                    self._show_outcome(oc.interrupted(self.state.mode, sent=True))
        finally:
            for fragments in self.board.drain():
                self.print(fragments)
            sid = self.remote.session_id
            if self.live is not None and self.live.started:  # leaving ends them (%detach is how they stay)
                self.live.close(end=True)
                self.show(f"live session {sid} ended on {self.state.where} (%detach leaves it running)")
            elif self.remote.stateful and self.remote.used and self.link.connection is not None:
                self.show(f"session {sid} stays on {self.state.where}: orgorepl --resume {sid} to pick it up")
            if self.live is not None:
                self.live.close(end=True)
            self.link.close()
        return ExitStatus.OK


def run_interactive(connect: Connector, options: ReplOptions, *, input: Any = None, output: Any = None,
                    early: EarlyPrompt | None = None) -> int:
    """Open the interactive session; return the exit status when the user leaves.

    ``early`` is what ``ui.early.paint_early_prompt`` returned if the entry point painted the
    banner and prompt before loading the rest; the session then takes that prompt over.
    """
    try:
        repl = InteractiveRepl(connect, options, input=input, output=output, early=early)
    except BaseException:
        if early is not None:
            early.abandon()
        raise
    return repl.run()
