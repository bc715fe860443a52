"""Symbolic layer of `balancedness`: sympy proves that gradient flow conserves the balancedness gaps
C_j = W_{j+1}^T W_{j+1} - W_j W_j^T, and the exact one-step change of C_j under gradient descent.

Source: the balancedness argument in the proof of Theorem 1 of Arora, Cohen, Hazan (2018),
arXiv:1802.06509 (dC_j/dt = -2 eta lambda C_j under dW_j/dt = -eta lambda W_j - eta dL^N/dW_j), and
Definition 1 of Arora, Cohen, Golowich, Hu (2019), arXiv:1810.02281. The loss is general: the
end-to-end gradient G = grad L^1(W_e) is a matrix of free symbols, so the identities hold for every
differentiable L^1. Layer gradients dL^N/dW_j = (W_N...W_{j+1})^T G (W_{j-1}...W_1)^T and the gaps
are the sympy forms of `optverify.numerics.deep_linear` (built from the definition, apart from its
torch and mpmath forms, which the tests compare them with).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import sympy

from optverify.kit import Session
from optverify.numerics.deep_linear import (
    balancedness_gaps_symbolic,
    end_to_end_symbolic,
    layer_gradients_symbolic,
)
from optverify.numerics.validation import require, require_one_of, require_widths

TIME = sympy.Symbol("t", real=True)
STEP = sympy.Symbol("eta", positive=True)
DECAY = sympy.Symbol("lambda", nonnegative=True)


@dataclass(frozen=True)
class Architecture:
    """Layer widths d_0, ..., d_N of a deep linear net (depth N = len(widths) - 1)."""

    widths: tuple[int, ...]

    def __post_init__(self) -> None:
        require_widths("the layer widths", self.widths)

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


def _stacked(matrices: Sequence[sympy.Matrix], expand: bool = True) -> sympy.Matrix:
    """All entries of all matrices as one column, each expanded (unless `expand` is False: a
    control evaluated at a rational point needs no expansion)."""
    return sympy.Matrix([sympy.expand(entry) if expand else entry
                         for matrix in matrices for entry in matrix])


@dataclass(frozen=True)
class Residuals:
    """An identity's residuals, all j stacked, each entry expanded: at lambda = 0 (`plain`) and
    with weight decay lambda >= 0 (`with_decay`). Every entry is 0 when the identity holds."""

    plain: sympy.Matrix
    with_decay: sympy.Matrix


VELOCITIES = ("gradient", "layer-wise-rates", "missing-transpose")
"""The flow's velocity: the gradient flow (the claim), or a deliberately wrong one for the negative
controls: layer-wise learning rates eta_j = j eta (no longer one gradient flow of L^N), or the layer
gradient with the transpose of the lower product missing, (W_N..W_{j+1})^T G (W_{j-1}..W_1)
(defined only when every width is equal)."""


def velocity_gradients(factors: Sequence[sympy.Matrix], gradient: sympy.Matrix,
                       velocity: str = "gradient") -> list[sympy.Matrix]:
    """The matrices D_j in dW_j/dt = -eta lambda W_j - eta D_j: the layer gradients dL^N/dW_j for
    the gradient flow, or those of a wrong velocity (see VELOCITIES)."""
    require_one_of("the velocity", velocity, VELOCITIES)
    if velocity == "gradient":
        return layer_gradients_symbolic(factors, gradient)
    if velocity == "layer-wise-rates":
        return [(j + 1) * g for j, g in enumerate(layer_gradients_symbolic(factors, gradient))]
    rows, cols = gradient.shape
    require(all(f.shape == (rows, cols) for f in factors) and rows == cols,
            "the missing-transpose velocity needs equal widths")
    return [end_to_end_symbolic(factors[j + 1:], rows).T * gradient
            * end_to_end_symbolic(factors[:j], cols) for j in range(len(factors))]


@cache
def _flow_terms(architecture: Architecture, velocity: str):
    """dC_j/dt under the flow with `velocity` (with lambda free) and C_j, on plain symbols."""
    factors = factor_matrices(architecture, TIME)
    gradient = end_to_end_gradient(architecture)
    velocities = {
        entry.diff(TIME): -STEP * (DECAY * entry + grad_entry)
        for factor, grad in zip(factors, velocity_gradients(factors, gradient, velocity))
        for entry, grad_entry in zip(factor, grad)
    }
    plain = {entry: sympy.Symbol(entry.func.__name__) for factor in factors for entry in factor}
    gaps = balancedness_gaps_symbolic(factors)
    derivatives = [gap.diff(TIME).subs(velocities).xreplace(plain) for gap in gaps]
    return derivatives, [gap.xreplace(plain) for gap in gaps]


def gap_flow_residuals(architecture: Architecture, velocity: str = "gradient",
                       decay_constant: int = 2, expand: bool = True) -> Residuals:
    """dC_j/dt at lambda = 0 and dC_j/dt + c eta lambda C_j (c = `decay_constant`, 2 in the
    claim) under the flow with the given velocity (VELOCITIES), all j stacked.

    The time derivative is taken by sympy on factors that are functions of t; each dW_j/dt is then
    replaced by the flow's velocity -eta lambda W_j - eta D_j (D_j = dL^N/dW_j for the gradient
    flow).
    """
    derivatives, plain_gaps = _flow_terms(architecture, velocity)
    without_decay = _stacked([derivative.subs(DECAY, 0) for derivative in derivatives], expand)
    with_decay = _stacked(
        [derivative + decay_constant * STEP * DECAY * gap
         for derivative, gap in zip(derivatives, plain_gaps)], expand
    )
    return Residuals(without_decay, with_decay)


@cache
def _step_terms(architecture: Architecture):
    """C_j after one GD step, C_j before it, and G_{j+1}^T G_{j+1} - G_j G_j^T."""
    factors = factor_matrices(architecture)
    grads = layer_gradients_symbolic(factors, end_to_end_gradient(architecture))
    stepped = [w - STEP * (DECAY * w + g) for w, g in zip(factors, grads)]
    return (balancedness_gaps_symbolic(stepped), balancedness_gaps_symbolic(factors),
            balancedness_gaps_symbolic(grads))


def gd_step_residuals(architecture: Architecture, step_power: int = 2,
                      decay_power: int = 2, expand: bool = True) -> Residuals:
    """One GD step W_j <- W_j - eta (lambda W_j + dL^N/dW_j), all layers at once, residuals of
    C_j(t+1) - C_j(t) = eta^2 (G_{j+1}^T G_{j+1} - G_j G_j^T)                      (lambda = 0) and
    C_j(t+1) = (1 - eta lambda)^2 C_j(t) + eta^2 (G_{j+1}^T G_{j+1} - G_j G_j^T)    (lambda >= 0),
    with G_j = dL^N/dW_j at the pre-step point, all j stacked. `step_power` and `decay_power` (2
    and 2 in the claim) replace the exponents of eta and of (1 - eta lambda) for the negative
    controls; step_power = 0 drops the eta^2 term (C_j conserved by GD)."""
    after, before, gradient_gaps = _step_terms(architecture)
    term = STEP**step_power if step_power else 0
    with_decay = [
        new - (1 - STEP * DECAY) ** decay_power * old - term * gap
        for new, old, gap in zip(after, before, gradient_gaps)
    ]
    return Residuals(_stacked([r.subs(DECAY, 0) for r in with_decay], expand),
                     _stacked(with_decay, expand))


def witness_point(expression: sympy.Basic) -> dict[sympy.Symbol, sympy.Rational]:
    """A fixed exact rational point for the free symbols of `expression`: the k-th symbol in name
    order gets (k + 2) / (k + 3), positive (so valid for eta > 0, lambda >= 0) and generic."""
    symbols = sorted(expression.free_symbols, key=lambda symbol: symbol.name)
    return {symbol: sympy.Rational(k + 2, k + 3) for k, symbol in enumerate(symbols)}


def at_witness(expression: sympy.Basic) -> sympy.Basic:
    """`expression` at `witness_point`: a false identity's residual there is a non-zero number, an
    exact counterexample (sympy's zero test calls a non-zero polynomial in free symbols only
    'not reduced'; a number it decides). Exact rational arithmetic, so no rounding can make a
    true identity look false or a false one true."""
    return expression.xreplace(witness_point(expression))


def wrong_velocities(architecture: Architecture) -> tuple[str, ...]:
    """The wrong velocities defined for `architecture` (missing-transpose needs equal widths)."""
    square = len(set(architecture.widths)) == 1
    return ("layer-wise-rates", "missing-transpose") if square else ("layer-wise-rates",)


_VELOCITY_WORDS = {
    "layer-wise-rates": "a flow with layer-wise rates eta_j = j eta",
    "missing-transpose": "a flow whose layer gradient misses a transpose, "
                         "(W_N..W_{j+1})^T G (W_{j-1}..W_1)",
}
WITNESS_WORDS = "residual at the rational point s_k = (k+2)/(k+3)"


def record_identities(s: Session, architecture: Architecture) -> None:
    """The four identities of one architecture: the flow invariance (the main bound), its weight
    decay form, and the GD one-step change without and with weight decay. Each names its false
    alternatives, computed by the same residual function with a wrong velocity, a wrong constant
    or a wrong exponent, and judged at a rational point where they must not vanish."""
    flow, step = gap_flow_residuals(architecture), gd_step_residuals(architecture)
    name = f"N{architecture.depth}-{architecture.label}"
    where = f"scope: symbolic factors of widths {architecture.label} (N = {architecture.depth}) "
    where += "and a free-symbol gradient G = grad L^1(W_e), i.e. every differentiable L^1"
    wrong_flows = {velocity: gap_flow_residuals(architecture, velocity, expand=False)
                   for velocity in wrong_velocities(architecture)}
    s.zero(f"flow-invariant-{name}",
           f"gradient flow with lambda = 0 conserves every C_j: dC_j/dt = 0; {where}",
           flow.plain, main=True,
           controls={f"{_VELOCITY_WORDS[velocity]} ({WITNESS_WORDS})": at_witness(wrong.plain)
                     for velocity, wrong in wrong_flows.items()})
    wrong_constant = gap_flow_residuals(architecture, decay_constant=1, expand=False).with_decay
    s.zero(f"flow-weight-decay-{name}",
           f"with weight decay, dC_j/dt = -2 eta lambda C_j; {where}", flow.with_decay,
           controls={f"dC_j/dt = -eta lambda C_j, the constant 1 for 2 ({WITNESS_WORDS})":
                     at_witness(wrong_constant)})
    conserved = gd_step_residuals(architecture, step_power=0, expand=False).plain
    first_order = gd_step_residuals(architecture, step_power=1, expand=False).plain
    s.zero(f"gd-step-{name}",
           "one GD step changes C_j by exactly eta^2 (G_{j+1}^T G_{j+1} - G_j G_j^T), "
           f"G_j the layer gradients; {where}", step.plain,
           controls={f"GD conserves C_j like the flow, no eta^2 term ({WITNESS_WORDS})":
                     at_witness(conserved),
                     f"the change is eta (G_{{j+1}}^T G_{{j+1}} - G_j G_j^T), eta^1 for eta^2 "
                     f"({WITNESS_WORDS})": at_witness(first_order)})
    linear_factor = gd_step_residuals(architecture, decay_power=1, expand=False).with_decay
    s.zero(f"gd-step-weight-decay-{name}",
           "one GD step with weight decay: C_j(t+1) = (1 - eta lambda)^2 C_j(t) + "
           f"eta^2 (G_{{j+1}}^T G_{{j+1}} - G_j G_j^T); {where}", step.with_decay,
           controls={f"the factor (1 - eta lambda) for its square ({WITNESS_WORDS})":
                     at_witness(linear_factor)})


def verify(s: Session) -> None:
    """Prove the flow invariance and the GD one-step identity on small symbolic nets."""
    for architecture in s.progress(ARCHITECTURES, "sympy: balancedness identities"):
        record_identities(s, architecture)
    s.note("Scope of the proofs: depths N = 2 and 3, widths at most 3 (2x2x2, 2x2x2x2, "
           "1x2x3x2); the loss enters only through a matrix of free symbols G = grad L^1(W_e), so "
           "each identity holds for every differentiable L^1 at these sizes. Deeper or wider nets "
           "rest on the paper's index-free argument, which these instances do not replace.")
    s.note("Negative controls: each identity's residual is recomputed by the same function with a "
           "deliberately wrong velocity, constant or exponent, and judged at an exact rational "
           "point, where a false identity leaves a non-zero number.")
