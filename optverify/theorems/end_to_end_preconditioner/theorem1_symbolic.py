"""Theorem 1 of Arora, Cohen, Hazan (2018), arXiv:1802.06509, in sympy: symbolic balanced factors
(Procedure 1 of arXiv:1810.02281 through an SVD W_e = U T^N V^T with Cayley rotations, so every
fractional power of W_e W_e^T is a polynomial), the layer-wise velocity against the end-to-end
rule, and the eigen-structure of the preconditioner P_{W_e} with its eigenvalue lower bound; the
false alternatives are evaluated at exact witness points.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache

import sympy

from optverify.kit import Judgement, Verdict
from optverify.numerics.deep_linear import end_to_end_symbolic


@cache
def cayley_rotation(size: int, name: str) -> sympy.Matrix:
    """An exactly orthogonal rotation (I - K)^{-1} (I + K), K skew with symbols name_0, ..."""
    count = size * (size - 1) // 2
    params = iter(sympy.symbols(f"{name}_0:{count}", real=True))
    skew = sympy.zeros(size, size)
    for i in range(size):
        for j in range(i + 1, size):
            value = next(params)
            skew[i, j], skew[j, i] = value, -value
    identity = sympy.eye(size)
    return sympy.simplify((identity - skew).inv() * (identity + skew))


def witness_point(expression: sympy.Basic) -> dict[sympy.Symbol, sympy.Rational]:
    """A fixed exact rational point for the free symbols of `expression`: the k-th symbol in name
    order gets (k + 2) / (k + 3) (positive, so valid for the positive t_r, rho, lambda, and
    generic)."""
    symbols = sorted(expression.free_symbols, key=lambda symbol: symbol.name)
    return {symbol: sympy.Rational(k + 2, k + 3) for k, symbol in enumerate(symbols)}


def at_witness(expression: sympy.Basic, point: Mapping | None = None) -> sympy.Basic:
    """A false alternative's residual at an exact point (`witness_point` unless given): a non-zero
    number there is an exact counterexample, which sympy's zero test decides (a non-zero
    polynomial or rational function in free symbols it only calls 'not reduced')."""
    return expression.xreplace(dict(point) if point is not None else witness_point(expression))


WITNESS_WORDS = "residual at the rational point s_k = (k+2)/(k+3)"


@dataclass(frozen=True)
class SymbolicBalanced:
    """Symbolic balanced factors W_1..W_N of W_e = U F T^N E V^T: `factors`, the rotations `u`
    (rows x rows) and `v` (cols x cols), and the positive symbols `t` = (t_1..t_m), m = min(rows,
    cols), whose N-th powers are the singular values."""

    factors: list[sympy.Matrix]
    u: sympy.Matrix
    v: sympy.Matrix
    t: tuple[sympy.Symbol, ...]


@cache
def balanced_factors_symbolic(depth: int, rows: int, cols: int,
                              hidden_rotations: bool = True) -> SymbolicBalanced:
    """W_1 = Q_1 T E V^T, W_j = Q_j T Q_{j-1}^T, W_N = U F T Q_{N-1}^T with T = diag(t_1..t_m),
    E = [I 0] (m x cols), F = [I; 0] (rows x m); without hidden rotations Q_j = I (Procedure 1
    exactly)."""
    rank = min(rows, cols)
    t = sympy.symbols(f"t_1:{rank + 1}", positive=True)
    root = sympy.diag(*t)
    u = cayley_rotation(rows, "alpha")
    v = cayley_rotation(cols, "beta")
    hidden = [
        cayley_rotation(rank, f"gamma{j}") if hidden_rotations else sympy.eye(rank)
        for j in range(1, depth)
    ]
    select_in = sympy.eye(rank).row_join(sympy.zeros(rank, cols - rank))
    select_out = sympy.eye(rank).col_join(sympy.zeros(rows - rank, rank))
    factors = [hidden[0] * root * select_in * v.T]
    factors += [hidden[j] * root * hidden[j - 1].T for j in range(1, depth - 1)]
    factors.append(u * select_out * root * hidden[-1].T)
    return SymbolicBalanced(factors, u, v, t)


def gram_power_symbolic(basis: sympy.Matrix, t, depth: int, numerator: int) -> sympy.Matrix:
    """[W W^T]^{numerator/N} = basis diag(sigma^{2 numerator/N}) basis^T with sigma_r = t_r^N,
    sigma = 0 past the rank and 0^0 = 1 (so numerator 0 gives the identity)."""
    size = basis.rows
    powers = [t_r ** (2 * numerator) for t_r in t] + [
        sympy.Integer(1 if numerator == 0 else 0)
    ] * (size - len(t))
    return basis * sympy.diag(*powers) * basis.T


def cancelled(matrix: sympy.Matrix) -> sympy.Matrix:
    return matrix.applyfunc(lambda entry: sympy.cancel(sympy.together(entry)))


@cache
def _layerwise_side(depth: int, rows: int, cols: int, hidden_rotations: bool):
    """The layer-wise velocity of W_e for symbolic G and lambda, and the net it was built on."""
    net = balanced_factors_symbolic(depth, rows, cols, hidden_rotations)
    factors = net.factors
    grad = sympy.Matrix(rows, cols, lambda i, j: sympy.Symbol(f"g_{i}{j}", real=True))
    decay = sympy.Symbol("lambda", nonnegative=True)
    velocity = sympy.zeros(rows, cols)
    for j in range(depth):
        above = end_to_end_symbolic(factors[j + 1 :], factors[j].rows)
        below = end_to_end_symbolic(factors[:j], cols)
        layer_grad = above.T * grad * below.T
        velocity += above * (-decay * factors[j] - layer_grad) * below
    return net, grad, decay, velocity


def velocity_difference(
    depth: int, rows: int, cols: int, hidden_rotations: bool = True, *, left_shift: int = 0,
    decay_depth: bool = True, cancel: bool = True,
) -> sympy.Matrix:
    """Layer-wise velocity of W_e minus Theorem 1's right-hand side, for symbolic G and lambda.

    The negative controls change the right-hand side: left_shift = 1 puts the wrong exponent
    j/N in place of (j-1)/N on [W_e W_e^T]; decay_depth = False drops the factor N of the weight
    decay term. cancel = False skips the rational cancellation (for a control evaluated at a
    point)."""
    net, grad, decay, velocity = _layerwise_side(depth, rows, cols, hidden_rotations)
    u, v, t = net.u, net.v, net.t
    end_to_end = end_to_end_symbolic(net.factors)
    formula = -decay * (depth if decay_depth else 1) * end_to_end
    for j in range(1, depth + 1):
        formula -= (
            gram_power_symbolic(u, t, depth, j - 1 + left_shift)
            * grad
            * gram_power_symbolic(v, t, depth, depth - j)
        )
    difference = velocity - formula
    return cancelled(difference) if cancel else difference


def root_difference(depth: int, rows: int, cols: int, numerator: int = 1,
                    cancel: bool = True) -> sympy.Matrix:
    """([W W^T]^{1/N})^N - W W^T and ([W^T W]^{1/N})^N - W^T W, stacked: the SVD powers are the
    PSD roots (unique, as their eigenvalues t_r^2 are non-negative). numerator = 2 is the negative
    control's wrong power 2/N."""
    net = balanced_factors_symbolic(depth, rows, cols, hidden_rotations=False)
    factors, u, v, t = net.factors, net.u, net.v, net.t
    end_to_end = end_to_end_symbolic(factors)
    left = gram_power_symbolic(u, t, depth, numerator) ** depth - end_to_end * end_to_end.T
    right = gram_power_symbolic(v, t, depth, numerator) ** depth - end_to_end.T * end_to_end
    stacked = left.reshape(rows * rows, 1).col_join(right.reshape(cols * cols, 1))
    return cancelled(stacked) if cancel else stacked


def vec_symbolic(matrix: sympy.Matrix) -> sympy.Matrix:
    """Column-major vec."""
    return matrix.T.reshape(matrix.rows * matrix.cols, 1)


def kron_symbolic(a: sympy.Matrix, b: sympy.Matrix) -> sympy.Matrix:
    blocks = [[a[i, j] * b for j in range(a.cols)] for i in range(a.rows)]
    return sympy.Matrix(sympy.BlockMatrix(blocks))


@cache
def _preconditioner_symbolic(depth: int, rows: int, cols: int):
    """The symbolic net (with hidden rotations) and P_{W_e} = sum_j [W^T W]^{(N-j)/N} kron
    [W W^T]^{(j-1)/N} built from it."""
    net = balanced_factors_symbolic(depth, rows, cols)
    u, v, t = net.u, net.v, net.t
    preconditioner = sympy.zeros(rows * cols, rows * cols)
    for j in range(1, depth + 1):
        left = gram_power_symbolic(u, t, depth, j - 1)
        right = gram_power_symbolic(v, t, depth, depth - j)
        preconditioner += kron_symbolic(right.T, left)
    return net, preconditioner


def eigen_equation_difference(depth: int, rows: int, cols: int, left_shift: int = 0,
                              cancel: bool = True) -> sympy.Matrix:
    """P vec(u_r v_r'^T) - lambda_{r r'} vec(u_r v_r'^T) for every (r, r'), stacked, with the
    closed form lambda_{r r'} = sum_j sigma_r^{2(j-1)/N} sigma_r'^{2(N-j)/N} (sigma = 0 past the
    rank, 0^0 = 1). left_shift = 1 is the negative control's wrong exponent 2j/N on sigma_r."""
    net, preconditioner = _preconditioner_symbolic(depth, rows, cols)
    u, v, t = net.u, net.v, net.t
    rank = len(t)
    sigma_root = list(t) + [sympy.Integer(0)] * (max(rows, cols) - rank)
    differences = []
    for r in range(rows):
        for s in range(cols):
            eigenvalue = sum(
                sympy.Pow(sigma_root[r], 2 * (j - 1 + left_shift))
                * sympy.Pow(sigma_root[s], 2 * (depth - j))
                for j in range(1, depth + 1)
            )
            vector = vec_symbolic(u[:, r] * v[:, s].T)
            differences.append(preconditioner * vector - eigenvalue * vector)
    stacked = sympy.Matrix.vstack(*differences)
    return cancelled(stacked) if cancel else stacked


MARGIN_VARIABLES = sympy.symbols("m a b", nonnegative=True)


def eigenvalue_margins(depth: int, floor_factor=1, floor_exponent: int | None = None
                       ) -> list[sympy.Expr]:
    """lambda_{r r'} - c sigma_min^{2(N-1)/N} as polynomials in (m, a, b), t_r = m + a,
    t_r' = m + b, a, b >= 0 (m = t_min = sigma_min^{1/N} > 0): both sides in range, and one side
    past the rank (sigma = 0). The claim is c = 1; the negative controls raise the floor, c = 2
    (`floor_factor`), or put sigma_min^{floor_exponent / N} in its place (`floor_exponent` = 2N
    is sigma_min^2)."""
    m, a, b = MARGIN_VARIABLES
    power = 2 * (depth - 1) if floor_exponent is None else floor_exponent
    floor = floor_factor * m**power
    both = sum((m + a) ** (2 * (j - 1)) * (m + b) ** (2 * (depth - j)) for j in range(1, depth + 1))
    one_side = (m + a) ** (2 * (depth - 1))
    return [sympy.expand(both - floor), sympy.expand(one_side - floor)]


def eigenvalue_margin_coefficients(depth: int) -> list[sympy.Expr]:
    """Coefficients of lambda_{r r'} - sigma_min^{2(N-1)/N} as polynomials in (m, a, b) with
    t_r = m + a, t_r' = m + b, a, b >= 0 (m = t_min): both sides in range, and one side past the
    rank (sigma = 0). All coefficients >= 0 proves lambda >= sigma_min^{2(N-1)/N}."""
    coefficients = []
    for margin in eigenvalue_margins(depth):
        coefficients += sympy.Poly(margin, *MARGIN_VARIABLES).coeffs()
    return coefficients


WITNESS_GRID = (sympy.Integer(0), sympy.Rational(1, 2), sympy.Integer(1), sympy.Integer(2),
                sympy.Integer(4))
"""Exact points (m, a, b) searched for a counterexample when a margin has a negative coefficient
(m > 0: sigma_min > 0)."""


def judge_margins(margins: Mapping[int, list[sympy.Expr]]) -> Judgement:
    """Judge "every margin polynomial is >= 0 for m > 0, a, b >= 0" for each depth: a polynomial
    with only non-negative coefficients is >= 0 there (consistent: proved); a negative value at an
    exact point of WITNESS_GRID disproves it (violated, with the counterexample); otherwise the
    sign pattern decides nothing (inconclusive)."""
    m, a, b = MARGIN_VARIABLES
    undecided = []
    for depth, polynomials in margins.items():
        for polynomial in polynomials:
            if all(c >= 0 for c in sympy.Poly(polynomial, m, a, b).coeffs()):
                continue
            for point in ((pm, pa, pb) for pm in WITNESS_GRID[1:] for pa in WITNESS_GRID
                          for pb in WITNESS_GRID):
                value = polynomial.xreplace(dict(zip((m, a, b), point)))
                if value < 0:
                    return Judgement(Verdict.VIOLATED,
                                     f"N = {depth}: the margin is {value} < 0 at (t_min, t_r - "
                                     f"t_min, t_r' - t_min) = {point}: the bound fails there",
                                     {"counterexample_depth": depth})
            undecided.append(depth)
    if undecided:
        return Judgement(Verdict.INCONCLUSIVE,
                         f"negative coefficients for N = {sorted(set(undecided))} and no "
                         "counterexample on the grid: the sign pattern decides nothing", {})
    return Judgement(Verdict.CONSISTENT,
                     "all coefficients non-negative for every N: the bound is proved", {})
