"""How good the list at capacity k is, per as-of date and pooled: :class:`CapacityReport`."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from riskscreen._render import markdown_table
from riskscreen.evaluation._bootstrap import normal_interval, percentile_bounds, resamples
from riskscreen.evaluation._disclosure import count_text, suppress_table
from riskscreen.evaluation._metrics import (
    ap,
    auc,
    calibration_curve,
    check_labels,
    ece,
    precision_recall_curve_at_k,
    quantile_edges,
)
from riskscreen.evaluation._ranking import flag_weights
from riskscreen.evaluation._words import accuracy_sentence, outcome_label

POOLED = "pooled"
RATES = (
    "precision_at_k",
    "recall_at_k",
    "lift_at_k",
    "average_precision",
    "roc_auc",
    "brier",
    "ece",
)


def _codes(values, n: int, name: str) -> tuple[np.ndarray, np.ndarray]:
    if values is None:
        return np.zeros(n, dtype=np.int64), np.array([POOLED], dtype=object)
    codes, labels = pd.factorize(np.asarray(values, dtype=object), sort=True, use_na_sentinel=False)
    if len(codes) != n:
        raise ValueError(f"{name} must have one entry per row ({n}); got {len(codes)}.")
    return codes.astype(np.int64), np.asarray(labels, dtype=object)


def _per_date(y, known, s, p, f, dates, n_dates, edges) -> np.ndarray:
    """(n_dates + 1, metrics): one row per date, then pooled."""
    yk = np.where(known, y, 0.0)
    out = np.full((n_dates + 1, 6 + len(RATES)), np.nan)
    codes = np.r_[dates, np.full(len(y), n_dates)]  # each row twice: its date and the pool
    ww = np.r_[np.ones(len(y)), np.ones(len(y))]
    size = n_dates + 1

    def per(values):
        v = np.r_[values, values]
        return np.bincount(codes, weights=ww * v, minlength=size)

    n = per(np.ones(len(y)))
    n_known = per(known.astype(float))
    pos = per(yk)
    listed = per(f)
    listed_known = per(f * known)
    hits = per(f * yk)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = hits / listed_known
        recall = hits / pos
        lift = precision / (pos / n_known)
        brier = (
            per(np.where(known, (np.nan_to_num(p) - yk) ** 2, 0.0)) / n_known
            if p is not None
            else np.full(size, np.nan)
        )
    out[:, :6] = np.c_[n, n_known, pos, listed, hits, listed / n]
    out[:, 6] = precision
    out[:, 7] = recall
    out[:, 8] = lift
    out[:, 11] = brier
    for d in range(size):
        rows = known & ((dates == d) if d < n_dates else True)
        out[d, 9] = ap(y[rows], s[rows])
        out[d, 10] = auc(y[rows], s[rows])
        if p is not None and rows.any():
            out[d, 12] = ece(y[rows], p[rows], edges=edges)
    return out


@dataclass(frozen=True)
class CapacityReport:
    """Metrics of the list at capacity k, per as-of date and pooled, with intervals.

    Computed once by :func:`evaluate_at_capacity`.

    Attributes
    ----------
    table : DataFrame
        One row per as-of date and a "pooled" row: ``n`` pupils, ``n_outcome``,
        ``n_flagged`` (the list, tie-aware), ``share_flagged``; precision, recall
        and lift at k, AP, ROC AUC, Brier score and ECE, each with ``_low``/``_high``.
    per_school : DataFrame or None
        Per school: pupils, flagged, share flagged, outcomes, flagged with the
        outcome, precision and recall with bounds (small counts suppressed).
    calibration : DataFrame or None
        Observed rate against mean predicted probability by bin (pooled).
    curve : DataFrame
        Precision and recall against the number flagged (pooled ranking).
    """

    table: pd.DataFrame
    per_school: pd.DataFrame | None
    calibration: pd.DataFrame | None
    curve: pd.DataFrame
    k: float | int
    outcome: str = "suspension"
    confidence: float = 0.95
    n_bootstrap: int = 200
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def sentences(self) -> list[str]:
        """Precision and recall at k in words, per date and pooled, with intervals."""
        return [
            accuracy_sentence(
                str(name),
                tuple(row[f"precision_at_k{s}"] for s in ("", "_low", "_high")),
                tuple(row[f"recall_at_k{s}"] for s in ("", "_low", "_high")),
                outcome=self.outcome,
                confidence=self.confidence,
            )
            for name, row in self.table.iterrows()
        ]

    def formatted(self) -> pd.DataFrame:
        t = self.table
        out = t[["n", "n_outcome", "n_flagged"]].copy()
        out["share_flagged"] = t["share_flagged"].map(lambda v: f"{v:.1%}")
        for m in RATES:
            out[m] = [
                "n/a" if np.isnan(e) else f"{e:.3f} ({a:.3f}-{b:.3f})"
                for e, a, b in zip(t[m], t[f"{m}_low"], t[f"{m}_high"], strict=True)
            ]
        return out

    def _header(self) -> str:
        return (
            f"Metrics at capacity k = {self.k} for {outcome_label(self.outcome)}; "
            f"{100 * self.confidence:.0f}% bootstrap intervals ({self.n_bootstrap} resamples "
            "of pupils)."
        )

    def __str__(self) -> str:
        return "\n".join(
            [self._header(), self.formatted().to_string(), "", *self.sentences(), *self.notes]
        )

    def to_markdown(self) -> str:
        parts = [self._header(), "", markdown_table(self.formatted()), ""]
        parts += [f"- {s}" for s in (*self.sentences(), *self.notes)]
        if self.per_school is not None:
            parts += ["", "Per school:", "", markdown_table(self.per_school.round(3))]
        return "\n".join(parts)

    def to_html(self) -> str:
        items = "".join(f"<li>{s}</li>" for s in (*self.sentences(), *self.notes))
        school = "" if self.per_school is None else self.per_school.to_html(float_format="%.3f")
        return (
            f"<div><p>{self._header()}</p>{self.formatted().to_html()}<ul>{items}</ul>"
            f"{school}</div>"
        )

    def _repr_html_(self) -> str:
        return self.to_html()


def evaluate_at_capacity(
    y_true,
    y_score,
    y_prob=None,
    *,
    k: float | int = 0.05,
    as_of_dates=None,
    schools=None,
    per_school: bool = False,
    groups=None,
    n_bootstrap: int = 200,
    confidence: float = 0.95,
    n_bins: int = 10,
    outcome: str = "suspension",
    random_state: int | None = 0,
) -> CapacityReport:
    """Precision, recall, lift and flags at k; AP, AUC, Brier, calibration; per date and pooled.

    The top ``k`` is taken within each as-of date (and each school with
    ``per_school``), tie-aware, among all rows: pupils with an unknown outcome
    (missing ``y_true``) take places on the list but count neither as hits nor
    as misses. Intervals resample pupils (``groups``) and re-rank each replicate.

    Examples
    --------
    >>> import numpy as np
    >>> y = np.r_[np.ones(20), np.zeros(380)]
    >>> report = evaluate_at_capacity(y, y + np.linspace(0, 2, 400), k=20, n_bootstrap=20)
    >>> int(report.table.loc["pooled", "n_flagged"])
    20
    """
    y = check_labels(y_true, allow_missing=True)
    n = len(y)
    known = ~np.isnan(y)
    y = np.where(known, y, 0.0)
    s = np.asarray(y_score, dtype=float)
    if s.shape != y.shape or np.isnan(s).any():
        raise ValueError(
            f"The 'y_score' parameter of evaluate_at_capacity must hold one number per row "
            f"({n}), none missing."
        )
    p = None if y_prob is None else np.asarray(y_prob, dtype=float)
    dates, date_labels = _codes(as_of_dates, n, "as_of_dates")
    school_codes, school_labels = _codes(schools, n, "schools")
    if per_school and schools is None:
        raise ValueError("The 'per_school' parameter of evaluate_at_capacity needs 'schools='.")
    strata = dates * len(school_labels) + school_codes if per_school else dates
    edges = None if p is None else quantile_edges(p[known], n_bins)
    n_dates = len(date_labels)

    def one(rows):
        f = flag_weights(s[rows], k, strata=strata[rows])
        sub = None if p is None else p[rows]
        metrics = _per_date(y[rows], known[rows], s[rows], sub, f, dates[rows], n_dates, edges)
        yk = np.where(known[rows], y[rows], 0.0)
        sc = school_codes[rows]
        m = len(school_labels)
        schools_ = np.c_[
            np.bincount(sc, minlength=m),
            np.bincount(sc, weights=f, minlength=m),
            np.bincount(sc, weights=yk, minlength=m),
            np.bincount(sc, weights=f * yk, minlength=m),
            np.bincount(sc, weights=f * known[rows], minlength=m),
        ]
        return metrics, schools_

    point, school_point = one(np.arange(n))
    reps = resamples(groups, n, n_bootstrap, random_state)
    draws = [one(i) for i in reps]
    table = _date_table(point, draws, date_labels, confidence, as_of_dates is not None)
    per_school_table = None
    if schools is not None:
        per_school_table = _school_table(
            school_point, [d[1] for d in draws], school_labels, confidence
        )
    notes = []
    if (~known).any():
        notes.append(
            f"{count_text((~known).sum())} pupils have an unknown outcome (censored): on the list, "
            "but neither hits nor misses."
        )
    if table["suppressed"].any():
        notes.append("Counts under 5 are suppressed (missing), with secondary suppression.")
    return CapacityReport(
        table=table.drop(columns="suppressed"),
        per_school=per_school_table,
        calibration=None if p is None else calibration_curve(y[known], p[known], n_bins=n_bins),
        curve=precision_recall_curve_at_k(y[known], s[known]),
        k=k,
        outcome=outcome,
        confidence=confidence,
        n_bootstrap=n_bootstrap,
        notes=tuple(notes),
    )


def _date_table(point, draws, labels, confidence, by_date: bool) -> pd.DataFrame:
    names = ["n", "n_known", "n_outcome", "n_flagged", "n_flagged_outcome", "share_flagged"]
    index = [*(str(pd.Timestamp(d).date()) if by_date else str(d) for d in labels), POOLED]
    counts = np.round(point[:, :6], 6)  # tie shares add up to whole places
    table = pd.DataFrame(counts, columns=names, index=pd.Index(index, name="as_of_date"))
    stack = np.stack([d[0] for d in draws]) if draws else np.empty((0, *point.shape))
    for j, m in enumerate(RATES, start=6):
        table[m] = point[:, j]
        if m == "ece":
            bounds = [
                normal_interval(point[i, j], stack[:, i, j], confidence, lower=0.0)
                for i in range(len(index))
            ]
            lo, hi = np.array(bounds).T if bounds else (np.nan, np.nan)
        elif len(stack):
            lo, hi = percentile_bounds(stack[:, :, j], confidence)
        else:
            lo = hi = np.full(len(index), np.nan)
        table[f"{m}_low"], table[f"{m}_high"] = lo, hi
    if not by_date:  # one date: its row is the pooled row
        table = table.iloc[[-1]]
    table = table.drop(columns=["n_known", "n_flagged_outcome"])
    blocks = pd.Series(np.where(table.index == POOLED, 1, 0), index=table.index, name="_block")
    table = suppress_table(table.assign(_block=blocks), ["n", "n_outcome"], by="_block")
    return table.drop(columns="_block")


def _school_table(point, draws, labels, confidence) -> pd.DataFrame:
    cols = ["n", "n_flagged", "n_outcome", "n_flagged_outcome", "_listed_known"]
    table = pd.DataFrame(np.round(point, 6), columns=cols, index=pd.Index(labels, name="school_id"))
    table["share_flagged"] = table["n_flagged"] / table["n"]
    stack = np.stack(draws) if draws else np.empty((0, *point.shape))
    with np.errstate(invalid="ignore", divide="ignore"):
        table["precision"] = point[:, 3] / point[:, 4]
        table["recall"] = point[:, 3] / point[:, 2]
        for name, num, den in (("precision", 3, 4), ("recall", 3, 2)):
            values = (
                stack[:, :, num] / stack[:, :, den] if len(stack) else np.empty((0, len(labels)))
            )
            lo, hi = percentile_bounds(values, confidence) if len(stack) else (np.nan, np.nan)
            table[f"{name}_low"], table[f"{name}_high"] = lo, hi
    table["_fp"] = table["_listed_known"] - table["n_flagged_outcome"]
    table["_fn"] = table["n_outcome"] - table["n_flagged_outcome"]
    return suppress_table(
        table,
        ["n", "n_flagged", "n_outcome", "n_flagged_outcome"],
        rates={
            "share_flagged": ["n", "n_flagged"],
            "precision": ["n_flagged_outcome", "_fp"],
            "recall": ["n_outcome", "n_flagged_outcome", "_fn"],
        },
        hidden=["_listed_known", "_fp", "_fn"],
    )
