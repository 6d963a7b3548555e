"""Transcripts of real sessions against the emulator: every export format, the continuous log,
redaction of the API key, private files, and reading sessions back for replay.

The transcript under test is built from real submissions (``RemoteSession`` + the client, as the
REPL sends them), and the script exports are re-run through ``orgorepl exec -`` / ``orgorepl
bash -`` to prove they reproduce what the session printed.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap

import pytest

from orgorepl import errors
from orgorepl import outcome as oc
from orgorepl.modes import Mode
from orgorepl.session.carry import RemoteSession
from orgorepl.submit import Code, submit
from orgorepl.transcript import (
    Entry,
    Submission,
    Transcript,
    load_entries,
    load_submissions,
)

# What the session types, in order.  (mode, source, exec timeout); "{key}" is the API key.
SESSION = [
    ("python", "x = 21", 10),
    ("python", "print(x * 2)", 10),
    ("python", "x", 10),
    ("python", "1/0", 10),
    ("python", 'def greet(name):\n    return "hi " + name\n\ngreet("ann")', 10),
    ("bash", "V=7; echo from bash", 60),
    ("bash", 'echo "v=$V"', 60),
    ("bash", "exit 3", 60),
    ("bash", "printf 'no newline'", 60),
    ("python", 'print("\\x1b[31mred\\x1b[0m", "token={key}")', 10),
    ("python", "import time\ntime.sleep(5)", 1),
    ("python", "items = [x, x + 1]\nitems", 10),
    ("bash", "echo after", 60),
]


def run_session(client, computer_id, name, secret, submissions=SESSION):
    """Run ``submissions`` like the REPL does and record them; returns (transcript, raw entries)."""
    remote = RemoteSession()
    transcript = Transcript(secret=secret, computer=name)
    for mode, source, timeout in submissions:
        source = source.replace("{key}", secret)
        outcome = submit(client, computer_id, remote, Code(Mode(mode), source, timeout))
        transcript.add(Entry.from_outcome(source, outcome, target=name))
    return transcript


@pytest.fixture(scope="module")
def session(emulator):
    """One real session, recorded once for the module: 13 round trips, one of them a 1 s timeout.
    The "key" is a string the transcript must never write out."""
    from orgorepl.client import OrgoClient

    key = "shh-" + emulator.api_key
    computer = emulator.computers[0]
    with OrgoClient(api_key=emulator.api_key, base_url=emulator.base_url) as client:
        return run_session(client, computer.id, computer.name, key), key


def outputs(transcript, mode):
    return "".join(e.output for e in transcript.entries if e.mode == mode and e.ok)


def mode_of(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def cli_env(orgo_env, computer_id):
    env = dict(orgo_env)
    env["ORGO_COMPUTER"] = computer_id
    return env


# --------------------------------------------------------------------------------------------
# The recorded outcomes are what a person saw


def test_entries_record_real_outcomes(session):
    transcript, key = session
    entries = transcript.entries
    assert [e.status for e in entries] == [
        "ok", "ok", "ok", "error", "ok", "ok", "ok", "exit", "ok", "ok", "timeout", "ok", "ok"]
    assert entries[1].output == "42\n" and entries[2].output == "21\n"
    assert entries[3].error_type == "ZeroDivisionError" and "1/0" in entries[3].traceback
    assert entries[6].output == "v=7\n"
    assert entries[7].exit_code == 3
    assert entries[10].timeout == 1
    assert [e.seq for e in entries] == list(range(1, len(SESSION) + 1))
    assert all(e.target for e in entries) and all(e.started_at for e in entries)
    # the key never reached memory either: redacted before storing
    assert not any(key in str(e) for e in entries)
    assert "token=<redacted>" in entries[9].source and "token=<redacted>" in entries[9].output


# --------------------------------------------------------------------------------------------
# .py / .sh: runnable scripts that reproduce the session's output


def test_py_export_rerun_through_orgorepl_exec_reproduces_the_outputs(session, tmp_path, orgo_env,
                                                                      computer_id, orgorepl_cmd):
    transcript, _ = session
    path = tmp_path / "session.py"
    written = transcript.save(path)
    ok_python = [e for e in transcript.entries if e.mode == "python" and e.ok]
    assert written == len(ok_python) == 6
    text = path.read_text()
    assert text.startswith("#!/usr/bin/env python3\n# orgorepl session")
    assert text.count("\n# %%\n") == 6
    assert "1/0" not in text and "time.sleep" not in text and "echo after" not in text
    done = subprocess.run(orgorepl_cmd + ["exec", "-"], input=text, capture_output=True, text=True,
                          env=cli_env(orgo_env, computer_id), timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == outputs(transcript, "python")
    assert done.stdout == "42\n21\n'hi ann'\n\x1b[31mred\x1b[0m token=<redacted>\n[21, 22]\n"


def test_py_export_runs_as_a_plain_python_script_too(session, tmp_path):
    transcript, _ = session
    path = tmp_path / "session.py"
    transcript.save(path)
    done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout == outputs(transcript, "python")


def test_sh_export_rerun_through_orgorepl_bash_reproduces_the_outputs(session, tmp_path, orgo_env,
                                                                      computer_id, orgorepl_cmd):
    transcript, _ = session
    path = tmp_path / "session.sh"
    assert transcript.save(path) == 4  # `exit 3` failed: left out, so the script runs to the end
    text = path.read_text()
    assert text.startswith("#!/usr/bin/env bash\n") and "exit 3" not in text
    done = subprocess.run(orgorepl_cmd + ["bash", "-"], input=text, capture_output=True, text=True,
                          env=cli_env(orgo_env, computer_id), timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == outputs(transcript, "bash") == "from bash\nv=7\nno newlineafter\n"


def test_script_exports_read_back_as_the_submissions_typed(session, tmp_path):
    transcript, _ = session
    for suffix, mode in ((".py", Mode.PYTHON), (".sh", Mode.BASH)):
        path = tmp_path / f"s{suffix}"
        transcript.save(path)
        expected = [Submission(mode, e.source) for e in transcript.entries if e.mode == mode.value and e.ok]
        assert load_submissions(path) == expected  # `_echo(x)` reads back as `x`


# --------------------------------------------------------------------------------------------
# .json and .md


def test_json_export_round_trips_every_field(session, tmp_path):
    transcript, _ = session
    path = tmp_path / "session.json"
    assert transcript.save(path) == len(SESSION)
    data = json.loads(path.read_text())
    assert data["format"] == "orgorepl-transcript" and data["version"] == 1
    first = data["entries"][1]
    for name in ("mode", "source", "target", "output", "status", "started_at", "elapsed", "seq"):
        assert name in first
    assert load_entries(path) == list(transcript.entries)
    assert [s.source for s in load_submissions(path)] == [e.source for e in transcript.entries]
    jsonl = tmp_path / "session.jsonl"
    assert transcript.save(jsonl) == len(SESSION)
    assert load_entries(jsonl) == list(transcript.entries)


def test_markdown_export_has_fenced_inputs_outputs_and_status_lines(session, tmp_path):
    transcript, _ = session
    path = tmp_path / "session.md"
    assert transcript.save(path) == len(SESSION)
    text = path.read_text()
    assert text.startswith("# orgorepl session on **")
    assert "```python\nprint(x * 2)\n```\n\n```text\n42\n```" in text
    assert "```bash\necho \"v=$V\"\n```\n\n```text\nv=7\n```" in text
    assert "```pytb\nTraceback" in text and "> ✗ ZeroDivisionError: division by zero" in text
    assert "> ✗ TIMEOUT after 1s" in text and "> ✗ exit 3" in text
    assert "```text\nred token=<redacted>\n```" in text  # terminal colours removed
    assert "\x1b" not in text
    assert text.count("> ✗") == 3  # only what did not end ok
    # every input comes back, in order, from the Markdown
    assert load_submissions(path) == [Submission(Mode(e.mode), e.source) for e in transcript.entries]


def test_markdown_fences_survive_backticks_in_code_and_output(tmp_path):
    t = Transcript()
    t.add(Entry("python", 's = """\n```\n"""\nprint(s)', output="\n```\n\n"))
    path = tmp_path / "b.md"
    t.save(path)
    assert "````python\n" in path.read_text()
    assert load_submissions(path) == [Submission(Mode.PYTHON, 's = """\n```\n"""\nprint(s)')]


def test_fan_out_submission_is_one_input_with_each_target(tmp_path):
    t = Transcript()
    t.add_group([Entry("bash", "hostname", target="a", output="a\n"),
                 Entry("bash", "hostname", target="b", status="exit", exit_code=1, output="")])
    t.add(Entry("bash", "true", target="a"))
    md, sh, js = tmp_path / "f.md", tmp_path / "f.sh", tmp_path / "f.json"
    t.save(md), t.save(sh), t.save(js)
    text = md.read_text()
    assert text.count("```bash\nhostname\n```") == 1 and "**a**" in text and "**b**" in text
    assert sh.read_text().count("hostname") == 1  # ok on at least one target: kept once
    assert [e["seq"] for e in json.loads(js.read_text())["entries"]] == [1, 1, 2]
    assert load_submissions(js) == [Submission(Mode.BASH, "hostname"), Submission(Mode.BASH, "true")]


# --------------------------------------------------------------------------------------------
# Secrets and permissions


def test_the_api_key_appears_in_no_file_and_files_are_private(session, tmp_path):
    transcript, key = session
    folder = tmp_path / "shared"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    for suffix in (".md", ".py", ".sh", ".json", ".jsonl"):
        path = folder / f"s{suffix}"
        transcript.save(path)
        assert key.encode() not in path.read_bytes()
        assert mode_of(path) == 0o600
    assert "<redacted>" in (folder / "s.md").read_text()
    assert mode_of(folder) == 0o755  # the user's folder is left as it was
    assert sorted(p.name for p in folder.iterdir()) == ["s.json", "s.jsonl", "s.md", "s.py", "s.sh"]


def test_failed_and_interrupted_submissions_keep_no_secret(tmp_path):
    secret = "sk-live-abcdef"
    t = Transcript(secret=secret)
    err = errors.AuthError(f"bad key {secret}", status=401)
    t.add(Entry.from_outcome(f"print('{secret}')", oc.failed(Mode.PYTHON, err), target="pc"))
    t.add(Entry.from_outcome("sleep 9", oc.interrupted(Mode.BASH, sent=True), target=f"pc-{secret}"))
    t.attach_log(tmp_path / "log.jsonl")
    t.save(tmp_path / "s.md")
    for path in (tmp_path / "log.jsonl", tmp_path / "s.md"):
        assert secret not in path.read_text()
    text = (tmp_path / "s.md").read_text()
    assert "> ✗ not run: HTTP 401 unauthorized: bad key \\<redacted\\>" in text and "> ✗ interrupted" in text
    assert t.entries[0].error_type == "AuthError"


def test_unknown_suffix_is_refused_with_the_list(tmp_path):
    t = Transcript()
    with pytest.raises(ValueError, match=r"\.md, \.py, \.sh, \.json, \.jsonl"):
        t.save(tmp_path / "s.txt")
    with pytest.raises(ValueError, match=r"use \.jsonl for a JSON log"):
        t.attach_log(tmp_path / "s.json")
    with pytest.raises(ValueError, match=r"\.md"):
        load_submissions(tmp_path / "s.txt")
    assert not list(tmp_path.glob("s.*")) and not list(tmp_path.glob(".s.*"))


# --------------------------------------------------------------------------------------------
# The continuous log


CHILD = textwrap.dedent("""
    import json, sys
    from orgorepl.transcript import Entry, Transcript
    t = Transcript(secret=sys.argv[2])
    t.attach_log(sys.argv[1])
    for line in sys.stdin:
        t.add(Entry.from_dict(json.loads(line)))
        print("added", flush=True)
""")


@pytest.mark.parametrize("suffix", [".jsonl", ".md", ".py"])
def test_log_holds_every_entry_as_soon_as_it_is_added_even_if_the_client_dies(session, tmp_path, suffix):
    """A child process logs entries one by one; the log is read after each, then the child is
    killed with SIGKILL (no close, no atexit): everything shown so far is in the file."""
    transcript, key = session
    path = tmp_path / f"log{suffix}"
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(path), key], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True, cwd=os.getcwd())
    try:
        for count, entry in enumerate(transcript.entries, 1):
            child.stdin.write(json.dumps(entry.to_dict()) + "\n")
            child.stdin.flush()
            assert child.stdout.readline() == "added\n"
            text = path.read_text()
            if suffix == ".jsonl":
                lines = text.splitlines()
                assert len(lines) == count
                assert Entry.from_dict(json.loads(lines[-1])) == entry
            elif suffix == ".md":
                assert text.count("```" + entry.mode + "\n") == sum(
                    1 for e in transcript.entries[:count] if e.mode == entry.mode)
                assert entry.source.splitlines()[0] in text
            elif entry.mode == "python" and entry.ok:
                assert entry.source.splitlines()[-1].split("(")[0] in text
    finally:
        child.kill()
        child.wait()
    assert mode_of(path) == 0o600
    assert key not in path.read_text()
    if suffix == ".jsonl":
        assert load_entries(path) == list(transcript.entries)
    else:
        assert load_submissions(path) == load_submissions(_saved(transcript, tmp_path, suffix))


def _saved(transcript, tmp_path, suffix):
    path = tmp_path / f"saved{suffix}"
    transcript.save(path)
    return path


def test_log_appends_to_an_earlier_log_and_backfills_when_attached_late(tmp_path):
    path = tmp_path / "log.md"
    with Transcript() as first:
        first.attach_log(path)
        first.add(Entry("python", "a = 1"))
    with Transcript() as second:
        second.add(Entry("python", "b = 2"))
        second.attach_log(path)  # the entry made before attaching is written too
        second.add(Entry("bash", "ls"))
    text = path.read_text()
    assert text.count("# orgorepl session") == 1
    assert [s.source for s in load_submissions(path)] == ["a = 1", "b = 2", "ls"]


FULL_DISK_CHILD = textwrap.dedent("""
    import resource, signal, sys
    from orgorepl.transcript import Entry, Transcript
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (3000, 3000))
    t = Transcript()
    t.attach_log(sys.argv[1])
    for n in range(4):
        t.add(Entry("python", f"print({n})", output="x" * 1000))
        print(n, t.take_log_error(), t.log_path)
    print(len(t))
""")


def test_a_log_that_cannot_be_written_stops_with_a_message_and_the_session_goes_on(tmp_path):
    path = tmp_path / "log.jsonl"
    done = subprocess.run([sys.executable, "-c", FULL_DISK_CHILD, str(path)], capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"0 None {path}" and lines[1] == f"1 None {path}"
    assert lines[2].startswith(f"2 the log {path} could not be written (File too large); logging stopped")
    assert lines[2].endswith(" None")  # detached
    assert lines[3] == "3 None None"  # said once; the session went on
    assert lines[4] == "4"  # every entry is still in the transcript
    assert path.read_text().endswith("}\n")  # the half-written entry was cut off
    assert len(load_entries(path)) == 2


# --------------------------------------------------------------------------------------------
# Reading hand-written sessions (lesson files)


def test_hand_written_files_split_into_submissions(tmp_path):
    md = tmp_path / "lesson.md"
    md.write_text(textwrap.dedent("""\
        # Lesson
        Some words.

        ```python
        x = 1
        ```

        ~~~bash
        ls -l
        ~~~

        ```py
        !pwd
        ```

        ```python
        %timeout 30
        ```

        ```text
        not code
        ```
        """))
    assert load_submissions(md) == [Submission(Mode.PYTHON, "x = 1"), Submission(Mode.BASH, "ls -l"),
                                    Submission(Mode.BASH, "pwd")]
    py = tmp_path / "plain.py"
    py.write_text("#!/usr/bin/env python3\nimport os\nimport sys\n\n"
                  "# say it\n@staticmethod\ndef f():\n\n    return 1\n\nprint(f)\n")
    assert load_submissions(py) == [Submission(Mode.PYTHON, "import os\nimport sys"),
                                    Submission(Mode.PYTHON, "# say it\n@staticmethod\ndef f():\n\n    return 1"),
                                    Submission(Mode.PYTHON, "print(f)")]
    sh = tmp_path / "plain.sh"
    sh.write_text("#!/bin/bash\n# setup\ncd /tmp\n\nif true; then\n\n  echo yes\nfi\n\n# the end\n")
    assert load_submissions(sh) == [Submission(Mode.BASH, "# setup\ncd /tmp"),
                                    Submission(Mode.BASH, "if true; then\n\n  echo yes\nfi")]
    marked = tmp_path / "cells.py"
    marked.write_text("import math\n# %% first\nprint(math.pi)\n# %%\n_echo(1)\n")
    # code before the first marker is a submission; no echo import: `_echo` is the user's own
    assert load_submissions(marked) == [Submission(Mode.PYTHON, "import math"),
                                        Submission(Mode.PYTHON, "print(math.pi)"),
                                        Submission(Mode.PYTHON, "_echo(1)")]
