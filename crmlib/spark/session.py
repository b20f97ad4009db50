"""One place that starts (or finds) the SparkSession the Spark path uses.

Configuration, in increasing priority: Spark's own ``$SPARK_CONF_DIR/spark-defaults.conf`` (or
what ``spark-submit --conf`` set), crmlib's defaults below, the ``CRMLIB_SPARK_MASTER``
environment variable for the master, then the ``master`` and ``config`` arguments. A local master
gets ``spark.driver.memory`` of a quarter of this machine's memory (1 to 8 GB) unless
spark-defaults.conf, ``PYSPARK_SUBMIT_ARGS`` or ``config`` sets it. Nothing is downloaded at run
time: ``spark.jars.packages`` is refused.
"""

from __future__ import annotations

import os
import shutil
import sys
import warnings

from ..errors import CrmlibError, ParameterError

__all__ = ["DEFAULT_CONFIG", "DEFAULT_MASTER", "get_session", "java_available"]

DEFAULT_MASTER = "local[*]"

#: crmlib's defaults; any key can be overridden with ``config``.
DEFAULT_CONFIG = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.sources.partitionColumnTypeInference.enabled": "false",  # month stays 'YYYY-MM'
    "spark.sql.adaptive.enabled": "true",
}

_FORBIDDEN = ("spark.jars.packages", "spark.jars.repositories", "spark.jars.ivySettings")

#: a local master runs the executors inside the driver JVM, so the driver heap is all Spark has;
#: Spark's own 1 GB default ran out at 2M order lines (segmentation's cached customer features
#: left no room for a broadcast join). A quarter of this machine's memory, within these bounds.
LOCAL_DRIVER_MEMORY_BOUNDS_MB = (1024, 8192)
_CGROUP_LIMITS = ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes")


def java_available() -> bool:
    """True if a Java runtime is on PATH or under ``$JAVA_HOME``."""
    home = os.environ.get("JAVA_HOME")
    return bool(shutil.which("java") or (home and os.path.exists(os.path.join(home, "bin", "java"))))


def get_session(master: str | None = None, *, app_name: str = "crmlib", config: dict | None = None):
    """The active SparkSession, or a new one on ``master``.

    Parameters
    ----------
    master : str, optional
        ``local[*]`` (default, or env ``CRMLIB_SPARK_MASTER``), ``local[2]``,
        ``spark://host:7077``, ``yarn``, ``k8s://https://...``. Under ``spark-submit`` the
        master given there wins (the session already exists).
    app_name : str, default='crmlib'
    config : dict, optional
        Extra Spark settings, e.g. ``{"spark.executor.memory": "4g"}``.

    Returns
    -------
    pyspark.sql.SparkSession

    Raises
    ------
    CrmlibError
        No Java runtime, or pyspark is not installed.
    ParameterError
        ``config`` asks Spark to download packages.
    """
    config = dict(config or {})
    bad = [k for k in config if k in _FORBIDDEN]
    if bad:
        raise ParameterError(
            f"spark.get_session: 'config' must not set {bad}: crmlib never downloads jars at run "
            "time; put the jars on the cluster or in $SPARK_HOME/jars.", name="config")
    try:
        from pyspark.sql import SparkSession
    except ModuleNotFoundError:
        raise CrmlibError("the Spark path needs pyspark, which is not installed: "
                          "pip install 'crmlib[spark]'") from None
    # pyspark 4.3 warns on every toPandas that pandas 3 is not fully supported; crmlib pairs them on
    # purpose (docs/spark.md: only Spark SQL/ML paths, equality-tested against pandas), so the
    # warning would only clutter every report
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas",
                            category=FutureWarning)
    active = SparkSession.getActiveSession()
    if active is not None and master is None and not config:
        return active
    if not java_available():
        raise CrmlibError("Spark needs a Java runtime (17 or 21): install openjdk-17-jre-headless "
                          "or set JAVA_HOME")
    # executors started by a standalone worker on this machine use the same Python
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    master = master or os.environ.get("CRMLIB_SPARK_MASTER") or DEFAULT_MASTER
    settings = {**DEFAULT_CONFIG, **_local_driver_memory(master), **config}
    builder = SparkSession.builder.appName(app_name).master(master)
    for key, value in settings.items():
        builder = builder.config(key, str(value))
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    return spark


def _local_driver_memory(master: str) -> dict:
    """``{"spark.driver.memory": ...}`` for a local master, unless Spark's own configuration sets it.

    A quarter of the memory this process may use (physical memory, or a container's cgroup limit
    if lower) within :data:`LOCAL_DRIVER_MEMORY_BOUNDS_MB`. The JVM commits the heap as it grows:
    a 2M-line report's driver reached 6.5 GB of resident memory with a 6 GB heap.
    """
    if not master.startswith("local") or _spark_defaults_set("spark.driver.memory") \
            or "--driver-memory" in os.environ.get("PYSPARK_SUBMIT_ARGS", ""):
        return {}
    total_mb = _usable_memory_mb()
    if total_mb is None:  # not POSIX: keep Spark's default
        return {}
    low, high = LOCAL_DRIVER_MEMORY_BOUNDS_MB
    return {"spark.driver.memory": f"{min(max(total_mb // 4, low), high)}m"}


def _usable_memory_mb() -> int | None:
    """Physical memory in MB, or the cgroup (v2, then v1) memory limit when that is lower."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None
    for path in _CGROUP_LIMITS:
        try:
            with open(path, encoding="ascii") as fh:
                limit = fh.read().strip()
        except OSError:
            continue
        if limit.isdigit():  # 'max' (v2) or a huge number (v1) mean no limit
            total = min(total, int(limit))
        break
    return total // 2**20


def _spark_defaults_set(key: str) -> bool:
    """True if ``$SPARK_CONF_DIR`` (or ``$SPARK_HOME/conf``) spark-defaults.conf sets ``key``."""
    folder = os.environ.get("SPARK_CONF_DIR") or (
        os.path.join(os.environ["SPARK_HOME"], "conf") if os.environ.get("SPARK_HOME") else None)
    if not folder:
        return False
    try:
        with open(os.path.join(folder, "spark-defaults.conf"), encoding="utf-8") as fh:
            return any(line.split(None, 1)[0].split("=")[0] == key
                       for line in fh if line.strip() and not line.lstrip().startswith("#"))
    except OSError:
        return False
