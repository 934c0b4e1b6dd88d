"""Pseudonymisation at the door: identifiers become keyed hashes; dates of birth, months.

:func:`pupil_keys` turns the identifier that anchors each linked child (a UPN,
or the authority's child id, or a register identity) into a ``pupil_id``: the
first 52 bits of HMAC-SHA256 under a key the authority holds. The same child
gets the same ``pupil_id`` in every load with the same key, and nobody without
the key can go back from ``pupil_id`` to the UPN or test a guess. Dates of
birth are kept only as the month; postcodes only as the sector.

:func:`write_identity_lookup` writes, separately and only when asked, the table
from ``pupil_id`` back to the identity, for the authority's own panel-pack
export; it never becomes part of :class:`LinkedHistories`.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from pathlib import Path

import numpy as np
import pandas as pd

from riskscreen._files import atomic_path

MIN_KEY_BYTES = 16


def check_key(key) -> bytes:
    """The key as bytes; refuses keys too short to protect anything."""
    if isinstance(key, str):
        key = key.encode("utf-8")
    if not isinstance(key, (bytes, bytearray)) or len(key) < MIN_KEY_BYTES:
        raise ValueError(
            "The 'key' parameter of read_returns must be a secret of at least "
            f"{MIN_KEY_BYTES} bytes (str or bytes) that the authority keeps, e.g. "
            "secrets.token_hex(32). Got a "
            + (
                f"{len(key)}-byte key"
                if isinstance(key, (str, bytes, bytearray))
                else type(key).__name__
            )
            + " instead."
        )
    return bytes(key)


def keyed_hash(values: pd.Series, key: bytes) -> np.ndarray:
    """HMAC-SHA256 of each text value under ``key``, as a non-negative ``int64``.

    52 bits, so that a ``pupil_id`` is exact even where a tool stores it as a
    float (2^53); with 100,000 children the chance of any clash is about 10^-6,
    and :func:`pupil_keys` refuses one.
    """
    out = np.empty(len(values), dtype=np.int64)
    for i, text in enumerate(values.astype(str)):
        digest = hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()
        out[i] = int.from_bytes(digest[:8], "big") >> 12
    return out


def pupil_keys(anchors: pd.Series, key: bytes) -> pd.Series:
    """``pupil_id`` per cluster from its anchor identifier; refuses a clash."""
    ids = pd.Series(keyed_hash(anchors, key), index=anchors.index, dtype="int64")
    if ids.duplicated().any() and anchors[ids.duplicated(keep=False)].nunique() > 1:
        raise RuntimeError("Two different children were given the same pupil_id; use a new key.")
    return ids


def birth_month(dob: pd.Series) -> pd.Series:
    """First day of the month of each date of birth."""
    return dob.dt.to_period("M").dt.to_timestamp().astype("datetime64[us]")


def write_identity_lookup(identities: pd.DataFrame, path: str | os.PathLike) -> Path:
    """Write ``pupil_id`` -> identity (UPN, names, date of birth, postcode) as CSV, atomically.

    The file holds personal data: keep it where the authority keeps its case
    records, never with the pseudonymised histories or a model run.
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        identities.to_csv(tmp, index=False)
    return path
