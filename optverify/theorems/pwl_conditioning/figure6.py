"""Fig. 6 of Shalev-Shwartz, Shamir, Shammah (2017), arXiv:1703.07950: the curves recovered after a
number of Adam iterations by the fully connected, convolutional and preconditioned learners and by
a deep encoder-decoder network, n = 100, k = 3.

Adam with the authors' learning rates (1e-4 fully connected, 0.05 convolution; the preconditioned
learner uses the convolution's rate, the deep network the fully connected one) on mini-batches of
fresh curves, loss 1/2 sum_t (p_hat_t - p_t)^2 per curve, batch mean. The deep network is the
paper's encoder 500-100-2k (2k = 6 units, two per breakpoint) and decoder 100-100-n, ReLU between
layers, trained by autograd; the three linear learners use their gradients in closed form (one
matrix product each), so a step costs a handful of tensor operations. Reported, not decisive.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from optverify.kit import Panel, Series, Session
from optverify.theorems.pwl_conditioning.config import ExperimentConfig
from optverify.theorems.pwl_conditioning.moments import PAPER_BREAKPOINTS
from optverify.theorems.pwl_conditioning.sampling import (
    curves_from_breakpoints_torch,
    sample_breakpoints_torch,
)

LINEAR_LEARNERS = ("fully-connected", "convolution", "preconditioned")
DEEP_LEARNER = "deep encoder-decoder"
ADAM_LEARNING_RATES = {"fully-connected": 1e-4, "convolution": 0.05, "preconditioned": 0.05,
                       DEEP_LEARNER: 1e-4}
"""The authors' Adam rates (1e-4 fully connected, 0.05 convolution)."""
ENCODER_WIDTHS = (500, 100)
DECODER_WIDTHS = (100, 100)


def deep_network(n: int, k: int, generator: torch.Generator, dtype: torch.dtype,
                 device: str) -> torch.nn.Sequential:
    """n -> 500 -> 100 -> 2k (encoder) -> 100 -> 100 -> n (decoder), ReLU between layers, default
    torch initialization drawn from `generator`."""
    widths = (n, *ENCODER_WIDTHS, 2 * k, *DECODER_WIDTHS, n)
    layers: list[torch.nn.Module] = []
    for index, (fan_in, fan_out) in enumerate(zip(widths[:-1], widths[1:])):
        layer = torch.nn.Linear(fan_in, fan_out, dtype=dtype, device=device)
        bound = 1 / np.sqrt(fan_in)
        with torch.no_grad():
            layer.weight.uniform_(-bound, bound, generator=generator)
            layer.bias.uniform_(-bound, bound, generator=generator)
        layers.append(layer)
        if index < len(widths) - 2:
            layers.append(torch.nn.ReLU())
    return torch.nn.Sequential(*layers)


def _windows(f: torch.Tensor) -> torch.Tensor:
    """(f_{t-2}, f_{t-1}, f_t) stacked on a last axis of 3, zero-padded."""
    padded = torch.nn.functional.pad(f, (2, 0))
    return torch.stack([padded[..., :-2], padded[..., 1:-1], f], -1)


class _Adam:
    """Adam (Kingma & Ba, default betas) on a list of tensors, in place."""

    def __init__(self, parameters: list[torch.Tensor], rate: float, betas=(0.9, 0.999),
                 eps: float = 1e-8):
        self.parameters, self.rate, self.betas, self.eps = parameters, rate, betas, eps
        self.first = [torch.zeros_like(p) for p in parameters]
        self.second = [torch.zeros_like(p) for p in parameters]
        self.count = 0

    def step(self, gradients: list[torch.Tensor]) -> None:
        self.count += 1
        beta1, beta2 = self.betas
        scale = self.rate * np.sqrt(1 - beta2**self.count) / (1 - beta1**self.count)
        for p, g, m, v in zip(self.parameters, gradients, self.first, self.second):
            m.mul_(beta1).add_(g, alpha=1 - beta1)
            v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
            p.addcdiv_(m, v.sqrt().add_(self.eps * np.sqrt(1 - beta2**self.count)), value=-scale)


@dataclass(frozen=True)
class Figure6Result:
    """Per learner and checkpoint: the recovered p of the test curve and the relative test error
    ||p_hat - p|| / ||p|| over the test curves; the test curve's true p."""

    checkpoints: tuple[int, ...]
    learners: tuple[str, ...]
    recovered: dict
    errors: dict
    truth: np.ndarray


def figure6(n: int, checkpoints: tuple[int, ...], deep_checkpoints: tuple[int, ...],
            whitening: torch.Tensor, batch: int, k: int, generator: torch.Generator,
            dtype: torch.dtype, device: str, test_curves: int = 256,
            chunk: int = 200) -> Figure6Result:
    """Adam on the four learners; predictions of the test curves at every checkpoint (the deep
    network only at `deep_checkpoints`, the iterations that fit the run's budget). Mini-batches
    are drawn `chunk` steps at a time."""
    options = {"dtype": dtype, "device": device}
    size = torch.tensor([n], device=device)
    test_p = sample_breakpoints_torch(size, (test_curves,), n, generator, dtype, k)[0]
    test_f = curves_from_breakpoints_torch(test_p)
    dense = torch.zeros(n, n, **options)
    taps = torch.zeros(2, 3, **options)                    # convolution, preconditioned
    whiten = torch.stack([torch.eye(3, **options), whitening.to(**options)])
    dense_adam = _Adam([dense], ADAM_LEARNING_RATES["fully-connected"])
    taps_adam = _Adam([taps], ADAM_LEARNING_RATES["convolution"])
    network = deep_network(n, k, generator, dtype, device)
    deep_adam = torch.optim.Adam(network.parameters(), lr=ADAM_LEARNING_RATES[DEEP_LEARNER])
    recovered, errors = {}, {}

    def whitened(f: torch.Tensor) -> torch.Tensor:
        """(2, ..., n, 3): the raw and the whitened windows."""
        return _windows(f).unsqueeze(0) @ whiten.mT.reshape(2, *([1] * (f.dim() - 1)), 3, 3)

    def predict(f: torch.Tensor) -> dict:
        conv = (whitened(f) * taps.reshape(2, *([1] * f.dim()), 3)).sum(-1)
        return {"fully-connected": f @ dense.T, "convolution": conv[0], "preconditioned": conv[1]}

    def record(stop: int, outputs: dict) -> None:
        for name, output in outputs.items():
            recovered[(name, stop)] = output[0].cpu().numpy()
            errors[(name, stop)] = float((torch.linalg.vector_norm(output - test_p, dim=-1)
                                          / torch.linalg.vector_norm(test_p, dim=-1)).mean())

    linear_last, deep_last = max(checkpoints), max(deep_checkpoints, default=0)
    stops, deep_stops = set(checkpoints), set(deep_checkpoints)
    iteration = 0
    while iteration < max(linear_last, deep_last):
        width = min(chunk, max(linear_last, deep_last) - iteration)
        p_block = sample_breakpoints_torch(size, (width, batch), n, generator, dtype, k)[0]
        f_block = curves_from_breakpoints_torch(p_block)
        windows_block = whitened(f_block) if iteration < linear_last else None
        for index in range(width):
            p, f = p_block[index], f_block[index]
            if iteration < linear_last:
                windows = windows_block[:, index]                           # (2, batch, n, 3)
                residual = f @ dense.T - p
                dense_adam.step([residual.T @ f / batch])
                conv_residual = (windows * taps[:, None, None, :]).sum(-1) - p
                taps_adam.step([torch.einsum("lbt,lbta->la", conv_residual, windows) / batch])
            if iteration < deep_last:
                deep_adam.zero_grad(set_to_none=True)
                loss = 0.5 * ((network(f) - p) ** 2).sum() / batch
                loss.backward()
                deep_adam.step()
            iteration += 1
            if iteration in stops:
                with torch.no_grad():
                    record(iteration, predict(test_f))
            if iteration in deep_stops:
                with torch.no_grad():
                    record(iteration, {DEEP_LEARNER: network(test_f)})
    learners = (*LINEAR_LEARNERS, DEEP_LEARNER) if deep_checkpoints else LINEAR_LEARNERS
    return Figure6Result(tuple(sorted(stops | deep_stops)), learners, recovered, errors,
                         test_p[0].cpu().numpy())


def record_figure6(s: Session, config: ExperimentConfig, whitening: np.ndarray) -> None:
    """Fig. 6's recovered curves per learner and iteration count, reported (not decisive)."""
    n = config.figure_size
    result = figure6(n, config.figure_iterations, config.deep_iterations,
                     torch.tensor(whitening), config.batch, PAPER_BREAKPOINTS,
                     s.generator("figure"), s.torch_dtype, s.device)
    x = tuple(float(v) for v in range(1, n + 1))
    truth = tuple(float(v) for v in result.truth)
    panels = [Panel(f"{learner}, {stop} iterations", "x", "p (breakpoint slopes)",
                    (Series("true p", x, truth, "dashed"),
                     Series("recovered p_hat", x,
                            tuple(float(v) for v in result.recovered[(learner, stop)]), "line")),
                    xscale="linear", yscale="linear")
              for stop in result.checkpoints for learner in result.learners
              if (learner, stop) in result.recovered]
    s.figure("figure6-reproduction", f"Fig. 6 reproduction: n = {n}, k = 3, Adam (authors' "
             f"rates); {config.figure_mode}", panels, columns=len(result.learners))
    s.table("figure6-errors", "Fig. 6: mean relative error ||p_hat - p|| / ||p|| over 256 test "
            f"curves after each number of Adam iterations ({config.figure_mode})",
            ("learner", "iterations", "relative error"),
            ((learner, stop, f"{error:.4g}") for (learner, stop), error in
             sorted(result.errors.items(), key=lambda item: (item[0][0], item[0][1]))))
    s.note(f"Fig. 6: {config.figure_mode}. The deep network is read as encoder n-500-100-2k "
           "(2k = 6) and decoder 100-100-n with ReLU, trained on the same loss as the linear "
           "learners (p_hat against p).")
