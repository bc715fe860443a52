"""Precision floors: values under eps * scale are reported as below precision."""

import numpy as np
import pytest

from optverify.numerics.precision import BELOW_PRECISION, machine_epsilon, resolve


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
