"""Declarations of the canonical tables held by :class:`LinkedHistories`.

This module is the single source of truth for table and column names, dtypes,
nullability, code sets, keys and date order rules. The pandera schemas, the
synthetic generator, the loaders and the feature engine all read it.

Canonical dtypes
----------------
- ``pupil_id``: a pseudonymous key, whole numbers (``int64``) or text (``str``),
  kept as given (the same kind in every table); ``school_id``: ``int64``;
- dates: ``datetime64[us]`` (day precision, time part always midnight);
  ``NaT`` marks an open spell (no end yet) where the column is nullable;
- codes: pandas ``str`` dtype, values from the code sets in :mod:`._codes`;
- counts: ``int64``; exclusion sessions ``float64`` (NaN for permanent
  exclusions, which have no fixed length);
- flags: ``bool``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from riskscreen.data import _codes

DATE = "datetime64[us]"
ID = "int64"
#: A pupil's key: whole numbers (int64) or text (str), kept as given.
KEY = "key"
INT = "int64"
NULLABLE_INT = "Int64"
FLOAT = "float64"
STR = "str"
BOOL = "bool"


@dataclass(frozen=True)
class ColumnSpec:
    """One canonical column.

    Parameters
    ----------
    dtype : str
        The canonical pandas dtype.
    nullable : bool
        Whether missing values are allowed.
    codes : dict or None
        Allowed values (code -> description), or None for free values.
    required : bool
        Whether the column must be present. Optional columns may be absent
        and are then treated as all missing.
    min_value, max_value : float or None
        Inclusive numeric bounds, where they apply.
    description : str
        What the column holds, in words.
    """

    dtype: str
    nullable: bool = False
    codes: dict[str, str] | None = None
    required: bool = True
    min_value: float | None = None
    max_value: float | None = None
    description: str = ""


@dataclass(frozen=True)
class TableSpec:
    """One canonical table: its columns, key and date-order rules."""

    name: str
    row: str
    columns: dict[str, ColumnSpec]
    key: tuple[str, ...] = ()
    date_order: tuple[tuple[str, str], ...] = ()
    event_date: str | None = None
    end_date: str | None = None
    description: str = ""
    references_pupils: bool = True
    extra_columns_allowed: bool = True

    @property
    def date_columns(self) -> list[str]:
        return [c for c, s in self.columns.items() if s.dtype == DATE]

    @property
    def required_columns(self) -> list[str]:
        return [c for c, s in self.columns.items() if s.required]


def _c(dtype: str, description: str = "", **kw) -> ColumnSpec:
    return ColumnSpec(dtype=dtype, description=description, **kw)


def _ids(*names: str) -> dict[str, ColumnSpec]:
    """Key columns referring to another table (``pupil_id``, ``school_id``)."""
    return {name: _c(KEY if name == "pupil_id" else ID) for name in names}


def _spell_dates() -> dict[str, ColumnSpec]:
    """``start_date`` and ``end_date`` of a spell (``NaT`` while it is open)."""
    return {"start_date": _c(DATE), "end_date": _c(DATE, nullable=True)}


def _counts(**descriptions: str) -> dict[str, ColumnSpec]:
    """Non-negative integer counts by column name."""
    return {name: _c(INT, text, min_value=0) for name, text in descriptions.items()}


def _further_reason(description: str) -> ColumnSpec:
    """An optional second or third exclusion reason."""
    return _c(STR, description, nullable=True, required=False, codes=_codes.EXCLUSION_REASON_CODES)


def _spells(
    name: str,
    row: str,
    columns: dict[str, ColumnSpec],
    key: tuple[str, ...],
    start: str = "start_date",
    end: str = "end_date",
) -> TableSpec:
    """A table of spells of a pupil: each runs from ``start`` to ``end``, the event date."""
    return TableSpec(
        name=name,
        row=row,
        columns=columns,
        key=key,
        date_order=((start, end),),
        event_date=start,
        end_date=end,
    )


PUPILS = TableSpec(
    name="pupils",
    row="pupil",
    columns={
        "pupil_id": _c(KEY, "Pseudonymous pupil key (whole numbers or text)"),
        "birth_month": _c(
            DATE, "First day of the month of birth (the school cohort needs it)", required=False
        ),
        "sex": _c(STR, "Sex (M/F/U)", codes=_codes.SEX_CODES, required=False),
        "ethnicity": _c(
            STR, "Ethnicity (minor-group code)", codes=_codes.ETHNICITY_CODES, required=False
        ),
        "first_language": _c(
            STR, "First language code (ENG, OTH, ...)", nullable=True, required=False
        ),
        "idaci_decile": _c(
            NULLABLE_INT,
            "IDACI decile of home neighbourhood (1 = most deprived)",
            nullable=True,
            required=False,
            min_value=1,
            max_value=10,
        ),
    },
    key=("pupil_id",),
    references_pupils=False,
    description="One row per pupil: the characteristics that do not change.",
)

SCHOOLS = TableSpec(
    name="schools",
    row="school",
    columns={
        "school_id": _c(ID, "School key (URN-like)"),
        "phase": _c(STR, "Phase of education", codes=_codes.SCHOOL_PHASES),
        "name": _c(STR, "School name", nullable=True, required=False),
    },
    key=("school_id",),
    references_pupils=False,
    description="One row per school (optional; used for cohorts and panel packs).",
)

ENROLMENTS = _spells(
    "enrolments",
    "spell on a school roll",
    {
        **_ids("pupil_id", "school_id"),
        "entry_date": _c(DATE, "First day on roll"),
        "leaving_date": _c(DATE, "Day the pupil left the roll (NaT while on roll)", nullable=True),
        "leaving_reason": _c(
            STR, "Why the spell ended", nullable=True, codes=_codes.LEAVING_REASON_CODES
        ),
        "part_time": _c(BOOL, "On a part-time timetable"),
    },
    key=("pupil_id", "school_id", "entry_date"),
    start="entry_date",
    end="leaving_date",
)

ATTENDANCE = _spells(
    "attendance",
    "pupil x attendance period (week or term)",
    {
        **_ids("pupil_id", "school_id"),
        "period_start": _c(DATE, "First day of the period"),
        "period_end": _c(DATE, "Last day of the period (inclusive)"),
        **_counts(
            sessions_possible="Sessions possible",
            sessions_authorised_absent="Sessions of authorised absence",
            sessions_unauthorised_absent="Sessions of unauthorised absence",
        ),
    },
    key=("pupil_id", "school_id", "period_start"),
    start="period_start",
    end="period_end",
)

EXCLUSIONS = TableSpec(
    name="exclusions",
    row="suspension or permanent exclusion",
    columns={
        **_ids("pupil_id", "school_id"),
        "start_date": _c(DATE, "First day of the exclusion"),
        "kind": _c(STR, "suspension or permanent", codes=_codes.EXCLUSION_KINDS),
        "sessions": _c(FLOAT, "Sessions (half days) excluded", nullable=True, min_value=0),
        "reason": _c(STR, "Main reason", codes=_codes.EXCLUSION_REASON_CODES),
        "reason_2": _further_reason("Second reason"),
        "reason_3": _further_reason("Third reason"),
    },
    key=("pupil_id", "school_id", "start_date", "kind"),
    event_date="start_date",
)

SEN = _spells(
    "sen",
    "SEN spell",
    {
        **_ids("pupil_id"),
        **_spell_dates(),
        "provision": _c(STR, "K SEN support / E EHC plan", codes=_codes.SEN_PROVISION_CODES),
        "primary_need": _c(STR, "Primary type of need", nullable=True, codes=_codes.SEN_NEED_CODES),
    },
    key=("pupil_id", "start_date", "provision"),
)

FSM = _spells(
    "fsm",
    "FSM eligibility spell",
    {**_ids("pupil_id"), **_spell_dates()},
    key=("pupil_id", "start_date"),
)

SOCIAL_CARE = _spells(
    "social_care",
    "social-care episode",
    {
        **_ids("pupil_id"),
        "kind": _c(STR, codes=_codes.SOCIAL_CARE_KINDS),
        **_spell_dates(),
        "need_code": _c(STR, "Primary need code", nullable=True, codes=_codes.NEED_CODES),
        "abuse_category": _c(
            STR, "Category of abuse (CP plans)", nullable=True, codes=_codes.ABUSE_CATEGORY_CODES
        ),
        "placement_type": _c(
            STR,
            "Placement type (looked-after episodes)",
            nullable=True,
            codes=_codes.PLACEMENT_TYPE_CODES,
        ),
        "assessment_factors": _c(
            STR, "Factors identified at assessment, comma-separated codes", nullable=True
        ),
    },
    key=("pupil_id", "kind", "start_date"),
)

MISSING_EDUCATION = _spells(
    "missing_education",
    "CME or EHE spell",
    {
        **_ids("pupil_id"),
        "kind": _c(STR, "cme or ehe", codes=_codes.MISSING_EDUCATION_KINDS),
        **_spell_dates(),
        "reason": _c(STR, nullable=True, codes=_codes.MISSING_EDUCATION_REASONS),
    },
    key=("pupil_id", "kind", "start_date"),
)

INTERVENTIONS = _spells(
    "interventions",
    "intervention received",
    {
        **_ids("pupil_id"),
        "kind": _c(STR, "Kind of intervention (e.g. mentoring, early_help)"),
        **_spell_dates(),
    },
    key=("pupil_id", "kind", "start_date"),
)

TABLES: dict[str, TableSpec] = {
    t.name: t
    for t in (
        PUPILS,
        SCHOOLS,
        ENROLMENTS,
        ATTENDANCE,
        EXCLUSIONS,
        SEN,
        FSM,
        SOCIAL_CARE,
        MISSING_EDUCATION,
        INTERVENTIONS,
    )
}
"""Canonical tables by name, in the order they are reported."""

TABLE_NAMES: tuple[str, ...] = tuple(TABLES)


@dataclass(frozen=True)
class CustomSource:
    """An extra event table attached to :class:`LinkedHistories` by name.

    Parameters
    ----------
    id_column : str
        Column holding ``pupil_id``.
    date_column : str
        Column holding the event (or spell start) date.
    end_date_column : str or None
        Column holding a spell's end date, if the events are spells.
    value_columns : tuple of str
        Columns that features may aggregate.
    """

    id_column: str = "pupil_id"
    date_column: str = "date"
    end_date_column: str | None = None
    value_columns: tuple[str, ...] = field(default_factory=tuple)


def empty_table(name: str):
    """An empty DataFrame with the canonical columns and dtypes of ``name``."""
    import pandas as pd

    spec = TABLES[name]
    return pd.DataFrame(
        {
            c: pd.Series([], dtype=ID if s.dtype == KEY else s.dtype)
            for c, s in spec.columns.items()
            if s.required
        }
    )
