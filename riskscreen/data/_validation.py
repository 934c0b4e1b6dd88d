"""Validation of :class:`LinkedHistories`: every rule, one error listing every problem.

This module runs the rule families in order and gathers their problems:

- :mod:`._validation_report`: :class:`Problem`, :class:`DataValidationError`
  and the helpers that describe offending rows and values in words;
- :mod:`._coerce`: dtype coercion of analysts' extracts (:func:`coerce_table`);
- :mod:`._rules_table`: rules about one table (structure, pandera column
  rules, date order, attendance sums, duplicate keys);
- :mod:`._rules_cross`: rules that look at another table (unknown pupils and
  schools, events before birth);
- :mod:`._rules_custom`: rules for custom sources.

Whatever state the tables are in, the checks only ever produce problems: an
unexpected error inside a rule becomes a problem too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import pandas as pd

from riskscreen.data._coerce import coerce_column, coerce_table
from riskscreen.data._rules_cross import PupilIndex, pupil_rules, school_rules
from riskscreen.data._rules_custom import check_custom, source_problem
from riskscreen.data._rules_table import frame_problem, pandera_problems, table_rules
from riskscreen.data._tables import TABLE_NAMES, TABLES
from riskscreen.data._validation_report import (
    MAX_EXAMPLES,
    DataValidationError,
    Problem,
    _rebuild_error,  # noqa: F401 - unpickles errors pickled when it lived here
)

if TYPE_CHECKING:
    from riskscreen.data._linked import LinkedHistories

__all__ = [
    "MAX_EXAMPLES",
    "DataValidationError",
    "Problem",
    "coerce_column",
    "coerce_table",
    "find_problems",
    "validate_histories",
]

# The order problems of one column are listed in.
_RULE_RANK = {
    rule: i
    for i, rule in enumerate(
        [
            "not_a_table",
            "duplicate_column",
            "missing_column",
            "extra_column",
            "dtype",
            "nullable",
            "code",
            "bounds",
            "implausible_date",
            "date_order",
            "sessions",
            "unknown_pupil",
            "unknown_school",
            "before_birth",
            "duplicate_key",
        ]
    )
}


def _check_canonical(
    name: str, frame: object, pupils: PupilIndex, schools: object
) -> list[Problem]:
    problem = frame_problem(name, frame)
    if problem is not None:
        return [problem]
    assert isinstance(frame, pd.DataFrame)
    spec = TABLES[name]
    problems, good = pandera_problems(name, frame, spec)
    problems += table_rules(name, frame, spec, good)
    problems += pupil_rules(name, frame, spec, good, pupils)
    problems += school_rules(name, frame, good, schools)
    position = {c: i for i, c in enumerate(spec.columns)}
    return sorted(
        problems,
        key=lambda p: (position.get(p.column, len(position)), _RULE_RANK.get(p.rule, 99)),
    )


def _guarded(name: str, check: Callable[..., list[Problem]], *args: object) -> list[Problem]:
    """Run one table's checks; an unexpected error becomes a problem, never escapes."""
    try:
        return check(name, *args)
    except Exception as exc:  # noqa: BLE001 - the contract is: only DataValidationError
        return [
            Problem(
                name,
                None,
                "check_failed",
                0,
                (),
                "expected tables the checks can read",
                f"{type(exc).__name__}: {str(exc)[:200]}",
            )
        ]


def find_problems(histories: LinkedHistories) -> list[Problem]:
    """Every problem in a :class:`LinkedHistories`, canonical tables first, then custom ones.

    Parameters
    ----------
    histories : LinkedHistories
        The histories to check; their tables may be in any state.

    Returns
    -------
    list of Problem
        Empty when every rule holds.
    """
    pupils_frame = getattr(histories, "pupils", None)
    try:
        pupils = PupilIndex(pupils_frame)
    except Exception:  # noqa: BLE001 - reported below as problems of the pupils table
        pupils = PupilIndex(None)
    schools = getattr(histories, "schools", None)
    problems: list[Problem] = []
    for name in TABLE_NAMES:
        frame = getattr(histories, name, None)
        problems += _guarded(name, _check_canonical, frame, pupils, schools)
    custom = getattr(histories, "custom", None) or {}
    if not isinstance(custom, Mapping):
        return problems + [
            source_problem("custom", "expected a dict of custom sources", type(custom).__name__)
        ]
    for name, entry in custom.items():
        problems += _guarded(str(name), check_custom, entry, pupils)
    return problems


def validate_histories(histories: LinkedHistories) -> None:
    """Raise one :class:`DataValidationError` listing every problem, if there are any.

    Parameters
    ----------
    histories : LinkedHistories
        The histories to check.

    Raises
    ------
    DataValidationError
        Listing every problem found by :func:`find_problems`.
    """
    problems = find_problems(histories)
    if problems:
        raise DataValidationError(problems)
