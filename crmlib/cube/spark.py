"""The sales cube on Spark, from the mart: aggregates by date level, roll-ups with sub-totals, and
the summary star the sales review runs on.

:func:`aggregate` is :func:`crmlib.cube.aggregate` for date levels on the mart (what
:func:`crmlib.engines.analyses.aggregate` calls on the Spark engine); :func:`rollup` gives
Spark's sub-totals by any mart levels.

:func:`summary_star` is the :class:`~crmlib.cube.star.Star` of the whole review with its fact
summed on Spark per month, product, channel, rep, customer region and segment: bounded by the
dimensions, not by order lines or customers. Every cube function runs on it unchanged; the counts
that do not add up (customers; orders per product level) are counted on Spark, where the order
lines stay (the star's ``counter``). :func:`segments_at` gives the RFM segments at a period's
start and :func:`customer_ends` the top and bottom customers per region, both on Spark.

Levels: ``year``, ``quarter``, ``month`` (from ``dim_date``), ``region`` and ``channel_kind`` /
``channel`` (from ``dim_channel``), ``category`` / ``subcategory`` / ``product`` (from
``dim_product``), ``rep`` (rep name) and ``rep_region`` (from ``dim_rep``), ``status``.

Measures (names from :data:`crmlib.definitions.MEASURES`): ``revenue`` (sum of ``net_amount``,
:func:`crmlib.definitions.line_revenue`), ``gross``, ``cost``,
``margin``, ``quantity``, ``lines``, ``orders`` and ``customers`` (distinct counts, exact).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._validation import check_interval, check_one_of
from ..definitions import DATE_LEVELS, REVENUE_STATUSES
from ..errors import DataContractError
from ..mart import table_path
from .review import pick_ends
from .star import DIM_KEY, DIMENSION, UNKNOWN, Star, date_dimension, dimensions, labels
from .star import LEVELS as STAR_LEVELS  # this module's LEVELS are the mart's

__all__ = ["LEVELS", "MART_MEASURES", "MEASURES", "SUMMARY_GRAIN", "aggregate", "customer_ends", "dimension_star",
           "rollup", "sales", "segments_at", "summary_star"]

LEVELS = {
    "year": ("d", "year"), "quarter": ("d", "quarter"), "month": ("d", "month"),
    "region": ("c", "region"), "channel_kind": ("c", "kind"), "channel": ("c", "name"),
    "category": ("p", "category"), "subcategory": ("p", "subcategory"), "product": ("p", "name"),
    "rep": ("r", "name"), "rep_region": ("r", "region"), "status": ("f", "status"),
}
#: measure -> (aggregation, mart column): the cube's measures as the mart holds them
MART_MEASURES = {"revenue": ("sum", "net_amount"), "gross": ("sum", "gross_amount"),
                 "cost": ("sum", "cost_amount"), "margin": ("sum", "margin_amount"),
                 "quantity": ("sum", "quantity"), "lines": ("count", None),
                 "orders": ("distinct", "order_id"), "customers": ("distinct", "customer_id")}
MEASURES = tuple(MART_MEASURES)
_PERIODS = ("year", "quarter", "month")


def sales(spark, mart):
    """The sales fact joined to its dimensions, one column per level in :data:`LEVELS`."""
    from pyspark.sql import functions as F

    f = spark.read.parquet(table_path(mart, "fact_sales")).alias("f")
    d = spark.read.parquet(table_path(mart, "dim_date")).alias("d")
    c = spark.read.parquet(table_path(mart, "dim_channel")).alias("c")
    p = spark.read.parquet(table_path(mart, "dim_product")).alias("p")
    r = spark.read.parquet(table_path(mart, "dim_rep")).alias("r")
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

    check_one_of(kind, ("rollup", "cube"), name="kind", where="cube.spark.rollup")
    for level in levels:
        check_one_of(level, tuple(LEVELS), name="levels", where="cube.spark.rollup")
    data = sales(spark, mart)
    grouped = data.rollup(*levels) if kind == "rollup" else data.cube(*levels)
    out = grouped.agg(
        F.grouping_id().alias("grouping"), *[_measure(m) for m in MEASURES])
    return out.orderBy("grouping", *levels).toPandas()


def _measure(name: str):
    from pyspark.sql import functions as F

    how, col = MART_MEASURES[name]
    return (F.sum(col) if how == "sum" else F.count("*") if how == "count" else F.countDistinct(col)).alias(name)


def aggregate(spark, mart, by, *, measures, statuses=REVENUE_STATUSES, slices=None) -> pd.DataFrame:
    """Measures of the mart's sales by date levels: :func:`crmlib.cube.aggregate`'s frame.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
    mart : str or path
    by : list of {'year', 'quarter', 'month'}
    measures : list of str
        Names in :data:`MEASURES`.
    statuses : tuple of str, default=REVENUE_STATUSES
        Order statuses kept (a star's ``statuses``).
    slices : dict, optional
        ``{level: value or list}`` of :data:`LEVELS` to keep.

    Returns
    -------
    pandas.DataFrame
        Period columns, then the measures (float64 money, int64 counts), sorted by the periods.
    """
    from pyspark.sql import functions as F

    where = "cube.spark.aggregate"
    for level in by:
        check_one_of(level, _PERIODS, name="by", where=where)
    for m in measures:
        check_one_of(m, MEASURES, name="measures", where=where)
    data = sales(spark, mart).where(F.col("status").isin(list(statuses)))
    for level, value in (slices or {}).items():
        check_one_of(level, tuple(LEVELS), name="slices", where=where)
        data = data.where(F.col(level).isin(list(value) if isinstance(value, (list, tuple)) else [value]))
    keys = [lvl for lvl in _PERIODS if lvl == "year" or lvl in by]
    frame = data.groupBy(*keys).agg(*[_measure(m) for m in measures]).toPandas()
    out = pd.DataFrame(index=frame.index)
    for level in by:
        year = frame["year"].astype(int).astype(str)
        text = (year if level == "year" else year + "Q" + frame["quarter"].astype(int).astype(str)
                if level == "quarter" else year + "-" + frame["month"].astype(int).astype(str).str.zfill(2))
        out[level] = pd.PeriodIndex(text, freq=DATE_LEVELS[level])
    for m in measures:
        out[m] = frame[m].astype("int64" if MART_MEASURES[m][0] != "sum" or m == "quantity" else "float64")
    return out.sort_values(list(by), kind="stable").reset_index(drop=True)


# ---------------------------------------------------------------------- the summary star
#: What one row of a summary star's fact stands for.
SUMMARY_GRAIN = ("month", "product", "channel", "rep", "customer_region", "segment")
_EPOCH = "date'1970-01-01'"


def segments_at(spark, mart, *, start):
    """Each customer's RFM segment as of the day before ``start``: :func:`crmlib.cube.segments_at`
    on Spark (every customer of ``dim_customer``; 'No Purchase' without a purchase before it).

    Returns
    -------
    pyspark.sql.DataFrame
        ``customer_id``, ``segment``: one row per customer, for :func:`summary_star`.
    """
    from pyspark.sql import functions as F

    from ..segments import spark_rfm

    start = pd.Timestamp(start).normalize()
    orders = spark_rfm.order_values(spark, mart).where(F.to_date("ordered_at") < F.lit(start.date()))
    customers = spark.read.parquet(table_path(mart, "dim_customer")).select("customer_id")
    scored = spark_rfm.scored_customers(orders, customers, as_of=start - pd.Timedelta(days=1))
    return scored.select("customer_id", "segment")


def dimension_star(spark, mart, *, statuses=REVENUE_STATUSES) -> Star:
    """The star's dimensions read from the mart, with no fact rows yet.

    For the steps that need only the dimensions (:func:`crmlib.cube.select` looks up channel
    members, :func:`crmlib.cube.resolve_period` the last order day) before the summary is built
    once with what they chose (:func:`summary_star` ``(dims=...)``). Every aggregate of it is
    empty: do not analyse it.
    """
    from pyspark.sql import functions as F

    statuses = tuple([statuses] if isinstance(statuses, str) else statuses)
    read = lambda name: spark.read.parquet(table_path(mart, name))  # noqa: E731
    dims = dimensions(read("dim_product").toPandas(), read("dim_channel").toPandas(), read("dim_rep").toPandas(),
                      read("dim_rep_target").toPandas())
    kept = read("fact_orders").where(F.col("status").isin(list(statuses)))
    span = kept.agg(F.expr(f"min(datediff(to_date(ordered_at), {_EPOCH}))").alias("lo"),
                    F.expr(f"max(datediff(to_date(ordered_at), {_EPOCH}))").alias("hi"),
                    F.count("*").alias("n")).first()
    if span["n"]:  # the date dimension starts on the first month's first day: month keys index it
        day1 = int(span["hi"])
        day0 = int(np.datetime64(np.datetime64(int(span["lo"]), "D"), "M").astype("datetime64[D]").astype(np.int64))
    else:
        day0 = day1 = int(np.datetime64("2000-01-01", "D").astype(np.int64))
    fact = pd.DataFrame({c: pd.Series(dtype=np.int32) for c in _DIM_KEYS}
                        | {c: pd.Series(dtype=np.int64) for c in ("quantity", "lines", "orders")}
                        | {c: pd.Series(dtype=np.float64) for c in ("revenue", "discount", "cost")})
    return Star(fact=fact, dims={"date": date_dimension(day0, day1), "product": dims["product"],
                                 "customer": pd.DataFrame({"customer_region": labels([])}),
                                 "channel": dims["channel"], "rep": dims["rep"]},
                targets=dims["targets"], day0=day0, n_orders=int(span["n"]), statuses=statuses,
                date_grain="month")


_DIM_KEYS = ("date_key", "product_key", "customer_key", "channel_key", "rep_key")


def summary_star(spark, mart, *, segments=None, customer_region: bool = True, statuses=REVENUE_STATUSES,
                 dims: Star | None = None, local=("date", "product", "customer", "channel", "rep")) -> Star:
    """The sales star of the mart, its fact summed on Spark to :data:`SUMMARY_GRAIN`.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
    mart : str or path
    segments : pyspark.sql.DataFrame, optional
        ``customer_id``, ``segment`` (e.g. :func:`segments_at`); without it there is no segment
        level. Customers not listed get '(unknown)'.
    customer_region : bool, default=True
        Keep the customer's region in the grain (the ``customer_region`` level). Without it the
        summary has fewer rows; the sales review does not need it (its regions are the reps').
    statuses : tuple of str, default=REVENUE_STATUSES
        Order statuses whose lines are sales.
    dims : Star, optional
        :func:`dimension_star` of the same mart and statuses, whose dimensions are reused.
    local : sequence of str, default all five
        The dimensions ('date', 'product', 'customer', 'channel', 'rep') the summary rows in the
        driver are keyed by; 'date' is always one of them. A query that groups or filters by a
        level of another dimension is summed on Spark over the order lines instead. Fewer local
        dimensions: fewer summary rows in the driver, more Spark queries.

    Returns
    -------
    Star
        ``date_grain='month'``; the customer dimension has one row per customer group (region
        and segment, as asked) and no ``customer`` level. Sums, line counts, order counts along
        date, rep, channel and customer levels are added up in pandas from the summary rows;
        distinct customers, and orders per product level, are counted on Spark over the order
        lines, which Spark keeps (persisted) while the star is in use. Every figure equals
        :func:`crmlib.cube.load_star`'s star's, except for the order of floating-point additions.

    Raises
    ------
    DataContractError
        Order lines whose product, channel or rep is not in its dimension.
    """
    from pyspark import StorageLevel
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    statuses = tuple([statuses] if isinstance(statuses, str) else statuses)
    read = lambda name: spark.read.parquet(table_path(mart, name))  # noqa: E731
    base = dims if dims is not None else dimension_star(spark, mart, statuses=statuses)
    product_dim, channel_dim, rep_dim = base.dims["product"], base.dims["channel"], base.dims["rep"]
    kept = read("fact_orders").where(F.col("status").isin(list(statuses)))

    # -- customer groups: (region, segment) of every customer with a kept order --------------
    group_cols = (["_region"] if customer_region else []) + (["_segment"] if segments is not None else [])
    people = read("dim_customer").select(F.col("customer_id").cast("long").alias("customer_id"),
                                         F.col("region").cast("string").alias("_region"))
    if segments is not None:
        people = people.join(segments.select(F.col("customer_id").cast("long").alias("customer_id"),
                                             F.col("segment").cast("string").alias("_segment")),
                             "customer_id", "full")
    buyers = kept.select(F.col("customer_id").cast("long").alias("customer_id")).distinct()
    label = lambda c: F.coalesce(F.col(c), F.lit(UNKNOWN)).alias(c)  # noqa: E731
    labelled = buyers.join(people, "customer_id", "left").select("customer_id", *[label(c) for c in group_cols])
    # read twice (the groups, the lines' keys): computed once, not the segments' RFM twice
    labelled = labelled.persist(StorageLevel.MEMORY_AND_DISK)
    if group_cols:
        groups = labelled.select(*group_cols).distinct().toPandas().sort_values(group_cols).reset_index(drop=True)
    else:
        groups = pd.DataFrame(index=[0])
    customer_dim = pd.DataFrame(index=groups.index)
    for col, level in (("_region", "customer_region"), ("_segment", "segment")):
        if col in group_cols:
            customer_dim[level] = labels(groups[col].to_numpy(dtype=object))
    groups["customer_key"] = np.arange(len(groups), dtype=np.int32)

    # -- the order lines, keyed like a star's fact ------------------------------------------
    small = lambda frame: F.broadcast(spark.createDataFrame(frame))  # noqa: E731
    keys = {
        "product": pd.DataFrame({"product_id": product_dim["product_id"].astype("int64"),
                                 "product_key": np.arange(len(product_dim), dtype=np.int32)}),
        "channel": pd.DataFrame({"channel_id": channel_dim["channel_id"].astype("int64"),
                                 "channel_key": np.arange(len(channel_dim), dtype=np.int32)}),
        "rep": pd.DataFrame({"rep_id": rep_dim["rep_id"].astype("int64"),
                             "rep_key": np.arange(len(rep_dim), dtype=np.int32)}),
    }
    first = F.min("line_no").over(Window.partitionBy("order_id"))  # one line per order counts it
    lines = (read("fact_sales").where(F.col("status").isin(list(statuses)))
             .select(F.col("order_id").cast("long").alias("order_id"), "line_no",
                     F.col("customer_id").cast("long").alias("customer_id"),
                     F.col("product_id").cast("long").alias("product_id"),
                     F.col("channel_id").cast("long").alias("channel_id"),
                     F.coalesce(F.col("rep_id").cast("long"), F.lit(-1)).alias("rep_id"),
                     F.expr(f"datediff(make_date(int(date_key div 10000), int(date_key div 100 % 100), 1), {_EPOCH})")
                     .cast("int").alias("date_key"),
                     F.col("quantity").cast("long").alias("quantity"),
                     F.col("net_amount").alias("revenue"),
                     (F.col("gross_amount") - F.col("net_amount")).alias("discount"),
                     F.col("cost_amount").alias("cost"))
             .withColumn("first", (F.col("line_no") == first).cast("int")))
    if group_cols:
        lines = (lines.join(labelled, "customer_id", "left")
                 .join(small(groups[[*group_cols, "customer_key"]]), group_cols, "left"))
    else:
        lines = lines.withColumn("customer_key", F.lit(0).cast("int"))
    lines = (lines.join(small(keys["product"]), "product_id", "left")
             .join(small(keys["channel"]), "channel_id", "left")
             .join(small(keys["rep"]), "rep_id", "left")
             .select("order_id", "customer_id", *_DIM_KEYS, "product_id", "channel_id", "rep_id",
                     "quantity", "revenue", "discount", "cost", "first"))
    lines = lines.persist(StorageLevel.MEMORY_AND_DISK)  # read again for every distinct count

    keys_kept = [k for dim, k in DIM_KEY.items() if dim in {"date", *local}]
    summed = (lines.groupBy(*keys_kept)
              .agg(F.sum("quantity").alias("quantity"), F.sum("revenue").alias("revenue"),
                   F.sum("discount").alias("discount"), F.sum("cost").alias("cost"),
                   F.count("*").alias("lines"), F.sum("first").cast("long").alias("orders"),
                   # lines whose product, channel or rep has no key: counted in the same pass
                   F.sum((F.col("product_key").isNull() | F.col("channel_key").isNull()
                          | F.col("rep_key").isNull()).cast("long")).alias("_orphans")))
    fact = summed.toPandas()
    labelled.unpersist()
    if fact["_orphans"].sum():
        _raise_orphans(lines)
    fact = fact.drop(columns="_orphans")
    order = np.lexsort([fact[c].to_numpy() for c in reversed(keys_kept)])  # a stable order: sums repeat
    fact = fact.take(order).reset_index(drop=True)
    return Star(fact=fact, dims={**base.dims, "customer": customer_dim}, targets=base.targets, day0=base.day0,
                n_orders=base.n_orders, statuses=statuses, date_grain="month",
                counter=_LineCounter(spark, lines, read("dim_customer").select(
                    F.col("customer_id").cast("long").alias("customer_id"),
                    F.col("region").cast("string").alias("_region"))))


def _raise_orphans(lines) -> None:
    from pyspark.sql import functions as F

    for key, ids, table in (("product_key", "product_id", "products"), ("channel_key", "channel_id", "channels"),
                            ("rep_key", "rep_id", "sales_reps")):
        bad = [r[0] for r in lines.where(F.col(key).isNull()).select(ids).distinct().limit(5).collect()]
        if bad:
            n = lines.where(F.col(key).isNull()).select(ids).distinct().count()
            lines.unpersist()
            raise DataContractError(f"cube.spark.summary_star: order lines point to {n} {ids} value(s) "
                                    f"not in {table}: {sorted(bad)}.")


class _LineCounter:
    """A summary star's distinct counts, over the order lines Spark keeps (``lines``)."""

    def __init__(self, spark, lines, regions):
        self.spark, self.lines, self.regions = spark, lines, regions  # regions: customer_id, _region

    def coded(self, star: Star, levels, allowed):
        """The lines with one code column per level of ``levels`` and ``allowed``, filtered to the
        allowed codes (star's levels mapped through broadcast lookups of its dimensions)."""
        from pyspark.sql import functions as F

        out = self.lines
        for level in dict.fromkeys([*levels, *allowed]):
            dim = DIMENSION[STAR_LEVELS[level]]
            key = DIM_KEY[dim]
            codes = star.level_codes(level).astype(np.int64)
            if dim == "date":  # month keys are first days: look those up only
                days = star.day0 + np.arange(len(codes))
                firsts = star.dims["date"]["month"].to_numpy()
                starts = np.r_[True, firsts[1:] != firsts[:-1]]
                lookup = pd.DataFrame({key: days[starts].astype(np.int32), level: codes[starts]})
            else:
                lookup = pd.DataFrame({key: np.arange(len(codes), dtype=np.int32), level: codes})
            out = out.join(F.broadcast(self.spark.createDataFrame(lookup)), key, "inner")
            if level in allowed:
                out = out.where(F.col(level).isin([int(c) for c in np.asarray(allowed[level])]))
        return out

    def aggregate(self, star: Star, levels, measures, allowed) -> pd.DataFrame:
        """Measures per level codes of ``levels`` over the lines: sums, ``lines``, and the distinct
        ``orders`` and ``customers``; sorted by the levels (a total row of zeros when empty)."""
        from pyspark.sql import functions as F

        how = {"lines": F.count("*"), "orders": F.countDistinct("order_id"),
               "customers": F.countDistinct("customer_id")}
        coded = self.coded(star, levels, allowed)
        grouped = coded.groupBy(*levels) if levels else coded
        frame = grouped.agg(*[how.get(m, F.sum(m)).alias(m) for m in measures]).toPandas()
        frame = frame.fillna({m: 0 for m in measures})
        for level in levels:
            frame[level] = frame[level].astype(np.int64)
        return frame.sort_values(list(levels), kind="stable").reset_index(drop=True) if levels else frame

    def __call__(self, star: Star, levels, name: str, allowed) -> pd.DataFrame:
        """The distinct count ``name`` ('orders' or 'customers') per level codes of ``levels``."""
        frame = self.aggregate(star, levels, [name], allowed)
        return frame.assign(**{name: frame[name].astype(np.int64)})


def customer_ends(star: Star, *, where=None, n: int = 3) -> pd.DataFrame:
    """:func:`crmlib.cube.customer_ends` of a :func:`summary_star`: computed on Spark.

    Revenue and orders per customer are summed on Spark; each partition keeps only its ``n``
    largest and ``n`` smallest per region, and the driver picks the ends of those: exact (a
    region's ends are among its parts' ends), and the driver holds at most 2 n rows per partition
    and region. No sort or window over the customers.

    Returns
    -------
    pandas.DataFrame
        :data:`crmlib.cube.ENDS_COLUMNS`.
    """
    from pyspark.sql import functions as F

    from . import _engine

    check_interval(n, 1, name="n", where="cube.spark.customer_ends", integer=True)
    if not star.is_summary or not isinstance(star.counter, _LineCounter):
        from .review import customer_ends as on_lines

        return on_lines(star, where=where, n=n)
    allowed = _engine.resolve_where(star, where, where="cube.spark.customer_ends")
    coded = star.counter.coded(star, [], _engine.all_filters(star, allowed))
    per = (coded.groupBy("customer_id")
           .agg(F.sum("revenue").alias("revenue"), F.countDistinct("order_id").alias("orders"))
           .join(star.counter.regions, "customer_id", "left")
           .select("customer_id", F.coalesce("_region", F.lit(UNKNOWN)).alias("customer_region"), "revenue",
                   "orders"))

    def ends(chunks):
        for chunk in chunks:  # the ends of each partition: n from the top, n from the bottom
            ranked = chunk.sort_values(["customer_region", "revenue", "customer_id"],
                                       ascending=[True, False, True], kind="stable")
            head = ranked.groupby("customer_region", sort=False).head(n)
            tail = ranked.groupby("customer_region", sort=False).tail(n)
            out = pd.concat([head, tail]).drop_duplicates(["customer_id"])
            # object, not pandas 3's Arrow-backed str: pyspark's Arrow writer takes plain arrays only
            yield out.assign(customer_region=out["customer_region"].astype(object))

    schema = "customer_id long, customer_region string, revenue double, orders long"
    cand = per.mapInPandas(ends, schema).toPandas()
    # every region's n largest and n smallest are among the candidates, so they are the candidates' ends
    return pick_ends(cand, n=n)
