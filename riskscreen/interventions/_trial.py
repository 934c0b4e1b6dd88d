"""A trial design helper: randomise help within risk bands, with a seed, and record it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from riskscreen._files import atomic_path
from riskscreen._render import HeaderSummaryRepr
from riskscreen.evaluation import suppress_small_counts
from riskscreen.interventions._snapshots import Snapshot

OWNER = "allocate_within_bands"
ARMS = ("help", "control")


@dataclass(frozen=True, repr=False)
class TrialAllocation(HeaderSummaryRepr):
    """Who was randomised to help and who to control, per risk band, and how.

    Attributes
    ----------
    frame : DataFrame
        One row per pupil in the trial, indexed by (pupil_id, as_of_date): the
        stratum columns (``band`` and any others) and ``arm`` ("help"/"control").
    seed : int
        The seed of numpy's default generator that made the allocation.
    share : float
        The share of each stratum allocated to help.
    strata : tuple of str
        The columns randomised within.
    as_of_date : Timestamp
    model_version : str
        The model behind the list.
    created_at : str
        When the allocation was made (UTC, ISO 8601).
    """

    frame: pd.DataFrame
    seed: int
    share: float
    strata: tuple[str, ...]
    as_of_date: pd.Timestamp
    model_version: str
    created_at: str

    @property
    def assignment(self) -> pd.Series:
        """True for pupils allocated help, keyed by (pupil_id, as_of_date): pass it to
        :func:`build_study` as ``treatment=`` (pupils outside the trial are left out)."""
        return (self.frame["arm"] == "help").rename("help")

    @property
    def sha256(self) -> str:
        """A hash of the allocation itself, to show it was not changed afterwards."""
        keys = self.frame.reset_index()[["pupil_id", "as_of_date", "arm"]].astype(str)
        text = keys.sort_values(["as_of_date", "pupil_id"]).to_csv(index=False)
        return hashlib.sha256(text.encode()).hexdigest()

    def summary(self) -> pd.DataFrame:
        """Pupils per stratum and arm; counts under 5 suppressed (<NA>)."""
        table = pd.crosstab([self.frame[c] for c in self.strata], self.frame["arm"]).reindex(
            columns=list(ARMS), fill_value=0
        )
        out = table.astype("Int64")
        for key in out.index:
            hide = suppress_small_counts(table.loc[key].to_numpy())
            out.loc[key, hide] = pd.NA
        return out

    def record(self) -> dict:
        """How the allocation was made, without a row of it (for a trial protocol)."""
        return {
            "as_of_date": str(self.as_of_date.date()),
            "model_version": self.model_version,
            "seed": self.seed,
            "share": self.share,
            "strata": list(self.strata),
            "random_generator": f"numpy {np.__version__} default_rng (PCG64)",
            "created_at": self.created_at,
            "n_pupils": int(len(self.frame)),
            "sha256": self.sha256,
        }

    def save(self, path) -> Path:
        """Write the allocation (``allocation.parquet``) and its record
        (``allocation.json``) into folder ``path``, atomically; never replaces one."""
        folder = Path(path)
        if (folder / "allocation.json").exists():
            raise FileExistsError(
                f"TrialAllocation.save: {folder} already holds an allocation; a trial's "
                "allocation is never replaced."
            )
        with atomic_path(folder / "allocation.parquet") as tmp:
            self.frame.to_parquet(tmp)
        with atomic_path(folder / "allocation.json") as tmp:
            tmp.write_text(json.dumps(self.record(), indent=1))
        return folder

    def _header(self) -> str:
        return (
            f"Trial allocation for the list of {self.as_of_date.date()}: "
            f"{round(100 * self.share)}% of each {' x '.join(self.strata)} stratum to help, "
            f"seed {self.seed}."
        )

    def to_frame(self) -> pd.DataFrame:
        return self.frame.copy()


def allocate_within_bands(
    snapshot,
    *,
    seed: int | None = None,
    share: float = 0.5,
    bands=("medium", "high"),
    strata=("band",),
) -> TrialAllocation:
    """Randomise help within risk bands of a list: a stratified trial, reproducible by seed.

    Within each stratum (by default each risk band) of the eligible pupils, a
    random ``share`` (rounded at random, so the expected share is exact) is
    allocated to help and the rest to control, using numpy's default generator
    seeded with ``seed``. The seed and a hash of the allocation are recorded.

    Parameters
    ----------
    snapshot : Snapshot or Screening
        The list to randomise.
    seed : int, optional
        Seed of the random generator; None draws one, which is then recorded.
    share : float, default 0.5
        Share of each stratum allocated to help.
    bands : sequence of str or None, default ("medium", "high")
        Bands whose pupils are eligible; None means every pupil on the list.
    strata : sequence of str, default ("band",)
        Columns of the list to randomise within (e.g. ``("band", "school_id")``).

    Returns
    -------
    TrialAllocation
    """
    snap = snapshot if isinstance(snapshot, Snapshot) else Snapshot.from_screening(snapshot)
    if not (isinstance(share, (int, float)) and 0 < share < 1):
        raise ValueError(f"The 'share' parameter of {OWNER} must be in (0, 1). Got {share!r}.")
    strata = (strata,) if isinstance(strata, str) else tuple(strata)
    missing = [c for c in strata if c not in snap.frame.columns]
    if missing or not strata:
        raise ValueError(
            f"The 'strata' parameter of {OWNER} must name columns of the list, such as 'band' "
            f"or 'school_id'. Got {missing or strata!r} instead."
        )
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (2**63))
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"The 'seed' parameter of {OWNER} must be a non-negative integer.")
    frame = snap.frame
    if bands is not None:
        frame = frame[frame["band"].astype(str).isin([str(b) for b in bands])]
    if frame.empty:
        raise ValueError(f"{OWNER}: no pupil on the list is in the bands {list(bands)}.")
    frame = frame.sort_index()  # the allocation never depends on row order
    rng = np.random.default_rng(int(seed))
    arm = np.empty(len(frame), dtype=object)
    codes = frame.groupby(list(strata), observed=True, sort=True).ngroup().to_numpy()
    for code in np.unique(codes):
        rows = np.flatnonzero(codes == code)
        exact = share * len(rows)
        n_help = int(np.floor(exact) + (rng.random() < exact - np.floor(exact)))
        chosen = rng.permutation(rows)
        arm[chosen[:n_help]] = "help"
        arm[chosen[n_help:]] = "control"
    out = frame[list(strata)].copy()
    out["arm"] = pd.Categorical(arm, categories=list(ARMS))
    return TrialAllocation(
        frame=out,
        seed=int(seed),
        share=float(share),
        strata=strata,
        as_of_date=snap.as_of_date,
        model_version=snap.model_version,
        created_at=pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds"),
    )
