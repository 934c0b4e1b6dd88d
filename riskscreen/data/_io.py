"""Saving and loading :class:`LinkedHistories` as a folder of Parquet files.

Folder layout (format version 1)::

    <folder>/
        manifest.json               table names, row counts, dtypes, custom-source metadata
        pupils.parquet              one file per canonical table, always all ten
        schools.parquet
        enrolments.parquet
        ...
        custom/<name>.parquet       one file per custom source

Each Parquet file is written by pandas with pyarrow and keeps the pandas
metadata, so columns, their order, dtypes (``str``, ``Int64``, ``bool``,
``datetime64[us]``, ...) and the index come back exactly. The feature engine
may read the files directly (e.g. ``read_parquet('<folder>/attendance.parquet')``
in DuckDB).

Writes are atomic: everything is written to a hidden temporary folder beside
the target, which is renamed into place only once complete. An existing
riskscreen folder at the target is replaced only after the new one is
complete, so a failed save leaves the previous content intact.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from riskscreen.data._tables import TABLE_NAMES, CustomSource

if TYPE_CHECKING:
    from riskscreen.data._linked import LinkedHistories

FORMAT_NAME = "riskscreen.LinkedHistories"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
CUSTOM_FOLDER = "custom"


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def check_source_name(name: object) -> str:
    """Check that a custom source name is a safe, non-canonical identifier."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(
            "A custom source name must be an identifier such as 'youth_justice' "
            f"(letters, digits and underscores, not starting with a digit). Got {name!r} instead."
        )
    if name in TABLE_NAMES:
        raise ValueError(
            f"Cannot add a custom source named {name!r}: it is a canonical table. "
            f"Choose another name (canonical tables: {', '.join(TABLE_NAMES)})."
        )
    return name


def _riskscreen_version() -> str:
    from riskscreen import __version__

    return __version__


def _table_entry(frame: pd.DataFrame, file: str) -> dict:
    return {
        "file": file,
        "rows": len(frame),
        "columns": [str(c) for c in frame.columns],
        "dtypes": {str(c): str(t) for c, t in frame.dtypes.items()},
    }


def _write_frame(frame: pd.DataFrame, file: Path, table: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(
            f"Cannot save table {table!r}: expected a pandas DataFrame, got {type(frame).__name__}."
        )
    try:
        frame.to_parquet(file, engine="pyarrow")
    except Exception as exc:
        raise ValueError(
            f"Cannot save table {table!r} to {file.name}: {type(exc).__name__}: {exc}. "
            "Run .validate() to find the offending columns."
        ) from exc


def save_histories(histories: LinkedHistories, path: str | os.PathLike, *, overwrite: bool) -> Path:
    """Write ``histories`` to ``path`` atomically; see the module docstring."""
    target = Path(path)
    if target.exists():
        if not target.is_dir():
            raise FileExistsError(f"Cannot save to {target}: it exists and is not a folder.")
        if any(target.iterdir()):
            if not (target / MANIFEST).is_file():
                raise FileExistsError(
                    f"Cannot save to {target}: the folder is not empty and is not a saved "
                    f"LinkedHistories (no {MANIFEST}). Choose an empty or new folder."
                )
            if not overwrite:
                raise FileExistsError(
                    f"Cannot save to {target}: it already holds a saved LinkedHistories. "
                    "Pass overwrite=True to replace it."
                )
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        manifest: dict = {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "riskscreen_version": _riskscreen_version(),
            "tables": {},
            "custom": {},
        }
        for name in TABLE_NAMES:
            frame = getattr(histories, name)
            file = f"{name}.parquet"
            _write_frame(frame, tmp / file, name)
            manifest["tables"][name] = _table_entry(frame, file)
        if histories.custom:
            (tmp / CUSTOM_FOLDER).mkdir()
        for name, (frame, source) in histories.custom.items():
            check_source_name(name)
            file = f"{CUSTOM_FOLDER}/{name}.parquet"
            _write_frame(frame, tmp / file, name)
            entry = _table_entry(frame, file)
            entry["source"] = {
                "id_column": source.id_column,
                "date_column": source.date_column,
                "end_date_column": source.end_date_column,
                "value_columns": list(source.value_columns),
            }
            manifest["custom"][name] = entry
        with open(tmp / MANIFEST, "w", encoding="utf-8") as fh:
            json.dump(manifest, fh, indent=2)
        _swap_into_place(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return target


def _swap_into_place(tmp: Path, target: Path) -> None:
    """Rename the complete temporary folder to ``target``, replacing an old one."""
    if not target.exists():
        os.replace(tmp, target)
        return
    backup = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    backup.rmdir()
    os.replace(target, backup)
    try:
        os.replace(tmp, target)
    except BaseException:
        os.replace(backup, target)
        raise
    shutil.rmtree(backup, ignore_errors=True)


def _read_manifest(folder: Path) -> dict:
    file = folder / MANIFEST
    if not folder.is_dir():
        raise FileNotFoundError(f"Cannot load LinkedHistories: folder {folder} does not exist.")
    if not file.is_file():
        raise FileNotFoundError(
            f"Cannot load LinkedHistories from {folder}: {file} is missing. "
            "A saved folder holds a manifest.json written by LinkedHistories.save."
        )
    try:
        with open(file, encoding="utf-8") as fh:
            manifest = json.load(fh)
    except (OSError, ValueError) as exc:
        raise ValueError(f"Cannot read {file}: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise ValueError(f"{file} is not a LinkedHistories manifest (format {FORMAT_NAME!r}).")
    version = manifest.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise ValueError(
            f"{file} has format_version {version!r}; this riskscreen reads versions up to "
            f"{FORMAT_VERSION}. Upgrade riskscreen to load it."
        )
    return manifest


def _table_file(folder: Path, entry: dict, table: str) -> Path:
    """The Parquet file the manifest names for ``table``, which must exist."""
    try:
        file = folder / entry["file"]
    except (KeyError, TypeError) as exc:
        raise ValueError(f"{folder / MANIFEST} has no file entry for table {table!r}.") from exc
    if not file.is_file():
        raise FileNotFoundError(
            f"Cannot load LinkedHistories from {folder}: table {table!r} file {file} is missing."
        )
    return file


def _read_frame(folder: Path, entry: dict, table: str) -> pd.DataFrame:
    file = _table_file(folder, entry, table)
    try:
        frame = pd.read_parquet(file, engine="pyarrow")
    except Exception as exc:
        raise ValueError(f"Cannot read table {table!r} from {file}: {exc}") from exc
    rows = entry.get("rows")
    if rows is not None and rows != len(frame):
        raise ValueError(
            f"Table {table!r} in {file} has {len(frame)} rows but the manifest says {rows}; "
            "the folder looks damaged."
        )
    # pyarrow reads text back as the pandas str dtype; restore object columns exactly.
    for column, dtype in (entry.get("dtypes") or {}).items():
        if dtype == "object" and column in frame.columns and frame[column].dtype != object:
            frame[column] = frame[column].astype(object)
    return frame


def _custom_source(entry: dict) -> CustomSource:
    meta = entry.get("source") or {}
    return CustomSource(
        id_column=meta.get("id_column", "pupil_id"),
        date_column=meta.get("date_column", "date"),
        end_date_column=meta.get("end_date_column"),
        value_columns=tuple(meta.get("value_columns") or ()),
    )


def _entries(folder: Path) -> tuple[dict[str, dict], dict[str, dict]]:
    """The manifest's canonical and custom table entries, every canonical table present."""
    manifest = _read_manifest(folder)
    tables = manifest.get("tables") or {}
    for name in TABLE_NAMES:
        if name not in tables:
            raise FileNotFoundError(
                f"Cannot load LinkedHistories from {folder}: the manifest lists no table "
                f"{name!r} (expected {name}.parquet)."
            )
    return {name: tables[name] for name in TABLE_NAMES}, dict(manifest.get("custom") or {})


def load_histories(path: str | os.PathLike) -> LinkedHistories:
    """Read a folder written by :func:`save_histories` into memory."""
    from riskscreen.data._linked import LinkedHistories

    folder = Path(path)
    tables, custom_entries = _entries(folder)
    frames = {name: _read_frame(folder, entry, name) for name, entry in tables.items()}
    custom = {
        name: (_read_frame(folder, entry, name), _custom_source(entry))
        for name, entry in custom_entries.items()
    }
    return LinkedHistories(**frames, custom=custom)


def open_folder(path: str | os.PathLike) -> tuple[dict[str, Path], dict[str, tuple]]:
    """Check a saved folder without reading its data.

    Returns the Parquet file of every canonical table and ``(file, CustomSource)``
    of every custom source. The manifest is read and each file's row count
    (from its Parquet footer) is checked against it.
    """
    import pyarrow.parquet as pq

    folder = Path(path)
    tables, custom_entries = _entries(folder)

    def checked(entry: dict, table: str) -> Path:
        file = _table_file(folder, entry, table)
        try:
            rows = pq.ParquetFile(file).metadata.num_rows
        except Exception as exc:
            raise ValueError(f"Cannot read table {table!r} from {file}: {exc}") from exc
        expected = entry.get("rows")
        if expected is not None and expected != rows:
            raise ValueError(
                f"Table {table!r} in {file} has {rows} rows but the manifest says {expected}; "
                "the folder looks damaged."
            )
        return file

    files = {name: checked(entry, name) for name, entry in tables.items()}
    custom = {
        name: (checked(entry, name), _custom_source(entry))
        for name, entry in custom_entries.items()
    }
    return files, custom
