"""Exact ranks and order statistics of a Spark column without a global sort or an unpartitioned window.

pandas ranks a column by sorting it; on Spark a ``Window.orderBy`` without ``partitionBy`` moves
the whole table into one partition (Spark logs "No Partition Defined for Window operation").
Here the column is first reduced to its distinct values with counts, then cut into value buckets
at approximate quantiles of those distinct values (one bucket when they are few). Each bucket's
row count (a small table) gives its offset; inside a bucket a window partitioned by the bucket
accumulates the counts. The result is exact: equal values always share a bucket, and the
approximate quantiles only decide where the buckets are cut, not any rank.

- :func:`average_ranks`: pandas' ``rank(method='average')`` of each distinct value.
- :func:`order_statistics`: the k-th smallest values, exactly (only the buckets holding them are
  collected, at most about ``bucket_rows`` distinct values each).
- :func:`quantile` / :func:`median`: pandas' ``Series.quantile`` (linear) and ``median``.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import EmptyDataError, ParameterError

__all__ = ["BUCKET_ROWS", "average_ranks", "median", "order_statistics", "profile", "quantile"]

#: Distinct values per bucket aimed at: a partitioned window holds one bucket at a time.
BUCKET_ROWS = 1_000_000


def _distinct_counts(df, value):
    from pyspark.sql import functions as F

    return df.where(value.isNotNull()).groupBy(value.alias("_v")).agg(F.count("*").alias("_c"))


def profile(df, columns) -> dict:
    """Rows with a value and an estimate of the distinct values of each column, in one Spark job.

    Returns
    -------
    dict
        ``{column: (rows, approx_distinct, min, max)}``; pass an entry as ``sizes`` to :func:`average_ranks`
        to save it a job.
    """
    from pyspark.sql import functions as F

    aggs = []
    for i, c in enumerate(columns):
        aggs += [F.count(c).alias(f"n{i}"), F.approx_count_distinct(c, 0.05).alias(f"d{i}"),
                 F.min(c).alias(f"lo{i}"), F.max(c).alias(f"hi{i}")]
    row = df.agg(*aggs).first()
    return {c: (int(row[f"n{i}"]), int(row[f"d{i}"]), row[f"lo{i}"], row[f"hi{i}"])
            for i, c in enumerate(columns)}


def _bucketed(distinct, bucket_rows: int, sizes=None):
    """``distinct`` with a bucket number ``_b`` (0 ..), and the buckets' row counts in order.

    ``sizes`` (rows, approximate distinct values) from :func:`profile`: with few distinct values
    there is one bucket holding every row, and no job is needed to count them.
    """
    from pyspark.sql import functions as F

    # One bucket: bucket 0 for every value (none is above the maximum), but not a literal: the
    # optimizer drops a constant partition key and would plan the window as unpartitioned. A
    # bucket holds at most about bucket_rows distinct values whatever the size of the data.
    top = sizes[3] if sizes is not None and sizes[3] is not None else None
    one = ((F.col("_v") > F.lit(float(top))).cast("int") if top is not None
           else F.lit(0))
    if sizes is not None and sizes[1] * 1.2 <= bucket_rows:  # approx_count_distinct: rsd 0.05
        return distinct.withColumn("_b", one), [sizes[0]]
    n_distinct = distinct.count()
    buckets = max(1, math.ceil(n_distinct / bucket_rows))
    if buckets == 1:
        out = distinct.withColumn("_b", one)
    else:
        probs = [i / buckets for i in range(1, buckets)]
        splits = sorted(set(distinct.approxQuantile("_v", probs, 1.0 / (4 * buckets))))
        # bucket = number of splits strictly below the value: equal values share a bucket
        b = sum((F.col("_v") > F.lit(float(s))).cast("int") for s in splits)
        out = distinct.withColumn("_b", b)
    counts = {r["_b"]: int(r["_n"]) for r in out.groupBy("_b").agg(F.sum("_c").alias("_n")).collect()}
    return out, [counts.get(i, 0) for i in range(max(counts, default=-1) + 1)]


def average_ranks(df, column: str, *, descending: bool = False, bucket_rows: int = BUCKET_ROWS,
                  sizes=None):
    """Average rank (1-based, ties sharing the mean of their positions) of each distinct value.

    Parameters
    ----------
    df : pyspark.sql.DataFrame
    column : str
        Numeric column; nulls are left out (as pandas leaves NaN unranked).
    descending : bool, default=False
        Rank the largest value first (pandas' ``rank`` of the negated values).
    bucket_rows : int, default=BUCKET_ROWS
    sizes : (int, int), optional
        ``profile(df, [column])[column]``, computed together with other columns' to save jobs.

    Returns
    -------
    (pyspark.sql.DataFrame, int)
        Columns ``column`` (the distinct values) and ``rank`` (double); and the number of ranked
        rows ``n`` (so ``rank / n`` is pandas' ``rank(pct=True)``).
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    value = -F.col(column) if descending else F.col(column)
    if sizes is None:
        sizes = profile(df, [column])[column]
    if descending:  # the profile is of the column; the ranks are of its negation
        sizes = (sizes[0], sizes[1], None if sizes[3] is None else -sizes[3],
                 None if sizes[2] is None else -sizes[2])
    distinct, sizes = _bucketed(_distinct_counts(df, value), bucket_rows, sizes)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(int).tolist()
    spark = df.sparkSession
    table = spark.createDataFrame([(i, o) for i, o in enumerate(offsets)] or [(0, 0)], "_b int, _off long")
    before = F.sum("_c").over(Window.partitionBy("_b").orderBy("_v")
                              .rowsBetween(Window.unboundedPreceding, -1))
    rank = F.col("_off") + F.coalesce(before, F.lit(0)) + (F.col("_c") + 1) / 2.0
    out = distinct.join(F.broadcast(table), "_b").select(
        (-F.col("_v") if descending else F.col("_v")).alias(column), rank.cast("double").alias("rank"))
    return out, int(sum(sizes))


def order_statistics(df, column: str, positions, *, bucket_rows: int = BUCKET_ROWS) -> list[float]:
    """The values at 0-based ``positions`` of the column sorted ascending (null and NaN left out), exactly.

    Raises
    ------
    EmptyDataError
        The column has no value.
    ParameterError
        A position outside ``0 .. n - 1``.
    """
    def check(n):
        for k in positions:
            if not 0 <= k < n:
                raise ParameterError(f"spark.ranks.order_statistics: position {k} outside 0..{n - 1}.",
                                     name="positions")
        return list(positions)

    found, _ = _positions_of(df, column, check, bucket_rows)
    if found is None:
        raise EmptyDataError(f"spark.ranks.order_statistics: {column!r} has no value.")
    return found


def _positions_of(df, column: str, where, bucket_rows: int):
    """Order statistics at ``where(n)`` positions of the non-NaN values; None when there are none."""
    from pyspark.sql import functions as F

    values = df.where(F.col(column).isNotNull() & ~F.isnan(column))
    sizes = profile(values, [column])[column]
    if sizes[0] == 0:
        return None, 0
    distinct, counts = _bucketed(_distinct_counts(values, F.col(column)), bucket_rows, sizes)
    n = int(sum(counts))
    positions = where(n)
    ends = np.cumsum(counts)
    wanted = {}
    for k in positions:
        wanted.setdefault(int(np.searchsorted(ends, k, side="right")), []).append(int(k))
    rows = distinct.where(F.col("_b").isin(list(wanted))).select("_b", "_v", "_c").collect()
    found = {}
    for b, ks in wanted.items():
        part = sorted((r["_v"], r["_c"]) for r in rows if r["_b"] == b)
        cum = np.cumsum([c for _, c in part]) + (ends[b] - counts[b])
        for k in ks:
            found[k] = float(part[int(np.searchsorted(cum, k, side="right"))][0])
    return [found[int(k)] for k in positions], n


def quantile(df, column: str, q: float, *, bucket_rows: int = BUCKET_ROWS) -> float:
    """pandas' ``Series.quantile(q)`` (linear interpolation, NaN left out), exactly.

    Returns NaN when the column has no value.
    """
    if not 0 <= q <= 1:
        raise ParameterError(f"spark.ranks.quantile: q must be in [0, 1]; got {q!r}.", name="q")
    found, n = _positions_of(df, column, lambda n: [math.floor((n - 1) * q), math.ceil((n - 1) * q)],
                             bucket_rows)
    if found is None:
        return math.nan
    a, b = found
    h = (n - 1) * q
    # numpy's linear interpolation (numpy.lib._function_base_impl._lerp), so the result is the same float
    t = h - math.floor(h)
    diff = b - a
    return float(b - diff * (1 - t)) if t >= 0.5 else float(a + diff * t)


def median(df, column: str, *, bucket_rows: int = BUCKET_ROWS) -> float:
    """pandas' ``Series.median()`` (NaN left out), exactly; NaN when the column has no value."""
    found, _ = _positions_of(df, column, lambda n: [(n - 1) // 2, n // 2], bucket_rows)
    return math.nan if found is None else float(np.mean(found))
