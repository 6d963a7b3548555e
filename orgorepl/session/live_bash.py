"""Bash over the terminal, as a person types it: the wire side of live bash (no I/O here).

A live bash is the terminal's own interactive shell, so everything a persistent shell keeps is
kept because it is one: ``cd -``, ``set -e/-x``, traps, ``$?``, ``$_``, jobs, history
expansion.  The framing has to stay out of its way; what was learned (``../shared/design-live.md``):

* **The submission is pasted, not wrapped.**  It is sent inside bracketed paste (``ESC [200~`` ...
  ``ESC [201~``) followed by Enter, so readline inserts it literally (a tab is not a completion,
  a newline does not run half of it) and bash then reads the whole text as one input, exactly as
  if it had been pasted at a terminal.  No ``eval``, so ``$_`` and ``set -x`` show the user's
  commands and nothing of ours, history holds what was typed, and a heredoc of any size or
  quoting arrives intact (readline has no 4095-byte line limit; the tty is in raw mode).
* **The end is the next prompt.**  ``PS1`` is a sentinel with a per-session nonce, ``$?`` and
  ``$PWD`` (prompt expansion, no command substitution: under ``set -x`` a ``$(...)`` in a prompt
  would be traced).  ``PS2`` is a second sentinel: input bash finds incomplete is reported at
  once, instead of hanging for the rest it waits for.  ``PROMPT_COMMAND`` and ``PS0`` are
  emptied, since they would run or print between submissions.
* **The echo is cut where readline says the line ended.**  The tty keeps echoing (so ``read`` and
  ``y/n`` prompts show what is typed, and a password prompt, which turns echo off, does not), and
  readline redraws the pasted text, prompt included; but it leaves bracketed-paste mode
  (``ESC [?2004l``) exactly when it accepts the line and re-enters it (``ESC [?2004h``) right
  before the next prompt.  What lies between is the command's output, and nothing else.
* **Ctrl-C is the tty's**: ``\\x03`` on the terminal is SIGINT for the foreground job, bash comes
  back to its prompt with ``$?`` 130, and the shell and its state are intact.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

PASTE_START = "\x1b[200~"
PASTE_END = "\x1b[201~"
LINE_ACCEPTED = "\x1b[?2004l"  # readline leaves bracketed-paste mode: the line is being run
PROMPT_AHEAD = "\x1b[?2004h"  # ... and re-enters it right before it prints a prompt
_RS, _US = "\x1e", "\x1f"
INTERRUPT = "\x03"


@dataclass(frozen=True)
class Output:
    text: str


@dataclass(frozen=True)
class Done:
    """The shell is back at its prompt: the submission's exit status and the shell's directory."""

    exit_code: int
    cwd: str


@dataclass(frozen=True)
class NeedsMore:
    """Bash found the input incomplete and waits for more (an open quote, a missing ``fi``)."""


Event = Output | Done | NeedsMore


class LiveBash:
    """The framing of one live bash: what to send, and what the shell's output means."""

    def __init__(self, nonce: str | None = None) -> None:
        self.nonce = nonce or secrets.token_hex(6)
        self._end = f"{_RS}END{self.nonce}:"
        self._more = f"{_RS}MORE{self.nonce}{_US}"
        self._starts = (PROMPT_AHEAD + self._end, PROMPT_AHEAD + self._more, self._end, self._more)
        self._buffer = ""
        self._state = "setup"  # setup -> idle -> echo -> output -> idle (or -> more -> idle)
        self._line_start = False
        self._cr = ""

    # ---------------------------------------------------------------- what to send

    def setup(self) -> str:
        """Once, on a fresh shell: the prompts become sentinels (typed as text, split so that the
        echo of this line can never look like one)."""
        end = f"$'\\x1e''END{self.nonce}:$?:$PWD'$'\\x1f'"
        more = f"$'\\x1e''MORE{self.nonce}'$'\\x1f'"
        line = (f" bind 'set enable-bracketed-paste on' 2>/dev/null; PROMPT_COMMAND=''; PS0=''; "
                f"PS2={more}; PS1={end}")
        self._state = "setup"
        return PASTE_START + line + PASTE_END + "\r"

    def submission(self, text: str) -> str:
        """The text, pasted and entered.  A trailing newline would be an empty line: it is dropped."""
        self._state = "echo"
        self._buffer = ""
        body = text.rstrip("\n").replace(PASTE_END, "")  # the one sequence a paste cannot hold
        return PASTE_START + body + PASTE_END + "\r"

    def resume(self, *, busy: bool) -> None:
        """Taken over from a client that set this shell up (same nonce) and acknowledged output
        up to a prompt: what follows is a submission of its (``busy``), or nothing yet."""
        self._state, self._buffer = ("echo" if busy else "idle"), ""

    # ---------------------------------------------------------------- what comes back

    @property
    def ready(self) -> bool:
        """The shell is at its prompt (set up, or done with the last submission)."""
        return self._state == "idle"

    def feed(self, text: str) -> list[Event]:
        """The events in what the shell printed; output is held back only where a prompt may start."""
        self._buffer += text
        events: list[Event] = []
        while True:
            if self._state == "echo":  # readline redrawing the pasted text (and the prompt)
                at = self._buffer.find(LINE_ACCEPTED)
                if at < 0:
                    self._buffer = self._buffer[-len(LINE_ACCEPTED):]
                    return events
                self._buffer = self._buffer[at + len(LINE_ACCEPTED):]
                self._state = "output"
                self._line_start, self._cr = True, ""
                continue
            if self._state == "output":
                if self._line_start and self._buffer[:1] == "\r":  # readline's own return after the line
                    self._buffer = self._buffer[1:]
                if self._buffer:
                    self._line_start = False
                prompt = self._prompt()
                if prompt is None:
                    safe = self._safe_length()
                    if safe:
                        self._emit(events, self._buffer[:safe], final=False)
                        self._buffer = self._buffer[safe:]
                    return events
                at, end, event = prompt
                shown = self._buffer[:at]
                if shown.endswith(PROMPT_AHEAD):
                    shown = shown[:-len(PROMPT_AHEAD)]
                self._emit(events, shown, final=True)
                events.append(event)
                self._buffer = self._buffer[end:]
                self._state = "more" if isinstance(event, NeedsMore) else "idle"
                continue
            # setup, more: nothing to show; wait for the main prompt.  Idle: what comes is the
            # output of background jobs (``sleep 1 && echo done &``), shown as output
            prompt = self._prompt(main_only=True)
            if prompt is None:
                if self._state == "idle":
                    safe = self._safe_length()
                    self._emit(events, self._buffer[:safe], final=False)
                    self._buffer = self._buffer[safe:]
                else:
                    self._buffer = self._buffer[-(len(self._end) + 64):]
                return events
            if self._state == "idle":
                shown = self._buffer[:prompt[0]]
                self._emit(events, shown[:-len(PROMPT_AHEAD)] if shown.endswith(PROMPT_AHEAD) else shown, final=True)
            self._buffer = self._buffer[prompt[1]:]
            if self._state == "more":
                events.append(prompt[2])  # the shell is back after the incomplete input was dropped
            self._state = "idle"

    def _emit(self, events: list[Event], text: str, *, final: bool) -> None:
        """Output with the tty's line endings (``\\r\\n``) made newlines; a lone ``\\r`` (a progress
        bar) stays.  A ``\\r`` at the end of a chunk waits to see whether a ``\\n`` follows."""
        text, self._cr = self._cr + text, ""
        if not final and text.endswith("\r"):
            text, self._cr = text[:-1], "\r"
        text = text.replace("\r\n", "\n")
        if text:
            events.append(Output(text))

    def _prompt(self, main_only: bool = False) -> tuple[int, int, Event] | None:
        """(start, end, event) of the first complete prompt in the buffer."""
        buf = self._buffer
        more = -1 if main_only else buf.find(self._more)
        at = buf.find(self._end)
        if more >= 0 and (at < 0 or more < at):
            return more, more + len(self._more), NeedsMore()
        if at < 0:
            return None
        close = buf.find(_US, at)
        if close < 0:
            return None
        code_text, _, cwd = buf[at + len(self._end):close].partition(":")
        return at, close + 1, Done(int(code_text) if code_text.isdigit() else 1, cwd)

    def _safe_length(self) -> int:
        """How much of the buffer is surely output: not the start of a prompt (or of the
        bracketed-paste switch right before one)."""
        buf = self._buffer
        started = buf.find(self._end)
        if started >= 0:  # a prompt whose end has not come yet
            return max(0, started - len(PROMPT_AHEAD)) if buf[:started].endswith(PROMPT_AHEAD) else started
        longest = len(PROMPT_AHEAD) + len(self._end)
        for size in range(min(len(buf), longest), 0, -1):
            tail = buf[-size:]
            if any(c.startswith(tail) for c in self._starts):
                return len(buf) - size
        return len(buf)
