"""The table of published calibration targets and how the report uses it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import riskscreen.datasets
from riskscreen.datasets import calibration_report, make_linked_histories
from riskscreen.datasets._calibration import _FIGURES
from riskscreen.datasets._targets import TARGETS, Publication, Target

# Pointers to material the package user does not have (a design note's sections
# "B1".."B6", the reference file, the shared folder).
_PRIVATE = re.compile(r"\bB[1-6]\b|uk_data|shared/")


def test_every_target_cites_a_publication():
    assert len(TARGETS) >= 45
    for t in TARGETS:
        pub = t.publication
        assert isinstance(t, Target) and isinstance(pub, Publication)
        assert pub.publisher.strip() and pub.title.strip(), t
        assert re.search(r"\b\d{4}(/\d{2})?\b", pub.year), t
        assert re.fullmatch(r"https://[^\s]+", pub.url), t
        assert t.published.strip(), t
        assert pub.title in t.source and pub.year in t.source and pub.url in t.source
        assert t.source.startswith("derived from ") == bool(t.derived)
        assert not _PRIVATE.search(t.source), t.source


def test_targets_are_well_formed():
    keys = [(t.figure, t.group) for t in TARGETS]
    assert len(set(keys)) == len(keys)
    for t in TARGETS:
        assert t.tolerance_type in ("relative", "factor", "absolute"), t
        assert t.tolerance >= 0, t
        if t.tolerance_type == "factor":
            assert t.tolerance > 1 and t.target > 0, t
        if t.tolerance_type == "relative":
            assert t.target > 0, t
        assert t.design_effect == "years" or t.design_effect >= 1, t
        assert t.figure in _FIGURES, t.figure


def test_publication_cite():
    pub = Publication("DfE", "A release", "2022/23", "https://example.org/a")
    assert pub.cite() == 'DfE, "A release", 2022/23, https://example.org/a'
    published = Target("f", "g", 1.0, 0.1, "relative", pub, "1.0 per pupil")
    assert published.source == 'DfE, "A release", 2022/23, https://example.org/a (1.0 per pupil)'
    derived = Target("f", "g", 1.0, 0.1, "relative", pub, "0.98 per pupil", derived="rounded")
    assert derived.source.startswith('derived from DfE, "A release", 2022/23')
    assert derived.source.endswith("(0.98 per pupil): rounded")


def test_no_pointers_to_private_material_in_the_package():
    folder = Path(riskscreen.datasets.__file__).parent
    for path in sorted(folder.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        assert not _PRIVATE.search(text), (path.name, _PRIVATE.search(text).group())
        assert "DESIGN.md" not in text, path.name


@pytest.fixture(scope="module")
def report_5k():
    return calibration_report(make_linked_histories(n_pupils=5_000, seed=0))


def test_report_rows_follow_the_table(report_5k):
    report = report_5k
    assert len(report) == len(TARGETS)
    for (_, row), t in zip(report.iterrows(), TARGETS, strict=True):
        assert (row["figure"], row["group"]) == (t.figure, t.group)
        assert row["target"] == float(t.target)
        # a rare figure's sampling tolerance is a factor (its lower bound stays above zero)
        assert row["tolerance_type"] in (t.tolerance_type, "factor")
        if row["tolerance_type"] == t.tolerance_type:
            assert row["tolerance"] >= t.tolerance
        else:
            assert row["note"].startswith("sampling")
        assert row["source"] == t.source
    assert not report["source"].str.contains(_PRIVATE).any()


def test_within_tolerance_count_is_unchanged_for_a_fixed_seed(report_5k):
    # the calibration run of 5,000 pupils over five years, seed 0: every figure within
    assert int(report_5k["within"].sum()) == len(report_5k) == 56
    small = calibration_report(make_linked_histories(n_pupils=3_000, n_years=2, seed=7))
    assert len(small) == 55  # two years do not reach six years of FSM history
    assert int(small["within"].sum()) == 54
