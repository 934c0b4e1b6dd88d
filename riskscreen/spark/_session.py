"""The engine session on Spark: the histories as Spark views, the same SQL run there.

:class:`SparkEngineSession` is a :class:`riskscreen.features._session.Session`
whose connection is :class:`SparkConnection`: every statement the DuckDB
session would run (the cohort, its checks, the labels, the protected
characteristics, the date range) is translated by
:func:`riskscreen.spark.to_spark_sql` and run by Spark instead, so the two
engines share one definition of everything they compute.

DuckDB still reads the histories' *metadata*: :class:`SparkTables` opens them
as :class:`~riskscreen.data._views.TableViews` does (a saved folder is only
described, never scanned) to learn each table's columns, types and knowledge
dates. Spark then reads the data itself: a saved folder's Parquet files
directly (on a cluster they must be on storage the executors can read), a table
held in memory through Arrow. Every canonical column gets its canonical type and
absent optional columns are typed NULLs, as in the DuckDB views, and dates are
``TIMESTAMP_NTZ`` (calendar days; the Spark session's time zone never shifts them).
"""

from __future__ import annotations

import contextlib
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from riskscreen.data import as_histories
from riskscreen.data._gate import ensure_valid
from riskscreen.data._views import TableViews, quote
from riskscreen.features._session import Session
from riskscreen.spark._sql import check_constructs, inline_ctes, parse, to_spark_sql

#: Names the engine sessions give their own temporary tables and views.
_SESSION_TABLES = ("_cohort_all", "_cohort_frame", "_asof_dates", "asof_dates", "_pupil_range")


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence pyspark's warning that it does not fully support pandas 3 (we pass Arrow)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="PySpark does not yet", category=FutureWarning)
        yield


def spark_type(duckdb_type: str) -> str:
    """The Spark SQL type of a DuckDB column type (dates become ``TIMESTAMP_NTZ``)."""
    from sqlglot import exp

    return exp.DataType.build(duckdb_type, dialect="duckdb").sql(dialect="spark")


def _ident(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


class SparkResult:
    """A Spark query's result read like a DuckDB one (``fetchall``, ``df``)."""

    def __init__(self, frame) -> None:
        self.frame = frame

    def fetchall(self) -> list[tuple]:
        return [tuple(row) for row in self.frame.collect()]

    def df(self) -> pd.DataFrame:
        return arrow_to_pandas(to_arrow(self.frame))


def to_arrow(frame):
    """A Spark DataFrame as a pyarrow Table (through Arrow, never pandas)."""
    with quiet():
        return frame.toArrow()


def arrow_to_pandas(table) -> pd.DataFrame:
    """pandas columns as DuckDB's ``df()`` gives them (dates datetime64[us], NaN for nulls)."""
    import pyarrow as pa

    out = {}
    for name, column in zip(table.column_names, table.columns, strict=True):
        t = column.type
        if pa.types.is_timestamp(t):
            values = pd.Series(column.cast(pa.timestamp("us")).to_numpy(zero_copy_only=False))
            out[name] = values.astype("datetime64[us]")
        elif pa.types.is_date(t):
            out[name] = pd.Series(column.cast(pa.timestamp("us")).to_numpy(zero_copy_only=False))
        else:
            out[name] = column.to_pandas()
    return pd.DataFrame(out, columns=table.column_names)


class SparkConnection:
    """Runs riskscreen's DuckDB statements on Spark (the ``con`` of a Spark session).

    Table names of the histories and of the session (``_cohort_all``,
    ``asof_dates``, ...) are given a prefix unique to this connection, so several
    sessions can share one SparkSession and no view of the caller is replaced.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
    """

    def __init__(self, spark) -> None:
        self.spark = spark
        self.prefix = f"riskscreen_{uuid.uuid4().hex[:12]}_"
        self.tables: dict[str, str] = {name: self.prefix + name for name in _SESSION_TABLES}
        self._cached: dict[str, object] = {}
        self._views: set[str] = set()

    # -- names ---------------------------------------------------------------------------------
    def add_table(self, name: str, frame) -> None:
        """Register a Spark DataFrame as the table ``name`` of riskscreen's SQL."""
        spark_name = self.tables.setdefault(name, self.prefix + name)
        frame.createOrReplaceTempView(spark_name)
        self._views.add(spark_name)

    def translate(self, sql: str, *, ordered: bool = True) -> str:
        return to_spark_sql(sql, tables=self.tables, ordered=ordered)

    # -- running -------------------------------------------------------------------------------
    def sql(self, sql: str, *, ordered: bool = True):
        """The Spark DataFrame of a DuckDB SELECT statement (lazy)."""
        with quiet():
            return self.spark.sql(self.translate(sql, ordered=ordered))

    def execute(self, sql: str, params=None) -> SparkResult | None:
        """Run a statement: a SELECT (its result), or CREATE [OR REPLACE] TEMP TABLE/VIEW."""
        if params:
            raise NotImplementedError(
                "riskscreen's Spark connection does not take statement parameters."
            )
        from sqlglot import exp

        tree = parse(sql)
        if not isinstance(tree, exp.Create):
            return SparkResult(self.sql(sql))
        check_constructs(tree)
        name = tree.this.name if isinstance(tree.this, exp.Table) else tree.this.this.name
        keep = tree.args.get("kind", "").upper() == "TABLE"
        query = (inline_ctes(tree.expression) if keep else tree.expression).sql(dialect="duckdb")
        frame = self.sql(query)
        if keep:
            frame = self._materialize(name, frame)
        self.add_table(name, frame)
        return None

    def _materialize(self, name: str, frame):
        """Compute a temporary table once and keep it, spread by pupil for the joins."""
        from pyspark import StorageLevel

        old = self._cached.pop(name, None)
        if "pupil_id" in frame.columns:
            frame = frame.repartition("pupil_id")
        frame = frame.persist(StorageLevel.MEMORY_AND_DISK)
        frame.count()
        if old is not None:
            old.unpersist()
        self._cached[name] = frame
        return frame

    def register(self, name: str, frame: pd.DataFrame) -> None:
        """Register a pandas frame (as-of dates, a listed cohort) as the table ``name``."""
        import pyarrow as pa

        table = pa.Table.from_pandas(frame, preserve_index=False)
        self.add_table(name, self.from_arrow(table))

    def from_arrow(self, table):
        """A Spark DataFrame of a pyarrow Table; naive timestamps stay naive (NTZ)."""
        import pyarrow as pa
        from pyspark.sql.pandas.types import from_arrow_type
        from pyspark.sql.types import StructField, StructType, TimestampNTZType

        fields, columns = [], []
        for f in table.schema:
            t = f.type
            if pa.types.is_large_string(t) or pa.types.is_string_view(t):
                t = pa.string()
            elif pa.types.is_dictionary(t):
                t = t.value_type
            columns.append(table.column(f.name).cast(t))
            kind = (
                TimestampNTZType()
                if pa.types.is_timestamp(t) and t.tz is None
                else from_arrow_type(t)
            )
            fields.append(StructField(f.name, kind, True))
        table = pa.Table.from_arrays(columns, names=table.column_names)
        with quiet():
            return self.spark.createDataFrame(table, schema=StructType(fields))

    def close(self) -> None:
        """Drop this connection's views and release its cached tables."""
        catalog = self.spark.catalog
        for name in self._views:
            catalog.dropTempView(name)
        for frame in self._cached.values():
            frame.unpersist()
        self._views.clear()
        self._cached.clear()


class SparkTables(TableViews):
    """Every table of some histories as a Spark view; metadata read by DuckDB.

    Behaves as :class:`~riskscreen.data._views.TableViews` (``info``,
    ``date_range``, ``check_dates``, ``fingerprint``), but ``con`` is a
    :class:`SparkConnection`: the date range and the checks run on Spark.

    Parameters
    ----------
    histories : LinkedHistories
    spark : pyspark.sql.SparkSession
    """

    def __init__(self, histories, spark) -> None:
        super().__init__(histories)  # DuckDB views: columns, types, knowledge dates
        self.duck = self.con
        self.con = SparkConnection(spark)
        try:
            relations = histories._relations()
            for name, info in self.info.items():
                self.con.add_table(
                    info.relation.strip('"'), self._spark_table(relations[name], info)
                )
        except BaseException:
            self.close()
            raise

    def _spark_table(self, relation, info):
        con = self.con
        if isinstance(relation, pd.DataFrame):
            rel = self.duck.sql(f"SELECT * FROM {info.relation}")
            raw = getattr(rel, "to_arrow_table", None) or rel.fetch_arrow_table
            frame = con.from_arrow(raw())
        else:
            with quiet():
                frame = con.spark.read.parquet(str(Path(relation)))
        present = set(frame.columns)
        select = []
        for col, kind in info.columns.items():
            target = spark_type(kind)
            value = _ident(col) if col in present else "NULL"
            select.append(f"CAST({value} AS {target}) AS {_ident(col)}")
        return frame.selectExpr(*select)

    def check_dates(self, names) -> None:
        """As :meth:`TableViews.check_dates`, counting the missing dates of every file-backed
        table in one Spark query (tables in memory are checked by pandas)."""
        names = list(names)
        parts = []
        for i, name in enumerate(names):
            info = self.info[name]
            if name in self._frames:
                continue
            for col in info.required_dates:
                parts.append(
                    f"SELECT {i} AS t, COUNT(*) AS n FROM {info.relation} "
                    f"WHERE {quote(col)} IS NULL"
                )
        bad = set()
        if parts:
            rows = self.con.execute(" UNION ALL ".join(parts)).fetchall()
            bad = {names[int(t)] for t, n in rows if n}
        # the same checks (and messages) as DuckDB's, for the tables that need them
        super().check_dates([n for n in names if n in self._frames or n in bad])

    def fingerprint(self) -> dict:
        """As :meth:`TableViews.fingerprint` (hashed by DuckDB: the same on both engines)."""
        spark_con, self.con = self.con, self.duck
        try:
            return super().fingerprint()
        finally:
            self.con = spark_con

    def close(self) -> None:
        if isinstance(self.con, SparkConnection):
            self.con.close()
        self.duck.close()


class SparkEngineSession(Session):
    """A :class:`~riskscreen.features._session.Session` whose SQL runs on Spark.

    Parameters
    ----------
    histories : LinkedHistories or path-like
    owner : str
        The public function using the session (named in errors).
    spark : pyspark.sql.SparkSession, optional
        Default: the configured one (``riskscreen.config_context(spark_session=)``),
        the active one, or a new local one.
    """

    engine = "spark"

    def __init__(self, histories, *, owner: str, spark=None) -> None:
        from riskscreen.spark._local import spark_for

        self.owner = owner
        self.histories = as_histories(histories, owner=owner)
        ensure_valid(self.histories, owner=owner)
        self.spark = spark_for(spark)
        self.views = SparkTables(self.histories, self.spark)
        self.con = self.views.con
        self.info = self.views.info
        self.dates = None
        self.cohort_spec = None
        self._checked: set[str] = set()
        self._range = None

    def run_features(self, spec, *, output_path=None, dtype="float64"):
        """See :func:`riskscreen.features._run.run_features` (one Spark query, no batches)."""
        from riskscreen.spark._engine import run_features

        return run_features(self, spec, output_path=output_path, dtype=dtype)
