"""Every output path: bytes from the remote computer reach a terminal only through the sanitiser.

tests/test_render_sanitize.py proves the sanitiser itself on a large corpus.  This file proves
that each way remote text can travel to a *terminal* actually goes through it: printed results
(Python and bash), tracebacks, notes built from remote exception messages, the one-shot ``exec``
and ``bash`` commands (stdout and stderr), batch mode writing to a terminal, fan-out, the pager
and transcript replay.

The remote produces a small hostile corpus.  Each payload is wrapped in its own markers
(``HPnn<`` ... ``>HPnn``), and the remote code builds the text from hex at run time, so the
markers never appear in what is typed or echoed: whatever stands between the markers in the
bytes written to the terminal came from the remote.  For every payload the check is

* no control character at all between its markers (once colours, ``ESC [ ... m``, which may
  pass, are set aside): not the raw sequence, not a partial one (a BEL left behind after the
  ESC was dropped, a bare C1 byte);
* its visible spelling is there, exactly: ``ESC`` as ``^[``, BEL ``^G``, backspace ``^H``,
  a lone CR ``^M``, C1 such as U+009B as ``\\x9b`` (the sanitiser's policy), so the user can see
  that something was there.

Only stable entry points are used: ``python -m orgorepl`` in real pseudo-terminals (pexpect) and
``run_interactive`` through the REPL tests' ``start`` fixture, whose terminal is replaced here by
one that also keeps every raw write.  Pipes are not tested: into a pipe, one-shot commands and
batch mode pass remote output raw on purpose (scripts get the bytes).
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass

import pexpect
import pytest

import test_repl
from test_repl import start  # noqa: F401  (the fixture)

ROWS, COLS = 24, 100


# --------------------------------------------------------------------------------------------
# The corpus


@dataclass(frozen=True)
class Payload:
    name: str
    seq: str  # what the remote writes
    visible: str  # how the terminal must show it

    @property
    def tag(self) -> str:
        return f"HP{PAYLOADS.index(self) + 1:02d}"

    @property
    def open(self) -> str:
        return self.tag + "<"

    @property
    def close(self) -> str:
        return ">" + self.tag

    @property
    def text(self) -> str:
        return self.open + self.seq + self.close

    @property
    def shown(self) -> str:
        return self.open + self.visible + self.close


PAYLOADS = [
    Payload("OSC 52 clipboard write", "\x1b]52;c;SFAwMQ==\x07", "^[]52;c;SFAwMQ==^G"),
    Payload("OSC 0 window title", "\x1b]0;PWNED-TITLE\x07", "^[]0;PWNED-TITLE^G"),
    Payload("clear screen", "\x1b[2J", "^[[2J"),
    Payload("cursor home", "\x1b[H", "^[[H"),
    Payload("alternate screen", "\x1b[?1049h", "^[[?1049h"),
    Payload("DCS sixel", "\x1bPq#0\x1b\\", "^[Pq#0^[\\"),
    Payload("APC kitty graphics", "\x1b_Gf=100;AAAA\x1b\\", "^[_Gf=100;AAAA^[\\"),
    Payload("8-bit CSI clear", "\x9b2J", "\\x9b2J"),
    Payload("C1 NEL", "a\x85b", "a\\x85b"),
    Payload("8-bit OSC title", "\x9d0;C1-TITLE\x9c", "\\x9d0;C1-TITLE\\x9c"),
    Payload("BEL", "ding\x07", "ding^G"),
    Payload("backspace overwrite", "safe\x08\x08\x08\x08evil", "safe^H^H^H^Hevil"),
    Payload("lone CR overwrite", "rm -rf ~\rOVERWRITE", "rm -rf ~^MOVERWRITE"),
    Payload("cursor position query", "\x1b[6n", "^[[6n"),
    Payload("full reset", "\x1bc", "^[c"),
]
IDS = [p.name for p in PAYLOADS]

# Every control character but tab and newline; \udc80-\udc9f are lone 8-bit C1 bytes (decoded
# with surrogateescape).  Colours may pass, so SGR is set aside before looking.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\udc80-\udc9f]")
SGR = re.compile(r"\x1b\[[0-9;:]*m")


def hex_of(text: str) -> str:
    return text.encode("utf-8").hex()


def py_text(payloads, sep: str) -> str:
    """A Python expression that builds the payloads on the remote (no marker in the source)."""
    return f"bytes.fromhex('{hex_of(sep.join(p.text for p in payloads))}').decode()"


def py_print(payloads=PAYLOADS) -> str:
    return f"print({py_text(payloads, chr(10))})"


def py_raise(payloads=PAYLOADS) -> str:
    return f"raise ValueError({py_text(payloads, ' | ')})"


def bash_printf(payloads=PAYLOADS) -> str:
    """A bash command printing the payloads, one a line: every byte as an octal escape."""
    data = "\n".join(p.text for p in payloads).encode("utf-8") + b"\n"
    return "printf '" + "".join(f"\\{b:03o}" for b in data) + "'"


def problems(path: str, written: str, payloads=PAYLOADS) -> list[str]:
    """What is wrong with ``written`` (everything the terminal received) for each payload."""
    found: list[str] = []
    for p in payloads:
        starts = [m.start() for m in re.finditer(re.escape(p.open), written)]
        if not starts:
            found.append(f"[{path}] {p.name}: its marker {p.open!r} never reached the terminal")
            continue
        for at in starts:
            end = written.find(p.close, at)
            stop = end + len(p.close) if end >= 0 and end - at < 400 else at + 120
            region = written[at:stop]
            plain = SGR.sub("", region)
            bad = CONTROL.search(plain)
            context = written[max(0, at - 40):stop + 20]
            if bad:
                found.append(f"[{path}] {p.name}: raw {bad.group()!r} reached the terminal: {context!r}")
            elif p.shown not in plain:
                found.append(f"[{path}] {p.name}: not shown as {p.shown!r}: {context!r}")
    return found


def assert_clean(path: str, written: str, payloads=PAYLOADS) -> None:
    found = problems(path, written, payloads)
    assert not found, (f"{len(found)} payload(s) not neutralised on the {path} path:\n  "
                       + "\n  ".join(found))


# --------------------------------------------------------------------------------------------
# In process: the REPL with a terminal that keeps its raw writes


class RecordingScreen(test_repl.Screen):
    def __init__(self) -> None:
        super().__init__()
        self.raw: list[str] = []

    def write(self, data: str) -> int:
        self.raw.append(data)
        return super().write(data)

    def written(self) -> str:
        return "".join(self.raw)


@pytest.fixture
def recording(monkeypatch):
    """Sessions started from now on write to a RecordingScreen."""
    monkeypatch.setattr(test_repl, "Screen", RecordingScreen)


def ready(s) -> None:
    s.expect(r"connected to \S+ \(running\)")


def finish(s, marker: str) -> str:
    """Run a harmless submission after the hostile one, so all of its output has been written."""
    s.submit(f"print('{marker[:3]}' + '{marker[3:]}')")
    s.expect("^" + re.escape(marker) + "$")
    return s.screen.written()


# --------------------------------------------------------------------------------------------
# In a pseudo-terminal


def pty_env(emulator, isolated_env, **extra) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORGO_", "ORGOREPL_"))}
    env.update(TERM="xterm", PROMPT_TOOLKIT_NO_CPR="1", LINES=str(ROWS), COLUMNS=str(COLS),
               EDITOR="true", VISUAL="true", PAGER="cat", LANG="C.UTF-8", LC_ALL="C.UTF-8",
               ORGO_API_KEY=emulator.api_key, ORGO_BASE_URL=emulator.base_url,
               ORGO_COMPUTER=emulator.computers[0].id,
               ORGOREPL_CONFIG_DIR=str(isolated_env / "config"),
               ORGOREPL_DATA_DIR=str(isolated_env / "data"))
    env.update(extra)
    return env


def decode(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")


def run_in_pty(argv: list[str], env: dict[str, str], timeout: float = 60) -> tuple[int | None, str]:
    """Run ``argv`` with stdin, stdout and stderr on one pseudo-terminal; everything it wrote."""
    child = pexpect.spawn(argv[0], argv[1:], env=env, dimensions=(ROWS, COLS), encoding=None,
                          timeout=timeout)
    try:
        data = child.read()
    except pexpect.TIMEOUT:
        raise AssertionError(f"{argv[2:]} did not finish in {timeout}s; it wrote:\n"
                             f"{decode(child.before or b'')[-2000:]!r}") from None
    finally:
        child.close(force=True)
    return child.exitstatus, decode(data)


class Pty:
    """An interactive orgorepl in a pseudo-terminal, keeping every byte it wrote."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.child = pexpect.spawn(argv[0], argv[1:], env=env, dimensions=(ROWS, COLS), encoding=None)
        self.data = b""

    def _read(self, timeout: float) -> bool:
        try:
            self.data += self.child.read_nonblocking(65536, timeout=timeout)
        except pexpect.TIMEOUT:
            pass
        except pexpect.EOF:
            return False
        return True

    def text(self) -> str:
        return decode(self.data)

    def wait_for(self, needle: str, timeout: float = 30, since: int = 0) -> None:
        deadline = time.monotonic() + timeout
        alive = True
        while needle not in decode(self.data[since:]):
            if not alive or time.monotonic() > deadline:
                why = "the program exited" if not alive else "timed out"
                raise AssertionError(f"{why} waiting for {needle!r}; last output:\n{self.text()[-2500:]!r}")
            alive = self._read(0.1)

    def submit(self, line: str) -> None:
        self.child.send(line + "\r")

    def close(self) -> None:
        if self.child.isalive():
            self.child.sendcontrol("c")
            self.child.sendcontrol("d")
            deadline = time.monotonic() + 10
            while self._read(0.1) and time.monotonic() < deadline:
                pass
        self.child.close(force=True)


@pytest.fixture
def ptys():
    opened: list[Pty] = []

    def open_pty(argv, env) -> Pty:
        p = Pty(argv, env)
        opened.append(p)
        return p

    yield open_pty
    for p in opened:
        p.close()


DONE = "DONE-" + "MARK"  # printed by the remote after the hostile output, built so the source differs


def done_code() -> str:
    return "print('DONE-' + 'MARK')"


# --------------------------------------------------------------------------------------------
# 1. REPL results


def test_repl_python_print(start, recording):  # noqa: F811
    s = start()
    ready(s)
    s.submit(py_print())
    assert_clean("REPL Python print", finish(s, "after-print"))


def test_repl_bash_printf(start, recording):  # noqa: F811
    s = start()
    ready(s)
    s.submit("%bash")
    s.expect(r"^(\S+ )?\$$")
    s.submit(bash_printf())
    s.submit("echo after-$((1))-printf")
    s.expect(r"^after-1-printf$")
    assert_clean("REPL bash printf", s.screen.written())


# 2. REPL traceback and error status


def test_repl_traceback(start, recording):  # noqa: F811
    s = start()
    ready(s)
    s.submit(py_raise())
    s.expect(r"ValueError")
    assert_clean("REPL traceback", finish(s, "after-raise"))


# 3. REPL note quoting a remote exception message


# The remote keeps the first line of the message (str.splitlines), so payloads holding a line
# break by Python's rules (CR, NEL) cannot reach a note whole; the rest can.
NOTE_PAYLOADS = [p for p in PAYLOADS if p.text.splitlines() == [p.text]]


def test_repl_not_kept_note(start, recording):  # noqa: F811
    s = start()
    ready(s)
    # One submission: a class whose instances refuse to be pickled with a remote message, and
    # one instance per payload, so each name gets its own "not kept: NAME (reason)" note.
    cell = ["class Unpicklable:",
            "    def __init__(self, why):",
            "        self.why = why",
            "    def __reduce__(self):",
            "        raise ValueError(self.why)",
            ""]
    cell += [f"hostile_{i} = Unpicklable(bytes.fromhex('{hex_of(p.text)}').decode())"
             for i, p in enumerate(NOTE_PAYLOADS)]
    s.send("\x1b[200~" + "\n".join(cell) + "\x1b[201~" + test_repl.ESC_ENTER)
    s.expect(rf"^not kept: hostile_{len(NOTE_PAYLOADS) - 1} \(cannot be pickled \(ValueError: ")
    assert_clean("REPL not-kept note", finish(s, "after-notes"), NOTE_PAYLOADS)


# --------------------------------------------------------------------------------------------
# 4, 5. One-shot exec and bash, to a pseudo-terminal


@pytest.mark.pty
def test_exec_stdout_to_a_terminal(emulator, isolated_env, orgorepl_cmd):
    status, written = run_in_pty(orgorepl_cmd + ["exec", py_print()], pty_env(emulator, isolated_env))
    assert status == 0, written[-2000:]
    assert_clean("exec stdout (pty)", written)


@pytest.mark.pty
def test_exec_error_line_on_stderr_to_a_terminal(emulator, isolated_env, orgorepl_cmd):
    status, written = run_in_pty(orgorepl_cmd + ["exec", py_raise()], pty_env(emulator, isolated_env))
    assert status == 1, written[-2000:]
    assert "ValueError" in written, written[-2000:]
    assert_clean("exec error on stderr (pty)", written)


@pytest.mark.pty
def test_bash_oneshot_to_a_terminal(emulator, isolated_env, orgorepl_cmd):
    status, written = run_in_pty(orgorepl_cmd + ["bash", bash_printf()], pty_env(emulator, isolated_env))
    assert status == 0, written[-2000:]
    assert_clean("bash one-shot (pty)", written)


# --------------------------------------------------------------------------------------------
# 6. Batch mode: stdin a pipe, stdout and stderr the terminal


BATCH = {
    "python print": ([], py_print() + "\n"),
    "python raise": ([], py_raise() + "\n"),
    "bash printf": (["--bash"], bash_printf() + "\n"),
}


@pytest.mark.pty
@pytest.mark.parametrize("kind", list(BATCH))
def test_batch_mode_writing_to_a_terminal(kind, emulator, isolated_env, orgorepl_cmd):
    flags, script = BATCH[kind]
    env = pty_env(emulator, isolated_env, HOSTILE_SCRIPT=script)
    command = 'printf "%s" "$HOSTILE_SCRIPT" | exec "$@"'
    status, written = run_in_pty(["/bin/bash", "-c", command, "bash", *orgorepl_cmd, *flags], env)
    assert status == (1 if kind == "python raise" else 0), written[-2000:]
    assert_clean(f"batch mode, {kind} (stdin a pipe, stdout a pty)", written)


# --------------------------------------------------------------------------------------------
# 7. Fan-out


@pytest.mark.pty
def test_fanout_exec_to_a_terminal(emulator, isolated_env, orgorepl_cmd):
    a, b = emulator.computers[0].id, emulator.computers[1].id
    status, written = run_in_pty(orgorepl_cmd + ["exec", "-c", a, "-c", b, py_print()],
                                 pty_env(emulator, isolated_env))
    assert status == 0, written[-2000:]
    assert "2 computers" in written, written[-2000:]
    assert_clean("fan-out exec (pty)", written)


@pytest.mark.pty
def test_fanout_repl_to_a_terminal(emulator, isolated_env, orgorepl_cmd, ptys):
    a, b = emulator.computers[1].id, emulator.computers[2].id
    t = ptys(orgorepl_cmd + ["-c", a, "-c", b], pty_env(emulator, isolated_env))
    t.wait_for("connected to ")
    t.submit(py_print())
    t.submit(py_raise())
    t.submit(done_code())
    t.wait_for(DONE)
    assert_clean("fan-out REPL (pty)", t.text())


# --------------------------------------------------------------------------------------------
# 8. The pager


@pytest.mark.pty
@pytest.mark.parametrize("pager", ["never", "auto"])
def test_pager_to_a_terminal(emulator, isolated_env, orgorepl_cmd, ptys, pager):
    (isolated_env / "config").mkdir(parents=True, exist_ok=True)
    (isolated_env / "config" / "config.toml").write_text(f'pager = "{pager}"\n', encoding="utf-8")
    t = ptys(orgorepl_cmd, pty_env(emulator, isolated_env, PAGER="cat"))
    t.wait_for("connected to ")
    long_print = ("print('\\n'.join(['filler %d' % i for i in range(3000)] + ["
                  + py_text(PAYLOADS, "\n") + "] + ['filler %d' % i for i in range(3000, 6000)]))")
    if pager == "auto":  # taller than the screen: straight to the pager, through the same sanitiser
        t.submit(long_print)
        t.wait_for("filler 5999")
        t.submit(done_code())
        t.wait_for(DONE)
        assert_clean("auto pager, PAGER=cat (pty)", t.text())
        return
    # long output, the payloads in its middle: the screen shows a bounded part without them
    t.submit(long_print)
    t.wait_for("%more pages the whole output")  # the cut's marker, in the middle of what is shown
    t.wait_for("filler 5999")  # the tail, which may arrive a moment later on a loaded machine
    on_screen = t.text()
    assert "filler 5999" in on_screen and PAYLOADS[0].open not in on_screen, \
        "the long output was not cut on screen, so this test would not isolate the pager"
    before = len(t.data)
    t.submit("%more")  # PAGER=cat: the pager writes the whole output to the terminal
    t.wait_for("filler 5999", since=before)
    t.submit(done_code())
    t.wait_for(DONE, since=before)
    assert_clean("pager, PAGER=cat (pty)", decode(t.data[before:]))


# --------------------------------------------------------------------------------------------
# 9. Transcript replay


@pytest.mark.pty
def test_replay_to_a_terminal(emulator, isolated_env, orgorepl_cmd, tmp_path):
    lesson = tmp_path / "lesson.md"
    blocks = [("python", py_print()), ("python", py_raise()), ("bash", bash_printf())]
    lesson.write_text("# A lesson\n\n" + "".join(f"```{lang}\n{code}\n```\n\n" for lang, code in blocks),
                      encoding="utf-8")
    status, written = run_in_pty(orgorepl_cmd + ["replay", str(lesson), "--all"],
                                 pty_env(emulator, isolated_env))
    assert status is not None, f"the replay did not exit by itself:\n{written[-2000:]!r}"
    assert_clean("transcript replay (pty)", written)
