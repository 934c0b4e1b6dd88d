"""Intervention evaluation for researchers: snapshots of every list, effects of the help.

Screening is only worth doing if the help that follows works. Help is not given
at random -- it goes to the pupils judged at highest risk -- so comparing helped
with unhelped pupils makes any help look harmful. This subpackage keeps what
each list said and estimates what help changed, honestly.

Concepts
--------
snapshot
    Every list as it was issued: as-of date, model version, scores, ranks, bands,
    flags, capacity and the features the model saw (:class:`Snapshot`). A
    :class:`SnapshotStore` keeps them in a Parquet folder, written atomically and
    never replaced; loading checks each file's sha256. Only metadata (never rows)
    goes to an MLflow run (``store.save(screening, run=tracked_run)``).
study
    :func:`build_study` joins snapshots, the help that followed (an intervention
    starting within ``treatment_window`` of the as-of date, or a panel decision,
    or a trial allocation), panel decisions (a plain DataFrame keyed by
    (pupil_id, as_of_date)) and the outcome in ``[as_of, as_of + horizon)``: a
    screening label, attendance rate, sessions missed, or your own. The
    confounders are what was known at the as-of date: the risk score and the
    features in the snapshot. The result is a :class:`Study`.
estimators
    Each returns a result object (a table, a plain-English summary, plots, the
    naive comparison beside it) with a confidence interval:

    * :func:`estimate_ipw` -- inverse-probability weighting;
    * :func:`estimate_aipw` -- augmented IPW, doubly robust and cross-fitted;
      both report overlap (propensity distributions, trimming, effective sample
      size) and balance (standardised mean differences, love plot) in a
      :class:`WeightingEstimate`, and refuse (:class:`OverlapError`) when
      helped and unhelped pupils do not overlap;
    * :func:`estimate_discontinuity` -- regression discontinuity at the capacity
      cut-off, on the score or the rank (``rdrobust``: local polynomial,
      data-driven bandwidth, robust bias-corrected interval; ``rddensity``
      manipulation test), refusing (:class:`TooFewPupilsError`) when the window
      around the cut-off holds too few pupils;
    * :func:`estimate_did` -- difference-in-differences on attendance before
      and after the list, with a placebo period.
trial
    :func:`allocate_within_bands` randomises help within risk bands of a list
    with a recorded seed (a :class:`TrialAllocation`), so the next evaluation
    needs no assumptions at all.
small numbers
    Every count a person reads passes
    :func:`riskscreen.evaluation.suppress_small_counts`; no output names a pupil.

The effect estimators need the ``interventions`` extra
(``pip install 'riskscreen[interventions]'``: statsmodels, rdrobust, rddensity);
snapshots and trial allocations do not.

Example
-------
>>> from riskscreen.interventions import SnapshotStore, build_study, estimate_aipw
>>> store = SnapshotStore("snapshots")  # doctest: +SKIP
>>> store.save(screener.score(histories, "2021-01-04"))  # doctest: +SKIP
>>> study = build_study(histories, store, outcome="suspension", horizon="26W")  # doctest: +SKIP
>>> estimate_aipw(study).sentences()  # doctest: +SKIP
"""

from riskscreen.interventions._did import DiDEstimate, estimate_did
from riskscreen.interventions._discontinuity import DiscontinuityEstimate, estimate_discontinuity
from riskscreen.interventions._plots import (
    BalanceDisplay,
    DiscontinuityDisplay,
    PropensityDisplay,
    TrendsDisplay,
)
from riskscreen.interventions._result import EffectEstimate, OverlapError, TooFewPupilsError
from riskscreen.interventions._snapshots import Snapshot, SnapshotIntegrityError, SnapshotStore
from riskscreen.interventions._study import Study, build_study
from riskscreen.interventions._trial import TrialAllocation, allocate_within_bands
from riskscreen.interventions._weighting import WeightingEstimate, estimate_aipw, estimate_ipw

__all__ = [
    "BalanceDisplay",
    "DiDEstimate",
    "DiscontinuityDisplay",
    "DiscontinuityEstimate",
    "EffectEstimate",
    "OverlapError",
    "PropensityDisplay",
    "Snapshot",
    "SnapshotIntegrityError",
    "SnapshotStore",
    "Study",
    "TooFewPupilsError",
    "TrendsDisplay",
    "TrialAllocation",
    "WeightingEstimate",
    "allocate_within_bands",
    "build_study",
    "estimate_aipw",
    "estimate_did",
    "estimate_discontinuity",
    "estimate_ipw",
]
