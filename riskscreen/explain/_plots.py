"""Plots of an :class:`Explanation` in the scikit-learn Display style.

``XDisplay.from_explanation(...)`` computes what to draw and draws it;
``display.plot(ax=...)`` draws again on other axes. matplotlib is imported only
when drawing (install it with ``pip install "riskscreen[plot]"``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - matplotlib is in the plot extra
        raise ImportError(
            "Plotting needs matplotlib: pip install 'riskscreen[plot]' (or matplotlib)."
        ) from exc
    return plt


def _axes(ax, size):
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=size)
    return ax


class ImportanceDisplay:
    """Global importance: mean absolute SHAP value (log-odds) by reason group or feature.

    Parameters
    ----------
    importance : Series
        Mean absolute value by name, largest first.
    by : {"group", "feature"}
    n_rows : int
        Pupils the importance was computed on.
    """

    def __init__(self, importance: pd.Series, *, by: str = "group", n_rows: int = 0) -> None:
        self.importance = importance
        self.by = by
        self.n_rows = n_rows

    @classmethod
    def from_explanation(cls, explanation, *, by: str = "group", max_display: int = 12, ax=None):
        if by not in ("group", "feature"):
            raise ValueError(
                f"The 'by' parameter of ImportanceDisplay must be 'group' or 'feature'. "
                f"Got {by!r} instead."
            )
        table = explanation.importance if by == "group" else explanation.feature_importance
        display = cls(
            table["mean_abs"].head(max_display), by=by, n_rows=explanation.n_importance_rows
        )
        return display.plot(ax=ax)

    def plot(self, ax=None):
        ax = _axes(ax, (7, 0.4 * len(self.importance) + 1.5))
        values = self.importance.iloc[::-1]
        ax.barh([str(i) for i in values.index], values.to_numpy(), color="#3b6ea5")
        ax.set_xlabel("mean |SHAP value| (log-odds of the score)")
        ax.set_title(f"What moves the score most ({self.n_rows} pupils)")
        self.ax_, self.figure_ = ax, ax.figure
        return self


class BeeswarmDisplay:
    """Each pupil's SHAP value per feature, coloured by the feature's value (low to high).

    Parameters
    ----------
    values, data : DataFrame
        SHAP values and feature values of the features shown (same shape).
    """

    def __init__(self, values: pd.DataFrame, data: pd.DataFrame) -> None:
        self.values = values
        self.data = data

    @classmethod
    def from_explanation(cls, explanation, *, max_display: int = 12, ax=None):
        groups = explanation.groups
        base = groups["feature"]
        # a missing-value indicator's value is added to its feature's
        values = explanation.values.T.groupby(base.to_numpy(), sort=False).sum().T
        data = explanation.data[[c for c in values.columns if c in explanation.data.columns]]
        values = values[data.columns]
        top = values.abs().mean().sort_values(ascending=False).head(max_display).index
        return cls(values[top], data[top]).plot(ax=ax)

    def plot(self, ax=None, *, random_state: int = 0):
        plt = _pyplot()
        ax = _axes(ax, (7, 0.45 * self.values.shape[1] + 1.5))
        rng = np.random.default_rng(random_state)
        names = list(self.values.columns)[::-1]
        points = None
        for i, name in enumerate(names):
            v = self.values[name].to_numpy()
            x = self.data[name].to_numpy(dtype=float)
            colour = pd.Series(x).rank(pct=True).fillna(0.5).to_numpy()
            jitter = rng.uniform(-0.3, 0.3, size=len(v))
            points = ax.scatter(v, i + jitter, c=colour, cmap="coolwarm", s=6, vmin=0, vmax=1)
        ax.set_yticks(range(len(names)), names)
        ax.axvline(0, color="grey", lw=0.8)
        ax.set_xlabel("SHAP value (log-odds of the score)")
        if points is not None:
            bar = plt.colorbar(points, ax=ax, ticks=[0, 1])
            bar.ax.set_yticklabels(["low", "high"])
            bar.set_label("feature value")
        self.ax_, self.figure_ = ax, ax.figure
        return self


class WaterfallDisplay:
    """One pupil's score built up from the base value, one reason group at a time.

    Parameters
    ----------
    contributions : Series
        Contribution by group, largest first (``Explanation.pupil(...)``).
    base_value : float
    """

    def __init__(self, contributions: pd.Series, base_value: float) -> None:
        self.contributions = contributions
        self.base_value = base_value

    @classmethod
    def from_explanation(cls, explanation, pupil_id, *, max_display: int = 10, ax=None):
        table = explanation.pupil(pupil_id)["contribution"]
        shown = table.head(max_display)
        rest = table.iloc[max_display:].sum()
        if len(table) > max_display:
            shown = pd.concat(
                [shown, pd.Series({f"{len(table) - max_display} other groups": rest})]
            )
        return cls(shown, explanation.base_value).plot(ax=ax)

    def plot(self, ax=None):
        ax = _axes(ax, (7, 0.45 * len(self.contributions) + 1.5))
        values = self.contributions.to_numpy()
        starts = self.base_value + np.r_[0, np.cumsum(values)[:-1]]
        labels = [str(i) for i in self.contributions.index]
        y = np.arange(len(values))[::-1]
        colours = np.where(values > 0, "#c0392b", "#2874a6")
        ax.barh(y, values, left=starts, color=colours)
        ax.set_yticks(y, labels)
        ax.axvline(self.base_value, color="grey", lw=0.8, ls="--")
        total = self.base_value + values.sum()
        ax.set_xlabel(
            f"score (log-odds): base {self.base_value:.2f} -> this pupil {total:.2f}; "
            "red raises risk, blue lowers it"
        )
        self.ax_, self.figure_ = ax, ax.figure
        return self
