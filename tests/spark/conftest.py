"""One local SparkSession for the Spark tests, skipped with a reason where Spark cannot run."""

from __future__ import annotations

import pytest

#: Spark's settings for the tiny tables of the tests: one shuffle partition, and rows
#: evaluated without generating and compiling Java code (faster than compiling it for
#: a few hundred rows; benchmarks/spark.py checks the values with code generation on).
TINY = {
    "spark.sql.shuffle.partitions": "1",
    "spark.sql.adaptive.enabled": "false",
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
}


@pytest.fixture(scope="session")
def spark():
    """A local SparkSession (2 cores) shared by every Spark test of this process."""
    pytest.importorskip(
        "pyspark", reason="pyspark is not installed: pip install 'riskscreen[spark]'"
    )
    from riskscreen.spark import java_available, local_spark_session

    if not java_available():
        pytest.skip(
            "Spark needs a Java runtime (17 or later) and none was found (JAVA_HOME is unset "
            "and `java` is not on the PATH); .ci/run installs default-jre-headless."
        )
    session = local_spark_session(2, shuffle_partitions=1)
    for key, value in TINY.items():
        session.conf.set(key, value)
    yield session
    session.stop()
