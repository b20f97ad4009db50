"""Sales roll-ups on Spark: the mart's sales fact by any levels, with sub-totals.

Levels: ``year``, ``quarter``, ``month`` (from ``dim_date``), ``region`` and ``channel_kind`` /
``channel`` (from ``dim_channel``), ``category`` / ``subcategory`` / ``product`` (from
``dim_product``), ``rep`` (rep name) and ``rep_region`` (from ``dim_rep``), ``status``.

Measures: ``revenue`` (sum of ``net_amount``, crmlib.kpis' revenue), ``gross``, ``cost``,
``margin``, ``quantity``, ``lines``, ``orders`` and ``customers`` (distinct counts, exact).
"""

from __future__ import annotations

from .._validation import check_one_of

__all__ = ["LEVELS", "MEASURES", "rollup", "sales"]

LEVELS = {
    "year": ("d", "year"), "quarter": ("d", "quarter"), "month": ("d", "month"),
    "region": ("c", "region"), "channel_kind": ("c", "kind"), "channel": ("c", "name"),
    "category": ("p", "category"), "subcategory": ("p", "subcategory"), "product": ("p", "name"),
    "rep": ("r", "name"), "rep_region": ("r", "region"), "status": ("f", "status"),
}
MEASURES = ("revenue", "gross", "cost", "margin", "quantity", "lines", "orders", "customers")


def sales(spark, mart):
    """The sales fact joined to its dimensions, one column per level in :data:`LEVELS`."""
    from pyspark.sql import functions as F

    root = str(mart).rstrip("/")
    f = spark.read.parquet(f"{root}/fact_sales").alias("f")
    d = spark.read.parquet(f"{root}/dim_date").alias("d")
    c = spark.read.parquet(f"{root}/dim_channel").alias("c")
    p = spark.read.parquet(f"{root}/dim_product").alias("p")
    r = spark.read.parquet(f"{root}/dim_rep").alias("r")
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

    check_one_of(kind, ("rollup", "cube"), name="kind", where="spark.cube.rollup")
    for level in levels:
        check_one_of(level, tuple(LEVELS), name="levels", where="spark.cube.rollup")
    data = sales(spark, mart)
    grouped = data.rollup(*levels) if kind == "rollup" else data.cube(*levels)
    out = grouped.agg(
        F.grouping_id().alias("grouping"),
        F.sum("net_amount").alias("revenue"), F.sum("gross_amount").alias("gross"),
        F.sum("cost_amount").alias("cost"), F.sum("margin_amount").alias("margin"),
        F.sum("quantity").alias("quantity"), F.count("*").alias("lines"),
        F.countDistinct("order_id").alias("orders"), F.countDistinct("customer_id").alias("customers"))
    return out.orderBy("grouping", *levels).toPandas()
