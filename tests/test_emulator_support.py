"""Small helpers shared by the emulator tests (not fixtures: plain functions)."""

from __future__ import annotations

import time
from pathlib import Path

import httpx


def http(emu, **kwargs) -> httpx.Client:
    """A plain HTTP client on the emulator's base URL, authorised with its key."""
    return httpx.Client(base_url=emu.base_url + "/", timeout=kwargs.pop("timeout", 30),
                        headers={"Authorization": f"Bearer {emu.api_key}"}, **kwargs)


def gone(pid: int) -> bool:
    """True once ``pid`` no longer runs (a zombie nobody reaped counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


def wait_gone(pid: int, within: float = 10.0) -> bool:
    """Bounded wait for a killed process to disappear (the kernel reaps asynchronously)."""
    deadline = time.monotonic() + within
    while not gone(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def wait_for_file(path: Path, within: float = 10.0) -> str:
    deadline = time.monotonic() + within
    while not (path.exists() and path.read_text().strip()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} did not appear within {within} s")
        time.sleep(0.01)
    return path.read_text().strip()


def assert_error(resp: httpx.Response, status: int, text: str | None = None) -> dict:
    """An API error: the status, a JSON object with an 'error' string and a request_id."""
    assert resp.status_code == status, (resp.status_code, resp.text)
    assert resp.headers["content-type"].startswith("application/json"), resp.headers
    body = resp.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"], body
    assert isinstance(body.get("request_id"), str) and len(body["request_id"]) == 36, body
    if text is not None:
        assert text in body["error"], body
    return body
