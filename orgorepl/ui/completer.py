"""Tab completion: what the remote knows first, what is known locally when it has nothing.

The remote namespace, PATH and files cannot be read without a round trip, so the REPL layer
hands in ``remote``: a function that answers from its cache or asks the computer in the
background and gives up after a short wait (``repl/completion.py``).  This module never calls
out itself; the session wraps it in a ``ThreadedCompleter``, so even that wait happens off the
UI's loop and typing never waits for it.  Without an answer, it offers meta-commands, Python
words and the names typed in earlier submissions (``learn``), all instant.
"""

from __future__ import annotations

import builtins
import keyword
import os
import re
from collections.abc import Callable, Iterable, Mapping

from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document

from orgorepl.modes import META_PREFIX, SHELL_PREFIX, Kind, Mode, classify
from orgorepl.session.complete import Completions

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_WORD_BEFORE_CURSOR = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*$")
_MAX_LEARNED = 5000

# what a meta-command's arguments are, first and second: local/remote paths, themes, computers
META_ARGS: dict[str, tuple[str, ...]] = {
    "put": ("local", "remote"), "get": ("remote", "local"), "save": ("local",), "save-output": ("local",),
    "theme": ("theme",), "target": ("verb", "computer"),
}
_TARGET_VERBS = ("list", "add", "remove")

Remote = Callable[[str, Mode, bool], "Completions | None"]  # (text before cursor, mode, Tab pressed)


class ReplCompleter(Completer):
    def __init__(self, get_mode: Callable[[], Mode], commands: Mapping[str, str], *,
                 remote: Remote | None = None, themes: Callable[[], Iterable[str]] = lambda: (),
                 computers: Callable[[], Iterable[str]] = lambda: ()) -> None:
        """``commands`` maps meta-command names to their one-line help."""
        self._get_mode = get_mode
        self._commands = dict(commands)
        self._remote = remote
        self._themes, self._computers = themes, computers
        self._learned: dict[Mode, dict[str, None]] = {Mode.PYTHON: {}, Mode.BASH: {}}
        self._python_words = sorted(set(keyword.kwlist) | {n for n in dir(builtins) if not n.startswith("__")})

    def learn(self, text: str, mode: Mode) -> None:
        """Remember identifiers of a submission (insertion-ordered, bounded)."""
        seen = self._learned[mode]
        for word in _WORD.findall(text):
            if len(word) > 2:
                seen.pop(word, None)
                seen[word] = None
        while len(seen) > _MAX_LEARNED:
            seen.pop(next(iter(seen)))

    def get_completions(self, document: Document, complete_event: CompleteEvent) -> Iterable[Completion]:
        text = document.text_before_cursor
        mode = self._get_mode()
        stripped = text.lstrip()
        if stripped.startswith(META_PREFIX) and "\n" not in text:
            if " " not in stripped:
                typed = stripped[1:]
                for name in sorted(self._commands):
                    if name.startswith(typed):
                        yield Completion(f"%{name}", -len(stripped), display_meta=self._commands[name])
            else:
                yield from self._meta_arguments(stripped[1:], complete_event)
            return
        if mode is Mode.PYTHON and stripped.startswith(SHELL_PREFIX) and "\n" not in text:
            yield from self._from_remote(stripped[1:], Mode.BASH, complete_event)
            return
        answered = False
        for completion in self._from_remote(text, mode, complete_event):
            answered = True
            yield completion
        if not answered:
            yield from self._local(document, text, mode)

    def _from_remote(self, text: str, mode: Mode, event: CompleteEvent) -> Iterable[Completion]:
        if self._remote is None:
            return
        found = self._remote(text, mode, event.completion_requested)
        if found is None:
            return
        for item in found.items:
            yield Completion(item.text, -len(found.word), display=item.display, display_meta=item.meta)

    def _local(self, document: Document, text: str, mode: Mode) -> Iterable[Completion]:
        match = _WORD_BEFORE_CURSOR.search(text)
        if not match or "." in match.group(0):
            return
        word = match.group(0)
        target = classify(document.text, mode)
        words: list[str] = list(reversed(self._learned[target.mode]))
        if target.kind is Kind.CODE and target.mode is Mode.PYTHON:
            words += self._python_words
        seen: set[str] = set()
        for candidate in words:
            if candidate.startswith(word) and candidate != word and candidate not in seen:
                seen.add(candidate)
                yield Completion(candidate, -len(word))

    def _meta_arguments(self, line: str, event: CompleteEvent) -> Iterable[Completion]:
        name, _, args = line.partition(" ")
        kinds = META_ARGS.get(name, ())
        words = args.split(" ")
        index = len([w for w in words[:-1] if w])
        if index >= len(kinds):
            return
        kind, word = kinds[index], words[-1]
        if kind == "remote":
            yield from self._from_remote("cat " + word, Mode.BASH, event)
            return
        if kind == "local":
            yield from local_paths(word)
            return
        names = {"theme": self._themes, "computer": self._computers, "verb": lambda: _TARGET_VERBS}[kind]()
        for option in names:
            if option.startswith(word) and option != word:
                yield Completion(option, -len(word), display_meta=kind)


def local_paths(word: str) -> Iterable[Completion]:
    """This machine's files for ``%put`` and ``%save``: instant, so no probe is needed."""
    head, _, rest = word.rpartition("/")
    where = os.path.expanduser(head or ".") if head or not word.startswith("/") else "/"
    if word.startswith("/") and not head:
        where = "/"
    try:
        names = sorted(os.listdir(where))
    except OSError:
        return
    for name in names:
        if not name.startswith(rest) or (name.startswith(".") and not rest.startswith(".")):
            continue
        is_dir = os.path.isdir(os.path.join(where, name))
        shown = name + ("/" if is_dir else "")
        yield Completion(shown.replace(" ", "\\ "), -len(rest), display=shown,
                         display_meta="directory" if is_dir else "file")
