"""Rendering helpers shared by every result object (tables as Markdown)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def markdown_table(frame: pd.DataFrame, index: bool = True) -> str:
    """Render a DataFrame as a GitHub Markdown table (no tabulate dependency)."""
    frame = frame.reset_index() if index else frame
    cols = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(_cell(v) for v in row) + " |")
    return "\n".join(lines)


def _cell(v) -> str:
    if isinstance(v, (float, np.floating)):
        return "" if np.isnan(v) else f"{v:.4g}"
    if v is pd.NA:
        return ""
    return str(v).replace("|", "\\|")


class HeaderSummaryRepr:
    """Renders a result that has a one-line ``_header()`` and a ``summary()`` table
    (small counts already suppressed, shown as "<5" in HTML)."""

    def to_markdown(self) -> str:
        return f"{self._header()}\n\n{markdown_table(self.summary())}"

    def to_html(self) -> str:
        return f"<div><p>{self._header()}</p>{self.summary().to_html(na_rep='&lt;5')}</div>"

    def _repr_html_(self) -> str:
        return self.to_html()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._header()}>"
