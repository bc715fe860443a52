"""Experiment layer of `saddle-points`: batched torch runs of GD, saddle-free Newton and Newton at
quadratic saddles, and critical points of random Gaussian-field quartics found by Newton.

Source: Dauphin et al. (2014), arXiv:1406.2572. Section 4: GD leaves a strict saddle along the
negative-curvature direction lambda_- = -b, |y_t| = (1 + eta b)^t eps, so the escape time from a
distance eps off the stable manifold to R is log(R/eps) / log(1 + eta b) ~ (1/(eta b)) log(1/eps);
Newton jumps to the critical point of a quadratic in one step. Section 5: saddle-free Newton
doubles |y| per step whatever b. Section 3 (Bray and Dean 2007): for Gaussian random fields the
index of a critical point grows with its loss and minima become rare as the dimension grows; here
measured on f = |x|^4/4 + V(x), V an isotropic Gaussian cubic field (`landscape`). The critical
points are those Newton finds from uniform starts in a ball: a finite-sample estimate that depends
on the search, not an enumeration.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy import stats

from optverify.kit import (
    Bound,
    Check,
    Figure,
    Panel,
    RateFit,
    Series,
    Session,
    Surface,
    Verdict,
    fit_exponential_rate,
    machine_epsilon,
    rate_panel,
)
from optverify.numerics.haar import haar_orthogonal
from optverify.theorems.saddle_points.landscape import (
    gd_escape_steps_closed_form,
    newton_step,
    quadratic_gradient,
    quadratic_hessian,
    random_quartic_fields,
    saddle_free_newton_step,
    validate_dimension,
    validate_step_size,
)

ESCAPE_VS_CURVATURE = Bound.tight("eta b", -1)
ROUNDING_ULPS = 16
"""Relative rounding error of one step of an iterate, in units of machine epsilon."""


@dataclass(frozen=True)
class ExperimentConfig:
    """Sweeps of the escape experiment and of the landscape search.

    distances: eps, the start's distance |y_0| from the stable manifold y = 0 (x_0 = 1).
    etas, curvatures: step sizes and negative curvatures b (a = 1); radius R = 1.
    newton_dimensions / newton_starts: random non-degenerate quadratics for Newton's one step.
    field_dimensions, field_functions, field_starts, field_iterations, field_scale, start_radius:
    the search for critical points of random quartics |x|^4/4 + sigma V(x) (sigma = field_scale;
    the critical points lie within |x| ~ 2 sigma, inside the ball of starts).
    """

    distances: tuple[float, ...]
    etas: tuple[float, ...]
    curvatures: tuple[float, ...]
    newton_dimensions: tuple[int, ...]
    newton_starts: int
    field_dimensions: tuple[int, ...]
    field_functions: int
    field_starts: int
    field_iterations: int
    field_scale: float = 10.0
    start_radius: float = 30.0
    radius: float = 1.0

    def __post_init__(self) -> None:
        for eta in self.etas:
            validate_step_size(eta)
        for dimension in (*self.newton_dimensions, *self.field_dimensions):
            validate_dimension(dimension)
        if max(self.etas) * max(self.curvatures) > 1 or max(self.etas) >= 2:
            raise ValueError("eta b must be at most 1 and eta < 2 (stable along x, a = 1)")
        if not all(0 < eps < self.radius for eps in self.distances):
            raise ValueError(f"the distances eps must lie in (0, R = {self.radius})")

    @classmethod
    def quick(cls) -> ExperimentConfig:
        return cls(tuple(np.geomspace(1e-12, 1e-2, 6)), (0.05, 0.1), tuple(np.geomspace(0.1, 1, 4)),
                   (2, 4, 8), 200, (2, 3, 4, 5), 24, 150, 40)

    @classmethod
    def full(cls) -> ExperimentConfig:
        return cls(tuple(np.geomspace(1e-14, 1e-2, 13)), (0.01, 0.03, 0.1),
                   tuple(np.geomspace(0.05, 1, 7)), (2, 3, 4, 6, 8), 2000, (2, 3, 4, 5, 6, 7, 8),
                   24, 400, 60)


@dataclass(frozen=True)
class EscapeRuns:
    """Escape steps (distance, eta, curvature) of GD and saddle-free Newton, and the closed form."""

    gd: np.ndarray
    saddle_free: np.ndarray
    closed_form: np.ndarray
    eta_b: np.ndarray
    gd_tolerance: float
    saddle_free_tolerance: float


def _iterate_until_exit(step, point: torch.Tensor, radius: float) -> torch.Tensor:
    """Steps until |y| = |point[..., 1]| >= radius for every batched start."""
    exit_step = torch.full(point.shape[:-1], -1, dtype=torch.int64, device=point.device)
    count = 0
    while bool((exit_step < 0).any()):
        newly = (exit_step < 0) & (point[..., 1].abs() >= radius)
        exit_step = torch.where(newly, count, exit_step)
        # starts that have left stay where they are (iterating them on would overflow)
        point = torch.where((exit_step < 0).unsqueeze(-1), step(point), point)
        count += 1
    return exit_step


def crossing_tolerance(steps: float, factor: float, dtype: str) -> float:
    """How many steps rounding can move a crossing count: a relative error of ROUNDING_ULPS eps per
    step shifts the exact crossing time by steps * ROUNDING_ULPS * eps / log(factor), and the count
    (a ceiling) by at most one more step."""
    return 1.0 + steps * ROUNDING_ULPS * machine_epsilon(dtype) / math.log(factor)


def escape_runs(setup: ExperimentConfig, s: Session) -> EscapeRuns:
    """GD and saddle-free Newton from (1, eps) on (x^2 - b y^2)/2 for every eps, eta, b, batched
    on the session's device and dtype, and the closed-form GD escape steps."""
    options = {"dtype": s.torch_dtype, "device": s.device}
    distance = torch.tensor(setup.distances, **options).view(-1, 1, 1)
    eta = torch.tensor(setup.etas, **options).view(1, -1, 1)
    curvature = torch.tensor(setup.curvatures, **options).view(1, 1, -1)
    shape = torch.broadcast_shapes(distance.shape, eta.shape, curvature.shape)
    eigenvalues = torch.stack([torch.ones(shape, **options), -curvature.expand(shape)], -1)
    start = torch.stack([torch.ones(shape, **options), distance.expand(shape)], -1)
    step_size = eta.expand(shape).unsqueeze(-1)
    gd = _iterate_until_exit(
        lambda p: p - step_size * quadratic_gradient(p, eigenvalues), start, setup.radius)
    hessian = quadratic_hessian(eigenvalues, shape).contiguous()
    saddle_free = _iterate_until_exit(
        lambda p: saddle_free_newton_step(p, quadratic_gradient(p, eigenvalues), hessian),
        start, setup.radius)
    closed = gd_escape_steps_closed_form(distance.double().cpu(), eta.double().cpu(),
                                         curvature.double().cpu(), setup.radius)
    eta_b = (eta * curvature).double().cpu().expand(shape).numpy()
    gd_steps = gd.cpu().numpy().astype(float)
    return EscapeRuns(
        gd=gd_steps, saddle_free=saddle_free.cpu().numpy().astype(float),
        closed_form=closed.numpy(), eta_b=eta_b,
        gd_tolerance=crossing_tolerance(gd_steps.max(), 1 + eta_b.min(), s.dtype),
        saddle_free_tolerance=crossing_tolerance(
            float(saddle_free.max()), 2.0, s.dtype))


def least_squares_slope_bound(u: np.ndarray) -> float:
    """The largest least-squares slope of errors |e_i| <= 1 on abscissae u:
    sum |u_i - mean| / sum (u_i - mean)^2."""
    centred = u - u.mean()
    return float(np.abs(centred).sum() / (centred**2).sum())


@dataclass(frozen=True)
class EscapeStatistics:
    """What the escape checks judge, from `EscapeRuns`.

    log_inv: log(R / eps) per distance. pooled_x, pooled_y: log(1/eps) and GD steps x log(1 + eta
    b), pooled over eta, b. slope_error, relative_slope_error: the largest (relative) deviation of
    the per-(eta, b) slope of GD steps against log(1/eps) from 1 / log(1 + eta b); slope_tolerance:
    that of a crossing-count error of at most `gd_tolerance` steps. closed_form_error: the largest
    difference of GD steps from the closed form. curvature_x, curvature_y: eta b and GD steps at the
    smallest eps. saddle_free_error: the largest difference of SFN steps from ceil(log2(R/eps));
    saddle_free_spread: their largest spread over eta, b at one eps. margin: min GD - SFN steps.
    """

    log_inv: np.ndarray
    pooled_x: np.ndarray
    pooled_y: np.ndarray
    slope_error: float
    relative_slope_error: float
    slope_tolerance: float
    closed_form_error: float
    curvature_x: np.ndarray
    curvature_y: np.ndarray
    saddle_free_error: float
    saddle_free_spread: float
    margin: float
    median_speedup: float


def escape_statistics(setup: ExperimentConfig, runs: EscapeRuns) -> EscapeStatistics:
    log_inv = np.log(setup.radius / np.array(setup.distances))
    normalized = runs.gd * np.log1p(runs.eta_b)
    slopes = np.array([[stats.linregress(log_inv, runs.gd[:, i, j]).slope
                        for j in range(runs.gd.shape[2])] for i in range(runs.gd.shape[1])])
    predicted = 1 / np.log1p(runs.eta_b[0])
    saddle_free_formula = np.ceil(np.log2(setup.radius / np.array(setup.distances)))
    return EscapeStatistics(
        log_inv=log_inv,
        pooled_x=np.repeat(log_inv, normalized[0].size), pooled_y=normalized.reshape(-1),
        slope_error=float(np.abs(slopes - predicted).max()),
        relative_slope_error=float(np.abs(slopes / predicted - 1).max()),
        slope_tolerance=runs.gd_tolerance * least_squares_slope_bound(log_inv),
        closed_form_error=float(np.abs(runs.gd - runs.closed_form).max()),
        curvature_x=runs.eta_b.reshape(-1)[: runs.eta_b[0].size], curvature_y=runs.gd[0].reshape(-1),
        saddle_free_error=float(
            np.abs(runs.saddle_free - saddle_free_formula.reshape(-1, 1, 1)).max()),
        saddle_free_spread=float(np.ptp(runs.saddle_free, axis=(1, 2)).max()),
        margin=float((runs.gd - runs.saddle_free).min()),
        median_speedup=float(np.median(runs.gd / runs.saddle_free)))


@dataclass(frozen=True)
class NewtonLanding:
    """Newton's one step on random quadratics: how many of `total` starts landed within the
    rounding bound 16 eps cond(H) |x_0| of the saddle, and the worst ratio |x_1| / bound."""

    landed: int
    total: int
    worst_ratio: float

    @property
    def fraction(self) -> float:
        return self.landed / self.total


def random_quadratic_newton(setup: ExperimentConfig, s: Session) -> NewtonLanding:
    """Newton's one step on random quadratics Q diag(lambda) Q^T (Q Haar-random) with random
    eigenvalue signs, at least one of each."""
    generator = s.generator("newton")
    options = {"dtype": s.torch_dtype, "device": s.device}
    worst, landed, total = 0.0, 0, 0
    for d in setup.newton_dimensions:
        count = setup.newton_starts
        signs = torch.where(torch.rand(count, d, generator=generator, **options) < 0.5, -1.0, 1.0)
        magnitudes = 10 ** torch.empty(count, d, **options).uniform_(-1, 1, generator=generator)
        eigenvalues = signs.to(options["dtype"]) * magnitudes
        eigenvalues[:, 0] = -magnitudes[:, 0]
        eigenvalues[:, 1] = magnitudes[:, 1]
        rotation = haar_orthogonal(d, generator, batch=(count,), **options)
        hessian = rotation @ torch.diag_embed(eigenvalues) @ rotation.mT
        start = torch.randn(count, d, generator=generator, **options)
        gradient = (hessian @ start.unsqueeze(-1)).squeeze(-1)
        after = newton_step(start, gradient, hessian)
        condition = magnitudes.max(-1).values / magnitudes.min(-1).values
        # a solve carries a relative error of about cond(H) eps (ROUNDING_ULPS of headroom)
        allowed = ROUNDING_ULPS * machine_epsilon(s.dtype) * condition * start.norm(dim=-1)
        ratio = after.norm(dim=-1) / allowed
        worst = max(worst, float(ratio.max()))
        landed += int((ratio <= 1).sum())
        total += count
    return NewtonLanding(landed, total, worst)


@dataclass(frozen=True)
class CriticalPoints:
    """Distinct non-degenerate critical points found by Newton in one dimension, over all functions:
    their loss f(x) and index (fraction of negative Hessian eigenvalues)."""

    dimension: int
    loss: np.ndarray
    index: np.ndarray
    starts: int

    @property
    def minima_fraction(self) -> float:
        return float(np.mean(self.index == 0))


def _distinct(points: np.ndarray, radius: float) -> np.ndarray:
    """A mask keeping one point of each cluster closer than `radius` (the first one)."""
    distances = np.linalg.norm(points[:, None] - points[None], axis=-1)
    return ~np.triu(distances < radius, 1).any(0)


def find_critical_points(setup: ExperimentConfig, s: Session, dimension: int) -> CriticalPoints:
    """Pure Newton iterations from uniform starts in a ball on random quartics; converged points
    (|grad| at the rounding floor of its terms) are de-duplicated per function and kept when
    non-degenerate."""
    options = {"dtype": s.torch_dtype, "device": s.device}
    generator = s.generator(f"field-{dimension}")
    fields = random_quartic_fields(setup.field_functions, dimension, generator, **options,
                                   field_scale=setup.field_scale)
    shape = (setup.field_functions, setup.field_starts, dimension)
    direction = torch.randn(shape, generator=generator, **options)
    direction = direction / direction.norm(dim=-1, keepdim=True)
    radius = setup.start_radius * torch.rand(shape[:-1], generator=generator, **options) ** (
        1 / dimension)
    point = direction * radius.unsqueeze(-1)
    for _ in range(setup.field_iterations):
        step, info = torch.linalg.solve_ex(fields.hessian(point),
                                           fields.gradient(point).unsqueeze(-1))
        point = torch.where((info == 0).unsqueeze(-1), point - step.squeeze(-1), point)
        point = torch.where(torch.isfinite(point), point, torch.nan)
    eps = machine_epsilon(s.dtype)
    scale = dimension * (1 + point.norm(dim=-1)) ** 3
    # the gradient's terms are O(d (1 + |x|)^3) (sigma |x|^2 <= |x|^3 in the ball of critical
    # points); 1000 ulps of them is the converged floor
    converged = torch.isfinite(point).all(-1) & (
        fields.gradient(point).norm(dim=-1) <= 1000 * eps * scale)
    eigenvalues = torch.linalg.eigvalsh(fields.hessian(torch.nan_to_num(point)))
    curvature_floor = 1000 * eps * dimension * (1 + point.norm(dim=-1)) ** 2
    nondegenerate = eigenvalues.abs().min(-1).values > curvature_floor
    negative = (eigenvalues < 0).sum(-1)
    values = fields.value(torch.nan_to_num(point))
    losses, indices = [], []
    for f in range(setup.field_functions):
        keep = (converged[f] & nondegenerate[f]).cpu().numpy()
        found = point[f].cpu().numpy()[keep]
        distinct = _distinct(found, 1e3 * math.sqrt(eps))
        losses.append(values[f].cpu().numpy()[keep][distinct])
        indices.append(negative[f].cpu().numpy()[keep][distinct] / dimension)
    return CriticalPoints(dimension, np.concatenate(losses), np.concatenate(indices),
                          setup.field_functions * setup.field_starts)


@dataclass(frozen=True)
class IndexLossTrend:
    """The least-squares line of index against loss over one dimension's critical points, its
    slope's 95% confidence interval [ci_low, ci_high] and Spearman's rank correlation."""

    dimension: int
    critical_points: int
    slope: float
    intercept: float
    ci_low: float
    ci_high: float
    pearson_r: float
    spearman_rho: float
    spearman_p_value: float

    @property
    def verdict(self) -> Verdict:
        """Consistent when the slope's interval lies above 0, violated when below."""
        return (Verdict.CONSISTENT if self.ci_low > 0 else
                Verdict.VIOLATED if self.ci_high < 0 else Verdict.INCONCLUSIVE)

    @property
    def values(self) -> dict[str, float | int]:
        return {"slope": self.slope, "ci_low": self.ci_low, "ci_high": self.ci_high,
                "pearson_r": self.pearson_r, "spearman_rho": self.spearman_rho,
                "spearman_p_value": self.spearman_p_value, "critical_points": self.critical_points}


def index_loss_trend(points: CriticalPoints) -> IndexLossTrend:
    regression = stats.linregress(points.loss, points.index)
    rank = stats.spearmanr(points.loss, points.index)
    half = float(stats.t.ppf(0.975, points.loss.size - 2)) * regression.stderr
    return IndexLossTrend(
        points.dimension, int(points.loss.size), float(regression.slope),
        float(regression.intercept), float(regression.slope - half),
        float(regression.slope + half), float(regression.rvalue), float(rank.statistic),
        float(rank.pvalue))


def minima_fractions(found: list[CriticalPoints]) -> dict[str, float]:
    return {f"minima_fraction_d{p.dimension}": p.minima_fraction for p in found}


def minima_fraction_fit(found: list[CriticalPoints]) -> RateFit | None:
    """The log-linear fit of the minima fraction against d (None when a dimension found no
    minimum or fewer than three dimensions were searched)."""
    dims = np.array([p.dimension for p in found], dtype=float)
    fractions = np.array([p.minima_fraction for p in found])
    if np.any(fractions <= 0) or dims.size < 3:
        return None
    return fit_exponential_rate(dims, fractions)


def falling_verdict(fit: RateFit) -> Verdict:
    """Consistent when the fitted rate's interval lies below 0, violated when above."""
    return (Verdict.CONSISTENT if fit.ci.high < 0 else
            Verdict.VIOLATED if fit.ci.low > 0 else Verdict.INCONCLUSIVE)


def _landscape_figure(found: list[CriticalPoints], trends: list[IndexLossTrend],
                      minima_fit: RateFit | None) -> Figure:
    scatter = []
    for points, trend in zip(found, trends):
        scatter.append(Series(f"d = {points.dimension}", tuple(points.loss.tolist()),
                              tuple(points.index.tolist())))
        grid = np.linspace(points.loss.min(), points.loss.max(), 20)
        scatter.append(Series(f"fit d = {points.dimension} (slope {trend.slope:.3g})",
                              tuple(grid), tuple(trend.intercept + trend.slope * grid),
                              "line"))
    panels = [Panel("index vs loss at critical points", "loss f(x)",
                    "index (fraction of negative eigenvalues)", tuple(scatter),
                    xscale="linear", yscale="linear")]
    dims = [p.dimension for p in found]
    fractions = [p.minima_fraction for p in found]
    if minima_fit is not None:
        panels.append(rate_panel("fraction of minima among found critical points", "dimension d",
                                 "fraction of minima", dims, fractions, minima_fit))
    return Figure("landscape-index", "Critical points of random Gaussian-field quartics",
                  tuple(panels), columns=2)


def _escape_figure(setup: ExperimentConfig, escape: EscapeStatistics, main: Check,
                   curvature: Check) -> Figure:
    """The pooled escape times against log(1/eps) and the steps against eta b, with their fits."""
    return Figure("escape-times", "Escape time from a quadratic saddle", (
        rate_panel("GD escape time x log(1 + eta b) vs log(1/eps)", "log(1/eps)",
                   "steps x log(1 + eta b)", escape.pooled_x, escape.pooled_y, main.fit,
                   main.bound),
        rate_panel(f"GD escape steps at eps = {setup.distances[0]:.2g}", "eta b", "steps",
                   escape.curvature_x, escape.curvature_y, curvature.fit, curvature.bound),
    ), columns=2)


def _trajectory_figure() -> Figure:
    """GD, Newton and saddle-free Newton from (0.9, 0.05) on f = (x^2 - y^2)/2 (float64 display)."""
    grid = np.linspace(-1.2, 1.2, 41)
    surface = Surface("f = (x^2 - y^2)/2", tuple(grid), tuple(grid),
                      tuple(tuple((x * x - y * y) / 2 for x in grid) for y in grid))
    eigenvalues = torch.tensor([1.0, -1.0], dtype=torch.float64)
    hessian = torch.diag(eigenvalues)
    start = torch.tensor([0.9, 0.05], dtype=torch.float64)
    paths = {"GD, eta = 0.2": [start], "Newton": [start], "saddle-free Newton": [start]}
    for _ in range(14):
        gd = paths["GD, eta = 0.2"][-1]
        paths["GD, eta = 0.2"].append(gd - 0.2 * quadratic_gradient(gd, eigenvalues))
    paths["Newton"].append(newton_step(start, quadratic_gradient(start, eigenvalues), hessian))
    for _ in range(4):
        p = paths["saddle-free Newton"][-1]
        paths["saddle-free Newton"].append(
            saddle_free_newton_step(p, quadratic_gradient(p, eigenvalues), hessian))
    series = tuple(Series(name, tuple(float(p[0]) for p in path), tuple(float(p[1]) for p in path),
                          "line") for name, path in paths.items())
    return Figure("saddle-trajectories", "Trajectories near the saddle of (x^2 - y^2)/2", (Panel(
        "from (0.9, 0.05): Newton jumps to the saddle; GD, SFN leave", "x",
        "y", series, surface, xscale="linear", yscale="linear"),))


def verify(s: Session) -> None:
    """Escape times at quadratic saddles, Newton's one step, and random-landscape statistics."""
    setup = s.preset(quick=ExperimentConfig.quick(), full=ExperimentConfig.full())
    s.figure(_trajectory_figure())
    _escape(s, setup)
    _newton(s, setup)
    _landscape(s, setup)
    s.note(f"{s.dtype} on {s.device}. Escape: a = 1, R = 1, x_0 = 1, escape when "
           "|y_t| >= R. Landscape: f = |x|^4/4 + sigma V(x), V isotropic Gaussian cubic field, "
           f"sigma = {setup.field_scale:g}; "
           f"{setup.field_functions} functions x {setup.field_starts} Newton starts per d in "
           f"a ball of radius {setup.start_radius:g}; the critical points are those Newton "
           "found, not all of them.")


def _escape(s: Session, setup: ExperimentConfig) -> None:
    """GD's escape time against log(1/eps) and eta b, and saddle-free Newton's, batched."""
    runs = escape_runs(setup, s)
    escape = escape_statistics(setup, runs)
    main = s.rate(
        "gd-escape-time-vs-log-eps",
        "GD on (x^2 - b y^2)/2 from (1, eps): the steps until |y_t| >= R = 1, times "
        "log(1 + eta b), scale as log(1/eps)^1 (escape time (1/(eta |lambda_-|)) log(1/eps)), "
        "pooled over all eta, b", escape.pooled_x, escape.pooled_y, main=True)
    s.identity(
        "gd-escape-slope",
        "for each (eta, b): the least-squares slope of GD escape steps against log(1/eps) equals "
        "1 / log(1 + eta b) (tolerance: the slope of a crossing-count error of at most "
        f"{runs.gd_tolerance:.3g} steps)", escape.slope_error, escape.slope_tolerance,
        values={"largest_relative_slope_error": escape.relative_slope_error})
    s.identity(
        "gd-escape-closed-form",
        "GD escape steps equal ceil(log(R/eps) / log(1 + eta b)) for every eps, eta, b "
        "(tolerance: steps rounding can move a crossing)",
        escape.closed_form_error, runs.gd_tolerance)
    curvature = s.rate(
        "gd-escape-time-vs-curvature",
        f"GD from eps = {setup.distances[0]:.3g}: escape steps scale as (eta b)^-1 over all eta, b "
        f"(eta b in [{runs.eta_b.min():.3g}, {runs.eta_b.max():.3g}])",
        escape.curvature_x, escape.curvature_y, ESCAPE_VS_CURVATURE)
    s.identity(
        "saddle-free-newton-escape",
        "saddle-free Newton from (1, eps) leaves |y| < R in ceil(log2(R/eps)) steps for every b "
        "and eta (independent of the curvature)", escape.saddle_free_error,
        runs.saddle_free_tolerance, values={"spread_over_curvatures": escape.saddle_free_spread})
    s.inequality(
        "saddle-free-faster-than-gd",
        "saddle-free Newton escapes in no more steps than GD, for every eps, eta, b with eta b <= 1 "
        "(margin: min of GD steps - SFN steps)", escape.margin,
        values={"median_speedup": escape.median_speedup})
    s.figure(_escape_figure(setup, escape, main, curvature))


def _newton(s: Session, setup: ExperimentConfig) -> None:
    """Newton's one step lands on the saddle of random quadratics."""
    landing = random_quadratic_newton(setup, s)
    s.check(
        "newton-lands-on-saddle",
        "Newton from random starts on random quadratics x^T H x / 2 with H = Q diag(lambda) Q^T, "
        "eigenvalues of both signs (a saddle at 0): one step lands on the saddle for every start "
        "(|x_1| <= 16 eps cond(H) |x_0|)",
        Verdict.CONSISTENT if landing.landed == landing.total else Verdict.VIOLATED,
        f"fraction of starts ending at the saddle {landing.fraction:.4g} over {landing.total} "
        "starts", values={"fraction_at_saddle": landing.fraction,
                          "worst_ratio_to_rounding_bound": landing.worst_ratio})


def _landscape(s: Session, setup: ExperimentConfig) -> None:
    """Index against loss and the fraction of minima over the critical points Newton finds."""
    found = [find_critical_points(setup, s, d)
             for d in s.progress(setup.field_dimensions, "torch: Newton on random quartics")]
    trends = [index_loss_trend(points) for points in found]
    for trend in trends:
        s.check(
            f"index-grows-with-loss-d{trend.dimension}",
            f"d = {trend.dimension}: over the critical points Newton finds on random quartics, the "
            "index (fraction of negative Hessian eigenvalues) grows with the loss f(x): "
            "least-squares slope of index vs loss > 0 (95% CI)", trend.verdict,
            f"slope {trend.slope:.3g} (95% CI [{trend.ci_low:.3g}, {trend.ci_high:.3g}]), Pearson "
            f"r {trend.pearson_r:.3g}, {trend.critical_points} critical points: "
            f"{trend.verdict.value}", values=trend.values)
    minima_fit = minima_fraction_fit(found)
    _record_minima(s, found, minima_fit)
    s.figure(_landscape_figure(found, trends, minima_fit))
    s.table("critical-points", "Critical points found by Newton on random quartics",
            ("d", "starts", "distinct critical points", "minima fraction", "mean index",
             "index-loss Pearson r"),
            ((p.dimension, p.starts, int(p.loss.size), p.minima_fraction, float(p.index.mean()),
              trend.pearson_r) for p, trend in zip(found, trends)))


def _record_minima(s: Session, found: list[CriticalPoints], fit: RateFit | None) -> None:
    """The minima fraction falls exponentially with d (inconclusive without a fit)."""
    if fit is None:
        s.check("minima-fraction-falls-with-dimension",
                "the fraction of minima among found critical points falls with d",
                Verdict.INCONCLUSIVE, "a dimension without minima found (or fewer than 3 "
                "dimensions): no log-linear fit", values=minima_fractions(found))
        return
    verdict = falling_verdict(fit)
    dims = [p.dimension for p in found]
    s.check(
        "minima-fraction-falls-with-dimension",
        "the fraction of minima among the critical points Newton finds on random quartics falls "
        "exponentially with d: fitted rate a in fraction ~ exp(a d) is < 0 (95% CI); a "
        "finite-sample estimate that depends on the search", verdict,
        f"rate {fit.exponent:.3g} per dimension (95% CI [{fit.ci.low:.3g}, {fit.ci.high:.3g}]) "
        f"over d = {min(dims)}..{max(dims)}: {verdict.value}", fit=fit,
        values=minima_fractions(found))
