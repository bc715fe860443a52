"""The UCI Ethanol regression set of Arora, Cohen, Hazan (ICML 2018, Sec. 8): the Ethanol part of
the UCI "Gas Sensor Array Drift Dataset at Different Concentrations" (Vergara et al. 2012),
2565 recordings of 128 sensor features, regressed onto the gas concentration. It cannot ship with
the package; `verify --data uci-ethanol=PATH` passes the user's copy, the generated ethanol-like
stand-in (`data.ethanol_like`) stays the default."""

from __future__ import annotations

from optverify.kit import DataSet

UCI_ETHANOL = DataSet(
    name="uci-ethanol",
    description="UCI Gas Sensor Array Drift at Different Concentrations, Ethanol recordings: a "
                "comma- or whitespace-separated numeric table, one recording a row, the 128 "
                "features then the concentration",
    rows=2565,
    columns=129,
    sha256=None,
)
"""The canonical file's SHA-256 is not known here (the UCI archive ships the batches in libsvm
format, not this table): only the shape is checked, and the report records the user's file's
hash."""
