"""Model versus rule baselines on the same pupils: :class:`Comparison`, :func:`compare_scores`.

Every scorer is evaluated on the same bootstrap replicates (pupils resampled),
and the verdict "better than a baseline" rests on the *paired* difference on
those replicates, never on whether two intervals overlap.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from riskscreen._render import markdown_table
from riskscreen.evaluation._bands import band_table, deciles
from riskscreen.evaluation._bootstrap import normal_interval, percentiles, resamples
from riskscreen.evaluation._disclosure import (
    SMALL_COUNT,
    count_text,
    suppress_small_counts,
    withhold_flat_intervals,
)
from riskscreen.evaluation._metrics import ap, auc, check_labels, ece, quantile_edges
from riskscreen.evaluation._protect import protect_comparison
from riskscreen.evaluation._ranking import flag_weights
from riskscreen.evaluation._words import (
    OUTCOME_WORDS,
    accuracy_sentence,
    outcome_label,
    outcome_words,
)

METRICS = ("precision_at_k", "recall_at_k", "average_precision", "roc_auc", "ece")
METRIC_LABELS = {
    "precision_at_k": "precision@k",
    "recall_at_k": "recall@k",
    "average_precision": "AP",
    "roc_auc": "ROC AUC",
    "ece": "ECE",
}
#: Metrics where lower is better (the verdict of a paired difference turns round).
LOWER_IS_BETTER = frozenset({"ece"})
#: The metrics that give a scorer's counts on the list away (withheld when small).
WITHHELD_METRICS = ("precision_at_k", "recall_at_k")
#: Fewer pupils with the outcome than this: too few to tell scorers apart.
MIN_CASES = 50
__all__ = ["METRICS", "OUTCOME_WORDS", "Comparison", "compare_scores", "outcome_words"]


def _all_metrics(y, known, s, p, k, strata, edges) -> dict[str, float]:
    """Every metric of one scorer on one (resampled) set of rows.

    The top ``k`` of each stratum is flagged among *all* rows, as on the panel's
    list; pupils with an unknown outcome take places but count neither as hits
    nor as misses.
    """
    f = flag_weights(s, k, strata=strata)
    yk = np.where(known, y, 0.0)
    # sums of products, not BLAS dot products: BLAS threads cost more than the sum
    # on a busy machine, a thousand times per bootstrap
    hits = float((f * yk).sum())
    listed = float(f[known].sum())
    pos = float(yk.sum())
    ys, ss = y[known], s[known]
    return {
        "precision_at_k": hits / listed if listed else float("nan"),
        "recall_at_k": hits / pos if pos else float("nan"),
        "average_precision": ap(ys, ss),
        "roc_auc": auc(ys, ss),
        "ece": ece(ys, p[known], edges=edges) if p is not None else float("nan"),
    }


def verdict(low: float, high: float, metric: str) -> str:
    """'better' / 'worse' when the paired difference's interval excludes 0."""
    if np.isnan(low) or np.isnan(high):
        return "not tested"
    sign = -1 if metric in LOWER_IS_BETTER else 1
    lo, hi = sorted((sign * low, sign * high))
    if lo > 0:
        return "better"
    if hi < 0:
        return "worse"
    return "no clear difference"


@dataclass(frozen=True)
class Comparison:
    """Model-versus-baselines comparison at capacity k, with bootstrap intervals.

    Computed once by :func:`compare_scores`; renders as a DataFrame
    (:meth:`to_frame`), text (``str``), Markdown, HTML and a rich table.

    Attributes
    ----------
    table : DataFrame
        One row per scorer; for each metric the estimate and ``_low``/``_high``
        bounds (percentile intervals; the ECE's is estimate +/- 1.96 bootstrap
        standard errors, clipped at 0, so it always contains the estimate).
    differences : DataFrame or None
        One row per (baseline, metric): ``difference`` (reference scorer minus
        baseline), its paired-bootstrap bounds and ``verdict`` ("better",
        "worse", "no clear difference", or "too few cases").
    k : int
        Pupils on the list (summed over schools with ``per_school``); ``n``
        pupils (``n_censored`` of them with an unknown outcome) and
        ``n_positive`` with the outcome.
    bands : DataFrame or None
        Observed outcome rate per risk band and decile (small counts suppressed).
    audit : FairnessAudit or None
        The fairness audit of the same list; its headline is shown with the table.
    unavailable : dict
        Scorers that could not run, with why (``{"attendance": "needs
        attendance_rate_4w"}``): shown as rows of the table ("not available: ..."),
        never dropped silently.
    by_date : dict
        When several as-of dates are pooled: the comparison of each date on its
        own (its own list at capacity), by date text.
    withheld : tuple of str
        Scorers whose precision and recall at k are withheld (shown as "c" with
        their intervals): they would reveal a count under 5 pupils.
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
    differences: pd.DataFrame | None = None
    reference: str | None = None
    n_censored: int = 0
    per_school: bool = False
    min_cases: int = MIN_CASES
    audit: object = None
    unavailable: dict = field(default_factory=dict)
    by_date: dict = field(default_factory=dict)
    withheld: tuple[str, ...] = ()

    @property
    def too_few_cases(self) -> bool:
        """True when too few pupils had the outcome to tell the scorers apart."""
        return self.n_positive < self.min_cases

    def to_frame(self) -> pd.DataFrame:
        """The table, with a row of missing values for each scorer not available and a
        ``not_available`` column saying why (when any)."""
        if not self.unavailable:
            return self.table.copy()
        out = self.table.reindex([*self.table.index, *self.unavailable])
        out["not_available"] = pd.Series(self.unavailable, dtype=object)
        return out

    def verdict(self, scorer: str, metric: str = "precision_at_k") -> str:
        """The reference scorer against ``scorer`` on ``metric``, from the paired bootstrap."""
        if self.differences is None or (scorer, metric) not in self.differences.index:
            known = (
                [] if self.differences is None else sorted({s for s, _ in self.differences.index})
            )
            raise KeyError(
                f"No paired difference for scorer {scorer!r} and metric {metric!r}; scorers "
                f"compared with {self.reference!r}: {known}."
            )
        return str(self.differences.loc[(scorer, metric), "verdict"])

    def formatted(self) -> pd.DataFrame:
        """Metric columns as 'estimate (low-high)' strings."""
        out = pd.DataFrame(index=self.table.index)
        for m in METRICS:
            est, lo, hi = (self.table[m], self.table[f"{m}_low"], self.table[f"{m}_high"])
            out[METRIC_LABELS[m]] = [
                _cell(
                    e,
                    a,
                    b,
                    name in self.withheld and m in WITHHELD_METRICS,
                    "{:.3f} ({:.3f}-{:.3f})",
                )
                for name, e, a, b in zip(self.table.index, est, lo, hi, strict=True)
            ]
        for name, why in self.unavailable.items():
            out.loc[name] = [f"not available: {why}", *[""] * (len(METRICS) - 1)]
        return out

    def withholding(self, scorers) -> Comparison:
        """The same comparison with the precision and recall of ``scorers`` withheld too
        (e.g. because another output of the same run withholds them)."""
        names = [s for s in self.table.index if s in set(scorers) | set(self.withheld)]
        table, differences = _withhold(self.table, self.differences, names, self.reference)
        return replace(self, table=table, differences=differences, withheld=tuple(names))

    def by_date_table(self, metric: str = "precision_at_k") -> pd.DataFrame | None:
        """``metric`` per as-of date and scorer, as 'estimate (low-high)' (None for one date)."""
        if not self.by_date:
            return None
        if metric not in METRICS:
            raise ValueError(f"The 'metric' parameter must be one of {list(METRICS)}.")
        return pd.DataFrame(
            {
                date: c.formatted()[METRIC_LABELS[metric]].reindex(self.table.index)
                for date, c in self.by_date.items()
            }
        ).T.rename_axis("as_of_date")

    def _by_date_lines(self) -> list[str]:
        table = self.by_date_table()
        if table is None:
            return []
        return ["", "Precision@k per as-of date (each date its own list):", table.to_string()]

    def sentences(self) -> list[str]:
        """Accuracy the way practitioners read it, with intervals, one line per scorer."""
        lines = []
        for name, row in self.table.iterrows():
            if name in self.withheld:
                lines.append(
                    f"{name}: how many of its list went on to {outcome_words(self.outcome)} is "
                    f"withheld (fewer than {SMALL_COUNT} pupils, or it would reveal such a count)."
                )
                continue
            lines.append(
                accuracy_sentence(
                    str(name),
                    tuple(row[f"precision_at_k{s}"] for s in ("", "_low", "_high")),
                    tuple(row[f"recall_at_k{s}"] for s in ("", "_low", "_high")),
                    outcome=self.outcome,
                    confidence=self.confidence,
                )
            )
        lines += [f"{name}: not available ({why})." for name, why in self.unavailable.items()]
        return lines

    def verdicts(self) -> list[str]:
        """The reference scorer against each baseline on precision@k, in words."""
        if self.differences is None or self.reference is None:
            return []
        if self.too_few_cases:
            return [
                f"Only {count_text(self.n_positive)} pupils went on to "
                f"{outcome_words(self.outcome)}: too few "
                "to tell the scorers apart, so the rows above are not a ranking."
            ]
        pct = f"{100 * self.confidence:.0f}%"
        lines = []
        d = self.differences.xs("precision_at_k", level="metric")
        for scorer, row in d.iterrows():
            diff = row["difference"]
            shown = "c" if np.isnan(diff) else f"{diff:+.3f}"
            lines.append(
                f"{self.reference} vs {scorer}: {row['verdict']} on precision@k (paired "
                f"difference {shown}, {pct} interval "
                f"{row['difference_low']:+.3f} to {row['difference_high']:+.3f})."
            )
        return lines

    def _header(self) -> str:
        pct = 100 * self.confidence
        unknown = (
            f" ({count_text(self.n_censored)} with an unknown outcome)" if self.n_censored else ""
        )
        scope = " summed over schools" if self.per_school else ""
        return (
            f"Outcome: {outcome_label(self.outcome)}; {self.n} pupils{unknown}, "
            f"{count_text(self.n_positive)} with the outcome; capacity k = {self.k} "
            f"pupils{scope}; {pct:.0f}% bootstrap intervals "
            f"({self.n_bootstrap} resamples of pupils)."
        )

    def _lines(self) -> list[str]:
        return [*self.sentences(), *self.verdicts(), *self.notes]

    def __str__(self) -> str:
        body = self.formatted().to_string()
        parts = [self._header(), body, "", *self._lines()]
        parts += self._by_date_lines()
        if self.audit is not None:
            parts += ["", self.audit.headline()]
        if self.bands is not None:
            parts += ["", "Observed outcome rate by risk band:", self.bands.to_string()]
        return "\n".join(parts)

    def to_markdown(self) -> str:
        bands = (
            []
            if self.bands is None
            else ["", "Observed outcome rate by risk band:", "", markdown_table(self.bands)]
        )
        audit = [] if self.audit is None else ["", "```", self.audit.headline(), "```"]
        table = self.by_date_table()
        if table is not None:
            audit = [
                "",
                "Precision@k per as-of date (each date its own list):",
                "",
                markdown_table(table),
                *audit,
            ]
        return "\n".join(
            [
                self._header(),
                "",
                markdown_table(self.formatted()),
                "",
                *[f"- {s}" for s in self._lines()],
                *audit,
                *bands,
            ]
        )

    def to_html(self) -> str:
        items = "".join(f"<li>{s}</li>" for s in self._lines())
        audit = "" if self.audit is None else f"<pre>{html.escape(self.audit.headline())}</pre>"
        table = self.by_date_table()
        if table is not None:
            title = "<p>Precision@k per as-of date (each date its own list):</p>"
            audit = f"{title}{table.to_html()}{audit}"
        return (
            f"<div><p>{self._header()}</p>{self.formatted().to_html()}<ul>{items}</ul>{audit}</div>"
        )

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
                hide = name in self.withheld and m in WITHHELD_METRICS
                cells.append(_cell(est, lo, hi, hide, "{:.3f}\n[dim]{:.3f}-{:.3f}[/]"))
            table.add_row(str(name), *cells)
        for name, why in self.unavailable.items():
            table.add_row(str(name), f"[dim]not available: {why}[/]", *[""] * (len(METRICS) - 1))
        return table


def _strata(schools, per_school: bool, as_of_dates, n: int, owner: str):
    """Code of each row's list: its as-of date and, with per_school, its school."""
    keys = []
    if as_of_dates is not None:
        keys.append(("as_of_dates", as_of_dates))
    if per_school:
        if schools is None:
            raise ValueError(f"The 'per_school' parameter of {owner} needs 'schools='.")
        keys.append(("schools", schools))
    if not keys:
        return None
    codes = np.zeros(n, dtype=np.int64)
    for name, values in keys:
        c, uniques = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=False)
        if len(c) != n:
            raise ValueError(f"{name} must have one entry per row ({n}); got {len(c)}.")
        codes = codes * max(len(uniques), 1) + c
    return codes


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
    reference: str | None = None,
    schools=None,
    per_school: bool = False,
    as_of_dates=None,
    censored: str = "refuse",
    min_cases: int = MIN_CASES,
    audit=None,
    unavailable: Mapping[str, str] | None = None,
    band_of_rows=None,
) -> Comparison:
    """Compare scorers on the same pupils: precision@k, recall@k, AP, ROC AUC, ECE.

    Every scorer is evaluated on the same bootstrap replicates (pupils resampled
    with their rows together), and each baseline is compared with the
    ``reference`` scorer by the paired difference on those replicates.

    Parameters
    ----------
    y_true : array-like of bool/int
        Observed outcome. Missing values (censored) are refused unless
        ``censored="keep"``.
    scores : mapping name -> array
        Ranking scores (higher = higher risk).
    probabilities : mapping name -> array, optional
        Calibrated probabilities for the ECE (NaN ECE for scorers without one).
    k : float or int
        Capacity: fraction of pupils or a count (per school with ``per_school``).
    groups : array-like, optional
        Pupil id per row: the bootstrap resamples pupils, keeping their rows together.
    reference : str, optional
        The scorer the others are compared with (default: the first).
    schools, per_school
        With ``per_school=True`` the top ``k`` of each school is flagged, as on
        a per-school panel list.
    as_of_dates : array-like, optional
        As-of date of each row when several are pooled: each date has its own list.
    censored : {"refuse", "keep"}
        ``"keep"``: pupils with an unknown outcome stay on the ranked list (they
        take places, as on the panel's list) but count neither as hits nor as
        misses; precision is over the flagged pupils with a known outcome.
    min_cases : int, default 50
        With fewer pupils with the outcome the report says the scorers cannot
        be told apart instead of giving verdicts.
    audit : FairnessAudit, optional
        The fairness audit of the same list: its headline (disparities outside
        the band, unreliable groups) is shown next to the table.
    unavailable : mapping name -> str, optional
        Scorers that could not run and why ("needs attendance_rate_4w"): shown as
        "not available" rows of the table.
    band_of_rows : array-like, optional
        The reference scorer's risk band of each row: the comparison then builds
        ``bands`` itself (by band and by decile of the reference score) and
        suppresses small counts jointly across the header, every scorer's
        precision and recall and both band tables, so no hidden count can be
        worked back by adding or subtracting published figures. Precision and
        recall that would reveal a small count are withheld (missing in
        ``table``, listed in the notes) with their intervals kept.
    """
    owner = "compare_scores"
    if censored not in ("refuse", "keep"):
        raise ValueError(
            f"The 'censored' parameter of {owner} must be 'refuse' or 'keep'. "
            f"Got {censored!r} instead."
        )
    y = check_labels(y_true, allow_missing=censored == "keep")
    known = ~np.isnan(y)
    y = np.where(known, y, 0.0)
    names = list(scores)
    reference = names[0] if reference is None else reference
    if reference not in scores:
        raise ValueError(
            f"The 'reference' parameter of {owner} must name a scorer {names}. "
            f"Got {reference!r} instead."
        )
    probabilities = dict(probabilities or {})
    arrays = {}
    for name in names:
        s = np.asarray(scores[name], dtype=float)
        if s.shape != y.shape or np.isnan(s).any():
            raise ValueError(
                f"The scores of {name!r} must be one number per row ({len(y)}), none missing."
            )
        p = probabilities.get(name)
        if p is not None:
            p = np.asarray(p, dtype=float)
            if p.shape != y.shape or np.isnan(p[known]).any():
                raise ValueError(f"The probabilities of {name!r} must be one per row ({len(y)}).")
        edges = None if p is None else quantile_edges(p[known], ece_bins)
        arrays[name] = (s, p, edges)
    strata = _strata(schools, per_school, as_of_dates, len(y), owner)
    reps = resamples(groups, len(y), n_bootstrap, random_state)
    estimates, draws = {}, {}
    for name, (s, p, edges) in arrays.items():
        estimates[name] = _all_metrics(y, known, s, p, k, strata, edges)
        draws[name] = [
            _all_metrics(
                y[i],
                known[i],
                s[i],
                None if p is None else p[i],
                k,
                None if strata is None else strata[i],
                edges,
            )
            for i in reps
        ]
    table = _table(estimates, draws, confidence)
    n_pos = int(y[known].sum())
    differences = _differences(draws, estimates, reference, confidence, n_pos < min_cases)
    flags = {name: flag_weights(s, k, strata=strata) for name, (s, _, _) in arrays.items()}
    n_listed = flags[reference].sum()
    groupings = {}
    if band_of_rows is not None:
        groupings = {"band": band_of_rows, "decile": deciles(arrays[reference][0])}
    protection = protect_comparison(y, known, flags, groupings)
    if band_of_rows is not None:
        bands = _protected_bands(
            y_true, arrays[reference][0], arrays[reference][1], band_of_rows, protection
        )
    table, differences = _withhold(table, differences, protection.withheld, reference)
    notes = list(notes)
    if protection.withheld:
        notes.append(
            f"Precision and recall of {', '.join(protection.withheld)} are withheld (c): they "
            f"would show, or let one work out, a count under {SMALL_COUNT} pupils; their "
            "intervals are shown."
        )
    if bands is not None and "suppressed" in bands and bands["suppressed"].any():
        notes.append(
            f"Band tables: counts under {SMALL_COUNT} are suppressed (blank, suppressed=True), "
            "with others wherever a sum or difference of published figures would reveal them."
        )
    if bands is not None and ("band", "high") in bands.index:
        n_high = bands.loc[("band", "high"), "n_pupils"]
        if not pd.isna(n_high) and int(n_high) != round(n_listed):
            notes.append(
                f"The 'high' band holds {n_high} pupils and the list {round(n_listed)}: the band "
                "is a share of the whole cohort, the list is the capacity"
                + (" of each school." if per_school else " (ties and rounding differ).")
            )
    if censored == "keep" and (~known).any():
        listed_unknown = flags[reference][~known].sum()
        shown = count_text(listed_unknown)
        notes.append(
            f"{count_text((~known).sum())} pupils have an unknown outcome (censored); they stay "
            f"on the ranked list ({shown} of {reference}'s "
            f"{round(n_listed)} places) but "
            "count neither as hits nor as misses."
        )
    return Comparison(
        table=table,
        k=int(round(n_listed)),
        n=len(y),
        n_positive=n_pos,
        outcome=outcome,
        confidence=confidence,
        n_bootstrap=n_bootstrap,
        notes=tuple(notes),
        bands=bands,
        differences=differences,
        reference=reference,
        n_censored=int((~known).sum()),
        per_school=bool(per_school),
        min_cases=int(min_cases),
        audit=audit,
        unavailable=dict(unavailable or {}),
        withheld=tuple(protection.withheld),
    )


def _cell(estimate, low, high, withheld: bool, pattern: str) -> str:
    """A metric cell: 'estimate (low-high)', 'c (low-high)' when withheld, 'n/a'."""
    if withheld:
        return pattern.replace("{:.3f}", "c", 1).format(low, high)
    if np.isnan(estimate):
        return "n/a"
    return pattern.format(estimate, low, high)


def _withhold(table, differences, withheld, reference):
    """Withheld scorers' precision and recall (and their paired differences) as missing."""
    if not withheld:
        return table, differences
    table = table.copy()
    table.loc[withheld, list(WITHHELD_METRICS)] = np.nan
    table = withhold_flat_intervals(table, WITHHELD_METRICS, rows=table.index.isin(withheld))
    if differences is not None:
        differences = differences.copy()
        scorers = differences.index.get_level_values(0)
        metrics = differences.index.get_level_values(1)
        rows = metrics.isin(WITHHELD_METRICS) & (scorers.isin(withheld) | (reference in withheld))
        differences.loc[rows, "difference"] = np.nan
    return table, differences


def _protected_bands(y_true, score, proba, band_of_rows, protection) -> pd.DataFrame:
    """The band and decile tables: outcome counts hidden as ``protection`` says (jointly
    with the rest of the comparison), pupil and unknown-outcome counts suppressed
    within the table, and the rate withheld wherever a count of its row is."""
    tables = {
        "band": band_table(y_true, band_of_rows, proba, suppress=False),
        "decile": band_table(
            y_true, pd.Categorical(deciles(score), categories=range(1, 11)), proba, suppress=False
        ),
    }
    for name, t in tables.items():
        hidden = protection.hidden.get(name, pd.Series(dtype=bool))
        hide = {
            "n_outcome": hidden.reindex(t.index, fill_value=False).to_numpy(dtype=bool),
            "n_pupils": suppress_small_counts(t["n_pupils"]),
            "n_censored": suppress_small_counts(t["n_censored"]),
        }
        for col, mask in hide.items():
            t[col] = t[col].astype("Int64")
            t.loc[mask, col] = pd.NA
        withheld = hide["n_outcome"] | hide["n_pupils"] | hide["n_censored"]
        t.loc[withheld, "observed_rate"] = np.nan
        t["suppressed"] = withheld
    return pd.concat(tables, names=["grouping", "level"])


def _table(estimates, draws, confidence) -> pd.DataFrame:
    rows = {}
    for name, est in estimates.items():
        row = {}
        for m in METRICS:
            values = [d[m] for d in draws[name]]
            if m == "ece":
                lo, hi = normal_interval(est[m], values, confidence, lower=0.0)
            else:
                lo, hi = percentiles(values, confidence)
            row.update({m: est[m], f"{m}_low": lo, f"{m}_high": hi})
        rows[name] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "scorer"
    return table


def _differences(draws, estimates, reference, confidence, too_few) -> pd.DataFrame | None:
    others = [name for name in estimates if name != reference]
    if not others:
        return None
    rows = []
    for name in others:
        for m in METRICS:
            diff = np.array(
                [a[m] - b[m] for a, b in zip(draws[reference], draws[name], strict=True)]
            )
            lo, hi = percentiles(diff, confidence)
            rows.append(
                {
                    "scorer": name,
                    "metric": m,
                    "difference": estimates[reference][m] - estimates[name][m],
                    "difference_low": lo,
                    "difference_high": hi,
                    "verdict": "too few cases" if too_few else verdict(lo, hi, m),
                }
            )
    return pd.DataFrame(rows).set_index(["scorer", "metric"])
