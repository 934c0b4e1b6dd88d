"""Per-group confusion counts, vectorised: the engine under the fairness audit.

Rows are collapsed once into *profiles*: the distinct combinations of every
sensitive attribute, the outcome and (when asked) the school. Every group of
every attribute or intersection is a union of profiles, so a group's counts
(pupils, outcomes, flags, flagged outcomes, summed probability) are sums of
three per-profile totals. A bootstrap replicate only changes how many times
each pupil is drawn, so it costs one sparse product of the pupils' weights
with the profile matrix and then small sums over the profiles, whatever the
number of groups.

The area under the ROC curve within a group needs the scores: the rows are
sorted by score once, then by group with a stable radix sort (linear time), and
each replicate's weighted Mann-Whitney count is a cumulative sum over a group's
non-outcomes in score order (ties count one half, as in scikit-learn).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Group label of a missing attribute value: its pupils are audited, never dropped.
MISSING = "(missing)"
#: Joins the attributes (and groups) of an intersection: "ethnicity_major & sex".
JOIN = " & "


def group_labels(column: pd.Series) -> pd.Series:
    """Attribute values as group labels (text); missing values become :data:`MISSING`."""
    codes, labels = label_codes(column)
    return pd.Series(labels[codes], index=column.index)


def label_codes(column) -> tuple[np.ndarray, np.ndarray]:
    """(code of each row, sorted text labels): one label per distinct value, not per row."""
    values = np.asarray(column, dtype=object) if isinstance(column, (list, tuple)) else column
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    text = np.array([MISSING if pd.isna(u) else str(u) for u in uniques], dtype=object)
    order = np.argsort(text, kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank[codes], text[order]


def _combine(codes: list[np.ndarray], sizes: list[int]) -> np.ndarray:
    """One int64 code per row for a combination of small integer codes (mixed radix)."""
    out = np.zeros(len(codes[0]), dtype=np.int64)
    for c, m in zip(codes, sizes, strict=True):
        out = out * max(int(m), 1) + c
    return out


def _factorize(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(codes, index of the first row of each code), codes numbered by first appearance."""
    codes, uniques = pd.factorize(values)
    first = np.empty(len(uniques), dtype=np.int64)
    first[codes[::-1]] = np.arange(len(codes))[::-1]
    return codes.astype(np.int64), first


@dataclass(frozen=True)
class Partition:
    """The groups of one attribute or intersection of attributes."""

    columns: tuple[str, ...]
    labels: tuple[str, ...]
    profile_group: np.ndarray  # group of each profile

    @property
    def name(self) -> str:
        return JOIN.join(self.columns) if self.columns else "all"

    def __len__(self) -> int:
        return len(self.labels)


class GroupCounts:
    """Rows collapsed into profiles; counts and AUC per group, for any pupil weights.

    Parameters
    ----------
    y : ndarray of 0/1
        Known outcomes (rows with an unknown outcome are left out by the caller).
    flag : ndarray of float in [0, 1]
        Flag of each row (fractional where tied pupils share the last places).
    proba : ndarray or None
        Calibrated probability (for the observed-to-expected calibration).
    score : ndarray or None
        Ranking score (for the AUC within groups).
    sensitive : DataFrame
        Group labels (text), one column per attribute, aligned with the rows.
    clusters : ndarray of int
        Pupil code of each row (0..n_pupils-1): bootstrap weights are per pupil.
    schools : array-like, optional
        School of each row, kept in the profiles for the between/within split.
    """

    def __init__(self, y, flag, proba, score, sensitive, clusters, schools=None) -> None:
        self.y = np.asarray(y, dtype=float)
        self.flag = np.asarray(flag, dtype=float)
        self.proba = None if proba is None else np.asarray(proba, dtype=float)
        self.score = None if score is None else np.asarray(score, dtype=float)
        self.clusters = np.asarray(clusters, dtype=np.int64)
        self.n_clusters = int(self.clusters.max()) + 1 if len(self.clusters) else 0
        self.attr_codes: dict[str, np.ndarray] = {}
        self.attr_labels: dict[str, np.ndarray] = {}
        for col in sensitive.columns:
            codes, labels = label_codes(sensitive[col].array)
            self.attr_codes[col] = codes
            self.attr_labels[col] = labels
        parts = [self.attr_codes[c] for c in sensitive.columns]
        sizes = [len(self.attr_labels[c]) for c in sensitive.columns]
        self.school_labels = None
        if schools is not None:
            school_codes, uniques = pd.factorize(
                np.asarray(schools, dtype=object), use_na_sentinel=False
            )
            self.school_labels = np.asarray(uniques, dtype=object)
            parts.append(school_codes.astype(np.int64))
            sizes.append(len(uniques))
        parts.append(self.y.astype(np.int64))
        sizes.append(2)
        if np.sum(np.log2(np.maximum(sizes, 1))) < 62:
            combined = _combine(parts, sizes)
        else:  # too many combinations for one int64: factorise the rows as tuples
            combined = pd.MultiIndex.from_arrays(parts).factorize()[0]
        self.profile, first = _factorize(combined)
        self.n_profiles = len(first)
        self.profile_attr = {c: self.attr_codes[c][first] for c in sensitive.columns}
        self.profile_y = self.y[first]
        self.profile_school = None if schools is None else parts[-2][first]
        self._auc_cache: dict[tuple[str, ...], dict] = {}
        self._score_order: np.ndarray | None = None
        self._clusters_sorted: np.ndarray | None = None
        self._weights_for = self._weights_sorted = None
        self._profile_matrix = None

    # -- partitions ----------------------------------------------------------------------------
    def partition(self, columns: tuple[str, ...]) -> Partition:
        """The groups of an attribute (one column) or an intersection (several)."""
        codes = [self.profile_attr[c] for c in columns]
        sizes = [len(self.attr_labels[c]) for c in columns]
        combined = _combine(codes, sizes)
        present, profile_group = np.unique(combined, return_inverse=True)
        labels = []
        for code in present:  # one label per group (few), never per pupil
            rest, parts = int(code), []
            for c, m in zip(reversed(columns), reversed(sizes), strict=True):
                parts.append(str(self.attr_labels[c][rest % m]))
                rest //= m
            labels.append(JOIN.join(reversed(parts)))
        profile_group = profile_group.astype(np.int64)
        return Partition(
            columns=tuple(columns),
            labels=tuple(labels),
            profile_group=profile_group,
        )

    def overall(self, label: str = "all pupils") -> Partition:
        """Every row in one group (the audit's first row)."""
        zeros = np.zeros(self.n_profiles, dtype=np.int64)
        return Partition(columns=(), labels=(label,), profile_group=zeros)

    # -- counts --------------------------------------------------------------------------------
    def row_weights(self, cluster_weights: np.ndarray | None) -> np.ndarray | None:
        return None if cluster_weights is None else cluster_weights[self.clusters]

    def sums(self, cluster_weights: np.ndarray | None = None) -> np.ndarray:
        """Per-profile totals (3, n_profiles): rows, flags, probabilities (weighted)."""
        w = self.row_weights(cluster_weights)
        m = self.n_profiles
        rows = np.bincount(self.profile, weights=w, minlength=m)
        flags = np.bincount(
            self.profile, weights=self.flag if w is None else w * self.flag, minlength=m
        )
        if self.proba is None:
            probs = np.full(m, np.nan)
        else:
            p = self.proba if w is None else w * self.proba
            probs = np.bincount(self.profile, weights=p, minlength=m)
        return np.stack([rows, flags, probs])

    def sums_many(self, weights: np.ndarray) -> np.ndarray:
        """:meth:`sums` for several replicates at once: ``weights`` is (pupils, replicates).

        Returns (replicates, 3, n_profiles). One sparse product per total: the
        pupils' index is read once for all the replicates of a chunk.
        """
        from scipy import sparse

        if self._profile_matrix is None:
            n = len(self.profile)
            self._profile_matrix = sparse.csr_matrix(
                (np.ones(n), (self.profile, np.arange(n))), shape=(self.n_profiles, n)
            )
        rows = weights[self.clusters].astype(np.float64)
        m = self._profile_matrix
        out = [m @ rows, m @ (rows * self.flag[:, None])]
        if self.proba is None:
            out.append(np.full_like(out[0], np.nan))
        else:
            out.append(m @ (rows * self.proba[:, None]))
        return np.stack(out).transpose(2, 0, 1)

    def stats(self, sums: np.ndarray, part: Partition, *, by_school: bool = False) -> dict:
        """Counts per group: n, pos, flagged, tp, psum (arrays; (groups, schools) if by_school)."""
        g = part.profile_group
        size = len(part)
        if by_school:
            n_schools = len(self.school_labels)
            g = g * n_schools + self.profile_school
            size = size * n_schools
        yy = self.profile_y
        out = {
            "n": np.bincount(g, weights=sums[0], minlength=size),
            "pos": np.bincount(g, weights=sums[0] * yy, minlength=size),
            "flagged": np.bincount(g, weights=sums[1], minlength=size),
            "tp": np.bincount(g, weights=sums[1] * yy, minlength=size),
            "psum": np.bincount(g, weights=sums[2], minlength=size),
        }
        if by_school:
            out = {k: v.reshape(len(part), -1) for k, v in out.items()}
        return out

    def totals(self, sums: np.ndarray) -> dict:
        """Counts over every row (one 'group')."""
        yy = self.profile_y
        return {
            "n": np.array([sums[0].sum()]),
            "pos": np.array([(sums[0] * yy).sum()]),
            "flagged": np.array([sums[1].sum()]),
            "tp": np.array([(sums[1] * yy).sum()]),
            "psum": np.array([sums[2].sum()]),
        }

    # -- AUC within groups ---------------------------------------------------------------------
    def score_order(self) -> np.ndarray:
        """The rows by ascending score (one sort for every partition), with helpers cached."""
        if self._score_order is None:
            order = np.argsort(self.score)  # ties are handled as runs: no need for stability
            ss = self.score[order]
            same = ss[1:] == ss[:-1]
            self._ties = bool(same.any())
            self._rank_sorted = (np.cumsum(np.r_[True, ~same]) - 1).astype(np.int32)
            self._neg_sorted = self.y[order] == 0
            self._profile_sorted = self.profile[order].astype(np.int32)
            self._score_order = order
        return self._score_order

    def _sorted_weights(self, cluster_weights: np.ndarray) -> np.ndarray:
        """Each row's weight in score order: one random gather per replicate, shared."""
        if self._weights_for is not cluster_weights:
            if self._clusters_sorted is None:
                self._clusters_sorted = self.clusters[self.score_order()]
            self._weights_sorted = cluster_weights[self._clusters_sorted]
            self._weights_for = cluster_weights
        return self._weights_sorted

    def _auc_setup(self, part: Partition) -> dict:
        """Where each positive's ties begin and end among its group's negatives.

        A stable radix sort of the score order by group (small integer codes)
        gives the (group, score) order in linear time; ties are runs of equal
        score within a group and count one half.
        """
        if part.columns in self._auc_cache:
            return self._auc_cache[part.columns]
        self.score_order()
        if len(part) == 1:  # everyone: the score order is already the group order
            perm = np.arange(len(self._score_order))
            sizes = np.array([len(perm)])
        else:
            small = np.int16 if len(part) < 2**15 else np.int32
            g_sorted = part.profile_group.astype(small)[self._profile_sorted]
            perm = np.argsort(g_sorted, kind="stable")  # radix sort: linear in rows
            sizes = np.bincount(g_sorted, minlength=len(part))
        starts = np.r_[0, np.cumsum(sizes)[:-1]]
        is_neg = self._neg_sorted if len(part) == 1 else self._neg_sorted[perm]
        seen = np.cumsum(is_neg, dtype=np.int64)  # negatives up to and including each row
        where_pos = np.flatnonzero(~is_neg)
        if self._ties:
            r = self._rank_sorted if len(part) == 1 else self._rank_sorted[perm]
            new = np.r_[True, r[1:] != r[:-1]]
            new[starts[sizes > 0]] = True  # a new group starts a new run
            first = np.flatnonzero(new)
            last = np.r_[first[1:] - 1, len(perm) - 1]
            block = np.cumsum(new)[where_pos] - 1
            left = (seen[first] - is_neg[first])[block]
            right = seen[last][block]
        else:
            left = right = seen[where_pos]
        gpos = np.searchsorted(starts, where_pos, side="right") - 1  # group of each positive
        n_neg = sizes - np.bincount(gpos, minlength=len(part))
        edges = np.r_[0, np.cumsum(n_neg)]
        setup = {
            "perm": perm,
            "is_neg": is_neg,
            "left": left,
            "right": right,
            "start": edges[gpos],
            "gpos": gpos,
            "edges": edges,
        }
        self._auc_cache[part.columns] = setup
        return setup

    def auc(self, part: Partition, cluster_weights: np.ndarray | None = None) -> np.ndarray:
        """ROC AUC within each group (NaN where a group lacks outcomes or non-outcomes)."""
        if self.score is None:
            return np.full(len(part), np.nan)
        st = self._auc_setup(part)
        size = len(part)
        edges, gpos = st["edges"], st["gpos"]
        if cluster_weights is None:  # every weight 1: the counts are positions
            below = (st["left"] - st["start"]).astype(np.float64)
            tied = (st["right"] - st["left"]).astype(np.float64)
            num = np.bincount(gpos, weights=below + 0.5 * tied, minlength=size)
            n_pos = np.bincount(gpos, minlength=size).astype(np.float64)
            n_neg = np.diff(edges).astype(np.float64)
        else:
            if "neg_perm" not in st:  # only a bootstrap needs them
                st["neg_perm"] = st["perm"][st["is_neg"]]
                st["pos_perm"] = st["perm"][~st["is_neg"]]
            w_sorted = self._sorted_weights(cluster_weights)
            # within a group the rows keep their score order: these gathers stream
            wn = w_sorted[st["neg_perm"]]
            wp = w_sorted[st["pos_perm"]]
            # whole-number weights: float32 sums are exact below 2**24 (16.7 million rows)
            dtype = np.float32 if len(wn) < 2**24 else np.float64
            cs = np.empty(len(wn) + 1, dtype=dtype)
            cs[0] = 0.0
            np.cumsum(wn, out=cs[1:], dtype=dtype)
            below = (cs[st["left"]] - cs[st["start"]]).astype(np.float64)
            tied = (cs[st["right"]] - cs[st["left"]]).astype(np.float64)
            num = np.bincount(gpos, weights=wp * (below + 0.5 * tied), minlength=size)
            n_pos = np.bincount(gpos, weights=wp, minlength=size)
            n_neg = (cs[edges[1:]] - cs[edges[:-1]]).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = num / (n_pos * n_neg)
        out[(n_pos == 0) | (n_neg == 0)] = np.nan
        return out

    def auc_many(self, part: Partition, weights: np.ndarray) -> np.ndarray:
        """:meth:`auc` for several replicates at once: ``weights`` is (pupils, replicates).

        Returns (replicates, groups). Each gather moves one short row of weights
        per pupil, so the index arrays are read once for the whole chunk.
        """
        m = weights.shape[1]
        if self.score is None:
            return np.full((m, len(part)), np.nan)
        st = self._auc_setup(part)
        if "neg_perm" not in st:
            st["neg_perm"] = st["perm"][st["is_neg"]]
            st["pos_perm"] = st["perm"][~st["is_neg"]]
        w_sorted = self._sorted_weights(weights)
        wn = w_sorted[st["neg_perm"]]
        cs = np.zeros((len(wn) + 1, m), dtype=np.float32 if len(wn) < 2**24 else np.float64)
        np.cumsum(wn, axis=0, out=cs[1:])
        left, right, start = st["left"], st["right"], st["start"]
        below = cs[left] - cs[start]
        tied = cs[right] - cs[left]
        wp = w_sorted[st["pos_perm"]].astype(np.float64)
        contrib = wp * (below + 0.5 * tied)
        gpos, edges, size = st["gpos"], st["edges"], len(part)
        counts = np.bincount(gpos, minlength=size)
        has = counts > 0
        firsts = np.r_[0, np.cumsum(counts)[:-1]][has]  # positives come in group order
        num = np.zeros((size, m))
        n_pos = np.zeros((size, m))
        if len(firsts):
            num[has] = np.add.reduceat(contrib, firsts, axis=0)
            n_pos[has] = np.add.reduceat(wp, firsts, axis=0)
        n_neg = (cs[edges[1:]] - cs[edges[:-1]]).astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = num / (n_pos * n_neg)
        out[(n_pos == 0) | (n_neg == 0)] = np.nan
        return out.T
