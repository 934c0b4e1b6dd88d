"""Counts as a card shows them: through riskscreen's one small-number rule.

Nothing here decides what is small: :func:`riskscreen.evaluation.suppress_small_counts`
(and :func:`~riskscreen.evaluation.suppress_table` for counts that add up to a
total) do. A count that is hidden is ``None`` in the JSON, "c" in a table (the
DfE's mark, as in the fairness audit) and "fewer than 5" in a sentence.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from riskscreen.evaluation import SMALL_COUNT, suppress_small_counts, suppress_table
from riskscreen.evaluation._disclosure import count_text

#: A hidden count in a table.
WITHHELD = "c"
SUPPRESSION_NOTE = (
    f"Counts under {SMALL_COUNT} pupils are not shown ('{WITHHELD}'), nor counts or rates "
    "that would let one be worked out (DfE practice)."
)


def _missing(value) -> bool:
    if value is None or value is pd.NA:
        return True
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return True


def shown_count(value) -> int | float | None:
    """A count for the JSON: the number, or None when it is missing or must be hidden."""
    if _missing(value) or suppress_small_counts([float(value)])[0]:
        return None
    v = float(value)
    return int(v) if v == round(v) else round(v, 1)


def count_cell(value) -> str:
    """A count for a table cell: '1,234', '0', or 'c' when hidden."""
    shown = shown_count(value)
    if shown is None:
        return WITHHELD
    return f"{shown:,}" if isinstance(shown, int) else f"{shown:,.1f}"


def count_words(shown) -> str:
    """A single count (as :func:`shown_count` gives it) for a sentence: '1,234', or
    'fewer than 5' when it was hidden (the evaluation's words)."""
    if shown is None:
        return f"fewer than {SMALL_COUNT}"
    return count_text(shown)


def number(value, digits: int | None = None) -> float | None:
    """A float for the JSON (None for a missing or withheld value)."""
    if _missing(value):
        return None
    return float(value) if digits is None else round(float(value), digits)


def suppress_counts(frame: pd.DataFrame, counts, *, parts=(), rates=None) -> pd.DataFrame:
    """Hide the small counts of a table whose rows and columns both add up to totals.

    Each count column is suppressed down the rows (:func:`suppress_table`), and the
    ``parts`` columns, which add up across a row to another count shown (e.g.
    positives, negatives and censored adding up to the cohort), across each row
    (:func:`suppress_small_counts`, secondary suppression included). ``rates``
    (rate column -> count columns) are withheld wherever one of their counts is.
    """
    out = suppress_table(frame, list(counts))
    hidden = pd.DataFrame({c: out[c].isna() & frame[c].notna() for c in counts})
    parts = list(parts)
    if parts:
        values = frame[parts].to_numpy(dtype=float, na_value=np.nan)
        for i, row in enumerate(values):
            mask = suppress_small_counts(row)
            for col, hide in zip(parts, mask, strict=True):
                if hide:
                    hidden.iloc[i, hidden.columns.get_loc(col)] = True
    for col in counts:
        out[col] = frame[col].astype("Float64").where(~hidden[col].to_numpy(), pd.NA)
    for rate, sources in (rates or {}).items():
        withheld = hidden[list(sources)].any(axis=1).to_numpy()
        out.loc[withheld, rate] = np.nan
    out["suppressed"] = hidden.any(axis=1).to_numpy()
    return out


__all__ = [
    "SMALL_COUNT",
    "SUPPRESSION_NOTE",
    "WITHHELD",
    "count_cell",
    "count_words",
    "number",
    "shown_count",
    "suppress_counts",
]
