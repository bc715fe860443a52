"""Theorem 2's example in Shalev-Shwartz, Shamir, Shammah (2017), arXiv:1703.07950, Section 2:
F_v(w) = E[(cos(w.x) - cos(v.x))^2], x ~ N(0, I_2): the closed form against Monte Carlo; the
gradient norm against the distance t to the optimum from Gauss-Hermite quadrature (||grad F|| / t
has the exponential rate -1/2 in t^2); Var over targets v with ||v|| = r against r (claimed
exp(-Omega(r)), judged as -log Var = a + Omega(r) over r in [16, 1024]); the landscape for
v = (2, 2). Controls: a power law and rates -1/4, -3/4 for the flatness; the power laws r^-0.1,
r^-1, r^-6, the power law through the end points, exp(-r^3/4) and Laplace inputs for Theorem 2.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from optverify.kit import Bound, Figure, Panel, RateFit, Session, Surface, rate_panel
from optverify.numerics.alternatives import log_power_law_through, log_power_law_through_end_points
from optverify.theorems.orthogonal_gradient_variance.landscape import (
    GAUSSIAN_LOG_SLOPE,
    LAPLACE_LOG_SLOPE,
    CharacteristicSlope,
    cosine_gradient,
    cosine_objective,
    gradient_by_quadrature,
    log_target_variance,
    monte_carlo_objective,
)

GAUSSIAN_DECAY = Bound.tight("t^2", -0.5, exponential=True)


RADIUS_DECAY = Bound.lower("r", 1, offset=True)
"""Theorem 2: Var = exp(-Omega(r)), i.e. Var <= C e^{-c r} for some c > 0, i.e. -log Var >=
c r - log C: the asymptotic exponent of -log Var - a against r is at least 1, the additive
constant a (the log of the prefactor C) fitted as the constant a diverging quantity leaves behind
(offset=True; a power law r^-p gives -log Var = p log r + const, exponent -> 0; a stretched
exponential exp(-r^a), a < 1, gives a). Without the offset the constant a bends the log-log line
over any finite sweep and the judge cannot tell the claim from the power law through the sweep's
end points (measured on r in [4, 64]: that control inconclusive)."""


RADIUS_SLOPE_CORRECTION = 2.0
"""The radii of the decisive check, fixed from the Laplace expansion before judging: on the
circle ||v|| = r the variance is dominated by the peak of e^{-||w - v||^2} at v parallel to w, so
-log Var = (r - 1)^2 - (3/2) log r + c + o(1) (checked on r = 64..1024: the remainder's local
log-slope -1.59, -1.56, -1.54, -1.52 -> -3/2), whose local log-log slope is
2 + RADIUS_SLOPE_CORRECTION / r + O(log r / r^2). A sweep whose tail window (its last third)
starts at r_tail has that correction at most 2 / r_tail; `LandscapeConfig.radii` puts r_tail at
256, where it is 0.008, below half the exponent resolution 0.02. (On the earlier sweep r in
[4, 64] the tail still moved from 2.071 to 2.036: pre-asymptotic, inconclusive. The sweep starts
at r = 16 = 16 ||w||, not 4: measured after the choice, [4, 1024] with 17 radii is inconclusive,
its points below 16 leave only a fitted correction x^-2.15 plausible, whose interval
[1.602, 2.014] cannot exclude the stretched r^0.75 (that control consistent, [0.14, 0.997]);
[8, 512], [32, 2048] and [16, 1024] with 9 or 25 radii all come out consistent with every
control violated.) The computation
is in the log domain, so Var ~ e^{-10^6} at r = 1024 is exact to float64's relative precision in
log Var."""


RADIUS_EXPONENTIAL = Bound.upper("r", 0, exponential=True)
"""The same claim as an exponential rate (a decay rate <= 0 whose points reject a power law): the
kit's exponential-vs-power-law rule, reported beside the decisive form (see record_landscape)."""


STRETCHED_EXPONENT = 0.75


POWER_LAW_CONTROLS = (-0.1, -1.0, -6.0)
"""Var = C r^p anchored at the smallest radius: the issue's r^-0.1 and r^-1, and r^-6, the
asymptotic rate of the Laplace-input world."""


@dataclass(frozen=True)
class LandscapeConfig:
    """Theorem 2's cosine example in 2-D. `radii`: the decisive sweep of Var over targets on
    ||v|| = r (see RADIUS_SLOPE_CORRECTION); `representable_radii`: the sweep of the reported
    exponential fit of Var itself, kept where Var is a normal float64 (r <= 27)."""

    target: tuple[float, float] = (2.0, 2.0)
    grid_points: int = 61
    grid_extent: float = 4.0
    distances: tuple[float, ...] = tuple(np.linspace(2.0, 6.0, 9))
    quadrature_nodes: int = 120
    radii: tuple[float, ...] = tuple(np.geomspace(16.0, 1024.0, 13))
    representable_radii: tuple[float, ...] = tuple(np.geomspace(4.0, 64.0, 13))
    angles: int = 1024
    anchor: tuple[float, float] = (1.0, 0.0)
    samples: int = 2**16
    probe_points: tuple[tuple[float, float], ...] = ((0.0, 0.0), (1.0, -0.5), (2.5, 1.5),
                                                     (-1.0, 2.0))

    @classmethod
    def quick(cls) -> LandscapeConfig:
        return cls()

    @classmethod
    def full(cls) -> LandscapeConfig:
        return cls(grid_points=121, samples=2**20)


def _tensor(values, device: str) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64, device=device)


def monte_carlo_deviation(s: Session, config: LandscapeConfig, target: torch.Tensor,
                          variance: float = 1.0) -> float:
    """max over the probe points of |closed form - Monte-Carlo mean| / its standard error; the
    closed form written for x ~ N(0, variance I) (1: the law sampled; 2: the false alternative)."""
    generator = s.generator("landscape-samples")
    samples = torch.randn(config.samples, 2, generator=generator, dtype=torch.float64,
                          device=s.device)
    standardized = []
    for point in config.probe_points:
        w = _tensor(point, s.device)
        estimate = monte_carlo_objective(w, target, samples)
        standardized.append(float(abs(estimate.mean - cosine_objective(w, target, variance))
                                  / estimate.standard_error))
    return max(standardized)


@dataclass(frozen=True)
class GradientProfile:
    """||grad F_v(w)|| at w = v + t u by quadrature of its definition (`norms`), the closed form
    at the same points (`closed`), at the distances t (`at`)."""

    at: np.ndarray
    norms: np.ndarray
    closed: np.ndarray

    @property
    def per_distance(self) -> np.ndarray:
        """||grad F|| / t: the Gaussian factor once the leading term's |w - v| = t is divided
        out."""
        return self.norms / self.at

    @property
    def closed_form_residual(self) -> float:
        return float(np.max(np.abs(self.norms - self.closed) / self.closed))


def gradient_profile(config: LandscapeConfig, target: torch.Tensor) -> GradientProfile:
    """||grad F_v(w)|| at w = v + t u, u the unit vector orthogonal to v, at the distances t:
    Gauss-Hermite quadrature of E_x[-2 (cos(w.x) - cos(v.x)) sin(w.x) x], and the closed form."""
    direction = torch.stack([target[1], -target[0]]) / torch.linalg.norm(target)
    distances = np.array(config.distances)
    along = target + _tensor(distances, target.device).unsqueeze(1) * direction
    closed = torch.linalg.norm(cosine_gradient(along, target), dim=-1).cpu().numpy()
    v = target.cpu().numpy()
    norms = np.array([np.linalg.norm(gradient_by_quadrature(w, v, config.quadrature_nodes))
                      for w in along.cpu().numpy()])
    return GradientProfile(distances, norms, closed)


@dataclass(frozen=True)
class RadiusProfile:
    """log Var over the targets on ||v|| = r (`log_variance`) at the radii `at`."""

    at: np.ndarray
    log_variance: np.ndarray

    @property
    def representable(self) -> np.ndarray:
        """The radii whose Var is a normal float64 (for fits on Var itself)."""
        return self.log_variance > math.log(np.finfo(float).tiny)

    @property
    def variance(self) -> np.ndarray:
        """Var at the representable radii."""
        return np.exp(self.log_variance[self.representable])


def radius_profile(config: LandscapeConfig, device: str,
                   log_slope: CharacteristicSlope = GAUSSIAN_LOG_SLOPE,
                   radii: tuple[float, ...] | None = None) -> RadiusProfile:
    """log Var over targets v on the circle ||v|| = r (trapezoid over `angles` points) of the
    target-dependent part of grad F_v at the anchor, at each radius r of `radii` (default
    `settings.radii`), for the input law with log(-chi') = `log_slope` (the Gaussian's;
    `LAPLACE_LOG_SLOPE` for the false world)."""
    radii = np.array(config.radii if radii is None else radii)
    angles = torch.arange(config.angles, dtype=torch.float64, device=device)
    angles = angles * (2 * math.pi / config.angles)
    circle = torch.stack([torch.cos(angles), torch.sin(angles)], dim=-1)
    targets = _tensor(radii, device).view(-1, 1, 1) * circle
    log_variance = log_target_variance(_tensor(config.anchor, device), targets, log_slope)
    return RadiusProfile(radii, log_variance.cpu().numpy())


def decay_depth(log_variance: np.ndarray) -> np.ndarray:
    """-log Var: Omega(r) exactly when Var = exp(-Omega(r)) (positive where Var < 1)."""
    return -np.asarray(log_variance, dtype=float)


def radius_controls(radii: np.ndarray, log_variance: np.ndarray,
                    laplace: np.ndarray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The false alternatives of Theorem 2's check, as (r, -log Var) through the same path: power
    laws anchored at the smallest radius, the power law through both end points, and the same
    computation for Laplace inputs (`laplace`: its log Var)."""
    controls = {f"Var = C r^{exponent:g}": (radii, decay_depth(log_power_law_through(
        radii, log_variance, exponent))) for exponent in POWER_LAW_CONTROLS}
    controls["the power law through the end points"] = (
        radii, decay_depth(log_power_law_through_end_points(radii, log_variance)))
    controls["Laplace inputs (chi = 1/(1 + |a|^2/2), polynomial Fourier decay)"] = (
        radii, decay_depth(laplace))
    return controls


def landscape_figure(config: LandscapeConfig, target: torch.Tensor, flatness: GradientProfile,
                     decay: RateFit, spread: RadiusProfile, radius_fit: RateFit) -> Figure:
    axis = np.linspace(-config.grid_extent, config.grid_extent, config.grid_points)
    device = target.device
    grid = torch.stack(torch.meshgrid(_tensor(axis, device), _tensor(axis, device),
                                      indexing="xy"), dim=-1)
    surface = cosine_objective(grid, target).cpu().numpy()
    return Figure("cosine-landscape", "Theorem 2 example: F_v(w) = E[(cos(w.x) - cos(v.x))^2]", (
        Panel(f"F_v(w), v = {config.target}", "w_1", "w_2",
              surface=Surface("F_v(w)", tuple(axis), tuple(axis),
                              tuple(tuple(float(z) for z in row) for row in surface)),
              xscale="linear", yscale="linear"),
        rate_panel("||grad F|| / t vs squared distance t^2", "t^2", "||grad F_v(w)|| / t",
                   flatness.at**2, flatness.per_distance, decay, GAUSSIAN_DECAY),
        rate_panel("-log Var over ||v|| = r vs r", "r", "-log Var_v grad F_v(w)", spread.at,
                   decay_depth(spread.log_variance), radius_fit, RADIUS_DECAY),
    ), columns=3)


def record_landscape(s: Session, config: LandscapeConfig) -> None:
    target = _tensor(config.target, s.device)
    s.identity(
        "cosine-closed-form-vs-monte-carlo",
        f"F_v(w) closed form against a {config.samples}-sample Monte-Carlo mean at w in "
        f"{list(config.probe_points)}, v = {config.target}: |difference| / standard error "
        "(tolerance 4: a 4-sigma deviation)",
        monte_carlo_deviation(s, config, target), 4.0, values={"samples": config.samples},
        controls={"the closed form for x ~ N(0, 2 I) (e^{-|a|^2} in place of e^{-|a|^2/2})":
                  monte_carlo_deviation(s, config, target, variance=2.0)})
    flatness = gradient_profile(config, target)
    squared = flatness.at**2
    decay = s.rate(
        "cosine-gradient-flatness",
        "away from the optimum (w = v + t u, u orthogonal to v) ||grad F_v(w)|| = "
        "t e^{-t^2/2} (1 + O(e^{-16})): the target term (w - v) e^{-|w-v|^2/2} has norm "
        "t e^{-t^2/2}, the others carry e^{-|w+v|^2/2}, e^{-2|w|^2}. ||grad F|| from Gauss-Hermite "
        f"quadrature of its definition ({config.quadrature_nodes}^2 nodes), divided by t, "
        "against t^2: exponential rate -1/2 (Theta(exp(-t^2/2)))",
        squared, flatness.per_distance, GAUSSIAN_DECAY,
        values={"quadrature_vs_closed_form": flatness.closed_form_residual,
                **{f"grad_norm_t{t:g}": float(g) for t, g in zip(flatness.at, flatness.norms)}})
    s.rate(
        "cosine-gradient-flatness-without-prefactor",
        "the earlier statement, reported and not decisive: ||grad F_v(w)|| itself (not divided "
        "by t) against t^2 with rate -1/2; its log-linear fit absorbs the prefactor t into the "
        "rate, so it is judged at the 0.02 resolution as measured",
        squared, flatness.norms, GAUSSIAN_DECAY, decisive=False)
    spread = radius_profile(config, s.device)
    laplace = radius_profile(config, s.device, LAPLACE_LOG_SLOPE)
    radius = s.rate(
        "cosine-variance-vs-radius",
        "Theorem 2: Var over targets v with ||v|| = r (uniform on the circle, "
        f"{config.angles}-point trapezoid, in the log domain) of grad F_v(w) at w = "
        f"{config.anchor} is exp(-Omega(r)), i.e. -log Var = Omega(r): the asymptotic exponent "
        f"of -log Var against r, over {len(spread.at)} radii geometric in [{spread.at[0]:g}, "
        f"{spread.at[-1]:g}] (r >= 16 ||w||, the tail r >= 256 past the (r - 1)^2 expansion's "
        "slope correction 2/r), with the additive constant log C fitted (Var <= C e^{-c r}), "
        "is at least 1 (a power law r^-p gives -log Var = p log r + c, exponent -> 0; a "
        "stretched exponential exp(-r^a) gives a)",
        spread.at, decay_depth(spread.log_variance), RADIUS_DECAY,
        rules_out=(STRETCHED_EXPONENT,),
        controls=radius_controls(spread.at, spread.log_variance, laplace.log_variance),
        values={f"log_variance_r{r:.4g}": float(v)
                for r, v in zip(spread.at, spread.log_variance)})
    small = radius_profile(config, s.device, radii=config.representable_radii)
    small_laplace = radius_profile(config, s.device, LAPLACE_LOG_SLOPE,
                                   config.representable_radii)
    kept = small.representable & small_laplace.representable
    s.rate(
        "cosine-variance-vs-radius-exponential-fit",
        "Theorem 2 as an exponential rate (reported, not decisive): the log-linear fit of Var "
        "against r (rate <= 0, at the radii where Var is a normal float64) with the kit's "
        "exponential-vs-power-law F-test. On these exact, noise-free points the F-test also "
        "rejects a power law for the Laplace-input world and for its own power-law control "
        "(which keeps the exponential fit's curved residuals), so the decisive form is "
        "-log Var = Omega(r) above",
        small.at[kept], np.exp(small.log_variance[kept]), RADIUS_EXPONENTIAL, decisive=False,
        rules_out=(0.25,),
        controls={"Laplace inputs": (small_laplace.at[kept],
                                     np.exp(small_laplace.log_variance[kept]))})
    s.figure(landscape_figure(config, target, flatness, decay.fit, spread, radius.fit))
