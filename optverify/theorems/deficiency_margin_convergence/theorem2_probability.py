"""Theorem 2 of Arora, Cohen, Golowich, Hu (2019), arXiv:1810.02281 (d_N = 1): for W_e(0) = A ~
N(0, s^2 I) (Procedure 1 makes W_e(0) = A exactly), the probability that A has a deficiency margin,
exactly by a one-dimensional mpmath quadrature, against a Monte-Carlo estimate over balanced
initializations with a Clopper-Pearson interval; and the claim that the probability stays bounded
below by a constant, against the wrong event P(margin > 0).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from mpmath import mp

from optverify.kit import Figure, Judgement, Panel, Series, Session, Table, Verdict
from optverify.numerics.deep_linear import balanced_factors, end_to_end
from optverify.numerics.proportions import binomial_proportion
from optverify.theorems.deficiency_margin_convergence.conditions import deficiency_margin
from optverify.theorems.deficiency_margin_convergence.config import NumericConfig
from optverify.theorems.deficiency_margin_convergence.instances import cpu_generator


def margin_probability_mp(inputs: int, scale: float, margin: float, target_norm: float = 1.0):
    """P(||A - Phi||_2 <= ||Phi||_2 - c) for A ~ N(0, s^2 I_{d_0}) (d_N = 1), by quadrature.

    With Phi = ||Phi|| e_1 (rotation invariance), ||A - Phi||^2 = (s Z - phi)^2 + s^2 Q with Z normal
    and Q ~ chi^2_{d_0 - 1} independent; the event is |s Z - phi| <= r(Q) = sqrt(R^2 - s^2 Q),
    R = phi - c, so P = int_0^{R^2/s^2} [Phi_N((phi + r)/s) - Phi_N((phi - r)/s)] f_Q(q) dq.
    """
    phi, s = mp.mpf(target_norm), mp.mpf(scale)
    radius = phi - mp.mpf(margin)
    if radius <= 0:
        return mp.zero
    upper = radius**2 / s**2
    dof = inputs - 1

    def integrand(q):
        r = mp.sqrt(max(radius**2 - s**2 * q, mp.zero))
        density = mp.exp((dof / mp.mpf(2) - 1) * mp.log(q) - q / 2 - mp.loggamma(dof / mp.mpf(2))
                         - dof / mp.mpf(2) * mp.log(2))
        return (mp.ncdf((phi + r) / s) - mp.ncdf((phi - r) / s)) * density

    spread = 12 * mp.sqrt(2 * dof)
    points = sorted({mp.zero, max(dof - spread, mp.zero), mp.mpf(dof),
                     min(dof + spread, upper), upper})
    points = [p for p in points if p <= upper]
    return mp.quad(integrand, points)


def reference_margin(scale: float, inputs: int, target_norm: float = 1.0) -> float:
    """c_ref = s^2 d_0 / ||Phi||: the size of ||W_e(0)||^2 / ||Phi|| at this initialization scale."""
    return scale**2 * inputs / target_norm


@dataclass(frozen=True)
class ProbabilityCell:
    """Exact and Monte-Carlo probabilities of a deficiency margin for one (d_0, s d_0 / ||Phi||)."""

    inputs: int
    relative_scale: float
    exact_positive: float
    exact_reference: float
    hits_reference: int
    samples: int
    ci95: tuple[float, float]
    ci999: tuple[float, float]


def probability_cell(inputs: int, relative_scale: float, samples: int,
                     generator: torch.Generator) -> ProbabilityCell:
    """One cell of the Theorem 2 sweep: ||Phi|| = 1, s = relative_scale / d_0, depth 3; the
    Monte-Carlo draws come from `generator` (a CPU generator)."""
    scale = relative_scale / inputs
    c_ref = reference_margin(scale, inputs)
    with mp.workdps(30):  # a probability compared with a Monte-Carlo estimate: 30 digits suffice
        exact_positive = float(margin_probability_mp(inputs, scale, 0.0))
        exact_reference = float(margin_probability_mp(inputs, scale, c_ref))
    target = torch.zeros(1, inputs, dtype=torch.float64)
    target[0, 0] = 1.0
    draws = scale * torch.randn(samples, 1, inputs, generator=generator, dtype=torch.float64)
    factors = balanced_factors(draws, (2, 2))
    margins = deficiency_margin(end_to_end(factors), target)
    hits = int((margins >= c_ref).sum())
    return ProbabilityCell(inputs, relative_scale, exact_positive, exact_reference, hits, samples,
                           *_clopper_pearson_pair(hits, samples))


def _clopper_pearson_pair(hits: int, samples: int) -> tuple[tuple[float, float], ...]:
    """The 95% and 99.9% Clopper-Pearson intervals of hits / samples, as (low, high) pairs."""
    proportion = binomial_proportion(hits, samples)
    return tuple((interval.low, interval.high) for interval in
                 (proportion.proportion_ci(0.95), proportion.proportion_ci(0.999)))


def theorem2_sweep(s: Session, config: NumericConfig) -> Theorem2Sweep:
    """Every (d_0, s d_0 / ||Phi||) cell, each with its own CPU Monte-Carlo stream."""
    return Theorem2Sweep(tuple(
        probability_cell(inputs, scale, config.probability_samples,
                         cpu_generator(s, f"theorem2-{inputs}-{scale}"))
        for inputs in config.probability_inputs
        for scale in s.progress(config.probability_scales, f"Theorem 2 probability, d_0={inputs}")))


@dataclass(frozen=True)
class Theorem2Sweep:
    """The probability cells of the Theorem 2 sweep, judged two ways."""

    cells: tuple[ProbabilityCell, ...]

    @property
    def outside(self) -> list[ProbabilityCell]:
        """Cells whose exact probability falls outside the Monte-Carlo 99.9% interval."""
        return [c for c in self.cells if not c.ci999[0] <= c.exact_reference <= c.ci999[1]]

    def twin_pairs(self, positive: bool = False) -> list[tuple[str, float, tuple[float, float]]]:
        """(cell, exact probability, Monte-Carlo 99.9% interval of P(margin >= c_ref)); with
        `positive` the exact P(margin > 0) instead (the control's wrong event)."""
        return [(f"d0={c.inputs}, s d0={c.relative_scale}",
                 c.exact_positive if positive else c.exact_reference, c.ci999) for c in self.cells]

    @property
    def agreement_values(self) -> dict[str, str]:
        return {f"d0={c.inputs}, s d0={c.relative_scale}": f"exact {c.exact_reference:.4f}, MC "
                f"{c.hits_reference / c.samples:.4f} [{c.ci95[0]:.4f}, {c.ci95[1]:.4f}]"
                for c in self.cells}

    @property
    def lowest_near_zero(self) -> ProbabilityCell | None:
        """Among cells near zero (s d_0 <= 0.2) with d_0 >= 100, the lowest 95% CI lower end."""
        near_zero = [c for c in self.cells if c.inputs >= 100 and c.relative_scale <= 0.2]
        return min(near_zero, key=lambda c: c.ci95[0]) if near_zero else None

    @property
    def farthest_from_zero(self) -> ProbabilityCell | None:
        """Among cells with d_0 >= 100, the one at the largest s d_0 (the control's false world:
        c_ref = s^2 d_0 grows and the probability falls)."""
        far = [c for c in self.cells if c.inputs >= 100]
        return max(far, key=lambda c: (c.relative_scale, c.inputs)) if far else None

    @property
    def positive_values(self) -> dict[str, float]:
        return {f"d0={c.inputs}, s d0={c.relative_scale}: P(margin > 0)": round(c.exact_positive, 5)
                for c in self.cells}


def twin_judgement(pairs: Sequence[tuple[str, float, tuple[float, float]]]) -> Judgement:
    """Consistent when every exact probability lies in its cell's 99.9% Monte-Carlo interval."""
    outside = [label for label, exact, (low, high) in pairs if not low <= exact <= high]
    verdict = Verdict.CONSISTENT if not outside else Verdict.VIOLATED
    detail = f"{len(pairs) - len(outside)} of {len(pairs)} cells agree"
    return Judgement(verdict, detail + (f" (outside: {', '.join(outside)})" if outside else ""))


CONSTANT_PROBABILITY = 0.25
"""Theorem 2's constant: near zero a balanced init has a margin with probability above 1/4 (the
check's threshold, fixed before measuring; the exact value tends to 1/2 as s -> 0)."""


def constant_judgement(cell: ProbabilityCell | None) -> Judgement:
    """Consistent when both the exact probability and the 95% CI lower end exceed 1/4."""
    if cell is None:
        return Judgement(Verdict.INCONCLUSIVE, "no cell with d_0 >= 100 and s d_0 <= 0.2 in this "
                         "mode")
    holds = min(cell.ci95[0], cell.exact_reference) > CONSTANT_PROBABILITY
    return Judgement(
        Verdict.CONSISTENT if holds else Verdict.VIOLATED,
        f"cell d_0={cell.inputs}, s d_0={cell.relative_scale}: exact {cell.exact_reference:.4f}, "
        f"measured {cell.hits_reference / cell.samples:.4f} (95% CI [{cell.ci95[0]:.4f}, "
        f"{cell.ci95[1]:.4f}], n = {cell.samples}); P(any margin) exact "
        f"{cell.exact_positive:.4f} (tends to 1/2 as s -> 0)")


def cell_at_probability(cell: ProbabilityCell, probability: float) -> ProbabilityCell:
    """The control 'a true probability p': the cell's sample size with the expected count."""
    hits = round(probability * cell.samples)
    return ProbabilityCell(cell.inputs, cell.relative_scale, probability, probability, hits,
                           cell.samples, *_clopper_pearson_pair(hits, cell.samples))


def record_theorem2(s: Session, sweep: Theorem2Sweep) -> None:
    s.decide("theorem2-probability-twin",
             "Theorem 2 set-up (d_N = 1, W_e(0) = A ~ N(0, s^2 I) through Procedure 1): the exact "
             "P(margin >= c_ref = s^2 d_0/||Phi||) by mpmath quadrature lies in the 99.9% "
             "Clopper-Pearson interval of the Monte-Carlo estimate over balanced initializations, "
             "in every cell", twin_judgement, sweep.twin_pairs(), values=sweep.agreement_values,
             controls={"the exact probability of the wrong event, P(margin > 0) for P(margin >= "
                       "c_ref)": sweep.twin_pairs(positive=True)})
    lowest = sweep.lowest_near_zero
    controls = {}
    if lowest is not None:
        controls["a true probability 0.2 (a constant below 1/4) at the same n"] = \
            cell_at_probability(lowest, 0.2)
    far = sweep.farthest_from_zero
    if far is not None:
        controls[f"the cell far from zero (d_0 = {far.inputs}, s d_0 = {far.relative_scale:g}), "
                 "measured the same way"] = far
    s.decide("theorem2-constant-probability",
             "Theorem 2's constant probability: near zero (s d_0/||Phi|| <= 0.2) and d_0 >= 100, a "
             "balanced init has a deficiency margin >= c_ref with probability > 0.25 (95% CI lower "
             "end and exact value, lowest such cell)", constant_judgement, lowest,
             values=sweep.positive_values, controls=controls)


def probability_table(cells: Sequence[ProbabilityCell]) -> Table:
    return Table(
        "theorem2-probability",
        "Theorem 2 (d_N = 1, ||Phi|| = 1, A ~ N(0, s^2 I), balanced init): probability of a deficiency "
        "margin, exact (mpmath quadrature) and Monte-Carlo with Clopper-Pearson 95% CI",
        ("d_0", "s d_0", "c_ref = s^2 d_0", "P(margin > 0) exact", "P(margin >= c_ref) exact",
         "MC estimate", "95% CI low", "95% CI high", "samples"),
        tuple((c.inputs, c.relative_scale, reference_margin(c.relative_scale / c.inputs, c.inputs),
               round(c.exact_positive, 5), round(c.exact_reference, 5),
               round(c.hits_reference / c.samples, 5), round(c.ci95[0], 5), round(c.ci95[1], 5),
               c.samples) for c in cells),
    )


def probability_figure(cells: Sequence[ProbabilityCell]) -> Figure:
    series = []
    for inputs in sorted({c.inputs for c in cells}):
        row = [c for c in cells if c.inputs == inputs]
        x = tuple(c.relative_scale for c in row)
        series.append(Series(f"exact, d_0={inputs}", x, tuple(c.exact_reference for c in row), "line"))
        series.append(Series(f"Monte Carlo, d_0={inputs}", x,
                             tuple(max(c.hits_reference / c.samples, 1e-6) for c in row)))
    scales = tuple(sorted({c.relative_scale for c in cells}))
    series.append(Series("0.25 (Theorem 2)", scales, (0.25,) * len(scales), "dashed"))
    return Figure(
        "theorem2-probability", "Theorem 2: probability of a deficiency margin at a balanced init",
        (Panel("P(||W_e(0) - Phi|| <= ||Phi|| - s^2 d_0 / ||Phi||), d_N = 1", "s d_0 / ||Phi||",
               "probability", tuple(series)),),
    )
