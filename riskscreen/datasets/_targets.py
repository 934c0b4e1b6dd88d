"""The published figures the synthetic local authority is calibrated to.

:data:`TARGETS` is the table behind :func:`~riskscreen.datasets.calibration_report`:
one :class:`Target` per reported figure and group, with its tolerance and the
publication it comes from. Most are national statistics for England from the
Department for Education (DfE) on Explore Education Statistics; where a target
is a modelling choice derived from published figures (a rounded or combined
value, a ratio of two published rates) rather than a published number, its
``derived`` text says how it was derived.

Rates and shares are fractions (0.04 = 4%); ratios are multiples.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ToleranceType = Literal["relative", "factor", "absolute"]

_EES = "https://explore-education-statistics.service.gov.uk/find-statistics/"
_DFE = "Department for Education"


@dataclass(frozen=True)
class Publication:
    """A statistics release (or report) that published calibration figures.

    Attributes
    ----------
    publisher : str
        Who published it.
    title : str
        Title of the release or report.
    year : str
        Academic or reporting year the figures refer to, e.g. ``"2022/23"``.
    url : str
        Where it is published.
    """

    publisher: str
    title: str
    year: str
    url: str

    def cite(self) -> str:
        """``publisher, "title", year, url``."""
        return f'{self.publisher}, "{self.title}", {self.year}, {self.url}'


@dataclass(frozen=True)
class Target:
    """One calibration target: a figure for a group of pupils (or schools).

    Attributes
    ----------
    figure, group : str
        What is measured, and for whom (as in the report).
    target : float
        The target value.
    tolerance : float
        The modelling tolerance; the report widens it to a sampling tolerance
        where the data are too few to be held to it.
    tolerance_type : {"relative", "factor", "absolute"}
        Within if ``|generated - target| <= tolerance * target``, if
        ``generated`` is within ``target */ tolerance``, or if
        ``|generated - target| <= tolerance``.
    publication : Publication
        Where the figure is published.
    published : str
        The published figure, in words.
    derived : str, default=""
        How the target was derived from the published figures; empty when the
        target is the published number itself.
    design_effect : float or "years", default=2.0
        Variance inflation for clustering used by sampling tolerances;
        ``"years"`` is the number of academic years in the data (the same
        pupils counted once a year).
    note : str, default="model tolerance"
        The report's note for a figure whose tolerance is fixed.
    """

    figure: str
    group: str
    target: float
    tolerance: float
    tolerance_type: ToleranceType
    publication: Publication
    published: str
    derived: str = ""
    design_effect: float | Literal["years"] = 2.0
    note: str = "model tolerance"

    @property
    def source(self) -> str:
        """The citation: publication and published figure, and any derivation."""
        cited = f"{self.publication.cite()} ({self.published})"
        return f"derived from {cited}: {self.derived}" if self.derived else cited


def _ees(title: str, year: str, slug: str) -> Publication:
    return Publication(_DFE, title, year, _EES + slug)


_EXCLUSIONS = "Suspensions and permanent exclusions in England"
_EXCLUSIONS_SLUG = "suspensions-and-permanent-exclusions-in-england"
EXCLUSIONS_2021 = _ees(_EXCLUSIONS, "2020/21", f"{_EXCLUSIONS_SLUG}/2020-21")
EXCLUSIONS_2223 = _ees(_EXCLUSIONS, "2022/23", f"{_EXCLUSIONS_SLUG}/2022-23")
EXCLUSIONS_2324 = _ees(_EXCLUSIONS, "2023/24", f"{_EXCLUSIONS_SLUG}/2023-24")
EXCLUSIONS_AUTUMN_2324 = _ees(
    _EXCLUSIONS, "autumn term 2023/24", f"{_EXCLUSIONS_SLUG}/2023-24-autumn-term"
)
TIMPSON = Publication(
    _DFE,
    "Timpson Review of School Exclusion",
    "2016/17",
    "https://www.gov.uk/government/publications/timpson-review-of-school-exclusion",
)
ABSENCE_2324 = _ees(
    "Pupil absence in schools in England", "2023/24", "pupil-absence-in-schools-in-england/2023-24"
)
ATTENDANCE_AUTUMN_2324 = _ees(
    "Pupil attendance in schools", "autumn term 2023/24", "pupil-attendance-in-schools"
)
_OUTCOMES_CIN = (
    "Outcomes for children in need, including children looked after by local authorities in England"
)
_OUTCOMES_CIN_SLUG = (
    "outcomes-for-children-in-need-including-children-looked-after-by-local-authorities-in-england"
)
OUTCOMES_CIN_2021 = _ees(_OUTCOMES_CIN, "2020/21", _OUTCOMES_CIN_SLUG)
OUTCOMES_CIN_2223 = _ees(_OUTCOMES_CIN, "2022/23", _OUTCOMES_CIN_SLUG)
CME_AUTUMN_2425 = _ees(
    "Children missing education", "autumn term 2024/25", "children-missing-education"
)
EHE_AUTUMN_2425 = _ees(
    "Elective home education", "autumn term 2024/25", "elective-home-education/2024-25-autumn-term"
)
_PUPILS = "Schools, pupils and their characteristics"
PUPILS_2324 = _ees(_PUPILS, "2023/24", "school-pupils-and-their-characteristics/2023-24")
PUPILS_2425 = _ees(_PUPILS, "2024/25", "school-pupils-and-their-characteristics/2024-25")
SEN_2425 = _ees(
    "Special educational needs in England",
    "2024/25",
    "special-educational-needs-in-england/2024-25",
)
CIN_2324 = _ees("Children in need", "2023/24", "children-in-need/2024")
CIN_1920 = _ees("Characteristics of children in need", "2019/20", "children-in-need")
KS4_1920 = _ees("Key stage 4 performance", "2019/20", "key-stage-4-performance")
CLA_2324 = _ees(
    "Children looked after in England including adoptions",
    "2023/24",
    "children-looked-after-in-england-including-adoptions/2024",
)

_SAMPLING_SHARE = "model tolerance (3 SE sampling ~ 0.03-0.05)"

# fmt: off
TARGETS: tuple[Target, ...] = (
    # ---- exclusions
    Target("one-plus suspension rate", "primary", 0.010, 0.25, "relative", EXCLUSIONS_2223,
           "0.82% of primary pupils suspended at least once",
           derived="scaled by the rise of the overall rate to 4.0% in 2023/24 and rounded"),
    Target("one-plus suspension rate", "secondary", 0.080, 0.15, "relative", EXCLUSIONS_2223,
           "7.12% of secondary pupils suspended at least once",
           derived="scaled by the rise of the overall rate to 4.0% in 2023/24 and rounded"),
    Target("one-plus suspension rate", "all", 0.040, 0.15, "relative", EXCLUSIONS_2324,
           "about 335,800 of 8.38 million pupils suspended at least once",
           derived="the share, 4.0%"),
    # Permanent exclusions cluster in a few schools: a local authority has few secondaries
    # and their exclusion cultures differ a lot (Timpson: 43% of secondaries had none in a
    # year, a few exclude often), so counts vary far more than binomially (design effect 4).
    Target("permanent exclusion rate", "primary", 0.0003, 0.3, "relative", EXCLUSIONS_2324,
           "permanent exclusion rate 0.13 per 100 pupils",
           derived="scaled by phase as in 2018/19 (primary 0.02, secondary 0.20, all 0.10 "
                   "per 100 pupils) and rounded", design_effect=4.0),
    Target("permanent exclusion rate", "secondary", 0.003, 0.2, "relative", EXCLUSIONS_2324,
           "permanent exclusion rate 0.13 per 100 pupils",
           derived="scaled by phase as in 2018/19 (primary 0.02, secondary 0.20, all 0.10 "
                   "per 100 pupils) and rounded", design_effect=4.0),
    Target("permanent exclusion rate", "all", 0.0013, 0.2, "relative", EXCLUSIONS_2324,
           "permanent exclusion rate 0.13 per 100 pupils", design_effect=4.0),
    Target("suspensions per suspended pupil", "all", 2.6, 0.15, "relative", EXCLUSIONS_2223,
           "2.59 suspensions per suspended pupil", derived="rounded"),
    Target("sessions per suspension", "all", 4.0, 0.15, "relative", EXCLUSIONS_2223,
           "5.03 days lost and 2.59 suspensions per suspended pupil",
           derived="about 1.9 days, i.e. 4 half-day sessions, per suspension"),
    Target("share of suspension reasons: persistent disruptive behaviour", "all", 0.50, 0.12,
           "relative", EXCLUSIONS_2324, "51% of the reasons given for suspensions",
           derived="rounded"),
    Target("year group with highest one-plus suspension rate", "NC year", 9, 1, "absolute",
           EXCLUSIONS_AUTUMN_2324, "most suspensions in Y9", note="within one year group"),
    Target("year group with highest permanent exclusion rate", "NC year", 10, 1, "absolute",
           EXCLUSIONS_AUTUMN_2324, "most permanent exclusions in Y10",
           note="within one year group"),
    # ---- relative risks (raw)
    Target("one-plus suspension ratio", "boys vs girls", 1.5, 1.35, "factor", EXCLUSIONS_2223,
           "boys about 1.5 times as likely to be suspended as girls"),
    Target("permanent exclusion ratio", "boys vs girls", 2.5, 1.45, "factor", EXCLUSIONS_2223,
           "boys about twice as likely to be permanently excluded as girls",
           derived="between this and the ratio of over 3 in 2016/17 (Timpson Review of School "
                   "Exclusion)", design_effect=4.0),
    Target("one-plus suspension ratio", "FSM vs not", 4.0, 1.3, "factor", EXCLUSIONS_2223,
           "pupils eligible for FSM about 4 times as likely to be suspended"),
    Target("permanent exclusion ratio", "FSM vs not", 6.0, 1.45, "factor", EXCLUSIONS_2223,
           "pupils eligible for FSM about 5 times as likely to be permanently excluded",
           derived="between this and 6.5 times in autumn 2023/24, rounded",
           design_effect=4.0),
    Target("one-plus suspension ratio", "SEN support vs no SEN", 4.0, 1.3, "factor",
           EXCLUSIONS_2223, "pupils with SEN support about 4 times as likely to be suspended"),
    Target("one-plus suspension ratio", "EHCP vs no SEN", 3.0, 1.35, "factor", EXCLUSIONS_2223,
           "pupils with an EHC plan about 3 times as likely to be suspended"),
    Target("one-plus suspension ratio", "SEMH vs no SEN", 10.0, 1.5, "factor", EXCLUSIONS_2021,
           "suspension rate 33.04 per 100 pupils with a primary need of SEMH, 2.43 with no SEN",
           derived="the ratio of event rates (about 14) lowered for pupils suspended at "
                   "least once and rounded"),
    Target("SEMH has the highest one-plus suspension rate of any primary need", "SEN", 1.0, 0.0,
           "absolute", EXCLUSIONS_2021,
           "pupils with SEMH have the highest suspension rate of any group",
           note="needs with >= 200 pupil-years; 1 = yes"),
    Target("one-plus suspension ratio", "CIN (not CP/CLA) vs all", 4.0, 1.3, "factor",
           OUTCOMES_CIN_2021,
           "8.73% of children in need but not on a protection plan or looked after suspended "
           "at least once, 2.20% of all pupils", derived="the ratio, rounded"),
    Target("permanent exclusion ratio", "CIN (not CP/CLA) vs all", 8.0, 1.6, "factor",
           OUTCOMES_CIN_2021,
           "0.38% of children in need but not on a protection plan or looked after "
           "permanently excluded, 0.047% of all pupils", derived="the ratio, rounded",
           design_effect=4.0),
    Target("one-plus suspension ratio", "Black Caribbean vs White British", 2.0, 1.5, "factor",
           TIMPSON, "Black Caribbean pupils 3 times as likely to be permanently excluded, "
           "before adjustment", derived="a lower raw ratio for suspension, a modelling choice"),
    Target("one-plus suspension ratio", "White & Black Caribbean vs White British", 2.0, 1.5,
           "factor", TIMPSON,
           "Mixed White and Black Caribbean pupils 2.5 times as likely to be permanently "
           "excluded, before adjustment",
           derived="a lower raw ratio for suspension, a modelling choice"),
    Target("one-plus suspension ratio", "Gypsy/Roma & Irish Traveller vs White British", 3.5,
           1.5, "factor", EXCLUSIONS_2021,
           "Gypsy/Roma pupils have the highest suspension rate, 15.28 per 100 pupils",
           derived="with the raw permanent exclusion ratio of 5.2 (Timpson Review of School "
                   "Exclusion), a raw ratio of 3-5, rounded"),
    Target("one-plus suspension ratio", "Indian & Chinese vs White British", 0.4, 1.5, "factor",
           TIMPSON, "Indian and Bangladeshi pupils about half as likely to be permanently "
           "excluded, after adjustment",
           derived="a raw ratio of 0.3-0.5 for Indian and Chinese pupils, rounded"),
    # ---- absence
    Target("persistent absence", "all", 0.20, 0.12, "relative", ABSENCE_2324,
           "20.0% of pupils persistently absent"),
    Target("severe absence", "all", 0.023, 0.3, "relative", ABSENCE_2324,
           "2.3% of pupils severely absent"),
    Target("overall absence rate", "all", 0.071, 0.15, "relative", ABSENCE_2324,
           "overall absence rate 7.1%"),
    Target("unauthorised absence rate", "all", 0.025, 0.25, "relative", ABSENCE_2324,
           "unauthorised absence rate 2.5%"),
    Target("persistent absence", "FSM", 0.33, 0.15, "relative", ATTENDANCE_AUTUMN_2324,
           "33.0% of pupils eligible for FSM persistently absent"),
    Target("persistent absence", "not FSM", 0.16, 0.15, "relative", ATTENDANCE_AUTUMN_2324,
           "15.6% of pupils not eligible for FSM persistently absent", derived="rounded"),
    Target("persistent absence", "EHCP", 0.35, 0.2, "relative", ATTENDANCE_AUTUMN_2324,
           "34.6% of pupils with an EHC plan persistently absent", derived="rounded",
           design_effect="years"),
    Target("persistent absence", "CIN (not CP/CLA)", 0.49, 0.2, "relative", OUTCOMES_CIN_2223,
           "48.8% of children in need but not on a protection plan or looked after "
           "persistently absent",
           derived="rounded", design_effect="years"),
    Target("severe absence", "CIN (not CP/CLA)", 0.10, 0.4, "relative", OUTCOMES_CIN_2223,
           "10.4% of children in need but not on a protection plan or looked after severely absent",
           derived="rounded", design_effect="years"),
    # ---- children missing education and home education, on the autumn census day
    Target("CME stock on census day", "compulsory age", 0.005, 0.3, "relative", CME_AUTUMN_2425,
           "39,200 children missing education, 0.5% of children aged 5-16"),
    Target("EHE stock on census day", "compulsory age", 0.014, 0.25, "relative",
           EHE_AUTUMN_2425, "111,700 children in elective home education, 1.4% of children "
           "aged 5-16"),
    # ---- population shares
    Target("population share", "FSM eligible", 0.24, 0.1, "relative", PUPILS_2324,
           "24.6% of pupils eligible for FSM in January 2024", derived="rounded",
           design_effect="years"),
    Target("population share", "SEN support", 0.14, 0.1, "relative", SEN_2425,
           "14.2% of pupils with SEN support in January 2025", derived="rounded",
           design_effect="years"),
    Target("population share", "EHC plan", 0.05, 0.15, "relative", SEN_2425,
           "5.3% of pupils with an EHC plan in January 2025, 4.8% in 2024",
           derived="between the 2024 and 2025 levels, rounded", design_effect="years"),
    Target("population share", "first language not English", 0.208, 0.12, "relative",
           PUPILS_2324, "20.8% of pupils with a first language other than English in "
           "January 2024", design_effect="years"),
    Target("population share", "White British", 0.60, 0.05, "relative", PUPILS_2425,
           "60.3% of pupils White British", derived="rounded", design_effect="years"),
    Target("population share", "Indian", 0.042, 0.15, "relative", PUPILS_2425,
           "4.2% of pupils Indian", design_effect="years"),
    Target("population share", "Pakistani", 0.047, 0.15, "relative", PUPILS_2425,
           "4.7% of pupils Pakistani", design_effect="years"),
    Target("population share", "Black African", 0.052, 0.15, "relative", PUPILS_2425,
           "5.2% of pupils Black African", design_effect="years"),
    Target("population share", "White & Black Caribbean", 0.016, 0.15, "relative", PUPILS_2425,
           "1.6% of pupils Mixed White and Black Caribbean", design_effect="years"),
    Target("population share", "children in need (31 March)", 0.033, 0.2, "relative",
           CIN_2324, "332.9 children in need per 10,000 children at 31 March 2024",
           derived="rounded", design_effect="years"),
    Target("population share", "child protection plan (31 March)", 0.0043, 0.3, "relative",
           CIN_1920, "42.8 children on a child protection plan per 10,000 children at "
           "31 March 2020", derived="rounded", design_effect="years"),
    Target("population share", "looked after (31 March)", 0.007, 0.3, "relative", CLA_2324,
           "70 children looked after per 10,000 children at 31 March 2024",
           design_effect="years"),
    # ---- schools
    Target("share of schools with no permanent exclusion in the year", "primary", 0.94, 0.05,
           "absolute", TIMPSON, "94% of primary schools issued no permanent exclusion"),
    Target("share of schools with no permanent exclusion in the year", "secondary", 0.43, 0.05,
           "absolute", TIMPSON, "43% of secondary schools issued no permanent exclusion"),
    # ---- who is missing or home educated, and who has SEN
    Target("boys' share of pupils with a CME spell", "all", 0.54, 0.06, "absolute",
           CME_AUTUMN_2425, "54% of children missing education male", note=_SAMPLING_SHARE),
    Target("girls' share of pupils with an EHE spell", "all", 0.51, 0.06, "absolute",
           EHE_AUTUMN_2425, "51% of children in elective home education female",
           note=_SAMPLING_SHARE),
    Target("boys' share", "EHC plan", 0.71, 0.08, "relative", SEN_2425,
           "71% of pupils with an EHC plan are boys in January 2025"),
    Target("boys' share", "SEN support", 0.61, 0.08, "relative", SEN_2425,
           "61% of pupils with SEN support are boys in January 2025"),
    # ---- special schools and FSM churn
    Target("population share", "special school", 0.018, 0.25, "relative", EXCLUSIONS_2223,
           "0.15 million of 8.43 million pupils in state-funded special schools",
           derived="the share, rounded", design_effect="years"),
    Target("ever-6 FSM share over census-day FSM share", "Y11", 1.1, 1.15, "factor", KS4_1920,
           "146,214 of 561,994 pupils at the end of key stage 4 disadvantaged (26.0%)",
           derived="the disadvantaged share (ever-6 FSM, looked after or adopted, about 26% "
                   "since 2018/19) over the 24% census-day FSM share the authority is tuned "
                   "to: with universal credit's protection few pupils lose FSM, so the ever-6 "
                   "share is only a little above the census-day share (it was about twice it "
                   "before 2018, when FSM was 14%)"),
)
# fmt: on
