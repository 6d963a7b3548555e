"""Bash over HTTP behaves like one shell: the cases of issue 14 (Bash section), exact inputs, on the
emulator.  Each test uses its own session, as two REPLs on one computer would.
"""

from __future__ import annotations

import pytest

from orgorepl.session import bash_cell
from orgorepl.session.carry import RemoteSession


class Shell:
    def __init__(self, client, computer_id):
        self.client, self.cid, self.s = client, computer_id, RemoteSession()
        self.dir = None

    def run(self, command, timeout=10):
        req = self.s.bash(command)
        result = self.client.bash(self.cid, req.command, timeout)
        return self.s.bash_outcome(req, result)

    def out(self, command) -> str:
        return self.run(command).output


@pytest.fixture
def sh(client, computer_id, tmp_path):
    shell = Shell(client, computer_id)
    shell.dir = tmp_path / "w"
    assert shell.out(f"mkdir -p {shell.dir} && cd {shell.dir}") == ""
    return shell


# -- the wrapper does not show through ------------------------------------------------------------

def test_set_x_traces_only_the_users_commands(sh):
    assert sh.out("set -x") == ""
    assert sh.out("echo traced") == "+ echo traced\ntraced\n"
    assert sh.out("set +x") == "+ set +x\n"
    assert sh.out("echo quiet") == "quiet\n"


def test_an_alias_on_a_command_the_wrapper_uses_changes_nothing_after(sh):
    assert sh.out("alias mv='mv -v'") == ""
    assert sh.out("echo hi") == "hi\n"
    for name in ("cd", "printf", "env", "mkdir", "read", "trap", "builtin_x"):
        sh.out(f"alias {name}='echo ALIASED'")
    sh.out("cd() { echo FUNCTION; }; printf() { echo FUNCTION; }; env() { echo FUNCTION; }")
    assert sh.out("echo still") == "still\n"
    assert sh.out("echo again") == "again\n"


def test_dollar_underscore_is_the_users_last_argument(sh):
    assert sh.out("mkdir -p d; cd $_; basename $PWD") == "d\n"
    assert sh.out("mkdir -p out") == ""
    assert sh.out('cd "$_" && basename "$PWD"') == "out\n"
    sh.out("echo one two three >/dev/null")
    assert sh.out("echo $_") == "three\n"


def test_trap_p_shows_the_users_traps_as_theirs(sh):
    assert sh.out("trap 'echo caught USR1' USR1") == ""
    assert sh.out("trap -p USR1") == "trap -- 'echo caught USR1' SIGUSR1\n"
    assert sh.out("kill -USR1 $$") == "caught USR1\n"
    assert sh.out("trap") == "trap -- 'echo caught USR1' SIGUSR1\n"
    assert sh.out("trap -p EXIT") == ""
    assert sh.out("trap - USR1; trap -p") == ""
    assert sh.out("echo still saved") == "still saved\n"


# -- carried -------------------------------------------------------------------------------------

def test_cd_dash_and_the_directory_stack(sh):
    tmp_path = sh.dir
    sh.out("mkdir -p a b x/y")
    sh.out("cd a")
    sh.out("cd ../b")
    assert sh.out("cd -") == f"{tmp_path}/a\n"
    assert sh.out('echo "${OLDPWD##*/}"') == "b\n"
    sh.out("cd ../x")
    assert sh.out("pushd y") == f"{tmp_path}/x/y {tmp_path}/x\n"
    assert sh.out("dirs -v | wc -l") == "2\n"
    assert sh.out('popd >/dev/null; basename "$PWD"') == "x\n"


def test_set_e_is_carried_and_does_not_stop_the_save(sh):
    assert sh.out("set -e") == ""
    assert sh.out("y=5") == ""
    assert sh.out('echo "$y"; [[ $- == *e* ]] && echo errexit on') == "5\nerrexit on\n"
    out = sh.run("z=1; false; z=2")
    assert out.exit_code == 1
    assert sh.out('echo "$z"') == "1\n"


def test_set_o_and_shopt_options_are_carried(sh):
    sh.out("set -o pipefail; set -o noclobber; shopt -s globstar dotglob extglob nullglob")
    assert sh.out("false | true; echo $?") == "1\n"
    sh.out("echo one > f.txt")
    out = sh.run("echo two > f.txt")
    assert out.exit_code == 1 and out.output == "bash: f.txt: cannot overwrite existing file\n"
    sh.out("mkdir -p a/b && touch a/b/2.md .top.md")
    assert sh.out("printf '%s\\n' **/*.md") == ".top.md\na/b/2.md\n"
    assert sh.out("ls -1 !(*.txt|a)") == ".top.md\n"
    assert sh.out('for f in *.none; do echo "got $f"; done; echo end') == "end\n"


def test_the_previous_exit_status(sh):
    assert sh.run("false").exit_code == 1
    assert sh.out("echo $?") == "1\n"
    sh.out("nosuchcommand")
    assert sh.out("echo $?") == "127\n"


def test_umask_and_readonly(sh):
    sh.out("umask 027")
    assert sh.out("umask") == "0027\n"
    assert sh.out("readonly VERSION=1.2") == ""
    out = sh.run("VERSION=2.0")
    assert out.exit_code == 1 and out.output == "bash: VERSION: readonly variable\n"
    assert sh.out("declare -p VERSION") == 'declare -r VERSION="1.2"\n'


def test_names_like_bashs_own_are_the_users(sh):
    sh.out("EPOCHS=10; BASHRC_DIR=/etc; COMP_LEVEL=3")
    assert sh.out("echo $EPOCHS $BASHRC_DIR $COMP_LEVEL") == "10 /etc 3\n"


def test_unset_of_a_variable_the_computer_sets_stays_unset(sh):
    name = sh.out("compgen -e | grep -v -x -e PWD -e OLDPWD -e SHLVL -e _ -e HOME -e PATH | head -n 1").strip()
    assert name
    sh.out(f"unset {name}")
    assert sh.out(f'echo "[${{{name}-unset}}]"') == "[unset]\n"


def test_export_f(sh):
    sh.out("hello() { echo hello from an exported function; }; export -f hello")
    assert sh.out("bash -c hello") == "hello from an exported function\n"


# -- state kept ----------------------------------------------------------------------------------

def test_a_users_exit_trap_does_not_lose_the_session(sh):
    assert sh.out("keep=yes; trap 'echo bye' EXIT") == ""
    assert sh.out('echo "$keep"') == "yes\n"
    assert sh.out("trap - EXIT; kept=too") == ""
    assert sh.out('echo "$kept"') == "too\n"
    # a command that sets a trap and then ends the shell is not saved, and says so
    out = sh.run("trap 'echo u' USR2; lost=1; exit 3")
    assert out.exit_code == 3
    assert any("did not arrive" in note for note in out.notes)
    assert sh.out('echo "[${lost-}]"; echo "$keep"') == "[]\nyes\n"


def test_a_non_whitespace_ifs_is_carried_and_breaks_nothing(sh):
    sh.out("IFS=,; v=1")
    assert sh.out('x="a,b"; for i in $x; do echo "<$i>"; done') == "<a>\n<b>\n"
    assert sh.out('echo "$v"; unset IFS; x="a b"; for i in $x; do echo "<$i>"; done') == "1\n<a>\n<b>\n"


def test_a_deleted_working_directory_is_said_not_silently_replaced(sh):
    tmp_path = sh.dir
    sh.out("mkdir -p doomed && cd doomed")
    sh.out('rmdir "$PWD"')
    out = sh.run("echo x > out.txt")
    assert any("doomed no longer exists" in note for note in out.notes)
    assert sh.s.cwd == f"{tmp_path}/doomed"
    sh.out(f"mkdir -p {tmp_path}/doomed")
    assert sh.out("pwd") == f"{tmp_path}/doomed\n"


def test_syntax_errors_and_messages_read_as_an_interactive_shells(sh):
    out = sh.run("echo )")
    assert out.exit_code == 2 and out.output == "bash: syntax error near unexpected token `)'\n"
    assert sh.out("echo $?") == "2\n"
    assert sh.out("cd nowhere") == "bash: cd: nowhere: No such file or directory\n"
    # a nested bash's own message keeps its line number
    assert sh.out("bash -c 'nosuch'") == "bash: line 1: nosuch: command not found\n"


def test_the_user_text_is_on_lines_of_its_own():
    cell = bash_cell.wrap_bash("echo a\necho b", "abcd1234")
    assert cell.program.split("\n")[1:3] == ["echo a", "echo b"]
    assert cell.lines == 2


def test_an_associative_array_declared_before_its_values(sh):
    sh.out("declare -A port")
    sh.out("port[http]=80; port[https]=443")
    assert sh.out('for k in $(printf \'%s\\n\' "${!port[@]}" | sort); do echo "$k=${port[$k]}"; done') == (
        "http=80\nhttps=443\n")


def test_a_long_string_comes_back_whole(sh):
    sh.out("big=$(head -c 200000 /dev/zero | tr '\\0' x)$'\\n\\n'")
    assert sh.out('echo ${#big}; big+=y; echo ${#big}') == "200002\n200003\n"
    assert sh.out('echo ${#big}') == "200003\n"


def test_exec_opens_a_descriptor_for_the_rest_of_the_session(sh):
    assert sh.out("exec 3> out.log") == ""
    assert sh.run("echo first >&3").exit_code == 0
    assert sh.run("echo second >&3").exit_code == 0
    sh.out("exec 3>&-")
    assert sh.out("cat out.log") == "first\nsecond\n"
    assert sh.run("echo third >&3").exit_code == 1


def test_an_err_trap_fires_once_for_the_users_failure_only(sh):
    sh.out("trap 'echo \"error trap: $?\"' ERR")
    assert sh.out("false") == "error trap: 1\n"
    assert sh.out("true") == ""
    assert sh.out("echo $_") == "true\n"
    sh.out("trap - ERR")
    assert sh.out("false") == ""


def test_an_unbound_variable_under_set_u_is_status_1_as_in_a_shell(sh):
    sh.out("set -u")
    out = sh.run('echo "$MAYBE"')
    assert (out.exit_code, out.output) == (1, "bash: MAYBE: unbound variable\n")
    assert sh.out("echo still here") == "still here\n"
