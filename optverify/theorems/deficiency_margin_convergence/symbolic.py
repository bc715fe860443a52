"""Symbolic statement of Theorem 1 of Arora, Cohen, Golowich, Hu (2019), arXiv:1810.02281.

- The lemma's contraction l(t+1) <= (1 - eta sigma_min(W_e(t))^{2(N-1)/N}) l(t) (the main bound, an
  INEQUALITY) as the per-step decrease (eta/2) sigma_min^{2(N-1)/N} ||grad l^1||_F^2 with
  ||grad l^1||_F^2 = 2 l^1 for l^1 = 1/2 ||W - Phi||_F^2 (sympy differentiates l^1).
- Theorem 1's iteration count T(c, eta, N, eps) = log(l(0)/eps) / (eta c^{2(N-1)/N}):
  (1 - x)^T <= exp(-x T) on 0 <= x < 1, so T steps of the contraction reach eps; the step-size
  hypothesis keeps x = eta c^{2(N-1)/N} <= (c/||Phi||_F)^{(6N-4)/N} / (6144 N^3) < 1.
- The first-order decrease of exact GD in the balanced scalar case, 2 N eta sigma^{2(N-1)/N} l: the
  lemma keeps 1/(2N) of it (how loose the lemma is for small eta).
- The deficiency-margin claim: ||W' - Phi||_F <= ||W_e(0) - Phi||_F <= sigma_min(Phi) - c implies
  sigma_min(W') >= c, through Weyl's inequality and ||E||_2 <= ||E||_F (the chain in sympy, the
  spectral-vs-Frobenius step for a symbolic 2 x 2 matrix, Weyl by randomized float64 spot checks,
  and the direction where the bound is attained).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy

from optverify.kit import Judgement, Session, Verdict, machine_epsilon
from optverify.numerics.deep_linear import end_to_end_symbolic, layer_gradients_symbolic

eta, sigma, margin, loss, next_loss, epsilon, initial_loss, phi_norm = sympy.symbols(
    "eta sigma c l l_next epsilon l_0 Phi_F", positive=True
)
depth = sympy.Symbol("N", integer=True, positive=True)
CONTRACTION_EXPONENT = 2 * (depth - 1) / depth
CONTRACTION_FACTOR = 1 - eta * sigma**CONTRACTION_EXPONENT
LEMMA = sympy.Le(next_loss, CONTRACTION_FACTOR * loss)
ITERATIONS = sympy.log(initial_loss / epsilon) / (eta * margin**CONTRACTION_EXPONENT)
STEP_SIZE_BOUND = margin ** ((4 * depth - 2) / depth) / (
    6144 * depth**3 * phi_norm ** ((6 * depth - 4) / depth)
)
BALANCE_BOUND = margin**2 / (256 * depth**3 * phi_norm ** (2 * (depth - 1) / depth))


def gradient_norm_identity(rows: int = 2, cols: int = 3, factor=2) -> sympy.Expr:
    """||grad l^1(W)||_F^2 - factor l^1(W) for l^1 = 1/2 ||W - Phi||_F^2, gradient by sympy (zero
    at the true factor 2; the control's factor 1 is not)."""
    weights = sympy.Matrix(rows, cols, lambda i, j: sympy.Symbol(f"w_{i}{j}", real=True))
    target = sympy.Matrix(rows, cols, lambda i, j: sympy.Symbol(f"phi_{i}{j}", real=True))
    half_square = sum((weights - target).applyfunc(lambda e: e**2)) / 2
    gradient = weights.applyfunc(lambda w: sympy.diff(half_square, w))
    return sum(gradient.applyfunc(lambda g: g**2)) - factor * half_square


def contraction_from_decrease(step=sympy.Rational(1, 2)) -> sympy.Expr:
    """[l - step eta sigma^p ||grad||^2] with ||grad||^2 = 2 l, minus (1 - eta sigma^p) l (zero at
    the lemma's step 1/2)."""
    gradient_square = 2 * loss
    return (loss - step * eta * sigma**CONTRACTION_EXPONENT * gradient_square
            - CONTRACTION_FACTOR * loss)


def scalar_first_order_decrease(depth_value: int, factor=None) -> sympy.Expr:
    """d l(t+1)/d eta at eta = 0 for balanced scalar GD (w_j = w), plus factor sigma^{2(N-1)/N} l
    (zero at factor = 2N, the default; the control's factor 1, the lemma's own rate, is not).

    l = 1/2 (w^N - phi)^2, w_j <- w_j - eta (p - phi) p / w_j with p = w^N, sigma = w^N.
    """
    w, target = sympy.symbols("w phi", positive=True)
    layers = [sympy.Symbol(f"w{j}", positive=True) for j in range(depth_value)]
    product = sympy.Mul(*layers)
    gradients = [sympy.diff((product - target) ** 2 / 2, layer) for layer in layers]
    stepped = product.subs({layer: layer - eta * g for layer, g in zip(layers, gradients)},
                           simultaneous=True)
    after = ((stepped - target) ** 2 / 2).subs({layer: w for layer in layers})
    slope = sympy.diff(after, eta).subs(eta, 0)
    current = (w**depth_value - target) ** 2 / 2
    exponent = sympy.Rational(2 * (depth_value - 1), depth_value)
    factor = 2 * depth_value if factor is None else factor
    return slope + factor * (w**depth_value) ** exponent * current


@dataclass(frozen=True)
class MonotoneGap:
    """f(x) = -x - log(1 - x) at x = 0 and its derivative at x = y/(1+y), as sympy gives them."""

    at_zero: sympy.Expr
    derivative: sympy.Expr

    @property
    def proved(self) -> bool:
        """f(0) = 0 and f' >= 0 for every y >= 0 (sympy's assumptions): log(1 - x) <= -a x."""
        return self.at_zero == 0 and bool(sympy.simplify(self.derivative).is_nonnegative)

    @property
    def refuted(self) -> bool:
        """f(0) = 0 and f'(0) < 0: f < 0 just right of 0, so the inequality fails there."""
        y = sympy.Symbol("y", nonnegative=True)
        return self.at_zero == 0 and bool(sympy.simplify(self.derivative.subs(y, 0)) < 0)

    @property
    def verdict(self) -> Verdict:
        if self.proved:
            return Verdict.CONSISTENT
        return Verdict.VIOLATED if self.refuted else Verdict.INCONCLUSIVE

    @property
    def detail(self) -> str:
        return f"f(0) = {self.at_zero}, f'(y/(1+y)) = {self.derivative}"


def power_below_exponential(rate=1) -> MonotoneGap:
    """f(x) = -a x - log(1 - x) with x = y/(1+y), y >= 0: f(0) and f'(x) in terms of y.

    a = 1: f(0) = 0 and f' = x/(1-x) = y >= 0 give log(1 - x) <= -x, i.e. (1 - x)^T <= exp(-x T).
    The control a = 2 ((1 - x)^T <= exp(-2 x T)) has f' = y - 1 < 0 at y = 0.
    """
    x, y = sympy.symbols("x y", nonnegative=True)
    gap = -rate * x - sympy.log(1 - x)
    derivative = sympy.simplify(sympy.diff(gap, x).subs(x, y / (1 + y)))
    return MonotoneGap(gap.subs(x, 0), derivative)


@dataclass(frozen=True)
class FactorMonotonicity:
    """d/dsigma sigma^{2(N-1)/N} with N -> N + 1 (so N >= 1 covers every depth), simplified."""

    derivative: sympy.Expr

    @property
    def verdict(self) -> Verdict:
        if self.derivative.is_nonnegative:
            return Verdict.CONSISTENT
        return Verdict.VIOLATED if self.derivative.is_negative else Verdict.INCONCLUSIVE

    @property
    def detail(self) -> str:
        return (f"derivative (N -> N+1): {self.derivative}, nonnegative: "
                f"{self.derivative.is_nonnegative}")


def factor_monotonicity(exponent=CONTRACTION_EXPONENT) -> FactorMonotonicity:
    """d/dsigma sigma^exponent at N -> N + 1 (the control: the exponent -2(N-1)/N, decreasing)."""
    derivative = sympy.diff(sigma**exponent, sigma).subs(depth, depth + 1)
    return FactorMonotonicity(sympy.simplify(derivative))


def iteration_count_residual(fraction=1) -> sympy.Expr:
    """l(0) exp(-eta c^p T) - eps at T = fraction x Theorem 1's iteration count (zero at 1)."""
    steps = fraction * ITERATIONS
    return initial_loss * sympy.exp(-eta * margin**CONTRACTION_EXPONENT * steps) - epsilon


def step_size_contraction_residual(closed_exponent=(6 * depth - 4) / depth) -> sympy.Expr:
    """eta_max c^{2(N-1)/N} / [(c/||Phi||_F)^q / (6144 N^3)] - 1 (zero at q = (6N-4)/N)."""
    product = STEP_SIZE_BOUND * margin**CONTRACTION_EXPONENT
    closed = (margin / phi_norm) ** closed_exponent / (6144 * depth**3)
    return sympy.powsimp(sympy.expand_power_base(product / closed, force=True), force=True) - 1


def weyl_chain_residual() -> sympy.Expr:
    """sigma_min(W') - c as the sum of the four margins of the chain, minus itself (zero).

    Weyl: sigma_min(W') - sigma_min(Phi) + ||E||_2 >= 0; ||E||_F - ||E||_2 >= 0;
    ||W_e(0) - Phi||_F - ||E||_F >= 0; sigma_min(Phi) - c - ||W_e(0) - Phi||_F >= 0 (margin).
    """
    s_new, s_target, spectral, frobenius, start = sympy.symbols(
        "sigma_min_Wp sigma_min_Phi E_2 E_F r_0", nonnegative=True
    )
    steps = [s_new - s_target + spectral, frobenius - spectral, start - frobenius,
             s_target - margin - start]
    return (s_new - margin) - sum(steps)


def spectral_below_frobenius(det_factor=4) -> sympy.Matrix:
    """For a symbolic 2 x 2 E: [trace(E^T E) - ||E||_F^2, trace^2 - disc - 4 det(E)^2], both zero.

    The eigenvalues of E^T E are (t +- sqrt(t^2 - 4 det(E)^2))/2 with t = ||E||_F^2, so
    ||E||_F^2 - ||E||_2^2 = (t - sqrt(disc))/2 >= 0 because disc = t^2 - 4 det(E)^2 <= t^2.
    """
    entries = sympy.Matrix(2, 2, sympy.symbols("e_00 e_01 e_10 e_11", real=True))
    gram = entries.T * entries
    trace = gram.trace()
    lam = sympy.Symbol("lambda")
    polynomial = sympy.Poly(gram.charpoly(lam).as_expr(), lam)
    _, linear, constant = polynomial.all_coeffs()
    discriminant = linear**2 - 4 * constant
    frobenius_square = sum(entries.applyfunc(lambda e: e**2))
    return sympy.Matrix([trace - frobenius_square,
                         trace**2 - discriminant - det_factor * entries.det() ** 2])


SPOT_CHECK_SHAPES = ((2, 2), (3, 3), (2, 4), (4, 3))


@dataclass(frozen=True)
class WeylSpotCheck:
    """Randomized float64 margin claim over `draws` instances in all shapes.

    worst_margin: min sigma_min(W') - c over uniform-in-ball draws (>= 0 when the claim holds);
    attained_gap: max |sigma_min(W') - c| at the attaining W' = Phi - r u_min v_min^T (0 if tight);
    scale: the largest singular value of any target (the SVD rounding scale).
    """

    worst_margin: float
    attained_gap: float
    scale: float
    draws: int

    @property
    def tolerance(self) -> float:
        """64 eps(float64) times the scale: the SVD rounding of float64 matrices."""
        return 64 * machine_epsilon("float64") * self.scale

    @property
    def values(self) -> dict[str, float]:
        return {"worst_margin": self.worst_margin, "attained_gap": self.attained_gap,
                "scale": self.scale, "draws": self.draws}


def weyl_spot_check(rng: np.random.Generator, draws: int, slack: float = 0.0) -> WeylSpotCheck:
    """Random Phi, random W' with ||W' - Phi||_F <= r = sigma_min(Phi) - c: min sigma_min(W') - c,
    and the margin at the attaining direction W' = Phi - r u_min v_min^T (sigma_min(W') = c
    exactly), both in float64, `draws` instances per shape. slack > 0 widens the ball to
    r + slack c (slack = 1: the radius sigma_min(Phi), the hypothesis dropped: the control)."""
    worst, attained, scale = np.inf, np.inf, 1.0
    for rows, cols in SPOT_CHECK_SHAPES:
        targets = rng.standard_normal((draws, rows, cols))
        singular = np.linalg.svd(targets, compute_uv=False)
        fraction = rng.uniform(0.05, 0.95, draws)
        margins = fraction * singular[:, -1]
        radius = singular[:, -1] - margins + slack * margins
        direction = rng.standard_normal((draws, rows, cols))
        direction /= np.linalg.norm(direction, axis=(1, 2))[:, None, None]
        inside = radius * rng.uniform(0, 1, draws) ** (1 / (rows * cols))
        moved = targets + inside[:, None, None] * direction
        worst = min(worst, float(np.min(np.linalg.svd(moved, compute_uv=False)[:, -1] - margins)))
        u, _, vh = np.linalg.svd(targets)
        rank = min(rows, cols)
        extreme = targets - radius[:, None, None] * (u[:, :, rank - 1, None] * vh[:, None, rank - 1, :])
        attained = min(attained, float(np.max(np.abs(
            np.linalg.svd(extreme, compute_uv=False)[:, -1] - margins))))
        scale = max(scale, float(singular.max()))
    return WeylSpotCheck(worst, attained, scale, len(SPOT_CHECK_SHAPES) * draws)


def mirror_invariant_residual(depth_value: int, symmetric_target: bool = True) -> sympy.Matrix:
    """Appendix C Claim 5's invariant: with W_{N+1-j} = W_j^T (true at identity init, even N) and
    Phi symmetric, one GD step on l = 1/2 ||W_e - Phi||_F^2 keeps W_{N+1-j} = W_j^T, so
    W_e = (W_{N/2} ... W_1)^T (W_{N/2} ... W_1) stays PSD. Returns W'_N - (W'_1)^T for symbolic
    2 x 2 layers and step (N = 2 or 4); with a non-symmetric Phi the invariant is not kept."""
    half = depth_value // 2
    lower = [sympy.Matrix(2, 2, sympy.symbols(f"a{j}_0:4", real=True)) for j in range(half)]
    layers = lower + [layer.T for layer in reversed(lower)]
    p, q, r, u = sympy.symbols("p q r u", real=True)
    target = sympy.Matrix([[p, q], [q if symmetric_target else u, r]])
    eta = sympy.symbols("eta", positive=True)
    gradient = end_to_end_symbolic(layers) - target
    step = [layer - eta * layer_gradient
            for layer, layer_gradient in zip(layers, layer_gradients_symbolic(layers, gradient))]
    return (step[-1] - step[0].T).applyfunc(sympy.expand)


def _gap_judgement(gap: MonotoneGap) -> Judgement:
    return Judgement(gap.verdict, gap.detail)


def _monotone_judgement(monotone: FactorMonotonicity) -> Judgement:
    return Judgement(monotone.verdict, monotone.detail)



@dataclass(frozen=True)
class SymbolicConfig:
    """The symbolic layer's randomized float64 spot check of the margin claim: draws per shape."""

    spot_check_draws: int

    @classmethod
    def quick(cls) -> SymbolicConfig:
        return cls(spot_check_draws=500)

    @classmethod
    def full(cls) -> SymbolicConfig:
        return cls(spot_check_draws=5000)


def verify(s: Session) -> None:
    """What sympy proves about Theorem 1's lemma, iteration count, step size and margin claim."""
    s.zero("gradient-norm", "for l^1(W) = 1/2 ||W - Phi||_F^2 (2 x 3 symbolic W and Phi, gradient "
           "by sympy): ||grad l^1||_F^2 = 2 l^1", gradient_norm_identity(),
           controls={"||grad l^1||_F^2 = l^1 (the factor 2 lost)":
                     gradient_norm_identity(factor=1)})
    s.zero("lemma-contraction", "the lemma's contraction l(t+1) <= (1 - eta sigma_min^{2(N-1)/N}) "
           "l(t) equals the decrease bound l(t) - (eta/2) sigma_min^{2(N-1)/N} ||grad||_F^2 with "
           "||grad||_F^2 = 2 l(t), symbolic N", contraction_from_decrease(),
           controls={"the decrease bound without the 1/2 (eta sigma^p ||grad||^2)":
                     contraction_from_decrease(step=1)})
    for depth_value in s.progress((2, 3, 4), "first-order decrease in the scalar case"):
        s.zero(f"first-order-decrease-n{depth_value}",
               f"balanced scalar GD, N = {depth_value}: d l(t+1)/d eta at eta = 0 equals "
               "-2 N sigma^{2(N-1)/N} l, 2N times the lemma's guaranteed -sigma^{2(N-1)/N} l",
               scalar_first_order_decrease(depth_value),
               controls={"the lemma's rate as the exact first order (-sigma^{2(N-1)/N} l)":
                         scalar_first_order_decrease(depth_value, factor=1)})
    s.decide("power-below-exponential",
             "(1 - x)^T <= exp(-x T) for 0 <= x < 1, T >= 0: f(x) = -x - log(1 - x) has f(0) = 0 "
             "and f'(x) = x/(1 - x) >= 0 (sympy, with x = y/(1+y), y >= 0)", _gap_judgement,
             power_below_exponential(),
             controls={"(1 - x)^T <= exp(-2 x T) (twice the rate)": power_below_exponential(2)})
    s.zero("iteration-count", "Theorem 1's T = log(l(0)/eps) / (eta c^{2(N-1)/N}) gives "
           "l(0) exp(-eta c^{2(N-1)/N} T) = eps, so l(T) <= l(0) (1 - eta c^p)^T <= eps",
           iteration_count_residual(),
           controls={"half of Theorem 1's T": iteration_count_residual(sympy.Rational(1, 2))})
    s.decide("factor-monotone-in-sigma",
             "d/dsigma sigma^{2(N-1)/N} >= 0 for N >= 1 and sigma > 0, so sigma_min(W_e(t)) >= c "
             "gives 1 - eta sigma_min^{2(N-1)/N} <= 1 - eta c^{2(N-1)/N}", _monotone_judgement,
             factor_monotonicity(),
             controls={"the factor in sigma^{-2(N-1)/N} (decreasing)":
                       factor_monotonicity(-CONTRACTION_EXPONENT)})
    s.zero("step-size-contraction", "the step-size hypothesis gives eta c^{2(N-1)/N} <= "
           "(c/||Phi||_F)^{(6N-4)/N} / (6144 N^3) < 1 (c <= sigma_min(Phi) <= ||Phi||_F): the "
           "factor stays in (0, 1); symbolic N", step_size_contraction_residual(),
           controls={"the power (c/||Phi||_F)^{(6N-2)/N}":
                     step_size_contraction_residual((6 * depth - 2) / depth)})
    s.zero("weyl-chain", "sigma_min(W') - c is the sum of four margins: Weyl (sigma_min(W') >= "
           "sigma_min(Phi) - ||E||_2), ||E||_2 <= ||E||_F, ||E||_F <= ||W_e(0) - Phi||_F, and the "
           "deficiency margin. A sanity check: the sum telescopes, so it is zero whatever the "
           "margins; the inequalities themselves are spectral-below-frobenius (2 x 2) and the "
           "float64 spot checks", weyl_chain_residual(), sanity=True)
    s.zero("spectral-below-frobenius", "2 x 2 symbolic E (this size only): trace(E^T E) = "
           "||E||_F^2 and disc(E^T E) = ||E||_F^4 - 4 det(E)^2 <= ||E||_F^4, so ||E||_2 <= ||E||_F",
           spectral_below_frobenius(),
           controls={"disc(E^T E) = ||E||_F^4 - 2 det(E)^2": spectral_below_frobenius(2)})
    config = s.preset(quick=SymbolicConfig.quick(), full=SymbolicConfig.full())
    draws = config.spot_check_draws
    spot = weyl_spot_check(s.rng("weyl"), draws)
    dropped = weyl_spot_check(s.rng("weyl-control"), draws, slack=1.0)
    shapes = ", ".join(f"{r}x{c}" for r, c in SPOT_CHECK_SHAPES)
    s.inequality("margin-claim-spot-check",
                 f"randomized float64 ({draws} draws per shape {shapes}): every W' with "
                 "||W' - Phi||_F <= sigma_min(Phi) - c has sigma_min(W') >= c (worst of "
                 "sigma_min(W') - c over draws in the ball)",
                 spot.worst_margin, spot.tolerance, values=spot.values,
                 controls={"the ball of radius sigma_min(Phi) (the margin hypothesis dropped)":
                           dropped.worst_margin})
    s.inequality("margin-claim-attained",
                 "the margin claim is tight: W' = Phi - (sigma_min(Phi) - c) u_min v_min^T has "
                 "sigma_min(W') = c (margin = -max |sigma_min(W') - c|). A sanity check: the SVD "
                 "of W' is Phi's with sigma_min lowered by the radius, so only rounding can fail",
                 -spot.attained_gap, spot.tolerance, sanity=True)
    for depth_value in (2, 4):
        s.zero(f"claim5-invariant-n{depth_value}",
               f"Appendix C Claim 5, N = {depth_value} (2 x 2 symbolic layers and step; this scope "
               "only): a GD step keeps W_N = W_1^T (and W_{N-1} = W_2^T) when Phi is symmetric, so "
               "from identity init W_e stays PSD in exact arithmetic and l(t) >= lambda^2/2 for "
               "Phi's eigenvalue -lambda (v^T W_e v >= 0 for its eigenvector v)",
               mirror_invariant_residual(depth_value),
               controls={"the invariant for a non-symmetric Phi":
                         mirror_invariant_residual(depth_value, symmetric_target=False)})
    for note in (f"main bound: {sympy.sstr(LEMMA)}", f"T = {sympy.sstr(ITERATIONS)}",
                 f"delta_max = {sympy.sstr(BALANCE_BOUND)}", f"eta_max = {sympy.sstr(STEP_SIZE_BOUND)}"):
        s.note(note)
