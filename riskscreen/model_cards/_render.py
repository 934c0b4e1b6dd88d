"""Rendering documents with the jinja2 templates shipped in ``templates/`` (package data)."""

from __future__ import annotations

import functools
import re


@functools.cache
def environment():
    """The jinja2 environment: HTML templates autoescaped, Markdown ones not."""
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    from riskscreen.evaluation import SMALL_COUNT
    from riskscreen.model_cards._blocks import TO_COMPLETE
    from riskscreen.model_cards._figures import inline_svg

    env = Environment(
        loader=PackageLoader("riskscreen.model_cards", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=StrictUndefined,
    )
    env.filters["md_cell"] = md_cell
    env.filters["md_text"] = md_text
    env.filters["inline_svg"] = inline_svg
    env.filters["slug"] = slug
    env.globals.update(TO_COMPLETE=TO_COMPLETE, SMALL_COUNT=SMALL_COUNT)
    return env


def md_cell(value) -> str:
    """A table cell in Markdown: pipes escaped, line breaks joined."""
    return md_text(value).replace("|", "\\|")


def md_text(value) -> str:
    """Text for Markdown: on one line, with nothing read as HTML."""
    text = " ".join(str(value).split())
    return text.replace("<", "&lt;").replace(">", "&gt;")


def slug(title: str) -> str:
    """The anchor a Markdown renderer (GitHub's) gives a heading."""
    text = re.sub(r"[^\w\- ]", "", title.strip().lower())
    return text.replace(" ", "-")


def render(template: str, **context) -> str:
    """Render a template; Markdown output keeps at most one blank line in a row."""
    text = environment().get_template(template).render(**context)
    if template.endswith(".md.j2"):
        text = re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
    return text
