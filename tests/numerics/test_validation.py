"""The shared argument checks: what each accepts, what it refuses, and the message it gives."""

import math

import mpmath
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from mpmath import mp

from optverify.numerics.validation import (
    require,
    require_between,
    require_depth,
    require_finite,
    require_int,
    require_non_negative,
    require_one_of,
    require_positive,
    require_shape,
    require_widths,
)


def test_require_raises_its_message_only_when_the_condition_fails():
    def never() -> str:
        raise AssertionError("a message built for a check that passed")

    require(True, "never")
    require(True, never)
    with pytest.raises(ValueError, match="^the message$"):
        require(False, "the message")
    with pytest.raises(ValueError, match="^built$"):
        require(False, lambda: "built")


@pytest.mark.parametrize("value", [3, np.int64(3), 2**70])
def test_integers_are_accepted(value):
    require_int("n", value, minimum=1, maximum=2**80)


@pytest.mark.parametrize("value, message", [
    (2.0, "n must be an integer, got 2.0"), (True, "n must be an integer, got True"),
    ("2", "n must be an integer, got '2'"), (0, "n must be at least 1, got 0"),
    (11, "n must be at most 10, got 11"),
])
def test_non_integers_and_out_of_range_integers_are_refused(value, message):
    with pytest.raises(ValueError, match=f"^{message}$"):
        require_int("n", value, minimum=1, maximum=10)


def test_depth_needs_two_layers_or_the_claims_minimum():
    require_depth(2)
    with pytest.raises(ValueError, match="^depth N must be at least 2, got 1$"):
        require_depth(1)
    with pytest.raises(ValueError, match="^the deeper net's depth N must be at least 3, got 2$"):
        require_depth(2, "the deeper net's depth N", minimum=3)


@pytest.mark.parametrize("value", [0.5, 1, np.float32(2), mp.mpf(10) ** -400, mp.mpf(10) ** 400,
                                   np.array([1.0, 2.0]), torch.tensor([[1e-300]], dtype=torch.float64),
                                   mpmath.matrix([[1, 2]])])
def test_positive_values_and_entries_pass(value):
    require_positive("x", value)
    require_non_negative("x", value)
    require_finite("x", value)


@pytest.mark.parametrize("value", [0.0, -1, math.inf, math.nan, True, "1", None, mp.mpf("-inf"),
                                   np.array([1.0, 0.0]), torch.tensor([1.0, math.nan])])
def test_non_positive_non_finite_and_non_numbers_are_not_positive(value):
    with pytest.raises(ValueError, match="^eta must be a positive finite number, got "):
        require_positive("eta", value)


def test_zero_is_non_negative_but_a_negative_entry_is_not():
    require_non_negative("eta", 0.0)
    require_non_negative("eta", torch.zeros(3))
    with pytest.raises(ValueError, match=r"^eta must be a finite non-negative number, got "
                                         r"\[0.0, -1e-300\]$"):
        require_non_negative("eta", np.array([0.0, -1e-300]))
    with pytest.raises(ValueError, match=r"got an array of shape \(3, 3\)$"):
        require_non_negative("eta", -torch.ones(3, 3))


def test_finite_names_the_argument_and_the_value_or_the_entries():
    with pytest.raises(ValueError, match="^s must be finite, got inf$"):
        require_finite("s", math.inf)
    with pytest.raises(ValueError, match="^W_e has non-finite entries$"):
        require_finite("W_e", torch.tensor([[1.0, math.inf]]))
    with pytest.raises(ValueError, match="^W_e has non-finite entries$"):
        require_finite("W_e", mpmath.matrix([[1, mp.nan]]))
    require_finite("nothing", torch.empty(0))


def test_intervals_are_open_unless_closed_and_may_be_unbounded():
    require_between("q", 0.75, 0.5, 1)
    require_between("rho", 0.0, 0, 1, low_closed=True)
    require_between("u", mp.mpf(2), 0, None)
    for value in (0.5, 1.0, math.nan):
        with pytest.raises(ValueError, match=r"^q must lie in \(0.5, 1\), got "):
            require_between("q", value, 0.5, 1)
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\)"):
        require_between("rho", np.array([0.5, 1.0]), 0, 1, low_closed=True)


def test_one_of_and_shapes():
    require_one_of("loss", "mse", ("mse", "logistic"))
    with pytest.raises(ValueError, match="^loss must be one of mse, logistic, got 'hinge'$"):
        require_one_of("loss", "hinge", ("mse", "logistic"))
    require_shape("W", torch.zeros(3, 4), (3, None))
    with pytest.raises(ValueError, match=r"^W must have shape \(3 x any\), got \(4, 3\)$"):
        require_shape("W", np.zeros((4, 3)), (3, None))
    with pytest.raises(ValueError, match=r"got \(3,\)"):
        require_shape("W", np.zeros(3), (3, None))


def test_widths_need_depth_two_and_positive_integers():
    require_widths("the widths", (3, 4, 2))
    with pytest.raises(ValueError, match=r"^the widths must list d_0..d_N for depth N >= 2, got "
                                         r"\(3, 2\)$"):
        require_widths("the widths", (3, 2))
    with pytest.raises(ValueError, match="^each of the widths must be at least 1, got 0$"):
        require_widths("the widths", (3, 0, 2))


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_the_sign_checks_agree_with_their_definitions(value):
    for check, holds in ((require_positive, math.isfinite(value) and value > 0),
                         (require_non_negative, math.isfinite(value) and value >= 0),
                         (require_finite, math.isfinite(value))):
        for form in (value, np.float64(value), mp.mpf(value),
                     torch.tensor([value, 1.0], dtype=torch.float64)):
            if holds:
                check("x", form)
            else:
                with pytest.raises(ValueError):
                    check("x", form)
