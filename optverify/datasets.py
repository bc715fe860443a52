"""Public data sets that cannot ship with the package: the user's copy (`verify --data
NAME=PATH`), checked against the claim's declared SHA-256 or, where the claim cannot know it, its
declared table shape; without one the claim runs its generated stand-in (issue 20 item 2)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

STAND_IN = "generated stand-in"
"""What the report says when a claim ran on its own generated data."""


class DataSetError(ValueError):
    """The user's file is not the declared data set (hash or shape); one line."""


@dataclass(frozen=True)
class DataSet:
    """A public data set a claim can read from the user's copy.

    name: the NAME of `--data NAME=PATH`.
    description: where it comes from, in words.
    rows, columns: the declared shape of its numeric table (comma- or whitespace-separated text).
    sha256: the hash of the canonical file, or None where it is not known; then only the shape is
        checked and the report records the user's file's hash."""

    name: str
    description: str
    rows: int
    columns: int
    sha256: str | None = None


@dataclass(frozen=True)
class DataChoice:
    """Which data a run used: the stand-in (table None) or the user's file with its hash."""

    dataset: DataSet
    table: np.ndarray | None
    path: str | None = None
    sha256: str | None = None

    @property
    def described(self) -> str:
        if self.table is None:
            return f"data used ({self.dataset.name}): {STAND_IN}"
        return (f"data used ({self.dataset.name}): the user's file {self.path}, "
                f"SHA-256 {self.sha256}")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_table(path: Path) -> np.ndarray:
    """The numeric table in a comma- or whitespace-separated text file."""
    text = path.read_text()
    delimiter = "," if "," in text.partition("\n")[0] else None
    try:
        return np.loadtxt(path, delimiter=delimiter, ndmin=2)
    except ValueError as error:
        raise DataSetError(f"{path}: not a numeric table ({error})") from None


def checked_table(dataset: DataSet, path: Path) -> tuple[np.ndarray, str]:
    """The user's copy of `dataset` and its SHA-256, after checking the hash (when declared) and
    the table's shape."""
    if not path.is_file():
        raise DataSetError(f"--data {dataset.name}: no file at {path}")
    sha256 = file_sha256(path)
    if dataset.sha256 is not None and sha256 != dataset.sha256:
        raise DataSetError(f"--data {dataset.name}: {path} has SHA-256 {sha256}, expected "
                           f"{dataset.sha256}")
    table = read_table(path)
    if table.shape != (dataset.rows, dataset.columns):
        raise DataSetError(f"--data {dataset.name}: {path} is a {table.shape[0]} x "
                           f"{table.shape[1]} table, expected {dataset.rows} x {dataset.columns}")
    return table, sha256


def choose(dataset: DataSet, path: Path | None) -> DataChoice:
    """The user's copy when given, else the stand-in."""
    if path is None:
        return DataChoice(dataset, None)
    table, sha256 = checked_table(dataset, path)
    return DataChoice(dataset, table, str(path), sha256)
