"""Temporal cross-validation over rows indexed by (pupil_id, as_of_date)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pandas as pd

from riskscreen._time import DatedHorizons, Duration, as_of_dates, parse_duration, parse_horizon

AS_OF = "as_of_date"


def as_of_dates_of(X=None, groups=None) -> np.ndarray:
    """The as-of date of every row, from ``groups`` or from X's ``as_of_date`` index level."""
    if groups is not None:
        dates = pd.to_datetime(pd.Index(np.asarray(groups)))
    elif isinstance(getattr(X, "index", None), pd.MultiIndex) and AS_OF in X.index.names:
        dates = pd.to_datetime(X.index.get_level_values(AS_OF))
    else:
        raise ValueError(
            "TemporalSplit needs the as-of date of every row: pass X indexed by "
            "(pupil_id, as_of_date) or groups= with one as-of date per row. "
            f"Got X of type {type(X).__name__} without an 'as_of_date' index level and no groups."
        )
    return dates.to_numpy(dtype="datetime64[ns]")


class TemporalSplit:
    """Rolling-origin temporal cross-validation on as-of dates: the temporal rule.

    Each fold tests on one as-of date and trains on earlier as-of dates whose
    label windows have closed by then (``train as_of + horizon <= test as_of``),
    so no training label can see the test period. Random splits are not offered.

    This class is the one place that rule is written: the
    :class:`~riskscreen.Screener` picks its training and calibration dates with
    :meth:`holdout`, chooses LightGBM's early-stopping date with it, and refuses
    test dates with :meth:`check_test_dates`.

    Parameters
    ----------
    n_splits : int, default=3
        Number of folds: the latest ``n_splits`` as-of dates that have at least
        one eligible training date are used as test dates. Ignored when
        ``test_dates`` is given.
    horizon : str, Duration or dict, default="365D"
        Label window length (e.g. ``"365D"``, ``"12M"``, ``"1Y"``), or one per
        as-of date (``{date: duration}``); the gap enforced between a training
        date and a test date is the training date's own horizon.
    test_dates : sequence of dates, optional
        Explicit test as-of dates (rolling origin at a frequency of your choice).
    max_train_dates : int, optional
        Keep only the latest this-many eligible training dates (sliding window).
    max_train_span : str or Duration, optional
        Keep only training dates within this span before the test date.

    Examples
    --------
    >>> import pandas as pd
    >>> dates = pd.to_datetime(["2020-01-01", "2021-01-01", "2022-01-01"] * 2)
    >>> cv = TemporalSplit(n_splits=1, horizon="365D")
    >>> [(tr.tolist(), te.tolist()) for tr, te in cv.split(groups=dates)]
    [([0, 1, 3, 4], [2, 5])]
    """

    def __init__(
        self,
        n_splits: int = 3,
        *,
        horizon="365D",
        test_dates: Sequence | None = None,
        max_train_dates: int | None = None,
        max_train_span=None,
    ) -> None:
        self.n_splits = n_splits
        self.horizon = horizon
        self.test_dates = test_dates
        self.max_train_dates = max_train_dates
        self.max_train_span = max_train_span

    def __repr__(self) -> str:
        params = ", ".join(
            f"{k}={getattr(self, k)!r}"
            for k in ("n_splits", "horizon", "test_dates", "max_train_dates", "max_train_span")
        )
        return f"TemporalSplit({params})"

    def _horizon(self) -> Duration | DatedHorizons:
        return parse_horizon(self.horizon, parameter="horizon", owner="TemporalSplit")

    def closes_before(self, train_date, test_date) -> bool:
        """Whether the label window of ``train_date`` closes by ``test_date``."""
        return self._horizon().after(train_date) <= pd.Timestamp(test_date)

    def holdout(self, dates, n_test: int = 1) -> tuple[list[pd.Timestamp], list[pd.Timestamp]]:
        """(train dates, test dates): the latest ``n_test`` dates held out.

        Training dates are those whose label windows close before the earliest
        held-out date. Raises when there are not enough dates or none qualifies.
        """
        unique = list(as_of_dates(dates, owner="TemporalSplit.holdout"))
        if len(unique) <= n_test:
            raise ValueError(
                f"TemporalSplit.holdout needs more than {n_test} as-of date(s) to hold out "
                f"{n_test}; got {len(unique)}: {[str(d.date()) for d in unique]}."
            )
        test = unique[-n_test:]
        train = [d for d in unique[:-n_test] if self.closes_before(d, test[0])]
        if not train:
            raise ValueError(
                f"No as-of date is at least horizon={self._horizon().text!r} before the "
                f"held-out date {test[0].date()}; pass as-of dates spanning more than the "
                "horizon."
            )
        return train, test

    def check_test_dates(self, train_dates, test_dates) -> None:
        """Raise if a test date falls inside the label window of a training date."""
        train = list(as_of_dates(train_dates, owner="TemporalSplit"))
        tests = list(as_of_dates(test_dates, owner="TemporalSplit"))
        early = [t for t in tests if not all(self.closes_before(d, t) for d in train)]
        if early:
            first_clean = self._horizon().after(max(train))
            raise ValueError(
                f"Test as-of date(s) {[str(d.date()) for d in early]} fall inside the "
                f"{self._horizon().text} label window of training date {max(train).date()}: "
                f"the model has seen those outcomes. Use as-of dates from "
                f"{first_clean.date()} on."
            )

    def _validate(self) -> None:
        if self.test_dates is None and (
            not isinstance(self.n_splits, (int, np.integer)) or self.n_splits < 1
        ):
            raise ValueError(
                "The 'n_splits' parameter of TemporalSplit must be a positive integer. "
                f"Got {self.n_splits!r} instead."
            )
        if self.max_train_dates is not None and (
            not isinstance(self.max_train_dates, (int, np.integer)) or self.max_train_dates < 1
        ):
            raise ValueError(
                "The 'max_train_dates' parameter of TemporalSplit must be a positive integer "
                f"or None. Got {self.max_train_dates!r} instead."
            )

    def date_folds(self, X=None, y=None, groups=None) -> list[tuple[np.ndarray, np.datetime64]]:
        """The (train dates, test date) pairs, without row indices."""
        self._validate()
        dates = as_of_dates_of(X, groups)
        unique = np.unique(dates)
        horizon = self._horizon()
        span = (
            None
            if self.max_train_span is None
            else parse_duration(
                self.max_train_span, parameter="max_train_span", owner="TemporalSplit"
            )
        )

        def train_dates_for(test: np.datetime64) -> np.ndarray:
            ts = pd.Timestamp(test)
            ok = np.array([self.closes_before(d, ts) for d in unique], dtype=bool)
            if span is not None:
                ok &= np.array([pd.Timestamp(d) >= span.before(ts) for d in unique], dtype=bool)
            chosen = unique[ok]
            if self.max_train_dates is not None:
                chosen = chosen[-int(self.max_train_dates) :]
            return chosen

        if self.test_dates is not None:
            tests = pd.to_datetime(pd.Index(list(self.test_dates))).to_numpy("datetime64[ns]")
            missing = np.setdiff1d(tests, unique)
            if missing.size:
                raise ValueError(
                    "The 'test_dates' parameter of TemporalSplit must name as-of dates present "
                    f"in the data ({[str(pd.Timestamp(d).date()) for d in unique]}). Got "
                    f"{[str(pd.Timestamp(d).date()) for d in missing]} which are absent."
                )
            folds = []
            for t in np.sort(tests):
                train = train_dates_for(t)
                if train.size == 0:
                    raise ValueError(
                        f"No training as-of date is at least horizon={horizon.text!r} before "
                        f"test date {pd.Timestamp(t).date()}; choose a later test date or a "
                        "shorter horizon."
                    )
                folds.append((train, t))
            return folds
        eligible = [(train_dates_for(t), t) for t in unique]
        eligible = [(tr, t) for tr, t in eligible if tr.size > 0]
        if len(eligible) < self.n_splits:
            raise ValueError(
                f"TemporalSplit(n_splits={self.n_splits}) needs {self.n_splits} test as-of dates "
                f"with at least one training date horizon={horizon.text!r} earlier; the data has "
                f"{len(unique)} as-of dates of which {len(eligible)} qualify."
            )
        return eligible[-int(self.n_splits) :]

    def split(self, X=None, y=None, groups=None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield (train row positions, test row positions) per fold, oldest fold first."""
        dates = as_of_dates_of(X, groups)
        for train_dates, test_date in self.date_folds(X, y, groups):
            yield (
                np.flatnonzero(np.isin(dates, train_dates)),
                np.flatnonzero(dates == test_date),
            )

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        """Number of folds (needs the data unless ``test_dates`` is given)."""
        if self.test_dates is not None:
            return len(list(self.test_dates))
        if X is None and groups is None:
            self._validate()
            return int(self.n_splits)
        return len(self.date_folds(X, y, groups))


class TemporalSplitDisplay:
    """Plot of the folds of a :class:`TemporalSplit`: as-of dates by fold and role.

    Create with :meth:`from_splitter`; matplotlib is imported only when drawing.

    Attributes
    ----------
    folds_ : DataFrame
        One row per (fold, as-of date) with role 'train', 'gap', 'test' or 'unused'
        and the number of rows at that date.
    ax_, figure_ : matplotlib objects, set by :meth:`plot`.
    """

    def __init__(self, folds: pd.DataFrame) -> None:
        self.folds_ = folds

    @classmethod
    def from_splitter(cls, splitter: TemporalSplit, X=None, *, groups=None, ax=None, plot=True):
        dates = as_of_dates_of(X, groups)
        unique, counts = np.unique(dates, return_counts=True)
        rows = []
        for i, (train, test) in enumerate(splitter.date_folds(X, None, groups)):
            for d, n in zip(unique, counts, strict=True):
                if d == test:
                    role = "test"
                elif d in train:
                    role = "train"
                elif d < test:
                    role = "gap"
                else:
                    role = "unused"
                rows.append({"fold": i, "as_of_date": pd.Timestamp(d), "role": role, "n_rows": n})
        display = cls(pd.DataFrame(rows))
        if plot:
            display.plot(ax=ax)
        return display

    def plot(self, ax=None):
        try:
            import matplotlib.pyplot as plt
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError(
                "TemporalSplitDisplay.plot needs matplotlib: pip install 'riskscreen[plot]'."
            ) from exc

        if ax is None:
            _, ax = plt.subplots(
                figsize=(8, 1.6 + 0.45 * self.folds_["fold"].nunique()), layout="constrained"
            )
        colours = {"train": "#1f77b4", "gap": "#bbbbbb", "test": "#d62728", "unused": "#eeeeee"}
        for role, part in self.folds_.groupby("role", sort=False):
            ax.scatter(
                part["as_of_date"], part["fold"], s=120, marker="s", c=colours[role], label=role
            )
        ax.set_yticks(sorted(self.folds_["fold"].unique()))
        ax.set_ylabel("fold")
        ax.set_xlabel("as-of date")
        ax.invert_yaxis()
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
        for label in ax.get_xticklabels():
            label.set_rotation(30)
            label.set_horizontalalignment("right")
        ax.set_title("Temporal splits (train label windows close before the test date)")
        self.ax_ = ax
        self.figure_ = ax.figure
        return self
