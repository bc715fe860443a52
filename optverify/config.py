"""How a run is configured: mpmath digits, torch device and dtype, master seed, scale (quick, full
or paper) and the user's copies of public data sets."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

MIN_PRECISION_DIGITS = 10
MAX_PRECISION_DIGITS = 2000

SCALES = ("quick", "full", "paper")
"""quick: seconds per claim; full: the 2-core run within 10 minutes; paper: each claim at its
paper's own sizes (a GPU or a cluster; issue 20 item 2)."""


@dataclass(frozen=True)
class RunSettings:
    """The settings a run's numbers depend on, as every report and message states them: one
    wording, `str(settings)` ("seed 0, precision 50 digits, device cpu, dtype float64, scale
    quick"), or label by label (`items()`, for a table)."""

    seed: int
    precision_digits: int
    device: str
    dtype: str
    scale: str
    rigorous: bool = False

    def items(self) -> tuple[tuple[str, str], ...]:
        """(label, text) per setting, in the order they are stated; "margins certified" only in
        a `--rigorous` run."""
        stated = (("seed", str(self.seed)), ("precision", f"{self.precision_digits} digits"),
                  ("device", self.device), ("dtype", self.dtype), ("scale", self.scale))
        return stated + ((("margins", "certified"),) if self.rigorous else ())

    def __str__(self) -> str:
        return ", ".join(f"{label} {text}" for label, text in self.items())


@dataclass(frozen=True, init=False)
class RunConfig:
    """How to run the claims: mpmath digits, torch device and dtype, master seed, scale, data.

    scale: 'quick', 'full' or 'paper' (`quick=True` is a shortcut for scale='quick').
    data: (name, path) pairs, the user's copies of public data sets that cannot ship
        (`verify --data NAME=PATH`); a claim without one uses its generated stand-in.
    rigorous: re-evaluate the numeric layers' inequalities that carry an exact margin
        (`s.inequality(..., exact=(margin, instance))`) in ball or rational arithmetic
        (`verify --rigorous`; optverify.numerics.ball)."""

    precision: int
    device: str
    seed: int
    scale: str
    dtype: str
    data: tuple[tuple[str, str], ...]
    rigorous: bool

    def __init__(self, precision: int = 50, device: str = "cpu", seed: int = 0,
                 scale: str | None = None, dtype: str = "float64",
                 data: tuple[tuple[str, str], ...] = (), *, quick: bool | None = None,
                 rigorous: bool = False) -> None:
        if quick is not None and scale is not None and (scale == "quick") != quick:
            raise ValueError(f"quick={quick} contradicts scale={scale!r}")
        chosen = scale if scale is not None else ("quick" if quick else "full")
        if chosen not in SCALES:
            raise ValueError(f"scale must be one of {', '.join(SCALES)}, got {chosen!r}")
        if not MIN_PRECISION_DIGITS <= precision <= MAX_PRECISION_DIGITS:
            raise ValueError(
                f"precision must be between {MIN_PRECISION_DIGITS} and {MAX_PRECISION_DIGITS} "
                f"digits, got {precision}"
            )
        if seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed}")
        if dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be float32 or float64, got {dtype!r}")
        pairs = tuple((str(name), str(path)) for name, path in data)
        names = [name for name, _ in pairs]
        if len(set(names)) != len(names):
            raise ValueError(f"a data set is given twice: {', '.join(sorted(names))}")
        for field_name, value in (("precision", precision), ("device", device), ("seed", seed),
                                  ("scale", chosen), ("dtype", dtype), ("data", pairs),
                                  ("rigorous", bool(rigorous))):
            object.__setattr__(self, field_name, value)

    @property
    def quick(self) -> bool:
        return self.scale == "quick"

    @property
    def settings(self) -> RunSettings:
        return RunSettings(self.seed, self.precision, self.device, self.dtype, self.scale,
                           self.rigorous)

    def data_path(self, name: str) -> Path | None:
        """The user's copy of data set `name`, or None (the claim's generated stand-in)."""
        return next((Path(path) for given, path in self.data if given == name), None)

    def seed_for(self, purpose: str) -> int:
        """A seed derived from the master seed and a purpose name ('init', 'data', ...)."""
        return (self.seed * 1_000_003 + zlib.crc32(purpose.encode())) % 2**63

    def torch_generator(self, purpose: str) -> torch.Generator:
        import torch

        return torch.Generator(device=self.device).manual_seed(self.seed_for(purpose))

    def numpy_rng(self, purpose: str) -> np.random.Generator:
        return np.random.default_rng(self.seed_for(purpose))

    @property
    def torch_dtype(self) -> torch.dtype:
        import torch

        return getattr(torch, self.dtype)

    def as_dict(self) -> dict:
        """The fields, and `quick` for readers of reports from before the paper scale."""
        return {"precision": self.precision, "device": self.device, "seed": self.seed,
                "scale": self.scale, "quick": self.quick, "dtype": self.dtype, "data": self.data,
                "rigorous": self.rigorous}
