"""The UI pieces one at a time, with real prompt_toolkit objects (no terminal needed)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document
from prompt_toolkit.formatted_text import fragment_list_to_text

from orgorepl import paths
from orgorepl.modes import Mode
from orgorepl.ui import prompt, toolbar
from orgorepl.ui.completer import ReplCompleter
from orgorepl.ui.history import REDACTED, build_history
from orgorepl.ui.lexer import ModeLexer
from orgorepl.ui.state import LastCall, Link, UiState
from orgorepl.ui.style import default_style


def lex(text: str, mode: Mode) -> list[tuple[str, str]]:
    lexer = ModeLexer(lambda: mode)
    get_line = lexer.lex_document(Document(text))
    return [frag[:2] for frag in get_line(0)]


def test_lexer_python_mode_colours_python():
    frags = lex("def f(): return 1", Mode.PYTHON)
    assert ("class:pygments.keyword", "def") in frags
    assert any(style.startswith("class:pygments.name.function") and t == "f" for style, t in frags)


def test_lexer_bash_mode_and_bang_lines_colour_bash():
    # `for` is a keyword in both languages; `echo` is a bash builtin only.
    for text, mode in (("echo $HOME", Mode.BASH), ("!echo $HOME", Mode.PYTHON)):
        frags = lex(text, mode)
        assert any("name.builtin" in s and t == "echo" for s, t in frags), frags
        assert any("name.variable" in s and t == "$HOME" for s, t in frags), frags
    assert lex("!echo $HOME", Mode.PYTHON)[0] == ("class:shell-escape", "!")
    python = lex("echo $HOME", Mode.PYTHON)
    assert not any("name.variable" in s for s, _ in python)


def test_lexer_meta_lines_are_one_plain_class():
    assert lex("%timeout 30", Mode.PYTHON) == [("class:meta-command", "%timeout 30")]
    # `%` as the modulo operator is Python, not a meta-command
    assert ("class:meta-command", "10 % 3") not in lex("10 % 3", Mode.PYTHON)


def test_lexer_decides_like_the_mode_rule():
    lexer = ModeLexer(lambda: Mode.PYTHON)
    assert lexer.language("!ls") == "bash"
    assert lexer.language("%bash") == "meta"
    assert lexer.language("x = 1") == "python"
    assert ModeLexer(lambda: Mode.BASH).language("ls") == "bash"


def test_importing_the_ui_does_not_import_pygments_lexers():
    code = ("import sys; import orgorepl.ui.lexer, orgorepl.ui.session, orgorepl.repl; "
            "print([m for m in sys.modules if m.startswith(('pygments.lexers', 'httpx'))])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def completions(completer: ReplCompleter, text: str) -> list[str]:
    return [c.text for c in completer.get_completions(Document(text), CompleteEvent(completion_requested=True))]


def test_completer_offers_meta_commands():
    comp = ReplCompleter(lambda: Mode.PYTHON, {"help": "h", "history": "h", "info": "i"})
    assert completions(comp, "%h") == ["%help", "%history"]
    assert completions(comp, "  %in") == ["%info"]


def test_completer_offers_keywords_builtins_and_learned_names():
    mode = [Mode.PYTHON]
    comp = ReplCompleter(lambda: mode[0], {})
    assert "print" in completions(comp, "pri")
    assert "import" in completions(comp, "imp")
    assert "dataframe_total" not in completions(comp, "data")
    comp.learn("dataframe_total = 3", Mode.PYTHON)
    assert completions(comp, "data")[0] == "dataframe_total"
    mode[0] = Mode.BASH
    assert "print" not in completions(comp, "pri")  # bash mode: no Python words
    comp.learn("grep --color", Mode.BASH)
    assert completions(comp, "gr") == ["grep"]


def test_toolbar_shows_computer_mode_timeout_last_call_and_keys():
    state = UiState(target_label="agent-1")
    text = fragment_list_to_text(toolbar.session_toolbar(state))
    assert "agent-1: connecting…" in text and " python " in text and "timeout 10s" in text
    assert "F4" in text and "Ctrl-D" in text
    state.link, state.computer_name, state.computer_status = Link.READY, "box", "running"
    state.mode = Mode.BASH
    state.last = LastCall("exit", "exit 2", 1.25)
    text = fragment_list_to_text(toolbar.session_toolbar(state))
    assert "box (running)" in text and " bash " in text and "timeout 60s" in text
    assert "last: exit 2 1.2s" in text
    state.last = LastCall("ok", elapsed=0.034)
    assert "last: ok 34ms" in fragment_list_to_text(toolbar.session_toolbar(state))
    state.link, state.link_error = Link.FAILED, "HTTP 401"
    assert "box: not connected" in fragment_list_to_text(toolbar.session_toolbar(state))


def test_toolbar_fragments_carry_classes_only():
    state = UiState(last=LastCall("timeout", elapsed=10.0))
    for frags in (toolbar.session_toolbar(state),
                  toolbar.progress_toolbar(state, phase="python on x", elapsed=3.2, timeout=10, tick=3)):
        for style, _text in frags:
            assert style == "" or all(part.startswith("class:") for part in style.split())


def test_progress_line():
    text = fragment_list_to_text(toolbar.progress_toolbar(UiState(), phase="bash on box", elapsed=3.24,
                                                          timeout=60, tick=0))
    assert text == f" {toolbar.SPINNER[0]} bash on box 3.2s / 60s │ Ctrl-C abandon"


def test_live_progress_line_warns_past_the_timeout_instead_of_killing():
    def line(elapsed: float) -> str:
        return fragment_list_to_text(toolbar.progress_toolbar(UiState(), phase="live bash on box", elapsed=elapsed,
                                                              timeout=60, tick=0, live=True))

    assert line(3.0) == f" {toolbar.SPINNER[0]} live bash on box 3.0s │ Ctrl-C interrupt"
    assert line(75.0) == (f" {toolbar.SPINNER[0]} live bash on box 75s past the 60s timeout, still running"
                          " │ Ctrl-C interrupt")


def test_live_progress_line_with_a_hard_limit_shows_the_limit_like_http():
    text = fragment_list_to_text(toolbar.progress_toolbar(UiState(), phase="live bash on box", elapsed=75.0,
                                                          timeout=60, tick=0, live=True, hard_limit=True))
    assert text == f" {toolbar.SPINNER[0]} live bash on box 75s / 60s │ Ctrl-C interrupt"


def test_every_class_used_has_a_style():
    style = default_style()
    classes = set()
    state = UiState(last=LastCall("error", "ValueError", 2.0))
    for frags in (toolbar.session_toolbar(state), prompt.prompt_fragments(Mode.PYTHON),
                  prompt.prompt_fragments(Mode.BASH), prompt.continuation_fragments(Mode.BASH, 2)):
        for s, _ in frags:
            classes.update(p[len("class:"):] for p in s.split() if p.startswith("class:"))
    defined = {name for names, _ in style.style_rules for name in names.split()}
    assert classes <= defined, classes - defined


def test_prompts_differ_per_mode_and_continuations_align():
    assert prompt.PROMPT_TEXT["python"] != prompt.PROMPT_TEXT["bash"]
    for mode in Mode:
        width = len(prompt.PROMPT_TEXT[mode.value])
        assert len(fragment_list_to_text(prompt.continuation_fragments(mode, width))) == width


def test_history_files_are_private_per_mode_and_redact_the_key():
    secret = "sk_live_verysecret123"
    mode = [Mode.PYTHON]
    hist = build_history(lambda: mode[0], persistent=True, secret=secret)
    hist.append_string(f"client = Orgo(api_key='{secret}')\nprint(1)")
    mode[0] = Mode.BASH
    hist.append_string("ls -la")
    py_file, sh_file = paths.history_file("python"), paths.history_file("bash")
    for f in (py_file, sh_file):
        assert stat.S_IMODE(os.stat(f).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(py_file.parent).st_mode) == 0o700
    assert secret not in py_file.read_text() and REDACTED in py_file.read_text()
    assert "ls -la" in sh_file.read_text() and "print(1)" not in sh_file.read_text()
    # a fresh history reads the multi-line entry back whole
    again = build_history(lambda: Mode.PYTHON, persistent=True, secret=secret)
    strings = list(again.load_history_strings())
    assert strings == [f"client = Orgo(api_key='{REDACTED}')\nprint(1)"]


def test_memory_history_also_redacts():
    hist = build_history(lambda: Mode.PYTHON, persistent=False, secret="sk_x_1234567890")
    hist.append_string("echo sk_x_1234567890")
    assert hist.get_strings() == [f"echo {REDACTED}"]
    assert not paths.history_file("python").exists()
