"""An outcome in words, for every sentence riskscreen writes (one owner).

An outcome is given as a built-in name (``"suspension"``), several names joined
by ``"|"``, an object with ``name`` and ``words`` (a
:class:`riskscreen.features.Outcome`), or a tuple of those ("any of them").
"""

from __future__ import annotations

#: The built-in outcomes as verb phrases for the plain-English sentences.
OUTCOME_WORDS = {
    "suspension": "be suspended",
    "permanent_exclusion": "be permanently excluded",
    "missing_education": "become missing from education",
    "persistent_absence": "become persistently absent",
}


def _parts(outcome) -> list:
    if isinstance(outcome, (tuple, list)):
        return [q for p in outcome for q in _parts(p)]
    if isinstance(outcome, str):
        return [p for p in outcome.split("|") if p]
    return [outcome]


def outcome_label(outcome) -> str:
    """The outcome's name for tables and titles: ``"suspension|permanent_exclusion"``."""
    return "|".join(str(getattr(p, "name", p)) for p in _parts(outcome)) or "outcome"


def outcome_words(outcome) -> str:
    """The outcome as a verb phrase: "be suspended or be permanently excluded"."""
    words = [
        p.words if hasattr(p, "words") else OUTCOME_WORDS.get(p, f"have the outcome '{p}'")
        for p in _parts(outcome)
    ]
    return " or ".join(words) if words else "have the outcome"
