"""Words for numbers, windows and times, and templates filled once per distinct sentence.

Reason text must stay fast for a million pupils, so nothing here loops over
pupils: each placeholder is computed on the *distinct* rounded values of an
array (``np.unique``), the rows are reduced to the distinct combinations of
those values (``pd.factorize``), and the template is filled once per distinct
sentence. The result is a :class:`pandas.Categorical` -- a few hundred sentences
shared by any number of pupils.
"""

from __future__ import annotations

import string

import numpy as np
import pandas as pd

from riskscreen._time import parse_duration

#: A trend ("down from 95% ...") is mentioned when two windows differ by this many points.
TREND_POINTS = 5


def window_phrase(window) -> str:
    """``"28D"``: "in the last 4 weeks"; ``"1Y"``: "in the last 12 months"; all: "on record"."""
    d = parse_duration(window, allow_all=True)
    if d.is_all:
        return "on record"
    n, unit = d.n, {"D": "day", "W": "week", "M": "month", "Y": "year"}[d.unit]
    if unit == "day" and n % 7 == 0:
        n, unit = n // 7, "week"
    if unit == "year" and n == 1:
        n, unit = 12, "month"
    if n == 1:
        return f"in the last {unit}"
    return f"in the last {n} {unit}s"


def over_phrase(window) -> str:
    """The window after "down from 95% ...": "over the last 13 weeks", "over all records"."""
    phrase = window_phrase(window)
    return "over all records" if phrase == "on record" else phrase.replace("in the", "over the")


def _number(v: float) -> str:
    if v == 0:
        return "no"
    if float(v).is_integer():
        return f"{int(v):,}"
    return f"{v:,.1f}"


def _ago(days: float) -> str:
    d = int(days)
    if d < 14:
        return f"{d} day{'' if d == 1 else 's'} ago"
    if d < 61:
        return f"{d // 7} weeks ago"
    if d < 730:
        return f"{int(np.floor(d / 30.4375 + 0.5))} months ago"
    return f"{int(np.floor(d / 365.25 + 0.5))} years ago"


def _change(points: float) -> str:
    p = int(points)
    if p == 0:
        return "unchanged"
    return f"{'down' if p < 0 else 'up'} {abs(p)} point{'' if abs(p) == 1 else 's'}"


def _month(code: float) -> str:
    if code < 0:
        return ""
    return " since " + pd.Timestamp(year=int(code) // 12, month=int(code) % 12 + 1, day=1).strftime(
        "%B %Y"
    )


def whole(x) -> np.ndarray:
    """Round half up to whole numbers (as people read "81%")."""
    return np.floor(np.asarray(x, dtype=float) + 0.5)


#: A share that rounds to 0% or 100% without being exactly 0 or 1 is not written as if it were.
_PCT_EDGES = {-1.0: "under 1%", 101.0: "over 99%"}


def _pct_key(v) -> np.ndarray:
    v = np.clip(np.asarray(v, dtype=float), 0, 1)
    key = whole(v * 100)
    key = np.where((key == 0) & (v > 0), -1.0, key)
    return np.where((key == 100) & (v < 1), 101.0, key)


#: placeholder -> (how the row's value is keyed, how a key is written)
_FIELDS = {
    "n": (lambda v: np.round(v, 1), _number),
    "s": (lambda v: np.where(np.round(v, 1) == 1, 1.0, 0.0), lambda k: "" if k == 1 else "s"),
    "pct": (lambda v: _pct_key(v), lambda k: _PCT_EDGES.get(k, f"{int(k)}%")),
    "per100": (lambda v: whole(v * 100), lambda k: f"{int(k):,}"),
    "ago": (lambda v: np.maximum(np.floor(v), 0), _ago),
    "change": (lambda v: whole(v * 100), _change),
}


def template_fields(template: str) -> list[str]:
    return [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]


def fill(
    template: str,
    values: np.ndarray,
    *,
    window: str = "all",
    since_month: np.ndarray | None = None,
    suffix: np.ndarray | None = None,
) -> pd.Categorical:
    """Fill ``template`` for every row of ``values``, once per distinct sentence.

    Parameters
    ----------
    template : str
        A :class:`~riskscreen.features.Reason` template.
    values : array of float
        The feature value of each row.
    window : str
        The feature's lookback window (``{window}``).
    since_month : array of float, optional
        ``year * 12 + month - 1`` of a start date (``{since}``), -1 where unknown.
    suffix : Categorical or array of str, optional
        Text appended to each row's sentence (a trend clause, the direction).
    """
    values = np.asarray(values, dtype=float)
    n = len(values)
    fields = dict.fromkeys(template_fields(template))
    keys, writers = [], []
    for name in fields:
        if name == "window":
            continue
        if name == "since":
            key = np.full(n, -1.0) if since_month is None else np.asarray(since_month, float)
            keys.append(np.where(np.isnan(key), -1.0, key))
            writers.append((name, _month))
        else:
            keyer, writer = _FIELDS[name]
            keys.append(np.where(np.isnan(values), 0.0, keyer(values)))
            writers.append((name, writer))
    codes, parts = _combine(keys, n)
    extra = {"window": window_phrase(window)} if "window" in fields else {}
    texts = [
        template.format(**extra, **{name: w(k) for (name, w), k in zip(writers, key, strict=True)})
        for key in parts
    ]
    out = categorical(texts, codes)
    if suffix is None:
        return out
    return concat_text(out, suffix)


def _combine(keys: list[np.ndarray], n: int) -> tuple[np.ndarray, list[tuple]]:
    """Codes of the distinct rows of ``keys`` (columns) and the distinct rows themselves.

    Each column is factorized on its own (a hash of floats), the codes are packed
    into one int64 (mixed radix) and that is factorized again: no tuples per row.
    """
    if not keys:
        return np.zeros(n, dtype=np.int64), [()]
    codes, uniques = zip(*(pd.factorize(np.asarray(k, dtype=float)) for k in keys), strict=True)
    sizes = [max(len(u), 1) for u in uniques]
    if np.prod(np.asarray(sizes, dtype=float)) >= 2.0**62:  # pragma: no cover - absurdly many
        raise ValueError("too many distinct wordings to combine")
    packed = np.zeros(n, dtype=np.int64)
    for c, size in zip(codes, sizes, strict=True):
        packed = packed * size + c
    out, distinct = pd.factorize(packed)
    parts = []
    for value in np.asarray(distinct, dtype=np.int64):
        digits = []
        for size in reversed(sizes):
            value, digit = divmod(int(value), size)
            digits.append(digit)
        parts.append(tuple(u[d] for u, d in zip(uniques, reversed(digits), strict=True)))
    return out.astype(np.int64), parts


def categorical(texts: list[str], codes: np.ndarray) -> pd.Categorical:
    """Rows ``texts[codes]`` as a Categorical (distinct keys may write the same words)."""
    uniq, inverse = np.unique(np.asarray(texts, dtype=object), return_inverse=True)
    return pd.Categorical.from_codes(inverse[codes], categories=list(uniq))


def concat_text(left, right) -> pd.Categorical:
    """Row-wise ``left + right`` of two categoricals (or string arrays), per distinct pair."""
    a = pd.Categorical(left)
    b = pd.Categorical(right)
    codes, parts = _combine([a.codes.astype(float), b.codes.astype(float)], len(a))
    ca, cb = np.asarray(a.categories, dtype=object), np.asarray(b.categories, dtype=object)
    return categorical([ca[int(i)] + cb[int(j)] for i, j in parts], codes)
