"""Run a compiled :class:`FeatureSpec` on the cohort of a :class:`Session`, in batches.

Time semantics
--------------
- Lookback windows are half-open, ``[as_of - window, as_of)``: an event dated on
  the as-of date is *not* seen; an event exactly one window before it is.
  ``"all"`` means everything before the as-of date.
- Events are windowed on their event date (``start_date``, ``entry_date``,
  a custom source's ``date_column``). Attendance periods are windowed on
  ``period_end``: a period counts only once it has finished before the as-of date.
- Spells run from their start date to their end date *inclusive*; an end date on
  or after the as-of date is treated as "still open" (it was not known yet).
  A spell is *active* on the as-of date when ``start < as_of`` and
  (``end`` is missing or ``end >= as_of``). ``days_active`` counts the days of
  ``[start, end]`` that fall in ``[as_of - window, as_of)`` (overlapping spells
  add up). ``spell_count`` counts spells started in the window,
  ``ended_count`` spells whose end date is in the window (``end < as_of``).
- Knowledge dates. Every feature uses only what was *known* before the as-of
  date. Any source, canonical or custom, may carry an optional column
  ``recorded_date`` (dates): the day the row was recorded. A row (event, or
  spell start) counts only when its event date *and* its ``recorded_date`` are
  before the as-of date; a missing ``recorded_date`` means "known on its event
  date". A spell source may also carry ``end_recorded_date``: while it is on or
  after the as-of date the spell's end was not known yet, so the spell is
  treated as still open (``end`` missing) -- for ``active``, ``days_active``,
  ``ended_count``, ``days_since_end``, the cohort's roll and ``school_rate``.
  Without ``end_recorded_date`` an end is known from its own date (the rule
  above). Labels look at what *happened* in the label window and ignore
  knowledge dates.
- The whole query is one SQL statement: one aggregate CTE per source (all its
  features as conditional aggregates over a range join of the cohort with the
  events), joined back to the cohort; output sorted by (as_of_date, pupil_id).
  :func:`run_features` runs that statement on the cohort the session worked out
  once (``_cohort_all``), for
  batches of at most :data:`BATCH_ROWS` cohort rows (several as-of dates in one
  batch for small cohorts; a larger date split into ``pupil_id`` ranges), so time
  grows linearly with the number of dates instead of spilling one ever larger
  join, aggregate and sort to disk.

No row is dropped silently
--------------------------
Every cohort row comes out, once: event sources are LEFT JOINed to the cohort
(no events -> counts 0, others missing). A cohort row whose ``pupil_id`` has no
row in ``pupils`` (on roll in ``enrolments``, known to ``social_care``, or in a
user-given cohort frame) raises a ``ValueError`` naming the count of rows and
pupils (never an identifier) instead of vanishing from an inner join.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping

import numpy as np
import pandas as pd

from riskscreen.features._compile import compile_plan
from riskscreen.features._many_dates import (
    choose_plan,
    run_running_totals,
    shared_tables,
    source_tables,
)
from riskscreen.features._session import Session
from riskscreen.features._spec import FeatureSpec


def spec_sources(spec: FeatureSpec) -> set[str]:
    """The tables a spec reads."""
    out = set()
    for f in spec:
        if f.source != "cohort":
            out.add(f.source)
        if f.aggregate == "school_rate":
            out.add("enrolments")
    return out


def open_session(histories, *, owner: str, engine=None) -> Session:
    """A :class:`Session` on DuckDB, or on Spark for ``engine="spark"`` (see riskscreen.spark).

    ``engine`` None follows ``riskscreen.config_context(engine=...)`` (DuckDB by default).
    """
    from riskscreen._config import engine_choice

    kind, spark = engine_choice(engine, owner=owner)
    if kind == "duckdb":
        return Session(histories, owner=owner)
    from riskscreen.spark._session import SparkEngineSession

    return SparkEngineSession(histories, owner=owner, spark=spark)


def check_spec(spec, owner: str) -> FeatureSpec:
    """The spec, or the default spec for None; anything else is refused."""
    if spec is None:
        from riskscreen.features._default_spec import default_spec

        return default_spec()
    if not isinstance(spec, FeatureSpec):
        raise ValueError(
            f"The 'spec' parameter of {owner} must be a FeatureSpec (e.g. default_spec()) or "
            f"None. Got {type(spec).__name__} instead."
        )
    return spec


def run_features(
    session: Session,
    spec: FeatureSpec,
    *,
    output_path: str | os.PathLike | None = None,
    dtype="float64",
    plan: str | None = None,
):
    """The feature matrix of the session's cohort (median imputation left to the caller).

    With ``output_path`` the result is written by DuckDB straight to a Parquet file
    (never held in pandas) and the path is returned. ``dtype`` (``"float64"`` or
    ``"float32"``) is the dtype of the returned frame's columns (not of the Parquet file).
    ``plan`` (``"by_date"``, ``"running_totals"``; None: ``"auto"`` unless set by
    :func:`riskscreen.features.feature_plan`) is how the events are read.
    """
    if getattr(session, "engine", "duckdb") != "duckdb":  # e.g. Spark: one query, no batches
        return session.run_features(spec, output_path=output_path, dtype=dtype)
    dtype = check_dtype(dtype, session.owner)
    (n_rows,) = session.con.execute("SELECT COUNT(*) FROM _cohort_all").fetchall()[0]
    plan = choose_plan(plan, len(session.dates), n_rows, session.owner)
    if not n_rows:  # nobody to screen: the plan by date gives the empty matrix
        plan = "by_date"
    cohort = _RUNNING_TOTALS_COHORT if plan == "running_totals" else _BATCH_COHORT
    sql, _, comp = compile_plan(spec, session.views, cohort, plan=plan)  # validates the spec
    session.check_sources(spec_sources(spec))
    if plan == "running_totals":  # one pass over the events for all the dates
        with shared_tables(session.con, comp):
            out = run_running_totals(session, sql, comp, output_path=output_path, dtype=dtype)
        session.set_dates(session.dates)
        return out
    batches = _batches(session)
    shared = contextlib.nullcontext()
    if len(batches) > 1:  # e.g. a school's rate once, not per batch; events once per date
        big = [src for src in comp.parts if _rows(session, src) > SHARED_SOURCE_ROWS]
        sql, _, comp = compile_plan(
            spec, session.views, cohort, plan=plan, shared_tables=True, shared_sources=big
        )
        shared = shared_tables(session.con, comp)
    made: list = []  # the dates the tables of the shared sources hold

    def prepare(batch) -> None:
        _set_batch(session, batch[:3])  # asof_dates: the batch's dates
        if comp.shared_sources and made != list(batch[0]):
            source_tables(session.con, comp)
            made[:] = batch[0]

    with shared:
        if output_path is not None:
            write_batches(session, sql, batches, output_path, prepare)
            out = output_path
        else:
            out = fetch_batches(session, sql, batches, int(n_rows), dtype, prepare)
    session.set_dates(session.dates)  # the batches pointed asof_dates at a part of them
    return out


#: Rows per Arrow record batch when a query's result is copied into the output.
_FETCH_ROWS = 65_536


def doubles(arr) -> np.ndarray:
    """An Arrow array of doubles as NumPy (missing values NaN), read from its buffers.

    Copying the data buffer straight is several times quicker than copying the array
    ``to_numpy`` returns (0.09 s against 0.8 s for 1M rows x 65 features).
    """
    if arr.type != "double":  # e.g. an all-missing column (type null)
        return arr.to_numpy(zero_copy_only=False)
    out = np.frombuffer(arr.buffers()[1], dtype=np.float64, count=len(arr), offset=arr.offset * 8)
    if arr.null_count:
        from riskscreen.features._project import validity

        out = np.where(validity(arr), out, np.nan)
    return out


def feature_frame(pupil, asof, values, names, codes=None) -> pd.DataFrame:
    """The feature matrix from its filled arrays, indexed by (pupil_id, as_of_date).

    ``pupil`` None means no batch at all (an empty matrix); string pupil ids come
    back as pandas strings. ``codes``, ``(levels, numbers)``, gives each row's pupil
    as its number in ``levels`` (the pupils' whole-number ids, sorted) for rows in the
    engine's order (as-of date, then pupil): the index is then made from them, not by
    hashing every row's id and date (1.5 s for 13.5M rows, against 0.05 s).
    """
    if pupil is None:
        pupil, asof = np.empty(0, dtype="int64"), np.empty(0, dtype="datetime64[us]")
    if codes is not None and len(asof):
        levels, numbers = codes
        # the rows come date by date: each date's first row, and the dates' numbers
        first = np.flatnonzero(np.r_[True, asof[1:] != asof[:-1]])
        days = np.repeat(np.arange(len(first)), np.diff(np.r_[first, len(asof)]))
        index = pd.MultiIndex(
            levels=[pd.Index(levels), pd.Index(asof[first])],
            codes=[numbers, days],
            names=["pupil_id", "as_of_date"],
            verify_integrity=False,
        )
        return pd.DataFrame(values, index=index, columns=names, copy=False)
    if pupil.dtype == object:
        pupil = pd.array(pupil, dtype="str")
    index = pd.MultiIndex.from_arrays(
        [
            pd.Index(pupil, name="pupil_id", copy=False),
            pd.Index(asof, name="as_of_date", copy=False),
        ]
    )
    return pd.DataFrame(values, index=index, columns=names, copy=False)


def _row_count_error(got: int, expected: int) -> RuntimeError:
    # one feature row per cohort row is the engine's invariant: a join that fans out
    # or loses rows is a bug in riskscreen, never to be papered over
    return RuntimeError(
        f"Internal error in the feature engine: the feature query returned {got} rows for "
        f"{expected} cohort rows (expected exactly one row per cohort row). Please report it."
    )


def _order_error() -> RuntimeError:
    return RuntimeError(
        "Internal error in the feature engine: the feature rows came out of order (expected "
        "by as-of date, then pupil). Please report it."
    )


def check_dtype(dtype, owner: str) -> np.dtype:
    try:
        out = np.dtype(dtype)
    except TypeError:
        out = None
    if out not in (np.dtype("float64"), np.dtype("float32")):
        raise ValueError(
            f"The 'dtype' parameter of {owner} must be 'float64' or 'float32'. "
            f"Got {dtype!r} instead."
        )
    return out


#: Cohort rows per query. Features are computed one batch at a time (as-of
#: dates grouped, or one date's pupil_id range; each batch one query). The join
#: of cohort rows with their events, the grouped aggregates and the final sort
#: grow with the rows of a query, and past DuckDB's memory limit they spill to
#: disk, which made many as-of dates super-linear (6 dates at 1M pupils took 7x
#: one date). Batches bound the working set of a query, so time grows linearly
#: with the number of dates; small cohorts stay in one query.
BATCH_ROWS = 250_000
#: A date split into queries may have up to this fraction more rows per query than
#: BATCH_ROWS, so that a date just over a multiple of it is not split once more.
BATCH_SLACK = 0.125
#: With several queries, a source of more rows than this is aggregated once per set of
#: dates for all the pupils of its queries (``source_tables``), so that a date split into
#: queries reads its events once; smaller sources are joined in each query. At 1M pupils,
#: one date in two queries written to Parquet: with the attendance (115M rows) stored by
#: date, 9.6-12.0 s against 17.1-20.5 s; stored a copy of pupils after another, the same
#: time (10.7-11.3 s against 10.8-11.4 s). Sharing the six smaller sources (0.1-1.6M rows)
#: too gained nothing and raised the peak from 1.1 to 1.25 GB.
SHARED_SOURCE_ROWS = 2_000_000

_BATCH_COHORT = [
    (
        "cohort",
        "SELECT k.* FROM _cohort_all AS k WHERE k.as_of_date IN "
        "(SELECT as_of_date FROM asof_dates) AND k.pupil_id BETWEEN "
        "COALESCE((SELECT lo FROM _pupil_range), k.pupil_id) AND "
        "COALESCE((SELECT hi FROM _pupil_range), k.pupil_id)",
    )
]


#: The cohort of a batch of pupils with their timelines' values (plan "running_totals").
_RUNNING_TOTALS_COHORT = [("cohort", "SELECT * FROM _rt_cohort")]


def _rows(session: Session, src: str) -> int:
    """The number of rows of source ``src`` (from a Parquet file's metadata, for a file)."""
    relation = session.views.info[src].relation
    return int(session.con.execute(f"SELECT COUNT(*) FROM {relation}").fetchall()[0][0])


def _batches(session: Session) -> list[tuple]:
    """Split the session's cohort (``_cohort_all``) into batches ``(dates, lo, hi, segments)``.

    Dates are grouped while their cohort rows add up to at most :data:`BATCH_ROWS`;
    a date with more rows is split into ranges of ``pupil_id`` (so each query reads
    only the events of its pupils) of about equal rows, as few as keep within
    :data:`BATCH_SLACK` of it: no query is a small remainder, which costs nearly as
    much as a full one, since it reads the same row groups of the events (1M pupils,
    one date: 504,430 rows in queries of 250,000, 250,000 and 4,430 rows took
    23.5 s of CPU, in two of 252,215 rows 20.8-21.9 s). Batches come in output order;
    ``segments`` are the places ``(start, n)`` of their rows in the output, one per
    as-of date.
    """
    # a date of n rows in k = ceil(n / most) chunks: row r (from 0) in chunk r*k // n
    chunks = session.con.execute(
        "SELECT a.as_of_date, COALESCE(k.chunk, 0), COUNT(k.pupil_id), MIN(k.pupil_id), "
        "MAX(k.pupil_id) FROM asof_dates AS a LEFT JOIN (SELECT as_of_date, pupil_id, "
        "(ROW_NUMBER() OVER w - 1) * ((COUNT(*) OVER d + $rows - 1) // $rows) "
        "// COUNT(*) OVER d AS chunk FROM _cohort_all WINDOW d AS (PARTITION BY as_of_date), "
        "w AS (d ORDER BY pupil_id)) AS k ON k.as_of_date = a.as_of_date "
        "GROUP BY ALL ORDER BY 1, 2",
        {"rows": int(BATCH_ROWS * (1 + BATCH_SLACK))},
    ).fetchall()
    n_chunks: dict = {}
    for date, *_ in chunks:
        n_chunks[date] = n_chunks.get(date, 0) + 1
    batches, rows, at = [], 0, 0
    for date, _, n, lo, hi in chunks:
        if n_chunks[date] > 1:
            batches.append(([date], lo, hi, [(at, n)]))
            rows = BATCH_ROWS  # a split date is a batch of its own
        elif batches and batches[-1][1] is None and rows + n <= BATCH_ROWS:
            batches[-1][0].append(date)
            batches[-1][3].append((at, n))
            rows += n
        else:
            batches.append(([date], None, None, [(at, n)]))
            rows = n
        at += n
    return batches


def _set_batch(session: Session, batch) -> None:
    dates, lo, hi = batch
    session.set_dates(dates)
    session.con.execute(
        "CREATE OR REPLACE TEMP TABLE _pupil_range AS SELECT ? AS lo, ? AS hi", [lo, hi]
    )


def arrow_reader(con, sql: str, rows: int = _FETCH_ROWS):
    """The rows of ``sql`` on connection ``con`` as Arrow record batches of ``rows`` rows."""
    rel = con.sql(sql)
    to_reader = getattr(rel, "to_arrow_reader", None) or rel.fetch_arrow_reader
    return to_reader(rows)


def _readers(session, sql, batches, prepare):
    """Each batch prepared in turn and the rows of ``sql`` for it, on the session's connection."""
    for batch in batches:
        prepare(batch)
        yield arrow_reader(session.con, sql)


def fetch_batches(
    session, sql: str, batches, n_rows: int, dtype, prepare, readers=None, levels=None, values=None
) -> pd.DataFrame:
    """Run ``sql`` for every batch and copy its rows straight into one preallocated frame.

    A batch is ``(dates, lo, hi, segments)``; ``prepare(batch)`` points the session at
    it, and its rows go to ``segments`` (``(start, n)`` places in the output, one per
    as-of date, in the order the query gives them). The result is one ``dtype`` block
    (a column-major array, pandas' own layout for a single block) plus the index
    arrays, allocated once for the ``n_rows`` cohort rows and filled in place a
    record batch at a time: no per-batch frames, no concat and no conversion copies,
    so the peak memory is the result plus one record batch (and what ``readers``
    holds: with running totals, two prepared batches of cohort rows). The rows must come out
    by as-of date, then pupil, and exactly one per cohort row (else an internal error).
    ``readers`` (one Arrow reader per batch, in order) replaces running ``sql`` on the
    session after ``prepare`` (e.g. batches prepared on a thread of their own).
    ``levels`` (the cohort's whole-number pupil ids, sorted) lets readers that know each
    row's pupil by its number among them (``into(..., codes)``) hand the numbers over,
    from which the index is made (:func:`feature_frame`). ``values``, an output matrix
    made ahead (:func:`populated`), is filled if of the batches' shape and ``dtype``.
    """
    placed = sum(n for batch in batches for _, n in batch[3])
    if placed != n_rows:
        raise _row_count_error(placed, n_rows)
    out = _Output(n_rows, dtype, levels, values)
    readers = _readers(session, sql, batches, prepare) if readers is None else readers
    with contextlib.closing(readers):
        for batch, reader in zip(batches, readers, strict=True):
            out.fill(reader, batch[3])
    pupil, asof = out.pupil, out.asof
    if pupil is not None and len(pupil) > 1:  # the engine's order: as-of date, then pupil
        later, same = asof[1:] > asof[:-1], asof[1:] == asof[:-1]
        if not (later | (same & (pupil[1:] > pupil[:-1]))).all():
            raise _order_error()
    codes = None if out.codes is None else (levels, out.codes)
    return feature_frame(pupil, asof, out.values, out.names, codes)


#: An output matrix of at least this many bytes has its memory mapped ahead (:func:`populated`).
PREFAULT_BYTES = 256 * 2**20
#: The ``madvise`` advice mapping pages ready for writing, leaving their contents (Linux 5.14 on).
_MADV_POPULATE_WRITE = 23
#: Bytes mapped by one ``madvise`` call of :func:`_populate`. While a call runs, the
#: process's own ``mmap``/``munmap`` (DuckDB's and NumPy's large allocations) wait for it:
#: on a virtual machine whose host backs memory when it is first touched (0.5-1 GB/s),
#: steps of 64 MiB held the batches' planning back by 13 s (1M pupils, 24 dates: the
#: first batch began at 17.7 s, against 4.7 s with steps of 2 MiB).
POPULATE_STEP = 2 * 2**20


def populated(shape, dtype) -> np.ndarray:
    """An empty output matrix (column-major) whose memory the kernel maps on a thread of
    its own, meanwhile.

    The kernel zeroes a page the first time it is written: for 13.5M rows x 65 features
    (7 GB) 3-5 s of CPU, and 12-15 s on a virtual machine whose host backs memory as it
    is first touched, which would fall on the thread writing the features. Here a
    thread asks for every page ahead (``MADV_POPULATE_WRITE``; Linux only, and nothing
    where the kernel refuses it) while the batches are planned, when cores are free. It
    never writes a value, so the batches may write while it runs.
    """
    import sys
    import threading

    values = np.empty(shape, dtype=dtype, order="F")
    if sys.platform.startswith("linux") and values.nbytes >= PREFAULT_BYTES:
        thread = threading.Thread(
            target=_populate, args=(values,), name="riskscreen-output", daemon=True
        )
        thread.start()
    return values


def _populate(values: np.ndarray) -> None:
    """Map the memory of ``values`` ready for writing, :data:`POPULATE_STEP` bytes at a
    time (the array is kept alive by this thread's arguments until done)."""
    import ctypes
    import mmap

    try:
        madvise = ctypes.CDLL(None, use_errno=True).madvise
        madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        madvise.restype = ctypes.c_int
    except (OSError, AttributeError):
        return
    page, step = mmap.PAGESIZE, POPULATE_STEP
    start = -(-values.ctypes.data // page) * page
    end = (values.ctypes.data + values.nbytes) // page * page
    for at in range(start, end, step):
        if madvise(at, min(step, end - at), _MADV_POPULATE_WRITE) != 0:
            return  # e.g. a kernel before 5.14: pages mapped as they are written


class _Output:
    """The output arrays of :func:`fetch_batches`, made at the first batch (or given, if of
    the batches' shape), filled in place."""

    def __init__(self, n_rows: int, dtype, levels=None, values=None) -> None:
        self.n_rows, self.dtype, self.done = n_rows, dtype, 0
        self.given = values
        self.values = self.pupil = self.asof = None
        self.names: list[str] = []
        #: each row's pupil by its number in ``levels`` while every batch has given them
        self.codes = None if levels is None else np.empty(n_rows, dtype=np.int32)

    def fill(self, reader, segments) -> None:
        """Copy one batch's rows from ``reader`` to their ``segments`` of the output."""
        n_rows = self.n_rows
        if self.values is None:
            self.names = list(reader.schema.names)[2:]
            shape, given, self.given = (n_rows, len(self.names)), self.given, None
            if given is not None and given.shape == shape and given.dtype == self.dtype:
                self.values = given
            else:
                self.values = np.empty(shape, dtype=self.dtype, order="F")
            text_keys = str(reader.schema.field(0).type) in ("string", "large_string")
            self.pupil = np.empty(n_rows, dtype=object if text_keys else "int64")
            self.asof = np.empty(n_rows, dtype="datetime64[us]")
        values, pupil, asof = self.values, self.pupil, self.asof
        if hasattr(reader, "into"):  # written straight into the output (running totals)
            self.done += reader.into(values, pupil, asof, segments, self.codes)
            return
        self.codes = None  # the index from the ids
        segs = list(segments)
        expected = sum(n for _, n in segs)
        got = 0
        for rb in reader:
            cols = [rb.column(j).to_numpy(zero_copy_only=False) for j in range(2)]
            cols += [doubles(rb.column(j)) for j in range(2, rb.num_columns)]
            i = 0
            while i < rb.num_rows:
                if not segs:
                    raise _row_count_error(self.done + got + rb.num_rows - i, n_rows)
                start, n = segs[0]
                take = min(n, rb.num_rows - i)
                pupil[start : start + take] = cols[0][i : i + take]
                asof[start : start + take] = cols[1][i : i + take]
                for j in range(len(self.names)):
                    values[start : start + take, j] = cols[j + 2][i : i + take]
                segs[0] = (start + take, n - take)
                if n == take:
                    segs.pop(0)
                i += take
                got += take
        if got != expected:
            raise _row_count_error(self.done + got, n_rows)
        self.done += got


def write_batches(session, sql: str, batches, output_path, prepare, readers=None) -> None:
    """Stream every batch into one Parquet file, one row group per batch and as-of date.

    Batches as in :func:`fetch_batches` (and ``readers`` too). The rows come batch by
    batch, each batch date by date and pupil by pupil (one batch: written by DuckDB
    itself), and are encoded on a thread of their own (:class:`_ThreadedWriter`). Every
    row group holds one as-of date, so a reader picks dates by the row groups'
    statistics. Nothing is written twice; in memory are the record batches of the date
    being gathered, the dates queued for the writer's thread (about
    :data:`WRITER_QUEUE_BYTES`) and what
    ``readers`` holds (with running totals, two prepared batches of cohort rows).
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    if len(batches) == 1 and readers is None:  # in the engine's order already
        prepare(batches[0])
        target = str(output_path).replace("'", "''")
        session.con.execute(f"COPY ({sql}) TO '{target}' (FORMAT PARQUET)")
        return
    n_rows = sum(n for batch in batches for _, n in batch[3])
    writer, done, schema = None, 0, None
    readers = _readers(session, sql, batches, prepare) if readers is None else readers
    try:
        with contextlib.closing(readers):
            for batch, reader in zip(batches, readers, strict=True):
                schema = reader.schema
                sizes = [n for _, n in batch[3] if n]
                buf, k, left = [], 0, sizes[0] if sizes else 0
                for rb in reader:
                    at = 0
                    while at < rb.num_rows:
                        if k == len(sizes):
                            raise _row_count_error(done + rb.num_rows - at, n_rows)
                        take = min(left, rb.num_rows - at)
                        buf.append(rb.slice(at, take))
                        at, left, done = at + take, left - take, done + take
                        if left == 0:  # one date of this batch: one row group
                            table = pa.Table.from_batches(buf)
                            if pc.count_distinct(table["as_of_date"]).as_py() != 1:
                                raise _order_error()
                            if writer is None:  # encoding chosen from the first date's rows
                                encoded = dictionary_columns(table)
                                parquet = pq.ParquetWriter(
                                    str(output_path), schema, use_dictionary=encoded
                                )
                                depth = WRITER_QUEUE_BYTES // max(1, table.nbytes)
                                writer = _ThreadedWriter(parquet, max(2, min(24, depth)))
                            writer.write_table(table, row_group_size=sizes[k])
                            buf, k = [], k + 1
                            left = sizes[k] if k < len(sizes) else 0
                if k != len(sizes):
                    raise _row_count_error(done, n_rows)
        if writer is None and schema is not None:  # no rows: the schema alone
            writer = _ThreadedWriter(pq.ParquetWriter(str(output_path), schema))
    finally:
        if writer is not None:
            writer.close()


#: Bytes of tables (a batch's as-of dates) waiting for the Parquet writer's thread, about:
#: the reading waits beyond (2 to 24 tables). Bounds the memory when the batches are read
#: quicker than they are encoded (1M pupils, 6 dates: 24 tables waiting were 2 GB); a
#: shorter queue stalls the reading (1M pupils, 24 dates: 256 MB took 7-8% longer).
WRITER_QUEUE_BYTES = 640 * 2**20

#: Columns are dictionary-encoded in Parquet when a first row group of at least
#: DICTIONARY_SAMPLE rows has at most one distinct value in DICTIONARY_RATIO (counts,
#: flags, days); the others (rates, identifiers) are written plain: building a
#: dictionary of nearly as many values as rows costs more than it saves
#: (benchmarks/features.py, 1M pupils, 24 dates: a fifth less of the encoding's CPU
#: time, and a file no larger).
DICTIONARY_SAMPLE, DICTIONARY_RATIO = 10_000, 20


def dictionary_columns(table) -> bool | list[str]:
    """The columns of ``table`` worth a Parquet dictionary (True: all of them)."""
    import pyarrow.compute as pc

    if table.num_rows < DICTIONARY_SAMPLE:
        return True
    limit = max(1, table.num_rows // DICTIONARY_RATIO)
    return [
        name
        for name, column in zip(table.column_names, table.columns, strict=True)
        if pc.count_distinct(column).as_py() <= limit
    ]


class _ThreadedWriter:
    """A Parquet writer that writes on a thread of its own, while the next batch is worked out.

    Up to ``depth`` tables (a batch's as-of dates) wait in a queue. Parquet encoding runs
    on one core, so it overlaps with the NumPy work of the next batch. An error on the
    writer's thread is raised on the caller's, at the next write or at ``close``.
    """

    def __init__(self, writer, depth: int = 24) -> None:
        import queue
        import threading

        self._writer, self._queue, self._error = writer, queue.Queue(depth), None
        self._thread = threading.Thread(target=self._run, name="riskscreen-parquet", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._error is None:
                try:
                    self._writer.write_table(*item[0], **item[1])
                except BaseException as exc:  # noqa: BLE001 (raised on the caller's thread)
                    self._error = exc

    def write_table(self, *args, **kwargs) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put((args, kwargs))

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()
        self._writer.close()
        if self._error is not None:
            raise self._error


def fill_medians(frame: pd.DataFrame, spec: FeatureSpec, medians: Mapping[str, float] | None):
    """Fill features imputed by 'median' (learned medians if given, else this frame's)."""
    for f in spec:
        if f.impute_value == "median":
            if medians is not None and f.name in medians:
                value = medians[f.name]
            else:
                value = frame[f.name].median()
                value = 0.0 if pd.isna(value) else float(value)
            frame[f.name] = frame[f.name].fillna(value)
    return frame
