"""Completion and introspection from the remote computer, as a user meets them at the prompt.

The whole REPL runs against the real emulator (``test_repl``'s pipe-input session): what is
asserted is what the completion menu, the toolbar, the pager and ``%state`` show.
"""

from __future__ import annotations

import dataclasses
import json
import runpy
import threading
from pathlib import Path

import pytest

from orgorepl.connect import Connection
from orgorepl.session import complete as probes

from faultserver import FaultServer, Reply
from test_repl import connector_for, ready, start  # noqa: F401  (start: the fixture)

TAB = "\t"
ESC = "\x1b"
REMOTE_COMPLETE = Path(probes.__file__).with_name("remote_complete.py")


def menu(s, pattern: str, timeout: float = 15.0):
    return s.expect(pattern, timeout)


def clear_line(s) -> None:
    s.send(ESC)  # close the menu
    s.send("\x01\x0b")  # Ctrl-A, Ctrl-K: the line is empty again


# --------------------------------------------------------------------------------------------
# Python


def test_tab_completes_attributes_of_a_module_imported_earlier(start):  # noqa: F811
    s = start()
    ready(s)
    s.submit("import os")
    s.send("os.pa" + TAB)
    menu(s, r"path\s+module")
    menu(s, r"pardir\s+instance of str")


def test_tab_completes_names_keys_keywords_and_paths(start):  # noqa: F811
    s = start()
    ready(s)
    s.submit("z = 0; scores = {'alpha': 1, 'beta': 2}")  # typed as no suggestion from history starts
    s.submit("def greet(name, loud=False): pass")
    s.submit("")
    s.send("scor" + TAB)
    s.expect(r">>> scores$")  # one match: inserted at once
    s.send('["al' + TAB)
    s.expect(r">>> scores\[\"alpha$")
    clear_line(s)
    s.send("greet('x', lo" + TAB)
    menu(s, r"loud=\s+argument")  # keyword arguments first
    s.expect(r"greet\(name, loud=False\)")  # the signature, in the toolbar
    clear_line(s)
    s.send("open('/etc/pas" + TAB)
    menu(s, r"passwd\s+file")


def test_a_restored_name_completes_after_resume(start):  # noqa: F811
    s = start()
    ready(s)
    s.submit("z = 0; restored_value_xyz = [1, 2, 3]")
    s.submit("%info")
    sid = s.expect(r"^session\s+(\w+) \(state carried").group(1)
    s.close()
    again = start(session_id=sid)
    ready(again)
    again.send("restored_val" + TAB)
    again.expect(r">>> restored_value_xyz$")
    again.send(".app" + TAB)
    again.expect(r">>> restored_value_xyz.append$")


def test_a_probe_never_changes_state_history_log_or_transcript(start, tmp_path):  # noqa: F811
    log = tmp_path / "log.jsonl"
    s = start(log_path=str(log))
    ready(s)
    s.submit("import os; marker_a = 1")
    s.expect(r"last: ok")
    s.send("os.pa" + TAB)  # asked of the computer, never submitted
    menu(s, r"path\s+module")
    clear_line(s)
    s.send("!cat /etc/pas" + TAB)
    menu(s, r"passwd\s+file")
    clear_line(s)
    s.submit("%state")
    s.expect(r"^session \w+: 2 names, ")
    s.submit("%history")
    s.expect(r"import os; marker_a = 1")
    assert s.absent(r"os\.pa$") and s.absent(r"cat /etc/pas")
    entries = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    assert [e["source"] for e in entries] == ["import os; marker_a = 1"]


def test_obj_question_mark_shows_signature_and_docstring_in_the_pager(start, tmp_path, monkeypatch):  # noqa: F811
    paged = tmp_path / "paged.txt"
    monkeypatch.setenv("PAGER", f"cat > {paged}")
    s = start()
    ready(s)
    s.submit("def area(w, h=2): 'The area of a w by h rectangle.'; return w * h")
    s.submit("")
    s.expect(r"last: ok")
    s.submit("area?")
    deadline_text = _wait_for(paged)
    assert "Signature:  area(w, h=2)" in deadline_text
    assert "The area of a w by h rectangle." in deadline_text
    paged.unlink()
    s.submit("area??")
    assert "return w * h" in _wait_for(paged)
    s.submit("%state")
    s.expect(r"^session \w+: 1 name, ")  # looking is not a submission


def _until(check, timeout: float = 15.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "never happened"
        time.sleep(0.05)


def _wait_for(path: Path, timeout: float = 15.0) -> str:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.stat().st_size:
            time.sleep(0.1)
            return path.read_text()
        time.sleep(0.05)
    raise AssertionError(f"nothing was paged to {path}")


# --------------------------------------------------------------------------------------------
# bash and meta-commands


def test_bash_tab_completes_remote_paths_commands_and_variables(start):  # noqa: F811
    s = start()
    ready(s)
    s.send("!cat /etc/pas" + TAB)
    menu(s, r"passwd\s+file")
    clear_line(s)
    s.submit("%bash")
    s.submit("mkdir -p 'dir with space' && touch 'dir with space/inner file.txt'")
    s.send("ls dir\\ w" + TAB)
    s.expect(r"\$ ls dir\\ with\\ space/$")
    s.send("inn" + TAB)
    s.expect(r"\$ ls dir\\ with\\ space/inner\\ file.txt$")
    clear_line(s)
    s.send("echo $HO" + TAB)
    menu(s, r"HOME\s+variable")


def test_meta_command_arguments_complete(start, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data_file.csv").write_text("x")
    s = start()
    ready(s)
    s.send("%theme mo" + TAB)
    s.expect(r">>> %theme mono$")
    clear_line(s)
    s.send("%put da" + TAB)
    s.expect(r">>> %put data_file.csv$")
    clear_line(s)
    s.send("%get /etc/pas" + TAB)
    menu(s, r"passwd\s+file")
    clear_line(s)
    s.send("%target add comp" + TAB)
    menu(s, r"computer-2\s+computer")


# --------------------------------------------------------------------------------------------
# never blocks typing


def test_typing_goes_on_while_a_probe_hangs_on_a_stalled_server(start, emulator):  # noqa: F811
    inner = connector_for(emulator)
    with FaultServer({"POST computers/c1/exec": [Reply(fault="stall_before_headers")],
                      "POST computers/c1/bash": [Reply(fault="stall_before_headers")]}) as srv:
        def connect() -> Connection:
            from orgorepl.client import OrgoClient

            real = inner()
            client = OrgoClient(api_key="sk_test", base_url=srv.base_url)
            return Connection(client=client, computer=dataclasses.replace(real.computer, id="c1"),
                              base_url=srv.base_url, local=True,
                              _cleanup=[client.close, real.client.close])

        s = start(connect=connect)
        s.expect(r"connected to")
        s.send("import_ok" + TAB)
        _until(lambda: srv.count("POST", "computers/c1/exec") == 1)  # the probe is on the stalled server
        s.send(" = 1; still typing")  # the keys land at once, whatever the probe does
        s.expect(r">>> import_ok = 1; still typing$")
        s.send("\x7f" * len(" = 1; still typing") + TAB)  # the same question again: not asked twice
        s.send(" = 2")
        s.expect(r">>> import_ok = 2$")
        assert srv.count("POST", "computers/c1/exec") == 1


# --------------------------------------------------------------------------------------------
# the shipped module alone (it runs on the remote's Python, so it is checked as source)


def test_the_shipped_module_runs_on_python_3_8_without_orgorepl():
    import ast

    source = REMOTE_COMPLETE.read_text()
    ast.parse(source, feature_version=(3, 8))
    assert "orgorepl" not in "".join(line for line in source.splitlines() if line.startswith(("import", "from")))


@pytest.mark.parametrize("text, expected", [
    ("import js", "json"),
    ("from os import pat", "path"),
    ("d['k", "key1"),
    ("sorted([], rev", "reverse="),
])
def test_completion_contexts(text, expected):
    module = runpy.run_path(str(REMOTE_COMPLETE))
    found = module["complete"]({"d": {"key1": 1}}, text)
    assert expected in [item[0] for item in found["items"]]


def test_a_property_is_never_run_to_list_a_menu():
    module = runpy.run_path(str(REMOTE_COMPLETE))
    ran = threading.Event()

    class Sneaky:
        @property
        def boom(self):
            ran.set()
            return 1

    found = module["complete"]({"obj": Sneaky()}, "obj.bo")
    assert ["boom", "property"] in found["items"]
    assert module["complete"]({"obj": Sneaky()}, "obj.boom.")["items"] == []
    assert not ran.is_set()


# --------------------------------------------------------------------------------------------
# live mode: the live interpreter answers (the HTTP probe cannot see its names)


def test_live_python_completes_a_name_defined_in_a_live_cell(start, tmp_path, monkeypatch):  # noqa: F811
    paged = tmp_path / "paged.txt"
    monkeypatch.setenv("PAGER", f"cat > {paged}")
    s = start(live=True)
    ready(s)
    s.submit("z = 0; live_gen_xyz = (i for i in range(3))")  # a generator: never pickled, only live
    s.expect(r"last: ok")
    s.send("live_gen_" + TAB)  # live: the menu also comes while typing
    menu(s, r"live_gen_xyz\s+instance of generator")
    clear_line(s)
    s.send("live_gen_xyz.se" + TAB)
    menu(s, r"send\s+function")
    clear_line(s)
    s.submit("next(live_gen_xyz)")  # the completion changed nothing: the cell runs as always
    s.expect(r"^0$")
    s.submit("live_gen_xyz?")
    assert "Type:       generator" in _wait_for(paged)


def test_live_bash_completes_remote_paths_from_the_live_shells_directory(start):  # noqa: F811
    s = start(live=True)
    ready(s)
    s.send("\x1bOS")  # F4: bash mode
    s.submit("mkdir -p /tmp/live_cd_probe/only_here_dir && cd /tmp/live_cd_probe")
    s.expect(r"last: ok")
    s.send("ls only_h" + TAB)
    menu(s, r"only_here_dir/\s+directory")


@pytest.mark.parametrize("typed, found, shown", [
    ("cat /etc/pas", ["/etc/passwd"], "/etc/passwd"),
    ("cat my\\ fi", ["my file"], "my\\ file"),
    ("cat 'my fi", ["my file"], "'my file"),
    ('cat "a$', ["a$b"], '"a\\$b'),
    ("ls ~/.ba", ["~/.bashrc"], "~/.bashrc"),
    ("echo ${HO", ["HOME"], "${HOME"),
])
def test_bash_items_are_quoted_as_the_word_was_started(typed, found, shown):
    word = probes.bash_word(typed)
    assert [item.text for item in probes.bash_completions(word, found).items] == [shown]


@pytest.mark.parametrize("typed, kind", [("gr", "cmd"), ("ls | gr", "cmd"), ("sudo ap", "cmd"),
                                         ("cat gr", "file"), ("./scr", "file"), ("echo $PA", "var")])
def test_bash_word_kind(typed, kind):
    assert probes.bash_word(typed).kind == kind


def test_the_toolbar_shows_the_signature_of_the_call_being_typed(start):  # noqa: F811
    s = start()
    ready(s)
    s.submit("import json")
    s.expect(r"last: ok")
    s.send("json.dumps(")  # no Tab: opening the call is enough
    s.expect(r"│ dumps\(obj, \*, skipkeys=Fal")
    s.send("1)")
    s.expect(r"F4 mode  Alt-Enter run")  # the call is closed: the key hints are back


def test_output_read_while_a_live_completion_waits_is_kept_for_the_next_submission():
    from orgorepl.session.live_python import LivePython, Output, Reply

    framing = LivePython("n0nce")
    mark = "\x1en0nce"
    events = framing.feed(f'{mark}{{"t":"out","s":"stdout","d":"from a thread\\n"}}\n'
                          f'{mark}{{"t":"reply","id":1,"d":"{{}}"}}\n')
    assert [type(e) for e in events] == [Output, Reply]
    framing.unread([e for e in events if not isinstance(e, Reply)])
    assert framing.feed(f'{mark}{{"t":"out","s":"stdout","d":"the cell\\n"}}\n') == [
        Output("from a thread\nthe cell\n", "stdout")]


def test_the_probe_sees_the_sessions_environment_and_directory(start):  # noqa: F811
    s = start()
    ready(s)
    s.submit("!export PROBE_SEEN_VAR=1 && mkdir -p /tmp/probe_cwd_x/sub_only_here && cd /tmp/probe_cwd_x")
    s.submit("import os")
    s.expect(r"^>>> import os\n>>>")
    s.send("os.environ['PROBE_SEEN" + TAB)
    s.expect(r">>> os.environ\['PROBE_SEEN_VAR$")
    clear_line(s)
    s.send("open('sub_on" + TAB)
    s.expect(r">>> open\('sub_only_here/$")


def test_complete_while_typing_on_shows_the_menu_without_tab(start):  # noqa: F811
    s = start(complete_while_typing="on")
    ready(s)
    s.submit("import os")
    s.expect(r"^>>> import os\n>>>")
    s.send("os.pa")  # a pause in typing is enough
    menu(s, r"pathsep\s+instance of str")
