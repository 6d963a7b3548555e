"""Time from Tab to the completion menu on screen: over HTTP, in live mode, and a local baseline.

The real interactive session runs on a pipe input and a recording terminal against the embedded
emulator; each round types a prefix, presses Tab and stops the clock when the menu's entry is
on the screen.  The cache is cleared before every round (as a submission does), so every Tab
is a real probe.  The baseline is the same prompt with a local completer of the same prefix on
a local namespace, as ptpython does it (jedi when installed, else the standard library's
``rlcompleter``), measured in the same run.

    python benchmarks/completion_speed.py [--rounds 30]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from prompt_toolkit import PromptSession  # noqa: E402
from prompt_toolkit.completion import Completer, Completion, ThreadedCompleter  # noqa: E402
from prompt_toolkit.data_structures import Size  # noqa: E402
from prompt_toolkit.input import create_pipe_input  # noqa: E402
from prompt_toolkit.output.vt100 import Vt100_Output  # noqa: E402

from orgorepl.client import OrgoClient  # noqa: E402
from orgorepl.connect import Connection  # noqa: E402
from orgorepl.emulator import EmbeddedEmulator  # noqa: E402
from orgorepl.repl import ReplOptions  # noqa: E402
from orgorepl.repl.loop import InteractiveRepl  # noqa: E402

PREFIX, SHOWN = "os.pa", "pathconf"  # typed, and an entry only the menu shows
CLEAR = "\x1b\x01\x0b"  # Esc (menu closed), Ctrl-A, Ctrl-K: an empty line again


class Screen:
    """What the terminal was sent, searchable from a mark on (escape sequences and all)."""

    encoding = "utf-8"

    def __init__(self, pipe) -> None:
        self.data, self._cond, self._pipe = "", threading.Condition(), pipe

    def write(self, text: str) -> int:
        with self._cond:
            self.data += text
            self._cond.notify_all()
        if "\x1b[6n" in text:  # a cursor-position query: answered as a terminal would (last row)
            self._pipe.send_text("\x1b[24;1R")
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return True

    def wait_for(self, text: str, since: int, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while text not in self.data[since:]:
                if time.monotonic() > deadline:
                    raise SystemExit(f"{text!r} never came on screen")
                self._cond.wait(0.01)


def tab_to_menu(pipe, screen: Screen, rounds: int, before_round=lambda: None) -> list[float]:
    samples = []
    for _ in range(rounds + 2):
        before_round()
        mark = len(screen.data)
        start = time.perf_counter()
        pipe.send_text(PREFIX + "\t")
        screen.wait_for(SHOWN, mark)
        samples.append(time.perf_counter() - start)
        pipe.send_text(CLEAR)
        time.sleep(0.05)
    return samples[2:]  # the first rounds warm up (imports, the agent's source sent once)


def repl_samples(emu: EmbeddedEmulator, rounds: int, live: bool) -> list[float]:
    def connect() -> Connection:
        client = OrgoClient(api_key=emu.api_key, base_url=emu.base_url)
        return Connection(client=client, computer=client.get_computer(emu.computers[int(live)].id),
                          base_url=emu.base_url, local=True, _cleanup=[client.close])

    with create_pipe_input() as pipe:
        screen = Screen(pipe)
        output = Vt100_Output(screen, lambda: Size(rows=24, columns=100), term="xterm", enable_cpr=True)
        repl = InteractiveRepl(connect, ReplOptions(live=live, history=False, complete_while_typing="off"),
                               input=pipe, output=output)
        thread = threading.Thread(target=repl.run, daemon=True)
        thread.start()
        screen.wait_for("connected to", 0)
        mark = len(screen.data)
        pipe.send_text("import os\r")
        screen.wait_for("last: ", mark)
        samples = tab_to_menu(pipe, screen, rounds, repl.completion.invalidate)
        pipe.send_text("\x04")
        thread.join(15)
    return samples


class LocalCompleter(Completer):
    """ptpython's way: complete on a namespace in this process (jedi, or rlcompleter)."""

    def __init__(self) -> None:
        self.namespace = {"os": os}

    def get_completions(self, document, complete_event):
        text = document.text_before_cursor
        word = text.rsplit(".", 1)[-1]
        try:
            import jedi

            for c in jedi.Interpreter(text, [self.namespace]).complete():
                yield Completion(c.name, -len(word), display_meta=c.type)
            return
        except ImportError:
            pass
        import rlcompleter

        completer, state = rlcompleter.Completer(self.namespace), 0
        while (found := completer.complete(text, state)) is not None:
            yield Completion(found.rsplit(".", 1)[-1], -len(word))
            state += 1


def local_samples(rounds: int) -> list[float]:
    with create_pipe_input() as pipe:
        screen = Screen(pipe)
        output = Vt100_Output(screen, lambda: Size(rows=24, columns=100), term="xterm", enable_cpr=True)
        session: PromptSession = PromptSession(completer=ThreadedCompleter(LocalCompleter()), input=pipe,
                                               output=output)
        thread = threading.Thread(target=lambda: session.prompt(">>> "), daemon=True)
        thread.start()
        samples = tab_to_menu(pipe, screen, rounds)
        pipe.send_text("\r")
        thread.join(15)
    return samples


def summary(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.setdefault("ORGOREPL_CONFIG_DIR", str(Path(tmp) / "config"))
        os.environ.setdefault("ORGOREPL_DATA_DIR", str(Path(tmp) / "data"))
        with EmbeddedEmulator(data_dir=Path(tmp) / "emu", computers=2) as emu:
            rows = [("local (baseline)", summary(local_samples(args.rounds))),
                    ("http", summary(repl_samples(emu, args.rounds, live=False))),
                    ("live", summary(repl_samples(emu, args.rounds, live=True)))]
    try:
        import jedi  # noqa: F401

        baseline = "jedi"
    except ImportError:
        baseline = "rlcompleter"
    print(f"Tab to menu on screen for {PREFIX!r}, ms ({args.rounds} rounds; baseline: {baseline})")
    print(f"{'how':18s} {'median':>8s} {'p95':>8s} {'median/baseline':>16s}")
    base = rows[0][1][0]
    for name, (median, p95) in rows:
        print(f"{name:18s} {median:8.1f} {p95:8.1f} {median / base:15.1f}x")


if __name__ == "__main__":
    main()
