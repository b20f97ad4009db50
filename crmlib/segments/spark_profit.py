"""Margin per customer, profit tiers and the Pareto curve on Spark (crmlib.segments.profit's definitions).

The pandas functions rank every customer by margin; a global sort over the customer table would
move it into one partition, so here ranks come from cuts instead:

- a tier boundary is the m-th customer in (margin descending, customer_id ascending) order. Spark's
  quantile sketch (``approxQuantile``, relative rank error ``relative_error``) brackets it between
  two margins, one pass counts the customers above and inside the bracket, and only the bracket
  (about ``4 * relative_error * customers`` rows, plus ties) comes to the driver to find the exact
  m-th customer. The tiers are therefore exact, as pandas', whatever the sketch's error.
- the Pareto curve's points are exact points of the pandas curve (the customers at or above a
  margin, and the running share of margin they earn), at about ``points`` margins taken from the
  sketch, plus the exact point at each share in ``marks`` (the top 20% the report quotes).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._validation import check_interval
from ..definitions import NON_PURCHASE_STATUSES, as_day
from ..errors import DataContractError, ParameterError
from ..mart import table_path
from .profit import TIERS

__all__ = ["customer_margin", "pareto_curve", "profit_tiers", "tier_summary", "top_cuts"]


def customer_margin(spark, mart, *, as_of=None, exclude_status=None):
    """Revenue, cost and margin per customer (:func:`crmlib.segments.customer_margin`), from the mart.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
    mart : str or path
        ``fact_orders`` (order counts, orders without lines included) and ``fact_sales``
        (``net_amount``; ``quantity * unit_cost`` with the products' unit cost).
    as_of : date-like, optional
        Orders after this day are ignored. Default: all orders.
    exclude_status : tuple of str, optional
        Default :data:`crmlib.definitions.NON_PURCHASE_STATUSES`.

    Returns
    -------
    pyspark.sql.DataFrame
        ``customer_id, orders, revenue, cost, margin, margin_rate``, one row per customer with a
        kept order (lazy).

    Raises
    ------
    DataContractError
        A kept line's product has no unit cost (checked with one small job).
    """
    from pyspark.sql import functions as F

    where = "segments.spark_profit.customer_margin"
    if exclude_status is None:
        exclude_status = NON_PURCHASE_STATUSES
    kept = ~F.col("status").isin(list(exclude_status))
    orders = spark.read.parquet(table_path(mart, "fact_orders")).where(kept)
    lines = spark.read.parquet(table_path(mart, "fact_sales")).where(kept)
    if as_of is not None:
        day = F.lit(as_day(as_of, where=where).date())
        orders = orders.where(F.to_date("ordered_at") <= day)
        lines = lines.where(F.to_date("ordered_at") <= day)
    bad = [r[0] for r in lines.where(F.col("unit_cost").isNull()).select("product_id").distinct().limit(5).collect()]
    if bad:
        raise DataContractError(f"{where}: product(s) in order_lines have no unit_cost (e.g. "
                                f"{', '.join(map(str, bad))}).", table="products", column="unit_cost")
    qty = F.col("quantity").cast("double")
    money = (lines.groupBy("customer_id")
             .agg(F.sum(qty * F.col("unit_price") * (1.0 - F.col("discount"))).alias("revenue"),
                  F.sum(qty * F.col("unit_cost")).alias("cost")))
    counts = orders.groupBy("customer_id").agg(F.count("*").alias("orders"))
    out = counts.join(money, "customer_id", "left").na.fill({"revenue": 0.0, "cost": 0.0})
    margin = F.col("revenue") - F.col("cost")
    return out.select("customer_id", "orders", "revenue", "cost", margin.alias("margin"),
                      F.when(F.col("revenue") > 0, margin / F.col("revenue")).alias("margin_rate"))


def _before(value, key, cut):
    """Rows at or before ``cut`` = (value, key) in (value descending, key ascending) order."""
    from pyspark.sql import functions as F

    v, k = cut
    return (F.col(value) > F.lit(v)) | ((F.col(value) == F.lit(v)) & (F.col(key) <= F.lit(k)))


def top_cuts(frame, value: str, key: str, sizes, *, n: int | None = None, relative_error: float = 1e-4,
             extra_quantiles=()):
    """The ``m``-th row in (``value`` descending, ``key`` ascending) order, for each ``m`` in ``sizes``.

    Exact, without sorting the frame: the quantile sketch brackets each cut, one pass counts the
    rows above and inside each bracket, and the bracket rows (a few per ``relative_error``) are
    ranked in the driver. A bracket that misses (it cannot with Spark's guarantee) is widened.

    Parameters
    ----------
    frame : pyspark.sql.DataFrame
        ``value`` (numeric, no nulls) and ``key`` (unique).
    value, key : str
    sizes : sequence of int
        Cut sizes, 0 <= m <= rows.
    n : int, optional
        Rows of ``frame`` when known.
    relative_error : float, default=1e-4
    extra_quantiles : sequence of float
        More probabilities for the same sketch pass (returned third).

    Returns
    -------
    (list, int, list of float)
        Per size: ``(value, key)`` of the m-th row, or None for m = 0; the row count; the values
        at ``extra_quantiles``.
    """
    from pyspark.sql import functions as F

    if n is None:
        n = frame.count()
    sizes = [int(m) for m in sizes]
    if any(m < 0 or m > n for m in sizes):
        raise ParameterError(f"segments.spark_profit.top_cuts: cut sizes must be in [0, {n}]; got {sizes}.",
                             name="sizes")
    cuts: list = [None] * len(sizes)
    todo = [i for i, m in enumerate(sizes) if m > 0]
    extra: list[float] = []
    width = 2 * relative_error
    first = True
    while todo or first:
        probs = []
        for i in todo:
            p = 1.0 - sizes[i] / n
            probs += [max(0.0, p - width), min(1.0, p + width)]
        asked = probs + (list(extra_quantiles) if first else [])
        got = frame.approxQuantile(value, asked, relative_error) if asked else []
        if first:
            extra = got[len(probs):]
            first = False
        if not todo:
            break
        bounds = {i: (got[2 * j], got[2 * j + 1]) for j, i in enumerate(todo)}
        row = frame.agg(*[F.count(F.when(F.col(value) > F.lit(hi), 1)).alias(f"a{i}") for i, (lo, hi) in bounds.items()],
                        *[F.count(F.when(F.col(value).between(lo, hi), 1)).alias(f"b{i}")
                          for i, (lo, hi) in bounds.items()]).first()
        hit = [i for i in todo if row[f"a{i}"] < sizes[i] <= row[f"a{i}"] + row[f"b{i}"]]
        if hit:
            inside = None
            for i in hit:
                lo, hi = bounds[i]
                cond = F.col(value).between(lo, hi)
                inside = cond if inside is None else inside | cond
            rows = pd.DataFrame(frame.where(inside).select(value, key).collect(), columns=[value, key])
            for i in hit:
                lo, hi = bounds[i]
                part = rows[(rows[value] >= lo) & (rows[value] <= hi)]
                part = part.sort_values([value, key], ascending=[False, True], kind="stable")
                r = part.iloc[sizes[i] - row[f"a{i}"] - 1]
                cuts[i] = (r[value].item(), r[key].item())
        todo = [i for i in todo if i not in hit]
        width *= 8  # a miss (not expected): widen and try again; at width >= 1 it is every row
    return cuts, n, extra


def profit_tiers(margin, *, high=0.2, medium=0.3, value="margin", relative_error=1e-4):
    """High / medium / low profit tiers (:func:`crmlib.segments.profit_tiers`), exact, without a sort.

    Parameters
    ----------
    margin : pyspark.sql.DataFrame
        ``customer_id`` and ``value`` (:func:`customer_margin`).
    high, medium, value
        As :func:`crmlib.segments.profit_tiers`.
    relative_error : float, default=1e-4
        The quantile sketch's error; it changes only how many rows come to the driver.

    Returns
    -------
    pyspark.sql.DataFrame
        ``margin``'s columns and ``tier`` ('high', 'medium', 'low'); the pandas function also ranks
        every customer (``rank``, running shares), which would need a global sort: use
        :func:`pareto_curve` for the shares.
    """
    from pyspark.sql import functions as F

    where = "segments.spark_profit.profit_tiers"
    check_interval(high, 0, 1, name="high", where=where, closed="right")
    check_interval(medium, 0, 1, name="medium", where=where)
    if high + medium > 1 + 1e-12:
        raise ParameterError(f"{where}: 'high' + 'medium' must be <= 1; got {high} + {medium}.", name="medium")
    n = margin.count()
    n_high = int(np.floor(high * n + 0.5))  # as pandas: round half up
    n_top = int(np.floor((high + medium) * n + 0.5))
    (cut_high, cut_top), _, _ = top_cuts(margin, value, "customer_id", [n_high, n_top], n=n,
                                         relative_error=relative_error)
    tier = F.when(F.col(value) < 0, F.lit("low"))
    if cut_high is not None:
        tier = tier.when(_before(value, "customer_id", cut_high), F.lit("high"))
    if cut_top is not None:
        tier = tier.when(_before(value, "customer_id", cut_top), F.lit("medium"))
    return margin.withColumn("tier", tier.otherwise(F.lit("low")))


def tier_summary(tiers, *, value="margin") -> pd.DataFrame:
    """Customers, profit and profit share per tier (:func:`crmlib.segments.tier_summary`), one small job.

    Parameters
    ----------
    tiers : pyspark.sql.DataFrame
        :func:`profit_tiers`' output.
    value : str, default='margin'

    Returns
    -------
    pandas.DataFrame
        The pandas function's frame (rows high, medium, low).
    """
    from pyspark.sql import functions as F

    got = tiers.groupBy("tier").agg(F.count("*").alias("customers"), F.sum(value).alias(value)).toPandas()
    out = got.set_index("tier").reindex(list(TIERS)).fillna(0.0)
    total_n = out["customers"].sum()
    total = out[value].sum()
    out["customers"] = out["customers"].astype(int)
    out["customer_share"] = out["customers"] / total_n if total_n else np.nan
    out[f"{value}_share"] = out[value] / total if total > 0 else np.nan
    out[f"avg_{value}"] = out[value] / out["customers"].where(out["customers"] > 0)
    out[value] = out[value].astype(float)
    out = out.rename_axis("tier").reset_index()
    return out[["tier", "customers", "customer_share", value, f"{value}_share", f"avg_{value}"]]


def pareto_curve(margin, *, value="margin", points: int = 200, marks=(0.2,), relative_error=1e-4) -> pd.DataFrame:
    """Points of the Pareto curve (:func:`crmlib.segments.pareto_curve`) from binned sums.

    Parameters
    ----------
    margin : pyspark.sql.DataFrame
        ``customer_id`` and ``value``.
    value : str, default='margin'
    points : int, default=200
        About this many points, at margins the quantile sketch spaces evenly by customer share.
    marks : sequence of float, default=(0.2,)
        Customer shares whose exact point is added: the first point of the pandas curve at or past
        the share (what :func:`crmlib.segments.findings` reads for the top 20%).
    relative_error : float, default=1e-4

    Returns
    -------
    pandas.DataFrame
        ``customer_share, value_share`` from (0, 0) to (1, 1), every row a point of the pandas
        curve (the same value where both have a point); NaN shares when the total is not positive.
    """
    from pyspark.sql import functions as F

    where = "segments.spark_profit.pareto_curve"
    check_interval(points, 2, None, name="points", where=where, integer=True)
    n = margin.count()
    if n == 0:
        return pd.DataFrame({"customer_share": [0.0], "value_share": [0.0]})
    shares = np.arange(0, n + 1) / n
    sizes = [int(np.argmax(shares >= s)) if (shares >= s).any() else n for s in marks]
    probs = [j / points for j in range(1, points)]
    cuts, _, qs = top_cuts(margin, value, "customer_id", sizes, n=n, relative_error=relative_error,
                           extra_quantiles=probs)
    thresholds = sorted(set(qs), reverse=True)
    binned = sum((F.when(F.col(value) >= F.lit(t), 1).otherwise(0) for t in thresholds), F.lit(0))
    aggs = [F.sum(F.when(_before(value, "customer_id", c), F.col(value)).otherwise(0.0)).alias(f"m{i}")
            for i, c in enumerate(cuts) if c is not None]
    rows = margin.groupBy(binned.alias("bin")).agg(F.count("*").alias("c"), F.sum(value).alias("s")).toPandas()
    mark_sums = margin.agg(*aggs).first() if aggs else None
    rows = rows.sort_values("bin", ascending=False)
    total = float(rows["s"].sum())
    counts = [0] + rows["c"].cumsum().tolist()
    sums = [0.0] + rows["s"].cumsum().tolist()
    for i, c in enumerate(cuts):
        if c is not None:
            counts.append(sizes[i])
            sums.append(float(mark_sums[f"m{i}"]))
    curve = pd.DataFrame({"count": counts, "sum": sums}).drop_duplicates("count").sort_values("count", kind="stable")
    if curve["count"].iloc[-1] == n:  # the last point is the total itself, as pandas' last cumsum
        curve.iloc[-1, curve.columns.get_loc("sum")] = total
    share = curve["sum"].to_numpy(float) / total if total > 0 else np.full(len(curve), np.nan)
    share[curve["count"].to_numpy() == 0] = 0.0
    return pd.DataFrame({"customer_share": curve["count"].to_numpy() / n, "value_share": share}).reset_index(drop=True)
