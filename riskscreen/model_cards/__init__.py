"""Model cards and transparency records generated from every run.

Concepts
--------
model card
    :class:`ModelCard` (``ModelCard.from_run(screener, comparison, audit,
    explanation, ...)``) describes one fitted screener the way Mitchell et al.
    (2019) propose: model details (version, fit date, algorithm and
    hyperparameters, feature-spec hash, data fingerprint), intended use and the
    uses that are out of scope, the groups audited, metrics at the panel's
    capacity with intervals and in words, the comparison with rule baselines
    (paired verdicts, baselines that could not run), training and evaluation
    data (sources, dates, cohort sizes, label definition, censoring),
    quantitative analyses (calibration, the fairness audit with its
    intersections and disparities), the features in words with their global
    importance, ethical considerations and caveats, human oversight, and the
    fields only the authority can complete. It is generated, never written by
    hand, so it is as true as the run.
computed once, rendered many ways
    The card gathers the run's numbers once (``card.data``) and renders them
    as Markdown, a self-contained HTML page (plots inline as SVG: it opens and
    prints with no network) and JSON; ``card.write(folder)`` writes them all
    atomically with the record, and ``card.log(run)`` or
    ``riskscreen.tracking.track(..., card=card)`` adds them to the MLflow run.
transparency record
    :class:`TransparencyRecord` (``card.transparency_record()``) is the record
    UK public bodies publish under the Algorithmic Transparency Recording
    Standard: tier 1 in plain English, tier 2 in detail (owner and
    responsibility, description and rationale, decision-making process and
    human oversight, technical specification, data, risks and mitigations).
to complete by the authority
    Who owns the tool, the DPIA reference, the review date and a few more
    (:data:`AUTHORITY_FIELDS`) are passed as ``authority={...}``; until they
    are, every rendering marks them "To complete by the authority".
small numbers and identifiers
    Every count goes through riskscreen.evaluation's small-number rule (hidden
    under 5, with what would give it away); no pupil key, name or row is read.
reference card
    ``python -m riskscreen.model_cards --out model_cards``
    (:func:`write_reference_card`) regenerates the repository's reference card
    of the default model on the synthetic local authority.

Example
-------
>>> from riskscreen.model_cards import ModelCard  # doctest: +SKIP
>>> comparison = screener.evaluate(test)  # doctest: +SKIP
>>> card = ModelCard.from_run(screener, comparison, explanation=explanation,
...                           train_data=train, test_data=test)  # doctest: +SKIP
>>> card.write("model_card")  # doctest: +SKIP
"""

from riskscreen.model_cards._atrs import TransparencyRecord
from riskscreen.model_cards._authority import AUTHORITY_FIELDS
from riskscreen.model_cards._blocks import TO_COMPLETE, Section
from riskscreen.model_cards._card import ModelCard
from riskscreen.model_cards._reference import ReferenceRun, write_reference_card

__all__ = [
    "AUTHORITY_FIELDS",
    "TO_COMPLETE",
    "ModelCard",
    "ReferenceRun",
    "Section",
    "TransparencyRecord",
    "write_reference_card",
]
