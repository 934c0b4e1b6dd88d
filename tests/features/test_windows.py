from __future__ import annotations

import pytest

from riskscreen.features import Window, parse_window


@pytest.mark.parametrize(
    ("text", "n", "unit", "sql"),
    [
        ("28D", 28, "D", "INTERVAL '28' DAY"),
        ("12W", 12, "W", "INTERVAL '84' DAY"),
        ("6m", 6, "M", "INTERVAL '6' MONTH"),
        (" 1Y ", 1, "Y", "INTERVAL '1' YEAR"),
        ("2Y", 2, "Y", "INTERVAL '2' YEAR"),
    ],
)
def test_parse_window(text, n, unit, sql):
    w = parse_window(text)
    assert (w.n, w.unit) == (n, unit)
    assert w.interval_sql() == sql
    assert w.start_sql("a") == f"(a - {sql})"


def test_all_window():
    w = parse_window("all")
    assert w.is_all and w.start_sql("a") is None and w.words() == "all time"
    assert parse_window(w) is w
    with pytest.raises(ValueError, match="'horizon' parameter of make_labels"):
        parse_window("all", parameter="horizon", owner="make_labels", allow_all=False)


@pytest.mark.parametrize("bad", ["28", "D28", "0D", "-3M", "1.5Y", "12 weeks", "", None, 28])
def test_unknown_window_strings_are_rejected(bad):
    with pytest.raises(ValueError, match=r"'window' parameter of Feature must be a positive"):
        parse_window(bad)


def test_words():
    assert parse_window("1Y").words() == "12 months"
    assert parse_window("13W").words() == "13 weeks"
    assert parse_window("1D").words() == "1 day"
    assert isinstance(parse_window("1D"), Window)
