"""RFM on Spark: the table, the quintile scores and the named segments of crmlib.segments.

Same definitions as :mod:`crmlib.segments.rfm`, computed on Spark DataFrames from the mart:

- an order's amount is the sum of its lines' ``net_amount`` (``quantity * unit_price *
  (1 - discount)``), orders with an excluded status dropped (crmlib.segments' default);
- a purchase is an order with a positive amount; ``recency`` = days from the day of the last
  purchase to ``as_of`` (default: the day of the last order), ``frequency`` = purchases,
  ``monetary`` = net sum of all amounts;
- R, F, M = ``ceil(5 * average percentile rank)`` clipped to 1..5 (recency: lower is better),
  FM = ``round_half_up((F + M) / 2)``, the segment from crmlib.segments' score map.

The ranks are computed on the distinct values (a few thousand) rather than on every customer,
so no window ever holds the whole customer table in one partition.
"""

from __future__ import annotations

import pandas as pd

from ..errors import CrmlibError

__all__ = ["order_values", "rfm_scores", "rfm_table", "to_pandas"]


def _segments():
    try:
        from ..segments import rfm as seg
        from ..segments._common import DEFAULT_EXCLUDE_STATUS
    except ImportError:
        raise CrmlibError("crmlib.spark.rfm uses crmlib.segments' definitions (score maps, "
                          "excluded statuses); install a crmlib that has crmlib.segments") from None
    return seg, DEFAULT_EXCLUDE_STATUS


def order_values(spark, mart, *, exclude_status=None):
    """One row per kept order: ``order_id``, ``customer_id``, ``ordered_at``, ``amount``."""
    from pyspark.sql import functions as F

    if exclude_status is None:
        exclude_status = _segments()[1]
    sales = spark.read.parquet(f"{str(mart).rstrip('/')}/fact_sales")
    kept = sales.where(~F.col("status").isin(list(exclude_status)))
    return (kept.groupBy("order_id")
            .agg(F.first("customer_id").alias("customer_id"), F.first("ordered_at").alias("ordered_at"),
                 F.sum("net_amount").alias("amount")))


def rfm_table(orders, *, as_of=None):
    """Recency, frequency and monetary value per customer (crmlib.segments.rfm_table).

    Parameters
    ----------
    orders : pyspark.sql.DataFrame
        ``customer_id``, ``ordered_at``, ``amount`` (as :func:`order_values` gives).
    as_of : date-like, optional
        Reference day; default the day of the last order.

    Returns
    -------
    pyspark.sql.DataFrame
        ``customer_id``, ``first_purchase``, ``last_purchase``, ``recency`` (double, days),
        ``frequency`` (long), ``monetary`` (double); customers with at least one purchase.
    """
    from pyspark.sql import functions as F

    if as_of is None:
        day = orders.agg(F.max("ordered_at")).first()[0]
        day = pd.Timestamp(day).normalize()
    else:
        day = pd.Timestamp(as_of).normalize()
    tx = orders.where(F.to_date("ordered_at") <= F.lit(day.date()))
    bought = (tx.where(F.col("amount") > 0).groupBy("customer_id")
              .agg(F.min("ordered_at").alias("first_purchase"), F.max("ordered_at").alias("last_purchase"),
                   F.count("*").alias("frequency")))
    net = tx.groupBy("customer_id").agg(F.sum("amount").alias("monetary"))
    out = bought.join(net, "customer_id", "left")
    recency = F.datediff(F.lit(day.date()), F.to_date("last_purchase")).cast("double")
    return out.select("customer_id", "first_purchase", "last_purchase", recency.alias("recency"),
                      "frequency", F.col("monetary").cast("double").alias("monetary"))


def _quintile(df, column: str, name: str, higher_is_better: bool):
    """Score 1..5 = ceil(5 * average rank / n), ties sharing the average rank (pandas' rank)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    value = F.col(column) if higher_is_better else -F.col(column)
    n = df.count()
    distinct = df.select(value.alias("_v")).groupBy("_v").agg(F.count("*").alias("_c"))
    before = F.sum("_c").over(Window.orderBy("_v").rowsBetween(Window.unboundedPreceding, -1))
    ranks = distinct.select("_v", (F.coalesce(before, F.lit(0)) + (F.col("_c") + 1) / 2.0).alias("_rank"))
    score = F.least(F.greatest(F.ceil(F.col("_rank") / F.lit(float(n)) * 5), F.lit(1)), F.lit(5))
    ranks = ranks.select("_v", score.cast("int").alias(name))
    return df.withColumn("_v", value).join(F.broadcast(ranks) if n < 10_000_000 else ranks, "_v").drop("_v")


def rfm_scores(rfm, *, segment_map="rfm"):
    """Add ``R``, ``F``, ``M``, ``FM``, ``rfm_score`` and ``segment`` (crmlib.segments.rfm_scores).

    Parameters
    ----------
    rfm : pyspark.sql.DataFrame
        :func:`rfm_table`'s output (customers with a purchase).
    segment_map : {'rfm', 'rf'} or 5 x 5 grid, default='rfm'

    Returns
    -------
    pyspark.sql.DataFrame
    """
    from pyspark.sql import functions as F

    seg, _ = _segments()
    grid = seg._resolve_map(segment_map, where="spark.rfm_scores")
    spark = rfm.sparkSession
    out = rfm
    for col, name, better in (("recency", "R", False), ("frequency", "F", True), ("monetary", "M", True)):
        out = _quintile(out, col, name, better)
    out = out.withColumn("FM", F.floor((F.col("F") + F.col("M")) / 2.0 + 0.5).cast("int"))
    out = out.withColumn("rfm_score", F.concat(F.col("R").cast("string"), F.col("F").cast("string"),
                                               F.col("M").cast("string")))
    cells = spark.createDataFrame(
        [(5 - i, j + 1, name) for i, row in enumerate(grid) for j, name in enumerate(row)],
        "R int, _x int, segment string")
    x = F.col("F") if segment_map == "rf" else F.col("FM")
    return out.withColumn("_x", x).join(F.broadcast(cells), ["R", "_x"], "left").drop("_x")


def to_pandas(scored) -> pd.DataFrame:
    """A Spark RFM table as crmlib.segments returns it, sorted by customer_id."""
    frame = scored.toPandas().sort_values("customer_id", kind="stable").reset_index(drop=True)
    for col in ("R", "F", "M", "FM"):
        if col in frame:
            frame[col] = frame[col].astype(int)
    if "frequency" in frame:
        frame["frequency"] = frame["frequency"].astype(int)
    return frame
