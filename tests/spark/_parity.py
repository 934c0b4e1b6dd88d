"""Run the same scenarios on DuckDB and on Spark, and say where the results differ.

A scenario is a cohort at some as-of dates with everything computed for it:
the cohort frame, the features of a spec, the labels (and their per-date
reports) of some outcomes and the protected characteristics. Each engine runs
every scenario in one session (the histories read once, as ``build_dataset``
does; each scenario works out its cohort once); errors are results too (the same
message on both engines).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from riskscreen.features._labels import compute_labels, label_rules
from riskscreen.features._protected import compute_protected
from riskscreen.features._run import fill_medians, run_features
from riskscreen.features._session import Session

#: The scenario being run (read by the tests that record which SQL each one sends).
CURRENT: list[str] = [""]


@dataclass
class Scenario:
    """What to compute: ``cohort`` at ``dates``; features of ``spec``; labels of ``outcomes``."""

    name: str
    dates: list
    cohort: object = None
    spec: object = None
    outcomes: tuple = ()
    horizon: object = "6M"
    protected: bool = False
    extra: dict = field(default_factory=dict)


def run(histories, scenarios: list[Scenario], *, spark=None) -> dict[str, object]:
    """Every result of every scenario, keyed ``"<scenario>/<what>"`` (DuckDB if no ``spark``)."""
    out: dict[str, object] = {}
    with _session(histories, spark) as session:
        for sc in scenarios:
            CURRENT[0] = sc.name
            try:
                session.prepare(sc.dates, sc.cohort)
                out[f"{sc.name}/cohort"] = session.cohort_frame()
                if sc.spec is not None:
                    X = run_features(session, sc.spec)
                    out[f"{sc.name}/X"] = fill_medians(X, sc.spec, None)
                for outcome in sc.outcomes:
                    rules = label_rules(outcome, sc.horizon, owner="parity", **sc.extra)
                    y, report = compute_labels(session, rules)
                    out[f"{sc.name}/y:{rules.name}"] = y
                    out[f"{sc.name}/report:{rules.name}"] = report
                if sc.protected:
                    out[f"{sc.name}/protected"] = compute_protected(session)
            except Exception as exc:
                out[f"{sc.name}/error"] = f"{type(exc).__name__}: {exc}"
        out["end_of_data"] = session.end_of_data()
    return out


def _session(histories, spark):
    if spark is None:
        return Session(histories, owner="parity")
    from riskscreen.spark._session import SparkEngineSession

    return SparkEngineSession(histories, owner="parity", spark=spark)


def differences(expected: dict, got: dict, *, rtol: float = 1e-9) -> list[str]:
    """The keys whose results differ (values within ``rtol``), with the first difference."""
    out = []
    for key in sorted(set(expected) | set(got)):
        if key not in expected or key not in got:
            out.append(f"{key}: only on {'Spark' if key in got else 'DuckDB'}")
            continue
        a, b = expected[key], got[key]
        try:
            _assert_same(a, b, rtol)
        except AssertionError as exc:
            out.append(f"{key}: {str(exc).strip().splitlines()[0:6]}")
    return out


def _assert_same(a, b, rtol: float) -> None:
    if isinstance(a, pd.DataFrame):
        assert isinstance(b, pd.DataFrame), f"a frame against {type(b).__name__}"
        pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=rtol, atol=1e-12)
    elif isinstance(a, pd.Series):
        assert isinstance(b, pd.Series), f"a series against {type(b).__name__}"
        pd.testing.assert_series_equal(a, b, check_exact=False, rtol=rtol, atol=1e-12)
    elif isinstance(a, float) and isinstance(b, float):
        assert np.isclose(a, b, rtol=rtol, equal_nan=True), f"{a} != {b}"
    else:
        assert a == b or (pd.isna(a) and pd.isna(b)), f"{a!r} != {b!r}"
