"""Minimal evaluation at capacity: precision/recall at k, AP, ROC AUC, ECE, bootstrap CIs.

Ranking metrics are *tie-aware*: when pupils tied on the score straddle the
capacity cut-off, the expected value under random tie-breaking is reported. This
is fair to coarse rule baselines (many pupils share "no prior suspensions") and
does not depend on row order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

OUTCOME_WORDS = {
    "suspension": "be suspended",
    "permanent_exclusion": "be permanently excluded",
    "exclusion": "be permanently excluded",
    "cme": "become missing from education",
    "missing_education": "become missing from education",
    "persistent_absence": "become persistently absent",
}


def _arrays(y_true, score) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(pd.array(y_true, dtype="float64").to_numpy(na_value=np.nan), dtype=float)
    s = np.asarray(score, dtype=float)
    if y.shape != s.shape or y.ndim != 1:
        raise ValueError(
            "y_true and the scores must be 1-d and of equal length. "
            f"Got shapes {y.shape} and {s.shape}."
        )
    if np.isnan(y).any():
        raise ValueError(
            "y_true contains missing (censored) labels; drop them before evaluating "
            f"({int(np.isnan(y).sum())} rows)."
        )
    if np.isnan(s).any():
        raise ValueError(f"The scores contain {int(np.isnan(s).sum())} missing values.")
    return y, s


def resolve_k(k: float | int, n: int) -> int:
    """Capacity as a number of pupils: an int is a count, a float in (0, 1] a fraction."""
    if isinstance(k, (bool, np.bool_)):
        raise ValueError(f"The 'k' (capacity) must be a fraction in (0, 1] or a count. Got {k!r}.")
    if isinstance(k, (int, np.integer)):
        if k < 1:
            raise ValueError(f"The capacity 'k' must be a positive count. Got {k!r} instead.")
        return int(min(k, n))
    if isinstance(k, (float, np.floating)) and 0 < k <= 1:
        return int(max(1, min(n, round(float(k) * n))))
    raise ValueError(
        f"The capacity 'k' must be a fraction in (0, 1] or a positive count. Got {k!r} instead."
    )


def _expected_hits_at_k(y: np.ndarray, s: np.ndarray, k: int) -> float:
    """Expected number of positives among the top k, ties broken at random."""
    if k <= 0:
        return 0.0
    threshold = np.partition(s, len(s) - k)[len(s) - k]
    above = s > threshold
    tied = s == threshold
    n_above = int(above.sum())
    n_tied = int(tied.sum())
    return float(y[above].sum() + (k - n_above) * y[tied].sum() / n_tied)


def precision_at_k(y_true, score, k: float | int = 0.05) -> float:
    """Share of the top-k pupils (by score) who have the outcome (tie-aware)."""
    y, s = _arrays(y_true, score)
    kk = resolve_k(k, len(y))
    return _expected_hits_at_k(y, s, kk) / kk


def recall_at_k(y_true, score, k: float | int = 0.05) -> float:
    """Share of pupils with the outcome who are in the top k (tie-aware); NaN if none."""
    y, s = _arrays(y_true, score)
    pos = y.sum()
    if pos == 0:
        return float("nan")
    return _expected_hits_at_k(y, s, resolve_k(k, len(y))) / pos


def average_precision(y_true, score) -> float:
    """Average precision (area under the precision-recall curve, step-wise, as sklearn)."""
    y, s = _arrays(y_true, score)
    return _ap(y, s)


def _ap(y: np.ndarray, s: np.ndarray) -> float:
    pos = y.sum()
    if pos == 0:
        return float("nan")
    order = np.argsort(-s, kind="stable")
    ss, ys = s[order], y[order]
    last = np.r_[np.flatnonzero(np.diff(ss) != 0), len(ss) - 1]
    tp = np.cumsum(ys)[last]
    precision = tp / (last + 1)
    recall = tp / pos
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def roc_auc(y_true, score) -> float:
    """Area under the ROC curve (Mann-Whitney, ties count one half); NaN if one class."""
    y, s = _arrays(y_true, score)
    return _auc(y, s)


def _auc(y: np.ndarray, s: np.ndarray) -> float:
    from scipy.stats import rankdata

    pos = y.sum()
    neg = len(y) - pos
    if pos == 0 or neg == 0:
        return float("nan")
    ranks = rankdata(s)
    return float((ranks[y == 1].sum() - pos * (pos + 1) / 2) / (pos * neg))


def expected_calibration_error(
    y_true, proba, *, n_bins: int = 10, strategy: str = "quantile"
) -> float:
    """Expected calibration error: sum over bins of (bin share) x |observed - predicted|.

    ``strategy="quantile"`` uses equal-count bins (suited to rare outcomes, where
    uniform bins put nearly everyone in the first bin); ``"uniform"`` uses equal-width
    bins on [0, 1].
    """
    y, p = _arrays(y_true, proba)
    return _ece(y, p, n_bins, strategy)


def _ece(y: np.ndarray, p: np.ndarray, n_bins: int, strategy: str) -> float:
    if strategy == "quantile":
        edges = np.unique(np.quantile(p, np.linspace(0, 1, n_bins + 1)[1:-1]))
    elif strategy == "uniform":
        edges = np.linspace(0, 1, n_bins + 1)[1:-1]
    else:
        raise ValueError(
            "The 'strategy' parameter of expected_calibration_error must be 'quantile' or "
            f"'uniform'. Got {strategy!r} instead."
        )
    bins = np.searchsorted(edges, p, side="right")
    gap = np.bincount(bins, weights=y - p, minlength=len(edges) + 1)
    return float(np.abs(gap).sum() / len(y))


def bootstrap_interval(
    metric: Callable[[np.ndarray, np.ndarray], float],
    y_true,
    score,
    *,
    groups=None,
    n_bootstrap: int = 200,
    confidence: float = 0.95,
    random_state: int | None = 0,
) -> tuple[float, float, float]:
    """(estimate, low, high): percentile bootstrap resampling pupils (``groups``) or rows."""
    y, s = _arrays(y_true, score)
    estimate = float(metric(y, s))
    draws = np.array(
        [metric(y[i], s[i]) for i in _resamples(groups, len(y), n_bootstrap, random_state)]
    )
    lo, hi = _percentiles(draws, confidence)
    return estimate, lo, hi


def _percentiles(draws: np.ndarray, confidence: float) -> tuple[float, float]:
    draws = draws[~np.isnan(draws)]
    if draws.size == 0:
        return float("nan"), float("nan")
    alpha = (1 - confidence) / 2
    return float(np.quantile(draws, alpha)), float(np.quantile(draws, 1 - alpha))


def _resamples(groups, n: int, n_bootstrap: int, random_state) -> list[np.ndarray]:
    """Row indices of each bootstrap replicate, resampling whole clusters (pupils)."""
    rng = np.random.default_rng(random_state)
    if groups is None:
        return [rng.integers(0, n, n) for _ in range(n_bootstrap)]
    codes, _ = pd.factorize(np.asarray(groups))
    if len(codes) != n:
        raise ValueError(f"groups must have one entry per row ({n}); got {len(codes)}.")
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes)
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    n_clusters = len(counts)
    out = []
    for _ in range(n_bootstrap):
        chosen = rng.integers(0, n_clusters, n_clusters)
        lengths = counts[chosen]
        offsets = np.repeat(starts[chosen] - np.r_[0, np.cumsum(lengths)[:-1]], lengths)
        out.append(order[np.arange(lengths.sum()) + offsets])
    return out


METRICS = ("precision_at_k", "recall_at_k", "average_precision", "roc_auc", "ece")
METRIC_LABELS = {
    "precision_at_k": "precision@k",
    "recall_at_k": "recall@k",
    "average_precision": "AP",
    "roc_auc": "ROC AUC",
    "ece": "ECE",
}


def _all_metrics(y, s, p, k_arg, ece_bins) -> dict[str, float]:
    kk = resolve_k(k_arg, len(y))
    pos = y.sum()
    hits = _expected_hits_at_k(y, s, kk)
    return {
        "precision_at_k": hits / kk,
        "recall_at_k": hits / pos if pos else float("nan"),
        "average_precision": _ap(y, s),
        "roc_auc": _auc(y, s),
        "ece": _ece(y, p, ece_bins, "quantile") if p is not None else float("nan"),
    }


@dataclass(frozen=True)
class Comparison:
    """Model-versus-baselines comparison at capacity k, with bootstrap intervals.

    Computed once by :func:`compare_scores`; renders as a DataFrame
    (:meth:`to_frame`), text (``str``), Markdown and HTML.

    Attributes
    ----------
    table : DataFrame
        One row per scorer; for each metric the estimate and ``_low``/``_high`` bounds.
    k : int
        Capacity in pupils; ``n`` pupils and ``n_positive`` with the outcome.
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
        verb = OUTCOME_WORDS.get(self.outcome, f"have the outcome '{self.outcome}'")
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
        return "\n".join(
            [
                self._header(),
                "",
                _markdown_table(self.formatted()),
                "",
                *[f"- {s}" for s in (*self.sentences(), *self.notes)],
                *(
                    []
                    if self.bands is None
                    else [
                        "",
                        "Observed outcome rate by risk band:",
                        "",
                        _markdown_table(self.bands),
                    ]
                ),
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


def _markdown_table(frame: pd.DataFrame, index: bool = True) -> str:
    """Render a DataFrame as a GitHub Markdown table (no tabulate dependency)."""
    frame = frame.reset_index() if index else frame
    cols = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(_cell(v) for v in row) + " |")
    return "\n".join(lines)


def _cell(v) -> str:
    if isinstance(v, (float, np.floating)):
        return "" if np.isnan(v) else f"{v:.4g}"
    return str(v).replace("|", "\\|")


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
    y = _arrays(y_true, np.zeros(len(y_true)))[0]
    arrays = {}
    for name, s in scores.items():
        _, s_arr = _arrays(y, s)
        p = probabilities.get(name)
        arrays[name] = (s_arr, None if p is None else _arrays(y, p)[1])
    reps = _resamples(groups, len(y), n_bootstrap, random_state)
    rows = {}
    for name, (s, p) in arrays.items():
        est = _all_metrics(y, s, p, k, ece_bins)
        draws = [_all_metrics(y[i], s[i], None if p is None else p[i], k, ece_bins) for i in reps]
        row = {}
        for m in METRICS:
            lo, hi = _percentiles(np.array([d[m] for d in draws], dtype=float), confidence)
            row.update({m: est[m], f"{m}_low": lo, f"{m}_high": hi})
        rows[name] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "scorer"
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
