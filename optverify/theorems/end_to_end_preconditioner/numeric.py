"""Numeric layer: Theorem 1, P's spectrum, Eq. 12 and Theorem 2 of Arora, Cohen, Hazan (2018),
arXiv:1802.06509, at `config.precision` mpmath digits.

Instances are random balanced initializations (Procedure 1 of arXiv:1810.02281) of several shapes,
depths 2..6, including non-square, single-output and rank-deficient W_e. A rank-deficient W_e is
built so its zero singular values are exact: Procedure 1 on a full-rank r x r target, its outer
factors zero-padded to the outer dimensions and rotated by random orthogonal matrices (this keeps
W_1 W_1^T and W_N^T W_N, hence balancedness). Procedure 1 applied to a rank-deficient target
directly would turn the SVD's rounding-level singular values (10^-50) into factor entries of size
(10^-50)^{1/N}, far above the precision floor, since x -> x^{1/N} is not Lipschitz at 0.

Every identity is judged against the floor 10^-(digits - 10) relative to the size of its terms.
"""

from __future__ import annotations

from dataclasses import dataclass

import mpmath
import numpy as np
from mpmath import mp

from optverify.claim import Layer, Progress, RunConfig
from optverify.numerics.deep_linear import balanced_factors_mp, end_to_end_mp, layer_gradients_mp
from optverify.numerics.mp_linalg import frobenius_norm, max_abs, psd_power, to_mp
from optverify.theorems.end_to_end_preconditioner.preconditioner import (
    end_to_end_velocity_mp,
    full_spectrum_mp,
    kron_mp,
    layerwise_velocity_mp,
    preconditioner_eigenvalues_mp,
    single_output_direction_mp,
    vec_mp,
)
from optverify.results import Check, LayerResult, Table, Verdict
from optverify.verdict import identity_check, inequality_check


def precision_floor(digits: int) -> float:
    """10^-(digits - 10): ten digits of head-room for the rounding of a few dozen operations."""
    return 10.0 ** (-(digits - 10))


@dataclass(frozen=True)
class InstanceShape:
    """A deep linear net: W_e of shape rows x cols and rank `rank`, hidden widths (depth - 1)."""

    rows: int
    cols: int
    hidden: tuple[int, ...]
    rank: int
    weight_decay: float = 0.0

    @property
    def depth(self) -> int:
        return len(self.hidden) + 1

    def describe(self) -> str:
        deficient = f", rank {self.rank}" if self.rank < min(self.rows, self.cols) else ""
        return f"N={self.depth} {self.rows}x{self.cols}{deficient} widths {list(self.hidden)}"


SHAPES_QUICK = (
    InstanceShape(2, 2, (2,), 2, 0.1),
    InstanceShape(3, 2, (2, 3), 2),
    InstanceShape(2, 4, (3, 3, 2), 2, 0.1),
    InstanceShape(3, 3, (2, 2, 2, 3), 2),
    InstanceShape(1, 3, (1, 2, 1, 1, 1), 1, 0.1),
)
SHAPES_FULL = SHAPES_QUICK + (
    InstanceShape(3, 3, (3,), 3),
    InstanceShape(4, 2, (2, 2, 4), 2, 0.1),
    InstanceShape(4, 4, (2, 3, 2), 2),
    InstanceShape(2, 3, (2, 2, 3, 2, 2), 2, 0.1),
    InstanceShape(1, 4, (1, 1), 1),
)
EIGEN_MAX_ENTRIES = 12
"""P is (k d) x (k d); eigenvalues by mpmath's Jacobi method stay cheap up to k d = 12."""

SINGLE_OUTPUT_DEPTHS = (2, 3, 4, 5, 6)
CIRCULATION_DEPTHS_QUICK = (2, 3, 4)
CIRCULATION_DEPTHS_FULL = (2, 3, 4, 5, 6)
LOOP_CENTRE = (1.5, 1.5)
LOOP_RADIUS = 1.0
ANISOTROPY = 3.0


def gaussian_mp(rng: np.random.Generator, rows: int, cols: int) -> mpmath.matrix:
    return to_mp(rng.standard_normal((rows, cols)))


def orthogonal_mp(rng: np.random.Generator, size: int) -> mpmath.matrix:
    """An orthogonal matrix at the working precision (QR of a Gaussian)."""
    q, _ = mp.qr(gaussian_mp(rng, size, size))
    return q


def _embed(matrix: mpmath.matrix, rows: int, cols: int) -> mpmath.matrix:
    padded = mp.zeros(rows, cols)
    for r in range(matrix.rows):
        for c in range(matrix.cols):
            padded[r, c] = matrix[r, c]
    return padded


def balanced_instance_mp(shape: InstanceShape, rng: np.random.Generator) -> list[mpmath.matrix]:
    """Balanced factors with W_e of the shape's size and exact rank (see the module docstring)."""
    if shape.rank == min(shape.rows, shape.cols):
        return balanced_factors_mp(gaussian_mp(rng, shape.rows, shape.cols), shape.hidden)
    factors = balanced_factors_mp(gaussian_mp(rng, shape.rank, shape.rank), shape.hidden)
    first = _embed(factors[0], shape.hidden[0], shape.cols) * orthogonal_mp(rng, shape.cols).T
    last = orthogonal_mp(rng, shape.rows) * _embed(factors[-1], shape.rows, shape.hidden[-1])
    return [first, *factors[1:-1], last]


def velocity_residual(shape: InstanceShape, rng: np.random.Generator) -> tuple[float, float]:
    """(|layer-wise velocity - Theorem 1| / ||Theorem 1||, sigma_min of W_e) for the loss
    L^1(W) = ||W - Phi||^2 / 2 with a random Phi (G = W_e - Phi)."""
    factors = balanced_instance_mp(shape, rng)
    end_to_end = end_to_end_mp(factors)
    grad = end_to_end - gaussian_mp(rng, shape.rows, shape.cols)
    layer_grads = layer_gradients_mp(factors, grad)
    layerwise = layerwise_velocity_mp(factors, layer_grads, shape.weight_decay)
    formula = end_to_end_velocity_mp(end_to_end, grad, shape.depth, shape.weight_decay)
    residual = max_abs(layerwise - formula) / max(frobenius_norm(formula), mp.one)
    _, left, _, _ = full_spectrum_mp(end_to_end)
    return float(residual), float(left[min(shape.rows, shape.cols) - 1])


def preconditioner_psd_power_mp(end_to_end: mpmath.matrix, depth: int) -> mpmath.matrix:
    """P_{W_e} built from mp_linalg.psd_power (eigendecompositions of the Gram matrices), an
    independent route from the SVD of W_e used for the eigenvectors and closed form."""
    total = None
    gram_left = end_to_end * end_to_end.T
    gram_right = end_to_end.T * end_to_end
    for j in range(1, depth + 1):
        term = kron_mp(
            psd_power(gram_right, mp.mpf(depth - j) / depth),
            psd_power(gram_left, mp.mpf(j - 1) / depth),
        )
        total = term if total is None else total + term
    return total


@dataclass(frozen=True)
class SpectrumResult:
    """P's spectrum on one instance: relative residuals and the lower-bound margin."""

    eigenvalue_residual: float
    eigenvector_residual: float
    min_eigenvalue: float
    lower_bound: float


def spectrum_result(shape: InstanceShape, rng: np.random.Generator) -> SpectrumResult:
    end_to_end = end_to_end_mp(balanced_instance_mp(shape, rng))
    depth = shape.depth
    preconditioner = preconditioner_psd_power_mp(end_to_end, depth)
    u, left, right, v = full_spectrum_mp(end_to_end)
    closed = preconditioner_eigenvalues_mp(left, right, depth)
    flat = sorted(value for row in closed for value in row)
    computed = sorted(mp.eigsy(preconditioner, eigvals_only=True))
    scale = max(flat[-1], mp.one)
    eigenvalue_residual = max(abs(a - b) for a, b in zip(flat, computed)) / scale
    eigenvector_residual = mp.zero
    for r in range(shape.rows):
        for s in range(shape.cols):
            vector = vec_mp(u[:, r] * v[:, s].T)
            gap = preconditioner * vector - closed[r][s] * vector
            eigenvector_residual = max(eigenvector_residual, max_abs(gap) / scale)
    sigma_min = left[min(shape.rows, shape.cols) - 1]
    return SpectrumResult(
        float(eigenvalue_residual),
        float(eigenvector_residual),
        float(computed[0]),
        float(sigma_min ** (2 * mp.mpf(depth - 1) / depth)),
    )


def single_output_residual(depth: int, cols: int, rng: np.random.Generator) -> float:
    """|Theorem 1 for k = 1 - Eq. 12| / ||Eq. 12|| at a random w, g."""
    w = gaussian_mp(rng, 1, cols)
    g = gaussian_mp(rng, 1, cols)
    general = -end_to_end_velocity_mp(w, g, depth)
    rule = single_output_direction_mp(list(w), list(g), depth)
    scale = max(mp.sqrt(mp.fsum(x * x for x in rule)), mp.one)
    return float(max(abs(general[0, c] - rule[c]) for c in range(cols)) / scale)


def circulation(
    depth: int, grad, centre=LOOP_CENTRE, radius=LOOP_RADIUS
) -> tuple[mpmath.mpf, mpmath.mpf]:
    """(oint F . dw, quadrature error estimate) of the k = 1 field F(w) = Eq. 12 with gradient
    field `grad(x, y) -> (g_x, g_y)`, around the circle of `radius` about `centre` (w != 0
    on it)."""
    cx, cy, rad = mp.mpf(centre[0]), mp.mpf(centre[1]), mp.mpf(radius)

    def integrand(theta):
        x, y = cx + rad * mp.cos(theta), cy + rad * mp.sin(theta)
        fx, fy = single_output_direction_mp([x, y], list(grad(x, y)), depth)
        return rad * (-fx * mp.sin(theta) + fy * mp.cos(theta))

    return mp.quad(integrand, [0, mp.pi, 2 * mp.pi], error=True)


def linear_gradient(x, y):
    """g of the linear loss L(w) = w_x."""
    return mp.one, mp.zero


def anisotropic_gradient(x, y):
    """g of L(w) = (w_x^2 + kappa w_y^2) / 2, kappa = ANISOTROPY."""
    return x, ANISOTROPY * y


def green_circulation(depth: int, centre=LOOP_CENTRE, radius=LOOP_RADIUS) -> mpmath.mpf:
    """Green's theorem twin for the linear loss: the area integral over the disk of the curl
    (N - 1 - (2 - 2/N)) y ||w||^{-2/N} proved in the symbolic layer."""
    cx, cy = mp.mpf(centre[0]), mp.mpf(centre[1])
    exponent = 2 - mp.mpf(2) / depth
    coefficient = depth - 1 - exponent
    if coefficient == 0:
        return mp.zero

    def curl(r, theta):
        x, y = cx + r * mp.cos(theta), cy + r * mp.sin(theta)
        return coefficient * y * (x * x + y * y) ** (exponent / 2 - 1) * r

    return mp.quad(curl, [0, mp.mpf(radius)], [0, mp.pi, 2 * mp.pi])


def _circulation_checks(config: RunConfig, progress: Progress, floor: float):
    depths = CIRCULATION_DEPTHS_QUICK if config.quick else CIRCULATION_DEPTHS_FULL
    checks, rows = [], []
    for depth in progress(depths, "circulation of the k = 1 field"):
        value, error = circulation(depth, linear_gradient)
        value, error = float(value), float(error)
        rows.append((depth, "linear L = w_x", f"{value:.6g}" if abs(value) > floor else
                     "below precision", f"{error:.2g}"))
        loop = f"the circle of radius {LOOP_RADIUS} about {LOOP_CENTRE}"
        if depth == 2:
            checks.append(identity_check(
                Layer.NUMERIC, "circulation-n2-linear-loss",
                f"N = 2, L(w) = w_x: the k = 1 field is a gradient (Phi = ||w|| w_x), so its "
                f"circulation around {loop} vanishes",
                abs(value), floor, precision_digits=config.precision,
                values={"quadrature_error": error},
            ))
            continue
        resolved = error < floor
        nonzero = abs(value) > floor
        verdict = (Verdict.INCONCLUSIVE if not resolved
                   else Verdict.CONSISTENT if nonzero else Verdict.VIOLATED)
        checks.append(Check(
            Layer.NUMERIC, f"circulation-n{depth}-linear-loss",
            f"Theorem 2, N = {depth}: the k = 1 field for L(w) = w_x is not a gradient field: "
            f"its circulation oint F . dw around {loop} (mpmath quadrature) is non-zero",
            verdict,
            detail=f"circulation {value:.6g} (quadrature error {error:.2g}, floor {floor:.2g}): "
            f"{verdict.value}",
            values={"circulation": value, "quadrature_error": error, "floor": floor},
        ))
    if not config.quick:
        value, _ = circulation(3, linear_gradient)
        green = green_circulation(3)
        checks.append(identity_check(
            Layer.NUMERIC, "circulation-green-twin-n3",
            "N = 3, L(w) = w_x: the line integral equals Green's area integral of the symbolic "
            "curl (N - 1 - (2 - 2/N)) y ||w||^{-2/N} over the disk",
            float(abs(value - green) / max(abs(green), mp.one)), floor,
            precision_digits=config.precision, values={"green_integral": float(green)},
        ))
    value, error = circulation(2, anisotropic_gradient)
    rows.append(
        (2, f"quadratic kappa = {ANISOTROPY:g}", f"{float(value):.6g}", f"{float(error):.2g}")
    )
    anisotropic = abs(float(value)) > floor and float(error) < floor
    checks.append(Check(
        Layer.NUMERIC, "circulation-n2-quadratic-loss",
        f"N = 2 is a gradient field only for special losses: for L(w) = (w_x^2 + {ANISOTROPY:g} "
        "w_y^2) / 2 the k = 1 field has non-zero circulation (curl (1 - kappa) x y / ||w||); "
        "Theorem 2 is about N > 2; the N = 2 field has a potential for the linear loss, not for "
        "every loss",
        Verdict.CONSISTENT if anisotropic else Verdict.INCONCLUSIVE,
        detail=f"circulation {float(value):.6g} (quadrature error {float(error):.2g})",
        decisive=False,
        values={"circulation": float(value)},
    ))
    table = Table("circulation", "Circulation of the k = 1 field around the test loop",
                  ("N", "loss", "circulation", "quadrature error"), tuple(rows))
    return checks, table


def verify(config: RunConfig, progress: Progress) -> LayerResult:
    """Theorem 1 residuals, P's eigen-structure, Eq. 12 and Theorem 2's circulation at 50 digits."""
    rng = config.numpy_rng("numeric")
    floor = precision_floor(config.precision)
    shapes = SHAPES_QUICK if config.quick else SHAPES_FULL
    with mp.workdps(config.precision):
        velocity_rows = []
        for shape in progress(shapes, "Theorem 1 residuals"):
            residual, sigma_min = velocity_residual(shape, rng)
            velocity_rows.append((shape.describe(), shape.weight_decay, residual, sigma_min))
        worst = max(row[2] for row in velocity_rows)
        checks = [identity_check(
            Layer.NUMERIC, "theorem1-velocity-residual",
            "Theorem 1 on random balanced inits (Procedure 1; depths 2..6, square, non-square, "
            "k = 1 and rank-deficient W_e, with and without weight decay): |sum_j W_N..W_{j+1} "
            "(-lambda W_j - dL/dW_j) W_{j-1}..W_1 - (-lambda N W_e - sum_j [W_e W_e^T]^{(j-1)/N} G "
            "[W_e^T W_e]^{(N-j)/N})|_max / ||rhs||_F, worst instance",
            worst, floor, precision_digits=config.precision,
            values={"instances": len(velocity_rows)},
        )]
        spectra = [(shape, spectrum_result(shape, rng)) for shape in
                   progress([s for s in shapes if s.rows * s.cols <= EIGEN_MAX_ENTRIES],
                            "spectrum of P")]
        checks.append(identity_check(
            Layer.NUMERIC, "preconditioner-eigenvalues",
            "P_{W_e} = sum_j [W_e^T W_e]^{(N-j)/N} kron [W_e W_e^T]^{(j-1)/N} (built from Gram "
            "eigendecompositions): its eigenvalues equal sum_j sigma_r^{2(j-1)/N} "
            "sigma_r'^{2(N-j)/N} over all (r, r'); worst relative gap",
            max(result.eigenvalue_residual for _, result in spectra), floor,
            precision_digits=config.precision, values={"instances": len(spectra)},
        ))
        checks.append(identity_check(
            Layer.NUMERIC, "preconditioner-eigenvectors",
            "P_{W_e} vec(u_r v_r'^T) = lambda_{rr'} vec(u_r v_r'^T) for the full SVD of W_e; worst "
            "relative residual",
            max(result.eigenvector_residual for _, result in spectra), floor,
            precision_digits=config.precision,
        ))
        ratios = {shape.describe(): (result.min_eigenvalue / result.lower_bound
                                     if result.lower_bound > 0 else "sigma_min = 0")
                  for shape, result in spectra}
        checks.append(inequality_check(
            Layer.NUMERIC, "preconditioner-eigenvalue-lower-bound",
            "lambda_min(P_{W_e}) >= sigma_min(W_e)^{2(N-1)/N}; margin relative to the bound "
            "(ratio lambda_min / bound: N for square full-rank W_e, 1 (attained) for non-square)",
            min((result.min_eigenvalue - result.lower_bound) / max(result.lower_bound, 1e-300)
                if result.lower_bound > 0 else result.min_eigenvalue for _, result in spectra),
            floor,
            values={f"ratio {name}": value for name, value in ratios.items()},
        ))
        single = [single_output_residual(depth, cols, rng)
                  for depth in SINGLE_OUTPUT_DEPTHS for cols in (2, 5)]
        checks.append(identity_check(
            Layer.NUMERIC, "single-output-rule",
            "Eq. 12 (k = 1): sum_j [w w^T]^{(j-1)/N} g [w^T w]^{(N-j)/N} = ||w||^{2-2/N} "
            "(g + (N-1) Pr_w(g)) at random w, g in R^2 and R^5, N = 2..6; worst relative gap",
            max(single), floor, precision_digits=config.precision,
            values={"instances": len(single)},
        ))
        circulation_checks, circulation_table = _circulation_checks(config, progress, floor)
        checks.extend(circulation_checks)
    velocity_table = Table(
        "theorem1-residuals", "Theorem 1 at mpmath precision: residual per instance",
        ("instance", "weight decay", "relative residual", "sigma_min(W_e)"),
        tuple((name, decay, f"{res:.3g}", f"{sig:.3g}") for name, decay, res, sig in velocity_rows),
    )
    spectrum_table = Table(
        "preconditioner-spectrum", "Spectrum of P_{W_e} against the closed form",
        ("instance", "eigenvalue gap", "eigenvector residual", "lambda_min",
         "sigma_min^{2(N-1)/N}"),
        tuple((shape.describe(), f"{r.eigenvalue_residual:.3g}", f"{r.eigenvector_residual:.3g}",
               f"{r.min_eigenvalue:.6g}", f"{r.lower_bound:.6g}") for shape, r in spectra),
    )
    return LayerResult(Layer.NUMERIC, checks=tuple(checks),
                       tables=(velocity_table, spectrum_table, circulation_table))
