"""Accuracy in words: "of 100 pupils flagged, about 4 (95% interval 3 to 5) go on to ...".

Practitioners read rates as counts out of a round number. The round number is
chosen so a real rate is never written "about 0" (10, else 100, else 1,000 ...)
and every count carries its interval.
"""

from __future__ import annotations

import numpy as np

from riskscreen._outcome_words import OUTCOME_WORDS, outcome_label, outcome_words

__all__ = ["OUTCOME_WORDS", "outcome_label", "outcome_words"]


def out_of(rate: float) -> int:
    """The round number (10, 100, ...) that writes ``rate`` as a count of at least 2."""
    base = 10
    while rate > 0 and rate * base < 2 and base < 100_000:
        base *= 10
    return base


def count_words(x: float) -> str:
    """A count in words: whole numbers, "under 1" for a real count below one half."""
    if np.isnan(x):
        return "n/a"
    if 0 < x < 0.5:
        return "under 1"
    return f"{x:.0f}"


def rate_phrase(rate: float, low: float, high: float, confidence: float, base: int) -> str:
    """'about 4 (95% interval 3 to 5)' for a rate read out of ``base``."""
    core = f"about {count_words(rate * base)}"
    if np.isnan(low) or np.isnan(high):
        return core
    return (
        f"{core} ({100 * confidence:.0f}% interval {count_words(low * base)} to "
        f"{count_words(high * base)})"
    )


def accuracy_sentence(
    name: str,
    precision: tuple[float, float, float],
    recall: tuple[float, float, float],
    *,
    outcome: str,
    confidence: float,
) -> str:
    """'{name}: of 10 pupils flagged, about 3 (...) go on to ...; of 10 pupils who ...'."""
    verb = outcome_words(outcome)
    p, r = precision, recall
    if np.isnan(p[0]):
        first = "no pupil was flagged"
    else:
        b = out_of(p[0])
        first = f"of {b:,} pupils flagged, {rate_phrase(*p, confidence, b)} go on to {verb}"
    if np.isnan(r[0]):
        second = f"no pupil went on to {verb}"
    else:
        b = out_of(r[0])
        second = (
            f"of {b:,} pupils who go on to {verb}, {rate_phrase(*r, confidence, b)} were flagged"
        )
    return f"{name}: {first}; {second}."
