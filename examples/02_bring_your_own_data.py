# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: -all
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 2. Bring your own data source and outcome
#
# **For** an analyst whose data are not (only) the DfE school census: a college, a
# youth-justice service, a housing or early-help team with event tables of its own.
# **At the end you will have** put your own tables into riskscreen, declared who is
# screened, the outcome, the features and the rule your staff use today, and got the
# same honest comparison, ranked list and reasons in words as for schools.
#
# The example is a further-education college screening its learners for withdrawal.
# Its data have nothing in common with the school census: learners with text ids and
# no DfE fields, their course registrations (spells, with a start and an end) and
# their coursework submissions (events). The data are synthetic, from
# `make_learner_histories`.
#
# Run: `python examples/02_bring_your_own_data.py` (set `RISKSCREEN_EXAMPLE_PUPILS`
# to change the number of learners; default 5,000).

# %%
import os

import pandas as pd

from riskscreen import Screener
from riskscreen.data import DataValidationError, LinkedHistories
from riskscreen.datasets import make_learner_histories
from riskscreen.features import Col, Feature, FeatureSpec, Outcome, Reason, SpellCohort
from riskscreen.training import Checklist, Criterion

N_LEARNERS = int(os.environ.get("RISKSCREEN_EXAMPLE_PUPILS", "5000"))
pd.set_option("display.width", 120)
pd.set_option("display.max_columns", 10)

# %% [markdown]
# ## Your tables, as plain DataFrames
#
# With real data these would come from `pd.read_csv`, `pd.read_excel` or a database
# query. Here we take them out of the synthetic college, to show their shape: one row
# per registration, and one row per learner per coursework deadline.

# %%
college = make_learner_histories(n_learners=N_LEARNERS, seed=1)
learners = college.pupils
registrations = college.custom["registrations"][0]
submissions = college.custom["submissions"][0]
print(registrations.head())
print(submissions.head())

# %% [markdown]
# ## Put them into riskscreen
#
# `LinkedHistories` needs a `pupils` table with one key per person (any ids: numbers
# or text). Every other table is attached with `add_source`, saying which column is
# the date, which is the end of a spell (if the rows are spells), and which columns
# features may use. `validate()` then checks that ids refer to known people, dates
# are dates and no spell ends before it starts.

# %%
histories = LinkedHistories(pupils=learners)
histories.add_source(
    "registrations",
    registrations,
    date_column="start",
    end_date_column="end",
    value_columns=["course", "status"],
)
histories.add_source(
    "submissions", submissions, date_column="date", value_columns=["submitted", "late", "score"]
)
histories.validate()
print(histories)

# %% [markdown]
# A mistake in the extract is reported with the table, the column and the rows, not
# dropped silently. Here one registration ends the day before it starts:

# %%
bad = registrations.copy()
bad.loc[bad.index[0], "end"] = bad.loc[bad.index[0], "start"] - pd.Timedelta(days=1)
try:
    LinkedHistories(pupils=learners).add_source(
        "registrations", bad, date_column="start", end_date_column="end"
    ).validate()
except DataValidationError as error:
    print(error)

# %% [markdown]
# ## Say what to screen, for what, with what
#
# - **Who is screened** on an as-of date: learners with a registration open that day
#   (`SpellCohort("registrations")`).
# - **The outcome**: their registration *ends* as "withdrawn" within the horizon
#   (`at="end"`), four months here. `words` is how the sentences will say it.
# - **The features**: *quantity x aggregate x lookback window* over a table --
#   late and missed work in the last eight weeks, marks recently and overall.
#   `monotone=1` says risk should not fall as the feature grows (the models respect
#   it); `reason` is how the feature reads in a panel's list.
# - **The rule to beat**: the checklist the tutors use today. A model that does not
#   beat it is not worth the trouble, and the comparison below says so if it doesn't.

# %%
spec = FeatureSpec(
    [
        Feature(
            "late_8w",
            "submissions",
            "sum",
            "56D",
            column="late",
            monotone=1,
            description="Pieces of coursework handed in late in the last 8 weeks",
            reason=Reason("{n} late piece{s} of work {window}", group="late or missed work"),
        ),
        Feature(
            "missed_8w",
            "submissions",
            "count",
            "56D",
            where=Col("submitted") == 0,
            description="Pieces of coursework not handed in in the last 8 weeks",
            reason=Reason("{n} missed piece{s} of work {window}", group="late or missed work"),
        ),
        Feature(
            "mean_mark_8w",
            "submissions",
            "mean",
            "56D",
            column="score",
            monotone=-1,
            description="Average mark (0-100) of coursework in the last 8 weeks",
            reason=Reason(
                "average mark {n} {window}", missing="no marked work {window}", group="marks"
            ),
        ),
        Feature(
            "mean_mark_all",
            "submissions",
            "mean",
            "all",
            column="score",
            monotone=-1,
            description="Average mark (0-100) of all coursework on the course",
            reason=Reason(
                "average mark {n} on the course", missing="no marked work yet", group="marks"
            ),
        ),
    ]
)
withdrawal = Outcome(
    "withdrawal",
    "registrations",
    where=Col("status") == "withdrawn",
    at="end",
    words="withdraw from the course",
)
tutors = Checklist(
    [
        Criterion("late", ("late_8w",), ">= 2", 2, "Two or more late pieces in 8 weeks"),
        Criterion("missed", ("missed_8w",), ">= 1", 2, "A missed piece in 8 weeks"),
        Criterion("low_marks", ("mean_mark_8w",), "< 50", 1, "Average mark under 50"),
    ]
)
print(spec.describe()[["name", "source", "aggregate", "window", "filter"]].to_string(index=False))

# %% [markdown]
# ## Fit, then test on a later year
#
# The screener learns from screening dates in earlier course years (November and
# February) and calibrates on the latest of them; `capacity=0.10` says the
# student-support team can see one learner in ten. The scorecard is a logistic model
# on binned features: every learner's score is a sum of points a tutor can check by
# hand.

# %%
screener = Screener(
    outcome=withdrawal,
    horizon="4M",
    spec=spec,
    cohort=SpellCohort("registrations"),
    model="scorecard",
    baselines={"tutor_checklist": tutors},
    capacity=0.10,
    n_bootstrap=100,
)
screener.fit(histories, ["2019-11-01", "2020-02-01", "2020-11-01", "2021-02-01", "2022-02-01"])

# %% [markdown]
# Your own audit groups go in as `sensitive_features` -- any columns, one row per
# person. The college has no protected characteristics in this extract, so we audit
# the list by course (with real data: sex, ethnicity, disability, care experience,
# as recorded).

# %%
groups = registrations.drop_duplicates("pupil_id").set_index("pupil_id")[["course"]]
comparison = screener.evaluate(histories, "2023-02-01", sensitive_features=groups)
print(comparison)

# %% [markdown]
# How to read it:
#
# - The first table compares the scorecard with the tutors' checklist on the **same
#   learners**, at the same capacity, with 95% intervals from resampling learners.
# - The sentences say it for a tutor: "of 10 pupils flagged, about 4 go on to
#   withdraw from the course" (riskscreen calls everyone it screens a pupil; the
#   outcome's `words` finish the sentence). The verdict on the paired difference says
#   whether the model is *clearly* better than the checklist; "no clear difference"
#   means these data cannot tell them apart, not that they are equal.
# - Counts under 5 in the band tables are blank: with real learners, a small count
#   in a small course could identify someone.
#
# The audit by course (the same list, read group by group; notebook 03 explains
# the audit in depth):

# %%
print(comparison.audit.by_group[["n", "selection_rate", "recall", "recall_low", "recall_high"]])

# %% [markdown]
# ## The scorecard's points, for the tutors
#
# Each row is a bin of one feature and the points it adds to the score; the base
# points are everyone's starting score. `n_train` is how many training rows fell in
# the bin: points resting on a handful of rows (such as four or more missed pieces)
# are not to be trusted. The two marks features have a dozen bins each; print the
# whole table for the tutors.

# %%
points = screener.model_.to_frame()
print(points[points["feature"].isin(["(base points)", "late_8w", "missed_8w"])].round(2))

# %% [markdown]
# ## This term's list, with reasons
#
# `score` ranks the learners registered on the date; `explain` puts the top reasons
# of each flagged learner in words, using the `reason` templates above.

# %%
screening = screener.score(histories, "2023-02-01")
explanation = screener.explain(screening, pupils="flagged")
flagged = screening.flagged()
print(flagged[["score", "probability", "band", "rank"]].head(5))
reasons = explanation.reasons_wide().reindex(flagged.index)
for learner, row in reasons.head(3).iterrows():
    print(f"{learner}: " + "; ".join(text for text in row if isinstance(text, str) and text))

# %% [markdown]
# ## What not to conclude
#
# - The checklist and the model were compared on one later term of one college. A
#   difference there is evidence, not proof, that the same holds next year.
# - "Withdrawn" is what the registration record says. If some withdrawals are
#   recorded as transfers (or the reverse), the model learns the recording.
# - Reasons explain the model's score, not why a learner is struggling: they are a
#   place for the tutor's conversation to start.
