"""The :class:`Explanation` of a screening, and :func:`explain`, which computes it once."""

from __future__ import annotations

import html
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from riskscreen._files import atomic_path
from riskscreen._render import markdown_table
from riskscreen.explain._columns import Column, membership, resolve_columns
from riskscreen.explain._context import spell_starts
from riskscreen.explain._reasons import reason_table
from riskscreen.explain._shap import check_additivity, contributions

SCALE_NOTE = (
    "Values are in log-odds of the model's score (its margin): for each pupil they add "
    "up, with the base value, to the score that ranks the list. The calibrated "
    "probability is a monotone ({calibration}) map of that score, so the same reasons "
    "explain the ranking; they do not add up to the probability."
)


@dataclass(frozen=True)
class Explanation:
    """SHAP values and reasons in words for the pupils of a screening, computed once.

    Attributes
    ----------
    values : DataFrame
        One row per explained pupil (index ``pupil_id``), one column per model
        feature: its contribution to the pupil's score in log-odds.
    base_value : float
        The score of a pupil with no information (the background's mean margin);
        ``values.sum(axis=1) + base_value`` is each pupil's score.
    data : DataFrame
        The feature values explained (same index and columns as ``values``).
    reasons : DataFrame
        One row per pupil and reason: pupil_id, rank (1 = largest), group (the
        reason group), direction ("raises risk" / "lowers risk"), contribution
        (log-odds, the group's values added up) and text.
    importance : DataFrame
        Global importance by reason group: mean absolute value (``mean_abs``) and
        mean value, over ``n_importance_rows`` pupils, largest first.
    feature_importance : DataFrame
        The same by model column.
    groups : DataFrame
        For each model column: its feature, group, whether it is a missing-value
        indicator and whether it is a protected characteristic.
    method, scale : str
        How the values were computed, and on which scale ("log-odds").
    max_additivity_error : float
        Largest gap between ``values.sum + base_value`` and the model's score.
    """

    values: pd.DataFrame
    base_value: float
    data: pd.DataFrame
    reasons: pd.DataFrame
    importance: pd.DataFrame
    feature_importance: pd.DataFrame
    groups: pd.DataFrame
    method: str
    as_of_date: pd.Timestamp
    outcome: str
    model_info: dict
    max_additivity_error: float
    n_importance_rows: int
    scale: str = "log-odds"
    notes: tuple[str, ...] = field(default_factory=tuple)

    # -- derived tables ------------------------------------------------------------------------
    def group_values(self) -> pd.DataFrame:
        """Contributions added up by reason group (one column per group)."""
        groups = list(dict.fromkeys(self.groups["group"]))
        matrix = (self.groups["group"].to_numpy()[:, None] == np.asarray(groups)[None, :]) * 1.0
        return pd.DataFrame(
            self.values.to_numpy() @ matrix, index=self.values.index, columns=groups
        )

    def reasons_wide(self, n: int | None = None) -> pd.DataFrame:
        """One row per explained pupil: ``reason_1`` ... ``reason_n`` (empty where fewer)."""
        n = int(self.reasons["rank"].max()) if n is None and len(self.reasons) else (n or 0)
        kept = self.reasons[self.reasons["rank"] <= n]
        wide = kept.pivot(index="pupil_id", columns="rank", values="text")
        wide = wide.reindex(index=self.values.index, columns=range(1, n + 1))
        wide = wide.astype(object).where(wide.notna(), "")
        wide.columns = [f"reason_{i}" for i in range(1, n + 1)]
        return wide

    def pupil(self, pupil_id) -> pd.DataFrame:
        """One pupil's contributions by reason group, largest first (for a waterfall)."""
        if pupil_id not in self.values.index:
            raise KeyError("That pupil is not among the pupils of this explanation.")
        row = self.group_values().loc[pupil_id]
        order = row.abs().sort_values(ascending=False, kind="stable").index
        out = pd.DataFrame({"contribution": row[order]})
        words = self.reasons[self.reasons["pupil_id"] == pupil_id].set_index("group")["text"]
        out["text"] = words.astype(object).reindex(out.index).fillna("").to_numpy()
        out.index.name = "group"
        return out

    # -- rendering -----------------------------------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        """The reasons table (one row per pupil and reason)."""
        return self.reasons.copy()

    def _header(self) -> str:
        return (
            f"Explanation of the {self.outcome} screening at {self.as_of_date.date()}: "
            f"{len(self.values)} pupils, {len(self.values.columns)} features in "
            f"{self.groups['group'].nunique()} reason groups; {self.method}; scale "
            f"{self.scale}; base value {self.base_value:.3f}; largest additivity gap "
            f"{self.max_additivity_error:.1e}."
        )

    def _examples(self, max_pupils: int) -> pd.DataFrame:
        wide = self.reasons_wide()
        return wide.head(max_pupils)

    def to_markdown(self, max_rows: int = 15, max_pupils: int = 5) -> str:
        imp = self.importance.head(max_rows).round(4)
        parts = [self._header(), *self.notes, "Global importance (mean |SHAP|, log-odds):"]
        parts += [markdown_table(imp), "Reasons of the first pupils explained:"]
        parts.append(markdown_table(self._examples(max_pupils)))
        return "\n\n".join(parts)

    def to_html(self, max_rows: int = 15, max_pupils: int = 5) -> str:
        notes = "".join(f"<p>{html.escape(n)}</p>" for n in self.notes)
        return (
            f"<div><p>{html.escape(self._header())}</p>{notes}"
            "<p>Global importance (mean |SHAP|, log-odds)</p>"
            f"{self.importance.head(max_rows).to_html(float_format='%.4f')}"
            f"<p>Reasons of the first pupils explained</p>"
            f"{self._examples(max_pupils).to_html()}</div>"
        )

    def _repr_html_(self) -> str:
        return self.to_html()

    def __repr__(self) -> str:
        return f"<Explanation {self._header()}>"

    def write_csv(self, path, *, what: str = "reasons") -> Path:
        """Write the reasons (``what="reasons"``) or the SHAP values (``"values"``) atomically."""
        if what not in ("reasons", "values"):
            raise ValueError(
                f"The 'what' parameter of Explanation.write_csv must be 'reasons' or 'values'. "
                f"Got {what!r} instead."
            )
        frame = self.reasons if what == "reasons" else self.values
        with atomic_path(path) as tmp:
            frame.to_csv(tmp, index=what == "values")
        return Path(path)


def _model_parts(model, screening, spec):
    """(estimator, feature names, spec, model info, known margin or None, calibration)."""
    if hasattr(model, "model_") and hasattr(model, "feature_names_"):  # a fitted Screener
        info = dict(getattr(model, "model_info_", {}))
        same = all(
            screening.model_info.get(k) == info.get(k) for k in ("params_hash", "fit_timestamp")
        )
        if not same:
            raise ValueError(
                "explain: the screening was not made by this screener (its model "
                "parameters or fit time differ); explain it with the screener that scored it."
            )
        margin = screening.frame["score"].to_numpy(dtype=float)
        return (
            model.model_,
            list(model.feature_names_),
            model.spec_,
            info,
            margin,
            model.calibration,
        )
    names = getattr(model, "feature_names_in_", None)
    if names is None:
        X = screening.features
        names = [c for c in X.columns if pd.api.types.is_numeric_dtype(X[c])]
    if spec is None:
        from riskscreen.features import default_spec

        spec = default_spec()
    info = dict(screening.model_info)
    return model, [str(n) for n in names], spec, info, None, "isotonic or sigmoid"


def _select(screening, pupils) -> np.ndarray:
    frame = screening.frame
    if isinstance(pupils, str):
        if pupils == "all":
            return np.ones(len(frame), dtype=bool)
        if pupils == "flagged":
            return frame["flagged"].to_numpy(dtype=bool)
        raise ValueError(
            "The 'pupils' parameter of explain must be 'all', 'flagged' or a list of "
            f"pupil ids. Got {pupils!r} instead."
        )
    wanted = pd.Index(pupils)
    missing = int((~wanted.isin(frame.index)).sum())
    if missing:
        raise ValueError(
            f"The 'pupils' parameter of explain names {missing} pupil(s) that are not in "
            "the screening."
        )
    return frame.index.isin(wanted)


def explain(
    model,
    screening,
    *,
    pupils="all",
    n_reasons: int = 3,
    histories=None,
    spec=None,
    importance_sample: int = 10_000,
    n_jobs: int | None = None,
    random_state: int | None = 0,
) -> Explanation:
    """SHAP values and the top reasons in words for the pupils of a screening.

    Parameters
    ----------
    model : Screener, LGBMRiskModel, LogisticScorecard, LightGBM model or linear model
        A fitted :class:`~riskscreen.Screener` (its model, features and feature spec
        are used, and the screening must be its own), or a bare fitted model.
    screening : Screening
        From ``Screener.score``.
    pupils : "all", "flagged" or list of pupil ids, default "all"
        Whom to explain. With "flagged" (the fast path for panels), the global
        importance comes from a random sample of the whole screening.
    n_reasons : int, default 3
        Reasons kept per pupil (the groups with the largest absolute values).
    histories : LinkedHistories or path, optional
        The histories the screening was built from: reasons for open spells then
        say since when ("on a child protection plan since March 2025").
    spec : FeatureSpec, optional
        For a bare model: the features' descriptions (default: the default spec).
    importance_sample : int, default 10000
        Pupils sampled for the global importance when not all are explained.
    n_jobs : int, optional
        Threads for LightGBM's tree SHAP (default: the ``threads`` setting of
        :func:`riskscreen.config_context`, else one per core). Values do not
        depend on it.
    random_state : int, optional

    Returns
    -------
    Explanation

    Examples
    --------
    >>> from riskscreen.explain import explain  # doctest: +SKIP
    >>> explanation = explain(screener, screening, pupils="flagged")  # doctest: +SKIP
    >>> explanation.reasons.head()  # doctest: +SKIP
    """
    if isinstance(n_reasons, bool) or not isinstance(n_reasons, (int, np.integer)):
        raise ValueError(
            f"The 'n_reasons' parameter of explain must be an integer >= 1. Got {n_reasons!r}."
        )
    if n_reasons < 1:
        raise ValueError(
            f"The 'n_reasons' parameter of explain must be an integer >= 1. Got {n_reasons!r}."
        )
    estimator, names, spec, info, margin, calibration = _model_parts(model, screening, spec)
    if n_jobs is None:
        from riskscreen import get_config

        n_jobs = get_config()["threads"] or os.cpu_count() or 1
    X = screening.features
    missing = [c for c in names if c not in X.columns]
    if missing:
        raise ValueError(f"explain: the screening lacks model features {missing[:10]}.")
    X = X[names].astype("float64").droplevel("as_of_date")
    if not X.index.equals(screening.frame.index):
        X = X.reindex(screening.frame.index)
    chosen = _select(screening, pupils)
    X_sel = X if chosen.all() else X[chosen]
    known = None if margin is None else margin[chosen]
    out = contributions(estimator, X_sel, n_jobs=n_jobs, margin=known)
    gap = check_additivity(out, known)
    columns = resolve_columns(names, spec)
    values = pd.DataFrame(out.values, index=X_sel.index, columns=names, copy=False)
    if chosen.all() or importance_sample <= 0:
        sample_values, n_rows = out.values, len(X_sel)
    else:
        rng = np.random.default_rng(random_state)
        take = np.sort(rng.choice(len(X), size=min(importance_sample, len(X)), replace=False))
        sample = contributions(estimator, X.iloc[take], n_jobs=n_jobs)
        sample_values, n_rows = sample.values, len(take)
    starts = None
    if histories is not None and len(X_sel):
        starts = spell_starts(histories, screening.frame[chosen], screening.as_of_date, columns)
    reasons = reason_table(
        out.values,
        X_sel.to_numpy(),
        columns,
        X_sel.index,
        as_of=screening.as_of_date,
        n_reasons=n_reasons,
        starts=starts,
    )
    importance, feature_importance = _importance(sample_values, columns)
    protected = [c.group for c in columns if c.protected]
    notes = [SCALE_NOTE.format(calibration=calibration)]
    if protected:
        notes.append(
            f"Protected characteristics were model inputs by explicit choice "
            f"({', '.join(dict.fromkeys(protected))}); reasons name them as such."
        )
    return Explanation(
        values=values,
        base_value=out.base_value,
        data=X_sel,
        reasons=reasons,
        importance=importance,
        feature_importance=feature_importance,
        groups=_groups_frame(columns),
        method=out.method,
        as_of_date=pd.Timestamp(screening.as_of_date),
        outcome=screening.outcome,
        model_info=info,
        max_additivity_error=gap,
        n_importance_rows=n_rows,
        notes=tuple(notes),
    )


def _groups_frame(columns: list[Column]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "feature": [c.feature for c in columns],
            "group": [c.group for c in columns],
            "indicator": [c.indicator for c in columns],
            "protected": [c.protected for c in columns],
        },
        index=pd.Index([c.name for c in columns], name="column"),
    )


def _importance(values: np.ndarray, columns: list[Column]) -> tuple[pd.DataFrame, pd.DataFrame]:
    groups, matrix = membership(columns)
    names = [c.name for c in columns]
    by_col = pd.DataFrame(
        {"mean_abs": np.abs(values).mean(axis=0), "mean": values.mean(axis=0)},
        index=pd.Index(names, name="column"),
    )
    gv = values @ matrix
    by_group = pd.DataFrame(
        {"mean_abs": np.abs(gv).mean(axis=0), "mean": gv.mean(axis=0)},
        index=pd.Index(groups, name="group"),
    )
    if len(values) == 0:
        by_col[:] = np.nan
        by_group[:] = np.nan
    sort = {"by": "mean_abs", "ascending": False, "kind": "stable"}
    return by_group.sort_values(**sort), by_col.sort_values(**sort)
