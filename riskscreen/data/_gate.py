"""Validation on every entry path: histories are checked once per content, before any work.

:func:`ensure_valid` is called by every engine session (features, labels,
cohorts, the Screener) and by :meth:`LinkedHistories.end_of_data` and
:meth:`LinkedHistories.fingerprint`. It runs :meth:`LinkedHistories.validate`'s
rules unless the same content was validated before in this process (a key of
each table's content, column names and dtypes), or the histories were opened from
a folder that had no problem when saved and whose files match their checksums.
``riskscreen.config_context(validate=False)`` skips it, with a logged warning.
"""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict
from pathlib import Path

import pandas as pd

logger = logging.getLogger("riskscreen")

_CACHE_SIZE = 32
_validated: OrderedDict[str, None] = OrderedDict()


def _frame_key(frame: object) -> bytes | None:
    if not isinstance(frame, pd.DataFrame):
        return None
    try:
        rows = pd.util.hash_pandas_object(frame, index=True).to_numpy()
    except (TypeError, ValueError):  # unhashable cells: never cached, always validated
        return None
    head = repr([(str(c), str(t)) for c, t in frame.dtypes.items()]).encode()
    return head + rows.tobytes()


def content_key(histories) -> str | None:
    """A key of what the histories hold (None when it cannot be computed)."""
    digest = hashlib.sha256()
    sources = histories.custom_sources()
    for name, rel in histories._relations().items():
        digest.update(name.encode())
        if isinstance(rel, Path):
            stat = rel.stat()
            digest.update(f"{rel.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode())
        else:
            part = _frame_key(rel)
            if part is None:
                return None
            digest.update(part)
        if name in sources:
            digest.update(repr(sources[name]).encode())
    return digest.hexdigest()


def ensure_valid(histories, *, owner: str) -> None:
    """Raise :class:`DataValidationError` naming ``owner`` unless the histories are valid."""
    from riskscreen._config import get_config
    from riskscreen.data._validation import DataValidationError, find_problems

    if not get_config()["validate"]:
        logger.warning(
            "%s: the histories were not validated (riskscreen.config_context(validate=False)); "
            "invalid data may give wrong features or labels.",
            owner,
        )
        return
    relations = histories._relations()
    if histories._saved_problems == 0 and all(isinstance(r, Path) for r in relations.values()):
        return  # validated when saved; open() checked every file against its sha256
    key = content_key(histories)
    if key is not None and key in _validated:
        _validated.move_to_end(key)
        return
    problems = find_problems(histories)
    if problems:
        raise DataValidationError(problems, subject=f"The histories given to {owner}")
    if key is not None:
        _validated[key] = None
        while len(_validated) > _CACHE_SIZE:
            _validated.popitem(last=False)
