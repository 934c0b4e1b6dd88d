"""The demo's front page, ``index.html``: what the run found, and a link to every file.

One self-contained page (styles and plots inline, nothing fetched): the
headline metrics with their intervals, the model against the rule baselines,
the plots of the model card, the fairness audit's summary, one school's panel
pack, and links to everything the run wrote (relative, so the folder can be
moved or zipped).
"""

from __future__ import annotations

import functools
from pathlib import Path

import pandas as pd

from riskscreen._files import write_text

#: The pack rows shown on the page (the whole pack is linked).
SAMPLE_ROWS = 10
SAMPLE_COLUMNS = ["Rank", "NC year", "Risk band", "Reason 1", "Reason 2", "Reason 3"]


@functools.cache
def _template():
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=PackageLoader("riskscreen", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html.j2",)),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("demo_index.html.j2")


def _headline(comparison, name: str) -> list[dict]:
    row = comparison.table.loc[name]
    labels = {
        "precision_at_k": "Precision at capacity",
        "recall_at_k": "Recall at capacity",
        "roc_auc": "ROC AUC",
        "ece": "Calibration error (ECE)",
    }
    out = []
    for metric, label in labels.items():
        value, low, high = row[metric], row[f"{metric}_low"], row[f"{metric}_high"]
        shown = "c" if pd.isna(value) else f"{value:.3f}"
        out.append(
            {"label": label, "value": shown, "interval": f"95% interval {low:.3f}-{high:.3f}"}
        )
    return out


def _sample_pack(pack_paths, out: Path):
    """The first school's pack (CSV read back for the page, its HTML and Excel linked)."""
    csvs = [p for p in pack_paths if p.suffix == ".csv" and "_school_" in p.name]
    if not csvs:
        return None
    pack = csvs[0]
    frame = pd.read_csv(pack, encoding="utf-8-sig", dtype=str).fillna("")
    columns = [c for c in SAMPLE_COLUMNS if c in frame.columns]
    rows = frame[columns].head(SAMPLE_ROWS).to_numpy().tolist()
    school = pack.stem.split("_school_")[-1]
    return {
        "title": (
            f"School {school}: the {len(frame)} pupils on its list"
            if len(frame) <= SAMPLE_ROWS
            else f"School {school}: the first {SAMPLE_ROWS} of the {len(frame)} pupils on its list"
        )
        + ", with the top reasons for each.",
        "columns": columns,
        "rows": rows,
        "html": pack.with_suffix(".html").relative_to(out).as_posix(),
        "xlsx": pack.with_suffix(".xlsx").relative_to(out).as_posix(),
    }


def write_index(out, *, title: str, lead: str, comparison, model: str, card, paths, run, timings):
    """Write ``out/index.html``; ``paths`` names the run's files by what they are."""
    out = Path(out)
    audit = comparison.audit
    pack = _sample_pack(paths["packs"], out)
    summary = next(
        (p for p in paths["packs"] if p.name.endswith("_summary.html")), paths["packs"][0]
    )

    def rel(path) -> str:
        return Path(path).relative_to(out).as_posix()

    files = [
        {"href": rel(paths["card_html"]), "label": "Model card", "note": "HTML, printable"},
        {"href": rel(paths["card_md"]), "label": "Model card (Markdown)", "note": ""},
        {"href": rel(paths["atrs"]), "label": "Algorithmic transparency record (ATRS)", "note": ""},
        {"href": rel(paths["audit"]), "label": "Fairness audit", "note": ""},
        {"href": rel(summary), "label": "Panel packs: the authority summary", "note": ""},
        {"href": rel(paths["screening"]), "label": "The ranked screening", "note": "CSV"},
        {"href": rel(paths["comparison"]), "label": "Model vs rule baselines", "note": "CSV"},
    ]
    html = _template().render(
        title=title,
        lead=lead,
        small_count=5,
        headline=_headline(comparison, model),
        sentences=[*comparison.sentences(), *comparison.verdicts()],
        comparison_table=comparison.formatted().to_html(),
        figures=[{"title": f.title, "svg": _inline(f)} for f in card.figures],
        audit_headline="" if audit is None else audit.headline(),
        links={
            "audit": rel(paths["audit"]),
            "pack_html": pack["html"] if pack else rel(summary),
            "pack_xlsx": pack["xlsx"] if pack else rel(summary),
            "packs": rel(summary),
        },
        pack_title=pack["title"] if pack else "No school had pupils on the list.",
        pack_columns=pack["columns"] if pack else [],
        pack_rows=pack["rows"] if pack else [],
        files=files,
        tracking=str(run),
        timings=", ".join(f"{k.split(' (')[0]} {v:.1f}s" for k, v in timings.items()),
    )
    return write_text(out / "index.html", html)


def _inline(figure) -> str:
    from riskscreen.model_cards._figures import inline_svg

    return inline_svg(figure.svg, figure.title)
