"""The numbers of a fairness audit: group rates, ratios, school split and subgroup search.

One function, :func:`statistics`, turns per-profile totals into every number
the audit reports; it runs once on the data and once per bootstrap replicate
(pupils resampled), so each estimate and its interval come from the same code.
Tests of each disparity are chosen to suit the metric (see :func:`disparity_tests`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.stats import chi2, hypergeom, norm

from riskscreen.evaluation._bootstrap import percentile_bounds, replicate_weights
from riskscreen.evaluation._confusion import GroupCounts, Partition

#: Rates of the confusion matrix: metric -> (numerator, denominator) count names.
RATES = {
    "base_rate": ("pos", "n"),
    "selection_rate": ("flagged", "n"),
    "recall": ("tp", "pos"),
    "fnr": ("fn", "pos"),
    "fpr": ("fp", "neg"),
    "precision": ("tp", "flagged"),
    "false_omission_rate": ("fn", "unflagged"),
}
#: Every metric reported per group, in column order.
GROUP_METRICS = (*RATES, "mean_predicted", "calibration", "auc")
#: Metrics compared with the reference group (base rate is context, not a disparity).
DISPARITY_METRICS = (
    "selection_rate",
    "recall",
    "fnr",
    "fpr",
    "precision",
    "false_omission_rate",
    "calibration",
    "auc",
)
#: Metrics split into a between-school and a within-school part under per-school capacity.
DECOMPOSED = ("selection_rate", "recall", "fpr", "precision")
#: Bootstrap replicates computed together. The work is memory-bound: on a two-core
#: machine one at a time was fastest (0.08 s per replicate at 1M rows against 0.15 s
#: in chunks of 4 to 16), so chunks stay available but are off by default.
CHUNK = 1
#: Metrics searched for the worst-off subgroups, and which direction is worse.
SEARCHED = {"recall": "lowest", "fpr": "highest"}
METRIC_WORDS = {
    "base_rate": "base rate",
    "selection_rate": "selection rate",
    "recall": "recall (TPR)",
    "fnr": "FNR",
    "fpr": "FPR",
    "precision": "precision (PPV)",
    "false_omission_rate": "false omission rate",
    "mean_predicted": "mean predicted",
    "calibration": "observed / predicted",
    "auc": "AUC",
}


def full_counts(st: dict) -> dict:
    """Counts with the derived cells of the confusion matrix added."""
    out = dict(st)
    out["neg"] = st["n"] - st["pos"]
    out["fp"] = st["flagged"] - st["tp"]
    out["fn"] = st["pos"] - st["tp"]
    out["unflagged"] = st["n"] - st["flagged"]
    return out


def _ratio(a, b):
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.asarray(a, dtype=float) / np.asarray(b, dtype=float)
    return np.where(np.asarray(b) == 0, np.nan, r)


def rates_of(st: dict) -> dict:
    """Every group rate from counts (NaN where the denominator is empty)."""
    c = full_counts(st)
    out = {m: _ratio(c[num], c[den]) for m, (num, den) in RATES.items()}
    out["mean_predicted"] = _ratio(c["psum"], c["n"])
    out["calibration"] = _ratio(c["pos"], c["psum"])
    return out


@dataclass
class AuditPlan:
    """What to compute: the partitions reported, their reference groups, the search."""

    parts: list[Partition]
    references: list[int]
    search: list[Partition] = field(default_factory=list)
    decompose: bool = False


def statistics(
    engine: GroupCounts, plan: AuditPlan, weights=None, *, sums=None, aucs=None
) -> tuple[dict, list]:
    """Every number of the audit for one set of pupil weights (None: the data as is).

    ``sums`` and ``aucs`` (one array per partition) may be given when they were
    computed for a chunk of replicates at once.
    """
    sums = engine.sums(weights) if sums is None else sums
    values: dict = {}
    counts = []
    for i, part in enumerate(plan.parts):
        st = engine.stats(sums, part)
        counts.append(st)
        r = rates_of(st)
        r["auc"] = engine.auc(part, weights) if aucs is None else aucs[i]
        for m in GROUP_METRICS:
            values["group", i, m] = r[m]
        ref = plan.references[i]
        for m in DISPARITY_METRICS:
            values["ratio", i, m] = _ratio(r[m], r[m][ref])
        values["auc_diff", i] = r["auc"] - r["auc"][ref]
        if plan.decompose:
            by_school = full_counts(engine.stats(sums, part, by_school=True))
            for m in DECOMPOSED:
                between, within = _decompose(by_school, m, ref)
                values["between", i, m] = between
                values["within", i, m] = within
    total = full_counts(engine.totals(sums))
    for j, part in enumerate(plan.search):
        st = full_counts(engine.stats(sums, part))
        rest = {k: total[k] - v for k, v in st.items()}
        for m in SEARCHED:
            num, den = RATES[m]
            values["search", j, m] = _ratio(st[num], st[den])
            values["search_ratio", j, m] = _ratio(
                values["search", j, m], _ratio(rest[num], rest[den])
            )
    return values, counts


def _decompose(c: dict, metric: str, ref: int) -> tuple[np.ndarray, np.ndarray]:
    """(between-school ratio, within-school ratio) of each group to the reference.

    A group's expected rate if, in every school, it had that school's rate for
    everyone: ``E_g = sum_s den_gs * rate_s / den_g``. The between-school ratio
    ``E_g / E_ref`` is the part due to which schools the groups attend; the
    within-school ratio ``(rate_g / E_g) / (rate_ref / E_ref)`` the part due to
    how they are ranked inside their schools. Their product is the whole ratio.
    """
    num, den = RATES[metric]
    school_rate = np.nan_to_num(_ratio(c[num].sum(axis=0), c[den].sum(axis=0)))
    den_g = c[den].sum(axis=1)
    expected = _ratio(c[den] @ school_rate, den_g)
    actual = _ratio(c[num].sum(axis=1), den_g)
    between = _ratio(expected, expected[ref])
    within = _ratio(_ratio(actual, expected), _ratio(actual, expected)[ref])
    return between, within


@dataclass
class AuditNumbers:
    """Point estimates, percentile bounds and bootstrap draws of every statistic."""

    point: dict
    low: dict
    high: dict
    draws: dict
    counts: list
    n_bootstrap: int


def run(
    engine: GroupCounts,
    plan: AuditPlan,
    *,
    n_bootstrap: int,
    confidence: float,
    random_state,
) -> AuditNumbers:
    """Point estimates, then ``n_bootstrap`` replicates resampling pupils."""
    point, counts = statistics(engine, plan)
    collected: dict = {key: [] for key in point}
    reps = replicate_weights(
        engine.clusters, len(engine.clusters), n_bootstrap, random_state, by_cluster=True
    )
    chunk: list[np.ndarray] = []
    for i, w in enumerate(reps, start=1):
        chunk.append(w)
        if len(chunk) < CHUNK and i < n_bootstrap:
            continue
        weights = np.stack(chunk, axis=1)  # (pupils, replicates): one row per pupil
        sums = engine.sums_many(weights)
        aucs = [engine.auc_many(part, weights) for part in plan.parts]
        for r in range(len(chunk)):
            values, _ = statistics(engine, plan, sums=sums[r], aucs=[a[r] for a in aucs])
            for key, v in values.items():
                collected[key].append(v)
        chunk = []
    draws, low, high = {}, {}, {}
    for key, v in point.items():
        draws[key] = np.vstack(collected[key]) if collected[key] else np.empty((0, len(v)))
        if n_bootstrap:
            low[key], high[key] = percentile_bounds(draws[key], confidence)
        else:
            low[key] = high[key] = np.full(len(v), np.nan)
    return AuditNumbers(point, low, high, draws, counts, n_bootstrap)


# -- tests -------------------------------------------------------------------------------------
def two_proportion_p(x1, n1, x2, n2) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided p-values comparing x1/n1 with x2/n2, and the test used per row.

    Pearson's chi-square test of the 2x2 table (no continuity correction) when
    every expected count is at least 5; otherwise Fisher's exact test, two-sided
    by doubling the smaller one-sided p-value (hypergeometric tails, vectorised).
    """
    x1, n1, x2, n2 = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (x1, n1, x2, n2)))
    n = n1 + n2
    x = x1 + x2
    with np.errstate(invalid="ignore", divide="ignore"):
        expected = np.stack([n1 * x / n, n1 * (n - x) / n, n2 * x / n, n2 * (n - x) / n])
        observed = np.stack([x1, n1 - x1, x2, n2 - x2])
        stat = np.nansum((observed - expected) ** 2 / expected, axis=0)
    p = chi2.sf(stat, 1)
    test = np.full(len(p), "chi-square", dtype=object)
    if len(p):
        small = np.fmin.reduce(expected, axis=0) < 5  # NaN-skipping, silent on empty groups
        if small.any():
            k, m, total, draws = (np.rint(a[small]) for a in (x1, x, n, n1))
            lower = hypergeom.cdf(k, total, m, draws)
            upper = hypergeom.sf(k - 1, total, m, draws)
            p[small] = np.minimum(1.0, 2 * np.minimum(lower, upper))
            test[small] = "Fisher exact"
    p[(n1 <= 0) | (n2 <= 0)] = np.nan
    return p, test


def wald_p(estimate, draws) -> np.ndarray:
    """Two-sided p-value of ``estimate == 0`` with the bootstrap standard error."""
    draws = np.asarray(draws, dtype=float)
    finite = np.where(np.isfinite(draws), draws, np.nan)
    estimate = np.asarray(estimate, dtype=float)
    enough = (~np.isnan(finite)).sum(axis=0) >= 2 if finite.ndim == 2 else np.zeros(0, bool)
    se = np.full(estimate.shape, np.nan)
    if enough.any():
        se[enough] = np.nanstd(finite[:, enough], axis=0, ddof=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = estimate / se
    return 2 * norm.sf(np.abs(z))


def adjust(p, method: str) -> np.ndarray:
    """Holm (family-wise error) or Benjamini-Hochberg (false discovery rate) adjustment."""
    p = np.asarray(p, dtype=float)
    out = np.full(len(p), np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    m = len(ok)
    if m == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    ranked = p[order]
    if method == "holm":
        adj = np.maximum.accumulate((m - np.arange(m)) * ranked)
    else:  # "bh"
        adj = np.minimum.accumulate((m / np.arange(1, m + 1) * ranked)[::-1])[::-1]
    out[order] = np.minimum(adj, 1.0)
    return out
