"""Dtype coercion of analysts' extracts: coerce_column and coerce_table."""

from __future__ import annotations

import pandas as pd
import pytest

from riskscreen.data._coerce import coerce_column, coerce_table


def _coerced(values: list, canonical: str) -> tuple[list, str, list]:
    converted, bad = coerce_column(pd.Series(values, dtype=object), canonical)
    return converted.tolist(), str(converted.dtype), bad.tolist()


def test_dates_are_read_as_iso_or_uk_day_first_text():
    text = ["2021-09-06", " 06/09/2021 ", None, "31/02/2020", "soon"]
    values, dtype, bad = _coerced(text, "datetime64[us]")
    assert values[:2] == [pd.Timestamp("2021-09-06")] * 2
    assert all(pd.isna(v) for v in values[2:])
    assert dtype == "datetime64[us]"
    assert bad == [False, False, False, True, True]


@pytest.mark.parametrize(
    ("values", "canonical", "expected", "dtype", "bad"),
    [
        (
            ["3", " 4 ", 5.0, 3.5, "x", 2.0**63],
            "int64",
            [3, 4, 5, pd.NA, pd.NA, pd.NA],
            "Int64",
            [False, False, False, True, True, True],
        ),
        (["1", "2"], "int64", [1, 2], "int64", [False, False]),
        (["1", "2"], "Int64", [1, 2], "Int64", [False, False]),
        (
            ["Yes", "n", "Y", "0", "maybe"],
            "bool",
            [True, False, True, False, pd.NA],
            "boolean",
            [False, False, False, False, True],
        ),
        (["TRUE", "f"], "bool", [True, False], "bool", [False, False]),
    ],
    ids=[
        "integers_with_unreadable",
        "integers",
        "nullable_integers",
        "flags_with_unreadable",
        "flags",
    ],
)
def test_numbers_and_flags_are_read_from_text(values, canonical, expected, dtype, bad):
    assert _coerced(values, canonical) == (expected, dtype, bad)


def test_floats_keep_infinity_but_flag_text():
    values, dtype, bad = _coerced(["2.5", "x", None, "inf"], "float64")
    assert values[0] == 2.5 and values[3] == float("inf")
    assert dtype == "float64"
    assert bad == [False, True, False, False]


def test_codes_are_stripped_text_and_other_objects_are_flagged():
    values, dtype, bad = _coerced([" K ", 7, None], "str")
    assert values[:2] == ["K", "7"]
    assert dtype == "str"
    assert bad == [False, True, False]


def test_coerce_table_keeps_other_columns_and_reports_unreadable_values():
    fsm = pd.DataFrame(
        {
            "pupil_id": ["1", "x"],
            "start_date": ["2020-01-01", "31/02/2020"],
            "end_date": [None, None],
            "note": ["a", "b"],
        }
    )
    out, problems = coerce_table("fsm", fsm)
    assert out["note"].tolist() == ["a", "b"]
    assert str(out["start_date"].dtype) == "datetime64[us]"
    assert [(p.column, p.rule, p.rows) for p in problems] == [("start_date", "unreadable", (1,))]
    assert out["pupil_id"].tolist() == ["1", "x"]  # text keys, kept as given
    assert str(problems[0]) == (
        "fsm.start_date: 1 row (index 1): expected values readable as a datetime64 dtype of any"
        " unit (canonical datetime64[us]); got '31/*******' [unreadable]"
    )
