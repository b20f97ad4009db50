"""Behavioural features per customer and KMeans clustering with Spark ML, from the mart.

Features (one row per customer with a purchase on or before ``as_of``; orders with an excluded
status dropped, as crmlib.segments does): ``recency`` and ``tenure`` (days from the last / first
purchase to ``as_of``), ``frequency`` (orders), ``monetary`` (net amount), ``aov`` (average
order value), ``lines_per_order``, ``discount_use`` (share of lines with a discount),
``price_level`` (average unit price paid / list price) and the channel mix by kind
(``share_store``, ``share_online``, ``share_phone``).

:func:`kmeans` scales them as crmlib.segments' default does in spirit (signed log1p on the
heavy-tailed columns, then standardisation) and fits Spark ML's KMeans.
"""

from __future__ import annotations

from .._validation import check_interval

__all__ = ["FEATURE_COLUMNS", "LOG_COLUMNS", "customer_features", "kmeans"]

FEATURE_COLUMNS = ("recency", "tenure", "frequency", "monetary", "aov", "lines_per_order",
                   "discount_use", "price_level", "share_store", "share_online", "share_phone")
#: Heavy-tailed columns that get a signed log1p before scaling.
LOG_COLUMNS = ("recency", "tenure", "frequency", "monetary", "aov", "lines_per_order")


def customer_features(spark, mart, *, as_of=None, exclude_status=("cancelled", "returned")):
    """One row per customer: ``customer_id`` and :data:`FEATURE_COLUMNS` (double)."""
    import pandas as pd
    from pyspark.sql import functions as F

    root = str(mart).rstrip("/")
    sales = spark.read.parquet(f"{root}/fact_sales").where(~F.col("status").isin(list(exclude_status)))
    products = spark.read.parquet(f"{root}/dim_product").select("product_id", F.col("unit_price").alias("list_price"))
    channels = spark.read.parquet(f"{root}/dim_channel").select("channel_id", F.col("kind").cast("string"))
    day = pd.Timestamp(as_of if as_of is not None else sales.agg(F.max("ordered_at")).first()[0]).normalize()
    sales = sales.where(F.to_date("ordered_at") <= F.lit(day.date()))
    lines = sales.join(F.broadcast(products), "product_id").join(F.broadcast(channels), "channel_id")
    orders = (lines.groupBy("order_id")
              .agg(F.first("customer_id").alias("customer_id"), F.first("ordered_at").alias("ordered_at"),
                   F.first("kind").alias("kind"), F.sum("net_amount").alias("amount"),
                   F.count("*").alias("n_lines")))
    per_order = (orders.groupBy("customer_id")
                 .agg(F.datediff(F.lit(day.date()), F.to_date(F.max("ordered_at"))).alias("recency"),
                      F.datediff(F.lit(day.date()), F.to_date(F.min("ordered_at"))).alias("tenure"),
                      F.count("*").alias("frequency"), F.sum("amount").alias("monetary"),
                      F.avg("n_lines").alias("lines_per_order"),
                      *[F.avg((F.col("kind") == k).cast("double")).alias(f"share_{k}")
                        for k in ("store", "online", "phone")]))
    per_line = (lines.groupBy("customer_id")
                .agg(F.avg((F.col("discount") > 0).cast("double")).alias("discount_use"),
                     F.avg(F.col("unit_price") / F.col("list_price")).alias("price_level")))
    out = per_order.join(per_line, "customer_id").withColumn("aov", F.col("monetary") / F.col("frequency"))
    return out.select("customer_id", *[F.col(c).cast("double").alias(c) for c in FEATURE_COLUMNS])


def kmeans(features, *, k: int = 6, seed: int = 42, max_iter: int = 50):
    """Fit Spark ML KMeans on the scaled features.

    Returns
    -------
    (pyspark.sql.DataFrame, pyspark.ml.PipelineModel)
        ``customer_id`` and ``cluster`` (int), and the fitted pipeline (scaler + KMeans).
    """
    from pyspark.ml import Pipeline
    from pyspark.ml.clustering import KMeans
    from pyspark.ml.feature import StandardScaler, VectorAssembler
    from pyspark.sql import functions as F

    check_interval(k, 2, None, name="k", where="spark.kmeans", integer=True)
    logged = features.select(
        "customer_id",
        *[(F.signum(c) * F.log1p(F.abs(c))).alias(c) if c in LOG_COLUMNS else F.col(c)
          for c in FEATURE_COLUMNS])
    pipeline = Pipeline(stages=[
        VectorAssembler(inputCols=list(FEATURE_COLUMNS), outputCol="_raw"),
        StandardScaler(inputCol="_raw", outputCol="_x", withMean=True, withStd=True),
        KMeans(featuresCol="_x", predictionCol="cluster", k=k, seed=seed, maxIter=max_iter),
    ])
    model = pipeline.fit(logged)
    return model.transform(logged).select("customer_id", F.col("cluster").cast("int")), model
