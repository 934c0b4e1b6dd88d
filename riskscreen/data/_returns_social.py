"""Loaders of the social-care returns: the CIN census (XML), the SSDA903 (CSV or XML), persons.

The XML files are parsed as a stream (``xml.etree.ElementTree.iterparse``):
each ``Child`` (CIN) or ``CHILD`` (903) element is read and then freed, so a
file's size does not bound memory. Children are keyed by the authority's child
id (``LAchildID`` in the CIN census, ``CHILD`` in the 903, ``person_id`` in the
case-management person records), which the three share.
"""

from __future__ import annotations

import datetime as _dt
import functools
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd

from riskscreen.data import _codes
from riskscreen.data._returns_read import (
    RejectLog,
    check_codes,
    dates_column,
    parse_dates,
    read_csv,
    reject,
)
from riskscreen.data._returns_spec import CIN_CENSUS, CIN_SEX, ETHNICITY_ROLL_UP, SSDA903_SEX

_PLACEMENTS = set(_codes.PLACEMENT_TYPE_CODES)
_NEEDS = set(_codes.NEED_CODES)
_ABUSE = set(_codes.ABUSE_CATEGORY_CODES)
_FACTORS = set(_codes.ASSESSMENT_FACTOR_CODES)


def _tag(elem) -> str:
    return elem.tag.rsplit("}", 1)[-1]


def _text(elem, name: str) -> str | None:
    for child in elem:
        if _tag(child) == name:
            text = (child.text or "").strip()
            return text or None
    return None


def _children(elem, name: str) -> list:
    return [c for c in elem if _tag(c) == name]


def _iter_elements(path: Path, file: str, name: str, log: RejectLog):
    """Yield (position, element) for each ``name`` element, freeing each after use."""
    position = 0
    try:
        context = ET.iterparse(path, events=("start", "end"))
        _, root = next(context)
        header = None
        for event, elem in context:
            if event != "end":
                continue
            tag = _tag(elem)
            if tag == "Header":
                header = elem
            if tag == name:
                yield position, elem, header
                position += 1
                elem.clear()
                root.clear()
    except ET.ParseError as err:
        line, col = err.position
        log.fail(
            file,
            name,
            None,
            "unreadable",
            f"expected well-formed XML (broken at line {line}, column {col})",
        )


# --------------------------------------------------------------------------------- CIN


def load_cin(path: Path, file: str, log: RejectLog) -> dict[str, pd.DataFrame]:
    """Children, cases (referrals), assessments, plans and section 47 enquiries of one file."""
    rows: dict[str, list] = {"records": [], "stages": [], "s47": []}
    bad: dict[tuple, list[int]] = {}
    reference = year = None
    for pos, child, header in _iter_elements(path, file, "Child", log):
        if reference is None:
            reference, year = _cin_header(header, path, file, log)
        _cin_child(pos, child, reference, year, rows, bad)
    if reference is None:
        return {k: pd.DataFrame() for k in rows}
    for (table, column, rule, expected), positions in bad.items():
        log.add(file, table, column, rule, positions, expected)
    out = {k: pd.DataFrame(v) for k, v in rows.items()}
    if len(out["records"]):
        out["records"] = out["records"].assign(file=file, day=reference, source="cin_census")
    for k in ("stages", "s47"):
        if len(out[k]):
            out[k]["year"] = reference
    return out


def _cin_header(header, path, file, log):
    ref = None if header is None else _text(_first(header, "CollectionDetails"), "ReferenceDate")
    dates, _ = parse_dates(pd.Series([ref], dtype="object"))
    if pd.isna(dates.iloc[0]):
        digits = re.findall(r"(20\d\d)", path.stem)
        if not digits:
            log.fail(
                file,
                "Header",
                "ReferenceDate",
                "required",
                "expected Header/CollectionDetails/ReferenceDate (or a year in the name)",
            )
        return pd.Timestamp(int(digits[-1]), 3, 31), int(digits[-1]) - 1
    reference = dates.iloc[0]
    return reference, reference.year - 1


def _first(elem, name):
    if elem is None:
        return []
    found = _children(elem, name)
    return found[0] if found else []


def _cin_child(pos, child, reference, year, rows, bad) -> None:
    ids = _first(child, "ChildIdentifiers")
    la_id = _text(ids, "LAchildID") if len(ids) else None
    if la_id is None:
        bad.setdefault(
            ("Child", "LAchildID", "required", "expected the child's LAchildID"), []
        ).append(pos)
        return
    entity = "child:" + la_id.upper()
    tag = CIN_CENSUS.column(year, "GenderCurrent")
    sex = _text(ids, tag) or _text(ids, "Sex") or _text(ids, "GenderCurrent")
    if sex is not None and sex.upper() not in CIN_CENSUS.codes_for(year, "GenderCurrent"):
        bad.setdefault(
            (
                "Child",
                tag,
                "ignored_value",
                f"expected a {tag} code of collection year {year}/{(year + 1) % 100:02d}",
            ),
            [],
        ).append(pos)
        sex = None
    chars = _first(child, "ChildCharacteristics")
    eth = (_text(chars, "Ethnicity") or "").upper() if len(chars) else ""
    rows["records"].append(
        {
            "row": pos,
            "entity": entity,
            "upn": (_text(ids, "UPN") or "").upper() or None,
            "former_upn": (_text(ids, "FormerUPN") or "").upper() or None,
            "dob": _text(ids, "PersonBirthDate"),
            "sex": CIN_SEX.get((sex or "").upper()),
            "ethnicity": ETHNICITY_ROLL_UP.get(eth),
        }
    )
    for details in _children(child, "CINdetails"):
        start = _date(_text(details, "CINreferralDate"))
        if start is None or start > reference:
            bad.setdefault(
                (
                    "CINdetails",
                    "CINreferralDate",
                    "date",
                    "expected a referral date on or before the reference date",
                ),
                [],
            ).append(pos)
            continue
        need = _text(details, "PrimaryNeedCode")
        need = need.upper() if need and need.upper() in _NEEDS else None
        end = _date(_text(details, "CINclosureDate"))
        rows["stages"].append(_stage(entity, "referral", start, end, need))
        for el, kind, s_tag, e_tag in (
            (
                "Assessments",
                "assessment",
                "AssessmentActualStartDate",
                "AssessmentAuthorisationDate",
            ),
            ("CINPlanDates", "cin_plan", "CINPlanStartDate", "CINPlanEndDate"),
            ("ChildProtectionPlans", "cp_plan", "CPPstartDate", "CPPendDate"),
        ):
            for sub in _children(details, el):
                s, e = _date(_text(sub, s_tag)), _date(_text(sub, e_tag))
                if s is None or s > reference or (e is not None and e < s):
                    bad.setdefault(
                        (
                            f"CINdetails/{el}",
                            s_tag,
                            "date",
                            "expected a start date on or before the reference date and "
                            "an end on or after it",
                        ),
                        [],
                    ).append(pos)
                    continue
                row = _stage(entity, kind, s, e, need)
                if kind == "assessment":
                    factors = [
                        (_t.text or "").strip().upper()
                        for f in _children(sub, "FactorsIdentifiedAtAssessment")
                        for _t in f
                    ]
                    unknown = [x for x in factors if x not in _FACTORS]
                    if unknown:
                        bad.setdefault(
                            (
                                f"CINdetails/{el}",
                                "AssessmentFactors",
                                "ignored_value",
                                "expected assessment factor codes (unknown ones dropped)",
                            ),
                            [],
                        ).append(pos)
                    kept = [x for x in factors if x in _FACTORS]
                    row["assessment_factors"] = ",".join(kept) if kept else None
                if kind == "cp_plan":
                    abuse = (_text(sub, "InitialCategoryOfAbuse") or "").upper()
                    row["abuse_category"] = abuse if abuse in _ABUSE else None
                rows["stages"].append(row)
        for sub in _children(details, "Section47"):
            s = _date(_text(sub, "S47ActualStartDate"))
            if s is not None and s <= reference:
                rows["s47"].append(
                    {
                        "entity": entity,
                        "date": s,
                        "initial_cpc_date": _date(_text(sub, "DateOfInitialCPC")),
                    }
                )


def _stage(entity, kind, start, end, need) -> dict:
    return {
        "entity": entity,
        "kind": kind,
        "start_date": start,
        "end_date": end,
        "need_code": need,
        "abuse_category": None,
        "assessment_factors": None,
        "placement_type": None,
    }


@functools.lru_cache(maxsize=65536)
def _date(text: str | None) -> pd.Timestamp | None:
    """One XML date (ISO, or UK day-first); None if absent or unreadable."""
    if text is None:
        return None
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%Y-%m-%dT%H:%M:%S"):
        try:
            return pd.Timestamp(_dt.datetime.strptime(text.strip(), fmt).date())
        except ValueError:
            continue
    return None


# ------------------------------------------------------------------------------- 903

_HEADER_OPTIONAL = ("SEX", "DOB", "ETHNIC", "UPN")
_EPISODE_OPTIONAL = ("CIN", "DEC", "REC", "HOME_POST")


def load_903_csv(
    header: Path | None, episodes: Path | None, root: Path, year: int, log: RejectLog
) -> dict[str, pd.DataFrame]:
    """The header and episodes CSV files of one year of the SSDA903."""
    out = {"records": pd.DataFrame(), "episodes": pd.DataFrame()}
    if header is not None:
        file = str(header.relative_to(root))
        h = read_csv(
            header,
            file,
            "Header",
            ["CHILD"],
            _HEADER_OPTIONAL,
            aliases={"CHILD": ("CHILDID",)},
            log=log,
        )
        out["records"] = _903_records(h, file)
    if episodes is not None:
        file = str(episodes.relative_to(root))
        e = read_csv(
            episodes,
            file,
            "Episodes",
            ["CHILD", "DECOM", "PLACE"],
            _EPISODE_OPTIONAL,
            aliases={"CHILD": ("CHILDID",), "PLACE": ("PL",)},
            log=log,
        )
        out["episodes"] = _903_episodes(e, file, "Episodes", log)
    out["episodes"] = out["episodes"].assign(year=year) if len(out["episodes"]) else out["episodes"]
    return out


def load_903_xml(path: Path, root: Path, year: int, log: RejectLog) -> dict[str, pd.DataFrame]:
    """One SSDA903 XML file: ``CHILD`` elements with a ``HEADER`` and ``EPISODE`` children."""
    file = str(path.relative_to(root))
    heads, eps = [], []
    for pos, child, _ in _iter_elements(path, file, "CHILD", log):
        head = _first(child, "HEADER")
        values = {_tag(c): (c.text or "").strip() or None for c in head} if len(head) else {}
        child_id = values.get("CHILDID") or values.get("CHILD")
        heads.append(
            {"CHILD": child_id, **{k: values.get(k) for k in _HEADER_OPTIONAL}, "_row": pos}
        )
        for ep in _children(child, "EPISODE"):
            v = {_tag(c): (c.text or "").strip() or None for c in ep}
            eps.append(
                {
                    "CHILD": child_id,
                    "DECOM": v.get("DECOM"),
                    "PLACE": v.get("PL") or v.get("PLACE"),
                    **{k: v.get(k) for k in _EPISODE_OPTIONAL},
                    "_row": pos,
                }
            )
    h = pd.DataFrame(heads, columns=["CHILD", *_HEADER_OPTIONAL, "_row"])
    e = pd.DataFrame(eps, columns=["CHILD", "DECOM", "PLACE", *_EPISODE_OPTIONAL, "_row"])
    episodes = _903_episodes(e, file, "EPISODE", log)
    return {
        "records": _903_records(h, file, log=log),
        "episodes": episodes.assign(year=year) if len(episodes) else episodes,
    }


def _903_records(h: pd.DataFrame, file: str, log: RejectLog | None = None) -> pd.DataFrame:
    if log is not None:
        h = reject(
            h,
            h["CHILD"].isna().to_numpy(),
            log,
            file,
            "HEADER",
            "CHILDID",
            "required",
            "expected the child's id",
        )
    h = h[h["CHILD"].notna()]
    upn = h["UPN"].str.strip().str.upper()
    return pd.DataFrame(
        {
            "row": h["_row"].to_numpy(),
            "entity": "child:" + h["CHILD"].str.strip().str.upper(),
            "upn": upn.where(~upn.str.startswith("UN", na=False)).to_numpy(),
            "dob": h["DOB"].to_numpy(),
            "sex": h["SEX"].str.strip().map(SSDA903_SEX).to_numpy(),
            "ethnicity": h["ETHNIC"].str.strip().str.upper().map(ETHNICITY_ROLL_UP).to_numpy(),
            "file": file,
            "source": "ssda903",
        }
    )


def _903_episodes(e: pd.DataFrame, file: str, table: str, log: RejectLog) -> pd.DataFrame:
    e = reject(
        e,
        e["CHILD"].isna().to_numpy(),
        log,
        file,
        table,
        "CHILD",
        "required",
        "expected the child's id",
    )
    e = dates_column(e, "DECOM", log, file, table, required=True)
    e = dates_column(e, "DEC", log, file, table, required=False)
    bad = (e["DEC"] <= e["DECOM"]).to_numpy()
    e = reject(
        e,
        bad,
        log,
        file,
        table,
        "DEC",
        "date_order",
        "expected an episode to end after the day it started",
    )
    e = check_codes(
        e,
        "PLACE",
        _PLACEMENTS,
        log,
        file,
        table,
        required=True,
        expected_words="expected a placement type of the 2024 list",
    )
    need = e["CIN"].str.strip().str.upper()
    return pd.DataFrame(
        {
            "entity": "child:" + e["CHILD"].str.strip().str.upper(),
            "kind": "looked_after",
            "start_date": e["DECOM"],
            "end_date": e["DEC"] - pd.Timedelta(days=1),
            "need_code": need.where(need.isin(_NEEDS)),
            "placement_type": e["PLACE"],
            "home_postcode": e["HOME_POST"].str.strip().str.upper(),
        }
    )


def load_persons(path: Path, root: Path, log: RejectLog) -> pd.DataFrame:
    """The case-management system's person records (names, DOB, UPN, postcode)."""
    file = str(path.relative_to(root))
    p = read_csv(
        path,
        file,
        "persons",
        ["person_id"],
        ["forename", "surname", "dob", "sex", "ethnicity", "upn", "postcode"],
        aliases={"person_id": ("pers_person_id", "la_child_id")},
        log=log,
    )
    p = reject(
        p,
        p["person_id"].isna().to_numpy(),
        log,
        file,
        "persons",
        "person_id",
        "required",
        "expected the child's id",
    )
    return pd.DataFrame(
        {
            "row": p["_row"].to_numpy(),
            "entity": "child:" + p["person_id"].str.strip().str.upper(),
            "upn": p["upn"].str.strip().str.upper().to_numpy(),
            "forename": p["forename"].to_numpy(),
            "surname": p["surname"].to_numpy(),
            "dob": p["dob"].to_numpy(),
            "sex": p["sex"].str.strip().str.upper().where(lambda s: s.isin(["M", "F"])).to_numpy(),
            "ethnicity": p["ethnicity"].str.strip().str.upper().map(ETHNICITY_ROLL_UP).to_numpy(),
            "postcode": p["postcode"].str.strip().str.upper().to_numpy(),
            "file": file,
            "source": "social_care",
        }
    )


def year_of(path: Path) -> int:
    """The four-digit year in a file's name (0 if none): orders returns, newest wins."""
    found = re.findall(r"(?:19|20)\d\d", path.stem)
    return int(found[0]) if found else 0
