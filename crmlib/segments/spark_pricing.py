"""Does one price fit all segments? crmlib.segments.pricing on Spark, from grouped line counts.

The kept purchase lines (``fact_sales``, quantity > 0) are joined to the customers' segments and
``dim_product.price_band`` on Spark, then grouped twice: per (segment, price band, discounted)
for counts and money sums, and per segment for the distinct customers and the discount-quantity
regression (``covar_pop / var_pop``, the least-squares slope ``numpy.polyfit`` finds). Both
results are small (segments x bands x 2 rows); :func:`pricing_tables` computes them once and
:func:`segment_pricing`, :func:`discount_response` and :func:`pricing_tests` read them. The
chi-square tests run in the driver on the count tables (:func:`crmlib.segments.pricing.contingency_test`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._validation import check_columns
from ..definitions import NON_PURCHASE_STATUSES
from ..mart import table_path
from ._common import slug
from .pricing import TEST_COLUMNS, contingency_test

__all__ = ["PricingTables", "discount_response", "pricing_tables", "pricing_tests", "segment_pricing"]


@dataclass(frozen=True)
class PricingTables:
    """The two small aggregates the pricing tables are made from.

    Attributes
    ----------
    cells : pandas.DataFrame
        One row per (``segment``, ``price_band``, ``discounted``): ``lines``, ``quantity``,
        ``revenue``, ``gross``, ``dgross`` (gross bought on discount), ``wdisc`` (gross x discount).
    per_segment : pandas.DataFrame
        One row per ``segment``: ``customers``, ``lines``, ``d_min``, ``d_max``, ``covar``, ``var``.
    """

    cells: pd.DataFrame
    per_segment: pd.DataFrame


def _segments_frame(spark, segments):
    from pyspark.sql import DataFrame
    from pyspark.sql import functions as F

    if isinstance(segments, DataFrame):
        frame = segments
    else:
        check_columns(segments, ("customer_id", "segment"), where="segments.spark_pricing")
        small = segments[["customer_id", "segment"]].drop_duplicates("customer_id")
        small = small.assign(segment=small["segment"].astype(object).astype(str))
        frame = spark.createDataFrame(small, "customer_id long, segment string")
    return frame.select("customer_id", F.col("segment").cast("string").alias("segment")).dropDuplicates(["customer_id"])


def pricing_tables(spark, mart, segments, *, exclude_status=None) -> PricingTables:
    """Aggregate the kept purchase lines per segment on Spark (two small jobs).

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
    mart : str or path
        ``fact_sales`` and ``dim_product``.
    segments : pandas.DataFrame or pyspark.sql.DataFrame
        ``customer_id, segment`` (RFM segment, cluster, tier, ...).
    exclude_status : tuple of str, optional
        Default :data:`crmlib.definitions.NON_PURCHASE_STATUSES`.

    Returns
    -------
    PricingTables
    """
    from pyspark.sql import functions as F

    if exclude_status is None:
        exclude_status = NON_PURCHASE_STATUSES
    segs = _segments_frame(spark, segments)
    qty = F.col("quantity").cast("double")
    disc = F.coalesce(F.col("discount").cast("double"), F.lit(0.0))
    gross = qty * F.col("unit_price")
    bands = spark.read.parquet(table_path(mart, "dim_product")).select(
        "product_id", F.col("price_band").cast("string").alias("band"))
    lines = (spark.read.parquet(table_path(mart, "fact_sales"))
             .where(~F.col("status").isin(list(exclude_status)) & (F.col("quantity") > 0))
             .join(segs, "customer_id", "inner")
             .join(F.broadcast(bands), "product_id", "left")
             .select("customer_id", "segment", F.coalesce("band", F.lit("unknown")).alias("price_band"),
                     qty.alias("q"), disc.alias("d"), gross.alias("g"), (gross * (1.0 - disc)).alias("r"),
                     (disc > 0).alias("discounted"))
             .cache())
    try:
        cells = (lines.groupBy("segment", "price_band", "discounted")
                 .agg(F.count("*").alias("lines"), F.sum("q").alias("quantity"), F.sum("r").alias("revenue"),
                      F.sum("g").alias("gross"),
                      F.sum(F.when(F.col("discounted"), F.col("g")).otherwise(0.0)).alias("dgross"),
                      F.sum(F.col("g") * F.col("d")).alias("wdisc"))
                 .toPandas())
        per_segment = (lines.groupBy("segment")
                       .agg(F.countDistinct("customer_id").alias("customers"), F.count("*").alias("lines"),
                            F.min("d").alias("d_min"), F.max("d").alias("d_max"),
                            F.covar_pop("d", "q").alias("covar"), F.var_pop("d").alias("var"))
                       .toPandas())
    finally:
        lines.unpersist()
    cells["discounted"] = cells["discounted"].astype(bool)
    cells = cells.sort_values(["segment", "price_band", "discounted"], kind="stable").reset_index(drop=True)
    per_segment = per_segment.sort_values("segment", kind="stable").reset_index(drop=True)
    return PricingTables(cells, per_segment)


def segment_pricing(tables: PricingTables) -> pd.DataFrame:
    """Discount use and price-band mix per segment (:func:`crmlib.segments.segment_pricing`)."""
    cells, per = tables.cells, tables.per_segment.set_index("segment")
    g = cells.groupby("segment")
    lines = g["lines"].sum()
    out = pd.DataFrame({
        "customers": per["customers"].reindex(lines.index),
        "lines": lines,
        "revenue": g["revenue"].sum(),
        "discount_line_share": cells[cells["discounted"]].groupby("segment")["lines"].sum()
        .reindex(lines.index).fillna(0) / lines,
    })
    gross = g["gross"].sum()
    out["discount_revenue_share"] = g["dgross"].sum() / gross.where(gross > 0)
    out["avg_discount"] = g["wdisc"].sum() / gross.where(gross > 0)
    mix = cells.pivot_table(index="segment", columns="price_band", values="revenue", aggfunc="sum",
                            fill_value=0.0, observed=True)
    mix = mix.div(mix.sum(axis=1).where(lambda s: s > 0), axis=0)
    mix.columns = [f"band_{slug(c)}" for c in mix.columns]
    out = out.join(mix).rename_axis("segment").reset_index()
    out["customers"] = out["customers"].astype(int)
    out["lines"] = out["lines"].astype(int)
    out["discount_line_share"] = out["discount_line_share"].astype(float)
    return out


def discount_response(tables: PricingTables) -> pd.DataFrame:
    """Quantity per line with and without a discount, per segment (:func:`crmlib.segments.discount_response`)."""
    cells, per = tables.cells, tables.per_segment.set_index("segment")
    rows = []
    for name, part in cells.groupby("segment"):
        full, disc = part[~part["discounted"]], part[part["discounted"]]
        nf, nd = int(full["lines"].sum()), int(disc["lines"].sum())
        qf = full["quantity"].sum() / nf if nf else np.nan
        qd = disc["quantity"].sum() / nd if nd else np.nan
        s = per.loc[name]
        slope = np.nan
        if s["lines"] > 1 and s["d_max"] > s["d_min"] and s["var"] > 0:
            slope = float(s["covar"] / s["var"]) * 0.1
        rows.append({"segment": name, "lines_full_price": nf, "lines_discounted": nd,
                     "qty_full_price": qf, "qty_discounted": qd,
                     "volume_lift": qd / qf - 1 if qf and not np.isnan(qf) else np.nan,
                     "units_per_10pt": slope})
    cols = ["segment", "lines_full_price", "lines_discounted", "qty_full_price", "qty_discounted",
            "volume_lift", "units_per_10pt"]
    return pd.DataFrame(rows, columns=cols)


def pricing_tests(tables: PricingTables) -> pd.DataFrame:
    """Chi-square tests of price-band mix and discount use by segment (:func:`crmlib.segments.pricing_tests`)."""
    cells = tables.cells
    rows = []
    for test, column in (("price_band_mix", "price_band"), ("discount_use", "discounted")):
        table = cells.pivot_table(index="segment", columns=column, values="lines", aggfunc="sum", fill_value=0)
        rows.append(contingency_test(test, table))
    return pd.DataFrame(rows, columns=TEST_COLUMNS)
