"""Remote completion for the interactive session: probes in the background, answers from a cache.

Policies that live here and nowhere else:

* A probe is never a submission: it goes straight to the client (not through ``submit``), so
  it is never logged, recorded, kept in history or shown; it is sent once (``cancelled`` says
  "stop" to the client's retry loop, so an error is final) and a failure means "nothing".
* Typing never waits for the computer.  The completer runs in prompt_toolkit's completion
  thread; it waits for a probe at most ``WAIT`` seconds, and the probe itself runs on a thread
  of its own, so a stalled server leaves at most ``MAX_PROBES`` threads waiting, and the
  answer, when it comes, is cached for the next Tab.
* Answers are cached per text before the cursor; a longer text in the same word is filtered
  from a shorter one's answer, without a probe.  Every submission clears the cache (it may
  have changed the namespace, the cwd, the files).
* In live mode Python asks the live interpreter (the HTTP probe cannot see its names), and bash
  probes over HTTP from the live shell's directory.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from orgorepl.modes import Mode
from orgorepl.session import complete as probes
from orgorepl.session.complete import Completions

WAIT = 3.0  # seconds a Tab waits for the computer before the menu shows nothing
DEBOUNCE = 0.2  # complete-while-typing: a probe only once the keys pause this long
MAX_PROBES = 2  # probes in flight at once (more only while a server stalls: then none)
MAX_CACHED = 200
_NO_RETRY = lambda: True  # noqa: E731 - the client's retry loop reads it as "give up now"


class RemoteCompletion:
    def __init__(self, host: Any) -> None:
        """``host``: the InteractiveRepl (its ``link``, ``remote``, ``live``)."""
        self._host = host
        self._lock = threading.Lock()
        self._cache: dict[tuple[Mode, str], Completions] = {}
        self._pending: dict[tuple[Mode, str], threading.Event] = {}
        self._typed = 0  # bumped by every keystroke-driven request: older ones give up
        self._generation = 0  # bumped by every submission: answers from before are dropped
        self._computers: list[str] | None = None
        self._computers_asked: threading.Event | None = None

    def invalidate(self) -> None:
        with self._lock:
            self._cache.clear()
            self._generation += 1
        self._host.state.signature = ""

    def watch(self, buffer: Any) -> None:
        """The toolbar's signature follows the input: asked for when a call is opened (one probe
        per ``(`` typed, after a pause), dropped once the input holds no open call."""
        def changed(_buffer: Any) -> None:
            text = buffer.document.text_before_cursor
            if self._host.state.mode is not Mode.PYTHON:
                return
            if text.count("(") <= text.count(")"):
                self._host.state.signature = ""
            elif text.rstrip().endswith("("):
                threading.Thread(target=self, args=(text, Mode.PYTHON, False), name="orgorepl-signature",
                                 daemon=True).start()

        buffer.on_text_changed += changed

    def computers(self) -> list[str]:
        """Names for ``%target add``: the account's computers, listed once, in the background."""
        connection = self._host.link.connection
        if self._computers is None and connection is not None:
            if self._computers_asked is None:
                self._computers_asked = threading.Event()

                def fetch(done: threading.Event = self._computers_asked) -> None:
                    try:
                        self._computers = [c.name for c in connection.client.list_computers()]
                    except Exception:
                        self._computers = []
                    done.set()

                threading.Thread(target=fetch, name="orgorepl-computers", daemon=True).start()
            self._computers_asked.wait(WAIT)
        return list(self._computers or ())

    def __call__(self, text: str, mode: Mode, requested: bool) -> Completions | None:
        key = (mode, text)
        with self._lock:
            found = self._cached(key)
            if found is not None:
                self._show_signature(mode, found)
                return found
            self._typed += 1
            typed = self._typed
        if not requested:  # while typing: wait for a pause, and only the latest asks
            time.sleep(DEBOUNCE)
            if typed != self._typed:
                return None
        event = self._probe(key)
        if event is None or not event.wait(WAIT):
            return None
        with self._lock:
            return self._cache.get(key)

    def _cached(self, key: tuple[Mode, str]) -> Completions | None:
        found = self._cache.get(key)
        if found is not None:
            return found
        mode, text = key
        for (cmode, ctext), answer in list(self._cache.items()):
            extra = text[len(ctext):]
            if cmode is mode and text.startswith(ctext) and answer.word and len(answer.items) < 500 \
                    and extra and all(ch.isalnum() or ch in "_-." for ch in extra):
                word = answer.word + extra
                if mode is Mode.PYTHON and "." in extra:
                    continue
                items = tuple(i for i in answer.items if i.text.startswith(word) and i.text != word)
                return Completions(word, items, answer.signature)
        return None

    def _probe(self, key: tuple[Mode, str]) -> threading.Event | None:
        with self._lock:
            event = self._pending.get(key)
            if event is not None:
                return event  # the same question is on its way: never asked twice
            if len(self._pending) >= MAX_PROBES:
                return None
            event = self._pending[key] = threading.Event()
            generation = self._generation
        threading.Thread(target=self._ask, args=(key, event, generation), name="orgorepl-complete",
                         daemon=True).start()
        return event

    def _ask(self, key: tuple[Mode, str], event: threading.Event, generation: int) -> None:
        try:
            answer = self._answer(*key)
        except Exception:  # a probe that fails offers nothing; typing goes on
            answer = None
        with self._lock:
            self._pending.pop(key, None)
            if answer is not None and generation == self._generation:
                if len(self._cache) >= MAX_CACHED:  # typing with the menu on asks per pause: bounded
                    self._cache.clear()
                self._cache[key] = answer
                self._show_signature(key[0], answer)
        event.set()

    def _show_signature(self, mode: Mode, answer: Completions) -> None:
        if mode is Mode.PYTHON and answer.signature != self._host.state.signature:
            self._host.state.signature = answer.signature
            self._host.session.app.invalidate()

    def _answer(self, mode: Mode, text: str) -> Completions | None:
        host = self._host
        connection = host.link.connection
        if connection is None:
            return None
        live = host.live if host.live is not None and host.live.usable else None
        sid = host.remote.session_id if host.remote.stateful else None
        if mode is Mode.PYTHON:
            if live is not None and live.has_python():
                return probes.completions(live.ask_python(probes.python_request(text, None)))
            # live, before its interpreter started: no names yet (the HTTP session's are not its)
            request = probes.python_request(text, sid if live is None else None)
            return probes.completions(self.python(connection, request))
        word = probes.bash_word(text)
        probe = probes.bash_probe(word, sid, (live.cwd if live is not None else None))
        result = connection.client.bash(connection.computer.id, probe.program, timeout=probes.PROBE_TIMEOUT,
                                        cancelled=_NO_RETRY)
        found = probes.bash_reply(probe, result.output)
        return probes.bash_completions(word, sorted(found)) if found is not None else None

    @staticmethod
    def python(connection: Any, request: dict[str, object]) -> dict[str, object] | None:
        """One Python probe over HTTP: its own /exec, sent once."""
        probe = probes.python_probe(request)
        result = connection.client.exec(connection.computer.id, probe.program, timeout=probes.PROBE_TIMEOUT,
                                        cancelled=_NO_RETRY)
        return probe.reply(result.output)


def introspect(host: Any, expr: str, source: bool, call: Callable[..., Any]) -> str | None:
    """``obj?``/``obj??``: asked like a completion (read-only, never recorded), under the spinner."""
    live = host.live if host.live is not None and host.live.usable else None
    sid = host.remote.session_id if host.remote.stateful else None
    if live is not None and live.has_python():
        data = live.ask_python(probes.inspect_request(expr, source, None), timeout=10.0) or {}
    else:
        request = probes.inspect_request(expr, source, sid if live is None else None)
        data = call(lambda c, cancelled: RemoteCompletion.python(c, request) or {},
                    phase=f"{expr}? on {{computer}}", timeout=probes.PROBE_TIMEOUT)
        if data is None:  # the call failed, and said so
            return None
    return str(data.get("text") or data.get("error") or f"{expr}?: the computer gave no answer")
