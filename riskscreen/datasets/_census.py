"""Pupil-years at the January census: the denominators of :func:`calibration_report`.

:func:`pupil_years` works on the histories tables only (so also on data loaded
from disk): one row per pupil on roll at each January census (third Thursday in
January) in NC years Reception to Y11, with their characteristics at the census
(FSM, SEN, year group), social-care status on 31 March and outcomes over the
academic year (suspensions, permanent exclusions, absence); and, per year, the
stocks of children missing education (CME) and in elective home education
(EHE) on the autumn census day (first Thursday in October) among
compulsory-age children (Y1-Y11).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

_SOCIAL_CARE_CIN = ("referral", "assessment", "cin_plan", "cp_plan", "looked_after")


def academic_year(dates: pd.Series) -> pd.Series:
    """The academic year of each date, as the calendar year of its September."""
    return dates.dt.year - (dates.dt.month < 9).astype("int64")


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> pd.Timestamp:
    first = pd.Timestamp(year=year, month=month, day=1)
    offset = (weekday - first.weekday()) % 7
    return first + pd.Timedelta(days=offset + 7 * (n - 1))


def _open_at(frame: pd.DataFrame, start: str, end: str, day: pd.Timestamp) -> pd.Series:
    ok = (frame[start] <= day) & (frame[end].isna() | (frame[end] >= day))
    return ok.to_numpy()


def pupil_years(h) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per pupil on roll at each January census, and the census-day stocks.

    Parameters
    ----------
    h : LinkedHistories
        Synthetic or real linked histories; the academic years are those with
        attendance records.

    Returns
    -------
    pupil_years : DataFrame
        ``pupil_id``, ``year``, ``ncy``, ``male``, ``female``, ``ethnicity``,
        ``eal``, ``fsm``, ``sen`` (``"none"``, ``"K"`` or ``"E"``),
        ``primary_need``, ``cin``, ``cp``, ``lac``, ``cino`` (in need but on
        neither a plan nor looked after), ``special`` (on the roll of a special
        school), ``fsm6`` (eligible for FSM at some time in the six years to the
        census; missing where the data do not reach back six years),
        ``suspensions``, ``susp_sessions``, ``px``, ``possible``, ``absent`` and
        ``unauthorised`` (sessions).
    stocks : DataFrame
        Per year: ``population`` (compulsory-age children on roll or missing
        or home educated on the autumn census day), ``cme`` and ``ehe``.
    """
    pupils = h.pupils.set_index("pupil_id")
    birth = pupils["birth_month"]
    birth_ay = academic_year(birth)
    enrol = h.enrolments
    att = h.attendance
    exc = h.exclusions
    years = sorted(set(academic_year(att["period_start"]).unique().tolist()))
    special = (
        set(h.schools.loc[h.schools["phase"] == "special", "school_id"])
        if ("phase" in h.schools)
        else set()
    )
    fsm_from = h.fsm["start_date"].min() if len(h.fsm) else pd.NaT
    att_ay = academic_year(att["period_start"]).to_numpy()
    exc_ay = academic_year(exc["start_date"]).to_numpy()
    rows = []
    stocks = []
    for y in years:
        jan = _nth_weekday(y + 1, 1, 3, 3)
        oct_ = _nth_weekday(y, 10, 3, 1)
        mar31 = pd.Timestamp(year=y + 1, month=3, day=31)
        open_jan = enrol[_open_at(enrol, "entry_date", "leaving_date", jan)]
        on = open_jan["pupil_id"].unique()
        py = pd.DataFrame({"pupil_id": on, "year": y})
        py["special"] = (
            py["pupil_id"]
            .isin(open_jan.loc[open_jan["school_id"].isin(special), "pupil_id"])
            .to_numpy()
        )
        py["ncy"] = (y - 5 - birth_ay.reindex(on)).to_numpy()
        py = py[(py["ncy"] >= 0) & (py["ncy"] <= 11)]
        py["male"] = (pupils["sex"].reindex(py["pupil_id"]) == "M").to_numpy()
        py["female"] = (pupils["sex"].reindex(py["pupil_id"]) == "F").to_numpy()
        py["ethnicity"] = pupils["ethnicity"].reindex(py["pupil_id"]).to_numpy()
        lang = pupils["first_language"].reindex(py["pupil_id"])
        py["eal"] = (lang.notna() & (lang != "ENG")).to_numpy()
        fsm_ids = h.fsm.loc[_open_at(h.fsm, "start_date", "end_date", jan), "pupil_id"]
        py["fsm"] = py["pupil_id"].isin(fsm_ids).to_numpy()
        six = jan - pd.DateOffset(years=6)
        ever = h.fsm[
            (h.fsm["start_date"] <= jan) & (h.fsm["end_date"].isna() | (h.fsm["end_date"] >= six))
        ]
        covered = pd.notna(fsm_from) and fsm_from <= six
        py["fsm6"] = py["pupil_id"].isin(ever["pupil_id"]).astype(float) if covered else np.nan
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
