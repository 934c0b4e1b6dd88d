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
# # 6. Evaluating an intervention: keep every list, then ask what the help changed
#
# **For** a researcher or an evaluation lead asking whether the help that followed the
# lists worked. **At the end you will have** kept each term's list as an immutable
# snapshot, joined the snapshots to the help that followed and to what happened next,
# estimated the effect of help in four ways -- each with its interval, its
# diagnostics and the naive comparison beside it -- checked each estimate against the
# true effect, which only a synthetic authority can tell you, and allocated help at
# random within risk bands for the next round, so that the next evaluation needs no
# assumptions.
#
# Help is not given at random: it goes to the pupils judged at highest risk, so simply
# comparing helped with unhelped pupils makes any help look harmful. The synthetic
# authority knows the truth: its schools give help to the pupils they judge at risk,
# and help multiplies the hazard of behaviour incidents (hence of suspensions) by 0.75
# for 26 weeks. Watch the naive comparison get it wrong, and the adjusted estimates
# move towards the truth.
#
# Needs the `interventions` extra (`pip install 'riskscreen[interventions]'`:
# statsmodels, rdrobust, rddensity). Run: `python examples/06_evaluate_an_intervention.py`
# (set `RISKSCREEN_EXAMPLE_PUPILS` to change the size; at a few thousand pupils every
# interval is wide).

# %%
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from riskscreen import Screener
from riskscreen.datasets import make_linked_histories
from riskscreen.interventions import (
    OverlapError,
    SnapshotStore,
    TooFewPupilsError,
    allocate_within_bands,
    build_study,
    estimate_aipw,
    estimate_did,
    estimate_discontinuity,
    estimate_ipw,
)

N_PUPILS = int(os.environ.get("RISKSCREEN_EXAMPLE_PUPILS", "20000"))
HORIZON = "26W"
pd.set_option("display.width", 120)

# %% [markdown]
# ## The authority, its screener and its lists
#
# Three years of a synthetic authority in which the schools that offer help give it to
# 4% of their roll each term, and a cheap, interpretable screener for suspension in the
# next 26 weeks.

# %%
histories, truth = make_linked_histories(
    n_pupils=N_PUPILS, n_years=3, seed=5, return_truth=True, intervention_capacity=0.04
)
effect = truth.intervention_effect
print(f"True effect of help: hazard ratio {effect['hazard_ratio']} for {effect['weeks']} weeks.")

screener = Screener(model="scorecard", outcome="suspension", horizon=HORIZON, capacity=0.05)
screener.fit(histories, ["2019-11-04", "2020-01-06", "2020-04-20", "2020-11-02"])

# %% [markdown]
# Each term's list is saved **as it was issued**: scores, ranks, bands, flags, the
# features the model saw and the model's version, in a Parquet folder, with a
# checksum. A snapshot is never overwritten. Without snapshots, an evaluation a year
# later would have to re-score the past with today's model and today's data, which is
# not what the panel saw.

# %%
terms = ["2021-01-04", "2021-04-19", "2022-01-03"]
store = SnapshotStore(Path(tempfile.mkdtemp(prefix="riskscreen_snapshots_")))
for term in terms:
    store.save(screener.score(histories, term))
print(f"Snapshots kept in {store.path}")
print(store.list().drop(columns="saved_at").to_string(index=False))

# %% [markdown]
# ## The study: each list, the help that followed, what happened next
#
# `build_study` joins the snapshots to the `interventions` table (help starting within
# 28 days of a list counts as "helped after that list") and to the outcome: a
# suspension in the 26 weeks after the list. The confounders are what was known on the
# list's date: the risk score and the features in the snapshot. Pupils already
# receiving help and pupils whose outcome is unknown are left out, and counted.

# %%
study = build_study(histories, store, outcome="suspension", horizon=HORIZON)
print(study.to_markdown())

# %% [markdown]
# Helped pupils are suspended far more often than unhelped ones -- not because help
# harms, but because help went to the pupils at highest risk. That is the naive
# comparison every estimate below sets beside itself.
#
# ## 1. Weighting: IPW and doubly robust AIPW
#
# Both model each pupil's chance of being helped from the confounders (the
# *propensity*) and reweight the unhelped pupils to look like the helped ones. AIPW
# also models the outcome, and stays right if either model is. Each refuses, rather
# than guesses, when helped and unhelped pupils do not overlap.
#
# What to read: the estimate and its **95% interval** (the effect on the chance of
# suspension, in percentage points, for the pupils who were helped), the **balance**
# after weighting (standardised mean differences: under 0.1 is good), and the
# **effective number** of unhelped pupils the estimate rests on.

# %%
weighting = {}
for estimate in (estimate_ipw, estimate_aipw):
    try:
        result = estimate(study)
    except (OverlapError, TooFewPupilsError) as error:
        print(f"{estimate.__name__} refused: {error}")
        continue
    weighting[result.method] = result
    print(result.to_markdown())
# In a notebook, result.plot_overlap() and result.plot_balance() draw the diagnostics.

# %% [markdown]
# ## What was the truth?
#
# With real data nobody knows. The synthetic authority does: for every pupil and
# school week it kept the chance of a behaviour incident and of a recorded suspension,
# and whether help was active that week (`truth.weekly`). Help multiplied the
# incident hazard by 0.75 in those weeks, so dividing the log-chance of *no* incident
# by 0.75 gives that week's chance without help. Over the 26 weeks after a list, the
# chance of at least one suspension is one minus the product of the weekly chances of
# none; the difference with and without help is the true effect of the help on that
# pupil. Averaged over the pupils an estimate is about (the helped pupils it kept),
# it is the number that estimate should recover.
#
# It is the effect of help on each week's risk with everything else as it happened, a
# little smaller than the whole effect: an incident avoided also makes the next one
# less likely, which this leaves out.


# %%
def true_effect(truth, rows, weeks=26):
    """Each row's true change in the chance of suspension over ``weeks`` due to help.

    ``rows``: a (pupil_id, as_of_date) index of study rows. Negative: help lowered it.
    """
    weekly = truth.weekly
    p_incident = weekly["incident_probability"].to_numpy(dtype=float).clip(0, 1 - 1e-9)
    p_with = weekly["suspension_probability"].to_numpy(dtype=float)
    hazard_ratio = truth.intervention_effect["hazard_ratio"]
    # 1 - p = exp(-hazard): without help, log(1 - p) is divided by the hazard ratio
    undone = -np.expm1(np.log1p(-p_incident) / hazard_ratio)
    p_incident_without = np.where(weekly["treated"], undone, p_incident)
    ratio = np.divide(
        p_incident_without, p_incident, out=np.ones_like(p_incident), where=p_incident > 0
    )
    chances = weekly[["pupil_id", "period_start"]].assign(
        with_help=np.log1p(-p_with), without_help=np.log1p(-p_with * ratio)
    )
    pairs = rows.to_frame(index=False).merge(chances, on="pupil_id")
    start = pairs["as_of_date"]
    end = start + pd.Timedelta(weeks=weeks)
    inside = pairs[(pairs["period_start"] >= start) & (pairs["period_start"] < end)]
    logs = inside.groupby(["pupil_id", "as_of_date"])[["with_help", "without_help"]].sum()
    return np.exp(logs["without_help"]) - np.exp(logs["with_help"])


table = []
for method, result in weighting.items():
    about = study.frame.index[(result.kept & result.treated).to_numpy()]
    truth_value = float(true_effect(truth, about).mean())
    table.append(
        {
            "estimator": method,
            "estimate": result.estimate,
            "ci_low": result.ci_low,
            "ci_high": result.ci_high,
            "true effect": truth_value,
            "interval covers the truth": result.covers(truth_value),
            "naive": result.naive["estimate"],
        }
    )
print(pd.DataFrame(table).set_index("estimator").round(3).to_string())

# %% [markdown]
# All figures are changes in the chance of suspension in the 26 weeks after the list
# (0.01 = one percentage point). How to read the table:
#
# - **true effect**: help lowered the helped pupils' chance of suspension by this much
#   on average -- a few percentage points, because their chance was high to start with.
# - **naive**: the helped-minus-unhelped difference, far above the truth and of the
#   wrong sign. This is the mistake the adjusted estimates exist to correct.
# - **estimate** and its interval: the adjusted estimates move a long way from the
#   naive difference towards the truth. Whether they reach it depends on whether the
#   confounders hold everything that decided who was helped. Here they do not: the
#   synthetic schools chose from their *own* noisy view of risk, which no snapshot
#   records, so part of the selection stays in the estimates, on the side of the naive
#   difference. At the default 20,000 pupils the table reads: true effect -0.037,
#   naive +0.218, IPW +0.003 (-0.047 to +0.053), AIPW +0.051 (+0.021 to +0.082) -- an
#   AIPW interval wholly above zero, as if help did harm. With real data the same can
#   happen and cannot be checked: one reason to prefer a trial (section 4).
# - An interval that includes zero is what an authority of a few thousand pupils should
#   expect: it means "these data cannot tell", not "help does not work".
#
# Where the confounders do hold what decided who was helped, the intervals are right:
# riskscreen's own tests assign help from what the snapshots record, on twenty
# synthetic authorities, and check that the AIPW intervals cover the true effect in at
# least nine of ten.
#
# ## 2. Regression discontinuity at the capacity cut-off
#
# Suppose the panel offered help to exactly the pupils each list flagged. Pupils just
# above and just below the cut-off are alike except for the offer, so the jump in
# outcomes at the cut-off estimates the effect of the offer **for pupils near the
# cut-off** (not for the highest-risk pupils). The panel's decisions come back as a
# plain table keyed by (pupil_id, as_of_date) -- in practice from `read_decisions`
# (notebook 04). In this authority the panel's offers were never delivered (the help
# pupils got came from their schools, whatever the list said), so the true effect of
# the *offer* is known: zero. A good estimate's interval includes it.

# %%
snapshots = pd.concat([s.frame for s in store.snapshots()])
decisions = pd.DataFrame({"offered_help": snapshots["flagged"]}).reset_index()
panel = build_study(
    histories,
    store,
    outcome="suspension",
    horizon=HORIZON,
    decisions=decisions,
    treatment="offered_help",
)
try:
    rd = estimate_discontinuity(panel, running="score")
    print(rd.to_markdown())
    print(f"The interval includes the true effect of the offer (zero): {rd.covers(0.0)}")
except TooFewPupilsError as error:
    print(f"estimate_discontinuity refused: {error}")

# %% [markdown]
# The density test checks that pupils were not pushed over the cut-off (a low p-value
# would mean the score was manipulated). The interval is robust bias-corrected, so it
# need not be centred on the estimate. "Mass points" means many pupils share the same
# score, as they do with a scorecard's points; `running="rank"` uses the list's rank
# instead.
#
# ## 3. Difference-in-differences on attendance
#
# Compares how attendance changed from before to after the list for helped and
# unhelped pupils. It assumes both groups would have changed alike without help
# (*parallel trends*), and checks that on an earlier period (the **placebo**): a
# placebo interval that excludes zero means the assumption is doubtful, and the
# estimate should not be trusted. Help in this authority acts on behaviour, not on
# attendance directly, so the truth here is close to zero.

# %%
attendance = build_study(histories, store, outcome="attendance_rate", horizon="13W")
try:
    did = estimate_did(attendance)
    print(did.to_markdown())
except TooFewPupilsError as error:
    print(f"estimate_did refused: {error}")

# %% [markdown]
# ## 4. Next round: learn without assumptions
#
# Every estimate above leans on an assumption that cannot be checked fully. A trial
# does not: within the medium and high bands of the latest list, help goes to a random
# half, with the seed and the list recorded so the allocation can be reproduced and
# audited. What pupils not allocated receive (usually the school's ordinary support)
# is a decision for the authority's ethics process, not for the analyst.

# %%
latest = store.load(terms[-1])
trial = allocate_within_bands(latest, seed=2022, share=0.5)
print(trial.to_markdown())
print(trial.record())

# %% [markdown]
# ## What not to conclude
#
# - The naive difference is not an effect: it is mostly who was chosen for help.
# - An adjusted estimate is only as good as its confounders: when those who chose whom
#   to help saw something the snapshot did not (a teacher's worry, a family's crisis),
#   the estimate keeps part of the naive bias, and nothing in the data says how much.
# - Each adjusted estimate is for a particular group (the helped pupils for IPW, AIPW
#   and DiD; pupils near the cut-off for RD) and rests on its own assumption; when they
#   disagree, say so rather than pick one.
# - An interval that includes zero does not show that help has no effect, only that
#   these data cannot tell. Plan the size of the next evaluation (or a trial) so that
#   they can.
