"""Customer lifetime value on Spark: the BG/NBD / Gamma-Gamma summary, exact fits, CLV per customer.

Same definitions as :mod:`crmlib.segments.clv`:

- :func:`clv_summary`: frequency (repeat purchase days), recency, T and monetary value (mean of
  the repeat purchase days) per customer, purchases collapsed to days, only positive amounts (or
  >= 0 with ``zero_is_purchase``) up to ``as_of``; the same counts of dropped customers and
  ignored orders (``attrs``). The per-customer table stays a Spark DataFrame.
- :func:`fit_models`: both likelihoods depend on a customer only through (frequency, recency, T)
  and (frequency, monetary_value), so the models are fitted in the driver on the distinct tuples
  with their customer counts as weights (:func:`crmlib.segments.clv.fit_clv_models`, the very
  function the pandas engine calls on the same tuples): exact while the tuples are at most
  :data:`crmlib.engines.FIT_SAMPLE_ROWS` (a weighted Bernoulli sample of tuples above that).
- :func:`lifetime_value`: CLV, P(alive), expected purchases and spend per customer on Spark with
  ``mapInPandas``, which runs :func:`crmlib.segments.customer_lifetime_value` on each partition's
  rows. Why not Spark SQL: the expected purchases need the Gauss hypergeometric function
  2F1(r + x, b + x; a + b + x - 1; z), which has no closed form here; its series converges
  slowly as z = t / (alpha + T + t) nears 1 (long horizons, young customers) and scipy's
  ``hyp2f1`` handles that with transformations a SQL expression would have to copy. Running the
  pandas code per partition gives the pandas path's numbers per customer, bit for bit.
"""

from __future__ import annotations

import pandas as pd

from .._validation import check_one_of, check_type
from ..definitions import as_day
from . import clv as seg_clv

__all__ = ["CLV_SCHEMA", "at_risk", "clv_figures", "clv_summary", "fit_models", "lifetime_value",
           "tuple_counts"]

#: Columns and Spark types of :func:`lifetime_value`'s result.
CLV_SCHEMA = ("customer_id long, probability_alive double, expected_purchases double, "
              "expected_spend double, clv double")


def clv_summary(orders, *, as_of, time_unit="day", zero_is_purchase=False):
    """:func:`crmlib.segments.clv_summary` on Spark.

    Parameters
    ----------
    orders : pyspark.sql.DataFrame
        ``customer_id, ordered_at, amount`` (:func:`crmlib.segments.spark_rfm.order_values`).
    as_of : date-like
        End of the observation period (inclusive day).
    time_unit : {'day', 'week', 'month'}, default='day'
    zero_is_purchase : bool, default=False

    Returns
    -------
    pyspark.sql.DataFrame
        ``customer_id``, ``frequency`` (long), ``recency``, ``T``, ``monetary_value`` (double),
        ``first_purchase`` (date). The Python attribute ``attrs`` holds the pandas function's
        ``attrs`` (``time_unit``, ``unit_days``, ``as_of``, ``zero_is_purchase``,
        ``customers_in``, ``dropped_customers``, ``first_purchase_moved``, ``ignored_orders``,
        ``orders_after_as_of``), so :func:`crmlib.segments.dropped_text` takes it.
    """
    from pyspark.sql import functions as F

    where = "segments.spark_clv.clv_summary"
    check_one_of(time_unit, seg_clv.TIME_UNITS, name="time_unit", where=where)
    check_type(zero_is_purchase, bool, name="zero_is_purchase", where=where)
    day = as_day(as_of, where=where)
    unit = seg_clv.TIME_UNITS[time_unit]
    tx = orders.select("customer_id", F.to_date("ordered_at").alias("day"), F.col("amount").cast("double"))
    observed = F.col("day") <= F.lit(day.date())
    purchase = observed & ((F.col("amount") >= 0) if zero_is_purchase else (F.col("amount") > 0))
    tx = tx.withColumn("_obs", observed).withColumn("_buy", purchase)
    # rounded as crmlib.segments.clv rounds them (half to even, as numpy), so the means agree to the bit
    daily = (tx.where("_buy").groupBy("customer_id", "day")
             .agg(F.bround(F.sum("amount"), seg_clv.MONEY_DECIMALS).alias("amount")))
    first_day = F.min("day").over(_by_customer())
    daily = daily.withColumn("_first", first_day)
    repeat = F.col("day") > F.col("_first")
    out = (daily.groupBy("customer_id")
           .agg(F.min("day").alias("first_purchase"), F.max("day").alias("_last"),
                (F.count("*") - 1).alias("frequency"),
                (F.bround(F.sum(F.when(repeat, F.col("amount"))), seg_clv.MONEY_DECIMALS)
                 / F.count(F.when(repeat, F.lit(1)))).alias("_mean_repeat")))
    out = out.select(
        F.col("customer_id").cast("long").alias("customer_id"), F.col("frequency").cast("long"),
        (F.datediff("_last", "first_purchase").cast("double") / F.lit(unit)).alias("recency"),
        (F.datediff(F.lit(day.date()), "first_purchase").cast("double") / F.lit(unit)).alias("T"),
        F.coalesce("_mean_repeat", F.lit(0.0)).alias("monetary_value"), "first_purchase")
    # the counts of the attrs in one pass over the orders and one over the kept customers
    counts = tx.agg(F.countDistinct(F.when(F.col("_obs"), F.col("customer_id"))).alias("customers_in"),
                    F.sum((F.col("_obs") & ~F.col("_buy")).cast("long")).alias("ignored"),
                    F.sum((~F.col("_obs")).cast("long")).alias("after")).first()
    first_order = (tx.where("_obs").groupBy("customer_id").agg(F.min("day").alias("_first_order")))
    kept = out.join(first_order, "customer_id").agg(
        F.count("*").alias("kept"),
        F.sum((F.col("_first_order") < F.col("first_purchase")).cast("long")).alias("moved")).first()
    customers_in = int(counts["customers_in"] or 0)
    out.attrs = {"time_unit": time_unit, "unit_days": unit, "as_of": day,
                 "zero_is_purchase": zero_is_purchase, "customers_in": customers_in,
                 "ignored_orders": int(counts["ignored"] or 0),
                 "orders_after_as_of": int(counts["after"] or 0),
                 "dropped_customers": customers_in - int(kept["kept"] or 0),
                 "first_purchase_moved": int(kept["moved"] or 0)}
    return out


def _by_customer():
    from pyspark.sql import Window

    return Window.partitionBy("customer_id")


def tuple_counts(summary, columns, *, max_rows=None, seed: int = 0) -> pd.DataFrame:
    """:func:`crmlib.segments.clv.tuple_counts` of a Spark summary, brought into pandas bounded.

    Every distinct tuple when they are at most ``max_rows`` (default
    :data:`crmlib.engines.FIT_SAMPLE_ROWS`; the fit is then exact), else a Bernoulli sample of
    them (:func:`crmlib.engines.bounded_sample`). ``attrs``: ``population``, ``sampled``, ``fraction``.
    """
    from pyspark.sql import functions as F

    from ..engines import FIT_SAMPLE_ROWS, bounded_sample

    grouped = summary.groupBy(*columns).agg(F.count("*").alias("customers"))
    out = bounded_sample(grouped, FIT_SAMPLE_ROWS if max_rows is None else max_rows, seed=seed)
    attrs = dict(out.attrs)
    out = out.sort_values(list(columns), kind="stable").reset_index(drop=True)
    out["customers"] = out["customers"].astype("int64")
    out["frequency"] = out["frequency"].astype("int64")
    out.attrs = attrs
    return out


def fit_models(summary, *, max_rows=None):
    """BG/NBD and Gamma-Gamma fitted on the summary's distinct tuples weighted by their customers.

    Returns
    -------
    (BetaGeoFitter, GammaGammaFitter)
        As :func:`crmlib.segments.clv.fit_clv_models`; each has ``tuples_`` (the attrs of the
        tuples brought in: ``population``, ``sampled``).
    """
    bg_rows = tuple_counts(summary, ("frequency", "recency", "T"), max_rows=max_rows)
    gg_rows = tuple_counts(summary, ("frequency", "monetary_value"), max_rows=max_rows)
    bgnbd, gamma_gamma = seg_clv.fit_clv_models(bg_rows, gg_rows,
                                                time_unit=getattr(summary, "attrs", {}).get("time_unit"))
    bgnbd.tuples_, gamma_gamma.tuples_ = dict(bg_rows.attrs), dict(gg_rows.attrs)
    return bgnbd, gamma_gamma


def _bare(model, cls):
    """A fitter holding only ``params_`` (what the per-partition code needs), cheap to ship."""
    out = cls()
    out.params_ = model.params_.copy()
    return out


def lifetime_value(bgnbd, gamma_gamma, summary, *, horizon=12, period=30.0, discount_rate=0.01,
                   margin=1.0):
    """:func:`crmlib.segments.customer_lifetime_value` per customer, on Spark (``mapInPandas``).

    Parameters
    ----------
    bgnbd, gamma_gamma : fitted BetaGeoFitter and GammaGammaFitter
    summary : pyspark.sql.DataFrame
        :func:`clv_summary`.
    horizon, period, discount_rate, margin
        As the pandas function (checked there).

    Returns
    -------
    pyspark.sql.DataFrame
        :data:`CLV_SCHEMA`, one row per customer of ``summary``.
    """
    bg = _bare(bgnbd, seg_clv.BetaGeoFitter)
    gg = _bare(gamma_gamma, seg_clv.GammaGammaFitter)
    # check the arguments once in the driver (one clear error, not one per task)
    probe = pd.DataFrame({"frequency": [0], "recency": [0.0], "T": [1.0], "monetary_value": [0.0]})
    seg_clv.customer_lifetime_value(bg, gg, probe, horizon=horizon, period=period,
                                    discount_rate=discount_rate, margin=margin)

    def per_partition(batches):
        for batch in batches:
            if not len(batch):
                continue
            data = batch.set_index("customer_id")
            out = seg_clv.customer_lifetime_value(bg, gg, data, horizon=horizon, period=period,
                                                  discount_rate=discount_rate, margin=margin)
            yield out.rename_axis("customer_id").reset_index().astype({"customer_id": "int64"})

    cols = summary.select("customer_id", "frequency", "recency", "T", "monetary_value")
    return cols.mapInPandas(per_partition, CLV_SCHEMA)


def clv_figures(clv) -> dict:
    """:func:`crmlib.segments.clv.clv_figures` of a Spark CLV table (sum, exact median, share lost)."""
    from pyspark.sql import functions as F

    from ..spark.ranks import median

    row = clv.agg(F.count("*").alias("n"), F.sum("clv").alias("total"),
                  F.sum((F.col("probability_alive") < 0.5).cast("long")).alias("lost")).first()
    n = int(row["n"])
    return {"customers": n, "clv_total": float(row["total"] or 0.0),
            "clv_median": median(clv, "clv") if n else float("nan"),
            "share_probably_lost": float(row["lost"] / n) if n else float("nan")}


def at_risk(clv, *, quantile: float = 0.75, alive_below: float = 0.5):
    """Customers in the top quarter by ``monetary`` whose P(alive) is below one half (Spark).

    The threshold is pandas' ``Series.quantile`` of ``monetary`` over ``clv``'s rows, computed
    exactly from grouped counts (:func:`crmlib.spark.ranks.quantile`).

    Returns
    -------
    (pyspark.sql.DataFrame, float)
        The rows of ``clv`` at risk, and the ``monetary`` threshold.
    """
    from pyspark.sql import functions as F

    from ..spark.ranks import quantile as exact_quantile

    threshold = exact_quantile(clv, "monetary", quantile)
    rows = clv.where((F.col("monetary") >= F.lit(threshold)) & (F.col("probability_alive") < alive_below))
    return rows, threshold

