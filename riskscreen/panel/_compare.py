"""Comparing the lists of two screenings: overlap, Jaccard, rank correlation, entries, exits.

The lists are the top k of each screening (its flags by default). Entries are
pupils on the later list only: *new to the cohort* (not screened before), or
their *risk rose* (higher calibrated probability), or *others fell or capacity
grew*. Exits are pupils on the earlier list only: they *left the cohort*, their
*risk fell*, or they are *below capacity*. Every pair is computed afresh from its
own two screenings, so comparing a sequence of screenings pair by pair never
returns an empty result for a later pair.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from riskscreen._render import markdown_table
from riskscreen.evaluation import resolve_k
from riskscreen.panel._changes import BELOW_CAPACITY, RISK_FELL
from riskscreen.panel._packs import suppressed_text

ENTRY_WHY = ("new to the cohort", "risk rose", "others fell or capacity grew")
EXIT_WHY = ("left the cohort", RISK_FELL, BELOW_CAPACITY)


@dataclass(frozen=True)
class ListComparison:
    """Two screenings' lists compared, computed once by :func:`compare_lists`.

    Attributes
    ----------
    table : DataFrame
        One row: as-of dates, k of each list, overlap (pupils on both), Jaccard
        index of the two lists, Spearman correlation of the scores of pupils
        screened both times (all of them, and those on either list), entries and
        exits. Counts under 5 are held back in the renderings.
    entries, exits : DataFrame
        pupil_id, rank before and after (NaN where not screened), why.
    """

    table: pd.DataFrame
    entries: pd.DataFrame
    exits: pd.DataFrame

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def _shown(self) -> pd.DataFrame:
        out = self.table.copy().astype(object)
        counts = ["overlap", "n_entries", "n_exits"]
        for col, text in zip(counts, suppressed_text(out[counts].iloc[0].to_numpy()), strict=True):
            out.loc[out.index[0], col] = text
        return out

    def sentences(self) -> list[str]:
        row = self._shown().iloc[0]
        return [
            f"Lists of {row['before']} and {row['after']}: Jaccard {row['jaccard']:.2f} "
            f"({row['overlap']} pupils on both); {row['n_entries']} entered, "
            f"{row['n_exits']} left.",
            f"Rank correlation of pupils screened both times: {row['rank_correlation']:.2f} "
            f"(on either list: {row['rank_correlation_listed']:.2f}).",
        ]

    def to_markdown(self) -> str:
        return "\n\n".join([*self.sentences(), markdown_table(self._shown(), index=False)])

    def to_html(self) -> str:
        text = "".join(f"<p>{html.escape(s)}</p>" for s in self.sentences())
        return f"<div>{text}{self._shown().to_html(index=False)}</div>"

    def _repr_html_(self) -> str:
        return self.to_html()

    def __repr__(self) -> str:
        return f"<ListComparison {self.sentences()[0]}>"


def _top(screening, k) -> pd.Index:
    frame = screening.frame
    if k is None:
        return frame.index[frame["flagged"].to_numpy(dtype=bool)]
    n = resolve_k(k, len(frame))
    return frame.index[frame["rank"].to_numpy() <= n]


def _spearman(a: pd.Series, b: pd.Series) -> float:
    if len(a) < 3 or a.nunique() < 2 or b.nunique() < 2:
        return float("nan")
    return float(stats.spearmanr(a.to_numpy(), b.to_numpy()).statistic)


def compare_lists(before, after, *, k=None) -> ListComparison:
    """Compare the lists of two screenings (earlier first).

    Parameters
    ----------
    before, after : Screening
    k : None, float or int
        The list length: None for each screening's own flags, else a fraction of
        each cohort or a count (the top k by rank).
    """
    a, b = before.frame, after.frame
    top_a, top_b = _top(before, k), _top(after, k)
    both = top_a.intersection(top_b)
    union = top_a.union(top_b)
    common = a.index.intersection(b.index)
    listed = union.intersection(common)
    entries_idx = top_b.difference(top_a)
    exits_idx = top_a.difference(top_b)
    p_a, p_b = a["probability"], b["probability"]
    entry_prev = p_a.reindex(entries_idx).to_numpy(dtype=float)
    entry_now = p_b.reindex(entries_idx).to_numpy(dtype=float)
    entry_why = np.where(
        np.isnan(entry_prev),
        ENTRY_WHY[0],
        np.where(entry_now > entry_prev, ENTRY_WHY[1], ENTRY_WHY[2]),
    )
    exit_prev = p_a.reindex(exits_idx).to_numpy(dtype=float)
    exit_now = p_b.reindex(exits_idx).to_numpy(dtype=float)
    exit_why = np.where(
        np.isnan(exit_now), EXIT_WHY[0], np.where(exit_now < exit_prev, EXIT_WHY[1], EXIT_WHY[2])
    )

    def moves(idx, why, categories):
        return pd.DataFrame(
            {
                "pupil_id": idx.to_numpy(),
                "rank_before": a["rank"].reindex(idx).to_numpy(dtype=float),
                "rank_after": b["rank"].reindex(idx).to_numpy(dtype=float),
                "why": pd.Categorical(why, categories=list(categories)),
            }
        )

    table = pd.DataFrame(
        {
            "before": [str(pd.Timestamp(before.as_of_date).date())],
            "after": [str(pd.Timestamp(after.as_of_date).date())],
            "k_before": [len(top_a)],
            "k_after": [len(top_b)],
            "overlap": [len(both)],
            "jaccard": [len(both) / len(union) if len(union) else float("nan")],
            "rank_correlation": [_spearman(a["score"].reindex(common), b["score"].reindex(common))],
            "rank_correlation_listed": [
                _spearman(a["score"].reindex(listed), b["score"].reindex(listed))
            ],
            "n_entries": [len(entries_idx)],
            "n_exits": [len(exits_idx)],
        }
    )
    return ListComparison(
        table=table,
        entries=moves(entries_idx, entry_why, ENTRY_WHY),
        exits=moves(exits_idx, exit_why, EXIT_WHY),
    )


def list_stability(screenings, *, k=None) -> pd.DataFrame:
    """:func:`compare_lists` for each consecutive pair of screenings: one row per pair."""
    screenings = list(screenings)
    if len(screenings) < 2:
        raise ValueError(
            f"list_stability needs at least two screenings, in date order. Got {len(screenings)}."
        )
    rows = [
        compare_lists(x, y, k=k).table for x, y in zip(screenings[:-1], screenings[1:], strict=True)
    ]
    return pd.concat(rows, ignore_index=True)
