"""Acquisition cost per campaign and per channel on Spark (:func:`crmlib.segments.acquisition_cost`).

Customers are counted on Spark per (acquisition campaign, acquisition channel), with how many of
them placed a kept order on or before ``as_of`` (``dim_customer`` and ``fact_orders``); the
counts, one row per combination (campaigns x channels: a few hundred rows), come to the driver
and :func:`crmlib.segments.acquisition.acquisition_cost_from_counts` finishes as on pandas.
"""

from __future__ import annotations

import pandas as pd

from ..definitions import NON_PURCHASE_STATUSES, as_day
from ..mart import table_path
from .acquisition import acquisition_cost_from_counts

__all__ = ["acquisition_cost", "acquisition_counts"]


def acquisition_counts(spark, mart, *, as_of=None, exclude_status=None) -> pd.DataFrame:
    """Customers acquired and converted per (campaign, acquisition channel), counted on Spark.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
    mart : str or path
        ``dim_customer`` (``acquisition_campaign_id, acquisition_channel, created_at``) and
        ``fact_orders``.
    as_of : date-like, optional
        Customers created and orders placed after this day are ignored. Default: no limit.
    exclude_status : tuple of str, optional
        Order statuses that do not convert; default :data:`crmlib.definitions.NON_PURCHASE_STATUSES`.

    Returns
    -------
    pandas.DataFrame
        ``campaign_id`` (float, NaN: no campaign), ``acquisition_channel`` (str, 'unknown' when
        missing), ``acquired``, ``converted`` (int).
    """
    from pyspark.sql import functions as F

    where = "segments.spark_acquisition.acquisition_counts"
    if exclude_status is None:
        exclude_status = NON_PURCHASE_STATUSES
    cust = spark.read.parquet(table_path(mart, "dim_customer"))
    orders = spark.read.parquet(table_path(mart, "fact_orders")).where(~F.col("status").isin(list(exclude_status)))
    if as_of is not None:
        day = F.lit(as_day(as_of, where=where).date())
        cust = cust.where(F.to_date("created_at") <= day)
        orders = orders.where(F.to_date("ordered_at") <= day)
    buyers = orders.select("customer_id").distinct().withColumn("_bought", F.lit(1))
    counts = (cust.join(buyers, "customer_id", "left")
              .groupBy(F.col("acquisition_campaign_id").cast("double").alias("campaign_id"),
                       F.coalesce(F.col("acquisition_channel").cast("string"), F.lit("unknown"))
                       .alias("acquisition_channel"))
              .agg(F.count("*").alias("acquired"), F.count("_bought").alias("converted"))
              .toPandas())
    counts["acquired"] = counts["acquired"].astype(int)
    counts["converted"] = counts["converted"].astype(int)
    counts["acquisition_channel"] = counts["acquisition_channel"].astype(object)
    return counts.sort_values(["campaign_id", "acquisition_channel"], kind="stable", na_position="last"
                              ).reset_index(drop=True)


def acquisition_cost(spark, mart, campaigns: pd.DataFrame, *, by="campaign", as_of=None, exclude_status=None,
                     counts: pd.DataFrame | None = None) -> pd.DataFrame:
    """:func:`crmlib.segments.acquisition_cost` with the customers counted on Spark.

    Parameters
    ----------
    spark, mart, as_of, exclude_status
        As :func:`acquisition_counts`.
    campaigns : pandas.DataFrame
        ``campaign_id, name, channel, cost`` (a small dimension).
    by : {'campaign', 'channel', 'acquisition_channel'}, default='campaign'
    counts : pandas.DataFrame, optional
        :func:`acquisition_counts`' table, to reuse it for several ``by`` (one Spark job in all).

    Returns
    -------
    pandas.DataFrame
        The pandas function's table.
    """
    if counts is None:
        counts = acquisition_counts(spark, mart, as_of=as_of, exclude_status=exclude_status)
    return acquisition_cost_from_counts(counts, campaigns, by=by)
