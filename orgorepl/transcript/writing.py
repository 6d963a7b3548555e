"""Turning entries into the text of each format, and writing files without ever leaving half a one.

Each format is built from the same pieces (a header, then one block per submission), so a full
save and an appended log write the same bytes for the same entries.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from orgorepl import __version__, paths
from orgorepl.transcript.entry import JSON_FORMAT, Entry, entry_groups, trim
from orgorepl.transcript.pyecho import ECHO_IMPORT, ECHO_NAME, echo_final

CELL_MARK = "# %%"
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?")
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def render(kind: str, info: dict[str, str], entries: list[Entry]) -> tuple[str, int]:
    """The whole file for format ``kind``, and how many entries (``.md``/``.json``/``.jsonl``) or
    submissions (``.py``/``.sh``) it holds."""
    groups = list(entry_groups(entries))
    if kind == ".json":
        text = json.dumps(json_document(info, entries), indent=2, ensure_ascii=False) + "\n"
        count = len(entries)
    elif kind == ".jsonl":
        text = "".join(jsonl_lines(entries))
        count = len(entries)
    elif kind == ".md":
        text = md_header(info) + "".join(md_group(g) for g in groups)
        count = len(entries)
    else:
        mode = "python" if kind == ".py" else "bash"
        cells = [c for c in (script_cell(g, mode) for g in groups) if c is not None]
        text = script_header(info, mode) + "".join(cells)
        count = len(cells)
    return text, count


def json_document(info: dict[str, str], entries: Iterable[Entry]) -> dict[str, Any]:
    return {"format": JSON_FORMAT, "version": 1, "orgorepl": __version__, **info,
            "entries": [e.to_dict() for e in entries]}


def jsonl_lines(entries: Iterable[Entry]) -> Iterable[str]:
    for entry in entries:
        yield json.dumps(entry.to_dict(), ensure_ascii=False) + "\n"


def md_header(info: dict[str, str]) -> str:
    where = f" on **{_md_escape(info['computer'])}**" if info["computer"] else ""
    return (f"# orgorepl session{where}\n\nStarted {info['started_at']} · orgorepl {__version__}\n\n")


def md_group(group: list[Entry]) -> str:
    first = group[0]
    parts = [_fenced(first.source, first.mode)]
    for entry in group:
        if len(group) > 1:
            parts.append(f"**{_md_escape(entry.target or '?')}**\n\n")
        output = _plain(entry.output)
        if output:
            parts.append(_fenced(output, "text"))
        if entry.traceback and entry.status == "error":
            parts.append(_fenced(_plain(entry.traceback), "pytb"))
        status = _status_line(entry)
        if status:
            parts.append(f"> ✗ {_md_escape(status)}\n\n")
    return "".join(parts)


def _status_line(entry: Entry) -> str:
    verdict = entry.to_outcome().verdict
    if not verdict:
        return ""
    return " ".join(f"{verdict} · {entry.elapsed:.2f}s".split())


def _fenced(text: str, info: str) -> str:
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    body = text if text.endswith("\n") else text + "\n"
    return f"{fence}{info}\n{body}{fence}\n\n"


def _plain(text: str) -> str:
    """Terminal output as text a Markdown file can hold: escapes dropped, ``\\r`` overwrites
    applied the way a terminal shows them, other control characters removed."""
    text = _ESCAPES.sub("", text.replace("\r\n", "\n"))
    lines = []
    for line in text.split("\n"):
        if "\r" in line:
            pieces = [p for p in line.split("\r") if p]
            line = pieces[-1] if pieces else ""
        lines.append(_CONTROLS.sub("", line))
    return "\n".join(lines)


def _md_escape(text: str) -> str:
    return re.sub(r"([\\`*_\[\]<>#|])", r"\\\1", " ".join(text.split()))


def script_header(info: dict[str, str], mode: str) -> str:
    where = f" on {' '.join(info['computer'].split())}" if info["computer"] else ""
    if mode == "python":
        return (
            "#!/usr/bin/env python3\n"
            f"# orgorepl session{where}, started {info['started_at']}.\n"
            "# The successful Python submissions in order; each `# %%` line starts one.\n"
            "# Run again with: orgorepl exec - < this-file   (or replay it: orgorepl replay this-file)\n"
            f"# {ECHO_NAME}(...) shows a final expression's value the way the REPL did.\n"
            f"{ECHO_IMPORT}\n"
        )
    return (
        "#!/usr/bin/env bash\n"
        f"# orgorepl session{where}, started {info['started_at']}.\n"
        "# The successful bash submissions in order (`!cmd` lines of Python mode included);\n"
        "# each `# %%` line starts one.\n"
        "# Run again with: orgorepl bash - < this-file   (or replay it: orgorepl replay this-file)\n"
    )


def script_cell(group: list[Entry], mode: str) -> str | None:
    """A submission of ``mode`` that ran ok on at least one target, as one script cell."""
    first = group[0]
    if first.mode != mode or not any(e.ok for e in group):
        return None
    source = trim(first.source)
    if mode == "python":
        source = echo_final(source)
    return f"\n{CELL_MARK}\n{source}\n"


def write_atomically(path: Path, text: str) -> None:
    """Write to a 0600 temporary file next to ``path``, then rename: never half a file."""
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with paths.open_private(temp, "w", private_dir=False) as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        try:
            temp.unlink()
        except OSError:
            pass
        raise


class Log:
    """An append-only mirror of the transcript; every write goes straight to the file descriptor
    and is fsync'd.  A write that fails half-way is cut back off, so the log stays well-formed."""

    def __init__(self, path: Path, kind: str) -> None:
        self.path, self.kind = path, kind
        self._file = paths.open_private(path, "a", private_dir=False)
        self._fresh = os.fstat(self._file.fileno()).st_size == 0  # a new log gets a header

    def write(self, info: dict[str, str], group: list[Entry]) -> None:
        parts: list[str] = []
        if self._fresh and self.kind != ".jsonl":
            parts.append(md_header(info) if self.kind == ".md"
                         else script_header(info, "python" if self.kind == ".py" else "bash"))
        if group:
            if self.kind == ".jsonl":
                parts.extend(jsonl_lines(group))
            elif self.kind == ".md":
                parts.append(md_group(group))
            else:
                cell = script_cell(group, "python" if self.kind == ".py" else "bash")
                parts.append(cell or "")
        data = "".join(parts).encode("utf-8")
        if not data:
            return
        fd = self._file.fileno()
        before = os.fstat(fd).st_size
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        except OSError:
            try:
                os.ftruncate(fd, before)
            except OSError:
                pass
            raise
        self._fresh = False

    def close(self) -> None:
        try:
            self._file.close()
        except OSError:
            pass
