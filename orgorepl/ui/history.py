"""Input history: one file per mode, user-only, never holding the API key.

``PrivateFileHistory`` writes prompt_toolkit's history format (multi-line entries kept whole)
through ``paths.open_private`` so files are created 0600 in a 0700 directory.  ``ModalHistory``
is the single History the prompt buffer sees: it forwards to the current mode's store, so
switching modes swaps histories without rebuilding the session, and it is the one door every
entry passes, so it is where the API key is replaced before an entry reaches memory or disk.
"""

from __future__ import annotations

import datetime
from collections.abc import AsyncGenerator, Callable, Iterable
from pathlib import Path

from prompt_toolkit.history import (
    FileHistory,
    History,
    InMemoryHistory,
    ThreadedHistory,
)

from orgorepl import paths
from orgorepl.modes import Mode

REDACTED = "<redacted>"


def redact(text: str, secret: str | None) -> str:
    return text.replace(secret, REDACTED) if secret else text


class PrivateFileHistory(FileHistory):
    """prompt_toolkit's file format, written 0600, and kept to the newest ``max_entries``."""

    def __init__(self, filename: Path, max_entries: int = 10000) -> None:
        super().__init__(str(filename))
        self._path = Path(filename)
        self._max = max_entries

    def load_history_strings(self) -> Iterable[str]:
        items = list(super().load_history_strings())  # newest first
        if len(items) > 2 * self._max:  # compact now and then, not on every start
            self._rewrite(list(reversed(items[: self._max])))
        return items[: self._max]

    def _rewrite(self, oldest_first: list[str]) -> None:
        tmp = self._path.with_name(self._path.name + ".tmp")
        with paths.open_private(tmp, "wb") as f:
            for entry in oldest_first:
                f.write(b"\n# (kept)\n")
                for line in entry.split("\n"):
                    f.write(f"+{line}\n".encode("utf-8", "replace"))
        tmp.replace(self._path)

    def store_string(self, string: str) -> None:
        with paths.open_private(self._path, "ab") as f:
            f.write(f"\n# {datetime.datetime.now()}\n".encode())
            for line in string.split("\n"):
                f.write(f"+{line}\n".encode("utf-8", "replace"))


class ModalHistory(History):
    def __init__(
        self, get_mode: Callable[[], Mode], stores: dict[Mode, History], secret: str | None = None
    ) -> None:
        super().__init__()
        self._get_mode = get_mode
        self._stores = stores
        self._secret = secret
        self._complete: set[Mode] = set()

    @property
    def current(self) -> History:
        return self._stores[self._get_mode()]

    def store_for(self, mode: Mode) -> History:
        return self._stores[mode]

    async def load(self) -> AsyncGenerator[str, None]:
        # The prompt buffer reloads its history at every prompt.  After the first full read
        # of a mode's file (in a thread), serve the entries from memory at once, so an Up
        # pressed right after the prompt appears already finds them.
        mode = self._get_mode()
        store = self._stores[mode]
        if mode in self._complete:
            for item in reversed(store.get_strings()):
                yield item
            return
        async for item in store.load():
            yield item
        self._complete.add(mode)

    def load_history_strings(self) -> Iterable[str]:
        return self.current.load_history_strings()

    def get_strings(self) -> list[str]:
        return self.current.get_strings()

    def append_string(self, string: str) -> None:
        # The one door into every store (ThreadedHistory bypasses the inner append_string).
        # Trailing blank lines (the one that closed a block) are not part of the entry.
        self.current.append_string(redact(string.rstrip(), self._secret))

    def store_string(self, string: str) -> None:
        self.current.store_string(redact(string, self._secret))


def build_history(get_mode: Callable[[], Mode], *, persistent: bool, secret: str | None,
                  max_entries: int = 10000) -> ModalHistory:
    """Per-mode histories in ``paths.history_file(mode)``; files load in a background thread."""
    stores: dict[Mode, History] = {}
    for mode in Mode:
        if persistent and max_entries > 0:
            stores[mode] = ThreadedHistory(PrivateFileHistory(paths.history_file(mode.value), max_entries))
        else:
            stores[mode] = InMemoryHistory()
    return ModalHistory(get_mode, stores, secret)
