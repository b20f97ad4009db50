"""Where splink runs: DuckDB in this process (default) or a Spark session.

The only place crmlib.imports.dedup touches Spark, and the one import of crmlib's session helper.
Comparisons use SQL both engines run natively (no splink jar with Java UDFs is needed on Spark).
"""

from __future__ import annotations

import contextlib
import logging

import pandas as pd

__all__ = ["database_api", "quiet_splink", "register", "release", "to_pandas"]


def database_api(backend: str, spark=None):
    """A splink database API for ``backend`` ('duckdb' or 'spark')."""
    if backend == "spark":
        from splink import SparkAPI

        from ...spark.session import get_session  # crmlib's one session helper

        session = spark if spark is not None else get_session()
        # persist (not checkpoint) to cut lineage: needs no checkpoint directory on the cluster.
        # splink repartitions its pair tables to half of spark.sql.shuffle.partitions (100 by
        # default) and every EM iteration then runs that many tasks: at 80,000 customers on 2
        # cores each iteration took ~8 s and the fit over 30 minutes. The pairs of a bounded
        # customer sample are a few million rows: two partitions a core are enough.
        partitions = 2 * max(1, session.sparkContext.defaultParallelism)
        return SparkAPI(spark_session=session, register_udfs_automatically=False, break_lineage_method="persist",
                        num_partitions_on_repartition=partitions)
    import duckdb
    from splink import DuckDBAPI

    return DuckDBAPI(connection=duckdb.connect(":memory:"))


def register(db_api, keys: pd.DataFrame):
    """The prepared keys as a splink input table (strings stay strings on both engines)."""
    frame = keys.copy()
    for col in frame.columns:
        if col != "unique_id":
            frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
    if type(db_api).__name__ == "SparkAPI":
        from pyspark.sql import types as T

        schema = T.StructType([T.StructField("unique_id", T.LongType(), False)] + [
            T.StructField(c, T.StringType(), True) for c in frame.columns if c != "unique_id"])
        rows = [tuple(r) for r in frame.itertuples(index=False, name=None)]
        return db_api.register(db_api.spark.createDataFrame(rows, schema=schema))
    return db_api.register(frame)


def to_pandas(splink_frame) -> pd.DataFrame:
    return splink_frame.as_pandas_dataframe()


def release(db_api) -> None:
    """Close the DuckDB connection (Spark sessions belong to the caller and stay up)."""
    if type(db_api).__name__ == "DuckDBAPI":
        try:
            db_api.duckdb_con.close()
        except Exception:  # noqa: BLE001 - closing is best effort
            pass


@contextlib.contextmanager
def quiet_splink():
    """While fitting: splink's chatter (per-level training notes) below ERROR, and m = 0 allowed.

    splink 5.0.0 refuses an m probability of exactly 0, which its own EM reaches when a level
    never occurs among matches (in synthetic data: a birth date that is never wholly different);
    its match-weight arithmetic already clamps such values, so the check is lifted while training.
    """
    from splink.internals import comparison_level

    logger = logging.getLogger("splink")
    level = logger.level
    original = comparison_level._validate_m_u_probability

    def allow_zero(value, param_name, level_not_observed_text):
        if isinstance(value, (int, float)) and 0 <= value < comparison_level.M_U_CLAMP_MIN:
            return
        original(value, param_name, level_not_observed_text)

    logger.setLevel(logging.ERROR)
    comparison_level._validate_m_u_probability = allow_zero
    try:
        yield
    finally:
        comparison_level._validate_m_u_probability = original
        logger.setLevel(level)
