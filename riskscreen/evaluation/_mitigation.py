"""Mitigation under a fixed budget: group quotas that keep exactly k flags.

:class:`CapacityThresholds` learns, on a labelled fold, how many of each group
to flag so that a chosen metric (recall by default) is as equal as the budget
allows, then flags exactly k pupils on any later screening. fairlearn's
``ThresholdOptimizer`` is offered as an option (it does not keep k). The
result of :func:`compare_mitigation` shows the cost: precision at k and the
disparities before and after.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from riskscreen._render import markdown_table
from riskscreen.evaluation._confusion import group_labels
from riskscreen.evaluation._metrics import check_labels, resolve_k
from riskscreen.evaluation._ranking import flag_weights

CONSTRAINTS = ("recall", "fpr", "selection_rate")
FAIRLEARN_CONSTRAINTS = {
    "recall": "true_positive_rate_parity",
    "fpr": "false_positive_rate_parity",
    "selection_rate": "demographic_parity",
}


def _groups(sensitive_features, attribute, n: int, owner: str) -> np.ndarray:
    """Group label of each row from a Series, or a DataFrame and one of its columns."""
    if isinstance(sensitive_features, pd.DataFrame):
        if attribute is None and sensitive_features.shape[1] == 1:
            attribute = sensitive_features.columns[0]
        if attribute not in sensitive_features.columns:
            raise ValueError(
                f"The 'attribute' parameter of {owner} must name a column of "
                f"sensitive_features {list(sensitive_features.columns)}. Got {attribute!r}."
            )
        column = sensitive_features[attribute]
    else:
        column = pd.Series(np.asarray(sensitive_features, dtype=object))
    if len(column) != n:
        raise ValueError(
            f"The sensitive features of {owner} must have one row per score ({n}). "
            f"Got {len(column)}."
        )
    return group_labels(column.reset_index(drop=True)).to_numpy()


def _score(X) -> np.ndarray:
    s = np.asarray(X, dtype=float)
    return s[:, 0] if s.ndim == 2 else s


def _quota_counts(shares: np.ndarray, sizes: np.ndarray, k: int) -> np.ndarray:
    """Whole numbers per group close to share x size, adding up to exactly k."""
    want = shares * sizes
    base = np.minimum(np.floor(want), sizes).astype(np.int64)
    left = k - int(base.sum())
    order = np.argsort(-(want - base), kind="stable")
    room = sizes - base
    while left > 0 and room.sum() > 0:  # at most a few passes over the groups
        for g in order:
            if left == 0:
                break
            if room[g] > 0:
                base[g] += 1
                room[g] -= 1
                left -= 1
    while left < 0:
        g = int(np.argmax(base))
        base[g] -= 1
        left += 1
    return base


def _top_per_group(s: np.ndarray, codes: np.ndarray, counts: np.ndarray, tiebreak) -> np.ndarray:
    """Flag the ``counts[g]`` highest scores of each group g."""
    tb = np.arange(len(s)) if tiebreak is None else np.asarray(tiebreak)
    order = np.lexsort((tb, -s, codes))
    sizes = np.bincount(codes, minlength=len(counts))
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    position = np.empty(len(s), dtype=np.int64)
    position[order] = np.arange(len(s)) - np.repeat(starts, sizes)
    return position < counts[codes]


class CapacityThresholds(BaseEstimator):
    """Group-specific score thresholds that keep exactly k flags and equalise a metric.

    ``fit`` ranks each group by score on a labelled fold and finds how many of
    each to flag so that ``constraint`` (recall by default: the share of each
    group's pupils with the outcome who are flagged) reaches the highest level
    every group can reach within the budget; places left over go to the
    highest scores. The result is a share of each group to flag
    (``selection_rates_``). ``predict`` flags exactly k pupils on any scored
    cohort by taking those shares of each group, highest scores first.

    It does not make a model fair; it moves places on a fixed list between
    groups, at a cost in precision shown by :func:`compare_mitigation`.

    Parameters
    ----------
    k : float or int, default 0.05
        Capacity: a fraction of the cohort or a count.
    constraint : {"recall", "fpr", "selection_rate"}, default "recall"
    attribute : str, optional
        The column of ``sensitive_features`` whose groups are equalised.
    """

    def __init__(self, k: float | int = 0.05, constraint: str = "recall", attribute=None):
        self.k = k
        self.constraint = constraint
        self.attribute = attribute

    def fit(self, y_score, y_true, *, sensitive_features):
        owner = "CapacityThresholds"
        if self.constraint not in CONSTRAINTS:
            raise ValueError(
                f"The 'constraint' parameter of {owner} must be one of {list(CONSTRAINTS)}. "
                f"Got {self.constraint!r} instead."
            )
        s = _score(y_score)
        y = check_labels(y_true)
        if s.shape != y.shape:
            raise ValueError(
                f"{owner}.fit needs one score per outcome; got {s.shape} and {y.shape}."
            )
        labels = _groups(sensitive_features, self.attribute, len(s), owner)
        codes, uniques = pd.factorize(labels, sort=True)
        k = resolve_k(self.k, len(s))
        order = np.lexsort((np.arange(len(s)), -s, codes))
        sizes = np.bincount(codes, minlength=len(uniques))
        unit = {"recall": y, "fpr": 1 - y, "selection_rate": np.ones_like(y)}[self.constraint]
        counts = np.zeros(len(uniques), dtype=np.int64)
        curves = []
        for g, start in enumerate(np.r_[0, np.cumsum(sizes)[:-1]]):  # one pass per group
            u = unit[order[start : start + sizes[g]]]
            total = u.sum()
            curves.append(np.r_[0.0, np.cumsum(u) / total] if total else None)

        def needed(level: float) -> np.ndarray:
            return np.array(
                [0 if c is None else int(np.searchsorted(c, level - 1e-12)) for c in curves]
            )

        lo, hi = 0.0, 1.0
        for _ in range(60):  # bisection on the common level
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if needed(mid).sum() <= k else (lo, mid)
        counts = needed(lo)
        chosen = _top_per_group(s, codes, counts, None)
        left = k - int(chosen.sum())
        if left > 0:  # spare places go to the highest remaining scores
            rest = np.flatnonzero(~chosen)
            top = rest[np.lexsort((rest, -s[rest]))[:left]]
            chosen[top] = True
        per_group = np.bincount(codes, weights=chosen, minlength=len(uniques))
        self.groups_ = np.asarray(uniques, dtype=object)
        self.selection_rates_ = pd.Series(per_group / sizes, index=self.groups_, name="share")
        self.overall_rate_ = k / len(s)
        return self

    def predict(self, y_score, *, sensitive_features, tiebreak=None) -> np.ndarray:
        """Flags (bool) for a scored cohort: exactly k, the learnt share of each group."""
        check_is_fitted(self, "selection_rates_")
        s = _score(y_score)
        labels = _groups(sensitive_features, self.attribute, len(s), "CapacityThresholds")
        codes, uniques = pd.factorize(labels, sort=True)
        sizes = np.bincount(codes, minlength=len(uniques))
        shares = self.selection_rates_.reindex(uniques).fillna(self.overall_rate_).to_numpy()
        counts = _quota_counts(shares, sizes, resolve_k(self.k, len(s)))
        return _top_per_group(s, codes, counts, tiebreak)


class _ScoreAsModel(BaseEstimator):
    """A prefit 'model' whose decision function is the score itself (for fairlearn)."""

    def fit(self, X, y=None):
        self.classes_ = np.array([0, 1])
        return self

    def decision_function(self, X):
        return _score(X)


def threshold_optimizer_flags(y_score, y_true, groups, constraint, random_state) -> np.ndarray:
    """fairlearn's ThresholdOptimizer on the score (randomised; keeps no budget)."""
    try:
        from fairlearn.postprocessing import ThresholdOptimizer
    except ImportError as exc:
        raise ImportError(
            "method='threshold_optimizer' needs fairlearn: pip install fairlearn."
        ) from exc
    X = pd.DataFrame({"score": _score(y_score)})
    opt = ThresholdOptimizer(
        estimator=_ScoreAsModel().fit(X),
        constraints=FAIRLEARN_CONSTRAINTS[constraint],
        objective="balanced_accuracy_score",
        prefit=True,
        predict_method="decision_function",
    )
    opt.fit(X, np.asarray(y_true, dtype=int), sensitive_features=groups)
    return np.asarray(opt.predict(X, sensitive_features=groups, random_state=random_state), bool)


@dataclass(frozen=True)
class MitigationReport:
    """Before and after a mitigation: precision at k and the disparities, with intervals.

    Attributes
    ----------
    table : DataFrame
        One row per list ("as ranked", "equalised ...", optionally
        "ThresholdOptimizer"): ``n_flagged``, precision and recall with bounds,
        the lowest and highest group value of the constraint and their ratio.
    by_group : DataFrame
        The constraint and the selection rate of each group on each list.
    audits : dict
        The :class:`FairnessAudit` of each list (one attribute, no search).
    """

    table: pd.DataFrame
    by_group: pd.DataFrame
    audits: dict
    constraint: str
    attribute: str
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def _header(self) -> str:
        return (
            f"Mitigation under a fixed budget: equalising {self.constraint} across "
            f"{self.attribute}; the precision cost is the change in precision at k."
        )

    def __str__(self) -> str:
        return "\n".join(
            [
                self._header(),
                self.table.round(3).to_string(),
                "",
                self.by_group.round(3).to_string(),
                *self.notes,
            ]
        )

    def to_markdown(self) -> str:
        return "\n".join(
            [
                self._header(),
                "",
                markdown_table(self.table.round(3)),
                "",
                markdown_table(self.by_group.round(3)),
                "",
                *[f"- {n}" for n in self.notes],
            ]
        )

    def to_html(self) -> str:
        notes = "".join(f"<li>{n}</li>" for n in self.notes)
        return (
            f"<div><p>{self._header()}</p>{self.table.to_html(float_format='%.3f')}"
            f"{self.by_group.to_html(float_format='%.3f')}<ul>{notes}</ul></div>"
        )

    def _repr_html_(self) -> str:
        return self.to_html()


def compare_mitigation(
    y_true,
    y_score,
    *,
    sensitive_features,
    k: float | int,
    attribute: str | None = None,
    constraint: str = "recall",
    thresholds: CapacityThresholds | None = None,
    threshold_optimizer: bool = False,
    groups=None,
    n_bootstrap: int = 200,
    confidence: float = 0.95,
    outcome: str = "suspension",
    random_state: int | None = 0,
) -> MitigationReport:
    """The list as ranked against the mitigated list(s): precision cost and disparities.

    Parameters
    ----------
    thresholds : CapacityThresholds, optional
        Fitted on an earlier labelled fold and applied here (out of sample).
        Without it, one is fitted on these rows (in sample, said in the notes).
    threshold_optimizer : bool, default False
        Add fairlearn's ``ThresholdOptimizer`` (randomised, keeps no budget).
    """
    from riskscreen.evaluation._audit import FairnessAudit

    owner = "compare_mitigation"
    y = check_labels(y_true)
    s = _score(y_score)
    labels = _groups(sensitive_features, attribute, len(s), owner)
    name = attribute or getattr(sensitive_features, "name", None) or "group"
    if isinstance(sensitive_features, pd.DataFrame) and attribute is None:
        name = str(sensitive_features.columns[0])
    sens = pd.DataFrame({name: labels})
    notes = []
    if thresholds is None:
        thresholds = CapacityThresholds(k=k, constraint=constraint, attribute=name)
        thresholds.fit(s, y, sensitive_features=sens)
        notes.append(
            "The quotas were learnt on these same rows (in sample): fit CapacityThresholds on "
            "an earlier labelled date and pass it as 'thresholds' for an honest estimate."
        )
    lists = {
        "as ranked": flag_weights(s, k),
        f"equalised {constraint}": thresholds.predict(s, sensitive_features=sens).astype(float),
    }
    if threshold_optimizer:
        lists["ThresholdOptimizer (fairlearn)"] = threshold_optimizer_flags(
            s, y, labels, constraint, random_state
        ).astype(float)
        notes.append(
            "fairlearn's ThresholdOptimizer flags at random near its thresholds and does not "
            "keep the budget: compare its number flagged."
        )
    audits, rows, per_group = {}, {}, {}
    for list_name, flags in lists.items():
        audit = FairnessAudit.from_predictions(
            y,
            s,
            sensitive_features=sens,
            flagged=flags,
            groups=groups,
            intersections=None,
            search=False,
            n_bootstrap=n_bootstrap,
            confidence=confidence,
            outcome=outcome,
            random_state=random_state,
        )
        audits[list_name] = audit
        g = audit.by_group
        everyone = g.loc[("all", "all pupils")]
        part = g.xs(name, level="attribute")
        reliable = part[part["reliable"]][constraint].dropna()
        row = {"n_flagged": float(np.sum(flags))}
        for m in ("precision", "recall"):
            row.update(
                {
                    m: everyone[m],
                    f"{m}_low": everyone[f"{m}_low"],
                    f"{m}_high": everyone[f"{m}_high"],
                }
            )
        row[f"{constraint}_lowest"] = reliable.min() if len(reliable) else np.nan
        row[f"{constraint}_highest"] = reliable.max() if len(reliable) else np.nan
        with np.errstate(divide="ignore", invalid="ignore"):
            row[f"{constraint}_ratio"] = row[f"{constraint}_highest"] / row[f"{constraint}_lowest"]
        row["outside_band"] = int(audit.disparities["outside_band"].sum())
        rows[list_name] = row
        per_group[list_name] = part[[constraint, "selection_rate"]]
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "list"
    base = table.iloc[0]
    table["precision_cost"] = base["precision"] - table["precision"]
    notes.append(
        f"{constraint} lowest/highest/ratio use the reliable groups of {name}; 'outside_band' "
        "counts the disparities of the list whose interval lies outside the band."
    )
    return MitigationReport(
        table=table,
        by_group=pd.concat(per_group, axis=1),
        audits=audits,
        constraint=constraint,
        attribute=name,
        notes=tuple(notes),
    )
