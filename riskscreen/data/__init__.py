"""Canonical data model: linked education and social-care histories.

A :class:`LinkedHistories` holds one pandas DataFrame per canonical table
(pupils, schools, enrolments, attendance, exclusions, sen, fsm, social_care,
missing_education, interventions) following the DfE code sets, plus custom
event tables attached by name. :meth:`LinkedHistories.validate` checks every
rule and raises one :class:`DataValidationError` listing every problem.
"""

from riskscreen.data._linked import LinkedHistories
from riskscreen.data._tables import TABLE_NAMES, TABLES, ColumnSpec, CustomSource, TableSpec

__all__ = [
    "TABLES",
    "TABLE_NAMES",
    "ColumnSpec",
    "CustomSource",
    "LinkedHistories",
    "TableSpec",
]
