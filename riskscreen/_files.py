"""Writing files and folders atomically: the one place riskscreen writes what a person opens.

A file (or a folder, such as a saved :class:`~riskscreen.data.LinkedHistories`) is
written to a hidden temporary sibling, ``.<name>.tmp-<random>``, and renamed into
place once complete, so a reader never sees half of it and a failed write leaves
any previous version intact. Replacing a folder takes two renames (the old one
aside as ``.<name>.old-<random>``, the new one into place); if the process is
killed between them, the next write, load or open of that path puts the old
folder back (:func:`recover`). Temporary copies left by a killed process are
removed the same way, so no stray copy of pupil data stays on disk.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def recover(path: str | os.PathLike) -> None:
    """Finish what an interrupted write of ``path`` left behind.

    If ``path`` is missing but an old version was set aside, it is put back;
    temporary copies and other set-aside versions are removed.
    """
    path = Path(path)
    parent = path.parent
    if not parent.is_dir():
        return
    backups = sorted(parent.glob(f".{path.name}.old-*"), key=lambda p: p.stat().st_mtime)
    if backups and not path.exists():
        os.replace(backups.pop(), path)
    for stale in [*backups, *parent.glob(f".{path.name}.tmp-*")]:
        _remove(stale)


def _readable(tmp: str) -> None:
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the usual permissions


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` when the block succeeds.

    Examples
    --------
    >>> with atomic_path(target) as tmp:  # doctest: +SKIP
    ...     frame.to_csv(tmp)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    recover(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.tmp-")
    os.close(fd)
    _readable(tmp)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


@contextlib.contextmanager
def atomic_folder(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; put it in place of ``path`` when complete.

    An existing folder at ``path`` is replaced only once the new one is complete;
    the caller decides beforehand whether replacing it is allowed.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    recover(target)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        yield tmp
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
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
