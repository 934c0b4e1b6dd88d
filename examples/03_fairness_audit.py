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
# # 3. Fairness audit in depth: who the list misses, who it flags wrongly, and why
#
# **For** the analyst who signs a list off before a team-around-the-school panel sees
# it, and for whoever writes the equality impact assessment. **At the end you will
# have** audited the list at the panel's capacity by ethnicity, SEND, sex, free
# school meals and social-care status and their intersections, with intervals,
# tests and small groups protected; split a disparity into *which schools* a group
# attends and *how it is ranked inside them*; measured, against the synthetic
# authority's hidden truth, how bias in the *recording* of suspensions reaches the
# list; and seen what equalising recall under the same budget costs.
#
# Run: `python examples/03_fairness_audit.py` (set `RISKSCREEN_EXAMPLE_PUPILS` to
# change the size; at the default 20,000 pupils the effect of recording bias stands
# out of its intervals, at a few thousand it does not). Writes a self-contained
# `fairness_audit.html` (opens with no network) to a temporary folder, printed below.

# %%
import os
import tempfile
from pathlib import Path

import pandas as pd

from riskscreen import Screener
from riskscreen.datasets import make_linked_histories
from riskscreen.evaluation import (
    CapacityThresholds,
    FairnessAudit,
    compare_mitigation,
    evaluate_at_capacity,
)
from riskscreen.features import build_dataset

N_PUPILS = int(os.environ.get("RISKSCREEN_EXAMPLE_PUPILS", "20000"))
SEED = 2
FIT_DATES = ["2020-02-01", "2020-06-01", "2020-10-01", "2021-02-01", "2021-06-01", "2022-06-01"]
CALIBRATION_DATE, TEST_DATE = "2022-06-01", "2023-06-01"
pd.set_option("display.width", 140)
pd.set_option("display.max_columns", 12)

# %% [markdown]
# ## The list to audit
#
# A synthetic authority, with its **truth** kept (`return_truth=True`): the generator
# knows every behaviour incident, recorded or not. A logistic scorecard learns
# recorded suspensions on earlier dates; the list is its top 5% on the test date.
# The outcomes (did the pupil go on to be suspended in the next 12 months?) and the
# protected characteristics come back in the same Dataset, apart from the features.

# %%
histories, truth = make_linked_histories(n_pupils=N_PUPILS, seed=SEED, return_truth=True)
screener = Screener(model="scorecard", capacity=0.05, n_bootstrap=100).fit(histories, FIT_DATES)
later = build_dataset(
    histories, [CALIBRATION_DATE, TEST_DATE], outcome="suspension", sensitive=True
)
screening = screener.score(later, TEST_DATE)
test = later.select_dates([TEST_DATE])
# outcomes and groups in the screening's row order (index: pupil_id)
test_y = test.y.droplevel("as_of_date").reindex(screening.frame.index)
test_groups = test.sensitive.droplevel("as_of_date").reindex(screening.frame.index)
print(screening)

# %% [markdown]
# ## How good is the list, overall and school by school?
#
# Before asking *for whom*, the list at capacity as a whole: precision, recall and
# lift at k, with intervals, and how many pupils each school gets on the list.

# %%
report = evaluate_at_capacity(
    test.y,
    screening.frame["score"],
    screening.frame["probability"],
    k=0.05,
    schools=screening.frame["school_id"],
    groups=screening.frame.index,
    n_bootstrap=100,
)
print(report)

# %% [markdown]
# **Lift** is precision divided by the base rate: how many times likelier a flagged
# pupil is to be suspended than a pupil picked at random.
#
# ## The audit of the list the panel sees
#
# `FairnessAudit.from_screening` reads the flags exactly as the panel gets them and
# compares, group by group, against what happened next:
#
# - **selection rate**: the share of the group flagged;
# - **recall** (true-positive rate): of the group's pupils who went on to be
#   suspended, the share the list caught -- for early help, a missed child is the
#   costlier error, so read this first;
# - **FPR** (false-positive rate): of the group's pupils who were *not* suspended,
#   the share flagged anyway;
# - **precision**: of the group's flagged pupils, the share who went on to be
#   suspended.
#
# Each group is compared with a reference group (the largest) as a **ratio**, with a
# bootstrap interval. A disparity is reported when its **whole interval** lies
# outside the tolerance band 0.80-1.25 (the "four-fifths" convention), and p-values
# are adjusted for the many comparisons made (Holm).

# %%
audit = FairnessAudit.from_screening(
    screening, test.y, sensitive_features=test.sensitive, n_bootstrap=100
)
print(audit.headline())
for line in audit.guidance():
    print("-", line)

# %% [markdown]
# The table by group. `reliable` is False for a group with fewer than 50 pupils or
# fewer than 5 outcomes: its interval is shown so you can see how little it says,
# but do not rank or act on its rate. Counts under 5 are blank (`<NA>`), and so is any
# rate from which such a count could be worked out (`NaN`), while its interval stays.

# %%
columns = ["n", "n_outcome", "selection_rate", "recall", "recall_low", "recall_high", "reliable"]
main = ["all", "sex", "ethnicity_major", "sen_status", "fsm", "social_care_status"]
print(audit.by_group.loc[main, columns].round(3))

# %% [markdown]
# ## Intersections and the worst-off subgroups
#
# A list can treat girls and Black pupils fairly and still miss Black girls. The
# audit looks at two intersections by default (ethnicity x sex, SEN x free school
# meals), and searches every attribute and pair of attributes for the subgroups with
# the lowest recall and the highest FPR. With this many subgroups some will look
# extreme by chance: read the adjusted p-values, not the raw ones.

# %%
print(audit.by_group.loc[["ethnicity_major & sex", "sen_status & fsm"], columns].round(3))
print(audit.worst_groups.round(3).to_string())

# %% [markdown]
# ## Which schools, or how they are ranked inside them?
#
# Panels often take a share of *each school's* pupils. The same scores can be
# audited that way (`per_school=True`); each disparity is then split into a
# **between-school** part (the schools the group attends are more or less often on
# the list) and a **within-school** part (how the group is ranked inside its
# schools). Their product is the whole ratio. A disparity that is mostly between
# schools is about where children go to school, and is not fixed by re-ranking.

# %%
per_school = FairnessAudit.from_predictions(
    test_y,
    screening.frame["score"],
    sensitive_features=test_groups[["ethnicity_major", "fsm"]],
    k=0.05,
    schools=screening.frame["school_id"],
    per_school=True,
    groups=screening.frame.index,
    intersections=None,
    search=False,
    n_bootstrap=100,
)
print(per_school.schools.round(2).head(12).to_string())

# %% [markdown]
# Everything above, with plots, as one page you can attach to the equality impact
# assessment:

# %%
outdir = Path(tempfile.mkdtemp(prefix="riskscreen_fairness_"))
path = audit.write_html(outdir / "fairness_audit.html")
print(f"Full audit (tables and plots) written to {path}")

# %% [markdown]
# ## Label bias: when the outcome itself is recorded unequally
#
# Everything so far compares the list with *recorded* suspensions. But a suspension
# is a school's decision about an incident, and schools do not decide alike for every
# child. If incidents of Black pupils are more often recorded as suspensions, a model
# trained on recorded suspensions learns that, and an audit against recorded
# suspensions partly *confirms* it: the biased record is both the target and the
# yardstick.
#
# In real data the truth is not available. The synthetic authority keeps it, so we can
# measure the effect. We build the same authority again -- same seed, so the same
# children and the same latent behaviour incidents -- but with incidents of Black
# pupils (ethnicity codes BAFR, BCRB, BOTH) three times as likely to be recorded as a
# suspension. Then we fit the same screener on each world and audit both lists
# against the **truth**: did the pupil have a behaviour incident, recorded or not, in
# the next 12 months? (The truth, like the record, only sees incidents in this
# authority's schools: a pupil who moves away without one counts as "no incident".)

# %%
BIAS = {"BAFR": 3.0, "BCRB": 3.0, "BOTH": 3.0}
biased, biased_truth = make_linked_histories(
    n_pupils=N_PUPILS, seed=SEED, return_truth=True, label_bias=BIAS
)


def truth_outcome(truth, screening):
    """1 if the pupil had a latent behaviour incident in the 12 months from the list."""
    start = screening.as_of_date
    incidents = truth.incidents
    window = incidents[
        (incidents["date"] >= start) & (incidents["date"] < start + pd.DateOffset(months=12))
    ]
    frame = screening.frame
    return pd.Series(frame.index.isin(window["pupil_id"]).astype(float), index=frame.index)


biased_screener = Screener(model="scorecard", capacity=0.05, n_bootstrap=100)
biased_screener.fit(biased, FIT_DATES)
biased_test = build_dataset(biased, [TEST_DATE], outcome="suspension", sensitive=True)
biased_screening = biased_screener.score(biased_test)
# the same latent incidents in both worlds: only their recording differs
assert truth_outcome(truth, screening).equals(truth_outcome(biased_truth, biased_screening))

# %%
groups = ["ethnicity_major", "sex"]
audits = {
    "as generated, vs truth": (screening, truth_outcome(truth, screening), test),
    "recorded 3x, vs truth": (
        biased_screening,
        truth_outcome(biased_truth, biased_screening),
        biased_test,
    ),
    "recorded 3x, vs the record": (
        biased_screening,
        biased_test.y,
        biased_test,
    ),
}
rows = {}
for name, (listed, outcome, data) in audits.items():
    result = FairnessAudit.from_screening(
        listed,
        outcome,
        sensitive_features=data.sensitive[groups],
        intersections=None,
        search=False,
        n_bootstrap=100,
    )
    black = result.disparities.xs(("ethnicity_major", "Black"), level=["attribute", "group"])
    for metric in ("selection_rate", "fpr", "recall"):
        r = black.loc[metric]
        rows[(name, metric)] = f"{r['ratio']:.2f} ({r['ratio_low']:.2f}-{r['ratio_high']:.2f})"
table = pd.Series(rows).unstack().reindex(index=list(audits))[["selection_rate", "fpr", "recall"]]
print("Black vs White pupils, ratio (95% interval):")
print(table.to_string())

# %% [markdown]
# At the default 20,000 pupils the table reads ("recorded 3x": Black pupils' incidents
# recorded as suspensions three times as often):
#
# | Black vs White, ratio (95% interval) | selection_rate | fpr | recall |
# |---|---|---|---|
# | as generated, vs truth | 1.54 (1.14-2.00) | 1.27 (0.67-1.85) | 1.44 (1.04-1.87) |
# | recorded 3x, vs truth | 2.32 (1.79-2.86) | 2.79 (1.84-3.66) | 1.71 (1.22-2.23) |
# | recorded 3x, vs the record | 2.28 (1.78-2.93) | 2.06 (1.34-2.78) | 1.36 (1.06-1.82) |
#
# At a few thousand pupils (as in the tests) the intervals are too wide to separate
# the rows, which is itself the lesson about small authorities. How to read it:
#
# - **Selection rate** does not depend on any outcome: it is the list. Even as
#   generated, Black pupils are flagged more often (in the synthetic authority, as in
#   England, more of them live in deprived areas, and deprivation drives incidents,
#   free school meals and social-care contact). With the
#   recording tripled, the same children with the same behaviour are flagged more
#   often still: 1.5 times as often as White pupils becomes 2.3 times.
# - **FPR against the truth** is the harm: Black pupils who had *no* incident are
#   flagged more often than White pupils who had none -- about as often as generated
#   (1.27, interval including 1), nearly three times as often in the biased world.
# - **Against the record** (last row) that false-positive disparity looks smaller than
#   it is (2.06 instead of 2.79), because the biased record counts many of those flags
#   as "right". An audit against the record alone would understate the harm.
#
# With real data you cannot compute the truth rows. What you can do: compare
# suspension rates per incident or per behaviour log where schools record both; look
# for schools whose recording differs; prefer outcomes less shaped by discretion
# (attendance, children missing education); and say in the model card that the
# outcome is a record of decisions, not of behaviour.
#
# ## Mitigation under the same budget, and what it costs
#
# `CapacityThresholds` moves places on a fixed list of k between groups so that recall
# is as equal as the budget allows. It learns each group's share on an earlier date
# whose outcomes are known (the calibration date) and applies it to the later list,
# so the estimate is out of sample. `compare_mitigation` puts the two lists side by
# side: the same number flagged, recall by group, and the **precision cost** -- how
# many fewer of the flagged pupils go on to be suspended.

# %%
calibration = screener.score(later, CALIBRATION_DATE)
cal = later.select_dates([CALIBRATION_DATE])
cal_y = cal.y.droplevel("as_of_date").reindex(calibration.frame.index)
cal_groups = cal.sensitive.droplevel("as_of_date").reindex(calibration.frame.index)
known = cal_y.notna()
thresholds = CapacityThresholds(k=0.05, attribute="ethnicity_major").fit(
    calibration.frame["score"][known],
    cal_y[known],
    sensitive_features=cal_groups.loc[known, ["ethnicity_major"]],
)

keep = test_y.notna()
mitigation = compare_mitigation(
    test_y[keep],
    screening.frame["score"][keep],
    sensitive_features=test_groups.loc[keep, ["ethnicity_major"]],
    k=0.05,
    thresholds=thresholds,
    n_bootstrap=100,
)
print(mitigation)

# %% [markdown]
# Reading the trade-off:
#
# - `n_flagged` is the same for both lists: the panel's budget is kept.
# - `recall_ratio` (highest over lowest recall among the reliable groups) is what
#   mitigation tries to bring to 1. The quotas were learnt on an earlier date; in a
#   small authority they may not carry over to the next list, and the ratio can even
#   get worse. Check it out of sample, as here, before relying on it.
# - `precision_cost` is how much precision the mitigated list gives up. Read it with
#   the precision intervals: where they overlap widely, these data cannot tell
#   whether mitigation cost anything.
#
# Whether more equal recall is worth some precision is a decision for the authority
# and its panel, not for the analyst alone -- write it down either way.
#
# ## What not to conclude
#
# - "No disparity outside the band" is not "fair": intervals on small groups are
#   wide, so the audit may simply not be able to see a real gap.
# - A disparity is not proof the model is the cause: base rates differ between
#   groups, and where they do **no** list can have equal recall, equal precision and
#   equal FPR at once (the guidance says which applies).
# - Unreliable groups are shown so that their uncertainty is visible, not so that
#   their rates can be compared.
# - The truth rows above exist only in synthetic data; they show the *mechanism*, not
#   the size of recording bias in any real authority.
