"""Immutable snapshots of every screening list, kept per as-of date: :class:`SnapshotStore`."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from riskscreen._files import atomic_path
from riskscreen._render import HeaderSummaryRepr
from riskscreen.evaluation import suppress_small_counts

PUPIL, AS_OF = "pupil_id", "as_of_date"
SCORES, FEATURES, MANIFEST = "scores.parquet", "features.parquet", "snapshot.json"
#: Columns of a snapshot's per-pupil table (those of ``Screening.frame``).
COLUMNS = (
    "school_id",
    "ncyear",
    "score",
    "probability",
    "decile",
    "band",
    "rank",
    "rank_in_school",
    "flagged",
)


class SnapshotIntegrityError(ValueError):
    """A stored snapshot's files differ from the sha256 recorded when it was saved."""


def model_version(model_info: dict) -> str:
    """A short, stable name for the fitted model behind a screening.

    The hash of what identifies a fitted model: its class, parameters, fit time and
    the fingerprint of the data it was fitted on (``Screening.model_info``).
    """
    keys = ("model_class", "params_hash", "fit_timestamp", "data_fingerprint")
    text = json.dumps({k: model_info.get(k) for k in keys}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True, repr=False)
class Snapshot(HeaderSummaryRepr):
    """One screening list as it was issued: scores, ranks, bands, flags and capacity.

    Made from a :class:`~riskscreen.Screening` by :meth:`from_screening` or read
    back by :meth:`SnapshotStore.load`; never changed once saved.

    Attributes
    ----------
    frame : DataFrame
        One row per pupil screened, indexed by (pupil_id, as_of_date): school_id,
        ncyear, score, probability, decile, band, rank, rank_in_school, flagged.
    features : DataFrame
        The features the model scored (index pupil_id, as_of_date): what was known
        at the as-of date, the confounders of an effect estimate.
    as_of_date : Timestamp
    model_version : str
        Which fitted model made the list (see :func:`model_version`).
    k : int
        Pupils flagged: the capacity the list was cut at.
    per_school : bool
        Whether the capacity applied within each school.
    outcome : str
        The outcome the model screens for.
    model_info : dict
        riskscreen version, model class, parameter hash, fit time, data fingerprint.
    saved_at : str or None
        When the snapshot was written to a store (UTC, ISO 8601); None if never saved.
    sha256 : dict
        The sha256 of each stored file (empty until saved).
    """

    frame: pd.DataFrame
    features: pd.DataFrame
    as_of_date: pd.Timestamp
    model_version: str
    k: int
    per_school: bool
    outcome: str
    model_info: dict = field(default_factory=dict)
    saved_at: str | None = None
    sha256: dict = field(default_factory=dict)

    @classmethod
    def from_screening(cls, screening, *, version: str | None = None) -> Snapshot:
        """The snapshot of a :class:`~riskscreen.Screening` (copies its tables)."""
        missing = [c for c in COLUMNS if c not in getattr(screening, "frame", pd.DataFrame())]
        if missing or not hasattr(screening, "as_of_date"):
            raise ValueError(
                "Snapshot.from_screening needs a Screening (from Screener.score). "
                f"Got {type(screening).__name__} instead."
            )
        as_of = pd.Timestamp(screening.as_of_date)
        frame = screening.frame.loc[:, list(COLUMNS)].copy()
        frame.index = pd.MultiIndex.from_arrays(
            [frame.index.to_numpy(), pd.DatetimeIndex([as_of] * len(frame))],
            names=[PUPIL, AS_OF],
        )
        info = dict(screening.model_info)
        return cls(
            frame=frame,
            features=screening.features.copy(),
            as_of_date=as_of,
            model_version=version or model_version(info),
            k=int(screening.k),
            per_school=bool(screening.per_school),
            outcome=str(screening.outcome),
            model_info=info,
        )

    @property
    def snapshot_id(self) -> str:
        """``<as-of date>/<model version>``: where the snapshot lives in a store."""
        return f"{self.as_of_date.date()}/{self.model_version}"

    def metadata(self) -> dict:
        """What a snapshot is, without a row of it (safe for MLflow and logs)."""
        summary = self.summary()
        return {
            "as_of_date": str(self.as_of_date.date()),
            "model_version": self.model_version,
            "k": self.k,
            "per_school": self.per_school,
            "outcome": self.outcome,
            "n_pupils": len(self.frame),
            "n_features": int(self.features.shape[1]),
            "model_info": {k: v for k, v in self.model_info.items()},
            "saved_at": self.saved_at,
            "sha256": dict(self.sha256),
            "bands": {
                str(b): {c: (None if pd.isna(v) else int(v)) for c, v in row.items()}
                for b, row in summary.iterrows()
            },
        }

    def summary(self) -> pd.DataFrame:
        """Pupils and flags per band, small counts suppressed (<NA>)."""
        g = self.frame.groupby("band", observed=False)
        table = pd.DataFrame({"n_pupils": g.size(), "n_flagged": g["flagged"].sum()})
        out = table.astype("Int64")
        for col in out.columns:
            out.loc[suppress_small_counts(table[col].to_numpy()), col] = pd.NA
        return out

    def to_frame(self) -> pd.DataFrame:
        """The per-pupil table (a copy), indexed by (pupil_id, as_of_date)."""
        return self.frame.copy()

    def _header(self) -> str:
        saved = f", saved {self.saved_at}" if self.saved_at else ", not saved"
        scope = "per school" if self.per_school else "overall"
        n = len(self.frame)
        pupils = f"{n} pupils" if n >= 5 else "fewer than 5 pupils"
        return (
            f"Snapshot of the {self.outcome} list at {self.as_of_date.date()}: {pupils}, "
            f"capacity {self.k} ({scope}); model {self.model_version}{saved}."
        )


class SnapshotStore:
    """A folder of immutable screening snapshots, one per as-of date and model.

    Each snapshot is a sub-folder ``<as-of date>/<model version>/`` holding
    ``scores.parquet`` (the list), ``features.parquet`` (what the model saw) and
    ``snapshot.json`` (as-of date, model, capacity, counts and the sha256 of both
    files). Every file is written atomically and ``snapshot.json`` last, so a
    snapshot exists only once it is complete. A saved snapshot is never replaced:
    saving the same as-of date and model again raises, and loading checks the
    files against their recorded sha256.

    Parameters
    ----------
    path : path-like
        The store's folder (created on first save).

    Examples
    --------
    >>> store = SnapshotStore("snapshots")  # doctest: +SKIP
    >>> store.save(screener.score(histories, "2022-01-04"))  # doctest: +SKIP
    >>> store.list()  # doctest: +SKIP
    """

    def __init__(self, path) -> None:
        self.path = Path(path)

    # -- writing -----------------------------------------------------------------------------
    def save(self, screening, *, version: str | None = None, run=None) -> Snapshot:
        """Save a :class:`~riskscreen.Screening` (or a :class:`Snapshot`) for good.

        Parameters
        ----------
        screening : Screening or Snapshot
        version : str, optional
            The model version to file it under (default: derived from ``model_info``).
        run : TrackedRun, optional
            A run from :func:`riskscreen.tracking.track`: the snapshot's metadata
            (as-of date, model version, capacity, counts per band, sha256 of the
            files -- never a row) is logged to it as ``snapshots/<as-of date>.json``.

        Returns
        -------
        Snapshot
            As saved, with ``saved_at`` and ``sha256`` filled in.

        Raises
        ------
        FileExistsError
            If a snapshot of that as-of date and model version is already stored.
        """
        snap = screening if isinstance(screening, Snapshot) else Snapshot.from_screening(screening)
        if version is not None:
            snap = replace(snap, model_version=str(version))
        folder = self.path / str(snap.as_of_date.date()) / snap.model_version
        if (folder / MANIFEST).exists():
            raise FileExistsError(
                f"SnapshotStore.save: a snapshot of as-of date {snap.as_of_date.date()} by model "
                f"{snap.model_version} is already stored in {self.path}; snapshots are never "
                "replaced (pass version= to file a different model)."
            )
        sums = {}
        for name, frame in ((SCORES, snap.frame), (FEATURES, snap.features)):
            with atomic_path(folder / name) as tmp:
                frame.to_parquet(tmp)
            sums[name] = _sha256(folder / name)
        saved_at = pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds")
        snap = replace(snap, saved_at=saved_at, sha256=sums)
        meta = snap.metadata()
        with atomic_path(folder / MANIFEST) as tmp:
            tmp.write_text(json.dumps(meta, indent=1, default=str))
        for name in (SCORES, FEATURES, MANIFEST):
            os.chmod(folder / name, 0o444)  # immutable by intent
        if run is not None:
            _log_to_run(run, meta)
        return snap

    # -- reading -----------------------------------------------------------------------------
    def _manifests(self) -> list[Path]:
        if not self.path.exists():
            return []
        return sorted(self.path.glob(f"*/*/{MANIFEST}"))

    def list(self) -> pd.DataFrame:
        """One row per stored snapshot: as-of date, model version, capacity, pupils, saved at."""
        rows = []
        for manifest in self._manifests():
            meta = json.loads(manifest.read_text())
            rows.append(
                {
                    AS_OF: pd.Timestamp(meta["as_of_date"]),
                    "model_version": meta["model_version"],
                    "outcome": meta["outcome"],
                    "k": meta["k"],
                    "per_school": meta["per_school"],
                    "n_pupils": meta["n_pupils"],
                    "saved_at": meta["saved_at"],
                }
            )
        columns = [AS_OF, "model_version", "outcome", "k", "per_school", "n_pupils", "saved_at"]
        return pd.DataFrame(rows, columns=columns)

    def load(self, as_of_date, version: str | None = None) -> Snapshot:
        """The snapshot of one as-of date (and model version, when several are stored).

        Raises
        ------
        KeyError
            No snapshot of that date (and version).
        ValueError
            Several models' snapshots at that date and no ``version`` given.
        SnapshotIntegrityError
            A file differs from the sha256 recorded when it was saved.
        """
        as_of = pd.Timestamp(as_of_date).normalize()
        day = self.path / str(as_of.date())
        found = sorted(day.glob(f"*/{MANIFEST}")) if day.exists() else []
        if version is not None:
            found = [m for m in found if m.parent.name == str(version)]
        if not found:
            which = "" if version is None else f" by model {version}"
            raise KeyError(f"No snapshot of as-of date {as_of.date()}{which} in {self.path}.")
        if len(found) > 1:
            names = [m.parent.name for m in found]
            raise ValueError(
                f"SnapshotStore.load: {len(found)} models' snapshots at {as_of.date()} "
                f"({', '.join(names)}); pass version= to pick one."
            )
        return _read(found[0].parent)

    def snapshots(self, version: str | None = None) -> list[Snapshot]:
        """Every stored snapshot (of one model version if given), oldest as-of date first."""
        out = [_read(m.parent) for m in self._manifests()]
        if version is not None:
            out = [s for s in out if s.model_version == str(version)]
        return sorted(out, key=lambda s: (s.as_of_date, s.model_version))

    def __iter__(self):
        return iter(self.snapshots())

    def __len__(self) -> int:
        return len(self._manifests())

    def __repr__(self) -> str:
        return f"<SnapshotStore {self.path} ({len(self)} snapshots)>"


def _read(folder: Path) -> Snapshot:
    meta = json.loads((folder / MANIFEST).read_text())
    for name, expected in meta["sha256"].items():
        if _sha256(folder / name) != expected:
            raise SnapshotIntegrityError(
                f"The snapshot of {meta['as_of_date']} by model {meta['model_version']} has "
                f"changed since it was saved: {name} no longer matches its recorded sha256."
            )
    return Snapshot(
        frame=pd.read_parquet(folder / SCORES),
        features=pd.read_parquet(folder / FEATURES),
        as_of_date=pd.Timestamp(meta["as_of_date"]),
        model_version=meta["model_version"],
        k=int(meta["k"]),
        per_school=bool(meta["per_school"]),
        outcome=meta["outcome"],
        model_info=meta["model_info"],
        saved_at=meta["saved_at"],
        sha256=meta["sha256"],
    )


def _log_to_run(run, meta: dict) -> None:
    """Log a snapshot's metadata (never its rows) to an MLflow run."""
    from riskscreen.tracking._store import client, quiet

    with quiet(), tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{meta['as_of_date']}_{meta['model_version']}.json"
        path.write_text(json.dumps(meta, indent=1, default=str))
        mlflow_client = client(run.tracking_uri)
        mlflow_client.log_artifact(run.run_id, str(path), artifact_path="snapshots")
        mlflow_client.set_tag(
            run.run_id,
            f"riskscreen.snapshot.{meta['as_of_date']}",
            f"{meta['model_version']} sha256:{meta['sha256'].get(SCORES, '')[:16]}",
        )
