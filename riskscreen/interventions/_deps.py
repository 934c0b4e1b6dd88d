"""Optional libraries of the effect estimators, imported where used with an install hint."""

from __future__ import annotations

import contextlib
import importlib
import io
import warnings
from collections.abc import Iterator

#: What ``pip install 'riskscreen[interventions]'`` brings, by import name.
_EXTRA = {
    "statsmodels": "statsmodels",
    "rdrobust": "rdrobust",
    "rddensity": "rddensity",
}


def require(module: str, *, needed_for: str):
    """Import an optional module, or raise ImportError saying how to install it."""
    try:
        with warnings.catch_warnings():
            # rddensity changes the process-wide warning filters at import: keep them ours
            return importlib.import_module(module)
    except ImportError as exc:
        package = _EXTRA.get(module.split(".")[0], module.split(".")[0])
        raise ImportError(
            f"{needed_for} needs the optional package {package!r}: "
            "pip install 'riskscreen[interventions]'."
        ) from exc


@contextlib.contextmanager
def captured() -> Iterator[list[str]]:
    """Collect what rdrobust and rddensity print or warn, instead of letting it through.

    Yields a list that holds, once the block ends, each distinct line printed and
    each warning message, for the estimate's notes.
    """
    messages: list[str] = []
    out = io.StringIO()
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(out):
        warnings.simplefilter("always")
        try:
            yield messages
        finally:
            lines = [line.strip() for line in out.getvalue().splitlines() if line.strip()]
            lines += [str(w.message) for w in caught]
            messages.extend(dict.fromkeys(lines))
