"""The running-totals plan's projection in NumPy gives DuckDB's values, nulls and types."""

import duckdb
import numpy as np
import pyarrow as pa
import pytest

from riskscreen.features import _project as project_module
from riskscreen.features._project import DAY_US, Projection, Unsupported, _Parser, validity

N = 400


def _table(seed: int = 0) -> pa.Table:
    """Columns of every kind the compiler's projection reads, with missing values."""
    rng = np.random.default_rng(seed)

    def masked(values, frac=0.3):
        return pa.array(values, mask=rng.random(N) < frac)

    dates = np.array(["2021-09-01", "2022-01-05", "2022-04-20"], dtype="datetime64[D]")
    asof = dates[np.sort(rng.integers(0, 3, N))]
    seen = asof - rng.integers(0, 900, N).astype("timedelta64[D]")
    counts = rng.integers(0, 4, N).astype(np.float32)
    return pa.table(
        {
            "pupil_id": np.arange(N, dtype=np.int64),
            "as_of_date": pa.array(asof),
            "n32": masked(counts, 0.5),  # counts as floats (whole numbers)
            "d32": masked(rng.integers(0, 40, N).astype(np.float32), 0.1),
            "x": masked(np.round(rng.normal(0.5, 1, N), 3)),
            "y": masked(rng.choice([0.0, 0.0, 1.5, 2.0, -3.0], N)),
            "full": rng.random(N),  # never missing
            "k": masked(rng.integers(0, 12, N).astype(np.int16), 0.2),
            "last": masked(seen, 0.4),
            "last_ts": pa.array(
                seen.astype("datetime64[us]") + np.timedelta64(13, "h"), mask=rng.random(N) < 0.2
            ),
            "flag": masked(rng.random(N) < 0.5, 0.2),
            "empty": pa.nulls(N, pa.float64()),
            "big": masked(rng.integers(-(2**40), 2**40, N)).cast(pa.decimal128(38, 0)),
            "n_dec": masked(rng.integers(0, 30, N)).cast(pa.decimal128(38, 1)),
            "frac": pa.array(rng.integers(0, 30, N) / 4).cast(pa.decimal128(10, 2)),
        }
    )


#: as-of dates and the window start ``ws_1y`` of each (the compiler's cohort_w column)
_DATES = np.array(["2021-09-01", "2022-01-05", "2022-04-20"], dtype="datetime64[D]")
_STARTS = {"ws_1y": np.array(["2020-09-01", "2021-01-05", "2021-04-20"], dtype="datetime64[D]")}


def _us(days) -> np.ndarray:
    return days.astype(np.int64) * DAY_US


def _duckdb(table: pa.Table, layers, outputs) -> pa.Table:
    """The same projection as SQL, as the compiler writes it, run by DuckDB."""
    starts = "(c.as_of_date - INTERVAL '1' YEAR) AS ws_1y"
    ctes = ["cohort AS (SELECT * FROM t)", f"cohort_w AS (SELECT c.*, {starts} FROM cohort AS c)"]
    before = "cohort_w"
    for i, layer in enumerate(layers):
        cols = "".join(f", {e} AS {a}" for a, e in layer)
        ctes.append(f"l{i} AS (SELECT c.*{cols} FROM {before} AS c)")
        before = f"l{i}"
    select = ", ".join(["pupil_id", "as_of_date"] + [f'{e} AS "{n}"' for n, e in outputs])
    con = duckdb.connect()
    con.register("t", table)
    return con.sql(f"WITH {', '.join(ctes)} SELECT {select} FROM {before}").to_arrow_table()


def _project(layers, outputs) -> Projection:
    starts = {k: _us(v) for k, v in _STARTS.items()}
    return Projection(layers, outputs, ["pupil_id", "as_of_date"], _us(_DATES), starts)


#: expressions as the compiler writes them, and others of the same grammar
EXPRESSIONS = [
    "CAST(c.n32 AS DOUBLE)",
    "CAST(COALESCE(CAST(c.n32 AS DOUBLE), 0) AS DOUBLE)",
    "COALESCE(CAST(c.x AS DOUBLE), 0.0)",
    "(CAST(c.n32 AS DOUBLE) / NULLIF(CAST(c.d32 AS DOUBLE), 0.0))",
    "(CAST(c.x AS DOUBLE) / NULLIF(CAST(c.y AS DOUBLE), 0.0))",
    "(c.x / c.y)",  # division by zero: infinite or NaN, as in DuckDB
    "((CAST(c.n32 AS DOUBLE) / NULLIF(CAST(c.d32 AS DOUBLE), 0.0)) - (c.x / NULLIF(c.y, 0.0)))",
    "(CASE WHEN c.x IS NULL THEN NULL WHEN c.x >= 0.5 THEN 1.0 ELSE 0.0 END)",
    "(CASE WHEN CAST(c.n32 AS DOUBLE) IS NULL THEN c.y WHEN c.y IS NULL THEN "
    "CAST(c.n32 AS DOUBLE) ELSE CAST(c.n32 AS DOUBLE) + c.y END)",
    "(CASE WHEN c.x IS NOT NULL OR c.y IS NOT NULL THEN 1 END)",
    "CAST(DATE_DIFF('day', c.last, c.as_of_date) AS DOUBLE)",
    "CAST(DATE_DIFF('day', c.last_ts, c.as_of_date) AS DOUBLE)",
    "CAST(DATE_DIFF('day', CASE WHEN c.last >= c.ws_1y THEN c.last END, c.as_of_date) AS DOUBLE)",
    "CAST(DATE_DIFF('day', CASE WHEN c.last_ts >= c.ws_1y THEN c.last_ts END, c.as_of_date) "
    "AS DOUBLE)",
    "CAST(c.k AS DOUBLE)",
    "CAST(c.flag AS DOUBLE)",
    "CAST(c.empty AS DOUBLE)",
    "COALESCE(c.empty, c.x, 2.5)",
    "(28.0 * (c.full * c.x - c.x * c.x) / NULLIF(c.full * c.full - c.x, 0.0))",
    "(28.0 * (c.n_dec * c.x - c.full * c.y) / NULLIF(c.n_dec * c.full - c.x * c.x, 0.0))",
    "(- c.x + 1e-3 * c.full)",
    "(CASE WHEN NOT (c.x > 0 AND c.y < 1) THEN c.full ELSE -1.5 END)",
    "(CASE WHEN c.x <> c.y OR c.flag THEN 2 ELSE 0.5 END)",
    "(CASE WHEN c.x = 0.5 THEN c.x END)",
    "(CASE WHEN c.full IS NOT NULL AND NOT (c.full IS NULL) THEN c.x ELSE 4 END)",
    "CAST(DATE_DIFF('day', CASE WHEN c.empty IS NOT NULL THEN c.last END, c.as_of_date) AS DOUBLE)",
    "(CASE WHEN NOT (c.empty > 0) THEN 1.0 WHEN c.empty IS NULL THEN - c.full END)",
    "(CASE WHEN c.full IS NULL THEN c.big WHEN c.big IS NULL THEN c.full ELSE c.full + c.big END)",
]


@pytest.mark.parametrize("seed", [0, 1])
def test_numpy_gives_duckdbs_values_and_nulls_for_every_expression(seed):
    table = _table(seed)
    raw = [(f"r{i}", e) for i, e in enumerate(EXPRESSIONS)]
    outputs = []
    for i in range(len(EXPRESSIONS)):
        outputs += [
            (f"f{i}", f"CAST(r{i} AS DOUBLE)"),
            (f"g{i}", f"CAST(COALESCE(r{i}, 0.93) AS DOUBLE)"),
            (f"f{i}__missing", f"CAST(CASE WHEN r{i} IS NULL THEN 1 ELSE 0 END AS DOUBLE)"),
        ]
    layers = [[("p1", "CAST(c.n32 AS DOUBLE)")], raw]
    proj = _project(layers, outputs)
    expected = _duckdb(table, layers, outputs)
    got = proj(table)
    assert got is not None
    assert got.schema == expected.schema
    for name in got.column_names:  # values, NaN and infinities in place, nulls in place
        a, b = got[name].to_pylist(), expected[name].to_pylist()
        assert [repr(x) for x in a] == [repr(x) for x in b], name
    # written straight into a matrix: the same, missing as NaN
    out = np.full((N, len(outputs)), -7.0, order="F")
    assert proj.into(table, out)
    want = np.column_stack(
        [expected[n].to_numpy(zero_copy_only=False).astype(float) for n, _ in outputs]
    )
    np.testing.assert_array_equal(out, want)


def test_numpy_is_used_on_slices_and_windows_of_a_table():
    # a slice of the batch's table (an offset into its buffers) gives the slice's rows
    table = _table(3)
    layers = [[("r0", EXPRESSIONS[12]), ("r1", EXPRESSIONS[3])]]
    outputs = [("a", "CAST(COALESCE(r0, 3650.0) AS DOUBLE)"), ("b", "CAST(r1 AS DOUBLE)")]
    proj = _project(layers, outputs)
    whole = proj(table)
    for at, n in [(0, 7), (13, 101), (N - 9, 9)]:
        assert proj(table.slice(at, n)).equals(whole.slice(at, n))


@pytest.mark.parametrize(
    "sql",
    [
        "CAST(c.n32 + c.d32 AS DOUBLE)",  # floats added (DuckDB: in floats)
        "CAST(COALESCE(c.n32, 0.93) AS DOUBLE)",  # a float coalesced (DuckDB: a float)
        "CAST(c.k + 1 AS DOUBLE)",  # whole numbers added (DuckDB: overflow checked)
        "CAST(GREATEST(c.x, 0) AS DOUBLE)",  # a function it does not know
        "CAST(c.x AS INTEGER)",
        "CAST(DATE_DIFF('month', c.last, c.as_of_date) AS DOUBLE)",
        "CAST(c.last AS DOUBLE)",
        "CAST(c.n_dec + c.big AS DOUBLE)",  # decimals added (DuckDB: in decimals)
        "CAST(c.frac * c.full AS DOUBLE)",  # decimals with fractions
    ],
)
def test_what_numpy_does_not_understand_is_left_to_duckdb(sql):
    table = _table(4)
    try:
        proj = _project([], [("a", sql)])
    except Unsupported:
        return  # not even parsed: the plan keeps DuckDB's projection
    assert proj(table) is None
    assert not proj.into(table, np.empty((N, 1), order="F"))


def test_a_nan_among_the_values_leaves_the_slice_to_duckdb():
    # DuckDB orders NaN above every number (NaN >= 0.5 holds): NumPy does not evaluate it
    table = _table(5)
    x = table["x"].to_numpy(zero_copy_only=False).copy()
    x[17] = np.nan
    nan_table = table.set_column(table.schema.get_field_index("x"), "x", pa.array(x))
    proj = _project([[("r0", EXPRESSIONS[7])]], [("a", "CAST(r0 AS DOUBLE)")])
    assert proj(table) is not None
    assert proj(nan_table) is None
    missing = table["x"].is_null().to_numpy(zero_copy_only=False) | (np.arange(N) == 17)
    nan_missing = table.set_column(  # a NaN under a missing value is no value
        table.schema.get_field_index("x"), "x", pa.array(x, mask=missing)
    )
    assert proj(nan_missing) is not None


def test_the_validity_of_a_slice_is_read_from_its_own_bytes():
    # a slice's bitmap starts at its offset, anywhere in a byte
    arr = pa.array(np.arange(70.0), mask=np.random.default_rng(0).random(70) < 0.4)
    for at, n in [(0, 70), (1, 5), (7, 2), (8, 8), (13, 40), (63, 7), (69, 1)]:
        part = arr.slice(at, n)
        expected = part.is_valid().to_numpy(zero_copy_only=False)
        np.testing.assert_array_equal(validity(part), expected)


def test_columns_known_to_hold_no_nan_are_not_looked_at():
    # the engine's running totals are whole numbers: their values are not checked for NaN,
    # the other columns' still are
    table = _table(6)
    x = table["x"].to_numpy(zero_copy_only=False).copy()
    x[3] = np.nan
    nan_table = table.set_column(table.schema.get_field_index("x"), "x", pa.array(x))
    layers, outputs = [[("r0", EXPRESSIONS[7])]], [("a", "CAST(r0 AS DOUBLE)")]
    starts = {k: _us(v) for k, v in _STARTS.items()}
    for whole, checked in ((frozenset(), True), ({"y"}, True), ({"x"}, False)):
        proj = Projection(layers, outputs, ["pupil_id", "as_of_date"], _us(_DATES), starts, whole)
        assert (proj(nan_table) is None) == checked


def test_columns_holding_nan_where_missing_are_copied_as_they_are(monkeypatch):
    # a column marked NAN_MISSING (the engine's counts: NaN under every missing value) is
    # written out by a copy; the same features as the column unmarked, value by value
    table = _table(7)
    n32 = table["n32"]
    data = np.where(n32.is_null().to_numpy(zero_copy_only=False), np.nan, n32.fill_null(0))
    filled = pa.array(data.astype(np.float32), mask=n32.is_null().to_numpy(zero_copy_only=False))
    at = table.schema.get_field_index("n32")
    plain = table.set_column(at, "n32", filled)
    marked = table.set_column(
        at, pa.field("n32", pa.float32(), metadata={project_module.NAN_MISSING: b"1"}), filled
    )
    starts = {k: _us(v) for k, v in _STARTS.items()}
    outputs = [
        ("a", "CAST(c.n32 AS DOUBLE)"),
        ("b", "CAST(COALESCE(CAST(c.n32 AS DOUBLE), 0) AS DOUBLE)"),  # no value below 0
        ("c", "CAST(COALESCE(CAST(c.n32 AS DOUBLE), 2) AS DOUBLE)"),  # values below 2
    ]
    proj = Projection([], outputs, ["pupil_id", "as_of_date"], _us(_DATES), starts, {"n32"})
    want = np.empty((N, 3), order="F")
    assert proj.into(plain, want)
    assert np.isnan(want[:, 0]).sum() == n32.null_count > 0
    assert (want[:, 1] == 0).sum() > n32.null_count and (want[:, 2] < 2).any()
    put = project_module._put
    calls = []
    monkeypatch.setattr(project_module, "_put", lambda *a: (calls.append(1), put(*a)))
    got = np.empty((N, 3), order="F")
    assert proj.into(marked, got)
    np.testing.assert_array_equal(got, want)
    assert len(calls) == 1  # only the COALESCE with values below its constant
    assert proj(marked).equals(proj(plain))  # (as Arrow: the same values and nulls)
    calls.clear()
    assert proj.into(plain, got)
    assert len(calls) == 3  # unmarked: value by value


def test_the_parser_reads_the_compilers_grammar_and_refuses_the_rest():
    node = _Parser('CAST(COALESCE(c."my col", 0) AS DOUBLE)').parse()
    assert node == ("cast", ("coalesce", (("col", "my col"), ("lit", "int", 0))))
    assert _Parser("a - b - c").parse() == (
        "bin", "-", ("bin", "-", ("col", "a"), ("col", "b")), ("col", "c")
    )  # fmt: skip
    for bad in ["CAST(x AS DOUBLE", "x IN (1, 2)", "x ::DOUBLE", "CASE END", "f(x)", "x y"]:
        with pytest.raises(Unsupported):
            _Parser(bad).parse()
    assert Projection.compile([], [("a", "x IN (1)")], [], _us(_DATES), {}) is None
