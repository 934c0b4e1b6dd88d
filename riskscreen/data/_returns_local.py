"""Loaders of an authority's own registers and reference files (documented CSV shapes).

There is no national pupil-level file for children missing education, home
education, deletions from roll, alternative-provision placements, early help
or school interventions, so riskscreen documents one CSV shape per register
(``registers/<name>.csv``). Every register may carry the child's identity
(``upn, forename, surname, dob, sex, postcode``, and ``ethnicity``, ``language``), used only
to link its rows to the child. Dates are ISO (``2024-09-06``) or UK
(``06/09/2024``).

=====================  ==========================================================
register               required columns (and optional ones)
=====================  ==========================================================
missing_education      kind (CME/EHE), start_date (end_date, reason)
roll_deletions         school_urn, entry_date, deletion_date, ground
ap_placements          setting_urn, start_date (end_date, attendance_pattern FT/PT)
early_help             start_date (end_date)
interventions          kind, start_date (end_date)
=====================  ==========================================================

Reference files: ``reference/establishments.csv`` (``urn, phase``, optional
``name`` and ``native_id``, the local code census extracts may use for the
school; phase one of primary, secondary, special, ap) and
``reference/postcode_areas.csv`` (``postcode, idaci_decile``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from riskscreen.data import _codes
from riskscreen.data._returns_read import (
    RejectLog,
    check_codes,
    dates_column,
    parse_numbers,
    read_csv,
    reject,
)
from riskscreen.data._returns_spec import (
    DELETION_GROUNDS,
    ETHNICITY_ROLL_UP,
    MISSING_EDUCATION_KINDS,
    REGISTER_IDENTITY,
    REGISTERS,
)

_OPTIONAL = {
    "missing_education": ("end_date", "reason"),
    "ap_placements": ("end_date", "attendance_pattern"),
    "early_help": ("end_date",),
    "interventions": ("end_date",),
    "roll_deletions": (),
}
_REQUIRED = {
    name: tuple(c for c in cols if c not in _OPTIONAL[name]) for name, cols in REGISTERS.items()
}


def load_register(name: str, path: Path, root: Path, log: RejectLog) -> dict[str, pd.DataFrame]:
    """One register: its identity records and its rows, both keyed by ``entity``."""
    file = str(path.relative_to(root))
    f = read_csv(
        path,
        file,
        name,
        list(_REQUIRED[name]),
        [*_OPTIONAL[name], *REGISTER_IDENTITY, "ethnicity", "language"],
        log=log,
    )
    f["entity"] = f"reg:{file}:" + f["_row"].astype(str)
    dates = [c for c in REGISTERS[name] if c.endswith("_date")]
    for col in dates:
        f = dates_column(f, col, log, file, name, required=col in _REQUIRED[name])
    if len(dates) == 2:
        start, end = dates
        f = reject(
            f,
            (f[end] < f[start]).to_numpy(),
            log,
            file,
            name,
            end,
            "date_order",
            f"expected {end} on or after {start}",
        )
    f = _checks(name, f, log, file)
    records = pd.DataFrame(
        {
            "row": f["_row"].to_numpy(),
            "entity": f["entity"].to_numpy(),
            "upn": f["upn"].str.strip().str.upper().to_numpy(),
            "forename": f["forename"].to_numpy(),
            "surname": f["surname"].to_numpy(),
            "dob": f["dob"].to_numpy(),
            "sex": f["sex"].str.strip().str.upper().where(lambda s: s.isin(["M", "F"])).to_numpy(),
            "postcode": f["postcode"].str.strip().str.upper().to_numpy(),
            "ethnicity": f["ethnicity"].str.strip().str.upper().map(ETHNICITY_ROLL_UP).to_numpy(),
            "language": f["language"].str.strip().str.upper().to_numpy(),
            "file": file,
            "source": "registers",
        }
    )
    return {
        "records": records,
        "rows": f.drop(columns=[*REGISTER_IDENTITY, "ethnicity", "language"]),
    }


def _checks(name: str, f: pd.DataFrame, log: RejectLog, file: str) -> pd.DataFrame:
    if name == "missing_education":
        f = check_codes(f, "kind", MISSING_EDUCATION_KINDS, log, file, name, required=True)
        f["kind"] = f["kind"].map(MISSING_EDUCATION_KINDS)
        reason = f["reason"].str.strip().str.lower()
        unknown = (reason.notna() & ~reason.isin(_codes.MISSING_EDUCATION_REASONS)).to_numpy()
        log.add(
            file,
            name,
            "reason",
            "ignored_value",
            f["_row"].to_numpy()[unknown],
            "expected a reason code of the documented list (value not kept)",
        )
        f["reason"] = reason.where(~unknown)
    elif name == "roll_deletions":
        f = _urn(f, "school_urn", log, file, name)
        f = check_codes(f, "ground", DELETION_GROUNDS, log, file, name, required=True)
        f["leaving_reason"] = f["ground"].map(DELETION_GROUNDS)
    elif name == "ap_placements":
        f = _urn(f, "setting_urn", log, file, name)
        pattern = f["attendance_pattern"].str.strip().str.upper()
        f = reject(
            f,
            (pattern.notna() & ~pattern.isin(["FT", "PT"])).to_numpy(),
            log,
            file,
            name,
            "attendance_pattern",
            "code",
            "expected FT or PT",
        )
        f["part_time"] = (f["attendance_pattern"].str.strip().str.upper() == "PT").to_numpy()
    elif name == "interventions":
        f = reject(
            f,
            f["kind"].isna().to_numpy(),
            log,
            file,
            name,
            "kind",
            "required",
            "expected the kind of intervention",
        )
        f["kind"] = f["kind"].str.strip()
    return f


def _urn(f, column, log, file, name) -> pd.DataFrame:
    ok = f[column].str.strip().str.fullmatch(r"\d{5,7}").fillna(False).to_numpy()
    f = reject(f, ~ok, log, file, name, column, "code", "expected a URN (5-7 digits)")
    return f.assign(**{column: f[column].astype("int64")})


def load_establishments(path: Path, root: Path, log: RejectLog) -> pd.DataFrame:
    """Schools by URN with their phase (``schools`` table)."""
    file = str(path.relative_to(root))
    f = read_csv(path, file, "establishments", ["urn", "phase"], ["name", "native_id"], log=log)
    f = _urn(f, "urn", log, file, "establishments")
    f["phase"] = f["phase"].str.strip().str.lower()
    f = reject(
        f,
        ~f["phase"].isin(list(_codes.SCHOOL_PHASES)).to_numpy(),
        log,
        file,
        "establishments",
        "phase",
        "code",
        f"expected one of {', '.join(_codes.SCHOOL_PHASES)}",
    )
    f = f.drop_duplicates("urn")
    return pd.DataFrame(
        {
            "school_id": f["urn"].to_numpy(),
            "phase": f["phase"].to_numpy(),
            "name": f["name"].to_numpy(),
            "native_id": f["native_id"].str.strip().str.upper().to_numpy(),
        }
    )


def load_postcode_areas(path: Path, root: Path, log: RejectLog) -> pd.Series:
    """IDACI decile by postcode (upper case, single space)."""
    file = str(path.relative_to(root))
    f = read_csv(path, file, "postcode_areas", ["postcode", "idaci_decile"], log=log)
    decile, bad = parse_numbers(f["idaci_decile"])
    bad |= ~decile.between(1, 10).to_numpy() & ~bad
    f = reject(
        f.assign(idaci_decile=decile),
        bad,
        log,
        file,
        "postcode_areas",
        "idaci_decile",
        "number",
        "expected a whole number from 1 to 10",
    )
    key = normalise_postcode(f["postcode"])
    return pd.Series(f["idaci_decile"].astype(np.int64).to_numpy(), index=key.to_numpy())


def normalise_postcode(postcode: pd.Series) -> pd.Series:
    """Upper case, one space before the last three characters."""
    s = postcode.astype("object").where(postcode.notna(), None).str.upper()
    s = s.str.replace(r"\s+", "", regex=True)
    return s.str[:-3] + " " + s.str[-3:]


def postcode_sector(postcode: pd.Series) -> pd.Series:
    """The sector of a postcode (``RS4 7AB`` -> ``RS4 7``): the area riskscreen keeps."""
    s = normalise_postcode(postcode)
    return s.str[:-2]
