"""Fairness audit at the panel's capacity: :class:`FairnessAudit`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from riskscreen._files import atomic_path
from riskscreen.evaluation import _audit_render as render
from riskscreen.evaluation._audit_build import (
    calibration_table,
    check_intersections,
    compute,
    disparity_table,
    group_table,
    plan_audit,
    school_table,
    worst_table,
)
from riskscreen.evaluation._bootstrap import cluster_codes
from riskscreen.evaluation._confusion import GroupCounts
from riskscreen.evaluation._disclosure import SMALL_COUNT, count_text
from riskscreen.evaluation._metrics import check_labels, precision_recall_curve_at_k
from riskscreen.evaluation._ranking import flag_weights

P_ADJUST = {"holm": "Holm (family-wise error)", "bh": "Benjamini-Hochberg (false discovery rate)"}


def check_options(
    owner, *, band, p_adjust, n_bootstrap, confidence, min_group_size, n_worst, small_count
):
    """Raise a clear error for any bad audit option."""
    try:
        lo, hi = (float(b) for b in band)
        good = 0 < lo < 1 < hi
    except (TypeError, ValueError):
        good = False
    if not good:
        raise ValueError(
            f"The 'band' parameter of {owner} must be two ratios (low, high) with "
            f"0 < low < 1 < high, such as (0.8, 1.25). Got {band!r} instead."
        )
    if p_adjust not in P_ADJUST:
        raise ValueError(
            f"The 'p_adjust' parameter of {owner} must be 'holm' or 'bh'. Got {p_adjust!r} instead."
        )
    for name, value, least in (
        ("n_bootstrap", n_bootstrap, 0),
        ("min_group_size", min_group_size, 1),
        ("n_worst", n_worst, 1),
        ("small_count", small_count, 1),
    ):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
            raise ValueError(
                f"The {name!r} parameter of {owner} must be a whole number of at least "
                f"{least}. Got {value!r} instead."
            )
    if not (isinstance(confidence, (float, int)) and 0 < confidence < 1):
        raise ValueError(
            f"The 'confidence' parameter of {owner} must be in (0, 1), such as 0.95. "
            f"Got {confidence!r} instead."
        )


def _pupil_ids(sensitive: pd.DataFrame, groups, n: int):
    if groups is not None:
        return np.asarray(groups)
    names = list(sensitive.index.names)
    if "pupil_id" in names:
        return sensitive.index.get_level_values("pupil_id").to_numpy()
    return None


def _align(obj, index: pd.Index, as_of_date, name: str, owner: str):
    """(obj matched to the screening's pupils, pupils not found).

    A Series or DataFrame indexed by ``pupil_id`` (or ``pupil_id, as_of_date``)
    is matched by key; anything else is taken in the screening's row order.
    """
    keyed = isinstance(obj, (pd.Series, pd.DataFrame)) and "pupil_id" in obj.index.names
    if not keyed:
        if isinstance(obj, (pd.Series, pd.DataFrame)):
            obj = obj.set_axis(index, axis=0) if len(obj) == len(index) else obj
        else:
            arr = np.asarray(obj)
            obj = arr if len(arr) != len(index) else pd.Series(arr, index=index)
        if len(obj) != len(index):
            raise ValueError(
                f"The {name!r} parameter of {owner} must have one entry per screened pupil "
                f"({len(index)}) or be indexed by pupil_id. Got {len(obj)} entries instead."
            )
        return obj, 0
    if isinstance(obj.index, pd.MultiIndex):
        if "as_of_date" in obj.index.names:
            dates = obj.index.get_level_values("as_of_date")
            obj = obj[np.asarray(dates == pd.Timestamp(as_of_date))].droplevel("as_of_date")
        if obj.index.nlevels > 1:
            obj = obj.droplevel([n for n in obj.index.names if n != "pupil_id"])
    if not obj.index.is_unique:
        raise ValueError(
            f"The {name!r} parameter of {owner} has {int(obj.index.duplicated().sum())} "
            "repeated pupil rows at the screening date; pass one row per pupil."
        )
    found = index.isin(obj.index)
    if not found.any():
        raise ValueError(
            f"The {name!r} parameter of {owner} shares no pupil with the screening of "
            f"{pd.Timestamp(as_of_date).date()} ({len(index)} pupils)."
        )
    return obj.reindex(index), int((~found).sum())


@dataclass(frozen=True, repr=False)
class FairnessAudit:
    """Who is missed and who is flagged wrongly, by group, at the panel's capacity.

    Computed once by :meth:`from_screening` or :meth:`from_predictions`; every
    table is a DataFrame (read-only by convention) and the whole audit renders
    as text, Markdown and self-contained HTML (:meth:`to_html`, :meth:`write_html`).

    Attributes
    ----------
    by_group : DataFrame
        One row per (attribute, group): ``n``, ``n_outcome``, ``n_flagged``,
        ``n_flagged_outcome`` (small counts suppressed), then ``base_rate``,
        ``selection_rate``, ``recall`` (TPR), ``fnr``, ``fpr``, ``precision``
        (PPV), ``false_omission_rate``, ``mean_predicted``, ``calibration``
        (observed / mean predicted) and ``auc`` within the group, each with
        ``_low``/``_high`` bootstrap bounds; ``reliable`` and ``suppressed``.
        The first row ("all", "all pupils") is everyone audited.
    disparities : DataFrame
        One row per (attribute, group, metric): ``reference`` group, ``ratio``
        with ``ratio_low``/``ratio_high`` (missing where every resample gave the
        same ratio: no events), ``p_value`` (``test`` says which), ``p_adjusted``
        (see ``p_adjust``), ``significant`` (adjusted p below 0.05),
        ``outside_band`` (the whole interval lies outside ``band``) and ``reliable``.
    schools : DataFrame or None
        With per-school capacity: each disparity split into ``between_ratio``
        (which schools the group attends) and ``within_ratio`` (how it is
        ranked inside them), with bounds; their product is ``ratio``.
    worst_groups : DataFrame
        The subgroups (one or two attributes, at least ``min_group_size``
        pupils) with the lowest recall and the highest FPR, with intervals,
        the ratio to everyone else and adjusted p-values.
    calibration : DataFrame
        Observed rate against mean predicted probability per group and bin.
    curve : DataFrame or None
        Precision and recall against the number flagged (everyone audited).
    """

    by_group: pd.DataFrame
    disparities: pd.DataFrame
    worst_groups: pd.DataFrame
    calibration: pd.DataFrame
    schools: pd.DataFrame | None = None
    curve: pd.DataFrame | None = None
    k: float = 0
    n: int = 0
    n_outcome: int = 0
    n_unknown: int = 0
    outcome: str = "suspension"
    per_school: bool = False
    band: tuple[float, float] = (0.8, 1.25)
    confidence: float = 0.95
    n_bootstrap: int = 200
    p_adjust: str = "holm"
    min_group_size: int = 50
    notes: tuple[str, ...] = field(default_factory=tuple)

    # -- construction --------------------------------------------------------------------------
    @classmethod
    def from_screening(cls, screening, y_true, *, sensitive_features, **options) -> FairnessAudit:
        """Audit a screening's list as the panel sees it (its flags, schools and capacity).

        Parameters
        ----------
        screening : Screening
            From ``Screener.score``: its ``flagged`` column is the list audited.
        y_true : Series or array-like
            The outcome of each screened pupil: a Series indexed by ``pupil_id``
            (or by ``pupil_id, as_of_date``, e.g. ``Dataset.y``), or an array in
            the screening's row order. Missing values (censored: left the
            authority) are not counted, and the report says how many.
        sensitive_features : DataFrame
            One column per attribute (e.g. from
            :func:`riskscreen.features.protected_characteristics`), indexed like
            ``y_true`` or in the screening's row order.
        **options
            As :meth:`from_predictions` (``intersections``, ``reference``,
            ``band``, ``n_bootstrap``, ``p_adjust``, ``min_group_size``, ...).
        """
        owner = "FairnessAudit.from_screening"
        frame = screening.frame
        date = screening.as_of_date
        y, y_missing = _align(y_true, frame.index, date, "y_true", owner)
        sens, s_missing = _align(sensitive_features, frame.index, date, "sensitive_features", owner)
        if not isinstance(sens, pd.DataFrame):
            raise ValueError(
                f"The 'sensitive_features' parameter of {owner} must be a DataFrame with one "
                f"column per attribute. Got {type(sensitive_features).__name__} instead."
            )
        scope = "per school" if screening.per_school else "overall"
        notes = [
            f"The list audited is the screening of {pd.Timestamp(date).date()} as the panel "
            f"sees it: {int(frame['flagged'].sum())} pupils flagged ({scope})."
        ]
        if y_missing:
            notes.append(
                f"{count_text(y_missing)} screened pupils had no outcome row (treated as unknown)."
            )
        if s_missing:
            notes.append(
                f"{count_text(s_missing)} screened pupils had no sensitive-feature row "
                "(group '(missing)')."
            )
        options.setdefault("outcome", screening.outcome)
        return cls.from_predictions(
            pd.array(y, dtype="Float64").to_numpy(dtype=float, na_value=np.nan),
            frame["score"].to_numpy(dtype=float),
            sensitive_features=sens.reset_index(drop=True),
            flagged=frame["flagged"].to_numpy(),
            y_prob=frame["probability"].to_numpy(dtype=float),
            schools=frame["school_id"].to_numpy(dtype=object),
            per_school=bool(screening.per_school),
            groups=frame.index.to_numpy(),
            _notes=tuple(notes),
            **options,
        )

    @classmethod
    def from_predictions(
        cls,
        y_true,
        y_score,
        *,
        sensitive_features: pd.DataFrame,
        k: float | int | None = None,
        y_prob=None,
        flagged=None,
        schools=None,
        per_school: bool = False,
        as_of_dates=None,
        groups=None,
        intersections="default",
        reference="largest",
        band: tuple[float, float] = (0.8, 1.25),
        n_bootstrap: int = 200,
        confidence: float = 0.95,
        p_adjust: str = "holm",
        min_group_size: int = 50,
        search: bool = True,
        n_worst: int = 5,
        small_count: int = SMALL_COUNT,
        outcome: str = "suspension",
        random_state: int | None = 0,
        _notes: tuple[str, ...] = (),
    ) -> FairnessAudit:
        """Audit scores (and the top ``k`` they flag) against outcomes, by group.

        Parameters
        ----------
        y_true : array-like of 0/1
            Outcomes; missing values (censored) are left out and counted.
        y_score : array-like of float
            Ranking score (higher = riskier); gives the flags at ``k`` and the AUCs.
        sensitive_features : DataFrame
            One column per attribute, in the row order of ``y_true`` (never a column
            of the model's X). Missing values form the group '(missing)'.
        k : float or int
            Capacity: a fraction of the rows or a count, per as-of date and, with
            ``per_school``, per school. Ties at the cut-off share the last places.
        y_prob : array-like, optional
            Calibrated probabilities (for observed / predicted by group).
        flagged : array-like of bool, optional
            The flags as given (e.g. the panel's list) instead of the top ``k``.
        schools, per_school
            School of each row; with ``per_school=True`` the capacity is per
            school and each disparity is split into between- and within-school parts.
        as_of_dates : array-like, optional
            As-of date of each row when several are pooled (capacity per date).
        groups : array-like, optional
            Pupil of each row: the bootstrap resamples pupils (default: the
            ``pupil_id`` index level of ``sensitive_features`` if any, else rows).
        intersections : "default", None or list of tuples
            Intersections to audit as groups of their own; "default" is
            ethnicity_major x sex and sen_status x fsm when present.
        reference : "largest" or mapping
            Reference group of each attribute (by default its largest group).
        band : (float, float), default (0.8, 1.25)
            A disparity is reported when its whole interval lies outside the band.
        p_adjust : {"holm", "bh"}
            Multiple-comparison control across every disparity (and, separately,
            across every subgroup searched).
        min_group_size : int, default 50
            Groups smaller than this (or with fewer than 5 outcomes) are marked
            unreliable; their intervals are shown.
        search : bool, default True
            Search every attribute and pair of attributes for the worst-off subgroups.
        n_worst : int, default 5
            Subgroups listed for each searched metric.
        small_count : int, default 5
            Counts below this are suppressed (DfE practice). Lower it only for
            working tables that never leave the analysis team.
        """
        owner = "FairnessAudit.from_predictions"
        check_options(
            owner,
            band=band,
            p_adjust=p_adjust,
            n_bootstrap=n_bootstrap,
            confidence=confidence,
            min_group_size=min_group_size,
            n_worst=n_worst,
            small_count=small_count,
        )
        y = check_labels(y_true, allow_missing=True)
        n = len(y)
        score = np.asarray(y_score, dtype=float)
        if score.shape != y.shape or np.isnan(score).any():
            raise ValueError(
                f"The 'y_score' parameter of {owner} must hold one number per row of y_true "
                f"({n}), none missing. Got shape {score.shape} with "
                f"{int(np.isnan(score).sum())} missing."
            )
        if not isinstance(sensitive_features, pd.DataFrame) or len(sensitive_features) != n:
            raise ValueError(
                f"The 'sensitive_features' parameter of {owner} must be a DataFrame with one "
                f"row per row of y_true ({n}). Got {type(sensitive_features).__name__} of "
                f"length {len(sensitive_features)} instead."
            )
        columns = [str(c) for c in sensitive_features.columns]
        sensitive = sensitive_features.set_axis(columns, axis=1)
        inter = check_intersections(intersections, columns, owner)
        pupils = _pupil_ids(sensitive_features, groups, n)
        flags = _flags(score, k, flagged, schools, per_school, as_of_dates, owner)
        prob = None if y_prob is None else np.asarray(y_prob, dtype=float)
        known = ~np.isnan(y)
        notes = list(_notes)
        if (~known).any():
            notes.append(
                f"{count_text((~known).sum())} rows with an unknown outcome (censored) are "
                f"not counted; {count_text(flags[~known].sum())} of them were flagged."
            )
        decompose = bool(per_school and schools is not None)
        clusters = cluster_codes(None if pupils is None else pupils[known], int(known.sum()))
        engine = GroupCounts(
            y[known],
            flags[known],
            None if prob is None else prob[known],
            score[known],
            sensitive if known.all() else sensitive.iloc[np.flatnonzero(known)],
            clusters,
            schools=np.asarray(schools, dtype=object)[known] if decompose else None,
        )
        plan = plan_audit(engine, columns, inter, decompose=decompose, search=search)
        nums = compute(
            engine,
            plan,
            reference,
            owner=owner,
            n_bootstrap=n_bootstrap,
            confidence=confidence,
            random_state=random_state,
        )
        clustered = len(clusters) > 0 and int(clusters.max()) + 1 < len(clusters)
        by_group = group_table(plan, nums, min_group_size=min_group_size, small_count=small_count)
        disparities = disparity_table(
            plan, nums, by_group, band=band, p_adjust=p_adjust, clustered=clustered
        )
        notes += render.method_notes(
            n_bootstrap=n_bootstrap,
            confidence=confidence,
            clustered=clustered,
            p_adjust=P_ADJUST[p_adjust],
            n_tests=int(disparities["p_value"].notna().sum()),
            min_group_size=min_group_size,
            band=band,
            any_suppressed=bool(by_group["suppressed"].any()),
        )
        return cls(
            by_group=by_group,
            disparities=disparities,
            worst_groups=worst_table(
                plan,
                nums,
                engine,
                min_group_size=min_group_size,
                p_adjust=p_adjust,
                clustered=clustered,
                n_worst=n_worst,
                small_count=small_count,
            ),
            calibration=calibration_table(engine, None if prob is None else prob[known], plan),
            schools=school_table(plan, nums, disparities) if decompose else None,
            curve=precision_recall_curve_at_k(
                y[known], score[known], order=engine.score_order()[::-1]
            ),
            k=round(float(flags.sum()), 6),
            n=int(known.sum()),
            n_outcome=int(y[known].sum()),
            n_unknown=int((~known).sum()),
            outcome=outcome,
            per_school=decompose,
            band=(float(band[0]), float(band[1])),
            confidence=float(confidence),
            n_bootstrap=int(n_bootstrap),
            p_adjust=p_adjust,
            min_group_size=int(min_group_size),
            notes=tuple(notes),
        )

    # -- reading -------------------------------------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        """The per-group table (a copy)."""
        return self.by_group.copy()

    def outside_band(self, *, reliable_only: bool = False) -> pd.DataFrame:
        """Disparities whose whole interval lies outside the band."""
        d = self.disparities[self.disparities["outside_band"]]
        return d[d["reliable"]] if reliable_only else d

    def unreliable_groups(self) -> list[str]:
        """'attribute group' of every group too small to read."""
        rows = self.by_group[~self.by_group["reliable"]]
        return [render.label(a, g) for a, g in rows.index]

    def headline(self) -> str:
        """A few lines: disparities outside the band and the unreliable groups."""
        return render.headline(self)

    def guidance(self) -> list[str]:
        """What the audit means, in words (recall first for assistive early help)."""
        return render.guidance(self)

    def __str__(self) -> str:
        return render.text(self)

    def __repr__(self) -> str:
        return f"<FairnessAudit {render.header(self)}>"

    def to_markdown(self) -> str:
        return render.markdown(self)

    def to_html(self, *, plots: bool = True) -> str:
        """A self-contained HTML page (tables and plots inline; opens with no network)."""
        return render.html_page(self, plots=plots)

    def _repr_html_(self) -> str:
        return render.html_body(self, plots=False)

    def write_html(self, path) -> Path:
        """Write :meth:`to_html` to ``path`` atomically."""
        html = self.to_html()
        with atomic_path(path) as tmp:
            tmp.write_text(html, encoding="utf-8")
        return Path(path)


def _flags(score, k, flagged, schools, per_school, as_of_dates, owner) -> np.ndarray:
    """The audited list: given flags, or the top k (per date, per school) tie-aware."""
    n = len(score)
    if flagged is not None:
        f = np.asarray(flagged, dtype=float)
        if f.shape != (n,) or np.isnan(f).any() or (f < 0).any() or (f > 1).any():
            raise ValueError(
                f"The 'flagged' parameter of {owner} must hold one flag (bool, or a share in "
                f"[0, 1]) per row ({n})."
            )
        return f
    if k is None:
        raise ValueError(f"{owner} needs the capacity 'k' (or the flags as 'flagged=').")
    if per_school and schools is None:
        raise ValueError(f"The 'per_school' parameter of {owner} needs 'schools='.")
    keys = []
    if as_of_dates is not None:
        keys.append(pd.Series(np.asarray(as_of_dates)).astype(str).to_numpy())
    if per_school:
        keys.append(pd.Series(np.asarray(schools, dtype=object)).astype(str).to_numpy())
    strata = None
    if keys:
        strata = keys[0] if len(keys) == 1 else np.char.add(np.char.add(keys[0], "|"), keys[1])
    try:
        return flag_weights(score, k, strata=strata)
    except ValueError as exc:
        raise ValueError(f"The 'k' parameter of {owner}: {exc}") from None
