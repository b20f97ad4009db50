"""One function per analysis that runs on the opened engine and returns the same pandas table.

On pandas they call crmlib.baskets / crmlib.segments / crmlib.credit / crmlib.cube; on Spark, the
Spark version beside each (``crmlib.baskets.spark``, ``crmlib.segments.spark_rfm``,
``crmlib.credit.spark``, ``crmlib.cube.spark``) on the Parquet mart. This module only chooses;
it computes nothing itself. Only the small result comes back (``toPandas``): the rules
table, the RFM scores or the payment-behaviour features (one row per customer), a roll-up. Column names, dtypes and row order are the same, so the
notebook's tables and plots do not know which engine ran.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._validation import check_one_of
from ..errors import ParameterError
from . import Engine

__all__ = ["aggregate", "basket_summary", "count_customers", "credit_features", "cross_sell",
           "cross_sell_list", "holdout_check", "lift_by", "lift_contrast", "mine_rules",
           "next_purchase_rules", "report_baskets", "rfm_scores", "rules_about", "with_names"]

# ---------------------------------------------------------------------- association rules
def _canonical_order(rules: pd.DataFrame, sort_by: str) -> pd.DataFrame:
    """Best first by ``sort_by``, ties by the rule's text, so both engines list rules alike
    (A -> B and B -> A always share their lift; each engine breaks such ties its own way)."""
    if rules.empty:
        return rules
    key = rules[sort_by].to_numpy(dtype=float)
    key = key if sort_by in ("p_value", "p_adjusted") else -key
    text_a = rules["antecedents"].map(lambda s: ", ".join(sorted(map(str, s)))).to_numpy()
    text_c = rules["consequents"].map(lambda s: ", ".join(sorted(map(str, s)))).to_numpy()
    order = np.lexsort((text_c, text_a, np.where(np.isnan(key), np.inf, key)))
    out = rules.iloc[order].reset_index(drop=True)
    out.attrs = dict(rules.attrs)
    return out


def mine_rules(eng: Engine, baskets=None, *, min_support: float = 0.01, min_confidence: float = 0.0,
               min_lift: float | None = None, max_len: int | None = None,
               max_rules: int | None = 100_000, sort_by: str = "lift",
               correction: str | None = "fdr_bh", level: str = "product", since=None, until=None,
               filters=None, max_consequent_len: int | None = None) -> pd.DataFrame:
    """Association rules on the engine: :func:`crmlib.baskets.mine_rules`'s table either way.

    Parameters
    ----------
    eng : Engine
    baskets : crmlib.baskets.Baskets or pyspark.sql.DataFrame, optional
        The pandas baskets (needed on pandas); on Spark, baskets with an ``items`` column
        (:func:`report_baskets`) to mine, else built from the mart with ``level``, ``since``,
        ``until`` and ``filters``.
    min_support, min_confidence, min_lift, max_len, max_rules, sort_by, correction
        As :func:`crmlib.baskets.mine_rules`.
    max_consequent_len : int, optional
        As :func:`crmlib.baskets.mine_rules` (1: one-item consequents, as arules).
    level : {'product', 'subcategory', 'category'}, default='product'
    since, until : date-like, optional
        Orders with ``since <= ordered_at < until`` (Spark; the pandas baskets are windowed already).
    filters : mapping, optional
        Spark takes a ``weekday`` filter (0-6 or day names); other keys raise ParameterError.

    Returns
    -------
    pandas.DataFrame
        :data:`crmlib.baskets.RULE_COLUMNS`, best first by ``sort_by`` (ties by the rule's text);
        ``attrs`` hold ``n_itemsets``, ``engine`` and, when empty, ``empty_reason``.

    Raises
    ------
    ParameterError
        No ``baskets`` on pandas, or a filter Spark does not take.
    """
    from .. import baskets as bk

    if not eng.is_spark:
        if baskets is None:
            raise ParameterError("engines.mine_rules: the pandas engine needs `baskets`.", name="baskets")
        rules = bk.mine_rules(baskets, min_support=min_support, min_confidence=min_confidence,
                              min_lift=min_lift, max_len=max_len, max_rules=max_rules,
                              sort_by=sort_by, correction=correction,
                              max_consequent_len=max_consequent_len)
        return _canonical_order(rules, sort_by)

    from ..baskets import spark as baskets_spark

    rules = baskets_spark.rules_from_mart(
        eng.session, eng.mart, min_support=min_support, min_confidence=min_confidence,
        min_lift=min_lift, max_len=max_len, max_rules=max_rules, sort_by=sort_by,
        correction=correction, level=level, since=since, until=until, filters=filters,
        max_consequent_len=max_consequent_len, baskets_df=baskets)
    return _canonical_order(rules, sort_by)


# ---------------------------------------------------------------------- RFM
def rfm_scores(eng: Engine, transactions: pd.DataFrame | None = None, *, as_of=None,
               customers: pd.DataFrame | None = None, segment_map="rfm") -> pd.DataFrame:
    """RFM table, scores and segments on the engine (crmlib.segments' definitions).

    Parameters
    ----------
    eng : Engine
    transactions : pandas.DataFrame, optional
        :func:`crmlib.segments.order_values` (needed on pandas; Spark reads the mart).
    as_of : date-like, optional
        Reference day; default the day of the last order.
    customers : pandas.DataFrame, optional
        ``customer_id``: customers without a purchase are kept, with segment 'No Purchase'.
    segment_map : {'rfm', 'rf'} or 5 x 5 grid, default='rfm'

    Returns
    -------
    pandas.DataFrame
        :func:`crmlib.segments.rfm_scores`' columns, one row per customer, by ``customer_id``.
    """
    from .. import segments as seg

    if not eng.is_spark:
        if transactions is None:
            raise ParameterError("engines.rfm_scores: the pandas engine needs `transactions`.",
                                 name="transactions")
        return seg.rfm_scores(seg.rfm_table(transactions, as_of=as_of, customers=customers),
                              segment_map=segment_map)

    from ..segments import spark_rfm

    return spark_rfm.rfm_scores_from_mart(eng.session, eng.mart, as_of=as_of, customers=customers,
                                          segment_map=segment_map)


# ---------------------------------------------------------------------- payment behaviour
def credit_features(eng: Engine, invoices: pd.DataFrame | None = None, payments: pd.DataFrame | None = None,
                    customers: pd.DataFrame | None = None, *, cutoff, default_days: int = 90,
                    purchases: bool = True, orders: pd.DataFrame | None = None,
                    order_lines: pd.DataFrame | None = None,
                    channels: pd.DataFrame | None = None) -> pd.DataFrame:
    """Customer features as of ``cutoff`` on the engine: crmlib.credit.features.customer_features' frame.

    Parameters
    ----------
    eng : Engine
    invoices, payments, customers : pandas.DataFrame, optional
        The canonical tables (needed on pandas; Spark reads ``fact_invoices``, ``fact_payments``
        and ``dim_customer`` from the mart).
    cutoff : str or datetime-like
        The moment the features describe; nothing at or after it is used.
    default_days : int, default=90
        Days past due after which an unpaid invoice counts as a default.
    purchases : bool, default=True
        Add the purchase-behaviour columns (``orders``, ``discount_share``, ``order_channel``):
        on pandas from ``orders``, ``order_lines`` and ``channels``, on Spark from the mart's
        ``fact_sales`` and ``dim_channel``.
    orders, order_lines, channels : pandas.DataFrame, optional
        Needed on pandas when ``purchases``; ignored on Spark.

    Returns
    -------
    pandas.DataFrame
        :func:`crmlib.credit.features.customer_features`' columns and dtypes (categories
        included), one row per customer created before ``cutoff``, sorted by ``customer_id``.

    Raises
    ------
    ParameterError
        A table the pandas engine needs is missing, or a bad ``cutoff`` / ``default_days``.
    DataContractError
        A table or column is missing (in the frames, or in the mart on Spark).

    Examples
    --------
    >>> X = credit_features(open_engine("pandas"), inv, pay, cus, cutoff="2025-03-01",
    ...                     purchases=False)                          # doctest: +SKIP
    """
    from ..credit import features as cf

    where = "engines.credit_features"
    if not eng.is_spark:
        needed = {"invoices": invoices, "payments": payments, "customers": customers,
                  **({"orders": orders, "order_lines": order_lines, "channels": channels} if purchases else {})}
        missing = [name for name, frame in needed.items() if frame is None]
        if missing:
            raise ParameterError(f"{where}: the pandas engine needs {missing}"
                                 + (" (or purchases=False)." if purchases else "."), name=missing[0])
        extra = {"orders": orders, "order_lines": order_lines, "channels": channels} if purchases else {}
        return cf.customer_features(invoices, payments, customers, cutoff=cutoff,
                                    default_days=default_days, **extra)

    from ..credit import spark as credit_spark

    return credit_spark.features_from_mart(eng.session, eng.mart, cutoff=cutoff,
                                           default_days=default_days, purchases=purchases)


# ---------------------------------------------------------------------- sales cube
def aggregate(eng: Engine, view, by, *, measures, slices=None) -> pd.DataFrame:
    """Measures of the sales cube by date levels (``month``, ``quarter``, ``year``) on the engine.

    Parameters
    ----------
    eng : Engine
    view : crmlib.cube.Star
        The (diced) star; on Spark only its kept order ``statuses`` are used.
    by : list of {'month', 'quarter', 'year'}
    measures : list of str
        Names from crmlib.cube (revenue, gross, cost, margin, quantity, lines, orders, customers).
    slices : dict, optional
        ``{level: value}`` the view was diced by (rep_region, rep, channel_kind, channel); Spark
        applies them to the mart.

    Returns
    -------
    pandas.DataFrame
        :func:`crmlib.cube.aggregate`'s frame: Period columns, then the measures (float64
        money, int64 counts), sorted by the periods.
    """
    from .. import cube
    from ..cube import spark as cube_spark

    for level in by:
        check_one_of(level, ("year", "quarter", "month"), name="by", where="engines.aggregate")
    for m in measures:
        check_one_of(m, cube_spark.MEASURES, name="measures", where="engines.aggregate")
    if not eng.is_spark:
        return cube.aggregate(view, list(by), measures=list(measures))
    return cube_spark.aggregate(eng.session, eng.mart, list(by), measures=list(measures),
                                statuses=view.statuses, slices=slices)


# ---------------------------------------------------------------------- association rules report
def report_baskets(eng: Engine, crm=None, *, level: str = "product", since=None, until=None,
                   filters=None):
    """The report's baskets: :func:`crmlib.baskets.make_baskets` from ``crm`` on pandas, a cached
    Spark DataFrame (:func:`crmlib.baskets.spark_report.report_baskets`) from the mart on Spark.

    Raises
    ------
    ParameterError
        No ``crm`` on pandas; on Spark a ``segment`` filter.
    """
    from .. import baskets as bk

    if not eng.is_spark:
        if crm is None:
            raise ParameterError("engines.report_baskets: the pandas engine needs `crm`.", name="crm")
        orders = crm.orders(["order_id", "customer_id", "channel_id", "ordered_at"], since=since,
                            until=until, allow_empty=False)
        lines = crm.order_lines(["order_id", "product_id"], since=since, until=until)
        return bk.make_baskets(lines, orders=orders,
                               products=crm.products(["product_id", "name", "category", "subcategory"]),
                               customers=crm.customers(["customer_id", "region"]),
                               channels=crm.channels(["channel_id", "name", "kind"]),
                               level=level, filters=filters)
    from ..baskets import spark_report

    return spark_report.report_baskets(eng.session, eng.mart, level=level, since=since,
                                       until=until, filters=filters).cache()


def basket_summary(eng: Engine, baskets, *, level: str = "product"):
    """Counts, size histogram and item supports of the report's baskets (small, either engine).

    Returns
    -------
    crmlib.baskets.spark_report.BasketSummary
    """
    from ..baskets import spark_report

    if not eng.is_spark:
        sizes = baskets.sizes().value_counts().sort_index()
        return spark_report.BasketSummary(baskets.n_baskets, baskets.n_items, sizes.astype("int64"),
                                          baskets.items, baskets.item_support(), baskets.level)
    return spark_report.basket_summary(baskets, level=level)


def lift_by(eng: Engine, baskets, rules: pd.DataFrame, by: str = "weekday", *,
            top_n: int | None = 10) -> pd.DataFrame:
    """:func:`crmlib.baskets.lift_by` on the engine (same table)."""
    from .. import baskets as bk

    if not eng.is_spark:
        return bk.lift_by(baskets, rules, by, top_n=top_n)
    from ..baskets import spark_report

    return spark_report.lift_by(baskets, rules, by, top_n=top_n)


def lift_contrast(eng: Engine, baskets, rules: pd.DataFrame, by: str = "weekday", value="Fri", *,
                  top_n: int | None = 10) -> pd.DataFrame:
    """:func:`crmlib.baskets.lift_contrast` on the engine (same table, same ParameterError)."""
    from .. import baskets as bk

    if not eng.is_spark:
        return bk.lift_contrast(baskets, rules, by, value, top_n=top_n)
    from ..baskets import spark_report

    return spark_report.lift_contrast(baskets, rules, by, value, top_n=top_n)


def cross_sell(eng: Engine, baskets, rules: pd.DataFrame, *, top_k: int = 3):
    """Per-customer suggestions: :func:`crmlib.baskets.recommend`'s frame on pandas, the same
    columns as a Spark DataFrame on Spark (it is customer-size; publish it, show a head)."""
    from .. import baskets as bk

    if not eng.is_spark:
        return bk.recommend(baskets, rules, top_k=top_k) if len(rules) else pd.DataFrame()
    from ..baskets import spark_report

    return spark_report.recommend(baskets, rules, top_k=top_k)


def count_customers(eng: Engine, frame) -> int:
    """Distinct ``customer_id`` of a per-customer result (pandas or Spark)."""
    if not eng.is_spark:
        return int(frame["customer_id"].nunique()) if len(frame) else 0
    from pyspark.sql import functions as F

    return int(frame.agg(F.countDistinct("customer_id")).first()[0])


def with_names(eng: Engine, frame, crm=None, *, head: int | None = None):
    """``frame`` (per customer) with ``first_name`` / ``last_name``; on Spark only the first
    ``head`` rows by (customer_id, rank) (a bounded top-N) are named and brought to pandas, or,
    with ``head=None``, a Spark DataFrame joined on Spark (for a published list)."""
    cols = ["customer_id", "first_name", "last_name"]
    if not eng.is_spark:
        out = frame.merge(crm.customers(cols), on="customer_id", how="left")
        return out if head is None else out.head(head)
    names = eng.table("dim_customer").select(*cols)
    if head is None:
        return frame.join(names, "customer_id", "left")
    top = frame.orderBy("customer_id", "rank").limit(int(head))
    return (top.join(names, "customer_id", "left").toPandas()
            .sort_values(["customer_id", "rank"], kind="stable").reset_index(drop=True))


def cross_sell_list(eng: Engine, suggestions, crm=None, *, names: bool = True):
    """The cross-sell list file's rows (``customer_id, rank, product, rule, lift, confidence,
    reason`` and, with ``names``, the customer's names): pandas, or a Spark DataFrame."""
    cols = ["customer_id", "rank", "product", "rule", "lift", "confidence", "reason"]
    if not eng.is_spark:
        out = pd.DataFrame(columns=cols)
        if len(suggestions):
            out = suggestions.assign(product=suggestions["item"].astype(str),
                                     rule=suggestions["because"].astype(str) + " -> "
                                     + suggestions["item"].astype(str))[cols]
        return with_names(eng, out, crm) if names and len(out) else out
    from pyspark.sql import functions as F

    out = (suggestions.withColumn("product", F.col("item"))
           .withColumn("rule", F.concat_ws(" -> ", "because", "item")).select(*cols))
    return with_names(eng, out) if names else out


def rules_about(eng: Engine, baskets, targets, *, items=None, **kwargs) -> pd.DataFrame:
    """:func:`crmlib.baskets.rules_about` on the engine; Spark needs the item labels ``items``."""
    from .. import baskets as bk

    if not eng.is_spark:
        return bk.rules_about(baskets, targets, **kwargs)
    from ..baskets import spark_report

    return spark_report.rules_about(baskets, targets, items=items, **kwargs)


def holdout_check(eng: Engine, baskets, months: int, *, min_support: float, min_confidence: float,
                  min_lift: float | None = None, max_len: int | None = None) -> pd.DataFrame:
    """Rules mined before the last ``months`` months, recounted on those months
    (:func:`crmlib.baskets.split_at`, :func:`crmlib.baskets.mine_rules`,
    :func:`crmlib.baskets.holdout_check`, or their Spark twins)."""
    import warnings

    from .. import baskets as bk

    if not eng.is_spark:
        earlier, later = bk.split_at(baskets, months)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mined = bk.mine_rules(earlier, min_support=min_support, min_confidence=min_confidence,
                                  min_lift=min_lift, max_len=max_len)
        return bk.holdout_check(mined, later)
    from ..baskets import spark as baskets_spark
    from ..baskets import spark_report

    earlier, later, _ = spark_report.split_at(baskets, months)
    rules, sets, _ = baskets_spark.mine_rules(earlier, min_support=min_support,
                                              min_confidence=min_confidence, min_lift=min_lift,
                                              max_len=max_len, max_rules=100_000)
    mined = _canonical_order(baskets_spark.to_pandas(rules), "lift")
    sets.unpersist()
    mined.attrs.update(min_support=min_support, min_confidence=min_confidence)
    return spark_report.holdout_check(mined, later)


def next_purchase_rules(eng: Engine, baskets, *, within_days: int = 60,
                        min_support: float = 0.001, min_confidence: float = 0.0) -> pd.DataFrame:
    """:func:`crmlib.baskets.next_purchase_rules` on the engine (same table)."""
    from .. import baskets as bk

    if not eng.is_spark:
        return bk.next_purchase_rules(baskets, within_days=within_days, min_support=min_support,
                                      min_confidence=min_confidence)
    from ..baskets import spark_report

    return spark_report.next_purchase_rules(baskets, within_days=within_days,
                                             min_support=min_support, min_confidence=min_confidence)
