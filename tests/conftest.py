"""Shared fixtures: a real emulator on 127.0.0.1 (random port, random key) and an isolated home.

Every test runs with its own config and data directories and without the caller's Orgo
credentials, so nothing a developer has configured can leak into (or out of) a test.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def isolated_env(tmp_path, monkeypatch):
    """Point orgorepl's config/data dirs at a temp dir and drop Orgo credentials from the env."""
    home = tmp_path / "home"
    (home / "config").mkdir(parents=True)
    (home / "data").mkdir(parents=True)
    monkeypatch.setenv("ORGOREPL_CONFIG_DIR", str(home / "config"))
    monkeypatch.setenv("ORGOREPL_DATA_DIR", str(home / "data"))
    for name in ("ORGO_API_KEY", "ORGO_BASE_URL", "ORGO_COMPUTER", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)
    return home


@pytest.fixture(scope="session")
def emulator(tmp_path_factory):
    """One real emulator for the whole run: 3 computers, random port and key."""
    from orgorepl.emulator import EmbeddedEmulator

    emu = EmbeddedEmulator(data_dir=tmp_path_factory.mktemp("emulator"), computers=3).start()
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture
def computer_id(emulator):
    return emulator.computers[0].id


@pytest.fixture
def client(emulator):
    from orgorepl.client import OrgoClient

    with OrgoClient(api_key=emulator.api_key, base_url=emulator.base_url) as c:
        yield c


@pytest.fixture
def orgo_env(emulator, monkeypatch):
    """Environment under which `orgorepl` subprocesses reach the shared emulator."""
    monkeypatch.setenv("ORGO_API_KEY", emulator.api_key)
    monkeypatch.setenv("ORGO_BASE_URL", emulator.base_url)
    return dict(os.environ)


@pytest.fixture
def orgorepl_cmd():
    """argv prefix that runs this checkout's orgorepl with the interpreter running the tests."""
    return [sys.executable, "-m", "orgorepl"]
