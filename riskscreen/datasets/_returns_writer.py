"""``write_returns``: a synthetic local authority in the shapes of its statutory returns."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from riskscreen.data import as_histories
from riskscreen.datasets._identities import make_identities, make_upns, noisy_copy
from riskscreen.datasets._returns_census import write_census
from riskscreen.datasets._returns_social import (
    register_rows,
    write_903,
    write_cin,
    write_persons,
    write_reference,
    write_register,
)
from riskscreen.datasets._returns_truth import ReturnsTruth

# Share of each register's rows recorded without a UPN (the rest of the noise as default).
_REGISTER_UPN_MISSING = {
    "missing_education": 0.25,
    "roll_deletions": 0.03,
    "ap_placements": 0.05,
    "early_help": 0.5,
    "interventions": 0.02,
}
_PLAA_PLACEMENTS = ("A3", "A4", "A5", "A6")


def write_returns(
    histories,
    folder: str | os.PathLike,
    *,
    seed: int = 0,
    ssda903_format: str = "csv",
    decoys: float = 0.05,
    noise: dict[str, float] | None = None,
) -> ReturnsTruth:
    """Write linked histories as the statutory returns and registers an authority holds.

    The files carry made-up identities (names, dates of birth, postcodes, UPNs,
    local-authority child ids) with the noise real records carry: a second
    system's copy of a child has typing errors in names, day and month swapped,
    changed surnames, moved postcodes and missing UPNs (``UPNunknown`` codes) or
    mistyped ones; some UPNs changed (the census keeps the former one); some
    children in social care have no school record at all (``decoys``: children
    the authority knows only from social care). :func:`riskscreen.data.read_returns`
    reads the folder back.

    Layout of ``folder``::

        school_census/<year>_<term>_<table>.csv   pupilonroll, pupilnolongeronroll,
                                                  termlyexclusions*, fsmperiodonroll,
                                                  senneeds, addresses*
        cin_census/CIN_Census_<year>.xml          the CIN census, year to 31 March
        ssda903/<year>_header.csv, _episodes.csv  the SSDA903 (or <year>_ssda903.xml)
        social_care/persons.csv                   case-management person records
        registers/<name>.csv                      missing_education, roll_deletions,
                                                  ap_placements, early_help, interventions
        reference/establishments.csv, postcode_areas.csv

    Parameters
    ----------
    histories : LinkedHistories or path
        Typically from :func:`make_linked_histories`.
    folder : str or path-like
        Where to write (created if needed).
    seed : int, default=0
        Seed of the identities and the noise; the same seed writes the same files.
    ssda903_format : {"csv", "xml"}, default="csv"
    decoys : float, default=0.05
        Children known only to social care, as a share of the children in social care.
    noise : dict, optional
        Overrides of the noise rates of second-system identities (see
        ``riskscreen.datasets._identities.NOISE_RATES``).

    Returns
    -------
    ReturnsTruth
        Which child each identity row of each file belongs to, the noise applied,
        and what the returns cannot carry (counted).

    Examples
    --------
    >>> from riskscreen.datasets import make_linked_histories, write_returns
    >>> histories = make_linked_histories(n_pupils=600, n_years=1, seed=0)
    >>> truth = write_returns(histories, "returns", seed=0)  # doctest: +SKIP
    """
    if ssda903_format not in ("csv", "xml"):
        raise ValueError(
            "The 'ssda903_format' parameter of write_returns must be 'csv' or 'xml'. "
            f"Got {ssda903_format!r} instead."
        )
    if not 0 <= decoys <= 1:
        raise ValueError(
            f"The 'decoys' parameter of write_returns must be in [0, 1]. Got {decoys!r} instead."
        )
    h = as_histories(histories, owner="write_returns")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rngs = [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(5)]
    r_ident, r_census, r_social, r_noise, r_reg = rngs
    ident = make_identities(h.pupils, r_ident)
    ident["ethnicity"] = h.pupils["ethnicity"].to_numpy()
    ident["language"] = h.pupils["first_language"].to_numpy()
    ident = ident.set_index("pupil_id", drop=False)
    sc = h.social_care
    in_care = np.sort(sc.loc[sc["kind"] != "early_help", "pupil_id"].unique())
    sc, decoy_ident = _decoys(sc, ident, in_care, decoys, r_social)
    carers = pd.concat([ident.loc[in_care], decoy_ident])
    who = noisy_copy(carers, r_noise, noise).set_index("pupil_id", drop=False)
    who["child_id"] = [f"SC{n:06d}" for n in r_social.permutation(900_000)[: len(who)] + 100_000]
    census = _census_identities(h, ident, who, r_ident)
    dates = h.attendance["period_start"]
    first = int(dates.min().year - (dates.min().month < 9))
    last = int(dates.max().year - (dates.max().month < 9))
    records = []
    files, lost = write_census(h, census, folder, (first, last), r_census)
    records += [("school_census", *r) for r in files]
    records += [("cin_census", *r) for r in write_cin(sc, who, folder, r_social)]
    records += [("ssda903", *r) for r in write_903(sc, who, folder, r_social, ssda903_format)]
    records += [("social_care", *r) for r in write_persons(who, folder)]
    reg_noise = {}
    for name, rows in register_rows(h).items():
        rates = {**(noise or {}), "upn_missing": _REGISTER_UPN_MISSING[name]}
        copy = noisy_copy(ident.loc[rows["pupil_id"].to_numpy()], r_reg, rates)
        reg_noise[name] = copy.reset_index(drop=True)
        records += [("registers", *r) for r in write_register(name, rows, copy, folder)]
    write_reference(h, ident, folder)
    return ReturnsTruth.build(h, ident, who, reg_noise, records, lost, n_decoys=len(decoy_ident))


def _decoys(sc, ident, in_care, share, rng) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Children known only to social care: an identity and one short referral each."""
    n = round(share * len(in_care))
    if n == 0:
        return sc, ident.iloc[:0]
    base = ident.loc[rng.choice(in_care, n)].copy()
    shift = pd.to_timedelta(rng.integers(-900, 900, n), unit="D")
    base["dob"] = (base["dob"] + shift).astype("datetime64[us]")
    base["pupil_id"] = -np.arange(1, n + 1)
    others = ident.sample(n, random_state=int(rng.integers(2**31)))
    base["forename"] = others["forename"].to_numpy()
    base["postcode"] = others["postcode"].to_numpy()
    base["upn"] = make_upns(rng, n)
    base = base.set_index("pupil_id", drop=False)
    first = base["dob"].dt.normalize() + pd.Timedelta(days=400)
    span = (sc["start_date"].max() - first).dt.days.clip(lower=1).to_numpy()
    start = pd.Series(
        first.to_numpy() + pd.to_timedelta((rng.random(n) * span).astype(np.int64), unit="D")
    )
    rows = pd.DataFrame(
        {
            "pupil_id": np.repeat(base.index.to_numpy(), 2),
            "kind": np.tile(["referral", "assessment"], n),
            "start_date": np.repeat(start.to_numpy(), 2).astype("datetime64[us]"),
            "end_date": np.repeat((start + pd.Timedelta(days=40)).to_numpy(), 2).astype(
                "datetime64[us]"
            ),
            "need_code": "N4",
            "assessment_factors": np.tile([None, "21"], n),
        }
    )
    return pd.concat([sc, rows], ignore_index=True), base


def _census_identities(h, ident, who, rng) -> pd.DataFrame:
    """Identities as schools hold them: some UPNs replaced (former kept), former surnames."""
    census = ident.copy()
    census["formerupn"] = None
    census["formersurname"] = None
    kids = who[who["pupil_id"] > 0]
    stale = kids.index[kids["upn"].notna() & (rng.random(len(kids)) < 0.03)]
    census.loc[stale, "formerupn"] = census.loc[stale, "upn"]
    census.loc[stale, "upn"] = make_upns(rng, len(stale))
    renamed = kids.index[kids["surname_changed"] & (rng.random(len(kids)) < 0.5)]
    census.loc[renamed, "formersurname"] = kids.loc[renamed, "surname"]
    la = h.social_care[
        (h.social_care["kind"] == "looked_after")
        & h.social_care["placement_type"].isin(_PLAA_PLACEMENTS)
        & h.social_care["end_date"].notna()
    ]
    census["plaa"] = np.where(census["pupil_id"].isin(la["pupil_id"]), "A", "N")
    return census
