"""Where orgorepl keeps its files on this machine.

XDG conventions (``XDG_CONFIG_HOME``, ``XDG_DATA_HOME``) with ``ORGOREPL_CONFIG_DIR`` and
``ORGOREPL_DATA_DIR`` overriding, so tests and several setups can live side by side.  Directories
are created on first write only (never at import) with mode 0700, and files that may hold code
or keys are written 0600.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


def _env(env: Mapping[str, str] | None) -> Mapping[str, str]:
    return os.environ if env is None else env


def config_dir(env: Mapping[str, str] | None = None) -> Path:
    e = _env(env)
    if e.get("ORGOREPL_CONFIG_DIR"):
        return Path(e["ORGOREPL_CONFIG_DIR"]).expanduser()
    base = e.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base).expanduser() / "orgorepl"


def data_dir(env: Mapping[str, str] | None = None) -> Path:
    e = _env(env)
    if e.get("ORGOREPL_DATA_DIR"):
        return Path(e["ORGOREPL_DATA_DIR"]).expanduser()
    base = e.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base).expanduser() / "orgorepl"


def config_file(env: Mapping[str, str] | None = None) -> Path:
    return config_dir(env) / "config.toml"


def history_file(mode_name: str, env: Mapping[str, str] | None = None) -> Path:
    return data_dir(env) / f"history-{mode_name}"


def local_emulator_dir(env: Mapping[str, str] | None = None) -> Path:
    """The embedded emulator's data dir: it persists between runs, like a real computer's disk."""
    return data_dir(env) / "local-emulator"


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) user-only; tighten it if it already exists and is ours.

    ``mkdir(parents=True, mode=...)`` applies the mode to the last directory only: the parents it
    creates (e.g. ``~/.local/share/orgorepl`` on a first ``--local`` run) would be 0755.  So each
    missing directory is created here, 0700; parents that already existed are left alone.
    """
    missing = []
    for directory in (path, *path.parents):
        if directory.exists():
            break
        missing.append(directory)
    for directory in reversed(missing):
        directory.mkdir(mode=0o700, exist_ok=True)
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        if path.stat().st_mode & 0o077:
            path.chmod(0o700)
    except OSError:
        pass
    return path


def open_private(path: Path, mode: str = "a", encoding: str | None = "utf-8", *, private_dir: bool = True):
    """Open a file that may hold code or keys, created 0600 in a 0700 directory.

    ``private_dir=False`` is for a path the user chose (a transcript, a log): the file is still
    0600, but its directory must exist and is left as it is (never tightened to 0700: it may be
    the user's project or home directory).
    """
    if private_dir:
        ensure_private_dir(path.parent)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if "a" in mode else os.O_TRUNC)
    fd = os.open(path, flags, 0o600)
    try:
        os.fchmod(fd, 0o600)
    except OSError:
        pass
    return os.fdopen(fd, mode, encoding=None if "b" in mode else encoding)
