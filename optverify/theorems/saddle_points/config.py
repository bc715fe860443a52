"""Sizes of the numeric and experiment layers of `saddle-points` (Dauphin et al. 2014,
arXiv:1406.2572) at quick and full scale: the mpmath iterations (`NumericConfig`), and the quadratic
and coupled escape sweeps, the random Newton landings and the random-landscape search
(`ExperimentConfig`), read by every sub-claim module of the layers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optverify.numerics.validation import require_between, require_int, require_positive


@dataclass(frozen=True)
class ExperimentConfig:
    """Sweeps of the escape experiment and of the landscape search.

    distances: eps, the start's distance |y_0| from the stable manifold y = 0 (x_0 = 1).
    etas, curvatures: step sizes and negative curvatures b (a = 1); radius R = 1.
    newton_dimensions / newton_starts: random non-degenerate quadratics for Newton's one step.
    field_dimensions, field_functions, field_starts, field_iterations, field_scale, start_radius:
    the search for critical points of random quartics |x|^4/4 + sigma V(x) (sigma = field_scale;
    the critical points lie within |x| ~ 2 sigma, inside the ball of starts).
    coupled_*: GD and saddle-free Newton on `CoupledSaddle` (m = coupled_stable_dimensions stable
    directions with curvatures a_j in [0.5, 2]) from coupled_starts random starts (eps, y_0),
    |y_0| = coupled_start_norm, for every eps in coupled_distances and b in coupled_curvatures,
    until |x| >= coupled_radius. minima_group: functions pooled into one point of the minima
    fraction (each dimension gives field_functions / minima_group points, with their spread).
    """

    distances: tuple[float, ...]
    etas: tuple[float, ...]
    curvatures: tuple[float, ...]
    newton_dimensions: tuple[int, ...]
    newton_starts: int
    field_dimensions: tuple[int, ...]
    field_functions: int
    field_starts: int
    field_iterations: int
    field_scale: float = 10.0
    start_radius: float = 30.0
    radius: float = 1.0
    coupled_distances: tuple[float, ...] = ()
    coupled_curvatures: tuple[float, ...] = ()
    coupled_starts: int = 6
    coupled_eta: float = 0.1
    coupled_stable_dimensions: int = 3
    coupled_radius: float = 0.5
    coupled_start_norm: float = 0.5
    minima_group: int = 4

    def __post_init__(self) -> None:
        for eta in (*self.etas, self.coupled_eta):
            require_positive("the step size eta", eta)
        if self.coupled_curvatures and self.coupled_eta * max(self.coupled_curvatures) > 1:
            raise ValueError("the coupled saddle needs eta b <= 1")
        require_between("the coupled distances eps", np.array(self.coupled_distances), 0,
                        self.coupled_radius)
        for dimension in (*self.newton_dimensions, *self.field_dimensions):
            require_int("the dimension d of a saddle", dimension, minimum=2)
        if self.field_functions % self.minima_group:
            raise ValueError("the functions per dimension must split into groups of "
                             f"{self.minima_group}")
        if max(self.etas) * max(self.curvatures) > 1 or max(self.etas) >= 2:
            raise ValueError("eta b must be at most 1 and eta < 2 (stable along x, a = 1)")
        require_between("the distances eps", np.array(self.distances), 0, self.radius)

    @classmethod
    def quick(cls) -> ExperimentConfig:
        return cls(tuple(np.geomspace(1e-12, 1e-2, 6)), (0.05, 0.1), tuple(np.geomspace(0.1, 1, 4)),
                   (2, 4, 8), 200, (2, 3, 4, 5), 24, 150, 40,
                   coupled_distances=tuple(np.geomspace(1e-24, 1e-2, 8)),
                   coupled_curvatures=tuple(np.geomspace(0.1, 1, 4)), coupled_starts=6)

    @classmethod
    def full(cls) -> ExperimentConfig:
        return cls(tuple(np.geomspace(1e-14, 1e-2, 13)), (0.01, 0.03, 0.1),
                   tuple(np.geomspace(0.05, 1, 7)), (2, 3, 4, 6, 8), 2000, (2, 3, 4, 5, 6, 7, 8),
                   24, 400, 60, coupled_distances=tuple(np.geomspace(1e-30, 1e-2, 15)),
                   coupled_curvatures=tuple(np.geomspace(0.05, 1, 7)), coupled_starts=16)


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
