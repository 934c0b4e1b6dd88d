"""Secondary suppression of outcome counts across every figure of one comparison.

A comparison shows, for the same pupils, several figures that count pupils with
the outcome: the header total, each scorer's precision and recall at k (which
give its true positives on the list) and the band and decile tables. Each is a
sum over the same *segments*: pupils with the outcome grouped by band, decile
and place on every scorer's list. :func:`protect_comparison` writes every such
figure as a sum of segments and hands them all to
:func:`~riskscreen.evaluation._disclosure.protect_cells`, so a count hidden in
one table cannot be worked back by adding or subtracting the others. (Counts of
pupils and of unknown outcomes are suppressed within their own table.)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from riskscreen.evaluation._disclosure import SMALL_COUNT, protect_cells


@dataclass
class Protection:
    """What not to show: scorers whose list counts are withheld, table levels hidden."""

    withheld: list[str] = field(default_factory=list)
    hidden: dict[str, pd.Series] = field(default_factory=dict)
    total_hidden: bool = False


def protect_comparison(
    y, known, flags: dict, groupings: dict, *, threshold: int = SMALL_COUNT
) -> Protection:
    """Hide the outcome counts of a comparison that are small or could be worked back.

    Parameters
    ----------
    y, known : ndarray
        Outcome (0/1) and whether it is known, per row.
    flags : dict name -> ndarray of float
        Each scorer's flag weights (1 on the list, 0 off it, a share when tied).
    groupings : dict name -> array-like
        Rows' levels in each published breakdown (e.g. "band", "decile").
    threshold : int, default 5

    Returns
    -------
    Protection
        ``withheld``: scorers whose precision and recall must not be shown;
        ``hidden``: per grouping, a bool Series by level (its outcome count hidden).
    """
    positive = known & (y > 0)
    parts = [pd.factorize(np.asarray(g, dtype=object))[0] for g in groupings.values()]
    parts += [np.round(np.asarray(f, dtype=float), 9) for f in flags.values()]
    rows_pos = np.flatnonzero(positive)
    if parts:
        seg, _ = pd.factorize(pd.MultiIndex.from_arrays([p[rows_pos] for p in parts]))
    else:
        seg = np.zeros(len(rows_pos), dtype=np.int64)
    n_seg = int(seg.max()) + 1 if len(seg) else 0
    counts = np.bincount(seg, minlength=n_seg).astype(float)

    def cell(member) -> np.ndarray:
        """Weights over the segments: the member weight of their rows (one per segment)."""
        w = np.zeros(n_seg)
        w[seg] = np.asarray(member, dtype=float)[rows_pos]
        return w

    cells, names, free = [cell(np.ones(len(y)))], [("total",)], [False]
    for name, f in flags.items():
        cells.append(cell(f))
        names.append(("scorer", name))
        free.append(True)
    for gname, g in groupings.items():
        g = np.asarray(g, dtype=object)
        for level in pd.unique(g):
            cells.append(cell(g == level))
            names.append(("table", gname, level))
            free.append(True)
    A = np.vstack(cells)
    kinds = [name[0] if name[0] != "table" else name[1] for name in names]
    hide = protect_cells(A, A @ counts, can_hide=free, kinds=kinds, threshold=threshold)
    out = Protection(total_hidden=bool(hide[0]))
    hidden: dict[str, dict] = {g: {} for g in groupings}
    for name, h in zip(names[1:], hide[1:], strict=True):
        if name[0] == "scorer" and h:
            out.withheld.append(name[1])
        elif name[0] == "table":
            hidden[name[1]][name[2]] = bool(h)
    out.hidden = {g: pd.Series(levels, dtype=bool) for g, levels in hidden.items()}
    return out
