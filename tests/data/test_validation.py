"""LinkedHistories.validate: one test per kind of problem, each naming table, column, rows."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from _data_histories import dates, ints, texts

from riskscreen.data import CustomSource, DataValidationError, LinkedHistories, Problem, _validation


def validation_error(histories: LinkedHistories) -> DataValidationError:
    with pytest.raises(DataValidationError) as info:
        histories.validate()
    return info.value


def assert_reported(
    error: DataValidationError,
    *,
    table: str,
    column: str | None,
    rule: str,
    rows: list,
    expected: str,
    n_rows: int | None = None,
) -> Problem:
    """Check the structured problem and the line of the message that reports it."""
    found = [
        p
        for p in error.problems
        if p.table == table and p.column == column and p.rule == rule and expected in p.expected
    ]
    assert len(found) == 1, f"expected one {rule} problem for {table}.{column} in:\n{error}"
    problem = found[0]
    assert list(problem.rows) == rows
    assert expected in problem.expected
    if n_rows is not None:
        assert problem.n_rows == n_rows
    where = table if column is None else f"{table}.{column}"
    lines = [
        line
        for line in str(error).splitlines()
        if f"{where}:" in line and f"[{rule}]" in line and expected in line
    ]
    assert len(lines) == 1, str(error)
    assert expected in lines[0]
    if rows:
        assert "(index " + ", ".join(str(r) for r in rows) in lines[0]
    return problem


# --------------------------------------------------------------------------- valid data


def test_valid_histories_pass_and_validate_returns_self(histories):
    assert histories.validate() is histories
    assert histories.is_valid()


def test_empty_histories_are_valid():
    assert LinkedHistories().validate().n_pupils == 0


def test_row_order_never_matters(histories):
    for name, frame in histories.tables().items():
        setattr(histories, name, frame.sample(frac=1.0, random_state=3))
    assert histories.validate() is histories


def test_dates_of_any_datetime64_unit_are_accepted(histories):
    histories.exclusions["start_date"] = histories.exclusions["start_date"].astype("datetime64[ns]")
    histories.pupils["birth_month"] = histories.pupils["birth_month"].astype("datetime64[s]")
    histories.validate()


def test_integer_dtypes_and_nullable_strings_are_accepted(histories):
    histories.exclusions["pupil_id"] = histories.exclusions["pupil_id"].astype("Int64")
    histories.sen["provision"] = histories.sen["provision"].astype("string")
    histories.enrolments["part_time"] = histories.enrolments["part_time"].astype("boolean")
    histories.validate()


# --------------------------------------------------------------------------- structure


def test_a_table_that_is_not_a_dataframe(histories):
    histories.fsm = [{"pupil_id": 2}]
    error = validation_error(histories)
    problem = assert_reported(
        error,
        table="fsm",
        column=None,
        rule="not_a_table",
        rows=[],
        expected="expected a pandas DataFrame",
    )
    assert problem.got == "list"


def test_missing_required_column(histories):
    histories.exclusions = histories.exclusions.drop(columns="reason")
    error = validation_error(histories)
    assert_reported(
        error,
        table="exclusions",
        column="reason",
        rule="missing_column",
        rows=[],
        expected="expected required column reason",
        n_rows=4,
    )


def test_optional_columns_may_be_absent(histories):
    histories.schools = histories.schools.drop(columns="name")
    histories.validate()


def test_duplicate_column_names(histories):
    fsm = histories.fsm
    histories.fsm = pd.concat([fsm, fsm[["start_date"]]], axis=1)
    error = validation_error(histories)
    assert_reported(
        error,
        table="fsm",
        column="start_date",
        rule="duplicate_column",
        rows=[],
        expected="expected unique column names",
    )


# --------------------------------------------------------------------------- dtypes


def test_text_in_a_date_column_names_the_unreadable_rows(histories):
    histories.exclusions["start_date"] = pd.Series(
        ["2023-01-10", "ten days later", "2023-01-30", "soon"], dtype="str"
    )
    error = validation_error(histories)
    problem = assert_reported(
        error,
        table="exclusions",
        column="start_date",
        rule="dtype",
        rows=[1, 3],
        expected="expected a datetime64 dtype",
    )
    assert "dtype str" in problem.got and "'ten days later'" in problem.got


def test_object_column_of_timestamps_is_a_wrong_dtype_for_the_whole_column(histories):
    histories.fsm["start_date"] = histories.fsm["start_date"].astype(object)
    error = validation_error(histories)
    problem = assert_reported(
        error,
        table="fsm",
        column="start_date",
        rule="dtype",
        rows=[],
        expected="expected a datetime64 dtype of any unit (canonical datetime64[us])",
        n_rows=1,
    )
    assert "all 1 row" in str(error)
    assert problem.got == "dtype object"


def test_text_in_an_id_column(histories):
    histories.sen["pupil_id"] = pd.Series(["1", "pupil three"], dtype="str")
    error = validation_error(histories)
    assert_reported(
        error,
        table="sen",
        column="pupil_id",
        rule="dtype",
        rows=[1],
        expected="expected an integer dtype (canonical int64)",
    )


def test_object_dtype_for_codes_is_reported(histories):
    histories.exclusions["kind"] = histories.exclusions["kind"].astype(object)
    histories.exclusions.loc[2, "kind"] = 7
    error = validation_error(histories)
    assert_reported(
        error,
        table="exclusions",
        column="kind",
        rule="dtype",
        rows=[2],
        expected="expected a pandas string dtype (canonical str)",
    )


def test_wrong_dtype_column_gets_no_cascade_of_value_problems(histories):
    histories.pupils["idaci_decile"] = pd.Series(["high", "low", "3"], dtype="str")
    error = validation_error(histories)
    assert [(p.column, p.rule) for p in error.problems] == [("idaci_decile", "dtype")]


# --------------------------------------------------------------------------- column values


def test_missing_values_in_a_non_nullable_column(histories):
    histories.exclusions["reason"] = texts("DB", None, "DB", None)
    error = validation_error(histories)
    assert_reported(
        error,
        table="exclusions",
        column="reason",
        rule="nullable",
        rows=[1, 3],
        expected="expected no missing values",
        n_rows=2,
    )


def test_missing_dates_in_a_non_nullable_date_column(histories):
    histories.attendance["period_end"] = dates("2023-01-13", None, "2023-01-27", "2023-01-13")
    error = validation_error(histories)
    assert_reported(
        error,
        table="attendance",
        column="period_end",
        rule="nullable",
        rows=[1],
        expected="expected no missing values",
    )


def test_code_outside_the_code_set(histories):
    histories.sen["provision"] = texts("K", "S")  # 'S' was statement, before 2014
    error = validation_error(histories)
    problem = assert_reported(
        error,
        table="sen",
        column="provision",
        rule="code",
        rows=[1],
        expected="expected one of K, E",
    )
    assert problem.got == "'S'"


def test_nullable_code_column_allows_missing_but_not_unknown_codes(histories):
    histories.social_care["need_code"] = texts("N1", None, "N12")
    error = validation_error(histories)
    assert_reported(
        error,
        table="social_care",
        column="need_code",
        rule="code",
        rows=[2],
        expected="expected one of N0, N1",
    )


def test_numeric_bounds(histories):
    histories.pupils["idaci_decile"] = pd.array([0, None, 11], dtype="Int64")
    histories.attendance["sessions_possible"] = ints(10, -2, 10, 10)
    error = validation_error(histories)
    assert_reported(
        error,
        table="pupils",
        column="idaci_decile",
        rule="bounds",
        rows=[0],
        expected="expected idaci_decile >= 1",
    )
    assert_reported(
        error,
        table="pupils",
        column="idaci_decile",
        rule="bounds",
        rows=[2],
        expected="expected idaci_decile <= 10",
    )
    assert_reported(
        error,
        table="attendance",
        column="sessions_possible",
        rule="bounds",
        rows=[1],
        expected="expected sessions_possible >= 0",
    )


def test_infinite_numbers(histories):
    histories.exclusions["sessions"] = pd.Series([2.0, np.inf, 4.0, np.nan])
    error = validation_error(histories)
    assert_reported(
        error,
        table="exclusions",
        column="sessions",
        rule="bounds",
        rows=[1],
        expected="expected a finite number",
    )


def test_absences_exceeding_sessions_possible(histories):
    # Pupil 1 is recorded as absent for 12 of 10 possible sessions in week 2.
    histories.attendance["sessions_authorised_absent"] = ints(0, 10, 0, 1)
    error = validation_error(histories)
    problem = assert_reported(
        error,
        table="attendance",
        column="sessions_possible",
        rule="sessions",
        rows=[1],
        expected=(
            "expected sessions_authorised_absent + sessions_unauthorised_absent"
            " <= sessions_possible"
        ),
    )
    assert "sessions_authorised_absent=10" in problem.got


# --------------------------------------------------------------------------- cross-row rules


def test_spell_ending_before_it_starts_uses_index_labels(histories):
    sen = histories.sen.set_axis([10, 20])
    sen.loc[20, "end_date"] = pd.Timestamp("2018-01-01")
    histories.sen = sen
    error = validation_error(histories)
    problem = assert_reported(
        error,
        table="sen",
        column="end_date",
        rule="date_order",
        rows=[20],
        expected="expected end_date >= start_date",
    )
    assert "start_date=2019-05-01, end_date=2018-01-01" in problem.got


def test_every_date_order_pair_is_checked(histories):
    histories.attendance["period_end"] = dates(
        "2023-01-13", "2023-01-15", "2023-01-27", "2023-01-13"
    )
    histories.enrolments["leaving_date"] = dates(None, "2018-07-22", None, "2023-02-10")
    error = validation_error(histories)
    assert_reported(
        error,
        table="attendance",
        column="period_end",
        rule="date_order",
        rows=[1],
        expected="expected period_end >= period_start",
    )
    assert_reported(
        error,
        table="enrolments",
        column="leaving_date",
        rule="date_order",
        rows=[1],
        expected="expected leaving_date >= entry_date",
    )


def test_duplicate_keys(histories):
    # Pupil 1's second suspension is recorded twice.
    histories.exclusions = pd.concat(
        [histories.exclusions, histories.exclusions.iloc[[1]]], ignore_index=True
    )
    error = validation_error(histories)
    assert_reported(
        error,
        table="exclusions",
        column="pupil_id, school_id, start_date, kind",
        rule="duplicate_key",
        rows=[1, 4],
        expected="expected each (pupil_id, school_id, start_date, kind) to appear once",
        n_rows=2,
    )


def test_duplicate_pupils(histories):
    histories.pupils = pd.concat([histories.pupils, histories.pupils.iloc[[2]]])
    error = validation_error(histories)
    assert_reported(
        error,
        table="pupils",
        column="pupil_id",
        rule="duplicate_key",
        rows=[2, 2],
        expected="expected each (pupil_id) to appear once",
    )


def test_unknown_pupil(histories):
    histories.social_care["pupil_id"] = ints(1, 1, 99)
    error = validation_error(histories)
    problem = assert_reported(
        error,
        table="social_care",
        column="pupil_id",
        rule="unknown_pupil",
        rows=[2],
        expected="expected a pupil_id present in pupils",
    )
    assert problem.got == "(pupil_id=99)"


def test_unknown_school(histories):
    histories.exclusions["school_id"] = ints(100, 100, 300, 300)
    error = validation_error(histories)
    assert_reported(
        error,
        table="exclusions",
        column="school_id",
        rule="unknown_school",
        rows=[2, 3],
        expected="expected a school_id present in schools",
    )


def test_school_references_are_not_checked_without_a_schools_table(histories):
    histories.schools = LinkedHistories().schools
    histories.exclusions["school_id"] = ints(100, 100, 300, 300)
    histories.validate()


# --------------------------------------------------------------------------- implausible dates


def test_dates_before_1990_or_after_2099(histories):
    # 9999-12-31 is the usual "no end" placeholder; 1900-01-01 a default date.
    histories.fsm["end_date"] = dates("9999-12-31")
    histories.interventions["start_date"] = dates("1900-01-01")
    error = validation_error(histories)
    assert_reported(
        error,
        table="fsm",
        column="end_date",
        rule="implausible_date",
        rows=[0],
        expected="expected a plausible date between 1990-01-01 and 2099-12-31",
    )
    assert_reported(
        error,
        table="interventions",
        column="start_date",
        rule="implausible_date",
        rows=[0],
        expected="expected a plausible date between 1990-01-01 and 2099-12-31",
    )


def test_dates_with_a_time_of_day(histories):
    histories.exclusions["start_date"] = pd.Series(
        pd.to_datetime(
            ["2023-01-10", "2023-01-20 09:30", "2023-01-30", "2023-02-10"], format="mixed"
        ),
        dtype="datetime64[us]",
    )
    error = validation_error(histories)
    assert_reported(
        error,
        table="exclusions",
        column="start_date",
        rule="implausible_date",
        rows=[1],
        expected="expected a whole day (no time of day)",
    )


def test_birth_month_not_on_the_first_of_a_month(histories):
    histories.pupils["birth_month"] = dates("2010-03-01", "2011-09-14", "2009-12-01")
    error = validation_error(histories)
    assert_reported(
        error,
        table="pupils",
        column="birth_month",
        rule="implausible_date",
        rows=[1],
        expected="expected the first day of a month",
    )


def test_event_before_the_pupil_was_born(histories):
    # Pupil 3 (born December 2009) has an SEN spell from 2008.
    histories.sen["start_date"] = dates("2022-01-10", "2008-05-01")
    error = validation_error(histories)
    problem = assert_reported(
        error,
        table="sen",
        column="start_date",
        rule="before_birth",
        rows=[1],
        expected="expected start_date on or after the pupil's birth_month",
    )
    assert "birth_month=2009-12-01" in problem.got


# --------------------------------------------------------------------------- custom tables


def test_custom_table_with_unknown_pupil_and_spell_order(histories):
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
    error = validation_error(histories)
    assert_reported(
        error,
        table="housing",
        column="pupil_id",
        rule="unknown_pupil",
        rows=[1],
        expected="expected a pupil_id present in pupils",
    )
    assert_reported(
        error,
        table="housing",
        column="end",
        rule="date_order",
        rows=[0],
        expected="expected end >= start",
    )


def test_custom_table_with_text_dates_and_missing_columns(histories):
    frame = pd.DataFrame({"child": ints(1, 2), "when": texts("2022-01-01", "yesterday")})
    histories.custom["youth_justice"] = (
        frame,
        CustomSource(id_column="pupil_id", date_column="when", value_columns=("outcome",)),
    )
    error = validation_error(histories)
    assert_reported(
        error,
        table="youth_justice",
        column="when",
        rule="dtype",
        rows=[1],
        expected="expected a datetime64 dtype",
    )
    for column in ("pupil_id", "outcome"):
        assert_reported(
            error,
            table="youth_justice",
            column=column,
            rule="missing_column",
            rows=[],
            expected=f"expected required column {column}",
        )


def test_custom_table_dates_are_checked_for_plausibility_and_birth(histories):
    police, _ = histories.custom["police_notices"]
    police["date"] = dates("2009-06-01", "2150-01-01")
    error = validation_error(histories)
    assert_reported(
        error,
        table="police_notices",
        column="date",
        rule="before_birth",
        rows=[0],
        expected="expected date on or after the pupil's birth_month",
    )
    assert_reported(
        error,
        table="police_notices",
        column="date",
        rule="implausible_date",
        rows=[1],
        expected="expected a plausible date",
    )


def test_custom_table_missing_ids_and_dates(histories):
    police, _ = histories.custom["police_notices"]
    police["pupil_id"] = pd.array([1, None], dtype="Int64")
    police["date"] = dates(None, "2023-01-05")
    error = validation_error(histories)
    assert_reported(
        error,
        table="police_notices",
        column="pupil_id",
        rule="nullable",
        rows=[1],
        expected="expected no missing values",
    )
    assert_reported(
        error,
        table="police_notices",
        column="date",
        rule="nullable",
        rows=[0],
        expected="expected no missing values",
    )


def test_custom_entries_that_clash_or_are_malformed(histories):
    histories.custom["pupils"] = (histories.pupils, CustomSource())
    histories.custom["notes"] = histories.pupils
    histories.custom["bad name"] = histories.custom["police_notices"]
    error = validation_error(histories)
    assert_reported(
        error,
        table="bad name",
        column=None,
        rule="custom_source",
        rows=[],
        expected="expected a name that is an identifier",
    )
    assert_reported(
        error,
        table="pupils",
        column=None,
        rule="custom_source",
        rows=[],
        expected="expected a name that is not a canonical table",
    )
    assert_reported(
        error,
        table="notes",
        column=None,
        rule="custom_source",
        rows=[],
        expected="expected a (DataFrame, CustomSource) pair",
    )


# --------------------------------------------------------------------------- the error


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
    problem = assert_reported(
        error,
        table="exclusions",
        column="reason",
        rule="code",
        rows=[0, 1, 2, 3, 4],
        expected="expected one of PP, PA",
        n_rows=12,
    )
    assert "(index 0, 1, 2, 3, 4, ...)" in str(error)
    assert problem.got == "'XX'"


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


def test_an_unexpected_error_in_a_rule_becomes_a_problem(histories, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(_validation, "_school_rules", broken)
    error = validation_error(histories)
    assert_reported(
        error,
        table="enrolments",
        column=None,
        rule="check_failed",
        rows=[],
        expected="expected tables the checks can read",
    )
    assert "RuntimeError: boom" in str(error)


def test_junk_everywhere_raises_only_data_validation_error(histories):
    junk = pd.Series([object(), [1, 2], {"a": 1}, np.nan], dtype=object)
    for name, frame in histories.tables().items():
        setattr(histories, name, frame.head(0).reindex(range(4)).assign(**{c: junk for c in frame}))
    histories.custom["police_notices"] = (pd.DataFrame({"date": junk}), CustomSource())
    error = validation_error(histories)
    assert len(error.problems) > 10
