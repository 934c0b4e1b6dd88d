"""Display objects: computed by from_*, drawn by plot(ax=); matplotlib only when drawing."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from riskscreen.evaluation import (
    DisparityDisplay,
    FairnessAudit,
    GroupCalibrationDisplay,
    PrecisionRecallAtKDisplay,
)


@pytest.fixture(scope="module")
def audit():
    rng = np.random.default_rng(0)
    n = 2000
    sens = pd.DataFrame({"sex": rng.choice(["F", "M"], n), "fsm": rng.random(n) < 0.3})
    y = (rng.random(n) < 0.15).astype(int)
    score = rng.random(n) + y
    prob = np.clip(score / 2.2, 0.01, 0.99)
    return FairnessAudit.from_predictions(
        y, score, sensitive_features=sens, k=0.1, y_prob=prob, n_bootstrap=20
    )


def test_displays_from_an_audit(audit):
    pytest.importorskip("matplotlib")
    d = DisparityDisplay.from_audit(audit, "recall")
    assert len(d.rows_) == 2 and d.ax_.get_xscale() == "log"
    assert [t.get_text() for t in d.ax_.get_yticklabels()] == ["sex: F", "fsm: True"]
    c = GroupCalibrationDisplay.from_audit(audit, "sex")
    assert {"all pupils", "F", "M"} == set(c.curves_.index.get_level_values("group"))
    p = PrecisionRecallAtKDisplay.from_audit(audit)
    assert p.k_ == audit.k and len(p.ax_.lines) == 3
    with pytest.raises(ValueError, match="'metric' parameter of DisparityDisplay"):
        DisparityDisplay.from_audit(audit, "accuracy")


def test_displays_from_predictions_and_onto_given_axes():
    plt = pytest.importorskip("matplotlib.pyplot")
    rng = np.random.default_rng(1)
    y = (rng.random(500) < 0.2).astype(int)
    s = rng.random(500) + y
    fig, (a1, a2) = plt.subplots(1, 2)
    p = PrecisionRecallAtKDisplay.from_predictions(y, s, k=25, ax=a1)
    assert p.ax_ is a1 and p.curve_["k"].iloc[-1] == 500
    g = GroupCalibrationDisplay.from_predictions(
        y, s / 2, sensitive_features=pd.Series(rng.choice(["x", "y"], 500), name="grp"), ax=a2
    )
    assert g.attribute == "grp" and g.ax_ is a2
    plt.close(fig)
    unplotted = PrecisionRecallAtKDisplay.from_predictions(y, s, plot=False)
    assert not hasattr(unplotted, "ax_")


def test_importing_riskscreen_does_not_import_matplotlib():
    code = "import sys, riskscreen.evaluation; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
