"""The :class:`LinkedHistories` container: tables, validation, save/load, reprs."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, MutableMapping
from pathlib import Path

import pandas as pd

from riskscreen.data._csv import read_csv_tables
from riskscreen.data._frames import declare_source, histories_from_frames
from riskscreen.data._io import load_histories, save_histories
from riskscreen.data._lazy import FolderBacked
from riskscreen.data._summary import html_repr, summarise, text_repr
from riskscreen.data._tables import TABLE_NAMES, CustomSource, empty_table
from riskscreen.data._validation import (
    DataValidationError,
    find_problems,
)


class LinkedHistories(FolderBacked):
    """Linked education and social-care histories of the same children.

    Holds the canonical tables (see :data:`riskscreen.data.TABLES`) as pandas
    DataFrames, one attribute per table, plus any custom event tables attached
    by name. Missing tables are empty frames with the canonical columns.

    Parameters
    ----------
    pupils, schools, enrolments, attendance, exclusions, sen, fsm, social_care, \
missing_education, interventions : DataFrame or None
        The canonical tables.
    custom : mapping of str to (DataFrame, CustomSource), optional
        Extra event tables by name (see :meth:`add_source`).

    Attributes
    ----------
    custom : dict of str to (DataFrame, CustomSource)
        The custom event tables.

    See Also
    --------
    LinkedHistories.validate : check every rule of the data model.
    LinkedHistories.save, LinkedHistories.load : a folder of Parquet files.

    Examples
    --------
    >>> import pandas as pd
    >>> from riskscreen.data import LinkedHistories
    >>> pupils = pd.DataFrame({
    ...     "pupil_id": [1, 2],
    ...     "birth_month": pd.to_datetime(["2010-03-01", "2011-07-01"]),
    ...     "sex": ["F", "M"],
    ...     "ethnicity": ["WBRI", "BAFR"],
    ...     "first_language": ["ENG", "OTH"],
    ...     "idaci_decile": pd.array([3, None], dtype="Int64"),
    ... })
    >>> histories = LinkedHistories(pupils=pupils).validate()
    >>> histories.n_pupils
    2
    """

    def __init__(
        self,
        pupils: pd.DataFrame | None = None,
        schools: pd.DataFrame | None = None,
        enrolments: pd.DataFrame | None = None,
        attendance: pd.DataFrame | None = None,
        exclusions: pd.DataFrame | None = None,
        sen: pd.DataFrame | None = None,
        fsm: pd.DataFrame | None = None,
        social_care: pd.DataFrame | None = None,
        missing_education: pd.DataFrame | None = None,
        interventions: pd.DataFrame | None = None,
        *,
        custom: Mapping[str, tuple[pd.DataFrame, CustomSource]] | None = None,
    ) -> None:
        given = dict(
            pupils=pupils,
            schools=schools,
            enrolments=enrolments,
            attendance=attendance,
            exclusions=exclusions,
            sen=sen,
            fsm=fsm,
            social_care=social_care,
            missing_education=missing_education,
            interventions=interventions,
        )
        for name in TABLE_NAMES:
            frame = given[name]
            setattr(self, name, empty_table(name) if frame is None else frame)
        self.custom: MutableMapping[str, tuple[pd.DataFrame, CustomSource]] = dict(custom or {})
        self._folder: Path | None = None
        self._files: dict[str, Path] = {}

    # ------------------------------------------------------ what the data cover

    def date_range(self) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
        """The earliest event date and the end of data (see :meth:`end_of_data`)."""
        from riskscreen.data._gate import ensure_valid
        from riskscreen.data._views import TableViews

        ensure_valid(self, owner="LinkedHistories.date_range")
        with TableViews(self) as views:
            return views.date_range()

    def end_of_data(self) -> pd.Timestamp | None:
        """The latest date the histories record anything as happened or recorded.

        The latest event date (an attendance period's last day, an exclusion's
        start, a spell's start, a custom source's date) or knowledge date
        (``recorded_date``, ``end_recorded_date``) over every table, canonical and
        custom. Spell end dates are not used: they may be planned dates. A label
        window ``[as_of, as_of + horizon)`` is complete when its last day is no
        later than this. None when nothing is dated.
        """
        return self.date_range()[1]

    def fingerprint(self) -> dict:
        """Row counts and content hashes of every table, without identifiers or rows.

        Independent of row order, and identical for the same data in memory or
        in a saved folder. Returns ``{"tables": {name: {"rows", "sha256"}},
        "combined": <16 hex digits>}``.
        """
        from riskscreen.data._gate import ensure_valid
        from riskscreen.data._views import TableViews

        ensure_valid(self, owner="LinkedHistories.fingerprint")
        with TableViews(self) as views:
            return views.fingerprint()

    # ------------------------------------------------------------------ tables

    def tables(self) -> dict[str, pd.DataFrame]:
        """The canonical tables by name (custom tables not included)."""
        return {name: getattr(self, name) for name in TABLE_NAMES}

    def all_tables(self) -> dict[str, pd.DataFrame]:
        """Every table by name: the canonical ones, then the custom ones."""
        out = self.tables()
        out.update({name: frame for name, (frame, _) in self.custom.items()})
        return out

    def add_source(
        self,
        name: str,
        frame: pd.DataFrame,
        *,
        id_column: str = "pupil_id",
        date_column: str = "date",
        end_date_column: str | None = None,
        value_columns: Iterable[str] | None = None,
    ) -> LinkedHistories:
        """Attach a custom event table (housing, youth justice, police notifications, ...).

        The table is kept as given (not copied), validated by :meth:`validate`
        (the id column refers to pupils, dates are dates, ends are not before
        starts) and saved and loaded with the canonical tables.

        Parameters
        ----------
        name : str
            Name of the source, an identifier such as ``"youth_justice"``. It
            must not be a canonical table name nor an attached source.
        frame : DataFrame
            One row per event (or spell).
        id_column : str, default="pupil_id"
            Column holding the pupil key.
        date_column : str, default="date"
            Column holding the event date (or spell start).
        end_date_column : str or None, default=None
            Column holding the spell end, if the rows are spells.
        value_columns : iterable of str or None, default=None
            Columns that features may aggregate. None means every column
            other than the id and date columns.

        Returns
        -------
        self : LinkedHistories
            The same object, modified in place, so calls can be chained.

        Raises
        ------
        ValueError
            If the name clashes with a canonical table or an attached source,
            is not an identifier, or a named column is not in ``frame``.
        TypeError
            If ``frame`` is not a DataFrame.

        Examples
        --------
        >>> import pandas as pd
        >>> from riskscreen.data import LinkedHistories
        >>> notices = pd.DataFrame({"pupil_id": [1], "date": pd.to_datetime(["2023-05-02"]),
        ...                         "kind": ["domestic_abuse"]})
        >>> histories = LinkedHistories().add_source("police_notices", notices)
        >>> histories.custom["police_notices"][1].value_columns
        ('kind',)
        """
        if isinstance(name, str) and name in self.custom:
            raise ValueError(
                f"A custom source named {name!r} is already attached. "
                f"Use remove_source({name!r}) first to replace it."
            )
        source = declare_source(
            name,
            frame,
            id_column=id_column,
            date_column=date_column,
            end_date_column=end_date_column,
            value_columns=value_columns,
        )
        self.custom[name] = (frame, source)
        return self

    def remove_source(self, name: str) -> LinkedHistories:
        """Detach a custom source by name and return self.

        Raises
        ------
        KeyError
            If no custom source has that name.
        """
        if name not in self.custom:
            raise KeyError(f"No custom source named {name!r}. Attached: {list(self.custom)}.")
        del self.custom[name]
        return self

    @property
    def n_pupils(self) -> int:
        """Number of distinct pupils in the pupils table."""
        pupils = self.pupils
        if isinstance(pupils, pd.DataFrame) and "pupil_id" in pupils.columns:
            return int(pupils["pupil_id"].nunique())
        return 0

    def copy(self, deep: bool = True) -> LinkedHistories:
        """A copy of every table (deep by default), custom sources included."""
        frames = {name: frame.copy(deep=deep) for name, frame in self.tables().items()}
        custom = {name: (frame.copy(deep=deep), src) for name, (frame, src) in self.custom.items()}
        return type(self)(**frames, custom=custom)

    # --------------------------------------------------------------- validation

    def validate(self) -> LinkedHistories:
        """Check every rule of the data model; raise one error listing every problem.

        Rules, per canonical table (declared in :data:`riskscreen.data.TABLES`):

        - **structure**: the table is a DataFrame with unique column names and
          every required column;
        - **dtype**: each canonical column has the canonical dtype family
          (dates: any tz-naive ``datetime64`` unit; integers: any integer
          dtype; codes: a pandas string dtype; flags: boolean), see
          :mod:`riskscreen.data._schemas`;
        - **nullable**: no missing values in non-nullable columns;
        - **code**: values come from the column's DfE code set;
        - **bounds**: numbers within the declared bounds, floats finite, and in attendance
          ``sessions_authorised_absent + sessions_unauthorised_absent <=
          sessions_possible``;
        - **date_order**: each spell ends on or after it starts;
        - **duplicate_key**: each table key appears once;
        - **unknown_pupil / unknown_school**: every ``pupil_id`` in an event
          table is in pupils; every ``school_id`` in enrolments, attendance
          and exclusions is in schools, when schools has rows;
        - **implausible_date**: every date lies between 1990-01-01 and
          2099-12-31 and is a whole day (no time of day); ``birth_month``
          is the first of a month;
        - **before_birth**: no event (the table's event date) before the
          pupil's birth month.

        Custom sources: the id column exists, is an integer column without
        missing values and refers to pupils; the date column exists, is a
        date column without missing values, plausible and not before birth;
        the end column, if any, is a date on or after the start; the value
        columns exist.

        Returns
        -------
        self : LinkedHistories
            When every rule holds, so calls can be chained:
            ``LinkedHistories(...).validate().save(path)``.

        Raises
        ------
        DataValidationError
            Listing every problem (table, column, number of rows, example row
            index labels, what was expected); see ``.problems`` and
            ``.to_frame()``. No other exception is raised, however broken
            the tables are.
        """
        problems = find_problems(self)
        if problems:
            raise DataValidationError(problems)
        return self

    def is_valid(self) -> bool:
        """Whether :meth:`validate` would pass."""
        return not find_problems(self)

    # -------------------------------------------------------------- construction

    @classmethod
    def from_frames(
        cls,
        frames: Mapping[str, pd.DataFrame],
        *,
        coerce: bool = True,
        validate: bool = True,
    ) -> LinkedHistories:
        """Build from a mapping of canonical table name to DataFrame, converting dtypes.

        Meant for analysts bringing their own extracts: dates given as text
        (ISO ``2021-09-06`` or UK ``06/09/2021``), ids and counts given as
        text or floats, flags as ``Y/N`` or ``True/False`` are converted to
        the canonical dtypes. Values that cannot be converted are reported,
        never dropped silently.

        Parameters
        ----------
        frames : mapping of str to DataFrame
            Canonical tables by name; absent tables are empty.
        coerce : bool, default=True
            Convert canonical columns to their canonical dtypes.
        validate : bool, default=True
            Run :meth:`validate` on the result.

        Returns
        -------
        LinkedHistories

        Raises
        ------
        ValueError
            If a name is not a canonical table.
        DataValidationError
            Listing values that could not be converted (rule
            ``"unreadable"``) and, if ``validate``, every other problem.
        """
        return histories_from_frames(cls, frames, coerce=coerce, validate=validate)

    @classmethod
    def read_csv(
        cls,
        path: str | os.PathLike,
        *,
        validate: bool = True,
        sep: str | None = None,
        encoding: str = "utf-8-sig",
        **read_csv_kwargs,
    ) -> LinkedHistories:
        """Read canonical tables from a folder of ``<table>.csv`` files.

        Every file is read as text and converted as in :meth:`from_frames`
        (dates in ISO ``2021-09-06`` or UK ``06/09/2021`` form; a date with a
        time zone, e.g. ``2021-09-06T23:30:00Z``, becomes its local date in
        England); tables without a file are empty. A CSV file whose name is not
        a canonical table name is an error, never ignored.

        Parameters
        ----------
        path : str or path-like
            Folder holding e.g. ``pupils.csv``, ``exclusions.csv``.
        validate : bool, default=True
            Run :meth:`validate` on the result.
        sep : str, optional
            The separator; detected from each header line by default.
        encoding : str, default="utf-8-sig"
            The files' encoding (e.g. ``"cp1252"`` for files saved by Excel on
            Windows).
        **read_csv_kwargs
            Passed to :func:`pandas.read_csv`.

        Returns
        -------
        LinkedHistories

        Raises
        ------
        FileNotFoundError
            If the folder does not exist or holds no canonical CSV file.
        DataValidationError
            For a misnamed, empty, ragged or wrongly encoded file (naming the
            file and line), and as :meth:`from_frames`.
        """
        frames = read_csv_tables(path, sep=sep, encoding=encoding, **read_csv_kwargs)
        return cls.from_frames(frames, coerce=True, validate=validate)

    # --------------------------------------------------------------------- I/O

    def save(self, path: str | os.PathLike, *, overwrite: bool = True) -> Path:
        """Write every table to a folder of Parquet files, atomically.

        Layout::

            <path>/manifest.json          tables, row counts, dtypes, custom-source
                                          metadata, riskscreen and format versions
            <path>/<table>.parquet        the ten canonical tables, always
            <path>/custom/<name>.parquet  one per custom source

        Everything is written to a temporary folder beside ``path`` and
        renamed into place when complete; a failed save leaves no
        half-written folder and keeps any previous content intact. Tables
        are saved as they are: call :meth:`validate` first if you need
        valid data on disk.

        Parameters
        ----------
        path : str or path-like
            The folder to write.
        overwrite : bool, default=True
            Replace a folder previously written by ``save``. A non-empty
            folder that is not a saved LinkedHistories is never replaced.

        Returns
        -------
        Path
            The folder written.

        Raises
        ------
        FileExistsError
            If ``path`` is a file, a non-empty folder without a manifest, or
            a saved folder and ``overwrite`` is False.
        """
        return save_histories(self, path, overwrite=overwrite)

    @classmethod
    def load(cls, path: str | os.PathLike) -> LinkedHistories:
        """Read a folder written by :meth:`save`, exactly as it was saved.

        Columns, their order, dtypes, values and the index of every table
        (custom ones included) come back as saved.

        Parameters
        ----------
        path : str or path-like
            A folder written by :meth:`save`.

        Returns
        -------
        LinkedHistories

        Raises
        ------
        FileNotFoundError
            If the folder, its ``manifest.json`` or a table file is missing
            (the message names the file).
        ValueError
            If the manifest or a file cannot be read or does not match.
        """
        histories = load_histories(path)
        if cls is not LinkedHistories:
            return cls(**histories.tables(), custom=histories.custom)
        return histories

    # ------------------------------------------------------------------ reprs

    def summary(self) -> pd.DataFrame:
        """One row per table: rows, pupils covered and the date range.

        Tables of an opened folder that were not read into memory are summarised
        by DuckDB from their Parquet files, without loading them.

        Returns
        -------
        DataFrame
            Indexed by table name (canonical tables, then custom ones), with
            columns ``rows``, ``pupils`` (distinct pupil ids), ``columns``,
            ``first_date`` and ``last_date`` (over every date column of the table;
            NaT when there is none).
        """
        return summarise(self)

    def __repr__(self) -> str:
        return text_repr(self)

    def _repr_html_(self) -> str:
        return html_repr(self)


def as_histories(histories, *, owner: str) -> LinkedHistories:
    """The one way riskscreen reaches histories: an object, or a saved folder opened lazily.

    Parameters
    ----------
    histories : LinkedHistories or path-like
        Histories in memory, or a folder written by :meth:`LinkedHistories.save`
        (opened with :meth:`LinkedHistories.open`: checked, not read).
    owner : str
        The function or class asking, named in the error message.
    """
    if isinstance(histories, LinkedHistories):
        return histories
    if isinstance(histories, (str, os.PathLike)):
        return LinkedHistories.open(histories)
    raise TypeError(
        f"The 'histories' parameter of {owner} must be a LinkedHistories or the path of a "
        f"folder written by LinkedHistories.save. Got {type(histories).__name__} instead."
    )
