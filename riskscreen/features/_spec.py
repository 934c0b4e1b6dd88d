"""Declarative feature specifications: quantity x aggregate x lookback window."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace

import pandas as pd

from riskscreen._time import Duration, parse_duration

EVENT_AGGREGATES = {
    "count": "number of events",
    "any": "1 if there is at least one event, else 0",
    "sum": "sum of the quantity",
    "mean": "mean of the quantity per event",
    "rate": "sum of the quantity / sum of the denominator",
    "max": "largest value of the quantity",
    "min": "smallest value of the quantity",
    "days_since_first": "days from the first event to the as-of date",
    "days_since_last": "days from the latest event to the as-of date",
    "trend": "least-squares slope of the quantity per 28 days",
    "current": "value of the quantity at the latest event",
}
SPELL_AGGREGATES = {
    "active": "1 if a spell is open on the as-of date, else 0",
    "days_active": "days on which a spell was open within the window",
    "spell_count": "number of spells started within the window",
    "ended_count": "number of spells that ended within the window",
    "days_since_start": "days since the latest spell started",
    "days_since_end": "days since the latest spell ended",
}
OTHER_AGGREGATES = {
    "school_rate": "events at the pupil's current school per pupil on its roll",
    "value": "a column of the cohort (e.g. ncyear)",
}
AGGREGATES = {**EVENT_AGGREGATES, **SPELL_AGGREGATES, **OTHER_AGGREGATES}

#: Aggregates that can have no value (no event, no denominator, no school).
MISSABLE = frozenset(
    {
        "mean",
        "rate",
        "max",
        "min",
        "days_since_first",
        "days_since_last",
        "trend",
        "current",
        "days_since_start",
        "days_since_end",
        "school_rate",
    }
)
#: Aggregates that need a quantity column.
NEEDS_COLUMN = frozenset({"sum", "mean", "rate", "max", "min", "trend", "current", "value"})

#: Default imputation for missable aggregates: days since "never" -> 10 years.
DEFAULT_IMPUTE = {"days_since_first": 3650.0, "days_since_last": 3650.0}
DEFAULT_IMPUTE.update({"days_since_start": 3650.0, "days_since_end": 3650.0})

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_OPS = ("==", "!=", "in", "not in", "contains", "month_in", "is_null", "not_null")


@dataclass(frozen=True)
class Condition:
    """A filter on the rows of a source, built with :class:`Col`.

    Conditions combine with ``&`` (and), ``|`` (or) and ``~`` (not). A condition
    over several columns (``Col("reason", "reason_2").isin(...)``) holds when it
    holds for any of them.
    """

    op: str
    columns: tuple[str, ...] = ()
    value: tuple = ()
    parts: tuple[Condition, ...] = ()

    def __and__(self, other: Condition) -> Condition:
        return Condition("and", parts=(self, other))

    def __or__(self, other: Condition) -> Condition:
        return Condition("or", parts=(self, other))

    def __invert__(self) -> Condition:
        return Condition("not", parts=(self,))

    def all_columns(self) -> set[str]:
        cols = set(self.columns)
        for p in self.parts:
            cols |= p.all_columns()
        return cols

    def words(self) -> str:
        if self.op in ("and", "or"):
            return f" {self.op} ".join(f"({p.words()})" for p in self.parts)
        if self.op == "not":
            return f"not ({self.parts[0].words()})"
        cols = "/".join(self.columns)
        vals = ", ".join(str(v) for v in self.value)
        if self.op in ("is_null", "not_null"):
            return f"{cols} {self.op.replace('_', ' ')}"
        return f"{cols} {self.op} {vals}"


class Col:
    """A column (or several, meaning "any of them") to filter on.

    Examples
    --------
    >>> from riskscreen.features import Col
    >>> cond = (Col("kind") == "suspension") & Col("reason", "reason_2").isin(["PP", "PA"])
    >>> cond.words()
    '(kind == suspension) and (reason/reason_2 in PP, PA)'
    """

    __hash__ = None  # type: ignore[assignment]

    def __init__(self, *columns: str) -> None:
        if not columns or not all(isinstance(c, str) and c for c in columns):
            raise ValueError(f"Col needs one or more column names. Got {columns!r} instead.")
        self.columns = tuple(columns)

    def __eq__(self, value) -> Condition:  # type: ignore[override]
        if value is None:
            return Condition("is_null", self.columns)
        return Condition("==", self.columns, (value,))

    def __ne__(self, value) -> Condition:  # type: ignore[override]
        if value is None:
            return Condition("not_null", self.columns)
        return Condition("!=", self.columns, (value,))

    def isin(self, values: Iterable) -> Condition:
        return Condition("in", self.columns, tuple(values))

    def notin(self, values: Iterable) -> Condition:
        return Condition("not in", self.columns, tuple(values))

    def contains_code(self, *codes: str) -> Condition:
        """Holds when a comma-separated code list (e.g. assessment factors) has any code."""
        return Condition("contains", self.columns, tuple(codes))

    def month_in(self, *months: int) -> Condition:
        """Holds when a date column falls in one of the calendar months (1-12)."""
        return Condition("month_in", self.columns, tuple(int(m) for m in months))

    def isnull(self) -> Condition:
        return Condition("is_null", self.columns)

    def notnull(self) -> Condition:
        return Condition("not_null", self.columns)


def _as_condition(where) -> Condition | None:
    if where is None:
        return None
    if isinstance(where, Condition):
        return where
    if isinstance(where, Mapping):
        conds = []
        for col, val in where.items():
            if isinstance(val, (list, tuple, set, frozenset)):
                conds.append(Col(col).isin(sorted(val, key=str)))
            else:
                conds.append(Col(col) == val)
        out = conds[0]
        for c in conds[1:]:
            out = out & c
        return out
    if isinstance(where, Sequence) and not isinstance(where, str):
        parts = [_as_condition(w) for w in where]
        if not parts:
            return None
        out = parts[0]
        for c in parts[1:]:
            out = out & c
        return out
    raise ValueError(
        "The 'where' parameter of Feature must be a Condition (e.g. Col('kind') == "
        f"'suspension'), a dict of column -> value(s), or a list of those. Got {where!r} instead."
    )


#: Placeholders of :class:`Reason` templates.
REASON_PLACEHOLDERS = ("n", "s", "pct", "per100", "window", "ago", "since", "change")


@dataclass(frozen=True)
class Reason:
    """How a feature reads as a reason in words (used by :mod:`riskscreen.explain`).

    ``text`` is the reason for the pupil's value (None: built from the description),
    ``zero`` replaces it when the value is 0 (a 0/1 flag that is off), ``missing``
    when the feature had no value and was imputed ("never suspended"). Features of
    one ``group`` give one reason with their contributions added up (windows of one
    quantity, levels of one code; default: the feature's name). Templates hold
    placeholders in braces: ``{n}`` the number ("no" for 0), ``{s}`` "s" unless it
    is 1, ``{pct}`` a 0-1 share as "81%", ``{per100}`` a rate per 100, ``{window}``
    "in the last 12 months" ("on record" for all), ``{ago}`` days as "3 weeks ago",
    ``{since}`` " since March 2025" when a start date is known (else nothing),
    ``{change}`` a change of a share as "down 14 points".
    E.g. ``Reason("{n} suspension{s} {window}", group="suspensions")``.
    """

    text: str | None = None
    zero: str | None = None
    missing: str | None = None
    group: str | None = None

    def __post_init__(self) -> None:
        import string

        for name in ("text", "zero", "missing", "group"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str):
                raise ValueError(
                    f"The {name!r} parameter of Reason must be a string or None. "
                    f"Got {type(value).__name__} instead."
                )
            try:
                parsed = [] if value is None or name == "group" else string.Formatter().parse(value)
                unknown = {f for _, f, _, _ in parsed if f is not None} - set(REASON_PLACEHOLDERS)
            except ValueError:
                unknown = {"(unbalanced braces)"}
            if unknown:
                raise ValueError(
                    f"The {name!r} parameter of Reason uses unknown placeholders "
                    f"{sorted(unknown)}; known: {list(REASON_PLACEHOLDERS)}. Got {value!r}."
                )


@dataclass(frozen=True)
class Feature:
    """One feature: an aggregate of a quantity over a lookback window of a source.

    Parameters
    ----------
    name : str
        snake_case column name in the feature matrix.
    source : str
        A canonical table (``"exclusions"``, ``"attendance"``, ``"sen"``, ...), the
        name of a custom table in ``LinkedHistories.custom``, or ``"cohort"``
        (columns of the cohort: ``ncyear``, ``on_roll``).
    aggregate : str
        One of :data:`AGGREGATES` (see :func:`riskscreen.features.describe_aggregates`).
    window : str, default "all"
        Lookback window, e.g. ``"28D"``, ``"12W"``, ``"6M"``, ``"1Y"``, ``"all"``.
    description : str
        What the feature means in words, used in explanations and model cards.
    column : str or mapping of str to float, optional
        The quantity: a column, or a linear combination ``{column: coefficient}``
        (e.g. attended sessions = possible - authorised - unauthorised).
    denominator : str or mapping, optional
        For ``rate`` (and optionally ``trend``): the quantity divided by.
    where : Condition, dict or list, optional
        Rows the feature counts (e.g. ``Col("kind") == "suspension"``).
    compare_window : str, optional
        If given, the feature is ``aggregate(window) - aggregate(compare_window)``
        (e.g. attendance over the last 4 weeks minus over the last year).
    threshold : float, optional
        If given, the feature is the 0/1 flag ``aggregate >= threshold``.
    impute : float, "median" or None
        Value used where the feature has no value (only for aggregates in
        :data:`MISSABLE`). None means 0, or 3650 days for ``days_since_*``.
        ``"median"`` is learned by :class:`FeatureBuilder` in ``fit``;
        ``float("nan")`` keeps it missing (LightGBM handles missing values itself).
    indicator : bool, default True
        Add a 0/1 ``<name>__missing`` column where imputation was applied
        (only for aggregates that can be missing).
    monotone : {-1, 0, 1}, default 0
        Monotone-constraint hint for gradient boosting: +1 if risk should not
        decrease as the feature grows.
    reason : Reason or str, optional
        How the feature reads as a reason in words (a string is ``Reason(text)``).
        Not part of the definition: features differing only in ``reason`` are equal.
    """

    name: str
    source: str
    aggregate: str
    window: str = "all"
    description: str = ""
    column: str | Mapping[str, float] | None = None
    denominator: str | Mapping[str, float] | None = None
    where: object = None
    compare_window: str | None = None
    threshold: float | None = None
    impute: float | str | None = None
    indicator: bool = True
    monotone: int = 0
    reason: Reason | str | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        owner = f"Feature {self.name!r}"
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ValueError(
                f"The 'name' parameter of Feature must be snake_case (lower-case letters, digits "
                f"and underscores, starting with a letter). Got {self.name!r} instead."
            )
        if self.aggregate not in AGGREGATES:
            raise ValueError(
                f"The 'aggregate' parameter of {owner} must be one of "
                f"{sorted(AGGREGATES)}. Got {self.aggregate!r} instead."
            )
        parse_duration(self.window, parameter="window", owner=owner, allow_all=True)
        if self.compare_window is not None:
            parse_duration(
                self.compare_window, parameter="compare_window", owner=owner, allow_all=True
            )
        if self.aggregate in NEEDS_COLUMN and self.column is None:
            raise ValueError(
                f"The 'column' parameter of {owner} is required for aggregate "
                f"{self.aggregate!r}. Got None instead."
            )
        if self.aggregate == "rate" and self.denominator is None:
            raise ValueError(
                f"The 'denominator' parameter of {owner} is required for aggregate 'rate'. "
                "Got None instead."
            )
        if self.monotone not in (-1, 0, 1):
            raise ValueError(
                f"The 'monotone' parameter of {owner} must be -1, 0 or 1. "
                f"Got {self.monotone!r} instead."
            )
        if not (self.impute is None or self.impute == "median" or _is_number(self.impute)):
            raise ValueError(
                f"The 'impute' parameter of {owner} must be a number, 'median' or None. "
                f"Got {self.impute!r} instead."
            )
        object.__setattr__(self, "where", _as_condition(self.where))
        if isinstance(self.reason, str):
            object.__setattr__(self, "reason", Reason(text=self.reason))
        elif not isinstance(self.reason, (Reason, type(None))):
            raise ValueError(f"The 'reason' parameter of {owner} must be a Reason or a string.")
        if not self.description:
            object.__setattr__(self, "description", self._auto_description())

    # -- derived -------------------------------------------------------------------------------
    @property
    def window_(self) -> Duration:
        return parse_duration(self.window, allow_all=True)

    @property
    def can_be_missing(self) -> bool:
        return self.aggregate in MISSABLE

    @property
    def impute_value(self) -> float | str | None:
        """The stated imputation (None if the feature cannot be missing)."""
        if not self.can_be_missing:
            return None
        if self.impute is not None:
            return self.impute
        return DEFAULT_IMPUTE.get(self.aggregate, 0.0)

    @property
    def has_indicator(self) -> bool:
        return self.can_be_missing and self.indicator

    def output_names(self) -> list[str]:
        return [self.name, f"{self.name}__missing"] if self.has_indicator else [self.name]

    def columns_used(self) -> set[str]:
        cols: set[str] = set()
        for q in (self.column, self.denominator):
            if isinstance(q, str):
                cols.add(q)
            elif isinstance(q, Mapping):
                cols |= set(q)
        if self.where is not None:
            cols |= self.where.all_columns()
        return cols

    def _auto_description(self) -> str:
        w = self.window_
        what = AGGREGATES[self.aggregate]
        if self.column is not None and self.aggregate not in ("rate",):
            what += f" of {_quantity_words(self.column)}"
        if self.aggregate == "rate":
            what = f"{_quantity_words(self.column)} / {_quantity_words(self.denominator)}"
        text = f"{what[0].upper()}{what[1:]} in {self.source}"
        if self.where is not None:
            text += f" where {self.where.words()}"
        if not w.is_all:
            text += f", in the {w.words()} before the screening date"
        if self.compare_window is not None:
            other = parse_duration(self.compare_window, allow_all=True)
            text += f", minus the same over {other.words()}"
        if self.threshold is not None:
            text += f"; 1 if at least {self.threshold}, else 0"
        return text


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _quantity_words(q) -> str:
    if isinstance(q, str):
        return q
    return " ".join(f"{'+' if c >= 0 else '-'} {k}" for k, c in q.items()).lstrip("+ ")


@dataclass(frozen=True)
class FeatureSpec:
    """An ordered collection of :class:`Feature` definitions.

    Parameters
    ----------
    features : sequence of Feature
        The features, in output column order. Names must be unique.
    """

    features: tuple[Feature, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        feats = tuple(self.features)
        for f in feats:
            if not isinstance(f, Feature):
                raise ValueError(
                    f"The 'features' parameter of FeatureSpec must hold Feature objects. "
                    f"Got {f!r} instead."
                )
        names = [n for f in feats for n in f.output_names()]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"FeatureSpec has duplicate feature names: {dupes}.")
        object.__setattr__(self, "features", feats)

    def __iter__(self) -> Iterator[Feature]:
        return iter(self.features)

    def __len__(self) -> int:
        return len(self.features)

    def __getitem__(self, name: str) -> Feature:
        for f in self.features:
            if f.name == name:
                return f
        raise KeyError(f"No feature named {name!r} in this FeatureSpec.")

    def __add__(self, other: FeatureSpec | Sequence[Feature]) -> FeatureSpec:
        return FeatureSpec(self.features + tuple(other))

    @property
    def names(self) -> list[str]:
        """Feature names (without the ``__missing`` indicators)."""
        return [f.name for f in self.features]

    def output_names(self) -> list[str]:
        """Column names of the feature matrix, indicators right after their feature."""
        return [n for f in self.features for n in f.output_names()]

    def select(self, names: Iterable[str]) -> FeatureSpec:
        """A spec with only the named features, in the order given."""
        return FeatureSpec(tuple(self[n] for n in names))

    def with_impute(self, values: Mapping[str, float]) -> FeatureSpec:
        """A copy where the named features impute the given constants."""
        return FeatureSpec(
            tuple(replace(f, impute=values[f.name]) if f.name in values else f for f in self)
        )

    def monotone_constraints(self) -> dict[str, int]:
        """Monotone-constraint hints by output column (indicators get 0)."""
        out = {}
        for f in self.features:
            out[f.name] = f.monotone
            if f.has_indicator:
                out[f"{f.name}__missing"] = 0
        return out

    def describe(self) -> pd.DataFrame:
        """One row per feature: name, description, source, aggregate, window, imputation."""
        rows = []
        for f in self.features:
            imp = f.impute_value
            rows.append(
                {
                    "name": f.name,
                    "description": f.description,
                    "source": f.source,
                    "aggregate": f.aggregate,
                    "window": f.window_.text
                    + (f" vs {f.compare_window}" if f.compare_window else ""),
                    "filter": f.where.words() if f.where is not None else "",
                    "imputation": "none (never missing)"
                    if imp is None
                    else (f"{imp}" + (" + indicator" if f.has_indicator else "")),
                    "monotone": f.monotone,
                }
            )
        return pd.DataFrame(rows)

    def _repr_html_(self) -> str:
        return self.describe().to_html(index=False)
