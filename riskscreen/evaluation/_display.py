"""Plots in scikit-learn's Display style: compute with ``from_*``, draw with ``plot(ax=)``.

matplotlib is imported only inside the drawing code, so the audit, the
comparison and everything else work without it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskscreen.evaluation._audit_stats import METRIC_WORDS
from riskscreen.evaluation._metrics import (
    calibration_curve,
    check_scores,
    precision_recall_curve_at_k,
)
from riskscreen.evaluation._words import outcome_label


def _axes(ax, size):
    if ax is not None:
        return ax
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("Plots need matplotlib: pip install 'riskscreen[plot]'.") from exc
    return Figure(figsize=size, layout="constrained").subplots()


class PrecisionRecallAtKDisplay:
    """Precision and recall of the top k against k, with the capacity marked.

    Attributes
    ----------
    curve_ : DataFrame
        ``k``, ``share``, ``precision`` and ``recall`` (tie-aware).
    k_ : int or None
        The capacity marked on the plot.
    ax_, figure_ : matplotlib objects, set by :meth:`plot`.
    """

    def __init__(self, curve: pd.DataFrame, k=None, name: str | None = None) -> None:
        self.curve_ = curve
        self.k_ = k
        self.name = name

    @classmethod
    def from_predictions(cls, y_true, y_score, *, k=None, name=None, ax=None, plot=True):
        y, s = check_scores(y_true, y_score)
        display = cls(precision_recall_curve_at_k(y, s), k=k, name=name)
        return display.plot(ax=ax) if plot else display

    @classmethod
    def from_audit(cls, audit, *, ax=None, plot=True):
        display = cls(audit.curve, k=audit.k, name=outcome_label(audit.outcome))
        return display.plot(ax=ax) if plot else display

    def plot(self, ax=None):
        ax = _axes(ax, (6, 3.6))
        c = self.curve_
        ax.plot(c["k"], c["precision"], label="precision (of those flagged)")
        ax.plot(c["k"], c["recall"], label="recall (of those with the outcome)")
        if self.k_:
            ax.axvline(
                float(self.k_), color="#777", linestyle="--", label=f"capacity k = {self.k_:g}"
            )
        ax.set_xlabel("pupils flagged (k)")
        ax.set_ylabel("share")
        ax.set_ylim(0, 1)
        ax.legend(frameon=False, fontsize="small")
        ax.set_title("Precision and recall at k" + (f" ({self.name})" if self.name else ""))
        self.ax_, self.figure_ = ax, ax.figure
        return self


class GroupCalibrationDisplay:
    """Observed outcome rate against mean predicted probability, overall and by group.

    Attributes
    ----------
    curves_ : DataFrame
        Indexed by (group, bin) with ``mean_predicted`` and ``observed_rate``.
    """

    def __init__(self, curves: pd.DataFrame, attribute: str | None = None) -> None:
        self.curves_ = curves
        self.attribute = attribute

    @classmethod
    def from_predictions(
        cls, y_true, y_prob, *, sensitive_features=None, n_bins=10, ax=None, plot=True
    ):
        y, p = check_scores(y_true, y_prob)
        frames = {"all pupils": calibration_curve(y, p, n_bins=n_bins)}
        attribute = None
        if sensitive_features is not None:
            groups = pd.Series(np.asarray(sensitive_features, dtype=object)).astype(str)
            attribute = getattr(sensitive_features, "name", None)
            for g in sorted(groups.unique()):
                rows = (groups == g).to_numpy()
                frames[g] = calibration_curve(y[rows], p[rows], n_bins=n_bins)
        curves = pd.concat(frames, names=["group", "bin"])
        curves = curves[curves["n"] >= 5].drop(columns=["n", "lower", "upper"])
        display = cls(curves, attribute)
        return display.plot(ax=ax) if plot else display

    @classmethod
    def from_audit(cls, audit, attribute: str, *, ax=None, plot=True):
        cal = audit.calibration
        if attribute not in cal.index.get_level_values("attribute"):
            raise ValueError(
                f"The 'attribute' parameter of GroupCalibrationDisplay.from_audit must be one "
                f"of {sorted(set(cal.index.get_level_values('attribute')))}. Got {attribute!r}."
            )
        parts = [cal.xs("all", level="attribute"), cal.xs(attribute, level="attribute")]
        display = cls(pd.concat(parts), attribute)
        return display.plot(ax=ax) if plot else display

    def plot(self, ax=None):
        ax = _axes(ax, (5, 4.5))
        ax.plot([0, 1], [0, 1], color="#bbb", linestyle=":", label="perfectly calibrated")
        for group, part in self.curves_.groupby(level="group", sort=False):
            width = 2.5 if group == "all pupils" else 1.2
            ax.plot(
                part["mean_predicted"],
                part["observed_rate"],
                marker="o",
                ms=3,
                lw=width,
                label=group,
            )
        top = float(np.nanmax(self.curves_[["mean_predicted", "observed_rate"]].to_numpy()))
        lim = min(1.0, top * 1.1) if np.isfinite(top) and top > 0 else 1.0
        ax.set_xlim(0, lim)
        ax.set_ylim(0, lim)
        ax.set_xlabel("mean predicted probability")
        ax.set_ylabel("observed rate")
        ax.legend(frameon=False, fontsize="small")
        ax.set_title("Calibration" + (f" by {self.attribute}" if self.attribute else ""))
        self.ax_, self.figure_ = ax, ax.figure
        return self


class DisparityDisplay:
    """Forest plot: each group's ratio to the reference with its interval and the band.

    Filled markers are groups whose interval lies outside the band; hollow
    markers are unreliable groups; a withheld ratio shows only its interval.
    """

    def __init__(self, rows: pd.DataFrame, metric: str, band=(0.8, 1.25)) -> None:
        self.rows_ = rows
        self.metric = metric
        self.band = band

    @classmethod
    def from_audit(cls, audit, metric: str = "recall", *, attributes=None, ax=None, plot=True):
        d = audit.disparities
        if metric not in d.index.get_level_values("metric"):
            raise ValueError(
                f"The 'metric' parameter of DisparityDisplay.from_audit must be one of "
                f"{sorted(set(d.index.get_level_values('metric')))}. Got {metric!r} instead."
            )
        rows = d.xs(metric, level="metric")
        if attributes is not None:
            rows = rows[rows.index.get_level_values("attribute").isin(list(attributes))]
        display = cls(rows, metric, audit.band)
        return display.plot(ax=ax) if plot else display

    def plot(self, ax=None):
        r = self.rows_
        ax = _axes(ax, (6, 0.6 + 0.28 * max(len(r), 1)))
        y = np.arange(len(r))[::-1]
        ax.axvspan(self.band[0], self.band[1], color="#e8f0e8", zorder=0, label="band")
        ax.axvline(1.0, color="#999", lw=0.8)
        low, high = r["ratio_low"].to_numpy(float), r["ratio_high"].to_numpy(float)
        ok = ~(np.isnan(low) | np.isnan(high))
        ax.hlines(y[ok], low[ok], high[ok], color="#555", lw=1.2)
        ratio = r["ratio"].to_numpy(float)
        out = r["outside_band"].to_numpy(bool)
        reliable = r["reliable"].to_numpy(bool)
        for sel, face in ((out & reliable, "#c0392b"), (~out & reliable, "#2c3e50")):
            ax.scatter(ratio[sel], y[sel], color=face, zorder=3, s=22)
        ax.scatter(
            ratio[~reliable], y[~reliable], facecolors="white", edgecolors="#555", zorder=3, s=22
        )
        ax.set_yticks(y)
        ax.set_yticklabels([f"{a}: {g}" for a, g in r.index], fontsize="small")
        values = np.r_[low[ok], high[ok], ratio[~np.isnan(ratio)], self.band]
        values = values[np.isfinite(values) & (values > 0)]
        if len(values):
            ax.set_xscale("log")
            lo, hi = values.min() / 1.2, values.max() * 1.2
            ax.set_xlim(lo, hi)
            ticks = [t for t in (0.1, 0.25, 0.5, 0.8, 1, 1.25, 2, 4, 10) if lo <= t <= hi]
            ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
            ax.minorticks_off()
        ax.set_xlabel(
            f"ratio to the reference group ({METRIC_WORDS.get(self.metric, self.metric)})"
        )
        ax.set_title(f"Disparities in {METRIC_WORDS.get(self.metric, self.metric)}")
        self.ax_, self.figure_ = ax, ax.figure
        return self


def svg(display, name: str) -> str:
    """The display's figure as inline SVG markup, its ids prefixed with ``name``."""
    from riskscreen._svg import inline_svg, to_svg

    return inline_svg(to_svg(display.figure_, name), name)


def audit_figures(audit) -> list[str]:
    """Every plot of an audit as inline SVG (empty without matplotlib)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:  # pragma: no cover - depends on the environment
        return []
    figures = [svg(PrecisionRecallAtKDisplay.from_audit(audit), "curve")]
    for metric in ("recall", "fpr", "selection_rate"):
        figures.append(svg(DisparityDisplay.from_audit(audit, metric), f"disparity-{metric}"))
    if len(audit.calibration):
        attrs = [
            a for a in dict.fromkeys(audit.calibration.index.get_level_values(0)) if a != "all"
        ]
        for attribute in attrs[:3]:
            figures.append(
                svg(
                    GroupCalibrationDisplay.from_audit(audit, attribute), f"calibration-{attribute}"
                )
            )
    return figures
