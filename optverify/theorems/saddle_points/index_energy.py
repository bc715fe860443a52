"""Experiment layer of `saddle-points`, index against energy at d = 50: the index of critical points
found on the claim's random quartic against the Kac-Rice prediction of the mean index at their
energy.

Source: Dauphin et al. (2014), arXiv:1406.2572, Section 3 (after Bray and Dean 2007): the index
of a critical point of a high-dimensional Gaussian field is tied to its energy, growing with the
loss. Here the relation is stated quantitatively for the claim's own field f = |x|^4/4 + sigma V:
the Kac-Rice mean index fraction of critical points at energy u (`kac_rice`, energy-resolved),
i(u), rising from ~0 at the lowest energies to ~0.48 at the highest at d = 50.

Search: Newton steps clipped to a trust radius 0.1 (1 + |x|), from starts spread over radii 5..150
(the radii where critical points lie at d = 50), so each start converges to a critical point near
its own radius, i.e. near its own energy; pure Newton from a small ball jumps to the far low-energy
minima instead. Which critical points the search finds depends on the search; the prediction is
conditional on the energy, and at d = 50 a critical point's index at given energy is fixed by the
spectrum of its GOE block up to O(1) eigenvalues (interlacing adds at most one; a selection that
tilts the spectrum moves a few), which sets INDEX_TOLERANCE.

Judge (`judge_index_energy`): per function, the mean |index fraction - i(energy)| over its
critical points; over the functions (independent landscapes), its mean with a Student-t 95%
interval. Consistent when the interval lies below INDEX_TOLERANCE, violated when above,
inconclusive otherwise. Controls through the same judge: an index that does not depend on the
loss (the Kac-Rice mean index fraction over all critical points at every energy), the coin flip
(index 1/2 everywhere) and the relation reversed (i of the mirror-image energy rank).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy import stats

from optverify.kit import Judgement, Panel, Series, Session, Verdict, machine_epsilon
from optverify.theorems.saddle_points.kac_rice import KacRiceCounts, kac_rice_counts, signed_log
from optverify.theorems.saddle_points.landscape import random_quartic_fields

INDEX_TOLERANCE = 0.05
"""Largest mean |index fraction - i(energy)| that counts as agreement: 2.5 of d = 50 eigenvalues
(interlacing of the Hessian with its GOE block allows 1; the search's selection of points can
tilt the block's spectrum by O(1) eigenvalues). Fixed from that argument, not from the data."""
TRUST_FRACTION = 0.1
"""Newton's step is clipped to TRUST_FRACTION (1 + |x|)."""
START_RADII = (5.0, 150.0)


@dataclass(frozen=True)
class IndexEnergyConfig:
    """dimension, sigma, functions x starts of the search, Newton iterations, Kac-Rice draws."""

    dimension: int
    sigma: float
    functions: int
    starts: int
    iterations: int
    kac_rice_samples: int
    energy_bins: int = 40

    @classmethod
    def quick(cls) -> IndexEnergyConfig:
        return cls(50, 10.0, 4, 16, 60, 600)

    @classmethod
    def full(cls) -> IndexEnergyConfig:
        return cls(50, 10.0, 10, 24, 80, 2000)


@dataclass(frozen=True)
class FoundPoints:
    """Distinct non-degenerate critical points per function: energy and index fraction."""

    energy: tuple[np.ndarray, ...]
    index: tuple[np.ndarray, ...]
    converged: int
    starts: int

    @property
    def count(self) -> int:
        return int(sum(e.size for e in self.energy))


def trust_region_newton(config: IndexEnergyConfig, s: Session) -> FoundPoints:
    """Clipped Newton from starts spread over START_RADII on `functions` random quartics."""
    options = {"dtype": s.torch_dtype, "device": s.device}
    generator = s.generator("index-energy")
    fields = random_quartic_fields(config.functions, config.dimension, generator, **options,
                                   field_scale=config.sigma)
    shape = (config.functions, config.starts, config.dimension)
    direction = torch.randn(shape, generator=generator, **options)
    direction = direction / direction.norm(dim=-1, keepdim=True)
    radius = torch.linspace(*START_RADII, config.starts, **options).expand(shape[:-1])
    point = direction * radius.unsqueeze(-1)
    for _ in range(config.iterations):
        step, info = torch.linalg.solve_ex(fields.hessian(point),
                                           fields.gradient(point).unsqueeze(-1))
        step = step.squeeze(-1)
        limit = TRUST_FRACTION * (1 + point.norm(dim=-1, keepdim=True))
        step = step * torch.clamp(limit / step.norm(dim=-1, keepdim=True), max=1.0)
        point = torch.where((info == 0).unsqueeze(-1) & torch.isfinite(step), point - step, point)
    eps = machine_epsilon(s.dtype)
    scale = config.dimension * (1 + point.norm(dim=-1)) ** 3
    converged = fields.gradient(point).norm(dim=-1) <= 1000 * eps * scale
    eigenvalues = torch.linalg.eigvalsh(fields.hessian(point))
    floor = 1000 * eps * config.dimension * (1 + point.norm(dim=-1)) ** 2
    keep = converged & (eigenvalues.abs().min(-1).values > floor)
    index = (eigenvalues < 0).sum(-1).double() / config.dimension
    energy = fields.value(point).double()
    energies, indices = [], []
    for f in range(config.functions):
        mask = keep[f].cpu().numpy()
        points = point[f].cpu().numpy()[mask]
        distances = np.linalg.norm(points[:, None] - points[None], axis=-1)
        distinct = ~np.triu(distances < 1e3 * math.sqrt(eps) * (1 + np.linalg.norm(
            points, axis=-1))[None], 1).any(0)
        energies.append(energy[f].cpu().numpy()[mask][distinct])
        indices.append(index[f].cpu().numpy()[mask][distinct])
    return FoundPoints(tuple(energies), tuple(indices), int(converged.sum()),
                       config.functions * config.starts)


def judge_index_energy(data: tuple[tuple[np.ndarray, np.ndarray], ...]) -> Judgement:
    """((index, predicted) per function) -> the mean over functions of the mean |index -
    predicted|, with its t interval, against INDEX_TOLERANCE (module docstring)."""
    per_function = np.array([np.mean(np.abs(index - predicted))
                             for index, predicted in data if index.size])
    if per_function.size < 2:
        return Judgement(Verdict.INCONCLUSIVE, "fewer than 2 functions with critical points")
    mean = float(per_function.mean())
    half = float(stats.t.ppf(0.975, per_function.size - 1) * per_function.std(ddof=1)
                 / math.sqrt(per_function.size))
    low, high = mean - half, mean + half
    verdict = (Verdict.CONSISTENT if high <= INDEX_TOLERANCE else
               Verdict.VIOLATED if low > INDEX_TOLERANCE else Verdict.INCONCLUSIVE)
    return Judgement(verdict, f"mean |index fraction - prediction| {mean:.4g} (95% CI [{low:.4g}, "
                     f"{high:.4g}] over {per_function.size} functions) against tolerance "
                     f"{INDEX_TOLERANCE:g}: {verdict.value}",
                     {"mean_abs_deviation": mean, "ci_low": low, "ci_high": high,
                      "functions": int(per_function.size)})


def reversed_prediction(counts: KacRiceCounts, energy: np.ndarray) -> np.ndarray:
    """i(u) with the energy axis mirrored inside the Kac-Rice energy range (in signed log
    energy): an index that falls with the loss as fast as the claimed one rises."""
    low, high = signed_log(counts.energy_edges[[0, -1]])
    mirrored = low + high - signed_log(energy)
    return counts.predicted_index(np.sign(mirrored) * np.expm1(np.abs(mirrored)))


def verify(s: Session) -> None:
    """The d = 50 index-energy check (module docstring)."""
    config = s.preset(quick=IndexEnergyConfig.quick(), full=IndexEnergyConfig.full())
    counts = kac_rice_counts(config.dimension, config.sigma, config.kac_rice_samples, 64,
                             s.rng("index-energy-kac-rice"), energy_bins=config.energy_bins)
    found = trust_region_newton(config, s)
    pairs = tuple((i, counts.predicted_index(e)) for e, i in zip(found.energy, found.index))
    inside = tuple((i[np.isfinite(p)], p[np.isfinite(p)]) for i, p in pairs)
    flat = counts.mean_index_fraction
    controls = {
        "an index independent of the loss (the Kac-Rice mean index fraction "
        f"{flat:.3f} at every energy)": tuple((i, np.full_like(p, flat)) for i, p in inside),
        "the coin flip: index fraction 1/2 at every energy": tuple(
            (i, np.full_like(p, 0.5)) for i, p in inside),
        "the relation reversed (the prediction at the mirror-image energy)": tuple(
            (i, reversed_prediction(counts, e)[np.isfinite(counts.predicted_index(e))])
            for e, (i, _) in zip(found.energy, inside)),
    }
    s.decide(
        f"index-energy-d{config.dimension}",
        f"d = {config.dimension}: the index fraction of critical points of the claim's random "
        f"quartic (sigma = {config.sigma:g}) found by trust-region Newton ({config.functions} "
        f"functions x {config.starts} starts over radii {START_RADII[0]:g}..{START_RADII[1]:g}) "
        "equals the Kac-Rice mean index fraction at their energy, i(u), rising with the loss "
        f"(mean |index - i(u)| below {INDEX_TOLERANCE:g}, i.e. 2.5 eigenvalues)",
        judge_index_energy, inside,
        rules_out="an index that does not grow with the loss as predicted", controls=controls,
        values={"critical_points": found.count, "converged_starts": found.converged,
                "starts": found.starts, "kac_rice_mean_index_fraction": flat,
                "outside_prediction_range": int(sum((~np.isfinite(p)).sum() for _, p in pairs))})
    energy = np.concatenate(found.energy)
    index = np.concatenate(found.index)
    centres = (counts.energy_edges[1:] + counts.energy_edges[:-1]) / 2
    held = np.isfinite(counts.index_by_energy)
    s.figure("index-energy", f"Index against energy at d = {config.dimension}", [Panel(
        "critical points found (trust-region Newton) and the Kac-Rice prediction",
        "-energy (log scale, energies < 0 only)", "index fraction", (
            Series("found", tuple(-energy[energy < 0]), tuple(index[energy < 0])),
            Series("Kac-Rice i(u)", tuple(-centres[held & (centres < 0)]),
                   tuple(counts.index_by_energy[held & (centres < 0)]), "line")),
        xscale="log", yscale="linear")])
