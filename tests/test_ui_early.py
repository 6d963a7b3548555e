"""The prompt painted before prompt_toolkit loads: on a real pseudo-terminal pair."""

from __future__ import annotations

import os
import select
import termios

from orgorepl.ui.early import paint_early_prompt


def read_all(fd: int) -> str:
    out = b""
    while select.select([fd], [], [], 0.2)[0]:
        out += os.read(fd, 65536)
    return out.decode()


def test_paints_banner_and_prompt_with_echo_off_then_hands_over():
    master, slave = os.openpty()
    try:
        before = termios.tcgetattr(slave)
        early = paint_early_prompt("bash", version="9.9", fd_in=slave, fd_out=slave, env={"TERM": "xterm"})
        assert early is not None
        painted = read_all(master)
        assert painted.replace("\r", "").endswith("\n$ ") and "orgorepl 9.9" in painted and "%help" in painted
        assert not termios.tcgetattr(slave)[3] & termios.ECHO  # typed keys wait, unechoed
        os.write(master, b"ls\r")
        written: list[str] = []
        early.hand_over(written.append)
        assert written == ["\r"]  # the real prompt is drawn over the painted one
        assert termios.tcgetattr(slave) == before
        assert os.read(slave, 100) == b"ls\n"  # nothing typed was lost
    finally:
        os.close(master)
        os.close(slave)


def test_does_not_paint_without_a_terminal_or_when_disabled(tmp_path):
    master, slave = os.openpty()
    try:
        assert paint_early_prompt(env={"TERM": "dumb"}, fd_in=slave, fd_out=slave) is None
        assert paint_early_prompt(env={"TERM": "xterm", "ORGOREPL_NO_EARLY_PROMPT": "1"},
                                  fd_in=slave, fd_out=slave) is None
        with open(tmp_path / "f", "w") as f:
            assert paint_early_prompt(env={"TERM": "xterm"}, fd_in=slave, fd_out=f.fileno()) is None
        assert read_all(master) == ""
    finally:
        os.close(master)
        os.close(slave)


def test_abandon_restores_the_terminal_and_ends_the_line():
    master, slave = os.openpty()
    try:
        before = termios.tcgetattr(slave)
        early = paint_early_prompt(version="1", fd_in=slave, fd_out=slave, env={"TERM": "xterm"})
        read_all(master)
        early.abandon()
        assert termios.tcgetattr(slave) == before
        assert read_all(master).replace("\r", "") == "\n"
    finally:
        os.close(master)
        os.close(slave)


def test_the_painted_banner_names_the_configured_mode_key(isolated_env):
    (isolated_env / "config" / "config.toml").write_text('toggle_key = "f2"\n')
    env = {"TERM": "xterm", "ORGOREPL_CONFIG_DIR": str(isolated_env / "config")}
    master, slave = os.openpty()
    try:
        early = paint_early_prompt("python", version="9.9", fd_in=slave, fd_out=slave, env=env)
        assert early is not None
        painted = read_all(master)
        assert "F2 switches Python/bash" in painted and "F4" not in painted
        early.restore_terminal()
    finally:
        os.close(master)
        os.close(slave)
