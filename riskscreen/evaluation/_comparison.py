"""Model versus rule baselines on the same pupils: :class:`Comparison`, :func:`compare_scores`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from riskscreen._render import markdown_table
from riskscreen.evaluation._bootstrap import percentiles, resamples
from riskscreen.evaluation._disclosure import SMALL_COUNT
from riskscreen.evaluation._metrics import (
    ap,
    auc,
    check_labels,
    check_scores,
    ece,
    expected_hits_at_k,
    resolve_k,
)

OUTCOME_WORDS = {
    "suspension": "be suspended",
    "permanent_exclusion": "be permanently excluded",
    "missing_education": "become missing from education",
    "persistent_absence": "become persistently absent",
}

METRICS = ("precision_at_k", "recall_at_k", "average_precision", "roc_auc", "ece")
METRIC_LABELS = {
    "precision_at_k": "precision@k",
    "recall_at_k": "recall@k",
    "average_precision": "AP",
    "roc_auc": "ROC AUC",
    "ece": "ECE",
}


def outcome_words(outcome: str) -> str:
    """The outcome as a verb phrase: "be suspended", "... or be permanently excluded"."""
    parts = [p for p in str(outcome).split("|") if p]
    words = [OUTCOME_WORDS.get(p, f"have the outcome '{p}'") for p in parts]
    return " or ".join(words) if words else "have the outcome"


def _all_metrics(y, s, p, k_arg, ece_bins) -> dict[str, float]:
    kk = resolve_k(k_arg, len(y))
    pos = y.sum()
    hits = expected_hits_at_k(y, s, kk)
    return {
        "precision_at_k": hits / kk,
        "recall_at_k": hits / pos if pos else float("nan"),
        "average_precision": ap(y, s),
        "roc_auc": auc(y, s),
        "ece": ece(y, p, ece_bins) if p is not None else float("nan"),
    }


@dataclass(frozen=True)
class Comparison:
    """Model-versus-baselines comparison at capacity k, with bootstrap intervals.

    Computed once by :func:`compare_scores`; renders as a DataFrame
    (:meth:`to_frame`), text (``str``), Markdown, HTML and a rich table.

    Attributes
    ----------
    table : DataFrame
        One row per scorer; for each metric the estimate and ``_low``/``_high`` bounds.
    k : int
        Capacity in pupils; ``n`` pupils and ``n_positive`` with the outcome.
    bands : DataFrame or None
        Observed outcome rate per risk band and decile (small counts suppressed).
    """

    table: pd.DataFrame
    k: int
    n: int
    n_positive: int
    outcome: str = "suspension"
    confidence: float = 0.95
    n_bootstrap: int = 200
    notes: tuple[str, ...] = field(default_factory=tuple)
    bands: pd.DataFrame | None = None

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def formatted(self) -> pd.DataFrame:
        """Metric columns as 'estimate (low-high)' strings."""
        out = pd.DataFrame(index=self.table.index)
        for m in METRICS:
            est, lo, hi = (self.table[m], self.table[f"{m}_low"], self.table[f"{m}_high"])
            out[METRIC_LABELS[m]] = [
                "n/a" if np.isnan(e) else f"{e:.3f} ({a:.3f}-{b:.3f})"
                for e, a, b in zip(est, lo, hi, strict=True)
            ]
        return out

    def sentences(self) -> list[str]:
        """Accuracy the way practitioners read it, one line per scorer."""
        verb = outcome_words(self.outcome)
        lines = []
        for name, row in self.table.iterrows():
            n_flag = 10 * row["precision_at_k"]
            m_caught = 10 * row["recall_at_k"]
            lines.append(
                f"{name}: of 10 pupils flagged, about {n_flag:.0f} go on to {verb}; "
                f"of 10 pupils who go on to {verb}, about {m_caught:.0f} were flagged."
            )
        return lines

    def _header(self) -> str:
        pct = 100 * self.confidence
        return (
            f"Outcome: {self.outcome}; {self.n} pupils, {self.n_positive} with the outcome; "
            f"capacity k = {self.k} pupils; {pct:.0f}% bootstrap intervals "
            f"({self.n_bootstrap} resamples of pupils)."
        )

    def __str__(self) -> str:
        body = self.formatted().to_string()
        parts = [self._header(), body, "", *self.sentences(), *self.notes]
        if self.bands is not None:
            parts += ["", "Observed outcome rate by risk band:", self.bands.to_string()]
        return "\n".join(parts)

    def to_markdown(self) -> str:
        bands = (
            []
            if self.bands is None
            else ["", "Observed outcome rate by risk band:", "", markdown_table(self.bands)]
        )
        return "\n".join(
            [
                self._header(),
                "",
                markdown_table(self.formatted()),
                "",
                *[f"- {s}" for s in (*self.sentences(), *self.notes)],
                *bands,
            ]
        )

    def to_html(self) -> str:
        items = "".join(f"<li>{s}</li>" for s in (*self.sentences(), *self.notes))
        return f"<div><p>{self._header()}</p>{self.formatted().to_html()}<ul>{items}</ul></div>"

    def _repr_html_(self) -> str:
        return self.to_html()

    def to_rich(self):
        """A :class:`rich.table.Table` for terminals (estimate over its interval)."""
        from rich.table import Table

        table = Table(title=self._header(), title_justify="left")
        table.add_column("scorer", style="bold", no_wrap=True)
        for m in METRICS:
            table.add_column(METRIC_LABELS[m], justify="right", no_wrap=True)
        for name, row in self.table.iterrows():
            cells = []
            for m in METRICS:
                est, lo, hi = row[m], row[f"{m}_low"], row[f"{m}_high"]
                cells.append("n/a" if np.isnan(est) else f"{est:.3f}\n[dim]{lo:.3f}-{hi:.3f}[/]")
            table.add_row(str(name), *cells)
        return table


def compare_scores(
    y_true,
    scores: Mapping[str, np.ndarray],
    probabilities: Mapping[str, np.ndarray] | None = None,
    *,
    k: float | int = 0.05,
    groups=None,
    n_bootstrap: int = 200,
    confidence: float = 0.95,
    ece_bins: int = 10,
    outcome: str = "suspension",
    random_state: int | None = 0,
    notes: tuple[str, ...] = (),
    bands: pd.DataFrame | None = None,
) -> Comparison:
    """Compare scorers on the same pupils: precision@k, recall@k, AP, ROC AUC, ECE.

    Every scorer is evaluated on the same bootstrap replicates (pupils resampled
    with their rows together), so their intervals are comparable.

    Parameters
    ----------
    y_true : array-like of bool/int
        Observed outcome (no missing values).
    scores : mapping name -> array
        Ranking scores (higher = higher risk).
    probabilities : mapping name -> array, optional
        Calibrated probabilities for the ECE (NaN ECE for scorers without one).
    k : float or int
        Capacity: fraction of pupils or a count.
    groups : array-like, optional
        Pupil id per row: the bootstrap resamples pupils, keeping their rows together.
    """
    probabilities = dict(probabilities or {})
    y = check_labels(y_true)
    arrays = {}
    for name, s in scores.items():
        _, s_arr = check_scores(y, s)
        p = probabilities.get(name)
        arrays[name] = (s_arr, None if p is None else check_scores(y, p)[1])
    reps = resamples(groups, len(y), n_bootstrap, random_state)
    rows = {}
    for name, (s, p) in arrays.items():
        est = _all_metrics(y, s, p, k, ece_bins)
        draws = [_all_metrics(y[i], s[i], None if p is None else p[i], k, ece_bins) for i in reps]
        row = {}
        for m in METRICS:
            lo, hi = percentiles([d[m] for d in draws], confidence)
            row.update({m: est[m], f"{m}_low": lo, f"{m}_high": hi})
        rows[name] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "scorer"
    if bands is not None and "suppressed" in bands and bands["suppressed"].any():
        notes = (
            *notes,
            f"Band tables: outcome counts under {SMALL_COUNT} are suppressed (blank, "
            "suppressed=True), with one more where the total would reveal them.",
        )
    return Comparison(
        table=table,
        k=resolve_k(k, len(y)),
        n=len(y),
        n_positive=int(y.sum()),
        outcome=outcome,
        confidence=confidence,
        n_bootstrap=n_bootstrap,
        notes=tuple(notes),
        bands=bands,
    )
