"""prompt_toolkit pieces of the interactive session.

Everything here is local and instant: key handlers, lexer, completer, toolbar, style, history
files.  Nothing in ``ui`` touches the network; the REPL layer feeds it state and results.  The
package ``__init__`` imports nothing, so importing one piece never pays for the others.
"""
