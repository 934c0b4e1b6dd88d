"""DataValidationError: every problem at once, capped examples, to_frame, pickling."""

from __future__ import annotations

import pickle

import pandas as pd
from _data_histories import dates, ints, texts
from _problem_checks import Reported, assert_reported, validation_error

from riskscreen.data import DataValidationError, Problem


def test_every_problem_is_reported_at_once(histories):
    histories.sen["provision"] = texts("K", "S")
    histories.fsm["end_date"] = dates("2019-01-01")
    histories.interventions["pupil_id"] = ints(42)
    error = validation_error(histories)
    assert {(p.table, p.rule) for p in error.problems} == {
        ("sen", "code"),
        ("fsm", "date_order"),
        ("interventions", "unknown_pupil"),
    }
    message = str(error)
    assert message.splitlines()[0] == "LinkedHistories has 3 problems:"
    assert isinstance(error, ValueError)


def test_examples_are_capped_at_five_rows(histories):
    n = 12
    histories.exclusions = pd.DataFrame(
        {
            "pupil_id": ints(*([1] * n)),
            "school_id": ints(*([100] * n)),
            "start_date": pd.Series(
                pd.date_range("2023-01-02", periods=n, freq="7D"), dtype="datetime64[us]"
            ),
            "kind": texts(*(["suspension"] * n)),
            "sessions": pd.Series([2.0] * n),
            "reason": texts(*(["XX"] * n)),
        }
    )
    error = validation_error(histories)
    reported = Reported(
        "exclusions.reason",
        "code",
        [0, 1, 2, 3, 4],
        "expected one of PP, PA",
        n_rows=12,
        got="'XX'",
    )
    assert_reported(error, reported)
    assert "(index 0, 1, 2, 3, 4, ...)" in str(error)


def test_to_frame_lists_the_problems(histories):
    histories.sen["provision"] = texts("K", "S")
    frame = validation_error(histories).to_frame()
    assert list(frame.columns) == ["table", "column", "rule", "n_rows", "rows", "expected", "got"]
    assert frame.loc[0, "table"] == "sen"
    assert frame.loc[0, "rows"] == (1,)


def test_the_error_survives_pickling(histories):
    histories.sen["provision"] = texts("K", "S")
    error = validation_error(histories)
    copy = pickle.loads(pickle.dumps(error))
    assert copy.problems == error.problems
    assert str(copy) == str(error)


def test_a_long_list_of_problems_is_cut_after_fifty_lines():
    problems = [
        Problem("sen", "provision", "code", 1, (i,), "expected one of K, E") for i in range(52)
    ]
    error = DataValidationError(problems, subject="Extract")
    lines = str(error).splitlines()
    assert lines[0] == "Extract has 52 problems:"
    assert len(lines) == 1 + 50 + 1
    assert lines[-1] == "  ... and 2 more (see .to_frame())"
    assert len(error.to_frame()) == 52


def test_a_problem_without_example_rows_counts_all_rows_or_names_the_table():
    whole_column = Problem("fsm", "start_date", "dtype", 2, (), "expected a date", "dtype object")
    assert (
        str(whole_column) == "fsm.start_date: all 2 rows: expected a date; got dtype object [dtype]"
    )
    whole_table = Problem("fsm", None, "not_a_table", 0, (), "expected a pandas DataFrame", "list")
    assert str(whole_table) == "fsm: expected a pandas DataFrame; got list [not_a_table]"
