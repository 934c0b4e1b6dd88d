"""Snapshots, interventions, panel decisions and later outcomes joined: :func:`build_study`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from riskscreen._render import markdown_table
from riskscreen._time import Duration, label_window_complete, parse_duration
from riskscreen.data import as_histories
from riskscreen.evaluation import suppress_small_counts
from riskscreen.interventions._outcomes import (
    attendance,
    binary_outcome,
    custom_outcome,
    label_name,
    outcome_kind,
)
from riskscreen.interventions._snapshots import Snapshot, SnapshotStore

PUPIL, AS_OF = "pupil_id", "as_of_date"
OWNER = "build_study"


@dataclass(frozen=True)
class Study:
    """Who was screened, who was helped and what happened next, row for row.

    Built by :func:`build_study`; every frame is indexed by (pupil_id, as_of_date).

    Attributes
    ----------
    frame : DataFrame
        The snapshot columns (school_id, ncyear, score, probability, decile, band,
        rank, rank_in_school, flagged), ``treated`` (bool), ``outcome`` (float:
        0/1 for a screening label), ``outcome_pre`` (the same attendance measure
        over the pre-period, for attendance outcomes), ``outcome_pre2`` (the
        period before that, when the data reach back far enough) and any panel
        decision columns.
    confounders : DataFrame
        What was known at each as-of date: the risk score and the features the
        model scored. Nothing measured on or after the as-of date.
    outcome : str
        The outcome's name (``"suspension"``, ``"attendance_rate"``, ...).
    outcome_kind : {"binary", "continuous", "custom"}
    horizon : Duration
        Outcome window ``[as_of, as_of + horizon)``.
    treatment_window : Duration
        An intervention starting in ``[as_of, as_of + treatment_window)`` counts
        as help following that list.
    treatment : str
        Where ``treated`` comes from (``"interventions"``, a decisions column, ...).
    per_school : bool
        Whether the lists' capacity applied within each school.
    dropped : dict
        Rows left out, by reason (counts).
    notes : tuple of str
    """

    frame: pd.DataFrame
    confounders: pd.DataFrame
    outcome: str
    outcome_kind: str
    horizon: Duration
    treatment_window: Duration
    treatment: str
    per_school: bool = False
    dropped: dict = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def as_of_dates(self) -> list[pd.Timestamp]:
        return sorted(pd.Timestamp(d) for d in self.frame.index.get_level_values(AS_OF).unique())

    @property
    def treated(self) -> np.ndarray:
        return self.frame["treated"].to_numpy(dtype=bool)

    @property
    def y(self) -> np.ndarray:
        return self.frame["outcome"].to_numpy(dtype=float)

    def __len__(self) -> int:
        return len(self.frame)

    def summary(self) -> pd.DataFrame:
        """Per as-of date: pupils, flagged, treated, mean outcome of each group.

        Counts under 5 are suppressed (<NA>), with secondary suppression, and so
        is the mean outcome of a suppressed group.
        """
        f = self.frame
        g = f.groupby(level=AS_OF)
        counts = pd.DataFrame(
            {
                "n_pupils": g.size(),
                "n_flagged": g["flagged"].sum(),
                "n_treated": g["treated"].sum(),
            }
        )
        counts["n_untreated"] = counts["n_pupils"] - counts["n_treated"]
        means = pd.DataFrame(
            {
                "outcome_treated": f[f["treated"]].groupby(level=AS_OF)["outcome"].mean(),
                "outcome_untreated": f[~f["treated"]].groupby(level=AS_OF)["outcome"].mean(),
            }
        ).reindex(counts.index)
        out = counts.astype("Int64")
        for date in out.index:
            hide = suppress_small_counts(counts.loc[date, ["n_treated", "n_untreated"]].to_numpy())
            out.loc[date, ["n_treated", "n_untreated"]] = [
                pd.NA if h else v
                for h, v in zip(hide, counts.loc[date, ["n_treated", "n_untreated"]], strict=True)
            ]
            if hide[0]:
                means.loc[date, "outcome_treated"] = np.nan
            if hide[1]:
                means.loc[date, "outcome_untreated"] = np.nan
        for col in ("n_pupils", "n_flagged"):
            out.loc[suppress_small_counts(counts[col].to_numpy()), col] = pd.NA
        out.index = [str(pd.Timestamp(d).date()) for d in out.index]
        means.index = out.index
        out.index.name = AS_OF
        return pd.concat([out, means.round(4)], axis=1)

    def to_frame(self) -> pd.DataFrame:
        """The per-row table (a copy): snapshot columns, treated, outcome, decisions."""
        return self.frame.copy()

    def _header(self) -> str:
        dates = ", ".join(str(d.date()) for d in self.as_of_dates)
        return (
            f"Study of {self.outcome} over {self.horizon.text} after each list ({dates}); "
            f"treated = {self.treatment} starting within {self.treatment_window.text} of the "
            f"as-of date."
        )

    def _dropped_text(self) -> str:
        if not self.dropped:
            return ""
        counts = np.array(list(self.dropped.values()))
        hide = suppress_small_counts(counts)
        parts = [
            f"{reason}: {'fewer than 5' if h else int(n)}"
            for (reason, n), h in zip(self.dropped.items(), hide, strict=True)
        ]
        return "Rows left out - " + "; ".join(parts) + "."

    def to_markdown(self) -> str:
        extra = [t for t in (self._dropped_text(), *self.notes) if t]
        return "\n\n".join([self._header(), markdown_table(self.summary()), *extra])

    def to_html(self) -> str:
        extra = "".join(f"<p>{t}</p>" for t in (self._dropped_text(), *self.notes) if t)
        table = self.summary().to_html(na_rep="&lt;5", float_format="%.3f")
        return f"<div><p>{self._header()}</p>{table}{extra}</div>"

    def _repr_html_(self) -> str:
        return self.to_html()

    def __repr__(self) -> str:
        return f"<Study {len(self.frame)} rows: {self._header()}>"


def _snapshots(snapshots) -> list[Snapshot]:
    if isinstance(snapshots, SnapshotStore):
        items = snapshots.snapshots()
    elif isinstance(snapshots, Snapshot) or hasattr(snapshots, "as_of_date"):
        items = [snapshots]
    elif isinstance(snapshots, Iterable):
        items = list(snapshots)
    else:
        items = []
    items = [s if isinstance(s, Snapshot) else Snapshot.from_screening(s) for s in items]
    if not items:
        raise ValueError(
            f"The 'snapshots' parameter of {OWNER} must be a SnapshotStore, a Snapshot, a "
            f"Screening or a list of them, with at least one list. Got {snapshots!r} instead."
        )
    dates = [s.as_of_date for s in items]
    dupes = sorted({str(d.date()) for d in dates if dates.count(d) > 1})
    if dupes:
        raise ValueError(
            f"{OWNER}: several snapshots share as-of date(s) {dupes}; pass one model's lists "
            "(e.g. store.snapshots(version=...))."
        )
    columns = {tuple(s.features.columns) for s in items}
    if len(columns) > 1:
        raise ValueError(
            f"{OWNER}: the snapshots hold different feature sets; study lists made by models "
            "with the same features."
        )
    return sorted(items, key=lambda s: s.as_of_date)


def _keyed(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """A frame keyed by (pupil_id, as_of_date), as index levels or columns."""
    if list(frame.index.names) != [PUPIL, AS_OF]:
        if not {PUPIL, AS_OF} <= set(frame.columns):
            raise ValueError(
                f"The '{name}' parameter of {OWNER} must be keyed by (pupil_id, as_of_date): "
                f"as its index or as columns. Got columns {list(frame.columns)[:8]} instead."
            )
        frame = frame.set_index([PUPIL, AS_OF])
    idx = pd.MultiIndex.from_arrays(
        [
            frame.index.get_level_values(PUPIL).astype("int64"),
            pd.DatetimeIndex(frame.index.get_level_values(AS_OF)).normalize(),
        ],
        names=[PUPIL, AS_OF],
    )
    frame = frame.set_axis(idx)
    if frame.index.has_duplicates:
        raise ValueError(
            f"The '{name}' frame of {OWNER} has duplicate (pupil_id, as_of_date) rows."
        )
    return frame


def intervention_status(
    rows: pd.MultiIndex, interventions: pd.DataFrame, window: Duration, kinds=None
) -> pd.DataFrame:
    """Per row: ``treated`` (an intervention starts in ``[as_of, as_of + window)``) and
    ``prior_intervention`` (one started before the as-of date and had not ended)."""
    need = {PUPIL, "start_date"}
    if not need <= set(interventions.columns):
        raise ValueError(
            f"The 'interventions' table of {OWNER} needs columns pupil_id and start_date "
            f"(end_date and kind optional). Got {list(interventions.columns)} instead."
        )
    iv = interventions
    if kinds is not None:
        kinds = [kinds] if isinstance(kinds, str) else list(kinds)
        iv = iv[iv["kind"].isin(kinds)]
    iv = pd.DataFrame(
        {
            PUPIL: iv[PUPIL].astype("int64").to_numpy(),
            "start": pd.to_datetime(iv["start_date"]).to_numpy(),
            "end": pd.to_datetime(iv["end_date"]).to_numpy()
            if "end_date" in iv
            else np.datetime64("NaT"),
        }
    )
    keys = rows.to_frame(index=False)
    pairs = keys.merge(iv, on=PUPIL, how="inner")
    starts = pd.DatetimeIndex(pairs["start"])
    as_of = pd.DatetimeIndex(pairs[AS_OF])
    limit = pd.DatetimeIndex([window.after(d) for d in as_of])
    pairs["treated"] = (starts >= as_of) & (starts < limit)
    pairs["prior_intervention"] = (starts < as_of) & (
        pairs["end"].isna().to_numpy() | (pd.DatetimeIndex(pairs["end"]) >= as_of)
    )
    status = pairs.groupby([PUPIL, AS_OF])[["treated", "prior_intervention"]].any()
    return status.reindex(rows, fill_value=False).astype(bool)


def build_study(
    histories,
    snapshots,
    *,
    outcome="suspension",
    horizon="365D",
    interventions: pd.DataFrame | None = None,
    kinds=None,
    treatment_window="28D",
    decisions: pd.DataFrame | None = None,
    treatment="interventions",
    exclude_prior: bool = True,
    pre_period=None,
    min_possible_sessions: int = 20,
) -> Study:
    """Join screening snapshots to the help that followed and to later outcomes.

    Each snapshot row (a pupil on a list at an as-of date) is joined by
    (pupil_id, as_of_date) to whether help started soon after the list, to the
    panel's decisions and to the outcome in ``[as_of, as_of + horizon)``. The
    confounders are what the snapshot holds: the features known at the as-of
    date and the risk score.

    Parameters
    ----------
    histories : LinkedHistories or path-like
        The histories the outcomes (and, by default, the interventions) come from.
    snapshots : SnapshotStore, Snapshot, Screening or a list of them
        One list per as-of date.
    outcome : str, Outcome or Series, default "suspension"
        A screening outcome (``"suspension"``, ``"permanent_exclusion"``,
        ``"missing_education"``, ``"persistent_absence"``, several joined by
        ``"|"``, or an ``Outcome`` of :mod:`riskscreen.features` where available),
        ``"attendance_rate"`` (share of possible sessions attended) or
        ``"sessions_missed"``, or your own Series indexed by (pupil_id, as_of_date).
    horizon : str or Duration, default "365D"
        The outcome window after the as-of date; it must lie within the data.
    interventions : DataFrame, optional
        pupil_id, start_date (and end_date, kind); default the histories'
        ``interventions`` table.
    kinds : str or list of str, optional
        Only these intervention kinds count as treatment.
    treatment_window : str or Duration, default "28D"
        Help starting in ``[as_of, as_of + treatment_window)`` follows that list.
    decisions : DataFrame, optional
        Panel decisions keyed by (pupil_id, as_of_date) (index or columns); their
        columns are joined as they are (<NA> for pupils without a decision).
    treatment : "interventions", str or Series, default "interventions"
        What counts as treated: an intervention in the window, a boolean column of
        ``decisions`` (a missing decision is "not treated"), or a boolean Series
        keyed by (pupil_id, as_of_date) such as a trial allocation's ``assignment``
        (pupils it does not name are left out of the study).
    exclude_prior : bool, default True
        Leave out pupils already receiving an intervention on the as-of date
        (they are neither newly helped nor untreated).
    pre_period : str or Duration, optional
        For attendance outcomes, the window before the as-of date measured as
        ``outcome_pre`` (default: the horizon) for difference-in-differences.
    min_possible_sessions : int, default 20
        Attendance outcomes need this many possible sessions, else they are unknown.

    Returns
    -------
    Study
    """
    kind = outcome_kind(outcome)
    h = parse_duration(horizon, parameter="horizon", owner=OWNER)
    window = parse_duration(treatment_window, parameter="treatment_window", owner=OWNER)
    pre = (
        h if pre_period is None else parse_duration(pre_period, parameter="pre_period", owner=OWNER)
    )
    snaps = _snapshots(snapshots)
    hist = as_histories(histories, owner=OWNER)
    start, end = hist.date_range()
    late = [s.as_of_date for s in snaps if not label_window_complete(s.as_of_date, h, end)]
    if late:
        raise ValueError(
            f"{OWNER}: the {h.text} outcome window after as-of date(s) "
            f"{[str(d.date()) for d in late]} runs past the end of data "
            f"{pd.Timestamp(end).date()}, so its outcomes are not all recorded yet; use "
            "earlier lists or a shorter horizon."
        )
    frame = pd.concat([s.frame for s in snaps])
    confounders = pd.concat([s.features for s in snaps]).reindex(frame.index)
    confounders = confounders.select_dtypes("number").astype("float64")
    confounders.insert(0, "score", frame["score"].astype("float64"))
    dropped: dict[str, int] = {}
    notes: list[str] = []

    table = hist.interventions if interventions is None else interventions
    status = intervention_status(frame.index, table, window, kinds)
    frame = frame.assign(prior_intervention=status["prior_intervention"].to_numpy())
    if decisions is not None:
        dec = _keyed(decisions, "decisions")
        clash = sorted(set(dec.columns) & (set(frame.columns) | {"treated", "outcome"}))
        if clash:
            raise ValueError(f"The decisions frame of {OWNER} repeats study columns {clash}.")
        frame = frame.join(dec, how="left")
        unmatched = len(dec.index.difference(frame.index))
        if unmatched:
            notes.append(f"{unmatched} decision row(s) match no pupil on the lists.")
    frame["treated"], assigned = _treatment(treatment, status, frame, decisions)
    source = treatment if isinstance(treatment, str) else "the given assignment"

    cohort = frame[["school_id", "ncyear"]]
    if kind == "binary":
        y = binary_outcome(hist, cohort, outcome, h)
        name = label_name(outcome)
    elif kind == "continuous":
        periods = {"outcome": (h, h.after), "outcome_pre": (pre, lambda d: d)}
        if all(pre.before(pre.before(d)) >= start for d in frame.index.levels[1]):
            periods["outcome_pre2"] = (pre, pre.before)
        else:
            notes.append(
                f"The data do not reach two {pre.text} periods before every list: no placebo "
                "period for difference-in-differences."
            )
        values = attendance(
            hist,
            cohort,
            which=outcome,
            periods=periods,
            min_possible_sessions=int(min_possible_sessions),
        )
        y = values["outcome"]
        for col in values.columns.drop("outcome"):
            frame[col] = values[col].to_numpy()
        name = outcome
    else:
        y = custom_outcome(outcome, frame.index)
        name = str(outcome.name or "custom outcome")
    frame["outcome"] = y.to_numpy()
    keep = assigned.copy()
    dropped["not in the treatment assignment"] = int((~keep).sum())
    known = frame["outcome"].notna().to_numpy()
    dropped["outcome unknown (censored or too few sessions)"] = int((keep & ~known).sum())
    keep &= known
    if exclude_prior:
        prior = frame["prior_intervention"].to_numpy(dtype=bool)
        dropped["already receiving an intervention"] = int((prior & keep).sum())
        keep &= ~prior
    dropped = {k: v for k, v in dropped.items() if v}
    return Study(
        frame=frame[keep],
        confounders=confounders[keep],
        outcome=name,
        outcome_kind=kind,
        horizon=h,
        treatment_window=window,
        treatment=source,
        per_school=any(s.per_school for s in snaps),
        dropped=dropped,
        notes=tuple(notes),
    )


def _treatment(treatment, status, frame, decisions) -> tuple[np.ndarray, np.ndarray]:
    """Whether each row was treated, and whether the row is in the assignment at all."""
    everyone = np.ones(len(frame), dtype=bool)
    if isinstance(treatment, str) and treatment == "interventions":
        return status["treated"].to_numpy(dtype=bool), everyone
    if isinstance(treatment, str):
        if decisions is None or treatment not in frame.columns:
            raise ValueError(
                f"The 'treatment' parameter of {OWNER} must be 'interventions', a column of "
                f"'decisions' or a boolean Series. Got {treatment!r} instead."
            )
        values = frame[treatment]
    elif isinstance(treatment, pd.Series):
        values = _keyed(treatment.to_frame("t"), "treatment")["t"].reindex(frame.index)
    else:
        raise ValueError(
            f"The 'treatment' parameter of {OWNER} must be 'interventions', a column of "
            f"'decisions' or a boolean Series. Got {type(treatment).__name__} instead."
        )
    known = values.dropna()
    boolean = pd.api.types.is_bool_dtype(values.dtype) or (
        pd.api.types.is_numeric_dtype(values.dtype) and known.isin([0, 1]).all()
    )
    if values.dtype == object:
        boolean = known.map(lambda v: isinstance(v, (bool, np.bool_))).all()
    if not boolean:
        raise ValueError(
            f"The treatment {treatment if isinstance(treatment, str) else 'Series'!r} of "
            f"{OWNER} must be boolean (True = helped); missing values count as not helped."
        )
    assigned = everyone if isinstance(treatment, str) else values.notna().to_numpy()
    return values.astype("boolean").fillna(False).to_numpy(dtype=bool), assigned
