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
# # 1. Analyst quick start: from linked histories to an honest ranked list
#
# **For** a local-authority analyst who knows pandas and wants to see, in one sitting,
# everything a screening involves. **At the end you will have** a checked synthetic
# local authority (and know how to put your own data in its place), features and
# outcomes as they stood on screening dates, a screener trained on earlier dates and
# tested on a later one against the simple rules councils already use, a ranked list
# at the panel's capacity -- and you will know what each of its numbers means and
# what it does not.
#
# Nothing here touches real children: the data come from riskscreen's built-in
# synthetic local authority, calibrated to published DfE rates.
#
# Run it as a notebook (see `examples/README.md`) or as a script:
# `python examples/01_analyst_quick_start.py`. Set `RISKSCREEN_EXAMPLE_PUPILS` to
# change the size of the authority (the tests use 3,000 pupils; the default of
# 20,000 takes a minute or two on a laptop).

# %%
import os
import tempfile
from pathlib import Path

import pandas as pd

from riskscreen import Screener
from riskscreen.data import DataValidationError, LinkedHistories
from riskscreen.datasets import calibration_report, make_linked_histories
from riskscreen.features import (
    Col,
    Feature,
    FeatureSpec,
    build_dataset,
    build_features,
    default_spec,
)

N_PUPILS = int(os.environ.get("RISKSCREEN_EXAMPLE_PUPILS", "20000"))
pd.set_option("display.width", 120)
pd.set_option("display.max_columns", 10)

# %% [markdown]
# ## The data: linked histories
#
# riskscreen works on one data model, `LinkedHistories`: the education record
# (census enrolments, attendance, suspensions and exclusions, SEN, free school meals,
# children missing education) and the social-care record (referrals, plans,
# looked-after episodes, early help) of the same children, linked by a pseudonymous
# integer key. There are no names, UPNs or full dates of birth.
#
# Here the histories come from a synthetic authority: `N_PUPILS` pupils on roll in
# September 2019, followed for five academic years. With your own extracts you would
# call `LinkedHistories.from_frames({...})` or `LinkedHistories.read_csv(folder)`
# instead, and everything below stays the same.

# %%
histories = make_linked_histories(n_pupils=N_PUPILS, start_year=2019, n_years=5, seed=1)
print(histories.summary())

# %% [markdown]
# One row per table: how many rows, how many distinct pupils they cover, and the
# dates they span. The `pupils` table holds more pupils than `N_PUPILS` because new
# Reception classes join every September and families move in.
#
# ## Check it before you trust it
#
# `validate()` checks types, DfE code sets, the order of dates, keys and the links
# between tables, and raises **one** error listing every problem. Here we break
# three rows on purpose to see what that looks like.

# %%
histories.validate()  # passes silently and returns the histories

broken = histories.copy()
broken.exclusions.loc[broken.exclusions.index[:3], "reason"] = "XX"
try:
    broken.validate()
except DataValidationError as error:
    print(error)

# %% [markdown]
# The message names the table, the column, the rows (by position, never by a pupil's
# key) and what was expected. Fix the extract and run `validate()` again.
#
# ## Is the synthetic authority realistic?
#
# `calibration_report` compares any histories -- synthetic or your own -- with the
# published national figures the generator was tuned to (each row cites its DfE
# publication). On your own data it tells you where your authority differs from
# England as a whole, which is worth knowing before you model anything.

# %%
report = calibration_report(histories)
print(report[["figure", "group", "target", "generated", "within"]].head(8).to_string())
print(f"{int(report['within'].sum())} of {len(report)} figures within tolerance")

# %% [markdown]
# ## Keep it as a folder
#
# `save` writes one Parquet file per table and a manifest, atomically. Next time,
# `LinkedHistories.open(folder)` reads nothing until a table is needed (so an
# authority larger than memory works), and every function below also accepts the
# folder's path in place of the histories.

# %%
workdir = Path(tempfile.mkdtemp(prefix="riskscreen_quick_start_"))
folder = histories.save(workdir / "synthetic_la")
opened = LinkedHistories.open(folder)
print(f"Saved {len(histories.tables())} tables to {folder}")
print(f"Pupils in the saved folder: {len(opened.pupils):,}")

# %% [markdown]
# ## Features as they stood, outcomes that came after
#
# A screening is made on an **as-of date**. Features only see events *strictly
# before* it (an event on the day is not seen), and the outcome label only looks
# *from* it, over a horizon -- here: was the pupil suspended in the next 12 months?
# This is what makes the evaluation honest: the model never sees the future.
#
# `build_dataset` builds the cohort (by default: on a school roll in NC years 5-11),
# the features and the labels at several as-of dates in one read of the histories.
# We take one date a term from 2020 to 2022: the dates a screener will learn from.
# `sensitive=True` also returns sex, ethnicity and the audit groups -- **separately**
# from the features, because they are audited, never used as inputs.

# %%
fit_dates = ["2020-02-01", "2020-06-01", "2020-10-01", "2021-02-01", "2021-06-01", "2022-06-01"]
train = build_dataset(histories, fit_dates, outcome="suspension", horizon="12M", sensitive=True)
print(train)
print(train.label_report)

# %% [markdown]
# How to read the label report, one row per as-of date:
#
# - `n_cohort` pupils were screened that day, `n_positive` were suspended in the next
#   12 months, and `positive_rate` is their share *among pupils whose outcome is
#   known*.
# - Pupils who moved to another authority or abroad without being suspended are
#   **censored**: their outcome is unknown (`<NA>`), they are counted, and they are
#   never quietly treated as "not suspended".
# - Leaving school after Year 11 is not censoring: it is known in advance. The cohort
#   leaves out Year 11 pupils whose last school day is less than three months away
#   (a panel could not act in time), and a Year 11 pupil screened earlier is labelled
#   by what happens before they leave.
# - `window_complete` says whether the whole 12 months lie inside the data. A date
#   whose window runs past the end of the data cannot be used to learn or to test.
#
# The features come with a description in words, which the explanations and the
# model card reuse. `X` has a few more columns than the spec has features: a
# `<name>__missing` column marks where a value had to be filled in (e.g. attendance
# of a pupil with no sessions in the window).

# %%
spec = default_spec()
print(f"{len(spec.describe())} features in the default spec, e.g.:")
print(spec.describe()[["name", "description"]].iloc[[2, 9, 13, 26, 31]].to_string(index=False))
print(train.X[["attendance_rate_13w", "suspension_count_1y", "fsm_now", "referrals_1y"]].head())

# %% [markdown]
# Sex and ethnicity are not among the features; they sit in `train.sensitive`,
# aligned row for row, for the fairness audit:

# %%
assert not {"sex", "ethnicity"} & set(train.X.columns)
print(train.sensitive.head())

# %% [markdown]
# A feature is *quantity x aggregate x lookback window* over a table, optionally
# filtered. Your own is one line; `build_features` builds any spec on its own,
# without labels.

# %%
my_spec = FeatureSpec(
    [
        Feature(
            "disruption_suspensions_6m",
            source="exclusions",
            aggregate="count",
            window="6M",
            where=(Col("kind") == "suspension") & (Col("reason") == "DB"),
            description="Suspensions for persistent disruptive behaviour in the last 6 months",
        ),
    ]
)
mine = build_features(histories, ["2022-06-01"], my_spec)
print(mine["disruption_suspensions_6m"].value_counts().sort_index().head(4))

# %% [markdown]
# ## Train on earlier dates, test on a later one
#
# `Screener` is the one object an analyst needs. `fit` holds out the **latest** fit
# date (2022-06-01) to calibrate the probabilities and to validate, and trains the
# model on the earlier dates whose 12-month windows close before it: nothing it
# learns from overlaps what it is checked on. It also fits three **rule baselines**
# on the same rows -- prior suspensions, attendance, and a RONI-style checklist --
# because a model is only worth using if it beats the simple rules councils already
# use.
#
# `capacity=0.05` says the panel can look at 5% of the cohort: every metric is read
# at that point of the ranked list. (`Screener(...).fit(histories, fit_dates)` does
# the same in one call; building the Dataset first lets you look at it, and fit
# several models on it.)

# %%
screener = Screener(outcome="suspension", horizon="12M", capacity=0.05, n_bootstrap=100)
screener.fit(train)
print(f"Trained on {screener.train_dates_}, calibrated on {screener.calibration_dates_}")

# %% [markdown]
# The real test is a date the screener has never seen, a year later. `evaluate`
# builds features and labels there, ranks the cohort with the model and with each
# baseline, and compares them on **the same pupils**, with 95% intervals from a
# bootstrap that resamples pupils.

# %%
test_date = "2023-06-01"
comparison = screener.evaluate(histories, test_date)
print(f"{comparison.n:,} pupils screened on {test_date}; the list holds k = {comparison.k}")
print(comparison.formatted().to_string())

# %% [markdown]
# ## What the numbers mean
#
# - **precision@k**: of the pupils the list flags (k, the panel's capacity), the
#   share who went on to be suspended. **recall@k**: of the pupils who went on to be
#   suspended, the share the list flagged. At 5% capacity recall is low for *every*
#   scorer: a short list cannot catch most children, whatever the model.
# - **AP** (average precision) and **ROC AUC** summarise the whole ranking, not just
#   the top k; **ECE** (expected calibration error) says how far the probabilities
#   are from the observed rates (0 is perfect).
# - Each figure carries a **95% interval**. Where the intervals of two scorers
#   overlap, do not read a difference into their point estimates: the paired verdicts
#   below decide it on the same resamples of pupils.
# - Pupils whose outcome is unknown (censored) keep their places on the list but
#   count neither as hits nor as misses.
#
# The same results in words -- the form to put in front of a panel or a manager:

# %%
for sentence in comparison.sentences():
    print(sentence)
for verdict in comparison.verdicts():
    print(verdict)

# %% [markdown]
# "No clear difference" means the interval of the paired difference includes zero:
# these data cannot tell the two apart, which is itself worth reporting -- a model
# that does not beat the prior-suspensions rule does not justify its complexity.
#
# Is a probability of 0.4 really about 4 in 10? The comparison also holds the
# observed rate of the outcome in each risk band and decile of the model's list,
# beside the mean predicted probability: where the two are close, the model is well
# calibrated. In a small authority many of these cells are blank, for the reason
# below; the larger the authority, the fewer.
#
# **Small numbers**: counts under 5 are never shown (blank, `<NA>` or "c"), and
# neither is any figure from which one could be worked out -- a rate, or a count
# whose total is published elsewhere (`suppressed` marks the rows concerned). That
# protects children in small groups and schools; it is not an error.

# %%
print(comparison.bands.to_string())

# %% [markdown]
# `print(comparison)` (or `comparison.to_markdown()`) gives all of this as one report.
# In Jupyter, a result alone on the last line of a cell -- `comparison`, `screening`,
# `histories` -- renders as HTML tables; these notebooks print, so that they also run
# as scripts.
#
# `evaluate` also audited the list for fairness by sex, ethnicity, SEN, free school
# meals and social-care status (`comparison.audit`); notebook 03 reads that audit in
# depth.
#
# ## The ranked list
#
# `score` ranks everyone in the cohort on a date. Each pupil gets the model's
# `score` (which orders the list), a calibrated `probability`, a `decile`, a risk
# `band`, a `rank` overall and within their school, and `flagged` for the pupils
# inside the panel's capacity.

# %%
screening = screener.score(histories, test_date)
print(screening.summary())
print(screening.flagged().head(10))

# %% [markdown]
# How to read one row: a pupil with probability 0.40 belongs to a group of pupils of
# whom about 4 in 10 went on to be suspended *in the data the model was calibrated
# on*. It is not a diagnosis and not a prediction about this child; it is a reason
# for a professional to look.
#
# ## What not to conclude
#
# - A flag is an invitation to look, not a finding about a child or family; most
#   flagged pupils will not be suspended, and most pupils who will be are not on a
#   list this short.
# - The model learns recorded suspensions, which depend on each school's practice. A
#   group that is suspended more often may be flagged more often without behaving
#   differently (notebook 03 measures this against the synthetic truth).
# - Figures on the synthetic authority say nothing about your authority: rerun the
#   evaluation on your own data and dates before anyone reads a list.
#
# **Next:** notebook 02 brings data of your own, 03 audits fairness, 04 runs the
# monthly panel cycle, 05 records the model, 06 evaluates the help that followed.
