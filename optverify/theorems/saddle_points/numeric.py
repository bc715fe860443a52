"""Numeric layer of `saddle-points`: Newton, saddle-free Newton and GD iterated at mpmath precision
on a quadratic saddle (against the closed forms) and on two non-quadratic functions with a strict
saddle at the origin: the scalar deep linear net f = (1 - w_1 w_2)^2 / 2 and the double well
f = x^4/4 - x^2/2 + y^2/2.

Source: Dauphin et al. (2014), arXiv:1406.2572, Sections 4-5. Newton converges to a non-degenerate
critical point, saddle or not, at least quadratically (order 3 here: both functions have no cubic
term at the origin; on the double well x_{k+1} = 2 x_k^3 / (3 x_k^2 - 1) exactly). The order is
measured from one Newton step at distances 10^-1 .. 10^-K off the saddle (K = floor digits / 4, so
an order up to 4 stays above the precision floor), not from one trajectory, whose few iterates
above the floor cannot resolve it. GD and saddle-free Newton leave the saddle from a start 10^-30
off its stable manifold, a distance the iterates resolve only at high precision relative to the
O(1) coordinates. Negative controls: Newton at a degenerate critical point (order 1), saddle-free
Newton in place of Newton (repelled, not attracted), GD at the step eta = 1/|lambda_-| (as fast as
saddle-free Newton), the gradient-flow solution e^{eta b t} in place of (1 + eta b)^t, and an
off-by-one escape count.
Tolerances: the precision floor 10^-(digits - 10) times the scale of the iterates (ten digits of
headroom for the rounding of up to ~10^3 steps).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mpmath import mp

from optverify.kit import Bound, Judgement, Panel, Series, Session, Table, Verdict
from optverify.theorems.saddle_points import landscape_numeric
from optverify.theorems.saddle_points.config import NumericConfig
from optverify.theorems.saddle_points.mp_iterations import (
    Oracle,
    deep_linear_oracle,
    degenerate_oracle,
    double_well_oracle,
    gd_step,
    newton_distances,
    newton_step,
    norm,
    saddle_free_newton_step,
    steps_to_leave,
)
from optverify.theorems.saddle_points.quadratic_numeric import record_quadratic

NEWTON_ORDER = Bound.lower("d_k", 2)
"""Newton's local order at a non-degenerate critical point: d_{k+1} = O(d_k^2) (at least)."""
NEWTON_ORDER_ALTERNATIVE = 1.75
"""A superlinear but sub-quadratic order (between the secant method's 1.618 and 2)."""
MIN_ORDER_POINTS = 5


@dataclass(frozen=True)
class SaddleFunction:
    """A non-quadratic function with a strict saddle at 0: its oracle, a unit vector of its stable
    manifold (a straight line through 0 for both functions) and one of its unstable direction."""

    name: str
    oracle: Oracle
    stable: tuple[str, str]
    unstable: tuple[str, str]

    @property
    def short(self) -> str:
        """The first two words of the name, joined by a dash ('deep-linear', 'double-well')."""
        return "-".join(self.name.split()[:2])


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


@dataclass(frozen=True)
class SaddleRuns:
    """From the start 0.2 * stable + 10^-30 * unstable: GD's and saddle-free Newton's steps to
    leave the ball of radius R, and Newton's distances |x_k| (near); Newton's distances from
    `newton_start` (from_start); GD's steps from the start rounded to float64 and iterated at
    53 bits (None: it never leaves); the negative controls: GD's steps at eta = 1 = 1/|lambda_-|
    (gd_unit_step) and saddle-free Newton's largest distance from the saddle after as many steps
    as Newton took from each start (saddle_free_final_distance)."""

    gd: int
    saddle_free: int
    near: tuple
    from_start: tuple
    float64_gd: int | None
    gd_unit_step: int
    saddle_free_final_distance: mp.mpf

    @property
    def newton_final_distance(self):
        return max(self.near[-1], self.from_start[-1])

    @property
    def float64_gd_value(self) -> int | str:
        return (f"does not leave in {FLOAT64_STEP_LIMIT} steps" if self.float64_gd is None
                else self.float64_gd)


def float64_gd_steps(function: SaddleFunction, start: mp.matrix, eta, radius: float) -> int | None:
    """GD's steps to leave the ball from `start` rounded to float64, iterated at 53 bits (None when
    it does not leave in FLOAT64_STEP_LIMIT steps)."""
    with mp.workprec(FLOAT64_BITS):
        rounded = mp.matrix([mp.mpf(float(entry)) for entry in start])
        try:
            return steps_to_leave(lambda p: gd_step(function.oracle, p, eta), rounded, radius,
                                  limit=FLOAT64_STEP_LIMIT)
        except ValueError:
            return None


def saddle_runs(function: SaddleFunction, config: NumericConfig, floor) -> SaddleRuns:
    """GD, saddle-free Newton and Newton near the saddle of `function` (see `SaddleRuns`)."""
    stable = mp.matrix([mp.mpf(v) for v in function.stable])
    unstable = mp.matrix([mp.mpf(v) for v in function.unstable])
    start = mp.mpf(STABLE_COORDINATE) * stable + mp.mpf(10) ** -OFFSET_EXPONENT * unstable
    eta = mp.mpf(config.eta)
    gd = steps_to_leave(lambda p: gd_step(function.oracle, p, eta), start, config.radius)
    sfn = steps_to_leave(lambda p: saddle_free_newton_step(function.oracle, p), start,
                         config.radius)
    near = newton_distances(function.oracle, start, floor)
    float64_gd = float64_gd_steps(function, start, eta, config.radius)
    newton_start = mp.matrix([mp.mpf(v) for v in config.newton_start])
    from_start = newton_distances(function.oracle, newton_start, floor)
    gd_unit = steps_to_leave(lambda p: gd_step(function.oracle, p, mp.one), start, config.radius)
    repelled = max(norm(iterate(lambda p: saddle_free_newton_step(function.oracle, p), origin,
                                len(distances) - 1))
                   for origin, distances in ((start, near), (newton_start, from_start)))
    return SaddleRuns(gd, sfn, tuple(near), tuple(from_start), float64_gd, gd_unit, repelled)


def iterate(step: Callable[[mp.matrix], mp.matrix], point: mp.matrix, steps: int) -> mp.matrix:
    for _ in range(steps):
        point = step(point)
    return point


MAX_ORDER_EXPONENT = 60
"""The smallest one-step start distance is 10^-K with K <= 60, so that |x_1| of an order up to 4
stays within float range (the fit runs in float64)."""


def order_exponents(floor_digits: int) -> tuple[int, ...]:
    """k = 1 .. K for the starts 10^-k of the one-step sweep: K = floor digits // 4 (capped), so
    an order up to 4 keeps |x_1| ~ 10^-4K above the floor 10^-floor_digits."""
    return tuple(range(1, min(floor_digits // 4, MAX_ORDER_EXPONENT) + 1))


def newton_contraction(oracle: Oracle, direction: tuple[str, str], exponents, floor):
    """One Newton step from 10^-k * direction (a unit vector) for each k: the distances |x_0| and
    |x_1| from the saddle at 0, as floats, kept where |x_1| lies above the floor."""
    unit = mp.matrix([mp.mpf(v) for v in direction])
    unit = unit / norm(unit)
    before, after = [], []
    for k in exponents:
        start = mp.mpf(10) ** -k * unit
        image = norm(newton_step(oracle, start))
        if image > floor:
            before.append(float(norm(start)))
            after.append(float(image))
    return before, after


def undecided_order(_data) -> Judgement:
    return Judgement(Verdict.INCONCLUSIVE, f"fewer than {MIN_ORDER_POINTS} one-step distances "
                     "above the precision floor: the order is not resolved")


def floor_exponent(floor) -> int:
    """k with floor = 10^-k."""
    return int(mp.nint(-mp.log10(floor)))


def verify(s: Session) -> None:
    """High-precision iterates on the quadratic saddle and on two non-quadratic saddles; the
    Kac-Rice counts of the random landscape (`landscape_numeric`)."""
    config = s.preset(quick=NumericConfig.quick(), full=NumericConfig.full())
    with mp.workdps(s.precision):
        floor = s.floor()
        record_quadratic(s, config)
        _non_quadratic(s, config, floor)
    landscape_numeric.verify(s)
    s.note(f"mpmath at {s.precision} digits; floor 10^-{floor_exponent(floor)}. "
           "float64_gd_steps: the same GD from the start rounded to float64 and iterated at 53 "
           f"bits; where the 10^-{OFFSET_EXPONENT} offset is rounded away (0.2 + 1e-30 == 0.2 "
           "on the deep linear net's diagonal start) the iterate stays on the stable manifold.")


def _newton_order(s: Session, function: SaddleFunction, config: NumericConfig, floor) -> None:
    """Newton's order from one step at distances 10^-1 .. 10^-K, against order 1 at a degenerate
    critical point measured the same way."""
    exponents = order_exponents(s.floor_digits)
    before, after = newton_contraction(function.oracle, config.newton_start, exponents, floor)
    name = f"newton-order-{function.short}"
    statement = (f"{function.name}: Newton converges to the saddle at least quadratically, "
                 "|x_1| = O(|x_0|^2): slope of log |x_1| against log |x_0| for one Newton step "
                 f"from |x_0| = 10^-1 .. 10^-{exponents[-1]} along {config.newton_start} (the "
                 f"asymptotic order, {s.precision} digits)")
    degenerate = newton_contraction(degenerate_oracle, config.newton_start, exponents, floor)
    values = {"distances_above_floor": len(before), "precision_floor": float(floor),
              "digits": s.precision}
    if len(before) < MIN_ORDER_POINTS or len(degenerate[0]) < MIN_ORDER_POINTS:
        s.decide(name, statement, undecided_order, None,
                 controls={"linear convergence": None}, values=values)
        return
    s.rate(name, statement, before, after, NEWTON_ORDER, rules_out=(NEWTON_ORDER_ALTERNATIVE,),
           controls={"linear convergence (Newton at the degenerate critical point of "
                     "x^4/4 + y^2/2, x -> 2x/3)": degenerate}, values=values)


def _non_quadratic(s: Session, config: NumericConfig, floor) -> None:
    """Newton is attracted to the saddles of two non-quadratic functions; GD and SFN leave them."""
    series, rows = [], []
    for function in s.progress(saddle_functions(), "mpmath: non-quadratic saddles"):
        runs = saddle_runs(function, config, floor)
        s.identity(f"newton-attracted-{function.short}",
                   f"{function.name}: Newton from 0.2 * (stable direction) + 10^-{OFFSET_EXPONENT} "
                   f"* (unstable direction) and from {config.newton_start} converges to the saddle "
                   "at 0 (final distance)", runs.newton_final_distance,
                   controls={"saddle-free Newton from the same starts, as many steps":
                             runs.saddle_free_final_distance},
                   values={"newton_steps": len(runs.near) - 1})
        s.inequality(f"saddle-free-faster-{function.short}",
                     f"{function.name}: from the same start, GD (eta = {config.eta:g}) and saddle-free "
                     f"Newton both leave the ball of radius {config.radius:g} around the saddle, "
                     "saddle-free Newton in fewer steps (margin: GD steps - SFN steps - 1, so equal "
                     "counts fail)", float(runs.gd - runs.saddle_free - 1),
                     controls={"GD at eta = 1 / |lambda_-| = 1, which doubles the unstable "
                               "coordinate per step as saddle-free Newton does":
                               float(runs.gd_unit_step - runs.saddle_free - 1)},
                     values={"gd_steps": runs.gd, "saddle_free_newton_steps": runs.saddle_free,
                             "gd_steps_at_eta_1": runs.gd_unit_step,
                             "float64_gd_steps": runs.float64_gd_value})
        _newton_order(s, function, config, floor)
        rows.append((function.name, runs.gd, runs.saddle_free, len(runs.near) - 1,
                     float(runs.near[-1])))
        series.append(Series(f"Newton, {function.name}", tuple(range(len(runs.from_start))),
                             tuple(float(d) for d in runs.from_start), "line"))
    s.figure("mpmath-newton-to-saddle", "Newton converges to the saddle (mpmath)", [Panel(
        f"Newton from {config.newton_start}, {s.precision} digits", "Newton step k",
        "distance |x_k| to the saddle", tuple(series), xscale="linear", yscale="log")])
    s.table(Table("mpmath-non-quadratic", f"From 10^-{OFFSET_EXPONENT} off the stable manifold: "
                  "steps to leave the ball (GD, saddle-free Newton) and Newton's approach",
                  ("function", "GD steps", "SFN steps", "Newton steps", "Newton final distance"),
                  tuple(rows)))
