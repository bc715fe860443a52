"""Numeric layer of `saddle-points`: Newton, saddle-free Newton and GD iterated at mpmath precision
on a quadratic saddle (against the closed forms) and on two non-quadratic functions with a strict
saddle at the origin: the scalar deep linear net f = (1 - w_1 w_2)^2 / 2 and the double well
f = x^4/4 - x^2/2 + y^2/2.

Source: Dauphin et al. (2014), arXiv:1406.2572, Sections 4-5. Newton converges to a non-degenerate
critical point, saddle or not, at least quadratically (order 3 here: both functions have no cubic
term at the origin); GD and saddle-free Newton leave it from a start 10^-30 off its stable
manifold, a distance the iterates resolve only at high precision relative to the O(1) coordinates.
Tolerances: the precision floor 10^-(digits - 10) times the scale of the iterates (ten digits of
headroom for the rounding of up to ~10^3 steps).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mpmath import mp

from optverify.claim import Bound, BoundKind, Layer, Progress, RunConfig
from optverify.numerics.fit import fit_power_law
from optverify.results import Check, Figure, LayerResult, Panel, Series, Table
from optverify.theorems.saddle_points.landscape import validate_step_size
from optverify.verdict import identity_check, inequality_check, rate_check

FLOOR_DIGITS_MARGIN = 10
NEWTON_ORDER = Bound(BoundKind.LOWER, "d_k", 2)
"""Newton's local order at a non-degenerate critical point: d_{k+1} = O(d_k^2) (at least)."""

Oracle = Callable[[mp.matrix], tuple[mp.matrix, mp.matrix]]
"""point (2 x 1) -> (gradient, Hessian)."""


@dataclass(frozen=True)
class NumericConfig:
    """Quadratic saddles (a, b), the GD step, the escape starts and the non-quadratic runs.

    saddles: curvatures (a, b) of f = (a x^2 - b y^2)/2. gd_steps: GD steps compared with the
    closed form. escape_exponents: starts y_0 = 10^-k. radius: escape radius R.
    newton_start: start of Newton near the saddle of the non-quadratic functions.
    """

    saddles: tuple[tuple[float, float], ...]
    eta: float
    gd_steps: int
    escape_exponents: tuple[int, ...]
    radius: float = 0.5
    newton_start: tuple[float, float] = (0.2, 0.15)

    def __post_init__(self) -> None:
        validate_step_size(self.eta)
        if not all(a > 0 and b > 0 for a, b in self.saddles):
            raise ValueError(f"saddle curvatures a, b must be positive, got {self.saddles}")

    @classmethod
    def quick(cls) -> NumericConfig:
        return cls(((1.0, 0.5), (2.0, 1.5)), 0.1, 60, (5, 15, 30))

    @classmethod
    def full(cls) -> NumericConfig:
        return cls(((1.0, 0.5), (2.0, 1.5), (0.3, 3.0), (5.0, 0.1)), 0.1, 300, (5, 10, 20, 30, 40))


def deep_linear_oracle(point: mp.matrix):
    """f = (1 - w_1 w_2)^2 / 2: gradient -(1 - w_1 w_2)(w_2, w_1), Hessian
    [[w_2^2, 2 w_1 w_2 - 1], [2 w_1 w_2 - 1, w_1^2]]."""
    w1, w2 = point[0], point[1]
    residual = 1 - w1 * w2
    off = 2 * w1 * w2 - 1
    return mp.matrix([-residual * w2, -residual * w1]), mp.matrix([[w2**2, off], [off, w1**2]])


def double_well_oracle(point: mp.matrix):
    """f = x^4/4 - x^2/2 + y^2/2: gradient (x^3 - x, y), Hessian diag(3x^2 - 1, 1)."""
    x, y = point[0], point[1]
    return mp.matrix([x**3 - x, y]), mp.diag([3 * x**2 - 1, 1])


def quadratic_oracle(a, b) -> Oracle:
    return lambda point: (mp.matrix([a * point[0], -b * point[1]]), mp.diag([a, -b]))


def newton_step(oracle: Oracle, point: mp.matrix) -> mp.matrix:
    gradient, hessian = oracle(point)
    return point - mp.lu_solve(hessian, gradient)


def saddle_free_newton_step(oracle: Oracle, point: mp.matrix) -> mp.matrix:
    gradient, hessian = oracle(point)
    eigenvalues, vectors = mp.eigsy(hessian)
    absolute = vectors * mp.diag([abs(value) for value in eigenvalues]) * vectors.T
    return point - mp.lu_solve(absolute, gradient)


def gd_step(oracle: Oracle, point: mp.matrix, eta) -> mp.matrix:
    if not (mp.isfinite(eta) and eta > 0):
        raise ValueError(f"the step size eta must be positive and finite, got {eta}")
    return point - eta * oracle(point)[0]


def norm(point: mp.matrix):
    return mp.sqrt(sum(entry**2 for entry in point))


def steps_to_leave(step: Callable[[mp.matrix], mp.matrix], start: mp.matrix, radius,
                   measure=norm, limit: int = 100_000) -> int:
    """The number of steps until measure(point) >= radius (default: the distance |point| from the
    saddle at 0); ValueError if `limit` steps do not suffice."""
    point = start
    for count in range(limit + 1):
        if measure(point) >= radius:
            return count
        point = step(point)
    raise ValueError(f"the iterates did not leave the ball of radius {radius} in {limit} steps")


def newton_distances(oracle: Oracle, start: mp.matrix, floor, limit: int = 20) -> list:
    """|x_k| along Newton from `start` while it stays above the precision floor."""
    distances, point = [norm(start)], start
    for _ in range(limit):
        point = newton_step(oracle, point)
        distances.append(norm(point))
        if distances[-1] <= floor:
            break
    return distances


def _quadratic_checks(setup: NumericConfig, floor, digits: int) -> tuple[list[Check], list]:
    eta = mp.mpf(setup.eta)
    gd_residual = newton_residual = sfn_residual = mp.zero
    rows, start = [], mp.matrix([mp.mpf("0.7"), mp.mpf("-0.3")])
    for a, b in setup.saddles:
        a, b = mp.mpf(a), mp.mpf(b)
        oracle = quadratic_oracle(a, b)
        point = start
        for t in range(1, setup.gd_steps + 1):
            point = gd_step(oracle, point, eta)
            exact = mp.matrix([(1 - eta * a) ** t * start[0], (1 + eta * b) ** t * start[1]])
            gd_residual = max(gd_residual, norm(point - exact) / norm(exact))
        newton_residual = max(newton_residual, norm(newton_step(oracle, start)) / norm(start))
        sfn_residual = max(sfn_residual, norm(saddle_free_newton_step(oracle, start)
                                              - mp.matrix([0, 2 * start[1]])) / norm(start))
        for exponent in setup.escape_exponents:
            y0 = mp.mpf(10) ** -exponent
            begin = mp.matrix([mp.one, y0])
            gd = steps_to_leave(lambda p, oracle=oracle: gd_step(oracle, p, eta), begin, setup.radius,
                                measure=lambda p: abs(p[1]))
            formula = mp.ceil(mp.log(setup.radius / y0) / mp.log(1 + eta * b))
            rows.append((float(a), float(b), exponent, gd, int(formula)))
    checks = [
        identity_check(
            Layer.NUMERIC, "gd-closed-form",
            f"GD on (a x^2 - b y^2)/2 for {setup.gd_steps} steps: (x_t, y_t) = ((1 - eta a)^t x_0, "
            "(1 + eta b)^t y_0) (max relative residual over t and saddles)",
            float(gd_residual), float(floor), precision_digits=digits),
        identity_check(
            Layer.NUMERIC, "newton-one-step-quadratic",
            "Newton from (0.7, -0.3) on (a x^2 - b y^2)/2 lands on the saddle (0, 0) in one step "
            "(residual |x_1| / |x_0|)", float(newton_residual), float(floor),
            precision_digits=digits),
        identity_check(
            Layer.NUMERIC, "saddle-free-newton-quadratic",
            "saddle-free Newton on (a x^2 - b y^2)/2 maps (x, y) to (0, 2y) (relative residual)",
            float(sfn_residual), float(floor), precision_digits=digits),
        identity_check(
            Layer.NUMERIC, "gd-escape-count",
            "GD from (1, 10^-k) needs exactly ceil(log(R/10^-k) / log(1 + eta b)) steps until "
            f"|y_t| >= R = {setup.radius:g} (k up to {max(setup.escape_exponents)}; residual: "
            "largest difference in steps)",
            float(max(abs(row[3] - row[4]) for row in rows)), 0.0),
    ]
    return checks, rows


@dataclass(frozen=True)
class SaddleFunction:
    """A non-quadratic function with a strict saddle at 0: its oracle, a unit vector of its stable
    manifold (a straight line through 0 for both functions) and one of its unstable direction."""

    name: str
    oracle: Oracle
    stable: tuple[str, str]
    unstable: tuple[str, str]


def saddle_functions() -> tuple[SaddleFunction, ...]:
    half = "0.70710678118654752440084436210484903928483593768847403658833986900"
    return (
        SaddleFunction("deep linear (1 - w_1 w_2)^2 / 2", deep_linear_oracle, (half, "-" + half),
                       (half, half)),
        SaddleFunction("double well x^4/4 - x^2/2 + y^2/2", double_well_oracle, ("0", "1"),
                       ("1", "0")),
    )


OFFSET_EXPONENT = 30
"""GD and saddle-free Newton start 10^-30 off the stable manifold: below float64 resolution of the
O(0.2) coordinates, so only the high-precision iterates can follow the escape."""

STABLE_COORDINATE = "0.2"
FLOAT64_BITS = 53
FLOAT64_STEP_LIMIT = 5000
"""The float64 twin of GD runs this many steps (several times the high-precision escape time)."""


def _escape_runs(function: SaddleFunction, setup: NumericConfig, floor):
    """(GD steps to leave radius R, saddle-free Newton steps, Newton's distances) from the start
    0.2 * stable + 10^-30 * unstable; Newton's distances from `newton_start`; and GD's steps from
    the start rounded to float64 and iterated at 53 bits (None: it never leaves)."""
    stable = mp.matrix([mp.mpf(v) for v in function.stable])
    unstable = mp.matrix([mp.mpf(v) for v in function.unstable])
    start = mp.mpf(STABLE_COORDINATE) * stable + mp.mpf(10) ** -OFFSET_EXPONENT * unstable
    eta = mp.mpf(setup.eta)
    gd = steps_to_leave(lambda p: gd_step(function.oracle, p, eta), start, setup.radius)
    sfn = steps_to_leave(lambda p: saddle_free_newton_step(function.oracle, p), start,
                         setup.radius)
    near = newton_distances(function.oracle, start, floor)
    with mp.workprec(FLOAT64_BITS):
        rounded = mp.matrix([mp.mpf(float(entry)) for entry in start])
        try:
            float64_gd = steps_to_leave(lambda p: gd_step(function.oracle, p, eta), rounded,
                                        setup.radius, limit=FLOAT64_STEP_LIMIT)
        except ValueError:
            float64_gd = None
    from_start = newton_distances(
        function.oracle, mp.matrix([mp.mpf(v) for v in setup.newton_start]), floor)
    return gd, sfn, near, from_start, float64_gd


def _order_check(function: SaddleFunction, distances: list, floor, digits: int) -> Check | None:
    resolved = [float(d) for d in distances if d > floor]
    if len(resolved) < 4:
        return None
    fit = fit_power_law(resolved[:-1], resolved[1:])
    return rate_check(
        Layer.NUMERIC, f"newton-order-{function.name.split()[0]}-{function.name.split()[1]}",
        f"{function.name}: Newton from {STABLE_COORDINATE}-scale starts converges to the saddle "
        "at least quadratically, |x_{k+1}| = O(|x_k|^2) (slope of log |x_{k+1}| vs log |x_k|)",
        fit, NEWTON_ORDER, values={"distances_above_floor": len(resolved),
                                   "precision_floor": float(floor), "digits": digits})


def verify(config: RunConfig, progress: Progress) -> LayerResult:
    """High-precision iterates on the quadratic saddle and on two non-quadratic saddles."""
    setup = NumericConfig.quick() if config.quick else NumericConfig.full()
    digits = config.precision
    series, table_rows = [], []
    with mp.workdps(digits):
        floor = mp.mpf(10) ** -(digits - FLOOR_DIGITS_MARGIN)
        checks, escape_rows = _quadratic_checks(setup, floor, digits)
        for function in progress(saddle_functions(), "mpmath: non-quadratic saddles"):
            gd, sfn, near, from_start, float64_gd = _escape_runs(function, setup, floor)
            short = function.name.split()[0] + "-" + function.name.split()[1]
            checks.append(identity_check(
                Layer.NUMERIC, f"newton-attracted-{short}",
                f"{function.name}: Newton from 0.2 * (stable direction) + 10^-{OFFSET_EXPONENT} "
                "* (unstable direction) and from "
                f"{setup.newton_start} converges to the saddle at 0 (final distance)",
                float(max(near[-1], from_start[-1])), float(floor), precision_digits=digits,
                values={"newton_steps": len(near) - 1}))
            checks.append(inequality_check(
                Layer.NUMERIC, f"saddle-free-faster-{short}",
                f"{function.name}: from the same start, GD (eta = {setup.eta:g}) and saddle-free "
                f"Newton both leave the ball of radius {setup.radius:g} around the saddle, "
                "saddle-free Newton in fewer steps (margin: GD steps - SFN steps)",
                float(gd - sfn), values={
                    "gd_steps": gd, "saddle_free_newton_steps": sfn,
                    "float64_gd_steps": (f"does not leave in {FLOAT64_STEP_LIMIT} steps"
                                         if float64_gd is None else float64_gd)}))
            order = _order_check(function, from_start, floor, digits)
            if order is not None:
                checks.append(order)
            table_rows.append((function.name, gd, sfn, len(near) - 1, float(near[-1])))
            series.append(Series(f"Newton, {function.name}", tuple(range(len(from_start))),
                                 tuple(float(d) for d in from_start), "line"))
    figure = Figure("mpmath-newton-to-saddle", "Newton converges to the saddle (mpmath)", (Panel(
        f"Newton from {setup.newton_start}, {digits} digits", "Newton step k",
        "distance |x_k| to the saddle", tuple(series), xscale="linear", yscale="log"),))
    tables = (
        Table("mpmath-gd-escape", "GD escape steps from (1, 10^-k) on (a x^2 - b y^2)/2 vs the "
              "closed form", ("a", "b", "k", "GD steps", "ceil(log(R/y_0)/log(1+eta b))"),
              tuple(escape_rows)),
        Table("mpmath-non-quadratic", f"From 10^-{OFFSET_EXPONENT} off the stable manifold: "
              "steps to leave the ball (GD, saddle-free Newton) and Newton's approach",
              ("function", "GD steps", "SFN steps", "Newton steps", "Newton final distance"),
              tuple(table_rows)),
    )
    return LayerResult(
        layer=Layer.NUMERIC, checks=tuple(checks), figures=(figure,), tables=tables,
        notes=((f"mpmath at {digits} digits; floor 10^-{digits - FLOOR_DIGITS_MARGIN}. "
               "float64_gd_steps: the same GD from the start rounded to float64 and iterated at 53 "
               f"bits; where the 10^-{OFFSET_EXPONENT} offset is rounded away (0.2 + 1e-30 == 0.2 "
               "on the deep linear net's diagonal start) the iterate stays on the stable manifold."),))
