"""Which engine computes a report: pandas on one machine, or Spark (``crmlib.spark``) on a cluster.

A notebook opens its engine once and calls the functions of :mod:`crmlib.engines.analyses`, which
return the same pandas tables whichever engine computed them; only small results (rules, RFM
scores, roll-ups) leave Spark. So a report looks the same on both engines and says which one
made it (:meth:`Engine.note`).

>>> eng = open_engine("pandas")
>>> eng.name, eng.is_spark
('pandas', False)
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._validation import check_one_of
from ..errors import CrmlibError, ParameterError

__all__ = ["DEFAULT_MASTER", "FIT_SAMPLE_ROWS", "REPORT_ENGINES", "Engine", "bounded_sample", "check_engine",
           "default_mart", "open_engine", "probe_master", "require_spark"]

REPORT_ENGINES = ("pandas", "spark")
DEFAULT_MASTER = "local[*]"
#: Most rows a model on the Spark engine is fitted on in the driver (a bounded random sample,
#: stratified where the outcome is rare); at or below it the fit sees every row and is exact.
FIT_SAMPLE_ROWS = 200_000
# local, local[4], local[*], local[4,2], spark://h:7077[,h2:7077], yarn, k8s://https://..., mesos://...
_MASTER = re.compile(r"^(local(\[(\*|\d+)(,\d+)?\])?|yarn|(spark|k8s|mesos)://\S+)$")


def check_engine(engine: str, spark_master: str | None = DEFAULT_MASTER, *,
                 where: str = "engine") -> None:
    """Check ``engine`` and, for Spark, the master URL's form (nothing is started).

    Raises
    ------
    ParameterError
        ``engine`` not in :data:`REPORT_ENGINES`, or a master URL Spark would not take.
    """
    check_one_of(engine, REPORT_ENGINES, name="engine", where=where)
    if engine == "spark" and spark_master is not None and not (
            isinstance(spark_master, str) and _MASTER.match(spark_master)):
        raise ParameterError(
            f"{where}: 'spark_master' must be local[*], local[N], spark://host:port, yarn or "
            f"k8s://https://host:port; got {spark_master!r}.", name="spark_master")


def require_spark(*, where: str = "engine") -> None:
    """Raise one clear error if the Spark engine cannot start here (no pyspark, no Java).

    Raises
    ------
    CrmlibError
        Naming what is missing and how to install it.
    """
    import importlib.util

    if importlib.util.find_spec("pyspark") is None:
        raise CrmlibError(f"{where}: engine='spark' needs pyspark, which is not installed: "
                          "pip install 'crmlib[spark]' (or run with engine='pandas').")
    from ..spark import java_available

    if not java_available():
        raise CrmlibError(f"{where}: engine='spark' needs a Java runtime (17 or 21), none found on "
                          "PATH or under $JAVA_HOME: install openjdk-17-jre-headless (or run with "
                          "engine='pandas').")


def probe_master(master: str | None, *, timeout: float = 3.0, where: str = "engine") -> None:
    """Raise one clear error if a standalone master (``spark://host:port[,host2:port2]``) is not
    reachable: a TCP connect to each, ``timeout`` seconds at most (Spark itself would retry for a
    minute). Other masters (``local[*]``, ``yarn``, ``k8s://``) are not probed.

    Raises
    ------
    CrmlibError
        Naming the master and what the connection said.
    """
    import socket

    if not master or not master.startswith("spark://"):
        return
    errors = []
    for hostport in master.removeprefix("spark://").split(","):
        host, _, port = hostport.rpartition(":")
        try:
            with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
                return
        except (OSError, ValueError) as err:
            errors.append(f"{hostport}: {err.strerror or err}" if isinstance(err, OSError)
                          else f"{hostport}: bad port")
    raise CrmlibError(f"{where}: the Spark master {master} is not reachable "
                      f"({'; '.join(errors)}): start it, or check --spark-master.")


def default_mart(db_url: str | None = None) -> Path:
    """Where the mart of ``db_url`` goes when a Spark report is given none.

    ``data/mart/`` for the default database (what ``crmlib mart export`` writes); beside the file
    for another SQLite database (``x.sqlite`` -> ``x.mart/``); ``data/marts/<hash of the URL>/``
    otherwise, so two databases never share (and keep rewriting) one mart.
    """
    from .. import config

    url = db_url or config.default_url()
    if url == f"sqlite:///{config.DEFAULT_DB_PATH}":
        return config.DATA_DIR / "mart"
    if url.startswith("sqlite:///") and "?" not in url:
        path = Path(url.removeprefix("sqlite:///"))
        return path.with_name(path.name + ".mart")
    return config.DATA_DIR / "marts" / hashlib.sha1(url.encode()).hexdigest()[:12]


@dataclass
class Engine:
    """An opened engine. Use :func:`open_engine`.

    Attributes
    ----------
    name : {'pandas', 'spark'}
    master : str or None
        The Spark master URL, password redacted (None for pandas).
    mart : str or None
        The Parquet mart Spark reads (None for pandas).
    session : pyspark.sql.SparkSession or None
    """

    name: str
    master: str | None = None
    mart: str | None = None
    session: Any = field(default=None, repr=False)

    @property
    def is_spark(self) -> bool:
        return self.name == "spark"

    def table(self, name: str):
        """The mart table ``name`` (``fact_sales``, ``dim_customer``, ... see :mod:`crmlib.mart`)
        as a Spark DataFrame: nothing is read until an action runs.

        Raises
        ------
        ParameterError
            On the pandas engine (it reads the database through :mod:`crmlib.db`), or an unknown table.
        """
        if not self.is_spark:
            raise ParameterError(f"Engine.table: the pandas engine has no mart; load {name!r} through "
                                 "crmlib.db.", name="engine")
        from ..mart import table_path

        return self.session.read.parquet(table_path(self.mart, name))

    def note(self, spark_parts=(), pandas_parts=()) -> str:
        """One markdown line for the report: which engine computed which sections.

        Parameters
        ----------
        spark_parts : sequence of str
            Sections computed on Spark (when the engine is Spark).
        pandas_parts : sequence of str
            Sections that stay on pandas even on the Spark engine.
        """
        if not self.is_spark:
            return "**Engine: pandas** (one machine)."
        text = (f"**Engine: Spark** (master `{self.master}`): "
                f"{_join(spark_parts) or 'the analysis'} on Spark, from the Parquet mart")
        if pandas_parts:
            text += f"; {_join(pandas_parts)} with pandas (not on Spark yet)"
        return text + "."


def _join(parts) -> str:
    parts = list(parts)
    return ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1] if parts else ""


def open_engine(engine: str = "pandas", *, spark_master: str | None = DEFAULT_MASTER,
                mart: str | Path | None = None, db_url: str | None = None,
                config: dict | None = None) -> Engine:
    """Check the choice and start what it needs.

    Parameters
    ----------
    engine : {'pandas', 'spark'}, default='pandas'
    spark_master : str, default='local[*]'
        Spark master URL (``local[*]``, ``spark://host:7077``, ``yarn``, ``k8s://https://...``).
    mart : str or Path, optional
        The Parquet mart Spark reads (local folder, ``hdfs://``, ``s3a://``...). None: ``db_url``
        is exported (incrementally: unchanged months are not rewritten) into
        :func:`default_mart`.
    db_url : str, optional
        The database the mart is exported from (default: crmlib's default database).
    config : dict, optional
        Extra Spark settings for :func:`crmlib.spark.get_session`.

    Returns
    -------
    Engine

    Raises
    ------
    ParameterError
        Unknown engine or a malformed master URL.
    CrmlibError
        engine='spark' without pyspark or Java.
    """
    from ..config import redact_url

    where = "engine"
    check_engine(engine, spark_master, where=where)
    if engine == "pandas":
        return Engine("pandas")
    require_spark(where=where)
    probe_master(spark_master, where=where)
    from ..spark import get_session

    if mart is None:
        from .. import mart as _mart

        mart = default_mart(db_url)
        _mart.export(db_url, mart)  # incremental: a second run with no new data writes nothing
    session = get_session(spark_master or DEFAULT_MASTER, app_name="crmlib-report", config=config)
    return Engine("spark", master=redact_url(session.sparkContext.master), mart=str(mart),
                  session=session)


def bounded_sample(frame, max_rows: int = FIT_SAMPLE_ROWS, *, by: str | None = None, key: str | None = None,
                   seed: int = 0):
    """At most about ``max_rows`` rows of a Spark DataFrame, brought into pandas to fit a model.

    Every row when the frame has no more than ``max_rows`` (the fit is then exact); otherwise a
    Bernoulli sample of ``max_rows / rows`` in each stratum of ``by`` (``DataFrame.sampleBy``),
    so a rare outcome keeps its share. Sampled row counts vary by about ``sqrt(max_rows)``.

    Parameters
    ----------
    frame : pyspark.sql.DataFrame
    max_rows : int, default=FIT_SAMPLE_ROWS
    by : str, optional
        Column to stratify on (an outcome, a treatment flag).
    key : str, optional
        Sort the pandas rows by this column, so a run gives the same rows in the same order.
    seed : int, default=0

    Returns
    -------
    pandas.DataFrame
        ``attrs``: ``population`` (rows of ``frame``), ``sampled`` (bool), ``fraction``.
    """
    if not isinstance(max_rows, (int, np.integer)) or isinstance(max_rows, bool) or max_rows < 1:
        raise ParameterError(f"engines.bounded_sample: 'max_rows' must be a positive int; got {max_rows!r}.",
                             name="max_rows")
    population = frame.count()
    fraction = min(1.0, max_rows / population) if population else 1.0
    if fraction < 1.0:
        if by is None:
            frame = frame.sample(withReplacement=False, fraction=fraction, seed=seed)
        else:
            strata = [r[0] for r in frame.select(by).distinct().collect()]
            frame = frame.sampleBy(by, {s: fraction for s in strata}, seed=seed)
    out = frame.toPandas()
    if key is not None:
        out = out.sort_values(key, kind="stable").reset_index(drop=True)
    out.attrs.update(population=int(population), sampled=fraction < 1.0, fraction=float(fraction))
    return out
