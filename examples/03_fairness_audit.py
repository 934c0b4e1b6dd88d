"""6. Audit the panel's list for fairness at its capacity, and see what mitigation costs.

The analyst's sixth task: before a list goes to a team-around-the-school panel,
check who it misses and who it flags wrongly, by ethnicity, SEND, sex, free
school meals and social-care status and their intersections, with intervals,
tests and small groups protected. The audit reads the screening exactly as the
panel sees it (its flags at capacity), against what happened in the following
year. It then shows what equalising recall under the same budget would cost.

Run: ``python examples/06_fairness_audit.py``
(set RISKSCREEN_EXAMPLE_PUPILS to change the size). Writes ``fairness_audit.html``
(self-contained: opens with no network) in the current folder.
"""

from __future__ import annotations

import os

from riskscreen import Screener
from riskscreen.datasets import make_linked_histories
from riskscreen.evaluation import (
    CapacityThresholds,
    FairnessAudit,
    compare_mitigation,
    evaluate_at_capacity,
)
from riskscreen.features import build_dataset

n_pupils = int(os.environ.get("RISKSCREEN_EXAMPLE_PUPILS", "20000"))
histories = make_linked_histories(n_pupils=n_pupils, start_year=2019, n_years=5, seed=1)

fit_dates = ["2020-02-01", "2020-06-01", "2020-10-01", "2021-02-01", "2021-06-01", "2022-06-01"]
calibration_date, test_date = "2022-06-01", "2023-06-01"
screener = Screener(model="scorecard", capacity=0.05).fit(histories, fit_dates)

# Outcomes and protected characteristics as they stood on each date, kept apart
# from the model's inputs (sensitive=True returns them in Dataset.sensitive).
later = build_dataset(
    histories, [calibration_date, test_date], outcome="suspension", sensitive=True
)
screening = screener.score(later, test_date)

# 1. The list at capacity: precision, recall and lift at k, per school, with intervals.
test = later.select_dates([test_date])
report = evaluate_at_capacity(
    test.y.reindex(test.X.index),
    screening.frame["score"],
    screening.frame["probability"],
    k=0.05,
    schools=screening.frame["school_id"],
    groups=screening.frame.index,
    n_bootstrap=100,
)
print(report)

# 2. The fairness audit of the list the panel sees.
audit = FairnessAudit.from_screening(
    screening, later.y, sensitive_features=later.sensitive, n_bootstrap=100
)
print(audit.headline())
for line in audit.guidance():
    print("-", line)
print(audit.by_group[["n", "selection_rate", "recall", "recall_low", "recall_high", "reliable"]])
path = audit.write_html("fairness_audit.html")
print(f"Full audit (tables and plots) written to {path}")

# 3. Mitigation under the same budget: quotas learnt on the calibration date's
#    outcomes, applied to the test date's list; the table shows the precision cost.
calibration = screener.score(later, calibration_date)
cal = later.select_dates([calibration_date])
known = cal.y.reindex(cal.X.index).notna().to_numpy()
groups = cal.sensitive.reindex(cal.X.index)[["ethnicity_major"]]
thresholds = CapacityThresholds(k=0.05, attribute="ethnicity_major").fit(
    calibration.frame["score"][known],
    cal.y.reindex(cal.X.index)[known].astype(int),
    sensitive_features=groups[known],
)
outcome = test.y.reindex(test.X.index)
keep = outcome.notna().to_numpy()
mitigation = compare_mitigation(
    outcome[keep].astype(int),
    screening.frame["score"][keep],
    sensitive_features=test.sensitive.reindex(test.X.index)[["ethnicity_major"]][keep],
    k=0.05,
    thresholds=thresholds,
    n_bootstrap=100,
)
print(mitigation)
