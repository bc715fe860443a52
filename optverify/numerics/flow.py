"""Gradient-flow integration at mpmath precision: an explicit extrapolation integrator with an
error estimate from two step sizes.

The integrator is the Gragg-Bulirsch-Stoer method (Hairer, Norsett, Wanner, "Solving Ordinary
Differential Equations I", Section II.9): each macro step H runs the explicit midpoint rule with
n_k = 2k substeps and Richardson-extrapolates the results in (H / n_k)^2; the level k is raised
until two successive extrapolants agree to `tolerance` (order 2k at level k). It is explicit, so it
does NOT preserve quadratic invariants by construction (unlike implicit Gauss-Legendre Runge-Kutta
methods, which conserve every quadratic invariant exactly at any step size): a conserved quantity
measured along its trajectory is conserved only to the integrator's error level. That makes it the
right tool to test a claimed invariant numerically.

The error level is estimated independently of the extrapolation's own convergence test: the same
problem is integrated with `steps` and with `2 * steps` macro steps, and the difference of the two
end states estimates the error of the coarser one (and, the finer run being more accurate, bounds
that of the finer one).

States are 1-D numpy object arrays of `mpmath.mpf`; a vector field maps (t, y) to dy/dt of the same
shape. `deep_linear_flow` builds the gradient-flow field of a deep linear net on such states (the
factors packed by `pack_factors`). Call everything inside `mpmath.mp.workdps(digits)`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import mpmath
import numpy as np
from mpmath import mp

VectorField = Callable[[object, np.ndarray], np.ndarray]
"""dy/dt = field(t, y) on 1-D object arrays of mpf."""

MAX_LEVELS = 40
"""Highest extrapolation level (order 80); beyond it the macro step is too long for the field."""


def max_norm(vector: np.ndarray):
    """The largest absolute entry of an object array of mpf (0 when empty)."""
    return max((abs(entry) for entry in vector), default=mp.zero)


@dataclass(frozen=True)
class FlowSolution:
    """One integration: the state at each macro-step end and the work it took.

    times: t_0, t_0 + H, ..., t_final (mpf).
    states: the state at each of those times (object arrays of mpf), states[0] the initial one.
    levels: the extrapolation level at which each (possibly halved) macro step converged
        (order = 2 * level).
    evaluations: the number of vector-field evaluations.
    splits: how many times the finest macro step was halved (its length is H / 2**splits).
    """

    times: tuple
    states: tuple[np.ndarray, ...]
    levels: tuple[int, ...]
    evaluations: int
    splits: int = 0

    @property
    def final(self) -> np.ndarray:
        return self.states[-1]


@dataclass(frozen=True)
class FlowEstimate:
    """A trajectory computed with `steps` macro steps and with half the coarse run's finest one.

    coarse, fine: the two solutions (fine has 2 * steps * 2**coarse.splits macro steps).
    error: max-norm difference of the two end states: an estimate of the coarse solution's error
        and an upper estimate of the fine one's (mpf).
    """

    coarse: FlowSolution
    fine: FlowSolution
    error: object


def _validate(y0: np.ndarray, t_final, steps: int, tolerance, max_levels: int) -> None:
    if steps < 1:
        raise ValueError(f"the number of macro steps must be at least 1, got {steps}")
    if not 1 <= max_levels <= MAX_LEVELS:
        raise ValueError(f"max_levels must be between 1 and {MAX_LEVELS}, got {max_levels}")
    if not (mp.isfinite(t_final) and t_final > 0):
        raise ValueError(f"the final time must be positive and finite, got {t_final}")
    if not (mp.isfinite(tolerance) and tolerance > 0):
        raise ValueError(f"the tolerance must be positive and finite, got {tolerance}")
    if not all(mp.isfinite(entry) for entry in y0):
        raise ValueError("the initial state must be finite")


def _midpoint(field: VectorField, t, y: np.ndarray, slope: np.ndarray, step, substeps: int):
    """Explicit midpoint rule over `substeps` substeps of size `step`, first slope given."""
    # array * mpf, never mpf * array: mpf.__mul__ first tries to convert the array (through its
    # repr) before numpy's reflected product runs, 17x slower at the same (commutative) result
    previous, current = y, y + slope * step
    for i in range(1, substeps):
        previous, current = current, previous + field(t + i * step, current) * (2 * step)
    return current


def gbs_step(field: VectorField, t, y: np.ndarray, macro_step, tolerance, max_levels: int):
    """One Gragg-Bulirsch-Stoer macro step: (new state, level used, field evaluations).

    Raises ArithmeticError when the extrapolation has not converged by `max_levels`.
    """
    slope = field(t, y)
    evaluations = 1
    rows: list[list[np.ndarray]] = []
    for level in range(1, max_levels + 1):
        substeps = 2 * level
        row = [_midpoint(field, t, y, slope, macro_step / substeps, substeps)]
        evaluations += substeps - 1
        for j in range(1, level):
            ratio = mp.mpf(level) ** 2 / mp.mpf(level - j) ** 2
            row.append(row[j - 1] + (row[j - 1] - rows[-1][j - 1]) / (ratio - 1))
        rows.append(row)
        if level > 1:
            change = max_norm(row[-1] - row[-2])
            scale = max(max_norm(row[-1]), mp.one)
            if change <= tolerance * scale:
                return row[-1], level, evaluations
    raise ArithmeticError(
        f"extrapolation did not reach tolerance {mp.nstr(tolerance, 3)} within {max_levels} "
        f"levels; use more macro steps"
    )


MAX_SPLITS = 8
"""How many times a macro step that does not converge within `max_levels` is halved."""


def _advance(field: VectorField, t, y, macro_step, tolerance, max_levels: int, splits: int = 0):
    """[(t, y, level, evaluations, splits), ...] covering [t, t + macro_step]; a step whose
    extrapolation does not converge is split in two halves (at most MAX_SPLITS times in all)."""
    try:
        new_y, level, used = gbs_step(field, t, y, macro_step, tolerance, max_levels)
        return [(t + macro_step, new_y, level, used, splits)]
    except ArithmeticError:
        if splits >= MAX_SPLITS:
            raise
    half = macro_step / 2
    first = _advance(field, t, y, half, tolerance, max_levels, splits + 1)
    return first + _advance(field, t + half, first[-1][1], half, tolerance, max_levels, splits + 1)


def integrate(
    field: VectorField,
    y0: np.ndarray,
    t_final,
    steps: int,
    tolerance,
    max_levels: int = 16,
) -> FlowSolution:
    """Integrate dy/dt = field(t, y) from t = 0 to t_final with `steps` equal macro steps.

    A macro step whose extrapolation does not converge within `max_levels` is halved until it
    does, and the later macro steps of the run start from that finer subdivision (so a too-long
    macro step costs one failed attempt, not one per macro step).
    tolerance: relative agreement of successive extrapolants that ends a macro step; choose it
        above the rounding floor of the working precision (e.g. 10**-(mp.dps - 6)).
    """
    y = np.array(list(y0), dtype=object)
    _validate(y, t_final, steps, tolerance, max_levels)
    macro_step = mp.mpf(t_final) / steps
    times, states, levels, evaluations = [mp.zero], [y], [], 0
    splits = 0
    for k in range(steps):
        base, pieces = splits, 2**splits
        for piece in range(pieces):
            start = k * macro_step + piece * macro_step / pieces
            done = _advance(field, start, y, macro_step / pieces, tolerance, max_levels, base)
            for t, y, level, used, depth in done:
                times.append(t)
                states.append(y)
                levels.append(level)
                evaluations += used
                splits = max(splits, depth)
    return FlowSolution(tuple(times), tuple(states), tuple(levels), evaluations, splits)


def integrate_with_error(
    field: VectorField,
    y0: np.ndarray,
    t_final,
    steps: int,
    tolerance,
    max_levels: int = 16,
) -> FlowEstimate:
    """Integrate with `steps` macro steps, then with half the coarse run's finest macro step
    throughout; the end-state difference is the error.

    A coarse run that had to halve a macro step goes on with the finer subdivision
    (`integrate`), so a fine run at only 2 * steps could take exactly the coarse run's sub-steps
    and report an error of 0 (balancedness' tolerance ladder did at two seeds of its full run);
    the fine run here has 2 * steps * 2**coarse.splits macro steps, never the coarse grid."""
    coarse = integrate(field, y0, t_final, steps, tolerance, max_levels)
    fine = integrate(field, y0, t_final, 2 * steps * 2**coarse.splits, tolerance, max_levels)
    return FlowEstimate(coarse, fine, max_norm(coarse.final - fine.final))


def mp_vector(values) -> np.ndarray:
    """A 1-D object array of mpf from any iterable of numbers (at the working precision)."""
    return np.array([mp.mpf(value) for value in values], dtype=object)




def pack_factors(factors: Sequence[mpmath.matrix]) -> np.ndarray:
    """The entries of W_1..W_N, each row-major, as one 1-D object array (a flow state)."""
    entries = [
        factor[r, c] for factor in factors for r in range(factor.rows) for c in range(factor.cols)
    ]
    return np.array(entries, dtype=object)


def unpack_factors(state: np.ndarray, shapes: Sequence[tuple[int, int]]) -> list[mpmath.matrix]:
    """The inverse of `pack_factors` for layers of the given (rows, cols) shapes."""
    return [mp.matrix(block.tolist()) for block in _object_factors(state, shapes)]


def _object_factors(state: np.ndarray, shapes: Sequence[tuple[int, int]]) -> list[np.ndarray]:
    sizes = [rows * cols for rows, cols in shapes]
    if sum(sizes) != len(state):
        raise ValueError(f"a state of {len(state)} entries does not fit layer shapes {shapes}")
    blocks = np.split(np.asarray(state, dtype=object), np.cumsum(sizes)[:-1])
    return [block.reshape(shape) for block, shape in zip(blocks, shapes)]


def _object_layer_gradients(factors: list[np.ndarray], grad_loss) -> list[np.ndarray]:
    """dL^N/dW_j = (W_N...W_{j+1})^T G (W_{j-1}...W_1)^T on object arrays (the field's fast path;
    `optverify.numerics.deep_linear.layer_gradients_mp` is its mpmath-matrix twin)."""
    below = [None]
    for factor in factors[:-1]:
        below.append(factor if below[-1] is None else factor.dot(below[-1]))
    end_to_end = factors[-1].dot(below[-1])
    upstream = np.asarray(grad_loss(end_to_end), dtype=object)
    gradients: list[np.ndarray] = [upstream] * len(factors)
    for j in range(len(factors) - 1, -1, -1):
        gradients[j] = upstream if below[j] is None else upstream.dot(below[j].T)
        upstream = factors[j].T.dot(upstream)
    return gradients


def deep_linear_flow(
    shapes: Sequence[tuple[int, int]],
    grad_loss: Callable[[np.ndarray], np.ndarray],
    eta,
    weight_decay=0,
) -> VectorField:
    """The gradient flow dW_j/dt = -eta lambda W_j - eta dL^N/dW_j of a deep linear net
    (Arora, Cohen, Hazan 2018, arXiv:1802.06509, Section 5) on packed states.

    grad_loss: W_e -> grad L^1(W_e) on 2-D object arrays of mpf (numpy operators apply).
    """
    if not eta > 0:
        raise ValueError(f"the learning rate eta must be positive, got {eta}")
    if weight_decay < 0:
        raise ValueError(f"the weight decay must be non-negative, got {weight_decay}")
    eta, weight_decay = mp.mpf(eta), mp.mpf(weight_decay)

    def field(t, state: np.ndarray) -> np.ndarray:
        factors = _object_factors(state, shapes)
        gradients = _object_layer_gradients(factors, grad_loss)
        return np.concatenate(
            [((w * weight_decay + g) * -eta).ravel() for w, g in zip(factors, gradients)]
        )

    return field
