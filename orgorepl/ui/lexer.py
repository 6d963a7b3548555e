"""Input highlighting that follows the same rule that decides where the input is sent.

``modes.classify`` says whether the text is Python, bash (bash mode or a ``!`` line) or a
``%meta`` command; this lexer only maps that answer to a Pygments lexer.  The Pygments lexers are
imported and built on first use, not at import, so an empty first prompt pays nothing for them.
"""

from __future__ import annotations

from collections.abc import Callable

from prompt_toolkit.document import Document
from prompt_toolkit.formatted_text import StyleAndTextTuples
from prompt_toolkit.lexers import Lexer, PygmentsLexer

from orgorepl.modes import Kind, Mode, classify


def _python() -> PygmentsLexer:
    from pygments.lexers.python import PythonLexer

    return PygmentsLexer(PythonLexer)


def _bash() -> PygmentsLexer:
    from pygments.lexers.shell import BashLexer

    return PygmentsLexer(BashLexer)


class ModeLexer(Lexer):
    def __init__(self, get_mode: Callable[[], Mode]) -> None:
        self._get_mode = get_mode
        self._lexers: dict[str, PygmentsLexer] = {}
        self._factories = {"python": _python, "bash": _bash}

    def _lexer(self, name: str) -> PygmentsLexer:
        lexer = self._lexers.get(name)
        if lexer is None:
            lexer = self._lexers[name] = self._factories[name]()
        return lexer

    def warm_up(self) -> None:
        """Build the current mode's Pygments lexer now (about 20 ms of imports and regex
        compiling), so the first key press does not pay for it.  Safe from any thread."""
        self._lexer(self._get_mode().value)

    def language(self, text: str) -> str:
        """"python", "bash", "meta" or "empty": what ``text`` typed now would be."""
        kind = classify(text, self._get_mode())
        if kind.kind is Kind.META:
            return "meta"
        if kind.kind is Kind.EMPTY:
            return "empty"
        return kind.mode.value

    def lex_document(self, document: Document) -> Callable[[int], StyleAndTextTuples]:
        language = self.language(document.text)
        if language == "bash" and self._get_mode() is Mode.PYTHON:
            return self._lex_shell_escape(document)
        if language in ("python", "bash"):
            return self._lexer(language).lex_document(document)
        lines = document.lines
        style = "class:meta-command" if language == "meta" else ""

        def get_line(lineno: int) -> StyleAndTextTuples:
            return [(style, lines[lineno])] if lineno < len(lines) else []

        return get_line

    def _lex_shell_escape(self, document: Document) -> Callable[[int], StyleAndTextTuples]:
        """`!cmd`: lex ``cmd`` as bash (the `!` would glue onto the first word) and mark the `!`."""
        text = document.text
        bang = text.index("!")
        row, col = document.translate_index_to_position(bang)
        inner = self._lexer("bash").lex_document(Document(text[:bang] + " " + text[bang + 1:]))

        def get_line(lineno: int) -> StyleAndTextTuples:
            fragments = inner(lineno)
            if lineno != row:
                return fragments
            out: StyleAndTextTuples = []
            pos = 0
            for style, piece, *_rest in fragments:
                if pos <= col < pos + len(piece):
                    cut = col - pos
                    if cut:
                        out.append((style, piece[:cut]))
                    out.append(("class:shell-escape", "!"))
                    if piece[cut + 1:]:
                        out.append((style, piece[cut + 1:]))
                else:
                    out.append((style, piece))
                pos += len(piece)
            return out

        return get_line
