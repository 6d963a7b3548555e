"""The official ``orgo`` SDK (0.0.47, from PyPI) works against the emulator with only its base URL changed.

The SDK's own code is the judge of the emulator's shapes.  It only imports on Python >= 3.12
(its prompt module uses PEP 701 f-strings), so it runs in a 3.12+ virtual environment of its
own, built once and kept in pytest's cache dir.  No 3.12+ interpreter is a failure, not a skip:
this test is the only proof that the emulator answers what the real client expects.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

SDK = "orgo==0.0.47"

SCRIPT = textwrap.dedent("""
    import json, sys
    from orgo import Computer, Project

    base_url, computer_id, missing_id = sys.argv[1:4]
    out = {}
    computer = Computer(computer_id=computer_id, base_api_url=base_url, verbose=False)
    out["exec"] = computer.exec("import os\\nprint('py', os.getcwd())")
    out["exec_error"] = computer.exec("print('half'); 1/0", timeout=5)
    out["bash"] = computer.bash("echo sh; echo err >&2; exit 3")
    out["status"] = computer.status()
    out["scroll_point"] = list(computer._default_scroll_point())
    project = Project(name="local", base_api_url=base_url)
    out["project_id"] = project.id
    out["desktops"] = [d["id"] for d in project.list_computers()]
    out["new_project"] = Project(name="made-by-sdk", base_api_url=base_url).id
    try:
        Computer(computer_id=missing_id, base_api_url=base_url, verbose=False).status()
    except Exception as exc:
        out["missing"] = str(exc)
    print(json.dumps(out))
""")


def _find_python312() -> str:
    candidates = []
    for name in ("python3.13", "python3.12"):
        found = shutil.which(name)
        if found:
            candidates.append(found)
    for version in ("3.12.1", "3.12", "3.13.0", "3.13"):
        try:
            found = subprocess.run(["pyenv", "which", "python"], env=dict(os.environ, PYENV_VERSION=version),
                                   capture_output=True, text=True, timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            break
        if found:
            candidates.append(found)
    if sys.version_info >= (3, 12):
        candidates.insert(0, sys.executable)
    for candidate in candidates:
        probe = subprocess.run([candidate, "-c", "import sys; print(sys.version_info >= (3, 12))"],
                               capture_output=True, text=True)
        if probe.returncode == 0 and probe.stdout.strip() == "True":
            return candidate
    pytest.fail("the official orgo SDK needs Python >= 3.12 and none was found "
                "(looked for python3.12/python3.13 on PATH and pyenv 3.12/3.13); install one, "
                "e.g. `pyenv install 3.12`, and run the tests again")


def _sdk_python(cache_dir: Path) -> Path:
    cache_dir.mkdir(parents=True, exist_ok=True)
    venv = cache_dir / "venv"
    python = venv / "bin" / "python"
    marker = venv / "installed.txt"
    ok = marker.exists() and marker.read_text() == SDK and subprocess.run(
        [str(python), "-c", "import orgo"], capture_output=True).returncode == 0
    if not ok:
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([_find_python312(), "-m", "venv", str(venv)], check=True)
        install = subprocess.run([str(python), "-m", "pip", "install", "-q", SDK],
                                 capture_output=True, text=True)
        if install.returncode != 0:
            pytest.fail(f"pip install {SDK} failed:\n{install.stdout}\n{install.stderr}")
        marker.write_text(SDK)
    return python


@pytest.fixture
def emulator(tmp_path):
    """An emulator of its own: the SDK creates a workspace, which others need not see."""
    from orgorepl.emulator import EmbeddedEmulator

    with EmbeddedEmulator(data_dir=tmp_path / "emulator", computers=2) as emu:
        yield emu


@pytest.mark.timeout(600)
def test_official_sdk_runs_exec_bash_and_status(emulator, request):
    cache = getattr(request.config, "cache", None)  # absent under -p no:cacheprovider
    where = (Path(cache.mkdir("orgo-sdk-0.0.47")) if cache is not None
             else Path(tempfile.gettempdir()) / f"orgorepl-orgo-sdk-0.0.47-{os.getuid()}")
    python = _sdk_python(where)
    computer = emulator.computers[0]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORGO", "PYTHON"))}
    env["ORGO_API_KEY"] = emulator.api_key
    missing = "00000000-0000-4000-8000-000000000000"
    proc = subprocess.run([str(python), "-c", SCRIPT, emulator.base_url, computer.id, missing],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.splitlines()[-1])

    assert out["exec"] == {"output": f"py {computer.home}\n", "success": True, "action": "exec",
                           "timeout": False}
    assert out["exec_error"]["success"] is False
    assert out["exec_error"]["output"] == "half\n"
    assert out["exec_error"]["error_type"] == "ZeroDivisionError"
    assert out["bash"] == "sh\nerr\n"  # Computer.bash returns only the output
    assert out["status"]["id"] == computer.id and out["status"]["status"] == "running"
    assert out["scroll_point"] == [640, 360]  # from os + instance_details.resolution
    assert out["project_id"] == emulator.workspace_id
    assert out["desktops"] == [c.id for c in emulator.computers]
    assert out["new_project"] and out["new_project"] != emulator.workspace_id
    assert out["missing"] == "Computer not found"  # the SDK surfaces our error string
