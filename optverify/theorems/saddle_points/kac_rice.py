"""Kac-Rice counts of the critical points of `saddle-points`' random quartic, by index and energy.

Source: the Kac-Rice formula for Gaussian fields (Adler and Taylor 2007, Theorem 11.2.1), used for
critical points of each index by Fyodorov (2004) and Bray and Dean (2007), which Dauphin et al.
(2014), arXiv:1406.2572, Section 3, cite: E #{critical points of index k}
= int_{R^d} E[|det H(x)| 1{index H(x) = k} | grad f(x) = 0] p_{grad f(x)}(0) dx.

The field (`landscape.GaussianFieldQuartic`) is f(x) = |x|^4/4 + W(x), W = sigma V centred Gaussian
with covariance sigma^2 phi(x.y), phi(t) = t + t^2/2 + t^3/6. At a point x = r e_1 (t = r^2),
differentiating the kernel gives (every covariance times sigma^2):
- gradient: Var dW_1 = phi' + t phi'' =: A, Var dW_a = phi' (a > 1), independent;
- Hessian, the (d-1) x (d-1) block orthogonal to x: phi'' (delta_ac delta_bd + delta_ad delta_bc),
  a GOE matrix of off-diagonal variance sigma^2 phi'', independent of everything below;
- H_1a: variance phi'' + t phi''', correlated only with dW_a (covariance r phi''), so given a zero
  gradient it has variance B = phi'' + t phi''' - t phi''^2 / phi';
- (W, H_11, dW_1): variances phi, t^2 phi'''' + 4 t phi''' + 2 phi'', A; covariances
  Cov(W, H_11) = t phi'', Cov(W, dW_1) = r phi', Cov(H_11, dW_1) = r^3 phi''' + 2 r phi''.
The confining term adds r^3 e_1 to the gradient and t I + 2 t e_1 e_1^T to the Hessian, so a zero
gradient means dW_1 = -r^3, dW_a = 0. With M = t I + sigma sqrt(phi'') GOE_{d-1}, u the H_1a and
s = H_11 - u^T M^{-1} u (the Schur complement), det H = det M * s and index H = index M + 1{s < 0}
(Haynsworth's inertia additivity). Given M and u, s is Gaussian, so E[|s| 1{s > 0}] is a closed
form (`positive_part_mean`): the Monte Carlo runs only over the GOE eigenvalues and u, the same
draws at every radius (a smooth integrand in r), and the radial integral is a trapezoid rule on a
fixed grid, run again on every second node to bound its error.

Error of a count (`KacRiceCounts`): a 95% Monte Carlo interval over the independent draws (each
draw's radial integral is one independent term) plus the quadrature error estimate |I_h - I_2h|
plus the tail beyond the last node, bounded by the integrand's Gaussian decay
(exp(-r^2 / (3 sigma^2)) times a polynomial; `TAIL_LOG_DROP`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special

from optverify.numerics.validation import require, require_int

TAIL_LOG_DROP = 46.0
"""The radial grid ends where the Gaussian factor of the gradient density, exp(-r^6 / (2 sigma^2
A)), has fallen by e^-46 (about 1e-20) below the polynomial growth of the rest: chosen so the tail
beyond it is below float64 resolution of the count."""
Z95 = 1.959963984540054
CELLS_PER_BATCH = 2**23
"""At most this many (draw, radius, eigenvalue) cells per batch of draws (64 MiB per float64
array): a batch of 2048 draws up to d * (nodes + 1) = 4096, fewer draws per batch beyond."""


def kernel_derivatives(t: np.ndarray) -> tuple[np.ndarray, ...]:
    """phi, phi', phi'', phi''', phi'''' of phi(t) = t + t^2/2 + t^3/6 (the field's kernel)."""
    return (t + t**2 / 2 + t**3 / 6, 1 + t + t**2 / 2, 1 + t, np.ones_like(t),
            np.zeros_like(t))


def goe_eigenvalues(samples: int, size: int, rng: np.random.Generator) -> np.ndarray:
    """Eigenvalues (samples, size) of GOE matrices with off-diagonal variance 1, diagonal 2."""
    if size == 0:
        return np.zeros((samples, 0))
    gaussian = rng.standard_normal((samples, size, size))
    return np.linalg.eigvalsh((gaussian + np.swapaxes(gaussian, 1, 2)) / math.sqrt(2))


SERIES_BELOW = -30.0
"""Below a = mean / sd = -30 the closed form a Phi(a) + phi(a) loses its digits to cancellation
(relative error ~ eps a^2); its asymptotic series, five terms, is then accurate to ~1e-11."""


def positive_part_mean(mean: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """E[max(s, 0)] for s ~ N(mean, sd^2): sd (a Phi(a) + phi(a)), a = mean / sd; below
    SERIES_BELOW its asymptotic series sd phi(a) / a^2 sum_n (-1)^n (2n + 1)!! / a^(2n)."""
    a = mean / sd
    safe = np.maximum(a, SERIES_BELOW)
    closed = safe * special.ndtr(safe) + np.exp(-safe * safe / 2) / math.sqrt(2 * math.pi)
    low = np.minimum(a, SERIES_BELOW)
    inverse = 1 / low**2
    series = (np.exp(-low * low / 2) / math.sqrt(2 * math.pi) * inverse
              * (1 + inverse * (-3 + inverse * (15 + inverse * (-105 + inverse * 945)))))
    return sd * np.where(a < SERIES_BELOW, series, closed)


@dataclass(frozen=True)
class FieldAtRadius:
    """The Gaussian law of the Hessian and energy at a critical point at radius r (module
    docstring), for a grid of radii: log of the gradient density at 0, the scale of the GOE
    block, u's variance, and the conditional mean and covariance of (W, H_11) given the gradient
    (H_11 with the confining 3 r^2 added)."""

    radius: np.ndarray
    log_density: np.ndarray
    goe_scale: np.ndarray
    u_variance: np.ndarray
    energy_mean: np.ndarray
    energy_variance: np.ndarray
    h11_mean: np.ndarray
    h11_variance: np.ndarray
    energy_h11_covariance: np.ndarray


def field_at_radius(radius: np.ndarray, dimension: int, sigma: float) -> FieldAtRadius:
    r = np.asarray(radius, dtype=float)
    t = r * r
    phi, d1, d2, d3, d4 = kernel_derivatives(t)
    s2 = sigma * sigma
    a = d1 + t * d2
    gradient_target = -(r**3)
    log_density = (-gradient_target**2 / (2 * s2 * a) - 0.5 * np.log(2 * math.pi * s2 * a)
                   - (dimension - 1) / 2 * np.log(2 * math.pi * s2 * d1))
    cov_w_g, cov_h_g = r * d1, r**3 * d3 + 2 * r * d2
    return FieldAtRadius(
        radius=r, log_density=log_density, goe_scale=sigma * np.sqrt(d2),
        u_variance=s2 * (d2 + t * d3 - t * d2**2 / d1),
        energy_mean=t * t / 4 + cov_w_g / a * gradient_target,
        energy_variance=s2 * (phi - cov_w_g**2 / a),
        h11_mean=3 * t + cov_h_g / a * gradient_target,
        h11_variance=s2 * (t * t * d4 + 4 * t * d3 + 2 * d2 - cov_h_g**2 / a),
        energy_h11_covariance=s2 * (t * d2 - cov_w_g * cov_h_g / a))


def log_sphere_area(dimension: int) -> float:
    """log of the area of the unit sphere S^{d-1} in R^d, 2 pi^(d/2) / Gamma(d/2)."""
    return math.log(2) + dimension / 2 * math.log(math.pi) - math.lgamma(dimension / 2)


def radial_grid(dimension: int, sigma: float, nodes: int) -> np.ndarray:
    """nodes + 1 radii r = R u^2 for u equally spaced on [0, 1] (the trapezoid rule runs in u,
    dense near r = 0 where the saddles' integrand varies on the scale 1 of the kernel's
    derivatives; it vanishes at r = 0 like r^(d-1), d >= 2): R where r^2 / (3 sigma^2), the large-r exponent of
    the gradient density, exceeds TAIL_LOG_DROP plus the log of the polynomial growth (about
    (5d/2) log r of |det H| r^(d-1)) at R."""
    reach = sigma * math.sqrt(3 * (TAIL_LOG_DROP + 2.5 * dimension * math.log(
        3 * sigma * math.sqrt(dimension) + 10)))
    return reach * np.linspace(0, 1, nodes + 1) ** 2


@dataclass(frozen=True)
class KacRiceCounts:
    """Expected numbers of critical points per index k = 0..d (`counts`) with each count's error
    bound (`error` = the 95% Monte Carlo half-width + the quadrature difference |I_h - I_2h| + the
    tail beyond the last radius), and the index-energy relation: for energy bins `energy_edges`,
    the expected number of critical points per bin (`count_by_energy`) and their mean index
    fraction (`index_by_energy`, with a 95% Monte Carlo half-width `index_by_energy_error`, nan
    in bins without weight). `euler` is sum_k (-1)^k counts_k with its 95% Monte Carlo half-width
    plus quadrature difference: Morse theory makes it exactly 1 for a function that grows at
    infinity (a check of the whole computation)."""

    dimension: int
    sigma: float
    counts: np.ndarray
    error: np.ndarray
    monte_carlo_error: np.ndarray
    quadrature_error: np.ndarray
    tail_error: np.ndarray
    samples: int
    nodes: int
    energy_edges: np.ndarray
    count_by_energy: np.ndarray
    index_by_energy: np.ndarray
    index_by_energy_error: np.ndarray
    euler: float
    euler_error: float

    @property
    def total(self) -> float:
        return float(self.counts.sum())

    @property
    def total_error(self) -> float:
        """Errors of the per-index counts added (an upper bound on the total's error)."""
        return float(self.error.sum())

    @property
    def minima(self) -> float:
        return float(self.counts[0])

    def minima_fraction_interval(self) -> tuple[float, float, float]:
        """E[#minima] / E[#critical points] and the interval that the counts' error bounds allow
        (the other indices' errors move only the denominator)."""
        others = self.total - self.minima
        others_error = float(self.error[1:].sum())
        low = max(self.minima - self.error[0], 0.0)
        high = self.minima + self.error[0]
        return (self.minima / self.total, low / (low + others + others_error),
                high / (high + max(others - others_error, 0.0)))

    @property
    def mean_index_fraction(self) -> float:
        return float((self.counts * np.arange(self.dimension + 1)).sum()
                     / (self.dimension * self.total))

    def predicted_index(self, energy: np.ndarray) -> np.ndarray:
        """The Kac-Rice mean index fraction at each energy (linear interpolation in `signed_log`
        between the centres of the bins that hold weight; nan outside them)."""
        centres = (signed_log(self.energy_edges[1:]) + signed_log(self.energy_edges[:-1])) / 2
        held = np.isfinite(self.index_by_energy)
        return np.interp(signed_log(np.asarray(energy, dtype=float)), centres[held],
                         self.index_by_energy[held], left=np.nan, right=np.nan)


def _per_draw_weights(field: FieldAtRadius, goe: np.ndarray, directions: np.ndarray,
                      energy_noise: np.ndarray):
    """For each draw and radius: the index of M, log |det M| (a sum of logs: |det M| overflows
    float64 beyond d ~ 50), E[s^+] and E[s^-] where s = H_11 - u^T M^{-1} u is Gaussian given M, u
    and the energy, and the energy f = mean + sd * energy_noise at the critical point."""
    eigen = field.radius[None, :, None] ** 2 + field.goe_scale[None, :, None] * goe[:, None, :]
    index = (eigen < 0).sum(-1)
    with np.errstate(divide="ignore"):
        log_determinant = np.log(np.abs(eigen)).sum(-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        quadratic = field.u_variance[None, :] * (directions[:, None, :] ** 2 / eigen).sum(-1)
    energy_sd = np.sqrt(np.maximum(field.energy_variance, 0.0))
    pull = np.divide(field.energy_h11_covariance, energy_sd,
                     out=np.zeros_like(energy_sd), where=energy_sd > 0)
    mean = np.nan_to_num(field.h11_mean[None, :] + pull[None, :] * energy_noise[:, None]
                         - quadratic)
    sd = np.sqrt(np.maximum(field.h11_variance - pull**2, 0.0) + 1e-300)[None, :]
    energy = field.energy_mean[None, :] + energy_sd[None, :] * energy_noise[:, None]
    return (index, log_determinant, positive_part_mean(mean, sd),
            positive_part_mean(-mean, sd), energy)


def signed_log(energy: np.ndarray) -> np.ndarray:
    """sign(u) log(1 + |u|): the energies of critical points span many decades (|u| ~ r^4)."""
    return np.sign(energy) * np.log1p(np.abs(energy))


def signed_log_edges(energy: np.ndarray, weights: np.ndarray, bins: int) -> np.ndarray:
    """Energy bin edges equally spaced in `signed_log` between the smallest and largest energy
    that carries a share of at least 1e-12 of the total weight."""
    held = signed_log(energy[weights > 1e-12 * weights.sum()])
    grid = np.linspace(held.min(), held.max(), bins + 1)
    return np.sign(grid) * np.expm1(np.abs(grid))


def kac_rice_counts(dimension: int, sigma: float, samples: int, nodes: int,
                    rng: np.random.Generator, energy_bins: int = 24,
                    batch: int = 2048) -> KacRiceCounts:
    """Expected critical points of each index of |x|^4/4 + sigma V in R^d (module docstring):
    `samples` independent draws of the GOE block, of u and of the energy, each integrated over
    `nodes` + 1 radii; the index-energy relation over `energy_bins` bins of `energy_range`."""
    require_int("the Kac-Rice dimension d", dimension, minimum=2)
    require_int("the Kac-Rice draws", samples, minimum=2)
    require_int("the Kac-Rice radial nodes", nodes, minimum=8)
    require(nodes % 2 == 0, f"the Kac-Rice radial nodes must be even, got {nodes}")
    require_int("the Kac-Rice energy bins", energy_bins, minimum=1)
    grid = radial_grid(dimension, sigma, nodes)
    field = field_at_radius(grid, dimension, sigma)
    step = 1 / nodes
    jacobian = 2 * np.sqrt(grid * grid[-1])
    with np.errstate(divide="ignore"):
        log_radial = (log_sphere_area(dimension) + (dimension - 1) * np.log(grid)
                      + field.log_density + np.log(jacobian))
    fine = np.full(nodes + 1, step)
    fine[[0, -1]] = step / 2
    coarse = np.zeros(nodes + 1)
    coarse[::2] = 2 * step
    coarse[[0, -1]] = step
    width = dimension + 1
    per_draw = {name: np.zeros((samples, width)) for name in ("fine", "coarse", "tail")}
    energies, totals, raised = [], [], []
    end = np.zeros(nodes + 1)
    end[-1] = 3 * sigma**2 / jacobian[-1] ** 2
    batch = max(1, min(batch, CELLS_PER_BATCH // (dimension * (nodes + 1))))
    for first in range(0, samples, batch):
        count = min(batch, samples - first)
        goe = goe_eigenvalues(count, dimension - 1, rng)
        directions = rng.standard_normal((count, dimension - 1))
        noise = rng.standard_normal(count)
        index, log_determinant, plus, minus, energy = _per_draw_weights(field, goe, directions,
                                                                        noise)
        base = np.exp(log_radial[None, :] + log_determinant)
        plus, minus = base * plus, base * minus
        cells = (np.arange(count)[:, None] * width + index).ravel()
        for name, weights in (("fine", fine), ("coarse", coarse), ("tail", end)):
            per_draw[name][first:first + count] += (
                np.bincount(cells, (plus * weights).ravel(), count * width)
                + np.bincount(cells + 1, (minus * weights).ravel(), count * width)
            ).reshape(count, width)
        energies.append(energy)
        totals.append((plus + minus) * fine)
        raised.append((plus * index + minus * (index + 1)) * fine / dimension)
    energy, total, raised = (np.concatenate(part) for part in (energies, totals, raised))
    edges = signed_log_edges(energy.ravel(), total.ravel(), energy_bins)
    column = np.clip(np.searchsorted(edges, energy) - 1, 0, energy_bins - 1)
    cells = (np.arange(samples)[:, None] * energy_bins + column).ravel()
    by_energy = {name: np.bincount(cells, weights.ravel(), samples * energy_bins).reshape(
        samples, energy_bins) for name, weights in (("count", total), ("index", raised))}
    counts = per_draw["fine"].mean(0)
    monte_carlo = Z95 * per_draw["fine"].std(0, ddof=1) / math.sqrt(samples)
    quadrature = np.abs(counts - per_draw["coarse"].mean(0))
    tail = per_draw["tail"].mean(0)
    ratio, ratio_error = _ratio_estimate(by_energy["index"], by_energy["count"])
    signs = (-1.0) ** np.arange(width)
    alternating = per_draw["fine"] @ signs
    euler = float(alternating.mean())
    euler_error = (Z95 * float(alternating.std(ddof=1)) / math.sqrt(samples)
                   + abs(euler - float((per_draw["coarse"] @ signs).mean())))
    return KacRiceCounts(dimension, sigma, counts, monte_carlo + quadrature + tail, monte_carlo,
                         quadrature, tail, samples, nodes, edges, by_energy["count"].mean(0),
                         ratio, ratio_error, euler, euler_error)


def _ratio_estimate(numerator: np.ndarray, denominator: np.ndarray):
    """Per column: sum numerator / sum denominator over the draws, and its 95% half-width by the
    delta method over the independent draws (nan where the denominator has no weight)."""
    n = numerator.shape[0]
    total = denominator.mean(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = numerator.mean(0) / total
        residual = numerator - ratio[None, :] * denominator
        error = Z95 * residual.std(0, ddof=1) / (math.sqrt(n) * total)
    held = total > 0
    return np.where(held, ratio, np.nan), np.where(held, error, np.nan)
