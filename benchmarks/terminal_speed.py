"""The emulator's terminal against a local PTY: keystroke echo round trip, and `cat` throughput.

Both sides run the same programs in a pseudo-terminal on this machine; the difference is the
path orgorepl adds: the WebSocket, JSON frames, the emulator's PTY pump and, for throughput,
the screen filter `orgorepl term` applies before writing (the final write to a real terminal is
left out on both sides).

* echo: one key at a time into `cat > /dev/null` (the tty's own echo answers), time from sending
  the key to seeing it come back; median and p99 over --keys keys;
* cat: `cat` of a --megabytes MB text file, from sending the command to seeing the end marker.

    python benchmarks/terminal_speed.py [--keys 300] [--megabytes 50]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import pty
import select
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from orgorepl.client import OrgoClient  # noqa: E402
from orgorepl.client.terminal import TerminalSocket  # noqa: E402
from orgorepl.emulator import EmbeddedEmulator  # noqa: E402
from orgorepl.render.screen_filter import ScreenFilter  # noqa: E402

END = "END-OF-" + "CAT"


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.99 * (len(ordered) - 1))))]


# ------------------------------------------------------------------ local PTY (the baseline)


class LocalPty:
    def __init__(self, cwd: str) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.chdir(cwd)
            os.execvpe("bash", ["bash", "--norc", "--noprofile"], {"PATH": os.environ["PATH"], "PS1": "$ ",
                                                                    "TERM": "xterm-256color"})
        self.buf = b""

    def send(self, data: bytes) -> None:
        os.write(self.fd, data)

    def until(self, marker: bytes) -> int:
        """Read until ``marker`` appears; the bytes read."""
        total = 0
        while marker not in self.buf:
            select.select([self.fd], [], [])
            chunk = os.read(self.fd, 65536)
            total += len(chunk)
            self.buf = (self.buf + chunk)[-max(len(marker) * 2, 4096):]
        self.buf = self.buf[self.buf.index(marker) + len(marker):]
        return total

    def drain(self, quiet: float = 0.3) -> None:
        """Read until nothing more comes for ``quiet`` seconds."""
        while select.select([self.fd], [], [], quiet)[0]:
            os.read(self.fd, 65536)
        self.buf = b""

    def close(self) -> None:
        os.kill(self.pid, signal.SIGKILL)
        os.waitpid(self.pid, 0)
        os.close(self.fd)


def local_echo(cwd: str, keys: int) -> list[float]:
    term = LocalPty(cwd)
    term.send(b"cat > /dev/null\r")
    term.drain()
    samples = []
    for i in range(keys):
        key = b"abcdefghijklmnopqrstuvwxyz"[i % 26:i % 26 + 1]
        start = time.perf_counter()
        term.send(key)
        term.until(key)
        samples.append(time.perf_counter() - start)
    term.close()
    return samples


def local_cat(cwd: str, path: str) -> float:
    term = LocalPty(cwd)
    term.send(b"stty -echo; PS1=''\r")
    term.drain()
    start = time.perf_counter()
    term.send(f"cat {path}; echo {END[:7]}''{END[7:]}\r".encode())
    term.until(END.encode())
    elapsed = time.perf_counter() - start
    term.close()
    return elapsed


# ------------------------------------------------------------------ the emulator's terminal


class Remote:
    def __init__(self, socket: TerminalSocket) -> None:
        self.socket = socket
        self.buf = ""
        self.filter = ScreenFilter()

    async def drain(self, quiet: float = 0.3) -> None:
        """Read until nothing more comes for ``quiet`` seconds."""
        try:
            while True:
                await asyncio.wait_for(self.socket.receive(), quiet)
        except asyncio.TimeoutError:
            self.buf = ""

    async def until(self, marker: str) -> int:
        total = 0
        while marker not in self.buf:
            frame = await self.socket.receive()
            if frame is None:
                raise SystemExit("the terminal closed")
            if frame.type == "output":
                self.filter.feed(frame.data)
                total += len(frame.data)
                self.buf = (self.buf + frame.data)[-max(len(marker) * 2, 4096):]
        self.buf = self.buf[self.buf.index(marker) + len(marker):]
        return total


async def remote_session(url: str, keys: int, path: str) -> tuple[list[float], float]:
    socket = await TerminalSocket.open(url)
    remote = Remote(socket)
    await socket.send_input("PS1='$ '; cat > /dev/null\r")
    await remote.drain()
    samples = []
    for i in range(keys):
        key = "abcdefghijklmnopqrstuvwxyz"[i % 26]
        start = time.perf_counter()
        await socket.send_input(key)
        await remote.until(key)
        samples.append(time.perf_counter() - start)
    await socket.send_input("\r\x04")  # end the line of keys, then end cat
    await socket.send_input("stty -echo; PS1=''\r")
    await remote.drain()
    start = time.perf_counter()
    await socket.send_input(f"cat {path}; echo {END[:7]}''{END[7:]}\r")
    await remote.until(END)
    elapsed = time.perf_counter() - start
    await socket.close()
    return samples, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=300)
    parser.add_argument("--megabytes", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "big.txt"
        line = ("The quick brown fox jumps over the lazy dog 0123456789 " * 2)[:99] + "\n"
        with data.open("w") as fh:
            fh.write(line * (args.megabytes * 1_000_000 // len(line)))
        size_mb = data.stat().st_size / 1e6
        with EmbeddedEmulator(data_dir=Path(tmp) / "emu") as emu:
            with OrgoClient(api_key=emu.api_key, base_url=emu.base_url) as client:
                access = client.terminal_access(emu.computers[0].id)
            url = access.url(emu.base_url, 100, 30)
            local_keys = local_echo(tmp, args.keys)
            local_seconds = local_cat(tmp, str(data))
            remote_keys, remote_seconds = asyncio.run(remote_session(url, args.keys, str(data)))
    lm, rm = statistics.median(local_keys) * 1e3, statistics.median(remote_keys) * 1e3
    lp, rp = p99(local_keys) * 1e3, p99(remote_keys) * 1e3
    print(f"keystroke echo ({args.keys} keys)     median      p99")
    print(f"  local PTY                    {lm:7.3f} ms {lp:7.3f} ms")
    print(f"  emulator terminal            {rm:7.3f} ms {rp:7.3f} ms")
    print(f"  ratio terminal/local         {rm / lm:7.1f}x   {rp / lp:7.1f}x")
    local_rate, remote_rate = size_mb / local_seconds, size_mb / remote_seconds
    print(f"cat of {size_mb:.0f} MB")
    print(f"  local PTY                    {local_rate:8.1f} MB/s ({local_seconds:.2f} s)")
    print(f"  emulator terminal + filter   {remote_rate:8.1f} MB/s ({remote_seconds:.2f} s)")
    print(f"  ratio terminal/local         {remote_rate / local_rate:8.2f}x")


if __name__ == "__main__":
    main()
