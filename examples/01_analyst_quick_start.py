"""1. Build, check and save a synthetic local authority.

The analyst's first task: get linked education and social-care histories into
the canonical data model, check them, and keep them as a folder of Parquet
files. Here the histories come from riskscreen's built-in synthetic local
authority, which is calibrated to published DfE rates; with real data you
would load your own tables with ``LinkedHistories.from_frames`` or
``LinkedHistories.read_csv`` and run the same checks.

Run: ``python examples/01_synthetic_local_authority.py``
(set RISKSCREEN_EXAMPLE_PUPILS to change the size).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd

from riskscreen.data import DataValidationError, LinkedHistories
from riskscreen.datasets import calibration_report, make_linked_histories

n_pupils = int(os.environ.get("RISKSCREEN_EXAMPLE_PUPILS", "20000"))

# A synthetic authority: n_pupils on roll at the start, five academic years.
histories = make_linked_histories(n_pupils=n_pupils, start_year=2019, n_years=5, seed=1)
print(histories.summary())

# validate() checks types, code sets, date order, keys and links between tables,
# and raises one error listing every problem it found.
histories.validate()

# How close is the synthetic authority to the published figures?
report = calibration_report(histories)
with pd.option_context("display.width", 140, "display.max_columns", 8):
    print(report[["figure", "group", "target", "generated", "within"]].head(12))
print(f"{report['within'].sum()} of {len(report)} figures within tolerance")

# Bad input gets one clear error naming table, column and rows.
broken = histories.copy()
broken.exclusions.loc[broken.exclusions.index[:3], "reason"] = "XX"
try:
    broken.validate()
except DataValidationError as error:
    print(error)

# Save as a folder of Parquet files and load it back exactly.
with tempfile.TemporaryDirectory() as tmp:
    folder = histories.save(Path(tmp) / "synthetic_la")
    loaded = LinkedHistories.load(folder)
    for name, table in histories.tables().items():
        pd.testing.assert_frame_equal(table, getattr(loaded, name))
    print(f"Saved and reloaded {len(histories.tables())} tables from {folder.name}/")
