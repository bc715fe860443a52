"""Numeric layer: cond(W^T W), its limit constants, cond(C), preconditioning, Theorem 3's threshold.

Section 4 of Shalev-Shwartz, Shamir, Shammah (2017), arXiv:1703.07950. The paper claims
cond(W^T W) = S_11^2 / S_nn^2 = Omega(n^3.5) (a LOWER bound) for the fully connected learner and
cond(C) = Theta(n^3) for the 3-tap convolution. Here, at `s.precision` mpmath digits:
- sigma_max(W), sigma_min(W) by structured O(n) iterations (`structured.py` of this claim),
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

import mpmath
import numpy as np
import sympy
from mpmath import mp

from optverify.kit import (
    Bound,
    IntegerRange,
    Judgement,
    RateFit,
    RealRange,
    Session,
    Verdict,
    fit_power_law,
    machine_epsilon,
    rate_panel,
)
from optverify.numerics.mp_linalg import psd_power
from optverify.theorems.pwl_conditioning.moments import conv_second_moment_symbolic, n_symbol
from optverify.theorems.pwl_conditioning.sampling import sample_curves_numpy
from optverify.theorems.pwl_conditioning.structured import (
    RampExtremes,
    ramp_matrix,
    ramp_spectrum,
    ramp_spectrum_dense_mp,
    ramp_spectrum_mp,
)

CLAIMED_FULLY_CONNECTED = Bound.lower("n", 3.5)
TIGHT_FULLY_CONNECTED = Bound.tight("n", 4)
CLAIMED_CONVOLUTION = Bound.tight("n", 3)
CLAIMED_PRECONDITIONED = Bound.tight("n", 0)
CONV_CONSTANT = sympy.Rational(3, 2)
DIVERGENCE_HORIZON = 1000
"""Theorem 3's divergence is read off the change of log ||E[U_t] - W^-1|| from t = 1000 to 2000."""


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
    def quick(cls) -> NumericConfig:
        return cls(ramp_sizes=(32, 48, 64, 96, 128, 192, 256, 384, 512), dense_twin_sizes=(4, 6, 8),
                   extrapolation_order=3, conv_sizes=(8, 16, 32, 64, 128, 256, 512, 1024),
                   sample_sizes=(100, 300, 1000, 3000),
                   preconditioned_sizes=(16, 32, 64, 128, 256, 512),
                   preconditioning_samples=2000, theorem3_size=16,
                   theorem3_steps=(8, 12, 16, 24, 32))

    @classmethod
    def full(cls) -> NumericConfig:
        return cls(ramp_sizes=(64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048, 3072, 4096),
                   dense_twin_sizes=(4, 8, 12, 16), extrapolation_order=4,
                   conv_sizes=tuple(2**j for j in range(3, 15)),
                   sample_sizes=(100, 300, 1000, 3000, 10000, 30000),
                   preconditioned_sizes=(16, 32, 64, 128, 256, 512), preconditioning_samples=10000,
                   theorem3_size=32, theorem3_steps=(8, 12, 16, 24, 32, 48, 64, 96, 128))


@dataclass(frozen=True)
class Extrapolation:
    """limit: the extrapolated value at n = oo; error_estimate: |order - (order - 1)|."""

    limit: mpmath.mpf
    error_estimate: mpmath.mpf


def extrapolate_to_infinity(sizes, values, order: int) -> Extrapolation:
    """Limit of values(n) as n -> oo by exact polynomial interpolation in h = 1/n through the last
    `order` + 1 points (Richardson), with the difference to order - 1 as its error estimate."""
    def at_zero(points: int):
        hs = [1 / mp.mpf(n) for n in sizes[-points:]]
        vandermonde = mp.matrix([[h**power for power in range(points)] for h in hs])
        return mp.lu_solve(vandermonde, mp.matrix(list(values[-points:])))[0]

    best = at_zero(order + 1)
    return Extrapolation(best, abs(best - at_zero(order)))


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


def relative_gap(fast: RampExtremes, dense: RampExtremes) -> mpmath.mpf:
    """max relative difference of sigma_max and sigma_min between two computations."""
    return max(abs(fast.sigma_max / dense.sigma_max - 1), abs(fast.sigma_min / dense.sigma_min - 1))


@dataclass(frozen=True)
class RampSweep:
    """The extreme singular values of W over the sweep, at the working mpmath precision.

    spectra: sigma_max(W), sigma_min(W) for every n of `sizes` (structured iterations);
    twin_residual: their worst relative gap to mpmath's dense SVD over the small twin sizes;
    float_residual: the worst relative gap of the float64 structured cond(W^T W) to the mpmath one.
    """

    sizes: tuple[int, ...]
    spectra: tuple[RampExtremes, ...]
    twin_residual: mpmath.mpf
    float_residual: mpmath.mpf
    twin_control: mpmath.mpf = mpmath.mpf(0)  # noqa: RUF009 (an immutable number)
    float_control: mpmath.mpf = mpmath.mpf(0)  # noqa: RUF009 (an immutable number)

    @property
    def conds(self) -> list[mpmath.mpf]:
        return [spectrum.gram_condition for spectrum in self.spectra]


def ramp_sweep(config: NumericConfig, progress) -> RampSweep:
    """cond(W^T W) over `settings.ramp_sizes` and its two twins (call under mp.workdps)."""
    twin_residual = max(relative_gap(ramp_spectrum_mp(n), ramp_spectrum_dense_mp(n))
                        for n in progress(config.dense_twin_sizes, "dense mpmath SVD twin"))
    spectra = tuple(ramp_spectrum_mp(n) for n in progress(config.ramp_sizes, "cond(W^T W)"))
    conds = [spectrum.gram_condition for spectrum in spectra]
    float_conds = [ramp_spectrum(n).gram_condition for n in config.ramp_sizes]
    float_residual = max(abs(mp.mpf(f) / c - 1) for f, c in zip(float_conds, conds))
    # Negative controls through the same comparisons, on a wrong instance: the structured spectrum
    # of the (n + 1) ramp against the dense SVD of the n ramp, and float64 cond at each size
    # against the mpmath cond of the next size of the sweep.
    small = config.dense_twin_sizes[0]
    twin_control = relative_gap(ramp_spectrum_mp(small + 1), ramp_spectrum_dense_mp(small))
    float_control = max(abs(mp.mpf(f) / c - 1) for f, c in zip(float_conds, conds[1:]))
    return RampSweep(config.ramp_sizes, spectra, twin_residual, float_residual, twin_control,
                     float_control)


@dataclass(frozen=True)
class Limit:
    """A sequence over the sweep's n that tends to a closed form (name and words of its check)."""

    name: str
    words: str
    sequence: tuple[mpmath.mpf, ...]
    closed_form: mpmath.mpf


def ramp_limits(sweep: RampSweep) -> tuple[Limit, ...]:
    """sigma_min(W) -> 1/4, sigma_max(W)/n^2 -> 1/beta^2 and cond(W^T W)/n^4 -> 16/beta^4."""
    beta = cantilever_root()
    pairs = list(zip(sweep.spectra, sweep.sizes))
    return (
        Limit("sigma-min-limit", "sigma_min(W) -> 1/4",
              tuple(spectrum.sigma_min for spectrum in sweep.spectra), mp.mpf(1) / 4),
        Limit("sigma-max-limit", "sigma_max(W)/n^2 -> 1/beta^2, beta = first root of "
              "1 + cos(beta) cosh(beta)",
              tuple(spectrum.sigma_max / mp.mpf(n) ** 2 for spectrum, n in pairs), 1 / beta**2),
        Limit("gram-condition-constant", "cond(W^T W)/n^4 -> 16/beta^4",
              tuple(c / mp.mpf(n) ** 4 for c, n in zip(sweep.conds, sweep.sizes)), 16 / beta**4),
    )


def _record_ramp(s: Session, config: NumericConfig) -> None:
    """cond(W^T W): the twins, the claimed and tight rates, and the three limit constants."""
    sizes, order = config.ramp_sizes, config.extrapolation_order
    with mp.workdps(s.precision):
        sweep = ramp_sweep(config, s.progress)
        limits = ramp_limits(sweep)
        cond_values = [float(c) for c in sweep.conds]
        constant = float(limits[-1].closed_form)
        s.identity("structured-vs-dense-svd",
                   "structured O(n) sigma_max(W), sigma_min(W) equal mpmath's dense SVD "
                   f"(relative), n in {config.dense_twin_sizes}", float(sweep.twin_residual),
                   controls={"the structured spectrum of the wrong size (n + 1 against n)":
                             float(sweep.twin_control)})
        # float64 cumulative sums accumulate up to n roundings; 16 n eps is that floor with slack.
        s.identity("float64-vs-mpmath",
                   "float64 structured cond(W^T W) equals the mpmath value (relative), "
                   f"n = {sizes[0]}..{sizes[-1]}", float(sweep.float_residual),
                   16 * sizes[-1] * machine_epsilon("float64"),
                   controls={"float64 cond of each size against mpmath cond of the next size":
                             float(sweep.float_control)})
        values = {"constant_16_over_beta4": f"{constant:.6f}",
                  f"cond_over_n4_at_n={sizes[-1]}": f"{cond_values[-1] / sizes[-1] ** 4:.6f}"}
        claimed = s.rate("fully-connected-condition",
                         "Theorem 3's premise: cond(W^T W) = S_11^2/S_nn^2 = Omega(n^3.5), fitted "
                         f"over n at {s.precision} digits", sizes, cond_values,
                         CLAIMED_FULLY_CONNECTED, main=True, values=values)
        s.fitted_rate("fully-connected-condition-tight",
                      "the tight rate: cond(W^T W) = Theta(n^4) (cond/n^4 -> 16/beta^4 = 1.2943)",
                      claimed.fit, TIGHT_FULLY_CONNECTED, values=values)
        for limit in limits:
            _record_limit(s, limit, sizes, order)
    s.figure("fully-connected-condition",
             "cond(W^T W) of the ramp matrix W (fully connected learner)",
             [rate_panel("cond(W^T W) vs n", "n", "cond(W^T W)", sizes, cond_values, claimed.fit,
                         CLAIMED_FULLY_CONNECTED)])


LIMIT_TOLERANCE = 1e-7
"""Absolute tolerance of the three limit constants, fixed before measuring: seven digits of an
O(1) constant (the paper quotes its constants to at most 4 digits), not the extrapolation's own
error estimate."""
LIMIT_CONTROL_SHIFT = 1e-4
"""The negative control of a limit: the closed form off by 1e-4 relative (the constant rounded to
four digits, as quoted)."""


def _record_limit(s: Session, limit: Limit, sizes: tuple[int, ...], order: int) -> None:
    extrapolated = extrapolate_to_infinity(sizes, limit.sequence, order)
    wrong = limit.closed_form * (1 + mp.mpf(LIMIT_CONTROL_SHIFT))
    s.identity(limit.name,
               f"{limit.words}: extrapolation in 1/n (order {order}) of n = {sizes[-order - 1]}.."
               f"{sizes[-1]} against the closed form (absolute tolerance {LIMIT_TOLERANCE:g}, "
               "fixed before measuring)",
               float(abs(extrapolated.limit - limit.closed_form)), LIMIT_TOLERANCE,
               controls={f"the closed form off by {LIMIT_CONTROL_SHIFT:g} (relative)":
                         float(abs(extrapolated.limit - wrong))},
               values={"extrapolated": mp.nstr(extrapolated.limit, 15),
                       "closed_form": mp.nstr(limit.closed_form, 15),
                       "extrapolation_error_estimate": mp.nstr(extrapolated.error_estimate, 3),
                       f"value_at_n={sizes[-1]}": mp.nstr(limit.sequence[-1], 15)})


@dataclass(frozen=True)
class ConvolutionSweep:
    """The exact second moment C over the sweep.

    conds: cond(C) for every n of the sweep (float); cond_over_n3: cond(C)/n^3 at the largest n;
    whitening_residual: the worst entry of C^{-1/2} C C^{-1/2} - I over the sweep (mpf).
    """

    conds: tuple[float, ...]
    cond_over_n3: mpmath.mpf
    whitening_residual: mpmath.mpf
    unwhitened_residual: mpmath.mpf = mpmath.mpf(0)  # noqa: RUF009 (an immutable number)


def convolution_sweep(moment: sympy.Matrix, sizes: tuple[int, ...], digits: int
                      ) -> ConvolutionSweep:
    """cond(C) and the exact preconditioning residual at `digits` mpmath digits."""
    conds, residual, unwhitened = [], mp.zero, mp.zero
    with mp.workdps(digits):
        for n in sizes:
            exact = mp.matrix(moment.subs(n_symbol, n).evalf(digits + 5).tolist())
            eigenvalues = mp.eigsy(exact, eigvals_only=True)
            conds.append(max(eigenvalues) / min(eigenvalues))
            root = psd_power(exact, mp.mpf(-1) / 2)
            whitened = root * exact * root
            residual = max(residual, max(abs(whitened[r, c] - (r == c))
                                         for r in range(3) for c in range(3)))
            unwhitened = max(unwhitened, max(abs(exact[r, c] - (r == c))
                                             for r in range(3) for c in range(3)))
        ratio = conds[-1] / mp.mpf(sizes[-1]) ** 3
    return ConvolutionSweep(tuple(float(c) for c in conds), ratio, residual, unwhitened)


def preconditioned_condition(moment: sympy.Matrix, n: int, samples: int,
                             rng: np.random.Generator) -> float:
    """cond(C_m^{-1/2} C C_m^{-1/2}) in float64, C_m the uncentered window moment of m curves."""
    exact = np.array(moment.subs(n_symbol, n).evalf(), dtype=float)
    curves = sample_curves_numpy(n, samples, rng).f
    padded = np.concatenate([np.zeros((samples, 2)), curves], axis=1)
    windows = np.stack([padded[:, 0:n], padded[:, 1:n + 1], padded[:, 2:n + 2]], axis=-1)
    estimate = np.einsum("mta,mtb->ab", windows, windows) / (samples * n)
    eigenvalues, vectors = np.linalg.eigh(estimate)
    root = vectors @ np.diag(eigenvalues**-0.5) @ vectors.T
    whitened = np.linalg.eigvalsh(root @ exact @ root)
    return float(whitened[-1] / whitened[0])



def _record_convolution(s: Session, config: NumericConfig, rng: np.random.Generator) -> None:
    """cond(C) exactly, exact preconditioning, and preconditioning from sampled curves."""
    moment = conv_second_moment_symbolic()
    sizes, samples = config.conv_sizes, config.preconditioning_samples
    sweep = convolution_sweep(moment, sizes, s.precision)
    exact = s.rate("convolution-condition",
                   "cond(C) = Theta(n^3) for the exact second moment C of the 3-tap windows",
                   sizes, sweep.conds, CLAIMED_CONVOLUTION,
                   values={f"cond_over_n3_at_n={sizes[-1]}": mp.nstr(sweep.cond_over_n3, 10),
                           "symbolic_limit": str(CONV_CONSTANT)})
    # Rounding in C^{-1/2} is amplified by 1/lambda_min against ||C||: the floor times cond(C).
    s.identity("exact-preconditioning",
               "C^{-1/2} C C^{-1/2} = I (max entry error) for every n of the sweep",
               float(sweep.whitening_residual), s.floor() * max(sweep.conds),
               controls={"no preconditioning (C itself against I)":
                         float(sweep.unwhitened_residual)},
               values={"largest_condition_number": max(sweep.conds)})
    sampled = [preconditioned_condition(moment, n, samples, rng)
               for n in config.preconditioned_sizes]
    s.rate("preconditioned-condition",
           "Section 4.1.3: with C_m estimated from m sampled curves, cond(C_m^{-1/2} C C_m^{-1/2}) = "
           f"O(1) in n (m = {samples})", config.preconditioned_sizes, sampled,
           CLAIMED_PRECONDITIONED,
           values={f"cond_at_n={n}": f"{c:.4f}" for n, c in zip(config.preconditioned_sizes,
                                                               sampled)})
    size = config.preconditioned_sizes[-1]
    excess = [preconditioned_condition(moment, size, m, rng) - 1 for m in config.sample_sizes]
    _record_sample_dependence(s, config, sweep.conds, exact.fit, excess)


def _record_sample_dependence(s: Session, config: NumericConfig, conds: tuple[float, ...],
                              exact_fit: RateFit, excess: list[float]) -> None:
    """The figure of cond(C) against n and of cond(C_m^-1/2 C C_m^-1/2) - 1 against m, and the
    table of the latter."""
    size = config.preconditioned_sizes[-1]
    sample_fit = fit_power_law(config.sample_sizes, excess)
    s.figure("convolution-condition", "cond(C): 3-tap convolution, exact and preconditioned", [
        rate_panel("cond(C) vs n (exact expectation)", "n", "cond(C)", config.conv_sizes,
                   conds, exact_fit, CLAIMED_CONVOLUTION),
        rate_panel(f"cond(C_m^-1/2 C C_m^-1/2) - 1 vs samples m (n = {size})", "m",
                   "cond - 1", config.sample_sizes, excess, sample_fit),
    ], columns=2)
    s.table("preconditioning-vs-samples",
            f"cond(C_m^-1/2 C C_m^-1/2) with C_m from m curves, n = {size}; "
            f"fitted exponent of cond - 1 in m: {sample_fit.exponent:.3g} "
            f"(95% CI [{sample_fit.ci.low:.3g}, {sample_fit.ci.high:.3g}])",
            ("m", "cond"), ((m, f"{1 + e:.5f}") for m, e in zip(config.sample_sizes, excess)))


def divergence_growth(singular_values: np.ndarray, factors: tuple[float, ...]
                      ) -> dict[float, float]:
    """Change of log ||E[U_t] - W^-1|| from t = DIVERGENCE_HORIZON to twice that, per factor c."""
    return {c: expected_recursion_error_log(singular_values, c, 2 * DIVERGENCE_HORIZON)
            - expected_recursion_error_log(singular_values, c, DIVERGENCE_HORIZON)
            for c in factors}


@dataclass(frozen=True)
class IterationLowerBound:
    """Theorem 3's iteration bound over the sizes of the sweep.

    margins: per n, the first t with error < 1/2 (smallest over the factors) minus
    S_11^2/(2 S_nn^2) - 1; times: per n, that first t at the first factor.
    """

    margins: tuple[float, ...]
    times: tuple[int, ...]
    control_margins: tuple[float, ...] = ()
    """The same margins against a bound that grows faster than the condition number,
    cond^1.5 / 2 - 1 (the negative control: a lower bound the iterations must NOT satisfy)."""


def iteration_lower_bound(sizes: tuple[int, ...], factors: tuple[float, ...]
                          ) -> IterationLowerBound:
    margins, times, control = [], [], []
    for n in sizes:
        spectrum = np.linalg.svd(ramp_matrix(n), compute_uv=False)
        bound = spectrum[0] ** 2 / (2 * spectrum[-1] ** 2) - 1
        faster = (spectrum[0] / spectrum[-1]) ** 3 / 2 - 1
        first = [first_time_below(spectrum, c, 0.5) for c in factors]
        margins.append(min(first) - bound)
        control.append(min(first) - faster)
        times.append(first[0])
    return IterationLowerBound(tuple(margins), tuple(times), tuple(control))


def _record_theorem3(s: Session, config: NumericConfig) -> None:
    """Theorem 3's divergence threshold as written and corrected, and its iteration bound."""
    size, factors = config.theorem3_size, config.step_factors
    growth = divergence_growth(np.linalg.svd(ramp_matrix(size), compute_uv=False), factors)
    converging = {c: g < 0 for c, g in growth.items()}
    counter_examples = [c for c in factors if c >= 1 and converging[c]]
    values = {f"log_error_change_c={c:g}": f"{g:.4g}" for c, g in growth.items()}
    s.check("theorem3-divergence-as-written",
            "Theorem 3 as written: eta lambda S_11^2 >= 1 makes E[U_t] diverge (Lemma 2's "
            f"recursion, n = {size}; log ||E[U_t] - W^-1|| from t = {DIVERGENCE_HORIZON} to "
            f"{2 * DIVERGENCE_HORIZON})",
            Verdict.VIOLATED if counter_examples else Verdict.CONSISTENT,
            ("E[U_t] converges for c = eta lambda S_11^2 in "
             f"{counter_examples}: the recursion of Lemma 2 diverges only for c > 2"
             if counter_examples else "every c >= 1 diverges"),
            decisive=False, values=values)
    def threshold_judge(threshold: float) -> Judgement:
        agree = all(converging[c] == (c < threshold) for c in factors)
        return Judgement(Verdict.CONSISTENT if agree else Verdict.VIOLATED,
                         f"threshold {threshold:g}: converging factors "
                         f"{[c for c in converging if converging[c]]}, diverging "
                         f"{[c for c in converging if not converging[c]]}", {})

    s.decide("theorem3-divergence-threshold",
             "corrected threshold: E[U_t] converges iff c = eta lambda S_11^2 < 2 (|1 - c| < 1 "
             "on the top singular direction)", threshold_judge, 2.0,
             controls={"the threshold as written, c < 1": 1.0}, values=values)
    lower = iteration_lower_bound(config.theorem3_steps, config.lower_bound_factors)
    s.inequality("theorem3-iteration-lower-bound",
                 "Theorem 3: for c < 1, ||E[U_{t+1}] - W^-1||_2 >= 1/2 while t + 1 <= "
                 "S_11^2/(2 S_nn^2): first t with error < 1/2 minus (S_11^2/(2 S_nn^2) - 1), "
                 f"c in {config.lower_bound_factors}", float(min(lower.margins)),
                 controls={"a faster-growing bound cond^1.5 / 2 - 1":
                           float(min(lower.control_margins))},
                 values={f"first_t_c=0.5_n={n}": t
                         for n, t in zip(config.theorem3_steps, lower.times)})


def theorem3_divergence_margin(x, m):
    """Theorem 3 as written, as a margin: c = eta lambda S_11^2 >= 1 makes E[U_t] diverge, i.e.
    the contraction factor max_i |1 - c s_i^2 / s_1^2| of Lemma 2's recursion is at least 1.
    Written once for the search (float64) and the certificate (ball arithmetic)."""
    n = x["n"]
    ramp = m.matrix([[max(i - j + 1, 0) for j in range(n)] for i in range(n)])
    squares = m.symmetric_eigenvalues(m.matmul(m.transpose(ramp), ramp))
    return m.max(*[m.abs(1 - x["c"] * square / squares[-1]) for square in squares]) - 1


THEOREM3_DOMAIN = {"c": RealRange(1, 4), "n": IntegerRange(2, 48)}
"""The statement's region c >= 1 (up to 4, past the corrected threshold 2), n up to 48."""


def verify(s: Session) -> None:
    config = s.preset(quick=NumericConfig.quick(), full=NumericConfig.full())
    _record_ramp(s, config)
    _record_convolution(s, config, s.rng("data"))
    _record_theorem3(s, config)
    s.search("theorem3-divergence-search",
             "Theorem 3 as written: every c = eta lambda S_11^2 >= 1 makes E[U_t] diverge: "
             "max_i |1 - c s_i^2/s_1^2| >= 1 for the ramp W (n x n); searched over c in [1, 4], "
             "n in 2..48", theorem3_divergence_margin, THEOREM3_DOMAIN, decisive=False)
