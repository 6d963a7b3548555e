"""A theme (plain data from ``orgorepl.themes``) turned into the one prompt_toolkit Style.

Widgets and renderers only ever emit class names (``class:prompt.python``,
``class:status.error`` ...) and Pygments tokens (``class:pygments.keyword`` ...); the colours
live in the theme files.  :func:`build_style` is the single place they are merged, in this
order, later rules winning: the theme's Pygments base style, its token overrides, its UI
classes.

Pass the result with ``include_default_pygments_style=False``: prompt_toolkit's default Pygments
colours would otherwise show through every token the theme leaves plain (a monochrome theme
would not be monochrome).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping

from prompt_toolkit.styles import Style
from prompt_toolkit.styles.pygments import (
    pygments_token_to_classname,
    style_from_pygments_cls,
)

from orgorepl import themes
from orgorepl.errors import ConfigError
from orgorepl.themes import Theme


def build_style(theme: Theme) -> Style:
    """The Style for ``theme``; a ConfigError naming file and key if something cannot be used.

    ``themes.load`` has already checked the file's structure and style strings; what only
    Pygments and prompt_toolkit can tell (does the base style exist, does prompt_toolkit parse
    every string) is checked here, so a theme either builds completely or not at all.
    """
    rules: list[tuple[str, str]] = []
    if theme.pygments_style:
        rules += style_from_pygments_cls(_pygments_style(theme)).style_rules
    for token, style in theme.pygments.items():
        rules.append(_checked(theme, f"pygments.{token}", token_class(token), style))
    for cls, style in theme.styles.items():
        rules.append(_checked(theme, f"styles.{cls}", cls, style))
    return Style(rules)


def default_style() -> Style:
    """The bundled default theme's style: what the REPL uses when nothing else is asked for."""
    return build_style(themes.default_theme())


def load_style(
    name: str | None, env: Mapping[str, str] | None = None
) -> tuple[Theme, Style, str | None]:
    """Theme ``name`` and its Style, or the bundled default and a one-line warning saying why.

    The whole check (file, Pygments base, every style string) happens here, so a broken theme
    never reaches the screen: what the REPL needs for ``--theme`` and ``%theme``.
    """
    theme, warning = themes.load_or_default(name, env)
    try:
        return theme, build_style(theme), warning
    except ConfigError as exc:
        fallback = themes.default_theme()
        return fallback, build_style(fallback), themes.fallback_warning(name or theme.name, exc)


def token_class(token: str) -> str:
    """``String.Doc`` -> ``pygments.literal.string.doc``: Pygments' own aliases resolved, so a
    theme's ``String`` is the same token Pygments styles and lexers call ``String``."""
    import pygments.token

    parts = token.split(".")
    node = getattr(pygments.token, parts[0])
    for part in parts[1:]:
        node = getattr(node, part)
    return pygments_token_to_classname(node)


def _pygments_style(theme: Theme):
    from pygments.styles import get_all_styles, get_style_by_name
    from pygments.util import ClassNotFound

    name = theme.pygments_style
    try:
        return get_style_by_name(name)
    except ClassNotFound:
        close = difflib.get_close_matches(name, list(get_all_styles()), n=1)
        hint = f"did you mean '{close[0]}'?" if close else "`pygmentize -L styles` lists them"
        raise ConfigError(
            f"{theme.where('pygments_style')}: pygments_style = {name!r} is not an installed "
            f"Pygments style ({hint})"
        ) from None


def _checked(theme: Theme, key: str, cls: str, style: str) -> tuple[str, str]:
    try:
        Style([(cls, style)])
    except (ValueError, AssertionError) as exc:
        raise ConfigError(f"{theme.where(key)}: {key} = {style!r}: {exc}") from None
    return cls, style
