"""Key bindings of the prompt, as named functions over a real Buffer.

Each policy is a plain function (``should_submit``, ``newline_with_indent``, ``toggle_mode`` ...)
so tests can call it with a ``Buffer`` and a mode; ``build_key_bindings`` only wires keys to
them.  Keys chosen for what terminals deliver reliably: F4 (``ESC O S``) toggles the mode;
Esc Enter is also what Alt-Enter sends, so one binding covers both.
"""

from __future__ import annotations

from prompt_toolkit import search
from prompt_toolkit.buffer import Buffer
from prompt_toolkit.document import Document
from prompt_toolkit.enums import DEFAULT_BUFFER
from prompt_toolkit.filters import (
    Condition,
    emacs_insert_mode,
    has_focus,
    has_selection,
    is_searching,
    vi_insert_mode,
)
from prompt_toolkit.key_binding import KeyBindings, KeyPressEvent
from prompt_toolkit.keys import Keys

from orgorepl.modes import Kind, Mode, classify
from orgorepl.session import completeness
from orgorepl.session.pasted import strip_prompts
from orgorepl.ui.state import UiState

INDENT = "    "


def target_language(text: str, mode: Mode) -> str:
    """Where the text would go: "python" or "bash" (a `!` line in Python mode is bash)."""
    return classify(text, mode).mode.value


def should_submit(buffer: Buffer, mode: Mode) -> bool:
    """Enter's decision: run now, or keep editing on a new line.

    Meta-commands and empty input always "submit".  With the cursor above the last non-blank line
    the user is editing the middle of a block, so Enter opens a line there.  Otherwise the
    completeness rule of the target language decides (codeop for Python, bash's grammar for bash).
    """
    document = buffer.document
    target = classify(document.text, mode)
    if target.kind in (Kind.EMPTY, Kind.META):
        return True
    after = document.text_after_cursor
    if "\n" in after and after.strip():
        return False
    text = target.text
    if "\n" in text and not document.current_line.strip():
        # Enter on a blank last line: the line is empty for the language (the blank line that
        # closes a Python block), whatever indentation auto-indent left on it.
        text = text.rstrip(" \t")
    if target.mode is Mode.BASH:
        return completeness.bash_is_complete(text)
    return completeness.python_is_complete(text)


def newline_with_indent(buffer: Buffer, mode: Mode) -> None:
    indent = completeness.indent_for_next_line(
        buffer.document.text_before_cursor, target_language(buffer.text, mode)
    )
    buffer.newline(copy_margin=False)
    buffer.insert_text(indent)


def submit_or_newline(buffer: Buffer, mode: Mode) -> None:
    if buffer.complete_state is not None and buffer.complete_state.current_completion is not None:
        buffer.complete_state = None  # Enter on a menu entry only accepts the completion
        return
    if should_submit(buffer, mode):
        buffer.validate_and_handle()
    else:
        newline_with_indent(buffer, mode)


def force_submit(buffer: Buffer) -> None:
    """Run as typed, complete or not (the syntax check before sending still applies)."""
    buffer.validate_and_handle()


def clear_input(buffer: Buffer) -> None:
    """Ctrl-C at the prompt: drop what was typed, stay in the session."""
    buffer.reset()


def toggle_mode(state: UiState, buffer: Buffer) -> None:
    """Switch Python <-> bash, keeping the text; the buffer reloads the new mode's history."""
    state.mode = state.mode.other
    document = buffer.document
    buffer.reset(document=Document(document.text, document.cursor_position))


def accept_search_at_end(buffer: Buffer) -> None:
    """Ctrl-R then Enter: take the found entry with the cursor at its end, so the next Enter
    runs it instead of splitting it at the match."""
    search.accept_search()
    buffer.cursor_position = len(buffer.text)


def history_by_prefix(state: UiState, buffer: Buffer, *, backward: bool, count: int = 1) -> None:
    """Up/Down: with text typed, only the entries that start with the text before the cursor
    (IPython, fish); on an empty line every entry, as before.  Inside a multi-line buffer the
    cursor moves between its lines first, and an open completion menu takes the key.

    prompt_toolkit's own prefix search (``enable_history_search``) also switches off completion
    while typing, so the session turns it on only for the length of this call (``state``'s
    ``prefix_search`` is the buffer's ``enable_history_search`` filter): the buffer remembers
    the prefix of the first press until the text is edited.
    """
    state.prefix_search = True
    try:
        if backward:
            buffer.auto_up(count=count)
        else:
            buffer.auto_down(count=count)
    finally:
        state.prefix_search = False


def paste(buffer: Buffer, data: str, mode: Mode) -> None:
    """Bracketed paste: a ``>>>`` transcript pasted in Python mode arrives as its code."""
    data = data.replace("\r\n", "\n").replace("\r", "\n")
    code = strip_prompts(data) if mode is Mode.PYTHON else None
    buffer.insert_text(data if code is None else code)


def indent_or_complete(buffer: Buffer) -> None:
    line_start = buffer.document.current_line_before_cursor
    if not line_start.strip():
        buffer.insert_text(INDENT[: len(INDENT) - len(line_start) % len(INDENT)] or INDENT)
    elif buffer.complete_state:
        buffer.complete_next()
    else:
        buffer.start_completion(insert_common_part=True)


def dedent_or_backspace(buffer: Buffer) -> None:
    """Backspace in leading spaces goes back to the previous indent stop, like Python editors."""
    line_start = buffer.document.current_line_before_cursor
    if line_start and not line_start.strip(" "):
        remove = len(line_start) % len(INDENT) or len(INDENT)
        buffer.delete_before_cursor(min(remove, len(line_start)))
    else:
        buffer.delete_before_cursor(1)


def build_key_bindings(state: UiState, *, toggle_key: str = "f4") -> KeyBindings:
    kb = KeyBindings()
    focused = has_focus(DEFAULT_BUFFER)
    typing = focused & (emacs_insert_mode | vi_insert_mode) & ~has_selection

    @kb.add("enter", filter=focused)
    def _enter(event: KeyPressEvent) -> None:
        submit_or_newline(event.current_buffer, state.mode)

    @kb.add("escape", "enter", filter=focused)
    def _force(event: KeyPressEvent) -> None:
        force_submit(event.current_buffer)

    @kb.add("enter", filter=is_searching)
    def _search_enter(event: KeyPressEvent) -> None:
        buffer = event.app.layout.get_buffer_by_name(DEFAULT_BUFFER)
        if buffer is not None:
            accept_search_at_end(buffer)

    @kb.add("c-c", filter=focused)
    def _ctrl_c(event: KeyPressEvent) -> None:
        clear_input(event.current_buffer)

    @kb.add(toggle_key)
    def _toggle(event: KeyPressEvent) -> None:
        buffer = event.app.layout.get_buffer_by_name(DEFAULT_BUFFER)
        if buffer is not None:
            toggle_mode(state, buffer)

    @kb.add("up", filter=focused & ~has_selection)
    def _up(event: KeyPressEvent) -> None:
        history_by_prefix(state, event.current_buffer, backward=True, count=event.arg)

    @kb.add("down", filter=focused & ~has_selection)
    def _down(event: KeyPressEvent) -> None:
        history_by_prefix(state, event.current_buffer, backward=False, count=event.arg)

    @kb.add(Keys.BracketedPaste, filter=focused)
    def _paste(event: KeyPressEvent) -> None:
        paste(event.current_buffer, event.data, state.mode)

    @kb.add("tab", filter=typing)
    def _tab(event: KeyPressEvent) -> None:
        indent_or_complete(event.current_buffer)

    @kb.add("backspace", filter=typing & Condition(lambda: state.mode is Mode.PYTHON))
    def _backspace(event: KeyPressEvent) -> None:
        dedent_or_backspace(event.current_buffer)

    return kb
