"""Tab completion from what is known locally: meta-commands, Python words, names seen so far.

The remote namespace cannot be asked without a network round trip, so the completer offers the
names the user has already typed in earlier submissions (``learn``), plus Python keywords and
builtins in Python mode.  It never blocks and never calls out.
"""

from __future__ import annotations

import builtins
import keyword
import re
from collections.abc import Callable, Iterable, Mapping

from prompt_toolkit.completion import CompleteEvent, Completer, Completion
from prompt_toolkit.document import Document

from orgorepl.modes import META_PREFIX, Kind, Mode, classify

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_WORD_BEFORE_CURSOR = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*$")
_MAX_LEARNED = 5000


class ReplCompleter(Completer):
    def __init__(self, get_mode: Callable[[], Mode], commands: Mapping[str, str]) -> None:
        """``commands`` maps meta-command names to their one-line help."""
        self._get_mode = get_mode
        self._commands = dict(commands)
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
        if stripped.startswith(META_PREFIX) and "\n" not in text and " " not in stripped:
            typed = stripped[1:]
            for name in sorted(self._commands):
                if name.startswith(typed):
                    yield Completion(f"%{name}", -len(stripped), display_meta=self._commands[name])
            return
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
