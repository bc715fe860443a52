"""Numeric layer: cond(W^T W), its limit constants, cond(C), preconditioning, Theorem 3's threshold.

Section 4 of Shalev-Shwartz, Shamir, Shammah (2017), arXiv:1703.07950. The paper claims
cond(W^T W) = S_11^2 / S_nn^2 = Omega(n^3.5) (a LOWER bound) for the fully connected learner and
cond(C) = Theta(n^3) for the 3-tap convolution. Here, at `config.precision` mpmath digits:
- sigma_max(W), sigma_min(W) by structured O(n) iterations (`optverify.numerics.structured`),
  checked against mpmath's dense SVD (small n) and against the float64 structured values;
- the fitted exponent of cond(W^T W) (claimed 7/2 as a lower bound; tight exponent 4), and the
  limits sigma_min(W) -> 1/4, sigma_max(W)/n^2 -> 1/beta^2, cond(W^T W)/n^4 -> 16/beta^4
  (beta = 1.8751..., first root of 1 + cos(beta) cosh(beta) = 0), by polynomial extrapolation in
  1/n of the sweep;
- cond(C) exactly from the closed form (moments.py) for a sweep of n (claimed Theta(n^3)), and
  cond(C)/n^3 -> 3/2;
- preconditioning (Section 4.1.3): C^{-1/2} C C^{-1/2} = I exactly; with C estimated from m
  sampled curves, cond(C_m^{-1/2} C C_m^{-1/2}) against n (claimed O(1)) and against m;
- Theorem 3 on the expected recursion of Lemma 2 (loss 1/2 ||U f - p||^2):
  ||E[U_t] - W^{-1}||_2 = max_i |1 - c s_i^2/s_1^2|^t / s_i with c = eta lambda S_11^2. As written,
  c >= 1 makes E[U_t] diverge; for this recursion the threshold is c >= 2 (c in [1, 2) converges).
  For c < 1, the first t with error < 1/2 is at least S_11^2 / (2 S_nn^2) - 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy
from mpmath import mp

from optverify.claim import Bound, BoundKind, Layer, Progress, RunConfig
from optverify.figures import rate_panel
from optverify.numerics.fit import fit_power_law
from optverify.numerics.mp_linalg import psd_power
from optverify.numerics.precision import machine_epsilon
from optverify.numerics.structured import (
    ramp_matrix,
    ramp_spectrum,
    ramp_spectrum_dense_mp,
    ramp_spectrum_mp,
)
from optverify.results import Check, Figure, LayerResult, Table, Verdict
from optverify.theorems.pwl_conditioning.moments import conv_second_moment_symbolic, n_symbol
from optverify.theorems.pwl_conditioning.sampling import sample_curves_numpy
from optverify.verdict import identity_check, inequality_check, rate_check

CLAIMED_FULLY_CONNECTED = Bound(BoundKind.LOWER, "n", sympy.Rational(7, 2))
TIGHT_FULLY_CONNECTED = Bound(BoundKind.TIGHT, "n", sympy.Integer(4))
CLAIMED_CONVOLUTION = Bound(BoundKind.TIGHT, "n", sympy.Integer(3))
CLAIMED_PRECONDITIONED = Bound(BoundKind.TIGHT, "n", sympy.Integer(0))
CONV_CONSTANT = sympy.Rational(3, 2)


@dataclass(frozen=True)
class NumericConfig:
    """Sweeps of the numeric layer (quick and full presets)."""

    ramp_sizes: tuple[int, ...]
    dense_twin_sizes: tuple[int, ...]
    extrapolation_order: int
    conv_sizes: tuple[int, ...]
    sample_sizes: tuple[int, ...]
    preconditioned_sizes: tuple[int, ...]
    preconditioning_samples: int
    theorem3_size: int
    theorem3_steps: tuple[int, ...]
    step_factors: tuple[float, ...] = (0.5, 0.9, 1.0, 1.5, 1.9, 2.1, 3.0)
    lower_bound_factors: tuple[float, ...] = (0.5, 0.99)

    @classmethod
    def for_run(cls, config: RunConfig) -> NumericConfig:
        if config.quick:
            return cls(ramp_sizes=(32, 48, 64, 96, 128, 192, 256, 384, 512), dense_twin_sizes=(4, 6, 8),
                       extrapolation_order=3, conv_sizes=(8, 16, 32, 64, 128, 256, 512, 1024),
                       sample_sizes=(100, 300, 1000, 3000), preconditioned_sizes=(16, 32, 64, 128),
                       preconditioning_samples=2000, theorem3_size=16,
                       theorem3_steps=(8, 12, 16, 24, 32))
        return cls(ramp_sizes=(64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048, 3072, 4096),
                   dense_twin_sizes=(4, 8, 12, 16), extrapolation_order=4,
                   conv_sizes=tuple(2**j for j in range(3, 15)),
                   sample_sizes=(100, 300, 1000, 3000, 10000, 30000),
                   preconditioned_sizes=(16, 32, 64, 128, 256, 512), preconditioning_samples=10000,
                   theorem3_size=32, theorem3_steps=(8, 12, 16, 24, 32, 48, 64, 96, 128))


def extrapolate_to_infinity(sizes, values, order: int) -> tuple:
    """Limit of values(n) as n -> oo by exact polynomial interpolation in h = 1/n through the last
    `order` + 1 points (Richardson); also returns |order - (order - 1)| as its error estimate."""
    def at_zero(points: int):
        hs = [1 / mp.mpf(n) for n in sizes[-points:]]
        vandermonde = mp.matrix([[h**power for power in range(points)] for h in hs])
        return mp.lu_solve(vandermonde, mp.matrix(list(values[-points:])))[0]

    best = at_zero(order + 1)
    return best, abs(best - at_zero(order))


def cantilever_root():
    """beta_1 = 1.8751..., the first root of 1 + cos(beta) cosh(beta) = 0."""
    return mp.findroot(lambda beta: 1 + mp.cos(beta) * mp.cosh(beta), 1.875)


def expected_recursion_error_log(singular_values: np.ndarray, factor: float, steps: int) -> float:
    """log ||E[U_t] - W^{-1}||_2 = max_i (t log|1 - c s_i^2/s_1^2| - log s_i) (Lemma 2, SVD basis)."""
    contraction = np.abs(1 - factor * singular_values**2 / singular_values[0] ** 2)
    with np.errstate(divide="ignore"):
        return float(np.max(steps * np.log(contraction) - np.log(singular_values)))


def first_time_below(singular_values: np.ndarray, factor: float, target: float) -> int:
    """The first t with ||E[U_t] - W^{-1}||_2 < target, for 0 < c < 1 (monotone decrease)."""
    contraction = 1 - factor * singular_values**2 / singular_values[0] ** 2
    needed = np.where(1 / singular_values < target, 0,
                      np.ceil(np.log(target * singular_values) / np.log(contraction)))
    return int(np.max(needed))


def _ramp_checks(settings: NumericConfig, config: RunConfig, progress: Progress):
    digits = config.precision
    floor = 10.0 ** -(digits - 10)  # mpmath at `digits` digits leaves ~10 digits of slack
    with mp.workdps(digits):
        twin_residual = max(
            max(abs(a / b - 1) for a, b in zip(ramp_spectrum_mp(n), ramp_spectrum_dense_mp(n)))
            for n in progress(settings.dense_twin_sizes, "dense mpmath SVD twin"))
        spectra = [ramp_spectrum_mp(n) for n in progress(settings.ramp_sizes, "cond(W^T W)")]
        conds = [(top / bottom) ** 2 for top, bottom in spectra]
        float_conds = [ramp_spectrum(n).gram_condition for n in settings.ramp_sizes]
        float_residual = max(abs(mp.mpf(f) / c - 1) for f, c in zip(float_conds, conds))
        beta = cantilever_root()
        order = settings.extrapolation_order
        sizes = settings.ramp_sizes
        limits = (
            ("sigma-min-limit", "sigma_min(W) -> 1/4", [b for _, b in spectra], mp.mpf(1) / 4),
            ("sigma-max-limit", "sigma_max(W)/n^2 -> 1/beta^2, beta = first root of "
             "1 + cos(beta) cosh(beta)", [t / mp.mpf(n) ** 2 for (t, _), n in zip(spectra, sizes)],
             1 / beta**2),
            ("gram-condition-constant", "cond(W^T W)/n^4 -> 16/beta^4",
             [c / mp.mpf(n) ** 4 for c, n in zip(conds, sizes)], 16 / beta**4),
        )
        limit_checks = []
        for name, words, sequence, closed_form in limits:
            limit, estimate = extrapolate_to_infinity(sizes, sequence, order)
            # The tolerance is the extrapolation's own error estimate (difference of the last two
            # orders) times 10, floored at the working precision: not a tuned threshold.
            tolerance = max(10 * float(estimate), floor)
            limit_checks.append(identity_check(
                Layer.NUMERIC, name,
                f"{words}: extrapolation in 1/n (order {order}) of n = {sizes[-order - 1]}.."
                f"{sizes[-1]} against the closed form",
                float(abs(limit - closed_form)), tolerance, precision_digits=digits,
                values={"extrapolated": mp.nstr(limit, 15), "closed_form": mp.nstr(closed_form, 15),
                        f"value_at_n={sizes[-1]}": mp.nstr(sequence[-1], 15)}))
        cond_values = [float(c) for c in conds]
        constant = float(16 / beta**4)
    checks = [
        identity_check(Layer.NUMERIC, "structured-vs-dense-svd",
                       "structured O(n) sigma_max(W), sigma_min(W) equal mpmath's dense SVD "
                       f"(relative), n in {settings.dense_twin_sizes}", float(twin_residual), floor,
                       precision_digits=digits),
        # float64 cumulative sums accumulate up to n roundings; 16 n eps is that floor with slack.
        identity_check(Layer.NUMERIC, "float64-vs-mpmath",
                       "float64 structured cond(W^T W) equals the mpmath value (relative), "
                       f"n = {sizes[0]}..{sizes[-1]}", float(float_residual),
                       16 * sizes[-1] * machine_epsilon("float64")),
    ]
    fit = fit_power_law(sizes, cond_values)
    values = {"constant_16_over_beta4": f"{constant:.6f}",
              f"cond_over_n4_at_n={sizes[-1]}": f"{cond_values[-1] / sizes[-1] ** 4:.6f}"}
    checks.append(rate_check(
        Layer.NUMERIC, "fully-connected-condition",
        "Theorem 3's premise: cond(W^T W) = S_11^2/S_nn^2 = Omega(n^3.5), fitted over n at "
        f"{digits} digits", fit, CLAIMED_FULLY_CONNECTED, values=values))
    checks.append(rate_check(
        Layer.NUMERIC, "fully-connected-condition-tight",
        "the tight rate: cond(W^T W) = Theta(n^4) (cond/n^4 -> 16/beta^4 = 1.2943)",
        fit, TIGHT_FULLY_CONNECTED, values=values))
    checks.extend(limit_checks)
    figure = Figure(
        "fully-connected-condition", "cond(W^T W) of the ramp matrix W (fully connected learner)",
        (rate_panel("cond(W^T W) vs n", "n", "cond(W^T W)", sizes, cond_values, fit,
                    CLAIMED_FULLY_CONNECTED),))
    return checks, figure


def _conv_checks(settings: NumericConfig, config: RunConfig, rng: np.random.Generator):
    digits = config.precision
    floor = 10.0 ** -(digits - 10)
    moment = conv_second_moment_symbolic()
    with mp.workdps(digits):
        conds, identity_residual = [], mp.zero
        for n in settings.conv_sizes:
            exact = mp.matrix(moment.subs(n_symbol, n).evalf(digits + 5).tolist())
            eigenvalues = mp.eigsy(exact, eigvals_only=True)
            conds.append(max(eigenvalues) / min(eigenvalues))
            root = psd_power(exact, mp.mpf(-1) / 2)
            whitened = root * exact * root
            identity_residual = max(identity_residual,
                                    max(abs(whitened[r, c] - (r == c))
                                        for r in range(3) for c in range(3)))
        ratio = conds[-1] / mp.mpf(settings.conv_sizes[-1]) ** 3
        cond_values = [float(c) for c in conds]
    fit = fit_power_law(settings.conv_sizes, cond_values)
    checks = [
        rate_check(Layer.NUMERIC, "convolution-condition",
                   "cond(C) = Theta(n^3) for the exact second moment C of the 3-tap windows",
                   fit, CLAIMED_CONVOLUTION,
                   values={f"cond_over_n3_at_n={settings.conv_sizes[-1]}": mp.nstr(ratio, 10),
                           "symbolic_limit": str(CONV_CONSTANT)}),
        # Rounding in C^{-1/2} is amplified by 1/lambda_min against ||C||: the floor times cond(C).
        identity_check(Layer.NUMERIC, "exact-preconditioning",
                       "C^{-1/2} C C^{-1/2} = I (max entry error) for every n of the sweep",
                       float(identity_residual), floor * max(cond_values),
                       precision_digits=digits,
                       values={"largest_condition_number": max(cond_values)}),
    ]
    sampled = [_preconditioned_condition(moment, n, settings.preconditioning_samples, rng)
               for n in settings.preconditioned_sizes]
    precond_fit = fit_power_law(settings.preconditioned_sizes, sampled)
    checks.append(rate_check(
        Layer.NUMERIC, "preconditioned-condition",
        "Section 4.1.3: with C_m estimated from m sampled curves, cond(C_m^{-1/2} C C_m^{-1/2}) = "
        f"O(1) in n (m = {settings.preconditioning_samples})", precond_fit, CLAIMED_PRECONDITIONED,
        values={f"cond_at_n={n}": f"{c:.4f}" for n, c in zip(settings.preconditioned_sizes,
                                                            sampled)}))
    size = settings.preconditioned_sizes[-1]
    excess = [_preconditioned_condition(moment, size, m, rng) - 1 for m in settings.sample_sizes]
    sample_fit = fit_power_law(settings.sample_sizes, excess)
    figure = Figure("convolution-condition", "cond(C): 3-tap convolution, exact and preconditioned", (
        rate_panel("cond(C) vs n (exact expectation)", "n", "cond(C)", settings.conv_sizes,
                   cond_values, fit, CLAIMED_CONVOLUTION),
        rate_panel(f"cond(C_m^-1/2 C C_m^-1/2) - 1 vs samples m (n = {size})", "m",
                   "cond - 1", settings.sample_sizes, excess, sample_fit),
    ), columns=2)
    table = Table("preconditioning-vs-samples",
                  f"cond(C_m^-1/2 C C_m^-1/2) with C_m from m curves, n = {size}; "
                  f"fitted exponent of cond - 1 in m: {sample_fit.exponent:.3g} "
                  f"(95% CI [{sample_fit.ci.low:.3g}, {sample_fit.ci.high:.3g}])",
                  ("m", "cond"), tuple((m, f"{1 + e:.5f}") for m, e in
                                       zip(settings.sample_sizes, excess)))
    return checks, figure, table


def _preconditioned_condition(moment: sympy.Matrix, n: int, samples: int,
                              rng: np.random.Generator) -> float:
    """cond(C_m^{-1/2} C C_m^{-1/2}) in float64, C_m the uncentered window moment of m curves."""
    exact = np.array(moment.subs(n_symbol, n).evalf(), dtype=float)
    _, curves = sample_curves_numpy(n, samples, rng)
    padded = np.concatenate([np.zeros((samples, 2)), curves], axis=1)
    windows = np.stack([padded[:, 0:n], padded[:, 1:n + 1], padded[:, 2:n + 2]], axis=-1)
    estimate = np.einsum("mta,mtb->ab", windows, windows) / (samples * n)
    eigenvalues, vectors = np.linalg.eigh(estimate)
    root = vectors @ np.diag(eigenvalues**-0.5) @ vectors.T
    whitened = np.linalg.eigvalsh(root @ exact @ root)
    return float(whitened[-1] / whitened[0])


def _theorem3_checks(settings: NumericConfig):
    size = settings.theorem3_size
    singular_values = np.linalg.svd(ramp_matrix(size), compute_uv=False)
    horizon = 1000
    growth = {c: expected_recursion_error_log(singular_values, c, 2 * horizon)
              - expected_recursion_error_log(singular_values, c, horizon)
              for c in settings.step_factors}
    converging = {c: g < 0 for c, g in growth.items()}
    counter_examples = [c for c in settings.step_factors if c >= 1 and converging[c]]
    values = {f"log_error_change_c={c:g}": f"{g:.4g}" for c, g in growth.items()}
    as_written = Check(
        layer=Layer.NUMERIC, name="theorem3-divergence-as-written",
        statement="Theorem 3 as written: eta lambda S_11^2 >= 1 makes E[U_t] diverge (Lemma 2's "
                  f"recursion, n = {size}; log ||E[U_t] - W^-1|| from t = {horizon} to {2 * horizon})",
        verdict=Verdict.VIOLATED if counter_examples else Verdict.CONSISTENT,
        detail=("E[U_t] converges for c = eta lambda S_11^2 in "
                f"{counter_examples}: the recursion of Lemma 2 diverges only for c > 2"
                if counter_examples else "every c >= 1 diverges"),
        decisive=False, values=values)
    corrected_ok = all(converging[c] == (c < 2) for c in settings.step_factors)
    corrected = Check(
        layer=Layer.NUMERIC, name="theorem3-divergence-threshold",
        statement="corrected threshold: E[U_t] converges iff c = eta lambda S_11^2 < 2 (|1 - c| < 1 "
                  "on the top singular direction)",
        verdict=Verdict.CONSISTENT if corrected_ok else Verdict.VIOLATED,
        detail=f"converging factors {[c for c in converging if converging[c]]}, diverging "
               f"{[c for c in converging if not converging[c]]}", values=values)
    margins, times = [], []
    for n in settings.theorem3_steps:
        spectrum = np.linalg.svd(ramp_matrix(n), compute_uv=False)
        bound = spectrum[0] ** 2 / (2 * spectrum[-1] ** 2) - 1
        first = [first_time_below(spectrum, c, 0.5) for c in settings.lower_bound_factors]
        margins.append(min(first) - bound)
        times.append(first[0])
    lower = inequality_check(
        Layer.NUMERIC, "theorem3-iteration-lower-bound",
        "Theorem 3: for c < 1, ||E[U_{t+1}] - W^-1||_2 >= 1/2 while t + 1 <= S_11^2/(2 S_nn^2): "
        f"first t with error < 1/2 minus (S_11^2/(2 S_nn^2) - 1), c in {settings.lower_bound_factors}",
        float(min(margins)), values={f"first_t_c=0.5_n={n}": t
                                     for n, t in zip(settings.theorem3_steps, times)})
    return [as_written, corrected, lower]


def verify(config: RunConfig, progress: Progress) -> LayerResult:
    settings = NumericConfig.for_run(config)
    ramp, ramp_figure = _ramp_checks(settings, config, progress)
    conv, conv_figure, table = _conv_checks(settings, config, config.numpy_rng("data"))
    theorem3 = _theorem3_checks(settings)
    return LayerResult(layer=Layer.NUMERIC, checks=tuple(ramp + conv + theorem3),
                       figures=(ramp_figure, conv_figure), tables=(table,))
