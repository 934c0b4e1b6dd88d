"""Small numpy helpers shared by the phases of the synthetic local authority."""

from __future__ import annotations

import numpy as np
import pandas as pd


def choice(rng: np.random.Generator, weights, size: int) -> np.ndarray:
    """Vectorised categorical draw.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of the uniform draws (one per item).
    weights : array-like of float
        Unnormalised category weights.
    size : int
        Number of draws.

    Returns
    -------
    ndarray of int16
        Indices into ``weights``.
    """
    cum = np.cumsum(np.asarray(weights, dtype=float))
    return np.searchsorted(cum / cum[-1], rng.random(size), side="right").astype(np.int16)


def sigmoid(x):
    """Logistic function ``1 / (1 + exp(-x))``."""
    return 1.0 / (1.0 + np.exp(-x))


class Rows:
    """Output rows appended in chunks and concatenated once.

    Parameters
    ----------
    **dtypes : dtype
        Column name -> dtype of the collected column.
    """

    def __init__(self, **dtypes) -> None:
        self.dtypes = dtypes
        self.parts: dict[str, list[np.ndarray]] = {n: [] for n in dtypes}

    def add(self, **cols) -> None:
        """Append rows; scalars are broadcast to the length of the array columns."""
        sizes = [np.size(v) for v in cols.values() if np.ndim(v) > 0]
        n = max(sizes) if sizes else 1
        if n == 0:
            return
        for name, value in cols.items():
            self.parts[name].append(np.broadcast_to(np.asarray(value), (n,)).copy())

    def collect(self) -> dict[str, np.ndarray]:
        """Every column, concatenated and cast to its dtype (the rows are kept)."""
        dtypes = self.dtypes
        return {
            n: (np.concatenate(p) if p else np.array([], dtype=dtypes[n])).astype(dtypes[n])
            for n, p in self.parts.items()
        }


def str_column(codes: np.ndarray, categories: list[str]) -> pd.Series:
    """Integer codes (-1 = missing) to a pandas ``str`` column."""
    lookup = np.array([*categories, None], dtype=object)
    codes = np.asarray(codes, dtype=np.int64)
    return pd.Series(lookup[np.where(codes < 0, len(categories), codes)], dtype="str")
