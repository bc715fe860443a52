"""Run claims: each layer with the run's configuration, timed, errors caught, verdicts combined.

Each (claim, layer) is an independent task on a fresh session. An `Executor` runs the tasks: the
default `InProcess` one after the other here; `optverify.verify.parallel.DaskExecutor` as Dask tasks
on a local or remote cluster. Either way every layer runs under the one torch thread policy of
`optverify.numerics.threads`, so the numbers do not depend on where it ran.
"""

from __future__ import annotations

import importlib.metadata
import platform
import sysconfig
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import Protocol

from optverify.claim import Claim
from optverify.config import RunConfig
from optverify.datasets import file_sha256
from optverify.numerics.threads import single_threaded_on_cpu
from optverify.results import (
    Check,
    ClaimResult,
    Environment,
    Layer,
    LayerResult,
    RunResult,
    Verdict,
)
from optverify.session import (
    LayerFunction,
    Mapper,
    Progress,
    map_in_process,
    no_progress,
    record_layer,
)
from optverify.verdict import combine
from optverify.verify.fingerprint import fingerprint

_VERSIONED = ("optverify", "torch", "numpy", "scipy", "sympy", "mpmath")


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in _VERSIONED:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


_PACKAGE = Path(__file__).resolve().parents[1]
_CLAIMS_INSIDE = _PACKAGE / "theorems"
_LIBRARIES = tuple({Path(sysconfig.get_paths()[name]).resolve()
                    for name in ("stdlib", "platstdlib", "purelib", "platlib")})


def is_claim_code(filename: str) -> bool:
    """Whether a traceback's file is a claim's own code: a claim file, or a built-in claim's
    module, rather than the kit (the rest of optverify), the standard library or an installed
    library."""
    path = Path(filename).resolve()
    if path.is_relative_to(_CLAIMS_INSIDE):
        return True
    if path.is_relative_to(_PACKAGE) or filename.startswith("<"):
        return False
    return not any(path.is_relative_to(library) for library in _LIBRARIES)


def error_location(trace: TracebackType | None) -> str:
    """Where an error was raised, as " (at FILE:LINE)": the innermost frame of the claim's code,
    followed by the innermost frame when that is elsewhere (the kit's check that refused the
    claim's data); "" without a traceback."""
    frames = traceback.extract_tb(trace) if trace is not None else []
    if not frames:
        return ""
    innermost = frames[-1]
    claims = [frame for frame in frames if is_claim_code(frame.filename)]
    if not claims or claims[-1] is innermost:
        return f" (at {innermost.filename}:{innermost.lineno})"
    return (f" (at {claims[-1].filename}:{claims[-1].lineno};"
            f" raised in {innermost.filename}:{innermost.lineno})")


def failed_layer(layer: Layer, message: str, wall_s: float) -> LayerResult:
    """A layer that did not run to completion: one `error` check saying why."""
    check = Check(layer, f"{layer.value}-layer", "the layer runs to completion", Verdict.ERROR,
                  detail=message)
    return LayerResult(layer, checks=(check,), wall_s=wall_s, error=message)


def error_result(layer: Layer, error: BaseException, wall_s: float) -> LayerResult:
    """A layer that raised: its `error` check names the error and where the claim's code was."""
    if isinstance(error, SystemExit):
        message = (f"the claim's code called sys.exit({error.code!r}); a layer reports through "
                   "its checks and must not exit")
    else:
        message = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    check_result = failed_layer(layer, message + error_location(error.__traceback__), wall_s)
    return replace(check_result, error=message)


def run_layer(claim: Claim, layer: Layer, function: LayerFunction, config: RunConfig,
              progress: Progress, mapper: Mapper = map_in_process) -> LayerResult:
    """Run one layer on a fresh session under the run's thread policy; an exception (or an exit
    the layer asked for, sys.exit) becomes an `error` result with its message."""
    start = time.perf_counter()
    try:
        with single_threaded_on_cpu(config.device):
            result = record_layer(function, layer, config, claim_bound=claim.bound,
                                  progress=progress, mapper=mapper)
    except (Exception, SystemExit) as error:  # a failing claim is reported, and the run goes on
        return error_result(layer, error, time.perf_counter() - start)
    return replace(result, wall_s=time.perf_counter() - start)


def run_claim(
    claim: Claim,
    config: RunConfig = RunConfig(),
    progress: Progress = no_progress,
    on_layer: Callable[[Claim, Layer], None] | None = None,
) -> ClaimResult:
    """Run one claim's layers in this process and combine their checks into the claim's verdict
    (`run` on this one claim)."""
    return run([claim], config, progress, on_layer).claims[0]


def claim_result(claim: Claim, layers: tuple[LayerResult, ...], config: RunConfig,
                 wall_s: float) -> ClaimResult:
    """A claim's result from its layers' results, in the claim's layer order."""
    checks = [check for result in layers for check in result.checks]
    environment = Environment(
        seed=config.seed,
        precision_digits=config.precision,
        device=config.device,
        dtype=config.dtype,
        quick=config.quick,
        versions=library_versions(),
        wall_s=wall_s,
        scale=config.scale,
        data=tuple((name, path, file_sha256(Path(path))) for name, path in config.data),
        rigorous=config.rigorous,
    )
    return ClaimResult(
        claim=claim.id,
        title=claim.title,
        source=claim.source.cite(),
        bound=claim.bound.describe(),
        origin=claim.origin,
        assumptions=claim.assumptions,
        verdict=combine(checks),
        layers=layers,
        environment=environment,
        claim_source=fingerprint(claim),
    )


class Executor(Protocol):
    """Runs every (claim, layer) task of a run and yields `(claim index, layer, result)` as each
    one finishes, in any order."""

    def layers(self, claims: Sequence[Claim], config: RunConfig
               ) -> Iterator[tuple[int, Layer, LayerResult]]: ...


@dataclass(frozen=True)
class InProcess:
    """The default executor: the layers one after the other in this process, with the progress
    display around each layer's inner loops and `on_layer` told as each layer starts."""

    progress: Progress = no_progress
    on_layer: Callable[[Claim, Layer], None] | None = None

    def layers(self, claims: Sequence[Claim], config: RunConfig
               ) -> Iterator[tuple[int, Layer, LayerResult]]:
        for index, claim in enumerate(claims):
            for layer, function in claim.layers():
                if self.on_layer is not None:
                    self.on_layer(claim, layer)
                yield index, layer, run_layer(claim, layer, function, config, self.progress)


def run(
    claims: Sequence[Claim],
    config: RunConfig = RunConfig(),
    progress: Progress = no_progress,
    on_layer: Callable[[Claim, Layer], None] | None = None,
    on_claim_done: Callable[[ClaimResult], None] | None = None,
    *,
    executor: Executor | None = None,
    on_layer_done: Callable[[Claim, Layer], None] | None = None,
) -> RunResult:
    """Run several claims, in this process one after the other (`progress` and `on_layer` apply
    there) or on `executor`. `on_layer_done` sees each finished layer; `on_claim_done` sees each
    claim's result as soon as all its layers are done. The results are in the order asked for;
    a claim's wall time is the sum of its layers'."""
    start = time.perf_counter()
    executor = executor or InProcess(progress, on_layer)
    finished: list[dict[Layer, LayerResult]] = [{} for _ in claims]
    results: dict[int, ClaimResult] = {}
    for index, layer, layer_result in executor.layers(claims, config):
        claim = claims[index]
        finished[index][layer] = layer_result
        if on_layer_done is not None:
            on_layer_done(claim, layer)
        if len(finished[index]) < len(claim.layers()):
            continue
        layers = tuple(finished[index][each] for each, _ in claim.layers())
        results[index] = claim_result(claim, layers, config, sum(each.wall_s for each in layers))
        if on_claim_done is not None:
            on_claim_done(results[index])
    return RunResult(config, tuple(results[index] for index in range(len(claims))),
                     time.perf_counter() - start)
