"""Canonical data model: linked education and social-care histories.

A :class:`LinkedHistories` holds one pandas DataFrame per canonical table
(pupils, schools, enrolments, attendance, exclusions, sen, fsm, social_care,
missing_education, interventions) following the DfE code sets, plus custom
event tables attached by name (:meth:`LinkedHistories.add_source`).
:meth:`LinkedHistories.validate` checks every rule and raises one
:class:`DataValidationError` listing every :class:`Problem`;
:meth:`LinkedHistories.save` and :meth:`LinkedHistories.load` keep the tables
as a folder of Parquet files, and :meth:`LinkedHistories.open` opens such a
folder without reading it (tables are read by DuckDB, out of core, when used).
:meth:`LinkedHistories.end_of_data` and :meth:`LinkedHistories.fingerprint`
say how far the data reach and identify them, the same in memory or on disk;
:func:`as_histories` is how every entry point of riskscreen reaches histories
given as an object or a folder. The pandera schema of each table
(:func:`table_schema`) is built from the declarations in :data:`TABLES`.
"""

from riskscreen.data._linked import LinkedHistories, as_histories
from riskscreen.data._returns import read_returns
from riskscreen.data._returns_read import Rejection, ReturnsError
from riskscreen.data._returns_report import ReturnsReport
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
    "Rejection",
    "ReturnsError",
    "ReturnsReport",
    "TableSpec",
    "as_histories",
    "read_returns",
    "table_schema",
]
