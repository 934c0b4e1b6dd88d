"""pyspark on demand: the install hint, the Java check and a local SparkSession."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import warnings
from collections.abc import Mapping

logger = logging.getLogger("riskscreen.spark")

INSTALL_HINT = (
    "riskscreen's Spark engine needs pyspark (4.0 or later) and a Java runtime (17 or "
    "later). Install them with: pip install 'riskscreen[spark]' (and, on Debian or "
    "Ubuntu, apt-get install default-jre-headless). DuckDB, the default engine, needs "
    "neither: leave engine= unset."
)


def require_pyspark():
    """Import pyspark, or raise ImportError with the install hint."""
    try:
        with warnings.catch_warnings():
            # pyspark warns about pandas 3 on import; riskscreen hands it Arrow, not pandas
            warnings.filterwarnings(
                "ignore", message="PySpark does not yet", category=FutureWarning
            )
            import pyspark
            from pyspark.sql import SparkSession  # noqa: F401
    except ImportError as exc:
        raise ImportError(INSTALL_HINT) from exc
    major = int(pyspark.__version__.split(".")[0])
    if major < 4:
        raise ImportError(f"{INSTALL_HINT} Found pyspark {pyspark.__version__}.")
    return pyspark


def java_available() -> bool:
    """Whether a Java runtime can be found (``JAVA_HOME`` or ``java`` on the PATH)."""
    home = os.environ.get("JAVA_HOME")
    if home and os.path.exists(os.path.join(home, "bin", "java")):
        return True
    return shutil.which("java") is not None


def local_spark_session(
    cores: int = 2,
    *,
    shuffle_partitions: int | None = None,
    driver_memory: str = "2g",
    app_name: str = "riskscreen",
    config: Mapping[str, str] | None = None,
):
    """A local SparkSession for riskscreen (the active one if Spark is already running).

    Parameters
    ----------
    cores : int, default 2
        Worker threads (``local[cores]``).
    shuffle_partitions : int, optional
        ``spark.sql.shuffle.partitions`` (default ``2 * cores``: Spark's default of
        200 partitions only adds overhead on one machine).
    driver_memory : str, default "2g"
        ``spark.driver.memory`` (takes effect only when this call starts Spark).
    app_name : str, default "riskscreen"
    config : mapping of str to str, optional
        Other Spark settings, e.g. ``{"spark.ui.enabled": "true"}`` (the web UI and
        its status API are off by default).

    Returns
    -------
    pyspark.sql.SparkSession

    Raises
    ------
    ImportError
        If pyspark is not installed (with the install hint).
    RuntimeError
        If no Java runtime is found.

    Examples
    --------
    >>> from riskscreen.spark import local_spark_session  # doctest: +SKIP
    >>> spark = local_spark_session(cores=2)  # doctest: +SKIP
    """
    if isinstance(cores, bool) or not isinstance(cores, int) or cores < 1:
        raise ValueError(
            f"The 'cores' parameter of local_spark_session must be a positive whole number. "
            f"Got {cores!r} instead."
        )
    require_pyspark()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    if not java_available():
        raise RuntimeError(
            "riskscreen's Spark engine found no Java runtime (JAVA_HOME is unset and `java` is "
            f"not on the PATH). {INSTALL_HINT}"
        )
    partitions = shuffle_partitions if shuffle_partitions is not None else 2 * cores
    logger.info("Starting a local Spark session with %d cores.", cores)
    settings = {
        "spark.sql.shuffle.partitions": str(int(partitions)),
        "spark.default.parallelism": str(int(partitions)),
        "spark.driver.memory": driver_memory,
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        # riskscreen keeps no tables in Spark's catalog: no spark-warehouse/ in the caller's folder
        "spark.sql.warehouse.dir": os.path.join(tempfile.gettempdir(), "riskscreen-spark"),
        **dict(config or {}),
    }
    builder = SparkSession.builder.master(f"local[{cores}]").appName(app_name)
    for key, value in settings.items():
        builder = builder.config(key, value)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="PySpark does not yet", category=FutureWarning)
        spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def spark_for(spark=None):
    """The SparkSession to run on: ``spark``, the configured one, the active one or a local one."""
    if spark is not None:
        return spark
    require_pyspark()
    from pyspark.sql import SparkSession

    from riskscreen._config import engine_settings

    configured = engine_settings()["spark_session"]
    if configured is not None:
        return configured
    return SparkSession.getActiveSession() or local_spark_session()
