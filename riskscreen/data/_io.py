"""Saving and loading :class:`LinkedHistories` as a folder of Parquet files.

Folder layout (format version 2)::

    <folder>/
        manifest.json               table names, row counts, dtypes, sha256 of every file,
                                    custom-source metadata, problems found when saved
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

Writes are atomic (:func:`riskscreen._files.atomic_folder`): everything is
written to a hidden temporary folder beside the target, which is renamed into
place only once complete; an existing folder is replaced only after the new one
is complete, and a save killed half-way is undone on the next save, load or open.
Reads verify every file against its sha256 in the manifest, so a damaged or
altered file is refused, never read silently.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from riskscreen._files import atomic_folder, recover
from riskscreen.data._tables import TABLE_NAMES, CustomSource

if TYPE_CHECKING:
    from riskscreen.data._linked import LinkedHistories

FORMAT_NAME = "riskscreen.LinkedHistories"
FORMAT_VERSION = 2
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


def _table_entry(frame: pd.DataFrame, file: str, folder: Path) -> dict:
    return {
        "file": file,
        "rows": len(frame),
        "sha256": file_sha256(folder / file),
        "columns": [str(c) for c in frame.columns],
        "dtypes": {str(c): str(t) for c, t in frame.dtypes.items()},
    }


def file_sha256(file: Path) -> str:
    """sha256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with open(file, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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
    from riskscreen.data._validation import find_problems

    with atomic_folder(target) as tmp:
        manifest: dict = {
            "format": FORMAT_NAME,
            "format_version": FORMAT_VERSION,
            "riskscreen_version": _riskscreen_version(),
            "problems": len(find_problems(histories)),
            "tables": {},
            "custom": {},
        }
        for name in TABLE_NAMES:
            frame = getattr(histories, name)
            file = f"{name}.parquet"
            _write_frame(frame, tmp / file, name)
            manifest["tables"][name] = _table_entry(frame, file, tmp)
        if histories.custom:
            (tmp / CUSTOM_FOLDER).mkdir()
        for name, (frame, source) in histories.custom.items():
            check_source_name(name)
            file = f"{CUSTOM_FOLDER}/{name}.parquet"
            _write_frame(frame, tmp / file, name)
            entry = _table_entry(frame, file, tmp)
            entry["source"] = {
                "id_column": source.id_column,
                "date_column": source.date_column,
                "end_date_column": source.end_date_column,
                "value_columns": list(source.value_columns),
            }
            manifest["custom"][name] = entry
        with open(tmp / MANIFEST, "w", encoding="utf-8") as fh:
            json.dump(manifest, fh, indent=2)
    return target


def _read_manifest(folder: Path) -> dict:
    file = folder / MANIFEST
    recover(folder)
    if folder.is_file():
        raise FileNotFoundError(
            f"Cannot load LinkedHistories: {folder} is a file; a saved LinkedHistories is a "
            "folder (written by LinkedHistories.save or `riskscreen synth`) holding a "
            "manifest.json and one Parquet file per table."
        )
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
    if version < FORMAT_VERSION:
        raise ValueError(
            f"{file} has format_version {version}, which keeps no checksums of its files; "
            "load it with the riskscreen that saved it and save it again."
        )
    if not isinstance(manifest.get("tables"), dict) or not isinstance(
        manifest.get("custom", {}), dict
    ):
        raise ValueError(f"{file} is malformed: 'tables' and 'custom' must be objects.")
    return manifest


def _table_file(folder: Path, entry: dict, table: str) -> Path:
    """The Parquet file the manifest names for ``table``: present, with its recorded sha256."""
    try:
        file = folder / entry["file"]
        expected = str(entry["sha256"])
    except (KeyError, TypeError) as exc:
        raise ValueError(
            f"{folder / MANIFEST} is malformed: no file and sha256 entry for table {table!r}."
        ) from exc
    if not file.is_file():
        raise FileNotFoundError(
            f"Cannot load LinkedHistories from {folder}: table {table!r} file {file} is missing."
        )
    if file_sha256(file) != expected:
        raise ValueError(
            f"Table {table!r} file {file} does not match the sha256 recorded when it was "
            "saved: the file is damaged or was changed. Refusing to read it."
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


def _entries(folder: Path) -> tuple[dict[str, dict], dict[str, dict], dict]:
    """The manifest's canonical and custom table entries (every canonical table present)."""
    manifest = _read_manifest(folder)
    tables = manifest.get("tables") or {}
    for name in TABLE_NAMES:
        if name not in tables:
            raise FileNotFoundError(
                f"Cannot load LinkedHistories from {folder}: the manifest lists no table "
                f"{name!r} (expected {name}.parquet)."
            )
    return (
        {name: tables[name] for name in TABLE_NAMES},
        dict(manifest.get("custom") or {}),
        manifest,
    )


def load_histories(path: str | os.PathLike) -> LinkedHistories:
    """Read a folder written by :func:`save_histories` into memory."""
    from riskscreen.data._linked import LinkedHistories

    folder = Path(path)
    tables, custom_entries, _ = _entries(folder)
    frames = {name: _read_frame(folder, entry, name) for name, entry in tables.items()}
    custom = {
        name: (_read_frame(folder, entry, name), _custom_source(entry))
        for name, entry in custom_entries.items()
    }
    return LinkedHistories(**frames, custom=custom)


def open_folder(path: str | os.PathLike) -> tuple[dict[str, Path], dict[str, tuple], int]:
    """Check a saved folder without loading its data into memory.

    Returns the Parquet file of every canonical table, ``(file, CustomSource)``
    of every custom source, and the number of validation problems the data had
    when saved. Every file is checked against its sha256 and row count.
    """
    import pyarrow.parquet as pq

    folder = Path(path)
    tables, custom_entries, manifest = _entries(folder)

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
    problems = manifest.get("problems")
    return files, custom, problems if isinstance(problems, int) else -1
