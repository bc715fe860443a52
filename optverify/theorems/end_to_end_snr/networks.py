"""Setting I's networks (Shalev-Shwartz, Shamir, Shammah 2017, arXiv:1703.07950, Section 3, Fig. 5)
as pure functions of parameter dicts, so torch.func can batch per-example gradients (vmap + grad)
and stack models across seeds.

N1, a small LeNet-like CNN, one score per 28 x 28 image: conv 5x5 stride 2 (1 -> 8 channels), ReLU,
conv 3x3 (8 -> 16), ReLU, max-pool 2 (-> 16 x 5 x 5), dense 400 -> 32, ReLU ("the features"),
dense 32 -> 1 (the score; "N1's last layer" is its weight vector w, 32 entries). N2 over the k
sigmoid scores: dense k -> 100, ReLU, dense 100 -> 1. Weights N(0, 1/fan_in), biases 0. Losses
are hinges: the tuple loss max(0, 1 - Y N2), the per-image loss max(0, 1 - y_i s_i).
End-to-end objective: the tuple loss. Decomposition objective: the tuple loss plus the mean
per-image loss over the k images of the tuple.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from optverify.numerics.validation import require_int

FEATURES = 32
HIDDEN = 100
TRUNK_SHAPES = {"conv1": (8, 1, 5, 5), "conv2": (16, 8, 3, 3), "dense": (FEATURES, 400)}
"""Weight shapes of N1 below its last layer (each with a bias of the first size)."""


def _normal(shape, generator, dtype, device) -> torch.Tensor:
    fan_in = 1
    for size in shape[1:]:
        fan_in *= size
    return torch.randn(shape, generator=generator, dtype=dtype, device=device) / fan_in**0.5


def init_n1(generator: torch.Generator, dtype: torch.dtype, device="cpu") -> dict:
    params = {}
    for name, shape in TRUNK_SHAPES.items():
        params[f"{name}.w"] = _normal(shape, generator, dtype, device)
        params[f"{name}.b"] = torch.zeros(shape[0], dtype=dtype, device=device)
    params["score.w"] = _normal((1, FEATURES), generator, dtype, device)[0]
    params["score.b"] = torch.zeros((), dtype=dtype, device=device)
    return params


def init_n2(k: int, generator: torch.Generator, dtype: torch.dtype, device="cpu") -> dict:
    require_int("the images per tuple k", k, minimum=1)
    return {"hidden.w": _normal((HIDDEN, k), generator, dtype, device),
            "hidden.b": torch.zeros(HIDDEN, dtype=dtype, device=device),
            "out.w": _normal((1, HIDDEN), generator, dtype, device)[0],
            "out.b": torch.zeros((), dtype=dtype, device=device)}


def features(n1: dict, images: torch.Tensor) -> torch.Tensor:
    """N1 below its last layer: images (..., 28, 28) -> features (..., 32)."""
    lead = images.shape[:-2]
    x = images.reshape(-1, 1, 28, 28)
    x = torch.relu(F.conv2d(x, n1["conv1.w"], n1["conv1.b"], stride=2))
    x = torch.relu(F.conv2d(x, n1["conv2.w"], n1["conv2.b"]))
    x = F.max_pool2d(x, 2).flatten(1)
    x = torch.relu(x @ n1["dense.w"].T + n1["dense.b"])
    return x.reshape(*lead, FEATURES)


def scores(n1: dict, feats: torch.Tensor) -> torch.Tensor:
    return feats @ n1["score.w"] + n1["score.b"]


def n2_output(n2: dict, tuple_scores: torch.Tensor) -> torch.Tensor:
    """N2 on the sigmoid of the k scores (last axis)."""
    hidden = torch.relu(torch.sigmoid(tuple_scores) @ n2["hidden.w"].T + n2["hidden.b"])
    return hidden @ n2["out.w"] + n2["out.b"]


def hinge(margin: torch.Tensor) -> torch.Tensor:
    return torch.relu(1 - margin)


def tuple_loss(score_w, score_b, n2, feats, tuple_label) -> torch.Tensor:
    """The end-to-end loss of one tuple (feats: k x 32) as a function of N1's last layer."""
    return hinge(tuple_label * n2_output(n2, feats @ score_w + score_b))


def decomposition_loss(score_w, score_b, n2, feats, image_labels) -> torch.Tensor:
    """The tuple loss plus the mean per-image hinge loss on N1's scores."""
    tuple_scores = feats @ score_w + score_b
    label = image_labels.prod()
    return (hinge(label * n2_output(n2, tuple_scores))
            + hinge(image_labels * tuple_scores).mean())


def end_to_end_loss(score_w, score_b, n2, feats, image_labels) -> torch.Tensor:
    return tuple_loss(score_w, score_b, n2, feats, image_labels.prod())


LOSSES = {"end-to-end": end_to_end_loss, "decomposition": decomposition_loss}


def last_layer_gradients(approach: str, n1: dict, n2: dict, feats: torch.Tensor,
                         image_labels: torch.Tensor) -> torch.Tensor:
    """Per-tuple gradients of the approach's loss w.r.t. N1's last-layer weights w, batched by
    torch.func (vmap over the leading axes of feats (..., k, 32) and image_labels (..., k))."""
    from torch.func import grad, vmap

    gradient = grad(LOSSES[approach])
    lead = feats.shape[:-2]
    flat_feats = feats.reshape(-1, *feats.shape[-2:])
    flat_labels = image_labels.reshape(-1, image_labels.shape[-1])
    batched = vmap(gradient, in_dims=(None, None, None, 0, 0))
    g = batched(n1["score.w"], n1["score.b"], n2, flat_feats, flat_labels)
    return g.reshape(*lead, FEATURES)


def closed_form_last_layer_gradients(approach: str, n1: dict, n2: dict, feats: torch.Tensor,
                                     image_labels: torch.Tensor) -> torch.Tensor:
    """The same gradients as `last_layer_gradients`, written out by the chain rule (no autograd),
    for millions of tuples at once: with s_j = w . f_j + b, u_j = sigmoid(s_j), a = W_h u + b_h,
    N = w_o . relu(a) + b_o and Y the tuple label, the tuple hinge gives
    -Y 1[Y N < 1] sum_j (sum_h w_o,h 1[a_h > 0] W_h,j) u_j (1 - u_j) f_j, and the decomposition
    adds -(1/k) sum_j y_j 1[y_j s_j < 1] f_j (torch's convention: relu' = 0 at 0)."""
    if approach not in LOSSES:
        raise ValueError(f"unknown approach {approach!r}; expected one of {sorted(LOSSES)}")
    tuple_scores = feats @ n1["score.w"] + n1["score.b"]
    u = torch.sigmoid(tuple_scores)
    pre = u @ n2["hidden.w"].T + n2["hidden.b"]
    output = torch.relu(pre) @ n2["out.w"] + n2["out.b"]
    label = image_labels.prod(dim=-1)
    outer = -label * (label * output < 1).to(feats.dtype)
    through = ((pre > 0).to(feats.dtype) * n2["out.w"]) @ n2["hidden.w"]
    gradient = ((outer[..., None] * through * u * (1 - u))[..., None] * feats).sum(dim=-2)
    if approach == "decomposition":
        per_image = image_labels * (image_labels * tuple_scores < 1).to(feats.dtype)
        gradient = gradient - (per_image[..., None] * feats).mean(dim=-2)
    return gradient


def pair_output_bound(n2: dict, low: float, high: float) -> float:
    """max |N2(u_1, u_2)| over the box [low, high]^2 (k = 2), exactly: N2 is piecewise linear, so
    the maximum lies at a vertex of its linear pieces inside the box (a corner, a kink line
    W_h u + b_h = 0 crossing an edge, or two kink lines crossing)."""
    weights, bias = n2["hidden.w"], n2["hidden.b"]
    if weights.shape[1] != 2:
        raise ValueError(f"pair_output_bound needs N2 of a pair (k = 2), got k = "
                         f"{weights.shape[1]}")
    corners = torch.tensor([[low, low], [low, high], [high, low], [high, high]],
                           dtype=weights.dtype, device=weights.device)
    points = [corners]
    for fixed in (0, 1):
        for edge in (low, high):
            on_edge = torch.full((weights.shape[0], 2), edge, dtype=weights.dtype,
                                 device=weights.device)
            on_edge[:, 1 - fixed] = -(weights[:, fixed] * edge + bias) / weights[:, 1 - fixed]
            points.append(on_edge)
    hidden = weights.shape[0]
    systems = torch.stack([weights[:, None, :].expand(-1, hidden, -1),
                           weights[None].expand(hidden, -1, -1)], dim=2)
    sides = -torch.stack([bias[:, None].expand(-1, hidden), bias[None].expand(hidden, -1)], -1)
    solvable = torch.linalg.det(systems).abs() > 1e-12
    points.append(torch.linalg.solve(systems[solvable], sides[solvable]))
    candidates = torch.cat(points)
    candidates = candidates[((candidates >= low) & (candidates <= high)).all(dim=1)]
    outputs = torch.relu(candidates @ weights.T + bias) @ n2["out.w"] + n2["out.b"]
    return float(outputs.abs().max())


def tuple_predictions(n1: dict, n2: dict, images: torch.Tensor) -> torch.Tensor:
    """sign(N2(N1(x_1..x_k))) for images (n, k, 28, 28)."""
    out = n2_output(n2, scores(n1, features(n1, images)))
    return torch.where(out >= 0, 1.0, -1.0)
