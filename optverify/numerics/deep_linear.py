"""Deep linear networks: balanced initialization, end-to-end products, layer gradients, GD steps.

Notation of Arora, Cohen, Hazan (2018), arXiv:1802.06509, and Arora, Cohen, Golowich, Hu (2019),
arXiv:1810.02281: factors W_1..W_N, layer j of shape d_j x d_{j-1}, end-to-end W_e = W_N ... W_1,
dL^N/dW_j = (W_N...W_{j+1})^T grad L^1(W_e) (W_{j-1}...W_1)^T, balancedness gaps
C_j = W_{j+1}^T W_{j+1} - W_j W_j^T. Torch functions accept leading batch dimensions, so many
random instances run in one tensor program; the `_mp` functions are their mpmath twins and the
`_symbolic` functions their sympy twins (exact products of symbolic factors).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import reduce

import mpmath
import sympy
import torch
from mpmath import mp

from optverify.numerics.mp_linalg import product, svd

Factors = list[torch.Tensor]


def _check_widths(target_shape: tuple[int, int], hidden_widths: Sequence[int]) -> None:
    if not hidden_widths:
        raise ValueError("a deep linear network needs depth N >= 2 (at least one hidden width)")
    rank = min(target_shape)
    if any(width < rank for width in hidden_widths):
        raise ValueError(
            f"hidden widths {list(hidden_widths)} must be at least min(d_0, d_N) = {rank}"
        )


def _row_svd(target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The thin SVD of a batch of 1 x d rows in closed form: u = 1, s = ||a||, v^T = a / ||a||
    (e_1 for a zero row), without a LAPACK call per row."""
    norms = torch.linalg.vector_norm(target, dim=-1, keepdim=True)
    first = torch.zeros_like(target)
    first[..., 0] = 1.0
    direction = torch.where(norms > 0, target / torch.where(norms > 0, norms, 1.0), first)
    return torch.ones_like(norms), norms[..., 0], direction


def balanced_factors(target: torch.Tensor, hidden_widths: Sequence[int]) -> Factors:
    """Procedure 1 of Arora et al. (2019): exactly balanced factors with product `target`.

    target: (..., d_N, d_0). With A = U S V^T and m = min(d_0, d_N): W_1 = S^{1/N} V^T,
    W_j = S^{1/N} (j = 2..N-1), W_N = U S^{1/N}, each zero-padded to the hidden widths.
    Depth N = len(hidden_widths) + 1.
    """
    *batch, rows, cols = target.shape
    _check_widths((rows, cols), hidden_widths)
    depth = len(hidden_widths) + 1
    u, s, vh = _row_svd(target) if rows == 1 else torch.linalg.svd(target, full_matrices=False)
    root = torch.diag_embed(s ** (1.0 / depth))
    rank = s.shape[-1]
    widths = [cols, *hidden_widths, rows]
    factors = []
    for j in range(1, depth + 1):
        core = root @ vh if j == 1 else u @ root if j == depth else root
        layer = target.new_zeros(*batch, widths[j], widths[j - 1])
        out_rows = rows if j == depth else rank
        in_cols = cols if j == 1 else rank
        layer[..., :out_rows, :in_cols] = core
        factors.append(layer)
    return factors


def end_to_end(factors: Sequence[torch.Tensor]) -> torch.Tensor:
    """W_e = W_N ... W_1."""
    return reduce(lambda below, layer: layer @ below, factors)


def _prefix_products(factors: Sequence[torch.Tensor]) -> list[torch.Tensor | None]:
    """below[j] = W_{j-1} ... W_1 (None for j = 0, meaning the identity)."""
    below: list[torch.Tensor | None] = [None]
    for layer in factors[:-1]:
        below.append(layer if below[-1] is None else layer @ below[-1])
    return below


def layer_gradients(
    factors: Sequence[torch.Tensor], grad_end_to_end: torch.Tensor
) -> Factors:
    """dL^N/dW_j = (W_N...W_{j+1})^T G (W_{j-1}...W_1)^T for G = grad L^1(W_e)."""
    below = _prefix_products(factors)
    gradients: Factors = [torch.empty(0)] * len(factors)
    upstream = grad_end_to_end  # (W_N ... W_{j+1})^T G
    for j in range(len(factors) - 1, -1, -1):
        gradients[j] = upstream if below[j] is None else upstream @ below[j].mT
        upstream = factors[j].mT @ upstream
    return gradients


def balancedness_gaps(factors: Sequence[torch.Tensor]) -> Factors:
    """C_j = W_{j+1}^T W_{j+1} - W_j W_j^T for j = 1..N-1."""
    return [
        upper.mT @ upper - lower @ lower.mT for lower, upper in zip(factors[:-1], factors[1:])
    ]


def gradient_descent_step(
    factors: Sequence[torch.Tensor],
    grad_loss: Callable[[torch.Tensor], torch.Tensor],
    eta: float | torch.Tensor,
    weight_decay: float | torch.Tensor = 0.0,
) -> Factors:
    """One GD step W_j <- W_j - eta (lambda W_j + dL^N/dW_j) on every layer at once.

    eta and weight_decay are numbers or tensors broadcastable against the factors (one step size
    per batched instance)."""
    for name, value in (("eta", eta), ("weight decay", weight_decay)):
        if not bool(torch.all(torch.as_tensor(value) >= 0)):
            raise ValueError(f"{name} must be non-negative (and not NaN), got {value}")
    gradients = layer_gradients(factors, grad_loss(end_to_end(factors)))
    return [
        layer - eta * (weight_decay * layer + gradient)
        for layer, gradient in zip(factors, gradients)
    ]


def balanced_factors_mp(
    target: mpmath.matrix, hidden_widths: Sequence[int]
) -> list[mpmath.matrix]:
    """Procedure 1 at mpmath precision (see `balanced_factors`)."""
    rows, cols = target.rows, target.cols
    _check_widths((rows, cols), hidden_widths)
    depth = len(hidden_widths) + 1
    u, s, v = svd(target)
    root = mp.diag([value ** (mp.one / depth) for value in s])
    widths = [cols, *hidden_widths, rows]
    factors = []
    for j in range(1, depth + 1):
        core = root * v.T if j == 1 else u * root if j == depth else root
        layer = mp.zeros(widths[j], widths[j - 1])
        for r in range(core.rows):
            for c in range(core.cols):
                layer[r, c] = core[r, c]
        factors.append(layer)
    return factors


def end_to_end_mp(factors: Sequence[mpmath.matrix]) -> mpmath.matrix:
    """The mpmath twin of `end_to_end`."""
    return product(list(factors))


def layer_gradients_mp(
    factors: Sequence[mpmath.matrix], grad_end_to_end: mpmath.matrix
) -> list[mpmath.matrix]:
    """The mpmath twin of `layer_gradients`."""
    depth = len(factors)
    gradients = []
    for j in range(depth):
        above = product(list(factors[j + 1 :]), size=grad_end_to_end.rows)
        below = product(list(factors[:j]), size=factors[0].cols)
        gradients.append(above.T * grad_end_to_end * below.T)
    return gradients


def balancedness_gaps_mp(factors: Sequence[mpmath.matrix]) -> list[mpmath.matrix]:
    """The mpmath twin of `balancedness_gaps`."""
    return [upper.T * upper - lower * lower.T for lower, upper in zip(factors[:-1], factors[1:])]


def end_to_end_symbolic(factors: Sequence[sympy.Matrix], size: int | None = None
                        ) -> sympy.Matrix:
    """W_N ... W_1 of sympy matrices; the identity of `size` for no factor."""
    if not factors:
        if size is None:
            raise ValueError("an empty product needs a size")
        return sympy.eye(size)
    return reduce(lambda below, layer: layer * below, factors)


def layer_gradients_symbolic(
    factors: Sequence[sympy.Matrix], grad_end_to_end: sympy.Matrix
) -> list[sympy.Matrix]:
    """The sympy twin of `layer_gradients`: (W_N...W_{j+1})^T G (W_{j-1}...W_1)^T."""
    rows, cols = grad_end_to_end.shape
    return [end_to_end_symbolic(factors[j + 1 :], rows).T * grad_end_to_end
            * end_to_end_symbolic(factors[:j], cols).T for j in range(len(factors))]


def balancedness_gaps_symbolic(factors: Sequence[sympy.Matrix]) -> list[sympy.Matrix]:
    """The sympy twin of `balancedness_gaps` (the same algebra as `balancedness_gaps_mp`)."""
    return balancedness_gaps_mp(factors)
