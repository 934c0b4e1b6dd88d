"""Display-style plots of an explanation (drawn with the Agg backend)."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from _explain_cases import screened

from riskscreen.explain import BeeswarmDisplay, ImportanceDisplay, WaterfallDisplay, explain


@pytest.fixture(scope="module")
def explanation():
    screener, screening = screened("scorecard")
    return explain(screener, screening, pupils="flagged", importance_sample=300)


def test_matplotlib_is_not_imported_to_explain():
    import subprocess

    code = (
        "import sys, riskscreen.explain, riskscreen.panel; "
        "print('matplotlib' in sys.modules, 'shap' in sys.modules, 'openpyxl' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False", "False"]


def test_importance_bars(explanation):
    import matplotlib

    matplotlib.use("Agg")
    d = ImportanceDisplay.from_explanation(explanation, max_display=5)
    assert len(d.ax_.patches) == 5
    assert d.ax_.get_yticklabels()[-1].get_text() == explanation.importance.index[0]
    by_feature = ImportanceDisplay.from_explanation(explanation, by="feature", max_display=4)
    assert len(by_feature.ax_.patches) == 4
    with pytest.raises(ValueError, match="'by'"):
        ImportanceDisplay.from_explanation(explanation, by="pupil")


def test_beeswarm_merges_missing_indicators_into_their_feature(explanation):
    d = BeeswarmDisplay.from_explanation(explanation, max_display=6)
    assert d.values.shape == (len(explanation.values), 6)
    assert not any(c.endswith("__missing") for c in d.values.columns)
    assert len(d.ax_.collections) == 6


def test_waterfall_adds_up_to_the_pupils_score(explanation):
    pupil = explanation.values.index[0]
    d = WaterfallDisplay.from_explanation(explanation, pupil, max_display=4)
    assert len(d.contributions) == 5  # four groups and "n other groups"
    total = d.base_value + d.contributions.sum()
    assert total == pytest.approx(explanation.values.loc[pupil].sum() + explanation.base_value)
    widths = np.array([p.get_width() for p in d.ax_.patches])
    assert np.allclose(widths, d.contributions.to_numpy())
    assert str(pupil) not in d.ax_.get_title() + d.ax_.get_xlabel()
