"""7. Explain every flag in plain English and hand each school its panel pack.

The analyst's seventh task: turn a screening into something a team-around-the-
school panel can use. Each flagged pupil gets the reasons behind the score (SHAP
values of the model's margin, put in words from the pupil's own history), each
school gets a ranked pack (Excel, print-friendly HTML and CSV) with current
involvement, what changed since the last panel and empty decision columns, and
the panel's decisions are read back into a checked table -- and into the
``interventions`` table where support was offered.

Run: ``python examples/07_reasons_and_panel_packs.py``
(set RISKSCREEN_EXAMPLE_PUPILS to change the size).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from riskscreen import Screener
from riskscreen.datasets import make_linked_histories
from riskscreen.explain import ImportanceDisplay, explain
from riskscreen.features import build_dataset
from riskscreen.panel import compare_lists, read_decisions, write_packs

n_pupils = int(os.environ.get("RISKSCREEN_EXAMPLE_PUPILS", "20000"))
histories = make_linked_histories(n_pupils=n_pupils, seed=0)

fit_dates = ["2020-02-01", "2020-06-01", "2020-10-01", "2021-02-01", "2021-06-01", "2022-06-01"]
last_panel, this_panel = "2023-02-01", "2023-06-01"
train = build_dataset(histories, fit_dates, outcome="suspension")
screener = Screener(model="lightgbm", per_school=True, capacity=0.05).fit(train)
before = screener.score(histories, last_panel)
screening = screener.score(histories, this_panel)

# SHAP values of the flagged pupils (the score's log-odds), the top three reasons of
# each in words, and the global importance from a sample of the whole cohort.
explanation = explain(screener, screening, pupils="flagged", histories=histories)
print(explanation.notes[0])
print(explanation.importance.head(8).round(3))
for pupil, reasons in explanation.reasons_wide().head(3).iterrows():
    print(f"Pupil {pupil}:")
    for reason in reasons:
        print(f"  - {reason}")

with tempfile.TemporaryDirectory() as tmp:
    out = Path(tmp)
    # The last panel's packs, then this panel's, which say what changed since then.
    write_packs(before, explain(screener, before, pupils="flagged"), out / last_panel)
    paths = write_packs(
        screening, explanation, out / this_panel, previous=out / last_panel, histories=histories
    )
    print(f"Wrote {len(paths)} files, e.g. {', '.join(p.name for p in paths[:3])}")

    # The panel fills in the Excel pack (here: the first pupil of the first school
    # is offered mentoring), and the decisions are read back and checked.
    import openpyxl

    pack = next(p for p in paths if p.suffix == ".xlsx")
    wb = openpyxl.load_workbook(pack)
    ws = wb["Panel list"]
    header = next(r for r in range(1, 20) if ws.cell(row=r, column=1).value == "Rank")
    columns = {ws.cell(row=header, column=j).value: j for j in range(1, ws.max_column + 1)}
    ws.cell(row=header + 1, column=columns["Decision"], value="Offer support")
    ws.cell(row=header + 1, column=columns["Action"], value="Mentoring")
    ws.cell(row=header + 1, column=columns["Lead professional"], value="Head of year")
    wb.save(pack)
    decisions = read_decisions(out / this_panel, meeting_date="2023-06-15")
    print(decisions.to_markdown())
    print(decisions.interventions)

    if os.environ.get("MPLBACKEND"):  # draw the global importance when a backend is set
        display = ImportanceDisplay.from_explanation(explanation)
        display.figure_.savefig(out / "importance.png")

# How stable is the list from one panel to the next?
for sentence in compare_lists(before, screening).sentences():
    print(sentence)
