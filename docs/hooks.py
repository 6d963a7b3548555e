"""MkDocs hook: reference tables written from the code itself at build time.

A page asks for a table with a marker, ``<!-- orgorepl:NAME -->``, and the hook replaces it
with Markdown built from the module that owns the facts: the settings from
``orgorepl.config.SCHEMA`` (and the command-line flags from ``orgorepl.cli``), the keys from
``orgorepl.commands.KEY_HELP``, the meta-commands from ``orgorepl.commands.registry``, the theme
samples from ``orgorepl.ui.theme_sample``.  Hand copies of those tables would drift the first
time someone adds a setting; these cannot.

An unknown marker, or a fact the code no longer provides, fails the build (``mkdocs build
--strict`` is what CI runs), so a page never ships with a hole where a table should be.
"""

from __future__ import annotations

import importlib
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError

_REPO = Path(__file__).resolve().parent.parent
_MARKER = re.compile(r"<!-- orgorepl:([a-z-]+) -->")

def _module(name: str) -> Any:
    """Import ``name`` from this checkout (not from some other installed copy)."""
    if str(_REPO) not in sys.path:
        sys.path.insert(0, str(_REPO))
    try:
        return importlib.import_module(name)
    except Exception as exc:  # the build must say why, not die with a bare traceback
        raise PluginError(f"docs/hooks.py: cannot import {name}: {type(exc).__name__}: {exc}") from exc


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    return f"`{text}`" if "`" not in text else f"`` {text} ``"


def toml_value(value: Any) -> str:
    """A Python default as it would be written in config.toml."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if hasattr(value, "value"):  # an Enum member
        return toml_value(value.value)
    raise PluginError(f"docs/hooks.py: no TOML form for the default {value!r}")


def _flags_by_setting() -> dict[str, str]:
    """Setting key -> the flag of the interactive command that overrides it.

    A flag is ``--KEY`` unless ``orgorepl.cli._FLAG_NAMES`` (the table the CLI itself uses to
    name a flag in messages) says otherwise; it is listed only if the command really has it.
    """
    cli = _module("orgorepl.cli")
    config = _module("orgorepl.config")
    renamed = getattr(cli, "_FLAG_NAMES", {})
    by_opt = {opt: p for p in cli.cli.params for opt in getattr(p, "opts", ())}
    flag_of = {s.key: renamed.get(s.key, "--" + s.key.replace("_", "-")) for s in config.SCHEMA}
    found: dict[str, str] = {}
    for key, flag in flag_of.items():
        param = by_opt.get(flag)
        if param is None:
            continue
        shown = flag if getattr(param, "is_flag", False) else f"{flag} {param.metavar or param.name.upper()}"
        others = [k for k, f in flag_of.items() if f == flag and k != key]
        found[key] = _code(shown) + (" (sets " + ", ".join(_code(k) for k in others) + " too)" if others else "")
    return found


def settings_table() -> str:
    config = _module("orgorepl.config")
    flags = _flags_by_setting()
    rows = [
        "| key | environment | flag | default | expected | description |",
        "|---|---|---|---|---|---|",
    ]
    for s in config.SCHEMA:
        default = "*not set*" if s.default is None else _code(toml_value(s.default))
        expected = getattr(s.check, "expected", None)
        if not expected:
            raise PluginError(f"docs/hooks.py: setting {s.key!r} has a check without .expected")
        doc = s.doc + (" Secret: `orgorepl config` shows it masked." if s.secret else "")
        rows.append("| " + " | ".join([
            _code(s.key),
            _code(s.env) if s.env else "—",
            flags.get(s.key, "—"),
            default,
            _cell(expected),
            _cell(doc),
        ]) + " |")
    return "\n".join(rows)


def settings_example() -> str:
    """A config.toml that spells out every default (keys without one are commented out)."""
    config = _module("orgorepl.config")
    lines = ["```toml", "# ~/.config/orgorepl/config.toml"]
    for s in config.SCHEMA:
        lines.append(f"# {s.doc}")
        if s.secret:
            lines.append(f'# {s.key} = "..."   # better: the {s.env} environment variable' if s.env
                         else f'# {s.key} = "..."')
        elif s.default is None:
            lines.append(f'# {s.key} = "..."')
        else:
            lines.append(f"{s.key} = {toml_value(s.default)}")
    lines.append("```")
    return "\n".join(lines)


def masked_example() -> str:
    config = _module("orgorepl.config")
    key = "sk_live_0123456789abcdefghij0123456789ab"
    return _code(config.mask_secret(key))


def env_list() -> str:
    config = _module("orgorepl.config")
    names = [f"{_code(s.env)} ({_code(s.key)})" for s in config.SCHEMA if s.env]
    return ", ".join(names) + "."


def keys_table() -> str:
    commands = _module("orgorepl.commands")
    rows = ["| key | what it does |", "|---|---|"]
    for key, what in commands.KEY_HELP:
        shown = " / ".join(_code(k.strip()) for k in key.split(" / "))
        rows.append(f"| {shown} | {_cell(what)} |")
    return "\n".join(rows)


def commands_table() -> str:
    commands = _module("orgorepl.commands")
    registry = commands.registry
    rows = ["| command | aliases | what it does |", "|---|---|---|"]
    for command in registry.commands():
        aliases = ", ".join(_code("%" + a) for a in command.aliases) or "—"
        rows.append(f"| [{_code(command.usage)}](#{command.name}) | {aliases} | {_cell(command.help)} |")
    return "\n".join(rows)


def theme_samples() -> str:
    """Each bundled theme with a sample drawn in its colours (``orgorepl.ui.theme_sample``)."""
    return _module("orgorepl.ui.theme_sample").docs_samples()


GENERATORS: dict[str, Callable[[], str]] = {
    "settings": settings_table,
    "settings-example": settings_example,
    "masked-example": masked_example,
    "settings-env": env_list,
    "keys": keys_table,
    "commands": commands_table,
    "theme-samples": theme_samples,
}


def expand(markdown: str, where: str = "page") -> str:
    """Replace every ``<!-- orgorepl:NAME -->`` line with its generated Markdown."""

    def replace(match: re.Match) -> str:
        name = match.group(1)
        generator = GENERATORS.get(name)
        if generator is None:
            known = ", ".join(sorted(GENERATORS))
            raise PluginError(f"{where}: unknown marker orgorepl:{name} (known: {known})")
        return generator()

    return _MARKER.sub(replace, markdown)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    return expand(markdown, page.file.src_uri)
