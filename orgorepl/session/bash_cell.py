"""Carrying a shell's state across stateless /bash calls.

Each submission is sent inside a small wrapper that, in the same call:

1. restores the session: the working directory (file ``cwd``, shared with Python mode), exported
   variables (file ``env0``, NUL-separated ``NAME=value``, shared with Python mode), and the
   shell-only state (file ``bash.state``: unexported variables, aliases, functions);
2. runs the user's text with ``eval`` (aliases need ``expand_aliases`` in a non-interactive shell);
3. saves the state again from an ``EXIT`` trap, which also runs after ``exit N`` and re-exits with
   the user's status, then prints one trailer line carrying the new cwd.

State goes to files, never stdout, so the only thing to strip from the output is the trailer,
which starts with a random nonce the user's output cannot predict.  A run killed by its timeout
never reaches the trap: the state from before the submission is kept, which is what we want.
Wrapper names start with ``__orgo_``, are unset before the user's command and never saved (the
trap in the design notes, a saved wrapper function re-run on restore, cannot happen).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from orgorepl.protocol import BashResult

SESSION_ROOT = ".orgorepl/sessions"

# Variables bash sets by itself: never the user's, never saved.
_BASH_OWN = (
    "__orgo_*|BASH*|COMP_*|DIRSTACK|EPOCH*|EUID|FUNCNAME|GROUPS|HISTCMD|HOSTNAME|HOSTTYPE|IFS|"
    "LINENO|MACHTYPE|OPTERR|OPTIND|OSTYPE|PIPESTATUS|PPID|PS4|PWD|OLDPWD|RANDOM|SECONDS|SHELL|"
    "SHELLOPTS|SHLVL|SRANDOM|TERM|UID|_"
)

# One statement per line, each ending so that the lines can be joined with spaces: the whole
# wrapper and the user's `eval` then sit on line 1, so bash's "line N:" messages count the
# user's own lines, as when the command runs alone.  The saving code lives in the EXIT trap's
# string (no single quotes inside it), so no wrapper function or variable exists while the
# user's command runs: `declare -F` and `compgen -v` show only the user's own.
_TEMPLATE = r"""__orgo_sd="$HOME/{root}/{sid}";
mkdir -p -m 700 "$__orgo_sd" 2>/dev/null;
if [ -f "$__orgo_sd/cwd" ]; then IFS= read -r __orgo_cwd < "$__orgo_sd/cwd"; cd -- "$__orgo_cwd" 2>/dev/null; fi;
if [ -f "$__orgo_sd/env0" ]; then
  while IFS= read -r -d '' __orgo_kv; do
    case "${{__orgo_kv%%=*}}" in PWD|OLDPWD|SHLVL|_|''|[0-9]*|*[!A-Za-z0-9_]*) continue;; esac;
    export "$__orgo_kv" 2>/dev/null;
  done < "$__orgo_sd/env0";
fi;
if [ -f "$__orgo_sd/bash.state" ]; then . "$__orgo_sd/bash.state" >/dev/null 2>&1; fi;
shopt -s expand_aliases;
__orgo_gen=0; if [ -f "$__orgo_sd/gen" ]; then IFS= read -r __orgo_gen < "$__orgo_sd/gen"; fi;
unset __orgo_sd __orgo_cwd __orgo_kv;
trap '__orgo_rc=$?; '"__orgo_gen=${{__orgo_gen//[!0-9]/}};"' trap - EXIT;
  __orgo_sd="$HOME/{root}/{sid}"; __orgo_tmp="$__orgo_sd/.tmp.$$"; umask 077;
  __orgo_now=0; if [ -f "$__orgo_sd/gen" ]; then IFS= read -r __orgo_now < "$__orgo_sd/gen"; fi;
  if [ "${{__orgo_now:-0}}" = "${{__orgo_gen:-0}}" ]; then
  {{
    for __orgo_v in $(compgen -v); do
      case "$__orgo_v" in {own}) continue;; esac;
      case "${{!__orgo_v@a}}" in *x*|*r*) continue;; esac;
      declare -p "$__orgo_v" 2>/dev/null;
    done;
    alias -p;
    for __orgo_f in $(compgen -A function); do declare -f "$__orgo_f"; done;
  }} > "$__orgo_tmp.state" 2>/dev/null && mv -f "$__orgo_tmp.state" "$__orgo_sd/bash.state";
  env -0 > "$__orgo_tmp.env" 2>/dev/null && mv -f "$__orgo_tmp.env" "$__orgo_sd/env0";
  printf "%s\n" "$PWD" > "$__orgo_tmp.cwd" 2>/dev/null && mv -f "$__orgo_tmp.cwd" "$__orgo_sd/cwd";
  printf "%s\n" "$(( ${{__orgo_gen:-0}} + 1 ))" > "$__orgo_tmp.gen" 2>/dev/null &&
  mv -f "$__orgo_tmp.gen" "$__orgo_sd/gen";
  fi;
  printf "\n{nonce}%s\037%s\n" "$PWD" "$HOME";
  exit "$__orgo_rc"' EXIT;
unset __orgo_gen;
"""


def _single_quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


@dataclass(frozen=True)
class WrappedBash:
    program: str
    nonce: str


@dataclass(frozen=True)
class BashOutcome:
    output: str
    exit_code: int | None
    timeout: bool
    cwd: str | None  # None when the trailer did not arrive (timeout, killed, wrapper bypassed)
    home: str | None = None
    success: bool = True  # the API's own flag: the command ran


def wrap_bash(command: str, session_id: str) -> WrappedBash:
    nonce = f"\x1e__orgorepl_{secrets.token_hex(8)}__:"
    one_line = " ".join(line.strip() for line in _TEMPLATE.splitlines())
    prologue = one_line.format(root=SESSION_ROOT, sid=session_id, own=_BASH_OWN,
                               nonce=nonce.replace("%", "%%"))
    program = prologue + " eval " + _single_quote(command)
    return WrappedBash(program=program, nonce=nonce)


def unwrap_bash(cell: WrappedBash, result: BashResult) -> BashOutcome:
    """Strip exactly the trailer (and the one newline the wrapper put before it)."""
    output, cwd, home = result.output, None, None
    marker = "\n" + cell.nonce
    at = output.rfind(marker)
    if at != -1:
        tail = output[at + len(marker):]
        cwd, _, home = (tail[:-1] if tail.endswith("\n") else tail).partition("\037")
        output = output[:at]
    return BashOutcome(output=output, exit_code=result.exit_code, timeout=result.timeout, cwd=cwd,
                       home=home or None, success=result.success)
