"""Hypothesis strategies, named after what they generate and built by construction.

Claim-specific strategies are appended below the shared ones.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st


@st.composite
def deep_linear_shapes(draw, max_depth: int = 5, max_width: int = 5):
    """(d_0, d_N, hidden widths) with every hidden width >= min(d_0, d_N), depth 2..max_depth."""
    d_in = draw(st.integers(1, max_width))
    d_out = draw(st.integers(1, max_width))
    depth = draw(st.integers(2, max_depth))
    rank = min(d_in, d_out)
    hidden = draw(st.lists(st.integers(rank, max_width + 1), min_size=depth - 1,
                           max_size=depth - 1))
    return d_in, d_out, tuple(hidden)


@st.composite
def balanced_deep_linear_nets(draw, max_depth: int = 5, max_width: int = 5):
    """(target end-to-end matrix A as float64 numpy, hidden widths), A Gaussian with a random
    scale in [0.1, 3]; the balanced factors are Procedure 1 applied to A. Covers square,
    non-square and (through width 1) rank-1 end-to-end matrices, depths 2..max_depth."""
    d_in, d_out, hidden = draw(deep_linear_shapes(max_depth, max_width))
    seed = draw(st.integers(0, 2**32 - 1))
    scale = draw(st.floats(0.1, 3.0))
    target = scale * np.random.default_rng(seed).standard_normal((d_out, d_in))
    return target, hidden


@st.composite
def spd_matrices(draw, max_size: int = 5, min_eigenvalue: float = 1e-3):
    """Symmetric positive definite matrices A A^T + eps I of random size and seed."""
    size = draw(st.integers(1, max_size))
    seed = draw(st.integers(0, 2**32 - 1))
    a = np.random.default_rng(seed).standard_normal((size, size))
    return a @ a.T + min_eigenvalue * np.eye(size)


step_sizes = st.floats(min_value=1e-4, max_value=1e-1)
"""Learning rates over three decades."""


@st.composite
def deficiency_margin_problems(draw, max_depth: int = 4, max_width: int = 4):
    """(target Phi as float64 numpy, hidden widths, margin fraction, seed) for Theorem 1 of
    arXiv:1810.02281: Phi = U diag(s) V^T with singular values in [0.5, 2.5] (full rank, so
    sigma_min(Phi) > 0), shapes from `deep_linear_shapes` (square, non-square, d = 1), and a
    deficiency margin c = fraction * sigma_min(Phi) with fraction in [0.1, 0.9]."""
    from scipy.stats import ortho_group

    d_in, d_out, hidden = draw(deep_linear_shapes(max_depth, max_width))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    rank = min(d_in, d_out)
    singular = np.sort(rng.uniform(0.5, 2.5, rank))[::-1]
    left = ortho_group.rvs(d_out, random_state=rng) if d_out > 1 else np.ones((1, 1))
    right = ortho_group.rvs(d_in, random_state=rng) if d_in > 1 else np.ones((1, 1))
    target = left[:, :rank] @ np.diag(singular) @ right[:, :rank].T
    fraction = draw(st.floats(0.1, 0.9))
    return target, hidden, fraction, seed


@st.composite
def gaussian_deep_linear_nets(draw, max_depth: int = 4, max_width: int = 4):
    """(factors W_1..W_N as float64 numpy arrays, target Phi): independent Gaussian factors with
    N(0, s^2 / d_{j-1}) entries, s drawn in [0.1, 1.5], so in general unbalanced; Phi N(0, 1).
    Depths 2..max_depth, widths 1..max_width (square, non-square, rank-deficient products)."""
    depth = draw(st.integers(2, max_depth))
    widths = draw(st.lists(st.integers(1, max_width), min_size=depth + 1, max_size=depth + 1))
    seed = draw(st.integers(0, 2**32 - 1))
    scale = draw(st.floats(0.1, 1.5))
    rng = np.random.default_rng(seed)
    factors = [scale / np.sqrt(widths[j]) * rng.standard_normal((widths[j + 1], widths[j]))
               for j in range(depth)]
    return factors, rng.standard_normal((widths[-1], widths[0]))


@st.composite
def parity_problems(draw, max_d: int = 7, max_width: int = 12):
    """(d, width, weight scale, seed, loss) for Theorem 1 of arXiv:1703.07950 on {-1,+1}^d:
    d in 1..max_d, a ReLU layer of width 1..max_width with Gaussian weights at a scale in
    [0.05, 5] (from nearly linear small predictions to saturated hinge regions), square or hinge loss.
    width 0 stands for the linear model p(x) = w.x + c."""
    d = draw(st.integers(1, max_d))
    width = draw(st.integers(0, max_width))
    scale = draw(st.floats(0.05, 5.0))
    seed = draw(st.integers(0, 2**32 - 1))
    loss = draw(st.sampled_from(("square", "hinge")))
    return d, width, scale, seed, loss


@st.composite
def saxe_modes(draw):
    """(s, u_0, t) for the two-layer mode dynamics of arXiv:1312.6120: s in [0.1, 10], u_0 a
    fraction in [1e-3, 0.999] of s, and a time t with 2 s t in [0, 20] (from the start to well
    past the sigmoid's rise)."""
    s = draw(st.floats(0.1, 10.0))
    u0 = s * draw(st.floats(1e-3, 0.999))
    t = draw(st.floats(0.0, 20.0)) / (2 * s)
    return s, u0, t


@st.composite
def quadratic_saddles(draw, max_dimension: int = 6):
    """(Hessian H = Q diag(lambda) Q^T as float64 numpy, eigenvalues, eigenvectors Q, start x_0) for
    the saddle-points claim: d in 2..max_dimension, |lambda_i| in [0.1, 10] with random signs and
    at least one of each sign (a strict saddle at 0), Q Haar-orthogonal, x_0 standard Gaussian."""
    from scipy.stats import ortho_group

    dimension = draw(st.integers(2, max_dimension))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    magnitudes = 10 ** rng.uniform(-1, 1, dimension)
    signs = rng.choice([-1.0, 1.0], dimension)
    signs[:2] = (-1.0, 1.0)
    eigenvalues = signs * magnitudes
    rotation = ortho_group.rvs(dimension, random_state=rng)
    hessian = rotation @ np.diag(eigenvalues) @ rotation.T
    return (hessian + hessian.T) / 2, eigenvalues, rotation, rng.standard_normal(dimension)


@st.composite
def true_inequalities(draw):
    """(margin, domain) of an inequality that holds on its whole box, with equality cases inside
    it, built by construction: a sum of squares of random affine forms in (x, y) (zero where
    they vanish together), a weighted AM-GM w a + (1 - w) b - a^w b^(1-w) >= 0 (zero at a = b;
    the balls need exp and log), or (x - y)^2 scaled by a random positive rational (zero on the
    diagonal, rational: decided exactly). Coefficients are small rationals, so exact equalities
    are reachable by the shrinking."""
    from fractions import Fraction

    from optverify.numerics.search import RealRange

    kind = draw(st.sampled_from(["sum-of-squares", "am-gm", "diagonal"]))
    rationals = st.fractions(min_value=-3, max_value=3, max_denominator=8)
    box = {"x": RealRange(-4, 4), "y": RealRange(-4, 4)}
    if kind == "sum-of-squares":
        forms = draw(st.lists(st.tuples(rationals, rationals, rationals), min_size=1,
                              max_size=3))

        def margin(v, m, forms=tuple(forms)):
            return sum((m.number(a) * v["x"] + m.number(b) * v["y"] + m.number(c)) ** 2
                       for a, b, c in forms)
        return margin, box
    if kind == "am-gm":
        weight = draw(st.fractions(min_value=Fraction(1, 8), max_value=Fraction(7, 8),
                                   max_denominator=8))

        def margin(v, m, w=weight):
            w = m.number(w)
            return (w * v["a"] + (1 - w) * v["b"]
                    - m.exp(w * m.log(v["a"]) + (1 - w) * m.log(v["b"])))
        return margin, {"a": RealRange("1/100", 10), "b": RealRange("1/100", 10)}
    scale = draw(st.fractions(min_value=Fraction(1, 8), max_value=8, max_denominator=8))

    def margin(v, m, k=scale):
        return m.number(k) * (v["x"] - v["y"]) ** 2
    return margin, box
