"""Panel packs per school: who is listed, what they say, what changed, what is written."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from _panel_cases import DATES, screened, synthetic

from riskscreen.evaluation import resolve_k
from riskscreen.panel import (
    DECISION_COLUMNS,
    PanelPacks,
    build_packs,
    current_involvement,
    write_packs,
)


@pytest.fixture(scope="module")
def packs():
    _, screenings, explanations = screened()
    first = build_packs(screenings[DATES[0]], explanations[DATES[0]])
    return first, build_packs(screenings[DATES[1]], explanations[DATES[1]], previous=first)


def test_the_flagged_pupils_of_each_school_ranked(packs):
    _, screenings, _ = screened()
    screening = screenings[DATES[1]]
    _, second = packs
    assert isinstance(second, PanelPacks)
    flagged = screening.frame[screening.frame["flagged"]]
    assert set(second.lists["pupil_id"]) == set(flagged.index)
    for _, rows in second.lists.groupby("school_id"):
        assert rows["list_rank"].tolist() == list(range(1, len(rows) + 1))
        assert rows["score"].is_monotonic_decreasing
    school = second.schools[0]
    pack = second.pack(school)
    assert list(pack.columns) == [
        "Rank",
        "Reference",
        "NC year",
        "Risk band",
        "Reason 1",
        "Reason 2",
        "Reason 3",
        "Current involvement",
        "Since last panel",
        *DECISION_COLUMNS,
    ]
    assert (pack[list(DECISION_COLUMNS)] == "").all().all()
    assert pack["Reason 1"].str.match(r"^[A-Z0-9].*\((raises|lowers) risk\)$").all()


def test_what_changed_since_the_previous_pack(packs):
    first, second = packs
    assert (first.lists["change"] == "first list").all()
    assert second.previous_date == pd.Timestamp(DATES[0])
    allowed = re.compile(r"^(new to the list|same place|(up|down) from \d+)$")
    assert second.lists["change"].map(lambda s: bool(allowed.match(s))).all()
    stayed = second.lists.merge(first.lists, on=["pupil_id", "school_id"], suffixes=("", "_0"))
    assert (stayed["previous_rank"] == stayed["list_rank_0"]).all()
    left = second.left
    assert set(left["why"].astype(str)) <= {"left the school", "risk fell", "below capacity"}
    both = set(zip(second.lists["pupil_id"], second.lists["school_id"], strict=True))
    gone = set(zip(first.lists["pupil_id"], first.lists["school_id"], strict=True)) - both
    assert set(zip(left["pupil_id"], left["school_id"], strict=True)) == gone


def test_counts_a_person_reads_are_suppressed(packs):
    _, second = packs
    shown = second.summary.to_numpy().ravel().tolist()
    assert all(v == "c" or int(v) == 0 or int(v) >= 5 for v in shown)
    for school in second.schools:
        for line in second.header_lines(school):
            assert not re.search(r"\b[1-4] (new|moved|in the same|left)", line)
    md = second.to_markdown()
    assert "'c'" in md and "| School |" in md


def test_capacity_per_school_share_or_places():
    _, screenings, explanations = screened()
    screening = screenings[DATES[1]]
    from riskscreen.explain import explain

    screener = screened()[0]
    everyone = explain(screener, screening, importance_sample=0)
    sizes = screening.frame.groupby("school_id").size()
    by_share = build_packs(screening, everyone, capacity=0.1)
    got = by_share.lists.groupby("school_id").size()
    assert got.to_dict() == {s: resolve_k(0.1, int(n)) for s, n in sizes.items()}
    by_places = build_packs(screening, everyone, capacity=2)
    places = by_places.lists.groupby("school_id").size()
    assert places.to_dict() == sizes.clip(upper=2).to_dict()  # a school of one lists one
    school = int(sizes.index[0])
    by_dict = build_packs(screening, everyone, capacity={school: 3})
    assert by_dict.lists["school_id"].unique().tolist() == [school]
    with pytest.raises(ValueError, match="'capacity'"):
        build_packs(screening, everyone, capacity=-1)
    with pytest.raises(ValueError, match="no reasons for"):
        build_packs(screening, explanations[DATES[1]], capacity=0.5)
    with pytest.raises(ValueError, match="not of this screening"):
        build_packs(screenings[DATES[0]], everyone)


def test_involvement_from_features_or_from_the_histories():
    _, screenings, _ = screened()
    screening = screenings[DATES[1]]
    from_features = current_involvement(screening)
    from_histories = current_involvement(screening, histories=synthetic())
    for key in ("cp_plan", "cin_plan", "looked_after", "ehcp", "sen_support", "early_help"):
        assert from_features[key].equals(from_histories[key]), key
    assert (from_features["cme"] == from_histories["cme"]).all()
    on_plan = from_histories[from_histories["cp_plan"].fillna(False)]
    assert len(on_plan) and on_plan["text"].str.contains(r"CP plan since [A-Z][a-z]{2} \d{4}").all()
    nothing = ~from_features[["cp_plan", "sen_support", "ehcp", "cme", "ehe"]].any(axis=1)
    assert "none recorded" in set(from_features.loc[nothing, "text"])


def test_every_format_written_atomically(tmp_path):
    _, screenings, explanations = screened()
    s, e = screenings[DATES[0]], explanations[DATES[0]]
    paths = write_packs(s, e, tmp_path / "packs")
    names = sorted(p.name for p in paths)
    assert all(p.exists() for p in paths)
    assert sorted(p.name for p in (tmp_path / "packs").iterdir()) == names  # no temp files
    schools = {re.sub(r"\.(xlsx|html|csv)$", "", n) for n in names if "_school_" in n}
    assert {f"{s}.{x}" for s in schools for x in ("xlsx", "html", "csv")} <= set(names)
    assert "panel_2023-02-01_summary.html" in names and "panel_2023-02-01_list.csv" in names
    html = next(p for p in paths if p.suffix == ".html" and "_school_" in p.name).read_text()
    assert "@page { size: A4 landscape" in html and "<thead>" in html
    csv = pd.read_csv(next(p for p in paths if p.suffix == ".csv" and "_school_" in p.name))
    assert list(csv.columns[-4:]) == list(DECISION_COLUMNS)
    only = write_packs(s, e, tmp_path / "html", formats=("html",))
    assert {p.suffix for p in only} == {".html", ".csv"}  # the list record is always kept
    with pytest.raises(ValueError, match="'formats'"):
        write_packs(s, e, tmp_path / "x", formats=("pdf",))


def test_a_failed_write_leaves_nothing_behind(tmp_path, monkeypatch):
    from riskscreen.panel import _xlsx

    _, screenings, explanations = screened()

    def broken(path, *args, **kwargs):
        path.write_bytes(b"half a workbook")
        raise OSError("disk full")

    monkeypatch.setattr(_xlsx, "write_pack_xlsx", broken)
    with pytest.raises(OSError, match="disk full"):
        write_packs(screenings[DATES[0]], explanations[DATES[0]], tmp_path, formats=("xlsx",))
    assert list(tmp_path.iterdir()) == []


def test_excel_needs_openpyxl_with_a_hint(tmp_path, monkeypatch):
    import builtins

    real = builtins.__import__

    def no_openpyxl(name, *args, **kwargs):
        if name == "openpyxl" or name.startswith("openpyxl."):
            raise ImportError("no openpyxl")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_openpyxl)
    _, screenings, explanations = screened()
    with pytest.raises(ImportError, match="pip install openpyxl"):
        write_packs(screenings[DATES[0]], explanations[DATES[0]], tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_the_previous_list_read_back_from_its_folder(tmp_path, packs):
    _, screenings, explanations = screened()
    first, second = packs
    write_packs(screenings[DATES[0]], explanations[DATES[0]], tmp_path / "a", formats=("csv",))
    again = build_packs(screenings[DATES[1]], explanations[DATES[1]], previous=tmp_path / "a")
    pd.testing.assert_frame_equal(again.lists, second.lists)
    pd.testing.assert_frame_equal(again.left, second.left)
    with pytest.raises(ValueError, match="must be from before"):
        build_packs(screenings[DATES[0]], explanations[DATES[0]], previous=second)
