"""The interactive session's conveniences from IPython and pgcli (issue 13), kept apart from the loop.

``Conveniences`` is the half of ``InteractiveRepl`` behind ``%run``, ``%load``, ``%pprint``,
``%reset``'s question, ``name = !cmd`` and the pager: each is a small policy over the session's
one submission path (``run_code``) and its terminal, so the loop itself stays the loop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from orgorepl import outcome as oc
from orgorepl.modes import Mode

if TYPE_CHECKING:  # pragma: no cover
    from orgorepl.repl.options import ReplOptions
    from orgorepl.ui.state import UiState


class Conveniences:
    # what the session provides (InteractiveRepl)
    options: ReplOptions
    state: UiState
    input: Any
    output: Any
    pretty: bool
    _next_input: str | None

    def show(self, text: str, *, error: bool = False) -> None: ...

    def page(self, text: str) -> None: ...

    def terminal_fds(self) -> tuple[int, int] | None: ...

    def run_code(self, mode: Mode, text: str, *, echo: bool = True, quiet: bool = False) -> oc.Outcome | None: ...

    def paged(self, text: str, *, help: bool = False) -> bool:
        """Page ``text`` when the ``pager`` setting says so (``render.pager.should_page``, the
        one decision); True when it was paged, False when the caller prints it itself.  The
        entry point for any long text of the session: results, ``help()``, introspection
        (``help``: the text is help, which "auto" pages at any length)."""
        from orgorepl.render.pager import should_page

        size = self.output.get_size()
        if not should_page(text, policy=self.options.pager, terminal=self.terminal_fds() is not None,
                           rows=size.rows, columns=size.columns, help=help):
            return False
        self.page(text)
        return True

    def pprint_width(self) -> int:
        """The width the remote pretty-prints an echoed value to (0: %pprint off)."""
        return max(20, self.output.get_size().columns) if self.pretty else 0

    def set_pprint(self, on: bool) -> None:
        self.pretty = on

    def confirm(self, question: str, *, otherwise: str = "") -> bool | None:
        """A y/N question on its own line below the last output; anything but yes is no."""
        from prompt_toolkit import PromptSession

        asker: PromptSession[str] = PromptSession(input=self.input, output=self.output)
        try:
            answer = asker.prompt(f"{question} [y/N] ")
        except (EOFError, KeyboardInterrupt):
            return False
        return answer.strip().lower() in ("y", "yes")

    def run_source(self, mode: Mode, text: str) -> None:
        self.run_code(mode, text, echo=False)

    def load_input(self, mode: Mode, text: str) -> None:
        self.state.mode = mode
        self._next_input = text

    def capture(self, name: str, command: str) -> None:
        """``name = !cmd``: run ``cmd`` in bash, then bind its output lines in the Python session
        (IPython's convention, over the same path as any submission: two of them over HTTP).  A
        command that did not run is shown, and nothing is bound."""
        outcome = self.run_code(Mode.BASH, command, quiet=True)
        if outcome is None:
            self.show(f"{name} was not bound: on several computers, each has its own output", error=True)
        if outcome is None or not outcome.ran:
            return
        lines = outcome.output.splitlines()
        self.run_code(Mode.PYTHON, f"{name} = {lines!r}", echo=False)
