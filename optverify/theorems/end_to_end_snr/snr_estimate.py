"""The SNR of a stochastic gradient, SNR = ||E g||^2 / E||g - E g||^2 (Shalev-Shwartz, Shamir,
Shammah 2017, arXiv:1703.07950, Section 3), estimated from samples without the bias of the plug-in.

The plug-in ||mean g||^2 over n samples overestimates ||E g||^2 by tr(Cov g)/n, which swamps a
small signal; the U-statistic (||sum_t a_t||^2 - sum_t ||a_t||^2) / (n (n - 1)) over iid a_t with
E a_t = E g is unbiased, with variance 4 mu^T S mu / n + 2 tr(S^2) / n^2 + O(n^-3) (S = Cov a_t),
estimated by plug-in. a_t here is the antithetic mean over the 2^k mirror patterns of tuple t
(each pattern is a tuple of the same distribution; `line_images.mirror`), which keeps E a_t = E g
and cancels the part of g that does not depend on the labels. E||g - E g||^2 = E||g||^2 -
||E g||^2, E||g||^2 the mean over every pattern's gradient.

The authors' script instead computes Noise = E||g||^2 - S^2 with S = ||mean g||^2 already a
squared norm (the square of a squared norm subtracted): `authors_snr`, kept only as the negative
control of the estimator check.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import torch

from optverify.numerics.validation import require_finite
from optverify.theorems.end_to_end_snr.networks import (
    closed_form_last_layer_gradients,
    last_layer_gradients,
    pair_output_bound,
)


def mirror_patterns(k: int) -> torch.Tensor:
    """All 2^k patterns in {0, 1}^k (1: the image is mirrored), as a long tensor (2^k, k)."""
    return torch.tensor(list(itertools.product((0, 1), repeat=k)), dtype=torch.long)


def antithetic_gradients(approach: str, n1: dict, n2: dict, pair_features: torch.Tensor,
                         image_labels: torch.Tensor) -> torch.Tensor:
    """Gradients (n, 2^k, 32) of every mirror pattern of n tuples: pair_features (n, k, 2, 32)
    holds each image's features and its mirror's, image_labels (n, k) the unmirrored labels."""
    n, k = image_labels.shape
    patterns = mirror_patterns(k).to(pair_features.device)
    index = patterns[None, :, :, None, None].expand(n, -1, -1, 1, pair_features.shape[-1])
    chosen = torch.gather(pair_features[:, None].expand(-1, patterns.shape[0], -1, -1, -1), 3,
                          index).squeeze(3)
    signs = (1 - 2 * patterns).to(image_labels.dtype)
    labels = image_labels[:, None, :] * signs[None]
    return last_layer_gradients(approach, n1, n2, chosen, labels)


@dataclass(frozen=True)
class SnrEstimate:
    """||E g||^2 (unbiased) with its standard error, E||g||^2, and the SNR with its standard
    error (the signal's, divided by the noise), from `samples` tuples."""

    signal: float
    signal_stderr: float
    second_moment: float
    samples: int

    @property
    def noise(self) -> float:
        return self.second_moment - max(self.signal, 0.0)

    @property
    def snr(self) -> float:
        return self.signal / self.noise

    @property
    def snr_stderr(self) -> float:
        return self.signal_stderr / self.noise


def unbiased_signal(means: torch.Tensor) -> tuple[float, float]:
    """||E a||^2 from n iid vectors a_t (means (n, d)) by the U-statistic, and its standard error
    (plug-in of 4 mu^T S mu / n + 2 tr(S^2) / n^2)."""
    n = means.shape[0]
    total = means.sum(dim=0)
    signal = ((total @ total) - (means * means).sum()) / (n * (n - 1))
    mu = means.mean(dim=0)
    centred = means - mu
    covariance = centred.T @ centred / (n - 1)
    variance = 4 * (mu @ covariance @ mu) / n + 2 * (covariance * covariance).sum() / n**2
    return float(signal), float(variance.clamp(min=0).sqrt())


def estimate_snr(gradients: torch.Tensor) -> SnrEstimate:
    """From gradients (n, m, d): n iid tuples, m exchangeable patterns each (m = 1: plain samples).
    Computed in the gradients' dtype; only the final scalars become Python floats."""
    if gradients.dim() != 3 or gradients.shape[0] < 2:
        raise ValueError("estimate_snr needs gradients of shape (n >= 2, m, d)")
    require_finite("the gradients", gradients)
    signal, stderr = unbiased_signal(gradients.mean(dim=1))
    second = (gradients * gradients).sum(dim=-1).mean()
    return SnrEstimate(signal, stderr, float(second), gradients.shape[0])


CHUNK_ELEMENTS = 2**23
"""Feature entries gathered per chunk of blocks (64 MiB in float64): bounds the memory of
`block_estimate` whatever the block size."""


def block_estimate(approach: str, n1: dict, n2: dict, pair_features: torch.Tensor,
                   image_labels: torch.Tensor, k: int, block: int) -> SnrEstimate:
    """The SNR from a pool of images cut into blocks of `block`: per block the mean gradient over
    every k-subset of its images (in index order) and every 2^k mirror pattern, an unbiased
    estimate of E g (a U-statistic over distinct iid images, Hoeffding 1948) whose variance falls
    like block^-k where the gradient's lower-order projections vanish (the end-to-end mixed
    differences), against block^-1 for disjoint tuples; ||E g||^2 by the U-statistic over the
    independent blocks, E||g||^2 the mean over every (subset, pattern). block = k: disjoint
    tuples, `estimate_snr` of `antithetic_gradients`. pair_features (n, 2, d): each image's
    features and its mirror's; image_labels (n,) the unmirrored labels."""
    if not 1 <= k <= block or pair_features.shape[0] < 2 * block:
        raise ValueError("block_estimate needs 1 <= k <= block and at least two blocks")
    blocks = pair_features.shape[0] // block
    dimension = pair_features.shape[-1]
    subsets = torch.combinations(torch.arange(block, device=pair_features.device), k)
    patterns = mirror_patterns(k).to(pair_features.device)
    signs = (1 - 2 * patterns).to(image_labels.dtype)
    positions = torch.arange(k, device=pair_features.device)
    features = pair_features[:blocks * block].reshape(blocks, block, 2, dimension)
    labels = image_labels[:blocks * block].reshape(blocks, block)
    chunk = max(1, CHUNK_ELEMENTS // (subsets.shape[0] * patterns.shape[0] * k * dimension))
    means, squares = [], []
    for start in range(0, blocks, chunk):
        chosen = features[start:start + chunk][:, subsets][:, :, positions, patterns]
        tuple_labels = labels[start:start + chunk][:, subsets][:, :, None, :] * signs
        gradients = closed_form_last_layer_gradients(approach, n1, n2, chosen, tuple_labels)
        means.append(gradients.mean(dim=(1, 2)))
        squares.append((gradients * gradients).sum(dim=-1).mean(dim=(1, 2)))
    means = torch.cat(means)
    if not bool(torch.isfinite(means).all()):
        raise ValueError("gradients must be finite")
    signal, stderr = unbiased_signal(means)
    return SnrEstimate(signal, stderr, float(torch.cat(squares).mean()), blocks)


def _pair_threshold_sums(weights, bias, u, labels, first: int) -> torch.Tensor:
    """(H, V): for hidden unit h and view p at position `first`, sum over the views q of other
    orbits (views 2a, 2a + 1 form orbit a) of y_q 1[W_h,first u_p + W_h,second u_q + b_h > 0],
    by sorting W_h,second u_q and suffix sums of the labels."""
    second = 1 - first
    values = weights[:, second:second + 1] * u[None]
    order = torch.argsort(values, dim=1)
    suffix = labels[order].flip(1).cumsum(1).flip(1)
    suffix = torch.cat([suffix, torch.zeros_like(suffix[:, :1])], dim=1)
    shift = weights[:, first:first + 1] * u[None] + bias[:, None]
    above = torch.gather(suffix, 1, torch.searchsorted(torch.gather(values, 1, order), -shift,
                                                       right=True))
    mirror = torch.arange(u.shape[0], device=u.device) ^ 1
    own = (labels[None] * (shift + values > 0) + labels[mirror][None]
           * (shift + values[:, mirror] > 0))
    return above - own


def exact_pair_mean(n1: dict, n2: dict, pair_features: torch.Tensor,
                    image_labels: torch.Tensor) -> torch.Tensor:
    """The end-to-end gradient (k = 2) averaged over every ordered pair of distinct images of the
    pool and every mirror pattern, exactly, in O(H V log V) for V = 2n views instead of O(V^2 H):
    with the tuple hinge active on every pair (1[Y N < 1] = 1, which `pair_output_bound` < 1
    guarantees), g = -y_p y_q sum_j c_j sigma'(s_j) f_j with c_j a sum over the hidden units of
    w_o,h W_h,j 1[W_h u_p + b_h > 0] (u = (u_p, u_q)), so the pair sum is a sum of threshold counts
    of the labels."""
    n = pair_features.shape[0]
    features = pair_features.reshape(2 * n, -1)
    labels = torch.stack([image_labels, -image_labels], dim=1).reshape(-1)
    u = torch.sigmoid(features @ n1["score.w"] + n1["score.b"])
    weights, bias, out = n2["hidden.w"], n2["hidden.b"], n2["out.w"]
    total = torch.zeros_like(features[0])
    for position in (0, 1):
        sums = _pair_threshold_sums(weights, bias, u, labels, position)
        through = (out[:, None] * weights[:, position:position + 1] * sums).sum(dim=0)
        total = total - ((labels * u * (1 - u) * through)[:, None] * features).sum(dim=0)
    return total / (2 * n * (2 * n - 2))


def exact_pair_estimate(n1: dict, n2: dict, pair_features: torch.Tensor,
                        image_labels: torch.Tensor, groups: int) -> SnrEstimate | None:
    """The end-to-end SNR at k = 2 from `groups` disjoint groups of the pool (images i, i + groups,
    ...), each averaged exactly over its pairs (`exact_pair_mean`, a U-statistic of the group);
    ||E g||^2 by the U-statistic over the groups, E||g||^2 from disjoint tuples. None where the
    hinge is not active on every pair (max |N2| over the pool's box of scores reaches 1)."""
    u = torch.sigmoid(pair_features @ n1["score.w"] + n1["score.b"])
    if pair_output_bound(n2, float(u.min()), float(u.max())) >= 1:
        return None
    means = torch.stack([exact_pair_mean(n1, n2, pair_features[g::groups],
                                         image_labels[g::groups]) for g in range(groups)])
    signal, stderr = unbiased_signal(means)
    second = block_estimate("end-to-end", n1, n2, pair_features, image_labels, 2, 2)
    return SnrEstimate(signal, stderr, second.second_moment, groups)


def plain_snr(gradients: torch.Tensor) -> float:
    """||mean g||^2 / mean ||g - mean g||^2 over samples g (n, d): the plug-in of the definition,
    compared against the loop-based twin."""
    mean = gradients.mean(dim=0)
    return float((mean @ mean) / ((gradients - mean) ** 2).sum(dim=1).mean())


def authors_snr(gradients: torch.Tensor) -> float:
    """The authors' script's SNR, S / (E||g||^2 - S^2) with S = ||mean g||^2: subtracting the
    square of a squared norm (a wrong formula; the negative control of the estimator check)."""
    mean = gradients.mean(dim=0)
    signal = mean @ mean
    return float(signal / ((gradients * gradients).sum(dim=1).mean() - signal**2))


def loop_last_layer_gradients(approach: str, n1: dict, n2: dict, images: torch.Tensor,
                              image_labels: torch.Tensor) -> torch.Tensor:
    """The independent twin of `networks.last_layer_gradients`: one tuple at a time, autograd
    through the whole network from its images (n, k, 28, 28), no torch.func."""
    from optverify.theorems.end_to_end_snr import networks

    rows = []
    for x, y in zip(images, image_labels):
        weights = n1["score.w"].detach().clone().requires_grad_(True)
        params = {**n1, "score.w": weights}
        tuple_scores = networks.scores(params, networks.features(params, x))
        loss = networks.hinge(y.prod() * networks.n2_output(n2, tuple_scores))
        if approach == "decomposition":
            loss = loss + networks.hinge(y * tuple_scores).mean()
        rows.append(torch.autograd.grad(loss, weights)[0])
    return torch.stack(rows)
