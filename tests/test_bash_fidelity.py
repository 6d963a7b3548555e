"""Bash mode against the real thing: every sequence of the fidelity corpus run in one persistent
``bash -i`` in a pty (the ground truth) and through each of orgorepl's transports, step by step.

The figures (matched steps / all steps, per transport and per category) are printed whether or
not pytest captures output, and recorded as properties (``--junitxml``).  Over HTTP the stateful
transport is held to ``HTTP_BAR`` (issue 14: at least 90 %; 94.0 % reached: what a fresh process
per submission cannot give is background jobs, history expansion, a terminal, ``$$`` and
``$RANDOM``'s sequence); what stateful bash mode promises (cwd, variables, exports, functions,
aliases) must match in full.
A transport added to ``fidelity.harness.TRANSPORTS`` other than the two HTTP ones (the live one)
is held to the issue's bar: at least 97 % of steps.

    python benchmarks/bash_fidelity.py     # the same figures, with the mismatches listed
"""

from __future__ import annotations

import pytest
from fidelity.bash_sequences import PROMISES, SEQUENCES, TTY_ONLY
from fidelity.harness import (
    TRANSPORTS,
    Figure,
    Lab,
    PtyBash,
    category_table,
    measure,
    mismatch_report,
    table,
)

AGAIN = "bash -i (again)"
HTTP_MODES = ("http", "stateless")
LIVE_BAR = 97.0
HTTP_BAR = 93.0


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    """The whole corpus, once: ground truth, ground truth again, and every registered transport."""
    with Lab(tmp_path_factory.mktemp("fidelity"), len(SEQUENCES)) as lab:
        transports = {AGAIN: PtyBash(AGAIN)}
        transports.update({name: make(lab) for name, make in TRANSPORTS.items()})
        yield measure(lab, SEQUENCES, transports)


def test_the_corpus_is_big_enough_and_well_formed():
    names = [s.name for s in SEQUENCES]
    assert len(SEQUENCES) >= 60
    assert sum(len(s.steps) for s in SEQUENCES) >= 300
    assert len(set(names)) == len(names)
    assert all(len(s.steps) >= 3 for s in SEQUENCES)
    assert len({s.category for s in SEQUENCES}) >= 15
    assert set(PROMISES) >= {"promise-cd", "promise-export", "promise-function"}
    # what needs a keyboard or a screen is listed apart, never run here
    tty_only = {text for _, text in TTY_ONLY}
    assert not any(step in tty_only for s in SEQUENCES for step in s.steps)


@pytest.mark.pty
def test_the_ground_truth_agrees_with_itself(measured):
    """The harness is honest: a second persistent bash gives the same answer on every step of
    every sequence, so nothing in the corpus depends on timing, process ids or the run."""
    fig = measured.figure(AGAIN)
    assert fig.matched == fig.total, mismatch_report(fig)
    assert all(m == t for m, t in fig.by_sequence.values())


@pytest.mark.pty
def test_http_figures_are_reported(measured, record_property, capsys):
    figures = [measured.figure(name) for name in TRANSPORTS]
    for fig in figures:
        record_property(f"fidelity_{fig.transport}_percent", round(fig.percent, 1))
        record_property(f"fidelity_{fig.transport}_steps", f"{fig.matched}/{fig.total}")
    with capsys.disabled():
        print(f"\n\nbash fidelity ({len(measured.sequences)} sequences, "
              f"{figures[0].total} steps, {measured.seconds:.1f}s)")
        print(table(figures))
        print(category_table(figures))
    assert all(0 < fig.matched < fig.total for fig in figures if fig.transport in HTTP_MODES)


@pytest.mark.pty
def test_http_matches_the_shell_on_most_steps(measured):
    """Issue 14: over HTTP at least 90 % of the corpus's steps match one persistent bash -i."""
    fig = measured.figure("http")
    assert fig.percent >= HTTP_BAR, mismatch_report(fig, limit=40)


@pytest.mark.pty
@pytest.mark.parametrize("sequence", PROMISES)
def test_what_bash_mode_promises_matches_over_http(measured, sequence):
    """cd persists, exported and shell variables persist, functions and aliases persist."""
    fig = measured.figure("http")
    matched, total = fig.by_sequence[sequence]
    mine = [m for m in fig.mismatches if m.sequence == sequence]
    assert matched == total, mismatch_report(Figure(fig.transport, mismatches=mine))


@pytest.mark.pty
def test_stateless_is_further_from_a_shell_than_stateful(measured):
    http, stateless = measured.figure("http"), measured.figure("stateless")
    assert stateless.percent < http.percent
    # and it loses exactly what a session carries
    assert stateless.by_category["promises"][0] < stateless.by_category["promises"][1]


@pytest.mark.pty
@pytest.mark.parametrize("transport", [name for name in TRANSPORTS if name not in HTTP_MODES])
def test_a_persistent_transport_matches_the_shell(measured, transport):
    """The issue's bar for live mode: at least 97 % of steps match a persistent bash -i."""
    fig = measured.figure(transport)
    assert fig.percent >= LIVE_BAR, mismatch_report(fig, limit=40)
