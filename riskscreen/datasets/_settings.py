"""Validation of the parameters of :func:`~riskscreen.datasets.make_linked_histories`."""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from riskscreen.data import _codes


@dataclass(frozen=True)
class Settings:
    """The validated parameters of ``make_linked_histories`` (see its docstring).

    Numbers are plain ``int`` and ``float``; ``label_bias`` is a plain dict,
    empty when there is no bias.
    """

    n_pupils: int
    n_schools: int | None
    start_year: int
    n_years: int
    seed: int
    return_truth: bool
    label_bias: dict[str, float]
    attendance_period: str
    intervention_effect: float
    intervention_weeks: int
    intervention_capacity: float


def check_settings(arguments: Mapping[str, Any]) -> Settings:
    """Validate the arguments of ``make_linked_histories``.

    Parameters
    ----------
    arguments : mapping
        Parameter name -> value, every parameter of ``make_linked_histories``.

    Returns
    -------
    Settings

    Raises
    ------
    TypeError or ValueError
        Naming the first invalid parameter, with what it must be.
    """
    a = dict(arguments)
    _check_int("n_pupils", a["n_pupils"], 12)
    if a["n_schools"] is not None:
        _check_int("n_schools", a["n_schools"], 2)
    _check_int("start_year", a["start_year"], 1990, 2100)
    _check_int("n_years", a["n_years"], 1, 30)
    seed = a["seed"]
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(
            "The 'seed' parameter of make_linked_histories must be a non-negative int. "
            f"Got {seed!r} instead."
        )
    if not isinstance(a["return_truth"], bool):
        raise TypeError(
            "The 'return_truth' parameter of make_linked_histories must be a bool. "
            f"Got {a['return_truth']!r} instead."
        )
    if a["attendance_period"] not in ("week", "term"):
        raise ValueError(
            "The 'attendance_period' parameter of make_linked_histories must be 'week' or "
            f"'term'. Got {a['attendance_period']!r} instead."
        )
    _check_real("intervention_effect", a["intervention_effect"], 0.0, None)
    _check_real("intervention_capacity", a["intervention_capacity"], 0.0, 1.0)
    _check_int("intervention_weeks", a["intervention_weeks"], 1)
    for name in ("n_pupils", "start_year", "n_years", "seed", "intervention_weeks"):
        a[name] = int(a[name])
    for name in ("intervention_effect", "intervention_capacity"):
        a[name] = float(a[name])
    if a["n_schools"] is not None:
        a["n_schools"] = int(a["n_schools"])
    a["label_bias"] = _check_label_bias(a["label_bias"])
    return Settings(**a)


def _check_int(name: str, value, minimum: int, maximum: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"The '{name}' parameter of make_linked_histories must be an int. "
            f"Got {value!r} ({type(value).__name__}) instead."
        )
    bound = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
    if value < minimum or (maximum is not None and value > maximum):
        raise ValueError(
            f"The '{name}' parameter of make_linked_histories must be an int {bound}. "
            f"Got {value!r} instead."
        )


def _check_real(name: str, value, low: float, high: float | None) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or value < low
        or (high is not None and value > high)
    ):
        want = "a finite hazard ratio >= 0" if high is None else f"a number in [{low}, {high}]"
        raise ValueError(
            f"The '{name}' parameter of make_linked_histories must be {want}. "
            f"Got {value!r} instead."
        )


def _check_label_bias(label_bias) -> dict[str, float]:
    bias: dict[str, float] = {}
    if label_bias is None:
        return bias
    if not isinstance(label_bias, Mapping):
        raise TypeError(
            "The 'label_bias' parameter of make_linked_histories must be a mapping of "
            "ethnicity code to a positive multiplier, such as {'BAFR': 1.8}. "
            f"Got {type(label_bias).__name__} instead."
        )
    for code, mult in label_bias.items():
        if code not in _codes.ETHNICITY_CODES:
            raise ValueError(
                "The 'label_bias' parameter of make_linked_histories must use ethnicity "
                f"codes from riskscreen.data._codes.ETHNICITY_CODES. Got {code!r} instead."
            )
        if (
            isinstance(mult, bool)
            or not isinstance(mult, numbers.Real)
            or not math.isfinite(mult)
            or mult <= 0
        ):
            raise ValueError(
                "The 'label_bias' parameter of make_linked_histories must map each "
                f"ethnicity code to a positive finite number. Got {code!r}: {mult!r} instead."
            )
        bias[str(code)] = float(mult)
    return bias
