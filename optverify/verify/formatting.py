"""How every report writes a number: one spelling of the non-finite floats, significant digits,
seconds. The JSON, Markdown, HTML and the CLI format numbers here and nowhere else."""

from __future__ import annotations

import math


def non_finite_name(value: float) -> str | None:
    """"nan", "inf" or "-inf" for a non-finite float (JSON has no spelling for them); None for a
    finite one."""
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return None


def number_text(value: float | int, digits: int = 6) -> str:
    """A number in `digits` significant digits (an integer in full); non-finite floats by their
    `non_finite_name`."""
    if isinstance(value, (bool, int)):
        return str(value)
    return non_finite_name(value) or f"{value:.{digits}g}"


def seconds_text(wall_s: float, decimals: int = 2) -> str:
    """A wall time in seconds with `decimals` decimals: "1.25 s"."""
    return f"{wall_s:.{decimals}f} s"
