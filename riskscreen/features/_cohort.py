"""Who is screened at each as-of date: cohorts as objects.

Every cohort gives, per as-of date, the rows ``(pupil_id, as_of_date, school_id,
ncyear, on_roll)``: ``school_id`` of the roll the pupil is on (<NA> when on none),
``ncyear`` from ``pupils.birth_month`` when the authority records it (<NA>
otherwise) and ``on_roll``. A pupil is *on roll* on the as-of date when
``entry_date < as_of <= leaving_date`` (or the spell is open): they joined before
the as-of date and had not left before it (the leaving date is the last day on
roll); with several qualifying spells (dual registration) the one that started
last gives ``school_id`` (ties: smallest ``school_id``).

- :class:`SchoolCohort` (the default): on a school roll, in a range of NC years.
- :class:`SocialCareCohort`: known to social care, by default on no school roll
  (the children most likely to be missing education).
- :class:`SpellCohort`: active on a spell of any source on the as-of date (looked
  after; registered on a course in a custom ``registrations`` source; ...).
- :class:`ListedCohort`: an explicit table of ids per as-of date.

Every cohort member needs a row in ``pupils``; rows without one are never
dropped silently: the engines raise an error giving their count.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd

from riskscreen._time import parse_duration
from riskscreen.data._codes import SOCIAL_CARE_KINDS
from riskscreen.data._views import SourceInfo, quote

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


def end_of_year_11_sql(birth_month: str) -> str:
    """SQL for the last day of a child's Year 11: 31 August, 17 years after the academic
    year of their birth began (the end of compulsory schooling)."""
    year = _ACADEMIC_YEAR.format(d=birth_month)
    return f"MAKE_DATE(CAST({year} + 17 AS BIGINT), 8, 31)"


def _check_ncyears(value, owner: str) -> None:
    if value is None:
        return
    if (
        not isinstance(value, Sequence)
        or len(value) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        or value[0] > value[1]
    ):
        raise ValueError(
            f"The 'ncyears' parameter of {owner} must be a pair of whole numbers (low, high) "
            f"with low <= high, e.g. (5, 11). Got {value!r} instead."
        )


class Cohort:
    """Who is screened at each as-of date (see the module for the kinds of cohort).

    Subclasses give :meth:`members` (SQL of ``(pupil_id, as_of_date)`` per as-of
    date, reading ``asof_dates`` and the canonical views) and may filter on NC years.
    """

    ncyears: tuple[int, int] | None = None

    def validate(self) -> None:
        _check_ncyears(self.ncyears, type(self).__name__)

    def sources(self) -> tuple[str, ...]:
        """The tables the cohort reads."""
        return ("pupils", "enrolments")

    def needs(self) -> list[tuple[str, str]]:
        """(table, column) pairs the source data must hold for this cohort."""
        return [("pupils", "birth_month")] if self.ncyears is not None else []

    def words(self) -> str:
        """Who is screened, in words (for messages and reports)."""
        raise NotImplementedError

    def members(self, sources: Mapping[str, SourceInfo]) -> list[tuple[str, str]]:
        """CTEs ending in ``members(pupil_id, as_of_date)``."""
        raise NotImplementedError

    def ctes(self, sources: Mapping[str, SourceInfo] | None = None) -> list[tuple[str, str]]:
        """Named SQL CTEs ending in ``cohort(pupil_id, as_of_date, school_id, ncyear, on_roll)``.

        Expects a relation ``asof_dates(as_of_date)`` and the canonical views;
        ``sources`` (name -> SourceInfo) makes every spell honour its knowledge
        dates (``recorded_date``, ``end_recorded_date``).
        """
        self.validate()
        sources = sources or {}
        ctes = _roll_ctes(sources) + self.members(sources)
        ncy = ncyear_sql("m.as_of_date", "p.birth_month")
        keep = "TRUE"
        if self.ncyears is not None:
            lo, hi = self.ncyears
            keep = f"p.pupil_id IS NULL OR {ncy} BETWEEN {int(lo)} AND {int(hi)}"
        ctes.append(
            (
                "cohort",
                f"SELECT m.pupil_id, m.as_of_date, r.school_id, {ncy} AS ncyear, "
                "r.pupil_id IS NOT NULL AS on_roll FROM members AS m "
                "LEFT JOIN on_roll AS r ON r.pupil_id = m.pupil_id AND r.as_of_date = m.as_of_date "
                f"LEFT JOIN pupils AS p ON p.pupil_id = m.pupil_id WHERE {keep}",
            )
        )
        return ctes


def _known(sources, name: str, alias: str) -> str:
    info = sources.get(name)
    return "TRUE" if info is None else info.known_sql(alias, "a.as_of_date")


def _end(sources, name: str, alias: str, col: str) -> str:
    info = sources.get(name)
    return f"{alias}.{col}" if info is None else info.end_sql(alias, "a.as_of_date")


def _counted_interval(info, alias: str) -> tuple[str, str]:
    """SQL ``(lo, hi)`` of a spell row: it counts on the as-of dates ``a`` with ``lo < a <= hi``.

    ``lo`` is the day its start was known (start date, or ``recorded_date`` if later),
    ``hi`` the day its end was known (end date, or ``end_recorded_date`` if later;
    NULL for an open spell). The same condition as ``start < a``, :meth:`SourceInfo.known_sql`
    and ``end IS NULL OR end >= a`` with :meth:`SourceInfo.end_sql`, written without ``a``.
    """
    start, end = f"{alias}.{quote(info.date)}", f"{alias}.{quote(info.end)}"
    lo = start
    if info.recorded is not None:
        lo = f"GREATEST({start}, COALESCE({alias}.{quote(info.recorded)}, {start}))"
    hi = end
    if info.end_recorded is not None:
        hi = f"GREATEST({end}, COALESCE({alias}.{quote(info.end_recorded)}, {end}))"
    return lo, hi


def overlapping_pupils_ctes(
    info: SourceInfo | None, name: str, relation: str = "enrolments"
) -> list[tuple[str, str]]:
    """CTEs ending in ``name(pupil_id)``: the pupils with two spells of ``relation``
    counted on some day.

    Every other pupil has at most one such spell on any as-of date, so their spells
    open on a date need no ranking (or ``COUNT(DISTINCT pupil_id)``): a window over
    the spells instead of one over every pupil and as-of date.
    """
    if info is None:  # the canonical enrolments, without knowledge dates
        info = SourceInfo(relation, relation, "pupil_id", "entry_date", "leaving_date", {}, ())
    lo, hi = _counted_interval(info, "en")
    ident = quote(info.id)
    # the spells that count on some day, numbered by the day they count from: if two
    # overlap, so do two with consecutive numbers (each starts before the end of the one
    # before it), so one join of each spell with the next finds every such pupil (joined
    # on the pupil alone: Spark moves the rows by pupil once)
    numbered = (
        f"SELECT en.{ident} AS pupil_id, {lo} AS lo, {hi} AS hi, ROW_NUMBER() OVER "
        f"(PARTITION BY en.{ident} ORDER BY {lo}, en.school_id, en.entry_date) AS k "
        f"FROM {relation} AS en WHERE {hi} IS NULL OR {lo} < {hi}"
    )
    return [
        (f"{name}_spells", numbered),
        (
            name,
            f"SELECT DISTINCT a.pupil_id FROM {name}_spells AS a JOIN {name}_spells AS b "
            "ON b.pupil_id = a.pupil_id AND b.k - a.k = 1 AND (a.hi IS NULL OR b.lo < a.hi)",
        ),
    ]


def open_enrolments_sql(
    sources, overlapping: str, keep: str | None = None, date_cols: str = ""
) -> str:
    """SQL of ``(as_of_date, pupil_id, school_id, entry_date, several)``: every enrolment
    open (and known) on each as-of date; ``several`` marks the pupils of the relation
    ``overlapping`` (:func:`overlapping_pupils_ctes`), who may have several.

    With ``keep`` each enrolment first takes its pupil's row, and only the rows
    ``keep`` holds for come out, with the pupil's ``ncyear``: the pupils are joined with the
    enrolments once, not with every as-of date's roll. ``keep`` reads the as-of date's
    ``a.as_of_date``, ``a.year`` (its academic year) and ``date_cols`` (``, sql AS
    name`` over ``as_of_date``), and the pupil's ``en.birth_month``, ``en.has_pupil``,
    ``en.birth_year`` (academic year of birth) and ``en.year_11_end``: computed once
    per date and per enrolment, not per row of the roll.
    """
    leaving = _end(sources, "enrolments", "en", "leaving_date")
    relation, dates, cols, where = "enrolments", "asof_dates", "", ""
    if keep is not None:
        relation = (
            f"(SELECT e.*, p.birth_month, p.pupil_id IS NOT NULL AS has_pupil, "
            f"{_ACADEMIC_YEAR.format(d='p.birth_month')} AS birth_year, "
            f"{end_of_year_11_sql('p.birth_month')} AS year_11_end FROM enrolments "
            "AS e LEFT JOIN pupils AS p ON p.pupil_id = e.pupil_id)"
        )
        dates = (
            f"(SELECT as_of_date, {_ACADEMIC_YEAR.format(d='as_of_date')} AS year{date_cols} "
            "FROM asof_dates)"
        )
        cols, where = ", a.year - en.birth_year - 5 AS ncyear", f" WHERE {keep}"
    return (
        f"SELECT a.as_of_date, en.pupil_id, en.school_id, en.entry_date{cols}, "
        f"o.pupil_id IS NOT NULL AS several FROM {dates} AS a JOIN {relation} AS en "
        f"ON en.entry_date < a.as_of_date AND ({leaving} IS NULL "
        f"OR {leaving} >= a.as_of_date) AND {_known(sources, 'enrolments', 'en')} "
        f"LEFT JOIN {overlapping} AS o ON o.pupil_id = en.pupil_id{where}"
    )


def _roll_ctes(sources, keep: str | None = None, date_cols: str = "") -> list[tuple[str, str]]:
    """CTEs ending in ``on_roll(pupil_id, as_of_date, school_id)``, with ``ncyear``
    and only the rows ``keep`` holds for when given (see :func:`open_enrolments_sql`)."""
    cols = "pupil_id, as_of_date, school_id" + ("" if keep is None else ", ncyear")
    # the spell that started last (ties: smallest school_id) where a pupil has several
    return [
        *overlapping_pupils_ctes(sources.get("enrolments"), "roll_overlaps"),
        ("roll_spells", open_enrolments_sql(sources, "roll_overlaps", keep, date_cols)),
        (
            "on_roll",
            f"SELECT {cols} FROM roll_spells WHERE NOT several UNION ALL SELECT {cols} "
            f"FROM (SELECT {cols}, ROW_NUMBER() OVER (PARTITION BY pupil_id, as_of_date "
            "ORDER BY entry_date DESC, school_id) AS rn FROM roll_spells WHERE several) AS r "
            "WHERE rn = 1",
        ),
    ]


def _social_care_sql(sources, lookback: str, kinds) -> str:
    w = parse_duration(lookback)
    sc_end = _end(sources, "social_care", "s", "end_date")
    kind = ""
    if kinds is not None:
        kind = " AND s.kind IN (" + ", ".join("'" + k + "'" for k in kinds) + ")"
    return (
        "SELECT DISTINCT s.pupil_id, a.as_of_date FROM asof_dates AS a "
        "JOIN social_care AS s ON s.start_date < a.as_of_date AND "
        f"({sc_end} IS NULL OR {sc_end} >= {w.start_sql('a.as_of_date')}) AND "
        f"{_known(sources, 'social_care', 's')}{kind}"
    )


def _check_social_care(lookback, kinds, owner: str) -> None:
    parse_duration(lookback, parameter="lookback", owner=owner)
    if kinds is not None:
        bad = [k for k in kinds if k not in SOCIAL_CARE_KINDS]
        if bad:
            raise ValueError(
                f"The 'kinds' parameter of {owner} must hold kinds from "
                f"{sorted(SOCIAL_CARE_KINDS)}. Got {bad!r} instead."
            )


@dataclass(frozen=True)
class SchoolCohort(Cohort):
    """Pupils on a school roll on the as-of date, in a range of NC years (the default).

    Parameters
    ----------
    ncyears : (int, int), default (5, 11)
        Inclusive range of NC years (Reception = 0), from ``pupils.birth_month``
        with the English September-to-August rule.
    include_off_roll_social_care : bool, default False
        Also screen children of those NC years on no roll who are known to social
        care (see :class:`SocialCareCohort`); their ``school_id`` is <NA>.
    social_care_lookback : str, default "365D"
        How far back an episode still counts as "known to social care".
    social_care_kinds : sequence of str or None
        Episode kinds that count (default: all kinds, early help included).
    leaving_within : str or None, default "3M"
        Pupils whose Year 11 ends (31 August) less than this long after the as-of
        date are left out: they leave compulsory schooling before a panel could
        act, and the few weeks left of their label window would count them as
        negatives (with the default, Year 11 is not screened from 1 June). None
        keeps them. Pupils past Year 11 and pupils with no ``birth_month`` are
        kept.
    """

    ncyears: tuple[int, int] = (5, 11)
    include_off_roll_social_care: bool = False
    social_care_lookback: str = "365D"
    social_care_kinds: tuple[str, ...] | None = None
    leaving_within: str | None = "3M"

    def validate(self) -> None:
        _check_ncyears(self.ncyears, "SchoolCohort")
        _check_social_care(self.social_care_lookback, self.social_care_kinds, "SchoolCohort")
        if self.leaving_within is not None:
            parse_duration(self.leaving_within, parameter="leaving_within", owner="SchoolCohort")

    def sources(self) -> tuple[str, ...]:
        extra = ("social_care",) if self.include_off_roll_social_care else ()
        return ("pupils", "enrolments", *extra)

    def words(self) -> str:
        lo, hi = self.ncyears
        text = f"on a school roll in NC years {lo}-{hi}"
        if self.include_off_roll_social_care:
            text += ", or on no roll and known to social care"
        if self.leaving_within is not None:
            text += f", not leaving school within {parse_duration(self.leaving_within).words()}"
        return text

    def ctes(self, sources: Mapping[str, SourceInfo] | None = None) -> list[tuple[str, str]]:
        if self.include_off_roll_social_care:
            return super().ctes(sources)
        # every member is on a roll: the roll joined once with the pupils, filtered
        # by NC year and Year 11's end (the members and cohort CTEs of the general
        # case, which join the roll and the pupils twice, give the same rows)
        self.validate()
        # the pupils' rows joined with their enrolments before the as-of dates, and
        # the NC years filtered before the roll is ranked (they depend on pupil and date)
        ncy = "(a.year - en.birth_year - 5)"  # ncyear_sql, its parts computed once
        keep, date_cols = "TRUE", ""
        if self.ncyears is not None:
            lo, hi = self.ncyears
            keep = f"(NOT en.has_pupil OR {ncy} BETWEEN {int(lo)} AND {int(hi)})"
        if self.leaving_within is not None:
            date_cols = f", {parse_duration(self.leaving_within).end_sql('as_of_date')} AS ends"
            keep += (
                " AND (en.birth_month IS NULL OR en.year_11_end < a.as_of_date "
                "OR en.year_11_end >= a.ends)"
            )
        cohort = (
            "SELECT r.pupil_id, r.as_of_date, r.school_id, r.ncyear, TRUE AS on_roll "
            "FROM on_roll AS r"
        )
        return [*_roll_ctes(sources or {}, keep, date_cols), ("cohort", cohort)]

    def members(self, sources) -> list[tuple[str, str]]:
        ctes = [("roll_members", "SELECT pupil_id, as_of_date FROM on_roll")]
        body = "SELECT pupil_id, as_of_date FROM roll_members"
        if self.leaving_within is not None:
            ends = parse_duration(self.leaving_within).end_sql("m.as_of_date")
            y11_end = end_of_year_11_sql("p.birth_month")
            body = (  # sixth formers (Year 11 already over) are kept
                "SELECT m.pupil_id, m.as_of_date FROM roll_members AS m "
                "LEFT JOIN pupils AS p ON p.pupil_id = m.pupil_id "
                f"WHERE p.birth_month IS NULL OR {y11_end} < m.as_of_date OR {y11_end} >= {ends}"
            )
        if self.include_off_roll_social_care:
            known = _social_care_sql(sources, self.social_care_lookback, self.social_care_kinds)
            ctes.append(("known_sc", known))
            body += " UNION SELECT pupil_id, as_of_date FROM known_sc"
        return [*ctes, ("members", body)]


@dataclass(frozen=True)
class SocialCareCohort(Cohort):
    """Children known to social care on the as-of date, by default only those on no roll.

    Known: an episode (of ``kinds``) open on the as-of date, or open at any time
    in the ``lookback`` window before it.

    Parameters
    ----------
    lookback : str, default "365D"
    kinds : sequence of str or None
        Episode kinds that count (default: all, early help included).
    on_roll : bool, default False
        Also keep the children who are on a school roll.
    ncyears : (int, int) or None, default None
        Keep only these NC years (needs ``pupils.birth_month``).
    """

    lookback: str = "365D"
    kinds: tuple[str, ...] | None = None
    on_roll: bool = False
    ncyears: tuple[int, int] | None = None

    def validate(self) -> None:
        _check_ncyears(self.ncyears, "SocialCareCohort")
        _check_social_care(self.lookback, self.kinds, "SocialCareCohort")

    def sources(self) -> tuple[str, ...]:
        return ("pupils", "enrolments", "social_care")

    def words(self) -> str:
        where = "" if self.on_roll else " and on no school roll"
        return f"known to social care in the {parse_duration(self.lookback).words()}{where}"

    def members(self, sources) -> list[tuple[str, str]]:
        known = _social_care_sql(sources, self.lookback, self.kinds)
        body = "SELECT pupil_id, as_of_date FROM known_sc"
        if not self.on_roll:
            body += (
                " AS k WHERE NOT EXISTS (SELECT 1 FROM on_roll AS r WHERE r.pupil_id = "
                "k.pupil_id AND r.as_of_date = k.as_of_date)"
            )
        return [("known_sc", known), ("members", body)]


@dataclass(frozen=True)
class SpellCohort(Cohort):
    """Everyone with a spell of ``source`` open on the as-of date.

    A spell is open when it started before the as-of date and has not ended
    before it (its end as known then); ``where`` keeps only some spells. Works
    for canonical spell tables (``social_care``: looked-after children with
    ``where={"kind": "looked_after"}``) and custom sources with an end column
    (e.g. course registrations of a college).

    Parameters
    ----------
    source : str
        A spell table: canonical, or a custom source with an ``end_date_column``.
    where : Condition, dict or list, optional
        Which spells count (as for :class:`Feature`).
    ncyears : (int, int) or None, default None
        Keep only these NC years (needs ``pupils.birth_month``).
    """

    source: str = "social_care"
    where: object = None
    ncyears: tuple[int, int] | None = None
    _condition: object = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        from riskscreen.features._spec import _as_condition

        object.__setattr__(self, "_condition", _as_condition(self.where))

    def validate(self) -> None:
        _check_ncyears(self.ncyears, "SpellCohort")
        if not isinstance(self.source, str) or not self.source:
            raise ValueError(
                "The 'source' parameter of SpellCohort must name a table of spells. "
                f"Got {self.source!r} instead."
            )

    def sources(self) -> tuple[str, ...]:
        return ("pupils", "enrolments", self.source)

    def words(self) -> str:
        what = "" if self._condition is None else f" where {self._condition.words()}"
        return f"with a spell of {self.source}{what} open on the as-of date"

    def members(self, sources) -> list[tuple[str, str]]:
        from riskscreen.features._compile import condition_sql

        info = sources.get(self.source)
        if info is None or not info.is_spell:
            spells = sorted(n for n, i in sources.items() if i.is_spell)
            raise ValueError(
                f"The 'source' parameter of SpellCohort must be a table of spells (with an "
                f"end date): one of {spells}. Got {self.source!r} instead."
            )
        end = info.end_sql("e", "a.as_of_date")
        date = f"e.{quote(info.date)}"
        body = (
            f"SELECT DISTINCT e.{quote(info.id)} AS pupil_id, a.as_of_date FROM asof_dates AS a "
            f"JOIN {info.relation} AS e ON {date} < a.as_of_date AND ({end} IS NULL OR "
            f"{end} >= a.as_of_date) AND {info.known_sql('e', 'a.as_of_date')} "
            f"WHERE {condition_sql(self._condition, 'e')}"
        )
        return [("members", body)]


@dataclass(frozen=True, eq=False)
class ListedCohort(Cohort):
    """An explicit table of who is screened at each as-of date.

    Parameters
    ----------
    frame : DataFrame
        Indexed by (pupil_id, as_of_date), e.g. the output of :func:`build_cohort`;
        optional columns ``school_id``, ``ncyear``, ``on_roll`` are kept as given.
    """

    frame: pd.DataFrame = None  # type: ignore[assignment]

    def validate(self) -> None:
        cohort_from_frame(self.frame)

    def words(self) -> str:
        return "listed in a table of ids per as-of date"


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
            "pupil_id": _keys(flat["pupil_id"]),
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


def _keys(values: pd.Series) -> pd.Series:
    if pd.api.types.is_integer_dtype(values.dtype) or pd.api.types.is_float_dtype(values.dtype):
        return values.astype("int64")
    return values.astype("str")
