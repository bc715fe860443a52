"""The single-output rule (Eq. 12) and Theorem 2 (Section 5) of Arora, Cohen, Hazan (2018),
arXiv:1802.06509, in sympy: for k = 1 the end-to-end update is ||w||^{2-2/N} (g + (N-1) Pr_w(g));
for the linear loss its curl is (N - 1 - (2 - 2/N)) y ||w||^{-2/N}, which vanishes for N >= 2 only
at N = 2, so for N > 2 the field is not a gradient field (and for N = 2 it has a potential for the
linear loss, not for every loss).
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy

from optverify.kit import Judgement, Session, Verdict
from optverify.theorems.end_to_end_preconditioner.theorem1_symbolic import (
    WITNESS_WORDS,
    at_witness,
    cancelled,
    cayley_rotation,
)


def single_output_difference(depth: int, projection_weight=None, cancel: bool = True
                             ) -> sympy.Matrix:
    """General formula for k = 1 minus Eq. 12, w = rho (c, s) in R^{1x2} with a Cayley direction:
    [w w^T]^p = rho^{2p}, [w^T w]^q = rho^{2q} w^ w^T (+ 0^q w_perp w_perp^T, 0^0 = 1).
    projection_weight: the weight of Pr_w(g) in Eq. 12, N - 1 in the claim (another value is the
    negative control)."""
    weight = depth - 1 if projection_weight is None else projection_weight
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
    rule = rho ** (2 - sympy.Rational(2, depth)) * (grad + weight * projection)
    return cancelled(formula - rule) if cancel else formula - rule


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


CURL_WITNESS = {"N": sympy.Integer(3), "x": sympy.Integer(1), "y": sympy.Integer(2)}
"""The exact point (N, x, y) = (3, 1, 2) where the curl controls are evaluated."""


def curl_closed_form_difference(coefficient_shift=0, simplify: bool = True) -> sympy.Expr:
    """curl F of the linear loss minus its closed form (N - 1 - (2 - 2/N)) y ||w||^{-2/N}, for
    symbolic N (simplified: 0 when the closed form holds). coefficient_shift: added to the closed
    form's coefficient (1 gives the negative control N - (2 - 2/N)); simplify = False returns the
    raw difference (for a control evaluated at CURL_WITNESS)."""
    depth = sympy.Symbol("N", positive=True)
    planar = linear_loss_curl(depth)
    curl, x, y = planar.curl, planar.x, planar.y
    exponent = 2 - 2 / depth
    coefficient = depth - 1 - exponent + coefficient_shift
    closed_form = coefficient * y * (x**2 + y**2) ** (exponent / 2 - 1)
    if not simplify:
        return curl - closed_form
    return sympy.simplify(sympy.powsimp(sympy.expand(curl - closed_form), force=True))


def at_curl_witness(expression: sympy.Expr) -> sympy.Expr:
    """`expression` in the symbols N, x, y at CURL_WITNESS, exactly."""
    point = {symbol: CURL_WITNESS[symbol.name] for symbol in expression.free_symbols}
    return sympy.simplify(expression.xreplace(point))


@dataclass(frozen=True)
class CurlRoots:
    """The depths N at which the curl coefficient (N - 1 - (2 - 2/N) in the claim) vanishes:
    every positive root sympy finds, and those that are depths (integers N >= 2), where the k = 1
    field is curl-free."""

    roots: tuple[sympy.Expr, ...]
    gradient_depths: tuple[int, ...]

    @property
    def verdict(self) -> Verdict:
        return Verdict.CONSISTENT if self.gradient_depths == (2,) else Verdict.VIOLATED


def curl_coefficient(projection_weight=None, norm_exponent=None) -> sympy.Expr:
    """The curl coefficient c - p of the k = 1 field ||w||^p (g + c Pr_w(g)) for the linear loss,
    c = N - 1 and p = 2 - 2/N in Eq. 12 (other functions of N are the negative controls)."""
    depth = sympy.Symbol("N", positive=True)
    weight = depth - 1 if projection_weight is None else projection_weight(depth)
    exponent = 2 - 2 / depth if norm_exponent is None else norm_exponent(depth)
    return weight - exponent


def curl_coefficient_roots(coefficient: sympy.Expr | None = None) -> CurlRoots:
    """The roots of a curl coefficient in N (the claim's by default)."""
    coefficient = curl_coefficient() if coefficient is None else coefficient
    depth = next(iter(coefficient.free_symbols))
    roots = [root for root in sympy.solve(sympy.Eq(coefficient, 0), depth) if root.is_real]
    depths = [int(root) for root in roots if root.is_integer and root >= 2]
    return CurlRoots(tuple(sorted(roots)), tuple(sorted(depths)))


def judge_curl_roots(coefficient: sympy.Expr) -> Judgement:
    """Theorem 2's statement about a curl coefficient: among depths N >= 2 it vanishes only at
    N = 2 (consistent), else violated."""
    roots = curl_coefficient_roots(coefficient)
    return Judgement(roots.verdict,
                     f"sympy solves {sympy.sstr(coefficient)} = 0: N in {list(roots.roots)}; "
                     f"depths >= 2 with a curl-free field: {list(roots.gradient_depths)}: "
                     f"{roots.verdict.value}",
                     {"roots": ", ".join(str(root) for root in roots.roots)})


def linear_n2_potential_difference(depth: int = 2, simplify: bool = True) -> sympy.Matrix:
    """grad Phi - F for the linear loss L(w) = w_x and Phi(w) = ||w||^{2-2/N} w_x, which is
    ||w|| w_x at N = 2 (the claim; simplified); another depth is the negative control (N = 3:
    ||w||^{4/3} w_x is not a potential of the N = 3 field)."""
    x, y = sympy.symbols("x y", real=True)
    field_x, field_y = single_output_field(depth, 1, 0, x, y)
    potential = (x**2 + y**2) ** (1 - sympy.Rational(1, depth)) * x
    difference = sympy.Matrix(
        [sympy.diff(potential, x) - field_x, sympy.diff(potential, y) - field_y]
    )
    return difference.applyfunc(sympy.simplify) if simplify else difference


@dataclass(frozen=True)
class QuadraticCurl:
    """curl F for N = 2 and L(w) = (w_x^2 + kappa w_y^2) / 2, and its difference from the form
    (1 - kappa) x y / ||w|| (zero when the form holds)."""

    curl: sympy.Expr
    difference: sympy.Expr


def anisotropic_n2_curl() -> QuadraticCurl:
    x, y = sympy.symbols("x y", real=True)
    kappa = sympy.Symbol("kappa", positive=True)
    field_x, field_y = single_output_field(2, x, kappa * y, x, y)
    curl = sympy.simplify(sympy.diff(field_y, x) - sympy.diff(field_x, y))
    expected = (1 - kappa) * x * y * (x**2 + y**2) ** sympy.Rational(-1, 2)
    return QuadraticCurl(curl, sympy.simplify(curl - expected))


BOUND_DEPTHS = (2, 3, 4, 5, 6)


def record_single_output(s: Session) -> None:
    """Eq. 12 and Theorem 2: the k = 1 rule, its curl, and when it is a gradient field."""
    for depth in s.progress(BOUND_DEPTHS, "single-output rule"):
        wrong = single_output_difference(depth, projection_weight=depth, cancel=False)
        s.zero(f"single-output-rule-n{depth}",
               f"Eq. 12, N = {depth}: for k = 1, sum_j [w w^T]^{{(j-1)/N}} g [w^T w]^{{(N-j)/N}} = "
               "||w||^{2-2/N} (g + (N-1) <g, w> w / ||w||^2) (scope: w, g in R^2 with symbolic "
               "norm, direction and gradient)",
               single_output_difference(depth),
               controls={f"the weight N for N - 1 on Pr_w(g) ({WITNESS_WORDS})":
                         at_witness(wrong)})
    s.zero("single-output-curl-closed-form",
           "Theorem 2 (Section 5): for the linear loss L(w) = w_x, the k = 1 field "
           "F = ||w||^{2-2/N} (g + (N-1) Pr_w(g)) has curl dF_y/dx - dF_x/dy = "
           "(N - 1 - (2 - 2/N)) y ||w||^{-2/N}, for symbolic N (w in the plane)",
           curl_closed_form_difference(),
           controls={"the coefficient N - (2 - 2/N) (residual at (N, x, y) = (3, 1, 2))":
                     at_curl_witness(curl_closed_form_difference(1, simplify=False))})
    s.decide("single-output-curl-vanishes-only-at-n2",
             "Theorem 2: the curl coefficient N - 1 - (2 - 2/N) vanishes for N >= 2 only at N = 2, "
             "so for N > 2 the k = 1 field of the linear loss is not a gradient field",
             judge_curl_roots, curl_coefficient(),
             controls={"a rule with weight N on Pr_w(g) (coefficient N - (2 - 2/N))":
                       curl_coefficient(lambda depth: depth),
                       "a rule with the norm exponent 2 - 1/N for 2 - 2/N (coefficient "
                       "N - 3 + 1/N, roots (3 +- sqrt 5)/2, no depth)":
                       curl_coefficient(norm_exponent=lambda depth: 2 - 1 / depth)})
    s.zero("single-output-n2-potential",
           "for N = 2 and the linear loss L(w) = w_x the k = 1 field is the gradient of "
           "Phi(w) = ||w|| w_x: grad Phi - F = 0", linear_n2_potential_difference(),
           controls={"N = 3 with the analogous potential ||w||^{4/3} w_x (residual at "
                     "(x, y) = (1, 2))":
                     linear_n2_potential_difference(3, simplify=False).applyfunc(at_curl_witness)})
    quadratic = anisotropic_n2_curl()
    s.zero("single-output-n2-quadratic-curl",
           "context, not Theorem 2 (which is about N > 2), so not decisive: N = 2 is a gradient "
           "field only for special losses: for L(w) = (w_x^2 + kappa w_y^2) / 2 the k = 1 field "
           "has curl (1 - kappa) x y / ||w||, non-zero for kappa != 1 (sympy curl: "
           f"{sympy.sstr(quadratic.curl)}); the N = 2 field has a potential for the linear loss, "
           "not for every loss", quadratic.difference, decisive=False)
