"""The UCI Ethanol regression set of Arora, Cohen, Hazan (ICML 2018, Sec. 8): the Ethanol part of
the UCI "Gas Sensor Array Drift Dataset at Different Concentrations" (Vergara et al. 2012),
2565 recordings of 128 sensor features, regressed onto the gas concentration. It cannot ship with
the package; `verify --data uci-ethanol=PATH` passes the user's copy, the generated ethanol-like
stand-in (`data.ethanol_like`) stays the default."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from optverify.kit import DataSet
from optverify.theorems.depth_acceleration.data import RegressionSet

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


def user_regression_set(table: np.ndarray, path: str, sha256: str) -> RegressionSet:
    """The user's Ethanol table as the claim's regression set: the 128 feature columns
    standardized (zero mean, unit variance; a constant column is one clear error) and then scaled
    together so that the top eigenvalue of X^T X / m is 1, the concentration centred and scaled to
    unit mean square: the stand-in's scales, so one step-size grid serves both (the model is
    bias-free, so centring both sides is the fit with an intercept)."""
    if table.shape != (UCI_ETHANOL.rows, UCI_ETHANOL.columns):
        raise ValueError(f"{path}: a {table.shape[0]} x {table.shape[1]} table, expected "
                           f"{UCI_ETHANOL.rows} x {UCI_ETHANOL.columns}")
    features, targets = table[:, :-1], table[:, -1]
    spread = features.std(axis=0)
    if not (spread > 0).all():
        raise ValueError(f"{path}: feature column(s) {np.flatnonzero(spread == 0).tolist()} "
                           "are constant")
    if not targets.std() > 0:
        raise ValueError(f"{path}: the concentration column is constant")
    features = (features - features.mean(axis=0)) / spread
    top = np.linalg.eigvalsh(features.T @ features / features.shape[0])[-1]
    features = features / np.sqrt(top)
    targets = targets - targets.mean()
    targets = targets / np.sqrt(np.mean(targets**2))
    rows, cols = features.shape
    return RegressionSet(
        "uci-ethanol", features, targets,
        f"the user's UCI Ethanol file {Path(path).name} (SHA-256 {sha256}), {rows} x {cols} "
        "features standardized per column and scaled to unit top eigenvalue of X^T X / m, the "
        "concentration centred and scaled to unit mean square")
