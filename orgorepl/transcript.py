"""What happened in a session, kept so it can be read, re-run or replayed later.

A :class:`Transcript` holds one :class:`Entry` per submission and target (meta-commands are not
submissions).  Everything stored has the API key replaced by ``<redacted>`` first, so no export,
log or error message built from a transcript can leak it.

Formats, chosen by the file's suffix:

* ``.md``: for people.  Inputs as fenced code blocks tagged ``python``/``bash`` (so any
  Markdown viewer highlights them), outputs as ``text`` blocks with terminal escapes removed, a
  traceback as a ``pytb`` block, and a status line for anything that did not end ``ok``.
* ``.py`` / ``.sh``: for machines.  Only the *successful* submissions of that language, in order,
  each after a ``# %%`` line, under a comment header: a runnable script (``orgorepl exec - <
  s.py``, ``orgorepl bash - < s.sh``).  The REPL shows the value of a final expression; the
  script does the same through ``_echo(...)`` (``sys.displayhook``, what the REPL itself calls),
  so re-running it prints what the session printed.
* ``.json``: every submission with mode, target, output, status and timings, losslessly.
* ``.jsonl``: the same entries, one per line: the continuous log format for machines.

A log (``--log FILE``) is appended to after every submission and fsync'd, so a client that dies
loses nothing already shown.  ``.md``, ``.jsonl``, ``.py`` and ``.sh`` can be appended to;
``.json`` cannot (one document), so it is refused as a log with a pointer to ``.jsonl``.

:func:`load_submissions` reads the inputs back (for replay) from ``.md`` (python/bash code blocks,
hand-written lesson files included), ``.py``/``.sh`` (cells split at ``# %%``, or, without
markers, at blank lines between complete statements) and ``.json``/``.jsonl``.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import os
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable, NamedTuple

from orgorepl import __version__, paths
from orgorepl.modes import Kind, Mode, classify
from orgorepl.session.completeness import bash_is_complete

REDACTED = "<redacted>"
STATUSES = ("ok", "error", "timeout", "exit", "interrupted", "failed")
SAVE_FORMATS = (".md", ".py", ".sh", ".json", ".jsonl")
LOG_FORMATS = (".md", ".py", ".sh", ".jsonl")
LOAD_FORMATS = (".md", ".markdown", ".py", ".sh", ".bash", ".json", ".jsonl")
CELL_MARK = "# %%"
ECHO_NAME = "_echo"
ECHO_IMPORT = f"from sys import displayhook as {ECHO_NAME}"
JSON_FORMAT = "orgorepl-transcript"

_CELL_LINE = re.compile(r"^# %%(?:[ \t].*)?$")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")  # Python's own line ends (str.splitlines has more)
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?")
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def now_iso() -> str:
    return datetime.now().astimezone().isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class Entry:
    """One submission on one computer, and how it ended.

    ``status``: ``ok``; ``error`` (a Python exception); ``timeout``; ``exit`` (bash exit code not
    0); ``interrupted`` (Ctrl-C, the call abandoned); ``failed`` (no result: the request itself
    failed, ``error`` says why).  ``seq`` numbers submissions: entries of one fan-out submission
    share it.
    """

    mode: str  # "python" | "bash" (a `!cmd` line of Python mode is bash, without the `!`)
    source: str
    target: str = ""
    output: str = ""
    status: str = "ok"
    error_type: str | None = None
    error: str | None = None
    exit_code: int | None = None
    started_at: str = ""
    elapsed: float = 0.0
    traceback: str | None = None
    timeout: int | None = None  # the limit that applied, seconds
    seq: int | None = None

    def __post_init__(self) -> None:
        mode = getattr(self.mode, "value", self.mode)  # a modes.Mode is welcome
        if mode not in ("python", "bash"):
            raise ValueError(f"mode must be 'python' or 'bash', got {self.mode!r}")
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, got {self.status!r}")
        object.__setattr__(self, "mode", mode)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    # -- built from what the session layer returns -----------------------------------------

    @classmethod
    def from_python(cls, source: str, outcome: Any, *, target: str = "", elapsed: float = 0.0,
                    timeout: int | None = None, started_at: str | None = None) -> "Entry":
        """From a ``CellOutcome`` (``RemoteSession.python_done``)."""
        status = "timeout" if outcome.timeout else ("ok" if outcome.success else "error")
        return cls(mode="python", source=source, target=target, output=outcome.output or "",
                   status=status, error_type=outcome.error_type, error=outcome.error,
                   started_at=started_at or now_iso(), elapsed=round(elapsed, 3),
                   traceback=getattr(outcome, "traceback", None), timeout=timeout)

    @classmethod
    def from_bash(cls, source: str, outcome: Any, *, target: str = "", elapsed: float = 0.0,
                  timeout: int | None = None, started_at: str | None = None) -> "Entry":
        """From a ``BashOutcome`` (``RemoteSession.bash_done``) or a ``BashResult``."""
        code = outcome.exit_code
        if outcome.timeout:
            status = "timeout"
        elif code is None and not outcome.success:
            status = "failed"
        else:
            status = "ok" if code in (0, None) else "exit"
        return cls(mode="bash", source=source, target=target, output=outcome.output or "",
                   status=status, exit_code=code, started_at=started_at or now_iso(),
                   elapsed=round(elapsed, 3), timeout=timeout,
                   error="no exit code reported" if status == "failed" else None)

    @classmethod
    def not_run(cls, mode: str, source: str, *, status: str = "failed", error: BaseException | str | None = None,
                target: str = "", elapsed: float = 0.0, started_at: str | None = None) -> "Entry":
        """A submission that produced no result: ``failed`` (with the error) or ``interrupted``."""
        error_type = None
        if isinstance(error, BaseException):
            error_type = type(error).__name__
            one_line = getattr(error, "one_line", None)
            error = one_line() if callable(one_line) else str(error)
        return cls(mode=getattr(mode, "value", mode), source=source, target=target, status=status,
                   error_type=error_type, error=error, started_at=started_at or now_iso(), elapsed=round(elapsed, 3))

    # -- plain data -------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> "Entry":
        if not isinstance(data, dict):
            raise ValueError("a transcript entry must be a JSON object")
        known = {f.name for f in dataclasses.fields(cls)}
        try:
            return cls(**{k: v for k, v in data.items() if k in known})
        except TypeError as exc:
            raise ValueError(f"a transcript entry is missing a field: {exc}") from None

    def redacted(self, secret: str | None) -> "Entry":
        if not secret:
            return self
        changes = {
            f.name: getattr(self, f.name).replace(secret, REDACTED)
            for f in dataclasses.fields(self)
            if isinstance(getattr(self, f.name), str) and secret in getattr(self, f.name)
        }
        return dataclasses.replace(self, **changes) if changes else self


class Submission(NamedTuple):
    mode: Mode
    source: str


# --------------------------------------------------------------------------------------------


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
        self._log: _Log | None = None
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
        kind = _suffix(target, LOG_FORMATS, "log", hint=".json cannot be appended to: use .jsonl for a JSON log")
        self.close()
        log = _Log(target, kind)
        try:
            groups = list(_groups(self._entries))
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

    def __enter__(self) -> "Transcript":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def save(self, path: str | os.PathLike[str]) -> int:
        """Write the session to ``path`` in the format its suffix names (replacing the file, 0600,
        atomically); return how many entries (``.md``/``.json``/``.jsonl``) or submissions
        (``.py``/``.sh``) were written."""
        target = Path(path).expanduser()
        kind = _suffix(target, SAVE_FORMATS, "transcript")
        info = self._header_info()
        groups = list(_groups(self._entries))
        if kind == ".json":
            text = json.dumps(_json_document(info, self._entries), indent=2, ensure_ascii=False) + "\n"
            count = len(self._entries)
        elif kind == ".jsonl":
            text = "".join(_jsonl_lines(self._entries))
            count = len(self._entries)
        elif kind == ".md":
            text = _md_header(info) + "".join(_md_group(g) for g in groups)
            count = len(self._entries)
        else:
            mode = "python" if kind == ".py" else "bash"
            cells = [_script_cell(g, mode) for g in groups]
            cells = [c for c in cells if c is not None]
            text = _script_header(info, mode) + "".join(cells)
            count = len(cells)
        _write_atomically(target, text)
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


def load_entries(path: str | os.PathLike[str]) -> list[Entry]:
    """The entries of a ``.json`` or ``.jsonl`` transcript."""
    target = Path(path).expanduser()
    kind = _suffix(target, (".json", ".jsonl"), "transcript")
    text = target.read_text(encoding="utf-8")
    try:
        if kind == ".jsonl":
            lines = text.split("\n")
            if lines and lines[-1].strip():  # a last line cut off mid-write (the client died)
                try:
                    json.loads(lines[-1])
                except json.JSONDecodeError:
                    lines.pop()
            return [Entry.from_dict(json.loads(line)) for line in lines if line.strip()]
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{target}: not valid JSON ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != JSON_FORMAT or not isinstance(data.get("entries"), list):
        raise ValueError(f"{target}: not an orgorepl transcript (no \"format\": \"{JSON_FORMAT}\")")
    return [Entry.from_dict(item) for item in data["entries"]]


def load_submissions(path: str | os.PathLike[str]) -> list[Submission]:
    """The inputs of a saved (or hand-written) session, in order, for replay."""
    target = Path(path).expanduser()
    kind = _suffix(target, LOAD_FORMATS, "session")
    if kind in (".json", ".jsonl"):
        return [Submission(Mode(g[0].mode), g[0].source) for g in _groups(load_entries(target))]
    text = target.read_text(encoding="utf-8")
    if kind in (".md", ".markdown"):
        return markdown_submissions(text)
    if kind == ".py":
        return [Submission(Mode.PYTHON, s) for s in python_cells(text)]
    return [Submission(Mode.BASH, s) for s in bash_cells(text)]


# --------------------------------------------------------------------------------------------
# Reading


_PY_LANGS = frozenset(("python", "py", "python3"))
_SH_LANGS = frozenset(("bash", "sh", "shell"))
_FENCE = re.compile(r"^( {0,3})(`{3,}|~{3,})(.*)$")


def markdown_submissions(text: str) -> list[Submission]:
    """Fenced code blocks whose info string is python or bash (``!cmd`` in a python block is
    bash; ``%meta`` lines are skipped: they are not submissions)."""
    out: list[Submission] = []
    lines = _LINE_BREAK.split(text)
    i = 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        i += 1
        if not match or (match.group(2)[0] == "`" and "`" in match.group(3)):
            continue
        indent, fence, info = len(match.group(1)), match.group(2), match.group(3).strip()
        body: list[str] = []
        while i < len(lines):
            line = lines[i]
            i += 1
            stripped = line.strip()
            if stripped.startswith(fence[0] * len(fence)) and set(stripped) == {fence[0]} and len(line) - len(line.lstrip(" ")) < 4:
                break
            body.append(line[min(indent, len(line) - len(line.lstrip(" "))):])
        language = info.split()[0].lower() if info else ""
        source = "\n".join(body)
        if language in _PY_LANGS:
            item = classify(source, Mode.PYTHON)
        elif language in _SH_LANGS:
            item = classify(source, Mode.BASH)
        else:
            continue
        if item.kind in (Kind.CODE, Kind.SHELL_ESCAPE):
            out.append(Submission(item.mode, _trim(item.text)))
    return out


def python_cells(text: str) -> list[str]:
    """A ``.py`` file as submissions: its ``# %%`` cells, or its blank-line-separated statements."""
    cells = _marked_cells(text)
    if cells is None:
        return [c for c in _python_paragraphs(text) if c.strip()]
    head, rest = cells
    echo = any(line.strip() == ECHO_IMPORT for line in _LINE_BREAK.split(head))
    out = [] if _only_header(head) else [_trim(head)]
    out += [_trim(_unecho(c) if echo else c) for c in rest]
    return [c for c in out if c.strip()]


def bash_cells(text: str) -> list[str]:
    """A ``.sh`` file as submissions: its ``# %%`` cells, or blank-line-separated complete commands."""
    cells = _marked_cells(text)
    if cells is None:
        return _bash_paragraphs(text)
    head, rest = cells
    out = [] if _only_header(head) else [_trim(head)]
    return [c for c in out + [_trim(c) for c in rest] if c.strip()]


def _marked_cells(text: str) -> tuple[str, list[str]] | None:
    lines = _LINE_BREAK.split(text)
    marks = [i for i, line in enumerate(lines) if _CELL_LINE.match(line)]
    if not marks:
        return None
    head = "\n".join(lines[:marks[0]])
    bounds = marks + [len(lines)]
    return head, ["\n".join(lines[a + 1:b]) for a, b in zip(bounds, bounds[1:], strict=False)]


def _only_header(head: str) -> bool:
    """The part before the first cell holds nothing but comments, blank lines and our import."""
    return all(not line.strip() or line.lstrip().startswith("#") or line.strip() == ECHO_IMPORT
               for line in _LINE_BREAK.split(head))


def _python_paragraphs(text: str) -> list[str]:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return [_trim(text)]  # sent whole: the computer reports the error where it is
    lines = _LINE_BREAK.split(text)
    starts = []
    for node in tree.body:
        first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
        while first > 1 and lines[first - 2].lstrip().startswith("#") and not (
                first == 2 and lines[0].startswith("#!")):
            first -= 1  # comments directly above a statement belong to it
        starts.append((first, node.end_lineno or node.lineno))
    out: list[str] = []
    group_start, group_end = None, 0
    for first, last in starts:
        if group_start is not None and any(not lines[j].strip() for j in range(group_end, first - 1)):
            out.append(_trim("\n".join(lines[group_start - 1:group_end])))
            group_start = None
        if group_start is None:
            group_start = first
        group_end = max(group_end, last)
    if group_start is not None:
        out.append(_trim("\n".join(lines[group_start - 1:group_end])))
    return out


def _bash_paragraphs(text: str) -> list[str]:
    out: list[str] = []
    chunk: list[str] = []
    for line in _LINE_BREAK.split(text):
        if not line.strip() and chunk and bash_is_complete("\n".join(chunk) + "\n"):
            body = _trim("\n".join(chunk))
            if any(not l.lstrip().startswith("#") for l in chunk if l.strip()):
                out.append(body)
            chunk = []
            continue
        if line.startswith("#!") and not out and not chunk:
            continue
        if line.strip() or chunk:
            chunk.append(line)
    if chunk and any(not l.lstrip().startswith("#") for l in chunk if l.strip()):
        out.append(_trim("\n".join(chunk)))
    return out


def _trim(text: str) -> str:
    """Without blank lines around it and without trailing whitespace at the very end."""
    lines = _LINE_BREAK.split(text)
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# Writing


def _groups(entries: Iterable[Entry]) -> Iterable[list[Entry]]:
    group: list[Entry] = []
    for entry in entries:
        if group and (entry.seq is None or entry.seq != group[0].seq):
            yield group
            group = []
        group.append(entry)
    if group:
        yield group


def _json_document(info: dict[str, str], entries: Iterable[Entry]) -> dict[str, Any]:
    return {"format": JSON_FORMAT, "version": 1, "orgorepl": __version__, **info,
            "entries": [e.to_dict() for e in entries]}


def _jsonl_lines(entries: Iterable[Entry]) -> Iterable[str]:
    for entry in entries:
        yield json.dumps(entry.to_dict(), ensure_ascii=False) + "\n"


def _md_header(info: dict[str, str]) -> str:
    where = f" on **{_md_escape(info['computer'])}**" if info["computer"] else ""
    return (f"# orgorepl session{where}\n\nStarted {info['started_at']} · orgorepl {__version__}\n\n")


def _md_group(group: list[Entry]) -> str:
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
    if entry.status == "ok":
        return ""
    if entry.status == "error":
        text = f"{entry.error_type or 'Error'}: {entry.error}" if entry.error else (entry.error_type or "Error")
    elif entry.status == "timeout":
        text = f"timed out after {entry.timeout}s" if entry.timeout else "timed out"
    elif entry.status == "exit":
        text = f"exit {entry.exit_code}"
    elif entry.status == "interrupted":
        text = "interrupted (the call was abandoned; it may have run on the computer)"
    else:
        text = f"not run: {entry.error}" if entry.error else "failed"
    return " ".join(f"{text} · {entry.elapsed:.2f}s".split())


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


def _script_header(info: dict[str, str], mode: str) -> str:
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


def _script_cell(group: list[Entry], mode: str) -> str | None:
    """A submission of ``mode`` that ran ok on at least one target, as one script cell."""
    first = group[0]
    if first.mode != mode or not any(e.ok for e in group):
        return None
    source = _trim(first.source)
    if mode == "python":
        source = _echo_final(source)
    return f"\n{CELL_MARK}\n{source}\n"


def _echo_final(source: str) -> str:
    """``source`` with its final expression statement wrapped in ``_echo(...)``, as the REPL
    displayed it.  ``print(...)`` is left alone: it returns None, which is never displayed."""
    node = _final_expression(source)
    if node is None:
        return source
    call = node.value
    if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "print":
        return source
    start, end = _offsets(source, node.value)
    return f"{source[:start]}{ECHO_NAME}({source[start:end]}){source[end:]}"


def _unecho(source: str) -> str:
    """The inverse of :func:`_echo_final`, so a replayed cell is what the user typed."""
    node = _final_expression(source)
    if node is None:
        return source
    call = node.value
    if (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == ECHO_NAME
            and len(call.args) == 1 and not call.keywords):
        outer, inner = _offsets(source, call), _offsets(source, call.args[0])
        return source[:outer[0]] + source[inner[0]:inner[1]] + source[outer[1]:]
    return source


def _final_expression(source: str) -> ast.Expr | None:
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return None
    last = tree.body[-1] if tree.body else None
    return last if isinstance(last, ast.Expr) else None


def _offsets(source: str, node: ast.AST) -> tuple[int, int]:
    """String offsets of a node (ast columns count UTF-8 bytes, not characters)."""
    starts, pos = [], 0
    for match in _LINE_BREAK.finditer(source + "\n"):
        starts.append((pos, source[pos:match.start()]))
        pos = match.end()

    def at(line: int, col: int) -> int:
        line_start, text = starts[line - 1]
        return line_start + len(text.encode("utf-8")[:col].decode("utf-8", "ignore"))

    return at(node.lineno, node.col_offset), at(node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]


# --------------------------------------------------------------------------------------------
# Files


def _suffix(path: Path, allowed: tuple[str, ...], what: str, hint: str = "") -> str:
    kind = path.suffix.lower()
    if kind not in allowed:
        extra = f" ({hint})" if hint and kind == ".json" else ""
        raise ValueError(
            f"cannot tell the {what} format of {path.name!r}{extra}: use one of {', '.join(allowed)}"
        )
    return kind


def _write_atomically(path: Path, text: str) -> None:
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


class _Log:
    """An append-only mirror of the transcript; every write goes straight to the file descriptor
    and is fsync'd.  A write that fails half-way is cut back off, so the log stays well-formed."""

    def __init__(self, path: Path, kind: str) -> None:
        self.path, self.kind = path, kind
        self._file = paths.open_private(path, "a", private_dir=False)
        self._fresh = os.fstat(self._file.fileno()).st_size == 0  # a new log gets a header

    def write(self, info: dict[str, str], group: list[Entry]) -> None:
        parts: list[str] = []
        if self._fresh and self.kind != ".jsonl":
            parts.append(_md_header(info) if self.kind == ".md"
                         else _script_header(info, "python" if self.kind == ".py" else "bash"))
        if group:
            if self.kind == ".jsonl":
                parts.extend(_jsonl_lines(group))
            elif self.kind == ".md":
                parts.append(_md_group(group))
            else:
                cell = _script_cell(group, "python" if self.kind == ".py" else "bash")
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
