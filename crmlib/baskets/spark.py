"""Association rules on Spark: MLlib FPGrowth for the itemsets, crmlib's measures on top.

The heavy parts stay on Spark DataFrames: baskets are built from the mart's ``fact_sales``,
FPGrowth mines the frequent itemsets, every rule (all consequent sizes, as crmlib.baskets and
mlxtend generate them, not only Spark's single-item consequents) is enumerated with Spark SQL
higher-order functions and joined to the support counts of its two sides. The measures are then
computed per Arrow batch on the executors (``mapInPandas``) by the *same* function the pandas
path uses, from the four counts ``n, n(A), n(C), n(A and C)``, so the two paths cannot drift.

>>> from crmlib.spark import get_session; from crmlib.baskets import spark as sr  # doctest: +SKIP
>>> spark = get_session()                                       # doctest: +SKIP
>>> b = sr.baskets(spark, "data/mart")                          # doctest: +SKIP
>>> r = sr.mine_rules(b, min_support=0.005, min_confidence=0.2)  # doctest: +SKIP
>>> sr.to_pandas(r).head()                                      # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._validation import check_interval, check_one_of
from ..definitions import as_timestamp
from ..errors import EmptyDataError, ParameterError
from ..mart import table_path
from . import rules as pandas_rules
from ._fisher import fisher_greater
from .counting import confidence_lift, rule_measures
from .counting import min_count as _pandas_min_count

__all__ = [
    "MEASURE_COLUMNS",
    "RULE_COLUMNS",
    "association_rules",
    "baskets",
    "frequent_itemsets",
    "is_redundant",
    "lift_contrast",
    "measures_from_counts",
    "mine_rules",
    "prune_redundant",
    "rules_from_mart",
    "to_pandas",
]

#: mlxtend's / crmlib.baskets' measures, in that order (one definition: crmlib.baskets).
MEASURE_COLUMNS = pandas_rules.MLXTEND_MEASURES
#: Columns of a rules table (pandas, after :func:`to_pandas`): crmlib.baskets.RULE_COLUMNS.
RULE_COLUMNS = pandas_rules.RULE_COLUMNS
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


# ---------------------------------------------------------------------- the shared formulas
def measures_from_counts(cAC, cA, cC, n) -> dict[str, np.ndarray]:
    """Every rule measure from counts, by crmlib.baskets' own function.

    Parameters
    ----------
    cAC, cA, cC : array of int
        Baskets holding antecedent and consequent, the antecedent, the consequent.
    n : int
        Baskets mined.

    Returns
    -------
    dict of str -> numpy.ndarray
        One float64 array per name in :data:`MEASURE_COLUMNS`.
    """
    cAC, cA, cC = (np.asarray(x, dtype=np.int64) for x in (cAC, cA, cC))
    return rule_measures(cAC, cA, cC, n)  # the pandas path's definition, so they cannot drift


def fisher_p(cAC, cA, cC, n) -> np.ndarray:
    """One-sided Fisher exact p-value P(X >= cAC), X ~ Hypergeometric(n, cC, cA)."""
    return fisher_greater(np.asarray(cAC), np.asarray(cA), np.asarray(cC), n)


def adjust_pvalues(p, method: str | None = "fdr_bh") -> np.ndarray:
    """crmlib.baskets.adjust_pvalues (Benjamini-Hochberg, Holm, Bonferroni or None)."""
    return pandas_rules.adjust_pvalues(p, method)


def min_count(min_support: float, n: int) -> int:
    """Smallest count c with c / n >= min_support in float64 (crmlib.baskets' definition)."""
    return _pandas_min_count(min_support, n)


# ---------------------------------------------------------------------- baskets and itemsets
def baskets(spark, mart, *, level: str = "product", since=None, until=None):
    """One row per order from the mart: ``order_id``, ``weekday`` ('Mon'..'Sun'), ``items``.

    Items are product names (a name shared by several products gets ' (#id)', as
    crmlib.baskets does), or the product's ``subcategory`` / ``category``. ``since`` /
    ``until`` keep orders with ``since <= ordered_at < until`` (as crmlib.baskets).

    Returns
    -------
    pyspark.sql.DataFrame
        ``order_id`` long, ``weekday`` string, ``items`` array<string> (sorted, distinct).
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    check_one_of(level, ("product", "subcategory", "category"), name="level", where="baskets.spark.baskets")
    where = "baskets.spark.baskets"
    sales = spark.read.parquet(table_path(mart, "fact_sales")).select("order_id", "product_id", "ordered_at")
    if since is not None:
        since = as_timestamp(since, name="since", where=where)
        sales = sales.where(F.col("ordered_at") >= F.lit(since.to_pydatetime()))
    if until is not None:
        until = as_timestamp(until, name="until", where=where)
        sales = sales.where(F.col("ordered_at") < F.lit(until.to_pydatetime()))
    products = spark.read.parquet(table_path(mart, "dim_product"))
    if level == "product":
        dup = F.count("*").over(Window.partitionBy("name")) > 1
        label = F.when(dup, F.format_string("%s (#%d)", "name", "product_id")).otherwise(F.col("name"))
    else:
        label = F.col(level).cast("string")
    products = products.select("product_id", label.alias("item"))
    names = F.array(*[F.lit(d) for d in WEEKDAYS])
    return (sales.join(F.broadcast(products), "product_id")
            .groupBy("order_id")
            .agg(F.first("ordered_at").alias("ordered_at"), F.array_sort(F.collect_set("item")).alias("items"))
            .select("order_id", F.element_at(names, F.weekday("ordered_at") + 1).alias("weekday"), "items"))


def frequent_itemsets(baskets_df, *, min_support: float, max_len: int | None = None,
                      num_partitions: int | None = None):
    """Frequent itemsets with Spark MLlib FPGrowth.

    Parameters
    ----------
    baskets_df : pyspark.sql.DataFrame
        An ``items`` array column (as :func:`baskets` gives).
    min_support : float
        In (0, 1]; an itemset is frequent when count / n >= min_support (as crmlib.baskets).
    max_len : int, optional
        Longest itemset kept.

    Returns
    -------
    (pyspark.sql.DataFrame, int)
        Itemsets ``items`` (sorted array<string>), ``count`` long, ``support`` double, cached;
        and the number of baskets ``n``.
    """
    from pyspark.ml.fpm import FPGrowth
    from pyspark.sql import functions as F

    where = "baskets.spark.frequent_itemsets"
    check_interval(min_support, 0, 1, name="min_support", where=where, closed="right")
    if max_len is not None:
        check_interval(max_len, 1, None, name="max_len", where=where, integer=True)
    n = baskets_df.count()
    if n == 0:
        raise EmptyDataError(f"{where}: no baskets to mine")
    c = min_count(min_support, n)
    # FPGrowth keeps freq >= ceil(minSupport * n): (c - 0.5) / n makes that exactly c
    fp = FPGrowth(itemsCol="items", minSupport=(c - 0.5) / n, minConfidence=1.0)
    if num_partitions:
        fp = fp.setNumPartitions(num_partitions)
    model = fp.fit(baskets_df.select("items"))
    sets = model.freqItemsets.where(F.col("freq") >= c)
    if max_len is not None:
        sets = sets.where(F.size("items") <= max_len)
    sets = sets.select(F.array_sort("items").alias("items"), F.col("freq").cast("long").alias("count"),
                       (F.col("freq") / F.lit(float(n))).alias("support")).cache()
    return sets, n


# ---------------------------------------------------------------------- rules
def _split(items: str, side: int):
    """The items of ``items`` whose bit in ``mask`` is ``side`` (Spark SQL, no Python per row)."""
    from pyspark.sql import functions as F

    return F.expr(f"filter({items}, (x, i) -> (shiftright(mask, i) & 1) = {side})")


def _masks(items: str):
    """Every proper, non-empty subset of ``items`` as a bit mask, one row each."""
    from pyspark.sql import functions as F

    return F.explode(F.expr(f"sequence(1, shiftleft(1, size({items})) - 2)")).alias("mask")


def association_rules(itemsets, n: int, *, min_confidence: float = 0.0,
                      min_lift: float | None = None, correction: str | None = "fdr_bh",
                      max_rules: int | None = None, sort_by: str = "lift",
                      max_consequent_len: int | None = None):
    """Rules ``antecedents -> consequents`` from Spark itemsets, with crmlib.baskets' measures.

    Parameters
    ----------
    itemsets : pyspark.sql.DataFrame
        ``items`` and ``count``, every subset of an itemset present (a mining result).
    n : int
        Baskets mined.
    min_confidence, min_lift, correction, max_rules, sort_by, max_consequent_len
        As :func:`crmlib.baskets.association_rules`; the correction runs over every rule that
        passes the thresholds, before the ``max_rules`` cut.

    Returns
    -------
    pyspark.sql.DataFrame
        ``antecedents``, ``consequents`` (sorted array<string>), the measures of
        :data:`MEASURE_COLUMNS` (double), ``count`` (long), ``p_value``, ``p_adjusted``.
    """
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    where = "baskets.spark.association_rules"
    check_interval(min_confidence, 0, 1, name="min_confidence", where=where)
    if min_lift is not None:
        check_interval(min_lift, 0, None, name="min_lift", where=where)
    check_one_of(correction, ("fdr_bh", "holm", "bonferroni", None), name="correction", where=where)
    check_one_of(sort_by, (*MEASURE_COLUMNS, "count", "p_value", "p_adjusted"), name="sort_by", where=where)
    if max_consequent_len is not None:
        check_interval(max_consequent_len, 1, None, name="max_consequent_len", where=where,
                       integer=True)

    sets = itemsets.select("items", "count")
    pairs = (sets.where(F.size("items") >= 2)
             .select("items", F.col("count").alias("cAC"),
                     _masks("items"))
             .select(_split("items", 0).alias("antecedents"),
                     _split("items", 1).alias("consequents"), "cAC"))
    if max_consequent_len is not None:
        pairs = pairs.where(F.size("consequents") <= int(max_consequent_len))
    side_a = sets.select(F.col("items").alias("antecedents"), F.col("count").alias("cA"))
    side_c = sets.select(F.col("items").alias("consequents"), F.col("count").alias("cC"))
    counted = pairs.join(side_a, "antecedents").join(side_c, "consequents")

    schema = T.StructType([
        T.StructField("antecedents", T.ArrayType(T.StringType())),
        T.StructField("consequents", T.ArrayType(T.StringType())),
        *[T.StructField(m, T.DoubleType()) for m in MEASURE_COLUMNS],
        T.StructField("count", T.LongType()), T.StructField("p_value", T.DoubleType()),
    ])
    total = int(n)

    def add_measures(batches):
        for b in batches:
            m = measures_from_counts(b["cAC"].to_numpy(), b["cA"].to_numpy(), b["cC"].to_numpy(), total)
            out = pd.DataFrame({"antecedents": b["antecedents"], "consequents": b["consequents"],
                                **{k: np.asarray(m[k], dtype=float) for k in MEASURE_COLUMNS}})
            out["count"] = b["cAC"].to_numpy(dtype=np.int64)
            out["p_value"] = fisher_p(b["cAC"].to_numpy(), b["cA"].to_numpy(), b["cC"].to_numpy(), total)
            ok = out["confidence"].to_numpy() >= min_confidence
            if min_lift is not None:
                ok &= out["lift"].to_numpy() >= min_lift
            yield out[ok]

    rules = counted.mapInPandas(add_measures, schema)
    adj_schema = T.StructType([*schema.fields, T.StructField("p_adjusted", T.DoubleType())])

    def adjust(batches):  # one partition: the correction needs every p-value at once
        frames = list(batches)
        if not frames:
            return
        frame = pd.concat(frames, ignore_index=True)
        frame["p_adjusted"] = adjust_pvalues(frame["p_value"].to_numpy(), correction)
        yield frame

    rules = rules.coalesce(1).mapInPandas(adjust, adj_schema)
    ascending = sort_by in ("p_value", "p_adjusted")
    rules = rules.orderBy(F.col(sort_by).asc() if ascending else F.col(sort_by).desc(),
                          "antecedents", "consequents")
    if max_rules is not None:
        rules = rules.limit(int(max_rules))
    return rules


def mine_rules(baskets_df, *, min_support: float = 0.01, max_len: int | None = None, **kwargs):
    """:func:`frequent_itemsets` then :func:`association_rules`; returns (rules, itemsets, n)."""
    sets, n = frequent_itemsets(baskets_df, min_support=min_support, max_len=max_len)
    return association_rules(sets, n, **kwargs), sets, n


def to_pandas(rules) -> pd.DataFrame:
    """A Spark rules table as crmlib.baskets returns it: frozenset sides, :data:`RULE_COLUMNS`."""
    frame = rules.toPandas()
    for side in ("antecedents", "consequents"):
        frame[side] = [frozenset(v) for v in frame[side]]
    cols = [c for c in RULE_COLUMNS if c in frame.columns]
    return frame[cols].astype({"count": "int64"}) if "count" in frame else frame[cols]


# ---------------------------------------------------------------------- redundancy
def is_redundant(rules, *, measure: str = "confidence"):
    """Flag each rule ``X -> Y`` for which a rule ``X' -> Y`` (X' a proper subset of X) in
    ``rules`` has ``measure`` at least as high (crmlib.baskets.is_redundant, on Spark).

    Returns
    -------
    pyspark.sql.DataFrame
        ``rules`` plus a boolean ``redundant`` column.
    """
    from pyspark.sql import functions as F

    check_one_of(measure, (*MEASURE_COLUMNS, "count", "p_value", "p_adjusted"), name="measure",
                 where="baskets.spark.is_redundant")
    keyed = rules.withColumn("_rid", F.monotonically_increasing_id())
    subs = (keyed.where(F.size("antecedents") >= 2)
            .select("_rid", "consequents", F.col(measure).alias("_q"), "antecedents",
                    _masks("antecedents"))
            .select("_rid", "consequents", "_q", _split("antecedents", 1).alias("antecedents")))
    general = keyed.select("antecedents", "consequents", F.col(measure).alias("_g"))
    hits = (subs.join(general, ["antecedents", "consequents"])
            .where(F.col("_g") >= F.col("_q")).select("_rid").distinct()
            .withColumn("redundant", F.lit(True)))
    return (keyed.join(hits, "_rid", "left")
            .withColumn("redundant", F.coalesce("redundant", F.lit(False))).drop("_rid"))


def prune_redundant(rules, *, measure: str = "confidence"):
    """``rules`` without the redundant ones (see :func:`is_redundant`)."""
    from pyspark.sql import functions as F

    return is_redundant(rules, measure=measure).where(~F.col("redundant")).drop("redundant")


# ---------------------------------------------------------------------- weekday comparison
def lift_contrast(baskets_df, rules: pd.DataFrame, *, by: str = "weekday", value="Fri",
                  top_n: int | None = 10) -> pd.DataFrame:
    """Each rule's lift in the baskets where ``by == value`` against all the others, counted
    on Spark (crmlib.baskets.lift_contrast's columns and definitions).

    Parameters
    ----------
    baskets_df : pyspark.sql.DataFrame
        ``items`` and the ``by`` column.
    rules : pandas.DataFrame
        ``antecedents`` and ``consequents`` (iterables of items); ``lift`` is carried if present.

    Returns
    -------
    pandas.DataFrame
        ``rule``, ``antecedents``, ``consequents``, ``lift``, ``lift_in``, ``lift_out``,
        ``lift_ratio``, ``confidence_in``, ``confidence_out``, ``count_in``, ``count_out``,
        ``n_in``, ``n_out``; sorted by ``lift_ratio`` descending.
    """
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    head = rules if top_n is None else rules.head(top_n)
    wanted = list(value) if isinstance(value, (list, tuple, set)) else [value]
    spark = baskets_df.sparkSession
    rule_df = spark.createDataFrame(
        [(i, sorted(map(str, a)), sorted(map(str, c))) for i, (a, c) in
         enumerate(zip(head["antecedents"], head["consequents"], strict=False))],
        T.StructType([T.StructField("rid", T.IntegerType()),
                      T.StructField("a", T.ArrayType(T.StringType())),
                      T.StructField("c", T.ArrayType(T.StringType()))]))
    b = baskets_df.select("items", F.col(by).isin(wanted).alias("inside"))
    sides = b.groupBy("inside").count().toPandas().set_index("inside")["count"]
    n_in, n_out = int(sides.get(True, 0)), int(sides.get(False, 0))
    has_a = F.size(F.array_except("a", "items")) == 0
    has_c = F.size(F.array_except("c", "items")) == 0
    counts = (b.crossJoin(F.broadcast(rule_df))
              .groupBy("rid", "inside")
              .agg(F.sum(has_a.cast("long")).alias("ca"), F.sum(has_c.cast("long")).alias("cc"),
                   F.sum((has_a & has_c).cast("long")).alias("cac"))
              .toPandas())
    rows = []
    for i, (ante, cons) in enumerate(zip(head["antecedents"], head["consequents"], strict=False)):
        got = counts[counts["rid"] == i].set_index("inside")
        ca, cc, cac = (np.array([int(got[k].get(True, 0)), int(got[k].get(False, 0))])
                       for k in ("ca", "cc", "cac"))
        conf, lift = confidence_lift(cac, ca, cc, np.array([n_in, n_out]))
        if "lift" in head:
            overall = float(head["lift"].iloc[i])
        else:
            overall = float(confidence_lift(cac.sum(keepdims=True), ca.sum(keepdims=True),
                                       cc.sum(keepdims=True), np.array([n_in + n_out]))[1][0])
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = lift[0] / lift[1]
        text = f"{', '.join(sorted(map(str, ante)))} -> {', '.join(sorted(map(str, cons)))}"
        rows.append((text, frozenset(ante), frozenset(cons), overall, lift[0], lift[1], ratio,
                     conf[0], conf[1], cac[0], cac[1], n_in, n_out))
    out = pd.DataFrame(rows, columns=["rule", "antecedents", "consequents", "lift", "lift_in",
                                      "lift_out", "lift_ratio", "confidence_in", "confidence_out",
                                      "count_in", "count_out", "n_in", "n_out"])
    out = out.astype({c: "int64" for c in ("count_in", "count_out", "n_in", "n_out")})
    out = out.sort_values("lift_ratio", ascending=False, kind="stable", na_position="last")
    return out.reset_index(drop=True)


def rules_from_mart(spark, mart, *, min_support: float = 0.01, min_confidence: float = 0.0,
                    min_lift: float | None = None, max_len: int | None = None,
                    max_rules: int | None = 100_000, sort_by: str = "lift",
                    correction: str | None = "fdr_bh", level: str = "product", since=None,
                    until=None, filters=None,
                    max_consequent_len: int | None = None, baskets_df=None) -> pd.DataFrame:
    """The rules table of the mart's baskets, as :func:`crmlib.baskets.mine_rules` gives it.

    Parameters are :func:`crmlib.engines.analyses.mine_rules`'; ``filters`` takes
    ``weekday`` (0-6 or day names), ``channel`` (ids, names or kinds) and ``region``, applied
    by the caller: ``baskets_df`` (an ``items`` column, e.g.
    :func:`crmlib.baskets.spark_report.report_baskets`) is mined instead of building the baskets.

    Returns
    -------
    pandas.DataFrame
        :data:`RULE_COLUMNS`; ``attrs`` hold ``n_itemsets``, ``engine``, ``min_support`` and,
        when empty, ``empty_reason``.
    """

    filters = dict(filters or {})
    if baskets_df is not None:  # the caller's baskets (windowed and filtered already)
        b = baskets_df
    elif filters:  # built by crmlib.engines.analyses.mine_rules (spark_report builds on this module)
        raise ParameterError("baskets.spark.rules_from_mart: with 'filters', pass the filtered "
                             "baskets as baskets_df (crmlib.baskets.spark_report.report_baskets).",
                             name="filters")
    else:
        b = baskets(spark, mart, level=level, since=since, until=until)
    b = b.select("items").cache()
    try:
        rules, sets, _ = mine_rules(b, min_support=min_support, max_len=max_len,
                                    min_confidence=min_confidence, min_lift=min_lift,
                                    max_rules=max_rules, sort_by=sort_by, correction=correction,
                                    max_consequent_len=max_consequent_len)
        out = to_pandas(rules)
        n_itemsets = sets.count()
        sets.unpersist()
    finally:
        b.unpersist()
    out.attrs.update(n_itemsets=int(n_itemsets), engine="spark", min_support=min_support)
    if out.empty:
        out.attrs["empty_reason"] = (f"no rule at min_support={min_support}, min_confidence="
                                     f"{min_confidence}, min_lift={min_lift}; lower them")
    return out
