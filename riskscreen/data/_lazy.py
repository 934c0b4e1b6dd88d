"""Histories opened from a saved folder: tables read into memory only when used."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, MutableMapping
from pathlib import Path

import pandas as pd

from riskscreen.data._tables import TABLE_NAMES, CustomSource


def read_table(file: Path, table: str) -> pd.DataFrame:
    try:
        return pd.read_parquet(file, engine="pyarrow")
    except Exception as exc:
        raise ValueError(f"Cannot read table {table!r} from {file}: {exc}") from exc


class LazyCustom(MutableMapping):
    """The custom sources of an opened folder: each frame read on first access."""

    def __init__(self, entries: Mapping[str, tuple[Path, CustomSource]]) -> None:
        self._entries = dict(entries)
        self._loaded: dict[str, tuple[pd.DataFrame, CustomSource]] = {}

    def is_loaded(self, name: str) -> bool:
        return name in self._loaded

    def file(self, name: str) -> Path:
        return self._entries[name][0]

    def sources(self) -> dict[str, CustomSource]:
        out = {name: src for name, (_, src) in self._entries.items()}
        out.update({name: src for name, (_, src) in self._loaded.items()})
        return out

    def __getitem__(self, name: str) -> tuple[pd.DataFrame, CustomSource]:
        if name not in self._loaded:
            file, src = self._entries[name]
            self._loaded[name] = (read_table(file, name), src)
        return self._loaded[name]

    def __setitem__(self, name: str, value: tuple[pd.DataFrame, CustomSource]) -> None:
        self._loaded[name] = value
        self._entries.pop(name, None)

    def __delitem__(self, name: str) -> None:
        if name not in self._loaded and name not in self._entries:
            raise KeyError(name)
        self._loaded.pop(name, None)
        self._entries.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys([*self._entries, *self._loaded]))

    def __len__(self) -> int:
        return len(set(self._entries) | set(self._loaded))


class FolderBacked:
    """What :class:`LinkedHistories` does for a folder opened with :meth:`open`.

    ``_folder`` and ``_files`` (canonical table -> Parquet file) are set by
    ``open``; a table attribute not yet read is read from its file on first
    access. ``_relations`` tells the DuckDB views what to read for each table: the
    frame in memory where there is one, else the file.
    """

    _folder: Path | None = None
    _files: dict[str, Path] = {}
    #: validation problems the data had when saved (-1 unknown), for the opened folder
    _saved_problems: int = -1

    def __getattr__(self, name: str):
        # only called for attributes not set: a table of an opened folder, read on first use
        files = self.__dict__.get("_files")
        if files and name in files:
            frame = read_table(files[name], name)
            setattr(self, name, frame)
            return frame
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @classmethod
    def open(cls, path: str | os.PathLike):
        """Open a folder written by :meth:`save` without reading its tables.

        The manifest and every file are checked (present, row count as saved),
        but no table is read until it is used: the feature engine, labels, the
        :class:`~riskscreen.Screener`, :meth:`end_of_data` and
        :meth:`fingerprint` read the Parquet files directly with DuckDB, out of
        core; an attribute such as ``histories.attendance`` reads that table into
        memory on first access (and a table assigned in memory is used from
        then on). Results are identical to those of :meth:`load`.

        Parameters
        ----------
        path : str or path-like
            A folder written by :meth:`save`.

        Returns
        -------
        LinkedHistories
        """
        from riskscreen.data._io import open_folder

        files, custom, problems = open_folder(path)
        out = cls.__new__(cls)
        out._folder = Path(path)
        out._files = dict(files)
        out._saved_problems = problems
        out.custom = LazyCustom(custom)
        return out

    @property
    def folder(self) -> Path | None:
        """The saved folder this object was opened from (None if built in memory)."""
        return self._folder

    def _relations(self) -> dict[str, pd.DataFrame | Path]:
        """Every table (canonical, then custom): a frame in memory, or its Parquet file."""
        out: dict[str, pd.DataFrame | Path] = {}
        for name in TABLE_NAMES:
            out[name] = self.__dict__[name] if name in self.__dict__ else self._files[name]
        custom = self.custom
        for name in custom:
            if isinstance(custom, LazyCustom) and not custom.is_loaded(name):
                out[name] = custom.file(name)
            else:
                out[name] = custom[name][0]
        return out

    def custom_sources(self) -> dict[str, CustomSource]:
        """The declaration of every custom source by name (without reading its rows)."""
        if isinstance(self.custom, LazyCustom):
            return self.custom.sources()
        return {name: src for name, (_, src) in self.custom.items()}
