"""Tests of the `saddle-points` claim: sympy step maps against mpmath and torch twins, GD iterates
and escape counts against their closed forms, the random field's derivatives against autograd,
hypothesis properties of Newton and saddle-free Newton at random saddles, and bad input."""

from __future__ import annotations

import numpy as np
import pytest
import sympy
import torch
from hypothesis import given
from mpmath import mp

from optverify.kit import Layer, RunConfig, Session, Verdict, run_layer
from optverify.theorems.saddle_points import CLAIM, experiment, numeric, statement
from optverify.theorems.saddle_points.landscape import (
    gd_escape_steps_closed_form,
    newton_step,
    quadratic_gradient,
    random_quartic_fields,
    saddle_free_newton_step,
)
from optverify.verify.runner import run_claim
from tests.strategies import quadratic_saddles

DIGITS = 40
MP_FLOOR = 10.0 ** -(DIGITS - 10)
FLOAT64_TOLERANCE = 1e3 * np.finfo(np.float64).eps
"""1000 ulps: the rounding of a d <= 6 solve or eigen-decomposition with condition number <= 100."""


def test_symbolic_layer_is_consistent():
    result = run_layer(statement.verify, Layer.SYMBOLIC, RunConfig())
    assert all(check.verdict is Verdict.CONSISTENT for check in result.checks)


def test_sympy_gd_step_rejects_a_wrong_closed_form():
    s = statement
    wrong = {s.X: (1 - s.ETA * s.A / 2) ** s.STEP * s.X, s.Y: (1 + s.ETA * s.B) ** s.STEP * s.Y}
    stepped = s.gd_map(s.quadratic_saddle(), (s.X, s.Y)).subs(wrong, simultaneous=True)
    assert sympy.simplify(stepped[0] - (1 - s.ETA * s.A / 2) ** (s.STEP + 1) * s.X) != 0


def test_sympy_newton_does_not_land_in_one_step_off_a_quadratic():
    image = statement.newton_map(statement.deep_linear_loss(), (statement.W1, statement.W2))
    at = {statement.W1: sympy.Rational(1, 5), statement.W2: sympy.Rational(3, 20)}
    assert sympy.simplify(image.subs(at)) != sympy.zeros(2, 1)


def test_sympy_and_mpmath_deep_linear_derivatives_agree():
    loss = statement.deep_linear_loss()
    variables = (statement.W1, statement.W2)
    gradient = sympy.Matrix([loss]).jacobian(sympy.Matrix(variables)).T
    hessian = sympy.hessian(loss, variables)
    with mp.workdps(DIGITS):
        for w1, w2 in ((0.3, -0.7), (1.2, 0.4), (0.0, 2.0)):
            g, h = numeric.deep_linear_oracle(mp.matrix([w1, w2]))
            at = {statement.W1: sympy.Float(w1, DIGITS), statement.W2: sympy.Float(w2, DIGITS)}
            assert max(abs(g[i] - mp.mpf(str(gradient[i].subs(at).evalf(DIGITS))))
                       for i in range(2)) < MP_FLOOR
            assert max(abs(h[i, j] - mp.mpf(str(hessian[i, j].subs(at).evalf(DIGITS))))
                       for i in range(2) for j in range(2)) < MP_FLOOR


def test_mpmath_gd_matches_the_sympy_closed_form():
    a, b, eta, steps = "1.5", "0.7", "0.1", 25
    closed = {statement.X: (1 - statement.ETA * statement.A) ** statement.STEP * statement.X,
              statement.Y: (1 + statement.ETA * statement.B) ** statement.STEP * statement.Y}
    values = {statement.A: sympy.Rational(3, 2), statement.B: sympy.Rational(7, 10),
              statement.ETA: sympy.Rational(1, 10), statement.STEP: steps,
              statement.X: sympy.Rational(7, 10), statement.Y: sympy.Rational(-3, 10)}
    with mp.workdps(DIGITS):
        point = mp.matrix([mp.mpf("0.7"), mp.mpf("-0.3")])
        for _ in range(steps):
            point = numeric.gd_step(numeric.quadratic_oracle(mp.mpf(a), mp.mpf(b)), point,
                                    mp.mpf(eta))
        for i, variable in enumerate((statement.X, statement.Y)):
            exact = mp.mpf(str(closed[variable].subs(values).evalf(DIGITS)))
            assert abs(point[i] - exact) < MP_FLOOR


def test_torch_escape_steps_match_the_closed_form_and_mpmath():
    setup = experiment.ExperimentConfig.quick()
    runs = experiment.escape_runs(setup, Session(RunConfig(), Layer.EXPERIMENT))
    assert np.array_equal(runs.gd, runs.closed_form)
    assert np.array_equal(runs.saddle_free[:, 0, 0],
                          np.ceil(np.log2(setup.radius / np.array(setup.distances))))
    with mp.workdps(DIGITS):
        oracle = numeric.quadratic_oracle(mp.one, mp.mpf(setup.curvatures[0]))
        start = mp.matrix([mp.one, mp.mpf(setup.distances[0])])
        steps = numeric.steps_to_leave(lambda p: numeric.gd_step(oracle, p, mp.mpf(setup.etas[0])),
                                       start, setup.radius, measure=lambda p: abs(p[1]))
    assert steps == runs.gd[0, 0, 0]


def test_random_field_derivatives_match_autograd():
    fields = random_quartic_fields(3, 4, torch.Generator().manual_seed(1), torch.float64, "cpu",
                                   field_scale=2.0)
    point = torch.randn(3, 5, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    point.requires_grad_(True)
    gradient = torch.autograd.grad(fields.value(point).sum(), point)[0]
    assert torch.allclose(gradient, fields.gradient(point.detach()), rtol=1e-12, atol=1e-10)
    hessian = torch.autograd.functional.hessian(
        lambda x: fields.value(x.view(1, 1, 4).expand(3, 1, 4))[0, 0], point.detach()[0, 0])
    assert torch.allclose(hessian, fields.hessian(point.detach()[:, :1])[0, 0], atol=1e-10)


def test_found_critical_points_have_valid_indices():
    setup = experiment.ExperimentConfig.quick()
    found = experiment.find_critical_points(setup, Session(RunConfig(), Layer.EXPERIMENT), 3)
    assert found.loss.size > 0
    assert set(np.unique(found.index * 3)) <= {0.0, 1.0, 2.0, 3.0}


@given(quadratic_saddles())
def test_newton_lands_on_the_critical_point_of_a_quadratic(saddle):
    hessian, eigenvalues, _, start = saddle
    h, x = torch.tensor(hessian), torch.tensor(start)
    after = newton_step(x, h @ x, h)
    condition = np.abs(eigenvalues).max() / np.abs(eigenvalues).min()
    assert float(after.norm()) <= FLOAT64_TOLERANCE * condition * np.linalg.norm(start)


@given(quadratic_saddles())
def test_saddle_free_newton_never_approaches_along_negative_curvature(saddle):
    hessian, eigenvalues, rotation, start = saddle
    h, x = torch.tensor(hessian), torch.tensor(start)
    after = saddle_free_newton_step(x, h @ x, h).numpy()
    before_coordinates, after_coordinates = rotation.T @ start, rotation.T @ after
    negative = eigenvalues < 0
    condition = np.abs(eigenvalues).max() / np.abs(eigenvalues).min()
    slack = FLOAT64_TOLERANCE * condition * np.linalg.norm(start)
    assert np.all(np.abs(after_coordinates[negative])
                  >= 2 * np.abs(before_coordinates[negative]) - slack)
    assert np.all(np.abs(after_coordinates[~negative]) <= slack)


def test_bad_input_raises():
    with pytest.raises(ValueError, match="eta"):
        gd_escape_steps_closed_form(1e-3, 0.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="d >= 2"):
        quadratic_gradient(torch.ones(1), torch.ones(1))
    with pytest.raises(ValueError, match="d >= 2"):
        random_quartic_fields(2, 1, torch.Generator(), torch.float64, "cpu")
    with pytest.raises(ValueError, match="finite"):
        newton_step(torch.tensor([float("nan"), 1.0]), torch.ones(2), torch.eye(2))
    with pytest.raises(ValueError, match="finite"):
        saddle_free_newton_step(torch.ones(2), torch.tensor([1.0, float("inf")]), torch.eye(2))
    with pytest.raises(ValueError, match="eta"):
        numeric.gd_step(numeric.double_well_oracle, mp.matrix([0.1, 0.1]), -0.1)
    with pytest.raises(ValueError, match="eta"):
        experiment.ExperimentConfig((1e-3,), (-0.1,), (0.5,), (2,), 10, (2,), 1, 1, 1)
    with pytest.raises(ValueError, match="d >= 2"):
        experiment.ExperimentConfig((1e-3,), (0.1,), (0.5,), (1,), 10, (2,), 1, 1, 1)


def test_quick_run_verdict_as_measured():
    result = run_claim(CLAIM, RunConfig(quick=True))
    # Under the negative-control rules (issue 9) Newton's order on the double well, fitted on 3
    # points, cannot reject order 1.75: inconclusive; every other decisive check holds.
    failing = [(c.name, c.detail) for c in result.checks
               if c.decisive and c.verdict is not Verdict.CONSISTENT]
    assert [name for name, _ in failing] == ["newton-order-double-well"], failing


@pytest.mark.slow
def test_full_run_has_no_errors():
    result = run_claim(CLAIM, RunConfig())
    assert not [c.name for c in result.checks if c.verdict is Verdict.ERROR]
