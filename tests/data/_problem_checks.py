"""Helpers for the validation tests: corrupt the histories, then check what is reported.

A test case is one line of data: a *mutation* of the small valid histories of
:mod:`_data_histories` and the :class:`Reported` problems it must cause.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import pytest

from riskscreen.data import DataValidationError, LinkedHistories, Problem

Mutation = Callable[[LinkedHistories], object]


@dataclass(frozen=True)
class Reported:
    """A problem that must be reported once, in the structured problems and the message.

    Parameters
    ----------
    where : str
        ``"table.column"``, or ``"table"`` for a problem about the whole table.
    rule : str
        The rule's short name.
    rows : list
        The example row index labels, in order.
    expected : str
        A text the problem's ``expected`` contains (also found in its line).
    n_rows : int, optional
        The number of offending rows, when checked.
    got : str, optional
        The problem's ``got`` text exactly, when checked.
    got_has : tuple of str, default=()
        Texts the problem's ``got`` contains.
    line_has : tuple of str, default=()
        Texts the problem's line of the message contains.
    """

    where: str
    rule: str
    rows: list
    expected: str
    n_rows: int | None = None
    got: str | None = None
    got_has: tuple[str, ...] = ()
    line_has: tuple[str, ...] = ()

    @property
    def table(self) -> str:
        return self.where.partition(".")[0]

    @property
    def column(self) -> str | None:
        return self.where.partition(".")[2] or None


def validation_error(histories: LinkedHistories) -> DataValidationError:
    """The error ``histories.validate()`` raises (failing the test if it raises none)."""
    with pytest.raises(DataValidationError) as info:
        histories.validate()
    return info.value


def assert_reported(error: DataValidationError, reported: Reported) -> Problem:
    """Check the structured problem and the line of the message that reports it."""
    table, column, rule, expected = (
        reported.table,
        reported.column,
        reported.rule,
        reported.expected,
    )
    found = [
        p
        for p in error.problems
        if p.table == table and p.column == column and p.rule == rule and expected in p.expected
    ]
    assert len(found) == 1, f"expected one {rule} problem for {table}.{column} in:\n{error}"
    problem = found[0]
    assert list(problem.rows) == reported.rows
    assert expected in problem.expected
    if reported.n_rows is not None:
        assert problem.n_rows == reported.n_rows
    if reported.got is not None:
        assert problem.got == reported.got
    for text in reported.got_has:
        assert text in problem.got, problem.got
    where = reported.where
    lines = [
        line
        for line in str(error).splitlines()
        if f"{where}:" in line and f"[{rule}]" in line and expected in line
    ]
    assert len(lines) == 1, str(error)
    assert expected in lines[0]
    if reported.rows:
        assert "(index " + ", ".join(str(r) for r in reported.rows) in lines[0]
    for text in reported.line_has:
        assert text in lines[0], lines[0]
    return problem


def assert_all_reported(mutation: Mutation, histories: LinkedHistories, *reported: Reported):
    """Corrupt ``histories`` with ``mutation``; check that validate reports each problem."""
    mutation(histories)
    error = validation_error(histories)
    for one in reported:
        assert_reported(error, one)


def setting(table: str, **columns: object) -> Mutation:
    """Set columns of a canonical table in place."""

    def mutate(histories: LinkedHistories) -> None:
        frame = getattr(histories, table)
        for column, values in columns.items():
            frame[column] = values

    return mutate


def setting_custom(name: str, **columns: object) -> Mutation:
    """Set columns of the frame of a custom source in place."""

    def mutate(histories: LinkedHistories) -> None:
        frame, _ = histories.custom[name]
        for column, values in columns.items():
            frame[column] = values

    return mutate


def replacing(table: str, change: Callable[[pd.DataFrame], object]) -> Mutation:
    """Replace a canonical table by ``change(table)``."""

    def mutate(histories: LinkedHistories) -> None:
        setattr(histories, table, change(getattr(histories, table)))

    return mutate


def doing(*mutations: Mutation) -> Mutation:
    """Apply several mutations in order."""

    def mutate(histories: LinkedHistories) -> None:
        for mutation in mutations:
            mutation(histories)

    return mutate
