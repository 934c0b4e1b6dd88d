"""Plots of effect estimates, in scikit-learn's Display style (matplotlib only when drawing).

Each Display computes what it draws from an estimate (``from_estimate``) and draws
it on ``plot(ax=...)``. No plot shows a group or bin of fewer than 5 pupils.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskscreen.evaluation import SMALL_COUNT, suppress_small_counts

_HELPED, _UNHELPED = "#d62728", "#1f77b4"


def _pyplot(name: str):
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(f"{name}.plot needs matplotlib: pip install 'riskscreen[plot]'.") from exc
    return plt


def _axes(ax, figsize):
    if ax is None:
        _, ax = _pyplot("Display").subplots(figsize=figsize, layout="constrained")
    return ax


class PropensityDisplay:
    """Overlap: the distribution of propensities among helped and unhelped pupils.

    Attributes
    ----------
    histogram_ : DataFrame
        Share of each group per propensity bin (bins holding fewer than 5 pupils of a
        group, with secondary suppression, are left out).
    bounds_ : tuple of float
        The trimming bounds.
    ax_, figure_ : set by :meth:`plot`.
    """

    def __init__(self, histogram: pd.DataFrame, bounds: tuple[float, float]) -> None:
        self.histogram_ = histogram
        self.bounds_ = bounds

    @classmethod
    def from_estimate(cls, estimate, *, bins: int = 20) -> PropensityDisplay:
        e = estimate.propensity.to_numpy(dtype=float)
        treated = estimate.treated.to_numpy(dtype=bool)
        edges = np.linspace(0.0, 1.0, bins + 1)
        rows = {}
        for name, mask in (("helped", treated), ("unhelped", ~treated)):
            counts, _ = np.histogram(e[mask], bins=edges)
            share = counts / max(int(mask.sum()), 1)
            rows[name] = np.where(suppress_small_counts(counts), np.nan, share)
        frame = pd.DataFrame(rows, index=pd.Index((edges[:-1] + edges[1:]) / 2, name="propensity"))
        low = estimate.trim if estimate.estimand == "ATE" else 0.0
        return cls(frame, (low, 1 - estimate.trim))

    def plot(self, ax=None):
        ax = _axes(ax, (6, 3.5))
        width = float(np.diff(self.histogram_.index[:2])[0]) if len(self.histogram_) > 1 else 0.05
        x = self.histogram_.index.to_numpy()
        ax.bar(
            x,
            self.histogram_["unhelped"].fillna(0),
            width=width,
            alpha=0.5,
            color=_UNHELPED,
            label="unhelped",
        )
        ax.bar(
            x,
            -self.histogram_["helped"].fillna(0),
            width=width,
            alpha=0.5,
            color=_HELPED,
            label="helped (drawn downwards)",
        )
        for b in self.bounds_:
            if 0 < b < 1:
                ax.axvline(b, color="black", linestyle="--", linewidth=1)
        ax.axhline(0, color="black", linewidth=0.5)
        ax.set_xlabel("estimated propensity of help")
        ax.set_ylabel("share of group")
        ax.set_title("Overlap of helped and unhelped pupils (dashed: trimming bound)")
        ax.legend(frameon=False)
        self.ax_, self.figure_ = ax, ax.figure
        return self


class BalanceDisplay:
    """Love plot: standardised mean differences of the confounders before and after weighting.

    Attributes
    ----------
    balance_ : DataFrame
        ``smd_before`` and ``smd_after`` of the confounders shown (largest imbalance
        before weighting first).
    ax_, figure_ : set by :meth:`plot`.
    """

    def __init__(self, balance: pd.DataFrame, threshold: float = 0.1) -> None:
        self.balance_ = balance
        self.threshold_ = threshold

    @classmethod
    def from_estimate(cls, estimate, *, max_confounders: int = 20) -> BalanceDisplay:
        bal = estimate.balance
        order = bal["smd_before"].abs().sort_values(ascending=False).index[:max_confounders]
        return cls(bal.loc[order])

    def plot(self, ax=None):
        ax = _axes(ax, (6, 0.8 + 0.28 * len(self.balance_)))
        y = np.arange(len(self.balance_))[::-1]
        ax.scatter(
            self.balance_["smd_before"],
            y,
            marker="o",
            facecolors="none",
            edgecolors="grey",
            label="before weighting",
        )
        ax.scatter(
            self.balance_["smd_after"], y, marker="o", color=_HELPED, label="after weighting"
        )
        for v in (-self.threshold_, self.threshold_):
            ax.axvline(v, color="black", linestyle="--", linewidth=0.8)
        ax.axvline(0, color="black", linewidth=0.5)
        ax.set_yticks(y)
        ax.set_yticklabels(self.balance_.index)
        ax.set_xlabel("standardised mean difference (helped - unhelped)")
        ax.set_title("Balance of the confounders")
        ax.legend(frameon=False, loc="lower right")
        self.ax_, self.figure_ = ax, ax.figure
        return self


class DiscontinuityDisplay:
    """The RD plot: binned mean outcomes either side of the cut-off and polynomial fits.

    Attributes
    ----------
    bins_ : DataFrame
        Bin centre ``x``, ``mean_outcome`` and its interval (bins of fewer than 5
        pupils left out), from ``rdrobust.rdplot``.
    fit_ : DataFrame
        The fitted curve either side of the cut-off.
    ax_, figure_ : set by :meth:`plot`.
    """

    def __init__(self, bins: pd.DataFrame, fit: pd.DataFrame, running: str, outcome: str) -> None:
        self.bins_ = bins
        self.fit_ = fit
        self.running_ = running
        self.outcome_ = outcome

    @classmethod
    def from_estimate(cls, estimate) -> DiscontinuityDisplay:
        return cls(estimate.bins, estimate.fit, estimate.running, estimate.outcome)

    def plot(self, ax=None):
        ax = _axes(ax, (6, 3.8))
        b = self.bins_
        ax.errorbar(
            b["x"],
            b["mean_outcome"],
            yerr=[b["mean_outcome"] - b["ci_low"], b["ci_high"] - b["mean_outcome"]],
            fmt="o",
            color="grey",
            ecolor="lightgrey",
            markersize=4,
            label="binned mean",
        )
        for side in (self.fit_[self.fit_["x"] < 0], self.fit_[self.fit_["x"] >= 0]):
            ax.plot(side["x"], side["fit"], color=_HELPED)
        ax.axvline(0, color="black", linestyle="--", linewidth=1)
        what = "risk score minus cut-off" if self.running_ == "score" else "places above cut-off"
        ax.set_xlabel(f"{what} (right of the line: flagged)")
        ax.set_ylabel(f"mean {self.outcome_}")
        ax.set_title("Outcome either side of the capacity cut-off")
        ax.legend(frameon=False)
        self.ax_, self.figure_ = ax, ax.figure
        return self


class TrendsDisplay:
    """Mean outcome of helped and unhelped pupils before and after the list (DiD).

    Attributes
    ----------
    means_ : DataFrame
        Rows helped/unhelped, columns the periods (groups of fewer than 5 pupils
        are not shown).
    ax_, figure_ : set by :meth:`plot`.
    """

    def __init__(self, means: pd.DataFrame, outcome: str) -> None:
        self.means_ = means
        self.outcome_ = outcome

    @classmethod
    def from_estimate(cls, estimate) -> TrendsDisplay:
        return cls(estimate.means, estimate.outcome)

    def plot(self, ax=None):
        ax = _axes(ax, (5, 3.5))
        x = np.arange(self.means_.shape[1])
        for name, colour in (("helped", _HELPED), ("unhelped", _UNHELPED)):
            ax.plot(
                x, self.means_.loc[name].to_numpy(dtype=float), marker="o", color=colour, label=name
            )
        ax.axvline(x[-1] - 0.5, color="black", linestyle="--", linewidth=1)
        ax.set_xticks(x)
        ax.set_xticklabels(list(self.means_.columns))
        ax.set_ylabel(f"mean {self.outcome_}")
        ax.set_title(f"Before and after the list (dashed: list; groups under {SMALL_COUNT} hidden)")
        ax.legend(frameon=False)
        self.ax_, self.figure_ = ax, ax.figure
        return self
