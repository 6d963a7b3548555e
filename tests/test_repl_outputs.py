"""The last output, transcripts and file transfer from inside the interactive session."""

from __future__ import annotations

import json
import os
import stat

from test_repl import start  # noqa: F401  (the fixture)


def ready(s):
    s.expect(r"connected to \S+ \(running\)")


def test_more_pages_and_save_output_writes_the_whole_last_output(start, tmp_path, monkeypatch):  # noqa: F811
    paged = tmp_path / "paged.txt"
    monkeypatch.setenv("PAGER", f"cat > {paged}")
    s = start()
    ready(s)
    s.submit("%more")
    s.expect(r"^no output yet")
    s.submit("for i in range(5000): print('line', i)")
    s.submit("")  # the blank line that closes the block
    s.expect(r"not shown: %more pages the whole output")  # the screen shows a bounded part
    s.expect(r"^line 4999$")
    s.submit("%more")
    s.submit("print('after')")
    s.expect(r"^after$")
    assert paged.read_text().splitlines()[-1] == "line 4999"
    target = tmp_path / "out.txt"
    s.submit("print('saved text', end='')")
    s.expect(r"^saved text$")
    s.submit(f"%save-output {target}")
    s.expect(r"^wrote 10 bytes to ")
    assert target.read_text() == "saved text"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_save_exports_the_session_and_log_records_as_it_goes(start, tmp_path):  # noqa: F811
    log = tmp_path / "live.jsonl"
    s = start(log_path=str(log))
    ready(s)
    s.submit("x = 6")
    s.submit("x * 7")
    s.expect(r"^42$")
    s.submit("!echo from-bash")
    s.expect(r"^from-bash$")
    s.submit("1/0")
    s.expect(r"ZeroDivisionError")
    s.submit("%timeout")  # meta-commands are not recorded
    s.expect(r"^timeouts: ")
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(e["mode"], e["source"], e["status"]) for e in lines] == [
        ("python", "x = 6", "ok"), ("python", "x * 7", "ok"), ("bash", "echo from-bash", "ok"),
        ("python", "1/0", "error")]
    script = tmp_path / "session.py"
    s.submit(f"%save {script}")
    s.expect(r"^saved 2 submissions to ")  # .py: the successful Python ones
    text = script.read_text()
    assert "x = 6" in text and "1/0" not in text
    s.submit(f"%save {tmp_path / 'session.doc'}")
    s.expect(r"cannot save to .*session\.doc")


def test_put_and_get_from_the_prompt_follow_the_remote_cwd(start, tmp_path, emulator):  # noqa: F811
    local = tmp_path / "local.txt"
    local.write_text("payload\n")
    s = start()
    ready(s)
    s.submit("!mkdir -p sub && cd sub")
    s.submit(f"%put {local}")
    s.expect(r"^uploaded 8 B")
    home = emulator.computers[0].home
    assert (home / "sub" / "local.txt").read_text() == "payload\n"
    back = tmp_path / "back.txt"
    s.submit(f"%get local.txt {back}")
    s.expect(r"^downloaded 8 B")
    assert back.read_text() == "payload\n"
    s.submit("%get missing.txt")
    s.expect(r"not found")
    s.submit("print('still ' + 'fine')")
    s.expect(r"^still fine$")
    assert os.path.exists(back)


def test_a_configured_toggle_key_switches_modes_and_the_hints_say_so(start):  # noqa: F811
    s = start(toggle_key="c-t")
    ready(s)
    s.expect(r"Ctrl-T mode")  # the toolbar hint
    s.send("\x14")  # Ctrl-T
    s.expect(r"^(\S+ )?\$$")
    s.submit("echo switched")
    s.expect(r"^switched$")
    s.submit("%python")
    s.expect(r"^python mode \(Ctrl-T switches back\)$")


def test_state_reset_stateless_and_resume_at_the_prompt(start):  # noqa: F811
    s = start()
    ready(s)
    s.submit("import math\nkept = [1, 2]\nfh = open('/dev/null')")
    s.submit("")
    s.expect(r"^not kept: fh \(cannot be pickled")
    s.submit("%state")
    s.expect(r"^session (\w+): 3 names, \d+ B of values$")
    s.expect(r"^  kept\s+list\s+\d+ B\s+kept$")
    s.expect(r"^  math\s+module\s+rebuilt$")
    s.expect(r"^  fh\s+TextIOWrapper\s+lost \(cannot be pickled")
    s.submit("%info")
    session_id = s.expect(r"^session\s+(\w+) \(state carried; resume with orgorepl --resume \w+\)$").group(1)
    s.submit("%stateless on")
    s.expect(r"^stateless: submissions go to the API exactly as typed")
    s.expect(r"│ stateless │")  # the toolbar
    s.submit("kept")
    s.expect(r"NameError: name 'kept' is not defined")
    s.submit("%stateless off")
    s.submit("kept")
    s.expect(r"^\[1, 2\]$")
    s.close()

    again = start(session_id=session_id)  # a new client process would do this with --resume
    ready(again)
    again.submit("kept + [3]")
    again.expect(r"^\[1, 2, 3\]$")
    again.submit("%reset")
    again.expect(rf"forget session {session_id}: every name, the cwd and the environment changes\? \[y/N\]")
    again.submit("y")
    again.expect(rf"^session {session_id} reset")
    again.submit("'kept' in dir()")
    again.expect(r"^False$")


def test_an_interrupted_submission_is_in_the_log_as_interrupted(start, tmp_path):  # noqa: F811
    log = tmp_path / "live.jsonl"
    s = start(log_path=str(log))
    ready(s)
    s.submit("import time; time.sleep(30)")
    s.expect(r"python on \S+ ")  # the spinner is up: the call is in flight
    s.send("\x03")
    s.expect(r"^interrupted: the call was abandoned")
    s.submit("print('next')")
    s.expect(r"^next$")
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert [(e["source"], e["status"]) for e in entries] == [
        ("import time; time.sleep(30)", "interrupted"), ("print('next')", "ok")]


def test_stderr_is_shown_after_stdout_on_a_line_of_its_own(start):  # noqa: F811
    """Issue 14, cause 7: print(file=sys.stderr), warnings, logging and a child's stderr reach the
    screen (the API returns stdout only: the wrapper carries them), after stdout."""
    s = start()
    ready(s)
    s.submit("import sys, subprocess, warnings, logging; print('o' + 'ut', end=''); "
             "print('e' + 'rr', file=sys.stderr); warnings.warn('care' + 'ful'); "
             "logging.warning('log' + 'ged'); r = subprocess.run(['sh', '-c', 'echo chi''ld >&2'])")
    s.expect(r"^out\nerr\n<cell>:1: UserWarning: careful$")
    s.expect(r"^WARNING:root:logged\nchild$")
