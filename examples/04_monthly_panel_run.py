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
# # 4. The monthly panel run: score, reasons, panel packs, what changed, decisions back
#
# **For** the data officer who prepares the team-around-the-school panels each month
# (the panel members themselves never see Python). **At the end you will have** run
# one month's cycle by hand: this month's ranked list, the reasons for every flag in
# plain English, a pack for each school (Excel, print-friendly HTML and CSV) that
# says what changed since last month, an immutable snapshot of the list, and the
# panel's decisions read back from the filled-in Excel packs into a checked table --
# and into the `interventions` table, so next month's packs and any later evaluation
# know who was offered help.
#
# Once the cycle is agreed, it does not need a notebook: the same steps run from the
# command line, scheduled, from a config file --
# `riskscreen run --config examples/monthly_run.toml --as-of DATE`. This notebook
# shows what each step does, so you can check its output and adapt it.
#
# Run: `python examples/04_monthly_panel_run.py` (set `RISKSCREEN_EXAMPLE_PUPILS` to
# change the size). The packs are written to a temporary folder, printed below.

# %%
import os
import shutil
import tempfile
from pathlib import Path

import openpyxl
import pandas as pd

from riskscreen import Screener
from riskscreen.datasets import make_linked_histories
from riskscreen.interventions import SnapshotStore
from riskscreen.panel import build_packs, compare_lists, read_decisions, write_packs

N_PUPILS = int(os.environ.get("RISKSCREEN_EXAMPLE_PUPILS", "20000"))
LAST_MONTH, THIS_MONTH = "2024-01-08", "2024-02-05"
pd.set_option("display.width", 120)
pd.set_option("display.max_columns", 10)

# %% [markdown]
# ## The screener
#
# In a real monthly run the screener was fitted and checked once (notebooks 01 and
# 03), recorded in the model registry (notebook 05) and is loaded from there each
# month with `riskscreen.tracking.load_screener`. Here we fit it on the spot, on the
# synthetic authority: a logistic scorecard for suspension in the next 12 months, the
# panel seeing the top 5% of the cohort.

# %%
histories = make_linked_histories(n_pupils=N_PUPILS, seed=1)
fit_dates = ["2020-02-01", "2020-06-01", "2020-10-01", "2021-02-01", "2021-06-01", "2022-06-01"]
screener = Screener(model="scorecard", horizon="12M", capacity=0.05, n_bootstrap=20)
screener.fit(histories, fit_dates)

workdir = Path(tempfile.mkdtemp(prefix="riskscreen_panel_run_"))
packs_dir, snapshots = workdir / "packs", SnapshotStore(workdir / "snapshots")
print(f"Everything this run writes goes under {workdir}")

# %% [markdown]
# ## Last month (already done)
#
# To show what changes from one month to the next, we first run last month's cycle
# in one go: score, explain the flagged pupils, write the packs, keep a snapshot.

# %%
before = screener.score(histories, LAST_MONTH)
write_packs(
    before,
    screener.explain(before, pupils="flagged"),
    packs_dir / LAST_MONTH,
    histories=histories,
)
snapshots.save(before)

# %% [markdown]
# ## This month, step 1: score
#
# Everyone in the cohort on this month's date is ranked. The summary counts pupils
# and flags per risk band (counts under 5 would be blank).

# %%
screening = screener.score(histories, THIS_MONTH)
print(screening.summary())

# %% [markdown]
# ## Step 2: the reasons behind each flag
#
# For each flagged pupil, `explain` works out how much each feature pushed the score
# up or down (SHAP values of the score) and puts the three largest in words from the
# pupil's own history. With `histories=`, a reason about an open plan or episode says
# since when.

# %%
explanation = screener.explain(screening, pupils="flagged", histories=histories)
print(explanation.notes[0])
reasons = explanation.reasons_wide().reindex(screening.flagged().index)
for pupil, row in reasons.head(3).iterrows():
    print(f"Pupil {pupil}:")
    for reason in row:
        print(f"  - {reason}")

# %% [markdown]
# Read the reasons as "what moved the score", not "why this child is at risk": they
# describe the model, and a panel member who knows the child will know more. Which
# reasons matter most across the whole cohort:

# %%
print(explanation.importance.head(8).round(3))

# %% [markdown]
# ## Step 3: the panel packs
#
# `build_packs` gathers, for each school, its listed pupils in rank order with a
# pseudonymous reference, NC year, risk band, the reasons, **current involvement**
# (child-protection or child-in-need plan, looked after, EHC plan, SEN support, early
# help, CME or EHE history) and **what changed** since last month's pack, plus empty
# decision columns. It is computed once and written many ways. The packs carry
# pseudonymous references only; names and UPNs are joined at export, inside the
# authority, with `identities=`.

# %%
packs = build_packs(screening, explanation, previous=packs_dir / LAST_MONTH, histories=histories)
print(packs.summary.iloc[:, :4])
school = packs.lists["school_id"].value_counts().index[0]  # the school with most pupils listed
print(packs.pack(school).head(5).to_string())

# %% [markdown]
# "Since last panel" says whether a pupil is new to the list or moved up or down
# (from which place); the pupils who left the list are listed separately with why
# (left the school, risk fell, or others rose above them). The summary (more columns:
# how many listed pupils have each kind of involvement) is per school with counts
# under 5 shown as "c", and so is the next smallest where a total would give them
# away, so it can go to the whole partnership.
#
# Write every format: one Excel workbook per school (protected, with drop-downs in
# the decision columns), a printable HTML page and a CSV, an authority summary, and
# a list record that next month's run reads as `previous=`.

# %%
paths = packs.write(packs_dir / THIS_MONTH)
print(f"Wrote {len(paths)} files to {packs_dir / THIS_MONTH}, e.g.:")
for p in paths[:3]:
    print(f"  {p.name}")

# %% [markdown]
# ## Step 4: compare with last month, keep a snapshot
#
# A list that changes a lot from month to month is hard for a panel to work with.
# The **Jaccard index** is the share of pupils on either list who are on both; the
# **rank correlation** says whether pupils kept their order.

# %%
for sentence in compare_lists(before, screening).sentences():
    print(sentence)
snapshot = snapshots.save(screening)
print(snapshots.list().drop(columns="saved_at").to_string(index=False))

# %% [markdown]
# The snapshot keeps the list exactly as issued (scores, ranks, bands, flags and the
# features the model saw), with a checksum; it is never overwritten. It is what
# notebook 06 joins to the help that followed, to ask whether the help worked.
#
# ## Step 5: after the panel -- the decisions back
#
# The panel fills in the Decision, Action, Lead professional and Review date columns
# of its Excel pack. Here we do it with openpyxl for the first pupil of one school:
# offered mentoring, with the head of year as lead professional.

# %%
pack_file = next(p for p in paths if p.suffix == ".xlsx" and p.stem.endswith(f"_school_{school}"))
workbook = openpyxl.load_workbook(pack_file)
sheet = workbook["Panel list"]
header = next(r for r in range(1, 20) if sheet.cell(row=r, column=1).value == "Rank")
column = {sheet.cell(row=header, column=j).value: j for j in range(1, sheet.max_column + 1)}
sheet.cell(row=header + 1, column=column["Decision"], value="Offer support")
sheet.cell(row=header + 1, column=column["Action"], value="Mentoring")
sheet.cell(row=header + 1, column=column["Lead professional"], value="Head of year")
workbook.save(pack_file)

decisions = read_decisions(packs_dir / THIS_MONTH, meeting_date="2024-02-12")
print(decisions.to_markdown())

# %% [markdown]
# Every listed pupil is kept, decided or not. The counts by decision follow the
# small-number rule: one decision is "c" (fewer than 5), so the undecided count is
# hidden too, since the list's length would give the first away.
#
# `read_decisions` refuses a pack whose listed rows were edited, reordered, added or
# deleted, naming the school, the row and the column (never the content of a cell), so
# a decision can never land on the wrong child. Here someone changed a pupil's NC
# year in a copy of the pack:

# %%
tampered = workdir / "tampered" / pack_file.name
tampered.parent.mkdir()
shutil.copy(pack_file, tampered)
workbook = openpyxl.load_workbook(tampered)
workbook["Panel list"].cell(row=header + 1, column=column["NC year"], value=1)
workbook.save(tampered)
try:
    read_decisions(tampered)
except ValueError as error:
    print(error)

# %% [markdown]
# The "Offer support" decisions come back as rows for the `interventions` table of
# the histories (pupil, kind of help, start date). Append them, so that next month's
# involvement column and any later evaluation of the help see them:

# %%
print(decisions.interventions)
updated = histories.copy()
updated.interventions = pd.concat(
    [histories.interventions, decisions.interventions], ignore_index=True
)
updated.validate()
print(f"interventions: {len(histories.interventions):,} rows, now {len(updated.interventions):,}")

# %% [markdown]
# ## With your own data
#
# Each month the cycle is the same few calls, on this month's validated extract and the
# screener in use, loaded from the registry after its signature is checked (notebook
# 05):
#
# ```python
# histories = LinkedHistories.open("extracts/2024-02")  # saved with histories.save(...)
# screener = load_screener(
#     "models:/suspension-screener/champion",
#     store="mlruns",
#     key=os.environ["RISKSCREEN_SIGNING_KEY"],
# )
# screening = screener.score(histories, "2024-02-05")
# explanation = screener.explain(screening, pupils="flagged", histories=histories)
# write_packs(
#     screening,
#     explanation,
#     "packs/2024-02-05",
#     previous="packs/2024-01-08",
#     histories=histories,
#     identities=names,  # indexed by pupil_id (Name, UPN): printed in the school packs only
# )
# SnapshotStore("snapshots").save(screening)
# ```
#
# `riskscreen run --config monthly_run.toml --as-of 2024-02-05` does exactly this from
# a config file (`examples/monthly_run.toml`), with a log of each step, so it can be
# scheduled.
#
# ## What not to conclude
#
# - A pupil who left the list because "risk fell" may simply have had a quiet month;
#   a pupil new to the list has not necessarily got worse. Read changes with the
#   reasons, and with what the school knows.
# - The list is ranked by the model's score at the authority's capacity. A school
#   with no pupils listed has no one above the cut-off, not no one in need.
# - A month of decisions says nothing yet about whether the help works: that needs
#   the snapshots, the help that followed and time (notebook 06).
