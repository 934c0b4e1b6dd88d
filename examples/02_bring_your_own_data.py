"""4. Bring your own data: a college screening its learners for withdrawal.

Not school census data at all: a college's learners (text ids, no DfE fields),
their course registrations (spells) and coursework submissions (events). The
analyst declares who is screened (learners registered on a course on the as-of
date), the outcome (their registration ending as "withdrawn" within four months),
the features (late and missed work, marks) and the tutors' own checklist to
beat, and gets the same honest comparison and ranked list as for schools.

Run: ``python examples/04_bring_your_own_data.py``
(set RISKSCREEN_EXAMPLE_PUPILS to change the size).
"""

from __future__ import annotations

import os

from riskscreen import Screener
from riskscreen.datasets import make_learner_histories
from riskscreen.features import Col, Feature, FeatureSpec, Outcome, SpellCohort
from riskscreen.training import Checklist, Criterion

n = int(os.environ.get("RISKSCREEN_EXAMPLE_PUPILS", "5000"))
college = make_learner_histories(n_learners=n, seed=1)  # or LinkedHistories of your own
print(college)

# What the college knows about each learner, as it stood on each screening date.
spec = FeatureSpec(
    [
        Feature("late_8w", "submissions", "sum", "56D", column="late", monotone=1),
        Feature("missed_8w", "submissions", "count", "56D", where=Col("submitted") == 0),
        Feature("mean_mark_8w", "submissions", "mean", "56D", column="score", monotone=-1),
        Feature("mean_mark_all", "submissions", "mean", "all", column="score", monotone=-1),
    ]
)
withdrawal = Outcome(
    "withdrawal",
    "registrations",
    where=Col("status") == "withdrawn",
    at="end",  # the registration ends as withdrawn within the horizon
    words="withdraw from the course",
)
tutors = Checklist(  # the rule the tutors use today: the model must beat it
    [
        Criterion("late", ("late_8w",), ">= 2", 2, "Two or more late pieces in 8 weeks"),
        Criterion("missed", ("missed_8w",), ">= 1", 2, "A missed piece in 8 weeks"),
        Criterion("low_marks", ("mean_mark_8w",), "< 50", 1, "Average mark under 50"),
    ]
)
screener = Screener(
    outcome=withdrawal,
    horizon="4M",
    spec=spec,
    cohort=SpellCohort("registrations"),  # learners registered on the as-of date
    model="scorecard",
    baselines={"tutor_checklist": tutors},
    capacity=0.10,  # the student-support team can see one learner in ten
)
screener.fit(college, ["2019-11-01", "2020-02-01", "2020-11-01", "2021-02-01", "2022-02-01"])
print(screener.evaluate(college, "2023-02-01", n_bootstrap=100))
print(screener.model_.to_frame().head(12))  # the scorecard's points, for the tutors
print(screener.score(college, "2023-02-01").flagged().head(10))
