"""The reference card: the command's function run into a temporary folder, and the command."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from riskscreen.evaluation._disclosure import count_text
from riskscreen.model_cards import write_reference_card
from riskscreen.model_cards.__main__ import main

ROOT = Path(__file__).resolve().parents[2]
FILES = [
    "atrs_record.json",
    "atrs_record.md",
    "model_card.html",
    "model_card.json",
    "model_card.md",
]


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    out = tmp_path_factory.mktemp("reference")
    return out, write_reference_card(out, n_pupils=3000, n_bootstrap=20)


def test_the_command_function_writes_the_card_with_its_sections_and_figures(reference):
    from riskscreen.demo import CALIBRATION_DATE, TEST_DATE, TRAIN_DATES

    out, run = reference
    assert sorted(p.name for p in out.iterdir() if p.is_file()) == FILES
    md = (out / "model_card.md").read_text(encoding="utf-8")
    for section in run.card.sections:
        assert f"\n## {section.title}\n" in md
    figures = re.findall(r"\]\((figures/[\w-]+\.svg)\)", md)
    assert len(figures) == 5 and all((out / f).exists() for f in figures)
    # the figures in the card are the run's own
    c = run.comparison
    t = c.table.loc[c.reference]
    precision = (
        f"{t['precision_at_k']:.3f} ({t['precision_at_k_low']:.3f}-{t['precision_at_k_high']:.3f})"
    )
    assert precision in md and precision in (out / "model_card.html").read_text(encoding="utf-8")
    assert f"**Pupils evaluated:** {count_text(c.n)}" in md
    cohort = int(run.test.label_report_unsuppressed["n_cohort"].iloc[0])
    assert f"| {TEST_DATE} | test | {cohort:,} |" in md
    data = json.loads((out / "model_card.json").read_text(encoding="utf-8"))
    assert data["data"]["metrics"]["estimates"]["roc_auc"]["value"] == pytest.approx(t["roc_auc"])
    assert data["data"]["data"]["train_dates"] == list(TRAIN_DATES)
    assert data["data"]["data"]["calibration_dates"] == [CALIBRATION_DATE]
    assert data["data"]["data"]["test_dates"] == [TEST_DATE]
    assert "synthetic local authority" in md and "3,000 pupils, seed 0" in md
    record = json.loads((out / "atrs_record.json").read_text(encoding="utf-8"))
    assert record["fields"]["model_version"] == run.record.fields()["model_version"]


def test_the_checked_in_reference_card_is_current_in_shape(reference):
    """model_cards/ holds the card the command writes (regenerate it when this fails)."""
    _, run = reference
    folder = ROOT / "model_cards"
    for name in FILES:
        assert (folder / name).exists(), name
    card = json.loads((folder / "model_card.json").read_text(encoding="utf-8"))
    fresh = run.card.to_dict()
    assert card["schema"] == fresh["schema"]
    assert [s["key"] for s in card["sections"]] == [s["key"] for s in fresh["sections"]]
    assert set(card["data"]) == set(fresh["data"])
    assert set(card["figures"]) == set(fresh["figures"])
    assert all((folder / rel).exists() for rel in card["figures"].values())
    assert "20,000 pupils, seed 0" in (folder / "model_card.md").read_text(encoding="utf-8")
    readme = (folder / "README.md").read_text(encoding="utf-8")
    assert "python -m riskscreen.model_cards --out model_cards" in readme


def test_the_command_has_help_with_an_example(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "python -m riskscreen.model_cards --out model_cards" in out
    assert "--n-pupils" in out


@pytest.mark.slow
def test_the_command_end_to_end(tmp_path, capsys):
    assert main(["--out", str(tmp_path), "--n-pupils", "3000", "--n-bootstrap", "20"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == FILES
    assert "model_card.html" in capsys.readouterr().out
