"""Enter's decision, checked against the real thing: CPython's interactive console for Python,
``bash -n`` for bash (every snippet of tests/bash_corpus/snippets.txt), plus auto-indent."""

from __future__ import annotations

import code
import os
import shutil
import subprocess
import tempfile
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from orgorepl.modes import Mode
from orgorepl.session.completeness import (
    bash_is_complete,
    indent_for_next_line,
    python_is_complete,
    python_syntax_error,
)

# --------------------------------------------------------------------------------------------
# Python


class _Console(code.InteractiveConsole):
    """The stdlib's interactive console, with nothing run and nothing printed."""

    def runcode(self, code_obj):  # noqa: ARG002 - nothing is executed
        pass

    def showsyntaxerror(self, *args, **kwargs):
        pass

    def showtraceback(self, *args, **kwargs):
        pass


def console_is_complete(text: str) -> bool:
    """What `python -i` does with these lines typed one by one: done, or still asking `...`."""
    console = _Console()
    more = False
    for line in text.split("\n"):
        more = console.push(line)
    return not more


# (text, complete?) - each also checked against the interactive console itself
PYTHON_CASES = [
    ("x = 1", True),
    ("print('a')\nprint('b')", True),
    ("import os\nos.getcwd()", True),
    ("", True),
    ("   ", True),
    ("# only a comment", True),
    # blocks: open until a blank line, one-line blocks too
    ("if x:", False),
    ("if x:\n    pass", False),
    ("if x:\n    pass\n", True),
    ("if x: pass", False),
    ("if x: pass\n", True),
    ("if x:\n    pass\nelse:", False),
    ("if x:\n    pass\nelse:\n    pass\n", True),
    ("for i in range(3):\n    print(i)", False),
    ("for i in range(3):\n    print(i)\n", True),
    ("while True:\n    if x:\n        break\n", True),
    ("with open('f') as f:\n    f.read()", False),
    ("with open('f') as f:\n    f.read()\n", True),
    ("try:\n    pass", False),
    ("try:\n    pass\n", False),  # a try needs except/finally: the blank line cannot end it
    ("try:\n    pass\nexcept E:\n    pass\n", True),
    ("class A:\n    x = 1\n\n", True),
    ("class A: pass", False),
    ("async def f():\n    await x\n", True),
    ("match x:\n    case 1:\n        pass", False),
    ("match x:\n    case 1:\n        pass\n", True),
    ("def f():\n    '''doc\n\n    more'''\n    return 1\n", True),
    ("if x:\n    pass\n# a comment is not a blank line", False),
    ("if x:\n    pass\n\n# after the blank line", True),
    # decorators
    ("@dec", False),
    ("@dec\n", False),
    ("@dec\ndef f(): pass", False),
    ("@dec\ndef f(): pass\n", True),
    # brackets, strings, backslashes
    ("x = (", False),
    ("x = (\n1,\n2)", True),
    ("f(1,\n  2,", False),
    ("d = {\n'a': 1,\n}", True),
    ("x = [i for i in\n range(3)]", True),
    ("lambda: (", False),
    ("'''abc", False),
    ("'''abc\n'''", True),
    ("x = '''\n\n'''", True),
    ("s = 'a\\\nb'", True),
    ("x = 1 + \\", False),
    ("x = 1 + \\\n2", True),
    ("x = 1 if y else \\", False),
    # syntax errors are complete: Enter sends them and the error is shown
    ("x = )", True),
    ("if 1:\n  x\n y", True),
    ("  x = 1", True),
    ("return 1", True),
    ("x = 'abc", True),
    ("a b", True),
    # a block followed by more statements, as pasted
    ("def f():\n    return 1\nf()", True),
]

# Where the buffer deliberately differs from feeding the console line by line, and why.
DELIBERATE = [
    # Auto-indent puts spaces on the line after a block; Enter on such a line must end the block,
    # as a blank line does (the console would keep asking until the spaces are deleted).
    ("if x:\n    pass\n    ", True, False),
    # A syntax error anywhere is complete (codeop's rule on the whole buffer), even if the last line
    # alone would open a block; the console had already rejected the first line.
    ("x = )\nif y:", True, False),
    # Pasted code with a blank line inside a block: the console would have ended the class at the
    # blank line and then rejected the indented method; the buffer holds it all, so the class is
    # one statement that, like any block, ends at a final blank line.
    ("class A:\n    def f(self):\n        pass\n\n    def g(self):\n        pass", False, True),
]


@pytest.mark.parametrize("text,expected", PYTHON_CASES, ids=[repr(t)[:40] for t, _ in PYTHON_CASES])
def test_python_completeness_matches_the_interactive_console(text, expected):
    assert console_is_complete(text) is expected, "the corpus itself is wrong"
    assert python_is_complete(text) is expected


@pytest.mark.parametrize("text,ours,console", DELIBERATE, ids=[repr(t)[:40] for t, *_ in DELIBERATE])
def test_python_deliberate_differences(text, ours, console):
    assert console_is_complete(text) is console
    assert python_is_complete(text) is ours


def test_python_corpus_is_big_enough():
    assert len(PYTHON_CASES) >= 40
    assert sum(1 for _, c in PYTHON_CASES if c) >= 15
    assert sum(1 for _, c in PYTHON_CASES if not c) >= 15


def test_python_completeness_prints_no_warnings():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert python_is_complete('x = "\\d"')
        assert python_is_complete("x is 1")
        assert python_syntax_error("x is 1") is None
        assert python_is_complete("if x:\n    y = '\\q'") is False
    assert caught == []


def test_python_syntax_error_has_position_and_caret():
    info = python_syntax_error("x = 1\ny = )")
    assert info is not None
    assert info.error_type == "SyntaxError"
    assert info.msg == "unmatched ')'"
    assert (info.lineno, info.offset) == (2, 5)
    assert info.text == "y = )"
    assert info.caret_lines() == ["    y = )", "        ^"]


def test_python_syntax_error_kinds():
    assert python_syntax_error("print('fine')") is None
    assert python_syntax_error("") is None
    indent = python_syntax_error("if 1:\n  x\n y")
    assert indent.error_type == "IndentationError" and indent.lineno == 3
    unclosed = python_syntax_error("f(1,")
    assert unclosed.error_type == "SyntaxError" and "never closed" in unclosed.msg
    nul = python_syntax_error("a\0b")
    assert nul is not None and "null" in nul.msg


def test_python_syntax_error_matches_what_the_interpreter_reports():
    source = "def f(:\n    pass"
    with pytest.raises(SyntaxError) as real:
        compile(source, "<cell>", "exec")
    info = python_syntax_error(source)
    assert (info.msg, info.lineno, info.offset) == (real.value.msg, real.value.lineno, real.value.offset)


# --------------------------------------------------------------------------------------------
# bash: every snippet against `bash -n`

CORPUS = Path(__file__).parent / "bash_corpus" / "snippets.txt"
BASH = shutil.which("bash")
_EOF_MESSAGES = ("unexpected end of file", "unexpected EOF while looking for", "delimited by end-of-file")


def _decode(line: str) -> str:
    out, i = [], 0
    while i < len(line):
        if line[i] == "\\" and i + 1 < len(line) and line[i + 1] in "nt\\":
            out.append({"n": "\n", "t": "\t", "\\": "\\"}[line[i + 1]])
            i += 2
        else:
            out.append(line[i])
            i += 1
    return "".join(out)


def load_snippets() -> list[str]:
    lines = CORPUS.read_text(encoding="utf-8").splitlines()
    return [_decode(line) for line in lines if line and not line.startswith("## ")]


def _bash_n(text: str) -> tuple[int, str]:
    with tempfile.NamedTemporaryFile("w", suffix=".sh", delete=False, encoding="utf-8") as fh:
        fh.write(text)
    try:
        proc = subprocess.run([BASH, "-n", fh.name], capture_output=True, text=True, errors="replace",
                              env=dict(os.environ, LC_ALL="C", LANG="C"), timeout=30)
        return proc.returncode, proc.stderr
    finally:
        os.unlink(fh.name)


def bash_wants_more(snippet: str) -> tuple[bool, str]:
    """bash's own verdict on ``snippet`` typed and followed by Enter.

    Incomplete when ``bash -n`` reports the end of input inside a construct (unexpected end of
    file, EOF while looking for a match, a here-document delimited by end-of-file).  A final
    backslash-newline is invisible to ``bash -n`` (at the end of a file it just ends the input), so
    for an input that parses cleanly a probe line is appended: if the line was continued, the
    probe joins it and parses (``fi`` as an argument, ``| :`` as a pipe); standing alone on its
    own line, both are syntax errors.  First we make sure bash reads on at all after the snippet
    (after an error inside ``[[ ]]`` it silently stops), else the probes would prove nothing.
    """
    status, err = _bash_n(snippet + "\n")
    if any(m in err for m in _EOF_MESSAGES):
        return True, err
    if err.strip() or status:
        return False, err
    status, err = _bash_n(snippet + "\n)\n")
    if not err.strip():
        return False, "bash stops reading after this snippet"
    for probe in ("fi", "| :"):
        status, err = _bash_n(snippet + "\n" + probe + "\n")
        if status == 0 and not err.strip():
            return True, f"the next line continues it (probe {probe!r} parses)"
    return False, "parses; a next line would start a new command"


@pytest.fixture(scope="module")
def bash_verdicts():
    assert BASH, "bash is required: it is the reference for bash-mode completeness"
    snippets = load_snippets()
    with ThreadPoolExecutor(max_workers=8) as pool:
        verdicts = list(pool.map(bash_wants_more, snippets))
    return list(zip(snippets, verdicts, strict=True))


def test_bash_agrees_with_bash_on_every_corpus_snippet(bash_verdicts):
    disagreements = []
    for snippet, (wants_more, why) in bash_verdicts:
        ours = not bash_is_complete(snippet)
        if ours != wants_more:
            disagreements.append(f"{snippet!r}: bash {'continues' if wants_more else 'submits'} "
                                 f"({why.strip()[:120]}), we {'continue' if ours else 'submit'}")
    assert not disagreements, "\n".join(disagreements)


def test_bash_corpus_covers_both_answers(bash_verdicts):
    assert len(bash_verdicts) >= 60
    incomplete = sum(1 for _, (more, _why) in bash_verdicts if more)
    assert incomplete >= 30 and len(bash_verdicts) - incomplete >= 30


@pytest.mark.parametrize("name", ["script.sh", "script2.sh"])
def test_every_prefix_of_a_real_script_agrees_with_bash(name):
    """Typing a script character by character passes through every kind of half-finished
    construct: quotes, expansions, here documents, case arms, [[ ]], arithmetic, functions."""
    assert BASH
    script = (Path(__file__).parent / "bash_corpus" / name).read_text(encoding="utf-8").rstrip("\n")
    prefixes = [script[:end] for end in range(1, len(script) + 1)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        verdicts = list(pool.map(bash_wants_more, prefixes))
    disagreements = [
        f"...{prefix[-50:]!r}: bash {'continues' if more else 'submits'}, we do not"
        for prefix, (more, _why) in zip(prefixes, verdicts, strict=True)
        if bash_is_complete(prefix) is more
    ]
    assert not disagreements, "\n".join(disagreements[:20])
    assert sum(more for more, _ in verdicts) > len(prefixes) // 3  # mostly mid-construct


@pytest.mark.parametrize("snippet,complete", [
    ("echo hi", True),
    ("echo 'it''s", False),
    ('echo "a" # it\'s', True),
    ("echo a \\", False),
    ("ls |", False),
    ("true &&", False),
    ("true ||", False),
    ("if true; then", False),
    ("for i in 1 2; do", False),
    ("case $x in", False),
    ("{", False),
    ("(", False),
    ("f() {", False),
    ("cat <<EOF", False),
    ("cat <<-EOF\n\tbody\n\tEOF", True),
    ("cat <<'EOF'\nbody\nEOF", True),
    ('cat <<"EOF"\nbody', False),
    ("cat <<A <<B\na\nA", False),
    ("echo $(date", False),
    ("echo `date", False),
    ("echo $'a\\'", False),
    ("fi", True),
    (")", True),
    ("done", True),
    ("", True),
])
def test_bash_rules_named_in_the_design(snippet, complete):
    """The cases the REPL promises by name (also in the corpus, where bash itself is asked)."""
    assert bash_is_complete(snippet) is complete


# --------------------------------------------------------------------------------------------
# indentation


@pytest.mark.parametrize("before,expected", [
    ("x = 1", ""),
    ("if x:", "    "),
    ("    if x:", "        "),
    ("def f(a,\n      b):", "    "),
    ("if x:  # a comment", "    "),
    ("x = 1  # not a block:", ""),
    ("s = '#':", "    "),
    ("d = {'a': 1}  # no colon at the end", ""),
    ("        return x", "    "),
    ("    return", ""),
    ("    pass", ""),
    ("        break", "    "),
    ("    continue", ""),
    ("    raise ValueError('x')", ""),
    ("    return (1,", "    "),
    ("    passed = 1", "    "),
    ("\tif x:", "\t\t"),
    ("\t\treturn", "\t"),
    ("for i in x:\n    y = i", "    "),
])
def test_python_indentation(before, expected):
    assert indent_for_next_line(before, "python") == expected
    assert indent_for_next_line(before, Mode.PYTHON) == expected


@pytest.mark.parametrize("before,expected", [
    ("echo hi", ""),
    ("  if true; then", "  "),
    ("for i in 1 2; do\n    echo $i", "    "),
    ("\techo", "\t"),
    ("    return", "    "),
])
def test_bash_indentation_keeps_the_current_line(before, expected):
    assert indent_for_next_line(before, "bash") == expected
    assert indent_for_next_line(before, Mode.BASH) == expected
