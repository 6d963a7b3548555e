"""The one place the interactive PromptSession is put together.

Every collaborator is passed in explicitly, including ``input``/``output`` so tests drive the
real session with a pipe and a recording terminal.  The prompt, lexer, completer and toolbar
all read the mode from the shared :class:`UiState`, so switching modes never rebuilds anything.
"""

from __future__ import annotations

from prompt_toolkit import PromptSession
from prompt_toolkit.auto_suggest import AutoSuggestFromHistory
from prompt_toolkit.completion import Completer
from prompt_toolkit.filters import Condition, FilterOrBool
from prompt_toolkit.history import History
from prompt_toolkit.input import Input
from prompt_toolkit.key_binding import KeyBindings
from prompt_toolkit.lexers import Lexer
from prompt_toolkit.output import ColorDepth, Output
from prompt_toolkit.styles import BaseStyle
from prompt_toolkit.validation import Validator

from orgorepl.modes import Mode
from orgorepl.ui import prompt as prompts
from orgorepl.ui.state import UiState
from orgorepl.ui.toolbar import session_toolbar


def build_session(
    state: UiState,
    *,
    history: History,
    lexer: Lexer,
    completer: Completer,
    validator: Validator,
    key_bindings: KeyBindings,
    style: BaseStyle,
    vi: bool = False,
    complete_while_typing: FilterOrBool = False,
    color_depth: ColorDepth | None = None,
    input: Input | None = None,
    output: Output | None = None,
) -> PromptSession:
    return PromptSession(
        message=lambda: prompts.prompt_fragments(state.mode, state.cwd),
        prompt_continuation=lambda width, line_number, wrap_count: prompts.continuation_fragments(
            state.mode, width
        ),
        multiline=True,
        history=history,
        lexer=lexer,
        completer=completer,
        complete_while_typing=complete_while_typing,
        validator=validator,
        validate_while_typing=False,
        auto_suggest=AutoSuggestFromHistory(),
        # on only inside ui.keys.history_by_prefix, so completion while typing is unaffected
        enable_history_search=Condition(lambda: state.prefix_search),
        search_ignore_case=True,
        key_bindings=key_bindings,
        bottom_toolbar=lambda: session_toolbar(state),
        style=style,
        include_default_pygments_style=False,
        vi_mode=vi,
        color_depth=color_depth,
        mouse_support=False,
        enable_open_in_editor=True,
        tempfile_suffix=lambda: ".py" if state.mode is Mode.PYTHON else ".sh",
        input=input,
        output=output,
    )
