"""What a session is opened with: the settings a front end passes, defaults from ``config``."""

from __future__ import annotations

from dataclasses import dataclass, field

from orgorepl.config import DEFAULTS
from orgorepl.fanout import DEFAULT_PARALLEL
from orgorepl.modes import Mode
from orgorepl.render.bounded import OutputLimits

DEFAULT_TIMEOUTS = {Mode.PYTHON: int(DEFAULTS["python_timeout"]), Mode.BASH: int(DEFAULTS["bash_timeout"])}


@dataclass
class ReplOptions:
    mode: Mode = Mode.PYTHON
    timeouts: dict[Mode, int] = field(default_factory=lambda: dict(DEFAULT_TIMEOUTS))
    vi: bool = DEFAULTS["editing_mode"] == "vi"
    target_label: str = ""  # shown before the connection is up: a computer ref or "local emulator"
    color: bool = True
    history: bool = True  # persistent history in paths.history_file(mode)
    secret: str | None = None  # the API key: redacted from every history entry
    stateful: bool = DEFAULTS["stateful"]  # carry names, cwd and env between submissions
    session_id: str | None = None  # --resume: reattach to this remote session
    toggle_key: str = DEFAULTS["toggle_key"]  # the key that switches modes
    history_size: int = DEFAULTS["history_size"]  # entries kept per mode on disk (0: none)
    theme: str = DEFAULTS["theme"]
    parallel: int = DEFAULT_PARALLEL  # fan-out: at most this many computers at a time
    output_max_bytes: int = DEFAULTS["output_max_bytes"]  # one result's shown part; %more has the rest
    output_max_lines: int = DEFAULTS["output_max_lines"]
    raw_escapes: bool = False  # pass the remote's control sequences through untouched
    log_path: str | None = None  # --log FILE: every submission appended as it happens
    live: bool = False  # --live: bash runs in one persistent shell on the computer's terminal
    live_hard_limit: bool = False  # live_time_limit = "interrupt": the mode's timeout stops a live submission
    pager: str = DEFAULTS["pager"]  # render.pager.should_page's policy: auto, always, never
    complete_while_typing: str = DEFAULTS["complete_while_typing"]  # auto (live only) | on | off

    def all_timeouts(self) -> dict[Mode, int]:
        timeouts = dict(DEFAULT_TIMEOUTS)
        timeouts.update(self.timeouts or {})
        return timeouts

    def limits(self) -> OutputLimits:
        return OutputLimits.shown(self.output_max_bytes, self.output_max_lines)
