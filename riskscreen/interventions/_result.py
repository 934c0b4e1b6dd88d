"""What every effect estimate shares: the numbers, the naive comparison, words and rendering."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from riskscreen._render import markdown_table
from riskscreen._time import parse_duration
from riskscreen.evaluation import SMALL_COUNT, suppress_small_counts
from riskscreen.interventions._deps import require

PUPIL, AS_OF = "pupil_id", "as_of_date"
#: Outcomes read in percentage points when they are rates or probabilities.
_RATES = ("binary",)


class OverlapError(ValueError):
    """The helped and unhelped pupils are too different to compare by weighting."""


class TooFewPupilsError(ValueError):
    """Too few pupils (helped, unhelped, or near the cut-off) for an honest estimate."""


def cluster_codes(index: pd.MultiIndex) -> np.ndarray:
    """One integer per pupil: rows of the same pupil at several as-of dates form a cluster."""
    return pd.factorize(index.get_level_values(PUPIL), sort=True)[0]


def ols(y, X, *, weights=None, groups=None, needed_for: str):
    """statsmodels (W)LS with standard errors clustered by pupil; returns the fitted results."""
    sm = require("statsmodels.api", needed_for=needed_for)
    model = sm.WLS(y, X, weights=weights) if weights is not None else sm.OLS(y, X)
    return model.fit(cov_type="cluster", cov_kwds={"groups": groups})


def naive_difference(study, groups, level: float) -> dict:
    """Mean outcome of the helped minus the unhelped, with a cluster-robust interval."""
    t = study.treated.astype(float)
    X = np.column_stack([np.ones_like(t), t])
    fit = ols(study.y, X, groups=groups, needed_for="The naive comparison")
    low, high = fit.conf_int(alpha=1 - level)[1]
    return {"estimate": float(fit.params[1]), "ci_low": float(low), "ci_high": float(high)}


def count_text(n: int) -> str:
    """A count as a person may read it: fewer than 5 is never shown exactly."""
    return f"fewer than {SMALL_COUNT}" if 0 < n < SMALL_COUNT else f"{n:,}"


def suppressed(counts: dict) -> dict:
    """The same counts, with small ones (and a secondary one) replaced by <NA>."""
    names = list(counts)
    hide = suppress_small_counts(np.array([counts[n] for n in names]))
    return {n: (pd.NA if h else int(counts[n])) for n, h in zip(names, hide, strict=True)}


@dataclass(frozen=True)
class EffectEstimate:
    """An effect estimate with its interval, the naive comparison and diagnostics.

    Attributes
    ----------
    method : str
        ``"IPW"``, ``"AIPW"``, ``"RD"`` or ``"DiD"``.
    estimand : str
        What is estimated (e.g. ``"ATT"``: the average effect on the pupils helped).
    outcome : str
    outcome_kind : {"binary", "continuous", "custom"}
    horizon : str
        The outcome window after the as-of date.
    estimate, se, ci_low, ci_high, p_value : float
        The effect (helped minus not helped), its standard error, the confidence
        interval at ``level`` and the p-value for "no effect".
    level : float
    naive : dict
        The naive difference of means (``estimate``, ``ci_low``, ``ci_high``):
        biased upwards for harmful outcomes when the riskiest pupils are helped.
    counts : dict
        Pupils in each part of the analysis (suppressed when rendered).
    notes : tuple of str
    """

    method: str
    estimand: str
    outcome: str
    outcome_kind: str
    horizon: str
    estimate: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    level: float
    naive: dict
    counts: dict

    # -- numbers -------------------------------------------------------------------------------
    @property
    def ci(self) -> tuple[float, float]:
        return (self.ci_low, self.ci_high)

    def covers(self, value: float) -> bool:
        """Whether the confidence interval contains ``value`` (e.g. a known true effect)."""
        return bool(self.ci_low <= value <= self.ci_high)

    def to_frame(self) -> pd.DataFrame:
        """The estimate and the naive comparison, one row each."""
        rows = {
            f"{self.method} ({self.estimand})": {
                "estimate": self.estimate,
                "ci_low": self.ci_low,
                "ci_high": self.ci_high,
                "se": self.se,
                "p_value": self.p_value,
            },
            "naive difference": {
                "estimate": self.naive["estimate"],
                "ci_low": self.naive["ci_low"],
                "ci_high": self.naive["ci_high"],
                "se": np.nan,
                "p_value": np.nan,
            },
        }
        frame = pd.DataFrame.from_dict(rows, orient="index")
        frame.index.name = "estimator"
        return frame

    #: Counts that add up to a total shown elsewhere, suppressed together (secondary
    #: suppression); any other count is suppressed on its own.
    _COUNT_GROUPS: ClassVar[tuple] = ()

    def shown_counts(self) -> dict:
        """The counts a person may read: under 5 (and a partner that would reveal one) <NA>."""
        out = {}
        for group in self._COUNT_GROUPS:
            out.update(suppressed({k: self.counts[k] for k in group if k in self.counts}))
        for name, n in self.counts.items():
            if name not in out:
                out[name] = pd.NA if 0 < n < SMALL_COUNT else int(n)
        return {name: out[name] for name in self.counts}

    def counts_frame(self) -> pd.DataFrame:
        """Pupils in each part of the analysis; counts under 5 suppressed (<NA>)."""
        shown = self.shown_counts()
        frame = pd.DataFrame(
            {"pupils": pd.array(list(shown.values()), dtype="Int64")}, index=list(shown)
        )
        frame.index.name = "pupils in"
        return frame

    def _count_words(self, name: str) -> str:
        """``"the 148 "``, or ``"the "`` when the count is suppressed."""
        n = self.shown_counts().get(name, pd.NA)
        return "the " if n is pd.NA else f"the {int(n):,} "

    def diagnostics(self) -> pd.DataFrame:  # pragma: no cover - overridden
        return pd.DataFrame()

    # -- words -------------------------------------------------------------------------------
    def _scale(self, value: float, signed: bool = True) -> str:
        if self.outcome_kind in _RATES or self.outcome == "attendance_rate":
            text = f"{100 * value:+.1f}" if signed else f"{100 * value:.1f}"
            return f"{text} percentage points"
        unit = " sessions" if self.outcome == "sessions_missed" else ""
        return (f"{value:+.3g}" if signed else f"{value:.3g}") + unit

    def _what(self) -> str:
        if self.outcome_kind in _RATES:
            return f"the chance of {self.outcome.replace('|', ' or ').replace('_', ' ')}"
        return self.outcome.replace("_", " ")

    def _population(self) -> str:  # pragma: no cover - overridden
        return "the pupils studied"

    def sentences(self) -> list[str]:
        """The estimate in plain English, with the naive comparison and what it means."""
        pct = round(100 * self.level)
        horizon = parse_duration(self.horizon).words()
        first = (
            f"{self.method}: for {self._population()}, help changed {self._what()} in the "
            f"{horizon} after the list by {self._scale(self.estimate)} ({pct}% CI "
            f"{self._scale(self.ci_low)} to {self._scale(self.ci_high)})."
        )
        if self.ci_low <= 0 <= self.ci_high:
            verdict = "The interval includes zero: these data show no clear effect either way."
        elif self.estimate < 0:
            verdict = f"The interval lies below zero: help lowered {self._what()}."
        else:
            verdict = f"The interval lies above zero: {self._what()} was higher with help."
        naive = (
            f"A naive comparison of helped and unhelped pupils gives "
            f"{self._scale(self.naive['estimate'])}; it is biased because help went to the "
            "pupils judged at highest risk."
        )
        return [first, verdict, naive]

    def _header(self) -> str:
        return " ".join(self.sentences())

    def to_markdown(self) -> str:
        parts = [
            self._header(),
            markdown_table(self.to_frame().round(4)),
            markdown_table(self.counts_frame()),
        ]
        diag = self.diagnostics()
        if len(diag):
            parts.append(markdown_table(diag))
        parts += list(getattr(self, "notes", ()))
        return "\n\n".join(parts)

    def to_html(self) -> str:
        diag = self.diagnostics()
        notes = "".join(f"<p>{n}</p>" for n in getattr(self, "notes", ()))
        return (
            f"<div><p>{self._header()}</p>{self.to_frame().to_html(float_format='%.4f')}"
            f"{self.counts_frame().to_html(na_rep='&lt;5')}"
            f"{diag.to_html(float_format='%.3f', na_rep='') if len(diag) else ''}{notes}</div>"
        )

    def _repr_html_(self) -> str:
        return self.to_html()

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} {self.method} {self.estimand} of {self.outcome}: "
            f"{self.estimate:+.4f} [{self.ci_low:+.4f}, {self.ci_high:+.4f}]>"
        )
