"""Completion and introspection probes: what goes on the wire, and what the reply means (no I/O).

A probe is a request of its own, never a submission: the Python one loads the saved session
read-only (``remote_complete.load_session``: definitions rebuilt, values unpickled on demand,
no file written) and the bash one sources the session's state without the saving trap, so
neither can change what the next submission finds.  The reply is one marked line of JSON; a
reply without it (a timeout, a failure, a stalled server) means "nothing to offer", never an
error on screen.
"""

from __future__ import annotations

import base64
import functools
import json
import re
import secrets
import zlib
from dataclasses import dataclass
from pathlib import Path

from orgorepl.session.bash_cell import SESSION_ROOT

PROBE_TIMEOUT = 5  # seconds the remote may take: a menu later than that is of no use
_INTROSPECT = re.compile(r"^\s*((?:[A-Za-z_][A-Za-z0-9_]*\.)*[A-Za-z_][A-Za-z0-9_]*)\s*(\?\??)\s*$")


@dataclass(frozen=True)
class Item:
    text: str  # what replaces the word
    meta: str = ""  # its kind: function, module, class, instance of X, file, directory...
    display: str | None = None  # what the menu shows, when not ``text``


@dataclass(frozen=True)
class Completions:
    word: str  # the text before the cursor that an item replaces
    items: tuple[Item, ...] = ()
    signature: str = ""  # the callee's signature when the cursor is inside a call


NOTHING = Completions("")


@functools.lru_cache(maxsize=1)
def source() -> str:
    """``remote_complete.py`` as shipped: the live agent and the HTTP probe run this same text."""
    return Path(__file__).with_name("remote_complete.py").read_text(encoding="utf-8")


@functools.lru_cache(maxsize=1)
def _packed() -> str:
    """The HTTP probe's program: the session's own restore (``remote_source.py``,
    ``remote_values.py``, ``remote_runtime.py``, ``remote_state.py``, the same text a submission
    runs, used read-only) ahead of ``remote_complete.py``, so a probe sees the session exactly as
    the next submission will."""
    here = Path(__file__)
    text = "".join(here.with_name(name).read_text(encoding="utf-8") + "\n"
                   for name in ("remote_source.py", "remote_values.py", "remote_runtime.py",
                                "remote_state.py")) + source()
    return base64.b64encode(zlib.compress(text.encode("utf-8"), 9)).decode("ascii")


def introspection(text: str) -> tuple[str, bool] | None:
    """``obj?`` -> (``obj``, False), ``obj??`` -> (``obj``, True): IPython's convention."""
    m = _INTROSPECT.match(text)
    return (m.group(1), m.group(2) == "??") if m else None


# ------------------------------------------------------------------------------- Python


@dataclass(frozen=True)
class Probe:
    program: str  # the /exec ``code`` or /bash ``command``
    mark: str

    def reply(self, output: str) -> dict[str, object] | None:
        at = output.rfind(self.mark)
        if at < 0:
            return None
        line = output[at + len(self.mark):].split("\n", 1)[0]
        try:
            data = json.loads(line)
        except ValueError:
            return None
        return data if isinstance(data, dict) else None


def _mark() -> str:
    return f"\x1e__orgorepl_probe_{secrets.token_hex(6)}:"


def python_request(text: str, session_id: str | None) -> dict[str, object]:
    return {"what": "complete", "text": text[-8000:], "sid": session_id}


def inspect_request(expr: str, source_too: bool, session_id: str | None) -> dict[str, object]:
    return {"what": "inspect", "expr": expr, "source": source_too, "sid": session_id}


def python_probe(request: dict[str, object]) -> Probe:
    mark = _mark()
    program = (
        "import base64 as __orgo_b, zlib as __orgo_z\n"
        "__orgo_g = {'__name__': '__orgo_complete__'}\n"
        f"exec(compile(__orgo_z.decompress(__orgo_b.b64decode({_packed()!r})), '<orgo-complete>', 'exec'),"
        " __orgo_g)\n"
        f"print({mark!r} + __orgo_g['answer']({request!r}))\n"
    )
    return Probe(program, mark)


def completions(data: dict[str, object] | None) -> Completions:
    if not data or "items" not in data:
        return NOTHING
    raw = data.get("items")
    found = tuple(Item(str(i[0]), str(i[1])) for i in raw if isinstance(i, list) and len(i) == 2) \
        if isinstance(raw, list) else ()
    return Completions(str(data.get("word") or ""), found, str(data.get("sig") or ""))


# ------------------------------------------------------------------------------- bash

_BREAKS = set(" \t;|&()<>")
_COMMAND_BEFORE = re.compile(r"(?:^|[;|&(]|\b(?:then|do|else|sudo|time|exec|nohup|env))\s*$")
_SAFE = re.compile(r"[A-Za-z0-9_@%+=:,./~-]")

_BASH = r"""__orgo_sd="$HOME/{root}/{sid}";
if [ -n {cwd} ]; then cd -- {cwd} 2>/dev/null;
elif [ -f "$__orgo_sd/cwd" ]; then IFS= read -r __orgo_cwd < "$__orgo_sd/cwd"; cd -- "$__orgo_cwd" 2>/dev/null; fi;
if [ -f "$__orgo_sd/env0" ]; then
  while IFS= read -r -d '' __orgo_kv; do
    case "${{__orgo_kv%%=*}}" in PWD|OLDPWD|SHLVL|_|''|[0-9]*|*[!A-Za-z0-9_]*) continue;; esac;
    export "$__orgo_kv" 2>/dev/null;
  done < "$__orgo_sd/env0";
fi;
if [ -f "$__orgo_sd/bash.state" ]; then . "$__orgo_sd/bash.state" >/dev/null 2>&1; fi;
__orgo_w={word};
printf '\n%s' {mark};
{{ case {kind} in
  cmd) compgen -c -- "$__orgo_w" | sort -u;;
  var) compgen -v -- "$__orgo_w" | grep -v '^__orgo_';;
  *) compgen -f -- "$__orgo_w" | while IFS= read -r __orgo_f; do
       if [ -d "${{__orgo_f/#\~/$HOME}}" ]; then printf '%s/\n' "$__orgo_f"; else printf '%s\n' "$__orgo_f"; fi;
     done;;
esac; }} | head -n 500 | {{ __orgo_sep=''; printf '['; while IFS= read -r __orgo_x; do
  __orgo_x=${{__orgo_x//\\/\\\\}}; __orgo_x=${{__orgo_x//\"/\\\"}};
  printf '%s"%s"' "$__orgo_sep" "$__orgo_x"; __orgo_sep=','; done; printf ']\n'; }}
"""


@dataclass(frozen=True)
class BashWord:
    raw: str  # the word as typed (quotes and backslashes included): what an item replaces
    value: str  # what it means once unquoted
    kind: str  # cmd | var | file
    quote: str = ""  # the open quote it started with, if any


def _quote(line: str) -> tuple[int, str]:
    """Where the current (last) word of ``line`` starts, and the quote it is inside, if any."""
    start, quote, i = 0, "", 0
    while i < len(line):
        ch = line[i]
        if quote:
            if ch == quote:
                quote = ""
            elif ch == "\\" and quote == '"':
                i += 1
        elif ch == "\\":
            i += 1
        elif ch in "'\"":
            quote = ch
        elif ch in _BREAKS:
            start = i + 1
        i += 1
    return start, quote


def bash_word(text: str) -> BashWord:
    line = text.rsplit("\n", 1)[-1]
    start, quote = _quote(line)
    raw = line[start:]
    value, i, q = "", 0, ""
    while i < len(raw):
        ch = raw[i]
        if q and ch == q:
            q = ""
        elif not q and ch in "'\"":
            q = ch
        elif ch == "\\" and q != "'" and i + 1 < len(raw):
            i += 1
            value += raw[i]
        else:
            value += ch
        i += 1
    if value.startswith("$") and not quote.startswith("'") and re.fullmatch(r"\$\{?[A-Za-z0-9_]*", value):
        return BashWord(raw, value.lstrip("${"), "var", quote)
    if "/" not in value and _COMMAND_BEFORE.search(line[:start]):
        return BashWord(raw, value, "cmd", quote)
    return BashWord(raw, value, "file", quote)


def bash_probe(word: BashWord, session_id: str | None, cwd: str | None) -> Probe:
    mark = _mark()
    body = _BASH.format(root=SESSION_ROOT, sid=session_id or "-", cwd=_sq(cwd or ""), word=_sq(word.value),
                        mark=_sq(mark), kind=word.kind)
    return Probe(" ".join(line.strip() for line in body.split("\n")), mark)


def bash_completions(word: BashWord, found: object) -> Completions:
    """Each name quoted for the shell as the word was (inside its open quote, or escaped), a
    leading ``~`` kept; a directory ends in ``/`` so the next Tab goes on into it."""
    if not isinstance(found, list):
        return NOTHING
    items = []
    for name in found:
        if not isinstance(name, str) or not name.startswith(word.value) or name == word.value:
            continue
        if word.kind == "var":
            prefix = "${" if word.raw.startswith("${") else "$"
            items.append(Item(prefix + name, "variable", name))
            continue
        shown = name.rstrip("/").rsplit("/", 1)[-1] + ("/" if name.endswith("/") else "")
        meta = "directory" if name.endswith("/") else ("command" if word.kind == "cmd" else "file")
        items.append(Item(_requote(name, word.quote), meta, shown))
    return Completions(word.raw, tuple(items))


def bash_reply(probe: Probe, output: str) -> list[str] | None:
    at = output.rfind(probe.mark)
    if at < 0:
        return None
    try:
        found = json.loads(output[at + len(probe.mark):].split("\n", 1)[0])
    except ValueError:
        return None
    return found if isinstance(found, list) else None


def _requote(name: str, quote: str) -> str:
    if quote == "'":
        return "'" + name.replace("'", "'\\''")
    if quote == '"':
        return '"' + re.sub(r'(["\\$`])', r"\\\1", name)
    head = "~" if name.startswith("~") else ""
    rest = name[len(head):]
    return head + "".join(ch if _SAFE.match(ch) else "\\" + ch for ch in rest)


def _sq(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"
