"""The zygote executor runs a cell exactly as a fresh ``python -c`` (the spawn executor) would.

Each probe below runs on two emulators, one per executor, and the answers must be the same:
a forked child must not carry anything of the zygote into the user's world (modules, state,
cwd, environment, random seed), and must keep every semantic of the spawned one.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time

import pytest

from orgorepl.emulator import EmbeddedEmulator

from test_emulator_support import http


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    data = tmp_path_factory.mktemp("executors")
    with EmbeddedEmulator(data_dir=data / "z", computers=2, executor="zygote") as zyg, \
            EmbeddedEmulator(data_dir=data / "s", computers=2, executor="spawn") as spn:
        yield {"zygote": zyg, "spawn": spn}


def run(emu, code, computer=0, **extra):
    with http(emu) as api:
        resp = api.post(f"computers/{emu.computers[computer].id}/exec", json={"code": code, **extra})
    assert resp.status_code == 200, resp.text
    return resp.json()


def both(pair, code, **extra):
    """The two replies, with each emulator's own home path replaced by ~."""
    out = {}
    for name, emu in pair.items():
        body = run(emu, code, **extra)
        out[name] = json.loads(json.dumps(body).replace(str(emu.computers[0].home), "~"))
    return out["zygote"], out["spawn"]


PROBES = {
    "identity": "import sys, os\n"
                "print(sys.argv, __name__, sorted(globals()), os.getcwd(), os.environ['HOME'])",
    "modules": "import sys\nprint(sorted(sys.modules))",
    "path": "import sys\nprint(sys.path)",
    "environment": "import os\nprint(sorted(os.environ.items()))",
    "streams": "import sys\nprint(sys.stdin.read(), sys.stdout.line_buffering, sys.stdout.encoding, "
               "sys.stderr.encoding, sys.stdin.isatty())",
    "exception": "print('half')\nraise KeyError('k')",
    "syntax": "print('never')\ndef broken(:\n",
    "exit": "import sys\nprint('bye')\nsys.exit(3)",
    "hard exit": "import os\nprint('x', flush=True)\nos._exit(4)",
    "signal": "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)",
    "pickle": "import pickle\nclass P:\n    pass\nprint(type(pickle.loads(pickle.dumps(P()))).__name__)",
    "threads and atexit": "import atexit, threading, time\natexit.register(lambda: print('atexit'))\n"
                          "threading.Thread(target=lambda: (time.sleep(0.2), print('thread'))).start()\n"
                          "print('main')",
    "fork": "import os\npid = os.fork()\nif pid == 0:\n    print('child')\n    raise SystemExit(0)\n"
            "os.waitpid(pid, 0)\nprint('parent')",
    "stderr": "import sys\nprint('out')\nprint('err', file=sys.stderr)",
    "no emulator": "import sys\n"
                   "print([m for m in sys.modules if 'orgorepl' in m or m in ('socket', 'select', 'resource')])",
    "signals": "import signal\n"
               "print([signal.getsignal(s) for s in (signal.SIGINT, signal.SIGCHLD, signal.SIGPIPE, signal.SIGTERM)])",
    "limits": "import resource\nprint(resource.getrlimit(resource.RLIMIT_AS))",
    "fds": "import os\nprint(len(os.listdir('/proc/self/fd')))",
}


@pytest.mark.parametrize("name", sorted(PROBES))
def test_zygote_child_is_a_fresh_interpreter(pair, name):
    zygote, spawn = both(pair, PROBES[name])
    assert zygote == spawn


def test_each_run_has_its_own_process_and_random_state(pair):
    code = "import os, random\nprint(os.getpid(), random.random(), os.urandom(8).hex())"
    for emu in pair.values():
        first, second = (run(emu, code)["output"].split() for _ in range(2))
        assert all(a != b for a, b in zip(first, second, strict=True))


def test_no_state_survives_in_the_zygote(pair):
    emu = pair["zygote"]
    assert run(emu, "import json, sys, builtins\njson.marker = 1\nbuiltins.leak = 1\nx = 5")["success"]
    body = run(emu, "import json, builtins\n"
                    "print(hasattr(json, 'marker'), hasattr(builtins, 'leak'), 'x' in dir())")
    assert body["output"] == "False False False\n"


def test_user_site_packages_of_each_computer_are_importable(pair):
    """``pip install --user`` on a computer lands in its ~/.local; a fresh interpreter sees it,
    exactly when ``python -c`` on this interpreter would (a virtual environment turns the user
    site off, and then the emulator must not see it either)."""
    import subprocess

    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    user_site = subprocess.run([sys.executable, "-c", "import site; print(site.ENABLE_USER_SITE)"],
                               capture_output=True, text=True).stdout.strip() == "True"
    for emu in pair.values():
        site = emu.computers[0].home / ".local" / "lib" / version / "site-packages"
        site.mkdir(parents=True, exist_ok=True)
        (site / "orgo_probe_mod.py").write_text("VALUE = 'from the user site'\n")
        body = run(emu, "import orgo_probe_mod\nprint(orgo_probe_mod.VALUE)")
        if user_site:
            assert body["output"] == "from the user site\n"
        else:
            assert body["error_type"] == "ModuleNotFoundError"
        other = run(emu, "import orgo_probe_mod", computer=1)
        assert other["error_type"] == "ModuleNotFoundError"
    zygote, spawn = both(pair, "import sys\nprint([p.split('/.local/')[-1] for p in sys.path])")
    assert zygote == spawn


def test_a_module_written_in_home_is_importable_at_once(pair):
    for emu in pair.values():
        run(emu, "open('fresh_mod_a.py', 'w').write('A = 1')")
        assert run(emu, "import fresh_mod_a\nprint(fresh_mod_a.A)")["output"] == "1\n"


def test_zygote_killed_while_idle_is_replaced_transparently(pair):
    emu = pair["zygote"]
    zygote = emu.runtime.executor.zygote
    assert run(emu, "print(1)")["output"] == "1\n"
    os.kill(zygote.pid, signal.SIGKILL)
    time.sleep(0.1)
    assert run(emu, "print(2)")["output"] == "2\n"
    assert zygote.pid is not None


def test_a_run_that_kills_its_zygote_is_reported_and_the_next_run_works(pair):
    emu = pair["zygote"]
    body = run(emu, "import os, signal, time\nprint('killing', flush=True)\n"
                    "os.kill(os.getppid(), signal.SIGKILL)\ntime.sleep(30)", timeout=60)
    assert body["success"] is False and body["error_type"] == "ProcessKilled", body
    assert "interpreter host died" in body["error"] and body["output"] == "killing\n"
    assert run(emu, "print(3)")["output"] == "3\n"


def test_many_concurrent_runs_each_get_their_own_answer(pair):
    emu = pair["zygote"]
    answers: dict[int, str] = {}

    def worker(i):
        with http(emu) as api:
            for j in range(5):
                reply = api.post(f"computers/{emu.computers[i % 2].id}/exec",
                                 json={"code": f"import time\ntime.sleep(0.01 * {j})\nprint({i * 10 + j})"})
                answers[i * 10 + j] = reply.json()["output"]

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert answers == {n: f"{n}\n" for n in answers} and len(answers) == 24 * 5


def test_unknown_executor_or_containment_is_refused(tmp_path):
    with pytest.raises(ValueError, match="executor must be one of zygote, spawn"):
        EmbeddedEmulator(data_dir=tmp_path, executor="thread").start()
    with pytest.raises(ValueError, match="containment mode"):
        EmbeddedEmulator(data_dir=tmp_path, containment="docker").start()


def test_open_files_are_flushed_when_the_run_ends(pair):
    """Issue 14, cause 5: an interpreter flushes what is still open on its way out, so does a
    forked child.  (A file only reachable from a reference cycle is lost by both alike.)"""
    cases = {
        "p.txt": "f = open('p.txt','w'); f.write('a')",
        "q.txt": "class Holder:\n    pass\nh = Holder()\nh.f = open('q.txt', 'w')\nh.f.write('b')",
        "r.txt": "import io\nb = open('r.txt', 'wb')\nb.write(b'c')",
    }
    expected = {"p.txt": "a", "q.txt": "b", "r.txt": "c"}
    for executor, emu in pair.items():
        for name, code in cases.items():
            assert run(emu, code)["success"]
            body = run(emu, f"print(repr(open({name!r}).read()))")
            assert body["output"] == repr(expected[name]) + "\n", (executor, name, body)
