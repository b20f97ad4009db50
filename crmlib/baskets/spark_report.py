"""The association-rules report's sections on Spark: nothing of fact size comes into pandas.

Beside :mod:`crmlib.baskets.spark` (which mines the rules), this module computes what the report
shows around them, each as the pandas function of crmlib.baskets defines it and returning the
same table:

* :func:`report_baskets`: one row per order from the mart, with its customer, channel, region,
  weekday and items; the ``weekday``, ``channel`` and ``region`` filters applied on Spark;
* :func:`basket_summary`: basket and item counts, the basket-size histogram and item supports
  (small tables for the plots);
* :func:`lift_by` and :func:`lift_contrast`: each rule's itemset counts per group of baskets, one
  Spark aggregation over the baskets crossed with the (broadcast, top-N) rules;
* :func:`recommend`: per-customer cross-sell suggestions as a Spark DataFrame (eligibility by
  joins on the customer's bought items, the best rule per customer and item and the top-k per
  customer by windows partitioned by customer);
* :func:`rules_about`: rules about chosen items, mined on Spark and filtered there;
* :func:`split_at`, :func:`count_itemsets` and :func:`holdout_check`: rules re-counted on the
  later months;
* :func:`next_purchase_rules`: "bought X, then Y within N days" by a per-customer self-join
  bounded by the window; the median lag is Spark's exact ``percentile`` per rule.

No window without ``partitionBy`` and no global sort over baskets or customers: sorts happen on
the small results in pandas, or as ``orderBy(...).limit(n)`` (a bounded top-N).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import pandas as pd

from .._validation import check_interval, check_one_of
from ..definitions import as_timestamp, items_text, rule_text
from ..errors import EmptyDataError, ParameterError
from ..mart import table_path
from . import spark as rules_spark
from .compare import CONTRAST_COLUMNS
from .counting import confidence_lift
from .crosssell import RECOMMEND_COLUMNS
from .encode import weekday_code
from .holdout import holdout_from_counts
from .rules import adjust_pvalues
from .sequences import SEQUENCE_COLUMNS
from .targets import SIDES, target_items

__all__ = ["BasketSummary", "basket_summary", "count_itemsets", "holdout_check", "lift_by",
           "lift_contrast", "next_purchase_rules", "recommend", "report_baskets", "rules_about",
           "split_at"]

WEEKDAYS = rules_spark.WEEKDAYS
_DAY_S = 86_400
_FILTERS = ("weekday", "channel", "region")


# ---------------------------------------------------------------------- baskets
def report_baskets(spark, mart, *, level: str = "product", since=None, until=None, filters=None):
    """One row per order from the mart, with what the report groups and filters by.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
    mart : str or Path
        The Parquet mart (``fact_sales``, ``dim_product``, ``dim_channel``, ``dim_customer``).
    level : {'product', 'subcategory', 'category'}, default='product'
        Item labels as :func:`crmlib.baskets.make_baskets` gives them.
    since, until : date-like, optional
        Orders with ``since <= ordered_at < until``.
    filters : mapping, optional
        ``weekday`` (0-6 or day names), ``channel`` (ids, names or kinds), ``region``, as
        :func:`crmlib.baskets.make_baskets`; ``segment`` is not taken on Spark.

    Returns
    -------
    pyspark.sql.DataFrame
        ``order_id``, ``customer_id``, ``channel_id``, ``ordered_at``, ``weekday`` ('Mon'..),
        ``channel`` (name), ``region`` (the customer's), ``items`` (sorted distinct labels).

    Raises
    ------
    ParameterError
        An unknown level or filter key, or a bad weekday.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    where = "baskets.spark_report.report_baskets"
    check_one_of(level, ("product", "subcategory", "category"), name="level", where=where)
    filters = dict(filters or {})
    for key in filters:
        if key not in _FILTERS:
            raise ParameterError(f"{where}: engine='spark' takes the filters {list(_FILTERS)}; "
                                 f"got {key!r}. Use engine='pandas' for it.", name="filters")
    sales = spark.read.parquet(table_path(mart, "fact_sales")).select(
        "order_id", "customer_id", "channel_id", "product_id", "ordered_at")
    if since is not None:
        since = as_timestamp(since, name="since", where=where)
        sales = sales.where(F.col("ordered_at") >= F.lit(since.to_pydatetime()))
    if until is not None:
        until = as_timestamp(until, name="until", where=where)
        sales = sales.where(F.col("ordered_at") < F.lit(until.to_pydatetime()))
    products = spark.read.parquet(table_path(mart, "dim_product"))
    if level == "product":
        dup = F.count("*").over(Window.partitionBy("name")) > 1  # a small dimension, partitioned
        label = F.when(dup, F.format_string("%s (#%d)", "name", "product_id")).otherwise(F.col("name"))
    else:
        label = F.col(level).cast("string")
    products = products.select("product_id", label.alias("item"))
    channels = spark.read.parquet(table_path(mart, "dim_channel")).select(
        "channel_id", F.col("name").alias("channel"), F.col("kind").alias("_kind"))
    regions = spark.read.parquet(table_path(mart, "dim_customer")).select("customer_id", "region")
    names = F.array(*[F.lit(d) for d in WEEKDAYS])
    out = (sales.join(F.broadcast(products), "product_id")
           .groupBy("order_id")
           .agg(F.first("customer_id").alias("customer_id"), F.first("channel_id").alias("channel_id"),
                F.first("ordered_at").alias("ordered_at"),
                F.array_sort(F.collect_set("item")).alias("items"))
           .withColumn("weekday", F.element_at(names, F.weekday("ordered_at") + 1))
           .join(F.broadcast(channels), "channel_id", "left")
           .join(regions, "customer_id", "left"))
    for key, value in filters.items():
        values = list(value) if isinstance(value, (list, tuple, set, frozenset)) else [value]
        if key == "weekday":
            out = out.where(F.col("weekday").isin([WEEKDAYS[weekday_code(v)] for v in values]))
        elif key == "channel":
            text = [str(v) for v in values]
            ids = [int(v) for v in values if isinstance(v, (int, np.integer))]
            out = out.where(F.col("channel_id").isin(ids) | F.col("channel").isin(text)
                            | F.col("_kind").isin(text))
        else:
            out = out.where(F.col("region").isin([str(v) for v in values]))
    return out.select("order_id", "customer_id", "channel_id", "ordered_at", "weekday", "channel",
                      "region", "items")


@dataclass(frozen=True)
class BasketSummary:
    """What the report says and plots about the baskets, from Spark aggregates (small tables).

    Attributes
    ----------
    n_baskets, n_items : int
    size_counts : pandas.Series
        Baskets per size (distinct items per basket), indexed by size.
    items : pandas.Index
        Item labels, sorted (as :class:`crmlib.baskets.Baskets` orders them).
    support_table : pandas.DataFrame
        ``item``, ``count``, ``support``; most frequent first (ties by label).
    level : str
    """

    n_baskets: int
    n_items: int
    size_counts: pd.Series
    items: pd.Index
    support_table: pd.DataFrame
    level: str = "product"

    def item_support(self) -> pd.DataFrame:
        """As :meth:`crmlib.baskets.Baskets.item_support`."""
        return self.support_table

    def mean_size(self) -> float:
        """Mean distinct items per basket."""
        return float((self.size_counts.index * self.size_counts).sum() / max(self.n_baskets, 1))

    def share_at_least(self, k: int) -> float:
        """Share of baskets with at least ``k`` items."""
        return float(self.size_counts[self.size_counts.index >= k].sum() / max(self.n_baskets, 1))


def basket_summary(baskets_df, *, level: str = "product") -> BasketSummary:
    """Counts, the size histogram and item supports of Spark baskets (two small aggregates).

    Raises
    ------
    EmptyDataError
        No basket.
    """
    from pyspark.sql import functions as F

    sizes = baskets_df.groupBy(F.size("items").alias("size")).count().toPandas()
    n = int(sizes["count"].sum())
    if n == 0:
        raise EmptyDataError("baskets.spark_report.basket_summary: no baskets; widen the window "
                             "or relax the filters.", table="fact_sales")
    counts = (baskets_df.select(F.explode("items").alias("item")).groupBy("item").count()
              .toPandas())
    counts["count"] = counts["count"].astype("int64")
    counts["support"] = counts["count"] / float(n)
    counts = counts.sort_values(["count", "item"], ascending=[False, True], kind="stable")
    size_counts = sizes.set_index("size")["count"].astype("int64").sort_index()
    return BasketSummary(n, len(counts), size_counts, pd.Index(sorted(counts["item"]), dtype=object),
                         counts.reset_index(drop=True), level)


# ---------------------------------------------------------------------- rule counts by group
def _rule_frame(spark, rules: pd.DataFrame):
    from pyspark.sql import types as T

    return spark.createDataFrame(
        [(i, sorted(map(str, a)), sorted(map(str, c))) for i, (a, c) in
         enumerate(zip(rules["antecedents"], rules["consequents"], strict=True))],
        T.StructType([T.StructField("rid", T.IntegerType()),
                      T.StructField("a", T.ArrayType(T.StringType())),
                      T.StructField("c", T.ArrayType(T.StringType()))]))


def _group_counts(baskets_df, rules: pd.DataFrame, group) -> pd.DataFrame:
    """Per rule and group: baskets holding A, C and both (one aggregation, rules broadcast)."""
    from pyspark.sql import functions as F

    rule_df = _rule_frame(baskets_df.sparkSession, rules)
    has_a = F.size(F.array_except("a", "items")) == 0
    has_c = F.size(F.array_except("c", "items")) == 0
    return (baskets_df.select("items", group.alias("g"))
            .crossJoin(F.broadcast(rule_df))
            .groupBy("rid", "g")
            .agg(F.sum(has_a.cast("long")).alias("ca"), F.sum(has_c.cast("long")).alias("cc"),
                 F.sum((has_a & has_c).cast("long")).alias("cac"))
            .toPandas())


def _check_by(baskets_df, by: str, where: str):
    present = [c for c in baskets_df.columns if c not in ("order_id", "items")]
    if by not in present:
        raise ParameterError(f"{where}: 'by' must be one of {present}; got {by!r}.", name="by")


def _head(rules, top_n, where):
    from .._validation import check_columns

    check_columns(rules, ("antecedents", "consequents"), where=where)
    if top_n is not None:
        check_interval(top_n, 1, None, name="top_n", where=where, integer=True, closed="left")
        rules = rules.head(top_n)
    return rules


def lift_by(baskets_df, rules: pd.DataFrame, by: str = "weekday", *,
            top_n: int | None = 10) -> pd.DataFrame:
    """:func:`crmlib.baskets.lift_by` on Spark baskets: support, confidence and lift of each rule
    within every group of baskets.

    Parameters
    ----------
    baskets_df : pyspark.sql.DataFrame
        :func:`report_baskets`' frame (``items`` and the ``by`` column).
    rules : pandas.DataFrame
        ``antecedents`` and ``consequents``.
    by : str, default='weekday'
    top_n : int or None, default=10

    Returns
    -------
    pandas.DataFrame
        :data:`crmlib.baskets.COMPARE_COLUMNS` with the group column ``by``, as the pandas function.
    """
    from pyspark.sql import functions as F

    where = "baskets.spark_report.lift_by"
    _check_by(baskets_df, by, where)
    rules = _head(rules, top_n, where)
    counts = _group_counts(baskets_df, rules, F.col(by))
    per = baskets_df.groupBy(F.col(by).alias("g")).count().toPandas()
    per = per[per["g"].notna()]
    labels = list(WEEKDAYS) if by == "weekday" else sorted(per["g"].tolist())
    n_per = per.set_index("g")["count"].reindex(labels, fill_value=0).to_numpy(dtype=np.int64)
    counts = counts[counts["g"].notna()].set_index(["rid", "g"])
    rows = []
    full = pd.MultiIndex.from_product([range(len(rules)), labels])
    counts = counts.reindex(full, fill_value=0)
    for i, (ante, cons) in enumerate(zip(rules["antecedents"], rules["consequents"], strict=True)):
        got = counts.loc[i]
        ca, cc, cac = (got[k].to_numpy(dtype=np.int64) for k in ("ca", "cc", "cac"))
        conf, lift = confidence_lift(cac, ca, cc, n_per)
        text = f"{items_text(ante)} -> {items_text(cons)}"
        for g, label in enumerate(labels):
            rows.append((text, ante, cons, label, n_per[g], cac[g],
                         cac[g] / n_per[g] if n_per[g] else np.nan, conf[g], lift[g]))
    cols = ["rule", "antecedents", "consequents", by, "n_baskets", "count", "support",
            "confidence", "lift"]
    out = pd.DataFrame(rows, columns=cols)
    out[by] = pd.Categorical(out[by], categories=labels, ordered=by == "weekday")
    return out.astype({"n_baskets": "int64", "count": "int64", "support": float,
                       "confidence": float, "lift": float})


def lift_contrast(baskets_df, rules: pd.DataFrame, by: str = "weekday", value="Fri", *,
                  top_n: int | None = 10) -> pd.DataFrame:
    """:func:`crmlib.baskets.lift_contrast` on Spark baskets: each rule's lift inside the group
    ``by == value`` against all other baskets.

    Returns
    -------
    pandas.DataFrame
        :data:`crmlib.baskets.CONTRAST_COLUMNS`, sorted by ``lift_ratio`` descending.

    Raises
    ------
    ParameterError
        ``by`` is not a column, or ``value`` matches no basket.
    """
    from pyspark.sql import functions as F

    where = "baskets.spark_report.lift_contrast"
    _check_by(baskets_df, by, where)
    wanted = list(value) if isinstance(value, (list, tuple, set)) else [value]
    if by == "weekday":
        wanted = [WEEKDAYS[v] if isinstance(v, (int, np.integer)) else str(v)[:3].title()
                  for v in wanted]
    per = baskets_df.groupBy(F.col(by).alias("g")).count().toPandas()
    per = per[per["g"].notna()]
    labels = list(WEEKDAYS) if by == "weekday" else sorted(per["g"].tolist())
    if not [lab for lab in labels if lab in wanted]:
        raise ParameterError(f"{where}: 'value' must be one of {labels}; got {value!r}.", name="value")
    inside = per["g"].isin(wanted)
    n_side = np.array([int(per.loc[inside, "count"].sum()), int(per.loc[~inside, "count"].sum())])
    rules = _head(rules, top_n, where)
    group = F.when(F.col(by).isNull(), F.lit(None)).otherwise(F.col(by).isin(wanted))
    counts = _group_counts(baskets_df, rules, group)
    counts = counts[counts["g"].notna()].set_index(["rid", "g"])
    counts = counts.reindex(pd.MultiIndex.from_product([range(len(rules)), [True, False]]),
                            fill_value=0)
    rows = []
    for i, (ante, cons) in enumerate(zip(rules["antecedents"], rules["consequents"], strict=True)):
        got = counts.loc[i]
        ca, cc, cac = (got[k].to_numpy(dtype=np.int64) for k in ("ca", "cc", "cac"))
        conf, lift = confidence_lift(cac, ca, cc, n_side)
        overall = (rules["lift"].iloc[i] if "lift" in rules
                   else confidence_lift(cac.sum(keepdims=True), ca.sum(keepdims=True),
                                        cc.sum(keepdims=True), n_side.sum(keepdims=True))[1][0])
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = lift[0] / lift[1]
        rows.append((f"{items_text(ante)} -> {items_text(cons)}", ante, cons, overall, lift[0],
                     lift[1], ratio, conf[0], conf[1], cac[0], cac[1], n_side[0], n_side[1]))
    out = pd.DataFrame(rows, columns=list(CONTRAST_COLUMNS))
    out = out.astype({c: "int64" for c in ("count_in", "count_out", "n_in", "n_out")})
    out = out.sort_values("lift_ratio", ascending=False, kind="stable", na_position="last")
    out.attrs.update(by=by, value=value)
    return out.reset_index(drop=True)


# ---------------------------------------------------------------------- cross-sell
_SCORES = ("lift", "confidence", "leverage", "conviction", "zhangs_metric")


def recommend(baskets_df, rules: pd.DataFrame, *, top_k: int = 3, score: str = "lift",
              min_lift: float = 1.0):
    """:func:`crmlib.baskets.recommend` on Spark: top-k suggestions per customer, as a Spark
    DataFrame (it is customer-size).

    A customer is eligible for a rule (one-item consequent, lift >= ``min_lift``) when over all
    their baskets they bought every antecedent item and not the consequent. Per customer and
    item the strongest rule (``score``, then confidence, then the rule's place in ``rules``) is
    the reason; the best ``top_k`` items (``score``, confidence, item label) are kept. Both
    choices are windows partitioned by customer.

    Returns
    -------
    pyspark.sql.DataFrame
        :data:`crmlib.baskets.RECOMMEND_COLUMNS` (``rank`` long, 1 = best); unsorted (sort a
        bounded head with ``orderBy("customer_id", "rank").limit(n)``).
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    where = "baskets.spark_report.recommend"
    check_interval(top_k, 1, None, name="top_k", where=where, integer=True, closed="left")
    check_one_of(score, _SCORES, name="score", where=where)
    check_interval(min_lift, 0, None, name="min_lift", where=where, closed="left")
    spark = baskets_df.sparkSession
    schema = T.StructType([T.StructField("customer_id", T.LongType()),
                           T.StructField("rank", T.LongType()),
                           T.StructField("item", T.StringType()),
                           T.StructField("lift", T.DoubleType()),
                           T.StructField("confidence", T.DoubleType()),
                           T.StructField("because", T.StringType()),
                           T.StructField("reason", T.StringType())])
    use = rules[(rules["consequents"].map(len) == 1) & (rules["lift"] >= min_lift)] if len(rules) else rules
    if not len(use):
        return spark.createDataFrame([], schema)
    rows = []
    for rid, (a, c, sc, conf, lift) in enumerate(zip(use["antecedents"], use["consequents"],
                                                     use[score], use["confidence"], use["lift"],
                                                     strict=True)):
        item = str(next(iter(c)))
        because = items_text(a)
        rows.append((rid, sorted(map(str, a)), item, float(sc), float(conf), float(lift), because,
                     f"bought {because}: {rule_text(a, item, float(lift), sep=', ')}"))
    rule_df = spark.createDataFrame(rows, "rid int, a array<string>, item string, sc double, "
                                          "confidence double, lift double, because string, reason string")
    history = (baskets_df.where(F.col("customer_id").isNotNull())
               .select("customer_id", F.explode("items").alias("bought")).distinct())
    ante = rule_df.select("rid", F.size("a").alias("need"), F.explode("a").alias("bought"))
    eligible = (history.join(F.broadcast(ante), "bought")
                .groupBy("customer_id", "rid", "need").count()
                .where(F.col("count") == F.col("need")).select("customer_id", "rid")
                .join(F.broadcast(rule_df), "rid")
                .join(history.withColumnRenamed("bought", "item"), ["customer_id", "item"], "left_anti"))
    best = Window.partitionBy("customer_id", "item").orderBy(F.desc("sc"), F.desc("confidence"), "rid")
    top = Window.partitionBy("customer_id").orderBy(F.desc("sc"), F.desc("confidence"), "item")
    return (eligible.withColumn("_first", F.row_number().over(best)).where("_first = 1")
            .withColumn("rank", F.row_number().over(top).cast("long")).where(F.col("rank") <= top_k)
            .select(F.col("customer_id").cast("long"), "rank", "item", "lift", "confidence",
                    "because", "reason"))


def recommend_to_pandas(suggestions) -> pd.DataFrame:
    """A (bounded) Spark suggestions frame as :func:`crmlib.baskets.recommend` returns it."""
    frame = suggestions.toPandas()
    frame = frame.sort_values(["customer_id", "rank"], kind="stable").reset_index(drop=True)
    return frame.astype({"rank": "int64"})[list(RECOMMEND_COLUMNS)]


# ---------------------------------------------------------------------- rules about chosen items
def rules_about(baskets_df, targets, *, items, side: str = "consequent",
                products: pd.DataFrame | None = None, min_support: float = 0.01,
                min_confidence: float = 0.0, min_lift: float | None = None,
                max_len: int | None = None, max_rules: int | None = 100_000,
                sort_by: str = "lift", correction: str | None = "fdr_bh",
                max_consequent_len: int | None = None) -> pd.DataFrame:
    """:func:`crmlib.baskets.rules_about` on Spark: rules whose consequent (or antecedent) is made
    of chosen items. Every rule is mined on Spark and only those about the targets come back;
    the correction is taken over them, as the pandas function does.

    Parameters
    ----------
    baskets_df : pyspark.sql.DataFrame
    targets : item label, category name, or a list of them
    items : sequence
        The baskets' item labels (:attr:`BasketSummary.items`), to resolve ``targets``.
    side, products, min_support, min_confidence, min_lift, max_len, max_rules, sort_by, correction, max_consequent_len
        As :func:`crmlib.baskets.rules_about`.

    Returns
    -------
    pandas.DataFrame
        The rules table; ``attrs`` add ``targets``, ``side``, ``n_rules_total``.
    """
    from pyspark.sql import functions as F

    where = "baskets.spark_report.rules_about"
    check_one_of(side, SIDES, name="side", where=where)
    labels = target_items(SimpleNamespace(items=pd.Index(items)), targets, products=products)
    sets, n = rules_spark.frequent_itemsets(baskets_df, min_support=min_support, max_len=max_len)
    try:
        rules = rules_spark.association_rules(sets, n, min_confidence=min_confidence,
                                              min_lift=min_lift, correction=None,
                                              sort_by=sort_by, max_consequent_len=max_consequent_len)
        column = "consequents" if side == "consequent" else "antecedents"
        chosen = F.array(*[F.lit(str(t)) for t in labels])
        rules = rules.where(F.size(F.array_except(column, chosen)) == 0)
        out = rules_spark.to_pandas(rules)
    finally:
        sets.unpersist()
    out["p_adjusted"] = adjust_pvalues(out["p_value"].to_numpy(), correction)
    ascending = sort_by in ("p_value", "p_adjusted")
    out = out.sort_values(sort_by, ascending=ascending, kind="stable").reset_index(drop=True)
    n_total = len(out)
    if max_rules is not None and n_total > max_rules:
        out = out.head(max_rules)
    out.attrs.update(n_rules_total=n_total, n_rules_cut=n_total - len(out), correction=correction,
                     max_rules=max_rules, targets=labels, side=side, min_support=min_support,
                     min_confidence=min_confidence, engine="spark")
    return out


# ---------------------------------------------------------------------- holdout
def split_at(baskets_df, at):
    """:func:`crmlib.baskets.split_at` on Spark: (earlier, later, cut) around ``at`` (a date, or
    an int of months counted back from the last basket's month start).

    Raises
    ------
    ParameterError
        ``at`` <= 0 months, or a split that leaves one side empty.
    """
    from pyspark.sql import functions as F

    where = "baskets.spark_report.split_at"
    span = baskets_df.agg(F.min("ordered_at").alias("lo"), F.max("ordered_at").alias("hi")).first()
    lo, hi = pd.Timestamp(span["lo"]), pd.Timestamp(span["hi"])
    if isinstance(at, (int, np.integer)) and not isinstance(at, bool):
        if at <= 0:
            raise ParameterError(f"{where}: 'at' in months must be > 0; got {at}.", name="at")
        at = (hi.to_period("M") - int(at) + 1).to_timestamp()
    cut = pd.Timestamp(at)
    if not (lo < cut <= hi):
        raise ParameterError(f"{where}: splitting at {cut.date()} leaves one side empty (orders "
                             f"run {lo.date()} to {hi.date()}).", name="at")
    when = F.lit(cut.to_pydatetime())
    return (baskets_df.where(F.col("ordered_at") < when),
            baskets_df.where(F.col("ordered_at") >= when), cut)


def count_itemsets(baskets_df, itemsets) -> np.ndarray:
    """Baskets holding every item of each itemset, counted on Spark (one aggregation with the
    itemsets broadcast); :func:`crmlib.baskets.count_itemsets`' result."""
    from pyspark.sql import functions as F

    sets = [sorted(map(str, s)) for s in itemsets]
    if not sets:
        return np.zeros(0, dtype=np.int64)
    spark = baskets_df.sparkSession
    sdf = spark.createDataFrame(list(enumerate(sets)), "sid int, s array<string>")
    got = (baskets_df.select("items").crossJoin(F.broadcast(sdf))
           .where(F.size(F.array_except("s", "items")) == 0)
           .groupBy("sid").count().toPandas())
    out = np.zeros(len(sets), dtype=np.int64)
    out[got["sid"].to_numpy(dtype=np.int64)] = got["count"].to_numpy(dtype=np.int64)
    return out


def holdout_check(rules: pd.DataFrame, later_df, *, min_confidence: float | None = None,
                  min_support: float | None = None) -> pd.DataFrame:
    """:func:`crmlib.baskets.holdout_check` with the later baskets on Spark: each rule's sides
    recounted there by Spark aggregates, the measures by the pandas function's formulas.

    Raises
    ------
    ParameterError
        The later period has no basket.
    """
    n = later_df.count()
    if n == 0:
        raise ParameterError("baskets.spark_report.holdout_check: the holdout period has no "
                             "baskets.", name="later")
    ante, cons = list(rules["antecedents"]), list(rules["consequents"])
    both = [a | c for a, c in zip(ante, cons, strict=True)]
    distinct = pd.unique(pd.Series(ante + cons + both, dtype=object))
    counts = pd.Series(count_itemsets(later_df, distinct), index=pd.Index(distinct, dtype=object))
    return holdout_from_counts(rules, counts, int(n), min_confidence=min_confidence,
                               min_support=min_support)


# ---------------------------------------------------------------------- next purchases
def next_purchase_rules(baskets_df, *, within_days: int = 60, min_support: float = 0.001,
                        min_confidence: float = 0.0, until=None) -> pd.DataFrame:
    """:func:`crmlib.baskets.next_purchase_rules` on Spark: "bought X, then Y within N days".

    Purchase events ``(customer, second, item)`` come from the baskets. Each customer's anchor
    for X (first purchase of X, with a full window before the data end) is joined to the same
    customer's events in ``(t, t + N days]`` (a self-join on ``customer_id``, so the shuffle is
    partitioned by customer and bounded by the window). The base rate counts, among customers
    with a full window after their first order who never bought X, those buying Y in that
    window. ``median_lag_days`` is Spark's exact ``percentile(lag, 0.5)`` per rule (the mean of
    the two middle lags for an even count, as numpy's median). Only the rules table (one row
    per (X, Y) with a hit) comes to pandas.

    Returns
    -------
    pandas.DataFrame
        :data:`crmlib.baskets.SEQUENCE_COLUMNS`, by lift descending (infinite lifts last), ties
        by hits, then antecedent and consequent labels; ``attrs``: ``customers``,
        ``within_days``, ``until``.
    """
    from pyspark.sql import functions as F

    where = "baskets.spark_report.next_purchase_rules"
    check_interval(within_days, 1, None, name="within_days", where=where, closed="left", integer=True)
    check_interval(min_support, 0, 1, name="min_support", where=where)
    check_interval(min_confidence, 0, 1, name="min_confidence", where=where)
    window = int(within_days) * _DAY_S
    ev = (baskets_df.where(F.col("customer_id").isNotNull())
          .select("customer_id", F.expr("unix_seconds(cast(ordered_at AS timestamp))").alias("t"),
                  F.explode("items").alias("item"))
          .distinct().cache())
    try:
        stats = ev.agg(F.countDistinct("customer_id").alias("n"), F.max("t").alias("end")).first()
        n_customers = int(stats["n"] or 0)
        end_s = (int(as_timestamp(until, name="until", where=where).timestamp())
                 if until is not None else int(stats["end"] or 0))
        firsts = ev.groupBy("customer_id", "item").agg(F.min("t").alias("t0"))
        anchors = firsts.where(F.col("t0") + window <= end_s).select(
            "customer_id", F.col("item").alias("x"), F.col("t0").alias("ta"))
        anchored = anchors.groupBy("x").agg(F.count("*").alias("anchored"))
        later = ev.select("customer_id", F.col("t").alias("ty"), F.col("item").alias("y"))
        in_window = ((F.col("ty") > F.col("ta")) & (F.col("ty") <= F.col("ta") + window))
        hits = (anchors.join(later, "customer_id").where(in_window & (F.col("x") != F.col("y")))
                .groupBy("customer_id", "x", "y").agg((F.min("ty") - F.first("ta")).alias("lag")))
        pairs = hits.groupBy("x", "y").agg(
            F.count("*").alias("hits"),
            F.expr("percentile(lag, 0.5)").alias("median_lag_s"))
        # base rate: customers with a full window after their first order who never bought X
        first_order = (ev.groupBy("customer_id").agg(F.min("t").alias("tf"))
                       .where(F.col("tf") + window <= end_s))
        n_eligible = first_order.count()
        base_hits = (first_order.join(later, "customer_id")
                     .where((F.col("ty") > F.col("tf")) & (F.col("ty") <= F.col("tf") + window))
                     .select("customer_id", "y").distinct())
        all_hits = base_hits.groupBy("y").agg(F.count("*").alias("all_hits"))
        ever = firsts.select("customer_id", F.col("item").alias("x"))
        x_buyers = ever.join(first_order.select("customer_id"), "customer_id").groupBy("x").agg(
            F.count("*").alias("x_buyers"))
        x_and_hit = base_hits.join(ever, "customer_id").groupBy("x", "y").agg(
            F.count("*").alias("x_hits"))
        table = (pairs.join(anchored, "x").join(all_hits, "y", "left")
                 .join(x_buyers, "x", "left").join(x_and_hit, ["x", "y"], "left")
                 .toPandas())
    finally:
        ev.unpersist()
    for c in ("all_hits", "x_buyers", "x_hits"):
        table[c] = table[c].fillna(0).astype("int64")
    num = (table["all_hits"] - table["x_hits"]).to_numpy(dtype=float)
    den = (n_eligible - table["x_buyers"]).to_numpy(dtype=float)
    hits = table["hits"].to_numpy(dtype=np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        base = num / den
        confidence = hits / table["anchored"].to_numpy(dtype=float)
        lift = confidence / base
    out = pd.DataFrame({
        "antecedent": table["x"].astype(object), "consequent": table["y"].astype(object),
        "within_days": int(within_days), "customers": n_customers,
        "anchored": table["anchored"].to_numpy(dtype=np.int64), "hits": hits,
        "support": hits / max(n_customers, 1), "confidence": confidence, "base_rate": base,
        "lift": lift, "median_lag_days": table["median_lag_s"].to_numpy(dtype=float) / _DAY_S,
    }, columns=list(SEQUENCE_COLUMNS))
    out = out[(out["support"] >= min_support) & (out["confidence"] >= min_confidence)]
    out = out.sort_values(["antecedent", "consequent"], kind="stable")
    rank = out["lift"].where(np.isfinite(out["lift"]), -1.0)
    out = out.assign(_rank=rank).sort_values(["_rank", "hits"], ascending=False, kind="stable")
    out = out.drop(columns="_rank").reset_index(drop=True)
    out.attrs.update(customers=n_customers, within_days=int(within_days),
                     until=pd.Timestamp(end_s, unit="s"))
    return out
