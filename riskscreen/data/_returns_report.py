"""The load-and-linkage report of :func:`read_returns`: computed once, rendered many ways."""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from riskscreen._render import markdown_table

_SUPPRESSED = "c"


def suppressed(frame: pd.DataFrame, columns) -> pd.DataFrame:
    """Counts under 5 (and any that would give them away) shown as ``"c"``, DfE style."""
    from riskscreen.evaluation import suppress_small_counts

    out = frame.copy()
    for col in columns:
        if col not in out.columns or not len(out):
            continue
        hide = suppress_small_counts(out[col].fillna(0).astype(np.int64).to_numpy())
        out[col] = out[col].astype(object).where(~hide, _SUPPRESSED)
    return out


@dataclass(frozen=True)
class ReturnsReport:
    """What :func:`~riskscreen.data.read_returns` read, rejected, merged and linked.

    Attributes
    ----------
    files : DataFrame
        One row per file holding children's identities: ``source``, ``file``,
        ``records`` (identity rows). Files of events only (exclusions, episodes, ...)
        appear in ``rejections`` when they had problems.
    rejections : DataFrame
        One row per file x table x column x rule: ``file, table, column, rule,
        n_rows, rows`` (0-based data-row positions, never values) and ``expected``.
        Rule ``"ignored_value"`` means the row was kept without that value.
    tables : DataFrame
        Per canonical table: ``table``, ``what`` (rows out, or what was merged or
        set aside) and ``rows``.
    linkage : DataFrame
        Per source: ``records`` and how many were linked to a school-census pupil
        exactly by UPN (``upn``), probabilistically, through another record of
        the same child (``via_other_record``, e.g. a social-care child whose
        register row carried the UPN), or left without a school record
        (``no_school_record``), and the ``match_rate``.
    by_group : DataFrame
        Match rate to a school-census pupil by source and group (ethnicity,
        sex, FSM): ``source, group, value, records, linked, match_rate``.
    weights : DataFrame
        Distribution of the match weights of scored pairs: ``weight`` (bin
        start), ``pairs``, ``accepted``.
    review : DataFrame
        Pairs near the threshold for clerical review: each side's ``source``,
        ``file`` and ``row``, the ``match_weight``, ``match_probability``,
        whether it was ``accepted`` and, per field, how the values compared
        (``"exact"``, ``"close"``, ``"day and month swapped"``, ...), never the
        values.
    links : DataFrame
        Every identity row: ``source, file, row``, the ``pupil_id`` it was
        given, the ``method`` and ``match_weight``.
    training : dict
        How the probabilistic model was trained and thresholded.
    notes : tuple of str
        What the returns cannot say as the canonical tables do.
    """

    files: pd.DataFrame
    rejections: pd.DataFrame
    tables: pd.DataFrame
    linkage: pd.DataFrame
    by_group: pd.DataFrame
    weights: pd.DataFrame
    review: pd.DataFrame
    links: pd.DataFrame
    training: dict = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def n_rejected(self) -> int:
        """Rows rejected (not counting values set aside in kept rows)."""
        r = self.rejections
        return int(r.loc[r["rule"] != "ignored_value", "n_rows"].sum()) if len(r) else 0

    @property
    def n_unlinked(self) -> int:
        """Records of children in social care or a register with no school-census record."""
        return int(self.linkage["no_school_record"].sum()) if len(self.linkage) else 0

    def to_frame(self) -> pd.DataFrame:
        """The headline figures as ``section, item, count`` (small counts suppressed)."""
        rows = [
            ("files", "files read", len(self.files)),
            ("files", "identity records", int(self.files["records"].sum())),
            ("rejections", "rows rejected", self.n_rejected),
            (
                "rejections",
                "values set aside in kept rows",
                int(self.rejections.loc[self.rejections["rule"] == "ignored_value", "n_rows"].sum())
                if len(self.rejections)
                else 0,
            ),
        ]
        rows += [("tables", f"{t}: {w}", int(n)) for t, w, n in self.tables.itertuples(False)]
        for r in self.linkage.itertuples(index=False):
            for col in ("upn", "via_other_record", "probabilistic", "no_school_record"):
                rows.append(
                    ("linkage", f"{r.source}: {col.replace('_', ' ')}", int(getattr(r, col)))
                )
        frame = pd.DataFrame(rows, columns=["section", "item", "count"])
        return suppressed(frame, ["count"])

    def _sections(self) -> list[tuple[str, pd.DataFrame]]:
        link = suppressed(
            self.linkage,
            ["records", "upn", "via_other_record", "probabilistic", "no_school_record"],
        )
        group = suppressed(self.by_group, ["records", "linked"])
        weights = suppressed(self.weights, ["pairs", "accepted"])
        return [
            ("Files", self.files),
            ("Rejected rows and values set aside", self.rejections),
            ("Canonical tables", suppressed(self.tables, ["rows"])),
            ("Linkage to the school census, by source", link),
            ("Match rate by group", group),
            ("Match weights of scored pairs", weights),
            ("Pairs near the threshold (clerical review)", self.review),
        ]

    def _header(self) -> str:
        t = self.training
        return (
            f"Returns loaded: {len(self.files)} files, {self.n_rejected} rows rejected; "
            f"{self.n_unlinked} records with no school-census record. Probabilistic model: "
            f"{t.get('method', 'none')}, {t.get('labels', 0)} UPN-linked training pairs, "
            f"threshold {t.get('threshold', float('nan')):g}. Counts under 5 are shown as 'c'."
        )

    def to_markdown(self) -> str:
        """The report as Markdown."""
        parts = [self._header()]
        for title, frame in self._sections():
            parts += [
                f"\n### {title}\n",
                markdown_table(frame, index=False) if len(frame) else "(none)",
            ]
        if self.notes:
            parts += ["\n### Notes\n", "\n".join(f"- {n}" for n in self.notes)]
        return "\n".join(parts)

    def to_html(self) -> str:
        """The report as an HTML fragment."""
        parts = [f"<div><p>{html.escape(self._header())}</p>"]
        for title, frame in self._sections():
            body = frame.to_html(index=False) if len(frame) else "<p>(none)</p>"
            parts.append(f"<h4>{html.escape(title)}</h4>{body}")
        if self.notes:
            items = "".join(f"<li>{html.escape(n)}</li>" for n in self.notes)
            parts.append(f"<h4>Notes</h4><ul>{items}</ul>")
        return "".join(parts) + "</div>"

    def _repr_html_(self) -> str:
        return self.to_html()

    def __repr__(self) -> str:
        return f"ReturnsReport({self._header()})"


def linkage_tables(entities, records, links, pairs, training) -> dict[str, pd.DataFrame]:
    """The linkage sections of the report from the linked entities and their records."""
    e = entities.set_index("entity")
    cluster_has_census = e.groupby("cluster")["kind"].agg(lambda k: (k == "census").any())
    r = records[["source", "entity", "ethnicity", "sex"]].copy()
    r["cluster"] = e["cluster"].reindex(r["entity"]).to_numpy()
    r["method"] = e["method"].reindex(r["entity"]).to_numpy()
    r["to_census"] = cluster_has_census.reindex(r["cluster"]).to_numpy()
    r = r[r["source"] != "school_census"]
    rows = []
    for source, g in r.groupby("source"):
        linked = g["to_census"]
        rows.append(
            {
                "source": source,
                "records": len(g),
                "upn": int((linked & (g["method"] == "upn")).sum()),
                "via_other_record": int((linked & g["method"].isin(["linked", "unlinked"])).sum()),
                "probabilistic": int((linked & (g["method"] == "probabilistic")).sum()),
                "no_school_record": int((~linked).sum()),
                "match_rate": float(linked.mean()),
            }
        )
    linkage = pd.DataFrame(
        rows,
        columns=[
            "source",
            "records",
            "upn",
            "via_other_record",
            "probabilistic",
            "no_school_record",
            "match_rate",
        ],
    )
    groups = []
    fsm = links.get("fsm")
    r["fsm"] = (
        fsm.reindex(r["cluster"]).fillna("unknown").to_numpy() if fsm is not None else ("unknown")
    )
    for source, g in r.groupby("source"):
        for col in ("ethnicity", "sex", "fsm"):
            for value, gg in g.groupby(g[col].fillna("unknown")):
                groups.append(
                    {
                        "source": source,
                        "group": col,
                        "value": value,
                        "records": len(gg),
                        "linked": int(gg["to_census"].sum()),
                        "match_rate": float(gg["to_census"].mean()),
                    }
                )
    by_group = pd.DataFrame(
        groups, columns=["source", "group", "value", "records", "linked", "match_rate"]
    )
    if len(pairs):
        bins = np.floor(pairs["match_weight"].clip(-10, 30)).astype(int)
        weights = pairs.groupby(bins).agg(
            pairs=("match_weight", "size"), accepted=("accepted", "sum")
        )
        weights = weights.rename_axis("weight").reset_index()
    else:
        weights = pd.DataFrame(columns=["weight", "pairs", "accepted"])
    return {
        "linkage": linkage,
        "by_group": by_group,
        "weights": weights,
        "review": review_pairs(pairs, entities, records, training),
    }


def review_pairs(pairs, entities, records, training, band: float = 3.0) -> pd.DataFrame:
    """Pairs within ``band`` match-weight units of the threshold, as file references."""
    cols = [
        "left_source",
        "left_file",
        "left_row",
        "right_source",
        "right_file",
        "right_row",
        "match_weight",
        "match_probability",
        "accepted",
    ]
    if not len(pairs):
        return pd.DataFrame(columns=cols)
    p = training["threshold"]
    wt = np.log2(p / (1 - p))  # Splink's match weight is the full log2-odds
    near = pairs[(pairs["match_weight"] - wt).abs() <= band].copy()
    first = records.drop_duplicates("entity").set_index("entity")[["source", "file", "row"]]
    ents = entities["entity"].to_numpy()
    out = {}
    for side in ("left", "right"):
        ref = first.reindex(ents[near[side].to_numpy()])
        out[f"{side}_source"] = ref["source"].to_numpy()
        out[f"{side}_file"] = ref["file"].to_numpy()
        out[f"{side}_row"] = ref["row"].to_numpy()
    frame = pd.DataFrame(out)
    frame["match_weight"] = near["match_weight"].round(2).to_numpy()
    frame["match_probability"] = near["match_probability"].round(4).to_numpy()
    frame["accepted"] = near["accepted"].to_numpy()
    levels = training.get("levels", {})
    for name, labels in levels.items():
        g = near.get(f"gamma_{name}")
        if g is None:
            continue
        ranked = [lab for lab in labels if lab != "null"][::-1]  # gamma 0 = last level
        frame[name] = [("missing" if v < 0 else ranked[int(v)]) for v in g.to_numpy()]
    return frame.sort_values("match_weight", ascending=False, ignore_index=True)
