"""Record linkage of education and social-care records: UPN first, then Splink.

The records of every source are first gathered into *entities*: a school-census
pupil (one UPN, merged with their former UPN), a social-care child (the
authority's child id, shared by the CIN census, the SSDA903 and the
case-management person records) or one register row. Entities are then linked:

1. **exactly**, when they share a valid UPN (check letter right), current or
   former; a UPN that points at two different census pupils links nothing;
2. **probabilistically**, with Splink on the DuckDB backend, by forename,
   surname (also against a former surname), date of birth (also with day and
   month swapped), sex and postcode. The m-probabilities are trained on the
   pairs the UPN already linked (labels no one had to make) and the
   u-probabilities on random pairs; where there are too few such pairs, prior
   values are used as they are. Pairs at or above ``threshold`` (a match probability) are joined in
   order of weight, never putting two census pupils or two social-care
   children into one child.

Only identity columns go into Splink's in-process database, which is closed
when linkage ends; what comes out carries entity positions and weights, never
an identifier.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from riskscreen.data._returns_local import normalise_postcode
from riskscreen.data._returns_spec import valid_upn

_PRIORITY = {"school_census": 0, "social_care": 1, "cin_census": 2, "ssda903": 3, "registers": 4}
#: The identity fields linkage compares, in the order of the record columns.
IDENTITY_FIELDS = [
    "upn",
    "former_upn",
    "forename",
    "surname",
    "former_surname",
    "dob",
    "sex",
    "postcode",
    "ethnicity",
    "language",
]
_MIN_LABELS = 50


@dataclass
class Linked:
    """The outcome of linkage.

    Attributes
    ----------
    entities : DataFrame
        One row per entity: ``entity``, ``kind`` (census / social / register),
        ``cluster`` (entities of one child share it), ``method`` (how the entity
        joined its child: ``"census"``, ``"upn"``, ``"child_id"``,
        ``"probabilistic"`` or ``"unlinked"``), ``weight`` (the match weight of
        its probabilistic link, else NaN) and the representative identity.
    pairs : DataFrame
        Scored candidate pairs: ``left``, ``right`` (entity positions),
        ``match_weight``, ``match_probability``, ``accepted`` and the comparison
        level of each field (``gamma_*``), without the compared values.
    training : dict
        How the model was trained: ``labels``, ``method``, ``threshold``,
        ``probability_two_random_records_match``.
    conflicts : int
        UPNs that pointed at two different census pupils (nothing linked by them).
    """

    entities: pd.DataFrame
    pairs: pd.DataFrame
    training: dict
    conflicts: int


class _UnionFind:
    def __init__(self, n: int, census: np.ndarray, social: np.ndarray) -> None:
        self.parent = np.arange(n)
        self.census = census.astype(np.int64).copy()
        self.social = social.astype(np.int64).copy()

    def find(self, i: int) -> int:
        root = i
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[i] != root:
            self.parent[i], i = root, self.parent[i]
        return root

    def union(self, a: int, b: int, *, guarded: bool) -> bool:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return True
        if guarded and (
            (self.census[ra] and self.census[rb]) or (self.social[ra] and self.social[rb])
        ):
            return False
        self.parent[rb] = ra
        self.census[ra] += self.census[rb]
        self.social[ra] += self.social[rb]
        return True


def entities_of(records: pd.DataFrame) -> pd.DataFrame:
    """One representative identity per entity: the first known value of each field."""
    r = records.assign(_p=records["source"].map(_PRIORITY)).sort_values(
        ["entity", "_p", "day"], ascending=[True, True, False], kind="stable"
    )
    rep = r.groupby("entity", sort=True)[IDENTITY_FIELDS].first()
    kind = (
        r.groupby("entity", sort=True)["source"]
        .first()
        .map(
            lambda s: (
                "census" if s == "school_census" else ("register" if s == "registers" else "social")
            )
        )
    )
    rep.insert(0, "kind", kind)
    return rep.reset_index()


def _clean(rep: pd.DataFrame) -> pd.DataFrame:
    def name(s):
        s = s.astype("object").where(s.notna(), None)
        return s.str.lower().str.replace(r"[^a-z]", "", regex=True).replace("", None)

    post = normalise_postcode(rep["postcode"])
    dob = pd.to_datetime(rep["dob"], errors="coerce")
    return pd.DataFrame(
        {
            "unique_id": np.arange(len(rep)),
            "kind": rep["kind"].to_numpy(),
            "forename": name(rep["forename"]).to_numpy(),
            "surname": name(rep["surname"]).to_numpy(),
            "former_surname": name(rep["former_surname"]).to_numpy(),
            "dob": dob.dt.strftime("%Y-%m-%d").where(dob.notna(), None).to_numpy(),
            "yob": dob.dt.year.astype("Int64").to_numpy(),
            "sex": rep["sex"].to_numpy(),
            "postcode": post.to_numpy(),
            "sector": post.str[:-2].to_numpy(),
            "district": post.str.split(" ").str[0].to_numpy(),
        }
    )


def link(records: pd.DataFrame, *, threshold: float = 0.95, seed: int = 0) -> Linked:
    """Link the identity records of every source into children (see the module docstring)."""
    rep = entities_of(records)
    n = len(rep)
    census = (rep["kind"] == "census").to_numpy()
    social = (rep["kind"] == "social").to_numpy()
    uf = _UnionFind(n, census, social)
    method = np.where(census, "census", "unlinked").astype(object)
    # census pupils whose UPN changed: the former UPN is another census pupil's
    pos = pd.Series(np.arange(n), index=rep["entity"].to_numpy())
    former = rep.loc[census & rep["former_upn"].isin(rep.loc[census, "entity"]).to_numpy()]
    for i, f in zip(former.index, former["former_upn"], strict=True):
        uf.union(int(pos[f]), int(i), guarded=False)
    # exact links on valid UPNs, current or former: to the census pupil they name, unless
    # they name two (a conflict: nothing is linked by them), else between other records
    upns = pd.concat([rep["upn"], rep["former_upn"]]).dropna()
    upns = upns[upns.map(valid_upn).astype(bool)]
    upns = pd.DataFrame({"i": upns.index.to_numpy(), "u": upns.to_numpy()}).drop_duplicates()
    is_census = census[upns["i"].to_numpy()]
    owner = dict(
        zip(
            upns.loc[is_census, "u"],
            (uf.find(int(i)) for i in upns.loc[is_census, "i"]),
            strict=True,
        )
    )
    others = upns[~is_census].assign(root=lambda d: d["u"].map(owner))
    named = others.dropna(subset=["root"]).groupby("i")["root"].agg(lambda r: set(r))
    conflicted = set(named.index[named.map(len) > 1])
    conflicts = len(conflicted)
    for i, roots in named.items():
        if i not in conflicted and uf.union(int(next(iter(roots))), int(i), guarded=True):
            method[i] = "upn"
    loose = others[others["root"].isna() & ~others["i"].isin(conflicted)]
    for _, group in loose[loose.duplicated("u", keep=False)].groupby("u"):
        members = group["i"].to_numpy()
        for m in members[1:]:
            if uf.union(int(members[0]), int(m), guarded=True):
                for x in (int(members[0]), int(m)):
                    if method[x] == "unlinked":
                        method[x] = "upn"
    clean = _clean(rep)
    labels = _labels(uf, census, clean)
    weight = np.full(n, np.nan)
    pairs, training = _probabilistic(clean, uf, census, labels, threshold, seed)
    if len(pairs):
        pairs = pairs.sort_values("match_weight", ascending=False, kind="stable")
        accepted = np.zeros(len(pairs), dtype=bool)
        for k, (a, b, p, w) in enumerate(
            zip(
                pairs["left"],
                pairs["right"],
                pairs["match_probability"],
                pairs["match_weight"],
                strict=True,
            )
        ):
            if p < threshold:
                break
            before = uf.find(int(a)) == uf.find(int(b))
            if not before and uf.union(int(a), int(b), guarded=True):
                accepted[k] = True
                for x in (int(a), int(b)):
                    if method[x] == "unlinked":
                        method[x] = "probabilistic"
                        weight[x] = w
        pairs["accepted"] = accepted
    roots = np.array([uf.find(i) for i in range(n)])
    # social-care records of one child share an id: linked by it, not alone
    sizes = pd.Series(roots).map(pd.Series(roots).value_counts()).to_numpy()
    method = np.where((method == "unlinked") & (sizes > 1), "linked", method)
    out = rep.assign(cluster=roots, method=method, weight=weight)
    return Linked(out, pairs, training, conflicts)


def _labels(uf: _UnionFind, census: np.ndarray, clean: pd.DataFrame) -> pd.DataFrame:
    """Pairs (non-census entity, census entity) that a UPN linked: training labels."""
    roots = np.array([uf.find(i) for i in range(len(census))])
    frame = pd.DataFrame({"i": np.arange(len(census)), "root": roots, "census": census})
    c = frame[frame["census"]][["i", "root"]].rename(columns={"i": "c"})
    o = frame[~frame["census"]][["i", "root"]]
    m = o.merge(c, on="root")
    named = clean["surname"].notna() & clean["dob"].notna()
    m = m[named.to_numpy()[m["i"]] & named.to_numpy()[m["c"]]]
    return pd.DataFrame(
        {"unique_id_l": np.minimum(m["i"], m["c"]), "unique_id_r": np.maximum(m["i"], m["c"])}
    ).drop_duplicates()


# Prior m and u probabilities of each level (exact first, "different" last), used as
# they are when there are too few UPN-linked pairs to train on.
_PRIORS = {
    "forename": [(0.85, 0.02), (0.08, 0.01), (0.04, 0.05), (0.03, 0.92)],
    "surname": [(0.8, 0.01), (0.05, 0.001), (0.07, 0.005), (0.03, 0.04), (0.05, 0.944)],
    "dob": [(0.9, 0.0005), (0.03, 0.00005), (0.04, 0.005), (0.02, 0.03), (0.01, 0.96445)],
    "sex": [(0.98, 0.5), (0.02, 0.5)],
    "postcode": [(0.7, 0.005), (0.1, 0.05), (0.1, 0.2), (0.1, 0.745)],
}


def _with_priors(name: str, levels: list[dict]) -> dict:
    priors = iter(_PRIORS[name])
    for lv in levels:
        if not lv.get("is_null_level"):
            lv["m_probability"], lv["u_probability"] = next(priors)
    return {"output_column_name": name, "comparison_levels": levels}


def _comparisons() -> list[dict]:
    def levels(col: str, extra: list[dict] | None = None) -> dict:
        lv = [
            {
                "sql_condition": f"{col}_l IS NULL OR {col}_r IS NULL",
                "label_for_charts": "null",
                "is_null_level": True,
            },
            {
                "sql_condition": f"{col}_l = {col}_r",
                "label_for_charts": "exact",
                "tf_adjustment_column": col,
                "tf_adjustment_weight": 1.0,
            },
            *(extra or []),
            {
                "sql_condition": f"jaro_winkler_similarity({col}_l, {col}_r) >= 0.92",
                "label_for_charts": "close",
            },
            {
                "sql_condition": f"jaro_winkler_similarity({col}_l, {col}_r) >= 0.8",
                "label_for_charts": "similar",
            },
            {"sql_condition": "ELSE", "label_for_charts": "different"},
        ]
        return _with_priors(col, lv)

    former = [
        {
            "sql_condition": "surname_l = former_surname_r OR former_surname_l = surname_r",
            "label_for_charts": "former surname",
        }
    ]
    dob = _with_priors(
        "dob",
        [
            {
                "sql_condition": "dob_l IS NULL OR dob_r IS NULL",
                "label_for_charts": "null",
                "is_null_level": True,
            },
            {"sql_condition": "dob_l = dob_r", "label_for_charts": "exact"},
            {
                "sql_condition": "substr(dob_l, 1, 4) = substr(dob_r, 1, 4) AND "
                "substr(dob_l, 6, 2) = substr(dob_r, 9, 2) AND "
                "substr(dob_l, 9, 2) = substr(dob_r, 6, 2)",
                "label_for_charts": "day and month swapped",
            },
            {"sql_condition": "levenshtein(dob_l, dob_r) <= 1", "label_for_charts": "one digit"},
            {
                "sql_condition": "substr(dob_l, 1, 7) = substr(dob_r, 1, 7)",
                "label_for_charts": "same month",
            },
            {"sql_condition": "ELSE", "label_for_charts": "different"},
        ],
    )
    sex = _with_priors(
        "sex",
        [
            {
                "sql_condition": "sex_l IS NULL OR sex_r IS NULL",
                "label_for_charts": "null",
                "is_null_level": True,
            },
            {"sql_condition": "sex_l = sex_r", "label_for_charts": "same"},
            {"sql_condition": "ELSE", "label_for_charts": "different"},
        ],
    )
    post = _with_priors(
        "postcode",
        [
            {
                "sql_condition": "postcode_l IS NULL OR postcode_r IS NULL",
                "label_for_charts": "null",
                "is_null_level": True,
            },
            {"sql_condition": "postcode_l = postcode_r", "label_for_charts": "exact"},
            {"sql_condition": "sector_l = sector_r", "label_for_charts": "same sector"},
            {"sql_condition": "district_l = district_r", "label_for_charts": "same district"},
            {"sql_condition": "ELSE", "label_for_charts": "different"},
        ],
    )
    return [levels("forename"), levels("surname", former), dob, sex, post]


# Never compare two census pupils or two social-care children (their ids already decide),
# and only pairs where at least one side is not yet linked to a census pupil.
_PAIR = " AND (l.kind <> r.kind OR l.kind = 'register') AND (l.resolved = 0 OR r.resolved = 0)"
_BLOCKS = [
    "l.dob = r.dob",
    "l.surname = r.surname AND l.yob = r.yob",
    "l.forename = r.forename AND l.yob = r.yob",
    "l.former_surname = r.surname AND l.yob = r.yob",
    "l.postcode = r.postcode",
    "l.forename = r.forename AND l.sector = r.sector",
]


@contextlib.contextmanager
def _quiet():
    """Keep Splink's own log messages out of the authority's logs (they say nothing personal,
    but a linkage run should leave no trace beyond its report)."""
    loggers = [logging.getLogger(n) for n in ("splink", "duckdb")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for lg, lv in zip(loggers, levels, strict=True):
            lg.setLevel(lv)


def _probabilistic(clean, uf, census, labels, threshold, seed) -> tuple[pd.DataFrame, dict]:
    try:
        import splink  # noqa: F401
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(
            "read_returns links records without a shared UPN with Splink. Install it with "
            "`pip install 'riskscreen[linkage]'` (or `pip install splink`)."
        ) from err
    from splink import DuckDBAPI, Linker, SettingsCreator

    roots = np.array([uf.find(i) for i in range(len(clean))])
    resolved = pd.Series(uf.census[roots] > 0).astype(int).to_numpy()
    data = clean.assign(resolved=resolved)
    unresolved = int((resolved == 0).sum())
    training = {
        "labels": len(labels),
        "threshold": threshold,
        "method": "none",
        "probability_two_random_records_match": np.nan,
    }
    empty = pd.DataFrame(columns=["left", "right", "match_weight", "match_probability"])
    if unresolved == 0 or census.sum() == 0:
        return empty, training
    # each record outside the census has at most one census match among ~n_census others
    lam = float(min(0.5, 1.0 / max(1, int(census.sum()))))
    training["probability_two_random_records_match"] = lam
    settings = SettingsCreator(
        link_type="dedupe_only",
        probability_two_random_records_match=lam,
        unique_id_column_name="unique_id",
        comparisons=_comparisons(),
        blocking_rules_to_generate_predictions=[b + _PAIR for b in _BLOCKS],
        retain_intermediate_calculation_columns=True,
        retain_matching_columns=False,
        additional_columns_to_retain=[],
    )
    with _quiet():
        db = DuckDBAPI()
        try:
            table = db.register(data)
            linker = Linker(table, settings, log_level=None)
            if len(labels) >= _MIN_LABELS:
                linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=seed)
                lab = linker.table_management.register_table(
                    labels, "riskscreen_labels", overwrite=True
                )
                linker.training.estimate_m_from_pairwise_labels(lab)
                training["method"] = "m from UPN-linked pairs, u from random pairs"
            else:
                training["method"] = "prior m and u (too few UPN-linked pairs to train)"
            low = min(threshold, 0.2)
            scored = linker.inference.predict(threshold_match_probability=low).as_pandas_dataframe()
        finally:
            with contextlib.suppress(Exception):
                db.duckdb_con.close()
    gammas = [c for c in scored.columns if c.startswith("gamma_")]
    pairs = pd.DataFrame(
        {
            "left": scored["unique_id_l"].astype(np.int64).to_numpy(),
            "right": scored["unique_id_r"].astype(np.int64).to_numpy(),
            "match_weight": scored["match_weight"].to_numpy(dtype=float),
            "match_probability": scored["match_probability"].to_numpy(dtype=float),
            **{g: scored[g].to_numpy() for g in gammas},
        }
    )
    training["levels"] = {
        c["output_column_name"]: [lv["label_for_charts"] for lv in c["comparison_levels"]]
        for c in _comparisons()
    }
    return pairs, training
