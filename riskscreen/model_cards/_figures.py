"""The card's plots, drawn once as SVG that needs nothing from the network.

Each figure is drawn with the Display classes of :mod:`riskscreen.evaluation` and
:mod:`riskscreen.explain` on a bare matplotlib ``Figure`` (no pyplot state), saved
as SVG with text as paths (no fonts to fetch), no creation date, and ids that
are fixed by the figure's name (so a card is the same file every time and the
ids of several figures on one page never clash). :func:`inline_svg` turns one
into markup for an HTML page: no XML prolog, no namespace URLs, no metadata.
matplotlib is optional: without it a card has no figures and says so.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskscreen._svg import inline_svg, to_svg
from riskscreen.model_cards._blocks import Figure

__all__ = ["inline_svg", "to_svg"]


def have_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:  # pragma: no cover - depends on the environment
        return False
    return True


def _new_axes(size, ncols: int = 1):
    from matplotlib.figure import Figure as MplFigure

    return MplFigure(figsize=size, layout="constrained").subplots(1, ncols)


# -- the figures ---------------------------------------------------------------------------------
def scorer_figure(metrics: dict, name: str = "scorers") -> Figure:
    """Precision@k and recall@k of the model and each rule baseline, with intervals."""
    scorers = list(metrics["scorers"])
    axes = _new_axes((8, 0.5 * len(scorers) + 1.6), ncols=2)
    y = np.arange(len(scorers))[::-1]
    for ax, metric, label in zip(
        axes, ("precision_at_k", "recall_at_k"), ("precision@k", "recall@k"), strict=True
    ):
        est = np.array([_f(metrics["scorers"][s][metric]["value"]) for s in scorers])
        low = np.array([_f(metrics["scorers"][s][metric]["low"]) for s in scorers])
        high = np.array([_f(metrics["scorers"][s][metric]["high"]) for s in scorers])
        ok = ~(np.isnan(low) | np.isnan(high))
        ax.hlines(y[ok], low[ok], high[ok], color="#555", lw=1.5)
        colours = ["#c0392b" if s == metrics["reference"] else "#2c3e50" for s in scorers]
        shown = ~np.isnan(est)
        ax.scatter(est[shown], y[shown], color=np.array(colours)[shown], zorder=3, s=28)
        ax.set_yticks(y, scorers if ax is axes[0] else [""] * len(scorers))
        ax.set_xlim(0, 1)
        ax.set_xlabel(label)
        ax.grid(axis="x", color="#eee")
    axes[0].set_title("Model (red) and rule baselines at capacity k", loc="left", fontsize=10)
    return Figure(
        name, "Precision and recall at capacity, with intervals", to_svg(_fig(axes), name)
    )


def calibration_figure(bands: list[dict], name: str = "calibration") -> Figure | None:
    """Observed outcome rate against mean predicted probability, by decile of the score."""
    from riskscreen.evaluation import GroupCalibrationDisplay

    rows = [r for r in bands if r["grouping"] == "decile"]
    rows = [r for r in rows if r["observed_rate"] is not None and r["mean_predicted"] is not None]
    if not rows:
        return None
    curves = pd.DataFrame(
        {
            "mean_predicted": [r["mean_predicted"] for r in rows],
            "observed_rate": [r["observed_rate"] for r in rows],
        },
        index=pd.MultiIndex.from_tuples(
            [("all pupils", r["level"]) for r in rows], names=["group", "bin"]
        ),
    )
    display = GroupCalibrationDisplay(curves).plot(ax=_new_axes((5.5, 4.5)))
    display.ax_.set_title("Calibration by decile of the score")
    return Figure(
        name, "Calibration: observed rate against predicted", to_svg(display.figure_, name)
    )


def curve_figure(audit, name: str = "precision_recall_at_k") -> Figure | None:
    from riskscreen.evaluation import PrecisionRecallAtKDisplay

    if audit is None or audit.curve is None or len(audit.curve) == 0:
        return None
    display = PrecisionRecallAtKDisplay.from_audit(audit, ax=_new_axes((6, 3.6)))
    return Figure(
        name, "Precision and recall against the number flagged", to_svg(display.figure_, name)
    )


def disparity_figure(audit, name: str = "disparities_recall") -> Figure | None:
    from riskscreen.evaluation import DisparityDisplay

    if audit is None or "recall" not in audit.disparities.index.get_level_values("metric"):
        return None
    n = int((audit.disparities.index.get_level_values("metric") == "recall").sum())
    display = DisparityDisplay.from_audit(audit, "recall", ax=_new_axes((7, 0.8 + 0.26 * n)))
    return Figure(
        name,
        "Recall by group: ratio to the reference group, with intervals",
        to_svg(display.figure_, name),
    )


def importance_figure(explanation, name: str = "importance") -> Figure | None:
    from riskscreen.explain import ImportanceDisplay

    if explanation is None or len(explanation.importance) == 0:
        return None
    top = explanation.importance["mean_abs"].head(12)
    display = ImportanceDisplay(top, by="group", n_rows=explanation.n_importance_rows)
    display.plot(ax=_new_axes((7, 0.4 * len(top) + 1.5)))
    display.ax_.set_title("What moves the score most (mean |SHAP value|)")
    return Figure(name, "Global importance by reason group", to_svg(display.figure_, name))


def draw(facts: dict, audit, explanation) -> dict[str, Figure]:
    """Every figure of a card by section key (none without matplotlib)."""
    if not have_matplotlib():
        return {}
    out = {
        "baselines": [scorer_figure(facts["metrics"])],
        "metrics": [curve_figure(audit)],
        "quantitative_analyses": [calibration_figure(facts["bands"]), disparity_figure(audit)],
        "features": [importance_figure(explanation)],
    }
    return {key: [f for f in figs if f is not None] for key, figs in out.items()}


def _fig(axes):
    return np.atleast_1d(axes)[0].figure


def _f(value) -> float:
    return np.nan if value is None else float(value)


__all__ = ["draw", "inline_svg", "to_svg"]
