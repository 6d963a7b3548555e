"""Effective settings: defaults <- config.toml <- environment <- command-line flags.

Each value remembers where it came from, so `orgorepl config` can say so and error messages
can name the file and key at fault.  The API key is a setting like the others but is never
shown unmasked.  Reading happens only when asked (never at import).
"""

from __future__ import annotations

import difflib
import os
import stat
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orgorepl import paths, protocol
from orgorepl.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib


def _positive_int(lo: int, hi: int) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if isinstance(value, bool):
            raise ValueError
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if not isinstance(value, int) or not lo <= value <= hi:
            raise ValueError
        return value

    check.expected = f"a whole number from {lo} to {hi}"  # type: ignore[attr-defined]
    return check


def _string(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError
    return value.strip()


_string.expected = "a non-empty string"  # type: ignore[attr-defined]


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUTHY | _FALSY:
        return value.strip().lower() in _TRUTHY
    raise ValueError


_TRUTHY, _FALSY = {"1", "true", "yes", "on"}, {"0", "false", "no", "off"}
_boolean.expected = "true or false"  # type: ignore[attr-defined]


def _choice(*options: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if isinstance(value, str) and value.strip().lower() in options:
            return value.strip().lower()
        raise ValueError

    check.expected = "one of " + ", ".join(options)  # type: ignore[attr-defined]
    return check


def _toggle_key(value: Any) -> str:
    """A key terminals deliver reliably and that is not already an editing key."""
    import re

    if isinstance(value, str):
        key = value.strip().lower().replace("ctrl-", "c-")
        if re.fullmatch(r"f([1-9]|1[0-2])", key) or key in _SAFE_CTRL:
            return key
    raise ValueError


_SAFE_CTRL = {"c-t", "c-o", "c-g", "c-q", "c-s", "c-y"}
_toggle_key.expected = "F1..F12 or one of " + ", ".join(sorted(_SAFE_CTRL))  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Setting:
    key: str
    env: str | None
    default: Any
    check: Callable[[Any], Any]
    doc: str
    secret: bool = False


SCHEMA: tuple[Setting, ...] = (
    Setting("base_url", "ORGO_BASE_URL", protocol.DEFAULT_BASE_URL, _string, "Orgo API base URL"),
    Setting("api_key", "ORGO_API_KEY", None, _string, "Orgo API key (Bearer token)", secret=True),
    Setting("computer", "ORGO_COMPUTER", None, _string, "default computer id or name"),
    Setting(
        "python_timeout", None, protocol.EXEC_TIMEOUT_DEFAULT,
        _positive_int(protocol.EXEC_TIMEOUT_MIN, protocol.EXEC_TIMEOUT_MAX),
        "seconds before a Python submission is killed",
    ),
    Setting("bash_timeout", None, 60, _positive_int(1, 3600), "seconds before a bash submission is killed"),
    Setting("timeout_margin", "ORGOREPL_TIMEOUT_MARGIN", 15, _positive_int(1, 600),
            "seconds to wait past a submission's timeout for the computer's answer before giving up"),
    Setting("theme", "ORGOREPL_THEME", "default", _string, "colour theme (`orgorepl themes` lists them)"),
    Setting("color", None, "auto", _choice("auto", "always", "never"),
            "colour output: auto (when a terminal), always, never (also NO_COLOR, --no-color)"),
    Setting("editing_mode", None, "emacs", _choice("emacs", "vi"), "line editing keys (--vi)"),
    Setting("toggle_key", None, "f4", _toggle_key, "key that switches between Python and bash mode"),
    Setting("complete_while_typing", None, "auto", _choice("auto", "on", "off"),
            "show completions as you type (auto: in live mode only; over HTTP each menu costs a request)"),
    Setting("history_size", None, 10000, _positive_int(0, 1_000_000),
            "entries kept per mode in the history file (0: no history file)"),
    Setting("stateful", None, True, _boolean,
            "carry names, cwd and environment between submissions (false: --stateless)"),
    Setting("transport", "ORGOREPL_TRANSPORT", "http", _choice("http", "live"),
            "how bash mode runs: http (each submission a fresh shell, /bash) or live (one persistent "
            "shell on the computer's terminal; --live, %live on)"),
    Setting("live_time_limit", None, "warn", _choice("warn", "interrupt"),
            "what the mode's timeout does to a live submission: warn (the toolbar says it is past it) or "
            "interrupt (Ctrl-C for it, then SIGQUIT; the result says TIMEOUT)"),
    Setting("output_max_bytes", None, 128 * 1024, _positive_int(1_000, 100_000_000),
            "show at most this much of one output; the rest via %more / %save-output"),
    Setting("pager", None, "auto", _choice("auto", "always", "never"),
            "page results and help() output: auto (taller than the terminal), always, never (%more always pages)"),
    Setting("output_max_lines", None, 2_000, _positive_int(10, 10_000_000),
            "show at most this many lines of one output (its first and last part)"),
)
_BY_KEY = {s.key: s for s in SCHEMA}


DEFAULTS: Mapping[str, Any] = {s.key: s.default for s in SCHEMA}


@dataclass
class Settings:
    """Every setting, typed, with where its value came from.  Made by :func:`load`, once per run."""

    base_url: str
    api_key: str | None
    computer: str | None
    python_timeout: int
    bash_timeout: int
    timeout_margin: int
    theme: str
    color: str
    editing_mode: str
    toggle_key: str
    complete_while_typing: str
    history_size: int
    stateful: bool
    transport: str
    live_time_limit: str
    output_max_bytes: int
    pager: str
    output_max_lines: int
    sources: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def values(self) -> dict[str, Any]:
        return {s.key: getattr(self, s.key) for s in SCHEMA}

    def masked(self, key: str) -> str:
        value = getattr(self, key)
        if value is None:
            return "(not set)"
        if _BY_KEY[key].secret:
            return mask_secret(str(value))
        return str(value)


def mask_secret(value: str) -> str:
    """Enough to tell two keys apart, never enough to use one."""
    if len(value) <= 8:
        return "****"
    return f"{value[:3]}…{value[-2:]} ({len(value)} chars)"


def load(
    flags: Mapping[str, Any] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    config_path: Path | None = None,
    flag_names: Mapping[str, str] | None = None,
    problems: list[str] | None = None,
) -> Settings:
    """Resolve every setting; raise ConfigError naming the file/variable/flag and key at fault.

    With ``problems`` (``orgorepl config``, which must show what it can): every fault is added
    there instead, and the key at fault keeps its default."""
    env = os.environ if env is None else env
    path = config_path or paths.config_file(env)
    values = dict(DEFAULTS)
    sources = {s.key: "default" for s in SCHEMA}
    warnings: list[str] = []

    def apply(setting: Setting, value: Any, source: str) -> None:
        try:
            values[setting.key] = setting.check(value)
        except ValueError:
            expected = getattr(setting.check, "expected", "a valid value")
            shown = "(hidden)" if setting.secret else repr(value)
            message = f"{source}: {setting.key} = {shown} is invalid: expected {expected}"
            if problems is None:
                raise ConfigError(message) from None
            problems.append(message)
            return
        sources[setting.key] = source

    for key, value in _read_file(path, warnings, problems).items():
        apply(_BY_KEY[key], value, f"{path}")
    for s in SCHEMA:
        if s.env and env.get(s.env):
            apply(s, env[s.env], f"env {s.env}")
    for key, value in (flags or {}).items():
        if value is not None:
            name = (flag_names or {}).get(key) or "--" + key.replace("_", "-")
            apply(_BY_KEY[key], value, f"flag {name}")
    return Settings(**values, sources=sources, warnings=warnings)


def peek(key: str, env: Mapping[str, str] | None = None) -> Any:
    """One setting as the config file (or its environment variable) has it, or its default; never
    raises.  For what must be known before the rest loads (the early prompt's mode key); the full
    :func:`load` still validates and reports everything."""
    setting = _BY_KEY[key]
    env = os.environ if env is None else env
    value = setting.default
    try:
        data = _read_file(paths.config_file(env), [])
        if key in data:
            value = setting.check(data[key])
        if setting.env and env.get(setting.env):
            value = setting.check(env[setting.env])
    except (ConfigError, ValueError):
        return setting.default
    return value


def _read_file(path: Path, warnings: list[str], problems: list[str] | None = None) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    for key in [k for k in data if k not in _BY_KEY]:
        close = difflib.get_close_matches(key, list(_BY_KEY), n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        message = f"{path}: unknown key {key!r}{hint} (known keys: {', '.join(sorted(_BY_KEY))})"
        if problems is None:
            raise ConfigError(message)
        problems.append(message)
        del data[key]
    if "api_key" in data:
        try:
            mode = path.stat().st_mode
        except OSError:
            mode = 0
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            warnings.append(
                f"{path} holds an API key and is readable by others: run `chmod 600 {path}`"
            )
    return data
