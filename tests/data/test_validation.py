"""LinkedHistories.validate: one case per kind of problem, each naming table, column, rows.

Each case is one line of data: how the small valid histories are corrupted,
and the problems that must be reported (see :mod:`_problem_checks`). Custom
sources are tested in ``test_rules_custom.py``, the error itself in
``test_validation_report.py``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _data_histories import dates, ints, texts
from _problem_checks import (
    Reported,
    assert_all_reported,
    assert_reported,
    doing,
    replacing,
    setting,
    validation_error,
)

from riskscreen.data import CustomSource, LinkedHistories, _validation

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


def test_optional_columns_may_be_absent(histories):
    histories.schools = histories.schools.drop(columns="name")
    histories.validate()


def test_school_references_are_not_checked_without_a_schools_table(histories):
    histories.schools = LinkedHistories().schools
    histories.exclusions["school_id"] = ints(100, 100, 300, 300)
    histories.validate()


# --------------------------------------------------------------------------- one rule, one case

PLAUSIBLE = "expected a plausible date between 1990-01-01 and 2099-12-31"
ABSENCES = "expected sessions_authorised_absent + sessions_unauthorised_absent <= sessions_possible"
DATE_WORDS = "expected a datetime64 dtype of any unit (canonical datetime64[us])"
NO_MISSING = "expected no missing values"
EXCLUSION_KEY = "pupil_id, school_id, start_date, kind"
OBJECT_KINDS = pd.Series(["suspension", "suspension", 7, "permanent"], dtype=object)
TEXT_DATES = texts("2023-01-10", "ten days later", "2023-01-30", "soon")
TIME_OF_DAY = pd.Series(
    pd.to_datetime(["2023-01-10", "2023-01-20 09:30", "2023-01-30", "2023-02-10"], format="mixed"),
    dtype="datetime64[us]",
)


def _case(mutation, *reported, id):
    return pytest.param(mutation, reported, id=id)


def _end_second_sen_spell_in_2018(sen: pd.DataFrame) -> pd.DataFrame:
    sen = sen.set_axis([10, 20])
    sen.loc[20, "end_date"] = pd.Timestamp("2018-01-01")
    return sen


CASES = [
    # structure
    _case(
        replacing("fsm", lambda f: [{"pupil_id": 2}]),
        Reported("fsm", "not_a_table", [], "expected a pandas DataFrame", got="list"),
        id="a_table_that_is_not_a_dataframe",
    ),
    _case(
        replacing("exclusions", lambda f: f.drop(columns="reason")),
        Reported(
            "exclusions.reason", "missing_column", [], "expected required column reason", n_rows=4
        ),
        id="missing_required_column",
    ),
    _case(
        replacing("fsm", lambda f: pd.concat([f, f[["start_date"]]], axis=1)),
        Reported("fsm.start_date", "duplicate_column", [], "expected unique column names"),
        id="duplicate_column_names",
    ),
    # dtypes
    _case(
        setting("exclusions", start_date=TEXT_DATES),
        Reported(
            "exclusions.start_date",
            "dtype",
            [1, 3],
            "expected a datetime64 dtype",
            got_has=("dtype str", "'ten***********'", "'soon'"),
        ),
        id="text_in_a_date_column_names_the_unreadable_rows",
    ),
    _case(
        replacing("fsm", lambda f: f.assign(start_date=f["start_date"].astype(object))),
        Reported(
            "fsm.start_date",
            "dtype",
            [],
            DATE_WORDS,
            n_rows=1,
            got="dtype object",
            line_has=("all 1 row",),
        ),
        id="object_column_of_timestamps_is_a_wrong_dtype_for_the_whole_column",
    ),
    _case(
        setting("sen", pupil_id=texts("1", "pupil three")),
        Reported(
            "sen.pupil_id",
            "dtype",
            [],
            "expected pupil keys of the same kind as pupils.pupil_id (whole numbers)",
            got="text",
        ),
        id="text_keys_where_pupils_has_whole_numbers",
    ),
    _case(
        setting("exclusions", kind=OBJECT_KINDS),
        Reported("exclusions.kind", "dtype", [2], "expected a pandas string dtype (canonical str)"),
        id="object_dtype_for_codes_is_reported",
    ),
    # column values
    _case(
        setting("exclusions", reason=texts("DB", None, "DB", None)),
        Reported("exclusions.reason", "nullable", [1, 3], NO_MISSING, n_rows=2),
        id="missing_values_in_a_non_nullable_column",
    ),
    _case(
        setting("attendance", period_end=dates("2023-01-13", None, "2023-01-27", "2023-01-13")),
        Reported("attendance.period_end", "nullable", [1], NO_MISSING),
        id="missing_dates_in_a_non_nullable_date_column",
    ),
    _case(
        setting("sen", provision=texts("K", "S")),  # 'S' was statement, before 2014
        Reported("sen.provision", "code", [1], "expected one of K, E", got="'S'"),
        id="code_outside_the_code_set",
    ),
    _case(
        setting("social_care", need_code=texts("N1", None, "N12")),
        Reported("social_care.need_code", "code", [2], "expected one of N0, N1"),
        id="nullable_code_column_allows_missing_but_not_unknown_codes",
    ),
    _case(
        doing(
            setting("pupils", idaci_decile=pd.array([0, None, 11], dtype="Int64")),
            setting("attendance", sessions_possible=ints(10, -2, 10, 10)),
        ),
        Reported("pupils.idaci_decile", "bounds", [0], "expected idaci_decile >= 1"),
        Reported("pupils.idaci_decile", "bounds", [2], "expected idaci_decile <= 10"),
        Reported("attendance.sessions_possible", "bounds", [1], "expected sessions_possible >= 0"),
        id="numeric_bounds",
    ),
    _case(
        setting("exclusions", sessions=pd.Series([2.0, np.inf, 4.0, np.nan])),
        Reported("exclusions.sessions", "bounds", [1], "expected a finite number"),
        id="infinite_numbers",
    ),
    _case(
        # Pupil 1 is recorded as absent for 12 of 10 possible sessions in week 2.
        setting("attendance", sessions_authorised_absent=ints(0, 10, 0, 1)),
        Reported(
            "attendance.sessions_possible",
            "sessions",
            [1],
            ABSENCES,
            got_has=("sessions_authorised_absent=10",),
        ),
        id="absences_exceeding_sessions_possible",
    ),
    # cross-row rules
    _case(
        replacing("sen", _end_second_sen_spell_in_2018),
        Reported(
            "sen.end_date",
            "date_order",
            [20],
            "expected end_date >= start_date",
            got_has=("start_date=2019-05-**, end_date=2018-01-**",),
        ),
        id="spell_ending_before_it_starts_uses_index_labels",
    ),
    _case(
        doing(
            setting(
                "attendance",
                period_end=dates("2023-01-13", "2023-01-15", "2023-01-27", "2023-01-13"),
            ),
            setting("enrolments", leaving_date=dates(None, "2018-07-22", None, "2023-02-10")),
        ),
        Reported("attendance.period_end", "date_order", [1], "expected period_end >= period_start"),
        Reported(
            "enrolments.leaving_date", "date_order", [1], "expected leaving_date >= entry_date"
        ),
        id="every_date_order_pair_is_checked",
    ),
    _case(
        # Pupil 1's second suspension is recorded twice.
        replacing("exclusions", lambda f: pd.concat([f, f.iloc[[1]]], ignore_index=True)),
        Reported(
            f"exclusions.{EXCLUSION_KEY}",
            "duplicate_key",
            [1, 4],
            f"expected each ({EXCLUSION_KEY}) to appear once",
            n_rows=2,
        ),
        id="duplicate_keys",
    ),
    _case(
        replacing("pupils", lambda f: pd.concat([f, f.iloc[[2]]])),
        Reported(
            "pupils.pupil_id", "duplicate_key", [2, 2], "expected each (pupil_id) to appear once"
        ),
        id="duplicate_pupils",
    ),
    _case(
        setting("social_care", pupil_id=ints(1, 1, 99)),
        Reported(
            "social_care.pupil_id",
            "unknown_pupil",
            [2],
            "expected a pupil_id present in pupils",
            got="(pupil_id=99)",
        ),
        id="unknown_pupil",
    ),
    _case(
        setting("exclusions", school_id=ints(100, 100, 300, 300)),
        Reported(
            "exclusions.school_id",
            "unknown_school",
            [2, 3],
            "expected a school_id present in schools",
        ),
        id="unknown_school",
    ),
    # implausible dates
    _case(
        # 9999-12-31 is the usual "no end" placeholder; 1900-01-01 a default date.
        doing(
            setting("fsm", end_date=dates("9999-12-31")),
            setting("interventions", start_date=dates("1900-01-01")),
        ),
        Reported("fsm.end_date", "implausible_date", [0], PLAUSIBLE),
        Reported("interventions.start_date", "implausible_date", [0], PLAUSIBLE),
        id="dates_before_1990_or_after_2099",
    ),
    _case(
        setting("exclusions", start_date=TIME_OF_DAY),
        Reported(
            "exclusions.start_date",
            "implausible_date",
            [1],
            "expected a whole day (no time of day)",
        ),
        id="dates_with_a_time_of_day",
    ),
    _case(
        setting("pupils", birth_month=dates("2010-03-01", "2011-09-14", "2009-12-01")),
        Reported(
            "pupils.birth_month", "implausible_date", [1], "expected the first day of a month"
        ),
        id="birth_month_not_on_the_first_of_a_month",
    ),
    _case(
        # Pupil 3 (born December 2009) has an SEN spell from 2008.
        setting("sen", start_date=dates("2022-01-10", "2008-05-01")),
        Reported(
            "sen.start_date",
            "before_birth",
            [1],
            "expected start_date on or after the pupil's birth_month",
            got_has=("birth_month=2009-12-**",),
        ),
        id="event_before_the_pupil_was_born",
    ),
]


@pytest.mark.parametrize(("mutation", "reported"), CASES)
def test_each_broken_rule_is_reported(histories, mutation, reported):
    assert_all_reported(mutation, histories, *reported)


def test_wrong_dtype_column_gets_no_cascade_of_value_problems(histories):
    histories.pupils["idaci_decile"] = pd.Series(["high", "low", "3"], dtype="str")
    error = validation_error(histories)
    assert [(p.column, p.rule) for p in error.problems] == [("idaci_decile", "dtype")]


# --------------------------------------------------------------------------- robustness


def test_the_validation_module_still_offers_what_other_modules_import():
    names = [
        "DataValidationError",
        "Problem",
        "coerce_table",
        "find_problems",
        "validate_histories",
    ]
    assert all(hasattr(_validation, name) for name in names)


def test_an_unexpected_error_in_a_rule_becomes_a_problem(histories, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(_validation, "school_rules", broken)
    error = validation_error(histories)
    problem = Reported("enrolments", "check_failed", [], "expected tables the checks can read")
    assert_reported(error, problem)
    assert "RuntimeError: boom" in str(error)


def test_junk_everywhere_raises_only_data_validation_error(histories):
    junk = pd.Series([object(), [1, 2], {"a": 1}, np.nan], dtype=object)
    for name, frame in histories.tables().items():
        setattr(histories, name, frame.head(0).reindex(range(4)).assign(**{c: junk for c in frame}))
    histories.custom["police_notices"] = (pd.DataFrame({"date": junk}), CustomSource())
    error = validation_error(histories)
    assert len(error.problems) > 10
