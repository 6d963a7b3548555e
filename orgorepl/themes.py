"""Theme files: found, read and checked here, turned into colours by ``ui.style``.

A theme is a small TOML file (``themes/*.toml`` in the source tree, ``orgorepl/_themes`` inside
the wheel, and ``<config dir>/themes/*.toml`` for the user's own, which win by name).  This
module only knows the file format, so it uses nothing beyond the standard library: every
mistake it can see without asking prompt_toolkit or Pygments (bad TOML, an unknown key or style
class, a misspelt colour) is a ``ConfigError`` with one line naming the file and the key, raised
before anything is drawn.  Whether a named Pygments style exists is Pygments' knowledge, so
``ui.style.build_style`` checks that, with the same kind of message.

The style-string grammar accepted here is a strict subset of prompt_toolkit's (no HTML colour
names, no Pygments-only words), so a file that loads always builds; tests hold the two together.
"""

from __future__ import annotations

import difflib
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from orgorepl import paths
from orgorepl.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

DEFAULT_THEME = "default"
BACKGROUNDS = ("any", "dark", "light")  # the terminal background a theme was made for

# Every style class orgorepl's screens use, with what it colours.  The orgorepl-specific ones
# are emitted by ui/, render/ and repl/; the rest are prompt_toolkit's own classes for widgets
# the REPL shows (a theme that left them out would inherit prompt_toolkit's fixed colours).
# Bundled themes must style every one; the docs' table and a test that greps the code for
# ``class:`` names are checked against this list.
UI_CLASSES: Mapping[str, str] = MappingProxyType({
    # prompts
    "prompt.python": "the `>>> ` prompt in Python mode",
    "prompt.bash": "the `$ ` prompt in bash mode",
    "prompt.cwd": "the remote working directory before the bash prompt",
    "prompt.continuation": "the `... ` / `> ` prompt of continuation lines",
    # what is typed
    "meta-command": "a `%command` line being typed",
    "shell-escape": "the `!` of a `!command` typed in Python mode",
    "auto-suggestion": "the greyed completion from history after the cursor",
    "selected": "selected text in the input",
    "search": "search matches in the input (Ctrl-R)",
    "search.current": "the current search match",
    "incsearch": "matches while typing an incremental search",
    "incsearch.current": "the current match of an incremental search",
    "search-toolbar": "the `(reverse-i-search)` line",
    "search-toolbar.text": "the text typed into the search line",
    "control-character": "control characters shown in the input (`^C`, `^[` ...)",
    "aborting": "the input line after Ctrl-C",
    "exiting": "the input line after Ctrl-D",
    "validation-toolbar": "the syntax error shown before a submission is sent",
    # completion menu
    "completion-menu": "the completion menu",
    "completion-menu.completion": "an entry in the completion menu",
    "completion-menu.completion.current": "the selected entry in the completion menu",
    "completion-menu.meta.completion": "the description beside an entry",
    "completion-menu.meta.completion.current": "the description beside the selected entry",
    "completion-menu.multi-column-meta": "the description line of the multi-column menu",
    "scrollbar.background": "the completion menu's scrollbar",
    "scrollbar.button": "the completion menu's scrollbar handle",
    # results
    "output": "what the remote program printed",
    "traceback": "the traceback above a Python exception (highlighted on top)",
    "status.error": "the exception line of a failed Python submission",
    "status.timeout": "the `TIMEOUT after Ns` badge",
    "status.exit": "a non-zero exit code of a bash command",
    "status.duration": "how long a slow round trip took",
    "output.cut": "the line saying what was left out of a very long output (drawn on `note`)",
    "output.binary": "the line standing in for binary output (drawn on `note`)",
    "fanout.header": "the `==> computer <==` line above each computer's result in a fan-out",
    "fanout.summary": "the summary line after a fan-out",
    # orgorepl's own words
    "banner": "the first line of a session",
    "banner.hint": "the hints after it",
    "note": "remarks of orgorepl's own between results",
    "note.error": "an error of orgorepl's own (connection, configuration ...)",
    "meta.text": "what a `%command` answers",
    # bottom toolbar (its parts are drawn on top of `bottom-toolbar`)
    "bottom-toolbar": "the whole bottom line",
    "bottom-toolbar.text": "the text of the bottom line",
    "toolbar.computer": "the computer's name",
    "toolbar.connecting": "the computer while connecting",
    "toolbar.failed": "the computer when the connection failed",
    "toolbar.mode.python": "the `python` mode badge",
    "toolbar.mode.bash": "the `bash` mode badge",
    "toolbar.timeout": "the timeout of the current mode",
    "toolbar.state": "`state` (submissions carry the session's state)",
    "toolbar.stateless": "`stateless` (submissions are sent raw)",
    "toolbar.last.ok": "last submission: ok",
    "toolbar.last.error": "last submission: a Python exception",
    "toolbar.last.timeout": "last submission: timed out",
    "toolbar.last.exit": "last submission: a non-zero exit code",
    "toolbar.last.interrupted": "last submission: abandoned with Ctrl-C",
    "toolbar.last.failed": "last submission: no result (network or server error)",
    "toolbar.sep": "the separators between toolbar parts",
    "toolbar.key": "key names in the toolbar hints",
    "toolbar.hint": "the words after them, and other quiet toolbar text",
    "toolbar.spinner": "the spinner while a call runs",
    "toolbar.elapsed": "the time a running call has taken",
})

# ``toolbar.last`` styles every ``toolbar.last.*`` its own entry leaves open: prompt_toolkit
# applies a dotted class's parents first.
_CLASS_GROUPS = frozenset(
    ".".join(cls.split(".")[:n]) for cls in UI_CLASSES for n in range(1, cls.count(".") + 1)
)

# Pygments' top-level token types, as written in Pygments styles (``String`` and ``Number`` are
# Pygments' own short names for ``Literal.String`` and ``Literal.Number``).
PYGMENTS_TOKEN_ROOTS = frozenset({
    "Token", "Text", "Whitespace", "Escape", "Error", "Other", "Keyword", "Name", "Literal",
    "String", "Number", "Punctuation", "Operator", "Comment", "Generic",
})

_KEYS = {
    "name": "a string",
    "description": "a string",
    "background": "\"dark\", \"light\" or \"any\"",
    "extends": "a theme name",
    "pygments_style": "a Pygments style name",
    "styles": "a table of style class = style string",
    "pygments": "a table of Pygments token = style string",
}

_ANSI = frozenset(
    "ansi" + c
    for c in (
        "default", "black", "red", "green", "yellow", "blue", "magenta", "cyan", "gray", "white",
        "brightblack", "brightred", "brightgreen", "brightyellow", "brightblue", "brightmagenta",
        "brightcyan",
    )
)
_ATTRIBUTES = frozenset(
    w + a for a in ("bold", "italic", "underline", "strike", "blink", "reverse", "hidden", "dim")
    for w in ("", "no")
) | {"noinherit"}
_HEX = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})\Z")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\Z")
_PYGMENTS_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_ .+-]*\Z")
_TOKEN = re.compile(r"[A-Z][A-Za-z]*(?:\.[A-Z][A-Za-z]*)*\Z")
_MAX_EXTENDS = 8

Location = Path | Any  # a Path, or an importlib.resources Traversable inside a zip


@dataclass(frozen=True)
class ThemeSource:
    """Where a theme of a given name is read from (not yet read: listing never fails)."""

    name: str
    location: Location
    origin: str  # "bundled", "user" or "file"
    shadows: ThemeSource | None = None  # the bundled theme a user theme of the same name hides

    @property
    def path(self) -> str:
        return str(self.location)


@dataclass(frozen=True)
class Theme:
    """A checked theme, as plain data; ``ui.style.build_style`` turns it into a Style.

    ``styles`` maps style classes and ``pygments`` maps Pygments token names (``Keyword``,
    ``String.Doc`` ...) to prompt_toolkit style strings, with everything inherited through
    ``extends`` already merged in.  ``origins`` says which file each of those keys came from,
    so a later error can still name the right file.
    """

    name: str
    description: str
    background: str  # "dark", "light" or "any"
    pygments_style: str | None
    styles: Mapping[str, str]
    pygments: Mapping[str, str]
    source: ThemeSource
    origins: Mapping[str, str] = field(default_factory=dict)

    def where(self, key: str) -> str:
        """The file that set ``key`` (``styles.<class>``, ``pygments.<Token>``, ``pygments_style``)."""
        return self.origins.get(key, self.source.path)


# ------------------------------------------------------------------------------------------------
# finding themes


def bundled_dir() -> Location | None:
    """The bundled themes: ``orgorepl/_themes`` in a wheel, ``themes/`` beside the package in a
    source checkout or an editable install.  The same files, found by the same code."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "_themes", here.parent / "themes"):
        if candidate.is_dir():
            return candidate
    try:  # imported from a zip (zipimport): the files are reachable only as resources
        from importlib.resources import files

        inside = files("orgorepl").joinpath("_themes")
        if inside.is_dir():
            return inside
    except (ImportError, OSError, TypeError, ValueError):
        pass
    return None


def user_dir(env: Mapping[str, str] | None = None) -> Path:
    return paths.config_dir(env) / "themes"


def _scan(folder: Location | None, origin: str) -> dict[str, ThemeSource]:
    found: dict[str, ThemeSource] = {}
    if folder is None:
        return found
    try:
        entries = sorted(folder.iterdir(), key=lambda p: p.name)
    except OSError:
        return found
    for entry in entries:
        stem, dot, ext = entry.name.rpartition(".")
        if dot and ext == "toml" and _NAME.match(stem) and entry.is_file():
            found[stem] = ThemeSource(stem, entry, origin)
    return found


def bundled() -> dict[str, ThemeSource]:
    return _scan(bundled_dir(), "bundled")


def available(env: Mapping[str, str] | None = None) -> dict[str, ThemeSource]:
    """Every theme by name: bundled ones, then the user's, which replace bundled ones by name.

    ``default`` comes first, the rest alphabetically.  Files whose names are not plain theme
    names (letters, digits, ``-``, ``_``, ``.``) are not themes and are left out.
    """
    merged = bundled()
    for name, source in _scan(user_dir(env), "user").items():
        merged[name] = ThemeSource(name, source.location, "user", shadows=merged.get(name))
    order = sorted(merged, key=lambda n: (n != DEFAULT_THEME, n))
    return {name: merged[name] for name in order}


def _is_path(name: str) -> bool:
    return name.endswith(".toml") or os.sep in name or (os.altsep is not None and os.altsep in name)


def find(name: str, env: Mapping[str, str] | None = None) -> ThemeSource:
    """The source for a theme name, or for a path to a ``.toml`` file."""
    if _is_path(name):
        path = Path(name).expanduser()
        if not path.is_file():
            raise ConfigError(f"theme file {path} does not exist")
        return ThemeSource(path.stem, path, "file")
    themes = available(env)
    if name in themes:
        return themes[name]
    close = difflib.get_close_matches(name, list(themes), n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    raise ConfigError(
        f"unknown theme '{name}' ({hint}available: {', '.join(themes) or 'none'}; "
        f"your own go in {user_dir(env)})"
    )


# ------------------------------------------------------------------------------------------------
# reading themes


def load(name: str, env: Mapping[str, str] | None = None) -> Theme:
    """The theme called ``name`` (or the file at that path), checked and with ``extends`` merged.

    Raises ``ConfigError`` with one line naming the file and key for anything wrong.
    """
    return load_source(find(name, env), env)


def load_source(source: ThemeSource, env: Mapping[str, str] | None = None) -> Theme:
    chain: list[tuple[ThemeSource, dict[str, Any]]] = []
    current: ThemeSource | None = source
    seen: set[str] = set()
    while current is not None:
        if current.path in seen:
            raise ConfigError(f"{chain[0][0].path}: extends: the themes extend each other in a loop")
        if len(chain) >= _MAX_EXTENDS:
            raise ConfigError(f"{chain[0][0].path}: extends: more than {_MAX_EXTENDS} themes deep")
        seen.add(current.path)
        data = _read(current)
        chain.append((current, data))
        parent = data.get("extends")
        current = _parent(current, parent, env) if parent is not None else None
    return _merge(source, chain)


def load_or_default(name: str | None, env: Mapping[str, str] | None = None) -> tuple[Theme, str | None]:
    """The theme ``name``, or the bundled default with the one-line warning saying why not."""
    if not name:
        return default_theme(), None
    try:
        return load(name, env), None
    except ConfigError as exc:
        return default_theme(), fallback_warning(name, exc)


def fallback_warning(name: str, exc: ConfigError) -> str:
    return f"theme '{name}' not used: {exc.one_line()} — using the default theme"


def default_theme() -> Theme:
    """The bundled default: the fallback whatever the user's files say."""
    source = bundled().get(DEFAULT_THEME)
    if source is None:
        raise ConfigError(
            f"the bundled themes are missing (looked in {Path(__file__).resolve().parent / '_themes'} "
            f"and {Path(__file__).resolve().parent.parent / 'themes'}): reinstall orgorepl"
        )
    return load_source(source)


def _parent(child: ThemeSource, name: Any, env: Mapping[str, str] | None) -> ThemeSource:
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{child.path}: extends must be a theme name, not {_kind(name)}")
    if name == child.name:  # a user theme extending the bundled one it replaces
        source = bundled().get(name)
        if source is None or source.path == child.path:
            raise ConfigError(f"{child.path}: extends: a theme cannot extend itself")
        return source
    if _is_path(name) and isinstance(child.location, Path):
        name = str(child.location.parent / Path(name).expanduser())  # relative to the child
    try:
        return find(name, env)
    except ConfigError as exc:
        raise ConfigError(f"{child.path}: extends: {exc.one_line()}") from None


def _read(source: ThemeSource) -> dict[str, Any]:
    where = source.path
    try:
        raw = source.location.read_bytes()
    except OSError as exc:
        raise ConfigError(f"{where}: cannot read the theme: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"{where}: is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: invalid TOML: {' '.join(str(exc).split())}") from None
    for table in ("styles", "pygments"):
        if isinstance(data.get(table), dict):
            data[table] = _flatten(data[table])
    _check(where, source.name, data)
    return data


def _flatten(table: dict[str, Any]) -> dict[str, Any]:
    """``prompt.python = "..."`` written without quotes is a nested table in TOML: the same key."""
    flat: dict[str, Any] = {}
    for key, value in table.items():
        if isinstance(value, dict):
            for sub, leaf in _flatten(value).items():
                flat[f"{key}.{sub}"] = leaf
        else:
            flat[key] = value
    return flat


def _check(where: str, name: str, data: dict[str, Any]) -> None:
    for key, value in data.items():
        if key not in _KEYS:
            close = difflib.get_close_matches(key, list(_KEYS), n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise ConfigError(f"{where}: unknown key '{key}' ({hint}known: {', '.join(_KEYS)})")
        table = key in ("styles", "pygments")
        if table != isinstance(value, dict) or (not table and not isinstance(value, str)):
            raise ConfigError(f"{where}: {key} must be {_KEYS[key]}, not {_kind(value)}")
    if "name" in data and data["name"] != name:
        raise ConfigError(
            f"{where}: name = \"{data['name']}\" does not match the file name "
            f"(the theme is called '{name}': rename the file or fix the name)"
        )
    if data.get("background", "any") not in BACKGROUNDS:
        raise ConfigError(f"{where}: background = {data['background']!r} must be {_KEYS['background']}")
    base = data.get("pygments_style")
    if base and not _PYGMENTS_NAME.match(base):
        raise ConfigError(f"{where}: pygments_style = {base!r} is not a Pygments style name")
    for cls, style in data.get("styles", {}).items():
        key = f'styles."{cls}"'
        if cls not in UI_CLASSES and cls not in _CLASS_GROUPS:
            close = difflib.get_close_matches(cls, list(UI_CLASSES), n=1)
            hint = (f" (did you mean '{close[0]}'?)" if close
                    else " (the style classes are listed in the themes documentation)")
            raise ConfigError(f"{where}: {key} is not a style class{hint}")
        _check_style(where, key, style)
    for token, style in data.get("pygments", {}).items():
        key = f'pygments."{token}"'
        if not _TOKEN.match(token) or token.split(".")[0] not in PYGMENTS_TOKEN_ROOTS:
            roots = ", ".join(sorted(PYGMENTS_TOKEN_ROOTS))
            raise ConfigError(f"{where}: {key} is not a Pygments token (it starts with one of: {roots})")
        _check_style(where, key, style)


def _check_style(where: str, key: str, style: Any) -> None:
    if not isinstance(style, str):
        raise ConfigError(f"{where}: {key} must be a style string, not {_kind(style)}")
    problem = style_problem(style)
    if problem:
        raise ConfigError(f"{where}: {key} = {style!r}: {problem}")


def style_problem(style: str) -> str | None:
    """Why ``style`` is not a theme style string, or None when it is one.

    Words: attributes (``bold``, ``nobold``, ``italic``, ``underline``, ``strike``, ``blink``,
    ``reverse``, ``hidden``, ``dim``, their ``no`` forms, ``noinherit``) and colours, either bare
    (the text colour) or after ``fg:`` / ``bg:``; a colour is ``#rrggbb``, ``#rgb``, an ANSI
    name (``ansired``, ``ansibrightgreen`` ...) or ``default``.
    """
    for word in style.split():
        if word in _ATTRIBUTES:
            continue
        colour = word[3:] if word[:3] in ("fg:", "bg:") else word
        if colour == "default" or colour in _ANSI or _HEX.match(colour):
            continue
        if word[:3] in ("fg:", "bg:"):
            return f"'{colour}' is not a colour (use #rrggbb, #rgb, an ansi name such as ansired, or default)"
        return (
            f"'{word}' is not a colour or attribute (colours: #rrggbb, #rgb, ansired ... or default; "
            "attributes: bold italic underline strike blink reverse hidden dim, noinherit, no<attribute>)"
        )
    return None


def _merge(source: ThemeSource, chain: list[tuple[ThemeSource, dict[str, Any]]]) -> Theme:
    styles: dict[str, str] = {}
    tokens: dict[str, str] = {}
    origins: dict[str, str] = {}
    base: str | None = None
    for src, data in reversed(chain):  # the furthest ancestor first; nearer files override
        for cls, style in data.get("styles", {}).items():
            styles[cls] = style
            origins[f"styles.{cls}"] = src.path
        for token, style in data.get("pygments", {}).items():
            tokens[token] = style
            origins[f"pygments.{token}"] = src.path
        if "pygments_style" in data:
            base = data["pygments_style"] or None
            origins["pygments_style"] = src.path
    own = chain[0][1]
    return Theme(
        name=source.name,
        description=str(own.get("description", "")),
        background=next((d["background"] for _, d in chain if "background" in d), "any"),
        pygments_style=base,
        styles=MappingProxyType(styles),
        pygments=MappingProxyType(tokens),
        source=source,
        origins=MappingProxyType(origins),
    )


def _kind(value: Any) -> str:
    names = {bool: "a boolean", int: "a number", float: "a number", str: "a string",
             list: "a list", dict: "a table"}
    return names.get(type(value), type(value).__name__)
