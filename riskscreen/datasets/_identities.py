"""Fake identities for the synthetic local authority, and the noise real records carry.

Every pupil of a synthetic authority gets a made-up name, a full date of birth
inside their birth month, a home postcode whose area has the pupil's IDACI
decile, a unique pupil number (UPN) with a correct DfE check letter and, when
social care knows them, a local-authority child id. Some pupils share a
household (surname and postcode) with another of the same deprivation decile.

:func:`noisy_copy` then degrades the identity the way a second system records
it: typing errors in names, day and month swapped, a changed surname, a moved
postcode, a missing UPN (with a ``UPNunknown`` code) or one mistyped so its
check letter fails. Names come from short built-in lists and are fictional.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from riskscreen.data._returns_spec import upn_check_letter

_BOYS_TEXT = """
Oliver George Harry Noah Jack Leo Arthur Muhammad Oscar Charlie Jacob Thomas Henry William
Theo Freddie Alfie Archie Joshua James Isaac Lucas Edward Max Alexander Finley Ethan Logan
Adam Daniel Samuel Joseph Sebastian Mason Dylan Reuben Harrison Elijah Tommy Toby Riley
Louie Ronnie Jude Albert Ezra Hugo Rory Teddy Benjamin Frankie Stanley Luca Zachary Jenson
Liam Ryan Kai Tyler Jayden Connor Callum Kyle Lewis Aaron Nathan Owen Luke Jamie Ben Sam Ali
Omar Yusuf Ibrahim Hamza Ayaan Zain Arjun Rohan Kwame Tobi Emeka Jakub Filip Szymon Oskar
"""
_BOYS = _BOYS_TEXT.split()
_GIRLS_TEXT = """
Olivia Amelia Isla Ava Mia Ivy Lily Isabella Rosie Sophia Grace Freya Willow Florence Emily
Ella Poppy Evie Elsie Charlotte Evelyn Sienna Daisy Phoebe Sophie Alice Harper Matilda Ruby
Emilia Maya Millie Isabelle Jessica Chloe Eva Erin Holly Layla Zara Lola Hannah Megan Lucy
Ellie Amber Molly Katie Leah Bethany Courtney Jade Paige Shannon Abigail Madison Summer
Scarlett Eliza Maisie Imogen Aisha Fatima Maryam Zainab Hafsa Amira Priya Anaya Aaliyah
Simran Chioma Amara Adaeze Zuzanna Julia Maja Wiktoria Lena Nadia Hana Noor Inaya Esme Tilly
"""
_GIRLS = _GIRLS_TEXT.split()
_SURNAMES_TEXT = """
Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson
Thompson Wright Walker White Edwards Hughes Green Hall Lewis Harris Clarke Patel Jackson
Wood Turner Martin Cooper Hill Ward Morris Moore Clark Lee King Baker Harrison Morgan Allen
James Scott Phillips Watson Davis Parker Price Bennett Young Griffiths Mitchell Kelly Cook
Carter Richardson Bailey Collins Bell Shaw Murphy Miller Cox Richards Khan Marshall Anderson
Simpson Ellis Adams Singh Begum Wilkinson Foster Chapman Powell Webb Rogers Gray Mason Ali
Hunt Hussain Campbell Matthews Owen Palmer Holmes Mills Barnes Knight Lloyd Butler Russell
Barker Fisher Stevens Jenkins Murray Dixon Harvey Graham Pearson Ahmed Fletcher Walsh Kaur
Gibson Howard Andrews Stewart Elliott Reynolds Saunders Payne Fox Ford Pearce Day Brooks
West Lawrence Cole Atkinson Bradley Spencer Gill Dawson Ball Burton O'Brien Watts Rose Booth
Perry Ryan Grant Wells Armstrong Francis Rees Hayes Hart Hudson Newman Barrett Webster
Hunter Gregory Carr Lowe Page Marsh Riley Dunn Woods Parsons Berry Stone Reid Holland
Hawkins Harding Porter Robertson Newton Oliver Reed Kennedy Williamson Bird Gardner Shah
Dean Lane Cooke Bates Henderson Parry Burgess Bishop Walton Burns Nicholson Shepherd Ross
Cross Long Freeman Warren Nicholls Hamilton Byrne Sutton McDonald Yates Hodgson Robson
Curtis Hopkins O'Connor Harper Coleman Watkins Moss McCarthy Chambers Mahmood Rahman Okafor
Adeyemi Mensah Osei Nowak Kowalski Wisniewski Kaminski Chowdhury Iqbal Akhtar Mistry Joshi
Mohamed Abdi Hassan Yilmaz Popescu Ionescu Rossi
"""
_SURNAMES = _SURNAMES_TEXT.split()
# Zipf-like frequencies: a few names are very common, most are rare.
_LA_CODE = "820"
_DISTRICTS = 12


def _zipf(n: int, s: float = 0.9) -> np.ndarray:
    w = 1.0 / np.arange(1, n + 1) ** s
    return w / w.sum()


def _draw(rng: np.random.Generator, names: list[str], size: int) -> np.ndarray:
    return np.array(names, dtype=object)[rng.choice(len(names), size, p=_zipf(len(names)))]


def make_identities(pupils: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """One fake identity per pupil.

    Parameters
    ----------
    pupils : DataFrame
        The canonical ``pupils`` table (``pupil_id``, ``birth_month``, ``sex``,
        ``idaci_decile``).
    rng : numpy.random.Generator

    Returns
    -------
    DataFrame
        ``pupil_id, upn, forename, surname, dob, sex, postcode, idaci_decile``
        in the order of ``pupils``; ``dob`` is a ``datetime64[us]`` column.
    """
    n = len(pupils)
    male = (pupils["sex"] == "M").to_numpy()
    forename = np.where(male, _draw(rng, _BOYS, n), _draw(rng, _GIRLS, n))
    surname = _draw(rng, _SURNAMES, n)
    birth = pupils["birth_month"].to_numpy().astype("datetime64[D]")
    month_len = ((birth.astype("datetime64[M]") + 1).astype("datetime64[D]") - birth).astype(
        np.int64
    )
    dob = birth + (rng.random(n) * month_len).astype(np.int64)
    idaci = pupils["idaci_decile"].astype("Float64").fillna(0).to_numpy().astype(np.int64)
    # households: pairs of pupils of the same decile share a surname and a postcode
    household = np.arange(n)
    order = np.lexsort((rng.random(n), idaci))
    pair = rng.random(n // 2) < 0.3
    first, second = order[0 : 2 * (n // 2) : 2][pair], order[1 : 2 * (n // 2) : 2][pair]
    same = idaci[first] == idaci[second]
    household[second[same]] = first[same]
    surname[second[same]] = surname[first[same]]
    postcode = _postcodes(rng, household, idaci)
    return pd.DataFrame(
        {
            "pupil_id": pupils["pupil_id"].to_numpy(),
            "upn": make_upns(rng, n),
            "forename": forename,
            "surname": surname,
            "dob": dob.astype("datetime64[us]"),
            "sex": pupils["sex"].to_numpy(),
            "postcode": postcode,
            "idaci_decile": pupils["idaci_decile"].to_numpy(),
        }
    )


def _postcodes(rng: np.random.Generator, household: np.ndarray, idaci: np.ndarray) -> np.ndarray:
    """A postcode per household: district by decile, sector and unit at random."""
    n = len(household)
    district = np.where(idaci > 0, (idaci - 1) * _DISTRICTS // 10 + 1, rng.integers(1, 13, n))
    sector = rng.integers(0, 10, n)
    letters = np.array(list("ABDEFGHJLNPQRSTUWXYZ"))
    unit = letters[rng.integers(0, 20, n)].astype(object) + letters[rng.integers(0, 20, n)]
    code = np.array([f"RS{d} {s}" for d, s in zip(district, sector, strict=True)], dtype=object)
    code = code + unit
    return code[household]


def make_upns(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` distinct UPNs of this authority with correct check letters."""
    serial = rng.choice(10**7, n, replace=False)  # (establishment, serial) pairs, distinct
    estab, rest = serial // 1000, serial % 1000
    year = rng.integers(5, 24, n)
    bodies = [f"{_LA_CODE}{e:04d}{y:02d}{r:03d}" for e, y, r in zip(estab, year, rest, strict=True)]
    out = [upn_check_letter(b) + b for b in bodies]
    if len(set(out)) < n:  # pragma: no cover - 10^8 serials, n far smaller
        raise RuntimeError("UPN collision")
    return np.array(out, dtype=object)


# ------------------------------------------------------------------------------- noise

NOISE_RATES = {
    "forename_typo": 0.06,
    "surname_typo": 0.06,
    "surname_changed": 0.04,
    "dob_swapped": 0.03,
    "postcode_moved": 0.08,
    "upn_missing": 0.30,
    "upn_mistyped": 0.01,
}
"""Default shares of records of a second system with each kind of identity error."""


def _typo(rng: np.random.Generator, names: np.ndarray) -> np.ndarray:
    """One substitution, deletion or transposition in each name."""
    out = names.copy()
    letters = "abcdefghijklmnopqrstuvwxyz"
    kinds = rng.integers(0, 3, len(names))
    pos = rng.random(len(names))
    for i, (name, kind, p) in enumerate(zip(names, kinds, pos, strict=True)):
        if len(name) < 3:
            continue
        j = 1 + int(p * (len(name) - 2))
        if kind == 0:
            out[i] = name[:j] + letters[rng.integers(0, 26)] + name[j + 1 :]
        elif kind == 1:
            out[i] = name[:j] + name[j + 1 :]
        else:
            out[i] = name[: j - 1] + name[j] + name[j - 1] + name[j + 1 :]
    return out


def noisy_copy(
    identities: pd.DataFrame,
    rng: np.random.Generator,
    rates: dict[str, float] | None = None,
) -> pd.DataFrame:
    """A copy of ``identities`` as another system records them, with the noise flags.

    Parameters
    ----------
    identities : DataFrame
        As returned by :func:`make_identities` (any subset of rows).
    rng : numpy.random.Generator
    rates : dict, optional
        Overrides of :data:`NOISE_RATES`.

    Returns
    -------
    DataFrame
        The same columns, degraded, plus ``upn_unknown`` (a ``UN`` code where
        the UPN is missing) and one boolean column per kind of noise applied.
    """
    r = {**NOISE_RATES, **(rates or {})}
    out = identities.copy()
    n = len(out)
    u = rng.random((7, n))
    flags = {}
    flags["forename_typo"] = u[0] < r["forename_typo"]
    flags["surname_changed"] = u[1] < r["surname_changed"]
    flags["surname_typo"] = ~flags["surname_changed"] & (u[1] > 1 - r["surname_typo"])
    dob = out["dob"]
    swappable = (dob.dt.day <= 12) & (dob.dt.day != dob.dt.month)
    flags["dob_swapped"] = (u[2] < r["dob_swapped"]) & swappable.to_numpy()
    flags["postcode_moved"] = u[3] < r["postcode_moved"]
    flags["upn_missing"] = u[4] < r["upn_missing"]
    flags["upn_mistyped"] = ~flags["upn_missing"] & (u[5] < r["upn_mistyped"])
    fore = out["forename"].to_numpy(dtype=object)
    sur = out["surname"].to_numpy(dtype=object)
    fore[flags["forename_typo"]] = _typo(rng, fore[flags["forename_typo"]])
    sur[flags["surname_typo"]] = _typo(rng, sur[flags["surname_typo"]])
    sur[flags["surname_changed"]] = _draw(rng, _SURNAMES, int(flags["surname_changed"].sum()))
    out["forename"], out["surname"] = fore, sur
    sw = flags["dob_swapped"]
    if sw.any():
        d = dob[sw]
        out.loc[sw, "dob"] = pd.to_datetime(
            {"year": d.dt.year, "month": d.dt.day, "day": d.dt.month}
        ).astype("datetime64[us]")
    moved = flags["postcode_moved"]
    if moved.any():
        others = out["postcode"].to_numpy(dtype=object)
        out.loc[moved, "postcode"] = others[rng.integers(0, n, int(moved.sum()))]
    upn = out["upn"].to_numpy(dtype=object)
    upn[flags["upn_missing"]] = None
    mis = flags["upn_mistyped"]
    upn[mis] = [u_[:5] + str((int(u_[5]) + 1) % 10) + u_[6:] for u_ in upn[mis]]
    out["upn"] = upn
    codes = np.array(["UN4", "UN5", "UN3", "UN2"], dtype=object)
    unknown = np.where(flags["upn_missing"], codes[rng.integers(0, 4, n)], None)
    out["upn_unknown"] = unknown
    for name, flag in flags.items():
        out[name] = flag
    return out
