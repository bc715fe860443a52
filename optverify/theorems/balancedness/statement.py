"""Symbolic layer of `balancedness`: sympy proves that gradient flow conserves the balancedness gaps
C_j = W_{j+1}^T W_{j+1} - W_j W_j^T, and the exact one-step change of C_j under gradient descent.

Source: the balancedness argument in the proof of Theorem 1 of Arora, Cohen, Hazan (2018),
arXiv:1802.06509 (dC_j/dt = -2 eta lambda C_j under dW_j/dt = -eta lambda W_j - eta dL^N/dW_j), and
Definition 1 of Arora, Cohen, Golowich, Hu (2019), arXiv:1810.02281. The loss is general: the
end-to-end gradient G = grad L^1(W_e) is a matrix of free symbols, so the identities hold for every
differentiable L^1. Layer gradients dL^N/dW_j = (W_N...W_{j+1})^T G (W_{j-1}...W_1)^T are built here
from the definition, independently of `optverify.numerics.deep_linear`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import sympy

from optverify.kit import Session

TIME = sympy.Symbol("t", real=True)
STEP = sympy.Symbol("eta", positive=True)
DECAY = sympy.Symbol("lambda", nonnegative=True)


@dataclass(frozen=True)
class Architecture:
    """Layer widths d_0, ..., d_N of a deep linear net (depth N = len(widths) - 1)."""

    widths: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.widths) < 3:
            raise ValueError(f"a deep linear net needs depth N >= 2, got widths {self.widths}")
        if any(width < 1 for width in self.widths):
            raise ValueError(f"layer widths must be positive, got {self.widths}")

    @property
    def depth(self) -> int:
        return len(self.widths) - 1

    @property
    def label(self) -> str:
        return "x".join(str(width) for width in self.widths)


ARCHITECTURES = (Architecture((2, 2, 2)), Architecture((2, 2, 2, 2)), Architecture((1, 2, 3, 2)))
"""Square N = 2 and N = 3 nets of 2 x 2 layers and a non-square N = 3 net (under a second in all,
so quick and full runs prove the same identities)."""


def factor_matrices(architecture: Architecture, time: sympy.Symbol | None = None):
    """Symbolic factors W_1..W_N: entries w{j}_{r}{c}, functions of `time` when one is given."""
    widths = architecture.widths
    factors = []
    for j in range(1, architecture.depth + 1):
        def entry(r: int, c: int, j: int = j):
            name = f"w{j}_{r}{c}"
            return sympy.Function(name)(time) if time is not None else sympy.Symbol(name)

        factors.append(sympy.Matrix(widths[j], widths[j - 1], entry))
    return factors


def end_to_end_gradient(architecture: Architecture) -> sympy.Matrix:
    """G = grad L^1(W_e) for a general loss: a d_N x d_0 matrix of free symbols g_{r}{c}."""
    rows, cols = architecture.widths[-1], architecture.widths[0]
    return sympy.Matrix(rows, cols, lambda r, c: sympy.Symbol(f"g_{r}{c}"))


def _product(matrices: Sequence[sympy.Matrix], size: int) -> sympy.Matrix:
    """matrices[-1] ... matrices[0], the identity of `size` when empty."""
    if not matrices:
        return sympy.eye(size)
    result = matrices[0]
    for matrix in matrices[1:]:
        result = matrix * result
    return result


def layer_gradients(factors: Sequence[sympy.Matrix], gradient: sympy.Matrix) -> list[sympy.Matrix]:
    """dL^N/dW_j = (W_N ... W_{j+1})^T G (W_{j-1} ... W_1)^T."""
    rows, cols = gradient.shape
    return [
        _product(factors[j + 1 :], rows).T * gradient * _product(factors[:j], cols).T
        for j in range(len(factors))
    ]


def balancedness_gaps(factors: Sequence[sympy.Matrix]) -> list[sympy.Matrix]:
    """C_j = W_{j+1}^T W_{j+1} - W_j W_j^T for j = 1..N-1."""
    return [upper.T * upper - lower * lower.T for lower, upper in pairwise(factors)]


def _stacked(matrices: Sequence[sympy.Matrix]) -> sympy.Matrix:
    """All entries of all matrices as one column, each expanded."""
    return sympy.Matrix([sympy.expand(entry) for matrix in matrices for entry in matrix])


@dataclass(frozen=True)
class Residuals:
    """An identity's residuals, all j stacked, each entry expanded: at lambda = 0 (`plain`) and
    with weight decay lambda >= 0 (`with_decay`). Every entry is 0 when the identity holds."""

    plain: sympy.Matrix
    with_decay: sympy.Matrix


def gap_flow_residuals(architecture: Architecture) -> Residuals:
    """dC_j/dt at lambda = 0 and dC_j/dt + 2 eta lambda C_j under gradient flow, all j stacked.

    The time derivative is taken by sympy on factors that are functions of t; each dW_j/dt is then
    replaced by the flow's velocity -eta lambda W_j - eta dL^N/dW_j.
    """
    factors = factor_matrices(architecture, TIME)
    gradient = end_to_end_gradient(architecture)
    velocities = {
        entry.diff(TIME): -STEP * (DECAY * entry + grad_entry)
        for factor, grad in zip(factors, layer_gradients(factors, gradient))
        for entry, grad_entry in zip(factor, grad)
    }
    plain = {entry: sympy.Symbol(entry.func.__name__) for factor in factors for entry in factor}
    gaps = balancedness_gaps(factors)
    derivatives = [gap.diff(TIME).subs(velocities).xreplace(plain) for gap in gaps]
    plain_gaps = [gap.xreplace(plain) for gap in gaps]
    without_decay = _stacked([derivative.subs(DECAY, 0) for derivative in derivatives])
    with_decay = _stacked(
        [derivative + 2 * STEP * DECAY * gap for derivative, gap in zip(derivatives, plain_gaps)]
    )
    return Residuals(without_decay, with_decay)


def gd_step_residuals(architecture: Architecture) -> Residuals:
    """One GD step W_j <- W_j - eta (lambda W_j + dL^N/dW_j), all layers at once, residuals of
    C_j(t+1) - C_j(t) = eta^2 (G_{j+1}^T G_{j+1} - G_j G_j^T)                      (lambda = 0) and
    C_j(t+1) = (1 - eta lambda)^2 C_j(t) + eta^2 (G_{j+1}^T G_{j+1} - G_j G_j^T)    (lambda >= 0),
    with G_j = dL^N/dW_j at the pre-step point, all j stacked."""
    factors = factor_matrices(architecture)
    grads = layer_gradients(factors, end_to_end_gradient(architecture))
    stepped = [w - STEP * (DECAY * w + g) for w, g in zip(factors, grads)]
    before, after = balancedness_gaps(factors), balancedness_gaps(stepped)
    gradient_gaps = [
        upper.T * upper - lower * lower.T for lower, upper in pairwise(grads)
    ]
    with_decay = [
        new - (1 - STEP * DECAY) ** 2 * old - STEP**2 * gap
        for new, old, gap in zip(after, before, gradient_gaps)
    ]
    return Residuals(_stacked([r.subs(DECAY, 0) for r in with_decay]), _stacked(with_decay))


def record_identities(s: Session, architecture: Architecture) -> None:
    """The four identities of one architecture: the flow invariance (the main bound), its weight
    decay form, and the GD one-step change without and with weight decay."""
    flow, step = gap_flow_residuals(architecture), gd_step_residuals(architecture)
    name = f"N{architecture.depth}-{architecture.label}"
    where = f"for symbolic factors of widths {architecture.label} (N = {architecture.depth}) and a "
    where += "free-symbol gradient G = grad L^1(W_e)"
    s.zero(f"flow-invariant-{name}",
           f"gradient flow with lambda = 0 conserves every C_j: dC_j/dt = 0, {where}",
           flow.plain, main=True)
    s.zero(f"flow-weight-decay-{name}",
           f"with weight decay, dC_j/dt = -2 eta lambda C_j, {where}", flow.with_decay)
    s.zero(f"gd-step-{name}",
           "one GD step changes C_j by exactly eta^2 (G_{j+1}^T G_{j+1} - G_j G_j^T), "
           f"G_j the layer gradients, {where}", step.plain)
    s.zero(f"gd-step-weight-decay-{name}",
           "one GD step with weight decay: C_j(t+1) = (1 - eta lambda)^2 C_j(t) + "
           f"eta^2 (G_{{j+1}}^T G_{{j+1}} - G_j G_j^T), {where}", step.with_decay)


def verify(s: Session) -> None:
    """Prove the flow invariance and the GD one-step identity on small symbolic nets."""
    for architecture in s.progress(ARCHITECTURES, "sympy: balancedness identities"):
        record_identities(s, architecture)
    s.note("The loss enters only through a matrix of free symbols G = grad L^1(W_e), so each "
           "identity holds for every differentiable L^1.")
