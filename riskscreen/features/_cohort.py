"""Who is screened at each as-of date."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from riskscreen._time import parse_duration
from riskscreen.data._codes import SOCIAL_CARE_KINDS
from riskscreen.data._views import SourceInfo

#: Year the academic year of a date starts (September to August).
_ACADEMIC_YEAR = (
    "(CAST(EXTRACT(YEAR FROM {d}) AS BIGINT) - "
    "CASE WHEN EXTRACT(MONTH FROM {d}) < 9 THEN 1 ELSE 0 END)"
)


def ncyear_sql(as_of: str, birth_month: str) -> str:
    """SQL for the National Curriculum year on ``as_of`` of a child born in ``birth_month``.

    NC year in the academic year starting in September of year A is
    ``A - B - 5`` where B is the academic year of birth (September to August);
    Reception is 0, Year 11 is 11.
    """
    return f"({_ACADEMIC_YEAR.format(d=as_of)} - {_ACADEMIC_YEAR.format(d=birth_month)} - 5)"


@dataclass(frozen=True)
class Cohort:
    """Who is screened at an as-of date.

    By default: every pupil on roll at a school in the authority on the as-of
    date, in NC years 5 to 11. A pupil is *on roll* on the as-of date when
    ``entry_date < as_of <= leaving_date`` (or the spell is open): they joined
    before the as-of date and had not left before it (the leaving date is the
    last day on roll). If several spells qualify (dual registration) the one
    that started last gives ``school_id`` (ties: smallest ``school_id``).

    Every pupil on roll (or known to social care) needs a row in ``pupils``:
    its ``birth_month`` gives the NC year that decides membership. Rows with no
    ``pupils`` row are never dropped silently: :func:`build_cohort`,
    :func:`build_features` and :func:`make_labels` raise a ``ValueError`` naming
    the count and example ``pupil_id`` values. (The SQL of :meth:`ctes` keeps
    them, with ``ncyear`` NULL, so that the check can see them.)

    Parameters
    ----------
    ncyears : (int, int), default (5, 11)
        Inclusive range of NC years (Reception = 0). NC year is computed from
        ``pupils.birth_month`` with the English September-to-August rule.
    include_off_roll_social_care : bool, default False
        Also screen children on no roll who are known to social care: an
        episode open on the as-of date (``start_date < as_of`` and no end
        before it) or one open at any time in the ``social_care_lookback``
        window before it. These rows have ``school_id`` <NA> and
        ``on_roll`` False; they are the children most likely to be missing
        education.
    social_care_lookback : str, default "365D"
        How far back an episode still counts as "known to social care".
    social_care_kinds : sequence of str or None
        Episode kinds that count (default: all kinds, early help included).
    """

    ncyears: tuple[int, int] = (5, 11)
    include_off_roll_social_care: bool = False
    social_care_lookback: str = "365D"
    social_care_kinds: tuple[str, ...] | None = None

    def validate(self) -> None:
        lo_hi = self.ncyears
        if (
            not isinstance(lo_hi, Sequence)
            or len(lo_hi) != 2
            or not all(isinstance(v, int) for v in lo_hi)
            or lo_hi[0] > lo_hi[1]
        ):
            raise ValueError(
                "The 'ncyears' parameter of Cohort must be a pair of whole numbers (low, high) "
                f"with low <= high, e.g. (5, 11). Got {lo_hi!r} instead."
            )
        parse_duration(self.social_care_lookback, parameter="social_care_lookback", owner="Cohort")
        if self.social_care_kinds is not None:
            bad = [k for k in self.social_care_kinds if k not in SOCIAL_CARE_KINDS]
            if bad:
                raise ValueError(
                    "The 'social_care_kinds' parameter of Cohort must hold kinds from "
                    f"{sorted(SOCIAL_CARE_KINDS)}. Got {bad!r} instead."
                )

    def sources(self) -> tuple[str, ...]:
        """The tables membership is read from."""
        extra = ("social_care",) if self.include_off_roll_social_care else ()
        return ("pupils", "enrolments", *extra)

    def ctes(self, sources: Mapping[str, SourceInfo] | None = None) -> list[tuple[str, str]]:
        """Named SQL CTEs ending in ``cohort(pupil_id, as_of_date, school_id, ncyear, on_roll)``.

        Expects a relation ``asof_dates(as_of_date)`` and the canonical views.
        ``sources`` (name -> SourceInfo) makes enrolments and social care honour
        their knowledge dates (``recorded_date``, ``end_recorded_date``): a spell
        recorded on or after the as-of date is not seen, and one whose end was
        recorded then is still open.
        """
        self.validate()
        sources = sources or {}

        def known(name: str, alias: str) -> str:
            info = sources.get(name)
            return "TRUE" if info is None else info.known_sql(alias, "a.as_of_date")

        def end(name: str, alias: str, col: str) -> str:
            info = sources.get(name)
            return f"{alias}.{col}" if info is None else info.end_sql(alias, "a.as_of_date")

        leaving = end("enrolments", "en", "leaving_date")
        sc_end = end("social_care", "s", "end_date")
        lo, hi = self.ncyears
        ctes = [
            (
                "roll_spells",
                "SELECT a.as_of_date, en.pupil_id, en.school_id, ROW_NUMBER() OVER ("
                "PARTITION BY en.pupil_id, a.as_of_date ORDER BY en.entry_date DESC, "
                "en.school_id) AS rn FROM asof_dates AS a JOIN enrolments AS en "
                f"ON en.entry_date < a.as_of_date AND ({leaving} IS NULL "
                f"OR {leaving} >= a.as_of_date) AND {known('enrolments', 'en')}",
            ),
            (
                "on_roll",
                "SELECT pupil_id, as_of_date, school_id, TRUE AS on_roll "
                "FROM roll_spells WHERE rn = 1",
            ),
        ]
        base = "SELECT pupil_id, as_of_date, school_id, on_roll FROM on_roll"
        if self.include_off_roll_social_care:
            w = parse_duration(self.social_care_lookback)
            kinds = ""
            if self.social_care_kinds is not None:
                kinds = (
                    " AND s.kind IN ("
                    + ", ".join("'" + k + "'" for k in self.social_care_kinds)
                    + ")"
                )
            ctes.append(
                (
                    "known_sc",
                    "SELECT DISTINCT s.pupil_id, a.as_of_date FROM asof_dates AS a "
                    "JOIN social_care AS s ON s.start_date < a.as_of_date AND "
                    f"({sc_end} IS NULL OR {sc_end} >= {w.start_sql('a.as_of_date')}) AND "
                    f"{known('social_care', 's')}" + kinds,
                )
            )
            base += (
                " UNION ALL SELECT k.pupil_id, k.as_of_date, CAST(NULL AS BIGINT) AS school_id, "
                "FALSE AS on_roll FROM known_sc AS k WHERE NOT EXISTS (SELECT 1 FROM on_roll "
                "AS r WHERE r.pupil_id = k.pupil_id AND r.as_of_date = k.as_of_date)"
            )
        ctes.append(("cohort_base", base))
        ncy = ncyear_sql("b.as_of_date", "p.birth_month")
        ctes.append(
            (
                "cohort",
                f"SELECT b.pupil_id, b.as_of_date, b.school_id, {ncy} AS ncyear, b.on_roll "
                "FROM cohort_base AS b LEFT JOIN pupils AS p ON p.pupil_id = b.pupil_id "
                f"WHERE p.pupil_id IS NULL OR {ncy} BETWEEN {int(lo)} AND {int(hi)}",
            )
        )
        return ctes


def cohort_from_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Check a user-given cohort frame and return it flat, ready to register."""
    if not isinstance(frame, pd.DataFrame) or list(frame.index.names) != [
        "pupil_id",
        "as_of_date",
    ]:
        raise ValueError(
            "The 'cohort' parameter must be a Cohort, or a DataFrame indexed by "
            "(pupil_id, as_of_date) such as the output of build_cohort. "
            f"Got {type(frame).__name__} instead."
        )
    flat = frame.reset_index()
    out = pd.DataFrame(
        {
            "pupil_id": flat["pupil_id"].astype("int64"),
            "as_of_date": pd.to_datetime(flat["as_of_date"]).astype("datetime64[us]"),
            "school_id": flat["school_id"].astype("Int64")
            if "school_id" in flat
            else pd.array([pd.NA] * len(flat), dtype="Int64"),
            "ncyear": flat["ncyear"].astype("Int64")
            if "ncyear" in flat
            else pd.array([pd.NA] * len(flat), dtype="Int64"),
            "on_roll": flat["on_roll"].astype("boolean")
            if "on_roll" in flat
            else pd.array([pd.NA] * len(flat), dtype="boolean"),
        }
    )
    timed = out["as_of_date"] != out["as_of_date"].dt.normalize()
    if timed.any():
        shown = [str(v) for v in out.loc[timed, "as_of_date"].unique()[:5]]
        raise ValueError(
            "The 'cohort' frame's as_of_date values must be dates (midnight), as as-of "
            f"dates are; {int(timed.sum())} row(s) have a time of day, e.g. {shown}. "
            "Normalise them (e.g. .dt.normalize()) so no row is dropped."
        )
    if out.duplicated(["pupil_id", "as_of_date"]).any():
        raise ValueError("The 'cohort' frame has duplicate (pupil_id, as_of_date) rows.")
    return out
