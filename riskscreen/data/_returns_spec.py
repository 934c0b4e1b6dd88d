"""What the statutory returns look like, per collection year: files, columns, code lists.

The loaders of :func:`riskscreen.data.read_returns` and the synthetic authority's
:func:`riskscreen.datasets.write_returns` both read this module, so the two sides
agree on every column name, code and date format.

Collection years are versioned the way the sector's pipelines version them: a
base specification plus the changes made in later years (:class:`YearChange`).
The changes modelled are the ones that alter what a loader accepts:

- school census, 2020/21: exclusions carry up to three reasons
  (``reason1``-``reason3``) instead of one ``reason``, and ``OT`` (other) is
  withdrawn;
- school census, 2024/25: the attendance codes of the 2024 registration
  regulations (``C1``, ``C2``, ``J1``, ``K``, ``Q``, ``Y1``-``Y7``) arrive and
  ``H``, ``J`` and ``Y`` are kept for back data only;
- school census, 2025/26: new extended ethnicity codes;
- CIN census, 2024/25: ``GenderCurrent`` (1/2/0/9) becomes ``Sex`` (M/F/U).

A collection year is named by the calendar year it starts in (2020 = 2020/21).
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field

# --------------------------------------------------------------------------------- UPNs

_UPN_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"
"""The 23 check letters of a unique pupil number (no I, O or S)."""


def upn_check_letter(body: str) -> str:
    """The DfE check letter of a UPN's last 12 characters.

    Characters 2-13 are weighted 2-13, summed and taken modulo 23; a letter in
    position 13 (a temporary UPN) counts as its place in the check alphabet.
    """
    total = 0
    for weight, ch in enumerate(body, start=2):
        total += weight * (int(ch) if ch.isdigit() else _UPN_LETTERS.index(ch))
    return _UPN_LETTERS[total % 23]


def valid_upn(upn: object) -> bool:
    """Whether ``upn`` is a well-formed UPN whose check letter is right."""
    if not isinstance(upn, str) or len(upn) != 13:
        return False
    body = upn[1:]
    if not (body[:11].isdigit() and (body[11].isdigit() or body[11] in _UPN_LETTERS)):
        return False
    return upn[0] == upn_check_letter(body)


UPN_UNKNOWN_CODES = {
    "UN1": "Not of school age, no UPN yet",
    "UN2": "Never attended a maintained school in England",
    "UN3": "Educated outside England",
    "UN4": "Newly registered or looked after, UPN not yet known",
    "UN5": "Source discrepancies prevent reliable matching",
    "UN6": "Other",
    "UN7": "Referral with no further action",
}

# ---------------------------------------------------------------------------- censuses

TERMS = ("autumn", "spring", "summer")


def easter_sunday(year: int) -> _dt.date:
    """Easter Sunday of ``year`` (Gregorian calendar, anonymous algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    g = (8 * b + 13) // 25
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    j = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * j) // 451
    month, day = divmod(h + j - 7 * m + 114, 31)
    return _dt.date(year, month, day + 1)


def _nth_thursday(year: int, month: int, n: int) -> _dt.date:
    first = _dt.date(year, month, 1)
    return first + _dt.timedelta(days=(3 - first.weekday()) % 7 + 7 * (n - 1))


def census_day(academic_year: int, term: str) -> _dt.date:
    """Census day: first Thursday of October, third Thursday of January and of May."""
    if term == "autumn":
        return _nth_thursday(academic_year, 10, 1)
    if term == "spring":
        return _nth_thursday(academic_year + 1, 1, 3)
    return _nth_thursday(academic_year + 1, 5, 3)


def term_window(academic_year: int, term: str) -> tuple[_dt.date, _dt.date]:
    """First and last day of a term as the census counts it.

    Autumn 1 August - 31 December, spring 1 January - Easter Sunday, summer
    Easter Monday - 31 July.
    """
    easter = easter_sunday(academic_year + 1)
    if term == "autumn":
        return _dt.date(academic_year, 8, 1), _dt.date(academic_year, 12, 31)
    if term == "spring":
        return _dt.date(academic_year + 1, 1, 1), easter
    return easter + _dt.timedelta(days=1), _dt.date(academic_year + 1, 7, 31)


def reported_term(academic_year: int, term: str) -> tuple[int, str]:
    """The term whose attendance and exclusions a census reports: the one before it."""
    if term == "autumn":
        return academic_year - 1, "summer"
    return academic_year, "autumn" if term == "spring" else "spring"


def census_file_prefix(academic_year: int, term: str) -> str:
    """``<calendar year of the census>_<term>``, e.g. ``2025_spring`` for spring 2024/25."""
    year = academic_year if term == "autumn" else academic_year + 1
    return f"{year}_{term}"


def parse_census_prefix(prefix: str) -> tuple[int, str] | None:
    """``(academic year, term)`` of a file prefix such as ``2025_spring``, or None."""
    year, _, term = prefix.partition("_")
    if not year.isdigit() or term not in TERMS:
        return None
    return (int(year) if term == "autumn" else int(year) - 1), term


# ------------------------------------------------------------------ per-year changes


@dataclass(frozen=True)
class YearChange:
    """A change to a return's specification from one collection year on.

    Parameters
    ----------
    year : int
        First collection year the change applies to (2020 = 2020/21).
    add_codes, remove_codes : dict of str to tuple of str
        Codes that become valid / stop being valid, by code list name.
    rename : dict of str to str
        Columns renamed (old name -> new name).
    note : str
        What changed, in words.
    """

    year: int
    add_codes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    remove_codes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    rename: dict[str, str] = field(default_factory=dict)
    note: str = ""


@dataclass(frozen=True)
class ReturnSpec:
    """One return: its base code lists and its yearly changes."""

    name: str
    codes: dict[str, tuple[str, ...]]
    changes: tuple[YearChange, ...] = ()

    def codes_for(self, year: int, name: str) -> frozenset[str]:
        """The valid codes of list ``name`` in collection year ``year``."""
        codes = set(self.codes[name])
        for change in sorted(self.changes, key=lambda c: c.year):
            if change.year <= year:
                codes |= set(change.add_codes.get(name, ()))
                codes -= set(change.remove_codes.get(name, ()))
        return frozenset(codes)

    def column(self, year: int, name: str) -> str:
        """The name a column has in ``year`` (after any renames)."""
        for change in sorted(self.changes, key=lambda c: c.year):
            if change.year <= year:
                name = change.rename.get(name, name)
        return name


_OLD_REASONS = ("PP", "PA", "VP", "VA", "BU", "RA", "SM", "DA", "DM", "TH", "DB", "OT")
_NEW_REASONS = ("OW", "LG", "DS", "MT", "PH")
# Absence codes counted as authorised / unauthorised absence; the rest are not absences
# (attendance, approved educational activity, or sessions not possible).
_AUTHORISED_2015 = ("C", "E", "H", "I", "M", "R", "S", "T", "J")
_UNAUTHORISED = ("G", "N", "O", "U")
_NOT_COUNTED_2015 = ("X", "Y", "Z", "#")
_AUTHORISED_2024 = ("C1", "C2", "J1")
_NOT_COUNTED_2024 = ("K", "Q", "Y1", "Y2", "Y3", "Y4", "Y5", "Y6", "Y7")

SCHOOL_CENSUS = ReturnSpec(
    "school census",
    codes={
        "sex": ("M", "F"),
        "category": ("PERM", "FIXD", "SUSP", "LNCH"),
        "reason": _OLD_REASONS,
        "authorised": _AUTHORISED_2015,
        "unauthorised": _UNAUTHORISED,
        "not_counted": _NOT_COUNTED_2015,
        "senprovision": ("N", "K", "E", "S", "A", "P"),
    },
    changes=(
        YearChange(
            2020,
            add_codes={"reason": _NEW_REASONS},
            remove_codes={"reason": ("OT",)},
            rename={"reason": "reason1"},
            note="Up to three reasons per exclusion (reason1-reason3); OT withdrawn.",
        ),
        YearChange(
            2024,
            add_codes={"authorised": _AUTHORISED_2024, "not_counted": _NOT_COUNTED_2024},
            note="Attendance codes of the 2024 registration regulations.",
        ),
        YearChange(
            2025,
            add_codes={"ethnicity": ("ABRI", "AWEL", "BBRI", "BWEL", "ORAB")},
            note="New extended ethnicity codes.",
        ),
    ),
)

CIN_CENSUS = ReturnSpec(
    "CIN census",
    codes={"GenderCurrent": ("0", "1", "2", "9")},
    changes=(
        YearChange(
            2024,
            add_codes={"GenderCurrent": ("M", "F", "U")},
            remove_codes={"GenderCurrent": ("0", "1", "2", "9")},
            rename={"GenderCurrent": "Sex"},
            note="GenderCurrent (1/2/0/9) replaced by Sex (M/F/U).",
        ),
    ),
)

CIN_SEX = {"1": "M", "2": "F", "0": "U", "9": "U", "M": "M", "F": "F", "U": "U"}
SSDA903_SEX = {"1": "M", "2": "F"}

# Extended (CBDS) ethnicity codes that roll up to a main code; main codes map to themselves.
_ROLL_UP = {
    "WBRI": "WBRI WCOR WENG WNIR WSCO WWEL WOWB",
    "WOTH": "WOTH WALB WBOS WCRO WGRE WGRK WGRC WITA WKOS WPOR WSER WTUR WTUK WTUC WEUR "
    "WEEU WWEU WOTW",
    "WROM": "WROM WROG WROR WROO",
    "MWAS": "MWAS MWAP MWAI MWAO",
    "MOTH": "MOTH MAOE MABL MACH MBOE MBCH MCOE MWOE MWCH MOTM",
    "APKN": "APKN AMPK AKPA AOPK",
    "AOTH": "AOTH AAFR AKAO ANEP ASNL ASLT ASRO AOTA ABRI AWEL",
    "BAFR": "BAFR BANN BCON BGHA BNGN BSLN BSOM BSUD BAOF",
    "BOTH": "BOTH BEUR BNAM BOTB BBRI BWEL",
    "CHNE": "CHNE CHKC CMAL CSNG CTWN COCH",
    "OOTH": "OOTH OAFG OARA OEGY OFIL OIRN OIRQ OJPN OKOR OKRD OLAM OLEB OLIB OMAL OMRC "
    "OPOL OTHA OVIE OYEM OOEG ORAB",
}
_MAIN = ("WIRI", "WIRT", "MWBC", "MWBA", "AIND", "ABAN", "BCRB", "REFU", "NOBT")
ETHNICITY_ROLL_UP: dict[str, str] = {code: code for code in _MAIN}
for _main, _codes in _ROLL_UP.items():
    ETHNICITY_ROLL_UP.update({code: _main for code in _codes.split()})
EXTENDED_2025 = frozenset(("ABRI", "AWEL", "BBRI", "BWEL", "ORAB"))

# ------------------------------------------------------------------- local registers

# Grounds for deleting a pupil from roll, as an authority's deletions register records
# them, and the canonical leaving reason each one becomes.
DELETION_GROUNDS: dict[str, str] = {
    "TRANSFER": "transfer",
    "PHASE": "phase_transfer",
    "OTHERLA": "other_la",
    "ABROAD": "abroad",
    "EHE": "ehe",
    "PERMEX": "permanent_exclusion",
    "COMPLETED": "completed",
    "MANAGED": "managed_move",
    "UNKNOWN": "unknown",
    "OTHER": "other",
}

MISSING_EDUCATION_KINDS = {"CME": "cme", "EHE": "ehe"}

REGISTER_IDENTITY = ("upn", "forename", "surname", "dob", "sex", "postcode")
"""Identity columns every local register may carry (used only for linkage)."""

REGISTERS: dict[str, tuple[str, ...]] = {
    "missing_education": ("kind", "start_date", "end_date", "reason"),
    "roll_deletions": ("school_urn", "entry_date", "deletion_date", "ground"),
    "ap_placements": ("setting_urn", "start_date", "end_date", "attendance_pattern"),
    "early_help": ("start_date", "end_date"),
    "interventions": ("kind", "start_date", "end_date"),
}
"""The documented register files (``registers/<name>.csv``): their required columns."""

# --------------------------------------------------------------------------- dates

CENSUS_DATE_FORMAT = "%Y-%b-%d %H:%M:%S"
"""The school census extracts' date format, e.g. ``2025-Feb-14 00:00:00``."""
