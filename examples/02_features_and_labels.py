"""2. Features as they stood on screening dates, and what happened next.

The analyst's second task: choose who is screened (the cohort), build the
features a panel could have known on each as-of date, and label what happened
over the following year. Features only see events strictly *before* the as-of
date; labels only see events *on or after* it, and pupils who leave for a known
destination outside the authority are censored (<NA>) and counted, never
dropped silently.

Run: ``python examples/02_features_and_labels.py``
(set RISKSCREEN_EXAMPLE_PUPILS to change the size).
"""

from __future__ import annotations

import os

import pandas as pd

from riskscreen.datasets import make_linked_histories
from riskscreen.features import (
    Feature,
    FeatureSpec,
    build_cohort,
    build_features,
    default_spec,
    make_labels,
    protected_characteristics,
)

n_pupils = int(os.environ.get("RISKSCREEN_EXAMPLE_PUPILS", "20000"))
histories = make_linked_histories(n_pupils=n_pupils, start_year=2019, n_years=5, seed=1)

# Three screening dates, one per term.
as_of_dates = ["2021-10-01", "2022-02-01", "2022-06-01"]

cohort = build_cohort(histories, as_of_dates)  # on roll, NC years 5-11 by default
print(cohort.groupby(level="as_of_date").size().rename("pupils screened"))

# The default spec is what a domain expert would recognise; every feature says
# in words what it measures (used for explanations and the model card).
spec = default_spec()
with pd.option_context("display.max_colwidth", 70, "display.width", 140):
    print(spec.describe()[["name", "description"]].head(15))

X = build_features(histories, as_of_dates, spec)
print(f"X: {X.shape[0]} rows x {X.shape[1]} features")

# Outcomes over the next 365 days, censoring counted in a report.
y, report = make_labels(
    histories, as_of_dates, outcome="suspension", horizon="365D", return_report=True
)
print(report)
print(y.groupby(level="as_of_date").mean().rename("suspension rate (uncensored)"))

# Sex and ethnicity are not model inputs: they come back separately, aligned
# to X, for the fairness audit.
sensitive = protected_characteristics(histories, X.index)
assert not {"sex", "ethnicity"} & set(X.columns)
print(sensitive.head())

# A spec of your own: quantity x aggregate x lookback window.
my_spec = FeatureSpec(
    [
        Feature(
            "disruption_suspensions_6m",
            source="exclusions",
            aggregate="count",
            window="6M",
            where={"kind": "suspension", "reason": "DB"},
            description="Suspensions for persistent disruptive behaviour in the last 6 months",
        ),
    ]
)
print(build_features(histories, as_of_dates[-1:], my_spec).describe().T)
