"""riskscreen: early-intervention screening for English children's services.

Links education and social-care histories, builds features as they stood on
an as-of date, trains interpretable models validated on later dates against
simple rule baselines, and reports how often they are wrong and for whom.

Subpackages, by user task: :mod:`riskscreen.data` (linked histories),
:mod:`riskscreen.datasets` (the synthetic local authority),
:mod:`riskscreen.features` (cohorts, features, labels),
:mod:`riskscreen.training` (temporal splits, models, baselines, calibration),
:mod:`riskscreen.evaluation` (metrics at capacity, intervals, bands, small-number
protection, comparisons) and :mod:`riskscreen.tracking` (MLflow). The
:class:`Screener` orchestrates them. Durations (:func:`parse_duration`) and
engine settings (:func:`config_context`) are shared by all.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from riskscreen._config import config_context, get_config, set_config
from riskscreen._time import Duration, parse_duration

try:
    __version__ = version("riskscreen")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = [
    "Duration",
    "Screener",
    "Screening",
    "__version__",
    "config_context",
    "get_config",
    "parse_duration",
    "set_config",
]

_LAZY = {"Screener": "riskscreen._screener", "Screening": "riskscreen._screening"}


def __getattr__(name: str):
    # Lazy: `import riskscreen` stays light; `riskscreen.Screener` loads the modelling stack.
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'riskscreen' has no attribute {name!r}")
