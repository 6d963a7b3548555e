"""Starting a stdlib program on a computer's terminal: the one line typed, and the source it reads
(no I/O here).

Both programs orgorepl starts there, the live Python agent and the live session's attach, start
the same way: one line pasted into the terminal's fresh bash (bracketed paste, a leading space so
it stays out of history) runs ``python3 -c BOOT; printf EXIT; exit``.  ``BOOT`` takes ``''`` off
``sys.path`` (a ``zlib.py`` in the home directory must not stand in for the stdlib), puts the
tty in raw mode (no echo, no 4095-byte line limit, no byte taken for a signal), says ``!boot``
in a marked frame and reads one line: the program's source, zlib and base64.  Sending it only
after ``!boot`` means it meets a raw tty.  When the program ends, bash prints ``!exit:N`` with
its status (127: no ``python3``).  The nonce is typed as escapes (``\\x1e`` as four
characters), so the echo of the line can never look like a frame.
"""

from __future__ import annotations

import base64
import functools
import zlib
from pathlib import Path

from orgorepl.session.live_bash import PASTE_END, PASTE_START


def boot_line(nonce: str, *, filename: str, module: str, args: str, python: str = "python3") -> str:
    """The line to type.  The program runs as ``module`` with ``SOURCE`` (its text) and ``ARGS``,
    a Python expression evaluated after ``BOOT`` (``p``: the ``sys.path`` entry taken off), which
    must hold no single quote."""
    boot = ('import sys;p=sys.path.pop(0) if sys.path and sys.path[0]=="" else None;'
            'import os,tty,zlib,binascii,json;tty.setraw(0);'
            f'os.write(1,b"\\x1e{nonce}!boot\\n");'
            's=zlib.decompress(binascii.a2b_base64(b"".join(iter(lambda:os.read(0,1),b"\\n"))));'
            f'exec(compile(s,"{filename}","exec"),{{"__name__":"{module}","SOURCE":s,"ARGS":{args}}})')
    line = f" {python} -c '{boot}'; printf '\\036{nonce}!exit:%s\\n' \"$?\"; exit"
    return PASTE_START + line + PASTE_END + "\r"


@functools.lru_cache(maxsize=4)
def payload(filename: str) -> str:
    """A source file of this package as ``BOOT`` reads it: one line of base64 of its zlib."""
    text = Path(__file__).with_name(filename).read_bytes()
    return base64.b64encode(zlib.compress(text, 9)).decode("ascii") + "\n"
