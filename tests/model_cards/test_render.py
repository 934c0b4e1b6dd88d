"""The card's files: written atomically, HTML that opens offline with its plots, JSON as data."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

from riskscreen.model_cards._figures import inline_svg


class Resources(HTMLParser):
    """Every tag and every attribute that could load something."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.links: list[tuple[str, str, str]] = []
        self.ids: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href", "xlink:href", "data", "action", "poster", "srcset"):
                self.links.append((tag, name, value or ""))
            if name == "id":
                self.ids.append(value)


def test_html_renders_offline_with_its_plots(run, written):
    html = Path(written["html"]).read_text(encoding="utf-8")
    parser = Resources()
    parser.feed(html)
    # nothing to fetch: no script, stylesheet link, image file, frame or font
    assert not {"script", "link", "img", "iframe", "object", "embed"} & set(parser.tags)
    assert all(value.startswith("#") for _, _, value in parser.links), parser.links[:5]
    assert not re.search(r"https?:|//[a-z]|@import|url\((?!#)", html)
    # the plots are there, inline, each with the ids it refers to, none clashing
    assert parser.tags.count("svg") == len(run.card.figures) == 5
    assert len(parser.ids) == len(set(parser.ids))
    for _, name, value in parser.links:
        if name in ("href", "xlink:href") and value != "#":
            assert value[1:] in parser.ids, value
    assert html.count("<figure") == 5 and "<figcaption>" in html
    # it prints: a print style sheet that keeps tables and plots whole
    assert "@media print" in html and "break-inside:avoid" in html


def test_inline_svg_drops_every_url():
    svg = (
        '<?xml version="1.0"?>\n<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
        '"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n'
        '<svg xmlns:xlink="http://www.w3.org/1999/xlink" xmlns="http://www.w3.org/2000/svg">'
        '<metadata><rdf:RDF xmlns:dc="http://purl.org/dc/elements/1.1/"/></metadata>'
        '<use xlink:href="#a"/></svg>'
    )
    out = inline_svg(svg, 'a "plot"')
    assert "http" not in out and out.startswith('<svg role="img"')
    assert '<use href="#a"/>' in out


def test_files_written_atomically_and_complete(run, written):
    folder = Path(written["markdown"]).parent
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted(
        [
            "atrs_record.json",
            "atrs_record.md",
            "figures",
            "model_card.html",
            "model_card.json",
            "model_card.md",
        ]
    )
    assert not [p for p in folder.rglob(".*")]  # no temporary copy left behind
    md = Path(written["markdown"]).read_text(encoding="utf-8")
    linked = re.findall(r"!\[[^\]]*\]\((figures/[\w-]+\.svg)\)", md)
    assert len(linked) == 5
    for rel in linked:
        svg = (folder / rel).read_text(encoding="utf-8")
        assert svg.startswith("<?xml") and "<svg" in svg
    data = json.loads(Path(written["json"]).read_text(encoding="utf-8"))
    assert data == json.loads(run.card.to_json())
    assert set(data["figures"]) == {f.name for f in run.card.figures}
    for rel in data["figures"].values():
        assert (folder / rel).exists()


def test_markdown_is_a_document(run):
    md = run.card.to_markdown()
    assert md.startswith("# Model card: ") and md.endswith("\n") and "\n\n\n" not in md
    # every link of the contents goes to a heading of the card
    for section in run.card.sections:
        anchor = re.sub(r"[^\w\- ]", "", section.title.lower()).replace(" ", "-")
        assert f"](#{anchor})" in md
    # tables have as many cells as columns in every row
    for block in (b for s in run.card.sections for b in s.blocks if b.kind == "table"):
        assert all(len(row) == len(block.columns) for row in block.rows), block.title
