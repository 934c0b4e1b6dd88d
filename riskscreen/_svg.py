"""matplotlib figures as SVG for self-contained HTML pages (one owner).

Each figure's ids are prefixed with its own name, so several plots on one page
never share an id, and the output is reproducible (fixed hash salt, no date).
"""

from __future__ import annotations

import io
import re

_ID = re.compile(r'\bid="([^"]+)"')
_HREF = re.compile(r'((?:xlink:)?href)="#([^"]+)"')
_URL = re.compile(r"url\(#([^)]+)\)")


def to_svg(figure, name: str) -> str:
    """A matplotlib figure as a standalone, reproducible SVG document."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": name, "svg.fonttype": "path"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    text = _ID.sub(lambda m: f'id="{name}-{m.group(1)}"', text)
    text = _HREF.sub(lambda m: f'{m.group(1)}="#{name}-{m.group(2)}"', text)
    return _URL.sub(lambda m: f"url(#{name}-{m.group(1)})", text)


def inline_svg(svg: str, title: str = "") -> str:
    """The SVG as markup inside an HTML page (nothing that names a URL)."""
    text = svg[svg.index("<svg") :]
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    text = re.sub(r'\s+xmlns(?::\w+)?="[^"]*"', "", text)
    text = text.replace("xlink:href=", "href=")
    label = title.replace('"', "'").replace("<", "").replace(">", "")
    return text.replace("<svg", f'<svg role="img" aria-label="{label}"', 1)
