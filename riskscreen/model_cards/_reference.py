"""The reference card: the default model on the default synthetic local authority.

:func:`write_reference_card` is what ``python -m riskscreen.model_cards --out
model_cards`` runs: the synthetic authority of
:func:`riskscreen.datasets.make_linked_histories` (20,000 pupils, seed 0), the
demo's as-of dates (:mod:`riskscreen.demo`), a LightGBM screener fitted on the
training dates and calibrated on a later one, evaluated with the rule baselines
and the fairness audit on a later date still, every flag explained, and the card
and ATRS record of that run written to the folder.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

SYNTHETIC_CAVEAT = (
    "This reference card describes a model trained on riskscreen's synthetic local "
    "authority (make_linked_histories, {n_pupils:,} pupils, seed {seed}), not on any real "
    "children: its numbers show what the library reports, not how a model performs on an "
    "authority's own data."
)


@dataclass(frozen=True)
class ReferenceRun:
    """What :func:`write_reference_card` produced (for tests and notebooks)."""

    card: object
    record: object
    paths: dict
    screener: object
    comparison: object
    explanation: object
    train: object
    test: object
    timings: dict = field(default_factory=dict)


def write_reference_card(
    out="model_cards",
    *,
    n_pupils: int = 20_000,
    seed: int = 0,
    model: str = "lightgbm",
    n_bootstrap: int = 200,
) -> ReferenceRun:
    """Fit the reference model on the synthetic authority and write its card and record.

    Parameters
    ----------
    out : path, default "model_cards"
        Folder for ``model_card.md`` (with ``figures/``), ``model_card.html``,
        ``model_card.json``, ``atrs_record.md`` and ``atrs_record.json``.
    n_pupils, seed : int
        The synthetic authority (:func:`riskscreen.datasets.make_linked_histories`).
    model : {"lightgbm", "scorecard"}, default "lightgbm"
    n_bootstrap : int, default 200
        Resamples of pupils for every interval.

    Returns
    -------
    ReferenceRun
    """
    from riskscreen import Screener
    from riskscreen.datasets import make_linked_histories
    from riskscreen.demo import CALIBRATION_DATE, TEST_DATE, TRAIN_DATES
    from riskscreen.explain import explain
    from riskscreen.features import build_dataset
    from riskscreen.model_cards._card import ModelCard

    timings = {}
    started = time.perf_counter()
    histories = make_linked_histories(n_pupils=n_pupils, seed=seed)
    train = build_dataset(histories, [*TRAIN_DATES, CALIBRATION_DATE], outcome="suspension")
    test = build_dataset(histories, [TEST_DATE], outcome="suspension", sensitive=True)
    timings["data"] = time.perf_counter() - started
    screener = Screener(model=model, n_bootstrap=n_bootstrap, random_state=seed).fit(train)
    comparison = screener.evaluate(test)
    screening = screener.score(test)
    explanation = explain(screener, screening, pupils="flagged", histories=histories)
    timings["model"] = time.perf_counter() - started - timings["data"]
    card = ModelCard.from_run(
        screener,
        comparison,
        explanation=explanation,
        train_data=train,
        test_data=test,
        title=f"riskscreen reference {model} model (synthetic local authority)",
        caveats=(SYNTHETIC_CAVEAT.format(n_pupils=n_pupils, seed=seed),),
    )
    paths = card.write(out)
    timings["total"] = time.perf_counter() - started
    return ReferenceRun(
        card=card,
        record=card.transparency_record(),
        paths=paths,
        screener=screener,
        comparison=comparison,
        explanation=explanation,
        train=train,
        test=test,
        timings=timings,
    )
