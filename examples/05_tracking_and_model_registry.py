"""3. Train a screener on earlier dates, test it on a later one, and record the run.

The analyst's third task: decide whether a model is worth using *before* a
panel sees a single name. The screener trains on earlier as-of dates, is
calibrated on a later one, and is then tested on a still later date against
the simple rules councils already use (prior suspensions, attendance, a
RONI-style checklist), with bootstrap intervals. The run is logged to a local,
serverless MLflow store, and the model is loaded back by URI.

Run: ``python examples/03_screen_and_compare.py``
(set RISKSCREEN_EXAMPLE_PUPILS to change the size).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from riskscreen import Screener
from riskscreen.datasets import make_linked_histories
from riskscreen.tracking import load_screener, track

n_pupils = int(os.environ.get("RISKSCREEN_EXAMPLE_PUPILS", "20000"))
histories = make_linked_histories(n_pupils=n_pupils, start_year=2019, n_years=5, seed=1)

# Label windows of 365 days: the last training date's window closes before the
# calibration date (the latest fit date), whose window closes before the test date.
fit_dates = ["2020-02-01", "2020-06-01", "2020-10-01", "2021-02-01", "2021-06-01", "2022-06-01"]
test_date = "2023-06-01"

screener = Screener(outcome="suspension", horizon="365D", model="lightgbm", capacity=0.05)
screener.fit(histories, fit_dates)

# Model against the rule baselines on the later date, with 95% bootstrap intervals,
# stated the way practitioners read it.
comparison = screener.evaluate(histories, test_date, n_bootstrap=100)
print(comparison.to_markdown())
for sentence in comparison.sentences():
    print(sentence)

# The ranked screening on the test date: calibrated probability, band, ranks, flag.
screening = screener.score(histories, test_date)
print(screening.to_frame().head(10))

with tempfile.TemporaryDirectory() as tmp:
    store = Path(tmp) / "mlruns"
    run = track(screener, histories, store=store, evaluation=comparison, screening=screening)
    reloaded = load_screener(run.model_uri, store=store, sha256=run.sha256)
    again = reloaded.score(histories, test_date).to_frame()
    assert np.array_equal(again["probability"].to_numpy(), screening.to_frame()["probability"])
    print(f"Logged run {run.run_id} and reloaded the model from {run.model_uri}")
