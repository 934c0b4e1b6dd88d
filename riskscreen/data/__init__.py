"""Canonical data model: linked education and social-care histories.

A :class:`LinkedHistories` holds one pandas DataFrame per canonical table
(pupils, schools, enrolments, attendance, exclusions, sen, fsm, social_care,
missing_education, interventions) following the DfE code sets, plus custom
event tables attached by name (:meth:`LinkedHistories.add_source`).
:meth:`LinkedHistories.validate` checks every rule and raises one
:class:`DataValidationError` listing every :class:`Problem`;
:meth:`LinkedHistories.save` and :meth:`LinkedHistories.load` keep the tables
as a folder of Parquet files. The pandera schema of each table
(:func:`table_schema`) is built from the declarations in :data:`TABLES`.
"""

from riskscreen.data._linked import LinkedHistories
from riskscreen.data._schemas import table_schema
from riskscreen.data._tables import TABLE_NAMES, TABLES, ColumnSpec, CustomSource, TableSpec
from riskscreen.data._validation import DataValidationError, Problem

__all__ = [
    "TABLES",
    "TABLE_NAMES",
    "ColumnSpec",
    "CustomSource",
    "DataValidationError",
    "LinkedHistories",
    "Problem",
    "TableSpec",
    "table_schema",
]
