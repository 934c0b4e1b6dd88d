"""What a label counts: the built-in outcomes, :class:`Outcome` objects for any source."""

from __future__ import annotations

from dataclasses import dataclass

from riskscreen._time import parse_duration

#: The built-in school outcomes, by name.
OUTCOMES = ("suspension", "permanent_exclusion", "missing_education", "persistent_absence")


@dataclass(frozen=True)
class CMEDefinition:
    """What counts as becoming a child missing education.

    Parameters
    ----------
    cme_spells : bool, default True
        A CME spell (``missing_education.kind == "cme"``) starting in the window.
    unknown_exits : bool, default True
        Leaving a school roll with ``leaving_reason == "unknown"`` in the window
        and not being on any other roll in the authority within
        ``reappear_within`` of the leaving date (a spell that starts by then and
        is still open after the leaving date).
    reappear_within : str, default "28D"
        Grace period for an unexplained exit to reappear on a roll.
    """

    cme_spells: bool = True
    unknown_exits: bool = True
    reappear_within: str = "28D"

    def validate(self) -> None:
        if not (self.cme_spells or self.unknown_exits):
            raise ValueError(
                "CMEDefinition needs cme_spells=True or unknown_exits=True (or both). "
                "Got both False."
            )
        parse_duration(self.reappear_within, parameter="reappear_within", owner="CMEDefinition")


@dataclass(frozen=True)
class Outcome:
    """An outcome over any source: an event (or a spell starting or ending) in the window.

    The label is True when a row of ``source`` (matching ``where``) has its date
    in ``[as_of, as_of + horizon)``: its event date (or spell start) with
    ``at="start"``, the spell's end date with ``at="end"``. Censoring is as for
    the built-in outcomes (a pupil who leaves the authority's rolls for another
    authority or abroad with no outcome is <NA>).

    Parameters
    ----------
    name : str
        snake_case name of the label (e.g. ``"withdrawal"``).
    source : str
        A canonical table or a custom source.
    where : Condition, dict or list, optional
        Which rows count (as for :class:`Feature`).
    at : {"start", "end"}, default "start"
    words : str, optional
        The outcome as a verb phrase for the plain-English sentences, e.g.
        ``"withdraw from the course"`` ("of 10 learners flagged, about 4 go on to
        withdraw from the course"). Default: "have the outcome '<name>'".

    Examples
    --------
    >>> from riskscreen.features import Col, Outcome
    >>> Outcome("withdrawal", "registrations", where=Col("status") == "withdrawn",
    ...         at="end", words="withdraw from the course").words
    'withdraw from the course'
    """

    name: str
    source: str
    where: object = None
    at: str = "start"
    words: str = ""

    def __post_init__(self) -> None:
        from riskscreen.features._spec import _NAME, _as_condition

        if not isinstance(self.name, str) or not _NAME.match(self.name) or self.name in OUTCOMES:
            raise ValueError(
                "The 'name' parameter of Outcome must be snake_case and not a built-in "
                f"outcome ({list(OUTCOMES)}). Got {self.name!r} instead."
            )
        if not isinstance(self.source, str) or not self.source:
            raise ValueError(
                f"The 'source' parameter of Outcome must name a table. Got {self.source!r}."
            )
        if self.at not in ("start", "end"):
            raise ValueError(
                f"The 'at' parameter of Outcome must be 'start' or 'end'. Got {self.at!r}."
            )
        object.__setattr__(self, "where", _as_condition(self.where))
        if not self.words:
            object.__setattr__(self, "words", f"have the outcome '{self.name}'")


def outcome_name(part) -> str:
    return part.name if isinstance(part, Outcome) else part


def parse_outcome(outcome, owner: str = "make_labels") -> tuple:
    """The outcome as a tuple of built-in names and :class:`Outcome` objects (any of them)."""
    if isinstance(outcome, str):
        parts = tuple(p.strip() for p in outcome.split("|"))
    elif isinstance(outcome, Outcome):
        parts = (outcome,)
    elif isinstance(outcome, (tuple, list)) and all(isinstance(p, (str, Outcome)) for p in outcome):
        parts = tuple(outcome)
    else:
        parts = ()
    bad = [p for p in parts if isinstance(p, str) and p not in OUTCOMES]
    if not parts or bad:
        raise ValueError(
            f"The 'outcome' parameter of {owner} must be one of {list(OUTCOMES)}, an "
            "Outcome (for any source), a tuple of them or a '|'-joined string such as "
            f"'suspension|permanent_exclusion'. Got {outcome!r} instead."
        )
    return tuple(dict.fromkeys(parts))
