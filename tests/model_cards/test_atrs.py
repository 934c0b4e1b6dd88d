"""The ATRS record: tier 1 and tier 2 filled from the run, the rest marked to complete."""

from __future__ import annotations

import json

import pytest

from riskscreen.model_cards import AUTHORITY_FIELDS, TO_COMPLETE, ModelCard, TransparencyRecord

TIER_2 = [
    "owner_and_responsibility",
    "description_and_rationale",
    "decision_making_process",
    "technical_specification",
    "data",
    "risks_and_mitigations",
]


def test_two_tiers_with_the_standards_sections(run):
    record = run.card.transparency_record()
    assert isinstance(record, TransparencyRecord)
    (tier1, sections1), (tier2, sections2) = record.tiers
    assert tier1.startswith("Tier 1") and [s.key for s in sections1] == ["overview"]
    assert tier2.startswith("Tier 2") and [s.key for s in sections2] == TIER_2
    md = record.to_markdown()
    assert "## Tier 1: overview" in md and "## Tier 2: detail" in md
    for section in record.sections:
        assert f"### {section.title}" in md
    data = json.loads(record.to_json())
    assert [t["tier"] for t in data["tiers"]] == [tier1, tier2]
    assert data["fields"] == record.fields()


def test_filled_from_the_run(run):
    record = run.card.transparency_record()
    fields = record.fields()
    info, comparison = run.screener.model_info_, run.comparison
    assert fields["name"] == run.card.title
    version = fields["model_version"]
    for value in (info["params_hash"], info["fit_timestamp"], info["data_fingerprint"]):
        assert value in version
    t = comparison.table.loc[comparison.reference]
    precision = (
        f"{t['precision_at_k']:.3f} ({t['precision_at_k_low']:.3f}-{t['precision_at_k_high']:.3f})"
    )
    assert precision in fields["model_performance"]
    sentence = comparison.sentences()[0].split(": ", 1)[1]
    assert sentence in fields["description"]  # tier 1 in plain English, with the figures
    for date in run.screener.train_dates_:
        assert date in fields["datasets"]
    assert (
        "not available" in fields["alternatives_considered"]
        or "caseworker" in fields["alternatives_considered"]
    )
    audit = run.card.data["audit"]
    assert (
        f"{len(audit['outside_band'])} of {audit['n_disparities_tested']}" in fields["description"]
    )
    for attribute in audit["attributes"]:
        assert attribute in fields["sensitive_attributes"]
    risks = next(b for b in record.sections[-1].blocks if b.kind == "table")
    assert {"Recorded outcomes reflect decisions", "Privacy", "Drift"} <= {r[0] for r in risks.rows}


def test_what_the_run_cannot_know_is_marked_then_filled(run):
    record = run.card.transparency_record()
    fields = record.fields()
    for key in ("organisation", "owner", "dpia_reference", "contact_email", "appeals"):
        assert fields[key] is None
    assert record.to_markdown().count(f"[{TO_COMPLETE}]") == len(record.to_complete)
    authority = {key: f"given {key}" for key in AUTHORITY_FIELDS}
    authority["organisation"] = "Anyshire County Council"
    card = ModelCard.from_run(run.screener, run.comparison, authority=authority, figures=False)
    filled = card.transparency_record()
    assert filled.to_complete == []
    assert f"[{TO_COMPLETE}]" not in filled.to_markdown()
    assert filled.fields()["dpia_reference"] == "given dpia_reference"
    assert filled.fields()["description"].startswith("Anyshire County Council uses this tool")


@pytest.mark.parametrize("bad", [["owner"], {"owner": 3}])
def test_bad_authority_fields(run, bad):
    with pytest.raises(ValueError, match="'authority' parameter of ModelCard.from_run"):
        ModelCard.from_run(run.screener, run.comparison, authority=bad, figures=False)
