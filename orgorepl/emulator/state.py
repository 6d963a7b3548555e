"""The emulator's world: one user, workspaces, computers and their home directories.

Ids are kept in ``emulator.json`` in the data dir so the same data dir gives the same ids and
names on every run: ``--local`` should feel like one real computer whose disk persists.  Homes
are never deleted; a run with fewer computers than the file lists serves the first N and keeps
the rest on record for a later, larger run.

Only ids that parse as canonical UUIDs ever become path components, so neither a request nor
a tampered state file can point a home outside the data dir.  Computer status is not
persisted: every start of the emulator boots all its computers, as a fresh VM host would.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from orgorepl import paths

STATE_FILE = "emulator.json"
STATE_VERSION = 1
DEFAULT_WORKSPACE_NAME = "local"
RESOLUTION = "1280x720x24"
MAX_WORKSPACE_NAME = 64


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def canonical_uuid(value: Any) -> str | None:
    """The canonical text of a UUID, or None: the only gate between a request and a path."""
    if not isinstance(value, str):
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


@dataclass
class ComputerRecord:
    id: str
    name: str
    workspace_id: str
    created_at: str
    instance_id: str
    home: Path
    status: str = "running"
    # the terminal socket's token (``?token=``) and its companion; new on every start and restart
    vnc_password: str = field(default_factory=lambda: secrets.token_hex(8))
    desktop_api_token: str = field(default_factory=lambda: secrets.token_hex(16))

    @property
    def running(self) -> bool:
        return self.status == "running"

    def new_credentials(self) -> None:
        """A (re)booted computer has a new VNC password: old terminal tokens stop working."""
        self.vnc_password = secrets.token_hex(8)
        self.desktop_api_token = secrets.token_hex(16)


@dataclass
class WorkspaceRecord:
    id: str
    name: str
    created_at: str
    updated_at: str


class StateError(ValueError):
    """The data dir holds a state file we cannot trust; never overwrite it silently."""


class EmulatorState:
    """Everything a request handler needs, loaded once per emulator start."""

    def __init__(self, data_dir: Path, user_id: str, workspaces: list[WorkspaceRecord],
                 computers: list[ComputerRecord], kept: list[dict[str, Any]], api_key: str):
        self.data_dir = data_dir
        self.user_id = user_id
        self.workspaces = workspaces
        self.computers = computers
        self._kept = kept  # records beyond N: not served, never forgotten
        self.api_key = api_key
        self._lock = threading.Lock()

    # ---------------------------------------------------------------- loading

    @classmethod
    def open(cls, data_dir: Path, computers: int, api_key: str) -> EmulatorState:
        if isinstance(computers, bool) or not isinstance(computers, int) or computers < 1:
            raise ValueError(f"the emulator needs at least one computer, got {computers!r}")
        data_dir = Path(data_dir).expanduser().resolve()
        paths.ensure_private_dir(data_dir)
        with _locked(data_dir):
            raw = _read(data_dir / STATE_FILE)
            state = cls._from_raw(data_dir, raw, computers, api_key)
            state._save_locked()
        for computer in state.computers:
            paths.ensure_private_dir(computer.home)
        return state

    @classmethod
    def _from_raw(cls, data_dir: Path, raw: dict[str, Any], count: int, api_key: str) -> EmulatorState:
        user_id = canonical_uuid(raw.get("user_id")) or str(uuid.uuid4())
        workspaces = []
        for item in raw.get("workspaces") or []:
            wid = canonical_uuid(item.get("id")) if isinstance(item, dict) else None
            if wid is None or not isinstance(item.get("name"), str):
                raise StateError(f"{data_dir / STATE_FILE}: a workspace entry has no valid id/name")
            created = str(item.get("created_at") or _now())
            workspaces.append(WorkspaceRecord(wid, item["name"], created, str(item.get("updated_at") or created)))
        if not workspaces:
            now = _now()
            workspaces.append(WorkspaceRecord(str(uuid.uuid4()), DEFAULT_WORKSPACE_NAME, now, now))
        main = workspaces[0]

        entries = []
        for item in raw.get("computers") or []:
            cid = canonical_uuid(item.get("id")) if isinstance(item, dict) else None
            if cid is None or not isinstance(item.get("name"), str):
                raise StateError(f"{data_dir / STATE_FILE}: a computer entry has no valid id/name")
            entries.append(dict(item, id=cid))
        used = {e["name"] for e in entries}
        number = 1
        while len(entries) < count:
            while f"computer-{number}" in used:
                number += 1
            name = f"computer-{number}"
            used.add(name)
            entries.append({"id": str(uuid.uuid4()), "name": name, "created_at": _now(),
                            "instance_id": secrets.token_hex(4)})

        served = [
            ComputerRecord(
                id=e["id"], name=e["name"], workspace_id=main.id,
                created_at=str(e.get("created_at") or _now()),
                instance_id=str(e.get("instance_id") or e["id"][:8]),
                home=data_dir / "computers" / e["id"] / "home",
            )
            for e in entries[:count]
        ]
        return cls(data_dir, user_id, workspaces, served, entries[count:], api_key)

    # ---------------------------------------------------------------- queries

    def computer(self, computer_id: str) -> ComputerRecord | None:
        cid = canonical_uuid(computer_id)
        return next((c for c in self.computers if c.id == cid), None)

    def computer_by_instance(self, instance_id: str) -> ComputerRecord | None:
        """The computer a terminal URL names (by ``instance_id``, never by ``id``)."""
        return next((c for c in self.computers if c.instance_id == instance_id), None)

    def workspace(self, workspace_id: str) -> WorkspaceRecord | None:
        wid = canonical_uuid(workspace_id)
        return next((w for w in self.workspaces if w.id == wid), None)

    def computers_of(self, workspace: WorkspaceRecord) -> list[ComputerRecord]:
        return [c for c in self.computers if c.workspace_id == workspace.id]

    # ---------------------------------------------------------------- changes

    def create_workspace(self, name: str) -> WorkspaceRecord:
        """Raise ValueError with the message the API would answer 400 with."""
        name = name.strip()
        if not name:
            raise ValueError("Workspace name must not be empty")
        if len(name) > MAX_WORKSPACE_NAME:
            raise ValueError(f"Workspace name must be at most {MAX_WORKSPACE_NAME} characters")
        with self._lock:
            if any(w.name.lower() == name.lower() for w in self.workspaces):
                raise ValueError(f"A workspace named {name!r} already exists")
            now = _now()
            record = WorkspaceRecord(str(uuid.uuid4()), name, now, now)
            self.workspaces.append(record)
            with _locked(self.data_dir):
                self._save_locked()
        return record

    def _save_locked(self) -> None:
        served = [{"id": c.id, "name": c.name, "created_at": c.created_at, "instance_id": c.instance_id}
                  for c in self.computers]
        data = {
            "version": STATE_VERSION,
            "user_id": self.user_id,
            "workspaces": [vars(w) for w in self.workspaces],
            "computers": served + self._kept,
        }
        target = self.data_dir / STATE_FILE
        tmp = target.with_name(f".{STATE_FILE}.{os.getpid()}.tmp")
        with paths.open_private(tmp, "w") as fh:
            json.dump(data, fh, indent=2)
            fh.write("\n")
        os.replace(tmp, target)


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise StateError(f"{path} is not valid JSON ({exc}); fix or remove it") from None
    if not isinstance(raw, dict):
        raise StateError(f"{path} does not hold a JSON object; fix or remove it")
    return raw


@contextmanager
def _locked(data_dir: Path) -> Iterator[None]:
    """Two emulators starting on one data dir must not both invent the computers."""
    fd = os.open(data_dir / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
