"""Numeric layer of `end-to-end-snr`: Setting II's moments by exact enumeration at mpmath precision
against the closed form, the closed-form SNRs for k up to 10^12, and the tuple signal a^(k-1) far
below float32 and float64 resolution.

Source: Shalev-Shwartz, Shamir, Shammah (2017), arXiv:1703.07950, Section 3. Closed forms in
`optverify.theorems.end_to_end_snr.model`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import sympy
from mpmath import mp

from optverify.claim import Bound, BoundKind, Layer, Progress, RunConfig
from optverify.numerics.fit import fit_power_law
from optverify.numerics.precision import machine_epsilon, resolve
from optverify.results import Check, LayerResult, Table, Verdict
from optverify.theorems.end_to_end_snr.model import (
    tuple_signal,
    tuple_snr,
    uniform_moments,
    validate_accuracy,
    validate_sizes,
)
from optverify.verdict import identity_check, rate_check

FLOOR_DIGITS_MARGIN = 10
"""Precision floor 10^-(digits - 10): ten digits of headroom for the few thousand operations of an
enumeration."""

RATIO_BOUND = Bound(BoundKind.TIGHT, variable="k", exponent=sympy.Integer(1))


@dataclass(frozen=True)
class NumericConfig:
    """enumeration_k, enumeration_d: the instance enumerated exactly over all (j, z);
    sizes: k for the closed forms (paper k = 10, 1000, 2000, then 10^6, 10^12); inputs: d;
    accuracy: per-image accuracy q of Setting I's tuple signal."""

    enumeration_k: int
    enumeration_d: int
    sizes: tuple[int, ...] = (10, 1000, 2000, 10**6, 10**12)
    inputs: int = 1000
    accuracy: float = 0.6

    def __post_init__(self) -> None:
        validate_sizes(self.enumeration_k, self.enumeration_d)
        validate_sizes(min(self.sizes), self.inputs)
        validate_accuracy(self.accuracy)

    @classmethod
    def for_run(cls, quick: bool) -> NumericConfig:
        return cls(4, 3) if quick else cls(7, 5)


def enumerated_moments(weights, labels):
    """(||E g||^2, Var_dec, Var_e2e) by summing over every input j and sign pattern z in mpmath."""
    k, d = len(weights), len(weights[0])
    columns = []
    for j in range(d):
        exponentials = [mp.exp(weights[i][j]) for i in range(k)]
        total = mp.fsum(exponentials)
        columns.append([e / total for e in exponentials])

    def gradient(j, direction):
        p = columns[j]
        dot = mp.fsum(pi * v for pi, v in zip(p, direction))
        return [-(pi * v - pi * dot) for pi, v in zip(p, direction)]

    decomposition = [gradient(j, [1 if i == labels[j] else 0 for i in range(k)]) for j in range(d)]
    mean = [[g / d for g in column] for column in decomposition]
    signal = mp.fsum(g**2 for column in mean for g in column)

    def centred(j, column):
        own = mp.fsum((g - m) ** 2 for g, m in zip(column, mean[j]))
        return own + signal - mp.fsum(m**2 for m in mean[j])

    variance_dec = mp.fsum(centred(j, decomposition[j]) for j in range(d)) / d
    terms = []
    for j in range(d):
        for signs in itertools.product((-1, 1), repeat=k - 1):
            direction = list(signs)
            direction.insert(labels[j], 1)
            terms.append(centred(j, gradient(j, direction)))
    return signal, variance_dec, mp.fsum(terms) / (d * 2 ** (k - 1))


def closed_moments(weights, labels):
    """The closed form of `model.exact_moments`, in mpmath."""
    k, d = len(weights), len(weights[0])
    own_total, extra = mp.zero, mp.zero
    for j in range(d):
        exponentials = [mp.exp(weights[i][j]) for i in range(k)]
        p = [e / mp.fsum(exponentials) for e in exponentials]
        norm_sq = mp.fsum(pi**2 for pi in p)
        norms = [pi**2 * ((1 - pi) ** 2 + norm_sq - pi**2) for pi in p]
        own_total += norms[labels[j]]
        extra += mp.fsum(norms) - norms[labels[j]]
    variance_dec = own_total / d * (1 - mp.one / d)
    return own_total / d**2, variance_dec, variance_dec + extra / d


def verify(config: RunConfig, progress: Progress) -> LayerResult:
    settings = NumericConfig.for_run(config.quick)
    rng = config.numpy_rng("numeric-instance")
    draws = rng.standard_normal((settings.enumeration_k, settings.enumeration_d))
    labels = [int(v) for v in rng.integers(0, settings.enumeration_k, settings.enumeration_d)]
    checks: list[Check] = []
    rows = []
    values: dict = {}
    with mp.workdps(config.precision):
        floor = mp.mpf(10) ** -(config.precision - FLOOR_DIGITS_MARGIN)
        weights = [[mp.mpf(float(v)) for v in row] for row in draws]
        enumerated = enumerated_moments(weights, labels)
        closed = closed_moments(weights, labels)
        residual = max(abs(a - b) / abs(b) for a, b in zip(enumerated, closed))
        checks.append(identity_check(
            Layer.NUMERIC, "closed-form-vs-enumeration",
            f"Setting II at a Gaussian W (k = {settings.enumeration_k}, d = "
            f"{settings.enumeration_d}): ||E g||^2, Var_dec, Var_e2e by exact enumeration of all "
            "inputs and sign patterns equal the closed form (max relative residual; tolerance "
            "10^-(digits - 10))", float(residual), float(floor),
            precision_digits=config.precision,
            values={"var_ratio": float(closed[2] / closed[1])}))

        d = mp.mpf(settings.inputs)
        ratios, fit_sizes = [], []
        a = 2 * mp.mpf(settings.accuracy) - 1
        for k in progress(settings.sizes, "closed forms at large k"):
            kk = mp.mpf(k)
            signal, variance_dec, variance_e2e = uniform_moments(kk, d)
            ratio = variance_e2e / variance_dec
            ratios.append(ratio)
            fit_sizes.append(k)
            signal_tuple = tuple_signal(kk, mp.mpf(settings.accuracy))
            snr_tuple = tuple_snr(kk, mp.mpf(settings.accuracy))
            described = {dtype: resolve(float(signal_tuple), 1.0, dtype).describe(".3g")
                         for dtype in ("float32", "float64")}
            rows.append((k, mp.nstr(signal / variance_e2e, 8), mp.nstr(signal / variance_dec, 8),
                         mp.nstr(ratio, 10), mp.nstr(ratio / kk, 10),
                         mp.nstr(signal_tuple, 6), mp.nstr(snr_tuple, 6),
                         described["float32"], described["float64"]))
            values[f"tuple_signal_k{k}"] = mp.nstr(signal_tuple, 6)
            values[f"tuple_signal_float32_k{k}"] = described["float32"]
            values[f"tuple_signal_float64_k{k}"] = described["float64"]
            values[f"snr_e2e_k{k}"] = mp.nstr(signal / variance_e2e, 8)
        ratio_fit = fit_power_law(np.array(fit_sizes, dtype=float),
                                  np.array([float(r) for r in ratios]))
        checks.append(rate_check(
            Layer.NUMERIC, "variance-ratio-rate",
            f"Main bound: Var_e2e / Var_dec = 1 + d(k-1)/(d-1) = Theta(k) at W = 0, d = "
            f"{settings.inputs}, k in {settings.sizes} (closed form at {config.precision} digits)",
            ratio_fit, RATIO_BOUND,
            values={f"ratio_k{k}": float(r) for k, r in zip(settings.sizes, ratios)}))
        crossings = {dtype: float(1 + mp.log(16 * mp.mpf(machine_epsilon(dtype))) / mp.log(a))
                     for dtype in ("float32", "float64")}
        largest = settings.sizes[-1]
        resolved_at_mp = mp.log10(tuple_signal(mp.mpf(largest), mp.mpf(settings.accuracy)))
        checks.append(Check(
            Layer.NUMERIC, "tuple-signal-resolved",
            f"Setting I tuple signal a^(k-1) (a = {float(a):g}) at k = {largest}: a number at "
            f"{config.precision} mpmath digits (log10 = {mp.nstr(resolved_at_mp, 8)}), below "
            "float32 and float64 resolution (16 eps of the unit-size gradient terms)",
            Verdict.CONSISTENT if mp.isfinite(resolved_at_mp) else Verdict.INCONCLUSIVE,
            detail=f"float32 stops resolving the signal at k > {crossings['float32']:.2f}, "
                   f"float64 at k > {crossings['float64']:.2f}",
            decisive=False,
            values={**values, "float32_last_k": crossings["float32"],
                    "float64_last_k": crossings["float64"]}))
    table = Table(
        "large-k", f"Closed forms at W = 0, d = {settings.inputs} ({config.precision} digits); "
        f"tuple signal a^(k-1) with per-image accuracy {settings.accuracy}",
        ("k", "SNR_e2e", "SNR_dec", "Var_e2e/Var_dec", "ratio/k", "tuple signal", "tuple SNR",
         "tuple signal float32", "tuple signal float64"), tuple(rows))
    return LayerResult(Layer.NUMERIC, checks=tuple(checks), tables=(table,))
