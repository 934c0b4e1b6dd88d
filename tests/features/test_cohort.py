"""Who is on roll on the as-of date, and in which NC year."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from _feature_histories import AS_OF, histories, on_roll, pupil

import riskscreen
from riskscreen.data import DataValidationError
from riskscreen.features import SchoolCohort, build_cohort, build_features, make_labels


def test_on_roll_boundaries_entry_exclusive_leaving_inclusive():
    h = histories(
        pupils=[pupil(i) for i in range(1, 7)],
        enrolments=[
            on_roll(1, entry="2022-01-09"),  # joined the day before: on roll
            on_roll(2, entry="2022-01-10"),  # joins on the as-of date: not yet
            on_roll(3, leaving_date="2022-01-10", leaving_reason="transfer"),  # last day: on
            on_roll(4, leaving_date="2022-01-09", leaving_reason="transfer"),  # left: off
            on_roll(5, leaving_date="2022-03-01", leaving_reason="other_la"),  # leaves later
            on_roll(6, entry="2018-09-01"),
        ],
    )
    c = build_cohort(h, [AS_OF])
    assert c.index.get_level_values("pupil_id").tolist() == [1, 3, 5, 6]
    assert c["on_roll"].all()
    assert list(c.columns) == ["school_id", "ncyear", "on_roll"]


@pytest.mark.parametrize(
    ("born", "as_of", "ncyear"),
    [
        ("2010-09-01", "2022-01-10", 6),  # oldest in the year
        ("2011-08-01", "2022-01-10", 6),  # youngest in the same year
        ("2011-09-01", "2022-01-10", 5),
        ("2010-09-01", "2022-08-31", 6),  # academic year runs to August
        ("2010-09-01", "2022-09-01", 7),
        ("2016-09-01", "2021-09-02", 0),  # Reception
    ],
)
def test_ncyear_english_rule(born, as_of, ncyear):
    h = histories(
        pupils=[pupil(1, born), pupil(2, "1990-01-01")],
        enrolments=[on_roll(1, entry="2020-09-01"), on_roll(2, entry="2016-01-01")],
    )
    c = build_cohort(h, [as_of], ncyears=(0, 13))
    assert c.loc[(1, pd.Timestamp(as_of)), "ncyear"] == ncyear


def test_ncyear_range_filters():
    h = histories(
        pupils=[pupil(1, "2010-10-01"), pupil(2, "2015-10-01"), pupil(3, "2004-10-01")],
        enrolments=[on_roll(1), on_roll(2), on_roll(3)],
    )
    assert build_cohort(h, [AS_OF]).index.get_level_values(0).tolist() == [1]  # Y6 only
    assert build_cohort(h, [AS_OF], ncyears=(0, 13)).index.get_level_values(0).tolist() == [
        1,
        2,
        3,
    ]
    with pytest.raises(ValueError, match="'ncyears' parameter of SchoolCohort"):
        build_cohort(h, [AS_OF], ncyears=(11, 5))


def test_dual_registration_gives_latest_school():
    h = histories(
        pupils=[pupil(1)],
        enrolments=[on_roll(1, school=100), on_roll(1, entry="2021-09-01", school=300)],
    )
    c = build_cohort(h, [AS_OF])
    assert len(c) == 1 and c["school_id"].iloc[0] == 300


def test_off_roll_children_known_to_social_care():
    h = histories(
        pupils=[pupil(i) for i in (1, 2, 3, 4, 5)],
        enrolments=[
            on_roll(1),
            on_roll(2, leaving_date="2021-06-01", leaving_reason="unknown"),
            on_roll(3, leaving_date="2021-06-01", leaving_reason="unknown"),
            on_roll(4, leaving_date="2021-06-01", leaving_reason="unknown"),
        ],
        social_care=[
            {"pupil_id": 1, "kind": "cin_plan", "start_date": "2021-01-01"},  # on roll anyway
            {"pupil_id": 2, "kind": "cin_plan", "start_date": "2021-01-01"},  # open now
            {
                "pupil_id": 3,
                "kind": "referral",
                "start_date": "2020-01-01",
                "end_date": "2021-03-01",
            },  # ended within the last 365 days
            {
                "pupil_id": 4,
                "kind": "referral",
                "start_date": "2019-10-01",
                "end_date": "2020-10-01",
            },  # ended too long ago
            {"pupil_id": 5, "kind": "cp_plan", "start_date": "2022-01-10"},  # starts on as-of
        ],
    )
    assert build_cohort(h, [AS_OF]).index.get_level_values(0).tolist() == [1]
    c = build_cohort(h, [AS_OF], include_off_roll_social_care=True)
    assert c.index.get_level_values(0).tolist() == [1, 2, 3]
    assert c["on_roll"].tolist() == [True, False, False]
    assert c["school_id"].isna().tolist() == [False, True, True]
    X = build_features(h, [AS_OF], cohort=SchoolCohort(include_off_roll_social_care=True))
    assert X.loc[(2, AS_OF), "cin_plan_now"] == 1.0
    assert X.loc[(2, AS_OF), "school_suspension_rate_1y__missing"] == 1.0


def test_cohort_frame_is_accepted_by_build_features():
    h = histories(pupils=[pupil(1), pupil(2)], enrolments=[on_roll(1), on_roll(2)])
    c = build_cohort(h, [AS_OF])
    X = build_features(h, [AS_OF], cohort=c.iloc[[1]])
    assert X.index.get_level_values(0).tolist() == [2]


def test_on_roll_pupil_without_pupils_row_is_an_error_not_a_silent_drop():
    # pupils 7, 8 and 9 are on roll but have no pupils row: three rows per as-of date
    h = histories(
        pupils=[pupil(1)],
        enrolments=[on_roll(1), on_roll(7), on_roll(8), on_roll(9, school=200)],
    )
    dates = [AS_OF, pd.Timestamp("2021-06-07")]
    msg = r"6 row\(s\) \(3 pupil\(s\)\) whose column 'pupil_id' has no row in table 'pupils'"
    calls = (
        lambda: build_cohort(h, dates),
        lambda: build_features(h, dates),
        lambda: make_labels(h, dates, "suspension"),
    )
    # validation on every path finds them first ...
    for call in calls:
        with pytest.raises(DataValidationError, match=r"enrolments.pupil_id: 3 rows"):
            call()
    # ... and the cohort's own check still guards the engine when validation is skipped
    with riskscreen.config_context(validate=False):
        for call in calls:
            with pytest.raises(ValueError, match=msg) as err:
                call()
            assert "'enrolments'" in str(err.value)
            assert not re.search(r"\b[789]\b", str(err.value))  # no pupil's key is echoed
        h.pupils = h.pupils.iloc[:0]
        with pytest.raises(ValueError, match=r"5 row\(s\) \(5 pupil\(s\)\)"):
            build_cohort(h, [AS_OF])


def test_off_roll_social_care_child_without_pupils_row_is_an_error():
    h = histories(
        pupils=[pupil(1)],
        enrolments=[on_roll(1)],
        social_care=[{"pupil_id": 5, "kind": "cin_plan", "start_date": "2021-03-01"}],
    )
    with pytest.raises(DataValidationError, match=r"social_care.pupil_id: 1 row"):
        build_cohort(h, [AS_OF], include_off_roll_social_care=True)
    with (
        riskscreen.config_context(validate=False),
        pytest.raises(ValueError, match=r"'social_care'.* 1 row\(s\) \(1 pupil\(s\)\)"),
    ):
        build_cohort(h, [AS_OF], include_off_roll_social_care=True)
    with riskscreen.config_context(validate=False):
        assert build_cohort(h, [AS_OF]).index.get_level_values(0).tolist() == [1]


def test_cohort_frame_with_unknown_pupils_or_timed_dates_is_an_error():
    h = histories(pupils=[pupil(1), pupil(2)], enrolments=[on_roll(1), on_roll(2)])
    c = build_cohort(h, [AS_OF])
    stranger = c.iloc[[0]].rename(index={1: 42}, level="pupil_id")
    frame = pd.concat([c, stranger])
    for call in (
        lambda: build_features(h, [AS_OF], cohort=frame),
        lambda: make_labels(h, None, "suspension", cohort=frame),
    ):
        with pytest.raises(ValueError, match=r"'cohort' frame has 1 row\(s\)") as err:
            call()
        assert "42" not in str(err.value)
    timed = c.rename(index={AS_OF: AS_OF + pd.Timedelta(hours=9)}, level="as_of_date")
    with pytest.raises(ValueError, match="must be dates \\(midnight\\)"):
        build_features(h, [AS_OF], cohort=timed)


def _cohort_ids(h, dates, cohort) -> list:
    from riskscreen.features import build_dataset

    data = build_dataset(h, dates, cohort=cohort)
    return data.cohort.index.get_level_values("pupil_id").tolist()


def test_social_care_cohort_is_children_known_to_social_care_and_on_no_roll():
    from riskscreen.features import SocialCareCohort

    h = histories(
        pupils=[pupil(1), pupil(2), pupil(3), pupil(4, born="2016-01-01")],
        enrolments=[on_roll(1)],
        social_care=[
            {"pupil_id": 1, "kind": "cin_plan", "start_date": "2021-03-01"},  # on roll
            {"pupil_id": 2, "kind": "cin_plan", "start_date": "2021-03-01"},  # off roll
            {
                "pupil_id": 3,
                "kind": "referral",
                "start_date": "2020-01-01",
                "end_date": "2020-02-01",
            },
            {"pupil_id": 4, "kind": "early_help", "start_date": "2021-09-01"},  # Year 1
        ],
    )
    assert _cohort_ids(h, [AS_OF], SocialCareCohort()) == [2, 4]
    assert _cohort_ids(h, [AS_OF], SocialCareCohort(on_roll=True)) == [1, 2, 4]
    assert _cohort_ids(h, [AS_OF], SocialCareCohort(ncyears=(5, 11))) == [2]
    assert _cohort_ids(h, [AS_OF], SocialCareCohort(lookback="730D")) == [2, 3, 4]
    assert _cohort_ids(h, [AS_OF], SocialCareCohort(kinds=("early_help",))) == [4]
    with pytest.raises(ValueError, match="'kinds' parameter of SocialCareCohort"):
        SocialCareCohort(kinds=("gossip",)).validate()


def test_spell_cohort_screens_whoever_has_a_spell_open_on_the_as_of_date():
    from riskscreen.data import CustomSource
    from riskscreen.features import SpellCohort

    registrations = pd.DataFrame(
        {
            "pupil_id": pd.Series([1, 2, 3], dtype="int64"),
            "start": pd.to_datetime(["2021-09-01", "2021-09-01", "2021-09-01"]).astype(
                "datetime64[us]"
            ),
            "end": pd.to_datetime(["2022-07-01", "2021-12-01", None]).astype("datetime64[us]"),
            "course": ["A", "B", "A"],
        }
    )
    h = histories(
        pupils=[pupil(1), pupil(2), pupil(3)],
        enrolments=[on_roll(1)],
        social_care=[{"pupil_id": 3, "kind": "looked_after", "start_date": "2021-06-01"}],
        custom={
            "registrations": (registrations, CustomSource("pupil_id", "start", "end", ("course",)))
        },
    )
    # pupil 2's registration ended before the as-of date
    assert _cohort_ids(h, [AS_OF], SpellCohort("registrations")) == [1, 3]
    assert _cohort_ids(h, [AS_OF], SpellCohort("registrations", where={"course": "B"})) == []
    looked_after = SpellCohort("social_care", where={"kind": "looked_after"})
    assert _cohort_ids(h, [AS_OF], looked_after) == [3]
    with pytest.raises(ValueError, match="must be a table of spells"):
        _cohort_ids(h, [AS_OF], SpellCohort("exclusions"))


def test_a_cohort_that_needs_birth_months_says_so_when_the_data_have_none():
    from riskscreen.data import LinkedHistories
    from riskscreen.features import SpellCohort

    h = histories(pupils=[pupil(1)], enrolments=[on_roll(1)])
    no_birth = LinkedHistories(**{**h.tables(), "pupils": h.pupils[["pupil_id"]]})
    with pytest.raises(ValueError, match="needs column 'birth_month' of table 'pupils'"):
        build_cohort(no_birth, [AS_OF])
    # a cohort that does not need it works on the same data
    assert _cohort_ids(no_birth, [AS_OF], SpellCohort("enrolments")) == [1, 999]  # 999: the extract


def test_an_as_of_date_just_before_a_new_intake_warns_that_it_is_missed():
    # six pupils start Year 7 on 5 September 2022; pupil 1 has been on roll all along
    kids = [pupil(i, born="2011-01-01") for i in range(10, 16)]
    h = histories(
        pupils=[pupil(1), *kids],
        enrolments=[on_roll(1), *[on_roll(k["pupil_id"], entry="2022-09-05") for k in kids]],
    )
    with pytest.warns(UserWarning, match="6 pupils in NC years 5-11 join a school roll"):
        early = build_cohort(h, ["2022-09-02"])
    assert early.index.get_level_values(0).tolist() == [1]
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        later = build_cohort(h, ["2022-09-12"])
    assert len(later) == 7
    # among several dates, the first one before an intake is named; a pupil already on
    # roll on it (here pupil 1, re-entering) is not counted among those missed
    h2 = histories(
        pupils=[pupil(1), *kids],
        enrolments=[
            on_roll(1),
            on_roll(1, entry="2022-09-06", school=101),
            *[on_roll(k["pupil_id"], entry="2022-09-05") for k in kids],
        ],
    )
    with pytest.warns(UserWarning, match="6 pupils .* as-of date 2022-09-02 .* beside 1 who"):
        build_cohort(h2, ["2022-09-12", "2022-09-02", "2022-06-06"])


@pytest.mark.parametrize(
    "cohort",
    [
        SchoolCohort(),
        SchoolCohort(ncyears=(0, 13), leaving_within=None),
        SchoolCohort(ncyears=(9, 11), leaving_within="6M"),
    ],
)
def test_school_cohort_sql_gives_the_rows_of_the_general_cohort_sql(cohort):
    # SchoolCohort joins the roll and the pupils once; the general Cohort.ctes (members,
    # then the roll and the pupils joined again) must give the same rows, on a synthetic
    # authority with moves, dual registration and pupils in and past Year 11
    from riskscreen.datasets import make_linked_histories
    from riskscreen.features._cohort import Cohort
    from riskscreen.features._session import Session

    h = make_linked_histories(n_pupils=1_500, n_years=3, seed=4)
    dates = ["2020-10-05", "2021-06-07", "2021-07-19", "2022-01-10"]
    with Session(h, owner="test") as s:
        s.set_dates(pd.to_datetime(dates))
        frames = []
        for ctes in (cohort.ctes(s.info), Cohort.ctes(cohort, s.info)):
            body = ",\n".join(f"{name} AS ({sql})" for name, sql in ctes)
            frames.append(s.con.execute(f"WITH {body} SELECT * FROM cohort ORDER BY 2, 1").df())
    assert len(frames[0]) > 1_000
    pd.testing.assert_frame_equal(frames[0], frames[1])


def _roll_reference(enrol: pd.DataFrame, dates) -> pd.DataFrame:
    """Each pupil's school on each as-of date by the rule, one spell and date at a time."""
    rows = []
    for a in dates:
        e = enrol
        end = e["leaving_date"].where(~(e["end_recorded_date"] >= a))  # end not known yet: open
        ok = (
            (e["entry_date"] < a)
            & (e["recorded_date"].isna() | (e["recorded_date"] < a))
            & (end.isna() | (end >= a))
        )
        open_ = e[ok].sort_values(["entry_date", "school_id"], ascending=[False, True])
        for pid, g in open_.groupby("pupil_id"):
            rows.append((pid, a, g["school_id"].iloc[0], g["pupil_id"].count(), g))
    return rows


def test_roll_and_school_roll_follow_the_rule_with_overlapping_and_late_known_spells():
    # only pupils whose spells overlap (as known) are ranked by the roll's window and
    # counted distinctly on a school's roll: single spells, back-to-back moves, overlaps,
    # ties on entry date and knowledge dates must all give the rule's school and counts
    from riskscreen.features import Feature, FeatureSpec

    rng = np.random.default_rng(7)
    dates = pd.to_datetime(["2020-10-05", "2021-01-11", "2021-06-07", "2022-01-10"])
    days = lambda lo, hi: pd.Timestamp(lo) + pd.Timedelta(days=int(rng.integers(0, hi)))  # noqa: E731
    rows = []
    for pid in range(1, 61):
        entry = days("2019-06-01", 500)
        for _ in range(int(rng.integers(1, 4))):
            leave = (
                None if rng.random() < 0.3 else entry + pd.Timedelta(days=int(rng.integers(0, 700)))
            )
            u = rng.random()
            rows.append(
                on_roll(
                    pid,
                    entry=entry,
                    school=100 * (len(rows) % 3 + 1),
                    leaving_date=leave,
                    leaving_reason=None if leave is None else "transfer",
                    recorded_date=None
                    if u < 0.5
                    else entry + pd.Timedelta(days=int(rng.integers(0, 200))),
                    end_recorded_date=(
                        None
                        if leave is None or u < 0.7
                        else leave + pd.Timedelta(days=int(rng.integers(0, 200)))
                    ),
                )
            )
            # next spell: a move after it, on its last day, a tie, or an overlap
            step = int(rng.choice([-40, 0, 1, 60, 300]))
            entry = (entry if leave is None else max(entry, leave)) + pd.Timedelta(days=step)
    excl = [
        {
            "pupil_id": int(rng.integers(1, 61)),
            "start_date": days("2020-01-01", 700),
            "kind": "suspension",
            "school_id": int(rng.choice([100, 200, 300])),
        }
        for _ in range(80)
    ]
    h = histories(
        pupils=[pupil(p) for p in range(1, 61)], enrolments=rows, exclusions=excl, extract=True
    )
    enrol = h.enrolments[h.enrolments["pupil_id"] != 999]
    expected = _roll_reference(enrol, dates)
    assert any(n > 1 for *_, n, _ in expected) and any(n == 1 for *_, n, _ in expected)
    got = build_cohort(h, dates, ncyears=(0, 13))
    want = pd.Series({(p, a): s for p, a, s, *_ in expected}, name="school_id").rename_axis(
        ["pupil_id", "as_of_date"]
    )
    pd.testing.assert_series_equal(
        got["school_id"].astype("int64").sort_index(),
        want.astype("int64").sort_index(),
        check_names=False,
        check_index_type=False,
    )
    # a school's roll counts each pupil with an open spell there once
    spec = FeatureSpec(
        [Feature("rate", "exclusions", "school_rate", "1Y", "rate", where={"kind": "suspension"})]
    )
    X = build_features(h, dates, spec, cohort=SchoolCohort(ncyears=(0, 13), leaving_within=None))
    ex = h.exclusions
    for (p, a), rate in X["rate"].items():
        school = want[(p, a)]
        n_roll = len(
            {q for q, b, _, _, g in expected if b == a and (g["school_id"] == school).any()}
        )
        n_events = (
            (ex["school_id"] == school)
            & (ex["start_date"] < a)
            & (ex["start_date"] >= a - pd.DateOffset(years=1))
        ).sum()
        assert rate == pytest.approx(n_events / n_roll), (p, a)
