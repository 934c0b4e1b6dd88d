"""Why each pupil is on the list: SHAP values and reasons in words.

Concepts
--------
SHAP values
    How much each feature moved a pupil's score away from the base value (the
    score of a pupil about whom nothing is known). They are computed on the
    model's *margin* (log-odds), the score that ranks the list, and add up to it
    exactly: tree SHAP for LightGBM (LightGBM's own ``pred_contrib``,
    path-dependent, the same as ``shap.TreeExplainer``), exact linear SHAP for the
    scorecard's bins. The calibrated probability is a monotone map of the margin,
    so the reasons for the ranking are the reasons for the margin.
reason groups
    Related columns give one reason, their values added up: a ``__missing``
    indicator with its feature, windows of one quantity ("suspensions"), levels of
    one code. A feature's group and words come from its
    :class:`~riskscreen.features.Reason` (``Feature(..., reason=...)``); the
    default spec's features have built-in words, other features are put in words
    from their descriptions.
reasons in words
    The top ``n_reasons`` groups of each pupil as sentences built from the pupil's
    own values and windows: "3 suspensions in the last 12 months (raises risk)",
    "attendance 81% in the last 4 weeks, down from 95% over the last 13 weeks
    (raises risk)", "on a child protection plan since March 2025 (raises risk)".
    Sentences are written once per distinct wording, never in a loop over pupils.
    Protected characteristics appear only when they were model inputs by
    explicit choice (``use_protected=``).
global importance
    Mean absolute SHAP value by group and by feature, with plots in the
    scikit-learn Display style: :class:`ImportanceDisplay` (bar),
    :class:`BeeswarmDisplay` and :class:`WaterfallDisplay` (one pupil).

Example
-------
>>> from riskscreen.explain import explain  # doctest: +SKIP
>>> explanation = explain(screener, screening, pupils="flagged")  # doctest: +SKIP
>>> explanation.reasons_wide().head()  # doctest: +SKIP
"""

from riskscreen.explain._explanation import Explanation, explain
from riskscreen.explain._plots import BeeswarmDisplay, ImportanceDisplay, WaterfallDisplay
from riskscreen.features._spec import Reason

__all__ = [
    "BeeswarmDisplay",
    "Explanation",
    "ImportanceDisplay",
    "Reason",
    "WaterfallDisplay",
    "explain",
]
