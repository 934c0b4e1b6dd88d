"""School census extracts of the synthetic local authority (one CSV per census table).

For every census (autumn, spring and summer of each academic year, and the
autumn after the last one, which reports its summer term) the authority's
extract holds:

- ``pupilonroll``: spells on a school's roll on census day, with the pupil's
  identity, characteristics, SEN provision on census day and the sessions of
  the term the census reports (the term before it);
- ``pupilnolongeronroll``: spells that ended between the start of the reported
  term and census day, with their leaving date and sessions;
- ``termlyexclusionsonroll`` / ``...offroll``: the reported term's exclusions;
- ``fsmperiodonroll``: each on-roll pupil's FSM periods known on census day;
- ``senneeds``: ranked SEN types of on-roll pupils with SEN;
- ``addressesonroll`` / ``...offroll``: home postcodes.
"""

from __future__ import annotations

import datetime as _dt
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from riskscreen._files import atomic_path
from riskscreen.data._returns_spec import (
    CENSUS_DATE_FORMAT,
    SCHOOL_CENSUS,
    census_day,
    census_file_prefix,
    reported_term,
    term_window,
)

_EXTENDED = {
    "WBRI": ["WBRI"] * 6 + ["WENG", "WSCO", "WWEL", "WOWB"],
    "WOTH": ["WOTH", "WEEU", "WPOR", "WITA", "WTUR"],
    "BAFR": ["BAFR", "BNGN", "BSOM", "BGHA", "BAOF"],
    "AOTH": ["AOTH", "ANEP", "ASLT"],
    "OOTH": ["OOTH", "OARA", "OKRD", "OVIE"],
    "MOTH": ["MOTH", "MWOE"],
}


def census_list(first_year: int, last_year: int) -> list[tuple[int, str]]:
    """Every census of academic years ``first_year``-``last_year``, then the next autumn."""
    out = [(y, t) for y in range(first_year, last_year + 1) for t in ("autumn", "spring", "summer")]
    return [*out, (last_year + 1, "autumn")]


def _day(d: _dt.date) -> pd.Timestamp:
    return pd.Timestamp(d)


def _fmt(dates: pd.Series) -> pd.Series:
    return dates.dt.strftime(CENSUS_DATE_FORMAT).where(dates.notna(), None)


def _table_ids(prefix: str, kind: str, n: int) -> np.ndarray:
    """Surrogate row ids unique within a census (hex, as the extracts carry them)."""
    salt = zlib.crc32(f"{prefix}/{kind}".encode()) % 2**16
    return np.array([f"{(i * 2654435761 + salt) % 2**32:08x}-{kind[:3]}" for i in range(n)])


def extended_ethnicity(codes: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Main ethnicity codes spelt as extended CBDS codes, as schools record them."""
    out = codes.astype(object).copy()
    for main, options in _EXTENDED.items():
        sel = np.flatnonzero(out == main)
        out[sel] = np.array(options, dtype=object)[rng.integers(0, len(options), len(sel))]
    return out


def write_census(
    h, ident: pd.DataFrame, folder: Path, years: tuple[int, int], rng: np.random.Generator
) -> tuple[list[tuple[str, int, object]], dict[str, int]]:
    """Write every census extract; return identity rows (file, row, pupil_id) and losses."""
    enrol = h.enrolments.reset_index(drop=True)
    enrol = enrol.assign(spell=np.arange(len(enrol)))
    pupils = h.pupils.set_index("pupil_id")
    ident = ident.set_index("pupil_id")
    eth_ext = pd.Series(extended_ethnicity(pupils["ethnicity"].to_numpy(), rng), index=pupils.index)
    att = h.attendance.merge(
        enrol[["pupil_id", "school_id", "entry_date", "leaving_date", "spell"]],
        on=["pupil_id", "school_id"],
    )
    att = att[
        (att["period_start"] >= att["entry_date"])
        & (att["leaving_date"].isna() | (att["period_start"] <= att["leaving_date"]))
    ]
    exc = h.exclusions.merge(
        enrol[["pupil_id", "school_id", "entry_date", "leaving_date", "spell"]],
        on=["pupil_id", "school_id"],
    )
    exc = exc[
        (exc["start_date"] >= exc["entry_date"])
        & (exc["leaving_date"].isna() | (exc["start_date"] <= exc["leaving_date"]))
    ].drop_duplicates(["pupil_id", "school_id", "start_date", "kind"])
    records: list[tuple[str, int, object]] = []
    fsm_seen: list[pd.DataFrame] = []
    lost = {"exclusions: further reasons not in the return": 0, "exclusions: reason recoded": 0}
    out = folder / "school_census"
    for year, term in census_list(*years):
        prefix = census_file_prefix(year, term)
        day = _day(census_day(year, term))
        ry, rt = reported_term(year, term)
        a, b = (_day(d) for d in term_window(ry, rt))
        left = enrol["leaving_date"]
        on = enrol[(enrol["entry_date"] <= day) & (left.isna() | (left >= day))]
        off = enrol[left.notna() & (left >= a) & (left < day)]
        for kind, spells in (("onroll", on), ("offroll", off)):
            spells = spells.reset_index(drop=True)
            ids = _table_ids(prefix, kind, len(spells))
            table = _pupil_table(spells, ids, kind, day, h, ident, pupils, eth_ext, att, a, b)
            name = "pupilonroll" if kind == "onroll" else "pupilnolongeronroll"
            _write(out / f"{prefix}_{name}.csv", table)
            file = f"school_census/{prefix}_{name}.csv"
            records += [(file, i, p) for i, p in enumerate(spells["pupil_id"])]
            id_col = table.columns[0]
            by_spell = pd.DataFrame({id_col: ids, "spell": spells["spell"].to_numpy()})
            _write(
                out / f"{prefix}_addresses{kind}.csv",
                pd.DataFrame(
                    {id_col: ids, "postcode": ident["postcode"].reindex(spells["pupil_id"]).values}
                ),
            )
            x = exc[(exc["start_date"] >= a) & (exc["start_date"] <= b)]
            x = x.merge(by_spell, on="spell")
            table, n_more, n_recoded = _exclusions(x, id_col, ry)
            lost["exclusions: further reasons not in the return"] += n_more
            lost["exclusions: reason recoded"] += n_recoded
            _write(out / f"{prefix}_termlyexclusions{kind}.csv", table)
            fsm = _fsm(h.fsm, spells, ids, day, id_col)
            _write(out / f"{prefix}_fsmperiod{kind}.csv", fsm.drop(columns="pupil_id"))
            fsm_seen.append(fsm[["pupil_id", "fsmstartdate", "fsmenddate"]])
            if kind == "onroll":
                _write(out / f"{prefix}_senneeds.csv", _senneeds(h.sen, spells, ids, day))
    lost.update(_fsm_losses(h.fsm, fsm_seen))
    lost["attendance: rows summed into census terms"] = len(h.attendance)
    lost["sen: spells seen only on census days"] = len(h.sen)
    return records, lost


def _fsm_losses(fsm: pd.DataFrame, seen: list[pd.DataFrame]) -> dict[str, int]:
    """FSM periods no census carries, and periods whose end no census saw."""
    s = pd.concat(seen, ignore_index=True)
    start = pd.to_datetime(s["fsmstartdate"], format=CENSUS_DATE_FORMAT)
    written = set(zip(s["pupil_id"], start, strict=True))
    ended = set(
        zip(s.loc[s["fsmenddate"].notna(), "pupil_id"], start[s["fsmenddate"].notna()], strict=True)
    )
    key = list(zip(fsm["pupil_id"], fsm["start_date"], strict=True))
    missing = np.array([k not in written for k in key], dtype=bool)
    unseen_end = np.array([k not in ended for k in key], dtype=bool) & fsm["end_date"].notna()
    return {
        "fsm: periods of pupils on no census roll at the time": int(missing.sum()),
        "fsm: ends no census saw (period left open)": int((unseen_end & ~missing).sum()),
    }


def _sen_on(sen: pd.DataFrame, day: pd.Timestamp) -> pd.DataFrame:
    """Each pupil's SEN provision open on ``day`` (an EHC plan over SEN support)."""
    open_ = sen[(sen["start_date"] <= day) & (sen["end_date"].isna() | (sen["end_date"] >= day))]
    open_ = open_.sort_values("provision")  # E before K
    return open_.drop_duplicates("pupil_id").set_index("pupil_id")


def _pupil_table(spells, ids, kind, day, h, ident, pupils, eth_ext, att, a, b) -> pd.DataFrame:
    pid = spells["pupil_id"]
    who = ident.reindex(pid)
    sessions = (
        att[(att["period_start"] >= a) & (att["period_start"] <= b)]
        .groupby("spell")[
            ["sessions_possible", "sessions_authorised_absent", "sessions_unauthorised_absent"]
        ]
        .sum()
        .reindex(spells["spell"])
        .fillna(0)
        .astype(np.int64)
    )
    birth_ay = pupils["birth_month"].dt.year - (pupils["birth_month"].dt.month < 9)
    ay = day.year - (day.month < 9)
    ncy = (ay - 5 - birth_ay.reindex(pid)).to_numpy()
    table = {
        "pupilonrolltableid" if kind == "onroll" else "pupilnolongeronrolltableid": ids,
        "NativeId": spells["school_id"].astype(str).to_numpy(),
        "upn": who["upn"].to_numpy(),
        "formerupn": who["formerupn"].to_numpy(),
        "surname": who["surname"].to_numpy(),
        "forename": who["forename"].to_numpy(),
        "formersurname": who["formersurname"].to_numpy(),
        "dob": _fmt(who["dob"]).to_numpy(),
        "sex": who["sex"].to_numpy(),
        "entrydate": _fmt(spells["entry_date"]).to_numpy(),
    }
    if kind == "offroll":
        table["leavingdate"] = _fmt(spells["leaving_date"]).to_numpy()
    table.update(
        ethnicity=eth_ext.reindex(pid).to_numpy(),
        language=pupils["first_language"].reindex(pid).to_numpy(),
        parttime=np.where(spells["part_time"].to_numpy(), "True", "False"),
        termlysessionspossible=sessions["sessions_possible"].to_numpy(),
        termlysessionsauthorised=sessions["sessions_authorised_absent"].to_numpy(),
        termlysessionsunauthorised=sessions["sessions_unauthorised_absent"].to_numpy(),
    )
    if kind == "onroll":
        sen = _sen_on(h.sen, day)
        prov = sen["provision"].reindex(pid).fillna("N").to_numpy()
        table.update(
            enrolstatus="C",
            ncyearactual=np.where(ncy == 0, "R", ncy.astype(str)),
            senprovision=prov,
            plaa=who["plaa"].to_numpy(),
        )
    return pd.DataFrame(table)


def _exclusions(x: pd.DataFrame, id_col: str, year: int) -> tuple[pd.DataFrame, int, int]:
    """The exclusions table in the layout of collection ``year``; rows changed by it."""
    cat = np.where(x["kind"] == "permanent", "PERM", "FIXD")
    sessions = x["sessions"].where(x["kind"] != "permanent")
    base = {
        id_col: x[id_col].to_numpy(),
        "startdate": _fmt(x["start_date"]).to_numpy(),
        "sessions": sessions.to_numpy(),
    }
    if SCHOOL_CENSUS.column(year, "reason") == "reason":  # one reason, the old code list
        allowed = SCHOOL_CENSUS.codes_for(year, "reason")
        reason = x["reason"].where(x["reason"].isin(allowed), "OT")
        n_more = int((x["reason_2"].notna()).sum())
        n_recoded = int((reason != x["reason"]).sum())
        table = {**base, "reason": reason.to_numpy(), "category": cat}
        return pd.DataFrame(table), n_more, n_recoded
    table = {
        **base,
        "reason1": x["reason"].to_numpy(),
        "reason2": x["reason_2"].to_numpy(),
        "reason3": x["reason_3"].to_numpy(),
        "category": cat,
    }
    return pd.DataFrame(table), 0, 0


def _fsm(fsm: pd.DataFrame, spells: pd.DataFrame, ids, day, id_col: str) -> pd.DataFrame:
    """FSM periods of the census's pupils that started by census day (end blank if not yet)."""
    f = fsm[fsm["start_date"] <= day]
    m = pd.DataFrame({id_col: ids, "pupil_id": spells["pupil_id"].to_numpy()})
    m = m.merge(f, on="pupil_id")
    end = m["end_date"].where(m["end_date"] < day)
    return pd.DataFrame(
        {
            id_col: m[id_col],
            "fsmstartdate": _fmt(m["start_date"]),
            "fsmenddate": _fmt(end),
            "ukcountry": "ENG",
            "pupil_id": m["pupil_id"],
        }
    )


def _senneeds(sen: pd.DataFrame, spells: pd.DataFrame, ids, day) -> pd.DataFrame:
    s = _sen_on(sen, day)
    m = pd.DataFrame({"pupilonrolltableid": ids, "pupil_id": spells["pupil_id"].to_numpy()})
    m["sentype"] = s["primary_need"].reindex(m["pupil_id"]).to_numpy()
    m = m[m["sentype"].notna()]
    return pd.DataFrame(
        {"pupilonrolltableid": m["pupilonrolltableid"], "sentyperank": 1, "sentype": m["sentype"]}
    )


def _write(path: Path, frame: pd.DataFrame) -> None:
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)
