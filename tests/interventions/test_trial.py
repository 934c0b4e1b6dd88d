"""The trial design helper: randomised within bands, reproducible by seed, recorded."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from _semisynthetic import HORIZON

from riskscreen.interventions import (
    SnapshotStore,
    TrialAllocation,
    allocate_within_bands,
    build_study,
)


def test_each_band_is_split_at_the_share_and_the_seed_reproduces_it(screening):
    a = allocate_within_bands(screening, seed=42, share=0.5)
    assert isinstance(a, TrialAllocation)
    assert set(a.frame["band"].astype(str)) == {"medium", "high"}
    for _, part in a.frame.groupby("band", observed=True):
        n_help = int((part["arm"] == "help").sum())
        assert abs(n_help - len(part) / 2) <= 1
    again = allocate_within_bands(screening, seed=42, share=0.5)
    pd.testing.assert_frame_equal(a.frame, again.frame)
    assert a.sha256 == again.sha256
    other = allocate_within_bands(screening, seed=43, share=0.5)
    assert a.sha256 != other.sha256


def test_the_allocation_never_depends_on_row_order(screening):
    a = allocate_within_bands(screening, seed=5)
    shuffled = type(screening)(
        **{**screening.__dict__, "frame": screening.frame.sample(frac=1, random_state=1)}
    )
    b = allocate_within_bands(shuffled, seed=5)
    assert a.sha256 == b.sha256


def test_strata_can_include_the_school_and_every_band(screening):
    a = allocate_within_bands(
        screening, seed=1, share=0.25, bands=None, strata=("band", "school_id")
    )
    assert len(a.frame) == len(screening.frame)
    shares = a.frame.groupby(["band", "school_id"], observed=True)["arm"].apply(
        lambda arm: (arm == "help").mean()
    )
    sizes = a.frame.groupby(["band", "school_id"], observed=True).size()
    assert np.allclose(shares[sizes >= 40], 0.25, atol=0.05)


def test_a_drawn_seed_is_recorded_and_the_record_names_no_pupil(screening, tmp_path):
    a = allocate_within_bands(screening)
    record = a.record()
    assert record["seed"] == a.seed and record["share"] == 0.5
    redo = allocate_within_bands(screening, seed=record["seed"])
    assert redo.sha256 == record["sha256"]
    folder = a.save(tmp_path / "trial")
    saved = json.loads((folder / "allocation.json").read_text())
    assert saved == record
    with pytest.raises(FileExistsError, match="never replaced"):
        a.save(tmp_path / "trial")
    back = pd.read_parquet(folder / "allocation.parquet")
    assert (back["arm"] == a.frame["arm"]).all()
    pupils = {str(p) for p in screening.frame.index}
    text = json.dumps(record) + a.to_markdown() + a.to_html() + repr(a)
    assert not any(p in text for p in pupils)
    table = a.summary()
    shown = table.stack().dropna()
    assert ((shown == 0) | (shown >= 5)).all()


def test_the_assignment_defines_help_in_a_study(design, tmp_path):
    store = SnapshotStore(tmp_path)
    snap = store.save(design.screening)
    a = allocate_within_bands(snap, seed=3)
    study = build_study(design.histories, store, horizon=HORIZON, treatment=a.assignment)
    assert len(study) <= len(a.frame)
    helped = study.frame.index[study.treated]
    assert set(helped) <= set(a.assignment.index[a.assignment])


def test_arguments_are_checked(screening):
    with pytest.raises(ValueError, match="'share' parameter"):
        allocate_within_bands(screening, share=1.5)
    with pytest.raises(ValueError, match="'strata' parameter"):
        allocate_within_bands(screening, strata=("postcode",))
    with pytest.raises(ValueError, match="'seed' parameter"):
        allocate_within_bands(screening, seed=-1)
    with pytest.raises(ValueError, match="no pupil on the list"):
        allocate_within_bands(screening, bands=("purple",))
