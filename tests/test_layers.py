"""The architecture's import rules (shared/architecture.md), checked on every import statement.

Lazy imports inside functions count too: a rule that only holds at module top level would not
keep the UI off the network.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parent.parent / "orgorepl"

LAYERS = [
    ("core", {"__init__", "errors", "exitstatus", "protocol", "paths", "modes", "outcome"}),
    ("services", {"config", "themes", "client", "emulator"}),
    ("logic", {"session", "commands", "command_effects", "transcript"}),
    ("presentation", {"render", "ui", "console"}),
    ("orchestration", {"submit", "repl", "fanout", "connect", "lifecycle", "transfer", "replay", "term", "live",
                       "live_python", "live_channel"}),
    ("entry", {"cli", "__main__"}),
]

# third-party package -> the top-level orgorepl modules allowed to import it
THIRD_PARTY = {
    "httpx": {"client"},
    "starlette": {"emulator"},
    "uvicorn": {"emulator"},
    "h11": {"emulator"},
    "websockets": {"client", "emulator"},
    "prompt_toolkit": {"render", "ui", "console", "repl", "replay"},
    "pygments": {"render", "ui"},
    "click": {"cli"},
}

# (importer, imported) pairs forbidden even though the layers would allow them
FORBIDDEN = {
    ("emulator", "client"), ("emulator", "ui"), ("emulator", "repl"), ("emulator", "config"),
    ("ui", "client"), ("ui", "connect"), ("ui", "httpx"),
}


def layer_of(top: str) -> int:
    for index, (_, names) in enumerate(LAYERS):
        if top in names:
            return index
    raise AssertionError(f"orgorepl.{top} is in no layer: add it to LAYERS and architecture.md")


def modules():
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG).with_suffix("")
        yield path, rel.parts[0], ".".join(("orgorepl",) + rel.parts)


def imports_of(path: Path, dotted: str):
    tree = ast.parse(path.read_text(), str(path))
    package = dotted.rsplit(".", 1)[0] if not path.name == "__init__.py" else dotted
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            yield node.lineno, target
            if target == "orgorepl":
                for alias in node.names:
                    if (PKG / f"{alias.name}.py").exists() or (PKG / alias.name).is_dir():
                        yield node.lineno, f"orgorepl.{alias.name}"


def test_every_module_is_in_a_layer():
    for _, top, _ in modules():
        layer_of(top)


@pytest.mark.parametrize("path,top,dotted", list(modules()), ids=lambda v: str(v) if isinstance(v, str) else "")
def test_imports_go_downward_only(path, top, dotted):
    problems = []
    for lineno, target in imports_of(path, dotted):
        root = target.split(".")[0]
        if root == "orgorepl":
            parts = target.split(".")
            if len(parts) == 1:
                continue
            other = parts[1]
            if other == top:
                continue
            if layer_of(other) > layer_of(top):
                problems.append(f"{path.name}:{lineno} imports upward: {target}")
            if (top, other) in FORBIDDEN:
                problems.append(f"{path.name}:{lineno} forbidden: {top} -> {other}")
        elif root in THIRD_PARTY:
            if top not in THIRD_PARTY[root]:
                problems.append(f"{path.name}:{lineno} {root} is not allowed in orgorepl.{top}")
            if (top, root) in FORBIDDEN:
                problems.append(f"{path.name}:{lineno} forbidden: {top} -> {root}")
    assert not problems, "\n".join(problems)


def test_checker_catches_an_upward_import(tmp_path):
    """The walk must see lazy imports inside functions, or the rule above proves nothing."""
    bad = tmp_path / "protocol.py"
    bad.write_text("def f():\n    from orgorepl import cli\n    import httpx\n")
    found = [t for _, t in imports_of(bad, "orgorepl.protocol")]
    assert "orgorepl.cli" in found and "httpx" in found
