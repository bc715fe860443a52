"""Run claims: each layer with the run's configuration, timed, errors caught, verdicts combined."""

from __future__ import annotations

import importlib.metadata
import platform
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from optverify.claim import Claim
from optverify.config import RunConfig
from optverify.results import Check, ClaimResult, Environment, Layer, LayerResult, Verdict
from optverify.session import LayerFunction, Progress, no_progress
from optverify.session import run_layer as record_layer
from optverify.verdict import combine

_VERSIONED = ("optverify", "torch", "numpy", "scipy", "sympy", "mpmath")


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in _VERSIONED:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _error_result(layer: Layer, error: BaseException, wall_s: float) -> LayerResult:
    message = f"{type(error).__name__}: {error}"
    where = traceback.extract_tb(error.__traceback__)[-1] if error.__traceback__ else None
    location = f" (at {where.filename}:{where.lineno})" if where else ""
    check = Check(layer, f"{layer.value}-layer", "the layer runs to completion", Verdict.ERROR,
                  detail=message + location)
    return LayerResult(layer, checks=(check,), wall_s=wall_s, error=message)


def run_layer(claim: Claim, layer: Layer, function: LayerFunction, config: RunConfig,
              progress: Progress) -> LayerResult:
    """Run one layer on a fresh session; an exception becomes an `error` result with its message."""
    start = time.perf_counter()
    try:
        result = record_layer(function, layer, config, claim_bound=claim.bound, progress=progress)
    except Exception as error:  # a failing claim is reported, and the run goes on
        return _error_result(layer, error, time.perf_counter() - start)
    return replace(result, wall_s=time.perf_counter() - start)


def run_claim(
    claim: Claim,
    config: RunConfig = RunConfig(),
    progress: Progress = no_progress,
    on_layer: Callable[[Claim, Layer], None] | None = None,
) -> ClaimResult:
    """Run a claim's layers and combine their checks into the claim's verdict."""
    start = time.perf_counter()
    layers = []
    for layer, function in claim.layers():
        if on_layer is not None:
            on_layer(claim, layer)
        layers.append(run_layer(claim, layer, function, config, progress))
    checks = [check for result in layers for check in result.checks]
    environment = Environment(
        seed=config.seed,
        precision_digits=config.precision,
        device=config.device,
        dtype=config.dtype,
        quick=config.quick,
        versions=library_versions(),
        wall_s=time.perf_counter() - start,
    )
    return ClaimResult(
        claim=claim.id,
        title=claim.title,
        source=claim.source.cite(),
        bound=claim.bound.describe(),
        origin=claim.origin,
        assumptions=claim.assumptions,
        verdict=combine(checks),
        layers=tuple(layers),
        environment=environment,
    )


@dataclass(frozen=True)
class RunResult:
    """The results of a run over several claims, in the order they were asked for."""

    config: RunConfig
    claims: tuple[ClaimResult, ...]
    wall_s: float

    @property
    def exit_code(self) -> int:
        """0: none violated or errored; 1: a claim violated; 3: a claim raised an error."""
        verdicts = {result.verdict for result in self.claims}
        if Verdict.VIOLATED in verdicts:
            return 1
        if Verdict.ERROR in verdicts:
            return 3
        return 0


def run(
    claims: Sequence[Claim],
    config: RunConfig = RunConfig(),
    progress: Progress = no_progress,
    on_layer: Callable[[Claim, Layer], None] | None = None,
    on_claim_done: Callable[[ClaimResult], None] | None = None,
) -> RunResult:
    """Run several claims one after the other; `on_claim_done` sees each result as it comes."""
    start = time.perf_counter()
    results = []
    for claim in claims:
        result = run_claim(claim, config, progress, on_layer)
        if on_claim_done is not None:
            on_claim_done(result)
        results.append(result)
    return RunResult(config, tuple(results), time.perf_counter() - start)
