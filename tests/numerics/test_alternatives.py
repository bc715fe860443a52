"""The kit's false-alternative runs: their closed forms, float arrays against mpmath twins."""

import math

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from optverify.numerics import alternatives


def test_a_stopped_run_repeats_its_start_for_arrays_and_mpmath():
    losses = np.array([[2.0, 3.0], [1.0, 1.5], [0.5, 0.7]])
    stopped = alternatives.stopped_run(losses)
    assert stopped.tolist() == [[2.0, 3.0]] * 3
    stopped[1, 0] = 9.0  # a new array, not a view of the input
    assert losses[1, 0] == 1.0
    assert alternatives.stopped_run([mpmath.mpf(4), mpmath.mpf(1)]) == (4, 4)


@given(st.floats(1e-12, 0.5), st.integers(2, 40))
def test_float_runs_match_their_mpmath_twins(decrease, count):
    start = np.array([1.0, 2.5])
    geometric = alternatives.geometric_run(start, np.array([decrease] * 2), count)
    sublinear = alternatives.sublinear_run(start, np.array([decrease] * 2), count)
    with mpmath.workdps(40):
        exact_geometric = alternatives.geometric_run(mpmath.mpf(2.5), mpmath.mpf(decrease), count)
        exact_sublinear = alternatives.sublinear_run(mpmath.mpf(2.5), mpmath.mpf(decrease), count)
    assert geometric.shape == sublinear.shape == (count, 2)
    assert geometric[:, 1] == pytest.approx([float(v) for v in exact_geometric], rel=1e-12)
    assert sublinear[:, 1] == pytest.approx([float(v) for v in exact_sublinear], rel=1e-13)
    assert geometric[0, 0] == sublinear[0, 0] == 1.0


def test_the_sublinear_run_is_slower_than_the_geometric_one_after_the_start():
    geometric = alternatives.geometric_run(np.array([1.0]), np.array([0.1]), 50)
    sublinear = alternatives.sublinear_run(np.array([1.0]), np.array([0.1]), 50)
    assert np.all(sublinear[2:] > geometric[2:])


def test_power_laws_through_the_first_and_the_end_points():
    x = np.array([1.0, 2.0, 4.0, 8.0])
    log_y = np.log(np.array([3.0, 1.0, 0.9, 0.375]))
    through = alternatives.log_power_law_through(x, log_y, -2.0)
    assert np.exp(through) == pytest.approx(3.0 * x**-2.0)
    ends = alternatives.log_power_law_through_end_points(x, log_y)
    assert ends[0] == pytest.approx(log_y[0]) and ends[-1] == pytest.approx(log_y[-1])
    assert np.diff(ends) / np.diff(np.log(x)) == pytest.approx([math.log(0.125) / math.log(8)] * 3)
