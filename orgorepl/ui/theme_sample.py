"""The few lines `orgorepl themes` shows in each theme, made by the real widgets and renderers.

Nothing here is styled by hand: the prompts come from ``ui.prompt``, the code is coloured by the
REPL's own lexer, the results by ``render.result``, the toolbar by ``ui.toolbar``.  So a sample
shows exactly the classes the REPL uses, and a theme that looks right here looks right there.
:func:`sample_html` draws the same fragments as HTML for the documentation.
"""

from __future__ import annotations

import html

from prompt_toolkit.document import Document
from prompt_toolkit.formatted_text import FormattedText, StyleAndTextTuples
from prompt_toolkit.styles import BaseStyle, default_ui_style, merge_styles

from orgorepl.errors import ConnectError
from orgorepl.modes import Mode
from orgorepl.outcome import Outcome, Status
from orgorepl.render.result import (
    render_error_line,
    render_note,
    render_outcome,
)
from orgorepl.themes import Theme
from orgorepl.ui.lexer import ModeLexer
from orgorepl.ui.prompt import continuation_fragments, prompt_fragments
from orgorepl.ui.state import LastCall, Link, UiState
from orgorepl.ui.toolbar import session_toolbar

WIDTH = 76

_PYTHON = '''def greet(name: str, times: int = 2) -> str:
    """Say hello."""  # a comment
    return f"hello {name}! " * times'''

_TRACEBACK = """Traceback (most recent call last):
  File "<cell>", line 3, in greet
TypeError: can't multiply sequence by non-int of type 'str'
"""


def sample(theme: Theme | None = None, width: int = WIDTH) -> FormattedText:
    """The sample as fragments; print it with ``build_style(theme)`` as the style.

    It opens with the theme's name and description (in the banner's classes), so a listing can
    print one sample after another and nothing else.
    """
    out: StyleAndTextTuples = []
    if theme is not None:
        out += [("class:banner", theme.name), ("class:banner.hint", f" · {theme.description}\n")]
    out += _typed(Mode.PYTHON, _PYTHON)
    out += _typed(Mode.PYTHON, "greet('you', 'twice')")
    out += render_outcome(Outcome(Mode.PYTHON, Status.ERROR, traceback=_TRACEBACK, error_type="TypeError",
                                  error="can't multiply sequence by non-int of type 'str'", timeout=10,
                                  duration=0.2))
    out += _typed(Mode.PYTHON, "%timeout 5")
    out += _typed(Mode.PYTHON, "!ls -l $HOME")
    out += _typed(Mode.BASH, "sleep 60", cwd="~/work")
    out += render_outcome(Outcome(Mode.BASH, Status.TIMEOUT, timeout=5, duration=5.0))
    out += _typed(Mode.BASH, 'grep -q "needle" haystack.txt', cwd="~/work")
    out += render_outcome(Outcome(Mode.BASH, Status.EXIT, exit_code=1, timeout=60, duration=0.1))
    out += render_note("state kept: greet (function)")
    out += render_error_line(ConnectError("cannot reach the computer"))
    out += _typed(Mode.PYTHON, "import js", suggestion="on")
    out += _typed(Mode.PYTHON, "pr")
    out += _menu([("print", "function"), ("property", "class")], indent=3)
    out += _toolbar(width)
    return FormattedText(out)


def _typed(mode: Mode, text: str, *, cwd: str | None = None, suggestion: str = "") -> StyleAndTextTuples:
    """``text`` as it looks typed at the prompt of ``mode``, highlighted by the REPL's lexer."""
    lexer = ModeLexer(lambda: mode).lex_document(Document(text))
    frags: StyleAndTextTuples = []
    for number in range(text.count("\n") + 1):
        if number == 0:
            frags += prompt_fragments(mode, cwd)
        else:
            frags += continuation_fragments(mode, len(prompt_fragments(mode, cwd)[-1][1]))
        frags += lexer(number)
        if suggestion and number == text.count("\n"):
            frags.append(("class:auto-suggestion", suggestion))
        frags.append(("", "\n"))
    return frags


def _menu(entries: list[tuple[str, str]], indent: int) -> StyleAndTextTuples:
    """The completion menu as prompt_toolkit draws it: the first entry selected."""
    wide = max(len(name) for name, _ in entries) + 2
    meta_wide = max(len(meta) for _, meta in entries) + 2
    frags: StyleAndTextTuples = []
    for index, (name, meta) in enumerate(entries):
        if index == 0:
            entry = "class:completion-menu class:completion-menu.completion.current"
            about = "class:completion-menu class:completion-menu.meta.completion.current"
            bar = "class:completion-menu class:scrollbar.button"
        else:
            entry = "class:completion-menu class:completion-menu.completion"
            about = "class:completion-menu class:completion-menu.meta.completion"
            bar = "class:completion-menu class:scrollbar.background"
        frags += [("", " " * indent), (entry, f" {name}".ljust(wide)),
                  (about, f" {meta}".ljust(meta_wide)), (bar, " "), ("", "\n")]
    return frags


def _toolbar(width: int) -> StyleAndTextTuples:
    state = UiState(
        mode=Mode.PYTHON, link=Link.READY, computer_name="dev-box", computer_status="running",
        last=LastCall("error", "TypeError", 0.2),
    )
    base = "class:bottom-toolbar class:bottom-toolbar.text"
    frags: StyleAndTextTuples = [(f"{base} {style}".rstrip(), text) for style, text, *_ in session_toolbar(state)]
    used = sum(len(text) for _, text, *_ in frags)
    if used < width:
        frags.append((base, " " * (width - used)))
    frags.append(("", "\n"))
    return frags


# ------------------------------------------------------------------------------------------------
# HTML, for the documentation

# xterm's palette, used only to show ANSI colours on a web page (a terminal uses its own).
_ANSI_HEX = {
    "ansiblack": "#000000", "ansired": "#cd0000", "ansigreen": "#00cd00", "ansiyellow": "#cdcd00",
    "ansiblue": "#0000ee", "ansimagenta": "#cd00cd", "ansicyan": "#00cdcd", "ansigray": "#e5e5e5",
    "ansibrightblack": "#7f7f7f", "ansibrightred": "#ff0000", "ansibrightgreen": "#00ff00",
    "ansibrightyellow": "#ffff00", "ansibrightblue": "#5c5cff", "ansibrightmagenta": "#ff00ff",
    "ansibrightcyan": "#00ffff", "ansiwhite": "#ffffff",
}
_PAGE = {"dark": ("#d0d0d0", "#1c1c1c"), "light": ("#1c1c1c", "#ffffff"), "any": ("#d0d0d0", "#1c1c1c")}


def sample_html(theme: Theme, style: BaseStyle | None = None) -> str:
    """The sample as a ``<pre>`` with inline colours, on the background the theme was made for.

    ``style`` defaults to ``build_style(theme)``; prompt_toolkit's own defaults sit under it, as
    they do in the terminal.
    """
    if style is None:
        from orgorepl.ui.style import build_style

        style = build_style(theme)
    merged = merge_styles([default_ui_style(), style])
    fg, bg = _PAGE.get(theme.background, _PAGE["any"])
    parts = [f'<pre class="orgorepl-sample" style="color:{fg};background:{bg};padding:0.6em">']
    for style_str, text, *_ in sample(theme):
        attrs = merged.get_attrs_for_style_str(style_str)
        css = _css(attrs, fg, bg)
        body = html.escape(text)
        parts.append(f'<span style="{css}">{body}</span>' if css else body)
    parts.append("</pre>")
    return "".join(parts)


def docs_samples() -> str:
    """Markdown for the documentation: each bundled theme (never a user's) with its sample."""
    from orgorepl import themes

    parts = []
    for name, source in themes.bundled().items():
        theme = themes.load_source(source)
        parts.append(f"### `{name}`\n\n{theme.description}\n\n{sample_html(theme)}\n")
    return "\n".join(parts)


def _hex(colour: str) -> str | None:
    if not colour or colour in ("default", "ansidefault"):
        return None
    return _ANSI_HEX.get(colour) or f"#{colour}"


def _css(attrs, page_fg: str, page_bg: str) -> str:
    colour, background = _hex(attrs.color), _hex(attrs.bgcolor)
    if attrs.reverse:
        colour, background = background or page_bg, colour or page_fg
    rules = []
    if colour:
        rules.append(f"color:{colour}")
    if background:
        rules.append(f"background:{background}")
    if attrs.bold:
        rules.append("font-weight:bold")
    if attrs.italic:
        rules.append("font-style:italic")
    lines = [name for name, on in (("underline", attrs.underline), ("line-through", attrs.strike)) if on]
    if lines:
        rules.append(f"text-decoration:{' '.join(lines)}")
    return ";".join(rules)


def print_sample(theme: Theme, style: BaseStyle) -> None:
    """``orgorepl themes``: the sample on the terminal, in the theme's own colours."""
    from prompt_toolkit import print_formatted_text

    print_formatted_text(sample(theme), style=style, include_default_pygments_style=False)
