"""The top contributions of each pupil as sentences, for every pupil at once.

For each pupil, the SHAP values of the columns of one reason group are added up
(SHAP values are additive, so a group's value is its share of the margin) and the
``n_reasons`` groups with the largest absolute values are kept. Each kept group is
put in words from the one feature of the group that moved this pupil's score the
most (its *headline*), with the pupil's own value and window:

* a 0/1 flag reads as its state ("on a child protection plan since March 2025"),
* a missing (imputed) value reads as its ``missing`` words ("never suspended"),
* a share with a longer window in the same group adds the trend when they differ
  by :data:`TREND_POINTS` points or more ("attendance 81% in the last 4 weeks, down
  from 95% over the last 13 weeks"),
* a change between two windows (``compare_window``) reads as the two values.

Every step works on arrays: groups and headline features are picked with numpy,
and sentences are written once per distinct wording (:mod:`._words`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskscreen._time import parse_duration
from riskscreen.explain._columns import Column, membership
from riskscreen.explain._words import TREND_POINTS, categorical, concat_text, fill, over_phrase
from riskscreen.explain._words import whole as _whole

DIRECTIONS = ("raises risk", "lowers risk")
_SHARES = ("rate", "mean")


def _series_key(f) -> tuple:
    """What a feature measures apart from its window (features of one series differ only there)."""

    def q(x):
        return tuple(sorted(x.items())) if isinstance(x, dict) else x

    return (f.source, f.aggregate, q(f.column), q(f.denominator), f.where, f.threshold)


class _Layout:
    """Positions of columns by name, indicators and series siblings within groups."""

    def __init__(self, columns: list[Column]) -> None:
        self.columns = columns
        self.pos = {c.name: j for j, c in enumerate(columns)}
        self.indicator = {
            c.feature: self.pos[c.name] for c in columns if c.indicator and c.definition
        }
        self.groups, self.matrix = membership(columns)
        self.members = {
            g: [j for j, c in enumerate(columns) if c.group == g and not c.indicator]
            for g in self.groups
        }

    def sibling(self, j: int, window=None, *, longer: bool = False) -> int | None:
        """The column of the same group and series as ``j`` at ``window`` (or next longer)."""
        c = self.columns[j]
        f = c.definition
        if f is None:
            return None
        best = None
        for k in self.members[c.group]:
            g = self.columns[k].definition
            if k == j or g is None or g.compare_window is not None:
                continue
            if _series_key(g) != _series_key(f) or g.threshold is not None:
                continue
            if window is not None and g.window_ == parse_duration(window, allow_all=True):
                return k
            days, own = g.window_.approx_days, f.window_.approx_days
            if longer and days > own and (best is None or days < self._days(best)):
                best = k
        return best

    def _days(self, k: int) -> float:
        return self.columns[k].definition.window_.approx_days


def assemble(n: int, pieces: list[tuple[np.ndarray, pd.Categorical]]) -> pd.Categorical:
    """One Categorical of ``n`` rows from Categoricals that each fill some rows."""
    codes = np.full(n, -1, dtype=np.int64)
    texts: list[str] = []
    for positions, part in pieces:
        part = pd.Categorical(part)
        codes[positions] = np.asarray(part.codes, dtype=np.int64) + len(texts)
        texts.extend(part.categories)
    if (codes < 0).any():  # pragma: no cover - every row is written by one piece
        raise AssertionError("a reason row was left without words")
    return categorical(texts, codes)


class _Writer:
    """Writes the sentences of one batch of selected (pupil, group) rows."""

    def __init__(self, layout: _Layout, data: np.ndarray, as_of, starts) -> None:
        self.layout, self.data, self.as_of, self.starts = layout, data, as_of, starts or {}

    def _missing(self, j: int, rows: np.ndarray) -> np.ndarray:
        c = self.layout.columns[j]
        v = self.data[rows, j]
        k = self.layout.indicator.get(c.feature)
        flagged = self.data[rows, k] == 1 if k is not None else np.zeros(len(rows), bool)
        return flagged | np.isnan(v)

    def _since(self, j: int, rows: np.ndarray) -> np.ndarray | None:
        c = self.layout.columns[j]
        f = c.definition
        if f is not None and f.aggregate in ("days_since_start", "days_since_first"):
            days = self.data[rows, j]
        elif c.name in self.starts:
            days = np.asarray(self.starts[c.name], dtype=float)[rows]
        else:
            return None
        days = np.where(self._missing(j, rows), np.nan, days)
        dates = pd.DatetimeIndex(self.as_of - pd.to_timedelta(days, unit="D"))
        code = dates.year.to_numpy(dtype=float) * 12 + dates.month.to_numpy(dtype=float) - 1
        return np.where(np.isnan(days), -1.0, code)

    def state(self, j: int, rows: np.ndarray) -> pd.Categorical:
        """The feature's own words for the rows (text, zero or missing template)."""
        c = self.layout.columns[j]
        r = c.reason
        v = self.data[rows, j]
        missing = self._missing(j, rows)
        zero = ~missing & (v == 0)
        window = c.definition.window if c.definition is not None else "all"
        since = self._since(j, rows)
        pieces = []
        for mask, template in (
            (missing, r.missing or r.text),
            (zero, r.zero or r.text),
            (~missing & ~zero, r.text),
        ):
            if mask.any():
                s = None if since is None else since[mask]
                part = fill(template, v[mask], window=window, since_month=s)
                pieces.append((np.flatnonzero(mask), part))
        return assemble(len(rows), pieces)

    def trend(self, j: int, k: int, rows: np.ndarray, threshold: float) -> pd.Categorical:
        """ ", down from 95% over the last 13 weeks" where ``j`` and ``k`` differ enough."""
        a, b = self.data[rows, j], self.data[rows, k]
        ok = ~self._missing(j, rows) & ~self._missing(k, rows)
        diff = _whole(np.clip(a, 0, 1) * 100) - _whole(np.clip(b, 0, 1) * 100)
        over = over_phrase(self.layout.columns[k].definition.window)
        show = ok & (np.abs(diff) >= threshold)
        quiet = np.flatnonzero(~show)
        pieces = [(quiet, pd.Categorical.from_codes(np.zeros(len(quiet), int), categories=[""]))]
        for sign, word in ((-1, "down"), (1, "up")):
            mask = show & (np.sign(diff) == sign)
            if mask.any():
                pieces.append(
                    (np.flatnonzero(mask), fill(f", {word} from {{pct}} {over}", b[mask]))
                )
        return assemble(len(rows), pieces)

    def sentence(self, j: int, rows: np.ndarray) -> pd.Categorical:
        """The headline feature ``j``'s words for the rows, with a trend where it has one."""
        layout = self.layout
        f = layout.columns[j].definition
        if f is not None and f.compare_window is not None and f.threshold is None:
            now, then = layout.sibling(j, f.window), layout.sibling(j, f.compare_window)
            if (
                now is not None
                and then is not None
                and "{pct}" in (layout.columns[now].reason.text or "")
            ):
                return concat_text(self.state(now, rows), self.trend(now, then, rows, 1))
        text = self.state(j, rows)
        if (
            f is not None
            and f.aggregate in _SHARES
            and f.threshold is None
            and "{pct}" in (layout.columns[j].reason.text or "")
        ):
            longer = layout.sibling(j, longer=True)
            if longer is not None:
                text = concat_text(text, self.trend(j, longer, rows, TREND_POINTS))
        return text


def _split(labels: np.ndarray):
    """(label, positions) for each distinct label, with one sort instead of a scan per label."""
    order = np.argsort(labels, kind="stable")
    sorted_labels = labels[order]
    cuts = np.flatnonzero(np.diff(sorted_labels)) + 1
    for part in np.split(order, cuts):
        if len(part):
            yield int(labels[part[0]]), part


def top_groups(group_values: np.ndarray, n_reasons: int) -> tuple[np.ndarray, np.ndarray]:
    """(row, group) of each pupil's ``n_reasons`` largest absolute group values, largest first.

    Ties go to the group listed first, so the choice never depends on row order.
    """
    n, g = group_values.shape
    k = min(n_reasons, g)
    size = np.abs(group_values)
    rows = np.arange(n)
    top = np.empty((n, k), dtype=np.int64)
    for t in range(k):
        top[:, t] = np.argmax(size, axis=1)
        size[rows, top[:, t]] = -1.0
    return np.repeat(rows, k), top.ravel()


def reason_table(
    values: np.ndarray,
    data: np.ndarray,
    columns: list[Column],
    pupils: pd.Index,
    *,
    as_of,
    n_reasons: int = 3,
    starts: dict[str, np.ndarray] | None = None,
    min_contribution: float = 1e-9,
) -> pd.DataFrame:
    """The top ``n_reasons`` reasons of every pupil (one row per pupil and reason).

    Parameters
    ----------
    values, data : arrays (pupils x columns)
        SHAP values and the feature values explained.
    columns : list of Column
        What each column is (:func:`~riskscreen.explain._columns.resolve_columns`).
    pupils : Index
        The pupil of each row.
    as_of : Timestamp
        The screening date (for "since March 2025").
    starts : dict, optional
        Column name -> days since the current spell started, per row (for 0/1
        "active" flags: "on a child protection plan since ...").
    min_contribution : float
        Groups whose value is smaller than this (in absolute log-odds) are skipped.

    Returns
    -------
    DataFrame with columns pupil_id, rank (1 = largest), group, direction,
    contribution (log-odds) and text.
    """
    layout = _Layout(columns)
    group_values = values @ layout.matrix
    row, gi = top_groups(group_values, n_reasons)
    rank = np.tile(np.arange(1, min(n_reasons, len(layout.groups)) + 1), len(pupils))
    contribution = group_values[row, gi] if len(row) else np.zeros(0)
    keep = np.abs(contribution) >= min_contribution
    row, gi, rank, contribution = row[keep], gi[keep], rank[keep], contribution[keep]
    writer = _Writer(layout, data, pd.Timestamp(as_of), starts)
    pieces = []
    for g_index, sel in _split(gi):
        rows = row[sel]
        members = layout.members[layout.groups[g_index]]
        block = values[np.ix_(rows, members)]
        for m_i, j in enumerate(members):
            k = layout.indicator.get(layout.columns[j].feature)
            if k is not None:
                block[:, m_i] += values[rows, k]
        headline = np.argmax(np.abs(block), axis=1)
        for m_i, pos in _split(headline):
            pieces.append((sel[pos], writer.sentence(members[m_i], rows[pos])))
    text = assemble(len(row), pieces) if len(row) else pd.Categorical([])
    direction = pd.Categorical.from_codes((contribution < 0).astype(int), categories=DIRECTIONS)
    suffix = pd.Categorical.from_codes(
        (contribution < 0).astype(int), categories=[f" ({d})" for d in DIRECTIONS]
    )
    return pd.DataFrame(
        {
            "pupil_id": np.asarray(pupils)[row],
            "rank": rank.astype(np.int64),
            "group": pd.Categorical.from_codes(gi, categories=layout.groups),
            "direction": direction,
            "contribution": contribution,
            "text": concat_text(text, suffix) if len(row) else pd.Categorical([]),
        }
    )
