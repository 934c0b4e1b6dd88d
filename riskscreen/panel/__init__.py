"""Panel packs: a ranked list per school, what changed, and the panel's decisions back.

Concepts
--------
panel pack
    What a team-around-the-school panel reads (:func:`write_packs`,
    :func:`build_packs` -> :class:`PanelPacks`): the school's pupils ranked up to
    its capacity (the screening's flags, a share of the pupils screened there, or
    a number of places), with a pseudonymous reference, NC year, risk band, the
    top reasons in words (:mod:`riskscreen.explain`), **current involvement**
    (CP or CIN plan, looked after, EHC plan, SEN support, open early help, CME or
    EHE history) and **what changed** since the previous pack. Excel (formatted,
    printable, protected, drop-downs in the decision columns), print-friendly HTML
    and CSV, written atomically, with an authority summary whose counts under 5
    are suppressed. Names or UPNs appear only when an identity lookup is passed
    at export.
what changed
    Each listed pupil is new to the list, or moved up or down, or in the same
    place; each pupil who left the list left the school, or their risk fell, or
    they are below capacity.
decisions
    :func:`read_decisions` reads filled-in Excel packs into a checked table
    (:class:`Decisions`) and into rows for the ``interventions`` table ("Offer
    support" with its action); an edited, reordered, added or deleted row is
    refused with the school, row and column named.
list comparison
    :func:`compare_lists` (:class:`ListComparison`): overlap and Jaccard index of
    two screenings' lists, rank correlation, entries and exits with why;
    :func:`list_stability` for each consecutive pair of a sequence.

Example
-------
>>> from riskscreen.explain import explain  # doctest: +SKIP
>>> from riskscreen.panel import read_decisions, write_packs  # doctest: +SKIP
>>> explanation = explain(screener, screening, pupils="flagged")  # doctest: +SKIP
>>> paths = write_packs(screening, explanation, "packs/")  # doctest: +SKIP
>>> decisions = read_decisions("packs/")  # doctest: +SKIP
"""

from riskscreen.panel._compare import ListComparison, compare_lists, list_stability
from riskscreen.panel._decisions import Decisions, read_decisions
from riskscreen.panel._involvement import current_involvement
from riskscreen.panel._packs import ACTIONS, DECISION_COLUMNS, DECISIONS, PanelPacks, build_packs
from riskscreen.panel._write import write_packs

__all__ = [
    "ACTIONS",
    "DECISIONS",
    "DECISION_COLUMNS",
    "Decisions",
    "ListComparison",
    "PanelPacks",
    "build_packs",
    "compare_lists",
    "current_involvement",
    "list_stability",
    "read_decisions",
    "write_packs",
]
