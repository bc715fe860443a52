"""Experiment layer (torch): Var vs |H| = 2^d, the parity learning curves, the cosine landscape.

Shalev-Shwartz, Shamir, Shammah (2017), arXiv:1703.07950, Section 2:
- Theorem 1 / the parity corollary: Var(H, F, w) <= G(w)^2 / |H| with |H| = 2^d, an UPPER bound
  with exponent -1 in |H|. Var is computed exactly over all 2^d inputs and all 2^d parity targets
  from the Walsh-Hadamard transform of the per-example gradients (chunked, O(P 2^d d)); the fit is
  of Var / G(w)^2 against |H| (G depends on w and d; the theorem's rate is at fixed G), averaged
  over `SweepConfig.instances` independent random networks per d (optverify issue 10), with the
  spread over networks reported; the inequality itself is checked on every network.
- Fig. 1: parities learned by a ReLU layer of width 10d with the hinge loss and plain SGD
  (learning rate 0.01, batch 128, inputs in {-1,+1}^d: the settings reported for the authors'
  `parity.py`, which was not read here). Reported, not decisive: the figure's failure at large d
  (test accuracy at chance at the largest d) beside the success at the smallest d (accuracy >=
  `LEARNED_ACCURACY`), which shows the trainer moves at all; a run stopped at its initialization is
  the control it rejects.
- Theorem 2's example F_v(w) = E[(cos(w.x) - cos(v.x))^2], x ~ N(0, I_2): closed form against
  Monte-Carlo; the gradient norm vs the distance t to the optimum, from Gauss-Hermite quadrature of
  the gradient's definition (||grad F|| = t e^{-t^2/2} (1 + O(e^{-16})) along w = v + t u, so
  ||grad F|| / t has the exponential rate -1/2 in t^2); Var over targets v with ||v|| = r vs r
  (claimed exp(-Omega(r)), judged as -log Var = a + Omega(r), the constant a = log C fitted, over
  r in [16, 1024], where the tail has left the (r - 1)^2 expansion's slope correction 2/r behind;
  see RADIUS_SLOPE_CORRECTION); the landscape for v = (2, 2).

Every decisive check names the false alternative it rules out (optverify issue 9): the rate of the
standard deviation |H|^-1/2 and |H|^-3/4 for Theorem 1; a bound twice as tight; the Parseval form
without its corner term; the closed form for N(0, 2) inputs; a power law and rates -1/4, -3/4 for
the flatness; for Theorem 2 the power laws r^-0.1, r^-1, r^-6, the power law through the sweep's
end points, a stretched exponential exp(-r^3/4) and the same computation for Laplace inputs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import torch

from optverify.kit import (
    Bound,
    Figure,
    Judgement,
    Panel,
    RateFit,
    Resolved,
    Series,
    Session,
    Surface,
    Verdict,
    machine_epsilon,
    rate_panel,
    resolve,
)
from optverify.numerics.alternatives import (
    log_power_law_through,
    log_power_law_through_end_points,
)
from optverify.numerics.validation import require, require_int, require_positive
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
from optverify.theorems.orthogonal_gradient_variance.model import (
    GradientVariance,
    gradient_variance,
    relu_network,
)

VARIANCE_BOUND = Bound.upper("|H|", -1)
VARIANCE_ALTERNATIVES = (-0.5, -0.75)
"""The rates Theorem 1's O(|H|^-1) must tell apart: |H|^-1/2 (the rate of the standard deviation
G / sqrt(|H|), the usual slip) and the kit's default |H|^-3/4."""
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
LEARNED_ACCURACY = 0.9
"""Fig. 1's small-d success, fixed before measuring: the smallest d reaches test accuracy >= 0.9."""


@dataclass(frozen=True)
class SweepConfig:
    """Var vs |H|: a ReLU layer of fixed `width` (square loss) over `dimensions`, the paper's
    width 10d over `paper_width_dimensions`, the hinge loss over `hinge_dimensions`, float32
    against float64 over `float32_dimensions`; `instances` independent networks per d (the rate
    is fitted to their mean Var / G^2), `hinge_instances` for the hinge loss (see `quick`)."""

    dimensions: tuple[int, ...]
    paper_width_dimensions: tuple[int, ...]
    hinge_dimensions: tuple[int, ...]
    float32_dimensions: tuple[int, ...]
    instances: int = 4
    hinge_instances: int = 4
    width: int = 10
    scale: float = 1.0

    def __post_init__(self) -> None:
        require_int("the networks per d (instances)", self.instances, minimum=1)
        require_int("the hinge networks per d", self.hinge_instances, minimum=self.instances)

    @classmethod
    def quick(cls) -> SweepConfig:
        """Hinge: 12 networks per d. Var / G^2 of the hinge loss varies by 10-30% from network to
        network (square loss: 1-3%), so with 4 networks the slope's standard error was 0.0135
        (98% interval [-1.021, -0.9445] at seed 1, past the 0.05 margin at 6 of 20 seeds); the
        interval clears the margin with power 99% at a standard error below
        (0.05 - 0.01) / (t_0.99,9 + z_0.99) = 0.0078 (0.01: the slope's centre off -1, -0.983 to
        -0.992 measured), so 4 (0.0135 / 0.0078)^2 = 12 networks (16 gave [-1.0035, -0.9714] at
        seed 0)."""
        return cls(tuple(range(4, 15)), tuple(range(4, 9)), tuple(range(4, 15)), (10, 12, 14),
                   instances=4, hinge_instances=12)

    @classmethod
    def full(cls) -> SweepConfig:
        return cls(tuple(range(4, 19)), tuple(range(4, 14)), tuple(range(4, 19)),
                   (12, 14, 16, 18), instances=8, hinge_instances=8)


@dataclass(frozen=True)
class LearningConfig:
    """Fig. 1 set-up: width 10d ReLU layer, hinge loss, plain SGD with fresh batches."""

    dimensions: tuple[int, ...]
    iterations: int
    evaluate_every: int
    learning_rate: float = 0.01
    batch_size: int = 128
    test_size: int = 4096

    def __post_init__(self) -> None:
        require(len(self.dimensions) > 0, "the sweep needs at least one dimension d")
        for d in self.dimensions:
            require_int("the dimension d", d, minimum=1)
        for name in ("iterations", "evaluate_every", "batch_size", "test_size"):
            require_int(name, getattr(self, name), minimum=1)
        require_positive("the learning rate", self.learning_rate)

    @classmethod
    def quick(cls) -> LearningConfig:
        return cls((5, 10, 20), iterations=2000, evaluate_every=100)

    @classmethod
    def full(cls) -> LearningConfig:
        return cls((5, 10, 20, 30), iterations=50_000, evaluate_every=1000)


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


@dataclass(frozen=True)
class ExperimentConfig:
    """The three parts of the experiment layer."""

    sweep: SweepConfig
    learning: LearningConfig
    landscape: LandscapeConfig

    @classmethod
    def quick(cls) -> ExperimentConfig:
        return cls(SweepConfig.quick(), LearningConfig.quick(), LandscapeConfig.quick())

    @classmethod
    def full(cls) -> ExperimentConfig:
        return cls(SweepConfig.full(), LearningConfig.full(), LandscapeConfig.full())


def _tensor(values, device: str) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float64, device=device)


# --- Theorem 1: Var vs |H| -------------------------------------------------------------------


@dataclass(frozen=True)
class VarianceSeries:
    """One swept network family: its label and, per d, Var over all parities for each of the
    independent networks drawn at that d."""

    label: str
    results: list[list[GradientVariance]]

    @property
    def span(self) -> str:
        return f"{self.results[0][0].d}..{self.results[-1][0].d}"

    @property
    def instances(self) -> int:
        return len(self.results[0])

    @property
    def flat(self) -> list[GradientVariance]:
        return [result for per_d in self.results for result in per_d]


@dataclass(frozen=True)
class NormalizedVariance:
    """|H| = 2^d and the mean over networks of Var / G^2 at each d whose networks are all resolved
    (Var kept above 16 eps(dtype) E_h||grad F_h||^2, the magnitude of the per-target gradients
    whose spread Var measures); each d described by its mean and the spread over networks (a d
    with a network "below precision" is described so and not fitted)."""

    sizes: np.ndarray
    values: np.ndarray
    described: dict[str, str]


def network_purpose(d: int, width: int, instance: int) -> str:
    """The seed purpose of network `instance` at (d, width); instance 0 keeps the single-network
    sweep's purpose, so its draws are the ones the earlier reports showed."""
    base = f"sweep-network-{d}-{width}"
    return base if instance == 0 else f"{base}-{instance}"


def variance_sweep(s: Session, dimensions: tuple[int, ...], width_of: Callable[[int], int],
                   scale: float, loss: str, label: str,
                   instances: int) -> list[list[GradientVariance]]:
    def network(item: tuple[int, int]) -> GradientVariance:  # one task per (d, network)
        d, instance = item
        generator = s.generator(network_purpose(d, width_of(d), instance))
        model = relu_network(d, width_of(d), scale, generator, torch.float64, s.device)
        return gradient_variance(model, loss, d, dtype=s.torch_dtype)

    items = [(d, instance) for d in dimensions for instance in range(instances)]
    results = s.map(network, items, f"Var vs |H| ({label})")
    return [results[i:i + instances] for i in range(0, len(results), instances)]


def variance_series(s: Session, sweep: SweepConfig) -> list[VarianceSeries]:
    """ReLU width 10 (square loss), the paper's width 10d (square loss), width 10 (hinge loss);
    the width-10 networks are the same for both losses (the hinge's first `instances` of its
    `hinge_instances`)."""
    count = sweep.instances
    return [
        VarianceSeries("ReLU width 10, square loss", variance_sweep(
            s, sweep.dimensions, lambda d: sweep.width, sweep.scale, "square", "width 10", count)),
        VarianceSeries("ReLU width 10d, square loss", variance_sweep(
            s, sweep.paper_width_dimensions, lambda d: 10 * d, sweep.scale, "square",
            "width 10d", count)),
        VarianceSeries("ReLU width 10, hinge loss", variance_sweep(
            s, sweep.hinge_dimensions, lambda d: sweep.width, sweep.scale, "hinge", "hinge",
            sweep.hinge_instances)),
    ]


def transform_rounding_floor(d: int, dtype: str) -> float:
    """Rounding floor of Var / (G^2 / 2^d) computed through the d-pass butterfly.

    Each normalized coefficient carries an error of at most d eps mean_x|f(x)| (a depth-d sum
    tree); with Var <= G^2 / 2^d, Cauchy-Schwarz bounds the error of Var by
    2 sqrt(Var) d eps G <= 2 d eps 2^(d/2) G^2 / 2^d. A factor 2 covers the squaring and the sum
    over targets."""
    return 4 * d * machine_epsilon(dtype) * 2 ** (d / 2)


def describe_spread(values: list[float]) -> str:
    """mean, [min, max] and the relative standard deviation of per-network values."""
    mean = float(np.mean(values))
    return (f"mean {mean:.4g} over {len(values)} networks, range [{min(values):.4g}, "
            f"{max(values):.4g}], std/mean {float(np.std(values)) / mean:.2g}")


def normalized_variance(series: VarianceSeries, dtype: str) -> NormalizedVariance:
    sizes, values, described = [], [], {}
    for per_d in series.results:
        d = per_d[0].d
        resolved = [resolve(r.variance, r.second_moment, dtype) for r in per_d]
        below = [r for r in resolved if r.below_precision]
        ratios = [r.variance / r.gradient_bound for r in per_d]
        if below:
            described[f"var_over_g2_d{d}"] = (f"{len(below)} of {len(per_d)} networks "
                                              f"{below[0].describe('.4g')}")
            continue
        described[f"var_over_g2_d{d}"] = describe_spread(ratios)
        sizes.append(2.0**d)
        values.append(float(np.mean(ratios)))
    return NormalizedVariance(np.array(sizes), np.array(values), described)


def margins_in_floors(results: list[GradientVariance], dtype: str, tightening: float = 1.0):
    """Per network: 1 - tightening Var / bound + its own rounding floor (>= 0 where Var <=
    G^2 / (tightening |H|) within rounding); tightening 2 is the false alternative of a bound
    twice as tight."""
    return [1 - tightening * r.ratio + transform_rounding_floor(r.d, dtype) for r in results]


def parseval_residual_in_floors(results: list[GradientVariance], dtype: str,
                                corner: bool = True) -> float:
    """max over networks of |Var - Parseval form| / (G^2 / |H|) / the network's rounding floor;
    corner=False: the false alternative Var = E||c1 g||^2 / 2^d (the corner term dropped)."""
    def form(r: GradientVariance) -> float:
        return r.parseval_variance if corner else r.weighted_norm / 2**r.d
    return max(abs(r.variance - form(r)) / r.bound / transform_rounding_floor(r.d, dtype)
               for r in results)


def mean_ratio(per_d: list[GradientVariance]) -> float:
    return float(np.mean([r.ratio for r in per_d]))


def tightness_panel(series: list[VarianceSeries]) -> Panel:
    return Panel(
        "tightness: mean Var / (G^2 / |H|) over networks vs d", "d", "Var / bound",
        tuple(Series(one.label, tuple(float(per_d[0].d) for per_d in one.results),
                     tuple(mean_ratio(per_d) for per_d in one.results), "line")
              for one in series),
        xscale="linear", yscale="linear")


def record_variance_rate(s: Session, index: int, one: VarianceSeries) -> Panel:
    """The fit of the mean Var / G^2 against |H| for one family (a main check), and its panel."""
    normalized = normalized_variance(one, s.dtype)
    check = s.rate(
        f"variance-rate-{index + 1}",
        f"Theorem 1 (parities): Var(H, F, w) / G(w)^2 = O(|H|^-1) with |H| = 2^d, {one.label}, "
        f"d in {one.span}, exact over all inputs and targets ({s.dtype}); the mean over "
        f"{one.instances} independent networks per d is fitted (spread per d in the values)",
        normalized.sizes, normalized.values, main=True, rules_out=VARIANCE_ALTERNATIVES,
        values={**normalized.described, "networks_per_d": one.instances,
                **{f"mean_ratio_d{per_d[0].d}": mean_ratio(per_d) for per_d in one.results}})
    return rate_panel(f"mean Var / G^2 vs |H| ({one.label})", "|H| = 2^d", "Var / G(w)^2",
                      normalized.sizes, normalized.values, check.fit, VARIANCE_BOUND)


def record_variance(s: Session, series: list[VarianceSeries]) -> None:
    panels = [record_variance_rate(s, index, one) for index, one in enumerate(series)]
    raw = series[0].results
    s.rate("raw-variance-rate",
           "Var(H, F, w) itself (not divided by G(w)^2, mean over networks) vs |H| = 2^d, ReLU "
           "width 10, square loss: G(w)^2 grows with d here, so this slope mixes the 1/|H| rate "
           "with the growth of G^2",
           [2.0**per_d[0].d for per_d in raw],
           [float(np.mean([r.variance for r in per_d])) for per_d in raw], VARIANCE_BOUND,
           decisive=False,
           values={f"mean_g_squared_d{per_d[0].d}": float(np.mean([r.gradient_bound
                                                                    for r in per_d]))
                   for per_d in raw})
    everything = [r for one in series for r in one.flat]
    s.inequality(
        "variance-below-bound",
        "Var(H, F, w) <= G(w)^2 / |H| at every swept network, loss and d, each against its own "
        "rounding floor: margin 1 - Var / bound + 4 d eps 2^(d/2) (worst case; >= 0 where the "
        "bound holds within the transform's rounding)",
        min(margins_in_floors(everything, s.dtype)), 0.0,
        values={"closest_ratio": max(r.ratio for r in everything),
                "networks": len(everything), "largest_d": max(r.d for r in everything)},
        controls={"a bound twice as tight, Var <= G^2 / (2|H|)":
                  min(margins_in_floors(everything, s.dtype, tightening=2.0))})
    s.identity(
        "transform-matches-parseval",
        "Var from the fast transform equals the Parseval closed form E||c1 g||^2 / 2^d - "
        "||c1 g(1,...,1)||^2 / 4^d; residual relative to G^2 / |H| in units of the rounding floor "
        "4 d eps 2^(d/2) of each instance, max over all swept instances (tolerance 1 floor)",
        parseval_residual_in_floors(everything, s.dtype), 1.0,
        values={"largest_relative_residual": max(abs(r.variance - r.parseval_variance) / r.bound
                                                 for r in everything)},
        controls={"Var = E||c1 g||^2 / 2^d (the corner term dropped)":
                  parseval_residual_in_floors(everything, s.dtype, corner=False)})
    s.figure("variance-vs-class-size", "Theorem 1: gradient variance over all parities",
             (*panels, tightness_panel(series)), columns=2)
    s.table("variance-sweep", f"Var over all 2^d parities ({s.dtype}, exact enumeration via the "
            "Walsh-Hadamard transform), every network", ("network", "d", "instance", "Var",
                                                        "G^2/|H|", "Var/bound"),
            [(one.label, r.d, k, r.variance, r.bound, r.ratio) for one in series
             for per_d in one.results for k, r in enumerate(per_d)])


# --- float32 against float64 -----------------------------------------------------------------


@dataclass(frozen=True)
class Float32Comparison:
    """Var of one network at float32 (centred and one-pass formulas) against float64.

    one_pass: the float32 one-pass Var resolved against its floor 16 eps32 E_h||grad F_h||^2.
    """

    d: int
    exact: GradientVariance
    single: GradientVariance
    one_pass: Resolved

    @property
    def centred_error(self) -> float:
        return abs(self.single.variance - self.exact.variance) / self.exact.variance

    @property
    def one_pass_error(self) -> float:
        return abs(self.single.one_pass_variance - self.exact.variance) / self.exact.variance

    @property
    def within_floor(self) -> bool:
        return abs(self.single.one_pass_variance - self.exact.variance) <= self.one_pass.floor

    @property
    def crossing(self) -> float:
        """The d at which G^2 / 2^d would meet the one-pass floor (this d's G^2 and second
        moment)."""
        return math.log2(self.exact.gradient_bound / (16 * machine_epsilon("float32")
                                                      * self.exact.second_moment))

    def values(self) -> dict[str, str | float]:
        return {f"float32_one_pass_d{self.d}": self.one_pass.describe(".4g"),
                f"float32_one_pass_rel_error_d{self.d}": self.one_pass_error,
                f"float32_centred_rel_error_d{self.d}": self.centred_error}

    def row(self) -> tuple:
        exact = self.exact
        return (self.d, exact.variance / exact.gradient_bound, exact.variance,
                self.single.variance, self.centred_error, self.one_pass.describe(".6g"),
                self.one_pass_error, self.one_pass.floor, round(self.crossing, 2))

    def detail(self) -> str:
        return (f"d={self.d}: one-pass {self.one_pass.describe('.4g')} (rel. error "
                f"{self.one_pass_error:.2g}, floor {self.one_pass.floor:.2g}), centred rel. error "
                f"{self.centred_error:.2g}")


def float32_comparisons(s: Session, sweep: SweepConfig,
                        reference: dict[int, GradientVariance]) -> list[Float32Comparison]:
    """Var at float32 for the sweep's first width-10 network at each d (drawn again from the same
    seed) against the sweep's float64 value (computed afresh when the run's dtype is not float64
    or the sweep did not reach that d)."""
    comparisons = []
    for d in s.progress(sweep.float32_dimensions, "float32 vs float64"):
        generator = s.generator(network_purpose(d, sweep.width, 0))
        model = relu_network(d, sweep.width, sweep.scale, generator, torch.float64, s.device)
        exact = (reference[d] if s.dtype == "float64" and d in reference
                 else gradient_variance(model, "square", d, dtype=torch.float64))
        single = gradient_variance(model, "square", d, dtype=torch.float32)
        one_pass = resolve(single.one_pass_variance, single.second_moment, "float32")
        comparisons.append(Float32Comparison(d, exact, single, one_pass))
    return comparisons


def record_float32(s: Session, sweep: SweepConfig, reference: VarianceSeries) -> None:
    comparisons = float32_comparisons(s, sweep, {per_d[0].d: per_d[0]
                                                 for per_d in reference.results})
    s.check(
        "float32-resolution",
        "float32 against float64 for Var at large d: the one-pass formula E_h||grad F_h||^2 - "
        "||E_h grad F_h||^2 in float32 errs by at most its floor 16 eps32 E_h||grad F_h||^2 "
        "(the floor `resolve` uses); the centred formula's error is reported beside it",
        Verdict.CONSISTENT if all(c.within_floor for c in comparisons) else Verdict.VIOLATED,
        "float32 vs float64: " + "; ".join(c.detail() for c in comparisons), decisive=False,
        values={key: value for c in comparisons for key, value in c.values().items()})
    s.table(
        "float32-precision", "Var at float32 vs float64 (ReLU width 10, square loss); the one-pass "
        "value is 'below precision' under 16 eps32 E_h||grad F_h||^2; last column: the d at which "
        "G^2/2^d would meet that floor (with this d's G^2 and E_h||grad F_h||^2)",
        ("d", "Var/G^2 (float64)", "Var float64", "Var float32 centred", "rel. error centred",
         "Var float32 one-pass", "rel. error one-pass", "one-pass floor", "d at floor"),
        [c.row() for c in comparisons])


# --- Fig. 1: learning parities with SGD ------------------------------------------------------


@dataclass(frozen=True)
class LearningCurve:
    """Test accuracy of one parity learner at each evaluated iteration; subset_size: |S|."""

    d: int
    iterations: list[int]
    accuracies: list[float]
    subset_size: int

    def series(self) -> Series:
        return Series(f"d = {self.d} (|S| = {self.subset_size})",
                      tuple(float(i) for i in self.iterations), tuple(self.accuracies), "line")

    def row(self) -> tuple:
        return (self.d, self.subset_size, self.accuracies[0], max(self.accuracies),
                self.accuracies[-1])


def _random_signs(count: int, d: int, generator: torch.Generator, device) -> torch.Tensor:
    bits = torch.randint(0, 2, (count, d), generator=generator, device=device)
    return (1 - 2 * bits).to(torch.float64)


@dataclass(frozen=True)
class ParityTask:
    """One d of Fig. 1: the parity subset (members, |S|), the learner's own random stream, its
    initial weights (W (d, 10d), b (10d), v (10d), c (1): PyTorch's default uniform init) and the
    test set (points, labels)."""

    d: int
    members: torch.Tensor
    subset_size: int
    generator: torch.Generator
    weights: tuple[torch.Tensor, ...]
    test_points: torch.Tensor
    test_labels: torch.Tensor


def parity_task(d: int, settings: LearningConfig, s: Session) -> ParityTask:
    """The subset, initial weights and test set of d, drawn from d's own seeded streams."""
    rng = s.rng(f"parity-subset-{d}")
    subset = rng.integers(0, 2, d)
    while not subset.any():
        subset = rng.integers(0, 2, d)
    members = torch.tensor(np.flatnonzero(subset), device=s.device)
    generator = s.generator(f"parity-learning-{d}")
    width = 10 * d
    bound_in, bound_out = 1 / math.sqrt(d), 1 / math.sqrt(width)

    def uniform(*shape, bound):
        return (2 * torch.rand(*shape, generator=generator, dtype=torch.float64,
                               device=s.device) - 1) * bound

    weights = (uniform(d, width, bound=bound_in), uniform(width, bound=bound_in),
               uniform(width, bound=bound_out), uniform(1, bound=bound_out))
    test_points = _random_signs(settings.test_size, d, generator, s.device)
    return ParityTask(d, members, int(subset.sum()), generator, weights, test_points,
                      test_points[:, members].prod(dim=1))


def _hinge_sgd_step(params: list[torch.Tensor], points: torch.Tensor, labels: torch.Tensor,
                    learning_rate: float) -> None:
    """One SGD step on the mean hinge loss max(0, 1 - y f(x)) of f(x) = relu(x W + b) v + c
    (params W (d, H), b (H), v (H), c (1); points (m, d)), in place, with the gradient written
    out as autograd gives it: clamp passes where 1 - y f >= 0, relu where the pre-activation
    is > 0, the mean divides by m."""
    weight, bias, out_weight, out_bias = params
    hidden = torch.addmm(bias, points, weight)
    active = torch.relu(hidden)
    output = active @ out_weight + out_bias
    upstream = torch.where(1 - labels * output >= 0, -labels, 0.0) / labels.shape[0]
    hidden_grad = torch.outer(upstream, out_weight).mul_(hidden > 0)
    gradients = (points.T @ hidden_grad, hidden_grad.sum(0), upstream @ active,
                 upstream.sum(0, keepdim=True))
    for param, gradient in zip(params, gradients):
        param -= learning_rate * gradient


def _accuracy(params: list[torch.Tensor], task: ParityTask) -> float:
    weight, bias, out_weight, out_bias = params
    output = torch.relu(torch.addmm(bias, task.test_points, weight)) @ out_weight + out_bias
    return float((torch.sign(output) == task.test_labels).double().mean())


def train_parity(task: ParityTask, settings: LearningConfig) -> LearningCurve:
    """Plain SGD from the task's initial weights, the test accuracy every `evaluate_every`
    iterations. The batches of one evaluation period are one draw from the task's stream (the
    same numbers, in the same order, as one draw per step)."""
    params = [w.clone() for w in task.weights]
    iterations, accuracies, step = [], [], 0
    every, batch = settings.evaluate_every, settings.batch_size
    while True:
        if step % every == 0:
            iterations.append(step)
            accuracies.append(_accuracy(params, task))
        if step == settings.iterations:
            break
        block = min(every - step % every, settings.iterations - step)
        points = _random_signs(block * batch, task.d, task.generator, task.test_points.device)
        labels = points[:, task.members].prod(dim=1)
        for index in range(block):
            rows = slice(index * batch, (index + 1) * batch)
            _hinge_sgd_step(params, points[rows], labels[rows], settings.learning_rate)
        step += block
    return LearningCurve(task.d, iterations, accuracies, task.subset_size)


def learning_curves(settings: LearningConfig, s: Session) -> list[LearningCurve]:
    """Test accuracy of the width-10d ReLU layer trained by SGD on the hinge loss to learn the
    parity of a random non-empty subset, for every d of `settings` (each on its own streams)."""
    return s.map(lambda d: train_parity(parity_task(d, settings, s), settings),
                 settings.dimensions, "parity learning")


def learning_curve(d: int, settings: LearningConfig, s: Session) -> LearningCurve:
    """The learning curve of one d alone (`learning_curves` with one dimension)."""
    return learning_curves(replace(settings, dimensions=(d,)), s)[0]


def learning_values(curves: list[LearningCurve]) -> dict[str, float]:
    values = {}
    for curve in curves:
        values[f"final_accuracy_d{curve.d}"] = curve.accuracies[-1]
        values[f"best_accuracy_d{curve.d}"] = max(curve.accuracies)
    return values


def chance_band(settings: LearningConfig) -> float:
    """3 binomial standard deviations of a test accuracy at chance 1/2."""
    return 3 * math.sqrt(0.25 / settings.test_size)


def judge_learning(curves: list[LearningCurve], band: float) -> Judgement:
    """Fig. 1's outcome: the largest d ends within `band` of chance while the smallest d reaches
    LEARNED_ACCURACY (a trainer that does not move fails the second part)."""
    smallest, largest = curves[0], curves[-1]
    stuck = abs(largest.accuracies[-1] - 0.5) <= band
    learned = max(smallest.accuracies) >= LEARNED_ACCURACY
    verdict = Verdict.CONSISTENT if stuck and learned else Verdict.VIOLATED
    detail = (f"d = {largest.d} final accuracy {largest.accuracies[-1]:.3f} "
              f"({'within' if stuck else 'outside'} {band:.3f} of chance); d = {smallest.d} best "
              f"accuracy {max(smallest.accuracies):.3f} ({'>=' if learned else '<'} "
              f"{LEARNED_ACCURACY:g}); final accuracies: "
              + ", ".join(f"d={c.d}: {c.accuracies[-1]:.3f}" for c in curves))
    return Judgement(verdict, detail, {})


def stopped_at_initialization(curves: list[LearningCurve]) -> list[LearningCurve]:
    """The control: the same curves cut at iteration 0 (a run whose weights never moved)."""
    return [LearningCurve(c.d, c.iterations[:1], c.accuracies[:1], c.subset_size)
            for c in curves]


def record_learning(s: Session, settings: LearningConfig) -> None:
    curves = learning_curves(settings, s)
    band = chance_band(settings)
    s.decide(
        "parity-learning-largest-d",
        f"Fig. 1 (reported, not decisive): after {settings.iterations} SGD iterations (lr "
        f"{settings.learning_rate}, batch {settings.batch_size}, hinge loss, ReLU width 10d) the "
        f"test accuracy at the largest d = {curves[-1].d} is within 3 binomial standard "
        f"deviations ({band:.3f}) of chance 0.5, while the same trainer reaches >= "
        f"{LEARNED_ACCURACY:g} at the smallest d = {curves[0].d}",
        lambda observed: judge_learning(observed, band), curves, decisive=False,
        controls={"a run stopped at its initialization": stopped_at_initialization(curves)},
        values=learning_values(curves))
    s.figure("parity-learning", "Fig. 1: learning parities with SGD (hinge loss)", (
        Panel("test accuracy vs iterations", "iteration", "test accuracy",
              tuple(c.series() for c in curves), xscale="linear", yscale="linear"),))
    s.table("parity-learning", f"Parity learning: {settings.test_size} fresh test points, "
            f"{settings.iterations} iterations",
            ("d", "subset size", "initial accuracy", "best accuracy", "final accuracy"),
            [c.row() for c in curves])


# --- Theorem 2's example: the cosine landscape -----------------------------------------------


def monte_carlo_deviation(s: Session, settings: LandscapeConfig, target: torch.Tensor,
                          variance: float = 1.0) -> float:
    """max over the probe points of |closed form - Monte-Carlo mean| / its standard error; the
    closed form written for x ~ N(0, variance I) (1: the law sampled; 2: the false alternative)."""
    generator = s.generator("landscape-samples")
    samples = torch.randn(settings.samples, 2, generator=generator, dtype=torch.float64,
                          device=s.device)
    standardized = []
    for point in settings.probe_points:
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


def gradient_profile(settings: LandscapeConfig, target: torch.Tensor) -> GradientProfile:
    """||grad F_v(w)|| at w = v + t u, u the unit vector orthogonal to v, at the distances t:
    Gauss-Hermite quadrature of E_x[-2 (cos(w.x) - cos(v.x)) sin(w.x) x], and the closed form."""
    direction = torch.stack([target[1], -target[0]]) / torch.linalg.norm(target)
    distances = np.array(settings.distances)
    along = target + _tensor(distances, target.device).unsqueeze(1) * direction
    closed = torch.linalg.norm(cosine_gradient(along, target), dim=-1).cpu().numpy()
    v = target.cpu().numpy()
    norms = np.array([np.linalg.norm(gradient_by_quadrature(w, v, settings.quadrature_nodes))
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


def radius_profile(settings: LandscapeConfig, device: str,
                   log_slope: CharacteristicSlope = GAUSSIAN_LOG_SLOPE,
                   radii: tuple[float, ...] | None = None) -> RadiusProfile:
    """log Var over targets v on the circle ||v|| = r (trapezoid over `angles` points) of the
    target-dependent part of grad F_v at the anchor, at each radius r of `radii` (default
    `settings.radii`), for the input law with log(-chi') = `log_slope` (the Gaussian's;
    `LAPLACE_LOG_SLOPE` for the false world)."""
    radii = np.array(settings.radii if radii is None else radii)
    angles = torch.arange(settings.angles, dtype=torch.float64, device=device)
    angles = angles * (2 * math.pi / settings.angles)
    circle = torch.stack([torch.cos(angles), torch.sin(angles)], dim=-1)
    targets = _tensor(radii, device).view(-1, 1, 1) * circle
    log_variance = log_target_variance(_tensor(settings.anchor, device), targets, log_slope)
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


def landscape_figure(settings: LandscapeConfig, target: torch.Tensor, flatness: GradientProfile,
                     decay: RateFit, spread: RadiusProfile, radius_fit: RateFit) -> Figure:
    axis = np.linspace(-settings.grid_extent, settings.grid_extent, settings.grid_points)
    device = target.device
    grid = torch.stack(torch.meshgrid(_tensor(axis, device), _tensor(axis, device),
                                      indexing="xy"), dim=-1)
    surface = cosine_objective(grid, target).cpu().numpy()
    return Figure("cosine-landscape", "Theorem 2 example: F_v(w) = E[(cos(w.x) - cos(v.x))^2]", (
        Panel(f"F_v(w), v = {settings.target}", "w_1", "w_2",
              surface=Surface("F_v(w)", tuple(axis), tuple(axis),
                              tuple(tuple(float(z) for z in row) for row in surface)),
              xscale="linear", yscale="linear"),
        rate_panel("||grad F|| / t vs squared distance t^2", "t^2", "||grad F_v(w)|| / t",
                   flatness.at**2, flatness.per_distance, decay, GAUSSIAN_DECAY),
        rate_panel("-log Var over ||v|| = r vs r", "r", "-log Var_v grad F_v(w)", spread.at,
                   decay_depth(spread.log_variance), radius_fit, RADIUS_DECAY),
    ), columns=3)


def record_landscape(s: Session, settings: LandscapeConfig) -> None:
    target = _tensor(settings.target, s.device)
    s.identity(
        "cosine-closed-form-vs-monte-carlo",
        f"F_v(w) closed form against a {settings.samples}-sample Monte-Carlo mean at w in "
        f"{list(settings.probe_points)}, v = {settings.target}: |difference| / standard error "
        "(tolerance 4: a 4-sigma deviation)",
        monte_carlo_deviation(s, settings, target), 4.0, values={"samples": settings.samples},
        controls={"the closed form for x ~ N(0, 2 I) (e^{-|a|^2} in place of e^{-|a|^2/2})":
                  monte_carlo_deviation(s, settings, target, variance=2.0)})
    flatness = gradient_profile(settings, target)
    squared = flatness.at**2
    decay = s.rate(
        "cosine-gradient-flatness",
        "away from the optimum (w = v + t u, u orthogonal to v) ||grad F_v(w)|| = "
        "t e^{-t^2/2} (1 + O(e^{-16})): the target term (w - v) e^{-|w-v|^2/2} has norm "
        "t e^{-t^2/2}, the others carry e^{-|w+v|^2/2}, e^{-2|w|^2}. ||grad F|| from Gauss-Hermite "
        f"quadrature of its definition ({settings.quadrature_nodes}^2 nodes), divided by t, "
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
    spread = radius_profile(settings, s.device)
    laplace = radius_profile(settings, s.device, LAPLACE_LOG_SLOPE)
    radius = s.rate(
        "cosine-variance-vs-radius",
        "Theorem 2: Var over targets v with ||v|| = r (uniform on the circle, "
        f"{settings.angles}-point trapezoid, in the log domain) of grad F_v(w) at w = "
        f"{settings.anchor} is exp(-Omega(r)), i.e. -log Var = Omega(r): the asymptotic exponent "
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
    small = radius_profile(settings, s.device, radii=settings.representable_radii)
    small_laplace = radius_profile(settings, s.device, LAPLACE_LOG_SLOPE,
                                   settings.representable_radii)
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
    s.figure(landscape_figure(settings, target, flatness, decay.fit, spread, radius.fit))


def verify(s: Session) -> None:
    setup = s.preset(quick=ExperimentConfig.quick(), full=ExperimentConfig.full())
    series = variance_series(s, setup.sweep)
    record_variance(s, series)
    record_float32(s, setup.sweep, reference=series[0])
    record_learning(s, setup.learning)
    record_landscape(s, setup.landscape)
    s.note("Var / G^2 is fitted rather than Var: G(w)^2 = E||g||^2 grows with d for these "
           "networks, and Theorem 1's rate in |H| is at fixed G.")
    s.note("Parity learning: target = parity of a random non-empty subset; weights "
           "U(-1/sqrt(fan-in), 1/sqrt(fan-in)); fresh batches each iteration.")
