"""orgorepl: a terminal REPL and shell for remote Orgo computers, and a local Orgo emulator."""

__version__ = "0.2.0"
