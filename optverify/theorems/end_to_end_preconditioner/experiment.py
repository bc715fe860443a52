"""Experiment layer: gradient descent on deep linear networks against the end-to-end rule of
Theorem 1 of Arora, Cohen, Hazan (2018), arXiv:1802.06509 (Eq. 10, discrete form).

Three measurements, all batched over random balanced initializations (Procedure 1 of
arXiv:1810.02281, hidden spaces mixed by random rotations so the factors are dense):
1. one GD step of the factors, mapped to W_e, minus one step of the end-to-end rule: claimed
   O(eta^2) and tight (the eta^2 cross terms of the product do not vanish), fitted per depth;
2. the end-to-end trajectory of GD from the same balanced W_e at several hidden widths: equal up to
   float rounding (a control embeds the same W_e unbalanced, where the trajectories differ);
3. the gap between the layer-wise velocity and Theorem 1 once balancedness is broken, against
   max_j ||C_j||_F, C_j = W_{j+1}^T W_{j+1} - W_j W_j^T (first-order perturbation: slope 1; a
   derived statement, not the paper's, so reported but not decisive).
Loss: L^1(W) = ||W - Phi||_F^2 / 2, Phi Gaussian.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy
import torch

from optverify.claim import Bound, BoundKind, Layer, Progress, RunConfig
from optverify.figures import rate_panel
from optverify.numerics.deep_linear import (
    balanced_factors,
    balancedness_gaps,
    end_to_end,
    gradient_descent_step,
    layer_gradients,
)
from optverify.numerics.fit import fit_power_law
from optverify.numerics.haar import haar_orthogonal
from optverify.numerics.precision import BELOW_PRECISION, machine_epsilon, resolve
from optverify.theorems.end_to_end_preconditioner.preconditioner import (
    end_to_end_step,
    end_to_end_velocity,
    layerwise_velocity,
    rotate_hidden,
)
from optverify.results import Check, Figure, LayerResult, Panel, Series, Table, Verdict
from optverify.verdict import identity_check, rate_check

STEP_BOUND = Bound(BoundKind.TIGHT, "eta", exponent=sympy.Integer(2))
IMBALANCE_BOUND = Bound(BoundKind.TIGHT, "max_j ||C_j||", exponent=sympy.Integer(1))
HORIZON_BOUND = Bound(BoundKind.TIGHT, "eta", exponent=sympy.Integer(1))


@dataclass(frozen=True)
class ExperimentConfig:
    """Sizes of the three measurements; `quick` and `full` are the presets.

    step_shapes: (rows, cols, depth) of W_e for the one-step error, hidden widths rank + 1.
    instances: random balanced inits per shape (a leading batch dimension).
    etas: step sizes (a second batch dimension); weight_decay: lambda in all GD steps.
    widths: hidden widths of the width-independence run (depth width_depth, target 3 x 2).
    trajectory_steps, trajectory_eta: GD steps and step size of that run.
    imbalance_scales: sizes delta of the perturbation that breaks balancedness.
    horizon_etas: step sizes of the fixed-time comparison (T = horizon / eta steps of GD and of
        the end-to-end rule from the same W_e); drift_scales: delta of its unbalanced runs, which
        use the smallest horizon eta.
    """

    step_shapes: tuple[tuple[int, int, int], ...]
    instances: int
    etas: tuple[float, ...]
    weight_decay: float
    widths: tuple[int, ...]
    width_depth: int
    trajectory_steps: int
    trajectory_eta: float
    imbalance_scales: tuple[float, ...]
    horizon: float
    horizon_etas: tuple[float, ...]
    drift_scales: tuple[float, ...]

    def __post_init__(self) -> None:
        steps = (*self.etas, self.trajectory_eta, *self.horizon_etas)
        if not all(np.isfinite(eta) and eta > 0 for eta in steps):
            raise ValueError("every step size eta must be a positive finite number")
        if self.weight_decay < 0:
            raise ValueError(f"weight decay must be >= 0, got {self.weight_decay}")
        if any(depth < 2 for _, _, depth in self.step_shapes) or self.width_depth < 2:
            raise ValueError("a deep linear network needs depth N >= 2")
        if min(self.widths) < 2:
            raise ValueError("hidden widths must be >= 2, the rank of the 3 x 2 target")
        if self.instances < 1 or self.horizon <= 0:
            raise ValueError("instances must be >= 1 and the horizon positive")

    @classmethod
    def quick(cls) -> ExperimentConfig:
        return cls(
            step_shapes=((3, 2, 2), (2, 3, 3), (3, 3, 4), (2, 2, 6)),
            instances=8,
            etas=tuple(np.geomspace(1e-4, 1e-2, 5)),
            weight_decay=0.1,
            widths=(2, 3, 5, 8),
            width_depth=3,
            trajectory_steps=60,
            trajectory_eta=0.05,
            imbalance_scales=tuple(np.geomspace(1e-7, 1e-2, 6)),
            horizon=1.0,
            horizon_etas=(0.02, 0.01, 0.005, 0.0025),
            drift_scales=(1e-3, 1e-2, 1e-1),
        )

    @classmethod
    def full(cls) -> ExperimentConfig:
        return cls(
            step_shapes=((3, 2, 2), (2, 3, 3), (3, 3, 4), (4, 2, 5), (2, 2, 6)),
            instances=64,
            etas=tuple(np.geomspace(1e-4, 1e-2, 11)),
            weight_decay=0.1,
            widths=(2, 3, 5, 8, 16, 32),
            width_depth=4,
            trajectory_steps=400,
            trajectory_eta=0.05,
            imbalance_scales=tuple(np.geomspace(1e-8, 1e-2, 13)),
            horizon=1.0,
            horizon_etas=tuple(0.02 / 2**k for k in range(7)),
            drift_scales=tuple(np.geomspace(1e-4, 1e-1, 7)),
        )

    @classmethod
    def for_run(cls, config: RunConfig) -> ExperimentConfig:
        return cls.quick() if config.quick else cls.full()


def _gaussian(config: RunConfig, generator: torch.Generator, *shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=generator, dtype=config.torch_dtype, device=config.device)


def dense_balanced_factors(target, hidden, generator, config: RunConfig):
    """Procedure 1 at the given hidden widths, hidden spaces mixed by random rotations."""
    batch = target.shape[:-2]
    rotations = [haar_orthogonal(width, generator, batch, config.torch_dtype, config.device)
                 for width in hidden]
    return rotate_hidden(balanced_factors(target, hidden), rotations)


def one_step_errors(config: RunConfig, shape, settings: ExperimentConfig, generator):
    """||prod_j (W_j - eta (lambda W_j + dL/dW_j)) - (W_e + eta V_thm1)||_F, shape
    (etas, instances), with the scale ||W_e||_F + ||Phi||_F of each instance."""
    rows, cols, depth = shape
    batch = settings.instances
    target = _gaussian(config, generator, batch, rows, cols)
    phi = _gaussian(config, generator, batch, rows, cols)
    hidden = [min(rows, cols) + 1] * (depth - 1)
    factors = dense_balanced_factors(target, hidden, generator, config)
    w_e = end_to_end(factors)
    grad = w_e - phi
    layer_grads = layer_gradients(factors, grad)
    eta = torch.tensor(settings.etas, dtype=config.torch_dtype, device=config.device)
    eta = eta.view(-1, 1, 1, 1)
    lam = settings.weight_decay
    stepped = [w.unsqueeze(0) - eta * (lam * w + g) for w, g in zip(factors, layer_grads)]
    rule = end_to_end_step(w_e, grad, depth, eta, lam)
    errors = torch.linalg.matrix_norm(end_to_end(stepped) - rule)
    scale = torch.linalg.matrix_norm(w_e) + torch.linalg.matrix_norm(phi)
    return errors.cpu().numpy(), scale.cpu().numpy()


def _step_check(config, shape, errors, scales, settings):
    rows, cols, depth = shape
    resolved = np.array([[resolve(float(e), float(s), config.dtype).value is not None
                          for e, s in zip(row, scales)] for row in errors])
    keep = resolved.all(axis=1)
    etas = np.array(settings.etas)
    statement = (
        f"N = {depth}, W_e {rows}x{cols}: ||one GD step of the factors mapped to W_e - one step "
        "of the end-to-end rule||_F = Theta(eta^2) (geometric mean over "
        f"{settings.instances} balanced inits, weight decay {settings.weight_decay:g})"
    )
    name = f"gd-step-vs-end-to-end-rule-n{depth}"
    if keep.sum() < 3:
        check = Check(Layer.EXPERIMENT, name, statement, Verdict.INCONCLUSIVE,
                      detail=f"only {int(keep.sum())} step sizes resolve the error above "
                      f"{config.dtype} rounding", values={"error_at_smallest_eta": BELOW_PRECISION})
        return check, None
    geometric_mean = np.exp(np.log(errors[keep]).mean(axis=1))
    fit = fit_power_law(etas[keep], geometric_mean)
    per_instance = [fit_power_law(etas[keep], errors[keep][:, i]).exponent
                    for i in range(errors.shape[1])]
    check = rate_check(
        Layer.EXPERIMENT, name, statement, fit, STEP_BOUND,
        values={"instance_exponent_min": min(per_instance),
                "instance_exponent_max": max(per_instance),
                "error_over_eta2_at_smallest_eta": float(geometric_mean[0] / etas[keep][0] ** 2),
                "step_sizes_below_precision": int((~keep).sum())},
    )
    panel = rate_panel(f"N = {depth}, W_e {rows}x{cols}", "step size eta",
                       "||GD step - end-to-end step||_F", etas[keep], geometric_mean, fit,
                       STEP_BOUND, measured_label="geometric mean over inits")
    return check, panel


def gd_trajectory(factors, phi, eta: float, steps: int) -> torch.Tensor:
    """W_e(t) for t = 0..steps under GD on ||W_e - Phi||^2 / 2, stacked (steps + 1, rows, cols)."""
    path = [end_to_end(factors)]
    for _ in range(steps):
        factors = gradient_descent_step(factors, lambda w: w - phi, eta)
        path.append(end_to_end(factors))
    return torch.stack(path)


def width_trajectories(config: RunConfig, settings: ExperimentConfig, generator, balanced: bool):
    """End-to-end trajectories from one W_e (3 x 2) at every hidden width; when not balanced, the
    extra hidden units get non-zero input weights (W_1 rows) while their output weights stay 0, so
    W_e(0) is the same but the factors are unbalanced."""
    target = _gaussian(config, generator, 3, 2)
    phi = _gaussian(config, generator, 3, 2)
    paths = []
    for width in settings.widths:
        hidden = [width] * (settings.width_depth - 1)
        factors = balanced_factors(target, hidden)
        if not balanced and width > 2:
            factors[0] = factors[0].clone()
            factors[0][2:, :] = _gaussian(config, generator, width - 2, 2)
        rotations = [haar_orthogonal(w, generator, (), config.torch_dtype, config.device)
                     for w in hidden]
        factors = rotate_hidden(factors, rotations)
        paths.append(gd_trajectory(factors, phi, settings.trajectory_eta,
                                   settings.trajectory_steps))
    reference = paths[0]
    spread = torch.stack([torch.linalg.matrix_norm(path - reference) for path in paths[1:]])
    scale = float(torch.linalg.matrix_norm(torch.stack(paths)).max())
    return spread.amax(dim=0).cpu().numpy(), scale


def width_tolerance(config: RunConfig, settings: ExperimentConfig, scale: float) -> float:
    """Rounding floor of a GD trajectory: each step's matrix products carry at most
    (depth * max width) * eps relative error (the standard bound for inner products of that
    length), accumulated at most linearly over the steps while GD contracts towards Phi."""
    eps = machine_epsilon(config.dtype)
    return (settings.trajectory_steps * settings.width_depth * max(settings.widths)
            * eps * scale)


def imbalance_gaps(config: RunConfig, settings: ExperimentConfig, generator):
    """(max_j ||C_j||_F, |layer-wise velocity - Theorem 1|_F / |Theorem 1|_F), each of shape
    (scales, instances), for balanced factors plus delta * Gaussian perturbations (W_e 3 x 3,
    N = 3, widths 3)."""
    batch, depth = settings.instances, 3
    target = _gaussian(config, generator, batch, 3, 3)
    phi = _gaussian(config, generator, batch, 3, 3)
    factors = dense_balanced_factors(target, [3] * (depth - 1), generator, config)
    delta = torch.tensor(settings.imbalance_scales, dtype=config.torch_dtype, device=config.device)
    delta = delta.view(-1, 1, 1, 1)
    perturbed = [w + delta * _gaussian(config, generator, batch, *w.shape[-2:]) for w in factors]
    w_e = end_to_end(perturbed)
    grad = w_e - phi
    layerwise = layerwise_velocity(perturbed, layer_gradients(perturbed, grad))
    formula = end_to_end_velocity(w_e, grad, depth)
    gap = torch.linalg.matrix_norm(layerwise - formula) / torch.linalg.matrix_norm(formula)
    imbalance = torch.stack([torch.linalg.matrix_norm(c) for c in balancedness_gaps(perturbed)])
    return imbalance.amax(dim=0).cpu().numpy(), gap.cpu().numpy()


def _horizon_instances(config: RunConfig, settings: ExperimentConfig, generator):
    """Balanced dense factors (W_e 3 x 3, N = 3, widths 3) and targets Phi, batched over inits."""
    batch = settings.instances
    target = _gaussian(config, generator, batch, 3, 3)
    phi = _gaussian(config, generator, batch, 3, 3)
    return dense_balanced_factors(target, [3, 3], generator, config), phi


def fixed_time_gap(factors, phi, eta: float, steps: int) -> torch.Tensor:
    """||W_e^GD(T) - W_e^rule(T)||_F after `steps` steps of GD on the factors and of the end-to-end
    rule (explicit Euler of Theorem 1) from the same W_e(0), loss ||W - Phi||^2 / 2."""
    depth = len(factors)
    rule = end_to_end(factors)
    for _ in range(steps):
        factors = gradient_descent_step(factors, lambda w: w - phi, eta)
        rule = end_to_end_step(rule, rule - phi, depth, eta)
    return torch.linalg.matrix_norm(end_to_end(factors) - rule)


def horizon_gaps(config: RunConfig, settings: ExperimentConfig, generator):
    """Balanced inits: the fixed-time gap for each horizon eta, shape (etas, instances)."""
    factors, phi = _horizon_instances(config, settings, generator)
    return np.stack([
        fixed_time_gap(factors, phi, eta, round(settings.horizon / eta)).cpu().numpy()
        for eta in settings.horizon_etas
    ])


def drift_gaps(config: RunConfig, settings: ExperimentConfig, generator):
    """Unbalanced inits (balanced + delta * Gaussian): (max_j ||C_j(0)||_F, fixed-time gap), each
    (deltas, instances), at the smallest horizon eta."""
    factors, phi = _horizon_instances(config, settings, generator)
    delta = torch.tensor(settings.drift_scales, dtype=config.torch_dtype, device=config.device)
    delta = delta.view(-1, 1, 1, 1)
    perturbed = [w + delta * _gaussian(config, generator, *w.shape) for w in factors]
    imbalance = torch.stack([torch.linalg.matrix_norm(c) for c in balancedness_gaps(perturbed)])
    eta = min(settings.horizon_etas)
    gap = fixed_time_gap(perturbed, phi, eta, round(settings.horizon / eta))
    return imbalance.amax(dim=0).cpu().numpy(), gap.cpu().numpy()


def _horizon_checks(config, settings, generator):
    gaps = horizon_gaps(config, settings, generator)
    etas = np.array(settings.horizon_etas)
    y = np.exp(np.log(gaps).mean(axis=1))
    fit = fit_power_law(etas, y)
    check = rate_check(
        Layer.EXPERIMENT, "fixed-time-gap-gd-vs-end-to-end",
        f"balanced inits: at fixed time t = {settings.horizon:g} (T = t / eta steps) ||W_e^GD(T) - "
        "W_e^rule(T)||_F = Theta(eta) (T steps of O(eta^2); a consequence of the per-step claim, "
        f"so not decisive; N = 3, W_e 3x3, geometric mean over {settings.instances} inits)",
        fit, HORIZON_BOUND, decisive=False,
        values={"gap_over_eta_at_smallest_eta": float(y[np.argmin(etas)] / etas.min())},
    )
    imbalance, drift = drift_gaps(config, settings, generator)
    baseline = float(y[np.argmin(etas)])
    x_drift = np.exp(np.log(imbalance).mean(axis=1))
    y_drift = np.exp(np.log(drift).mean(axis=1))
    panel = Panel(
        f"Gap at t = {settings.horizon:g} (eta = {etas.min():g}) against imbalance",
        "max_j ||C_j(0)||_F", "||W_e^GD(T) - W_e^rule(T)||_F",
        (Series("unbalanced inits (geometric mean)", tuple(map(float, x_drift)),
                tuple(map(float, y_drift))),
         Series("balanced inits (C_j = 0)", (float(x_drift.min()), float(x_drift.max())),
                (baseline, baseline), "dashed")),
    )
    rows = (("0 (balanced)", f"{baseline:.3g}"),) + tuple(
        (f"{a:.3g}", f"{b:.3g}") for a, b in zip(x_drift, y_drift))
    table = Table("fixed-time-drift",
                  f"Gap between GD and the end-to-end rule at t = {settings.horizon:g}, "
                  f"eta = {etas.min():g}, next to the initial imbalance",
                  ("max_j ||C_j(0)||_F", "gap at t"), rows)
    step_panel = rate_panel("Balanced inits: gap at fixed time", "step size eta",
                            "||W_e^GD(T) - W_e^rule(T)||_F", etas, y, fit, HORIZON_BOUND,
                            measured_label="geometric mean over inits")
    figure = Figure("fixed-time-drift", "GD against the end-to-end rule at a fixed time",
                    (step_panel, panel), columns=2)
    return check, figure, table


def _width_checks(config, settings, generator):
    balanced_spread, scale = width_trajectories(config, settings, generator, balanced=True)
    unbalanced_spread, _ = width_trajectories(config, settings, generator, balanced=False)
    tolerance = width_tolerance(config, settings, scale)
    widths = ", ".join(map(str, settings.widths))
    balanced_check = identity_check(
        Layer.EXPERIMENT, "end-to-end-trajectory-width-independent",
        f"GD from one balanced W_e (3x2, N = {settings.width_depth}) at hidden widths {widths} "
        f"(random rotations of the hidden spaces): max over {settings.trajectory_steps} steps "
        "and widths of ||W_e^width(t) - W_e^first(t)||_F; equal up to float rounding",
        float(balanced_spread.max()), tolerance,
        values={"spread": resolve(float(balanced_spread.max()), scale, config.dtype).describe(),
                "scale": scale},
    )
    separated = float(unbalanced_spread.max()) > tolerance
    control = Check(
        Layer.EXPERIMENT, "width-control-unbalanced",
        "control: the same W_e(0) embedded unbalanced (extra hidden units with non-zero input and "
        "zero output weights) gives width-dependent trajectories, so the spread measure can see "
        "a dependence",
        Verdict.CONSISTENT if separated else Verdict.INCONCLUSIVE,
        detail=f"unbalanced spread {float(unbalanced_spread.max()):.3g} against rounding floor "
        f"{tolerance:.3g}", decisive=False,
        values={"unbalanced_spread": float(unbalanced_spread.max())},
    )
    steps = np.arange(1, len(balanced_spread))
    tiny = np.finfo(float).tiny
    panel = Panel(
        f"W_e 3x2, N = {settings.width_depth}, eta = {settings.trajectory_eta:g}, widths {widths}",
        "GD step t",
        "max_width ||W_e^width(t) - W_e^first(t)||_F",
        (Series("balanced inits", tuple(map(float, steps)),
                tuple(float(max(v, tiny)) for v in balanced_spread[1:])),
         Series("unbalanced control", tuple(map(float, steps)),
                tuple(float(max(v, tiny)) for v in unbalanced_spread[1:])),
         Series("rounding floor (tolerance)", (float(steps[0]), float(steps[-1])),
                (tolerance, tolerance), "dashed")),
        xscale="linear",
    )
    return (balanced_check, control), Figure(
        "width-independence", "End-to-end trajectory spread across hidden widths", (panel,))


def _imbalance_check(config, settings, generator):
    imbalance, gap = imbalance_gaps(config, settings, generator)
    # the gap is relative to ||rhs||, so its rounding floor is ulps * eps * 1
    resolved = np.array([all(resolve(float(v), 1.0, config.dtype).value is not None for v in row)
                         for row in gap])
    imbalance, gap = imbalance[resolved], gap[resolved]
    x = np.exp(np.log(imbalance).mean(axis=1))
    y = np.exp(np.log(gap).mean(axis=1))
    fit = fit_power_law(x, y)
    check = rate_check(
        Layer.EXPERIMENT, "imbalance-drift-from-rule",
        "broken balancedness: |layer-wise velocity - Theorem 1's rhs|_F / |rhs|_F grows like "
        "max_j ||C_j||_F^1 (first-order perturbation; derived here, not stated in the paper; "
        f"N = 3, W_e 3x3, geometric means over {settings.instances} inits per perturbation size)",
        fit, IMBALANCE_BOUND, decisive=False,
        values={"largest_imbalance": float(x.max()), "gap_at_largest": float(y.max()),
                "gap_over_imbalance_median": float(np.median(y / x)),
                "perturbation_sizes_below_precision": int((~resolved).sum())},
    )
    panel = rate_panel("Departure from the end-to-end rule under imbalance", "max_j ||C_j||_F",
                       "relative velocity gap", x, y, fit, IMBALANCE_BOUND,
                       measured_label="geometric mean over inits")
    table = Table("imbalance", "Relative velocity gap against the balancedness gap",
                  ("max_j ||C_j||_F", "relative gap"),
                  tuple((f"{a:.3g}", f"{b:.3g}") for a, b in zip(x, y)))
    return check, Figure("imbalance-drift", panel.title, (panel,)), table


def verify(config: RunConfig, progress: Progress) -> LayerResult:
    """GD against the end-to-end rule: O(eta^2) step error, width independence, imbalance drift."""
    settings = ExperimentConfig.for_run(config)
    generator = config.torch_generator("init")
    checks, panels = [], []
    for shape in progress(settings.step_shapes, "one GD step vs the end-to-end rule"):
        errors, scales = one_step_errors(config, shape, settings, generator)
        check, panel = _step_check(config, shape, errors, scales, settings)
        checks.append(check)
        if panel is not None:
            panels.append(panel)
    width_checks, width_figure = _width_checks(config, settings, generator)
    checks.extend(width_checks)
    imbalance_check, imbalance_figure, imbalance_table = _imbalance_check(
        config, settings, generator
    )
    checks.append(imbalance_check)
    horizon_check, horizon_figure, horizon_table = _horizon_checks(config, settings, generator)
    checks.append(horizon_check)
    step_figure = Figure("gd-step-error", "One GD step against one end-to-end step",
                         tuple(panels), columns=2)
    return LayerResult(Layer.EXPERIMENT, checks=tuple(checks),
                       figures=(step_figure, width_figure, imbalance_figure, horizon_figure),
                       tables=(imbalance_table, horizon_table))
