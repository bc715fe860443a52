"""Symbolic layer (sympy): the steps of Theorem 1 and the closed form of Theorem 2's example.

Shalev-Shwartz, Shamir, Shammah (2017), arXiv:1703.07950, Section 2:
- parities h_S(x) = prod_{i in S} x_i are orthonormal under x uniform on {-1,+1}^d (exact sums for
  small d; for general d by the product structure
  E[h_S h_T] = prod_i E[x_i^(1[i in S] + 1[i in T])]);
- Bessel's inequality, the proof's key step: for an orthonormal family,
  ||g||^2 - sum_h <h, g>^2 = ||g - sum_h <h, g> h||^2 >= 0;
- Theorem 1, square loss: for all 2^d parities Var = G^2 / 2^d - ||g(1,...,1)||^2 / 4^d <= G^2 / 2^d
  with symbolic per-example gradients and predictions;
- the 1-Lipschitz variant: r(z h) = (1+h)/2 r(z) + (1-h)/2 r(-z) for h in {+-1}, so
  grad F_h = E[c0 g] + E[h c1 g] with c1 = (r'(p) + r'(-p)) / 2, |c1| <= 1;
- Theorem 2's example: E cos(a z) = exp(-a^2 / 2) for z ~ N(0, 1), the closed form of
  F_v(w) = E[(cos(w.x) - cos(v.x))^2] and its gradient.
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy

from optverify.kit import Session


@dataclass(frozen=True)
class SymbolicConfig:
    """gram_dimensions: the d whose parity Gram matrix is summed exactly; variance_dimensions: the
    d of the symbolic square-loss variance identity (2 parameters)."""

    gram_dimensions: tuple[int, ...]
    variance_dimensions: tuple[int, ...]

    @classmethod
    def quick(cls) -> SymbolicConfig:
        return cls(gram_dimensions=(1, 2, 3), variance_dimensions=(1, 2))

    @classmethod
    def full(cls) -> SymbolicConfig:
        return cls(gram_dimensions=(1, 2, 3, 4, 5), variance_dimensions=(1, 2, 3))


@dataclass(frozen=True)
class CosineObjectiveGaps:
    """integrand: (cos A - cos B)^2 minus its expansion into cosines (expanded, trigonometric);
    gradient: d/dw of the closed form minus the stated gradient (2-D). Both zero when they hold."""

    integrand: sympy.Expr
    gradient: sympy.Matrix


def hypercube(d: int) -> list[tuple[int, ...]]:
    """The points of {-1,+1}^d in the bit order of `optverify.theorems.orthogonal_gradient_variance.walsh_hadamard`."""
    return [tuple(1 - 2 * (b >> i & 1) for i in range(d)) for b in range(2**d)]


def parity(subset: int, point: tuple[int, ...]) -> int:
    value = 1
    for i, x in enumerate(point):
        if subset >> i & 1:
            value *= x
    return value


def parity_gram_matrix(d: int) -> sympy.Matrix:
    """[E_x h_S(x) h_T(x)]_{S, T} as exact rational sums over the 2^d points."""
    points = hypercube(d)
    size = 2**d
    return sympy.Matrix(size, size, lambda s, t: sympy.Rational(
        sum(parity(s, x) * parity(t, x) for x in points), size))


def coordinate_moment(power: int) -> sympy.Expr:
    """E[x^power] for x uniform on {-1, +1}."""
    return sympy.Rational(1, 2) * (sympy.Integer(1) ** power + sympy.Integer(-1) ** power)


def general_parity_inner_product() -> sympy.Expr:
    """E[h_S h_T] for general d from the product structure: coordinates in S xor T contribute
    E[x] = 0, those in both E[x^2] = 1, the rest E[1] = 1; with k = |S xor T| >= 1 symbolic this is
    0^k = 0 (and 1 for k = 0)."""
    k = sympy.Symbol("k", integer=True, positive=True)
    both, neither = sympy.symbols("m n", integer=True, nonnegative=True)
    return (coordinate_moment(1) ** k * coordinate_moment(2) ** both
            * coordinate_moment(0) ** neither)


def bessel_gap(d: int, family: list[int]) -> sympy.Expr:
    """||g||^2 - sum_{S in family} <h_S, g>^2 - ||g - sum <h_S, g> h_S||^2 with symbolic g values
    (inner products under the uniform distribution): zero for an orthonormal family."""
    points = hypercube(d)
    size = 2**d
    g = sympy.symbols(f"g0:{size}", real=True)

    def inner(f, h):
        return sympy.Rational(1, size) * sum(a * b for a, b in zip(f, h))

    characters = [[parity(s, x) for x in points] for s in family]
    coefficients = [inner(h, g) for h in characters]
    residual = [g[b] - sum(c * h[b] for c, h in zip(coefficients, characters))
                for b in range(size)]
    return inner(g, g) - sum(c**2 for c in coefficients) - inner(residual, residual)


def square_loss_variance_gap(d: int, parameters: int) -> sympy.Expr:
    """Var(H, F, w) - (G^2 / 2^d - ||g(1,...,1)||^2 / 4^d) for the square loss over all 2^d
    parities, with symbolic predictions p(x) and per-example gradients g(x) in R^parameters."""
    points = hypercube(d)
    size = 2**d
    p = sympy.symbols(f"p0:{size}", real=True)
    g = [sympy.symbols(f"g{j}_0:{size}", real=True) for j in range(parameters)]
    gradients = [[sympy.Rational(1, size) * sum((p[b] - parity(s, points[b])) * g[j][b]
                                                 for b in range(size))
                  for j in range(parameters)] for s in range(size)]
    means = [sympy.Rational(1, size) * sum(gradient[j] for gradient in gradients)
             for j in range(parameters)]
    variance = sympy.Rational(1, size) * sum(
        (gradient[j] - means[j]) ** 2 for gradient in gradients for j in range(parameters))
    g_squared = sympy.Rational(1, size) * sum(g[j][b] ** 2 for j in range(parameters)
                                              for b in range(size))
    corner = sum(g[j][0] ** 2 for j in range(parameters))
    return variance - (g_squared / size - corner / size**2)


def partial_family_bound_gap(d: int, family: list[int], parameters: int) -> sympy.Expr:
    """Theorem 1's proof for an orthonormal family H' that need not be complete, square loss:

        G^2 / |H'| - Var(H', F, w)
            = (1/|H'|) sum_j ||g_j - sum_{h in H'} <h, g_j> h||^2 + ||E_h E_x[h g]||^2,

    a sum of squares, so Var <= G^2 / |H'|. Returns the difference of the two sides (zero when the
    identity holds), with symbolic p(x) and g(x) in R^parameters."""
    points = hypercube(d)
    size, count = 2**d, len(family)
    p = sympy.symbols(f"p0:{size}", real=True)
    g = [sympy.symbols(f"g{j}_0:{size}", real=True) for j in range(parameters)]

    def mean_over_x(values):
        return sympy.Rational(1, size) * sum(values)

    characters = [[parity(s, x) for x in points] for s in family]
    gradients = [[mean_over_x((p[b] - h[b]) * g[j][b] for b in range(size))
                  for j in range(parameters)] for h in characters]
    means = [sympy.Rational(1, count) * sum(gradient[j] for gradient in gradients)
             for j in range(parameters)]
    variance = sympy.Rational(1, count) * sum(
        (gradient[j] - means[j]) ** 2 for gradient in gradients for j in range(parameters))
    g_squared = sum(mean_over_x(v**2 for v in g[j]) for j in range(parameters))
    correlations = [[mean_over_x(h[b] * g[j][b] for b in range(size)) for h in characters]
                    for j in range(parameters)]
    residual_norms = sum(
        mean_over_x((g[j][b] - sum(c * h[b] for c, h in zip(correlations[j], characters))) ** 2
                    for b in range(size)) for j in range(parameters))
    mean_correlation = sum((sympy.Rational(1, count) * sum(correlations[j])) ** 2
                           for j in range(parameters))
    return g_squared / count - variance - (residual_norms / count + mean_correlation)


def lipschitz_split_gap() -> sympy.Matrix:
    """[d/dw r(p(w) h) - (c0 + h c1) p'(w) at h = +1, the same at h = -1], with r and p undefined
    functions, c0 = (r'(p) - r'(-p)) / 2 and c1 = (r'(p) + r'(-p)) / 2."""
    w, z = sympy.symbols("w z", real=True)
    r, p = sympy.Function("r"), sympy.Function("p")(w)

    def slope(at):
        return sympy.Subs(sympy.Derivative(r(z), z), z, at)

    c0 = (slope(p) - slope(-p)) / 2
    c1 = (slope(p) + slope(-p)) / 2
    return sympy.Matrix([sympy.diff(r(p * h), w) - (c0 + h * c1) * sympy.diff(p, w)
                         for h in (1, -1)])


def gaussian_cosine_gap() -> sympy.Expr:
    """E[cos(a z)] - exp(-a^2 / 2) for z ~ N(0, 1), integrated by sympy."""
    a = sympy.Symbol("a", real=True)
    z = sympy.Symbol("z", real=True)
    density = sympy.exp(-z**2 / 2) / sympy.sqrt(2 * sympy.pi)
    expectation = sympy.integrate(sympy.cos(a * z) * density, (z, -sympy.oo, sympy.oo))
    return expectation - sympy.exp(-a**2 / 2)


def cosine_objective_gaps() -> CosineObjectiveGaps:
    """The integrand identity and the gradient identity behind landscape.py's closed form, in 2-D.

    (cos A - cos B)^2 = 1 + cos(2A)/2 + cos(2B)/2 - cos(A - B) - cos(A + B), whose expectation with
    E cos(a.x) = exp(-||a||^2/2) is the closed form; and d/dw of the closed form equals the stated
    gradient."""
    big_a, big_b = sympy.symbols("A B", real=True)
    integrand = ((sympy.cos(big_a) - sympy.cos(big_b)) ** 2
                 - (1 + sympy.cos(2 * big_a) / 2 + sympy.cos(2 * big_b) / 2
                    - sympy.cos(big_a - big_b) - sympy.cos(big_a + big_b)))
    w = sympy.Matrix(sympy.symbols("w1 w2", real=True))
    v = sympy.Matrix(sympy.symbols("v1 v2", real=True))

    def sq(m):
        return (m.T * m)[0]

    objective = (1 + (sympy.exp(-2 * sq(w)) + sympy.exp(-2 * sq(v))) / 2
                 - sympy.exp(-sq(w - v) / 2) - sympy.exp(-sq(w + v) / 2))
    gradient = (-2 * w * sympy.exp(-2 * sq(w)) + (w - v) * sympy.exp(-sq(w - v) / 2)
                + (w + v) * sympy.exp(-sq(w + v) / 2))
    derivative = sympy.Matrix([sympy.diff(objective, wi) for wi in w])
    return CosineObjectiveGaps(sympy.expand_trig(sympy.expand(integrand)), derivative - gradient)


def verify(s: Session) -> None:
    setup = s.preset(quick=SymbolicConfig.quick(), full=SymbolicConfig.full())
    for d in s.progress(setup.gram_dimensions, "parity Gram matrices"):
        s.zero(f"parities-orthonormal-d{d}",
               f"E_x[h_S(x) h_T(x)] = 1[S = T] for all S, T subsets of [{d}], exact sums over the "
               f"2^{d} points of {{-1,+1}}^{d}",
               parity_gram_matrix(d) - sympy.eye(2**d))
    s.zero("parities-orthogonal-general-d",
           "for any d and S != T: E[h_S h_T] = E[x]^|S xor T| E[x^2]^|S and T| E[1]^rest = 0^k "
           "with k = |S xor T| >= 1 (and E[h_S^2] = E[x^2]^|S| = 1)",
           general_parity_inner_product() + (coordinate_moment(2) - 1))
    s.zero("bessel-identity-partial-family",
           "Bessel: ||g||^2 - sum_{h in H'} <h, g>^2 = ||g - sum <h, g> h||^2 (>= 0) for the "
           "orthonormal family H' = {h_0, h_{1}, h_{1,2}} in L2({-1,+1}^2), g symbolic",
           bessel_gap(2, [0, 1, 3]))
    s.zero("parseval-identity-complete-family",
           "Parseval (the complete parity family, d = 3): ||g||^2 - sum_S <h_S, g>^2 - "
           "||g - sum_S <h_S, g> h_S||^2 = 0 with the residual itself 0",
           bessel_gap(3, list(range(8))))
    for d in setup.variance_dimensions:
        s.zero(f"square-loss-variance-d{d}",
               f"Theorem 1, square loss, all 2^{d} parities, symbolic p(x) and g(x) in R^2: "
               f"Var(H, F, w) = G^2 / 2^{d} - ||g(1,...,1)||^2 / 4^{d}, hence Var <= G^2 / |H|",
               square_loss_variance_gap(d, 2))
    s.zero("square-loss-bound-partial-family",
           "Theorem 1's proof for an orthonormal family that is not complete (H' = {h_0, h_{1}, "
           "h_{1,2}} on {-1,+1}^2, square loss, symbolic p(x) and g(x) in R^2): G^2/|H'| - Var = "
           "(1/|H'|) sum_j ||g_j - sum_h <h, g_j> h||^2 + ||E_h E_x[h g]||^2 >= 0",
           partial_family_bound_gap(2, [0, 1, 3], 2))
    s.zero("lipschitz-loss-split",
           "for h in {+1, -1}: d/dw r(p_w h) = (c0 + h c1) dp/dw with c0 = (r'(p) - r'(-p))/2 and "
           "c1 = (r'(p) + r'(-p))/2, so |c1| <= 1 for 1-Lipschitz r and the square-loss argument "
           "applies to c1 g with E||c1 g||^2 <= G^2",
           lipschitz_split_gap())
    s.zero("gaussian-cosine-expectation",
           "E[cos(a z)] = exp(-a^2 / 2) for z ~ N(0, 1) (hence E cos(a.x) = exp(-||a||^2/2))",
           gaussian_cosine_gap())
    cosine = cosine_objective_gaps()
    s.zero("cosine-objective-closed-form",
           "(cos A - cos B)^2 = 1 + cos 2A / 2 + cos 2B / 2 - cos(A - B) - cos(A + B), giving "
           "F_v(w) = 1 + (e^{-2|w|^2} + e^{-2|v|^2})/2 - e^{-|w-v|^2/2} - e^{-|w+v|^2/2}",
           cosine.integrand)
    s.zero("cosine-objective-gradient",
           "grad F_v(w) = -2w e^{-2|w|^2} + (w - v) e^{-|w-v|^2/2} + (w + v) e^{-|w+v|^2/2} (2-D)",
           cosine.gradient)
