"""``Screener.evaluate`` on a labelled Dataset: the list the panel sees, scored.

Kept apart from :mod:`riskscreen._screener` so the estimator reads as its steps:
the comparison with the rule baselines (pooled over the as-of dates and per
date), the risk bands and the fairness audit of the same list.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from riskscreen.evaluation import FairnessAudit

PUPIL = "pupil_id"
AS_OF = "as_of_date"


def sensitive_frame(sensitive_features, data, owner: str) -> pd.DataFrame | None:
    """The audit groups aligned to ``data.X`` (None: no audit).

    ``"default"``: the Dataset's protected characteristics (columns with fewer
    than two groups in the data, e.g. no SEN table at all, are left out); a
    DataFrame indexed by ``pupil_id`` or by (``pupil_id``, ``as_of_date``): any
    columns the analyst names (disability, deprivation band, ...); None: no audit.
    """
    index = data.X.index
    if sensitive_features is None:
        return None
    if isinstance(sensitive_features, str) and sensitive_features == "default":
        if data.sensitive is None:
            return None
        frame = data.sensitive.reindex(index)
        frame = frame.loc[:, frame.nunique(dropna=True) >= 2]
        return frame if frame.shape[1] else None
    if not isinstance(sensitive_features, pd.DataFrame):
        raise ValueError(
            f"The 'sensitive_features' parameter of {owner} must be 'default', None or a "
            "DataFrame of group columns indexed by pupil_id (or pupil_id, as_of_date). "
            f"Got {type(sensitive_features).__name__} instead."
        )
    frame = sensitive_features
    if isinstance(frame.index, pd.MultiIndex):
        if list(frame.index.names) != [PUPIL, AS_OF]:
            raise ValueError(
                f"The 'sensitive_features' parameter of {owner}: a MultiIndex must be "
                f"(pupil_id, as_of_date); got {list(frame.index.names)}."
            )
        out = frame.reindex(index)
    else:
        if frame.index.has_duplicates:
            raise ValueError(
                f"The 'sensitive_features' parameter of {owner}: {frame.index.duplicated().sum()} "
                "rows repeat a pupil; give one row per pupil, or index by (pupil_id, as_of_date)."
            )
        out = frame.reindex(index.get_level_values(PUPIL))
        out.index = index
    if out.shape[1] == 0:
        raise ValueError(f"The 'sensitive_features' parameter of {owner} has no columns.")
    return out


def evaluate_dataset(screener, data, *, n_bootstrap, sensitive_features, notes=()):
    """The pooled :class:`~riskscreen.evaluation.Comparison` with ``by_date`` and ``audit``."""
    owner = "Screener.evaluate"
    index = data.X.index
    Xm = screener._model_X(data.X)
    raw, proba = screener._scores(Xm)
    y = data.y.reindex(index).astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    pupils = index.get_level_values(PUPIL).to_numpy()
    dates = pd.DatetimeIndex(index.get_level_values(AS_OF))
    schools = data.cohort.reindex(index)["school_id"].to_numpy()
    nb = screener.n_bootstrap if n_bootstrap is None else n_bootstrap
    groups = sensitive_frame(sensitive_features, data, owner)
    audit = None
    notes = list(notes)
    if groups is not None:
        audit = FairnessAudit.from_predictions(
            y,
            raw,
            sensitive_features=groups,
            k=screener.capacity,
            y_prob=proba,
            schools=schools,
            per_school=bool(screener.per_school),
            as_of_dates=dates.to_numpy(),
            groups=pupils,
            outcome=screener._outcome_for_words(),
            n_bootstrap=nb,
            random_state=screener.random_state,
        )
    elif isinstance(sensitive_features, str):
        notes.append(
            "No fairness audit: the data hold no protected characteristics (build the "
            "Dataset with sensitive=True, or pass sensitive_features=)."
        )
    bands = screener._bands_of(raw, proba, pupils)
    by_date = {}
    if len(data.as_of_dates) > 1:
        for d in data.as_of_dates:
            rows = np.asarray(dates == d)
            by_date[str(d.date())] = screener._compare(
                Xm[rows],
                y[rows],
                pupils[rows],
                schools=schools[rows],
                n_bootstrap=nb,
                band_of_rows=screener._bands_of(raw[rows], proba[rows], pupils[rows]),
            )
    comparison = screener._compare(
        Xm,
        y,
        pupils,
        schools=schools,
        as_of_dates=dates.to_numpy(),
        notes=notes,
        n_bootstrap=nb,
        band_of_rows=bands,
        audit=audit,
    )
    # a scorer withheld on one date (or pooled) is withheld everywhere: the pooled
    # count minus the other dates' would give the hidden one away
    withheld = set(comparison.withheld).union(*(c.withheld for c in by_date.values()))
    by_date = {d: c.withholding(withheld) for d, c in by_date.items()}
    return replace(comparison.withholding(withheld), by_date=by_date)
