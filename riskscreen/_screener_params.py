"""The Screener's parameters, checked before any data are read."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

import numpy as np

from riskscreen._time import Duration, parse_horizon
from riskscreen.evaluation import resolve_k
from riskscreen.evaluation._bands import check_bands
from riskscreen.features import Cohort, FeatureSpec
from riskscreen.features._outcome import parse_outcome

MODELS = ("lightgbm", "scorecard")


def check_params(screener) -> Duration:
    """Raise a clear error for the first bad parameter; return the parsed horizon."""
    owner = "Screener"
    parse_outcome(screener.outcome, owner)
    horizon = parse_horizon(screener.horizon, parameter="horizon", owner=owner)
    try:
        resolve_k(screener.capacity, 10**9)
    except ValueError:
        raise ValueError(
            "The 'capacity' parameter of Screener must be a fraction in (0, 1] or a "
            f"positive count of pupils. Got {screener.capacity!r} instead."
        ) from None
    if screener.calibration not in ("isotonic", "sigmoid"):
        raise ValueError(
            "The 'calibration' parameter of Screener must be 'isotonic' or 'sigmoid'. "
            f"Got {screener.calibration!r} instead."
        )
    for name in ("validation_dates", "n_bootstrap"):
        value = getattr(screener, name)
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(
                f"The {name!r} parameter of Screener must be a positive integer. "
                f"Got {value!r} instead."
            )
    check_bands(screener.bands, screener.band_on, owner=owner)
    if screener.spec is not None and not isinstance(screener.spec, FeatureSpec):
        raise ValueError(
            "The 'spec' parameter of Screener must be a FeatureSpec or None. "
            f"Got {type(screener.spec).__name__} instead."
        )
    if screener.cohort is not None and not isinstance(screener.cohort, Cohort):
        raise ValueError(
            "The 'cohort' parameter of Screener must be a cohort such as SchoolCohort(), "
            f"SocialCareCohort() or SpellCohort(source). Got {type(screener.cohort).__name__}."
        )
    if screener.baselines is not None and not (
        isinstance(screener.baselines, Mapping)
        and all(isinstance(k, str) and hasattr(v, "fit") for k, v in screener.baselines.items())
    ):
        raise ValueError(
            "The 'baselines' parameter of Screener must be a dict of display name to "
            "estimator (e.g. {'our_checklist': Checklist([...])}). "
            f"Got {type(screener.baselines).__name__} instead."
        )
    if isinstance(screener.model, str):
        if screener.model not in MODELS:
            raise ValueError(
                "The 'model' parameter of Screener must be 'lightgbm', 'scorecard' or a "
                f"scikit-learn classifier. Got {screener.model!r} instead."
            )
    elif not (hasattr(screener.model, "fit") and hasattr(screener.model, "predict_proba")):
        raise ValueError(
            "The 'model' parameter of Screener must be 'lightgbm', 'scorecard' or a "
            f"scikit-learn classifier with predict_proba. Got {type(screener.model).__name__}."
        )
    return horizon


def check_n_bootstrap(n_bootstrap) -> None:
    """None (the Screener's own) or a positive integer."""
    if n_bootstrap is not None and (
        isinstance(n_bootstrap, bool)
        or not isinstance(n_bootstrap, (int, np.integer))
        or n_bootstrap < 1
    ):
        raise ValueError(
            "The 'n_bootstrap' parameter of Screener.evaluate must be a positive integer. "
            f"Got {n_bootstrap!r} instead."
        )


def _params_for_hash(estimator) -> dict:
    params = estimator.get_params(deep=False)
    return {
        k: (v if isinstance(v, (int, float, str, bool, type(None))) else repr(v))
        for k, v in params.items()
    }


def params_hash(screener, model) -> str:
    """A short hash of the Screener's and its model's parameters (for the model info)."""
    obj = {"screener": _params_for_hash(screener), "model": _params_for_hash(model)}
    text = json.dumps(obj, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
