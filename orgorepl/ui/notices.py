"""Lines that arrive from background threads (the connection coming up or failing).

They must appear above whatever is on screen (the prompt, or the spinner of a running call)
without tearing it, so each prompt_toolkit Application attaches the board in ``pre_run``; a
small task in that application's loop prints pending lines with ``run_in_terminal`` semantics
and redraws the toolbar.  Lines posted while no application runs wait for the next one (or for
``drain`` at exit).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

from prompt_toolkit.application import get_app
from prompt_toolkit.formatted_text import StyleAndTextTuples

Printer = Callable[[StyleAndTextTuples], None]


class NoticeBoard:
    def __init__(self, printer: Printer) -> None:
        self._printer = printer
        self._lock = threading.Lock()
        self._pending: list[StyleAndTextTuples] = []
        self._wake: Callable[[], None] | None = None

    def post(self, fragments: StyleAndTextTuples | None = None) -> None:
        """Queue a line (or, with None, only ask for a redraw).  Safe from any thread."""
        with self._lock:
            if fragments is not None:
                self._pending.append(fragments)
            wake = self._wake
        if wake is not None:
            wake()

    def drain(self) -> list[StyleAndTextTuples]:
        with self._lock:
            pending, self._pending = self._pending, []
        return pending

    def attach(self) -> None:
        """Call from an Application's ``pre_run``: serve the board while that app runs."""
        app = get_app()
        loop = asyncio.get_running_loop()
        event = asyncio.Event()

        def wake() -> None:
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # that application's loop is already closed
                pass

        async def pump() -> None:
            try:
                while True:
                    for fragments in self.drain():
                        self._printer(fragments)  # inside a running app: printed above it
                    app.invalidate()
                    await event.wait()
                    event.clear()
            finally:
                with self._lock:
                    if self._wake is wake:
                        self._wake = None

        with self._lock:
            self._wake = wake
        app.create_background_task(pump())
