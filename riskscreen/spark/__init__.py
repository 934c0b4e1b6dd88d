"""The same features, labels and cohorts on Apache Spark, for data bigger than one machine.

Concepts
--------
engine
    Where the SQL of the feature engine runs. DuckDB, in-process, is the default
    and the only requirement. ``engine="spark"`` (a parameter of
    :func:`~riskscreen.features.build_features`,
    :func:`~riskscreen.features.write_features`,
    :func:`~riskscreen.features.build_cohort` and
    :func:`~riskscreen.features.make_labels`, or
    ``riskscreen.config_context(engine="spark")``) runs the same SQL on a
    SparkSession: the one passed as ``engine=`` or ``spark_session=``, else the
    active one, else a local one (:func:`local_spark_session`).
one definition, two dialects
    A :class:`~riskscreen.features.FeatureSpec`, a cohort and an outcome are
    compiled to SQL once, in DuckDB's dialect; :func:`to_spark_sql` translates
    each statement for Spark with sqlglot. Nothing is written twice, so the
    time rules (half-open windows, knowledge dates, spells open on the as-of
    date, censoring) cannot drift apart between the engines.
proven constructs
    sqlglot passes functions it does not know through unchanged, so a
    translation that merely succeeds proves nothing. The engine runs only SQL
    made of :data:`PROVEN_CONSTRUCTS`; the parity tests (``tests/spark``) compute
    the default spec, every aggregate, the four outcomes and the cohorts on
    both engines and require the same values, and break each construct's
    translation in turn to show the comparison would notice. Any other
    construct is refused with :class:`UnprovenConstructError`.
data
    Histories saved with ``LinkedHistories.save`` are read by Spark from their
    Parquet files (on a cluster, from storage every executor can read); tables
    held in memory are handed to Spark through Arrow. Dates are Spark
    ``TIMESTAMP_NTZ``: calendar days, never shifted by a session time zone.
    ``write_features(..., engine="spark")`` writes a folder of Parquet files
    without collecting rows to the driver.
audit counts
    :func:`group_confusion_counts` computes the fairness audit's confusion
    counts at capacity k per group and intersection from a Spark DataFrame of
    scores, outcomes and groups; only the small table of counts reaches the
    driver.

Install with ``pip install 'riskscreen[spark]'``; Spark needs a Java runtime
(17 or later).

Example
-------
>>> from riskscreen.features import build_features  # doctest: +SKIP
>>> from riskscreen.spark import local_spark_session  # doctest: +SKIP
>>> spark = local_spark_session(cores=2)  # doctest: +SKIP
>>> X = build_features("synthetic_la", ["2022-10-03"], engine=spark)  # doctest: +SKIP
"""

from riskscreen.spark._audit import group_confusion_counts
from riskscreen.spark._local import INSTALL_HINT, java_available, local_spark_session
from riskscreen.spark._sql import PROVEN_CONSTRUCTS, UnprovenConstructError, to_spark_sql

__all__ = [
    "INSTALL_HINT",
    "PROVEN_CONSTRUCTS",
    "UnprovenConstructError",
    "group_confusion_counts",
    "java_available",
    "local_spark_session",
    "to_spark_sql",
]
