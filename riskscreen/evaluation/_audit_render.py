"""Words, tables and pages of a :class:`FairnessAudit` (text, Markdown, self-contained HTML)."""

from __future__ import annotations

import html as _html

import numpy as np
import pandas as pd

from riskscreen._render import markdown_table
from riskscreen.evaluation._audit_stats import DISPARITY_METRICS, GROUP_METRICS, METRIC_WORDS
from riskscreen.evaluation._confusion import JOIN
from riskscreen.evaluation._disclosure import SMALL_COUNT, count_text
from riskscreen.evaluation._words import outcome_label, outcome_words

#: Shown in place of a withheld value (DfE's mark for "confidential").
WITHHELD = "c"
HEADLINE_ROWS = 8
GUIDANCE_ROWS = 6


def label(attribute: str, group: str) -> str:
    """'ethnicity_major Black'; intersections read 'ethnicity_major & sex: Black & F'."""
    if attribute == "all":
        return "all pupils"
    return f"{attribute}: {group}" if JOIN in attribute else f"{attribute} {group}"


def interval(value, low, high, digits: int = 3, *, withheld: bool = False) -> str:
    """'0.123 (0.100-0.150)'; a withheld value shows 'c' before its interval (if any).

    A missing value with no interval reads 'n/a' (nothing to estimate), unless
    ``withheld`` says it was hidden (its row's counts were suppressed): then 'c'.
    """
    bounds = "" if np.isnan(low) or np.isnan(high) else f" ({low:.{digits}f}-{high:.{digits}f})"
    if np.isnan(value):
        return f"{WITHHELD}{bounds}" if bounds or withheld else "n/a"
    return f"{value:.{digits}f}{bounds}"


def count(value) -> str:
    if value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return WITHHELD
    v = float(value)
    return f"{v:.0f}" if v == round(v) else f"{v:.1f}"


def header(audit) -> str:
    scope = "per school" if audit.per_school else "overall"
    return (
        f"Fairness audit for {outcome_label(audit.outcome)}: {count_text(audit.n)} pupils, "
        f"{count_text(audit.n_outcome)} with the outcome; {count_text(audit.k)} flagged "
        f"(capacity {scope}); {100 * audit.confidence:.0f}% bootstrap intervals "
        f"({audit.n_bootstrap} resamples of pupils); band "
        f"{audit.band[0]:.2f}-{audit.band[1]:.2f}."
    )


def method_notes(
    *, n_bootstrap, confidence, clustered, p_adjust, n_tests, min_group_size, band, any_suppressed
) -> list[str]:
    rate_test = (
        "a bootstrap Wald test of the log ratio (pupils have several rows)"
        if clustered
        else "Pearson's chi-square test of the 2x2 table (Fisher's exact test, two-sided by "
        "doubling the smaller tail, when an expected count is under 5)"
    )
    notes = [
        f"Disparities are ratios to the reference group (the largest, unless chosen); one is "
        f"reported only when its whole {100 * confidence:.0f}% interval lies outside "
        f"{band[0]:.2f}-{band[1]:.2f}.",
        f"p-values: rates by {rate_test}; calibration and AUC by a bootstrap Wald test; "
        f"adjusted by {p_adjust} across all {n_tests} comparisons.",
        f"Groups with fewer than {min_group_size} pupils or fewer than {SMALL_COUNT} with the "
        "outcome are marked unreliable: read their intervals, not their rates.",
    ]
    if n_bootstrap == 0:
        notes.append("No bootstrap was run: intervals and some p-values are missing.")
    if any_suppressed:
        notes.append(
            f"Counts under {SMALL_COUNT} are suppressed ('{WITHHELD}'), with one more where a "
            "total would reveal them; a rate that would give a small count away is withheld "
            "and only its interval shown."
        )
    return notes


def _outside(audit) -> pd.DataFrame:
    d = audit.disparities
    return d[d["outside_band"]]


def headline(audit) -> str:
    """Groups outside the band (recall first) and the unreliable groups, in a few lines."""
    lines = [header(audit)]
    out = _outside(audit)
    order = {m: i for i, m in enumerate(("recall", "fnr", "selection_rate", "fpr"))}
    rank = out.index.get_level_values("metric").map(lambda m: order.get(m, 9)).to_numpy()
    solid = out["reliable"].to_numpy(bool) & out["significant"].to_numpy(bool)
    out = out.iloc[np.lexsort((rank, ~solid))]
    if len(out) == 0:
        lines.append(
            f"No disparity's interval lies wholly outside {audit.band[0]:.2f}-{audit.band[1]:.2f}."
        )
    else:
        lines.append(f"{len(out)} disparities outside the band:")
        for (attr, group, metric), row in out.head(HEADLINE_ROWS).iterrows():
            flag = "" if row["reliable"] else " [unreliable group]"
            if not row["significant"]:
                flag += " [not significant after adjustment]"
            lines.append(
                f"  {label(attr, group)}: {METRIC_WORDS[metric]} ratio "
                f"{interval(row['ratio'], row['ratio_low'], row['ratio_high'], 2)} vs "
                f"{row['reference']}{flag}"
            )
        if len(out) > HEADLINE_ROWS:
            lines.append(f"  ... and {len(out) - HEADLINE_ROWS} more (audit.disparities).")
    unreliable = audit.unreliable_groups()
    if unreliable:
        shown = ", ".join(unreliable[:10]) + (" ..." if len(unreliable) > 10 else "")
        lines.append(f"Unreliable groups ({len(unreliable)}): {shown}.")
    return "\n".join(lines)


def _pct(v) -> str:
    return "c" if np.isnan(v) else f"{100 * v:.1f}%"


def _base_rate_spread(audit):
    """(table, highest, lowest) base rates of the single attribute that differ most."""
    groups = audit.by_group
    attrs = groups.index.get_level_values("attribute")
    best = None
    for attr in dict.fromkeys(attrs):
        if attr == "all" or JOIN in attr:
            continue
        part = groups[(attrs == attr) & groups["reliable"].to_numpy(bool)]
        rates = part["base_rate"].dropna()
        if len(rates) < 2 or rates.min() <= 0:
            continue
        ratio = rates.max() / rates.min()
        if ratio > audit.band[1] and (best is None or ratio > best[0]):
            best = (ratio, part, rates.idxmax(), rates.idxmin())
    return None if best is None else best[1:]


def guidance(audit) -> list[str]:
    """What to read first and what the numbers mean, in words."""
    verb = outcome_words(audit.outcome)
    lines = [
        "For assistive early help a missed child is the costlier error: compare recall (the "
        f"share of pupils who went on to {verb} that the list caught) across groups first; "
        "FPR and precision say how often a group is flagged without going on to the outcome.",
    ]
    out = _outside(audit)
    order = {"recall": 0, "selection_rate": 1, "fpr": 2}
    said = out[out["reliable"] & out["significant"] & out["ratio"].notna()]
    said = said[said.index.get_level_values("metric").isin(list(order))]
    rank = said.index.get_level_values("metric").map(order).to_numpy()
    said = said.iloc[np.argsort(rank, kind="stable")]
    for (attr, group, metric), row in said.head(GUIDANCE_ROWS).iterrows():
        more = "more" if row["ratio_low"] > 1 else "less"
        what = {
            "recall": f"of its pupils who went on to {verb}, the list caught {more} than",
            "selection_rate": f"its pupils are flagged {more} often than",
            "fpr": f"its pupils who did not go on to {verb} are flagged {more} often than",
        }[metric]
        lines.append(
            f"{label(attr, group)}: {what} those in {label(attr, row['reference'])} (ratio "
            f"{interval(row['ratio'], row['ratio_low'], row['ratio_high'], 2)})."
        )
    if len(said) > GUIDANCE_ROWS:
        lines.append(
            f"... {len(said) - GUIDANCE_ROWS} more such differences in recall, selection rate "
            "and FPR (audit.disparities)."
        )
    spread = _base_rate_spread(audit)
    if spread is not None:
        base, hi, lo = spread
        lines.append(
            f"Base rates differ ({_pct(base.loc[hi, 'base_rate'])} of {label(*hi)} vs "
            f"{_pct(base.loc[lo, 'base_rate'])} of {label(*lo)} went on to {verb}). Where base "
            "rates differ, no list can have equal recall, equal precision and equal FPR at "
            "once: at the same recall the group with the higher base rate shows the higher "
            "precision and more of its pupils are flagged."
        )
    if audit.schools is not None:
        s = audit.schools.join(audit.disparities[["outside_band"]], how="left")
        for (attr, group, metric), row in s[s["outside_band"].fillna(False)].head(5).iterrows():
            part = (
                "between"
                if abs(np.log(row["between_ratio"])) > abs(np.log(row["within_ratio"]))
                else "within"
            )
            lines.append(
                f"{label(attr, group)}, {METRIC_WORDS[metric]}: ratio {row['ratio']:.2f} = "
                f"{row['between_ratio']:.2f} between schools x {row['within_ratio']:.2f} "
                f"within schools; mostly {part} schools."
            )
    if len(out) == 0:
        lines.append(
            "No disparity's interval lies wholly outside the band: the differences seen are "
            "within what chance and the band allow."
        )
    unreliable = audit.unreliable_groups()
    if unreliable:
        lines.append(
            f"{len(unreliable)} groups are too small to read on their own; their intervals "
            "show how little the data say. Do not rank or act on their rates."
        )
    return lines


def group_display(audit) -> pd.DataFrame:
    """by_group with counts as text ('c' when suppressed) and 'estimate (low-high)' rates."""
    g = audit.by_group
    out = pd.DataFrame(index=g.index)
    for col in ("n", "n_outcome", "n_flagged", "n_flagged_outcome"):
        out[col] = [count(v) for v in g[col]]
    for m in GROUP_METRICS:
        if g[m].isna().all() and g[f"{m}_low"].isna().all():
            continue
        out[METRIC_WORDS[m]] = [
            interval(v, lo, hi, withheld=s)
            for v, lo, hi, s in zip(
                g[m], g[f"{m}_low"], g[f"{m}_high"], g["suppressed"], strict=True
            )
        ]
    out["reliable"] = np.where(g["reliable"], "yes", "no")
    return out


def disparity_display(audit) -> pd.DataFrame:
    """One row per group, one column per metric: 'ratio (low-high)', '!' outside the band."""
    d = audit.disparities
    cells = [
        interval(r, lo, hi, 2) + ("!" if out else "")
        for r, lo, hi, out in zip(
            d["ratio"], d["ratio_low"], d["ratio_high"], d["outside_band"], strict=True
        )
    ]
    frame = pd.Series(cells, index=d.index).unstack("metric")
    frame = frame[[m for m in DISPARITY_METRICS if m in frame.columns]]
    frame.columns = [METRIC_WORDS[m] for m in frame.columns]
    refs = d["reference"].groupby(level=[0, 1]).first()
    frame.insert(0, "reference", refs.reindex(frame.index))
    return frame.reindex(pd.MultiIndex.from_tuples(dict.fromkeys(d.index.droplevel(2))))


def school_display(audit) -> pd.DataFrame | None:
    s = audit.schools
    if s is None:
        return None
    out = pd.DataFrame(index=s.index)
    out["ratio"] = [f"{v:.2f}" if not np.isnan(v) else WITHHELD for v in s["ratio"]]
    for kind in ("between", "within"):
        out[f"{kind} schools"] = [
            interval(v, lo, hi, 2)
            for v, lo, hi in zip(
                s[f"{kind}_ratio"], s[f"{kind}_ratio_low"], s[f"{kind}_ratio_high"], strict=True
            )
        ]
    return out


def worst_display(audit) -> pd.DataFrame:
    w = audit.worst_groups
    if len(w) == 0:
        return pd.DataFrame()
    out = pd.DataFrame(index=w.index)
    out["n"] = [count(v) for v in w["n"]]
    out["n_outcome"] = [count(v) for v in w["n_outcome"]]
    out["value"] = [
        interval(v, a, b) for v, a, b in zip(w["value"], w["low"], w["high"], strict=True)
    ]
    out["ratio to the rest"] = [
        f"{v:.2f}" if not np.isnan(v) else WITHHELD for v in w["ratio_to_rest"]
    ]
    out["p (adjusted)"] = [f"{p:.3g}" for p in w["p_adjusted"]]
    return out


def _sections(audit) -> list[tuple[str, pd.DataFrame | None]]:
    return [
        ("Rates by group", group_display(audit)),
        (
            "Disparities: ratio to the reference group ('!' = outside the band)",
            disparity_display(audit),
        ),
        ("Disparities split between and within schools", school_display(audit)),
        ("Worst-off subgroups (lowest recall, highest FPR)", worst_display(audit)),
    ]


def text(audit) -> str:
    parts = [headline(audit), "", *guidance(audit), "", *audit.notes]
    for title, frame in _sections(audit):
        if frame is not None and len(frame):
            parts += ["", f"{title}:", frame.to_string()]
    return "\n".join(parts)


def markdown(audit) -> str:
    parts = [f"**{header(audit)}**", "", *[f"- {s}" for s in guidance(audit)], ""]
    parts += [f"> {s}" for s in audit.notes]
    for title, frame in _sections(audit):
        if frame is not None and len(frame):
            parts += ["", f"### {title}", "", markdown_table(frame)]
    return "\n".join(parts)


STYLE = (
    "body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}"
    "table{border-collapse:collapse;font-size:0.85em;margin:0.5em 0 1.5em}"
    "th,td{border:1px solid #ccc;padding:2px 6px;text-align:right}"
    "th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}"
    ".notes{color:#555;font-size:0.9em}.plots svg{max-width:100%;height:auto}"
)


def html_body(audit, *, plots: bool) -> str:
    esc = _html.escape
    parts = [f"<div class='riskscreen-audit'><h2>{esc(header(audit))}</h2>"]
    parts.append(f"<pre>{esc(headline(audit))}</pre>")
    parts.append("<ul>" + "".join(f"<li>{esc(s)}</li>" for s in guidance(audit)) + "</ul>")
    parts.append(
        "<ul class='notes'>" + "".join(f"<li>{esc(s)}</li>" for s in audit.notes) + "</ul>"
    )
    if plots:
        from riskscreen.evaluation._display import audit_figures

        figures = audit_figures(audit)
        if figures:
            parts.append("<div class='plots'>" + "".join(figures) + "</div>")
    for title, frame in _sections(audit):
        if frame is not None and len(frame):
            parts.append(f"<h3>{esc(title)}</h3>{frame.to_html(escape=True)}")
    parts.append("</div>")
    return "".join(parts)


def html_page(audit, *, plots: bool = True) -> str:
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{_html.escape(header(audit))}</title><style>{STYLE}</style></head>"
        f"<body>{html_body(audit, plots=plots)}</body></html>"
    )
