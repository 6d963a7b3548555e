"""A pasted ``>>>`` transcript becomes the code it shows (ptpython and IPython do the same).

People copy examples from docs, doctests and other sessions with their prompts and output; sent
as is, ``>>> x = 1`` is a SyntaxError.  The rule is strict so that real code is never touched:
the text must start with a ``>>>`` line, and then every line is a ``>>>`` or ``...`` line
(kept, prompt removed) or, as in a doctest, output shown after one (dropped).
"""

from __future__ import annotations

PROMPTS = (">>> ", "... ")


def _prompt(line: str) -> str | None:
    """The code of a prompt line (``>>> x`` -> ``x``; a bare ``>>>`` or ``...`` -> ""), else None."""
    stripped = line.lstrip()
    if stripped in (">>>", "..."):
        return ""
    for prompt in PROMPTS:
        if stripped.startswith(prompt):
            return stripped[len(prompt):]
    return None


def strip_prompts(text: str) -> str | None:
    """The code of a pasted transcript, or None when ``text`` is not one (leave it as it is)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    first = next((line for line in lines if line.strip()), "")
    if not first.lstrip().startswith(">>>") or _prompt(first) is None:
        return None
    code = [c for c in (_prompt(line) for line in lines) if c is not None]
    while code and not code[-1].strip():
        code.pop()
    return "\n".join(code)
