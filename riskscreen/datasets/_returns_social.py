"""Social-care returns, local registers and reference files of the synthetic authority.

- ``cin_census/CIN_Census_<year>.xml``: the Children in Need census for the
  year to 31 March, in the DfE's XML shape (``Sex`` from 2024/25, before it
  ``GenderCurrent``): every case open in the year with its assessments, CIN
  plans and child-protection plans, as known on the reference date;
- ``ssda903/<year>_header.csv`` and ``<year>_episodes.csv`` (or one
  ``<year>_ssda903.xml``): the looked-after children return; an episode's
  ``DEC`` is the day after its last day, so consecutive placements share a date;
- ``social_care/persons.csv``: the case-management system's person records
  (names, date of birth, UPN, postcode), shaped like the Standard Safeguarding
  Dataset's person table;
- ``registers/*.csv``: the authority's own CME/EHE register, deletions from roll,
  AP placements, early help and interventions, each row with the child's identity;
- ``reference/establishments.csv`` and ``reference/postcode_areas.csv``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd

from riskscreen._files import atomic_path
from riskscreen.data._returns_spec import CIN_CENSUS, DELETION_GROUNDS

_ISO = "%Y-%m-%d"
_UK = "%d/%m/%Y"
_GROUND_OF = {v: k for k, v in DELETION_GROUNDS.items()}
_CLOSURE = ["RC8", "RC7", "RC7", "RC9", "RC5"]
_REC_LEFT = ["E4A", "E4A", "E13", "E45", "E41", "E11", "E8"]


def _iso(d) -> str | None:
    return None if pd.isna(d) else pd.Timestamp(d).strftime(_ISO)


def _uk(series: pd.Series) -> pd.Series:
    return series.dt.strftime(_UK).where(series.notna(), None)


def write_csv(path: Path, frame: pd.DataFrame) -> None:
    """Write a CSV file atomically (no index)."""
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


def _return_years(frame: pd.DataFrame) -> range:
    """Years to 31 March (named by the year they end in) covering the frame's spells."""
    start = frame["start_date"].min()
    end = max(frame["start_date"].max(), frame["end_date"].max())
    return range(start.year + (start.month > 3), end.year + (end.month > 3) + 1)


def _open_in(frame: pd.DataFrame, lo: pd.Timestamp, hi: pd.Timestamp) -> pd.Series:
    return (frame["start_date"] <= hi) & (frame["end_date"].isna() | (frame["end_date"] >= lo))


def write_cin(sc: pd.DataFrame, who: pd.DataFrame, folder: Path, rng) -> list[tuple]:
    """One CIN census XML per year; returns (file, child index, pupil_id) per Child."""
    sc = sc[sc["kind"] != "early_help"].sort_values(["pupil_id", "start_date"])
    cases = sc[sc["kind"] == "referral"]
    if cases.empty:
        return []
    stages = sc[sc["kind"].isin(["assessment", "cin_plan", "cp_plan"])]
    stages = stages.merge(
        cases[["pupil_id", "start_date", "end_date"]].rename(
            columns={"start_date": "ref_start", "end_date": "ref_end"}
        ),
        on="pupil_id",
    )
    inside = (stages["start_date"] >= stages["ref_start"]) & (
        stages["ref_end"].isna() | (stages["start_date"] <= stages["ref_end"])
    )
    stages = stages[inside]
    closure = pd.Series(
        np.array(_CLOSURE)[rng.integers(0, len(_CLOSURE), len(cases))], index=cases.index
    )
    records = []
    for year in _return_years(cases):
        ref = pd.Timestamp(year, 3, 31)
        lo = pd.Timestamp(year - 1, 4, 1)
        open_ = cases[_open_in(cases, lo, ref)]
        if open_.empty:
            continue
        message = ET.Element("Message")
        header = ET.SubElement(message, "Header")
        cd = ET.SubElement(header, "CollectionDetails")
        for tag, text in (("Collection", "CIN"), ("Year", str(year)), ("ReferenceDate", _iso(ref))):
            ET.SubElement(cd, tag).text = text
        src = ET.SubElement(header, "Source")
        for tag, text in (("SourceLevel", "L"), ("LEA", "820"), ("SoftwareCode", "riskscreen")):
            ET.SubElement(src, tag).text = text
        children = ET.SubElement(message, "Children")
        sex_tag = CIN_CENSUS.column(year - 1, "GenderCurrent")
        file = f"cin_census/CIN_Census_{year}.xml"
        st = stages[stages["start_date"] <= ref]
        by_case: dict = {}
        for row in st.itertuples(index=False):
            by_case.setdefault((row.pupil_id, row.ref_start), []).append(row)
        for i, (pid, group) in enumerate(open_.groupby("pupil_id", sort=True)):
            p = who.loc[pid]
            child = ET.SubElement(children, "Child")
            ids = ET.SubElement(child, "ChildIdentifiers")
            ET.SubElement(ids, "LAchildID").text = p["child_id"]
            if isinstance(p["upn"], str):
                ET.SubElement(ids, "UPN").text = p["upn"]
            else:
                ET.SubElement(ids, "UPNunknown").text = p["upn_unknown"]
            ET.SubElement(ids, "PersonBirthDate").text = _iso(p["dob"])
            sex = p["sex"] if sex_tag == "Sex" else {"M": "1", "F": "2"}.get(p["sex"], "0")
            ET.SubElement(ids, sex_tag).text = sex
            chars = ET.SubElement(child, "ChildCharacteristics")
            ET.SubElement(chars, "Ethnicity").text = p["ethnicity"]
            for idx, case in zip(group.index, group.itertuples(index=False), strict=True):
                mine = by_case.get((pid, case.start_date), [])
                _cin_details(child, case, mine, ref, closure[idx])
            records.append((file, i, pid))
        path = folder / file
        with atomic_path(path) as tmp:
            ET.ElementTree(message).write(tmp, encoding="utf-8", xml_declaration=True)
    return records


def _cin_details(child, case, stages, ref, closure_code) -> None:
    d = ET.SubElement(child, "CINdetails")
    ET.SubElement(d, "CINreferralDate").text = _iso(case.start_date)
    ET.SubElement(d, "ReferralSource").text = "2A"
    if isinstance(case.need_code, str):
        ET.SubElement(d, "PrimaryNeedCode").text = case.need_code
    if pd.notna(case.end_date) and case.end_date <= ref:
        ET.SubElement(d, "CINclosureDate").text = _iso(case.end_date)
        ET.SubElement(d, "ReasonForClosure").text = closure_code
    for s in stages:
        end = _iso(s.end_date) if pd.notna(s.end_date) and s.end_date <= ref else None
        if s.kind == "assessment":
            a = ET.SubElement(d, "Assessments")
            ET.SubElement(a, "AssessmentActualStartDate").text = _iso(s.start_date)
            if end:
                ET.SubElement(a, "AssessmentAuthorisationDate").text = end
            if isinstance(s.assessment_factors, str):
                f = ET.SubElement(a, "FactorsIdentifiedAtAssessment")
                for code in s.assessment_factors.split(","):
                    ET.SubElement(f, "AssessmentFactors").text = code
        elif s.kind == "cin_plan":
            p = ET.SubElement(d, "CINPlanDates")
            ET.SubElement(p, "CINPlanStartDate").text = _iso(s.start_date)
            if end:
                ET.SubElement(p, "CINPlanEndDate").text = end
        else:
            p = ET.SubElement(d, "ChildProtectionPlans")
            ET.SubElement(p, "CPPstartDate").text = _iso(s.start_date)
            if end:
                ET.SubElement(p, "CPPendDate").text = end
            ET.SubElement(p, "InitialCategoryOfAbuse").text = s.abuse_category
            ET.SubElement(p, "LatestCategoryOfAbuse").text = s.abuse_category


def _episodes(la: pd.DataFrame, rng) -> pd.DataFrame:
    """903 episodes of the looked-after spells: DEC the day after the last day."""
    la = la.sort_values(["pupil_id", "start_date"]).reset_index(drop=True)
    nxt = la.groupby("pupil_id")["start_date"].shift(-1)
    dec = la["end_date"] + pd.Timedelta(days=1)
    cont = nxt.notna() & (nxt == dec)
    prev_cont = cont.groupby(la["pupil_id"]).shift(1, fill_value=False).astype(bool)
    rec = np.where(cont, "X1", np.array(_REC_LEFT)[rng.integers(0, len(_REC_LEFT), len(la))])
    return la.assign(
        dec=dec,
        rec=np.where(la["end_date"].isna(), None, rec),
        rne=np.where(prev_cont, "P", "S"),
        ls=np.array(["C2", "C2", "V2", "C1", "E1"])[rng.integers(0, 5, len(la))],
        provider=np.array(["PR1", "PR4", "PR2", "PR0"])[rng.integers(0, 4, len(la))],
    )


def write_903(sc, who, folder: Path, rng, fmt: str) -> list[tuple]:
    """The SSDA903 return per year to 31 March (CSV pair or XML); identity rows written."""
    la = sc[sc["kind"] == "looked_after"]
    if la.empty:
        return []
    ep = _episodes(la, rng)
    records = []
    for year in _return_years(la):
        ref, lo = pd.Timestamp(year, 3, 31), pd.Timestamp(year - 1, 4, 1)
        e = ep[(ep["start_date"] <= ref) & (ep["dec"].isna() | (ep["dec"] >= lo))]
        if e.empty:
            continue
        known = e["dec"].notna() & (e["dec"] <= ref)
        p = who.reindex(np.sort(e["pupil_id"].unique()))
        header = pd.DataFrame(
            {
                "CHILD": p["child_id"].to_numpy(),
                "SEX": p["sex"].map({"M": "1", "F": "2"}).to_numpy(),
                "DOB": _uk(p["dob"]).to_numpy(),
                "ETHNIC": p["ethnicity"].to_numpy(),
                "UPN": p["upn"].where(p["upn"].notna(), p["upn_unknown"]).to_numpy(),
                "MOTHER": None,
                "MC_DOB": None,
            }
        )
        episodes = pd.DataFrame(
            {
                "CHILD": who["child_id"].reindex(e["pupil_id"]).to_numpy(),
                "DECOM": _uk(e["start_date"]).to_numpy(),
                "RNE": e["rne"].to_numpy(),
                "LS": e["ls"].to_numpy(),
                "CIN": e["need_code"].where(e["need_code"] != "N0").to_numpy(),
                "PLACE": e["placement_type"].to_numpy(),
                "PLACE_PROVIDER": e["provider"].to_numpy(),
                "DEC": _uk(e["dec"].where(known)).to_numpy(),
                "REC": e["rec"].where(known).to_numpy(),
                "REASON_PLACE_CHANGE": np.where(e["rec"].where(known) == "X1", "CARPL", None),
                "HOME_POST": who["postcode"].reindex(e["pupil_id"]).to_numpy(),
                "PL_POST": None,
                "URN": None,
            }
        )
        if fmt == "xml":
            file = f"ssda903/{year}_ssda903.xml"
            _write_903_xml(folder / file, header, episodes)
        else:
            file = f"ssda903/{year}_header.csv"
            write_csv(folder / file, header)
            write_csv(folder / f"ssda903/{year}_episodes.csv", episodes)
        records += [(file, i, pid) for i, pid in enumerate(p.index)]
    return records


def _write_903_xml(path: Path, header: pd.DataFrame, episodes: pd.DataFrame) -> None:
    root = ET.Element("EXPSSDA903")
    by_child = dict(list(episodes.groupby("CHILD", sort=False)))
    rename = {"CHILD": "CHILDID", "PLACE": "PL"}
    for _, h in header.iterrows():
        child = ET.SubElement(root, "CHILD")
        head = ET.SubElement(child, "HEADER")
        for col, value in h.items():
            ET.SubElement(head, rename.get(col, col)).text = None if pd.isna(value) else value
        for _, e in by_child.get(h["CHILD"], pd.DataFrame()).iterrows():
            ep = ET.SubElement(child, "EPISODE")
            for col, value in e.items():
                if col != "CHILD":
                    ET.SubElement(ep, rename.get(col, col)).text = (
                        None if pd.isna(value) else str(value)
                    )
    with atomic_path(path) as tmp:
        ET.ElementTree(root).write(tmp, encoding="utf-8", xml_declaration=True)


def write_persons(who: pd.DataFrame, folder: Path) -> list[tuple]:
    """The case-management system's person records (SSD ``ssd_person`` shape)."""
    frame = pd.DataFrame(
        {
            "person_id": who["child_id"].to_numpy(),
            "forename": who["forename"].to_numpy(),
            "surname": who["surname"].to_numpy(),
            "dob": who["dob"].dt.strftime(_ISO).to_numpy(),
            "sex": who["sex"].to_numpy(),
            "ethnicity": who["ethnicity"].to_numpy(),
            "upn": who["upn"].to_numpy(),
            "upn_unknown": who["upn_unknown"].to_numpy(),
            "postcode": who["postcode"].to_numpy(),
        }
    )
    write_csv(folder / "social_care/persons.csv", frame)
    return [("social_care/persons.csv", i, p) for i, p in enumerate(who.index)]


def write_register(name: str, rows: pd.DataFrame, ident: pd.DataFrame, folder: Path) -> list:
    """A local register: the documented columns, then the identity of each row (aligned)."""
    frame = rows.drop(columns="pupil_id").reset_index(drop=True)
    for col in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[col]):
            frame[col] = frame[col].dt.strftime(_ISO).where(frame[col].notna(), None)
    for col in ("upn", "forename", "surname", "sex", "postcode", "ethnicity", "language"):
        frame[col] = ident[col].to_numpy()
    frame["dob"] = ident["dob"].dt.strftime(_ISO).to_numpy()
    file = f"registers/{name}.csv"
    write_csv(folder / file, frame)
    return [(file, i, p) for i, p in enumerate(rows["pupil_id"])]


def register_rows(h) -> dict[str, pd.DataFrame]:
    """The rows of each documented register, from the canonical tables."""
    me = h.missing_education
    e = h.enrolments
    ap_ids = h.schools.loc[h.schools["phase"] == "ap", "school_id"]
    ap = e[e["school_id"].isin(ap_ids)]
    left = e[e["leaving_date"].notna()]
    eh = h.social_care[h.social_care["kind"] == "early_help"]
    return {
        "missing_education": pd.DataFrame(
            {
                "pupil_id": me["pupil_id"],
                "kind": me["kind"].str.upper(),
                "start_date": me["start_date"],
                "end_date": me["end_date"],
                "reason": me["reason"],
            }
        ),
        "roll_deletions": pd.DataFrame(
            {
                "pupil_id": left["pupil_id"],
                "school_urn": left["school_id"],
                "entry_date": left["entry_date"],
                "deletion_date": left["leaving_date"],
                "ground": left["leaving_reason"].map(_GROUND_OF),
            }
        ),
        "ap_placements": pd.DataFrame(
            {
                "pupil_id": ap["pupil_id"],
                "setting_urn": ap["school_id"],
                "start_date": ap["entry_date"],
                "end_date": ap["leaving_date"],
                "attendance_pattern": np.where(ap["part_time"], "PT", "FT"),
            }
        ),
        "early_help": eh[["pupil_id", "start_date", "end_date"]],
        "interventions": h.interventions[["pupil_id", "kind", "start_date", "end_date"]],
    }


def write_reference(h, ident: pd.DataFrame, folder: Path) -> None:
    """Establishments (URN, name, phase) and the postcode -> IDACI decile lookup."""
    schools = h.schools
    write_csv(
        folder / "reference/establishments.csv",
        pd.DataFrame(
            {
                "urn": schools["school_id"],
                "name": schools.get("name"),
                "phase": schools["phase"],
            }
        ),
    )
    areas = ident.loc[ident["idaci_decile"].notna(), ["postcode", "idaci_decile"]]
    areas = areas.drop_duplicates("postcode").sort_values("postcode")
    areas["idaci_decile"] = areas["idaci_decile"].astype("Int64")
    write_csv(folder / "reference/postcode_areas.csv", areas)
