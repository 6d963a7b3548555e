"""Turning a submission into what goes on the wire, and the reply back into what the user sees.

Pure logic, standard library only: the completeness rules Enter consults
(:mod:`~orgorepl.session.completeness`), and one remote session per computer
(:mod:`~orgorepl.session.carry`), which either sends code exactly as typed (stateless) or wraps
it to carry state over: Python through :mod:`~orgorepl.session.python_state` and the remote
program ``remote_python.py`` (sent as text, never imported), bash through
:mod:`~orgorepl.session.bash_cell`.
"""
