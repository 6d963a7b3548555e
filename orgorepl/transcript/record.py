"""The session so far, kept in memory and, optionally, mirrored to a log as it happens."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from orgorepl.transcript.entry import (
    LOG_FORMATS,
    REDACTED,
    SAVE_FORMATS,
    Entry,
    check_suffix,
    entry_groups,
    now_iso,
)
from orgorepl.transcript.writing import Log, render, write_atomically


class Transcript:
    """The session so far; optionally mirrored, entry by entry, to a log file.

    Logging trouble (disk full, file removed) never interrupts the session: the log is detached
    and :meth:`take_log_error` returns the reason once, for the caller to show.
    """

    def __init__(self, *, secret: str | None = None, computer: str = "") -> None:
        self._secret = secret or None
        self.computer = computer
        self.started_at = now_iso()
        self._entries: list[Entry] = []
        self._seq = 0
        self._log: Log | None = None
        self._log_error: str | None = None

    @property
    def entries(self) -> tuple[Entry, ...]:
        return tuple(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def add(self, entry: Entry) -> Entry:
        """Keep one submission (redacted, numbered) and append it to the log; returns it as kept."""
        return self.add_group([entry])[0]

    def add_group(self, entries: Iterable[Entry]) -> list[Entry]:
        """Keep one submission that ran on several targets: the entries share one ``seq``."""
        self._seq += 1
        kept = [dataclasses.replace(e.redacted(self._secret), seq=self._seq) for e in entries]
        self._entries.extend(kept)
        if self._log is not None and kept:
            try:
                self._log.write(self._header_info(), kept)
            except OSError as exc:
                self._log_failed(exc)
        return kept

    def attach_log(self, path: str | os.PathLike[str]) -> Path:
        """Mirror every entry to ``path`` from now on (and the entries so far, if any).

        The file is created 0600 or appended to; its format follows the suffix (``LOG_FORMATS``).
        """
        target = Path(path).expanduser()
        kind = check_suffix(target, LOG_FORMATS, "log", hint=".json cannot be appended to: use .jsonl for a JSON log")
        self.close()
        log = Log(target, kind)
        try:
            groups = list(entry_groups(self._entries))
            for group in groups or [[]]:
                log.write(self._header_info(), group)
        except BaseException:
            log.close()
            raise
        self._log = log
        return target

    @property
    def log_path(self) -> Path | None:
        return self._log.path if self._log is not None else None

    def take_log_error(self) -> str | None:
        error, self._log_error = self._log_error, None
        return error

    def close(self) -> None:
        if self._log is not None:
            log, self._log = self._log, None
            log.close()

    def __enter__(self) -> Transcript:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def save(self, path: str | os.PathLike[str]) -> int:
        """Write the session to ``path`` in the format its suffix names (replacing the file, 0600,
        atomically); return how many entries (``.md``/``.json``/``.jsonl``) or submissions
        (``.py``/``.sh``) were written."""
        target = Path(path).expanduser()
        kind = check_suffix(target, SAVE_FORMATS, "transcript")
        text, count = render(kind, self._header_info(), self._entries)
        write_atomically(target, text)
        return count

    # --------------------------------------------------------------------------------------

    def _header_info(self) -> dict[str, str]:
        computer = self.computer or ", ".join(dict.fromkeys(e.target for e in self._entries if e.target))
        if self._secret:
            computer = computer.replace(self._secret, REDACTED)
        return {"computer": computer, "started_at": self.started_at, "saved_at": now_iso()}

    def _log_failed(self, exc: OSError) -> None:
        path = self._log.path if self._log else "?"
        self._log_error = f"the log {path} could not be written ({exc.strerror or exc}); logging stopped"
        self.close()
