"""The :class:`LinkedHistories` container (constructor only; see validate/save/load)."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from riskscreen.data._tables import TABLE_NAMES, CustomSource, empty_table


class LinkedHistories:
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
        Extra event tables by name.
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
        self.custom: dict[str, tuple[pd.DataFrame, CustomSource]] = dict(custom or {})

    def tables(self) -> dict[str, pd.DataFrame]:
        """The canonical tables by name (custom tables not included)."""
        return {name: getattr(self, name) for name in TABLE_NAMES}
