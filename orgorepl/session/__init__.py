"""Turning a submission into what goes on the wire, and the reply back into what the user sees.

Pure logic, standard library only: the completeness rules Enter consults
(:mod:`~orgorepl.session.completeness`), the Python submission wrapper
(:mod:`~orgorepl.session.python_cell`) and the state carry-over wrappers.
"""
