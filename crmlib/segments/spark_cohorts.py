"""Cohort retention on Spark: :func:`crmlib.segments.cohort_retention`'s table from the mart's orders.

Same definitions: purchases are orders with a positive amount placed on or before ``as_of``; a
customer's cohort is the month (or quarter) of the first purchase; a cohort's cell ``k`` counts
its customers who bought ``k`` periods later, NaN for periods after ``as_of``. Spark reduces the
orders to one row per (cohort, offset) with its customer count; only that small table (cohorts x
offsets) comes to pandas, where it is shaped like the pandas function's result.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._validation import check_one_of, check_type
from ..definitions import as_day

__all__ = ["COHORT_FREQ", "cohort_counts", "cohort_retention"]

#: Periods per year of each cohort length (as crmlib.segments.cohort_retention).
COHORT_FREQ: dict[str, int] = {"M": 12, "Q": 4}


def cohort_counts(orders, *, as_of, freq="M"):
    """Customers per (cohort, offset) as a Spark DataFrame (``cohort``, ``offset``, ``customers``).

    ``cohort`` is the period number ``year * periods_per_year + (month or quarter) - 1`` of the
    first purchase, ``offset`` the periods since it.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    day = as_day(as_of, where="segments.spark_cohorts.cohort_counts")
    per_year = COHORT_FREQ[freq]
    part = F.month("ordered_at") - 1 if freq == "M" else F.quarter("ordered_at") - 1
    bought = (orders.where((F.to_date("ordered_at") <= F.lit(day.date())) & (F.col("amount") > 0))
              .select("customer_id", (F.year("ordered_at") * per_year + part).alias("period"))
              .distinct())
    # the first period per customer: a window partitioned by customer (never the whole table)
    first = F.min("period").over(Window.partitionBy("customer_id"))
    return (bought.select(first.alias("cohort"), (F.col("period") - first).alias("offset"))
            .groupBy("cohort", "offset").agg(F.count("*").alias("customers")))


def cohort_retention(orders, *, as_of, freq="M", normalize=True) -> pd.DataFrame:
    """:func:`crmlib.segments.cohort_retention` computed on Spark.

    Parameters
    ----------
    orders : pyspark.sql.DataFrame
        ``customer_id, ordered_at, amount`` (:func:`crmlib.segments.spark_rfm.order_values`).
    as_of : date-like
        Orders after this day are ignored.
    freq : {'M', 'Q'}, default='M'
    normalize : bool, default=True

    Returns
    -------
    pandas.DataFrame
        Index ``cohort`` (Period), columns ``0 .. K``, as the pandas function.
    """
    where = "segments.spark_cohorts.cohort_retention"
    check_one_of(freq, COHORT_FREQ, name="freq", where=where)
    check_type(normalize, bool, name="normalize", where=where)
    day = as_day(as_of, where=where)
    per_year = COHORT_FREQ[freq]
    long = cohort_counts(orders, as_of=day, freq=freq).toPandas()
    counts = long.pivot_table(index="cohort", columns="offset", values="customers", aggfunc="sum",
                              fill_value=0)
    last = day.year * per_year + ((day.month - 1) if freq == "M" else (day.quarter - 1))
    if len(counts):
        counts = counts.reindex(columns=range(0, int(counts.columns.max()) + 1), fill_value=0)
    counts = counts.astype(float)
    for cohort in counts.index:
        counts.loc[cohort, [c for c in counts.columns if cohort + c > last]] = np.nan
    if normalize and len(counts):
        counts = counts.div(counts[0], axis=0)
    label = "M" if freq == "M" else "Q"
    counts.index = pd.PeriodIndex(
        [pd.Period(year=int(i // per_year), month=int(i % per_year) + 1, freq=label) if freq == "M"
         else pd.Period(year=int(i // per_year), quarter=int(i % per_year) + 1, freq=label)
         for i in counts.index], name="cohort", freq=label)
    counts.columns = pd.Index([int(c) for c in counts.columns])
    return counts
