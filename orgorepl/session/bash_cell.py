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

import re
import secrets
from dataclasses import dataclass

from orgorepl.protocol import BashResult

SESSION_ROOT = ".orgorepl/sessions"

# Variables bash sets by itself: never the user's, never saved.  Exact names, so that a user's
# `EPOCHS=10`, `BASHRC_DIR=…` or `COMP_LEVEL=3` is carried like any other variable.
_BASH_OWN = (
    "__orgo_*|BASH|BASHOPTS|BASHPID|BASH_ALIASES|BASH_ARGC|BASH_ARGV|BASH_ARGV0|BASH_CMDS|"
    "BASH_COMMAND|BASH_EXECUTION_STRING|BASH_LINENO|BASH_SOURCE|BASH_SUBSHELL|BASH_VERSINFO|"
    "BASH_VERSION|COMP_WORDBREAKS|DIRSTACK|EPOCHREALTIME|EPOCHSECONDS|EUID|FUNCNAME|GROUPS|HISTCMD|"
    "HOSTNAME|HOSTTYPE|IFS|LINENO|MACHTYPE|OPTERR|OPTIND|OSTYPE|PIPESTATUS|PPID|PS4|PWD|OLDPWD|"
    "RANDOM|SECONDS|SHELL|SHELLOPTS|SHLVL|SRANDOM|TERM|UID|_"
)

# One statement per line, each ending so that the lines can be joined with spaces: the whole
# wrapper and the user's `eval` then sit on line 1, so bash's "line N:" messages count the
# user's own lines, as when the command runs alone.  The wrapper's own commands go through
# `\builtin` / `\command` (a user's alias or function of the same name never runs), and the saving
# code lives in the EXIT trap's string (no single quotes inside it), so no wrapper function or
# variable exists while the user's command runs.  Shell options, shopts, umask, traps, IFS,
# OLDPWD, the directory stack, the positional parameters, `$_` and `$?` go to `bash.opts`, read
# last: `set -e` and `set -x` are switched on only inside the `eval`, after the wrapper's own
# commands, and `$_`/`$?` are set there (quietly) to what the previous submission left.
_TRAP = (
    r"""'{{ __orgo_st2=$? __orgo_u2=$_ __orgo_fl=$-; \builtin set +xe; }} 2>/dev/null; '"""
    r""""__orgo_gen=${{__orgo_gen//[!0-9]/}}; __orgo_gone=${{__orgo_gone@Q}}; __orgo_last0=${{__orgo_last@Q}};"""
    r""" __orgo_sd=${{__orgo_sd@Q}};"'"""
    r""" \builtin trap - EXIT; __orgo_rc=${{__orgo_st-$__orgo_st2}}; __orgo_u=${{__orgo_keep-$__orgo_last0}};"""
    r""" __orgo_tmp="$__orgo_sd/.tmp.$$";"""
    r""" \builtin umask -p >| "$__orgo_sd/.umask"; IFS= \builtin read -r __orgo_um < "$__orgo_sd/.umask";"""
    r""" \builtin umask 077;"""
    r""" {{ \builtin set +o; \builtin shopt -p; \builtin printf "%s\n" "$__orgo_um"; \builtin trap -p;"""
    r""" if [[ -v IFS ]]; then \builtin declare -p IFS; else \builtin printf "%s\n" "\\builtin unset -v IFS"; fi;"""
    r""" \builtin set +uCf; \builtin unset -v IFS; \builtin trap - ERR DEBUG RETURN;"""
    r""" if [[ -v OLDPWD ]]; then \builtin declare -p OLDPWD; fi;"""
    r""" for ((__orgo_i=${{#DIRSTACK[@]}}-1; __orgo_i>0; __orgo_i--)); do"""
    r""" \builtin printf "%s -- %q\n" "\\builtin pushd -n" "${{DIRSTACK[__orgo_i]}}"; done;"""
    r""" if (( $# )); then \builtin printf "%s %s\n" "\\builtin set --" "${{*@Q}}"; fi;"""
    # Files the user opened on descriptors 3-9 (`exec 3> out.log`) are opened again, for appending.
    r""" for __orgo_i in 3 4 5 6 7 8 9; do [[ -e /proc/$$/fd/$__orgo_i ]] || continue; __orgo_fl2=;"""
    r""" while \builtin read -r __orgo_k __orgo_x; do [[ $__orgo_k == flags: ]] && __orgo_fl2=$__orgo_x;"""
    r""" done < "/proc/$$/fdinfo/$__orgo_i"; __orgo_x=$(\command readlink "/proc/$$/fd/$__orgo_i");"""
    r""" [[ $__orgo_x == /* && $__orgo_x != *" (deleted)" ]] || continue;"""
    r""" case $(( 8#${{__orgo_fl2:-0}} & 3 )) in 0) __orgo_k="<";; 1) __orgo_k=">>";; *) __orgo_k="<>";; esac;"""
    r""" \builtin printf -v __orgo_x "%q" "$__orgo_x";"""
    r""" \builtin printf "__orgo_fds+=%q\n" " $__orgo_i$__orgo_k$__orgo_x"; done;"""
    r""" \builtin printf "__orgo_last=%s\n__orgo_status=%s\n__orgo_late=%s\n" """
    r"""  "${{__orgo_u@Q}}" "$__orgo_rc" "${{__orgo_fl//[!ex]/}}";"""
    r""" }} >| "$__orgo_tmp.opts" 2>/dev/null;"""
    r""" __orgo_now=0; if [[ -f $__orgo_sd/gen ]]; then IFS= \builtin read -r __orgo_now < "$__orgo_sd/gen"; fi;"""
    r""" if [[ -n $__orgo_gone && $PWD == "$HOME" ]]; then __orgo_cwd=$__orgo_gone;"""
    r""" else __orgo_cwd=$PWD; __orgo_gone=; fi;"""
    r""" if [[ ${{__orgo_now:-0}} == "${{__orgo_gen:-0}}" ]]; then"""
    r""" {{ \builtin compgen -v >| "$__orgo_sd/.names"; while IFS= \builtin read -r __orgo_v; do"""
    r""" case "$__orgo_v" in {own}) continue;; esac;"""
    r""" __orgo_at=${{!__orgo_v@a}}; case "$__orgo_at" in *r*) ;; *x*) continue;; esac;"""
    # A long plain string is kept in a file of its own and read back with mapfile: sourcing a 1 MB
    # `declare` costs some 100 ms of parsing, mapfile 3 ms.
    r""" if [[ -z $__orgo_at ]]; then \builtin unset -n __orgo_r; \builtin declare -n __orgo_r=$__orgo_v;"""
    r""" if (( ${{#__orgo_r}} > 65536 )); then"""
    r""" \builtin printf "%s" "$__orgo_r" >| "$__orgo_tmp.v" &&"""
    r""" \command mv -f "$__orgo_tmp.v" "$__orgo_sd/v.$__orgo_v";"""
    r""" \builtin printf "%s\n" "\\builtin mapfile -d \"\" -t __orgo_a < \"\$__orgo_sd/v.$__orgo_v\";"""
    r""" $__orgo_v=\${{__orgo_a[0]-}}; \\builtin unset -v __orgo_a"; continue; fi; fi;"""
    r""" \builtin declare -p "$__orgo_v" 2>/dev/null; done < "$__orgo_sd/.names";"""
    # An associative array declared and not yet given a value (`declare -A port`) is not listed
    # by compgen; without it `port[http]=80` would make an indexed array.
    r""" \builtin declare -A >| "$__orgo_sd/.assoc" 2>/dev/null;"""
    r""" while IFS= \builtin read -r __orgo_v; do case "$__orgo_v" in"""
    r""" "declare -A "*[!A-Za-z0-9_]*|"declare -A __orgo_"*) ;; "declare -A "?*) \builtin printf "%s\n" "$__orgo_v";;"""
    r""" esac; done < "$__orgo_sd/.assoc";"""
    r""" \builtin alias -p;"""
    r""" \builtin compgen -A function >| "$__orgo_sd/.names";"""
    r""" while IFS= \builtin read -r __orgo_f; do \builtin declare -f "$__orgo_f"; done < "$__orgo_sd/.names";"""
    r""" \builtin declare -F;"""
    r""" }} >| "$__orgo_tmp.state" 2>/dev/null && \command mv -f "$__orgo_tmp.state" "$__orgo_sd/bash.state";"""
    r""" \command mv -f "$__orgo_tmp.opts" "$__orgo_sd/bash.opts";"""
    r""" \command env -0 >| "$__orgo_tmp.env" 2>/dev/null && \command mv -f "$__orgo_tmp.env" "$__orgo_sd/env0";"""
    r""" \builtin printf "%s\n" "$__orgo_cwd" >| "$__orgo_tmp.cwd" 2>/dev/null &&"""
    r""" \command mv -f "$__orgo_tmp.cwd" "$__orgo_sd/cwd";"""
    r""" \builtin printf "%s\n" "$(( ${{__orgo_gen:-0}} + 1 ))" >| "$__orgo_tmp.gen" 2>/dev/null &&"""
    r""" \command mv -f "$__orgo_tmp.gen" "$__orgo_sd/gen";"""
    r""" else \command rm -f "$__orgo_tmp.opts"; fi;"""
    r""" \builtin printf "\n{nonce}%s\037%s\037%s\n" "$__orgo_cwd" "$HOME" "$__orgo_gone";"""
    r""" \builtin exit "$__orgo_rc"'"""
)

_TEMPLATE = r"""__orgo_sd="$HOME/{root}/{sid}";
[[ -d $__orgo_sd ]] || \command mkdir -p -m 700 "$__orgo_sd" 2>/dev/null;
__orgo_gone=;
if [[ -f $__orgo_sd/cwd ]]; then IFS= \builtin read -r __orgo_cwd < "$__orgo_sd/cwd";
  \builtin cd -- "$__orgo_cwd" 2>/dev/null || {{ __orgo_gone=$__orgo_cwd; \builtin cd -- "$HOME" 2>/dev/null; }}; fi;
if [[ -f $__orgo_sd/env0 ]]; then
  declare -A __orgo_in=();
  while IFS= \builtin read -r -d '' __orgo_kv; do
    case "${{__orgo_kv%%=*}}" in PWD|OLDPWD|SHLVL|_|''|[0-9]*|*[!A-Za-z0-9_]*) continue;; esac;
    __orgo_in[${{__orgo_kv%%=*}}]=1;
    \builtin export "$__orgo_kv" 2>/dev/null;
  done < "$__orgo_sd/env0";
  \builtin compgen -e >| "$__orgo_sd/.exported" 2>/dev/null;
  while IFS= \builtin read -r __orgo_kv; do
    [[ -n ${{__orgo_in[$__orgo_kv]-}} ]] ||
    case "$__orgo_kv" in PWD|OLDPWD|SHLVL|_) ;; *) \builtin unset -v "$__orgo_kv" 2>/dev/null;; esac;
  done < "$__orgo_sd/.exported";
fi;
\builtin shopt -s expand_aliases;
if [[ -f $__orgo_sd/bash.state ]]; then \builtin . "$__orgo_sd/bash.state" >/dev/null 2>&1; fi;
__orgo_gen=0; if [[ -f $__orgo_sd/gen ]]; then IFS= \builtin read -r __orgo_gen < "$__orgo_sd/gen"; fi;
if [[ -f $__orgo_sd/bash.opts ]]; then \builtin . "$__orgo_sd/bash.opts" >/dev/null 2>&1; fi;
if [[ -n ${{__orgo_fds-}} ]]; then eval "exec $__orgo_fds" 2>/dev/null; fi;
__orgo_pre="\\builtin unset -v __orgo_pre __orgo_last;";
case "${{__orgo_late-}}" in *e*) __orgo_pre+=" \\builtin set -e;";; esac;
case "${{__orgo_late-}}" in *x*) __orgo_pre+=" \\builtin set -x;";; esac;
if [[ ${{__orgo_late-}} != *e* && ${{__orgo_status:-0}} != 0 ]]; then
  __orgo_pre+=" {{ (\\builtin exit ${{__orgo_status//[!0-9]/}}); }} 2>/dev/null;"; fi;
__orgo_pre+=" #"; __orgo_last=${{__orgo_last-}};
\builtin trap -- {trap} EXIT;
\builtin unset -v __orgo_sd __orgo_cwd __orgo_kv __orgo_in __orgo_gen __orgo_gone __orgo_status __orgo_late __orgo_fds;
"""

# The wrapper's last command sets `$?` and `$_` to what the previous submission left: `eval`
# returns the status of its last command and leaves `$_` set to its last argument, which the `#`
# turns into a comment.  `&&` keeps a failing status from firing the user's ERR trap (or `set -e`):
# the status is only being restored; on success `:` sets `$_` to what it already was.
# The user's text follows on lines of its own, run by the shell itself (not
# by `eval`: `set -x` shows one `+`, a syntax error stops where an interactive shell's would), then
# one line records what `$_` and `$?` were when it ended.  The user's lines are lines 2.. of the
# program: bash's messages about them ("bash: line N: …", "bash: -c: line N: syntax error …") are
# given back as an interactive shell words them (no line number), see `_as_interactive`.
_RUN = ' eval "$__orgo_pre" "${__orgo_last//$\'\\n\'/ }" && { \\builtin : "$_"; } 2>/dev/null\n'
_KEEP = "\n{{ __orgo_keep=$_ __orgo_st=$?;{exit} }} 2>/dev/null"

# When the text mentions `trap`, the wrapper's EXIT trap is set aside while the user's lines run,
# so that `trap`, `trap -p` and `trap -p EXIT` show only the user's traps, and put back after them
# (a user's `trap … EXIT` would otherwise run at the end of every command, where an interactive
# shell runs it when the shell ends; it is not kept).  If those lines end the shell (`exit`,
# `set -e`), the session is not saved: it stays as it was, and a note says so.
_EXIT_ASIDE = (' \\builtin trap -p EXIT >| "$HOME/{root}/{sid}/.exit" 2>/dev/null;'
               ' \\builtin trap - EXIT;')
_EXIT_BACK = ' \\builtin . "$HOME/{root}/{sid}/.exit";'


@dataclass(frozen=True)
class WrappedBash:
    program: str
    nonce: str
    lines: int = 1  # how many lines the user's text has (lines 2.. of the program)


_UNBOUND = re.compile(r"^bash: line (\d+): [^\n]*: unbound variable\n\Z", re.MULTILINE)
_MESSAGE = re.compile(r"^bash: (-c: )?line (\d+): ", re.MULTILINE)


def _as_interactive(output: str, lines: int) -> str:
    """bash's own messages about the user's lines, worded as an interactive shell words them.

    Only lines 2..lines+1 are the user's: a nested `bash -c` the user ran reports "line 1" and is
    left alone.  A syntax error's second line (the offending line, quoted) is not printed by an
    interactive shell and is dropped."""
    if "bash: " not in output:
        return output

    def ours(m: re.Match[str]) -> bool:
        return 2 <= int(m.group(2)) <= lines + 1

    out: list[str] = []
    drop_quote = False
    for line in re.findall(r"[^\n]*\n|[^\n]+", output):
        m = _MESSAGE.match(line)
        if m and ours(m):
            rest = line[m.end():]
            if m.group(1) and drop_quote and rest.startswith("`"):
                drop_quote = False
                continue
            drop_quote = bool(m.group(1)) and rest.startswith("syntax error")
            line = "bash: " + rest
        else:
            drop_quote = False
        out.append(line)
    return "".join(out)


@dataclass(frozen=True)
class BashOutcome:
    output: str
    exit_code: int | None
    timeout: bool
    cwd: str | None  # None when the trailer did not arrive (timeout, killed, wrapper bypassed)
    home: str | None = None
    gone: str | None = None  # the session's directory, deleted: the command ran in HOME
    success: bool = True  # the API's own flag: the command ran


def wrap_bash(command: str, session_id: str) -> WrappedBash:
    nonce = f"\x1e__orgorepl_{secrets.token_hex(8)}__:"
    trap = _TRAP.format(own=_BASH_OWN, nonce=nonce.replace("%", "%%"))
    one_line = " ".join(line.strip() for line in _TEMPLATE.splitlines())
    prologue = one_line.format(root=SESSION_ROOT, sid=session_id, trap=trap)
    guard = "trap" in command
    if guard:
        prologue += _EXIT_ASIDE.format(root=SESSION_ROOT, sid=session_id)
    back = _EXIT_BACK.format(root=SESSION_ROOT, sid=session_id) if guard else ""
    program = prologue + _RUN + command + _KEEP.format(exit=back)
    return WrappedBash(program=program, nonce=nonce, lines=command.count("\n") + 1)


def unwrap_bash(cell: WrappedBash, result: BashResult) -> BashOutcome:
    """Strip exactly the trailer (and the one newline the wrapper put before it)."""
    output, cwd, home, gone = result.output, None, None, ""
    marker = "\n" + cell.nonce
    at = output.rfind(marker)
    if at != -1:
        tail = output[at + len(marker):]
        cwd, _, rest = (tail[:-1] if tail.endswith("\n") else tail).partition("\037")
        home, _, gone = rest.partition("\037")
        output = output[:at]
    exit_code = result.exit_code
    last = _UNBOUND.search(output)
    if exit_code == 127 and last and 2 <= int(last.group(1)) <= cell.lines + 1:
        exit_code = 1  # `set -u`: a non-interactive shell exits 127, an interactive one says 1
    output = _as_interactive(output, cell.lines)
    return BashOutcome(output=output, exit_code=exit_code, timeout=result.timeout, cwd=cwd,
                       home=home or None, success=result.success, gone=gone or None)
