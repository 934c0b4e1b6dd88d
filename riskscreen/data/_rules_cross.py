"""Rules that look at another table: unknown pupils and schools, events before birth.

:class:`PupilIndex` prepares the pupils table once for every table that
refers to pupils (canonical and custom); :func:`school_rules` checks the
``school_id`` of enrolments, attendance and exclusions against schools.
The parameters ``name``, ``frame``, ``spec`` and ``good`` mean what they mean
for the rules of :mod:`._rules_table`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskscreen.data._rules_table import is_good
from riskscreen.data._tables import DATE, ID, KEY, TableSpec
from riskscreen.data._validation_report import Problem, mask_problem

# Tables whose school_id must refer to the schools table (when it has rows).
_SCHOOL_TABLES = ("enrolments", "attendance", "exclusions")


def _is_text(dtype) -> bool:
    return isinstance(dtype, pd.StringDtype) or pd.api.types.is_object_dtype(dtype)


class PupilIndex:
    """The pupils table prepared once for the reference and birth rules.

    Parameters
    ----------
    pupils : object
        The pupils table as found. When it is not a DataFrame with unique
        column names and an integer ``pupil_id`` column, no reference rule
        runs (the pupils table's own problems say why).
    """

    def __init__(self, pupils: object) -> None:
        self.ids: pd.Series | None = None
        self.birth: pd.Series | None = None
        if not isinstance(pupils, pd.DataFrame) or pupils.columns.duplicated().any():
            return
        if "pupil_id" in pupils.columns and is_good(pupils["pupil_id"], KEY):
            ids = pupils["pupil_id"]
            self.ids = ids[ids.notna()]
            if "birth_month" in pupils.columns and is_good(pupils["birth_month"], DATE):
                first = pupils.loc[ids.notna().to_numpy()].drop_duplicates("pupil_id")
                self.birth = pd.Series(
                    first["birth_month"].to_numpy(), index=first["pupil_id"].to_numpy()
                )

    def check(
        self, name: str, frame: pd.DataFrame, id_column: str, date_column: str | None
    ) -> list[Problem]:
        """Unknown pupils and, given a date column, events before the pupil's birth month.

        Parameters
        ----------
        name : str
            Table name.
        frame : DataFrame
            The table, whose ``id_column`` has an integer dtype.
        id_column : str
            The column holding ``pupil_id``.
        date_column : str or None
            The event date column (with a date dtype), or None to skip the
            birth rule.

        Returns
        -------
        list of Problem
        """
        if self.ids is None:
            return []
        ids = frame[id_column]
        if len(ids) and _is_text(ids.dtype) != _is_text(self.ids.dtype):
            kind = "text" if _is_text(self.ids.dtype) else "whole numbers"
            got = "text" if _is_text(ids.dtype) else "whole numbers"
            return [
                Problem(
                    name,
                    id_column,
                    "dtype",
                    int(ids.notna().sum()),
                    (),
                    f"expected pupil keys of the same kind as pupils.pupil_id ({kind})",
                    got,
                )
            ]
        present = ids.notna().to_numpy()
        known = ids.isin(self.ids).to_numpy(dtype=bool, na_value=False)
        problems = [
            mask_problem(
                name,
                id_column,
                "unknown_pupil",
                frame,
                present & ~known,
                "expected a pupil_id present in pupils",
                (id_column,),
            )
        ]
        if date_column is not None and self.birth is not None and len(self.birth):
            problems.append(self._before_birth(name, frame, id_column, date_column))
        return [p for p in problems if p is not None]

    def _before_birth(
        self, name: str, frame: pd.DataFrame, id_column: str, date_column: str
    ) -> Problem | None:
        ids = frame[id_column]
        where = pd.Index(self.birth.index).get_indexer(ids)
        births = self.birth.to_numpy()[np.maximum(where, 0)]
        births[where < 0] = np.datetime64("NaT")
        birth = pd.Series(births, index=frame.index)
        mask = (frame[date_column] < birth).to_numpy(dtype=bool, na_value=False)
        offending = pd.DataFrame(
            {
                id_column: ids[mask],
                date_column: frame[date_column][mask],
                "birth_month": birth[mask],
            }
        )
        return mask_problem(
            name,
            date_column,
            "before_birth",
            offending,
            np.ones(len(offending), dtype=bool),
            f"expected {date_column} on or after the pupil's birth_month",
            (id_column, date_column, "birth_month"),
        )


def pupil_rules(
    name: str, frame: pd.DataFrame, spec: TableSpec, good: set[str], pupils: PupilIndex
) -> list[Problem]:
    """Unknown pupils and events before birth (at ``spec.event_date``) in a canonical table."""
    if not spec.references_pupils or "pupil_id" not in good:
        return []
    date = spec.event_date if spec.event_date in good else None
    return pupils.check(name, frame, "pupil_id", date)


def school_rules(name: str, frame: pd.DataFrame, good: set[str], schools: object) -> list[Problem]:
    """Unknown schools in enrolments, attendance and exclusions.

    The rule runs only when ``schools``, the schools table as found, is a
    DataFrame with rows and an integer ``school_id`` column.
    """
    if name not in _SCHOOL_TABLES or "school_id" not in good:
        return []
    if not isinstance(schools, pd.DataFrame) or len(schools) == 0:
        return []
    if schools.columns.duplicated().any() or "school_id" not in schools.columns:
        return []
    if not is_good(schools["school_id"], ID):
        return []
    ids = frame["school_id"]
    mask = ids.notna().to_numpy() & ~ids.isin(schools["school_id"].dropna()).to_numpy(
        dtype=bool, na_value=False
    )
    problem = mask_problem(
        name,
        "school_id",
        "unknown_school",
        frame,
        mask,
        "expected a school_id present in schools",
        ("school_id",),
    )
    return [] if problem is None else [problem]
