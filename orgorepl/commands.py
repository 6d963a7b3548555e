"""Meta-commands (``%help``, ``%bash``, ``%timeout 30`` ...): a registry of pure handlers.

A handler gets a read-only :class:`CommandContext` and returns a :class:`CommandResult`: text to
show and typed *effects* (:class:`SetMode`, :class:`SaveOutput`, :class:`Transfer` ...) that
describe what should happen.  One table in ``repl.effects`` carries them out, for the interactive
session and batch mode alike.  Keeping handlers free of I/O means every command is testable with
plain values.

New commands are added with the registry's decorator::

    @registry.command("name", usage="%name ARG", help="one line")
    def _name(ctx: CommandContext, args: str) -> CommandResult: ...
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from orgorepl import protocol
from orgorepl.command_effects import (  # the handlers' callers read the effects here too
    ClearScreen,
    Detach,
    EditTargets,
    Effect,
    Exit,
    LoadFile,
    OpenTerminal,
    PageOutput,
    ResetSession,
    RunFile,
    SaveOutput,
    SaveTranscript,
    SetLive,
    SetMode,
    SetPretty,
    SetStateful,
    SetTimeout,
    ShowState,
    StartComputer,
    SwitchTheme,
    Transfer,
)
from orgorepl.modes import Mode

# The range the API accepts for /exec, and a generous one for bash (the API documents none).
TIMEOUT_RANGES: Mapping[Mode, tuple[int, int]] = {
    Mode.PYTHON: (protocol.EXEC_TIMEOUT_MIN, protocol.EXEC_TIMEOUT_MAX),
    Mode.BASH: (1, 3600),
}

# Keys the session binds; %help lists them so the documentation lives next to the commands.
KEY_HELP: Sequence[tuple[str, str]] = (
    ("Enter", "run the input when it is complete, otherwise start a new line"),
    ("Alt-Enter / Esc Enter", "run the input as it is, complete or not"),
    ("F4", "switch between Python and bash mode"),
    ("!cmd", "in Python mode, run one line in bash"),
    ("x = !cmd", "in Python mode, bind the bash command's output lines to x (a list)"),
    ("Tab", "indent, or complete from the computer: names, attributes, keys, paths, commands"),
    ("obj? / obj??", "in Python mode, the signature and docstring of obj / its source, in the pager"),
    ("Up / Down", "recall earlier entries; with text typed, only those starting with it"),
    ("paste", "a pasted >>> / ... transcript arrives without its prompts and output (Python mode)"),
    ("Ctrl-R", "search the history"),
    ("Right / Ctrl-E", "accept the grey suggestion from history"),
    ("Ctrl-C", "clear the input; while a call runs, abandon it"),
    ("Ctrl-D", "exit (on an empty input)"),
)


@dataclass(frozen=True)
class ComputerInfo:
    """What %info may show about the computer.  Deliberately has no field for the API key."""

    id: str
    name: str
    status: str
    workspace_id: str | None = None
    workspace_name: str | None = None
    os: str | None = None
    cpu: int | None = None
    ram: int | None = None
    disk_size_gb: int | None = None

    @classmethod
    def from_computer(cls, computer: protocol.Computer) -> ComputerInfo:
        return cls(
            id=computer.id, name=computer.name, status=computer.status,
            workspace_id=computer.workspace_id, workspace_name=computer.workspace_name,
            os=computer.os, cpu=computer.cpu, ram=computer.ram, disk_size_gb=computer.disk_size_gb,
        )


@dataclass(frozen=True)
class CommandContext:
    mode: Mode
    timeouts: Mapping[Mode, int]
    target_label: str = ""
    computer: ComputerInfo | None = None
    base_url: str | None = None
    local: bool = False
    connection_note: str = ""  # "connecting…" or the connect error, when there is no computer yet
    history: Sequence[str] = ()  # the current mode's entries, oldest first
    session_id: str = ""
    stateful: bool = True
    toggle_label: str = "F4"  # the mode-switch key as configured (config toggle_key)
    live: bool = False  # bash mode runs in a live shell (--live, %live on)
    pprint: bool = True  # expression values are pretty-printed to the terminal's width


@dataclass(frozen=True)
class CommandResult:
    text: str = ""
    error: bool = False  # text is an error message (shown as such; batch mode exits non-zero)
    effects: tuple[Effect, ...] = ()

    def effect(self, kind: type) -> Effect | None:
        """The first effect of this kind, if any."""
        return next((e for e in self.effects if isinstance(e, kind)), None)


Handler = Callable[[CommandContext, str], CommandResult]


@dataclass(frozen=True)
class Command:
    name: str
    handler: Handler
    help: str
    usage: str
    aliases: tuple[str, ...] = ()
    wants_fresh_computer: bool = False  # the REPL refreshes computer details before running it
    destructive: bool = False  # never offered for a mistyped name (%run must not become %reset)


@dataclass
class CommandRegistry:
    _commands: dict[str, Command] = field(default_factory=dict)
    _aliases: dict[str, str] = field(default_factory=dict)

    def command(
        self, name: str, *, help: str, usage: str = "", aliases: Sequence[str] = (),
        wants_fresh_computer: bool = False, destructive: bool = False,
    ) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            if name in self._commands or name in self._aliases:
                raise ValueError(f"%{name} is registered twice")
            self._commands[name] = Command(
                name, fn, help, usage or f"%{name}", tuple(aliases), wants_fresh_computer, destructive
            )
            for alias in aliases:
                self._aliases[alias] = name
            return fn

        return register

    def names(self) -> list[str]:
        return sorted(self._commands)

    def commands(self) -> list[Command]:
        return [self._commands[n] for n in self.names()]

    def lookup(self, name: str) -> Command | None:
        name = self._aliases.get(name, name)
        return self._commands.get(name)

    def suggest(self, name: str) -> str | None:
        """The command a mistyped name probably meant; never one that destroys something, since
        a user who takes the hint by habit must not lose the session or leave it."""
        import difflib  # only an unknown command pays for it

        safe = {n for n, c in self._commands.items() if not c.destructive}
        candidates = sorted(safe) + [a for a, n in self._aliases.items() if n in safe]
        close = difflib.get_close_matches(name.lower(), candidates, n=1, cutoff=0.5)
        if close:
            return self._aliases.get(close[0], close[0])
        prefixed = [c for c in sorted(safe) if c.startswith(name.lower()[:1])]
        return prefixed[0] if len(prefixed) == 1 else None

    def run(self, line: str, ctx: CommandContext) -> CommandResult:
        """Run one meta-command line (without the leading ``%``)."""
        parts = line.strip().split(None, 1)
        name = parts[0] if parts else ""
        args = parts[1].strip() if len(parts) > 1 else ""
        command = self.lookup(name)
        if command is None:
            hint = self.suggest(name)
            text = f"unknown command %{name}"
            text += f"; did you mean %{hint}?" if hint else "; %help lists the commands"
            return CommandResult(text=text, error=True)
        return command.handler(ctx, args)


registry = CommandRegistry()


@registry.command("help", help="list commands and keys", aliases=("?",))
def _help(ctx: CommandContext, args: str) -> CommandResult:
    if args:
        command = registry.lookup(args.lstrip("%"))
        if command is None:
            return registry.run(args.lstrip("%"), ctx)
        return CommandResult(text=f"{command.usage}  {command.help}")
    width = max(len(c.usage) for c in registry.commands())
    lines = ["Commands:"]
    lines += [f"  {c.usage.ljust(width)}  {c.help}" for c in registry.commands()]
    key_width = max(len(k) for k, _ in KEY_HELP)
    lines.append("Keys:")
    lines += [f"  {(ctx.toggle_label if k == 'F4' else k).ljust(key_width)}  {v}" for k, v in KEY_HELP]
    return CommandResult(text="\n".join(lines))


def _switch(mode: Mode) -> Handler:
    def handler(ctx: CommandContext, args: str) -> CommandResult:
        if args:
            return CommandResult(text=f"%{mode.value} takes no arguments", error=True)
        if ctx.mode is mode:
            return CommandResult(text=f"already in {mode.value} mode")
        return CommandResult(text=f"{mode.value} mode ({ctx.toggle_label} switches back)", effects=(SetMode(mode),))

    return handler


registry.command("python", help="switch to Python mode (runs code with /exec)", aliases=("py",))(
    _switch(Mode.PYTHON)
)
registry.command("bash", help="switch to bash mode (runs commands with /bash)", aliases=("sh",))(
    _switch(Mode.BASH)
)


@registry.command("timeout", usage="%timeout [N]", help="show or set the current mode's timeout (seconds)")
def _timeout(ctx: CommandContext, args: str) -> CommandResult:
    if not args:
        shown = ", ".join(f"{m.value} {ctx.timeouts[m]}s" for m in Mode)
        return CommandResult(text=f"timeouts: {shown}")
    lo, hi = TIMEOUT_RANGES[ctx.mode]
    value = args.strip().rstrip("s")
    if not value.isdigit() or not lo <= int(value) <= hi:
        return CommandResult(
            text=f"%timeout wants a whole number of seconds from {lo} to {hi} in {ctx.mode.value} mode",
            error=True,
        )
    seconds = int(value)
    return CommandResult(text=f"{ctx.mode.value} timeout: {seconds}s", effects=(SetTimeout(ctx.mode, seconds),))


@registry.command("history", usage="%history [N]", help="show the last N entries of this mode (default 20)")
def _history(ctx: CommandContext, args: str) -> CommandResult:
    count = 20
    if args:
        if not args.isdigit() or int(args) < 1:
            return CommandResult(text="%history wants a positive number of entries", error=True)
        count = int(args)
    entries = list(ctx.history)
    if not entries:
        return CommandResult(text=f"no {ctx.mode.value} history yet")
    first = max(0, len(entries) - count)
    width = len(str(len(entries)))
    lines = []
    for number, entry in enumerate(entries[first:], start=first + 1):
        head, *rest = entry.split("\n")
        lines.append(f"{str(number).rjust(width)}  {head}")
        lines += [f"{' ' * width}  {line}" for line in rest]
    return CommandResult(text="\n".join(lines))


@registry.command("clear", help="clear the screen")
def _clear(ctx: CommandContext, args: str) -> CommandResult:
    return CommandResult(effects=(ClearScreen(),))


@registry.command("exit", help="leave orgorepl (Ctrl-D does the same)", aliases=("quit", "q"), destructive=True)
def _exit(ctx: CommandContext, args: str) -> CommandResult:
    return CommandResult(effects=(Exit(),))


@registry.command("info", help="details of the computer and the connection", wants_fresh_computer=True)
def _info(ctx: CommandContext, args: str) -> CommandResult:
    rows: list[tuple[str, str]] = []
    c = ctx.computer
    if c is None:
        rows.append(("computer", ctx.target_label or "(not chosen yet)"))
        rows.append(("connection", ctx.connection_note or "not connected"))
    else:
        rows += [("computer", c.name), ("id", c.id), ("status", c.status)]
        if c.workspace_name or c.workspace_id:
            ws = c.workspace_name or ""
            if c.workspace_id and c.workspace_id != ws:
                ws = f"{ws} ({c.workspace_id})" if ws else c.workspace_id
            rows.append(("workspace", ws))
        size = [f"{c.cpu} cpu" if c.cpu else "", f"{c.ram} GB ram" if c.ram else "",
                f"{c.disk_size_gb} GB disk" if c.disk_size_gb else ""]
        if any(size) or c.os:
            rows.append(("machine", ", ".join(p for p in [c.os or ""] + size if p)))
    if ctx.base_url:
        rows.append(("base URL", ctx.base_url + ("  (local emulator)" if ctx.local else "")))
    rows.append(("mode", ctx.mode.value))
    if ctx.session_id and ctx.live:
        leave = "%detach keeps it running" if not ctx.local else "it stops with this orgorepl (--local)"
        rows.append(("session", f"{ctx.session_id} (live: a persistent shell and interpreter; {leave}, "
                                f"orgorepl --live --resume {ctx.session_id} takes it over)"))
    elif ctx.session_id:
        how = "state carried" if ctx.stateful else "stateless: submissions sent raw, stderr may be dropped"
        rows.append(("session", f"{ctx.session_id} ({how}; resume with orgorepl --resume {ctx.session_id})"))
    rows.append(("timeouts", ", ".join(f"{m.value} {ctx.timeouts[m]}s" for m in Mode)))
    width = max(len(k) for k, _ in rows)
    return CommandResult(text="\n".join(f"{k.ljust(width)}  {v}" for k, v in rows))


def _no_arguments(name: str, effect: Effect) -> Handler:
    """A command without arguments whose work the session does (on the computer or the terminal)."""

    def handler(ctx: CommandContext, args: str) -> CommandResult:
        if args:
            return CommandResult(text=f"%{name} takes no arguments", error=True)
        return CommandResult(effects=(effect,))

    return handler


registry.command("start", help="start the computer if it is stopped, and wait until it runs")(
    _no_arguments("start", StartComputer()))
registry.command("more", help="page the last result's whole output ($PAGER, or less -R)")(
    _no_arguments("more", PageOutput()))


@registry.command("reset", usage="%reset [-f]", destructive=True,
                  help="forget the session: Python names, shell state, cwd and env changes (-f: without asking)")
def _reset(ctx: CommandContext, args: str) -> CommandResult:
    if args.strip() not in ("", "-f"):
        return CommandResult(text="usage: %reset [-f]", error=True)
    return CommandResult(effects=(ResetSession(force=bool(args.strip())),))


def _file_command(name: str, effect: Callable[[str], Effect]) -> Handler:
    def handler(ctx: CommandContext, args: str) -> CommandResult:
        path = args.strip()
        if len(path) > 1 and path[0] == path[-1] and path[0] in "'\"":
            path = path[1:-1]
        if not path:
            return CommandResult(text=f"%{name} wants a local file (FILE.py, or FILE.sh for bash)", error=True)
        return CommandResult(effects=(effect(path),))

    return handler


registry.command("run", usage="%run FILE", help="send a local file as one submission (FILE.sh runs in bash)")(
    _file_command("run", RunFile))
registry.command("load", usage="%load FILE", help="put a local file in the input to edit and run")(
    _file_command("load", LoadFile))


@registry.command("pprint", usage="%pprint [on|off]",
                  help="pretty-print expression values to the terminal's width (no argument: toggle)")
def _pretty_printing(ctx: CommandContext, args: str) -> CommandResult:
    word = args.strip().lower()
    if word not in ("", "on", "off"):
        return CommandResult(text="%pprint wants on, off or nothing (toggle)", error=True)
    on = not ctx.pprint if not word else word == "on"
    text = "pretty printing: on (values wrap at the terminal's width)" if on else "pretty printing: off (plain repr)"
    return CommandResult(text=text, effects=(SetPretty(on),))


@registry.command("term", help="the computer's terminal, full screen like ssh (~. returns here); --reconnect")
def _term(ctx: CommandContext, args: str) -> CommandResult:
    if args.strip() not in ("", "--reconnect"):
        return CommandResult(text="usage: %term [--reconnect]", error=True)
    return CommandResult(effects=(OpenTerminal(reconnect=bool(args.strip())),))


@registry.command("state", help="every name in the Python session: kept, rebuilt or lost")
def _state(ctx: CommandContext, args: str) -> CommandResult:
    if args:
        return CommandResult(text="%state takes no arguments", error=True)
    if not ctx.stateful:
        return CommandResult(text="stateless: nothing is carried between submissions (%stateless off)")
    return CommandResult(effects=(ShowState(),))


@registry.command("stateless", usage="%stateless [on|off]",
                  help="send submissions raw (on) or carry state between them (off)")
def _stateless(ctx: CommandContext, args: str) -> CommandResult:
    word = args.strip().lower()
    if not word:
        return CommandResult(text="stateless: " + ("off (state is carried)" if ctx.stateful else
                                                    "on (submissions are sent raw)"))
    if word not in ("on", "off"):
        return CommandResult(text="%stateless wants on or off", error=True)
    stateful = word == "off"
    text = ("state is carried between submissions again" if stateful else
            "stateless: submissions go to the API exactly as typed (no echo, nothing carried; "
            "stderr may be dropped by the service)")
    return CommandResult(text=text, effects=(SetStateful(stateful),))


@registry.command("live", usage="%live [on|off]",
                  help="run in a persistent shell and interpreter on the computer's terminal (streams; keys reach it)")
def _live(ctx: CommandContext, args: str) -> CommandResult:
    word = args.strip().lower()
    if not word:
        return CommandResult(text="live: " + ("on (a persistent shell and interpreter on the computer's terminal)"
                                              if ctx.live else "off (a fresh process per submission: /exec, /bash)"))
    if word not in ("on", "off"):
        return CommandResult(text="%live wants on or off", error=True)
    live = word == "on"
    text = ("live: bash and Python now run in a persistent shell and interpreter on the computer's terminal "
            "(their own state: names of the HTTP session are not in them)" if live else
            "live off: submissions are fresh processes again (the live shell and interpreter are ended)")
    return CommandResult(text=text, effects=(SetLive(live),))


@registry.command("detach", help="leave, with the live shell and interpreter running on the computer (--resume)")
def _detach(ctx: CommandContext, args: str) -> CommandResult:
    if args.strip():
        return CommandResult(text="%detach takes no arguments", error=True)
    if not ctx.live:
        return CommandResult(text="%detach: not in live mode, nothing runs on the computer (%exit leaves)",
                             error=True)
    if ctx.local:
        return CommandResult(text="%detach: with --local the computer runs inside this orgorepl and stops with it; "
                                  "`orgorepl serve` in another terminal keeps sessions across clients", error=True)
    return CommandResult(effects=(Detach(),))


def format_state(rows: Sequence, session_id: str) -> str:
    """The %state table from the remote manifest (rows of carry.NameState): each kept value's
    pickled size, since a submission loads and saves every value it can reach, and a note past
    50 MB."""
    if not rows:
        return f"session {session_id}: no names yet"
    width = max(len(r.name) for r in rows)
    type_width = max(len(r.type) for r in rows)
    total = sum(r.size or 0 for r in rows)
    lines = [f"session {session_id}: {len(rows)} name{'s' if len(rows) != 1 else ''}, "
             f"{_human_size(total)} of values"]
    for r in rows:
        size = _human_size(r.size) if r.size is not None else ""
        line = f"  {r.name.ljust(width)}  {r.type.ljust(type_width)}  {size.rjust(8)}  {r.status}"
        if r.reason:
            line += f" ({r.reason})"
        lines.append(line)
    if total >= STATE_SLOW_BYTES:
        lines.append(f"note: {_human_size(total)} of values; a submission loads and saves every value it can "
                     "reach (about 16 ms per MB): del what you no longer need, or use %live")
    return "\n".join(lines)


STATE_SLOW_BYTES = 50 * 1024 * 1024  # the size past which the wrapper notes it too (remote_state.py)


def _human_size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.1f} KB"
    return f"{n / (1024 * 1024):.1f} MB"


@registry.command("target", usage="%target [list | add NAME... | remove NAME...]",
                  help="the computers each submission runs on (several: fan-out)")
def _target(ctx: CommandContext, args: str) -> CommandResult:
    words = args.split()
    verb = words[0].lower() if words else "list"
    names = tuple(words[1:])
    if verb not in ("list", "add", "remove", "rm"):
        return CommandResult(text="%target wants list, add NAME... or remove NAME...", error=True)
    if verb == "list" and names:
        return CommandResult(text="%target list takes no names", error=True)
    if verb in ("add", "remove", "rm") and not names:
        return CommandResult(text=f"%target {verb} wants at least one computer id or name", error=True)
    return CommandResult(effects=(EditTargets("remove" if verb == "rm" else verb, names),))


@registry.command("theme", usage="%theme [NAME]", help="switch the colour theme now (no name: list them)")
def _theme(ctx: CommandContext, args: str) -> CommandResult:
    if len(args.split()) > 1:
        return CommandResult(text="%theme takes one theme name", error=True)
    return CommandResult(effects=(SwitchTheme(args.strip() or None),))


@registry.command("save-output", usage="%save-output FILE", help="write the last result's whole output to FILE")
def _save_output(ctx: CommandContext, args: str) -> CommandResult:
    if not args:
        return CommandResult(text="%save-output wants a file name", error=True)
    return CommandResult(effects=(SaveOutput(args),))


@registry.command("save", usage="%save FILE",
                  help="export the session: .md, .py / .sh (successful submissions), .json")
def _save(ctx: CommandContext, args: str) -> CommandResult:
    if not args:
        return CommandResult(text="%save wants a file name ending in .md, .py, .sh or .json", error=True)
    return CommandResult(effects=(SaveTranscript(args),))


def _transfer_command(verb: str) -> Handler:
    def handler(ctx: CommandContext, args: str) -> CommandResult:
        import shlex

        try:
            words = shlex.split(args)
        except ValueError as exc:
            return CommandResult(text=f"%{verb}: {exc}", error=True)
        if not 1 <= len(words) <= 2:
            what = "LOCAL [REMOTE]" if verb == "put" else "REMOTE [LOCAL]"
            return CommandResult(text=f"%{verb} wants {what}", error=True)
        return CommandResult(effects=(Transfer(verb, words[0], words[1] if len(words) > 1 else None),))

    return handler


registry.command("put", usage="%put LOCAL [REMOTE]",
                 help="copy a file to the computer (chunked, checksummed, resumable)")(_transfer_command("put"))
registry.command("get", usage="%get REMOTE [LOCAL]",
                 help="copy a file from the computer (chunked, checksummed, resumable)")(_transfer_command("get"))
