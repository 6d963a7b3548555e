"""File transfer through /exec against the real emulator: integrity, resume, errors, progress.

Interruptions are real ones: a progress callback raises KeyboardInterrupt after N chunks, the
way Ctrl-C would stop the command, and the next call must pick up from what is on disk.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orgorepl import errors
from orgorepl.session import transfer_code
from orgorepl.transfer import (
    DEFAULT_CHUNK,
    PART_SUFFIX,
    TransferError,
    TransferProgress,
    TransferResult,
    get,
    put,
)

KIB = 1024
MIB = 1024 * KIB


@pytest.fixture
def home(emulator) -> Path:
    return Path(emulator.computers[0].home)


@pytest.fixture
def scratch(home, tmp_path):
    """A fresh remote directory (relative name) and a local one, per test."""
    name = f"xfer-{tmp_path.name}"
    (home / name).mkdir()
    local = tmp_path / "local"
    local.mkdir()
    yield name, home / name, local
    shutil.rmtree(home / name, ignore_errors=True)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def parts_under(*dirs: Path) -> list[Path]:
    return [p for d in dirs for p in d.rglob(f"*{PART_SUFFIX}")]


class StopAfter:
    """A progress callback that interrupts the transfer after ``n`` chunks, like Ctrl-C."""

    def __init__(self, n: int, then=None):
        self.n, self.then, self.calls = n, then, []

    def __call__(self, done: int, total: int) -> None:
        self.calls.append((done, total))
        if len(self.calls) == self.n:
            if self.then is not None:
                self.then()
            else:
                raise KeyboardInterrupt


# ------------------------------------------------------------------------------ round trips

CONTENTS = {
    "small": b"hello, remote\n",
    "empty": b"",
    "binary": bytes(range(256)) * 33,
    "unicode-and-invalid-utf8": "naïve ✓ \u2028 line\r\n".encode("utf-8") + b"\xff\xfe\x00",
}


@pytest.mark.parametrize("name", list(CONTENTS))
def test_round_trip_keeps_every_byte(client, computer_id, scratch, name):
    rel, rdir, ldir = scratch
    data = CONTENTS[name]
    src = ldir / f"{name}.bin"
    src.write_bytes(data)

    up = put(client, computer_id, src, f"{rel}/{name}.bin")
    assert (rdir / f"{name}.bin").read_bytes() == data
    assert up.remote == str(rdir / f"{name}.bin")
    assert (up.bytes, up.sha256, up.resumed_from) == (len(data), sha(data), 0)

    back = ldir / "back.bin"
    down = get(client, computer_id, f"{rel}/{name}.bin", back)
    assert back.read_bytes() == data
    assert (down.bytes, down.sha256, down.resumed_from) == (len(data), sha(data), 0)
    assert down.remote == up.remote and down.local == back.resolve()
    assert parts_under(rdir, ldir) == []


def test_fifty_megabytes_both_ways(client, computer_id, scratch):
    rel, rdir, ldir = scratch
    data = os.urandom(50 * MIB)
    src = ldir / "big.bin"
    src.write_bytes(data)
    seen = []

    up = put(client, computer_id, src, f"{rel}/big.bin", progress=lambda d, t: seen.append((d, t)))
    assert sha((rdir / "big.bin").read_bytes()) == sha(data) == up.sha256
    assert len(seen) == -(-len(data) // DEFAULT_CHUNK)
    assert seen[-1] == (len(data), len(data))
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)

    down = get(client, computer_id, f"{rel}/big.bin", ldir / "big.back")
    assert sha((ldir / "big.back").read_bytes()) == sha(data) == down.sha256
    assert parts_under(rdir, ldir) == []


def test_progress_reports_each_chunk_then_the_total(client, computer_id, scratch):
    rel, _rdir, ldir = scratch
    src = ldir / "f"
    src.write_bytes(b"x" * (10 * KIB + 1))
    seen = []
    put(client, computer_id, src, rel + "/", chunk_size=4 * KIB, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(4096, 10241), (8192, 10241), (10241, 10241)]
    seen.clear()
    get(client, computer_id, f"{rel}/f", ldir / "g", chunk_size=4 * KIB, progress=lambda d, t: seen.append((d, t)))
    assert seen == [(4096, 10241), (8192, 10241), (10241, 10241)]


# ------------------------------------------------------------------------------- naming


def test_put_defaults_to_the_local_name_in_the_remote_home(client, computer_id, home, tmp_path):
    src = tmp_path / f"default-{tmp_path.name}.txt"
    src.write_text("in home")
    result = put(client, computer_id, src)
    try:
        assert result.remote == str(home / src.name)
        assert (home / src.name).read_text() == "in home"
    finally:
        (home / src.name).unlink()


def test_put_into_a_directory_and_relative_to_the_session_cwd(client, computer_id, scratch):
    rel, rdir, ldir = scratch
    (rdir / "sub").mkdir()
    src = ldir / "a.txt"
    src.write_text("A")
    assert put(client, computer_id, src, f"{rel}/sub").remote == str(rdir / "sub" / "a.txt")
    assert put(client, computer_id, src, "sub/", cwd=str(rdir)).remote == str(rdir / "sub" / "a.txt")
    assert put(client, computer_id, src, "b.txt", cwd=str(rdir)).remote == str(rdir / "b.txt")
    assert put(client, computer_id, src, f"~/{rel}/c.txt").remote == str(rdir / "c.txt")
    assert (rdir / "b.txt").read_text() == (rdir / "c.txt").read_text() == "A"


def test_get_defaults_to_the_remote_name_and_fills_a_local_directory(client, computer_id, scratch,
                                                                        monkeypatch):
    rel, rdir, ldir = scratch
    (rdir / "r.txt").write_text("R")
    monkeypatch.chdir(ldir)
    assert get(client, computer_id, f"{rel}/r.txt").local == ldir / "r.txt"
    (ldir / "into").mkdir()
    assert get(client, computer_id, "r.txt", ldir / "into", cwd=str(rdir)).local == ldir / "into" / "r.txt"
    assert (ldir / "into" / "r.txt").read_text() == "R"


def test_put_keeps_the_executable_bit(client, computer_id, scratch):
    rel, rdir, ldir = scratch
    src = ldir / "run.sh"
    src.write_text("#!/bin/sh\necho hi\n")
    src.chmod(0o755)
    put(client, computer_id, src, rel + "/")
    assert os.access(rdir / "run.sh", os.X_OK)
    assert client.bash(computer_id, f"./{rel}/run.sh").output == "hi\n"


def test_put_replaces_an_existing_file_atomically(client, computer_id, scratch):
    rel, rdir, ldir = scratch
    (rdir / "t").write_bytes(b"old content that is longer")
    src = ldir / "t"
    src.write_bytes(b"new")
    put(client, computer_id, src, f"{rel}/t")
    assert (rdir / "t").read_bytes() == b"new"


# ---------------------------------------------------------------------------------- resume


def test_interrupted_upload_resumes_where_it_stopped(client, computer_id, scratch):
    rel, rdir, ldir = scratch
    data = os.urandom(300 * KIB + 7)
    src = ldir / "u.bin"
    src.write_bytes(data)
    with pytest.raises(KeyboardInterrupt):
        put(client, computer_id, src, rel + "/", chunk_size=64 * KIB, progress=StopAfter(3))
    part = rdir / ("u.bin" + PART_SUFFIX)
    assert part.read_bytes() == data[: 3 * 64 * KIB]
    assert not (rdir / "u.bin").exists()

    seen = []
    result = put(client, computer_id, src, rel + "/", chunk_size=64 * KIB,
                 progress=lambda d, t: seen.append(d))
    assert result.resumed_from == 3 * 64 * KIB
    assert seen[0] == 4 * 64 * KIB  # the first three chunks were not sent again
    assert (rdir / "u.bin").read_bytes() == data and result.sha256 == sha(data)
    assert not part.exists()


def test_interrupted_download_resumes_where_it_stopped(client, computer_id, scratch):
    rel, rdir, ldir = scratch
    data = os.urandom(300 * KIB + 7)
    (rdir / "d.bin").write_bytes(data)
    dst = ldir / "d.bin"
    with pytest.raises(KeyboardInterrupt):
        get(client, computer_id, f"{rel}/d.bin", dst, chunk_size=64 * KIB, progress=StopAfter(2))
    part = ldir / ("d.bin" + PART_SUFFIX)
    assert part.read_bytes() == data[: 2 * 64 * KIB] and not dst.exists()

    result = get(client, computer_id, f"{rel}/d.bin", dst, chunk_size=64 * KIB)
    assert result.resumed_from == 2 * 64 * KIB
    assert dst.read_bytes() == data and result.sha256 == sha(data)
    assert not part.exists()


def test_an_upload_whose_partial_file_was_corrupted_restarts_from_zero(client, computer_id, scratch):
    rel, rdir, ldir = scratch
    data = os.urandom(200 * KIB)
    src = ldir / "c.bin"
    src.write_bytes(data)
    with pytest.raises(KeyboardInterrupt):
        put(client, computer_id, src, rel + "/", chunk_size=32 * KIB, progress=StopAfter(2))
    part = rdir / ("c.bin" + PART_SUFFIX)
    raw = bytearray(part.read_bytes())
    raw[100] ^= 0xFF  # same size, different prefix
    part.write_bytes(bytes(raw))

    result = put(client, computer_id, src, rel + "/", chunk_size=32 * KIB)
    assert result.resumed_from == 0
    assert (rdir / "c.bin").read_bytes() == data


def test_a_download_whose_partial_file_was_corrupted_restarts_from_zero(client, computer_id, scratch):
    rel, rdir, ldir = scratch
    data = os.urandom(200 * KIB)
    (rdir / "c.bin").write_bytes(data)
    dst = ldir / "c.bin"
    with pytest.raises(KeyboardInterrupt):
        get(client, computer_id, f"{rel}/c.bin", dst, chunk_size=32 * KIB, progress=StopAfter(2))
    part = ldir / ("c.bin" + PART_SUFFIX)
    raw = bytearray(part.read_bytes())
    raw[0] ^= 1
    part.write_bytes(bytes(raw))

    result = get(client, computer_id, f"{rel}/c.bin", dst, chunk_size=32 * KIB)
    assert result.resumed_from == 0 and dst.read_bytes() == data


def test_resume_false_sends_everything_again(client, computer_id, scratch):
    rel, rdir, ldir = scratch
    data = os.urandom(100 * KIB)
    src = ldir / "n.bin"
    src.write_bytes(data)
    with pytest.raises(KeyboardInterrupt):
        put(client, computer_id, src, rel + "/", chunk_size=16 * KIB, progress=StopAfter(2))
    result = put(client, computer_id, src, rel + "/", chunk_size=16 * KIB, resume=False)
    assert result.resumed_from == 0 and (rdir / "n.bin").read_bytes() == data


def test_a_partial_file_longer_than_the_source_is_not_trusted(client, computer_id, scratch):
    rel, rdir, ldir = scratch
    (rdir / ("s.bin" + PART_SUFFIX)).write_bytes(b"x" * 5000)
    src = ldir / "s.bin"
    src.write_bytes(b"x" * 100)
    result = put(client, computer_id, src, rel + "/")
    assert result.resumed_from == 0 and (rdir / "s.bin").read_bytes() == b"x" * 100


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(size=st.integers(0, 40 * KIB), chunk=st.integers(1 * KIB, 16 * KIB), stop=st.integers(1, 6),
       flip=st.booleans(), upload=st.booleans())
def test_any_interruption_then_resume_gives_the_exact_file(client, computer_id, home, tmp_path,
                                                          size, chunk, stop, flip, upload):
    rdir = home / f"prop-{tmp_path.name}"
    shutil.rmtree(rdir, ignore_errors=True)
    rdir.mkdir()
    ldir = tmp_path / "prop"
    shutil.rmtree(ldir, ignore_errors=True)
    ldir.mkdir()
    data = os.urandom(size)
    src_dir, dst_dir = (ldir, rdir) if upload else (rdir, ldir)
    (src_dir / "f").write_bytes(data)

    def run(progress=None):
        if upload:
            return put(client, computer_id, ldir / "f", str(rdir / "f"), chunk_size=chunk, progress=progress)
        return get(client, computer_id, str(rdir / "f"), ldir / "f", chunk_size=chunk, progress=progress)

    interrupted = True
    try:
        run(StopAfter(stop))
        interrupted = False
    except KeyboardInterrupt:
        pass
    part = dst_dir / ("f" + PART_SUFFIX)
    if interrupted and flip and part.exists() and part.stat().st_size:
        raw = bytearray(part.read_bytes())
        raw[-1] ^= 1
        part.write_bytes(bytes(raw))
    result = run()
    assert (dst_dir / "f").read_bytes() == data and result.sha256 == sha(data)
    assert not part.exists()
    if interrupted and not flip and stop * chunk < size:
        assert result.resumed_from == stop * chunk
    shutil.rmtree(rdir)


# ------------------------------------------------------------------------ checksum mismatch


def test_an_upload_corrupted_in_flight_is_refused_and_not_renamed(client, computer_id, scratch):
    rel, rdir, ldir = scratch
    data = os.urandom(100 * KIB)
    src = ldir / "m.bin"
    src.write_bytes(data)
    part = rdir / ("m.bin" + PART_SUFFIX)

    def corrupt():
        with open(part, "r+b") as fh:  # what a flaky disk or a concurrent writer would do
            fh.write(b"\0")

    with pytest.raises(TransferError) as info:
        put(client, computer_id, src, rel + "/", chunk_size=32 * KIB, progress=StopAfter(2, corrupt))
    assert info.value.kind == "mismatch"
    line = info.value.one_line()
    assert "checksum mismatch" in line and str(rdir / "m.bin") in line and "\n" not in line
    assert not (rdir / "m.bin").exists() and not part.exists()
    assert put(client, computer_id, src, rel + "/").sha256 == sha(data)  # the next try is clean


def test_a_download_corrupted_on_the_local_disk_is_refused(client, computer_id, scratch):
    rel, rdir, ldir = scratch
    data = os.urandom(100 * KIB)
    (rdir / "m.bin").write_bytes(data)
    dst = ldir / "m.bin"
    part = ldir / ("m.bin" + PART_SUFFIX)

    def corrupt():
        with open(part, "r+b") as fh:
            fh.write(b"\0")

    with pytest.raises(TransferError) as info:
        get(client, computer_id, f"{rel}/m.bin", dst, chunk_size=32 * KIB, progress=StopAfter(1, corrupt))
    assert info.value.kind == "mismatch" and "checksum mismatch" in info.value.one_line()
    assert not dst.exists() and not part.exists()


def test_a_remote_file_that_changes_during_a_download_is_an_error(client, computer_id, scratch):
    rel, rdir, ldir = scratch
    (rdir / "grow.log").write_bytes(b"a" * 50 * KIB)

    def append():
        with open(rdir / "grow.log", "ab") as fh:
            fh.write(b"more")

    with pytest.raises(TransferError) as info:
        get(client, computer_id, f"{rel}/grow.log", ldir / "grow.log", chunk_size=16 * KIB,
            progress=StopAfter(1, append))
    assert info.value.kind == "changed"
    assert "changed during the transfer" in info.value.one_line()
    result = get(client, computer_id, f"{rel}/grow.log", ldir / "grow.log", chunk_size=16 * KIB)
    assert (ldir / "grow.log").read_bytes() == b"a" * 50 * KIB + b"more"
    assert result.resumed_from == 16 * KIB  # the prefix still matched


# ---------------------------------------------------------------------------------- errors


def _error(call) -> TransferError:
    with pytest.raises(TransferError) as info:
        call()
    err = info.value
    assert isinstance(err, errors.OrgoError)
    assert "\n" not in err.one_line()
    return err


def test_missing_local_file(client, computer_id, tmp_path):
    err = _error(lambda: put(client, computer_id, tmp_path / "nope.txt"))
    assert (err.kind, err.side) == ("missing", "local")
    assert err.one_line() == f"local path not found: {tmp_path / 'nope.txt'}"


def test_local_directory_cannot_be_put(client, computer_id, tmp_path):
    err = _error(lambda: put(client, computer_id, tmp_path))
    assert (err.kind, err.side) == ("is_dir", "local")
    assert "is a directory" in err.one_line()


def test_missing_remote_file_leaves_nothing_behind(client, computer_id, scratch):
    rel, rdir, ldir = scratch
    err = _error(lambda: get(client, computer_id, f"{rel}/absent.txt", ldir / "x"))
    assert (err.kind, err.side) == ("missing", "remote")
    assert err.one_line() == f"remote path not found: {rdir / 'absent.txt'}"
    assert list(ldir.iterdir()) == []


def test_remote_directory_cannot_be_fetched(client, computer_id, scratch):
    rel, rdir, ldir = scratch
    err = _error(lambda: get(client, computer_id, rel, ldir / "x"))
    assert (err.kind, err.side) == ("is_dir", "remote")
    assert err.one_line() == f"remote path is a directory: {rdir}"


def test_remote_target_directory_missing(client, computer_id, scratch):
    rel, rdir, ldir = scratch
    src = ldir / "f"
    src.write_text("x")
    err = _error(lambda: put(client, computer_id, src, f"{rel}/no/such/dir/f"))
    assert (err.kind, err.side) == ("missing", "remote")
    assert str(rdir / "no" / "such" / "dir") in err.one_line()


def test_remote_permission_denied_on_read(client, computer_id, tmp_path):
    # write-only for everyone, root included: procfs checks sysctl modes itself
    err = _error(lambda: get(client, computer_id, "/proc/sys/vm/drop_caches", tmp_path / "x"))
    assert (err.kind, err.side) == ("permission", "remote")
    assert err.one_line() == "remote permission denied: /proc/sys/vm/drop_caches"


def test_remote_permission_denied_on_write(client, computer_id, tmp_path):
    src = tmp_path / "f"
    src.write_text("x")
    err = _error(lambda: put(client, computer_id, src, "/sys/"))  # sysfs: no new files, even for root
    assert err.kind in ("permission", "read_only") and err.side == "remote"
    assert "/sys/f" in err.one_line()


def test_local_directory_missing_or_not_writable(client, computer_id, scratch, tmp_path):
    rel, rdir, _ldir = scratch
    (rdir / "f").write_text("x")
    err = _error(lambda: get(client, computer_id, f"{rel}/f", tmp_path / "no" / "dir" / "f"))
    assert (err.kind, err.side) == ("missing", "local")
    assert str(tmp_path / "no" / "dir") in err.one_line()
    err = _error(lambda: get(client, computer_id, f"{rel}/f", Path("/sys/orgorepl-f")))
    assert err.kind in ("permission", "read_only") and err.side == "local"


def test_bad_sizes_and_timeouts_are_refused_before_anything_is_sent(client, computer_id, tmp_path):
    src = tmp_path / "f"
    src.write_text("x")
    for kwargs in ({"chunk_size": 0}, {"chunk_size": 64 * MIB}, {"timeout": 0}, {"timeout": 301}):
        with pytest.raises(errors.ConfigError):
            put(client, computer_id, src, "never-written", **kwargs)


def test_an_unknown_computer_is_the_api_error_not_a_transfer_error(client, tmp_path):
    src = tmp_path / "f"
    src.write_text("x")
    with pytest.raises(errors.NotFoundError):
        put(client, "00000000-0000-0000-0000-000000000000", src)


def test_a_step_cut_by_its_timeout_says_how_to_resume(client, computer_id, scratch, monkeypatch):
    """A remote step slower than ``timeout`` (a stalled disk) is reported, never retried."""
    rel, _rdir, ldir = scratch
    src = ldir / "f"
    src.write_text("x")
    slow = "import time\ntime.sleep(3)\n"
    real = transfer_code.program
    monkeypatch.setattr(transfer_code, "program", lambda p, d="": slow + real(p, d))
    calls = []
    real_exec = client.exec
    monkeypatch.setattr(client, "exec", lambda *a, **k: calls.append(1) or real_exec(*a, **k))
    err = _error(lambda: put(client, computer_id, src, rel + "/", timeout=1))
    assert err.kind == "timeout" and "run the same command again to resume" in err.one_line()
    assert len(calls) == 1


# ----------------------------------------------------------------------------- remote side


def _python38() -> str:
    """A real Python 3.8, the oldest the remote side promises to run on."""
    candidates = [shutil.which("python3.8") or ""]
    for version in ("3.8", "3.8.18"):
        try:
            candidates.append(subprocess.run(
                ["pyenv", "which", "python"], env=dict(os.environ, PYENV_VERSION=version),
                capture_output=True, text=True, timeout=30, check=False).stdout.strip())
        except (OSError, subprocess.SubprocessError):
            break
    for candidate in filter(None, candidates):
        probe = subprocess.run([candidate, "-c", "import sys; print(sys.version_info[:2])"],
                               capture_output=True, text=True, check=False)
        if probe.returncode == 0 and probe.stdout.strip() == "(3, 8)":
            return candidate
    pytest.fail("the remote side must run on Python 3.8 and no python3.8 was found "
                "(PATH or pyenv); install one, e.g. `pyenv install 3.8`")


def test_the_remote_program_runs_on_python_38_with_the_stdlib_only(tmp_path):
    python = _python38()

    def step(params, data=""):
        out = subprocess.run([python, "-I", "-S", "-c", transfer_code.program(params, data)],
                             cwd=tmp_path, capture_output=True, text=True, timeout=30, check=False)
        assert out.returncode == 0, out.stderr
        return transfer_code.parse_reply(out.stdout)

    opened = step({"op": "put_open", "path": str(tmp_path / "t"), "name": "t", "suffix": PART_SUFFIX,
                   "resume": True})
    assert opened["ok"] and opened["size"] == 0
    done = step({"op": "put_write", "path": opened["path"], "part": opened["part"], "offset": 0,
                 "final": True, "sha256": sha(b"abc"), "mode": 0o644, "umask": opened["umask"]}, "YWJj")
    assert done["ok"] and (tmp_path / "t").read_bytes() == b"abc"
    read = step({"op": "get_read", "path": str(tmp_path / "t"), "n": 10})
    assert read["ok"] and read["data"] == "YWJj" and read["sha256"] == sha(b"abc")


def test_the_partial_file_never_gets_a_gap(tmp_path):
    """A chunk past the end of the partial file is refused: the file must stay a prefix."""
    part = tmp_path / "p"
    part.write_bytes(b"12")
    reply = transfer_code.remote_transfer(
        {"op": "put_write", "path": str(tmp_path / "t"), "part": str(part), "offset": 5}, "YWJj")
    assert reply["ok"] is False and reply["kind"] == "part_gone"
    assert part.read_bytes() == b"12"


def test_a_chunk_sent_twice_changes_nothing(tmp_path):
    part = tmp_path / "p"
    step = {"op": "put_write", "path": str(tmp_path / "t"), "part": str(part)}
    for offset, data in ((0, b"hello "), (6, b"world"), (0, b"hello "), (6, b"world")):
        transfer_code.remote_transfer({**step, "offset": offset}, base64.b64encode(data).decode())
        if offset == 6:
            assert part.read_bytes() == b"hello world"


def test_reply_is_found_after_stray_output():
    assert transfer_code.parse_reply("junk\n" + transfer_code.MARK + '{"ok": true}\n') == {"ok": True}
    assert transfer_code.parse_reply("no marker here") is None
    assert transfer_code.parse_reply(transfer_code.MARK + "{broken") is None
    chunk = transfer_code.MARK + '{"ok": true, "data": 8}\nQUJDREVG\n'
    assert transfer_code.parse_reply(chunk) == {"ok": True, "data": "QUJDREVG"}
    assert transfer_code.parse_reply(chunk[:-4]) is None  # output cut short: no reply at all


def test_only_base64_can_be_spliced_into_the_program():
    with pytest.raises(ValueError):
        transfer_code.program({"op": "put_write"}, 'x")\nimport os; os.system("id")#')


@pytest.mark.parametrize("remote,name", [("a/b.txt", "b.txt"), ("dir/", "dir"), ("~", ""),
                                         ("/", ""), (".", ""), ("~/x", "x"), ("~user", "")])
def test_default_local_name(remote, name):
    assert transfer_code.remote_basename(remote) == name


# -------------------------------------------------------------------------------- progress


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_progress_goes_to_the_channel_one_line_at_a_time():
    frames, clock = [], Clock()
    line = TransferProgress(frames.append, "big.bin", width=10, clock=clock)
    clock.now = 1.0
    line.update(1 * MIB, 4 * MIB)
    clock.now = 2.0
    line.update(2 * MIB, 4 * MIB)
    clock.now = 3.0
    line.update(4 * MIB, 4 * MIB)
    assert frames[0] == "big.bin [##--------]  25%  1.0 MiB / 4.0 MiB"  # no rate from one report
    assert frames[1] == "big.bin [#####-----]  50%  2.0 MiB / 4.0 MiB  1.0 MiB/s  ETA 2s"
    assert frames[2] == "big.bin [##########] 100%  4.0 MiB / 4.0 MiB  1.5 MiB/s"
    assert not any("\r" in f or "\n" in f or "\x1b" in f for f in frames)  # drawing is the channel's


def test_progress_skips_redraws_closer_than_its_interval_but_never_the_last():
    frames, clock = [], Clock()
    line = TransferProgress(frames.append, interval=0.5, clock=clock)
    for i in range(1, 11):
        clock.now = i * 0.01
        line.update(i, 10)
    assert len(frames) == 2  # the first and the 100% frame
    assert "100%" in frames[-1]


def test_progress_of_an_empty_file_is_complete():
    frames = []
    TransferProgress(frames.append, width=4, clock=Clock()).update(0, 0)
    assert "[####] 100%" in frames[0]


def test_progress_rate_counts_only_bytes_moved_this_time():
    frames, clock = [], Clock()
    line = TransferProgress(frames.append, width=4, interval=0, clock=clock)
    clock.now = 1.0
    line.update(8 * MIB, 10 * MIB)  # resumed at 7 MiB, one chunk of 1 MiB
    assert "8.0 MiB / 10.0 MiB" in frames[0] and "MiB/s" not in frames[0]  # no rate yet from 1 sample
    clock.now = 2.0
    line.update(9 * MIB, 10 * MIB)
    assert "1.0 MiB/s" in frames[-1]


def test_result_summary_reads_well():
    r = TransferResult(local=Path("/x"), remote="/r/x", bytes=3 * MIB, sha256="ab" * 32,
                       resumed_from=1 * MIB, seconds=2.0)
    assert r.summary("uploaded") == ("uploaded 3.0 MiB in 2.0s (1.0 MiB/s, resumed at 1.0 MiB), "
                                     "sha256 abababababab")


def test_a_local_fifo_is_refused_instead_of_blocking(client, computer_id, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    err = _error(lambda: put(client, computer_id, fifo))
    assert (err.kind, err.side) == ("special", "local")
    assert err.one_line() == f"local path is not a regular file: {fifo}"
