"""Fan-out in the interactive session: several computers, %target, grouped results."""

from __future__ import annotations

from orgorepl.connect import remote_connector

from test_repl import start  # noqa: F401  (the fixture)


def test_session_on_two_computers_then_a_third_added_and_one_removed(start, emulator):  # noqa: F811
    a, b, c = (x.name for x in emulator.computers)
    s = start(connect=remote_connector(emulator.base_url, emulator.api_key, [a, b]))
    s.expect(r"connected to ")
    s.submit("x = 21")
    s.submit("x * 2")
    s.expect(rf"^==> {a}, {b} \(2\) <==\n42$")
    s.expect(r"^2 computers: 2 ok · 0 error · 0 timeout · 0 unreachable$")
    s.submit(f"%target add {c}")
    s.expect(rf"^added {c} ")
    s.submit("x")
    s.expect(rf"^==> {a}, {b} \(2\) <==\n21$")  # each computer keeps its own session
    s.expect(rf"^==> {c} <==\nTraceback")
    s.expect(r"^3 computers: 2 ok · 1 error · 0 timeout · 0 unreachable$")
    s.submit(f"%target remove {a}")
    s.expect(rf"^2 target\(s\): {b}, {c}$")
    s.submit("%target list")
    s.expect(rf"^  {b}  \S+  running\n  {c}  ")


def test_ctrl_c_on_several_computers_changes_no_session(start, emulator):  # noqa: F811
    """Issue 14, cause 6, on each computer of a fan-out: the interrupted submission finishes
    later on every one, and none of their sessions changes."""
    import re
    import time

    from orgorepl.modes import Mode
    from orgorepl.outcome import INTERRUPTED_NOTE

    a, b = (x.name for x in emulator.computers[:2])
    s = start(connect=remote_connector(emulator.base_url, emulator.api_key, [a, b]),
              timeouts={Mode.PYTHON: 60, Mode.BASH: 60})
    s.expect(r"connected to ")
    s.submit("zz = 'before'")
    s.expect(r"^2 computers: 2 ok")
    s.submit("import time; time.sleep(1.5); zz = 'after sleep'")
    s.expect(r"Ctrl-C abandon")
    s.send("\x03")
    s.expect(re.escape(INTERRUPTED_NOTE))
    time.sleep(2.5)
    s.submit("print('zz is', zz)")
    s.expect(rf"^==> {a}, {b} \(2\) <==\nzz is before$")
