"""A planted identifier in the input appears nowhere in the card or the ATRS record."""

from __future__ import annotations

from pathlib import Path

from conftest import DOB, KEY_PREFIX, NAME, UPN


def test_planted_identifiers_were_in_the_run(run):
    # the pupil keyed by a UPN is on the list and explained: the card had it at hand
    assert UPN in run.screening.flagged().index
    assert UPN in run.explanation.values.index
    assert UPN in set(run.test.X.index.get_level_values("pupil_id"))
    assert "full_name" in run.histories.pupils.columns


def test_no_identifier_in_any_output(run, written):
    folder = Path(written["markdown"]).parent
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    assert len(files) == 10  # 5 documents and 5 figures
    outputs = {p.name: p.read_text(encoding="utf-8") for p in files}
    record = run.card.transparency_record()
    outputs.update(
        {
            "card.md": run.card.to_markdown(),
            "card.html": run.card.to_html(),
            "card._repr_html_": run.card._repr_html_(),
            "card.json": run.card.to_json(),
            "card.repr": repr(run.card),
            "record.md": record.to_markdown(),
            "record.json": record.to_json(),
        }
    )
    for name, text in outputs.items():
        for planted in (UPN, NAME, DOB, "Zebedee", "Quillfeather", KEY_PREFIX):
            assert planted not in text, f"{planted!r} in {name}"
