"""The sales cube on Spark, from the mart: aggregates by date level, and roll-ups with sub-totals.

:func:`aggregate` is :func:`crmlib.cube.aggregate` for date levels on the mart (what
:func:`crmlib.engines.analyses.aggregate` calls on the Spark engine); :func:`rollup` gives
Spark's sub-totals by any mart levels.

Levels: ``year``, ``quarter``, ``month`` (from ``dim_date``), ``region`` and ``channel_kind`` /
``channel`` (from ``dim_channel``), ``category`` / ``subcategory`` / ``product`` (from
``dim_product``), ``rep`` (rep name) and ``rep_region`` (from ``dim_rep``), ``status``.

Measures (names from :data:`crmlib.definitions.MEASURES`): ``revenue`` (sum of ``net_amount``,
:func:`crmlib.definitions.line_revenue`), ``gross``, ``cost``,
``margin``, ``quantity``, ``lines``, ``orders`` and ``customers`` (distinct counts, exact).
"""

from __future__ import annotations

import pandas as pd

from .._validation import check_one_of
from ..definitions import DATE_LEVELS, REVENUE_STATUSES
from ..mart import table_path

__all__ = ["LEVELS", "MART_MEASURES", "MEASURES", "aggregate", "rollup", "sales"]

LEVELS = {
    "year": ("d", "year"), "quarter": ("d", "quarter"), "month": ("d", "month"),
    "region": ("c", "region"), "channel_kind": ("c", "kind"), "channel": ("c", "name"),
    "category": ("p", "category"), "subcategory": ("p", "subcategory"), "product": ("p", "name"),
    "rep": ("r", "name"), "rep_region": ("r", "region"), "status": ("f", "status"),
}
#: measure -> (aggregation, mart column): the cube's measures as the mart holds them
MART_MEASURES = {"revenue": ("sum", "net_amount"), "gross": ("sum", "gross_amount"),
                 "cost": ("sum", "cost_amount"), "margin": ("sum", "margin_amount"),
                 "quantity": ("sum", "quantity"), "lines": ("count", None),
                 "orders": ("distinct", "order_id"), "customers": ("distinct", "customer_id")}
MEASURES = tuple(MART_MEASURES)
_PERIODS = ("year", "quarter", "month")


def sales(spark, mart):
    """The sales fact joined to its dimensions, one column per level in :data:`LEVELS`."""
    from pyspark.sql import functions as F

    f = spark.read.parquet(table_path(mart, "fact_sales")).alias("f")
    d = spark.read.parquet(table_path(mart, "dim_date")).alias("d")
    c = spark.read.parquet(table_path(mart, "dim_channel")).alias("c")
    p = spark.read.parquet(table_path(mart, "dim_product")).alias("p")
    r = spark.read.parquet(table_path(mart, "dim_rep")).alias("r")
    joined = (f.join(F.broadcast(d), "date_key", "left")
              .join(F.broadcast(c), F.col("f.channel_id") == F.col("c.channel_id"), "left")
              .join(F.broadcast(p), F.col("f.product_id") == F.col("p.product_id"), "left")
              .join(F.broadcast(r), F.col("f.rep_id") == F.col("r.rep_id"), "left"))
    return joined.select(
        *[F.col(f"{alias}.{col}").cast("string" if col not in ("year", "quarter", "month") else "int").alias(level)
          for level, (alias, col) in LEVELS.items()],
        "f.order_id", "f.customer_id", "f.quantity", "f.gross_amount", "f.net_amount", "f.cost_amount",
        "f.margin_amount")


def rollup(spark, mart, levels, *, kind: str = "rollup"):
    """Measures by ``levels`` with sub-totals: ``rollup`` (hierarchical, e.g. year > quarter >
    month) or ``cube`` (every combination).

    Returns
    -------
    pandas.DataFrame
        One column per level (None on a sub-total row), ``grouping`` (int: which levels are
        rolled up, Spark's ``grouping_id``) and :data:`MEASURES`.
    """
    from pyspark.sql import functions as F

    check_one_of(kind, ("rollup", "cube"), name="kind", where="cube.spark.rollup")
    for level in levels:
        check_one_of(level, tuple(LEVELS), name="levels", where="cube.spark.rollup")
    data = sales(spark, mart)
    grouped = data.rollup(*levels) if kind == "rollup" else data.cube(*levels)
    out = grouped.agg(
        F.grouping_id().alias("grouping"), *[_measure(m) for m in MEASURES])
    return out.orderBy("grouping", *levels).toPandas()


def _measure(name: str):
    from pyspark.sql import functions as F

    how, col = MART_MEASURES[name]
    return (F.sum(col) if how == "sum" else F.count("*") if how == "count" else F.countDistinct(col)).alias(name)


def aggregate(spark, mart, by, *, measures, statuses=REVENUE_STATUSES, slices=None) -> pd.DataFrame:
    """Measures of the mart's sales by date levels: :func:`crmlib.cube.aggregate`'s frame.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
    mart : str or path
    by : list of {'year', 'quarter', 'month'}
    measures : list of str
        Names in :data:`MEASURES`.
    statuses : tuple of str, default=REVENUE_STATUSES
        Order statuses kept (a star's ``statuses``).
    slices : dict, optional
        ``{level: value or list}`` of :data:`LEVELS` to keep.

    Returns
    -------
    pandas.DataFrame
        Period columns, then the measures (float64 money, int64 counts), sorted by the periods.
    """
    from pyspark.sql import functions as F

    where = "cube.spark.aggregate"
    for level in by:
        check_one_of(level, _PERIODS, name="by", where=where)
    for m in measures:
        check_one_of(m, MEASURES, name="measures", where=where)
    data = sales(spark, mart).where(F.col("status").isin(list(statuses)))
    for level, value in (slices or {}).items():
        check_one_of(level, tuple(LEVELS), name="slices", where=where)
        data = data.where(F.col(level).isin(list(value) if isinstance(value, (list, tuple)) else [value]))
    keys = [lvl for lvl in _PERIODS if lvl == "year" or lvl in by]
    frame = data.groupBy(*keys).agg(*[_measure(m) for m in measures]).toPandas()
    out = pd.DataFrame(index=frame.index)
    for level in by:
        year = frame["year"].astype(int).astype(str)
        text = (year if level == "year" else year + "Q" + frame["quarter"].astype(int).astype(str)
                if level == "quarter" else year + "-" + frame["month"].astype(int).astype(str).str.zfill(2))
        out[level] = pd.PeriodIndex(text, freq=DATE_LEVELS[level])
    for m in measures:
        out[m] = frame[m].astype("int64" if MART_MEASURES[m][0] != "sum" or m == "quantity" else "float64")
    return out.sort_values(list(by), kind="stable").reset_index(drop=True)
