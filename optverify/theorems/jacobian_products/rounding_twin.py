"""The renormalized log-norm of a product of Gaussian Jacobians (Pascanu, Mikolov, Bengio 2013,
arXiv:1211.5063, Section 2.1) against the plain product, wherever the plain product is a vector
of normal floats, within a first-order rounding bound (`first_order_rounding_bounds`), over a
deep range that crosses the whole float range.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from optverify.kit import Session, machine_epsilon
from optverify.theorems.jacobian_products.config import RANGE_SIGMA, ExperimentConfig
from optverify.theorems.jacobian_products.products import (
    as_numpy,
    direct_log_norms,
    direct_products,
    first_order_rounding_bounds,
    gaussian_jacobians,
    renormalized_log_norms,
    squared_log_norm,
)

FIRST_ORDER_LIMIT = 1e-2
"""The twin compares the points where the first-order rounding bound is below 1e-2: there the
neglected second-order terms, of the order of the bound's square, are below 1% of it."""


@dataclass(frozen=True)
class TwinBatch:
    """Products of Gaussian Jacobians for one n, computed renormalized and directly (T, sigmas,
    paths): the log-norms, the direct one's plain squared-norm variant (the control), whether the
    direct product has stayed a vector of normal floats, and the first-order bound on the
    difference of the two."""

    dimension: int
    sigmas: tuple[float, ...]
    renormalized: np.ndarray
    direct: np.ndarray
    squared: np.ndarray
    normal: np.ndarray
    bound: np.ndarray


def twin_batch(s: Session, config: ExperimentConfig, dimension: int) -> TwinBatch:
    sigmas = (*config.sigmas, RANGE_SIGMA)
    generator = s.generator(f"twin-n{dimension}")
    scales = torch.tensor(sigmas, dtype=s.torch_dtype, device=s.device)[:, None]
    shape = (len(sigmas), config.twin_paths)
    jacobians = gaussian_jacobians(generator, (config.depth, *shape), dimension, scales,
                                   s.torch_dtype, s.device)
    vector = torch.randn(*shape, dimension, generator=generator, dtype=s.torch_dtype,
                         device=s.device)
    step = lambda t: jacobians[t - 1]
    start = torch.linalg.vector_norm(vector, dim=-1).log()
    renormalized = renormalized_log_norms(vector, step, config.depth) - start
    direct = direct_products(vector, step, config.depth)
    squared = direct_log_norms(vector, step, config.depth, squared_log_norm) - start
    bound = first_order_rounding_bounds(vector, jacobians, machine_epsilon(s.dtype))
    return TwinBatch(dimension, sigmas, as_numpy(renormalized), as_numpy(direct.log_norms - start),
                     as_numpy(squared), as_numpy(direct.normal), as_numpy(bound))


@dataclass(frozen=True)
class TwinComparison:
    """The renormalized against the direct log-norms, over every twin batch: the worst difference
    over its first-order bound (and the same for the squared-norm control, over the compared
    points where it is finite), the largest difference, the points compared, those where the
    direct product left the normal range, those with a bound above FIRST_ORDER_LIMIT, and the
    largest T compared at each n."""

    ratio: float
    control_ratio: float
    largest: float
    compared: int
    outside_range: int
    uninformative: int
    deepest: dict[int, int]


def compare_twins(batches: list[TwinBatch]) -> TwinComparison:
    ratio, control, largest, compared, outside, loose, deepest = 0.0, 0.0, 0.0, 0, 0, 0, {}
    for batch in batches:
        outside += int((~batch.normal).sum())
        informative = batch.bound < FIRST_ORDER_LIMIT
        loose += int((batch.normal & ~informative).sum())
        kept = batch.normal & informative
        compared += int(kept.sum())
        if not kept.any():
            continue
        deepest[batch.dimension] = int(np.nonzero(kept.any(axis=(1, 2)))[0].max()) + 1
        difference = np.abs(batch.direct - batch.renormalized)[kept]
        ratio = max(ratio, float(np.max(difference / batch.bound[kept])))
        largest = max(largest, float(difference.max()))
        faulty = np.abs(batch.squared - batch.renormalized)[kept] / batch.bound[kept]
        if np.isfinite(faulty).any():
            control = max(control, float(np.max(faulty[np.isfinite(faulty)])))
    return TwinComparison(ratio, control, largest, compared, outside, loose, deepest)


def record_twin(s: Session, config: ExperimentConfig, twins: TwinComparison) -> None:
    statement = (
        "the renormalized log-norm equals the log-norm of the plain product wherever the plain "
        f"product is a vector of normal {s.dtype} numbers (every T up to the first underflow or "
        "overflow of the path), within the first-order rounding bound of the two computations "
        "(`first_order_rounding_bounds`: the adjoint's gain times the per-step rounding; "
        "residual: the worst difference / bound, allowed 1; "
        f"{config.twin_paths} products per n in {config.dimensions} and sigma in "
        f"{(*config.sigmas, RANGE_SIGMA)}, sigma = 2^-16 crossing the whole range, T <= "
        f"{config.depth}; points with a bound above {FIRST_ORDER_LIMIT:g} are left out)")
    values = {"largest_log_norm_difference": twins.largest, "points_compared": twins.compared,
              "direct_products_outside_normal_range": twins.outside_range,
              "points_with_bound_above_limit": twins.uninformative,
              **{f"deepest_T_compared_n{n}": t for n, t in twins.deepest.items()}}
    s.identity(
        "renormalized-equals-direct", statement, twins.ratio, 1.0,
        controls={"the plain product's log-norm through the squared norm, which underflows below "
                  "sqrt(smallest normal) (the defect of issue 9; its finite points)":
                  twins.control_ratio},
        values=values, decisive=twins.compared > 0,
        below_precision="" if twins.compared else
        f"no point to compare: every bound exceeds {FIRST_ORDER_LIMIT:g} or the direct products "
        "leave the normal range")
