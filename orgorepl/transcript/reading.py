"""Reading a session back as submissions (for replay): saved transcripts and hand-written lessons.
"""

from __future__ import annotations

import ast
import json
import os
import re
from pathlib import Path

from orgorepl.modes import Kind, Mode, classify
from orgorepl.session.completeness import bash_is_complete
from orgorepl.transcript.entry import (
    JSON_FORMAT,
    LINE_BREAK,
    LOAD_FORMATS,
    Entry,
    Submission,
    check_suffix,
    entry_groups,
    trim,
)
from orgorepl.transcript.pyecho import ECHO_IMPORT, unecho

_CELL_LINE = re.compile(r"^# %%(?:[ \t].*)?$")
_PY_LANGS = frozenset(("python", "py", "python3"))
_SH_LANGS = frozenset(("bash", "sh", "shell"))
_FENCE = re.compile(r"^( {0,3})(`{3,}|~{3,})(.*)$")


def load_entries(path: str | os.PathLike[str]) -> list[Entry]:
    """The entries of a ``.json`` or ``.jsonl`` transcript."""
    target = Path(path).expanduser()
    kind = check_suffix(target, (".json", ".jsonl"), "transcript")
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
    kind = check_suffix(target, LOAD_FORMATS, "session")
    if kind in (".json", ".jsonl"):
        return [Submission(Mode(g[0].mode), g[0].source) for g in entry_groups(load_entries(target))]
    text = target.read_text(encoding="utf-8")
    if kind in (".md", ".markdown"):
        return markdown_submissions(text)
    if kind == ".py":
        return [Submission(Mode.PYTHON, s) for s in python_cells(text)]
    return [Submission(Mode.BASH, s) for s in bash_cells(text)]


def markdown_submissions(text: str) -> list[Submission]:
    """Fenced code blocks whose info string is python or bash (``!cmd`` in a python block is
    bash; ``%meta`` lines are skipped: they are not submissions)."""
    out: list[Submission] = []
    lines = LINE_BREAK.split(text)
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
            if (stripped.startswith(fence[0] * len(fence)) and set(stripped) == {fence[0]}
                    and len(line) - len(line.lstrip(" ")) < 4):
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
            out.append(Submission(item.mode, trim(item.text)))
    return out


def python_cells(text: str) -> list[str]:
    """A ``.py`` file as submissions: its ``# %%`` cells, or its blank-line-separated statements."""
    cells = _marked_cells(text)
    if cells is None:
        return [c for c in _python_paragraphs(text) if c.strip()]
    head, rest = cells
    echo = any(line.strip() == ECHO_IMPORT for line in LINE_BREAK.split(head))
    out = [] if _only_header(head) else [trim(head)]
    out += [trim(unecho(c) if echo else c) for c in rest]
    return [c for c in out if c.strip()]


def bash_cells(text: str) -> list[str]:
    """A ``.sh`` file as submissions: its ``# %%`` cells, or blank-line-separated complete commands."""
    cells = _marked_cells(text)
    if cells is None:
        return _bash_paragraphs(text)
    head, rest = cells
    out = [] if _only_header(head) else [trim(head)]
    return [c for c in out + [trim(c) for c in rest] if c.strip()]


def _marked_cells(text: str) -> tuple[str, list[str]] | None:
    lines = LINE_BREAK.split(text)
    marks = [i for i, line in enumerate(lines) if _CELL_LINE.match(line)]
    if not marks:
        return None
    head = "\n".join(lines[:marks[0]])
    bounds = marks + [len(lines)]
    return head, ["\n".join(lines[a + 1:b]) for a, b in zip(bounds, bounds[1:], strict=False)]


def _only_header(head: str) -> bool:
    """The part before the first cell holds nothing but comments, blank lines and our import."""
    return all(not line.strip() or line.lstrip().startswith("#") or line.strip() == ECHO_IMPORT
               for line in LINE_BREAK.split(head))


def _python_paragraphs(text: str) -> list[str]:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return [trim(text)]  # sent whole: the computer reports the error where it is
    lines = LINE_BREAK.split(text)
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
            out.append(trim("\n".join(lines[group_start - 1:group_end])))
            group_start = None
        if group_start is None:
            group_start = first
        group_end = max(group_end, last)
    if group_start is not None:
        out.append(trim("\n".join(lines[group_start - 1:group_end])))
    return out


def _bash_paragraphs(text: str) -> list[str]:
    out: list[str] = []
    chunk: list[str] = []
    for line in LINE_BREAK.split(text):
        if not line.strip() and chunk and bash_is_complete("\n".join(chunk) + "\n"):
            body = trim("\n".join(chunk))
            if any(not c.lstrip().startswith("#") for c in chunk if c.strip()):
                out.append(body)
            chunk = []
            continue
        if line.startswith("#!") and not out and not chunk:
            continue
        if line.strip() or chunk:
            chunk.append(line)
    if chunk and any(not c.lstrip().startswith("#") for c in chunk if c.strip()):
        out.append(trim("\n".join(chunk)))
    return out
