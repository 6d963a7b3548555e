"""Fragments to the terminal in one write, with the colours print_formatted_text would use.

``prompt_toolkit.print_formatted_text`` merges the styles anew on every call, looks up every
fragment's attributes, and writes fragment by fragment; on a highlighted traceback of tens of
thousands of fragments that is most of the time between the result arriving and the prompt
coming back.  Here the escape sequence for each style string is computed once per (style, colour
depth) and kept, consecutive fragments of the same look are joined, and the whole text goes to
the output in one ``write_raw``.

What reaches the terminal is the same as with print_formatted_text: attributes reset first and
last, autowrap on, ``\\r`` removed and ``\\n`` written as ``\\r\\n`` (the terminal may be in raw
mode), and ``[ZeroWidthEscape]`` fragments written as they are.  One difference, on purpose:
every other control character in fragment text is made visible (``render.sanitize.make_inert``),
so no path that prints fragments can let the remote act on the terminal, even one that forgot to
sanitise (print_formatted_text only turns ESC into ``?`` and lets BEL, backspace and C1 through).
Outputs other than a VT100 terminal (a plain-text pipe, Windows, the dummy output of tests) go
through prompt_toolkit's own printer, which knows them.

Like print_formatted_text without a running application, this writes straight away: while a
prompt is on screen, call it inside ``run_in_terminal``.
"""

from __future__ import annotations

import io
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from prompt_toolkit.data_structures import Size
from prompt_toolkit.output import ColorDepth, Output
from prompt_toolkit.output.vt100 import Vt100_Output
from prompt_toolkit.styles import (
    BaseStyle,
    default_pygments_style,
    default_ui_style,
    merge_styles,
)

from orgorepl.render.sanitize import make_inert

_ZERO_WIDTH = "[ZeroWidthEscape]"
_RESET = "\x1b[0m"
_AUTOWRAP = "\x1b[?7h"
_CACHE_SIZE = 8


class _Codes(dict):
    """Style string -> the SGR sequence for it, computed on first use."""

    def __init__(self, style: BaseStyle, depth: ColorDepth) -> None:
        super().__init__()
        self._style = style
        self._depth = depth
        self._buffer = io.StringIO()
        self._scratch = Vt100_Output(self._buffer, lambda: Size(rows=24, columns=80), term="xterm")

    def __missing__(self, style_str: str) -> str:
        attrs = self._style.get_attrs_for_style_str(style_str)
        self._scratch.set_attributes(attrs, self._depth)
        self._scratch.flush()
        code = self._buffer.getvalue()
        self._buffer.seek(0)
        self._buffer.truncate()
        self[style_str] = code
        return code


_caches: OrderedDict[tuple[Any, ...], _Codes] = OrderedDict()


def _codes(style: BaseStyle | None, pygments: bool, depth: ColorDepth) -> _Codes:
    merged = _merged(style, pygments)
    key = (merged.invalidation_hash(), depth)
    codes = _caches.get(key)
    if codes is None:
        codes = _caches[key] = _Codes(merged, depth)
        while len(_caches) > _CACHE_SIZE:
            _caches.popitem(last=False)
    else:
        _caches.move_to_end(key)
    return codes


def _merged(style: BaseStyle | None, pygments: bool) -> BaseStyle:
    """The style print_formatted_text would use (prompt_toolkit's UI and Pygments defaults
    under the given one)."""
    styles = [default_ui_style()]
    if pygments:
        styles.append(default_pygments_style())
    if style is not None:
        styles.append(style)
    return merge_styles(styles)


def ansi_text(fragments: Iterable[tuple[Any, ...]], *, style: BaseStyle | None,
              color_depth: ColorDepth, include_default_pygments_style: bool = True) -> str:
    """The characters :func:`write_fragments` sends to a VT100 terminal for ``fragments``."""
    codes = _codes(style, include_default_pygments_style, color_depth)
    parts = [_RESET, _AUTOWRAP]
    run: list[str] = []
    current: str | None = None
    for style_str, text, *_ in fragments:
        if not text:
            continue
        code = codes[style_str]
        if code != current:
            if run:
                parts.append(_terminal_text("".join(run)))
                run = []
            parts.append(code)
            current = code
        if _ZERO_WIDTH in style_str:
            if run:
                parts.append(_terminal_text("".join(run)))
                run = []
            parts.append(text)
        else:
            run.append(text)
    if run:
        parts.append(_terminal_text("".join(run)))
    parts.append(_RESET)
    return "".join(parts)


def write_fragments(output: Output, fragments: Iterable[tuple[Any, ...]], *,
                    style: BaseStyle | None, color_depth: ColorDepth | None = None,
                    include_default_pygments_style: bool = True) -> None:
    """Print ``fragments`` on ``output`` as ``print_formatted_text(..., end="")`` would, fast.

    ``color_depth`` defaults to the output's own; ``ColorDepth.DEPTH_1_BIT`` writes no colours
    (bold, underline and the like stay).
    """
    depth = color_depth or output.get_default_color_depth()
    if not isinstance(output, Vt100_Output):
        from prompt_toolkit.formatted_text import FormattedText
        from prompt_toolkit.renderer import print_formatted_text

        frags = FormattedText([(f[0], f[1] if _ZERO_WIDTH in f[0] else make_inert(f[1])) for f in fragments])
        print_formatted_text(output, frags, _merged(style, include_default_pygments_style),
                             color_depth=depth)
        return
    output.write_raw(ansi_text(fragments, style=style, color_depth=depth,
                               include_default_pygments_style=include_default_pygments_style))
    output.flush()


def _terminal_text(text: str) -> str:
    if "\r" in text:
        text = text.replace("\r", "")
    return make_inert(text).replace("\n", "\r\n")
