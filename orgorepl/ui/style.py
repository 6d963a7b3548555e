"""The built-in look: every colour orgorepl uses, keyed by style class.

Widgets and renderers only ever emit class names (``class:prompt.python``,
``class:status.error`` ...); this table is the one place that turns them into colours.  A theme
module replaces :func:`default_style` later, so it stays a single function returning a Style.
Pygments token colours come from prompt_toolkit's default Pygments style, merged by the session.
"""

from __future__ import annotations

from prompt_toolkit.styles import Style

_DEFAULT = {
    # prompt
    "prompt.python": "ansibrightgreen bold",
    "prompt.bash": "ansibrightyellow bold",
    "prompt.continuation": "#808080",
    # banner and notes printed between prompts
    "banner": "bold",
    "banner.hint": "#a0a0a0",
    "note": "italic #a0a0a0",
    "note.error": "ansired",
    "meta.text": "",
    # input
    "meta-command": "ansicyan bold",
    "shell-escape": "ansibrightyellow bold",
    "auto-suggestion": "#707070",
    # results (names shared with orgorepl.render)
    "output": "",
    "status.error": "ansibrightred bold",
    "status.timeout": "bg:ansiyellow ansiblack bold",
    "status.exit": "ansired bold",
    "status.duration": "#909090",
    # bottom toolbar
    "bottom-toolbar": "noreverse bg:#262626 #c0c0c0",
    "bottom-toolbar.text": "",
    "toolbar.computer": "bold",
    "toolbar.connecting": "italic #d0d070",
    "toolbar.failed": "ansibrightred",
    "toolbar.mode.python": "bg:#2a5a2a #ffffff bold",
    "toolbar.mode.bash": "bg:#6a5a10 #ffffff bold",
    "toolbar.timeout": "#c0c0c0",
    "toolbar.last.ok": "ansibrightgreen",
    "toolbar.last.error": "ansibrightred",
    "toolbar.last.timeout": "ansiyellow bold",
    "toolbar.last.exit": "ansired",
    "toolbar.last.interrupted": "ansiyellow",
    "toolbar.sep": "#606060",
    "toolbar.key": "bold #e0e0e0",
    "toolbar.hint": "#909090",
    "toolbar.spinner": "ansibrightcyan bold",
    "toolbar.elapsed": "bold",
    "toolbar.state": "#909090",
    "toolbar.stateless": "ansiyellow",
    "prompt.cwd": "ansiblue bold",
    "traceback": "",
    # validation (syntax error shown before sending)
    "validation-toolbar": "bg:#5f0000 #ffffff",
}


def default_style() -> Style:
    return Style.from_dict(_DEFAULT)
