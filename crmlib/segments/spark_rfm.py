"""RFM on Spark: the table, the quintile scores and the named segments of crmlib.segments.

Same definitions as :mod:`crmlib.segments.rfm`, computed on Spark DataFrames from the mart:

- an order's amount is the sum of its lines' ``net_amount`` (``quantity * unit_price *
  (1 - discount)``), orders whose status is not a purchase dropped (:data:`crmlib.definitions.NON_PURCHASE_STATUSES`);
- a purchase is an order with a positive amount; ``recency`` = days from the day of the last
  purchase to ``as_of`` (default: the day of the last order), ``frequency`` = purchases,
  ``monetary`` = net sum of all amounts;
- R, F, M = ``ceil(5 * average percentile rank)`` clipped to 1..5 (recency: lower is better),
  FM = ``round_half_up((F + M) / 2)``, the segment from crmlib.segments' score map.

The ranks are computed on the distinct values with their counts, accumulated per value bucket
(:mod:`crmlib.spark.ranks`), so no window ever holds the whole customer table in one partition.
:func:`scored_customers` keeps every customer (segment 'No Purchase' without a purchase) as a
Spark DataFrame; :func:`segment_summary` brings back only the per-segment table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..definitions import NON_PURCHASE_STATUSES, as_day
from ..mart import table_path
from . import rfm as seg

__all__ = ["order_values", "rfm_scores", "rfm_scores_from_mart", "rfm_table", "scored_customers",
           "segment_summary", "to_pandas"]


def order_values(spark, mart, *, exclude_status=None):
    """One row per kept order: ``order_id``, ``customer_id``, ``ordered_at``, ``amount``.

    As :func:`crmlib.segments.order_values`: every order header (``fact_orders``) whose status is
    a purchase status, with the net sum of its lines (``fact_sales``); an order without lines has
    amount 0.
    """
    from pyspark.sql import functions as F

    if exclude_status is None:
        exclude_status = NON_PURCHASE_STATUSES
    heads = spark.read.parquet(table_path(mart, "fact_orders"))
    kept = heads.where(~F.col("status").isin(list(exclude_status)))
    sums = (spark.read.parquet(table_path(mart, "fact_sales")).groupBy("order_id")
            .agg(F.sum("net_amount").alias("amount")))
    return (kept.select("order_id", "customer_id", "ordered_at").join(sums, "order_id", "left")
            .select("order_id", "customer_id", "ordered_at",
                    F.coalesce(F.col("amount").cast("double"), F.lit(0.0)).alias("amount")))


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

    last = orders.agg(F.max("ordered_at")).first()[0] if as_of is None else None
    day = as_day(as_of, where="segments.spark_rfm.rfm_table", default=last)
    tx = orders.where(F.to_date("ordered_at") <= F.lit(day.date()))
    bought = (tx.where(F.col("amount") > 0).groupBy("customer_id")
              .agg(F.min("ordered_at").alias("first_purchase"), F.max("ordered_at").alias("last_purchase"),
                   F.count("*").alias("frequency")))
    net = tx.groupBy("customer_id").agg(F.sum("amount").alias("monetary"))
    out = bought.join(net, "customer_id", "left")
    recency = F.datediff(F.lit(day.date()), F.to_date("last_purchase")).cast("double")
    return out.select("customer_id", "first_purchase", "last_purchase", recency.alias("recency"),
                      "frequency", F.col("monetary").cast("double").alias("monetary"))


def _quintile(df, column: str, name: str, higher_is_better: bool, sizes=None):
    """Score 1..5 = ceil(5 * average rank / n), ties sharing the average rank (pandas' rank).

    The ranks come from :func:`crmlib.spark.ranks.average_ranks` (distinct values with counts,
    accumulated per value bucket), so no window ever holds the whole table in one partition.
    """
    from pyspark.sql import functions as F

    from ..spark.ranks import average_ranks

    ranks, n = average_ranks(df, column, descending=not higher_is_better, sizes=sizes)
    score = F.least(F.greatest(F.ceil(F.col("rank") / F.lit(float(max(n, 1))) * 5), F.lit(1)), F.lit(5))
    ranks = ranks.select(F.col(column).alias("_v"), score.cast("int").alias(name))
    # the distinct values of a score column: at most one row per customer, broadcast when few
    return df.withColumn("_v", F.col(column)).join(ranks, "_v").drop("_v")


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

    grid = seg.resolve_segment_map(segment_map, where="segments.spark_rfm.rfm_scores")
    from ..spark.ranks import profile

    spark = rfm.sparkSession
    sizes = profile(rfm, ["recency", "frequency", "monetary"])  # one job for the three columns
    out = rfm
    for col, name, better in (("recency", "R", False), ("frequency", "F", True), ("monetary", "M", True)):
        out = _quintile(out, col, name, better, sizes[col])
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


def rfm_scores_from_mart(spark, mart, *, as_of=None, customers: pd.DataFrame | None = None,
                         segment_map="rfm") -> pd.DataFrame:
    """:func:`crmlib.segments.rfm_scores` of the mart's orders, one row per customer (pandas).

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
    mart : str or path
    as_of : date-like, optional
        Reference day; default the day of the last order.
    customers : pandas.DataFrame, optional
        ``customer_id``: customers without a purchase are kept, with segment 'No Purchase'.
    segment_map : {'rfm', 'rf'} or 5 x 5 grid, default='rfm'
    """
    from pyspark.sql import functions as F

    orders = order_values(spark, mart).cache()
    try:
        last = orders.agg(F.max("ordered_at")).first()[0] if as_of is None else None
        day = as_day(as_of, where="segments.spark_rfm.rfm_scores_from_mart", default=last)
        out = to_pandas(rfm_scores(rfm_table(orders, as_of=day), segment_map=segment_map))
        if customers is not None:  # customers without a purchase: net amount only (refunds, zero)
            net = (orders.where(F.to_date("ordered_at") <= F.lit(day.date())).groupBy("customer_id")
                   .agg(F.sum("amount").alias("monetary")).toPandas().set_index("customer_id")["monetary"])
    finally:
        orders.unpersist()
    out["first_purchase"] = pd.to_datetime(out["first_purchase"]).astype("datetime64[us]")
    out["last_purchase"] = pd.to_datetime(out["last_purchase"]).astype("datetime64[us]")
    if customers is not None:
        ids = pd.Index(pd.unique(customers["customer_id"]))
        missing = ids.difference(pd.Index(out["customer_id"]))
        if len(missing):
            extra = pd.DataFrame({
                "customer_id": missing.astype("int64"),
                "first_purchase": pd.NaT, "last_purchase": pd.NaT, "recency": np.nan,
                "frequency": 0, "monetary": net.reindex(missing).fillna(0.0).to_numpy(dtype=float),
                "R": 0, "F": 0, "M": 0, "FM": 0, "rfm_score": "000", "segment": seg.NO_PURCHASE,
            }).astype({c: out[c].dtype for c in ("first_purchase", "last_purchase")})
            out = pd.concat([out[out["customer_id"].isin(ids)], extra], ignore_index=True)
        else:
            out = out[out["customer_id"].isin(ids)]
        out = out.sort_values("customer_id", kind="stable").reset_index(drop=True)
    out["segment"] = out["segment"].astype(object)
    return out[[*seg.RFM_COLUMNS, "R", "F", "M", "FM", "rfm_score", "segment"]]


def scored_customers(orders, customers, *, as_of, segment_map="rfm"):
    """:func:`crmlib.segments.rfm_scores` of ``rfm_table(..., customers=...)`` as a Spark DataFrame.

    Parameters
    ----------
    orders : pyspark.sql.DataFrame
        :func:`order_values`' rows (``customer_id``, ``ordered_at``, ``amount``).
    customers : pyspark.sql.DataFrame
        ``customer_id`` of every customer to list (the mart's ``dim_customer``).
    as_of : date-like
        Reference day.
    segment_map : {'rfm', 'rf'} or 5 x 5 grid, default='rfm'

    Returns
    -------
    pyspark.sql.DataFrame
        One row per customer of ``customers``: :data:`crmlib.segments.rfm.RFM_COLUMNS`, ``R``,
        ``F``, ``M``, ``FM``, ``rfm_score``, ``segment``. Customers without a purchase have null
        dates and recency, frequency 0, their net amount (refunds) as ``monetary``, scores 0,
        '000' and 'No Purchase', as on pandas.
    """
    from pyspark.sql import functions as F

    day = as_day(as_of, where="segments.spark_rfm.scored_customers")
    scored = rfm_scores(rfm_table(orders, as_of=day).cache(), segment_map=segment_map)  # read 4 times
    net = (orders.where(F.to_date("ordered_at") <= F.lit(day.date())).groupBy("customer_id")
           .agg(F.sum("amount").cast("double").alias("_net")))
    ids = customers.select(F.col("customer_id").cast("long").alias("customer_id")).distinct()
    out = ids.join(scored, "customer_id", "left").join(net, "customer_id", "left")
    bought = F.col("frequency").isNotNull()
    zero = {c: F.when(bought, F.col(c)).otherwise(F.lit(0)).cast("int") for c in ("R", "F", "M", "FM")}
    return out.select(
        "customer_id", "first_purchase", "last_purchase", "recency",
        F.coalesce("frequency", F.lit(0)).cast("long").alias("frequency"),
        F.when(bought, F.col("monetary")).otherwise(F.coalesce("_net", F.lit(0.0))).alias("monetary"),
        *[zero[c].alias(c) for c in ("R", "F", "M", "FM")],
        F.coalesce("rfm_score", F.lit("000")).alias("rfm_score"),
        F.coalesce("segment", F.lit(seg.NO_PURCHASE)).alias("segment"))


_EMPTY_SCORED = pd.DataFrame({"customer_id": [0], "recency": [0.0], "frequency": [1], "monetary": [1.0],
                              "segment": ["x"]})


def segment_summary(scored) -> pd.DataFrame:
    """:func:`crmlib.segments.segment_summary` of a Spark table of scores (only that table comes back).

    Parameters
    ----------
    scored : pyspark.sql.DataFrame
        :func:`scored_customers` (``customer_id, recency, frequency, monetary, segment``).

    Returns
    -------
    pandas.DataFrame
        The same columns, dtypes and order as the pandas function (sums of money equal up to the
        order of float addition).
    """
    from pyspark.sql import functions as F

    g = (scored.groupBy("segment")
         .agg(F.countDistinct("customer_id").alias("customers"), F.sum("monetary").alias("revenue"),
              F.avg("monetary").alias("avg_monetary"), F.avg("frequency").alias("avg_frequency"),
              F.avg("recency").alias("avg_recency"))
         .toPandas())
    # the shares are computed on the small table with the pandas function's arithmetic
    g = g.astype({"revenue": float, "avg_monetary": float, "avg_frequency": float, "avg_recency": float})
    out = g.set_index("segment")
    total_customers = out["customers"].sum()
    total_revenue = out["revenue"].sum()
    out["customer_share"] = out["customers"] / total_customers if total_customers else np.nan
    out["revenue_share"] = out["revenue"] / total_revenue if total_revenue > 0 else np.nan
    rank = {name: i for i, name in enumerate(seg.SEGMENT_ORDER)}
    order = sorted(out.index, key=lambda s: (rank.get(s, len(rank)), str(s)))
    out = out.loc[order].rename_axis("segment").reset_index()
    # the same string dtype as the pandas function's (its groupby keys, reset as a column)
    out["segment"] = pd.Series(pd.Index(list(out["segment"]), dtype=object)).to_numpy()
    out["segment"] = out["segment"].astype(seg.segment_summary(_EMPTY_SCORED)["segment"].dtype)
    out["customers"] = out["customers"].astype(int)
    return out[["segment", "customers", "customer_share", "revenue", "revenue_share", "avg_monetary",
                "avg_frequency", "avg_recency"]]
