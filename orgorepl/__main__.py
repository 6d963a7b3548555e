"""Entry point of `orgorepl` and `python -m orgorepl`.

For the plain interactive case (no subcommand, no --help/--version, a terminal at both ends),
the banner and prompt are painted before click and prompt_toolkit are imported, so the prompt is
on screen at the cost of starting Python; keys typed meanwhile wait in the terminal and the
session takes the painted prompt over (see ``ui.early``).
"""

from __future__ import annotations

import sys

# Options of the top-level command that take a value: their value is not a subcommand.
_VALUE_OPTIONS = {"--computer", "-c", "--workspace", "-w", "--parallel", "--base-url", "--api-key", "--timeout",
                  "-t", "--resume", "--theme", "--log"}
_NO_PROMPT = {"-h", "--help", "-V", "--version"}


def _interactive_argv(argv: list[str]) -> bool:
    skip = False
    for arg in argv:
        if skip:
            skip = False
            continue
        if arg in _NO_PROMPT:
            return False
        if arg in _VALUE_OPTIONS:
            skip = True
            continue
        if arg == "--" or not arg.startswith("-"):
            return False  # a subcommand (or something click will reject)
    return True


def main() -> None:
    early = None
    if _interactive_argv(sys.argv[1:]):
        from orgorepl.ui.early import paint_early_prompt

        early = paint_early_prompt("bash" if "--bash" in sys.argv[1:] else "python")
    from orgorepl.cli import main as cli_main

    cli_main(early)


if __name__ == "__main__":
    main()
