"""The iterations of Dauphin et al. (2014), arXiv:1406.2572, Sections 4-5, at mpmath precision: the
saddles as oracles (value, gradient, Hessian) of the scalar deep linear net, the double well, a
degenerate critical point and the quadratic saddle; one step of Newton, saddle-free Newton and GD;
the steps to leave a ball; and the distances of successive Newton iterates.
"""

from __future__ import annotations

from collections.abc import Callable

from mpmath import mp

from optverify.numerics.validation import require_positive

Oracle = Callable[[mp.matrix], tuple[mp.matrix, mp.matrix]]
"""point (2 x 1) -> (gradient, Hessian)."""


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
