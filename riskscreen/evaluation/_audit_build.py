"""Building a fairness audit's tables from aligned arrays (used by :class:`FairnessAudit`)."""

from __future__ import annotations

from collections.abc import Mapping
from itertools import combinations

import numpy as np
import pandas as pd

from riskscreen.evaluation._audit_stats import (
    DECOMPOSED,
    DISPARITY_METRICS,
    GROUP_METRICS,
    RATES,
    SEARCHED,
    AuditNumbers,
    AuditPlan,
    adjust,
    full_counts,
    run,
    two_proportion_p,
    wald_p,
)
from riskscreen.evaluation._confusion import JOIN, GroupCounts, Partition
from riskscreen.evaluation._disclosure import SMALL_COUNT, suppress_table, withhold_flat_intervals
from riskscreen.evaluation._metrics import quantile_edges

#: Level of the adjusted p-values called significant.
ALPHA = 0.05
#: Intersections audited by default when their columns are present.
DEFAULT_INTERSECTIONS = (("ethnicity_major", "sex"), ("sen_status", "fsm"))
COUNT_COLUMNS = {
    "n": "n",
    "n_outcome": "pos",
    "n_flagged": "flagged",
    "n_flagged_outcome": "tp",
}
#: Helper counts (never shown) that rates are computed from, for withholding.
HIDDEN = {"_neg": "neg", "_fp": "fp", "_fn": "fn", "_unflagged": "unflagged"}
RATE_SOURCES = {
    "base_rate": ["n", "n_outcome"],
    "selection_rate": ["n", "n_flagged"],
    "recall": ["n_outcome", "n_flagged_outcome", "_fn"],
    "fnr": ["n_outcome", "n_flagged_outcome", "_fn"],
    "fpr": ["_neg", "_fp"],
    "precision": ["n_flagged", "n_flagged_outcome", "_fp"],
    "false_omission_rate": ["_unflagged", "_fn"],
    "mean_predicted": ["n"],
    "calibration": ["n_outcome"],
    "auc": ["n_outcome", "_neg"],
}


def check_intersections(intersections, columns: list[str], owner: str) -> list[tuple[str, ...]]:
    """The intersections to audit: default ones present, or the caller's (checked)."""
    if intersections is None:
        return []
    if isinstance(intersections, str) and intersections == "default":
        return [t for t in DEFAULT_INTERSECTIONS if all(c in columns for c in t)]
    out = []
    for item in intersections:
        cols = (item,) if isinstance(item, str) else tuple(item)
        bad = [c for c in cols if c not in columns]
        if len(cols) < 2 or bad:
            raise ValueError(
                f"The 'intersections' parameter of {owner} must list tuples of two or more "
                f"columns of sensitive_features {columns}. Got {item!r} instead."
            )
        out.append(cols)
    return out


def search_partitions(engine: GroupCounts, columns: list[str]) -> list[Partition]:
    """Every attribute and every pair of attributes (pairs that only repeat one are skipped)."""
    singles = [engine.partition((c,)) for c in columns]
    sizes = {c: len(p) for c, p in zip(columns, singles, strict=True)}
    pairs = []
    for a, b in combinations(columns, 2):
        part = engine.partition((a, b))
        if len(part) not in (sizes[a], sizes[b]):
            pairs.append(part)
    return singles + pairs


def references(parts: list[Partition], counts: list[dict], reference, owner: str) -> list[int]:
    """Index of the reference group of each partition (largest, or the caller's choice)."""
    chosen = {} if reference in (None, "largest") else reference
    if not isinstance(chosen, Mapping):
        raise ValueError(
            f"The 'reference' parameter of {owner} must be 'largest' or a mapping of "
            f"attribute to group. Got {reference!r} instead."
        )
    out = []
    for part, st in zip(parts, counts, strict=True):
        if part.name in chosen:
            label = str(chosen[part.name])
            if label not in part.labels:
                raise ValueError(
                    f"The 'reference' parameter of {owner} names group {label!r} of "
                    f"{part.name!r}, which has groups {list(part.labels)}."
                )
            out.append(part.labels.index(label))
        else:
            out.append(int(np.argmax(st["n"])))
    return out


def plan_audit(engine, columns, intersections, *, decompose: bool, search: bool) -> AuditPlan:
    parts = [engine.overall()] + [engine.partition((c,)) for c in columns]
    parts += [engine.partition(t) for t in intersections]
    return AuditPlan(
        parts=parts,
        references=[0] * len(parts),
        search=search_partitions(engine, columns) if search else [],
        decompose=decompose,
    )


def compute(engine, plan, reference, *, owner, n_bootstrap, confidence, random_state):
    """Choose the reference groups on the data, then run the point estimates and bootstrap."""
    sums = engine.sums()
    counts = [engine.stats(sums, part) for part in plan.parts]
    plan.references = references(plan.parts, counts, reference, owner)
    return run(
        engine, plan, n_bootstrap=n_bootstrap, confidence=confidence, random_state=random_state
    )


def group_table(
    plan: AuditPlan, nums: AuditNumbers, *, min_group_size: int, small_count: int = SMALL_COUNT
) -> pd.DataFrame:
    """One row per (attribute, group): counts, rates with bounds, reliable (suppressed)."""
    frames = []
    for i, part in enumerate(plan.parts):
        c = full_counts(nums.counts[i])
        data = {col: c[key] for col, key in COUNT_COLUMNS.items()}
        data.update({col: c[key] for col, key in HIDDEN.items()})
        for m in GROUP_METRICS:
            data[m] = nums.point["group", i, m]
            data[f"{m}_low"] = nums.low["group", i, m]
            data[f"{m}_high"] = nums.high["group", i, m]
        frame = pd.DataFrame(data)
        frame.insert(0, "group", list(part.labels))
        frame.insert(0, "attribute", part.name)
        frame["reliable"] = (c["n"] >= min_group_size) & (c["pos"] >= SMALL_COUNT)
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True)
    table = suppress_table(
        table,
        list(COUNT_COLUMNS),
        by="attribute",
        rates=RATE_SOURCES,
        hidden=list(HIDDEN),
        threshold=small_count,
    )
    table = withhold_flat_intervals(table, GROUP_METRICS)
    return table.set_index(["attribute", "group"])


def _stack(parts: list[dict]) -> pd.DataFrame:
    """One DataFrame from many dicts of equal-length columns (one concatenation per column)."""
    keys = list(parts[0])
    return pd.DataFrame(
        {k: np.concatenate([np.broadcast_to(p[k], len(p["group"])) for p in parts]) for k in keys}
    )


def disparity_table(
    plan: AuditPlan,
    nums: AuditNumbers,
    groups: pd.DataFrame,
    *,
    band: tuple[float, float],
    p_adjust: str,
    clustered: bool,
) -> pd.DataFrame:
    """One row per (attribute, group, metric) against the reference group."""
    parts = []
    for i, part in enumerate(plan.parts[1:], start=1):
        ref = plan.references[i]
        c = full_counts(nums.counts[i])
        labels = np.asarray(part.labels, dtype=object)
        for m in DISPARITY_METRICS:
            ratio = nums.point["ratio", i, m]
            draws = nums.draws["ratio", i, m]
            if m in RATES and not clustered:
                num, den = RATES[m]
                p, test = two_proportion_p(c[num], c[den], c[num][ref], c[den][ref])
            elif m == "auc":
                p = wald_p(nums.point["auc_diff", i], nums.draws["auc_diff", i])
                test = np.full(len(part), "bootstrap Wald (difference)", dtype=object)
            else:
                with np.errstate(divide="ignore", invalid="ignore"):
                    p = wald_p(np.log(ratio), np.log(draws))
                test = np.full(len(part), "bootstrap Wald (log ratio)", dtype=object)
            keep = np.arange(len(part)) != ref
            parts.append(
                {
                    "attribute": np.full(keep.sum(), part.name, dtype=object),
                    "group": labels[keep],
                    "metric": np.full(keep.sum(), m, dtype=object),
                    "reference": np.full(keep.sum(), labels[ref], dtype=object),
                    "ratio": ratio[keep],
                    "ratio_low": nums.low["ratio", i, m][keep],
                    "ratio_high": nums.high["ratio", i, m][keep],
                    "p_value": np.asarray(p, dtype=float)[keep],
                    "test": np.asarray(test, dtype=object)[keep],
                }
            )
    table = _stack(parts)
    # a zero-width interval means every resample gave the same ratio (no events, or all):
    # the bootstrap says nothing there, so no interval is claimed (the p-value remains)
    flat = (table["ratio_low"] == table["ratio_high"]).to_numpy()
    table.loc[flat, ["ratio_low", "ratio_high"]] = np.nan
    table["p_adjusted"] = adjust(table["p_value"].to_numpy(), p_adjust)
    table["significant"] = table["p_adjusted"] < ALPHA
    lo, hi = band
    table["outside_band"] = (table["ratio_low"] > hi) | (table["ratio_high"] < lo)
    key = pd.MultiIndex.from_frame(table[["attribute", "group"]])
    ref_key = pd.MultiIndex.from_frame(table[["attribute", "reference"]])
    reliable = groups["reliable"]
    table["reliable"] = reliable.reindex(key).to_numpy() & reliable.reindex(ref_key).to_numpy()
    # a ratio would give away a withheld rate: withheld with it (its interval stays)
    metric = table["metric"].to_numpy()
    withheld = np.zeros(len(table), dtype=bool)
    for m in DISPARITY_METRICS:
        hidden = groups[m].reindex(key).isna().to_numpy() | groups[m].reindex(ref_key).isna()
        withheld |= (metric == m) & np.asarray(hidden)
    table.loc[withheld, "ratio"] = np.nan
    return table.set_index(["attribute", "group", "metric"])


def school_table(plan: AuditPlan, nums: AuditNumbers, disparities: pd.DataFrame) -> pd.DataFrame:
    """Each disparity split into a between-school and a within-school ratio."""
    rows = []
    for i, part in enumerate(plan.parts[1:], start=1):
        for m in DECOMPOSED:
            frame = pd.DataFrame({"attribute": part.name, "group": list(part.labels), "metric": m})
            for kind in ("between", "within"):
                frame[f"{kind}_ratio"] = nums.point[kind, i, m]
                frame[f"{kind}_ratio_low"] = nums.low[kind, i, m]
                frame[f"{kind}_ratio_high"] = nums.high[kind, i, m]
            rows.append(frame[np.arange(len(part)) != plan.references[i]])
    table = pd.concat(rows, ignore_index=True).set_index(["attribute", "group", "metric"])
    table.insert(0, "ratio", disparities["ratio"].reindex(table.index))
    # a withheld ratio stays withheld in its parts
    hidden = table["ratio"].isna().to_numpy()
    table.loc[hidden, ["between_ratio", "within_ratio"]] = np.nan
    return table


def worst_table(
    plan: AuditPlan,
    nums: AuditNumbers,
    engine: GroupCounts,
    *,
    min_group_size: int,
    p_adjust: str,
    clustered: bool,
    n_worst: int,
    small_count: int = SMALL_COUNT,
) -> pd.DataFrame:
    """The subgroups (one or two attributes) with the lowest recall and the highest FPR."""
    sums = engine.sums()
    total = full_counts(engine.totals(sums))
    frames = []
    for j, part in enumerate(plan.search):
        c = full_counts(engine.stats(sums, part))
        searched = (c["n"] >= min_group_size) & (c["pos"] >= SMALL_COUNT)
        if not searched.any():
            continue
        labels = np.asarray(part.labels, dtype=object)[searched]
        for m in SEARCHED:
            num, den = RATES[m]
            rest_num, rest_den = total[num] - c[num], total[den] - c[den]
            if clustered:
                with np.errstate(divide="ignore", invalid="ignore"):
                    p = wald_p(
                        np.log(nums.point["search_ratio", j, m][searched]),
                        np.log(nums.draws["search_ratio", j, m][:, searched]),
                    )
            else:
                p = two_proportion_p(
                    c[num][searched], c[den][searched], rest_num[searched], rest_den[searched]
                )[0]
            frames.append(
                {
                    "metric": np.full(len(labels), m, dtype=object),
                    "attribute": np.full(len(labels), part.name, dtype=object),
                    "group": labels,
                    "n": c["n"][searched],
                    "n_outcome": c["pos"][searched],
                    "_num": c[num][searched],
                    "_den": c[den][searched],
                    "value": nums.point["search", j, m][searched],
                    "low": nums.low["search", j, m][searched],
                    "high": nums.high["search", j, m][searched],
                    "ratio_to_rest": nums.point["search_ratio", j, m][searched],
                    "p_value": p,
                }
            )
    if not frames:
        return pd.DataFrame()
    table = _stack(frames)
    table = table[table["value"].notna()].reset_index(drop=True)
    table["p_adjusted"] = np.nan
    out = []
    for m, worse in SEARCHED.items():
        part = table[table["metric"] == m].copy()
        part["p_adjusted"] = adjust(part["p_value"].to_numpy(), p_adjust)
        part = part.sort_values("value", ascending=worse == "lowest", kind="stable")
        out.append(part.head(n_worst))
    table = pd.concat(out, ignore_index=True)
    table = suppress_table(
        table,
        ["n", "n_outcome"],
        by=["metric", "attribute"],
        rates={"value": ["_num", "_den"], "ratio_to_rest": ["_num", "_den"]},
        hidden=["_num", "_den"],
        threshold=small_count,
    )
    return table.set_index(["metric", "attribute", "group"])


def calibration_table(engine: GroupCounts, proba, plan: AuditPlan, *, n_bins: int = 10):
    """Observed rate against mean predicted probability per group and probability bin.

    Rows are collapsed once into (profile, bin) cells, so each group costs a sum
    over cells, not a pass over the rows.
    """
    if proba is None:
        return pd.DataFrame()
    edges = quantile_edges(proba, n_bins)
    m = len(edges) + 1
    cell, first = pd.factorize(engine.profile * m + np.searchsorted(edges, proba, side="right"))
    size = len(first)
    n = np.bincount(cell, minlength=size).astype(float)
    psum = np.bincount(cell, weights=proba, minlength=size)
    cell_profile, cell_bin = np.divmod(np.asarray(first, dtype=np.int64), m)
    ysum = n * engine.profile_y[cell_profile]
    frames = []
    for part in plan.parts:
        code = part.profile_group[cell_profile] * m + cell_bin
        total = len(part) * m
        count = np.bincount(code, weights=n, minlength=total)
        with np.errstate(invalid="ignore", divide="ignore"):
            pred = np.bincount(code, weights=psum, minlength=total) / count
            obs = np.bincount(code, weights=ysum, minlength=total) / count
        keep = count >= SMALL_COUNT  # small bins are not drawn
        frames.append(
            {
                "attribute": np.full(keep.sum(), part.name, dtype=object),
                "group": np.repeat(np.asarray(part.labels, dtype=object), m)[keep],
                "bin": np.tile(np.arange(m), len(part))[keep],
                "mean_predicted": pred[keep],
                "observed_rate": obs[keep],
            }
        )
    return _stack(frames).set_index(["attribute", "group", "bin"])


def label(attribute: str, group: str) -> str:
    """'ethnicity_major Black'; intersections read 'ethnicity_major & sex: Black & F'."""
    return f"{attribute}: {group}" if JOIN in attribute else f"{attribute} {group}"
