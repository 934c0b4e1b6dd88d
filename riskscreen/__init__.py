"""riskscreen: early-intervention screening for English children's services.

Links education and social-care histories, builds features as they stood on
an as-of date, trains interpretable models validated on later dates against
simple rule baselines, and reports how often they are wrong and for whom.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("riskscreen")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = ["Screener", "Screening", "__version__"]

_LAZY = {"Screener": "riskscreen.training", "Screening": "riskscreen.training"}


def __getattr__(name: str):
    # Lazy: `import riskscreen` stays light; `riskscreen.Screener` loads the training stack.
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'riskscreen' has no attribute {name!r}")
