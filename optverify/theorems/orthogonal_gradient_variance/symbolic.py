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

Negative controls (optverify issue 9): every proof is paired with the false alternative a referee
would name (a non-orthonormal family, the variance identity without its corner term, the wrong
Gaussian variance, a flipped sign in the cosine expansion, ...), built by the same functions and
evaluated at a rational witness point (`at_witness`), where sympy must find a non-zero number.
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


def bit_monomial(subset: int, point: tuple[int, ...]) -> sympy.Rational:
    """prod_{i in S} (1 + x_i) / 2: the monomial of the {0, 1}-coded bits, the natural non-parity
    basis (not orthogonal under the uniform distribution: E[b_S b_T] = 2^-|S or T|)."""
    value = sympy.Integer(1)
    for i, x in enumerate(point):
        if subset >> i & 1:
            value *= sympy.Rational(1 + x, 2)
    return value


def gram_matrix(d: int, function=parity) -> sympy.Matrix:
    """[E_x f_S(x) f_T(x)]_{S, T} for a family f_S indexed by the subsets S of [d], as exact
    rational sums over the 2^d points."""
    points = hypercube(d)
    size = 2**d
    return sympy.Matrix(size, size, lambda s, t: sympy.Rational(
        sum(function(s, x) * function(t, x) for x in points), size))


def parity_gram_matrix(d: int) -> sympy.Matrix:
    """[E_x h_S(x) h_T(x)]_{S, T} as exact rational sums over the 2^d points."""
    return gram_matrix(d, parity)


def at_witness(expression):
    """The expression at a fixed rational witness point: its free symbols, sorted by name, take
    the values 3/7, -5/11, 7/13, -9/17, ... (a control's non-zero gap becomes a non-zero number,
    which sympy judges `violated` without simplifying a large polynomial)."""
    symbols = sorted(expression.free_symbols, key=lambda symbol: symbol.name)
    values = {symbol: sympy.Rational((-1) ** k * (2 * k + 3), 4 * k + 7)
              for k, symbol in enumerate(symbols)}
    return expression.subs(values)


def coordinate_moment(power: int) -> sympy.Expr:
    """E[x^power] for x uniform on {-1, +1}."""
    return sympy.Rational(1, 2) * (sympy.Integer(1) ** power + sympy.Integer(-1) ** power)


def bit_moment(power: int) -> sympy.Expr:
    """E[b^power] for a {0, 1} bit b, uniform: the coordinate law of the false alternative."""
    return sympy.Rational(1, 2) * (sympy.Integer(1) ** power + sympy.Integer(0) ** power)


def general_parity_inner_product(moment=coordinate_moment) -> sympy.Expr:
    """E[h_S h_T] for general d from the product structure: coordinates in S xor T contribute
    E[x] = 0, those in both E[x^2] = 1, the rest E[1] = 1; with k = |S xor T| >= 1 symbolic this is
    0^k = 0 (and 1 for k = 0). `moment`: the coordinate moments (E[x^p] of x uniform on {-1, +1})."""
    k = sympy.Symbol("k", integer=True, positive=True)
    both, neither = sympy.symbols("m n", integer=True, nonnegative=True)
    return moment(1) ** k * moment(2) ** both * moment(0) ** neither


def general_orthonormality_gap(moment=coordinate_moment) -> sympy.Expr:
    """E[h_S h_T] for S != T plus (E[h_S^2] - 1): zero for +-1 coordinates; for {0, 1} bits
    (`bit_moment`) at the witness k = m = 1 it is 1/4 - 1/2."""
    return general_parity_inner_product(moment) + (moment(2) - 1)


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


def parseval_gap(d: int, family: list[int]) -> sympy.Expr:
    """||g||^2 - sum_{S in family} <h_S, g>^2 with symbolic g (uniform inner products): zero for the
    complete parity family (Parseval), a non-zero sum of squares for a proper subfamily."""
    points = hypercube(d)
    size = 2**d
    g = sympy.symbols(f"g0:{size}", real=True)
    coefficients = [sympy.Rational(1, size) * sum(parity(s, x) * gb for x, gb in zip(points, g))
                    for s in family]
    return sympy.Rational(1, size) * sum(gb**2 for gb in g) - sum(c**2 for c in coefficients)


def square_loss_variance_gap(d: int, parameters: int, corner_weight=1) -> sympy.Expr:
    """Var(H, F, w) - (G^2 / 2^d - corner_weight ||g(1,...,1)||^2 / 4^d) for the square loss over
    all 2^d parities, with symbolic predictions p(x) and per-example gradients g(x) in
    R^parameters (corner_weight 1: the identity; 0: the false alternative Var = G^2 / 2^d)."""
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
    return variance - (g_squared / size - corner_weight * corner / size**2)


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


def lipschitz_split_gap(swapped: bool = False, r=None, p=None) -> sympy.Matrix:
    """[d/dw r(p(w) h) - (c0 + h c1) p'(w) at h = +1, the same at h = -1], with r and p undefined
    functions (or the given Lambdas r(z), p(w)), c0 = (r'(p) - r'(-p)) / 2 and
    c1 = (r'(p) + r'(-p)) / 2. swapped: the false alternative with c0 and c1 exchanged."""
    w, z = sympy.symbols("w z", real=True)
    r = r or sympy.Function("r")
    p = (p or sympy.Function("p"))(w)

    def slope(at):
        return sympy.Subs(sympy.Derivative(r(z), z), z, at).doit()

    c0 = (slope(p) - slope(-p)) / 2
    c1 = (slope(p) + slope(-p)) / 2
    if swapped:
        c0, c1 = c1, c0
    return sympy.Matrix([sympy.diff(r(p * h), w) - (c0 + h * c1) * sympy.diff(p, w)
                         for h in (1, -1)])


def lipschitz_split_control() -> sympy.Matrix:
    """The swapped split for r(z) = z^3 + z, p(w) = w^2 + 1 at w = 1/2: a non-zero vector."""
    w, z = sympy.symbols("w z", real=True)
    gap = lipschitz_split_gap(True, sympy.Lambda(z, z**3 + z), sympy.Lambda(w, w**2 + 1))
    return gap.subs(w, sympy.Rational(1, 2))


COSINE_FREQUENCY = sympy.Symbol("a", real=True)


def gaussian_cosine_expectation() -> sympy.Expr:
    """E[cos(a z)] for z ~ N(0, 1), integrated by sympy."""
    z = sympy.Symbol("z", real=True)
    density = sympy.exp(-z**2 / 2) / sympy.sqrt(2 * sympy.pi)
    return sympy.integrate(sympy.cos(COSINE_FREQUENCY * z) * density, (z, -sympy.oo, sympy.oo))


def gaussian_cosine_gap(expectation: sympy.Expr | None = None, variance=1) -> sympy.Expr:
    """E[cos(a z)] - exp(-variance a^2 / 2) for z ~ N(0, 1) (variance 1: the identity; 2: the false
    alternative of the characteristic function of N(0, 2))."""
    if expectation is None:
        expectation = gaussian_cosine_expectation()
    return expectation - sympy.exp(-variance * COSINE_FREQUENCY**2 / 2)


def cosine_objective_gaps(sum_sign: int = -1, self_weight=2) -> CosineObjectiveGaps:
    """The integrand identity and the gradient identity behind landscape.py's closed form, in 2-D.

    (cos A - cos B)^2 = 1 + cos(2A)/2 + cos(2B)/2 - cos(A - B) - cos(A + B), whose expectation with
    E cos(a.x) = exp(-||a||^2/2) is the closed form; and d/dw of the closed form equals the stated
    gradient -self_weight w e^{-2|w|^2} + ... (self_weight 2). The false alternatives: sum_sign +1
    (the cos(A + B) term with the wrong sign) and self_weight 4 (the derivative of e^{-2|w|^2}
    without the 1/2 in front of it)."""
    big_a, big_b = sympy.symbols("A B", real=True)
    integrand = ((sympy.cos(big_a) - sympy.cos(big_b)) ** 2
                 - (1 + sympy.cos(2 * big_a) / 2 + sympy.cos(2 * big_b) / 2
                    - sympy.cos(big_a - big_b) + sum_sign * sympy.cos(big_a + big_b)))
    w = sympy.Matrix(sympy.symbols("w1 w2", real=True))
    v = sympy.Matrix(sympy.symbols("v1 v2", real=True))

    def sq(m):
        return (m.T * m)[0]

    objective = (1 + (sympy.exp(-2 * sq(w)) + sympy.exp(-2 * sq(v))) / 2
                 - sympy.exp(-sq(w - v) / 2) - sympy.exp(-sq(w + v) / 2))
    gradient = (-self_weight * w * sympy.exp(-2 * sq(w)) + (w - v) * sympy.exp(-sq(w - v) / 2)
                + (w + v) * sympy.exp(-sq(w + v) / 2))
    derivative = sympy.Matrix([sympy.diff(objective, wi) for wi in w])
    return CosineObjectiveGaps(sympy.expand_trig(sympy.expand(integrand)), derivative - gradient)


def verify(s: Session) -> None:
    config = s.preset(quick=SymbolicConfig.quick(), full=SymbolicConfig.full())
    k, both = sympy.Symbol("k", integer=True, positive=True), sympy.Symbol("m", integer=True,
                                                                          nonnegative=True)
    for d in s.progress(config.gram_dimensions, "parity Gram matrices"):
        s.zero(f"parities-orthonormal-d{d}",
               f"E_x[h_S(x) h_T(x)] = 1[S = T] for all S, T subsets of [{d}], exact sums over the "
               f"2^{d} points of {{-1,+1}}^{d} (d = {d} only)",
               parity_gram_matrix(d) - sympy.eye(2**d),
               controls={"the {0,1}-bit monomials prod (1 + x_i)/2 (not orthonormal)":
                         gram_matrix(d, bit_monomial) - sympy.eye(2**d)})
    s.zero("parities-orthogonal-general-d",
           "for any d and S != T: E[h_S h_T] = E[x]^|S xor T| E[x^2]^|S and T| E[1]^rest = 0^k "
           "with k = |S xor T| >= 1 (and E[h_S^2] = E[x^2]^|S| = 1)",
           general_orthonormality_gap(),
           controls={"{0,1} bits in place of +-1 coordinates (E[b] = 1/2), at k = m = 1":
                     general_orthonormality_gap(bit_moment).subs({k: 1, both: 1})})
    s.zero("bessel-identity-partial-family",
           "Bessel: ||g||^2 - sum_{h in H'} <h, g>^2 = ||g - sum <h, g> h||^2 (>= 0) for the "
           "orthonormal family H' = {h_0, h_{1}, h_{1,2}} in L2({-1,+1}^2), g symbolic (d = 2)",
           bessel_gap(2, [0, 1, 3]),
           controls={"the family {h_0, h_{1}, h_{1}} (a repeated parity: not orthonormal), at a "
                     "rational g": at_witness(bessel_gap(2, [0, 1, 1]))})
    s.zero("parseval-identity-complete-family",
           "Parseval (the complete parity family, d = 3 only): ||g||^2 = sum_S <h_S, g>^2 for all "
           "8 parities, g symbolic",
           parseval_gap(3, list(range(8))),
           controls={"the family with one parity left out (7 of 8), at a rational g":
                     at_witness(parseval_gap(3, list(range(7))))})
    for d in config.variance_dimensions:
        s.zero(f"square-loss-variance-d{d}",
               f"Theorem 1, square loss, all 2^{d} parities, symbolic p(x) and g(x) in R^2 (d = {d}, "
               f"2 parameters): Var(H, F, w) = G^2 / 2^{d} - ||g(1,...,1)||^2 / 4^{d}, hence "
               "Var <= G^2 / |H|",
               square_loss_variance_gap(d, 2),
               controls={"Var = G^2 / |H| exactly (the corner term dropped), at a rational "
                         "p, g": at_witness(square_loss_variance_gap(d, 2, corner_weight=0))})
    s.zero("square-loss-bound-partial-family",
           "Theorem 1's proof for an orthonormal family that is not complete (H' = {h_0, h_{1}, "
           "h_{1,2}} on {-1,+1}^2, square loss, symbolic p(x) and g(x) in R^2): G^2/|H'| - Var = "
           "(1/|H'|) sum_j ||g_j - sum_h <h, g_j> h||^2 + ||E_h E_x[h g]||^2 >= 0",
           partial_family_bound_gap(2, [0, 1, 3], 2),
           controls={"the same identity for {h_0, h_{1}, h_{1}} (not orthonormal), at a rational "
                     "p, g": at_witness(partial_family_bound_gap(2, [0, 1, 1], 2))})
    s.zero("lipschitz-loss-split",
           "for h in {+1, -1}: d/dw r(p_w h) = (c0 + h c1) dp/dw with c0 = (r'(p) - r'(-p))/2 and "
           "c1 = (r'(p) + r'(-p))/2, so |c1| <= 1 for 1-Lipschitz r and the square-loss argument "
           "applies to c1 g with E||c1 g||^2 <= G^2 (r, p undefined functions)",
           lipschitz_split_gap(),
           controls={"c0 and c1 exchanged, at r(z) = z^3 + z, p(w) = w^2 + 1, w = 1/2":
                     lipschitz_split_control()})
    expectation = gaussian_cosine_expectation()
    s.zero("gaussian-cosine-expectation",
           "E[cos(a z)] = exp(-a^2 / 2) for z ~ N(0, 1) (hence E cos(a.x) = exp(-||a||^2/2))",
           gaussian_cosine_gap(expectation),
           controls={"exp(-a^2) (the characteristic function of N(0, 2)), at a = 1":
                     gaussian_cosine_gap(expectation, variance=2).subs(COSINE_FREQUENCY, 1)})
    cosine = cosine_objective_gaps()
    wrong_sign, wrong_weight = cosine_objective_gaps(sum_sign=+1), cosine_objective_gaps(
        self_weight=4)
    s.zero("cosine-objective-closed-form",
           "(cos A - cos B)^2 = 1 + cos 2A / 2 + cos 2B / 2 - cos(A - B) - cos(A + B), giving "
           "F_v(w) = 1 + (e^{-2|w|^2} + e^{-2|v|^2})/2 - e^{-|w-v|^2/2} - e^{-|w+v|^2/2}",
           cosine.integrand,
           controls={"+ cos(A + B) (the wrong sign), at A = 3/7, B = -5/11":
                     at_witness(wrong_sign.integrand)})
    s.zero("cosine-objective-gradient",
           "grad F_v(w) = -2w e^{-2|w|^2} + (w - v) e^{-|w-v|^2/2} + (w + v) e^{-|w+v|^2/2} "
           "(2-D only)",
           cosine.gradient,
           controls={"-4w e^{-2|w|^2} in place of -2w e^{-2|w|^2} (the 1/2 dropped), at a "
                     "rational (v, w)": at_witness(wrong_weight.gradient)})
