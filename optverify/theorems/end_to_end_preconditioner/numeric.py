"""Numeric layer: Theorem 1, P's spectrum, Eq. 12 and Theorem 2 of Arora, Cohen, Hazan (2018),
arXiv:1802.06509, at `s.precision` mpmath digits.

Instances are random balanced initializations (Procedure 1 of arXiv:1810.02281) of several shapes,
depths 2..6, including non-square, single-output and rank-deficient W_e. A rank-deficient W_e is
built so its zero singular values are exact: Procedure 1 on a full-rank r x r target, its outer
factors zero-padded to the outer dimensions and rotated by random orthogonal matrices (this keeps
W_1 W_1^T and W_N^T W_N, hence balancedness). Procedure 1 applied to a rank-deficient target
directly would turn the SVD's rounding-level singular values (10^-50) into factor entries of size
(10^-50)^{1/N}, far above the precision floor, since x -> x^{1/N} is not Lipschitz at 0.

Every identity is judged against the session's floor 10^-(digits - 10) relative to the size of its
terms.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import mpmath
import numpy as np
from mpmath import mp

from optverify.kit import Session, Table
from optverify.numerics.deep_linear import balanced_factors_mp, end_to_end_mp, layer_gradients_mp
from optverify.numerics.haar import haar_orthogonal_mp
from optverify.numerics.mp_linalg import frobenius_norm, max_abs, psd_power, to_mp
from optverify.numerics.precision import describe_number, reportable
from optverify.theorems.end_to_end_preconditioner.circulation import (
    Circulation,
    GreenTwin,
    anisotropic_gradient,
    circulation,
    circulation_table,
    green_twin,
    linear_gradient,
    record_circulations,
)
from optverify.theorems.end_to_end_preconditioner.preconditioner import (
    end_to_end_velocity_mp,
    full_spectrum_mp,
    kron_mp,
    layerwise_velocity_mp,
    preconditioner_eigenvalues_mp,
    single_output_direction_mp,
    vec_mp,
)


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
GREEN_TWIN_DEPTHS = (3,)
"""Depths whose line integral is checked against Green's area integral (full runs only)."""


@dataclass(frozen=True)
class NumericConfig:
    """The numeric layer's instances: the shapes of the random balanced initializations, the
    depths of the circulation of the k = 1 field, and the depths whose circulation is checked
    against Green's area integral (full runs only)."""

    shapes: tuple[InstanceShape, ...]
    circulation_depths: tuple[int, ...]
    green_depths: tuple[int, ...]

    @classmethod
    def quick(cls) -> NumericConfig:
        return cls(SHAPES_QUICK, CIRCULATION_DEPTHS_QUICK, ())

    @classmethod
    def full(cls) -> NumericConfig:
        return cls(SHAPES_FULL, CIRCULATION_DEPTHS_FULL, GREEN_TWIN_DEPTHS)


def gaussian_mp(rng: np.random.Generator, rows: int, cols: int) -> mpmath.matrix:
    return to_mp(rng.standard_normal((rows, cols)))


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
    first = _embed(factors[0], shape.hidden[0], shape.cols) * haar_orthogonal_mp(shape.cols, rng).T
    last = haar_orthogonal_mp(shape.rows, rng) * _embed(factors[-1], shape.rows, shape.hidden[-1])
    return [first, *factors[1:-1], last]


THEOREM1_CONTROLS = {
    "wrong-exponent": "the wrong exponent j/N for (j-1)/N on [W_e W_e^T]",
    "decay-without-depth": "the weight decay term -lambda W_e without the factor N",
    "unbalanced": "unbalanced factors of the same W_e (W_1 doubled, W_N halved: Theorem 1's "
                  "hypothesis broken)",
}


@dataclass(frozen=True)
class VelocityResidual:
    """Theorem 1 on one instance: residual |layer-wise velocity - Theorem 1|_max / ||Theorem 1||_F
    and sigma_min of W_e (0 for a rank-deficient W_e); controls: the same residual for each false
    alternative of THEOREM1_CONTROLS, on the same instance and gradient."""

    shape: InstanceShape
    residual: mpmath.mpf
    sigma_min: mpmath.mpf
    controls: dict[str, mpmath.mpf] = field(default_factory=dict)


def _relative_gap(layerwise: mpmath.matrix, formula: mpmath.matrix) -> mpmath.mpf:
    return max_abs(layerwise - formula) / max(frobenius_norm(formula), mp.one)


def velocity_residual(shape: InstanceShape, rng: np.random.Generator) -> VelocityResidual:
    """Theorem 1's residual for the loss L^1(W) = ||W - Phi||^2 / 2 with a random Phi
    (G = W_e - Phi), and the residuals of its negative controls (THEOREM1_CONTROLS)."""
    factors = balanced_instance_mp(shape, rng)
    end_to_end = end_to_end_mp(factors)
    grad = end_to_end - gaussian_mp(rng, shape.rows, shape.cols)
    layer_grads = layer_gradients_mp(factors, grad)
    layerwise = layerwise_velocity_mp(factors, layer_grads, shape.weight_decay)
    formula = end_to_end_velocity_mp(end_to_end, grad, shape.depth, shape.weight_decay)
    residual = _relative_gap(layerwise, formula)
    sigma_min = full_spectrum_mp(end_to_end).left[min(shape.rows, shape.cols) - 1]
    controls = {
        "wrong-exponent": _relative_gap(layerwise, end_to_end_velocity_mp(
            end_to_end, grad, shape.depth, shape.weight_decay, left_shift=1)),
        "unbalanced": _relative_gap(_unbalanced_velocity(factors, grad, shape.weight_decay),
                                    formula),
    }
    if shape.weight_decay:
        controls["decay-without-depth"] = _relative_gap(layerwise, end_to_end_velocity_mp(
            end_to_end, grad, shape.depth, shape.weight_decay, decay_depth=False))
    return VelocityResidual(shape, residual, sigma_min, controls)


def _unbalanced_velocity(factors, grad, weight_decay) -> mpmath.matrix:
    """The layer-wise velocity of unbalanced factors with the same product: W_1 doubled and W_N
    halved (Theorem 1 assumes balance, so its rule no longer applies)."""
    unbalanced = [2 * factors[0], *factors[1:-1], factors[-1] / 2]
    return layerwise_velocity_mp(unbalanced, layer_gradients_mp(unbalanced, grad), weight_decay)


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

    shape: InstanceShape
    eigenvalue_residual: mpmath.mpf
    eigenvector_residual: mpmath.mpf
    min_eigenvalue: mpmath.mpf
    lower_bound: mpmath.mpf
    max_eigenvalue: mpmath.mpf = mp.zero
    wrong_eigenvalue_residual: mpmath.mpf = mp.zero
    wrong_eigenvector_residual: mpmath.mpf = mp.zero

    @property
    def full_rank(self) -> bool:
        return self.lower_bound > 0


def _closed_form_residuals(preconditioner, spectrum, closed, computed, shape, scale):
    """The worst eigenvalue gap (sorted closed form against the computed spectrum) and the worst
    eigenvector residual ||P vec(u_r v_r'^T) - lambda_rr' vec(u_r v_r'^T)||_max, both over
    `scale`."""
    flat = sorted(value for row in closed for value in row)
    eigenvalue_residual = max(abs(a - b) for a, b in zip(flat, computed)) / scale
    eigenvector_residual = mp.zero
    for r in range(shape.rows):
        for s in range(shape.cols):
            vector = vec_mp(spectrum.u[:, r] * spectrum.v[:, s].T)
            gap = preconditioner * vector - closed[r][s] * vector
            eigenvector_residual = max(eigenvector_residual, max_abs(gap) / scale)
    return eigenvalue_residual, eigenvector_residual


def spectrum_result(shape: InstanceShape, rng: np.random.Generator) -> SpectrumResult:
    end_to_end = end_to_end_mp(balanced_instance_mp(shape, rng))
    depth = shape.depth
    preconditioner = preconditioner_psd_power_mp(end_to_end, depth)
    spectrum = full_spectrum_mp(end_to_end)
    left, right = spectrum.left, spectrum.right
    closed = preconditioner_eigenvalues_mp(left, right, depth)
    computed = sorted(mp.eigsy(preconditioner, eigvals_only=True))
    scale = max(max(value for row in closed for value in row), mp.one)
    eigenvalue_residual, eigenvector_residual = _closed_form_residuals(
        preconditioner, spectrum, closed, computed, shape, scale)
    wrong = preconditioner_eigenvalues_mp(left, right, depth, left_shift=1)
    wrong_eigenvalue, wrong_eigenvector = _closed_form_residuals(
        preconditioner, spectrum, wrong, computed, shape, scale)
    sigma_min = left[min(shape.rows, shape.cols) - 1]
    return SpectrumResult(
        shape,
        eigenvalue_residual,
        eigenvector_residual,
        computed[0],
        sigma_min ** (2 * mp.mpf(depth - 1) / depth),
        computed[-1],
        wrong_eigenvalue,
        wrong_eigenvector,
    )


def single_output_residual(depth: int, cols: int, rng: np.random.Generator,
                           control: bool = False) -> mpmath.mpf | tuple[mpmath.mpf, mpmath.mpf]:
    """|Theorem 1 for k = 1 - Eq. 12| / ||Eq. 12|| at a random w, g; with `control`, also the same
    gap for the negative control, Eq. 12 with the weight N for N - 1 on Pr_w(g)."""
    w = gaussian_mp(rng, 1, cols)
    g = gaussian_mp(rng, 1, cols)
    general = -end_to_end_velocity_mp(w, g, depth)

    def gap(weight=None) -> mpmath.mpf:
        rule = single_output_direction_mp(list(w), list(g), depth, weight)
        scale = max(mp.sqrt(mp.fsum(x * x for x in rule)), mp.one)
        return max(abs(general[0, c] - rule[c]) for c in range(cols)) / scale

    return (gap(), gap(depth)) if control else gap()


@dataclass(frozen=True)
class NumericMeasurements:
    """Everything the numeric layer measured at the working precision.

    velocities: Theorem 1 per instance; spectra: P's spectrum on the instances with k d <=
    EIGEN_MAX_ENTRIES; single_output: Eq. 12's relative gaps; linear: the circulation for the
    linear loss per depth; green: Green's twin per depth (full runs); quadratic: the N = 2
    circulation for the anisotropic quadratic loss.
    """

    velocities: tuple[VelocityResidual, ...]
    spectra: tuple[SpectrumResult, ...]
    single_output: tuple[mpmath.mpf, ...]
    linear: dict[int, Circulation]
    green: dict[int, GreenTwin]
    quadratic: Circulation
    single_output_control: tuple[mpmath.mpf, ...] = ()

    def lower_bound_margin(self, factor: float = 1.0) -> mpmath.mpf:
        """The worst relative margin (lambda_min - c bound) / bound over the full-rank spectra
        (sigma_min > 0), c = `factor` (1 in the claim, 2 for the negative control). Every margin
        is relative to its own bound, so the floor it is judged against is relative too."""
        return min((r.min_eigenvalue - factor * r.lower_bound) / r.lower_bound
                   for r in self.spectra if r.full_rank)

    @property
    def rank_deficient_margin(self) -> float:
        """The worst lambda_min / lambda_max over the rank-deficient spectra (sigma_min = 0, where
        the bound reads lambda_min >= 0); +inf when there are none."""
        return min((r.min_eigenvalue / r.max_eigenvalue for r in self.spectra
                    if not r.full_rank), default=float("inf"))


def measure_all(s: Session, shapes, circulation_depths, green_depths) -> NumericMeasurements:
    """Draw the instances from the 'numeric' stream and measure every quantity (inside
    mp.workdps), in the order the stream is consumed: Theorem 1, P's spectrum, Eq. 12."""
    rng = s.rng("numeric")
    velocities = tuple(velocity_residual(shape, rng)
                       for shape in s.progress(shapes, "Theorem 1 residuals"))
    small = [shape for shape in shapes if shape.rows * shape.cols <= EIGEN_MAX_ENTRIES]
    spectra = tuple(spectrum_result(shape, rng) for shape in s.progress(small, "spectrum of P"))
    single_pairs = [single_output_residual(depth, cols, rng, control=True)
                    for depth in SINGLE_OUTPUT_DEPTHS for cols in (2, 5)]
    single = tuple(pair[0] for pair in single_pairs)
    linear = {depth: circulation(depth, linear_gradient)
              for depth in s.progress(circulation_depths, "circulation of the k = 1 field")}
    green = {depth: green_twin(depth) for depth in green_depths}
    return NumericMeasurements(velocities, spectra, single, linear, green,
                               circulation(2, anisotropic_gradient),
                               tuple(pair[1] for pair in single_pairs))


WRONG_CLOSED_FORM = ("the closed form with sigma_r^{2j/N} for sigma_r^{2(j-1)/N} (same P, same "
                     "instances)")


def _velocity_table(found: NumericMeasurements) -> Table:
    return Table(
        "theorem1-residuals", "Theorem 1 at mpmath precision: residual per instance",
        ("instance", "weight decay", "relative residual", "sigma_min(W_e)"),
        tuple((v.shape.describe(), v.shape.weight_decay, describe_number(v.residual),
               describe_number(v.sigma_min)) for v in found.velocities),
    )


def _spectrum_table(found: NumericMeasurements) -> Table:
    return Table(
        "preconditioner-spectrum", "Spectrum of P_{W_e} against the closed form",
        ("instance", "eigenvalue gap", "eigenvector residual", "lambda_min",
         "sigma_min^{2(N-1)/N}"),
        tuple((r.shape.describe(), describe_number(r.eigenvalue_residual),
               describe_number(r.eigenvector_residual), describe_number(r.min_eigenvalue, 6),
               describe_number(r.lower_bound, 6)) for r in found.spectra),
    )


def _lower_bound_ratios(found: NumericMeasurements) -> dict:
    return {f"ratio {r.shape.describe()}": (reportable(r.min_eigenvalue / r.lower_bound)
                                            if r.full_rank else "sigma_min = 0 (sanity check)")
            for r in found.spectra}


def verify(s: Session) -> None:
    """Theorem 1 residuals, P's eigen-structure, Eq. 12 and Theorem 2's circulation at 50 digits."""
    config = s.preset(quick=NumericConfig.quick(), full=NumericConfig.full())
    with mp.workdps(s.precision):
        floor = s.floor()
        found = measure_all(s, config.shapes, config.circulation_depths, config.green_depths)
    s.identity("theorem1-velocity-residual",
               "Theorem 1 on random balanced inits (Procedure 1; depths 2..6, square, non-square, "
               "k = 1 and rank-deficient W_e, with and without weight decay): |sum_j "
               "W_N..W_{j+1} (-lambda W_j - dL/dW_j) W_{j-1}..W_1 - (-lambda N W_e - sum_j "
               "[W_e W_e^T]^{(j-1)/N} G [W_e^T W_e]^{(N-j)/N})|_max / ||rhs||_F, worst instance",
               max(v.residual for v in found.velocities), floor, main=True,
               values={"instances": len(found.velocities)},
               controls={f"{words} (same instances, same residual)":
                         max(v.controls[key] for v in found.velocities if key in v.controls)
                         for key, words in THEOREM1_CONTROLS.items()})
    s.identity("preconditioner-eigenvalues",
               "P_{W_e} = sum_j [W_e^T W_e]^{(N-j)/N} kron [W_e W_e^T]^{(j-1)/N} (built from Gram "
               "eigendecompositions): its eigenvalues equal sum_j sigma_r^{2(j-1)/N} "
               "sigma_r'^{2(N-j)/N} over all (r, r'); worst relative gap",
               max(r.eigenvalue_residual for r in found.spectra), floor,
               values={"instances": len(found.spectra)},
               controls={WRONG_CLOSED_FORM: max(r.wrong_eigenvalue_residual
                                                for r in found.spectra)})
    s.identity("preconditioner-eigenvectors",
               "P_{W_e} vec(u_r v_r'^T) = lambda_{rr'} vec(u_r v_r'^T) for the full SVD of W_e; "
               "worst relative residual", max(r.eigenvector_residual for r in found.spectra),
               floor, controls={WRONG_CLOSED_FORM: max(r.wrong_eigenvector_residual
                                                       for r in found.spectra)})
    full_rank = [r for r in found.spectra if r.full_rank]
    s.inequality("preconditioner-eigenvalue-lower-bound",
                 "lambda_min(P_{W_e}) >= sigma_min(W_e)^{2(N-1)/N} on the full-rank instances "
                 f"({len(full_rank)} of {len(found.spectra)}); worst margin (lambda_min - bound) / "
                 "bound (ratio lambda_min / bound: N for square W_e, 1 (attained) for "
                 "non-square, where only rounding separates the margin from 0)",
                 found.lower_bound_margin(), floor, values=_lower_bound_ratios(found),
                 controls={"the stronger bound 2 sigma_min^{2(N-1)/N}":
                           found.lower_bound_margin(2.0)})
    if len(full_rank) < len(found.spectra):
        s.inequality("preconditioner-psd-rank-deficient",
                     "on the rank-deficient instances sigma_min = 0 and the bound reads "
                     "lambda_min(P) >= 0, true of the PSD P by construction (a sum of Kronecker "
                     "products of PSD powers): a sanity check; lambda_min / lambda_max, with "
                     "lambda_min = 0 by the closed form (checked in preconditioner-eigenvalues)",
                     found.rank_deficient_margin, floor, sanity=True)
    s.identity("single-output-rule",
               "Eq. 12 (k = 1): sum_j [w w^T]^{(j-1)/N} g [w^T w]^{(N-j)/N} = ||w||^{2-2/N} "
               "(g + (N-1) Pr_w(g)) at random w, g in R^2 and R^5, N = 2..6; worst relative gap",
               max(found.single_output), floor, values={"instances": len(found.single_output)},
               controls={"the weight N for N - 1 on Pr_w(g) (same w, g)":
                         min(found.single_output_control)})
    record_circulations(s, found.linear, found.green, found.quadratic, floor)
    s.table(_velocity_table(found))
    s.table(_spectrum_table(found))
    s.table(circulation_table(found.linear, found.quadratic, floor))
