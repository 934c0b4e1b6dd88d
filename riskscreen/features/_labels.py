"""Outcome labels: did the screened outcome happen within the horizon?

Label window
------------
An outcome counts when its date is in ``[as_of, as_of + horizon)``: from the
as-of date itself (the features stop the day before) up to, but excluding,
the as-of date plus the horizon.

Outcomes
--------
``suspension`` / ``permanent_exclusion``
    an exclusion of that kind starting in the window.
``missing_education``
    see :class:`CMEDefinition`: a CME spell starting in the window, and/or an
    *unexplained exit* -- a school spell ending in the window with
    ``leaving_reason == "unknown"`` after which the pupil is on no other roll
    in the authority within ``reappear_within`` days.
``persistent_absence``
    attendance periods starting in the window add up to at least
    ``min_possible_sessions`` possible sessions, of which at least
    ``pa_threshold`` (10%) were missed; with fewer possible sessions the label
    is <NA> (unknown).
custom (:class:`~riskscreen.features.Outcome`)
    a row of any source (matching its ``where``) dated in the window: its event
    date or spell start (``at="start"``), or a spell's end (``at="end"``).
Several outcomes (``("suspension", "permanent_exclusion")`` or
``"suspension|permanent_exclusion"``) give "any of": True if any is True, else
<NA> if any is <NA>, else False.

Censoring
---------
A pupil whose school spell ends in the window with a known destination
outside the authority (``leaving_reason`` in ``{"other_la", "abroad"}``) can no
longer be observed. Their label is True if an outcome was recorded in the
window anyway (it happened, wherever they were), otherwise <NA> (censored):
not counted as a negative. For a pupil who never returns this is exactly
"left before the horizon ended and before any outcome event". Persistent
absence is <NA> for every censored pupil. The end of compulsory schooling is
not censoring: whether a pupil leaves is known on the as-of date, so it is
handled by the cohort -- :class:`SchoolCohort` leaves out pupils whose Year 11
ends within three months (``leaving_within``), and a Year 11 pupil screened
earlier is labelled by what happens before they leave (a label that keeps only
the leavers' positives would make Year 11 look riskier than it is). Censored and unknown counts are
reported per as-of date by ``make_labels(..., return_report=True)`` (small
counts hidden; ``return_report="unsuppressed"`` is the analyst's raw view); a
label window that runs past the end of data is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from riskscreen._outcome_words import outcome_words
from riskscreen._time import Duration, label_window_complete, parse_duration, parse_horizon
from riskscreen.data._views import quote
from riskscreen.evaluation._disclosure import SMALL_COUNT, suppress_parts
from riskscreen.features._outcome import CMEDefinition, Outcome, outcome_name, parse_outcome
from riskscreen.features._run import open_session
from riskscreen.features._session import COHORT_CTES, Session, index_frame

CENSOR_REASONS = ("other_la", "abroad")
#: The counts of a labels report that add up to the cohort of each as-of date.
LABEL_PARTS = ("n_positive", "n_negative", "n_censored", "n_unknown")
#: What a protected labels report says of its hidden cells.
LABEL_SUPPRESSION_NOTE = (
    f"Counts under {SMALL_COUNT} pupils are hidden (<NA>), with as many others as needed "
    "so that none can be worked out from the cohort; a rate is withheld (NaN) where one "
    "of its counts is hidden (DfE practice)."
)


def _column(part) -> str:
    """The label's date column in the raw result (safe for any outcome name)."""
    return f"{outcome_name(part)}_date"


def _label_sql(parts, h: Duration, cme: CMEDefinition, info) -> list[tuple[str, str]]:
    end = h.end_sql("c.as_of_date")
    in_win = "{d} >= c.as_of_date AND {d} < " + end
    ctes = []

    def first_event(name, table, date, where, id_col="pupil_id"):
        ctes.append(
            (
                name,
                f"SELECT c.pupil_id, c.as_of_date, MIN(e.{date}) AS d FROM cohort AS c "
                f"JOIN {table} AS e ON e.{id_col} = c.pupil_id AND "
                + in_win.format(d=f"e.{date}")
                + f" WHERE {where} GROUP BY c.pupil_id, c.as_of_date",
            )
        )

    for i, part in enumerate(p for p in parts if isinstance(p, Outcome)):
        from riskscreen.features._compile import condition_sql

        src = info.get(part.source)
        column = src.date if part.at == "start" else src.end
        first_event(
            f"y_custom_{i}",
            src.relation,
            quote(column),
            condition_sql(part.where, "e"),
            quote(src.id),
        )

    if "suspension" in parts:
        first_event("y_suspension", "exclusions", "start_date", "e.kind = 'suspension'")
    if "permanent_exclusion" in parts:
        first_event("y_permanent_exclusion", "exclusions", "start_date", "e.kind = 'permanent'")
    if "missing_education" in parts:
        sub = []
        if cme.cme_spells:
            first_event("y_cme_spell", "missing_education", "start_date", "e.kind = 'cme'")
            sub.append("SELECT pupil_id, as_of_date, d FROM y_cme_spell")
        if cme.unknown_exits:
            grace = parse_duration(cme.reappear_within).interval_sql()
            first_event(
                "y_cme_exit",
                "enrolments",
                "leaving_date",
                "e.leaving_reason = 'unknown' AND NOT EXISTS (SELECT 1 FROM enrolments AS o "
                "WHERE o.pupil_id = e.pupil_id AND NOT (o.school_id = e.school_id AND "
                "o.entry_date = e.entry_date) AND o.entry_date <= e.leaving_date + "
                f"{grace} AND (o.leaving_date IS NULL OR o.leaving_date > e.leaving_date))",
            )
            sub.append("SELECT pupil_id, as_of_date, d FROM y_cme_exit")
        ctes.append(
            (
                "y_missing_education",
                "SELECT pupil_id, as_of_date, MIN(d) AS d FROM ("
                + " UNION ALL ".join(sub)
                + ") AS u GROUP BY pupil_id, as_of_date",
            )
        )
    if "persistent_absence" in parts:
        ctes.append(
            (
                "y_persistent_absence",
                "SELECT c.pupil_id, c.as_of_date, SUM(e.sessions_possible) AS possible, "
                "SUM(e.sessions_authorised_absent + e.sessions_unauthorised_absent) AS absent "
                "FROM cohort AS c JOIN attendance AS e ON e.pupil_id = c.pupil_id AND "
                + in_win.format(d="e.period_start")
                + " GROUP BY c.pupil_id, c.as_of_date",
            )
        )
    reasons = ", ".join(f"'{r}'" for r in CENSOR_REASONS)
    first_event("censor", "enrolments", "leaving_date", f"e.leaving_reason IN ({reasons})")
    return ctes


@dataclass(frozen=True)
class LabelRules:
    """The checked parameters of :func:`make_labels` (see there)."""

    parts: tuple
    horizon: Duration
    cme: CMEDefinition
    min_possible_sessions: int
    pa_threshold: float

    @property
    def name(self) -> str:
        return "|".join(outcome_name(p) for p in self.parts)

    @property
    def words(self) -> str:
        """The outcome as a verb phrase, for sentences."""
        return outcome_words(self.parts)

    def sources(self) -> set[str]:
        used = {"enrolments", "pupils", *(p.source for p in self.parts if isinstance(p, Outcome))}
        if {"suspension", "permanent_exclusion"} & set(self.parts):
            used.add("exclusions")
        if "missing_education" in self.parts:
            used.add("missing_education")
        if "persistent_absence" in self.parts:
            used.add("attendance")
        return used


def label_rules(
    outcome,
    horizon,
    *,
    owner: str,
    cme_definition=None,
    min_possible_sessions: int = 20,
    pa_threshold: float = 0.10,
) -> LabelRules:
    """Check the label parameters before any data are read."""
    parts = parse_outcome(outcome, owner)
    h = parse_horizon(horizon, parameter="horizon", owner=owner)
    cme = cme_definition if cme_definition is not None else CMEDefinition()
    if not isinstance(cme, CMEDefinition):
        raise ValueError(
            f"The 'cme_definition' parameter of {owner} must be a CMEDefinition. "
            f"Got {type(cme).__name__} instead."
        )
    cme.validate()
    if not isinstance(min_possible_sessions, (int, np.integer)) or min_possible_sessions < 1:
        raise ValueError(
            f"The 'min_possible_sessions' parameter of {owner} must be a positive whole "
            f"number. Got {min_possible_sessions!r} instead."
        )
    if not (0 < float(pa_threshold) <= 1):
        raise ValueError(
            f"The 'pa_threshold' parameter of {owner} must be in (0, 1]. "
            f"Got {pa_threshold!r} instead."
        )
    return LabelRules(parts, h, cme, int(min_possible_sessions), float(pa_threshold))


def make_labels(
    histories,
    as_of_dates,
    outcome="suspension",
    horizon="365D",
    *,
    cohort=None,
    cme_definition: CMEDefinition | None = None,
    min_possible_sessions: int = 20,
    pa_threshold: float = 0.10,
    return_report: bool | str = False,
    engine=None,
):
    """Outcome labels for the cohort at each as-of date.

    Parameters
    ----------
    histories : LinkedHistories or path-like
        In-memory histories or a folder written by ``LinkedHistories.save``.
    as_of_dates : date or sequence of dates
        Screening dates.
    outcome : str, Outcome or tuple of them
        One of ``"suspension"``, ``"permanent_exclusion"``, ``"missing_education"``,
        ``"persistent_absence"``, an :class:`Outcome` over any source, or several
        ("any of").
    horizon : str, Duration or dict, default "365D"
        Label window ``[as_of, as_of + horizon)``: ``"365D"``, ``"12M"``, ``"1Y"``...
        or one per as-of date, ``{"2021-02-01": "4M", "2021-11-01": "8M"}``, where
        real windows differ (e.g. courses of different lengths).
    cohort : Cohort, DataFrame or None
        Who is labelled (default :class:`SchoolCohort`); a frame indexed by
        (pupil_id, as_of_date) is used as given.
    cme_definition : CMEDefinition, optional
        What counts as missing education.
    min_possible_sessions : int, default 20
        Persistent absence needs at least this many possible sessions, else <NA>.
    pa_threshold : float, default 0.10
        Share of possible sessions missed that makes a pupil persistently absent.
    return_report : bool or "unsuppressed", default False
        Also return the per-date report of positives, negatives, censored and
        unknown labels. ``True``: as a person may read it, counts under 5 and
        any count that would reveal one hidden (<NA>, see
        :func:`protect_label_report`); ``"unsuppressed"``: the raw counts, for
        the analyst's own checks only (never to publish).
    engine : {"duckdb", "spark"}, SparkSession or None
        Where the SQL runs (see :func:`~riskscreen.features.build_features`).

    Returns
    -------
    y : Series of dtype "boolean", named after the outcome
        Indexed by (pupil_id, as_of_date), sorted by as_of_date then pupil_id.
    report : DataFrame, only with ``return_report``
        Per as-of date: ``n_cohort``, ``n_positive``, ``n_negative``,
        ``n_censored``, ``n_unknown``, ``positive_rate`` (positives over known
        labels), ``window_complete``, and when protected ``suppressed``.

    Raises
    ------
    ValueError
        When a label window runs past the end of data: outcomes after it are
        not in the data, so the labels would count them as none.

    Examples
    --------
    >>> y = make_labels(h, ["2022-01-10"], outcome="suspension|permanent_exclusion")
    ... # doctest: +SKIP
    """
    if return_report not in (True, False, "unsuppressed"):
        raise ValueError(
            "The 'return_report' parameter of make_labels must be True, False or "
            f"'unsuppressed'. Got {return_report!r} instead."
        )
    rules = label_rules(
        outcome,
        horizon,
        owner="make_labels",
        cme_definition=cme_definition,
        min_possible_sessions=min_possible_sessions,
        pa_threshold=pa_threshold,
    )
    with open_session(histories, owner="make_labels", engine=engine) as session:
        session.prepare(as_of_dates, cohort)
        end = session.end_of_data()
        late = [d for d in session.dates if not label_window_complete(d, rules.horizon, end)]
        if late:
            raise ValueError(
                f"make_labels: the {rules.horizon.text} label window of as-of date(s) "
                f"{[str(pd.Timestamp(d).date()) for d in late[:5]]} runs past the end of data "
                f"{end.date()}; outcomes after it are not in the data, so the labels would "
                "count them as none. Use as-of dates whose window closes by then, or a "
                "shorter horizon."
            )
        y, report = compute_labels(session, rules)
    if not return_report:
        return y
    return y, (report if return_report == "unsuppressed" else protect_label_report(report))


def protect_label_report(report: pd.DataFrame) -> pd.DataFrame:
    """A labels report as a person may read it: no count of 1-4 pupils shown or derivable.

    Within each as-of date the positives, negatives, censored and unknown add up
    to the cohort, and an evaluation of that date shows the pupils with a known
    label (positives plus negatives), so a hidden count is joined by as many
    others as needed that it cannot be worked out by subtraction from either;
    ``positive_rate`` is withheld where positives or negatives are hidden.
    Counts become nullable integers (<NA> where hidden), the column
    ``suppressed`` marks the dates with a hidden cell, and
    ``attrs["suppression"]`` says so in words.
    """
    out = suppress_parts(
        report,
        "n_cohort",
        LABEL_PARTS,
        rates={"positive_rate": ["n_positive", "n_negative"]},
        shown_elsewhere=[("n_positive", "n_negative")],  # an evaluation's pupil count
    )
    out.attrs = {**report.attrs, "suppression": LABEL_SUPPRESSION_NOTE}
    return out


def compute_labels(session: Session, rules: LabelRules) -> tuple[pd.Series, pd.DataFrame]:
    """Labels and the per-date report for the cohort of a prepared session."""
    parts = rules.parts
    session.check_sources(rules.sources())
    _check_outcome_sources(session, parts)
    for date in session.dates:  # a horizon per as-of date must cover every date
        rules.horizon.after(date)
    ctes = list(COHORT_CTES) + _label_sql(parts, rules.horizon, rules.cme, session.info)
    cols = ["c.pupil_id", "c.as_of_date", "censor.d AS censor_date"]
    joins = [
        "LEFT JOIN censor ON censor.pupil_id = c.pupil_id AND censor.as_of_date = c.as_of_date",
    ]
    custom = iter(range(len(parts)))
    for p in parts:
        t = f"y_custom_{next(custom)}" if isinstance(p, Outcome) else f"y_{p}"
        if p == "persistent_absence":
            cols += [f"{t}.possible AS pa_possible", f"{t}.absent AS pa_absent"]
        else:
            cols.append(f"{t}.d AS {quote(_column(p))}")
        joins.append(
            f"LEFT JOIN {t} ON {t}.pupil_id = c.pupil_id AND {t}.as_of_date = c.as_of_date"
        )
    sql = (
        "WITH "
        + ",\n".join(f"{n} AS ({b})" for n, b in ctes)
        + f"\nSELECT {', '.join(cols)} FROM cohort AS c {' '.join(joins)} "
        "ORDER BY c.as_of_date, c.pupil_id"
    )
    raw = index_frame(session.con.execute(sql).df())
    censored = raw["censor_date"].notna().to_numpy()
    n = len(raw)
    any_true = np.zeros(n, dtype=bool)
    any_na = np.zeros(n, dtype=bool)
    for p in parts:
        if p == "persistent_absence":
            possible = raw["pa_possible"].astype("float64").fillna(0.0).to_numpy()
            absent = raw["pa_absent"].astype("float64").fillna(0.0).to_numpy()
            enough = possible >= rules.min_possible_sessions
            with np.errstate(invalid="ignore", divide="ignore"):
                pa = np.where(enough, absent / np.where(enough, possible, 1.0), 0.0)
            value = enough & (pa >= rules.pa_threshold)
            na = censored | ~enough
            any_true |= value & ~na
            any_na |= na
        else:
            hit = raw[_column(p)].notna().to_numpy()
            any_true |= hit
            any_na |= ~hit & censored
    values = pd.array(any_true, dtype="boolean")
    values[~any_true & any_na] = pd.NA
    y = pd.Series(values, index=raw.index, name=rules.name)
    report = _report(raw, session, rules, any_true, any_na, censored)
    return y, report


def _check_outcome_sources(session: Session, parts) -> None:
    for part in parts:
        if not isinstance(part, Outcome):
            continue
        info = session.info.get(part.source)
        if info is None or info.date is None:
            known = sorted(n for n, i in session.info.items() if i.date is not None)
            raise ValueError(
                f"The 'source' of Outcome {part.name!r} must be a dated table: one of {known}. "
                f"Got {part.source!r} instead."
            )
        if part.at == "end" and not info.is_spell:
            raise ValueError(
                f"Outcome {part.name!r} counts spells ending (at='end'), but {part.source!r} "
                "holds events with no end date; use at='start'."
            )
        if part.where is not None:
            missing = sorted(part.where.all_columns() - set(info.columns))
            if missing:
                raise ValueError(
                    f"Outcome {part.name!r}: table {part.source!r} has no column(s) {missing}. "
                    f"Columns present: {sorted(info.columns)}."
                )


def _report(raw, session: Session, rules: LabelRules, any_true, any_na, censored):
    cens_na = ~any_true & any_na & censored
    unk_na = ~any_true & any_na & ~censored
    frame = pd.DataFrame(
        {
            "as_of_date": raw.index.get_level_values("as_of_date"),
            "n_cohort": 1,
            "n_positive": any_true.astype(int),
            "n_negative": (~any_true & ~any_na).astype(int),
            "n_censored": cens_na.astype(int),
            "n_unknown": unk_na.astype(int),
        }
    )
    report = frame.groupby("as_of_date").sum()
    report = report.reindex(session.dates, fill_value=0)
    report.index.name = "as_of_date"
    known = report["n_positive"] + report["n_negative"]
    report["positive_rate"] = (report["n_positive"] / known.where(known > 0)).astype("float64")
    end = session.end_of_data()
    report["window_complete"] = [label_window_complete(d, rules.horizon, end) for d in report.index]
    report.attrs["outcome"] = rules.name
    report.attrs["horizon"] = rules.horizon.text
    return report
