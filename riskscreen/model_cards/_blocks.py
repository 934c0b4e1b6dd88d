"""The pieces a card or a transparency record is made of, rendered by the templates.

A document is a tuple of :class:`Section`; a section holds blocks of five kinds:
:class:`Paragraph`, :class:`Bullets`, :class:`Fields` (label: value pairs, where a
value the run cannot know is ``None`` and shown as "to complete by the
authority"), :class:`Table` (cells already written as text) and :class:`Figure`
(an SVG drawn once). Every block turns into plain JSON (:func:`block_dict`), so
the Markdown, the HTML and the JSON of a document say the same thing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: What a field the authority must fill in says in every rendering.
TO_COMPLETE = "To complete by the authority"


@dataclass(frozen=True)
class Paragraph:
    text: str
    kind: str = field(default="paragraph", init=False)


@dataclass(frozen=True)
class Bullets:
    items: tuple[str, ...]
    title: str = ""
    kind: str = field(default="bullets", init=False)


@dataclass(frozen=True)
class Field:
    """One labelled value; ``value=None`` marks a field for the authority to complete."""

    label: str
    value: str | None
    hint: str = ""
    #: A stable name for the JSON (e.g. "dpia_reference"); optional.
    key: str = ""

    @property
    def to_complete(self) -> bool:
        return self.value is None


@dataclass(frozen=True)
class Fields:
    fields: tuple[Field, ...]
    title: str = ""
    kind: str = field(default="fields", init=False)


@dataclass(frozen=True)
class Table:
    """A table whose cells are already text (counts suppressed, rates with intervals)."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    title: str = ""
    note: str = ""
    kind: str = field(default="table", init=False)


@dataclass(frozen=True)
class Figure:
    """A plot drawn once as SVG; ``name`` is its file name without the extension."""

    name: str
    title: str
    svg: str
    kind: str = field(default="figure", init=False)


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    blocks: tuple = ()

    @property
    def figures(self) -> list[Figure]:
        return [b for b in self.blocks if isinstance(b, Figure)]

    @property
    def fields_to_complete(self) -> list[Field]:
        return [f for b in self.blocks if isinstance(b, Fields) for f in b.fields if f.to_complete]


def block_dict(block) -> dict:
    """A block as JSON-ready data (a figure by name and title only: its SVG is a file)."""
    if isinstance(block, Paragraph):
        return {"kind": block.kind, "text": block.text}
    if isinstance(block, Bullets):
        return {"kind": block.kind, "title": block.title, "items": list(block.items)}
    if isinstance(block, Fields):
        return {
            "kind": block.kind,
            "title": block.title,
            "fields": [
                {
                    **({"key": f.key} if f.key else {}),
                    "label": f.label,
                    "value": f.value,
                    "to_complete": f.to_complete,
                    **({"hint": f.hint} if f.hint else {}),
                }
                for f in block.fields
            ],
        }
    if isinstance(block, Table):
        return {
            "kind": block.kind,
            "title": block.title,
            "columns": list(block.columns),
            "rows": [list(r) for r in block.rows],
            "note": block.note,
        }
    if isinstance(block, Figure):
        return {"kind": block.kind, "name": block.name, "title": block.title}
    raise TypeError(f"Not a block: {type(block).__name__}.")


def section_dict(section: Section) -> dict:
    return {
        "key": section.key,
        "title": section.title,
        "blocks": [block_dict(b) for b in section.blocks],
    }


def frame_table(frame, *, title: str = "", note: str = "", index: bool = True) -> Table:
    """A :class:`Table` from a DataFrame of text cells (the index as first columns)."""
    frame = frame.reset_index() if index else frame
    rows = tuple(tuple("" if v is None else str(v) for v in row) for row in frame.itertuples(False))
    return Table(tuple(str(c) for c in frame.columns), rows, title=title, note=note)
