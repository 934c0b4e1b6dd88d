"""How close a set of linked histories is to the published English rates.

:func:`calibration_report` works on the histories tables only (so also on data
loaded from disk): it builds one row per pupil and academic year for the pupils
on roll at the January census, with their characteristics at the census (FSM,
SEN, year group) and social-care status on 31 March, and their outcomes over
the year (suspensions, permanent exclusions, absence). Rates are computed per
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

import numpy as np
import pandas as pd

# Design effect for permanent exclusions: a local authority has few secondaries and
# their exclusion cultures differ a lot (Timpson: 43% of secondaries no PX in a year,
# a few exclude often), so PX counts vary between authorities far more than binomially.
_DEFF_PX = 4.0
_SOCIAL_CARE_CIN = ("referral", "assessment", "cin_plan", "cp_plan", "looked_after")


def _academic_year(dates: pd.Series) -> pd.Series:
    return dates.dt.year - (dates.dt.month < 9).astype("int64")


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> pd.Timestamp:
    first = pd.Timestamp(year=year, month=month, day=1)
    offset = (weekday - first.weekday()) % 7
    return first + pd.Timedelta(days=offset + 7 * (n - 1))


def _open_at(frame: pd.DataFrame, start: str, end: str, day: pd.Timestamp) -> pd.Series:
    ok = (frame[start] <= day) & (frame[end].isna() | (frame[end] >= day))
    return ok.to_numpy()


def _pupil_years(h) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per pupil on roll at each January census, and the census-day stocks."""
    pupils = h.pupils.set_index("pupil_id")
    birth = pupils["birth_month"]
    birth_ay = _academic_year(birth)
    enrol = h.enrolments
    att = h.attendance
    exc = h.exclusions
    years = sorted(set(_academic_year(att["period_start"]).unique().tolist()))
    att_ay = _academic_year(att["period_start"]).to_numpy()
    exc_ay = _academic_year(exc["start_date"]).to_numpy()
    rows = []
    stocks = []
    for y in years:
        jan = _nth_weekday(y + 1, 1, 3, 3)
        oct_ = _nth_weekday(y, 10, 3, 1)
        mar31 = pd.Timestamp(year=y + 1, month=3, day=31)
        on = enrol.loc[_open_at(enrol, "entry_date", "leaving_date", jan), "pupil_id"].unique()
        py = pd.DataFrame({"pupil_id": on, "year": y})
        py["ncy"] = (y - 5 - birth_ay.reindex(on)).to_numpy()
        py = py[(py["ncy"] >= 0) & (py["ncy"] <= 11)]
        py["male"] = (pupils["sex"].reindex(py["pupil_id"]) == "M").to_numpy()
        py["female"] = (pupils["sex"].reindex(py["pupil_id"]) == "F").to_numpy()
        py["ethnicity"] = pupils["ethnicity"].reindex(py["pupil_id"]).to_numpy()
        lang = pupils["first_language"].reindex(py["pupil_id"])
        py["eal"] = (lang.notna() & (lang != "ENG")).to_numpy()
        fsm_ids = h.fsm.loc[_open_at(h.fsm, "start_date", "end_date", jan), "pupil_id"]
        py["fsm"] = py["pupil_id"].isin(fsm_ids).to_numpy()
        sen = h.sen[_open_at(h.sen, "start_date", "end_date", jan)]
        sen = sen.sort_values("provision").drop_duplicates("pupil_id", keep="first")  # E < K
        sen = sen.set_index("pupil_id")
        py["sen"] = sen["provision"].reindex(py["pupil_id"]).fillna("none").to_numpy()
        py["primary_need"] = sen["primary_need"].reindex(py["pupil_id"]).to_numpy()
        sc = h.social_care[_open_at(h.social_care, "start_date", "end_date", mar31)]
        ids = py["pupil_id"]
        py["cin"] = ids.isin(sc.loc[sc["kind"].isin(_SOCIAL_CARE_CIN), "pupil_id"]).to_numpy()
        py["cp"] = ids.isin(sc.loc[sc["kind"] == "cp_plan", "pupil_id"]).to_numpy()
        py["lac"] = ids.isin(sc.loc[sc["kind"] == "looked_after", "pupil_id"]).to_numpy()
        py["cino"] = py["cin"] & ~py["cp"] & ~py["lac"]
        # outcomes over the academic year
        ex = exc[exc_ay == y]
        sus = ex[ex["kind"] == "suspension"]
        n_sus = sus.groupby("pupil_id").size()
        sess = sus.groupby("pupil_id")["sessions"].sum()
        n_px = ex[ex["kind"] == "permanent"].groupby("pupil_id").size()
        py["suspensions"] = n_sus.reindex(py["pupil_id"]).fillna(0).to_numpy()
        py["susp_sessions"] = sess.reindex(py["pupil_id"]).fillna(0).to_numpy()
        py["px"] = n_px.reindex(py["pupil_id"]).fillna(0).to_numpy()
        a = att[att_ay == y]
        g = a.groupby("pupil_id")[
            ["sessions_possible", "sessions_authorised_absent", "sessions_unauthorised_absent"]
        ].sum()
        g = g.reindex(py["pupil_id"]).fillna(0)
        py["possible"] = g["sessions_possible"].to_numpy()
        py["absent"] = (
            g["sessions_authorised_absent"] + g["sessions_unauthorised_absent"]
        ).to_numpy()
        py["unauthorised"] = g["sessions_unauthorised_absent"].to_numpy()
        rows.append(py)
        # census-day stocks of CME and EHE among compulsory-age children (Y1-Y11)
        on_oct = enrol.loc[_open_at(enrol, "entry_date", "leaving_date", oct_), "pupil_id"]
        me = h.missing_education[_open_at(h.missing_education, "start_date", "end_date", oct_)]
        ids = pd.Index(on_oct.unique()).union(pd.Index(me["pupil_id"].unique()))
        ncy = y - 5 - birth_ay.reindex(ids)
        comp = ids[((ncy >= 1) & (ncy <= 11)).to_numpy()]
        me = me[me["pupil_id"].isin(comp)]
        stocks.append(
            {
                "year": y,
                "population": len(comp),
                "cme": me.loc[me["kind"] == "cme", "pupil_id"].nunique(),
                "ehe": me.loc[me["kind"] == "ehe", "pupil_id"].nunique(),
            }
        )
    py = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()
    return py, pd.DataFrame(stocks)


class _Figures:
    def __init__(self, py: pd.DataFrame, n_years: int) -> None:
        self.py = py
        self.rows: list[dict] = []
        self.n_years = max(n_years, 1)

    def _mean_rate(self, mask, value) -> tuple[float, float, float]:
        """Average over years of the rate; also pooled events and denominator."""
        d = self.py.loc[mask]
        if len(d) == 0:
            return math.nan, 0.0, 0.0
        per_year = d.groupby("year")[value].mean()
        return float(per_year.mean()), float(d[value].sum()), float(len(d))

    def add(self, figure, group, target, generated, tol, tol_type, source, note="", **kw):
        self.rows.append(
            dict(
                figure=figure,
                group=group,
                target=float(target),
                generated=float(generated),
                tolerance=float(tol),
                tolerance_type=tol_type,
                source=source,
                note=note,
                **kw,
            )
        )

    def rate(self, figure, group, mask, value, target, base, source, deff=2.0, binary=True):
        gen, events, n = self._mean_rate(mask, value)
        se = math.sqrt((1 - target) / (target * n)) if (n > 0 and binary) else 0.0
        samp = 3 * math.sqrt(deff) * se
        tol = max(base, samp)
        note = (
            f"sampling: 3 SE x sqrt(deff={deff:g}) at n={int(n)}"
            if samp > base
            else f"model tolerance (3 SE sampling = {samp:.0%})"
        )
        if tol >= 1:
            note += "; lower bound 0: at this sample size only an excess can be detected"
        self.add(figure, group, target, gen, tol, "relative", source, note)

    def ratio(self, figure, group, mask_a, mask_b, value, target, base, source, deff=2.0):
        ga, ea, _ = self._mean_rate(mask_a, value)
        gb, eb, _ = self._mean_rate(mask_b, value)
        gen = ga / gb if gb > 0 else math.nan
        se = math.sqrt(1 / ea + 1 / eb) if ea > 0 and eb > 0 else math.inf
        k = max(math.log(base), 3 * math.sqrt(deff) * se)
        note = (
            f"sampling: 3 SE(log ratio) x sqrt(deff={deff:g}), events {int(ea)} vs {int(eb)}"
            if 3 * math.sqrt(deff) * se > math.log(base)
            else "model tolerance"
        )
        self.add(figure, group, target, gen, math.exp(k), "factor", source, note)


def _school_figures(f: _Figures, h, ny: float) -> None:
    """Share of schools with no permanent exclusion in an academic year (Timpson)."""
    schools = h.schools
    if len(schools) == 0:
        return
    ex = h.exclusions[h.exclusions["kind"] == "permanent"]
    ay = _academic_year(ex["start_date"])
    years = sorted(_academic_year(h.attendance["period_start"]).unique().tolist())
    counts = ex.groupby([ay.rename("year"), ex["school_id"]]).size()
    src = "B1 Timpson 2016/17: 94% of primaries and 43% of secondaries had no PX in the year"
    for phase, target in (("primary", 0.94), ("secondary", 0.43)):
        ids = schools.loc[schools["phase"] == phase, "school_id"].to_numpy()
        if len(ids) == 0 or not years:
            continue
        shares = [
            float((counts.get(y, pd.Series(dtype=float)).reindex(ids).fillna(0) == 0).mean())
            for y in years
        ]
        n = len(ids) * len(years)
        samp = 3 * math.sqrt(2.0) * math.sqrt(target * (1 - target) / n)
        tol = max(0.05, samp)
        note = (
            f"sampling: 3 SE x sqrt(deff=2) at {n} school-years"
            if samp > 0.05
            else "model tolerance"
        )
        f.add(
            "share of schools with no permanent exclusion in the year",
            phase,
            target,
            float(np.mean(shares)),
            tol,
            "absolute",
            src,
            note,
        )


def _missing_education_sex(f: _Figures, h) -> None:
    """Sex split of the pupils with a CME or EHE spell."""
    me = h.missing_education.merge(h.pupils[["pupil_id", "sex"]], on="pupil_id")
    for kind, sex, target, src in (
        ("cme", "M", 0.54, "B1 CME on census day 54% male (autumn 2024)"),
        ("ehe", "F", 0.51, "B1 EHE on census day 51% female (autumn 2024)"),
    ):
        sel = me.loc[me["kind"] == kind].drop_duplicates("pupil_id")
        if len(sel) == 0:
            continue
        word = "boys" if sex == "M" else "girls"
        f.add(
            f"{word}' share of pupils with {'an' if kind == 'ehe' else 'a'} {kind.upper()} spell",
            "all",
            target,
            float((sel["sex"] == sex).mean()),
            0.06,
            "absolute",
            src,
            "model tolerance (3 SE sampling ~ 0.03-0.05)",
        )


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
        ``upper``, ``within`` (bool), ``source`` (the row of
        ``shared/reference/uk_data.md`` the target comes from) and ``note``
        (how the tolerance was set).

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
    py, stocks = _pupil_years(histories)
    n_years = py["year"].nunique() if len(py) else 0
    f = _Figures(py, n_years)
    if len(py) == 0:
        raise ValueError(
            "calibration_report needs pupils on roll at a January census with attendance "
            "records; the histories have none."
        )
    ny = float(max(n_years, 1))
    py["any_susp"] = (py["suspensions"] > 0).astype(float)
    py["any_px"] = (py["px"] > 0).astype(float)
    rate = np.where(py["possible"] > 0, py["absent"] / py["possible"].where(py["possible"] > 0), 0)
    has_poss = py["possible"] > 0
    py["pa"] = (rate >= 0.1).astype(float)
    py["severe"] = (rate >= 0.5).astype(float)
    prim = (py["ncy"] <= 6).to_numpy()
    sec = ~prim
    allm = np.ones(len(py), bool)
    B1 = "B1 2022/23 pupils suspended 3.61% (primary 0.82%, secondary 7.12%); B5 ~4%/1%/8%"
    f.rate("one-plus suspension rate", "primary", prim, "any_susp", 0.010, 0.25, B1)
    f.rate("one-plus suspension rate", "secondary", sec, "any_susp", 0.080, 0.15, B1)
    f.rate("one-plus suspension rate", "all", allm, "any_susp", 0.040, 0.15, B1)
    PX = "B5 annual PX ~0.03% primary, ~0.3% secondary, ~0.13% overall (B1 2023/24 0.13)"
    # permanent exclusions cluster in a few schools: design effect 4
    f.rate("permanent exclusion rate", "primary", prim, "px", 0.0003, 0.3, PX, deff=_DEFF_PX)
    f.rate("permanent exclusion rate", "secondary", sec, "px", 0.003, 0.2, PX, deff=_DEFF_PX)
    f.rate("permanent exclusion rate", "all", allm, "px", 0.0013, 0.2, PX, deff=_DEFF_PX)
    susp = py[py["suspensions"] > 0]
    per_pupil = susp.groupby("year").apply(
        lambda d: d["suspensions"].sum() / len(d), include_groups=False
    )
    f.add(
        "suspensions per suspended pupil",
        "all",
        2.6,
        per_pupil.mean(),
        0.15,
        "relative",
        "B1 2022/23: 2.59 suspensions per suspended pupil",
        "model tolerance",
    )
    per_susp = susp.groupby("year").apply(
        lambda d: d["susp_sessions"].sum() / d["suspensions"].sum(), include_groups=False
    )
    f.add(
        "sessions per suspension",
        "all",
        4.0,
        per_susp.mean(),
        0.15,
        "relative",
        "B5 ~1.9 days (~4 sessions) per suspension; B3 average 2.1 days (2016/17)",
        "model tolerance",
    )
    ex = histories.exclusions
    sus_ex = ex[ex["kind"] == "suspension"]
    reasons = pd.concat([sus_ex[c] for c in ("reason", "reason_2", "reason_3") if c in sus_ex])
    reasons = reasons.dropna()
    db = float((reasons == "DB").mean()) if len(reasons) else math.nan
    f.add(
        "share of suspension reasons: persistent disruptive behaviour",
        "all",
        0.50,
        db,
        0.12,
        "relative",
        "B3 DB 51% of suspension reasons (2023/24)",
        "model tolerance",
    )
    by_year = py.groupby("ncy")[["any_susp", "px"]].mean()
    f.add(
        "year group with highest one-plus suspension rate",
        "NC year",
        9,
        by_year["any_susp"].idxmax(),
        1,
        "absolute",
        "B2 most suspensions in Y9; B1 peak age 14",
        "within one year group",
    )
    f.add(
        "year group with highest permanent exclusion rate",
        "NC year",
        10,
        by_year["px"].idxmax(),
        1,
        "absolute",
        "B2 most PX in Y10",
        "within one year group",
    )
    # relative risks (raw)
    male, female = py["male"].to_numpy(), py["female"].to_numpy()
    f.ratio(
        "one-plus suspension ratio",
        "boys vs girls",
        male,
        female,
        "any_susp",
        1.5,
        1.35,
        "B5 boys ~1.5x suspension (B2 2022/23 summaries)",
    )
    f.ratio(
        "permanent exclusion ratio",
        "boys vs girls",
        male,
        female,
        "px",
        2.5,
        1.45,
        "B5 boys ~2x PX; B2 2016/17 >3x",
        deff=_DEFF_PX,
    )
    fsm = py["fsm"].to_numpy()
    f.ratio(
        "one-plus suspension ratio",
        "FSM vs not",
        fsm,
        ~fsm,
        "any_susp",
        4.0,
        1.3,
        "B2 FSM ~4x suspension (2022/23)",
    )
    f.ratio(
        "permanent exclusion ratio",
        "FSM vs not",
        fsm,
        ~fsm,
        "px",
        6.0,
        1.45,
        "B5 FSM ~5-6x PX (B2 ~5x 2022/23, 6.5x autumn 2023/24)",
        deff=_DEFF_PX,
    )
    sen = py["sen"].to_numpy()
    none = sen == "none"
    f.ratio(
        "one-plus suspension ratio",
        "SEN support vs no SEN",
        sen == "K",
        none,
        "any_susp",
        4.0,
        1.3,
        "B2 SEN support ~4x suspension (2022/23)",
    )
    f.ratio(
        "one-plus suspension ratio",
        "EHCP vs no SEN",
        sen == "E",
        none,
        "any_susp",
        3.0,
        1.35,
        "B2 EHCP ~3x (2022/23); B5 suspension similar to SEN support",
    )
    semh = (py["primary_need"] == "SEMH").to_numpy()
    f.ratio(
        "one-plus suspension ratio",
        "SEMH vs no SEN",
        semh,
        none,
        "any_susp",
        10.0,
        1.5,
        "B5 SEMH highest (~10x+); B2 2020/21 SEMH suspension rate 33.04 vs 2.43",
    )
    need_rates = py[~none].groupby("primary_need")["any_susp"].agg(["mean", "size"])
    need_rates = need_rates[need_rates["size"] >= 200]
    semh_top = float(len(need_rates) > 0 and need_rates["mean"].idxmax() == "SEMH")
    f.add(
        "SEMH has the highest one-plus suspension rate of any primary need",
        "SEN",
        1.0,
        semh_top,
        0.0,
        "absolute",
        "B2 SEMH highest of any group (2020/21)",
        "needs with >= 200 pupil-years; 1 = yes",
    )
    cino = py["cino"].to_numpy()
    f.ratio(
        "one-plus suspension ratio",
        "CIN (not CP/CLA) vs all",
        cino,
        allm,
        "any_susp",
        4.0,
        1.3,
        "B2 CIN (excl. CPP & CLA) one-plus 8.73% vs 2.20% all (2020/21)",
    )
    f.ratio(
        "permanent exclusion ratio",
        "CIN (not CP/CLA) vs all",
        cino,
        allm,
        "px",
        8.0,
        1.6,
        "B2 CIN (excl. CPP & CLA) PX 0.38% vs 0.047% all (2020/21); B5 ~8x",
        deff=_DEFF_PX,
    )
    eth = py["ethnicity"].to_numpy()
    wbri = eth == "WBRI"
    f.ratio(
        "one-plus suspension ratio",
        "Black Caribbean vs White British",
        eth == "BCRB",
        wbri,
        "any_susp",
        2.0,
        1.5,
        "B2/B5 Black Caribbean raw > White British (PX raw 3x)",
    )
    f.ratio(
        "one-plus suspension ratio",
        "White & Black Caribbean vs White British",
        eth == "MWBC",
        wbri,
        "any_susp",
        2.0,
        1.5,
        "B2/B5 White & Black Caribbean raw ~2.5x (PX)",
    )
    grt = np.isin(eth, ["WROM", "WIRT"])
    f.ratio(
        "one-plus suspension ratio",
        "Gypsy/Roma & Irish Traveller vs White British",
        grt,
        wbri,
        "any_susp",
        3.5,
        1.5,
        "B2 Gypsy/Roma highest suspension rate (15.28 in 2020/21); B5 ~3-5x raw",
    )
    f.ratio(
        "one-plus suspension ratio",
        "Indian & Chinese vs White British",
        np.isin(eth, ["AIND", "CHNE"]),
        wbri,
        "any_susp",
        0.4,
        1.5,
        "B5 Indian / Bangladeshi / Chinese ~0.3-0.5x",
    )
    # absence
    ABS = "B1 2023/24 persistent absence 20.0%, severe 2.3%, overall absence 7.1% (unauth 2.5%)"
    hp = has_poss.to_numpy()
    f.rate("persistent absence", "all", hp, "pa", 0.20, 0.12, ABS)
    f.rate("severe absence", "all", hp, "severe", 0.023, 0.3, ABS)
    py["absence_rate"] = np.where(hp, rate, np.nan)
    tot = py[hp].groupby("year")[["absent", "unauthorised", "possible"]].sum()
    f.add(
        "overall absence rate",
        "all",
        0.071,
        (tot["absent"] / tot["possible"]).mean(),
        0.15,
        "relative",
        ABS,
        "model tolerance",
    )
    f.add(
        "unauthorised absence rate",
        "all",
        0.025,
        (tot["unauthorised"] / tot["possible"]).mean(),
        0.25,
        "relative",
        ABS,
        "model tolerance",
    )
    f.rate(
        "persistent absence",
        "FSM",
        hp & fsm,
        "pa",
        0.33,
        0.15,
        "B2 FSM PA 33.0% vs 15.6% (autumn 2023/24)",
    )
    f.rate(
        "persistent absence",
        "not FSM",
        hp & ~fsm,
        "pa",
        0.16,
        0.15,
        "B2 FSM PA 33.0% vs 15.6% (autumn 2023/24)",
    )
    f.rate(
        "persistent absence",
        "EHCP",
        hp & (sen == "E"),
        "pa",
        0.35,
        0.2,
        "B2 EHCP PA 34.6% (autumn 2023/24)",
        deff=ny,
    )
    f.rate(
        "persistent absence",
        "CIN (not CP/CLA)",
        hp & cino,
        "pa",
        0.49,
        0.2,
        "B2 CIN (excl. CPP & CLA) PA 48.8% (2022/23)",
        deff=ny,
    )
    f.rate(
        "severe absence",
        "CIN (not CP/CLA)",
        hp & cino,
        "severe",
        0.10,
        0.4,
        "B2 CIN (excl. CPP & CLA) severe absence 10.4% (2022/23)",
        deff=ny,
    )
    # CME / EHE stocks
    if len(stocks):
        for kind, target, base, src in (
            ("cme", 0.005, 0.3, "B1 CME on census day 0.5% of 5-16 (autumn 2024)"),
            ("ehe", 0.014, 0.25, "B1 EHE on census day 1.4% of 5-16 (autumn 2024)"),
        ):
            gen = float((stocks[kind] / stocks["population"]).mean())
            n = float(stocks["population"].mean())
            samp = 3 * math.sqrt(2.0) * math.sqrt((1 - target) / (target * n))
            tol = max(base, samp)
            note = (
                f"sampling: 3 SE x sqrt(deff=2) at n={int(n)} per census"
                if samp > base
                else f"model tolerance (3 SE sampling = {samp:.0%})"
            )
            f.add(
                f"{kind.upper()} stock on census day",
                "compulsory age",
                target,
                gen,
                tol,
                "relative",
                src,
                note,
            )
    # population shares
    for col, grp, target, base, src in (
        ("fsm", "FSM eligible", 0.24, 0.1, "B4 FSM 24.6% (Jan 2024)"),
        ("sen_k", "SEN support", 0.14, 0.1, "B4 SEN support 14.2% (Jan 2025)"),
        ("sen_e", "EHC plan", 0.05, 0.15, "B4 EHC plan 5.3% (Jan 2025), 4.8% (2024)"),
        ("eal", "first language not English", 0.208, 0.12, "B4 EAL 20.8% (Jan 2024)"),
        ("wbri", "White British", 0.60, 0.05, "B4 White British 60.3% (2024/25)"),
        ("aind", "Indian", 0.042, 0.15, "B4 Indian 4.2%"),
        ("apkn", "Pakistani", 0.047, 0.15, "B4 Pakistani 4.7%"),
        ("bafr", "Black African", 0.052, 0.15, "B4 Black African 5.2%"),
        ("mwbc", "White & Black Caribbean", 0.016, 0.15, "B4 White & Black Caribbean 1.6%"),
        ("cin", "children in need (31 March)", 0.033, 0.2, "B1/B4 CIN 332.9 per 10,000"),
        ("cp", "child protection plan (31 March)", 0.0043, 0.3, "B1/B4 CPP 42.8 per 10,000"),
        ("lac", "looked after (31 March)", 0.007, 0.3, "B1/B4 CLA 70 per 10,000"),
    ):
        if col not in py:
            key = {
                "sen_k": ("sen", "K"),
                "sen_e": ("sen", "E"),
                "wbri": ("ethnicity", "WBRI"),
                "aind": ("ethnicity", "AIND"),
                "apkn": ("ethnicity", "APKN"),
                "bafr": ("ethnicity", "BAFR"),
                "mwbc": ("ethnicity", "MWBC"),
            }[col]
            py[col] = (py[key[0]] == key[1]).astype(float)
        else:
            py[col] = py[col].astype(float)
        f.rate("population share", grp, allm, col, target, base, src, deff=ny)
    _school_figures(f, histories, ny)
    _missing_education_sex(f, histories)
    boys_e = py.loc[sen == "E", "male"].mean()
    boys_k = py.loc[sen == "K", "male"].mean()
    f.add(
        "boys' share",
        "EHC plan",
        0.71,
        boys_e,
        0.08,
        "relative",
        "B4 71% of EHCP pupils are boys (Jan 2025)",
        "model tolerance",
    )
    f.add(
        "boys' share",
        "SEN support",
        0.61,
        boys_k,
        0.08,
        "relative",
        "B4 61% of SEN support pupils are boys (Jan 2025)",
        "model tolerance",
    )
    out = pd.DataFrame(f.rows)
    rel = out["tolerance_type"] == "relative"
    fac = out["tolerance_type"] == "factor"
    ab = out["tolerance_type"] == "absolute"
    t, tol = out["target"], out["tolerance"]
    out["lower"] = np.select([rel, fac, ab], [t * (1 - tol), t / tol, t - tol])
    out["upper"] = np.select([rel, fac, ab], [t * (1 + tol), t * tol, t + tol])
    g = out["generated"]
    out["within"] = ((g >= out["lower"] - 1e-12) & (g <= out["upper"] + 1e-12)).astype(bool)
    cols = [
        "figure",
        "group",
        "target",
        "generated",
        "tolerance",
        "tolerance_type",
        "lower",
        "upper",
        "within",
        "source",
        "note",
    ]
    return out[cols]
