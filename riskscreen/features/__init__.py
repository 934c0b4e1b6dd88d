"""Cohorts, features as they stood on an as-of date, and outcome labels.

Concepts
--------
as-of date
    The moment a screening is made. Every feature uses only events dated
    strictly before it.
cohort
    Who is screened at an as-of date: a :class:`Cohort` object --
    :class:`SchoolCohort` (the default: on roll in NC years 5-11,
    ``entry_date < as_of <= leaving_date`` or open), :class:`SocialCareCohort`
    (known to social care, on no roll), :class:`SpellCohort` (a spell of any
    source open on the as-of date) or :class:`ListedCohort` (ids per date).
feature
    quantity x aggregate x lookback window over a source table
    (:class:`Feature`, collected in a :class:`FeatureSpec`). Windows are
    half-open ``[as_of - window, as_of)`` -- an event on the as-of date is not
    seen (durations: :func:`riskscreen.parse_duration`). Spells are active on the
    as-of date when ``start < as_of`` and their (inclusive) end is missing or
    ``>= as_of``. See :mod:`._run` for the rules.
engine
    A spec compiles to one set-based SQL statement executed by DuckDB
    in-process over pandas frames or a Parquet folder (:func:`build_features`,
    :func:`write_features`, :class:`FeatureBuilder`); no Python loop runs over
    pupils or events. Memory limit, spill folder and threads come from
    :func:`riskscreen.config_context`. Many as-of dates pass over the events
    once (running totals per pupil, looked up at each date and window start)
    instead of once per date; :func:`feature_plan` forces one plan or the other
    (both give the same features).
dataset
    :func:`build_dataset` builds the cohort, X, y (and the protected
    characteristics) together, reading the histories once, into a
    :class:`Dataset` -- what a :class:`~riskscreen.Screener` fits on.
label
    Whether an outcome happened in ``[as_of, as_of + horizon)``
    (:func:`make_labels`): a built-in school outcome, or an :class:`Outcome`
    over any source (an event, or a spell starting or ending). Pupils who leave
    for another authority or abroad, and (for school outcomes) pupils whose
    Year 11 ends within the window, are censored (<NA>) unless the outcome
    happened first, and counted in the labels report, whose small counts are
    hidden (:func:`protect_label_report`; ``"unsuppressed"`` is the raw view).
protected characteristics
    Sex and ethnicity are not features; :func:`protected_characteristics`
    returns them (with SEN, FSM and social-care audit groups) aligned to X.

Example
-------
>>> from riskscreen.features import build_features, make_labels  # doctest: +SKIP
>>> X = build_features(histories, ["2022-01-10"])  # doctest: +SKIP
>>> y = make_labels(histories, ["2022-01-10"], outcome="suspension")  # doctest: +SKIP
"""

from riskscreen.features._build import build_cohort, build_features, feature_sql, write_features
from riskscreen.features._cohort import (
    Cohort,
    ListedCohort,
    SchoolCohort,
    SocialCareCohort,
    SpellCohort,
)
from riskscreen.features._dataset import Dataset, build_dataset
from riskscreen.features._default_spec import default_spec
from riskscreen.features._labels import make_labels, protect_label_report
from riskscreen.features._many_dates import feature_plan
from riskscreen.features._outcome import OUTCOMES, CMEDefinition, Outcome
from riskscreen.features._protected import protected_characteristics
from riskscreen.features._spec import (
    AGGREGATES,
    MISSABLE,
    REASON_PLACEHOLDERS,
    Col,
    Condition,
    Feature,
    FeatureSpec,
    Reason,
)
from riskscreen.features._transformer import FeatureBuilder

__all__ = [
    "AGGREGATES",
    "MISSABLE",
    "OUTCOMES",
    "REASON_PLACEHOLDERS",
    "CMEDefinition",
    "Cohort",
    "Col",
    "Condition",
    "Dataset",
    "Feature",
    "FeatureBuilder",
    "FeatureSpec",
    "ListedCohort",
    "Outcome",
    "Reason",
    "SchoolCohort",
    "SocialCareCohort",
    "SpellCohort",
    "build_cohort",
    "build_dataset",
    "build_features",
    "default_spec",
    "feature_plan",
    "feature_sql",
    "make_labels",
    "protect_label_report",
    "protected_characteristics",
    "write_features",
]
