"""Sessions that remember, proven over HTTP against the real emulator.

Each test uses its own session id, as two REPLs on one computer would.
"""

from __future__ import annotations

import pytest

from orgorepl.session.carry import RemoteSession, parse_listing, python_notes


class Sess:
    def __init__(self, client, computer_id, session: RemoteSession | None = None):
        self.client, self.cid = client, computer_id
        self.s = session or RemoteSession()

    def py(self, code, timeout=10):
        req = self.s.python(code)
        return self.s.python_done(req, self.client.exec(self.cid, req.code, timeout))

    def sh(self, command, timeout=10):
        req = self.s.bash(command)
        return self.s.bash_done(req, self.client.bash(self.cid, req.command, timeout))

    def state(self):
        return {r.name: r for r in parse_listing(self.client.exec(self.cid, self.s.listing_program()).output)}


@pytest.fixture
def sess(client, computer_id):
    return Sess(client, computer_id)


def test_names_of_every_kind_carry_over(sess):
    out = sess.py(
        "import json as j\nfrom collections import OrderedDict\nimport os.path\n"
        "x = 41\n"
        "def inc(v):\n    return v + 1\n"
        "class Point:\n    def __init__(self, a):\n        self.a = a\n"
        "p = Point(7)\n"
    )
    assert out.success and out.output == ""
    out = sess.py("print(inc(x), j.dumps([p.a]), OrderedDict.__name__, os.path.basename('/a/b'), type(p).__name__)")
    assert out.output == "42 [7] OrderedDict b Point\n"


def test_expression_echo_and_underscore(sess):
    assert sess.py("6 * 7").output == "42\n"
    assert sess.py("None").output == ""
    assert sess.py("_ + 1").output == "43\n"


def test_unpicklable_names_are_reported_not_dropped_silently(sess):
    out = sess.py(
        "fh = open('/dev/null')\n"
        "gen = (i for i in range(3))\n"
        "sq = lambda v: v * v\n"
        "import threading\nlock = threading.Lock()\n"
        "keep = [1, 2]\n"
        "if True:\n    def nested():\n        pass\n"
    )
    assert set(out.state.lost) == {"fh", "gen", "lock"}  # a lambda and a def in a block go by value
    notes = python_notes(out, stateful=True)
    assert any(n.startswith("not kept: fh") for n in notes)
    state = sess.state()
    assert state["keep"].status == "kept"
    assert state["threading"].status == "rebuilt"
    assert state["fh"].status == "lost" and state["fh"].reason
    assert state["nested"].status == state["sq"].status == "kept"
    # the lost names are gone, the rest work, and the loss is not reported again
    out = sess.py("print(keep, 'fh' in dir())")
    assert out.output == "[1, 2] False\n"
    assert out.state.lost == {}
    assert sess.state()["fh"].status == "lost"  # still listed as lost until bound again
    sess.py("fh = 'a string now'")
    assert sess.state()["fh"].status == "kept"


def test_side_effects_never_happen_twice(sess, tmp_path):
    target = tmp_path / "log.txt"
    sess.py(
        f"def log(msg):\n    with open({str(target)!r}, 'a') as f:\n        f.write(msg + '\\n')\n"
        f"log('once')\n"
        f"class Loud:\n    print('class body ran')\n"
    )
    for i in range(5):
        out = sess.py(f"n{i} = {i}")
        assert out.output == ""  # the class body's print is not repeated either
    assert target.read_text() == "once\n"
    assert sess.py("log('twice'); n4").output == "4\n"
    assert target.read_text() == "once\ntwice\n"


def test_tracebacks_use_the_users_line_numbers_and_errors_look_unwrapped(sess, client, computer_id):
    code = "a = 1\n\ndef boom():\n    return 1 / 0\n\nboom()\n"
    out = sess.py(code)
    raw = client.exec(computer_id, code)
    assert (out.success, out.error, out.error_type) == (raw.success, raw.error, raw.error_type)
    assert 'File "<cell>", line 6, in <module>' in out.traceback
    assert 'File "<cell>", line 4, in boom' in out.traceback
    assert "return 1 / 0" in out.traceback
    assert "orgo" not in out.traceback  # no wrapper frames
    assert out.output == ""


def test_exception_keeps_earlier_state_and_what_was_assigned(sess):
    sess.py("before = 'b'")
    out = sess.py("mid = 'm'\nraise ValueError('stop')\nafter = 'a'")
    assert (out.success, out.error_type, out.error) == (False, "ValueError", "stop")
    assert any("mid" in n for n in python_notes(out, stateful=True))
    assert sess.py("print(before, mid, 'after' in dir())").output == "b m False\n"


def test_timeout_keeps_state_from_before(sess):
    sess.py("count = 1")
    out = sess.py("count = 2\nimport time\ntime.sleep(5)", timeout=1)
    assert out.timeout
    assert python_notes(out, stateful=True) == ["timed out: the session is as it was before this submission"]
    assert sess.py("count").output == "1\n"


def test_output_without_trailing_newline_is_intact(sess):
    assert sess.py("print('no newline', end='')").output == "no newline"
    assert sess.sh("printf 'no newline'").output == "no newline"
    assert sess.sh("printf 'x'; exit 4").output == "x"


@pytest.mark.parametrize("command,code", [("true", 0), ("false", 1), ("(exit 42)", 42), ("exit 3", 3),
                                          ("echo hi; exit 42", 42)])
def test_exit_codes_survive_the_wrapper(sess, command, code):
    assert sess.sh(command).exit_code == code


def test_shell_state_carries_over(sess, tmp_path):
    venv = tmp_path / "venv" / "bin"
    venv.mkdir(parents=True)
    (venv / "activate").write_text(f'export VIRTUAL_ENV={tmp_path / "venv"}\nexport PATH="{venv}:$PATH"\n')
    (venv / "hello").write_text("#!/bin/sh\necho hello from venv\n")
    (venv / "hello").chmod(0o755)
    sess.sh(f"cd {tmp_path}")
    sess.sh("export GREETING='hi there'; plain=local-only")
    sess.sh("alias ll='ls -d'")
    sess.sh("greet() { echo \"$GREETING, $1\"; }")
    sess.sh("source venv/bin/activate")
    out = sess.sh("pwd; greet bob; echo $plain; ll venv; hello; echo ${VIRTUAL_ENV##*/}")
    assert out.output == f"{tmp_path}\nhi there, bob\nlocal-only\nvenv\nhello from venv\nvenv\n"
    assert out.cwd == str(tmp_path)
    assert sess.s.cwd == str(tmp_path)


def test_wrapper_names_never_leak_into_the_shell(sess):
    out = sess.sh("declare -F; compgen -v | grep -c __orgo_ || true; alias")
    assert "__orgo" not in out.output


def test_one_cwd_and_environment_for_both_modes(sess, tmp_path):
    sess.sh(f"cd {tmp_path}; export SHARED=from-bash")
    assert sess.py("import os; print(os.getcwd(), os.environ['SHARED'])").output == f"{tmp_path} from-bash\n"
    (tmp_path / "sub").mkdir()
    sess.py("os.chdir('sub'); os.environ['BACK'] = 'from-python'")
    out = sess.sh("pwd; echo $BACK")
    assert out.output == f"{tmp_path / 'sub'}\nfrom-python\n"


def test_state_survives_a_client_restart_with_the_same_session_id(client, computer_id, emulator):
    from orgorepl.client import OrgoClient

    first = Sess(client, computer_id)
    first.py("import math\nremembered = {'k': [1, 2]}\ndef area(r):\n    return round(math.pi * r * r, 2)")
    first.sh("cd /tmp; export KEPT=1")
    with OrgoClient(api_key=emulator.api_key, base_url=emulator.base_url) as fresh:
        again = Sess(fresh, computer_id, RemoteSession(session_id=first.s.session_id))
        assert again.py("print(remembered['k'], area(1))").output == "[1, 2] 3.14\n"
        assert again.sh("pwd; echo $KEPT").output == "/tmp\n1\n"


def test_sessions_are_separate_and_reset_clears(client, computer_id):
    a, b = Sess(client, computer_id), Sess(client, computer_id)
    a.py("mine = 'a'")
    assert b.py("'mine' in dir()").output == "False\n"
    client.exec(computer_id, a.s.reset_program())
    assert a.py("'mine' in dir()").output == "False\n"
    assert a.state() == {"_": a.state()["_"]}


def test_big_value_is_kept(sess):
    sess.py("blob = b'x' * 5_000_000\nitems = list(range(100000))")
    assert sess.py("len(blob), sum(items)").output == "(5000000, 4999950000)\n"


def test_stateless_sends_code_exactly_as_given(client, computer_id):
    s = Sess(client, computer_id, RemoteSession(stateful=False))
    s.py("x = 1")
    out = s.py("print(x)")
    assert (out.success, out.error_type) == (False, "NameError")
    assert s.py("1 + 1").output == ""  # no echo without the wrapper: exactly the API's behaviour
    assert s.sh("cd /; pwd").output == "/\n"
    assert s.sh("pwd").output != "/\n"


def test_a_call_that_runs_on_after_ctrl_c_cannot_overwrite_newer_state(sess, client, computer_id, tmp_path):
    """Ctrl-C abandons a call on our side only; if it finishes later, the newer state wins."""
    import threading
    import time

    started, release = tmp_path / "started", tmp_path / "release"
    sess.py("a = 1")
    slow = sess.s.python(
        f"import os, time\nopen({str(started)!r}, 'w').close()\n"
        f"while not os.path.exists({str(release)!r}):\n    time.sleep(0.02)\na = 'stale'\n"
    )
    worker = threading.Thread(target=client.exec, args=(computer_id, slow.code, 20))
    worker.start()
    deadline = time.monotonic() + 15
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    sess.py("b = 2")  # the user went on after abandoning the slow call
    sess.sh("cd /tmp")
    release.touch()
    worker.join()
    assert sess.py("print(a, b)").output == "1 2\n"
    assert sess.sh("pwd").output == "/tmp\n"


def _abandoned_slow(sess, client, computer_id, seconds=1.0):
    """``zz = 'before'``, then a slow submission that sets ``zz = 'after sleep'``, running in the
    background as a call the user gave up (Ctrl-C) runs on; returns its thread."""
    import threading

    assert sess.py("zz = 'before'").success
    slow = sess.s.python(f"import time\ntime.sleep({seconds})\nzz = 'after sleep'")
    worker = threading.Thread(target=client.exec, args=(computer_id, slow.code, 20))
    worker.start()
    return worker


def test_ctrl_c_a_submission_that_finishes_later_never_changes_the_session(sess, client, computer_id):
    """Issue 14, cause 6: nothing is submitted meanwhile, and still ``zz`` stays 'before'."""
    import time

    worker = _abandoned_slow(sess, client, computer_id)
    time.sleep(0.3)
    program = sess.s.abandon()  # what the REPL does on Ctrl-C (repl/calls.py, tell_abandoned)
    assert program is not None and sess.s.abandon() is None
    assert client.exec(computer_id, program, 10).success
    sess.s.told(sess.s.untold)
    worker.join()
    out = sess.py("zz")
    assert out.output == "'before'\n" and python_notes(out, stateful=True) == []


def test_ctrl_c_unreachable_then_the_next_submission_carries_the_mark(sess, client, computer_id):
    """The computer could not be told at Ctrl-C: the next submission tells it before it runs, so
    the abandoned one, still running, does not save; and the one after carries nothing."""
    import time

    worker = _abandoned_slow(sess, client, computer_id, seconds=1.5)
    time.sleep(0.3)
    assert sess.s.abandon() is not None  # not sent: the network is down
    assert sess.py("yy = 1").success
    assert sess.s.untold == []
    worker.join()
    out = sess.py("print(zz, yy)")
    assert out.output == "before 1\n" and python_notes(out, stateful=True) == []
    assert "abandon" not in sess.s.python("1").code.split("__orgo_main(")[-1]


def test_ctrl_c_unreachable_until_it_finished_is_said(sess, client, computer_id):
    """The one case an abandoned submission changes the session: it finished before the computer
    could be told (no network meanwhile).  The next submission says so."""
    from orgorepl.session.carry import LATE_NOTE

    worker = _abandoned_slow(sess, client, computer_id, seconds=0.2)
    assert sess.s.abandon() is not None  # not sent
    worker.join()
    out = sess.py("zz")
    assert out.output == "'after sleep'\n"
    assert LATE_NOTE in python_notes(out, stateful=True)
    assert python_notes(sess.py("zz"), stateful=True) == []


def test_open_file_keeps_its_data_and_uncommitted_sqlite_rows_are_said_lost(sess):
    """Issue 14, cause 5: the interpreter flushes open files at its end (the emulator's default
    executor too); sqlite rows not committed go with their connection, and a note says so."""
    out = sess.py("f = open('p.txt','w'); f.write('a')")
    assert "not kept: f" in " ".join(python_notes(out, stateful=True))
    assert sess.py("print(open('p.txt').read())").output == "a\n"
    out = sess.py("import sqlite3\nconn = sqlite3.connect('t14.db')\nconn.execute('create table t(x)')\n"
                  "conn.execute('insert into t values (1)')\nNone")
    assert "conn: rows not committed are lost with the connection when the submission ends " \
           "(call conn.commit())" in python_notes(out, stateful=True)
    assert sess.py("print(sqlite3.connect('t14.db').execute('select count(*) from t').fetchone())").output \
        == "(0,)\n"
    out = sess.py("c2 = sqlite3.connect('t14.db')\nc2.execute('insert into t values (2)')\nc2.commit()\nNone")
    assert not any("rows not committed" in n for n in python_notes(out, stateful=True))


def test_an_import_sharing_a_line_with_a_side_effect_is_rebuilt_alone(sess, tmp_path):
    target = tmp_path / "log.txt"
    sess.py(f"open({str(target)!r}, 'a').write('once\\n'); import os.path as osp")
    for _ in range(3):
        assert sess.py("osp.basename('/a/b')").output == "'b'\n"
    assert target.read_text() == "once\n"


def test_decorated_definitions_carry_over(sess):
    sess.py(
        "import contextlib, functools\n"
        "@functools.lru_cache(maxsize=None)\ndef square(n):\n    return n * n\n"
        "@contextlib.contextmanager\ndef tagged(name):\n    yield '<' + name + '>'\n"
    )
    out = sess.py("with tagged('b') as t:\n    print(t, square(12))")
    assert (out.output, out.state.lost) == ("<b> 144\n", {})
    assert sess.state()["square"].status == "rebuilt"
    assert sess.py("print(square(3), square.cache_info().currsize)").output == "9 1\n"


def test_the_mark_of_ctrl_c_clears_marks_of_runs_long_over(sess, client, computer_id, emulator):
    import os
    import time

    sess.py("x = 1")
    marks = emulator.computers[0].home / ".orgorepl" / "sessions" / sess.s.session_id / "abandoned"
    marks.mkdir(exist_ok=True)
    (marks / ("0" * 16)).write_text("")
    old = time.time() - 3600
    os.utime(marks / ("0" * 16), (old, old))
    sess.s.in_flight = "1" * 16  # as if a submission were running
    assert client.exec(computer_id, sess.s.abandon(), 10).success
    assert sorted(p.name for p in marks.iterdir()) == ["1" * 16]
