"""Key policies as plain functions over a real prompt_toolkit Buffer, and the syntax check."""

from __future__ import annotations

import pytest
from prompt_toolkit.buffer import Buffer
from prompt_toolkit.document import Document
from prompt_toolkit.history import InMemoryHistory
from prompt_toolkit.validation import ValidationError

from orgorepl.modes import Mode
from orgorepl.ui import keys
from orgorepl.ui.state import UiState
from orgorepl.ui.validation import PythonSyntaxValidator, cursor_index


def buffer(text: str, cursor: int | None = None, accepted: list | None = None) -> Buffer:
    def accept(buf: Buffer) -> bool:
        if accepted is not None:
            accepted.append(buf.text)
        return True

    b = Buffer(multiline=True, accept_handler=accept, validator=PythonSyntaxValidator(lambda: Mode.PYTHON))
    b.document = Document(text, len(text) if cursor is None else cursor)
    return b


@pytest.mark.parametrize("text,mode,submits", [
    ("", Mode.PYTHON, True),
    ("1 + 1", Mode.PYTHON, True),
    ("for i in range(3):", Mode.PYTHON, False),
    ("for i in range(3):\n    print(i)", Mode.PYTHON, False),  # codeop waits for the blank line
    ("for i in range(3):\n    print(i)\n    ", Mode.PYTHON, True),  # ... which auto-indent left indented
    ("for i in range(3):\n    print(i)\n", Mode.PYTHON, True),
    ("x = (1,", Mode.PYTHON, False),
    ("s = '''abc", Mode.PYTHON, False),
    ("x = = 1", Mode.PYTHON, True),  # complete, so Enter tries to send; the validator stops it
    ("%timeout 5", Mode.PYTHON, True),
    ("!ls |", Mode.PYTHON, False),  # a `!` line follows bash's rules
    ("!ls", Mode.PYTHON, True),
    ("ls |", Mode.BASH, False),
    ("echo 'open", Mode.BASH, False),
    ("if true; then", Mode.BASH, False),
    ("if true; then\n  echo hi\nfi", Mode.BASH, True),
    ("echo done", Mode.BASH, True),
])
def test_should_submit(text, mode, submits):
    assert keys.should_submit(buffer(text), mode) is submits


def test_enter_in_the_middle_of_a_block_opens_a_line():
    text = "def f():\n    return 1\n"
    b = buffer(text, cursor=len("def f():"))
    assert keys.should_submit(b, Mode.PYTHON) is False
    # a single line submits wherever the cursor is, like the standard REPL
    assert keys.should_submit(buffer("print(1)", cursor=3), Mode.PYTHON) is True


def test_newline_auto_indents():
    b = buffer("for i in range(3):")
    keys.submit_or_newline(b, Mode.PYTHON)
    assert b.text == "for i in range(3):\n    "
    b.insert_text("if i:")
    keys.submit_or_newline(b, Mode.PYTHON)
    assert b.text.endswith("\n        ")


def test_enter_submits_complete_input():
    accepted: list[str] = []
    b = buffer("print('hi')", accepted=accepted)
    keys.submit_or_newline(b, Mode.PYTHON)
    assert accepted == ["print('hi')"]


def test_syntax_error_blocks_submission_and_moves_the_cursor():
    accepted: list[str] = []
    b = buffer("x = 1\ny = = 2", accepted=accepted)
    keys.submit_or_newline(b, Mode.PYTHON)
    assert accepted == []
    assert b.validation_error is not None
    assert "SyntaxError" in b.validation_error.message and "line 2" in b.validation_error.message
    assert b.document.cursor_position_row == 1


def test_force_submit_sends_incomplete_but_valid_code():
    accepted: list[str] = []
    b = buffer("if True:\n    print('x')", accepted=accepted)
    keys.force_submit(b)
    assert accepted == ["if True:\n    print('x')"]


def test_validator_ignores_bash_and_meta():
    v = PythonSyntaxValidator(lambda: Mode.PYTHON)
    v.validate(Document("!ls ((("))
    v.validate(Document("%timeout ((("))
    PythonSyntaxValidator(lambda: Mode.BASH).validate(Document("x = = 1"))
    with pytest.raises(ValidationError):
        v.validate(Document("x = = 1"))


def test_cursor_index():
    assert cursor_index("ab\ncde", 2, 2) == 4
    assert cursor_index("ab", 5, 9) == 2
    assert cursor_index("ab", None, None) == 0


def test_ctrl_c_clears():
    b = buffer("half typed")
    keys.clear_input(b)
    assert b.text == ""


def test_toggle_mode_keeps_text_and_switches_history():
    state = UiState(mode=Mode.PYTHON)
    b = Buffer(multiline=True, history=InMemoryHistory())
    b.document = Document("ls -la", 3)
    keys.toggle_mode(state, b)
    assert state.mode is Mode.BASH and b.text == "ls -la" and b.cursor_position == 3
    keys.toggle_mode(state, b)
    assert state.mode is Mode.PYTHON


def test_tab_indents_at_line_start_and_backspace_dedents():
    b = buffer("for x in y:\n")
    keys.indent_or_complete(b)
    assert b.text.endswith("\n    ")
    keys.indent_or_complete(b)
    assert b.text.endswith("\n        ")
    keys.dedent_or_backspace(b)
    assert b.text.endswith("\n    ")
    b.insert_text("ab")
    keys.dedent_or_backspace(b)
    assert b.text.endswith("\n    a")
