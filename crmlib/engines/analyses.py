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

__all__ = ["acquisition_costs", "aggregate", "cluster_customers", "credit_features", "customer_features",
           "customer_margin", "data_gaps", "mine_rules", "pareto_curve", "pricing", "profit_tiers", "rfm_scores",
           "tier_summary"]

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
    baskets : crmlib.baskets.Baskets, optional
        The pandas baskets (needed on pandas; ignored on Spark, which builds its own from the mart
        with ``level``, ``since``, ``until`` and ``filters``).
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
        max_consequent_len=max_consequent_len)
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


# ---------------------------------------------------------------------- segmentation: clusters, profit, acquisition, pricing
# On Spark the per-customer tables (features, cluster labels, margins, tiers) stay Spark
# DataFrames; everything else comes back as the pandas function's small table.
def customer_features(eng: Engine, orders=None, order_lines=None, products=None, *, as_of=None, customers=None,
                      channels=None, service_tickets=None, interactions=None):
    """:func:`crmlib.segments.customer_features` on the engine.

    Parameters
    ----------
    eng : Engine
    orders, order_lines, products, customers, channels, service_tickets, interactions : pandas.DataFrame, optional
        The pandas function's inputs (needed on pandas). Spark reads the mart and builds every
        optional part the frames would add (category and channel-kind mixes, tenure from
        account creation, tickets, complaints).
    as_of : date-like, optional

    Returns
    -------
    pandas.DataFrame or pyspark.sql.DataFrame
        The pandas table (indexed by ``customer_id``); on Spark the same columns with
        ``customer_id`` as a column, one row per buyer, lazy (see
        :func:`crmlib.segments.spark_features.customer_features`).
    """
    from .. import segments as seg

    if not eng.is_spark:
        if orders is None or order_lines is None:
            raise ParameterError("engines.customer_features: the pandas engine needs `orders` and `order_lines`.",
                                 name="orders")
        return seg.customer_features(orders, order_lines, products, as_of=as_of, customers=customers,
                                     channels=channels, service_tickets=service_tickets, interactions=interactions)
    from ..segments import spark_features

    return spark_features.customer_features(eng.session, eng.mart, as_of=as_of)


def cluster_customers(eng: Engine, clusters, features, *, max_rows: int | None = None, seed: int = 0):
    """Fit ``clusters`` and label every customer: in memory on pandas; on Spark fitted on a bounded sample.

    Parameters
    ----------
    eng : Engine
    clusters : crmlib.segments.CustomerClusters
        Unfitted; fitted here (its ``columns`` choose the features).
    features : pandas.DataFrame or pyspark.sql.DataFrame
        :func:`customer_features`' table on the engine.
    max_rows : int, optional
        Spark: the fit sample's bound (:func:`crmlib.engines.bounded_sample`, default
        :data:`crmlib.engines.FIT_SAMPLE_ROWS`); with no more customers the sample is all of them
        and the fit, k, profiles and labels equal the pandas run's.
    seed : int, default=0

    Returns
    -------
    (pandas.Series or pyspark.sql.DataFrame, pandas.DataFrame)
        The labels (pandas: a Series ``cluster`` indexed by ``customer_id``; Spark: ``customer_id,
        cluster`` for every customer, assigned on Spark by
        :func:`crmlib.segments.spark_clustering.assign`), and the rows the model was fitted on
        (for plots; ``attrs`` population / sampled / fraction on Spark).
    """
    from . import FIT_SAMPLE_ROWS, bounded_sample

    if not eng.is_spark:
        clusters.fit(features)
        return pd.Series(clusters.labels_, index=features.index, name="cluster"), features
    from ..segments import spark_clustering

    cols = list(clusters.columns) if clusters.columns is not None else [c for c in features.columns
                                                                         if c != "customer_id"]
    sample = bounded_sample(features.select("customer_id", *cols),
                            FIT_SAMPLE_ROWS if max_rows is None else max_rows, key="customer_id", seed=seed)
    attrs = dict(sample.attrs)
    sample = sample.set_index("customer_id").astype(float)
    sample.attrs.update(attrs)
    clusters.fit(sample)
    return spark_clustering.assign(features, clusters), sample


def customer_margin(eng: Engine, orders=None, order_lines=None, products=None, *, as_of=None):
    """:func:`crmlib.segments.customer_margin` on the engine (on Spark a cached Spark DataFrame).

    Parameters
    ----------
    eng : Engine
    orders, order_lines, products : pandas.DataFrame, optional
        Needed on pandas; Spark reads ``fact_orders`` and ``fact_sales``.
    as_of : date-like, optional
    """
    from .. import segments as seg

    if not eng.is_spark:
        if orders is None or order_lines is None or products is None:
            raise ParameterError("engines.customer_margin: the pandas engine needs `orders`, `order_lines` "
                                 "and `products`.", name="orders")
        return seg.customer_margin(orders, order_lines, products, as_of=as_of)
    from ..segments import spark_profit

    # cached: the tiers and the Pareto curve read it in a few passes each
    return spark_profit.customer_margin(eng.session, eng.mart, as_of=as_of).cache()


def profit_tiers(eng: Engine, margin, *, high=0.2, medium=0.3, value="margin"):
    """:func:`crmlib.segments.profit_tiers` on the engine.

    On Spark ``margin`` is :func:`customer_margin`'s Spark DataFrame and the result is one too,
    with ``tier`` (exact, from :func:`crmlib.segments.spark_profit.top_cuts`; no ``rank``).
    """
    from .. import segments as seg

    if not eng.is_spark:
        return seg.profit_tiers(margin, high=high, medium=medium, value=value)
    from ..segments import spark_profit

    return spark_profit.profit_tiers(margin, high=high, medium=medium, value=value)


def tier_summary(eng: Engine, tiers, *, value="margin") -> pd.DataFrame:
    """:func:`crmlib.segments.tier_summary`'s table on the engine."""
    from .. import segments as seg

    if not eng.is_spark:
        return seg.tier_summary(tiers, value=value)
    from ..segments import spark_profit

    return spark_profit.tier_summary(tiers, value=value)


def pareto_curve(eng: Engine, margin, *, value="margin", points: int = 200) -> pd.DataFrame:
    """:func:`crmlib.segments.pareto_curve` on the engine.

    On Spark about ``points`` exact points of the curve plus the exact top-20% point
    (:func:`crmlib.segments.spark_profit.pareto_curve`); on pandas every customer's point.
    """
    from .. import segments as seg

    if not eng.is_spark:
        return seg.pareto_curve(margin, value=value)
    from ..segments import spark_profit

    return spark_profit.pareto_curve(margin, value=value, points=points)


def acquisition_costs(eng: Engine, customers=None, campaigns=None, orders=None, *,
                      by=("campaign", "acquisition_channel"), as_of=None) -> list[pd.DataFrame]:
    """:func:`crmlib.segments.acquisition_cost` for each grouping in ``by``, on the engine.

    Parameters
    ----------
    eng : Engine
    customers, orders : pandas.DataFrame, optional
        Needed on pandas; Spark counts ``dim_customer`` and ``fact_orders`` (one job for all ``by``).
    campaigns : pandas.DataFrame
        ``campaign_id, name, channel, cost`` (a small dimension, both engines).
    by : sequence of {'campaign', 'channel', 'acquisition_channel'}
    as_of : date-like, optional

    Returns
    -------
    list of pandas.DataFrame
        One table per ``by``.
    """
    from .. import segments as seg

    if campaigns is None:
        raise ParameterError("engines.acquisition_costs: `campaigns` is needed.", name="campaigns")
    if not eng.is_spark:
        if customers is None:
            raise ParameterError("engines.acquisition_costs: the pandas engine needs `customers`.",
                                 name="customers")
        return [seg.acquisition_cost(customers, campaigns, orders, by=b, as_of=as_of) for b in by]
    from ..segments import spark_acquisition

    counts = spark_acquisition.acquisition_counts(eng.session, eng.mart, as_of=as_of)
    return [spark_acquisition.acquisition_cost(eng.session, eng.mart, campaigns, by=b, counts=counts) for b in by]


def pricing(eng: Engine, segments, orders=None, order_lines=None, products=None):
    """:func:`crmlib.segments.segment_pricing`, ``discount_response`` and ``pricing_tests`` on the engine.

    Parameters
    ----------
    eng : Engine
    segments : pandas.DataFrame or pyspark.sql.DataFrame
        ``customer_id, segment`` (pandas, or a Spark DataFrame on Spark).
    orders, order_lines, products : pandas.DataFrame, optional
        Needed on pandas; Spark groups ``fact_sales`` lines with ``dim_product``'s price bands
        (two small jobs) and runs the chi-square tests in the driver.

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame, pandas.DataFrame)
        The pricing table, the discount response and the tests.
    """
    from .. import segments as seg

    if not eng.is_spark:
        if orders is None or order_lines is None or products is None:
            raise ParameterError("engines.pricing: the pandas engine needs `orders`, `order_lines` and "
                                 "`products`.", name="orders")
        return (seg.segment_pricing(orders, order_lines, products, segments),
                seg.discount_response(orders, order_lines, segments),
                seg.pricing_tests(orders, order_lines, products, segments))
    from ..segments import spark_pricing

    tables = spark_pricing.pricing_tables(eng.session, eng.mart, segments)
    return (spark_pricing.segment_pricing(tables), spark_pricing.discount_response(tables),
            spark_pricing.pricing_tests(tables))


def data_gaps(eng: Engine, *, customers=None, campaigns=None, products=None, order_lines=None) -> dict[str, str]:
    """:func:`crmlib.segments.data_gaps` on the engine.

    On Spark ``customers`` and ``order_lines`` are not needed (the mart's ``dim_customer`` and
    ``fact_sales`` are checked in one job); ``campaigns`` and ``products`` are small and used
    when given.
    """
    from .. import segments as seg

    if not eng.is_spark:
        return seg.data_gaps(customers=customers, campaigns=campaigns, products=products, order_lines=order_lines)
    from ..segments import spark_coverage

    return spark_coverage.data_gaps(eng.session, eng.mart, campaigns=campaigns, products=products)
