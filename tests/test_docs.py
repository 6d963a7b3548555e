"""The documentation site: it builds strictly, its generated reference matches the code, and
what it says about the program (error messages, exit statuses, meta-commands) is what the
program does.

The build runs once per module, as CI would (`python -m mkdocs build --strict`), into a temp dir.
"""

from __future__ import annotations

import html
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path
from types import SimpleNamespace

import pytest

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"


# -------------------------------------------------------------------------------- the build


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")  # Material's banner about its successor
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(REPO / "mkdocs.yml"),
         "--site-dir", str(out)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stdout}\n{proc.stderr}"
    return out


def page_text(site: Path, name: str) -> str:
    """The visible text of a built page (tags dropped, entities decoded)."""
    raw = (site / name / "index.html").read_text(encoding="utf-8")
    main = raw[raw.index("<article"):raw.index("</article>")]
    return html.unescape(re.sub(r"<[^>]+>", "", main))


def test_strict_build_writes_every_page_and_leaves_no_marker(site):
    pages = sorted(p.stem for p in DOCS.glob("*.md"))
    for stem in pages:
        built = site / ("index.html" if stem == "index" else f"{stem}/index.html")
        assert built.exists(), f"{stem}.md was not built"
        text = built.read_text(encoding="utf-8")
        assert "<!-- orgorepl:" not in text, f"{stem}: a <!-- orgorepl:NAME --> marker was left unexpanded"
    assert not (site / "hooks.py").exists(), "the build hook was published as a page asset"


def test_configuration_page_lists_every_setting_of_the_schema(site):
    from orgorepl import config

    raw = (site / "configuration" / "index.html").read_text(encoding="utf-8")
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", raw, re.S):
        cells = [html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in re.findall(r"<td>(.*?)</td>", row, re.S)]
        if cells:
            rows[cells[0]] = cells
    for setting in config.SCHEMA:
        assert setting.key in rows, f"setting {setting.key} is missing from the configuration page"
        key, env, flag, default, expected, doc = rows[setting.key]
        assert env == (setting.env or "—")
        assert expected == setting.check.expected
        assert doc.startswith(setting.doc.replace("`", ""))
        if setting.default is not None and not setting.secret:
            assert str(setting.default).lower().strip('"') in default.lower()
    example = page_text(site, "configuration")
    for setting in config.SCHEMA:
        assert re.search(rf"^#? ?{setting.key} = ", example, re.M), f"{setting.key} not in the example file"


def test_every_page_in_docs_is_in_the_nav():
    import yaml

    with open(REPO / "mkdocs.yml", encoding="utf-8") as f:
        conf = yaml.safe_load(f)

    def flatten(items):
        for item in items:
            value = next(iter(item.values())) if isinstance(item, dict) else item
            if isinstance(value, list):
                yield from flatten(value)
            else:
                yield value

    in_nav = set(flatten(conf["nav"]))
    on_disk = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")}
    assert on_disk - in_nav == set(), "pages missing from the nav in mkdocs.yml"
    assert in_nav - on_disk == set(), "nav entries without a page"


# -------------------------------------------------------------------------------- reference pages


def test_every_meta_command_has_a_section_and_every_section_a_command(site):
    from orgorepl.commands import registry

    raw = (site / "meta-commands" / "index.html").read_text(encoding="utf-8")
    for command in registry.commands():
        assert f'id="{command.name}"' in raw, f"%{command.name} has no section in docs/meta-commands.md"
    source = (DOCS / "meta-commands.md").read_text(encoding="utf-8")
    documented = re.findall(r"^## `%[^`]*` \{ #([\w-]+) \}$", source, re.M)
    assert documented, "no command sections found"
    unknown = [name for name in documented if registry.lookup(name) is None]
    assert unknown == [], f"docs/meta-commands.md documents commands orgorepl does not have: {unknown}"


def test_keys_page_shows_the_keys_percent_help_shows(site):
    from orgorepl.commands import KEY_HELP

    text = page_text(site, "modes-and-keys")
    for key, what in KEY_HELP:
        assert what in text
        for part in key.split(" / "):
            assert part.strip() in text


def test_themes_page_shows_a_sample_of_every_bundled_theme(site):
    from orgorepl import themes

    raw = (site / "themes" / "index.html").read_text(encoding="utf-8")
    samples = re.findall(r'<pre class="orgorepl-sample"[^>]*>(.*?)</pre>', raw, re.S)
    shown = {html.unescape(re.sub(r"<[^>]+>", "", sample)).split(" · ", 1)[0].strip() for sample in samples}
    assert shown == set(themes.bundled()), "docs/themes.md needs <!-- orgorepl:theme-samples -->"


def test_exit_status_table_covers_every_status():
    from orgorepl.exitstatus import ExitStatus

    source = (DOCS / "troubleshooting.md").read_text(encoding="utf-8")
    table = dict(re.findall(r"^\| (\d+) \| `(\w+)` \|", source, re.M))
    assert table == {str(int(s)): s.name for s in ExitStatus}


def load_hooks():
    """docs/hooks.py as MkDocs loads it: a module from a file, not from a package."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("orgorepl_docs_hooks", DOCS / "hooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_unknown_marker_fails_the_build():
    from mkdocs.exceptions import PluginError

    hooks = load_hooks()

    assert "| `base_url` |" in hooks.expand("<!-- orgorepl:settings -->")
    with pytest.raises(PluginError, match="unknown marker orgorepl:nope"):
        hooks.expand("text <!-- orgorepl:nope --> text", "page.md")


# -------------------------------------------------------------------------------- error messages


def documented_messages() -> list[re.Pattern]:
    """Every line of the ```text blocks of troubleshooting.md, `…` matching what varies."""
    source = (DOCS / "troubleshooting.md").read_text(encoding="utf-8")
    patterns = []
    for block in re.findall(r"^```text\n(.*?)^```$", source, re.S | re.M):
        for line in block.splitlines():
            line = line.removeprefix("orgorepl: ")
            if line.strip():
                patterns.append(re.compile(".+?".join(re.escape(part) for part in line.split("…"))))
    return patterns


def real_messages(tmp_path: Path) -> list[str]:
    """Messages orgorepl really produces, made the way a user meets them."""
    from click.testing import CliRunner

    from orgorepl import cli, config, errors, protocol, repl
    from orgorepl.client import OrgoClient, pick_computer
    from orgorepl.commands import CommandContext, registry
    from orgorepl.connect import remote_connector
    from orgorepl.emulator import EmbeddedEmulator
    from orgorepl.modes import Mode
    from orgorepl.session.bash_cell import BashOutcome
    from orgorepl.session.carry import bash_notes, python_notes

    from outcomes import bash_outcome, python_outcome, render_bash, render_exec

    found: list[str] = []

    def expect(error_type, fn):
        with pytest.raises(error_type) as info:
            fn()
        found.append(info.value.one_line() if hasattr(info.value, "one_line") else str(info.value))

    # configuration
    for name, text in [("unknown", "colour = 1\n"), ("bad", "bash_timeout = 0\n"), ("toml", "x = \n")]:
        path = tmp_path / name / "config.toml"
        path.parent.mkdir()
        path.write_text(text)
        expect(errors.ConfigError, lambda: config.load(config_path=path, env={}))  # noqa: B023 - called at once
    expect(errors.ConfigError, lambda: config.load(env={"ORGO_BASE_URL": " "}, config_path=tmp_path / "none"))
    expect(errors.ConfigError, lambda: config.load({"python_timeout": 0}, env={}, config_path=tmp_path / "none"))
    expect(errors.ConfigError, lambda: remote_connector("https://www.orgo.ai/api", None)())
    expect(errors.ConfigError, lambda: OrgoClient(api_key="sk live", base_url="https://www.orgo.ai/api"))
    expect(errors.ConfigError, lambda: OrgoClient(api_key="k", base_url="ftp://example.com"))
    runner = CliRunner()
    for argv in (["--resume", "zz"], ["serve", "--host", "0.0.0.0", "--data-dir", str(tmp_path / "emu")]):
        result = runner.invoke(cli.cli, argv, prog_name="orgorepl")
        assert result.exit_code != 0
        found += [line for line in result.output.splitlines() if line.startswith("orgorepl")]

    # connecting, against a port nobody listens on
    closed = f"http://127.0.0.1:{_free_port()}/api"
    with OrgoClient(api_key="k", base_url=closed, max_retries=0) as client:
        expect(errors.ConnectError, client.list_workspaces)

    # the API's refusals, from a real emulator
    with EmbeddedEmulator(data_dir=tmp_path / "emulator", computers=2) as emu:
        with OrgoClient(api_key="wrong-key", base_url=emu.base_url) as client:
            expect(errors.AuthError, client.list_workspaces)
        with OrgoClient(api_key=emu.api_key, base_url=emu.base_url) as client:
            expect(errors.NotFoundError, lambda: client.get_computer(str(uuid.uuid4())))
            computers = client.list_computers()
            expect(errors.ResolutionError, lambda: pick_computer(computers, None))
            expect(errors.ResolutionError, lambda: pick_computer(computers, "nosuch"))
            twins = [protocol.Computer(id=f"id-{i}", name="twin", status="running") for i in range(2)]
            expect(errors.ResolutionError, lambda: pick_computer(twins, "twin"))
            expect(errors.ResolutionError, lambda: remote_connector(emu.base_url, emu.api_key, None,
                                                                    workspace="nosuch")())
            target = computers[-1].id
            client.stop(target)
            expect(errors.InstanceNotAvailableError, lambda: client.exec(target, "print(1)", 5))
            expect(errors.ConflictError, lambda: client.stop(target))
            client.start(target)
            expect(errors.BadRequestError, lambda: client.bash(target, "true", 4000))

    # the interactive session's own lines
    found += [repl.INTERRUPTED_NOTE, repl.INTERRUPTED_UNSENT_NOTE]
    ctx = CommandContext(mode=Mode.PYTHON, timeouts={Mode.PYTHON: 10, Mode.BASH: 60})
    for line in ("hepl", "zzzz", "timeout 0", "history x", "stateless maybe", "state now", "target frob",
                 "start now"):
        found.append(registry.run(line, ctx).text)
    found.append(_validation_message("print((1"))
    found += _terminal_messages(tmp_path)
    timed_out = SimpleNamespace(output="", traceback=None, success=False, error=None, error_type=None,
                                timeout=True, exit_code=None, state=None)
    found.append(_status_line(render_exec(python_outcome(timeout=True), timeout=5, elapsed=0.1)))
    found.append(_status_line(render_bash(bash_outcome("x\n", 137), timeout=5, elapsed=0.1)))
    found.append(_status_line(render_bash(bash_outcome("x\n", None, success=False), timeout=5, elapsed=0.1)))
    found += python_notes(timed_out, stateful=True)
    from orgorepl.session.python_state import StateReport

    ctrl_c = SimpleNamespace(output="", traceback=None, success=True, error=None, error_type=None,
                             timeout=False, state=StateReport(arrived=True, saved=True, late=True,
                                                              uncommitted=("conn",)))
    found += python_notes(ctrl_c, stateful=True)
    found += bash_notes(BashOutcome("", 0, False, cwd="/x", gone="/x/gone"), stateful=True)
    found += bash_notes(BashOutcome("", 0, False, cwd=None), stateful=True)
    return found


def _terminal_messages(tmp_path: Path) -> list[str]:
    """The terminal's lines: closes the emulator sends, every code of both sets, and the ends."""
    import asyncio

    from orgorepl import errors, protocol
    from orgorepl.client import OrgoClient
    from orgorepl.client.terminal import TerminalSocket
    from orgorepl.emulator import EmbeddedEmulator
    from orgorepl.term.session import TermEnd

    found: list[str] = []

    async def failure(url: str) -> None:
        try:
            socket = await TerminalSocket.open(url)
            while await socket.receive() is not None:
                pass
        except errors.OrgoError as err:
            found.append(err.one_line())

    with EmbeddedEmulator(data_dir=tmp_path / "term-emulator", computers=1) as emu:
        with OrgoClient(api_key=emu.api_key, base_url=emu.base_url) as client:
            access = client.terminal_access(emu.computers[0].id)
            asyncio.run(failure(protocol.terminal_socket_url(emu.base_url, access.instance_id, "wrong", 80, 24)))
            asyncio.run(failure(protocol.terminal_socket_url(emu.base_url, "nosuch", access.token, 80, 24)))
            client.stop(emu.computers[0].id)
            access = client.terminal_access(emu.computers[0].id)
            asyncio.run(failure(access.url(emu.base_url, 80, 24)))
    assert len(found) == 3
    for code in (1001, 4000, 4006, 4007, 4008, 4011, 4401, 4404, 4500, 4502, 4999, None):
        found.append(protocol.terminal_close_error(code, "").one_line())
    end = TermEnd(0, "Disconnected from computer-1.", blocked="blocked 2 escape sequences from the remote: x")
    found += [text for text, _ in end.lines()]
    return found


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _validation_message(text: str) -> str:
    from prompt_toolkit.document import Document
    from prompt_toolkit.validation import ValidationError

    from orgorepl.modes import Mode
    from orgorepl.ui.validation import PythonSyntaxValidator

    with pytest.raises(ValidationError) as info:
        PythonSyntaxValidator(lambda: Mode.PYTHON).validate(Document(text))
    return info.value.message


def _status_line(fragments) -> str:
    return "".join(text for style, text, *_ in fragments if "status." in style)


def test_documented_messages_are_the_ones_orgorepl_prints(tmp_path):
    patterns = documented_messages()
    assert len(patterns) > 40
    messages = real_messages(tmp_path)
    assert len(messages) >= 25
    missing = [m for m in messages if not any(p.fullmatch(m.removeprefix("orgorepl: ")) for p in patterns)]
    assert missing == [], "messages orgorepl prints that docs/troubleshooting.md does not show:\n" + "\n".join(missing)


def test_the_example_config_file_is_valid_and_holds_the_defaults(tmp_path):
    from orgorepl import config

    example = load_hooks().settings_example()
    path = tmp_path / "config.toml"
    path.write_text("\n".join(line for line in example.splitlines() if not line.startswith("```")))
    settings = config.load(config_path=path, env={})
    for setting in config.SCHEMA:
        assert settings.values[setting.key] == setting.default
        expected_source = "default" if setting.default is None or setting.secret else str(path)
        assert settings.sources[setting.key] == expected_source
