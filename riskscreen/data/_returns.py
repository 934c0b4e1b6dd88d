"""``read_returns``: the statutory returns an authority holds, linked and pseudonymised."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from riskscreen.data import _returns_build as build
from riskscreen.data._linkage import IDENTITY_FIELDS, link
from riskscreen.data._pseudonymise import check_key, pupil_keys, write_identity_lookup
from riskscreen.data._returns_census import load_census
from riskscreen.data._returns_local import (
    load_establishments,
    load_postcode_areas,
    load_register,
    normalise_postcode,
)
from riskscreen.data._returns_read import RejectLog, ReturnsError, parse_dates
from riskscreen.data._returns_report import ReturnsReport, linkage_tables
from riskscreen.data._returns_social import (
    load_903_csv,
    load_903_xml,
    load_cin,
    load_persons,
    year_of,
)
from riskscreen.data._returns_spec import REGISTERS, valid_upn

_RECORD_COLUMNS = [
    "source",
    "file",
    "row",
    "entity",
    "day",
    *IDENTITY_FIELDS,
]
NOTES = (
    "Attendance comes back per term (the school census holds termly totals), from the "
    "first day of the term or the spell to its last.",
    "SEN spells are rebuilt from the provision recorded on census days: a spell starts on "
    "the first census day it is seen and ends the day before a census day without it.",
    "Exclusions before 2020/21 carry one reason (the code list of their year).",
    "Section 47 enquiries have no canonical table: they are attached as the custom source "
    "'section47'.",
    "Identifiers (UPN, child ids, names, dates of birth, postcodes) are used only to link; "
    "pupils keep the birth month and the postcode sector.",
)


def read_returns(
    folder: str | os.PathLike,
    *,
    key: str | bytes,
    threshold: float = 0.95,
    strict: bool = False,
    identity_lookup: str | os.PathLike | None = None,
    seed: int = 0,
):
    """Load an authority's statutory returns as linked, pseudonymised histories.

    Reads the school census extracts, the Children in Need census (XML), the
    SSDA903 (CSV or XML), the case-management person records and the
    authority's registers found under ``folder`` (layout below), validating
    every row as it reads: a row that cannot be used is rejected and counted
    (file, table, column, row positions), never dropped silently. Records are
    linked into children by UPN, then by the authority's child id, then
    probabilistically (Splink) on name, date of birth, sex and postcode; each
    child's identifiers become a ``pupil_id`` keyed with ``key``; only the
    birth month and postcode sector are kept.

    Layout (every part optional)::

        school_census/<year>_<term>_<table>.csv    e.g. 2025_spring_pupilonroll.csv
        cin_census/*.xml                           one CIN census per year
        ssda903/<year>_header.csv, _episodes.csv   or <year>_*.xml
        social_care/persons.csv                    person_id, forename, surname, dob, ...
        registers/<name>.csv                       see riskscreen.data._returns_local
        reference/establishments.csv               urn, phase (name)
        reference/postcode_areas.csv               postcode, idaci_decile

    Parameters
    ----------
    folder : str or path-like
    key : str or bytes
        The authority's secret (at least 16 bytes). The same key gives every
        child the same ``pupil_id`` in every load; keep it apart from the data.
    threshold : float, default=0.95
        Match probability at or above which a probabilistic pair is linked.
    strict : bool, default=False
        Raise :class:`ReturnsError` if any row is rejected, instead of counting it.
    identity_lookup : str or path-like, optional
        Also write ``pupil_id`` -> identity as a CSV file here (for the
        authority's own panel packs). It holds personal data; it is written
        separately and never becomes part of the histories.
    seed : int, default=0
        Seed of the random pairs used to estimate the linkage u-probabilities.

    Returns
    -------
    histories : LinkedHistories
        Validated canonical tables (and the custom source ``section47``).
    report : ReturnsReport
        What was read, rejected, merged and linked (small counts suppressed
        where shown).

    Raises
    ------
    ReturnsError
        A file cannot be read as its table (a required column is missing, the
        XML is broken), or ``strict`` and a row was rejected.
    """
    from riskscreen.data._linked import LinkedHistories

    secret = check_key(key)
    if not 0 < threshold < 1:
        raise ValueError(
            "The 'threshold' parameter of read_returns must be a match probability in (0, 1). "
            f"Got {threshold!r} instead."
        )
    root = Path(folder)
    if not root.is_dir():
        raise FileNotFoundError(f"read_returns: folder {root} does not exist.")
    log = RejectLog()
    parts = _load_all(root, log)
    rejected = [r for r in log.items if r.rule != "ignored_value"]
    if strict and rejected:
        raise ReturnsError(rejected)
    records = _records(parts, log)
    if records.empty:
        raise FileNotFoundError(f"read_returns: no return files with children found in {root}.")
    linked = link(records, threshold=threshold, seed=seed)
    entities = linked.entities
    anchors = _anchors(entities)
    cluster_pid = pupil_keys(anchors, secret)
    pid = pd.Series(
        cluster_pid.reindex(entities["cluster"]).to_numpy(), index=entities["entity"].to_numpy()
    )
    counts = build.new_counts()
    frames = _canonical(parts, entities, pid, counts)
    section47 = parts["s47"]
    histories = LinkedHistories.from_frames(frames, coerce=True, validate=True)
    if len(section47):
        s47 = build.from_register(
            section47, pid, {"date": "date", "initial_cpc_date": "initial_cpc_date"}
        )
        s47 = s47.drop_duplicates(["pupil_id", "date"])
        histories.add_source("section47", s47.reset_index(drop=True), date_column="date")
    if identity_lookup is not None:
        lookup = entities.assign(pupil_id=pid.reindex(entities["entity"]).to_numpy())
        lookup = lookup.sort_values("kind").drop_duplicates("pupil_id")
        write_identity_lookup(
            lookup[["pupil_id", "upn", "forename", "surname", "dob", "sex", "postcode"]],
            identity_lookup,
        )
    report = _report(parts, records, linked, pid, frames, counts, log)
    return histories, report


def _load_all(root: Path, log: RejectLog) -> dict:
    parts: dict = {
        "census": {},
        "cin": [],
        "903": [],
        "persons": pd.DataFrame(),
        "registers": {},
        "schools": None,
        "areas": None,
    }
    ref = root / "reference"
    if (ref / "establishments.csv").is_file():
        parts["schools"] = load_establishments(ref / "establishments.csv", root, log)
    if (ref / "postcode_areas.csv").is_file():
        parts["areas"] = load_postcode_areas(ref / "postcode_areas.csv", root, log)
    native = {}
    if parts["schools"] is not None:
        s = parts["schools"].dropna(subset=["native_id"])
        native = dict(zip(s["native_id"], s["school_id"], strict=True))
        parts["schools"] = parts["schools"].drop(columns="native_id")
    if (root / "school_census").is_dir():
        parts["census"] = load_census(root / "school_census", root, log, native)
    for path in sorted((root / "cin_census").glob("*.xml"), key=year_of):
        parts["cin"].append(load_cin(path, str(path.relative_to(root)), log))
    ssda = root / "ssda903"
    by_year: dict[int, dict] = {}
    for path in sorted(ssda.glob("*")):
        name = path.name.lower()
        slot = by_year.setdefault(year_of(path), {})
        if name.endswith(".xml"):
            slot.setdefault("xml", []).append(path)
        elif "header" in name:
            slot["header"] = path
        elif "episode" in name:
            slot["episodes"] = path
    for year, slot in sorted(by_year.items()):
        for xml in slot.get("xml", []):
            parts["903"].append(load_903_xml(xml, root, year, log))
        if "header" in slot or "episodes" in slot:
            parts["903"].append(
                load_903_csv(slot.get("header"), slot.get("episodes"), root, year, log)
            )
    persons = root / "social_care" / "persons.csv"
    if persons.is_file():
        parts["persons"] = load_persons(persons, root, log)
    for name in REGISTERS:
        path = root / "registers" / f"{name}.csv"
        if path.is_file():
            parts["registers"][name] = load_register(name, path, root, log)
    parts["s47"] = _concat([c["s47"] for c in parts["cin"]])
    return parts


def _concat(frames) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _records(parts: dict, log: RejectLog) -> pd.DataFrame:
    """Every identity row of every source, in one frame (identifiers stay inside the loader)."""
    frames = [parts["census"].get("records", pd.DataFrame())]
    frames += [c["records"] for c in parts["cin"]]
    home = _concat([p["episodes"] for p in parts["903"]])
    for p in parts["903"]:
        r = p["records"]
        if len(r) and len(home):
            last = home.dropna(subset=["home_postcode"]).drop_duplicates("entity", keep="last")
            r = r.assign(
                postcode=last.set_index("entity")["home_postcode"].reindex(r["entity"]).to_numpy()
            )
        frames.append(r)
    frames.append(parts["persons"])
    frames += [r["records"] for r in parts["registers"].values()]
    records = _concat([f.reindex(columns=_RECORD_COLUMNS) for f in frames if len(f)])
    if records.empty:
        return records
    records["day"] = pd.to_datetime(records["day"]).fillna(pd.Timestamp("1900-01-01"))
    dob, bad = parse_dates(records["dob"])
    for file, rows in records.loc[bad, ["file", "row"]].groupby("file")["row"]:
        log.add(
            file,
            "identity",
            "dob",
            "ignored_value",
            rows.to_numpy(),
            "expected a date of birth (not used for linkage)",
        )
    records["dob"] = dob
    for col in ("upn", "former_upn"):
        text = records[col].astype("object").where(records[col].notna(), None)
        records[col] = text.str.strip().str.upper()
    invalid = records["upn"].notna() & ~records["upn"].map(valid_upn).astype(bool)
    invalid &= records["source"] != "school_census"
    for file, rows in records.loc[invalid, ["file", "row"]].groupby("file")["row"]:
        log.add(
            file,
            "identity",
            "upn",
            "ignored_value",
            rows.to_numpy(),
            "expected a UPN whose check letter is right (not used to link)",
        )
    records.loc[invalid, "upn"] = None
    records["postcode"] = normalise_postcode(records["postcode"])
    return records.reset_index(drop=True)


def _anchors(entities: pd.DataFrame) -> pd.Series:
    """Per cluster the identifier its ``pupil_id`` is keyed from (stable across loads)."""
    order = {"census": 0, "social": 1, "register": 2}
    e = entities.assign(_o=entities["kind"].map(order)).sort_values(["cluster", "_o", "entity"])
    first = e.drop_duplicates("cluster").set_index("cluster")
    reg = first["kind"] == "register"
    text = first["entity"].astype(object)
    upn_ok = first["upn"].map(valid_upn).astype(bool)
    who = (
        "identity:"
        + first["forename"].fillna("").str.lower()
        + "|"
        + first["surname"].fillna("").str.lower()
        + "|"
        + first["dob"].astype(str)
    )
    text = text.where(~reg, np.where(upn_ok, first["upn"], who))
    return text.where(first["kind"] != "census", "upn:" + first["entity"])


def _canonical(parts, entities, pid, counts) -> dict[str, pd.DataFrame]:
    census = parts["census"]
    reg = {name: r["rows"] for name, r in parts["registers"].items()}
    empty = pd.DataFrame()
    stages = _concat([c["stages"] for c in parts["cin"]])
    episodes = _concat([p["episodes"] for p in parts["903"]])
    frames = {
        "pupils": build.pupils(entities, pid, parts["areas"], counts),
        "enrolments": build.enrolments(
            census.get("spells", empty),
            reg.get("ap_placements", empty),
            reg.get("roll_deletions", empty),
            pid,
            counts,
        ),
        "attendance": build.attendance(census.get("attendance", empty), pid, counts),
        "exclusions": build.exclusions(census.get("exclusions", empty), pid, counts),
        "sen": build.sen_spells(census.get("sen", empty), pid, counts),
        "fsm": build.fsm(census.get("fsm", empty), pid, counts),
        "social_care": build.social_care(
            stages,
            episodes.drop(columns=["home_postcode"], errors="ignore"),
            reg.get("early_help", empty),
            pid,
            counts,
        ),
        "missing_education": build.from_register(
            reg.get("missing_education", empty),
            pid,
            {
                "kind": "kind",
                "start_date": "start_date",
                "end_date": "end_date",
                "reason": "reason",
            },
        ),
        "interventions": build.from_register(
            reg.get("interventions", empty),
            pid,
            {"kind": "kind", "start_date": "start_date", "end_date": "end_date"},
        ),
    }
    if parts["schools"] is not None:
        frames["schools"] = parts["schools"]
    known = set(frames["pupils"]["pupil_id"])
    for name, frame in frames.items():
        if name in ("pupils", "schools") or not len(frame):
            continue
        orphan = ~frame["pupil_id"].isin(known)
        counts[name]["rows of children without a date of birth (set aside)"] += int(orphan.sum())
        frames[name] = frame[~orphan].reset_index(drop=True)
    frames = build.set_aside_impossible(frames, counts)
    for name, frame in frames.items():
        counts[name]["rows"] = len(frame)
    return {k: v for k, v in frames.items() if len(v) or k == "pupils"}


def _report(parts, records, linked, pid, frames, counts, log) -> ReturnsReport:
    files = records.groupby(["source", "file"]).size().rename("records").reset_index()
    ent = linked.entities
    links = (
        records[["source", "file", "row", "entity"]]
        .assign(
            pupil_id=pid.reindex(records["entity"]).to_numpy(),
            method=ent.set_index("entity")["method"].reindex(records["entity"]).to_numpy(),
            match_weight=ent.set_index("entity")["weight"].reindex(records["entity"]).to_numpy(),
        )
        .drop(columns="entity")
    )
    fsm_ids = set(frames.get("fsm", pd.DataFrame(columns=["pupil_id"]))["pupil_id"])
    cluster_pid = ent.drop_duplicates("cluster").set_index("cluster")["entity"].map(pid)
    fsm = pd.Series(np.where(cluster_pid.isin(fsm_ids), "FSM", "not FSM"), index=cluster_pid.index)
    sections = linkage_tables(ent, records, {"fsm": fsm}, linked.pairs, linked.training)
    tables = pd.DataFrame(
        [(t, w, n) for t, d in sorted(counts.items()) for w, n in d.items()],
        columns=["table", "what", "rows"],
    )
    training = {k: v for k, v in linked.training.items() if k != "levels"}
    training["upn_conflicts"] = linked.conflicts
    return ReturnsReport(
        files=files,
        rejections=log.frame(),
        tables=tables,
        links=links,
        training=training,
        notes=NOTES,
        **sections,
    )
