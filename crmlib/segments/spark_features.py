"""The behavioural feature table of :func:`crmlib.segments.customer_features`, on Spark from the mart.

Same definitions as the pandas function called the way the segmentation notebook calls it (with
``products``, ``customers``, ``channels``, ``service_tickets`` and ``interactions``): orders are
the mart's ``fact_orders`` (an order without lines is worth 0 but counts in the channel mix),
their amounts the sum of their ``fact_sales`` lines at ``quantity * unit_price * (1 - discount)``;
categories come from ``dim_product``, channel kinds from ``dim_channel``, account creation from
``dim_customer``, tickets from ``fact_service_tickets`` and complaints from ``fact_interactions``.

Everything is grouped per order, then per customer; the category and channel mixes are pivots
on the few distinct values (collected first, so the columns are those the pandas function makes,
in its order). The result is one row per buyer and stays a Spark DataFrame.
"""

from __future__ import annotations

import pandas as pd

from .._validation import check_one_of
from ..definitions import NON_PURCHASE_STATUSES, as_day
from ..mart import table_path
from ._common import slug

__all__ = ["BASE_COLUMNS", "customer_features", "to_pandas"]

#: The columns every feature table has, in the pandas function's order (mixes and counts follow).
BASE_COLUMNS: tuple[str, ...] = (
    "recency_days", "frequency", "monetary", "avg_order_value", "tenure_days", "orders_per_month",
    "items_per_order", "units_per_line", "discount_share",
)


def _read(spark, mart, name):
    return spark.read.parquet(table_path(mart, name))


def customer_features(spark, mart, *, as_of=None, categories: bool = True, channels: str | None = "kind",
                      tickets: bool = True, complaints: bool = True, created: bool = True, exclude_status=None):
    """One row per customer who bought on or before ``as_of``: :func:`crmlib.segments.customer_features`.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
    mart : str or path
        The Parquet mart (``fact_orders``, ``fact_sales``, ``dim_customer``, and the tables the
        options below name).
    as_of : date-like, optional
        Reference day; orders, tickets and interactions after it are ignored. Default: the day of
        the last kept order.
    categories : bool, default=True
        Add ``cat_<category>`` (revenue share per ``dim_product.category``), as ``products=``.
    channels : {'kind', 'id'} or None, default='kind'
        Add ``chan_<kind>`` (share of orders per ``dim_channel.kind``, as ``channels=``) or
        ``chan_<channel_id>`` (as without ``channels``); None: no channel mix.
    tickets : bool, default=True
        Add ``tickets`` (service tickets opened on or before ``as_of``).
    complaints : bool, default=True
        Add ``complaints`` (interactions of kind 'complaint' on or before ``as_of``).
    created : bool, default=True
        Tenure from the earlier of account creation (``dim_customer``) and the first purchase, as
        with ``customers=``; False: from the first purchase.
    exclude_status : tuple of str, optional
        Order statuses that are not purchases; default :data:`crmlib.definitions.NON_PURCHASE_STATUSES`.

    Returns
    -------
    pyspark.sql.DataFrame
        ``customer_id`` (long), then the pandas function's columns in its order (double).
        Two small jobs run at once: the default ``as_of`` and the distinct categories / channel
        kinds (the pivots' columns); the table itself is lazy.

    Examples
    --------
    >>> feats = customer_features(spark, "data/mart", as_of="2025-12-31")   # doctest: +SKIP
    >>> to_pandas(feats).equals(crmlib.segments.customer_features(...))     # doctest: +SKIP
    """
    from pyspark.sql import functions as F

    where = "segments.spark_features.customer_features"
    if channels is not None:
        check_one_of(channels, ("kind", "id"), name="channels", where=where)
    if exclude_status is None:
        exclude_status = NON_PURCHASE_STATUSES
    kept = ~F.col("status").isin(list(exclude_status))
    orders = _read(spark, mart, "fact_orders").where(kept).select("order_id", "customer_id", "channel_id",
                                                                  "ordered_at")
    disc = F.coalesce(F.col("discount").cast("double"), F.lit(0.0))
    gross = F.col("quantity").cast("double") * F.col("unit_price")
    lines = (_read(spark, mart, "fact_sales").where(kept)
             .select("order_id", "customer_id", "product_id", F.col("quantity").cast("double").alias("quantity"),
                     gross.alias("gross"), (gross * (1.0 - disc)).alias("net"), (disc > 0).alias("discounted")))
    last = orders.agg(F.max("ordered_at")).first()[0] if as_of is None else None
    day = as_day(as_of, where=where, default=last)
    today = F.lit(day.date())
    per_order = lines.groupBy("order_id").agg(
        F.sum("net").alias("amount"), F.count("*").alias("n_lines"), F.sum("quantity").alias("units"))
    values = (orders.where(F.to_date("ordered_at") <= today)
              .join(per_order, "order_id", "left")
              .na.fill({"amount": 0.0, "n_lines": 0, "units": 0.0}))
    bought = F.col("amount") > 0
    per = (values.groupBy("customer_id")
           .agg(F.sum("amount").alias("monetary"),
                F.count(F.when(bought, 1)).alias("frequency"),
                F.max(F.when(bought, F.to_date("ordered_at"))).alias("last"),
                F.min(F.when(bought, F.to_date("ordered_at"))).alias("first"),
                F.sum(F.when(bought, F.col("n_lines"))).alias("lines"),
                F.sum(F.when(bought, F.col("units"))).alias("units"))
           .where(F.col("frequency") > 0))
    if created:
        made = _read(spark, mart, "dim_customer").select("customer_id", F.to_date("created_at").alias("created"))
        per = per.join(made, "customer_id", "left")
    else:
        per = per.withColumn("created", F.lit(None).cast("date"))
    buyers = per.select("customer_id")
    # lines of the buyers' kept orders up to as_of: discount share and category mix
    their = lines.join(values.select("order_id"), "order_id", "left_semi").join(buyers, "customer_id", "left_semi")
    share = (their.groupBy("customer_id")
             .agg(F.sum("gross").alias("g"), F.sum(F.when(F.col("discounted"), F.col("gross")).otherwise(0.0)).alias("dg"))
             .select("customer_id", F.when(F.col("g") > 0, F.col("dg") / F.col("g")).alias("discount_share")))
    start = F.least(F.coalesce("created", "first"), F.col("first"))
    tenure = F.greatest(F.datediff(today, start), F.lit(0)).cast("double")
    freq = F.col("frequency").cast("double")
    base = per.join(share, "customer_id", "left").select(
        "customer_id",
        F.datediff(today, F.col("last")).cast("double").alias("recency_days"),
        freq.alias("frequency"),
        F.col("monetary").cast("double").alias("monetary"),
        (F.col("monetary") / freq).alias("avg_order_value"),
        tenure.alias("tenure_days"),
        (freq / F.greatest(tenure / 30.4375, F.lit(1.0))).alias("orders_per_month"),
        (F.col("lines") / freq).alias("items_per_order"),
        (F.col("units") / F.col("lines")).alias("units_per_line"),
        F.least(F.greatest(F.coalesce("discount_share", F.lit(0.0)), F.lit(0.0)), F.lit(1.0)).alias("discount_share"))

    mixes = []
    if categories:
        cats = (their.join(_read(spark, mart, "dim_product").select("product_id", "category"), "product_id", "left")
                .select("customer_id", F.coalesce(F.col("category").cast("string"), F.lit("unknown")).alias("key"),
                        F.greatest(F.col("net"), F.lit(0.0)).alias("w")))
        mixes.append(("cat", cats))
    if channels is not None:
        chan = values.join(buyers, "customer_id", "left_semi")
        if channels == "kind":
            kinds = _read(spark, mart, "dim_channel").select("channel_id", F.col("kind").cast("string").alias("kind"))
            chan = chan.join(kinds, "channel_id", "left").select(
                "customer_id", F.coalesce("kind", F.lit("unknown")).alias("key"), F.lit(1.0).alias("w"))
        else:  # by id: orders without a channel are left out, as pandas' pivot drops NaN keys
            chan = chan.where(F.col("channel_id").isNotNull()).select(
                "customer_id", F.col("channel_id").alias("key"), F.lit(1.0).alias("w"))
        mixes.append(("chan", chan))
    # the pivots' columns: the distinct keys, sorted as pandas sorts them, in one job
    keys: dict[str, list] = {p: [] for p, _ in mixes}
    if mixes:
        tagged = None
        for prefix, frame in mixes:
            part = frame.select(F.lit(prefix).alias("p"), F.col("key").cast("string").alias("k")).distinct()
            tagged = part if tagged is None else tagged.unionByName(part)
        for row in tagged.collect():
            keys[row["p"]].append(row["k"])
    out = base
    extra: list[str] = []
    for prefix, frame in mixes:
        values_ = sorted(keys[prefix], key=(lambda k: int(k)) if prefix == "chan" and channels == "id" else str)
        if not values_:
            continue
        frame = frame.withColumn("key", F.col("key").cast("string"))
        wide = frame.groupBy("customer_id").pivot("key", values_).agg(F.sum("w"))
        total = sum((F.coalesce(F.col(f"`{k}`"), F.lit(0.0)) for k in values_), F.lit(0.0))
        names = [f"{prefix}_{slug(k)}" for k in values_]
        wide = wide.select("customer_id", *[
            F.when(total != 0, F.coalesce(F.col(f"`{k}`"), F.lit(0.0)) / total).otherwise(0.0).alias(n)
            for k, n in zip(values_, names, strict=True)])
        out = out.join(wide, "customer_id", "left")
        extra += names
    if tickets:
        t = (_read(spark, mart, "fact_service_tickets").where(F.to_date("opened_at") <= today)
             .groupBy("customer_id").agg(F.count("*").cast("double").alias("tickets")))
        out = out.join(t, "customer_id", "left")
        extra.append("tickets")
    if complaints:
        c = (_read(spark, mart, "fact_interactions")
             .where((F.to_date("occurred_at") <= today) & (F.lower(F.col("kind").cast("string")) == "complaint"))
             .groupBy("customer_id").agg(F.count("*").cast("double").alias("complaints")))
        out = out.join(c, "customer_id", "left")
        extra.append("complaints")
    return out.select("customer_id", *BASE_COLUMNS,
                      *[F.coalesce(F.col(c).cast("double"), F.lit(0.0)).alias(c) for c in extra])


def to_pandas(features) -> pd.DataFrame:
    """A (bounded) Spark feature table as the pandas function returns it: indexed by ``customer_id``, sorted."""
    frame = features.toPandas().set_index("customer_id").sort_index()
    return frame.astype(float)
