"""Symbolic layer: sympy proves Theorem 1 of Arora, Cohen, Hazan (2018), arXiv:1802.06509, on
symbolic balanced factors, the eigen-structure of P_{W_e}, the single-output rule (Eq. 12) and the
curl behind Theorem 2.

Balanced factors are parametrized through an SVD (Procedure 1 of arXiv:1810.02281, with free
rotations of the hidden spaces): W_e = U T^N V^T with T = diag(t_1, t_2), t_r > 0 symbols, so the
singular values are sigma_r = t_r^N and every fractional power [W_e W_e^T]^{(j-1)/N} =
U diag(t^{2(j-1)}) U^T is a polynomial. Rotations are Cayley transforms (I - K)^{-1} (I + K) of
symbolic skew matrices K: exactly orthogonal rational matrices, so sympy decides identities by
cancelling rational functions, with no trigonometric simplification.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy

from optverify.kit import Session, Verdict


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


@dataclass(frozen=True)
class SymbolicBalanced:
    """Symbolic balanced factors W_1..W_N of W_e = U F T^N E V^T: `factors`, the rotations `u`
    (rows x rows) and `v` (cols x cols), and the positive symbols `t` = (t_1..t_m), m = min(rows,
    cols), whose N-th powers are the singular values."""

    factors: list[sympy.Matrix]
    u: sympy.Matrix
    v: sympy.Matrix
    t: tuple[sympy.Symbol, ...]


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


def _product(matrices, size: int) -> sympy.Matrix:
    result = sympy.eye(size)
    for matrix in matrices:
        result = matrix * result
    return result


def gram_power_symbolic(basis: sympy.Matrix, t, depth: int, numerator: int) -> sympy.Matrix:
    """[W W^T]^{numerator/N} = basis diag(sigma^{2 numerator/N}) basis^T with sigma_r = t_r^N,
    sigma = 0 past the rank and 0^0 = 1 (so numerator 0 gives the identity)."""
    size = basis.rows
    powers = [t_r ** (2 * numerator) for t_r in t] + [
        sympy.Integer(1 if numerator == 0 else 0)
    ] * (size - len(t))
    return basis * sympy.diag(*powers) * basis.T


def _cancelled(matrix: sympy.Matrix) -> sympy.Matrix:
    return matrix.applyfunc(lambda entry: sympy.cancel(sympy.together(entry)))


def velocity_difference(
    depth: int, rows: int, cols: int, hidden_rotations: bool = True
) -> sympy.Matrix:
    """Layer-wise velocity of W_e minus Theorem 1's right-hand side, for symbolic G and lambda."""
    net = balanced_factors_symbolic(depth, rows, cols, hidden_rotations)
    factors, u, v, t = net.factors, net.u, net.v, net.t
    grad = sympy.Matrix(rows, cols, lambda i, j: sympy.Symbol(f"g_{i}{j}", real=True))
    decay = sympy.Symbol("lambda", nonnegative=True)
    end_to_end = _product(factors, cols)
    velocity = sympy.zeros(rows, cols)
    for j in range(depth):
        above = _product(factors[j + 1 :], factors[j].rows)
        below = _product(factors[:j], cols)
        layer_grad = above.T * grad * below.T
        velocity += above * (-decay * factors[j] - layer_grad) * below
    formula = -decay * depth * end_to_end
    for j in range(1, depth + 1):
        formula -= (
            gram_power_symbolic(u, t, depth, j - 1)
            * grad
            * gram_power_symbolic(v, t, depth, depth - j)
        )
    return _cancelled(velocity - formula)


def root_difference(depth: int, rows: int, cols: int) -> sympy.Matrix:
    """([W W^T]^{1/N})^N - W W^T and ([W^T W]^{1/N})^N - W^T W, stacked: the SVD powers are the
    PSD roots (unique, as their eigenvalues t_r^2 are non-negative)."""
    net = balanced_factors_symbolic(depth, rows, cols, hidden_rotations=False)
    factors, u, v, t = net.factors, net.u, net.v, net.t
    end_to_end = _product(factors, cols)
    left = gram_power_symbolic(u, t, depth, 1) ** depth - end_to_end * end_to_end.T
    right = gram_power_symbolic(v, t, depth, 1) ** depth - end_to_end.T * end_to_end
    return _cancelled(left.reshape(rows * rows, 1).col_join(right.reshape(cols * cols, 1)))


def vec_symbolic(matrix: sympy.Matrix) -> sympy.Matrix:
    """Column-major vec."""
    return matrix.T.reshape(matrix.rows * matrix.cols, 1)


def kron_symbolic(a: sympy.Matrix, b: sympy.Matrix) -> sympy.Matrix:
    blocks = [[a[i, j] * b for j in range(a.cols)] for i in range(a.rows)]
    return sympy.Matrix(sympy.BlockMatrix(blocks))


def eigen_equation_difference(depth: int, rows: int, cols: int) -> sympy.Matrix:
    """P vec(u_r v_r'^T) - lambda_{r r'} vec(u_r v_r'^T) for every (r, r'), stacked, with the
    closed form lambda_{r r'} = sum_j sigma_r^{2(j-1)/N} sigma_r'^{2(N-j)/N} (sigma = 0 past the
    rank, 0^0 = 1)."""
    net = balanced_factors_symbolic(depth, rows, cols)
    u, v, t = net.u, net.v, net.t
    preconditioner = sympy.zeros(rows * cols, rows * cols)
    for j in range(1, depth + 1):
        left = gram_power_symbolic(u, t, depth, j - 1)
        right = gram_power_symbolic(v, t, depth, depth - j)
        preconditioner += kron_symbolic(right.T, left)
    rank = len(t)
    sigma_root = list(t) + [sympy.Integer(0)] * (max(rows, cols) - rank)
    differences = []
    for r in range(rows):
        for s in range(cols):
            eigenvalue = sum(
                sympy.Pow(sigma_root[r], 2 * (j - 1)) * sympy.Pow(sigma_root[s], 2 * (depth - j))
                for j in range(1, depth + 1)
            )
            vector = vec_symbolic(u[:, r] * v[:, s].T)
            differences.append(preconditioner * vector - eigenvalue * vector)
    return _cancelled(sympy.Matrix.vstack(*differences))


def eigenvalue_margin_coefficients(depth: int) -> list[sympy.Expr]:
    """Coefficients of lambda_{r r'} - sigma_min^{2(N-1)/N} as polynomials in (m, a, b) with
    t_r = m + a, t_r' = m + b, a, b >= 0 (m = t_min): both sides in range, and one side past the
    rank (sigma = 0). All coefficients >= 0 proves lambda >= sigma_min^{2(N-1)/N}."""
    m, a, b = sympy.symbols("m a b", nonnegative=True)
    floor = m ** (2 * (depth - 1))
    both = sum((m + a) ** (2 * (j - 1)) * (m + b) ** (2 * (depth - j)) for j in range(1, depth + 1))
    one_side = (m + a) ** (2 * (depth - 1))
    coefficients = []
    for eigenvalue in (both, one_side):
        coefficients += sympy.Poly(sympy.expand(eigenvalue - floor), m, a, b).coeffs()
    return coefficients


def single_output_difference(depth: int) -> sympy.Matrix:
    """General formula for k = 1 minus Eq. 12, w = rho (c, s) in R^{1x2} with a Cayley direction:
    [w w^T]^p = rho^{2p}, [w^T w]^q = rho^{2q} w^ w^T (+ 0^q w_perp w_perp^T, 0^0 = 1)."""
    rho = sympy.Symbol("rho", positive=True)
    direction = cayley_rotation(2, "phi")
    unit, perp = direction[:, 0], direction[:, 1]
    grad = sympy.Matrix([[sympy.Symbol("g_0", real=True), sympy.Symbol("g_1", real=True)]])
    w = rho * unit.T
    formula = sympy.zeros(1, 2)
    for j in range(1, depth + 1):
        p = sympy.Rational(j - 1, depth)
        q = sympy.Rational(depth - j, depth)
        right = rho ** (2 * q) * unit * unit.T + (1 if q == 0 else 0) * perp * perp.T
        formula += rho ** (2 * p) * grad * right
    projection = (grad * w.T)[0, 0] / rho**2 * w
    rule = rho ** (2 - sympy.Rational(2, depth)) * (grad + (depth - 1) * projection)
    return _cancelled(formula - rule)


def single_output_field(depth, grad_x, grad_y, x, y):
    """F(w) = ||w||^{2-2/N} (g + (N-1) <g, w> w / ||w||^2) in the plane, as sympy expressions."""
    norm_sq = x**2 + y**2
    scale = norm_sq ** (1 - 1 / sympy.sympify(depth))
    inner = grad_x * x + grad_y * y
    return (
        scale * (grad_x + (depth - 1) * inner / norm_sq * x),
        scale * (grad_y + (depth - 1) * inner / norm_sq * y),
    )


@dataclass(frozen=True)
class PlanarCurl:
    """curl = dF_y/dx - dF_x/dy of a field in the plane of the real symbols x, y."""

    curl: sympy.Expr
    x: sympy.Symbol
    y: sympy.Symbol


def linear_loss_curl(depth) -> PlanarCurl:
    """curl F for the linear loss L(w) = w_x (g = e_1)."""
    x, y = sympy.symbols("x y", real=True)
    field_x, field_y = single_output_field(depth, 1, 0, x, y)
    return PlanarCurl(sympy.diff(field_y, x) - sympy.diff(field_x, y), x, y)


def curl_closed_form_difference() -> sympy.Expr:
    """curl F of the linear loss minus its closed form (N - 1 - (2 - 2/N)) y ||w||^{-2/N}, for
    symbolic N (simplified: 0 when the closed form holds)."""
    depth = sympy.Symbol("N", positive=True)
    planar = linear_loss_curl(depth)
    curl, x, y = planar.curl, planar.x, planar.y
    exponent = 2 - 2 / depth
    closed_form = (depth - 1 - exponent) * y * (x**2 + y**2) ** (exponent / 2 - 1)
    return sympy.simplify(sympy.powsimp(sympy.expand(curl - closed_form), force=True))


@dataclass(frozen=True)
class CurlRoots:
    """The depths N at which the curl coefficient N - 1 - (2 - 2/N) vanishes: every root sympy
    finds, and those that are depths (N >= 2), where the k = 1 field is curl-free."""

    roots: tuple[sympy.Expr, ...]
    gradient_depths: tuple[int, ...]

    @property
    def verdict(self) -> Verdict:
        return Verdict.CONSISTENT if self.gradient_depths == (2,) else Verdict.VIOLATED


def curl_coefficient_roots() -> CurlRoots:
    depth = sympy.Symbol("N", positive=True)
    roots = sympy.solve(sympy.Eq(depth - 1 - (2 - 2 / depth), 0), depth)
    return CurlRoots(tuple(sorted(roots)),
                     tuple(sorted(int(root) for root in roots if root >= 2)))


def linear_n2_potential_difference() -> sympy.Matrix:
    """grad Phi - F for N = 2, the linear loss L(w) = w_x and Phi(w) = ||w|| w_x (simplified)."""
    x, y = sympy.symbols("x y", real=True)
    field_x, field_y = single_output_field(2, 1, 0, x, y)
    potential = sympy.sqrt(x**2 + y**2) * x
    difference = sympy.Matrix(
        [sympy.diff(potential, x) - field_x, sympy.diff(potential, y) - field_y]
    )
    return difference.applyfunc(sympy.simplify)


@dataclass(frozen=True)
class QuadraticCurl:
    """curl F for N = 2 and L(w) = (w_x^2 + kappa w_y^2) / 2, and whether it has the form
    (1 - kappa) x y / ||w||."""

    curl: sympy.Expr
    is_form: bool

    @property
    def verdict(self) -> Verdict:
        return Verdict.CONSISTENT if self.is_form else Verdict.INCONCLUSIVE


def anisotropic_n2_curl() -> QuadraticCurl:
    x, y = sympy.symbols("x y", real=True)
    kappa = sympy.Symbol("kappa", positive=True)
    field_x, field_y = single_output_field(2, x, kappa * y, x, y)
    curl = sympy.simplify(sympy.diff(field_y, x) - sympy.diff(field_x, y))
    expected = (1 - kappa) * x * y * (x**2 + y**2) ** sympy.Rational(-1, 2)
    return QuadraticCurl(curl, sympy.simplify(curl - expected) == 0)


def negative_margin_coefficients(depths) -> dict[int, list[sympy.Expr]]:
    """For each depth, the negative coefficients of `eigenvalue_margin_coefficients` (none when
    the lower bound is proved)."""
    return {depth: [c for c in eigenvalue_margin_coefficients(depth) if c < 0]
            for depth in depths}


# (depth, rows, cols, with hidden rotations): rotating the hidden spaces of N = 3 costs sympy ~10 s.
CASES_QUICK = ((2, 2, 2, True), (3, 2, 2, False))
CASES_FULL = ((2, 2, 2, True), (3, 2, 2, True), (2, 2, 3, True), (4, 2, 2, False))
EIGEN_CASES_QUICK = ((2, 2, 2), (3, 2, 2))
EIGEN_CASES_FULL = ((2, 2, 2), (3, 2, 2), (3, 2, 3))
BOUND_DEPTHS = (2, 3, 4, 5, 6)


def _shape(depth: int, rows: int, cols: int) -> str:
    return f"N = {depth}, W_e {rows}x{cols}"


def _factorization(hidden_rotations: bool) -> str:
    return "with symbolic rotations of the hidden spaces" if hidden_rotations else "Procedure 1"


def _theorem1_statement(depth: int, rows: int, cols: int, rotations: bool) -> str:
    return (f"Theorem 1, {_shape(depth, rows, cols)}: for balanced factors (SVD parametrization "
            f"{_factorization(rotations)}, symbolic U, V and singular values), "
            "sum_j W_N..W_{j+1} (-lambda W_j - dL/dW_j) W_{j-1}..W_1 = -lambda N W_e "
            "- sum_j [W_e W_e^T]^{(j-1)/N} G [W_e^T W_e]^{(N-j)/N} "
            "for a symbolic gradient G")


def _lower_bound_detail(negative: dict[int, list[sympy.Expr]]) -> str:
    if not any(negative.values()):
        return "all coefficients non-negative for every N: the bound is proved"
    return f"negative coefficients found: {negative}"


def _record_theorem1(s: Session) -> None:
    """Theorem 1 on symbolic balanced factors (the main bound) and the SVD-built PSD roots."""
    cases = s.preset(quick=CASES_QUICK, full=CASES_FULL)
    for depth, rows, cols, rotations in s.progress(cases, "Theorem 1 on symbolic balanced factors"):
        s.zero(f"theorem1-identity-n{depth}-{rows}x{cols}",
               _theorem1_statement(depth, rows, cols, rotations),
               velocity_difference(depth, rows, cols, rotations), main=True)
    s.zero("fractional-powers-are-psd-roots",
           f"{_shape(3, 2, 2)}: the SVD-built powers are the PSD N-th roots: "
           "(U diag(t^2) U^T)^N = W_e W_e^T and (V diag(t^2) V^T)^N = W_e^T W_e",
           root_difference(3, 2, 2))


def _record_preconditioner(s: Session) -> None:
    """P's eigenvectors and closed-form eigenvalues, and the eigenvalue lower bound."""
    eigen_cases = s.preset(quick=EIGEN_CASES_QUICK, full=EIGEN_CASES_FULL)
    for depth, rows, cols in s.progress(eigen_cases, "eigen-structure of P"):
        s.zero(f"preconditioner-eigenvectors-n{depth}-{rows}x{cols}",
               f"{_shape(depth, rows, cols)}: P_{{W_e}} vec(u_r v_r'^T) = "
               "(sum_j sigma_r^{2(j-1)/N} sigma_r'^{2(N-j)/N}) vec(u_r v_r'^T) for every r, r' "
               "(sigma = 0 past the rank, 0^0 = 1)",
               eigen_equation_difference(depth, rows, cols))
    negative = negative_margin_coefficients(BOUND_DEPTHS)
    s.check("preconditioner-eigenvalue-lower-bound",
            "every eigenvalue of P_{W_e} is >= sigma_min^{2(N-1)/N}: lambda_{rr'} - "
            "t_min^{2(N-1)}, expanded in (t_min, t_r - t_min, t_r' - t_min), has only non-negative "
            f"coefficients (N = {', '.join(map(str, BOUND_DEPTHS))}); with one of sigma_r, "
            "sigma_r' = 0 (non-square W_e) lambda = sigma^{2(N-1)/N} and the bound is attained; "
            "both are 0 only when W_e is rank-deficient, where sigma_min = 0",
            Verdict.INCONCLUSIVE if any(negative.values()) else Verdict.CONSISTENT,
            _lower_bound_detail(negative))


def _record_single_output(s: Session) -> None:
    """Eq. 12 and Theorem 2: the k = 1 rule, its curl, and when it is a gradient field."""
    for depth in s.progress(BOUND_DEPTHS, "single-output rule"):
        s.zero(f"single-output-rule-n{depth}",
               f"Eq. 12, N = {depth}: for k = 1, sum_j [w w^T]^{{(j-1)/N}} g [w^T w]^{{(N-j)/N}} = "
               "||w||^{2-2/N} (g + (N-1) <g, w> w / ||w||^2)",
               single_output_difference(depth))
    s.zero("single-output-curl-closed-form",
           "Theorem 2 (Section 5): for the linear loss L(w) = w_x, the k = 1 field "
           "F = ||w||^{2-2/N} (g + (N-1) Pr_w(g)) has curl dF_y/dx - dF_x/dy = "
           "(N - 1 - (2 - 2/N)) y ||w||^{-2/N}, for symbolic N", curl_closed_form_difference())
    roots = curl_coefficient_roots()
    s.check("single-output-curl-vanishes-only-at-n2",
            "Theorem 2: the curl coefficient N - 1 - (2 - 2/N) vanishes for N >= 2 only at N = 2, "
            "so for N > 2 the k = 1 field of the linear loss is not a gradient field",
            roots.verdict,
            f"sympy solves N - 1 - (2 - 2/N) = 0: N in {list(roots.roots)}; depths >= 2 with a "
            f"curl-free field: {list(roots.gradient_depths)}: {roots.verdict.value}",
            values={"roots": ", ".join(str(root) for root in roots.roots)})
    s.zero("single-output-n2-potential",
           "for N = 2 and the linear loss L(w) = w_x the k = 1 field is the gradient of "
           "Phi(w) = ||w|| w_x: grad Phi - F = 0", linear_n2_potential_difference())
    quadratic = anisotropic_n2_curl()
    s.check("single-output-n2-quadratic-curl",
            "N = 2 is a gradient field only for special losses: for L(w) = (w_x^2 + kappa w_y^2) "
            "/ 2 the k = 1 field has curl (1 - kappa) x y / ||w||, non-zero for kappa != 1 "
            "(Theorem 2 is about N > 2; that the N = 2 field has a potential holds for the linear "
            "loss, not for every loss)", quadratic.verdict,
            f"sympy curl: {sympy.sstr(quadratic.curl)}; equals (1 - kappa) x y / ||w||: "
            f"{quadratic.is_form}", decisive=False)


def verify(s: Session) -> None:
    """Theorem 1 on symbolic balanced factors, P's eigen-structure, Eq. 12 and Theorem 2's curl."""
    _record_theorem1(s)
    _record_preconditioner(s)
    _record_single_output(s)
