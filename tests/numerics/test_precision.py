"""Precision floors: values under eps * scale are reported as below precision."""

import sys

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from optverify.numerics.precision import (
    BELOW_PRECISION,
    describe_number,
    machine_epsilon,
    mp_epsilon,
    reportable,
    resolve,
)


def test_machine_epsilon_matches_numpy():
    assert machine_epsilon("float32") == np.finfo(np.float32).eps
    assert machine_epsilon("torch.float64") == np.finfo(np.float64).eps
    with pytest.raises(ValueError, match="unknown floating dtype"):
        machine_epsilon("int8")


def test_value_below_the_float32_floor_is_not_a_number():
    resolved = resolve(1e-9, scale=1.0, dtype="float32")
    assert resolved.below_precision and resolved.describe() == BELOW_PRECISION
    assert resolved.floor == pytest.approx(16 * np.finfo(np.float32).eps)


def test_same_value_is_resolved_in_float64():
    resolved = resolve(1e-9, scale=1.0, dtype="float64")
    assert resolved.value == 1e-9 and not resolved.below_precision


def test_floor_scales_with_the_magnitude_of_the_terms():
    assert resolve(1e-3, scale=1e6, dtype="float32").below_precision
    assert not resolve(1e-3, scale=1.0, dtype="float32").below_precision


def test_non_finite_is_refused():
    with pytest.raises(ValueError, match="non-finite"):
        resolve(float("nan"), 1.0, "float64")


# -- mpmath floors stay mpmath numbers (issue 19, item 5) ----------------------------------------


@pytest.mark.parametrize("digits", [10, 50, 323, 324, 500, 2000])
def test_mp_epsilon_is_positive_at_every_precision(digits):
    epsilon = mp_epsilon(digits)
    assert isinstance(epsilon, mpmath.mpf) and epsilon > 0
    with mpmath.workdps(digits + 5):
        assert abs(epsilon * mpmath.mpf(10) ** digits - 1) < mpmath.mpf(10) ** -(digits - 2)


def test_a_floor_beyond_float_range_is_a_string_never_zero():
    with mpmath.workdps(2000):
        floor = mpmath.mpf(10) ** -1990
        assert float(floor) == 0.0  # what a float would have made of it
        assert reportable(floor) == "1.0e-1990"
        assert describe_number(floor, 2) == "1.0e-1990"
        assert reportable(mpmath.mpf(10) ** 400) == "1.0e+400"


def test_numbers_a_float_holds_are_reported_as_before():
    assert reportable(mpmath.mpf("1e-40")) == 1e-40 and reportable(0) == 0.0
    assert reportable(mpmath.inf) == float("inf") and reportable(2.5) == 2.5
    assert describe_number(mpmath.mpf("1.23456e-45")) == format(1.23456e-45, ".3g")


@given(st.integers(min_value=-4000, max_value=4000), st.integers(min_value=1, max_value=9))
def test_reportable_keeps_the_magnitude(exponent, mantissa):
    with mpmath.workdps(30):
        value = mantissa * mpmath.mpf(10) ** exponent
        shown = reportable(value)
        if sys.float_info.min <= value <= sys.float_info.max:
            assert shown == float(value)
        else:
            assert isinstance(shown, str) and mpmath.almosteq(mpmath.mpf(shown), value,
                                                              rel_eps=mpmath.mpf(10) ** -5)
