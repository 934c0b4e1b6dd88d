"""How close a set of linked histories is to the published English rates.

:func:`calibration_report` works on the histories tables only (so also on data
loaded from disk). It reports one row per target of
:data:`~riskscreen.datasets._targets.TARGETS`, each computed by a small
per-figure function over the pupil-years at the January census (see
:func:`~riskscreen.datasets._census.pupil_years`). Rates are computed per
academic year and averaged over the years; ratios are ratios of the averaged
rates.

Tolerances are honest: each figure has a modelling tolerance (how close a
simple generator can be expected to get to a national figure from a different
year) and, for rare events and small groups, a sampling tolerance of three
standard errors at the data's own denominators, inflated by a design effect
for clustering (repeat years of the same pupils, pupils within schools). The
larger of the two is used and the ``note`` column says which.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial

import numpy as np
import pandas as pd

from riskscreen.datasets._census import academic_year, pupil_years
from riskscreen.datasets._targets import TARGETS, Target

# generated value, tolerance, note (and the tolerance type, when it is not the target's
# own); None when the data cannot give the figure
_Result = tuple[float, float, str] | tuple[float, float, str, str] | None

_BOUNDS = {
    "relative": lambda t, k: (t * (1 - k), t * (1 + k)),
    "factor": lambda t, k: (t / k, t * k),
    "absolute": lambda t, k: (t - k, t + k),
}


def calibration_report(histories) -> pd.DataFrame:
    """Compare linked histories with the published rates the generator is tuned to.

    Parameters
    ----------
    histories : LinkedHistories
        Synthetic or real linked histories (only the tables are used).

    Returns
    -------
    DataFrame
        One row per figure: ``figure``, ``group``, ``target``, ``generated``,
        ``tolerance`` and ``tolerance_type`` (``"relative"``: within if
        ``|generated - target| <= tolerance * target``; ``"factor"``: within if
        ``generated`` is within ``target */ tolerance``; ``"absolute"``:
        within if ``|generated - target| <= tolerance``), ``lower``,
        ``upper``, ``within`` (bool), ``source`` (the publication the target
        comes from: publisher, title, year and URL, the published figure and,
        where the target is a modelling choice derived from it, how it was
        derived) and ``note`` (how the tolerance was set).

    Notes
    -----
    Pupils counted in a year are those on roll at the January census (third
    Thursday in January), in NC years Reception to Y11 (from the birth month);
    characteristics are taken at the census, social-care status on 31 March,
    outcomes over the academic year (1 September - 31 August). CME and EHE are
    stocks on the autumn census day (first Thursday in October) among
    compulsory-age children (Y1-Y11) on roll or missing/home educated.
    Persistent absence is missing at least 10% of possible sessions; severe
    absence at least 50%.

    Examples
    --------
    >>> from riskscreen.datasets import calibration_report, make_linked_histories
    >>> report = calibration_report(make_linked_histories(n_pupils=1_200, n_years=1))
    >>> list(report.columns[:4])
    ['figure', 'group', 'target', 'generated']
    """
    data = _Data(histories)
    rows = []
    for t in TARGETS:
        result = _FIGURES[t.figure](data, t)
        if result is None:
            continue
        generated, tolerance, note = float(result[0]), float(result[1]), result[2]
        kind = result[3] if len(result) > 3 else t.tolerance_type
        target = float(t.target)
        lower, upper = _BOUNDS[kind](target, tolerance)
        within = generated >= lower - 1e-12 and generated <= upper + 1e-12
        rows.append(
            {
                "figure": t.figure,
                "group": t.group,
                "target": target,
                "generated": generated,
                "tolerance": tolerance,
                "tolerance_type": kind,
                "lower": lower,
                "upper": upper,
                "within": bool(within),
                "source": t.source,
                "note": note,
            }
        )
    return pd.DataFrame(rows)


class _Data:
    """The histories as the figures need them.

    ``py`` has one row per pupil-year at the January census, with 0/1 outcome
    columns; ``groups`` maps each group label of the targets to its pupil-years.
    """

    def __init__(self, histories) -> None:
        py, self.stocks = pupil_years(histories)
        if len(py) == 0:
            raise ValueError(
                "calibration_report needs pupils on roll at a January census with attendance "
                "records; the histories have none."
            )
        self.histories = histories
        self.n_years = float(max(py["year"].nunique(), 1))
        py["any_susp"] = (py["suspensions"] > 0).astype(float)
        possible = py["possible"]
        rate = np.where(possible > 0, py["absent"] / possible.where(possible > 0), 0)
        py["pa"] = (rate >= 0.1).astype(float)
        py["severe"] = (rate >= 0.5).astype(float)
        sen, eth, fsm = py["sen"].to_numpy(), py["ethnicity"].to_numpy(), py["fsm"].to_numpy()
        primary = (py["ncy"] <= 6).to_numpy()
        self.groups = {
            "all": np.ones(len(py), bool),
            "attending": (possible > 0).to_numpy(),
            "primary": primary,
            "secondary": ~primary,
            "boys": py["male"].to_numpy(),
            "girls": py["female"].to_numpy(),
            "FSM": fsm,
            "FSM eligible": fsm,
            "not FSM": ~fsm,
            "no SEN": sen == "none",
            "SEN support": sen == "K",
            "EHCP": sen == "E",
            "EHC plan": sen == "E",
            "SEMH": (py["primary_need"] == "SEMH").to_numpy(),
            "first language not English": py["eal"].to_numpy(),
            "CIN (not CP/CLA)": py["cino"].to_numpy(),
            "children in need (31 March)": py["cin"].to_numpy(),
            "child protection plan (31 March)": py["cp"].to_numpy(),
            "looked after (31 March)": py["lac"].to_numpy(),
            "special school": py["special"].to_numpy(),
            "Y11": (py["ncy"] == 11).to_numpy(),
            "White British": eth == "WBRI",
            "Black Caribbean": eth == "BCRB",
            "White & Black Caribbean": eth == "MWBC",
            "Gypsy/Roma & Irish Traveller": np.isin(eth, ["WROM", "WIRT"]),
            "Indian & Chinese": np.isin(eth, ["AIND", "CHNE"]),
            "Indian": eth == "AIND",
            "Pakistani": eth == "APKN",
            "Black African": eth == "BAFR",
        }
        self.py = py

    def design_effect(self, t: Target) -> float:
        """The target's design effect, with ``"years"`` resolved."""
        return self.n_years if t.design_effect == "years" else t.design_effect

    def compared(self, group: str) -> tuple[np.ndarray, np.ndarray]:
        """The pupil-years of ``"A vs B"``; ``"A vs not"`` compares A with the rest."""
        a, b = group.split(" vs ")
        return self.groups[a], (~self.groups[a] if b == "not" else self.groups[b])

    def mean_rate(self, mask, value: str) -> tuple[float, float, float]:
        """Average over years of the rate; also pooled events and denominator."""
        d = self.py.loc[mask]
        if len(d) == 0:
            return math.nan, 0.0, 0.0
        per_year = d.groupby("year")[value].mean()
        return float(per_year.mean()), float(d[value].sum()), float(len(d))


# ---------------------------------------------------------------------------------------
# Tolerances
# ---------------------------------------------------------------------------------------
def _relative(target: float, base: float, n: float, deff: float, at: str = "") -> tuple:
    """The model tolerance (relative), or a sampling tolerance where the data are too few.

    The sampling tolerance is a factor, 3 binomial standard errors of the log rate
    x sqrt(deff): its lower bound is always above zero, so a rare figure can fail
    both ways, and it narrows as the authority grows.
    """
    se = math.sqrt((1 - target) / (target * n)) if n > 0 else math.inf
    k = 3 * math.sqrt(deff) * se
    if k <= math.log1p(base):
        return base, f"model tolerance (3 SE sampling = x{math.exp(k):.2f})"
    return math.exp(k), f"sampling: 3 SE(log) x sqrt(deff={deff:g}) at n={int(n)}{at}", "factor"


def _fixed(generated, t: Target) -> _Result:
    """A figure held to the target's own (model) tolerance."""
    return generated, t.tolerance, t.note


# ---------------------------------------------------------------------------------------
# The figures
# ---------------------------------------------------------------------------------------
def _rate(data: _Data, t: Target, value: str, within: str = "all") -> _Result:
    """Share of the group's pupil-years with ``value`` (within ``within``)."""
    gen, _, n = data.mean_rate(data.groups[within] & data.groups[t.group], value)
    return (gen, *_relative(t.target, t.tolerance, n, data.design_effect(t)))


def _share(data: _Data, t: Target) -> _Result:
    """Share of all pupil-years in the group."""
    column = f"share: {t.group}"  # a 0/1 column, so that it is averaged like the rates
    data.py[column] = data.groups[t.group].astype(float)
    gen, _, n = data.mean_rate(data.groups["all"], column)
    return (gen, *_relative(t.target, t.tolerance, n, data.design_effect(t)))


def _ratio(data: _Data, t: Target, value: str) -> _Result:
    """Ratio of the rates of the two groups compared, with a factor tolerance."""
    mask_a, mask_b = data.compared(t.group)
    ga, ea, _ = data.mean_rate(mask_a, value)
    gb, eb, _ = data.mean_rate(mask_b, value)
    gen = ga / gb if gb > 0 else math.nan
    se = math.sqrt(1 / ea + 1 / eb) if ea > 0 and eb > 0 else math.inf
    deff, base = data.design_effect(t), t.tolerance
    k = max(math.log(base), 3 * math.sqrt(deff) * se)
    note = (
        f"sampling: 3 SE(log ratio) x sqrt(deff={deff:g}), events {int(ea)} vs {int(eb)}"
        if 3 * math.sqrt(deff) * se > math.log(base)
        else "model tolerance"
    )
    return gen, math.exp(k), note


def _per_suspended_pupil(data: _Data, t: Target) -> _Result:
    """Suspensions per suspended pupil, per year, averaged."""
    susp = data.py[data.py["suspensions"] > 0]
    per_pupil = susp.groupby("year").apply(
        lambda d: d["suspensions"].sum() / len(d), include_groups=False
    )
    return _fixed(per_pupil.mean(), t)


def _sessions_per_suspension(data: _Data, t: Target) -> _Result:
    """Sessions lost per suspension, per year, averaged."""
    susp = data.py[data.py["suspensions"] > 0]
    per_susp = susp.groupby("year").apply(
        lambda d: d["susp_sessions"].sum() / d["suspensions"].sum(), include_groups=False
    )
    return _fixed(per_susp.mean(), t)


def _disruptive_behaviour_share(data: _Data, t: Target) -> _Result:
    """Share of the (up to three) reasons given for suspensions that are ``DB``."""
    ex = data.histories.exclusions
    sus_ex = ex[ex["kind"] == "suspension"]
    reasons = pd.concat([sus_ex[c] for c in ("reason", "reason_2", "reason_3") if c in sus_ex])
    reasons = reasons.dropna()
    return _fixed(float((reasons == "DB").mean()) if len(reasons) else math.nan, t)


def _peak_year(data: _Data, t: Target, value: str) -> _Result:
    """The NC year with the highest rate of ``value``."""
    return _fixed(data.py.groupby("ncy")[value].mean().idxmax(), t)


def _semh_highest(data: _Data, t: Target) -> _Result:
    """1 if SEMH has the highest suspension rate of the (common) primary needs."""
    py = data.py
    need_rates = (
        py[~data.groups["no SEN"]].groupby("primary_need")["any_susp"].agg(["mean", "size"])
    )
    need_rates = need_rates[need_rates["size"] >= 200]
    return _fixed(float(len(need_rates) > 0 and need_rates["mean"].idxmax() == "SEMH"), t)


def _absence_rate(data: _Data, t: Target, value: str) -> _Result:
    """Sessions missed (``value``) over sessions possible, per year, averaged."""
    tot = data.py[data.groups["attending"]].groupby("year")[[value, "possible"]].sum()
    return _fixed((tot[value] / tot["possible"]).mean(), t)


def _census_stock(data: _Data, t: Target, kind: str) -> _Result:
    """CME or EHE on the autumn census day, as a share of compulsory-age children."""
    stocks = data.stocks
    if len(stocks) == 0:
        return None
    gen = float((stocks[kind] / stocks["population"]).mean())
    n = float(stocks["population"].mean())
    return (gen, *_relative(t.target, t.tolerance, n, 2.0, " per census"))


def _no_exclusion_schools(data: _Data, t: Target) -> _Result:
    """Share of the phase's schools with no permanent exclusion in the year (Timpson)."""
    h = data.histories
    schools = h.schools
    ids = schools.loc[schools["phase"] == t.group, "school_id"].to_numpy()
    years = sorted(academic_year(h.attendance["period_start"]).unique().tolist())
    if len(ids) == 0 or not years:
        return None
    ex = h.exclusions[h.exclusions["kind"] == "permanent"]
    ay = academic_year(ex["start_date"])
    counts = ex.groupby([ay.rename("year"), ex["school_id"]]).size()
    shares = [
        float((counts.get(y, pd.Series(dtype=float)).reindex(ids).fillna(0) == 0).mean())
        for y in years
    ]
    n = len(ids) * len(years)
    samp = 3 * math.sqrt(2.0) * math.sqrt(t.target * (1 - t.target) / n)
    tol = max(t.tolerance, samp)
    note = (
        f"sampling: 3 SE x sqrt(deff=2) at {n} school-years"
        if samp > t.tolerance
        else "model tolerance"
    )
    return float(np.mean(shares)), tol, note


def _missing_sex_share(data: _Data, t: Target, kind: str, sex: str) -> _Result:
    """Share of ``sex`` among the pupils with a spell of ``kind`` (CME or EHE)."""
    h = data.histories
    me = h.missing_education.merge(h.pupils[["pupil_id", "sex"]], on="pupil_id")
    sel = me.loc[me["kind"] == kind].drop_duplicates("pupil_id")
    if len(sel) == 0:
        return None
    return _fixed(float((sel["sex"] == sex).mean()), t)


def _fsm6_ratio(data: _Data, t: Target) -> _Result:
    """Ever-6 FSM share over census-day FSM share, among the group's pupil-years that
    the data reach six years back from."""
    py = data.py[data.groups[t.group] & data.py["fsm6"].notna()]
    if len(py) == 0:
        return None
    ratio = py.groupby("year")["fsm6"].mean() / py.groupby("year")["fsm"].mean()
    return _fixed(float(ratio.mean()), t)


def _boys_share(data: _Data, t: Target) -> _Result:
    """Boys' share of the group's pupil-years."""
    return _fixed(data.py.loc[data.groups[t.group], "male"].mean(), t)


_FIGURES: dict[str, Callable[[_Data, Target], _Result]] = {
    "one-plus suspension rate": partial(_rate, value="any_susp"),
    "permanent exclusion rate": partial(_rate, value="px"),
    "persistent absence": partial(_rate, value="pa", within="attending"),
    "severe absence": partial(_rate, value="severe", within="attending"),
    "population share": _share,
    "one-plus suspension ratio": partial(_ratio, value="any_susp"),
    "permanent exclusion ratio": partial(_ratio, value="px"),
    "suspensions per suspended pupil": _per_suspended_pupil,
    "sessions per suspension": _sessions_per_suspension,
    "share of suspension reasons: persistent disruptive behaviour": _disruptive_behaviour_share,
    "year group with highest one-plus suspension rate": partial(_peak_year, value="any_susp"),
    "year group with highest permanent exclusion rate": partial(_peak_year, value="px"),
    "SEMH has the highest one-plus suspension rate of any primary need": _semh_highest,
    "overall absence rate": partial(_absence_rate, value="absent"),
    "unauthorised absence rate": partial(_absence_rate, value="unauthorised"),
    "CME stock on census day": partial(_census_stock, kind="cme"),
    "EHE stock on census day": partial(_census_stock, kind="ehe"),
    "share of schools with no permanent exclusion in the year": _no_exclusion_schools,
    "boys' share of pupils with a CME spell": partial(_missing_sex_share, kind="cme", sex="M"),
    "girls' share of pupils with an EHE spell": partial(_missing_sex_share, kind="ehe", sex="F"),
    "boys' share": _boys_share,
    "ever-6 FSM share over census-day FSM share": _fsm6_ratio,
}
