"""One DuckDB session over some histories, at a set of as-of dates, for one cohort.

A :class:`Session` validates the histories (once per content,
:func:`riskscreen.data._gate.ensure_valid`), opens them once
(:class:`riskscreen.data._views.TableViews`:
every table a typed view, in memory or from a Parquet folder), registers the
as-of dates, checks them against the period the data cover, works out the
cohort once into a temporary table ``_cohort_all`` and checks that no cohort row
would vanish. Features (:func:`riskscreen.features._run.run_features`), labels,
protected characteristics, the end of data and the fingerprint are all computed
in that one session, which is how :func:`~riskscreen.features.build_dataset`
and the :class:`~riskscreen.Screener` read the data once per call.
"""

from __future__ import annotations

import warnings

import pandas as pd

from riskscreen._time import as_of_dates
from riskscreen.data import as_histories
from riskscreen.data._gate import ensure_valid
from riskscreen.data._views import TableViews
from riskscreen.features._cohort import (
    Cohort,
    ListedCohort,
    SchoolCohort,
    cohort_from_frame,
    ncyear_sql,
)

#: The cohort as the engines see it once :meth:`Session.prepare` has run.
COHORT_CTES = [("cohort", "SELECT * FROM _cohort_all")]


class Session:
    """Histories opened once; as-of dates and the cohort registered by :meth:`prepare`.

    Parameters
    ----------
    histories : LinkedHistories or path-like
    owner : str
        The public function or class using the session (named in errors).
    """

    def __init__(self, histories, *, owner: str) -> None:
        self.owner = owner
        self.histories = as_histories(histories, owner=owner)
        ensure_valid(self.histories, owner=owner)
        self.views = TableViews(self.histories)
        self.con = self.views.con
        self.info = self.views.info
        self.dates: pd.DatetimeIndex | None = None
        self.cohort_spec: Cohort | None = None
        self._checked: set[str] = set()
        self._range: tuple | None = None

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.views.close()

    # -- what the data cover -------------------------------------------------------------------
    def date_range(self) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
        if self._range is None:
            self._range = self.views.date_range()
        return self._range

    def end_of_data(self) -> pd.Timestamp | None:
        return self.date_range()[1]

    def fingerprint(self) -> dict:
        return self.views.fingerprint()

    def check_sources(self, names) -> None:
        """Raise if a used source has events without a date (each source checked once)."""
        todo = [n for n in dict.fromkeys(names) if n in self.info and n not in self._checked]
        self.views.check_dates(todo)
        self._checked.update(todo)

    # -- as-of dates and cohort ------------------------------------------------------------------
    def prepare(self, dates, cohort=None, *, check: bool = True) -> Session:
        """Register the as-of dates and work out the cohort into ``_cohort_all``.

        Parameters
        ----------
        dates : date or sequence of dates, or None
            None takes the dates of a ``cohort`` frame.
        cohort : Cohort, DataFrame indexed by (pupil_id, as_of_date), or None
            Who is screened (default ``SchoolCohort()``).
        check : bool, default True
            Check the dates lie within the data and every cohort pupil has a
            ``pupils`` row (never dropping a row silently).
        """
        owner = self.owner
        if isinstance(cohort, pd.DataFrame):
            cohort = ListedCohort(cohort)
        if cohort is None:
            cohort = SchoolCohort()
        if not isinstance(cohort, Cohort):
            raise ValueError(
                f"The 'cohort' parameter of {owner} must be a cohort (SchoolCohort, "
                "SocialCareCohort, SpellCohort, ListedCohort), a DataFrame indexed by "
                f"(pupil_id, as_of_date), or None. Got {type(cohort).__name__} instead."
            )
        cohort.validate()
        from_frame = isinstance(cohort, ListedCohort)
        if from_frame:
            frame = cohort_from_frame(cohort.frame)
            if dates is None:
                dates = frame["as_of_date"].unique()
            self.dates = as_of_dates(dates, owner=owner)
            frame = frame[frame["as_of_date"].isin(self.dates)]
            self.con.register("_cohort_frame", frame)
            ctes = [("cohort", "SELECT * FROM _cohort_frame")]
        else:
            self.dates = as_of_dates(dates, owner=owner)
            self.check_sources(cohort.sources())
            self._check_needs(cohort)
            ctes = cohort.ctes(self.info)
        self.cohort_spec = cohort
        self.set_dates(self.dates)
        if check:
            self._check_range()
        with_sql = ",\n".join(f"{name} AS ({body})" for name, body in ctes)
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE _cohort_all AS WITH {with_sql} SELECT * FROM cohort"
        )
        if check:  # on the cohort worked out once, not a second run of its SQL
            self._check_cohort_pupils(COHORT_CTES, from_frame=from_frame)
        if isinstance(cohort, SchoolCohort):
            self._warn_new_year(cohort)
        return self

    def _warn_new_year(self, cohort: SchoolCohort) -> None:
        """Warn when many pupils join a roll just after an as-of date (a new school year).

        Being on roll starts the day after ``entry_date``, so an as-of date in the
        first days of September misses a whole intake (e.g. Year 7) whose entry
        is dated the first day of term.
        """
        lo, hi = cohort.ncyears
        ncy = ncyear_sql("a.as_of_date", "p.birth_month")
        # the few pupils joining in the two weeks after each date, less those screened on it
        # (joined with the cohort, not the cohort searched for each: 24 dates of 1M pupils,
        # 0.7 s against 0.8-1.0 s)
        rows = self.con.execute(
            "WITH late AS (SELECT DISTINCT a.as_of_date, en.pupil_id FROM asof_dates AS a "
            "JOIN enrolments AS en ON en.entry_date >= a.as_of_date AND en.entry_date < "
            "a.as_of_date + INTERVAL '14' DAY JOIN pupils AS p ON p.pupil_id = en.pupil_id "
            f"WHERE {ncy} BETWEEN {int(lo)} AND {int(hi)}), "
            "seen AS (SELECT l.as_of_date, COUNT(*) AS n FROM late AS l JOIN _cohort_all AS k "
            "ON k.pupil_id = l.pupil_id AND k.as_of_date = l.as_of_date GROUP BY 1), "
            "screened AS (SELECT as_of_date, COUNT(*) AS n FROM _cohort_all GROUP BY 1) "
            "SELECT l.as_of_date, COUNT(*) - MAX(COALESCE(s.n, 0)), MAX(COALESCE(c.n, 0)) "
            "FROM late AS l LEFT JOIN seen AS s ON s.as_of_date = l.as_of_date LEFT JOIN "
            "screened AS c ON c.as_of_date = l.as_of_date GROUP BY l.as_of_date "
            "ORDER BY l.as_of_date"
        ).fetchall()
        late = [(d, n, m) for d, n, m in rows if n >= max(5, 0.05 * m)]
        if late:
            d, n, m = late[0]
            warnings.warn(
                f"{self.owner}: {n} pupils in NC years {lo}-{hi} join a school roll in the two "
                f"weeks after the as-of date {pd.Timestamp(d).date()} (a new school year?) and "
                f"are not screened, beside {m} who are. Pupils count as on roll from the day "
                "after their entry date: choose an as-of date after the start of term.",
                UserWarning,
                stacklevel=4,
            )

    def set_dates(self, dates) -> None:
        """Point the view ``asof_dates`` at these dates (all of them, or one batch)."""
        frame = pd.DataFrame({"as_of_date": pd.DatetimeIndex(dates).astype("datetime64[us]")})
        self.con.register("_asof_dates", frame)
        self.con.execute("CREATE OR REPLACE TEMP VIEW asof_dates AS SELECT * FROM _asof_dates")

    def cohort_frame(self) -> pd.DataFrame:
        """The cohort: indexed by (pupil_id, as_of_date), sorted by date then pupil.

        Columns ``school_id`` (Int64, <NA> off roll), ``ncyear`` (int64, or Int64
        where a given frame lacks it) and ``on_roll`` (bool, or boolean).
        """
        out = index_frame(
            self.con.execute(
                "SELECT pupil_id, as_of_date, school_id, ncyear, on_roll FROM _cohort_all "
                "ORDER BY as_of_date, pupil_id"
            ).df()
        )
        out["school_id"] = out["school_id"].astype("Int64")
        for col, dtype in (("ncyear", "int64"), ("on_roll", "bool")):
            nullable = "Int64" if dtype == "int64" else "boolean"
            out[col] = out[col].astype(nullable)
            if not out[col].isna().any():
                out[col] = out[col].astype(dtype)
        return out

    # -- checks ----------------------------------------------------------------------------------
    def _check_needs(self, cohort: Cohort) -> None:
        """Raise if the data lack a column the cohort needs (never screen nobody silently)."""
        for table, column in cohort.needs():
            info = self.info.get(table)
            if info is None or column not in info.present:
                raise ValueError(
                    f"{self.owner}: the cohort ({cohort.words()}) needs column {column!r} of "
                    f"table {table!r}, which your data do not have. Add it, or choose a "
                    "cohort that does not need it (e.g. SpellCohort over a source of yours, "
                    "or ListedCohort with the ids to screen)."
                )

    def _check_range(self) -> None:
        """Raise if an as-of date is outside the period the data cover."""
        owner = self.owner
        lo, hi = self.date_range()
        if lo is None or hi is None:
            raise ValueError(
                f"{owner}: the histories hold no dated events (enrolments, attendance, ...), so "
                "no as-of date can be placed in them."
            )
        end = hi + pd.Timedelta(days=1)
        bad = [d for d in self.dates if not (lo < d <= end)]
        if bad:
            shown = ", ".join(str(pd.Timestamp(d).date()) for d in bad[:5])
            raise ValueError(
                f"The 'as_of_dates' parameter of {owner} must lie within the data: after the "
                f"first recorded date {lo.date()} and no later than the day after the end of "
                f"data {hi.date()} (i.e. in ({lo.date()}, {end.date()}]). Got {shown} instead."
            )

    def _check_cohort_pupils(self, cohort_ctes, *, from_frame: bool) -> None:
        """Raise if a cohort row's pupil has no row in ``pupils`` (never drop it silently).

        A :class:`Cohort` built from the data needs ``pupils.birth_month`` for the NC
        year that decides membership; a user-given cohort frame naming pupils absent
        from the histories would get features of "no events at all". Both are data
        errors an analyst wants to hear about, so they raise rather than vanish. The
        message gives counts, never a pupil's identifier.
        """
        with_sql = ",\n".join(f"{name} AS ({body})" for name, body in cohort_ctes)
        n, n_pupils, n_on_roll = self.con.execute(
            f"WITH {with_sql}, orphans AS (SELECT c.pupil_id, c.on_roll FROM cohort AS c "
            "WHERE NOT EXISTS (SELECT 1 FROM pupils AS p WHERE p.pupil_id = c.pupil_id)) "
            "SELECT COUNT(*), COUNT(DISTINCT pupil_id), COUNT(*) FILTER (WHERE on_roll) "
            "FROM orphans"
        ).fetchall()[0]
        if not n:
            return
        if from_frame:
            where = "The 'cohort' frame has"
            fix = "remove them from the cohort or add their rows to 'pupils'"
        else:
            tables = (
                "'enrolments'"
                if n_on_roll == n
                else ("'social_care'" if not n_on_roll else "'enrolments' / 'social_care'")
            )
            where = f"The cohort (pupils on roll in {tables} on an as-of date) has"
            fix = (
                "every screened pupil needs a 'pupils' row, whose birth_month gives the NC "
                f"year; add the missing 'pupils' rows or drop their rows from {tables}"
            )
        raise ValueError(
            f"{self.owner}: {where} {n} row(s) ({n_pupils} pupil(s)) whose column 'pupil_id' "
            f"has no row in table 'pupils'. Expected a row in 'pupils' for every pupil_id of "
            f"the cohort; {fix}. (Rows are never dropped silently.)"
        )


def key_values(values) -> pd.Series:
    """Pupil keys as they are kept: int64 for whole numbers, the pandas str dtype for text."""
    values = pd.Series(values)
    if pd.api.types.is_integer_dtype(values.dtype) or pd.api.types.is_float_dtype(values.dtype):
        return values.astype("int64")
    return values.astype("str")


def index_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """Index a result by (pupil_id, as_of_date datetime64[us])."""
    frame["pupil_id"] = key_values(frame["pupil_id"]).to_numpy()
    frame["as_of_date"] = frame["as_of_date"].astype("datetime64[us]")
    return frame.set_index(["pupil_id", "as_of_date"])
