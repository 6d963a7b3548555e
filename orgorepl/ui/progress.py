"""What the screen shows while a submission runs: a one-line spinner that Ctrl-C can cut short.

The blocking client call runs in a worker thread (owned by the REPL); this module runs a tiny
prompt_toolkit Application next to it until the call reports completion or the user presses
Ctrl-C.  Keys typed meanwhile are kept and handed to the next prompt as type-ahead, like a
shell does, instead of being lost.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol

from prompt_toolkit.application import Application
from prompt_toolkit.filters import Condition
from prompt_toolkit.input import Input
from prompt_toolkit.input.typeahead import get_typeahead, store_typeahead
from prompt_toolkit.key_binding import KeyBindings, KeyPress, KeyPressEvent
from prompt_toolkit.keys import Keys
from prompt_toolkit.layout import ConditionalContainer, Layout, Window
from prompt_toolkit.layout.controls import FormattedTextControl
from prompt_toolkit.output import ColorDepth, Output
from prompt_toolkit.styles import BaseStyle

from orgorepl.ui.state import UiState
from orgorepl.ui.toolbar import progress_toolbar

TICK_SECONDS = 0.1
STREAM_SECONDS = 0.05  # how often streamed output is written above the spinner
# Keys typed this soon after a live submission started are type-ahead for the next prompt (the
# next line of someone typing fast), not input for the command: a command that reads the keyboard
# shows its prompt first (a line left open: from then on keys are its), and nobody answers a
# prompt they cannot see within a fifth of a second.
LIVE_KEYS_AFTER = 0.2


class LiveHooks(Protocol):
    """What the spinner does with a live submission (implemented by the REPL)."""

    def keys(self, text: str) -> None: ...

    def interrupt(self) -> None: ...

    def has_output(self) -> bool: ...

    def mid_line(self) -> bool:
        """The output on screen ends in the middle of a line."""
        ...

    def wants_screen(self) -> bool:
        """The command switched to the alternate screen: it needs the whole terminal."""
        ...

    def write_output(self) -> None:
        """Write what was streamed since the last call (runs with the spinner out of the way)."""
        ...

    @property
    def hard_limit(self) -> bool:
        """The timeout interrupts the submission (``live_time_limit = "interrupt"``), not just warns."""
        ...


async def _stream(live: LiveHooks, app: Application) -> None:
    from prompt_toolkit.application import run_in_terminal

    while True:
        await asyncio.sleep(STREAM_SECONDS)
        if live.has_output():
            await run_in_terminal(live.write_output, in_executor=False)
        if live.wants_screen() and not app.is_done:
            app.exit(result=None)  # a full-screen program: the caller hands it the terminal
            return


class Waitable(Protocol):
    """The view of a running call the spinner needs (implemented by the REPL's worker)."""

    timeout: int | None

    def phase(self) -> str: ...

    def elapsed(self) -> float: ...

    def add_done_callback(self, callback: Callable[[], None]) -> None: ...


def wait_with_spinner(
    call: Waitable,
    state: UiState,
    *,
    input: Input | None,
    output: Output | None,
    style: BaseStyle,
    color_depth: ColorDepth | None = None,
    pre_run: Callable[[], None] | None = None,
    live: LiveHooks | None = None,
) -> bool | None:
    """Block until ``call`` is done (True) or the user abandons it with Ctrl-C (False).

    With ``live`` the call is a live submission: keys go to it as they are typed, Ctrl-C
    interrupts it on the computer (the wait goes on until it has stopped), and output it
    streamed is written above the spinner as it comes.  None: the command went full screen,
    and the caller gives it the terminal (then waits again).
    """
    typed: list[KeyPress] = []
    ticks = [0]
    kb = KeyBindings()

    @kb.add("c-c")
    @kb.add("<sigint>")
    def _abandon(event: KeyPressEvent) -> None:
        if live is not None:
            live.interrupt()
        elif not event.app.is_done:
            event.app.exit(result=False)

    @kb.add(Keys.Any)
    def _keep(event: KeyPressEvent) -> None:
        if live is not None and not typed and (call.elapsed() >= LIVE_KEYS_AFTER or live.mid_line()):
            live.keys("".join(press.data for press in event.key_sequence))
        else:
            typed.extend(event.key_sequence)

    def line():
        ticks[0] += 1
        return progress_toolbar(state, phase=call.phase(), elapsed=call.elapsed(),
                                timeout=call.timeout, tick=ticks[0], live=live is not None,
                                hard_limit=live is not None and live.hard_limit)

    app: Application[bool | None] = Application(
        layout=Layout(ConditionalContainer(
            Window(FormattedTextControl(line), height=1, style="class:bottom-toolbar"),
            # a live command's last line without its end (a prompt waiting for an answer): the
            # spinner would be drawn over it, so it steps aside until the line is finished
            filter=Condition(lambda: live is None or not live.mid_line()))),
        key_bindings=kb,
        style=style,
        input=input,
        output=output,
        color_depth=color_depth,
        erase_when_done=True,
        refresh_interval=TICK_SECONDS,
    )

    def attach() -> None:
        loop = asyncio.get_running_loop()

        def finish() -> None:
            if app.is_running and not app.is_done:
                app.exit(result=True)

        def on_done() -> None:
            try:
                loop.call_soon_threadsafe(finish)
            except RuntimeError:  # the spinner is gone already (abandoned)
                pass

        call.add_done_callback(on_done)
        if live is not None:
            app.create_background_task(_stream(live, app))
        if pre_run is not None:
            pre_run()

    try:
        finished = app.run(pre_run=attach)
    finally:
        leftover = get_typeahead(app.input)
        store_typeahead(app.input, typed + leftover)
    return None if finished is None and live is not None else bool(finished)
