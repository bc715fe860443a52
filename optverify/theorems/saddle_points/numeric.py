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
from optverify.numerics.validation import require_positive
from optverify.theorems.saddle_points import landscape_numeric

NEWTON_ORDER = Bound.lower("d_k", 2)
"""Newton's local order at a non-degenerate critical point: d_{k+1} = O(d_k^2) (at least)."""
NEWTON_ORDER_ALTERNATIVE = 1.75
"""A superlinear but sub-quadratic order (between the secant method's 1.618 and 2)."""
MIN_ORDER_POINTS = 5

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
        require_positive("the step size eta", self.eta)
        require_positive("the saddle curvatures a, b", self.saddles)

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


def degenerate_oracle(point: mp.matrix):
    """f = x^4/4 + y^2/2, a degenerate critical point at 0 (Hessian diag(0, 1)): Newton's step
    there is x -> 2x/3, linear convergence (the negative control of Newton's order)."""
    x, y = point[0], point[1]
    return mp.matrix([x**3, y]), mp.diag([3 * x**2, 1])


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
    require_positive("the step size eta", eta)
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


@dataclass(frozen=True)
class EscapeCount:
    """GD's steps from (1, 10^-k) until |y_t| >= R on (a x^2 - b y^2)/2, and the closed form
    ceil(log(R / 10^-k) / log(1 + eta b))."""

    a: float
    b: float
    exponent: int
    gd_steps: int
    closed_form: int

    @property
    def row(self) -> tuple[float, float, int, int, int]:
        return (self.a, self.b, self.exponent, self.gd_steps, self.closed_form)


@dataclass(frozen=True)
class QuadraticRuns:
    """The quadratic saddles' largest relative residuals (GD against its closed form over t,
    Newton's one step, saddle-free Newton's map against (0, 2y)) and GD's escape counts."""

    gd_residual: mp.mpf
    newton_residual: mp.mpf
    saddle_free_residual: mp.mpf
    escapes: tuple[EscapeCount, ...]
    gradient_flow_residual: mp.mpf
    saddle_free_one_step_residual: mp.mpf
    newton_as_saddle_free_residual: mp.mpf

    def escape_count_error(self, offset: int = 0) -> int:
        """The largest |GD steps - (closed form + offset)| (offset +-1: an off-by-one count)."""
        return max(abs(row.gd_steps - row.closed_form - offset) for row in self.escapes)


def gd_closed_form(a, b, eta, t):
    """GD's factors along x and y after t steps on (a x^2 - b y^2)/2: (1 - eta a)^t, (1 + eta b)^t."""
    return (1 - eta * a) ** t, (1 + eta * b) ** t


def gradient_flow_form(a, b, eta, t):
    """The gradient flow's factors at time eta t: e^{-eta a t}, e^{eta b t} (the continuous-time
    approximation, the negative control of the discrete closed form)."""
    return mp.exp(-eta * a * t), mp.exp(eta * b * t)


def gd_closed_form_residual(oracle: Oracle, a, b, eta, start: mp.matrix, steps: int,
                            form=gd_closed_form):
    """max over t <= steps of |x_t - x(t)| / |x(t)|, x(t) = (f_x(t) x_0, f_y(t) y_0) with the
    factors of `form` (by default GD's closed form)."""
    residual, point = mp.zero, start
    for t in range(1, steps + 1):
        point = gd_step(oracle, point, eta)
        along_x, along_y = form(a, b, eta, t)
        exact = mp.matrix([along_x * start[0], along_y * start[1]])
        residual = max(residual, norm(point - exact) / norm(exact))
    return residual


def gd_escape_count(oracle: Oracle, a, b, eta, exponent: int, radius: float) -> EscapeCount:
    y0 = mp.mpf(10) ** -exponent
    gd = steps_to_leave(lambda p: gd_step(oracle, p, eta), mp.matrix([mp.one, y0]), radius,
                        measure=lambda p: abs(p[1]))
    formula = mp.ceil(mp.log(radius / y0) / mp.log(1 + eta * b))
    return EscapeCount(float(a), float(b), exponent, gd, int(formula))


def quadratic_runs(config: NumericConfig) -> QuadraticRuns:
    """GD, Newton and saddle-free Newton from (0.7, -0.3), and GD's escapes, on every saddle."""
    eta = mp.mpf(config.eta)
    gd_residual = newton_residual = sfn_residual = mp.zero
    flow_residual = sfn_one_step = newton_doubling = mp.zero
    escapes, start = [], mp.matrix([mp.mpf("0.7"), mp.mpf("-0.3")])
    doubled = mp.matrix([0, 2 * start[1]])
    for a, b in config.saddles:
        a, b = mp.mpf(a), mp.mpf(b)
        oracle = quadratic_oracle(a, b)
        gd_residual = max(gd_residual,
                          gd_closed_form_residual(oracle, a, b, eta, start, config.gd_steps))
        flow_residual = max(flow_residual, gd_closed_form_residual(
            oracle, a, b, eta, start, config.gd_steps, gradient_flow_form))
        newton_image, sfn_image = newton_step(oracle, start), saddle_free_newton_step(oracle, start)
        newton_residual = max(newton_residual, norm(newton_image) / norm(start))
        sfn_one_step = max(sfn_one_step, norm(sfn_image) / norm(start))
        sfn_residual = max(sfn_residual, norm(sfn_image - doubled) / norm(start))
        newton_doubling = max(newton_doubling, norm(newton_image - doubled) / norm(start))
        escapes.extend(gd_escape_count(oracle, a, b, eta, exponent, config.radius)
                       for exponent in config.escape_exponents)
    return QuadraticRuns(gd_residual, newton_residual, sfn_residual, tuple(escapes),
                         flow_residual, sfn_one_step, newton_doubling)


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
        _quadratic(s, config)
        _non_quadratic(s, config, floor)
    landscape_numeric.verify(s)
    s.note(f"mpmath at {s.precision} digits; floor 10^-{floor_exponent(floor)}. "
           "float64_gd_steps: the same GD from the start rounded to float64 and iterated at 53 "
           f"bits; where the 10^-{OFFSET_EXPONENT} offset is rounded away (0.2 + 1e-30 == 0.2 "
           "on the deep linear net's diagonal start) the iterate stays on the stable manifold.")


def _quadratic(s: Session, config: NumericConfig) -> None:
    """GD, Newton and saddle-free Newton on (a x^2 - b y^2)/2 against their closed forms."""
    runs = quadratic_runs(config)
    s.identity("gd-closed-form",
               f"GD on (a x^2 - b y^2)/2 for {config.gd_steps} steps: (x_t, y_t) = ((1 - eta a)^t "
               "x_0, (1 + eta b)^t y_0) (max relative residual over t and saddles)",
               runs.gd_residual,
               controls={"the gradient-flow solution (e^{-eta a t} x_0, e^{eta b t} y_0)":
                         runs.gradient_flow_residual})
    s.identity("newton-one-step-quadratic",
               "Newton from (0.7, -0.3) on (a x^2 - b y^2)/2 lands on the saddle (0, 0) in one step "
               "(residual |x_1| / |x_0|)", runs.newton_residual,
               controls={"saddle-free Newton's step -|H|^-1 g from the same start":
                         runs.saddle_free_one_step_residual})
    s.identity("saddle-free-newton-quadratic",
               "saddle-free Newton on (a x^2 - b y^2)/2 maps (x, y) to (0, 2y) (relative residual)",
               runs.saddle_free_residual,
               controls={"Newton's step -H^-1 g in place of -|H|^-1 g":
                         runs.newton_as_saddle_free_residual})
    s.identity("gd-escape-count",
               "GD from (1, 10^-k) needs exactly ceil(log(R/10^-k) / log(1 + eta b)) steps until "
               f"|y_t| >= R = {config.radius:g} (k up to {max(config.escape_exponents)}; residual: "
               "largest difference in steps; sanity: the count of an exact linear map)",
               float(runs.escape_count_error()), 0.0, precision_digits=0, sanity=True,
               controls={"a count one step too many (closed form + 1)":
                         float(runs.escape_count_error(1)),
                         "a count one step too few (closed form - 1)":
                         float(runs.escape_count_error(-1))})
    s.table("mpmath-gd-escape", "GD escape steps from (1, 10^-k) on (a x^2 - b y^2)/2 vs the "
            "closed form", ("a", "b", "k", "GD steps", "ceil(log(R/y_0)/log(1+eta b))"),
            (escape.row for escape in runs.escapes))


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
