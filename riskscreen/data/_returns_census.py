"""Loader of school census pupil-level extracts (``school_census/<year>_<term>_<table>.csv``).

Each census is read as the set of its tables (``pupilonroll``,
``pupilnolongeronroll``, ``termlyexclusions*``, ``fsmperiod*``, ``senneeds``,
``addresses*``, ``termlysessiondetails*``), joined on the extract's surrogate
row ids. A census reports the attendance and exclusions of the term before it;
its leavers are the spells that ended since that term began. What comes out is
keyed by the pupil's UPN (used only for linkage, then replaced).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from riskscreen.data import _codes
from riskscreen.data._returns_read import (
    Rejection,
    RejectLog,
    check_codes,
    dates_column,
    parse_numbers,
    read_csv,
    reject,
)
from riskscreen.data._returns_spec import (
    ETHNICITY_ROLL_UP,
    SCHOOL_CENSUS,
    census_day,
    parse_census_prefix,
    reported_term,
    term_window,
)

_PUPIL_TABLES = {"pupilonroll": "onroll", "pupilnolongeronroll": "offroll"}
_ID = {"onroll": "pupilonrolltableid", "offroll": "pupilnolongeronrolltableid"}
_IDENTITY = ("formerupn", "surname", "forename", "formersurname", "dob", "sex")
_SESSIONS = ("termlysessionspossible", "termlysessionsauthorised", "termlysessionsunauthorised")
_OTHER = ("ethnicity", "language", "parttime", "senprovision", "enrolstatus")
_SEN = {"E": "E", "S": "E", "K": "K", "A": "K", "P": "K"}
_TRUE = {"TRUE", "T", "1", "Y", "YES", "1.0"}


def census_files(folder: Path) -> dict[tuple[int, str], dict[str, Path]]:
    """The census extracts of a folder by (academic year, term), then by table name."""
    out: dict[tuple[int, str], dict[str, Path]] = {}
    for path in sorted(folder.glob("*.csv")):
        stem = path.stem
        parts = stem.split("_", 2)
        key = parse_census_prefix("_".join(parts[:2])) if len(parts) == 3 else None
        if key is None:
            out.setdefault((-1, "unnamed"), {})[stem] = path
            continue
        out.setdefault(key, {})[parts[2].lower()] = path
    return out


def load_census(
    folder: Path, root: Path, log: RejectLog, native: dict[str, int] | None = None
) -> dict[str, pd.DataFrame]:
    """Read every census of ``folder``; frames keyed by ``entity`` (the UPN).

    ``native`` maps a school's local code (``NativeId``) to its URN, where the
    extracts use local codes; otherwise ``NativeId`` must be the URN.
    """
    parts: dict[str, list[pd.DataFrame]] = {
        k: [] for k in ("records", "spells", "attendance", "exclusions", "fsm", "sen")
    }
    for (year, term), tables in sorted(census_files(folder).items()):
        if year < 0:
            for stem, path in tables.items():
                log.items.append(
                    Rejection(
                        str(path.relative_to(root)),
                        stem,
                        None,
                        "unknown_file",
                        0,
                        (),
                        "expected a name such as 2024_autumn_pupilonroll.csv (file not read)",
                    )
                )
            continue
        one = _load_one(year, term, tables, root, log, native or {})
        for k, frame in one.items():
            parts[k].append(frame)
    return {k: (pd.concat(v, ignore_index=True) if v else pd.DataFrame()) for k, v in parts.items()}


def _load_one(year, term, tables, root: Path, log: RejectLog, native) -> dict[str, pd.DataFrame]:
    day = pd.Timestamp(census_day(year, term))
    ry, rt = reported_term(year, term)
    a, b = (pd.Timestamp(d) for d in term_window(ry, rt))
    out: dict[str, list[pd.DataFrame]] = {k: [] for k in ("records", "spells", "attendance")}
    ids: dict[str, pd.DataFrame] = {}
    for table, kind in _PUPIL_TABLES.items():
        if table not in tables:
            continue
        file = str(tables[table].relative_to(root))
        pupils = _pupil_table(tables[table], file, table, kind, year, log, native)
        extra = _absence_details(tables, kind, year, root, log)
        if extra is not None:
            pupils = pupils.merge(extra, on="tableid", how="left", suffixes=("", "_d"))
            for col in ("auth", "unauth"):
                pupils[col] = pupils[col].fillna(pupils.pop(f"{col}_d"))
        postcode = _addresses(tables, kind, root, log)
        if postcode is not None:
            pupils = pupils.drop(columns="postcode").merge(postcode, on="tableid", how="left")
        ids[kind] = pupils
        out["records"].append(
            pupils.assign(file=file, day=day, source="school_census").rename(
                columns={
                    "formerupn": "former_upn",
                    "formersurname": "former_surname",
                    "_row": "row",
                }
            )
        )
        spells = pupils[["entity", "school_id", "entry_date", "leaving_date", "part_time"]]
        out["spells"].append(spells.assign(day=day, on_roll=kind == "onroll"))
        att = pupils[pupils["possible"].fillna(0) > 0]
        leave = att["leaving_date"].fillna(b)
        att = att.assign(
            period_start=att["entry_date"].where(att["entry_date"] > a, a),
            period_end=leave.where(leave < b, b),
        )
        bad = (att["period_start"] > att["period_end"]).to_numpy()
        att = reject(
            att,
            bad,
            log,
            file,
            table,
            "termlysessionspossible",
            "outside_spell",
            "expected sessions only for a spell open in the reported term",
        )
        out["attendance"].append(att)
    frames = {k: pd.concat(v, ignore_index=True) if v else pd.DataFrame() for k, v in out.items()}
    frames["exclusions"] = _exclusions(tables, ids, year, ry, root, log)
    frames["fsm"] = _fsm(tables, ids, day, root, log)
    frames["sen"] = _sen(tables, ids, day, root, log)
    return frames


def _pupil_table(path, file, table, kind, year, log, native) -> pd.DataFrame:
    required = [_ID[kind], "NativeId", "upn", "entrydate"]
    if kind == "offroll":
        required.append("leavingdate")
    f = read_csv(
        path,
        file,
        table,
        required,
        [*_IDENTITY, *_SESSIONS, *_OTHER, "postcode"],
        aliases={"sex": ("gender",), "NativeId": ("urn",)},
        log=log,
    )
    f = f.rename(columns={_ID[kind]: "tableid"})
    code = f["NativeId"].str.strip()
    urn = code.map(lambda c: str(native[c.upper()]) if c and c.upper() in native else c)
    f = f.assign(NativeId=urn)
    f = reject(
        f,
        ~urn.str.fullmatch(r"\d{5,7}").fillna(False).to_numpy(),
        log,
        file,
        table,
        "NativeId",
        "code",
        "expected the school's URN (5-7 digits), or a local code "
        "that reference/establishments.csv maps to one (column native_id)",
    )
    f["school_id"] = f["NativeId"].astype("int64")
    upn = f["upn"].str.strip().str.upper()
    f = f.assign(upn=upn)
    f = reject(
        f, upn.isna().to_numpy(), log, file, table, "upn", "required", "expected the pupil's UPN"
    )
    f["entity"] = f["upn"]
    f = dates_column(f, "entrydate", log, file, table, required=True)
    f = f.rename(columns={"entrydate": "entry_date"})
    if kind == "offroll":
        f = dates_column(f, "leavingdate", log, file, table, required=True)
        f = f.rename(columns={"leavingdate": "leaving_date"})
        bad = (f["leaving_date"] < f["entry_date"]).to_numpy()
        f = reject(
            f,
            bad,
            log,
            file,
            table,
            "leavingdate",
            "date_order",
            "expected a leaving date on or after the entry date",
        )
    else:
        f["leaving_date"] = pd.Series(pd.NaT, index=f.index, dtype="datetime64[us]")
    f["sex"] = f["sex"].str.strip().str.upper().where(lambda s: s.isin(["M", "F"]))
    eth = f["ethnicity"].str.strip().str.upper()
    known = eth.isin(ETHNICITY_ROLL_UP) & ~(
        eth.isin(["ABRI", "AWEL", "BBRI", "BWEL", "ORAB"]) & (year < 2025)
    )
    log.add(
        file,
        table,
        "ethnicity",
        "ignored_value",
        f["_row"].to_numpy()[(eth.notna() & ~known).to_numpy()],
        f"expected an ethnicity code of collection year {year}/{(year + 1) % 100:02d}",
    )
    f["ethnicity"] = eth.where(known).map(ETHNICITY_ROLL_UP)
    f["language"] = f["language"].str.strip().str.upper()
    f["part_time"] = f["parttime"].str.strip().str.upper().isin(_TRUE).to_numpy()
    for col, name in zip(_SESSIONS, ("possible", "auth", "unauth"), strict=True):
        values, bad = parse_numbers(f[col])
        log.add(
            file,
            table,
            col,
            "ignored_value",
            f["_row"].to_numpy()[bad],
            "expected a number of sessions (attendance of this record not used)",
        )
        f[name] = values.where(~bad)
    prov = f["senprovision"].str.strip().str.upper()
    f["provision"] = prov.map(_SEN)
    codes = SCHOOL_CENSUS.codes_for(year, "senprovision")
    log.add(
        file,
        table,
        "senprovision",
        "ignored_value",
        f["_row"].to_numpy()[(prov.notna() & ~prov.isin(codes)).to_numpy()],
        f"expected one of {', '.join(sorted(codes))}",
    )
    return f.drop(columns=["NativeId", "parttime", "senprovision", *_SESSIONS])


def _side_table(tables, prefix: str, kind: str) -> str | None:
    suffix = "onroll" if kind == "onroll" else "offroll"
    names = [t for t in tables if t.startswith(prefix) and t.endswith(suffix)]
    if not names and kind == "onroll":
        names = [t for t in tables if t == prefix]
    return names[0] if names else None


def _absence_details(tables, kind, year, root, log) -> pd.DataFrame | None:
    """Authorised and unauthorised sessions from the session details table, per record."""
    name = _side_table(tables, "termlysessiondetails", kind)
    if name is None:
        return None
    file = str(tables[name].relative_to(root))
    f = read_csv(tables[name], file, name, [_ID[kind], "sessions", "attendancereason"], log=log)
    auth = SCHOOL_CENSUS.codes_for(year, "authorised")
    unauth = SCHOOL_CENSUS.codes_for(year, "unauthorised")
    other = SCHOOL_CENSUS.codes_for(year, "not_counted")
    f = check_codes(f, "attendancereason", auth | unauth | other, log, file, name, required=True)
    f = _parse_sessions(f, log, file, name)
    f["sessions"] = f["sessions"].fillna(0)
    f["auth"] = f["sessions"].where(f["attendancereason"].isin(auth), 0)
    f["unauth"] = f["sessions"].where(f["attendancereason"].isin(unauth), 0)
    return f.groupby(_ID[kind])[["auth", "unauth"]].sum().rename_axis("tableid").reset_index()


def _addresses(tables, kind, root, log) -> pd.DataFrame | None:
    name = _side_table(tables, "addresses", kind)
    if name is None:
        return None
    file = str(tables[name].relative_to(root))
    f = read_csv(tables[name], file, name, [_ID[kind], "postcode"], log=log)
    f = f.rename(columns={_ID[kind]: "tableid"})
    f["postcode"] = f["postcode"].str.strip().str.upper()
    return f.drop_duplicates("tableid")[["tableid", "postcode"]]


def _attach(f, ids, kind_hint, log, file, table) -> pd.DataFrame:
    """Join rows to the pupil records of this census; reject rows that match none."""
    id_col = next((c for c in ("pupilonrolltableid", "pupilnolongeronrolltableid") if c in f), None)
    pupils = (
        pd.concat(
            [
                ids[k][["tableid", "entity", "school_id", "entry_date", "leaving_date"]]
                for k in ids
                if kind_hint in (None, k)
            ],
            ignore_index=True,
        )
        if ids
        else pd.DataFrame(columns=["tableid", "entity", "school_id"])
    )
    m = f.merge(pupils, left_on=id_col, right_on="tableid", how="left")
    return reject(
        m,
        m["entity"].isna().to_numpy(),
        log,
        file,
        table,
        id_col,
        "orphan",
        "expected the id of a pupil record of the same census",
    )


def _exclusions(tables, ids, year, ry, root, log) -> pd.DataFrame:
    out = []
    reason_col = SCHOOL_CENSUS.column(ry, "reason")
    codes = SCHOOL_CENSUS.codes_for(ry, "reason")
    for kind in ("onroll", "offroll"):
        name = _side_table(tables, "termlyexclusions", kind)
        if name is None:
            continue
        file = str(tables[name].relative_to(root))
        more = ("reason2", "reason3") if reason_col == "reason1" else ()
        f = read_csv(
            tables[name],
            file,
            name,
            [_ID[kind], "startdate", "category", reason_col],
            ["sessions", *more],
            log=log,
        )
        f = _attach(f, ids, kind, log, file, name)
        f = dates_column(f, "startdate", log, file, name, required=True)
        f = check_codes(
            f,
            "category",
            ("PERM", "FIXD", "SUSP"),
            log,
            file,
            name,
            required=True,
            expected_words="expected PERM, FIXD or SUSP (lunchtime exclusions, LNCH, are not kept)",
        )
        words = f"expected a reason code of collection year {ry}/{(ry + 1) % 100:02d}"
        f = check_codes(f, reason_col, codes, log, file, name, required=True, expected_words=words)
        for col in more:
            f = check_codes(f, col, codes, log, file, name, required=False, expected_words=words)
        f = _parse_sessions(f, log, file, name)
        perm = (f["category"] == "PERM").to_numpy()
        out.append(
            pd.DataFrame(
                {
                    "entity": f["entity"],
                    "school_id": f["school_id"],
                    "start_date": f["startdate"],
                    "kind": np.where(perm, "permanent", "suspension"),
                    "sessions": f["sessions"].where(~perm),
                    "reason": f[reason_col],
                    "reason_2": f["reason2"] if more else None,
                    "reason_3": f["reason3"] if more else None,
                }
            )
        )
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame()


def _fsm(tables, ids, day, root, log) -> pd.DataFrame:
    out = []
    for name in [t for t in tables if t.startswith("fsmperiod")]:
        file = str(tables[name].relative_to(root))
        probe = pd.read_csv(tables[name], nrows=0).columns.str.lower()
        id_col = (
            "pupilnolongeronrolltableid"
            if "pupilnolongeronrolltableid" in probe
            else ("pupilonrolltableid")
        )
        f = read_csv(tables[name], file, name, [id_col, "fsmstartdate"], ["fsmenddate"], log=log)
        f = _attach(f, ids, None, log, file, name)
        f = dates_column(f, "fsmstartdate", log, file, name, required=True)
        f = dates_column(f, "fsmenddate", log, file, name, required=False)
        bad = (f["fsmenddate"] < f["fsmstartdate"]).to_numpy()
        f = reject(
            f,
            bad,
            log,
            file,
            name,
            "fsmenddate",
            "date_order",
            "expected an end on or after the start",
        )
        out.append(
            pd.DataFrame(
                {
                    "entity": f["entity"],
                    "start_date": f["fsmstartdate"],
                    "end_date": f["fsmenddate"],
                    "day": day,
                }
            )
        )
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame()


def _sen(tables, ids, day, root, log) -> pd.DataFrame:
    """SEN provision of each on-roll pupil on census day, with the rank-1 type of need."""
    if "onroll" not in ids:
        return pd.DataFrame()
    snap = ids["onroll"][["tableid", "entity", "provision"]]
    if "senneeds" in tables:
        file = str(tables["senneeds"].relative_to(root))
        f = read_csv(
            tables["senneeds"],
            file,
            "senneeds",
            ["pupilonrolltableid", "sentyperank", "sentype"],
            log=log,
        )
        rank, _ = parse_numbers(f["sentyperank"])
        f = f[(rank == 1).to_numpy()]
        f = check_codes(f, "sentype", _codes.SEN_NEED_CODES, log, file, "senneeds", required=True)
        need = f.drop_duplicates("pupilonrolltableid").set_index("pupilonrolltableid")["sentype"]
        snap = snap.assign(need=need.reindex(snap["tableid"]).to_numpy())
    else:
        snap = snap.assign(need=None)
    return snap.drop(columns="tableid").assign(day=day)


def _parse_sessions(f: pd.DataFrame, log, file: str, name: str) -> pd.DataFrame:
    """The ``sessions`` column as numbers; rows whose value is not a number are rejected."""
    sessions, bad = parse_numbers(f["sessions"])
    return reject(
        f.assign(sessions=sessions),
        bad,
        log,
        file,
        name,
        "sessions",
        "number",
        "expected a number of sessions",
    )
