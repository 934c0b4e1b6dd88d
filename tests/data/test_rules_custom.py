"""Validation of custom sources: one case per kind of problem (see :mod:`_problem_checks`)."""

from __future__ import annotations

import pandas as pd
import pytest
from _data_histories import dates, ints, texts
from _problem_checks import Reported, assert_all_reported, setting_custom

from riskscreen.data import CustomSource, LinkedHistories

NO_MISSING = "expected no missing values"


def _add_housing(histories: LinkedHistories) -> None:
    housing = pd.DataFrame(
        {
            "pupil_id": ints(1, 7),
            "start": dates("2021-01-01", "2022-01-01"),
            "end": dates("2020-06-01", None),
            "band": texts("A", "B"),
        }
    )
    histories.add_source(
        "housing", housing, date_column="start", end_date_column="end", value_columns=["band"]
    )


def _add_youth_justice_with_text_dates(histories: LinkedHistories) -> None:
    frame = pd.DataFrame({"child": ints(1, 2), "when": texts("2022-01-01", "yesterday")})
    histories.custom["youth_justice"] = (
        frame,
        CustomSource(id_column="pupil_id", date_column="when", value_columns=("outcome",)),
    )


def _add_clashing_and_malformed_entries(histories: LinkedHistories) -> None:
    histories.custom["pupils"] = (histories.pupils, CustomSource())
    histories.custom["notes"] = histories.pupils
    histories.custom["bad name"] = histories.custom["police_notices"]


def _case(mutation, *reported, id):
    return pytest.param(mutation, reported, id=id)


CASES = [
    _case(
        _add_housing,
        Reported("housing.pupil_id", "unknown_pupil", [1], "expected a pupil_id present in pupils"),
        Reported("housing.end", "date_order", [0], "expected end >= start"),
        id="custom_table_with_unknown_pupil_and_spell_order",
    ),
    _case(
        _add_youth_justice_with_text_dates,
        Reported("youth_justice.when", "dtype", [1], "expected a datetime64 dtype"),
        Reported(
            "youth_justice.pupil_id", "missing_column", [], "expected required column pupil_id"
        ),
        Reported("youth_justice.outcome", "missing_column", [], "expected required column outcome"),
        id="custom_table_with_text_dates_and_missing_columns",
    ),
    _case(
        setting_custom("police_notices", date=dates("2009-06-01", "2150-01-01")),
        Reported(
            "police_notices.date",
            "before_birth",
            [0],
            "expected date on or after the pupil's birth_month",
        ),
        Reported("police_notices.date", "implausible_date", [1], "expected a plausible date"),
        id="custom_table_dates_are_checked_for_plausibility_and_birth",
    ),
    _case(
        setting_custom(
            "police_notices",
            pupil_id=pd.array([1, None], dtype="Int64"),
            date=dates(None, "2023-01-05"),
        ),
        Reported("police_notices.pupil_id", "nullable", [1], NO_MISSING),
        Reported("police_notices.date", "nullable", [0], NO_MISSING),
        id="custom_table_missing_ids_and_dates",
    ),
    _case(
        _add_clashing_and_malformed_entries,
        Reported("bad name", "custom_source", [], "expected a name that is an identifier"),
        Reported("pupils", "custom_source", [], "expected a name that is not a canonical table"),
        Reported("notes", "custom_source", [], "expected a (DataFrame, CustomSource) pair"),
        id="custom_entries_that_clash_or_are_malformed",
    ),
]


@pytest.mark.parametrize(("mutation", "reported"), CASES)
def test_each_broken_custom_rule_is_reported(histories, mutation, reported):
    assert_all_reported(mutation, histories, *reported)
