"""Kept only until tests/test_render.py imports ``CellOutcome`` from ``python_state``; then delete.

The stateless submission wrapper that lived here is gone: every Python submission goes through
:mod:`~orgorepl.session.carry` (stateful: :mod:`~orgorepl.session.python_state` and the remote
program in ``remote_python.py``; stateless: the code exactly as typed).
"""

from orgorepl.session.python_state import CellOutcome  # noqa: F401
