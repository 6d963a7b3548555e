"""Named exit statuses of the orgorepl command line.

One table so that scripts can tell a remote failure from a local one.  For
`orgorepl bash` the remote exit code is passed through unchanged, so these
numbers only speak for themselves in `exec`, the REPL's batch mode and the
management commands; the values sit above the common shell codes (1, 2) and
below the signal range (128+) for that reason.
"""

from __future__ import annotations

import enum


class ExitStatus(enum.IntEnum):
    OK = 0
    REMOTE_EXCEPTION = 1  # the remote Python code raised, like `python` itself exits 1
    USAGE = 2  # bad flags or arguments (click's own convention)
    AUTH = 10  # 401 or 403: the key is wrong, missing or not allowed here
    NOT_FOUND = 11  # 404: no such computer or workspace, or name not resolved
    BAD_REQUEST = 12  # 400/409/other 4xx: the request or the computer's state was refused
    RATE_LIMITED = 13  # 429
    SERVER = 14  # 5xx from Orgo or the computer
    NETWORK = 15  # connect failure, read timeout, malformed reply
    CONFIG = 16  # configuration file or environment is invalid
    REMOTE_TIMEOUT = 124  # the code ran past its timeout (same as coreutils `timeout`)
    INTERRUPTED = 130  # Ctrl-C
