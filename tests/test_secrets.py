"""The API key stays a secret: a planted key is looked for everywhere orgorepl prints or writes.

A distinctive key (``sk_live_PLANTED_`` + random hex) is the key of an emulator of our own; every
feature that prints or writes a file is used with it: one-shot commands (plain, ``--json``,
piped, errors of every kind, ``--local``, put/get, ``orgorepl config``), the interactive REPL
(history, transcripts and the log, ``%save-output``, ``%info``, errors, a 401), and the real
entry point in a pseudo-terminal.  Then every capture and every file under the isolated config
and data dirs is searched for the key, and the files the client wrote must be 0600 in 0700
directories.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import stat
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pexpect
import pytest
from prompt_toolkit.history import FileHistory

from orgorepl import paths
from orgorepl.connect import remote_connector
from orgorepl.repl import ReplOptions

from test_repl import CTRL_D, Session
from test_repl_vt import VtScreen

TOKEN = secrets.token_hex(12)
KEY = f"sk_live_PLANTED_{TOKEN}"

pytestmark = pytest.mark.timeout(120)


def leaks(text: str | bytes) -> bool:
    """Whether ``text`` holds the key, or enough of it to matter (the random part)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return KEY in text or TOKEN in text or "PLANTED_" + TOKEN[:6] in text


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """An emulator whose key is the planted one (its own data dir is the remote side, not ours)."""
    from orgorepl.emulator import EmbeddedEmulator

    emu = EmbeddedEmulator(data_dir=tmp_path_factory.mktemp("planted-remote"), computers=1, api_key=KEY).start()
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture(autouse=True)
def data_dir_made_by_the_client(isolated_env):
    """conftest makes the data dir (with the default mode); here the client must make its own."""
    (isolated_env / "data").rmdir()


def client_files(home: Path) -> tuple[list[Path], list[Path]]:
    """Every directory and file under the isolated data and config dirs.

    ``computers`` under ``data/local-emulator`` (``--local``) and ``data/emulator`` (``orgorepl
    serve``) is left out: it holds the home directories of the emulated computers, i.e. the
    emulated *remote* disk (what the user's code writes there is the user's business, as on a real
    Orgo computer), not files the client writes.
    """
    remote_disks = {home / "data" / "local-emulator" / "computers", home / "data" / "emulator" / "computers"}
    dirs, files = [], []
    for top in (home / "config", home / "data"):
        for root, subdirs, names in os.walk(top):
            here = Path(root)
            subdirs[:] = [d for d in subdirs if here / d not in remote_disks]
            dirs.extend(here / d for d in subdirs)
            files.extend(here / n for n in names)
    return dirs, files


def assert_private_and_clean(home: Path, *, written_by_test: set[Path] = frozenset(),
                             elsewhere: list[Path] = ()) -> list[Path]:
    """No file holds the key; what the client wrote is 0600 in 0700 directories.

    ``written_by_test``: files the test itself put there (a config file); ``elsewhere``: files the
    client wrote at paths the user chose (transcripts, saved output): key-free and 0600, but their
    directories are the user's.
    """
    dirs, files = client_files(home)
    written = [f for f in files if f not in written_by_test] + list(elsewhere)
    for path in written:
        assert not leaks(path.read_bytes()), f"the key is in {path}"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, f"{path} is {oct(path.stat().st_mode)}"
    if (home / "data").exists():
        dirs.append(home / "data")
    for path in dirs:
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, f"{path} is {oct(path.stat().st_mode)}"
    return written


def orgorepl(args: list[str], *, cwd: Path | None = None, stdin: str | None = None, **env: str):
    full = {k: v for k, v in os.environ.items() if not k.startswith("ORGO_")}
    full.update(env)
    return subprocess.run([sys.executable, "-m", "orgorepl", *args], input=stdin, capture_output=True,
                          text=True, env=full, cwd=cwd, timeout=90)


# --------------------------------------------------------------------------------------------
# One-shot commands


def test_one_shot_commands_never_print_or_store_the_key(planted, emulator, isolated_env, tmp_path):
    cid = planted.computers[0].id
    ours = {"ORGO_API_KEY": KEY, "ORGO_BASE_URL": planted.base_url, "ORGO_COMPUTER": cid}
    wrong_server = {"ORGO_API_KEY": KEY, "ORGO_BASE_URL": emulator.base_url,  # another key: 401
                    "ORGO_COMPUTER": emulator.computers[0].id}
    out = tmp_path / "out"
    out.mkdir()
    (out / "up.txt").write_text("payload\n")
    runs = {
        "exec": (["exec", "print(6 * 7)"], ours, 0),
        "exec --json": (["exec", "--json", "print(6 * 7)"], ours, 0),
        "exec raising": (["exec", "1 / 0"], ours, 1),
        "exec raising --json": (["exec", "--json", "1 / 0"], ours, 1),
        "bash": (["bash", "echo hi; exit 3"], ours, 3),
        "bash --json": (["bash", "--json", "echo hi; exit 3"], ours, 3),
        "computers": (["computers"], ours, 0),
        "computers --json": (["computers", "--json"], ours, 0),
        "config": (["config"], ours, 0),
        "config with --api-key": (["--api-key", KEY, "config"], {}, 0),
        "unknown computer": (["exec", "-c", "no-such-box", "print(1)"], ours, 11),
        "unknown computer --json": (["exec", "--json", "-c", "no-such-box", "print(1)"], ours, 11),
        "401": (["exec", "print(1)"], wrong_server, 10),
        "401 --json": (["bash", "--json", "echo hi"], wrong_server, 10),
        "401 from --api-key": (["exec", "--api-key", KEY, "print(1)"], {**wrong_server, "ORGO_API_KEY": ""}, 10),
        "401 listing": (["computers", "--json"], wrong_server, 10),
        "key with a space": (["exec", "print(1)"], {**ours, "ORGO_API_KEY": KEY[:20] + " " + KEY[20:]}, 16),
        "local emulator": (["exec", "--local", "print('local')"], {"ORGO_API_KEY": KEY}, 0),
        "put": (["put", str(out / "up.txt"), "up.txt"], ours, 0),
    }
    with ThreadPoolExecutor(max_workers=4) as pool:
        done = dict(zip(runs, pool.map(lambda r: orgorepl(r[0], cwd=out, **r[1]), runs.values()), strict=True))
    done["get"] = orgorepl(["get", "up.txt", str(out / "down.txt")], cwd=out, **ours)
    done["piped"] = orgorepl([], stdin="print('piped')\n", **ours)
    expected = {name: status for name, (_, _, status) in runs.items()} | {"get": 0, "piped": 0}

    for name, p in done.items():
        assert p.returncode == expected[name], f"{name}: exit {p.returncode}\n{p.stderr}"
        assert not leaks(p.stdout) and not leaks(p.stderr), f"{name} printed the key:\n{p.stdout}\n{p.stderr}"
        # no traceback of orgorepl's own; `exec` shows the remote code's, whose frames are <cell>'s
        assert "Traceback" not in p.stderr or (name.startswith("exec raising") and 'File "<cell>"' in p.stderr
                                               and "orgorepl/" not in p.stderr), name
    # the commands did what they say (so the captures above are of real work)
    assert done["exec"].stdout == "42\n" and json.loads(done["exec --json"].stdout)["output"] == "42\n"
    assert "HTTP 401 unauthorized" in done["401"].stderr
    assert json.loads(done["401 --json"].stdout)["status"] == 401
    assert "sk_…" in done["config"].stdout and "sk_…" in done["config with --api-key"].stdout
    assert "contains spaces" in done["key with a space"].stderr
    assert (out / "down.txt").read_text() == "payload\n"
    written = assert_private_and_clean(isolated_env)
    assert isolated_env / "data" / "local-emulator" / "emulator.json" in written  # --local's own files


def test_serve_with_a_given_key_neither_prints_nor_stores_it(isolated_env):
    server = subprocess.Popen([sys.executable, "-m", "orgorepl", "serve", "--port", "0", "--api-key", KEY],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    try:
        for line in server.stdout:
            lines.append(line)
            if line.startswith("Try:"):
                break
    finally:
        server.terminate()
        rest, _ = server.communicate(timeout=30)
    printed = "".join(lines) + rest
    assert "API key: the one given with --api-key" in printed, printed
    assert not leaks(printed)
    written = assert_private_and_clean(isolated_env)
    assert isolated_env / "data" / "emulator" / "emulator.json" in written


def write_config(home: Path, text: str, mode: int) -> Path:
    path = home / "config" / "config.toml"
    path.write_text(text)
    path.chmod(mode)
    return path


def test_a_config_file_with_a_key_readable_by_others_warns_without_showing_it(planted, isolated_env):
    env = {"ORGO_BASE_URL": planted.base_url}
    path = write_config(isolated_env, f'api_key = "{KEY}"\n', 0o644)
    for args in (["config"], ["exec", "print('ran')"], ["computers"]):
        p = orgorepl(args, **env)
        assert p.returncode == 0, p.stderr
        warning = (f"orgorepl: warning: {path} holds an API key and is readable by others: "
                   f"run `chmod 600 {path}`")
        assert warning in p.stderr.splitlines(), p.stderr
        assert not leaks(p.stdout + p.stderr)
    assert orgorepl(["exec", "print('ran')"], **env).stdout == "ran\n"  # the key in the file works
    path.chmod(0o600)
    p = orgorepl(["config"], **env)
    assert p.returncode == 0 and "warning" not in p.stderr and not leaks(p.stdout + p.stderr)
    assert_private_and_clean(isolated_env, written_by_test={path})


@pytest.mark.parametrize("text, says", [
    (f'api_key = "{KEY}" trailing junk\n', "not valid TOML"),  # the parser's message must not quote it
    (f'api_key = ["{KEY}"]\n', "api_key = (hidden) is invalid"),
    (f'apikey = "{KEY}"\n', "unknown key 'apikey'"),
    (f'api_key = "{KEY}\\u0007"\n', "the API key contains spaces, control"),  # refused by the client
])
def test_a_broken_config_file_is_reported_without_the_key(planted, isolated_env, text, says):
    write_config(isolated_env, text, 0o600)
    commands = [["exec", "print(1)"], ["exec", "--json", "print(1)"], ["bash", "echo 1"]]
    if "API key" not in says:  # a control character is only refused once a request is made
        commands.append(["config"])
    for args in commands:
        p = orgorepl(args, ORGO_BASE_URL=planted.base_url)
        assert p.returncode == 16, (args, p.returncode, p.stderr)
        assert says in p.stderr, p.stderr
        assert not leaks(p.stdout + p.stderr), p.stderr


# --------------------------------------------------------------------------------------------
# The REPL


@pytest.fixture
def repl():
    sessions: list[Session] = []

    def start(connect, **options) -> Session:
        options.setdefault("secret", KEY)
        options.setdefault("target_label", "planted")
        session = Session(connect, ReplOptions(**options))
        sessions.append(session)
        session.expect(r"^(>>>|\$)")
        return session

    yield start
    for session in sessions:
        session.close()


def test_a_key_typed_at_the_prompt_reaches_no_file(planted, repl, isolated_env, tmp_path):
    out = tmp_path / "exports"
    out.mkdir()
    s = repl(remote_connector(planted.base_url, KEY, planted.computers[0].id),
             log_path=str(out / "log.jsonl"))
    s.expect(r"^connected to ")
    s.submit(f'token = "{KEY}"')
    s.submit("print('token is', len(token), 'long')")
    s.expect(rf"^token is {len(KEY)} long$")
    s.submit(f"!echo {KEY} | wc -c")
    s.expect(rf"^{len(KEY) + 1}$")
    s.submit("%history")
    s.expect(r"^\d+  token = \"<redacted>\"$")
    s.expect(r"^\d+  !echo <redacted> \| wc -c$")
    for name in ("session.md", "session.json", "session.py"):
        s.submit(f"%save {out / name}")
        s.expect(rf"^saved \d+ submissions? to {re.escape(str(out / name))}$")
    s.submit(f"%save-output {out / 'last.txt'}")
    s.expect(rf"^wrote [\d,]+ bytes to {re.escape(str(out / 'last.txt'))}$")
    assert s.close() == 0
    # the screen shows what was typed, as a terminal does: the two input lines, and nothing else
    assert s.screen.text().count(KEY) == 2, s.screen.text()
    exports = sorted(out.iterdir())
    assert {p.name for p in exports} == {"log.jsonl", "session.md", "session.json", "session.py", "last.txt"}
    assert "<redacted>" in (out / "session.md").read_text() and "<redacted>" in (out / "log.jsonl").read_text()
    history = list(FileHistory(str(paths.history_file("python"))).load_history_strings())
    assert 'token = "<redacted>"' in history
    files = assert_private_and_clean(isolated_env, elsewhere=exports)
    assert paths.history_file("python") in files


def test_what_the_repl_shows_never_holds_the_key(planted, emulator, repl, isolated_env):
    s = repl(remote_connector(planted.base_url, KEY, planted.computers[0].id))
    s.expect(r"^connected to ")
    s.submit("%info")
    s.expect(rf"^id +{planted.computers[0].id}$")
    s.submit("import os; print(sorted(k for k in os.environ if 'ORGO' in k))")
    s.expect(r"^\[\]$")  # the computer's environment does not carry the key either
    s.submit("raise ValueError('boom')")
    s.expect(r"ValueError: boom")
    s.submit("%bash")
    s.submit("echo $((40 + 2)); env | grep -c PLANTED; true")
    s.expect(r"^42\n0$")
    s.submit("%state")
    s.submit("%help")
    s.expect(r"%timeout")
    assert s.close() == 0
    assert not leaks(s.screen.text()), s.screen.text()

    # the same key against a server that does not know it: 401, one line, no key
    s401 = repl(remote_connector(emulator.base_url, KEY, emulator.computers[0].id))
    s401.expect(r"^not connected: HTTP 401 unauthorized: .*check ORGO_API_KEY")
    s401.submit("print('never')")
    s401.expect(r"^not run: there is no connection to the computer$")
    s401.submit("%info")
    assert s401.close() == 0
    assert not leaks(s401.screen.text()), s401.screen.text()
    assert_private_and_clean(isolated_env)


def test_the_entry_point_redacts_a_typed_key_from_history(planted, isolated_env):
    """`orgorepl` itself (settings -> ReplOptions.secret), in a pseudo-terminal."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORGO_")}
    env.update(TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1", LINES="24", COLUMNS="100",
               ORGO_API_KEY=KEY, ORGO_BASE_URL=planted.base_url)
    child = pexpect.spawn(sys.executable, ["-m", "orgorepl"], env=env, dimensions=(24, 100),
                          encoding="utf-8", codec_errors="replace")
    screen = VtScreen(rows=24, columns=100)

    def wait_for(pattern: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while not re.search(pattern, screen.text(), re.MULTILINE):
            assert time.monotonic() < deadline, f"Expected {pattern!r}\nActual screen:\n{screen.text()[-2000:]}"
            try:
                screen.feed(child.read_nonblocking(65536, timeout=0.1))
            except pexpect.TIMEOUT:
                pass

    try:
        wait_for(r"^connected to ")
        child.send(f"secret = '{KEY}'\r")
        child.send("print(len(secret))\r")
        wait_for(rf"^{len(KEY)}$")
        child.send("%bash\r")
        child.send(f"echo {KEY} | tr -d '\\n' | wc -c\r")
        wait_for(rf"^(\S+ )?\$ echo .*\n{len(KEY)}$")
        child.send(CTRL_D)
        child.expect(pexpect.EOF, timeout=20)
    finally:
        child.close(force=True)
    assert child.exitstatus == 0
    python = paths.history_file("python").read_text()
    bash = paths.history_file("bash").read_text()
    assert "+secret = '<redacted>'" in python.splitlines()
    assert "+echo <redacted> | tr -d '\\n' | wc -c" in bash.splitlines()
    assert_private_and_clean(isolated_env)
