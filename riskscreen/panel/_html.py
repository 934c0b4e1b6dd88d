"""Print-friendly HTML panel packs (A4 landscape, the header repeated on every page)."""

from __future__ import annotations

import html

import pandas as pd

from riskscreen.panel._packs import DECISION_COLUMNS

_STYLE = """
@page { size: A4 landscape; margin: 12mm; }
body { font-family: Arial, Helvetica, sans-serif; font-size: 10pt; color: #111; }
h1 { font-size: 14pt; margin: 0 0 6pt 0; }
p { margin: 0 0 4pt 0; max-width: 60em; }
table { border-collapse: collapse; width: 100%; margin-top: 8pt; }
thead { display: table-header-group; }
tr { page-break-inside: avoid; }
th, td { border: 1px solid #999; padding: 3pt 4pt; vertical-align: top; text-align: left; }
th { background: #dde6f0; }
td.decision { min-width: 7em; height: 2.2em; }
h2 { font-size: 12pt; margin: 14pt 0 0 0; page-break-before: auto; }
"""


def _table(frame: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    decision = [c in DECISION_COLUMNS for c in frame.columns]
    body = []
    for row in frame.itertuples(index=False):
        cells = "".join(
            f"<td{' class=decision' if d else ''}>{'' if pd.isna(v) else html.escape(str(v))}</td>"
            for v, d in zip(row, decision, strict=True)
        )
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def document(
    title: str, lines: list[str], sections: list[tuple[str, pd.DataFrame]], *, links=None
) -> str:
    """A standalone HTML page: a title, paragraphs, titled tables, then titled links
    (``links=(heading, [(label, href), ...])``, relative hrefs)."""
    paras = "".join(f"<p>{html.escape(line)}</p>" for line in lines)
    parts = []
    for heading, frame in sections:
        if heading:
            parts.append(f"<h2>{html.escape(heading)}</h2>")
        parts.append(_table(frame) if len(frame) else "<p>None.</p>")
    if links and links[1]:
        items = "".join(
            f'<li><a href="{html.escape(href)}">{html.escape(label)}</a></li>'
            for label, href in links[1]
        )
        parts.append(f"<h2>{html.escape(links[0])}</h2><ul>{items}</ul>")
    return (
        "<!DOCTYPE html><html lang=en><head><meta charset=utf-8>"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{paras}{''.join(parts)}</body></html>"
    )
