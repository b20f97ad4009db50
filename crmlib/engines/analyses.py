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

from .. import mart as _mart
from .._validation import check_one_of
from ..errors import ParameterError
from . import Engine

__all__ = [
    "acquisition_costs",
    "aggregate",
    "at_risk",
    "basket_summary",
    "campaign_frame",
    "category_propensity",
    "cluster_customers",
    "clv_figures",
    "clv_summary",
    "cohort_retention",
    "count_customers",
    "count_rows",
    "credit_features",
    "cross_sell",
    "cross_sell_list",
    "customer_ends",
    "customer_features",
    "customer_margin",
    "data_end",
    "data_gaps",
    "dedup_customers",
    "dimension",
    "fit_clv",
    "holdout_check",
    "kpi_summary",
    "lifetime_value",
    "lift_by",
    "lift_contrast",
    "list_ids",
    "list_summary",
    "margin_per_conversion",
    "mine_rules",
    "next_purchase_rules",
    "order_counts",
    "order_values",
    "pareto_curve",
    "plot_sample",
    "pricing",
    "profit_curves",
    "profit_tiers",
    "quality_report",
    "quality_tables",
    "report_baskets",
    "response_rates",
    "revenue_by",
    "revenue_lines",
    "rfm_customers",
    "rfm_scores",
    "rules_about",
    "sales_review",
    "segment_migration",
    "segment_summary",
    "target_candidates",
    "target_file",
    "target_list",
    "target_rows",
    "targeting_tables",
    "tier_summary",
    "top_customers",
    "value_list",
    "with_names",
]

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

    if baskets is None and filters:  # weekday, channel and region: the report's baskets
        from ..baskets.spark_report import report_baskets

        baskets = report_baskets(eng.session, eng.mart, level=level, since=since, until=until,
                                 filters=filters)
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


def sales_review(eng: Engine, crm=None, *, region=None, rep=None, channel=None, level: str = "rep",
                 period=None, compare_to: str = "sply"):
    """The star a sales review runs on, its selection and its period, on the engine.

    The customers' segment is their RFM segment as of the day before the period starts
    (:func:`crmlib.cube.segments_at`), so the star is built once the period is known.

    Parameters
    ----------
    eng : Engine
    crm : crmlib.db.Crm, optional
        Needed on pandas (the star of order lines is loaded through it).
    region, rep, channel, level
        As for :func:`crmlib.cube.select`.
    period, compare_to
        As for :func:`crmlib.cube.resolve_period`.

    Returns
    -------
    (crmlib.cube.Star, crmlib.cube.Selection, crmlib.cube.ReviewPeriod)
        pandas: the star of order lines (:func:`crmlib.cube.load_star`). Spark: the summary star
        (:func:`crmlib.cube.spark.summary_star`): sums per month, channel and rep in the driver,
        and every query by product or segment summed on Spark, where the order lines stay. The
        cube's functions give the same figures on either.
    """
    from .. import cube

    if not eng.is_spark:
        if crm is None:
            raise ParameterError("engines.sales_review: the pandas engine needs `crm`.", name="crm")
        star = cube.load_star(crm)
    else:
        from ..cube import spark as cube_spark

        star = cube_spark.dimension_star(eng.session, eng.mart)  # the dimensions, to choose with
    # targets are judged on the whole company's tree, and the selected region or rep cut from it
    sel = cube.select(star, region=region, rep=rep, channel=channel, level=level)
    review = cube.resolve_period(sel.view(star), period, compare_to)
    start = review.start
    if not eng.is_spark:
        segments = cube.segments_at(crm.orders(until=start), crm.order_lines(until=start),
                                    crm.customers(["customer_id"]), start=start)
        return cube.with_segments(star, segments), sel, review
    segments = cube_spark.segments_at(eng.session, eng.mart, start=start)
    # in the driver: sums per month, channel and rep; what needs products or segments is summed on Spark
    summary = cube_spark.summary_star(eng.session, eng.mart, segments=segments, customer_region=False, dims=star,
                                      local=("date", "channel", "rep"))
    return summary, sel, review


def customer_ends(eng: Engine, view, crm=None, *, where=None, n: int = 3) -> pd.DataFrame:
    """The top and bottom ``n`` customers by revenue per customer region, with their names.

    Returns
    -------
    pandas.DataFrame
        :data:`crmlib.cube.ENDS_COLUMNS` and ``first_name``, ``last_name`` (on Spark only these
        customers' names are read from the mart).
    """
    from .. import cube

    cols = ["customer_id", "first_name", "last_name"]
    if not eng.is_spark:
        ends = cube.customer_ends(view, where=where, n=n)
        names = crm.customers(cols)
    else:
        from pyspark.sql import functions as F

        from ..cube import spark as cube_spark

        ends = cube_spark.customer_ends(view, where=where, n=n)
        ids = [int(i) for i in ends["customer_id"].unique()]
        names = eng.table("dim_customer").where(F.col("customer_id").isin(ids)).select(*cols).toPandas()
    names = names.assign(customer_id=names["customer_id"].astype("int64")).drop_duplicates("customer_id")
    return ends.merge(names, on="customer_id", how="left")


# ---------------------------------------------------------------------- small dimensions
#: The small dimension tables :func:`dimension` reads, with their mart names: the mart's
#: dimensions (:data:`crmlib.mart.DIMENSIONS`) but the customers, which are of customer size.
DIMENSION_TABLES = {spec.source: name for name, spec in _mart.DIMENSIONS.items() if name != "dim_customer"}


def dimension(eng: Engine, crm, table: str, columns=None) -> pd.DataFrame:
    """A small dimension table (:data:`DIMENSION_TABLES`) as pandas.

    pandas: ``crm.load(table, columns)``. Spark: the mart's copy, read by Spark, so a Spark report
    needs only the mart (the driver need not reach the database, nor load its drivers: SQLAlchemy
    and the ADBC reader cost a kernel about 35 MB). Text columns come back as ``object``, not the
    categories crmlib.db gives.
    """
    if table not in DIMENSION_TABLES:
        raise ParameterError(f"engines.dimension: 'table' must be one of {sorted(DIMENSION_TABLES)}; "
                             f"got {table!r}.", name="table")
    if not eng.is_spark:
        if crm is None:
            raise ParameterError("engines.dimension: the pandas engine needs `crm`.", name="crm")
        return crm.load(table, columns)
    sdf = eng.table(DIMENSION_TABLES[table])
    return sdf.select(*columns).toPandas() if columns is not None else sdf.toPandas()


# ---------------------------------------------------------------------- overview KPIs
def revenue_lines(eng: Engine, orders: pd.DataFrame | None = None, order_lines: pd.DataFrame | None = None, *,
                  channels: pd.DataFrame | None = None, since=None, until=None):
    """The overview's revenue lines (:func:`crmlib.kpis.line_revenue`) with their channel.

    Parameters
    ----------
    eng : Engine
    orders, order_lines : pandas.DataFrame, optional
        The canonical tables (needed on pandas, windowed already; Spark reads ``fact_sales``).
    channels : pandas.DataFrame, optional
        ``channel_id`` and the columns to add (a small dimension); lines of other channels drop.
    since, until : date-like, optional
        The order window on Spark (``since <= ordered_at < until``).

    Returns
    -------
    pandas.DataFrame or pyspark.sql.DataFrame
        On pandas the lines; on Spark the same columns as a Spark DataFrame that stays there
        (:func:`kpi_summary` and :func:`revenue_by` aggregate it).
    """
    from .. import kpis

    if not eng.is_spark:
        if orders is None or order_lines is None:
            raise ParameterError("engines.revenue_lines: the pandas engine needs `orders` and `order_lines`.",
                                 name="orders" if orders is None else "order_lines")
        lines = kpis.line_revenue(orders, order_lines)
        return lines if channels is None else lines.merge(channels, on="channel_id")
    from .. import spark_kpis

    # read three times (headline, months, channels): kept by Spark (memory, spilling to disk)
    return spark_kpis.line_revenue(eng.table("fact_sales"), since=since, until=until, channels=channels).persist()


def kpi_summary(eng: Engine, lines, customers: pd.DataFrame | None = None) -> pd.Series:
    """Headline numbers (:func:`crmlib.kpis.summary`) on the engine.

    Parameters
    ----------
    eng : Engine
    lines : pandas.DataFrame or pyspark.sql.DataFrame
        :func:`revenue_lines`' result.
    customers : pandas.DataFrame, optional
        Needed on pandas (its rows are the customers); Spark counts the mart's ``dim_customer``.
    """
    from .. import kpis

    if not eng.is_spark:
        if customers is None:
            raise ParameterError("engines.kpi_summary: the pandas engine needs `customers`.", name="customers")
        return kpis.summary(customers, lines)
    from .. import spark_kpis

    return spark_kpis.summary(eng.table("dim_customer").count(), lines)


def revenue_by(eng: Engine, lines, by, *, freq: str | None = None, dtypes: dict | None = None) -> pd.DataFrame:
    """Revenue, orders and customers by group and period (:func:`crmlib.kpis.revenue_by`) on the engine.

    ``dtypes`` gives the Spark result's group columns the pandas dtypes (e.g. a channel kind's
    category); the pandas path keeps its own.
    """
    from .. import kpis

    if not eng.is_spark:
        return kpis.revenue_by(lines, by, freq=freq)
    from .. import spark_kpis

    return spark_kpis.revenue_by(lines, by, freq=freq, dtypes=dtypes)


# ---------------------------------------------------------------------- data quality
def quality_tables(eng: Engine, crm) -> dict:
    """The canonical tables the data-quality report measures.

    On pandas :func:`crmlib.imports.quality.load_tables` (every table in memory); on Spark the
    mart's tables as Spark DataFrames, plus the few rows the mart cannot hold (order lines without
    an order, fact rows without their time column) read from ``crm`` with a bounded query
    (:func:`crmlib.imports.spark_quality.canonical_tables`).
    """
    from ..imports import quality

    if not eng.is_spark:
        return quality.load_tables(crm)
    from ..imports import spark_quality

    return spark_quality.canonical_tables(eng.session, eng.mart, crm=crm)


def dedup_customers(eng: Engine, tables: dict, *, max_rows: int | None = None) -> pd.DataFrame | None:
    """The customers the duplicate detection is fitted on (None without a customers table).

    On pandas the loaded table; on Spark :func:`crmlib.engines.bounded_sample` of the customer id
    and the columns the comparison keys are made from (:data:`crmlib.imports.dedup.keys.SOURCE_COLUMNS`):
    every customer up to ``max_rows`` (default :data:`crmlib.engines.FIT_SAMPLE_ROWS`), sorted by id,
    so the fit equals the pandas one; above it a random sample (``attrs``: population, sampled).
    """
    from ..imports.dedup.keys import SOURCE_COLUMNS

    if "customers" not in tables:
        return None
    if not eng.is_spark:
        return tables["customers"]
    from . import FIT_SAMPLE_ROWS, bounded_sample

    frame = tables["customers"]
    cols = ["customer_id", *[c for c in SOURCE_COLUMNS if c in frame.columns]]
    return bounded_sample(frame.select(*cols), max_rows or FIT_SAMPLE_ROWS, key="customer_id")


def quality_report(eng: Engine, tables: dict, *, as_of=None, dedup=None,
                   examples: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The data-quality measures and the broken rules on the engine.

    Parameters
    ----------
    eng : Engine
    tables : dict
        :func:`quality_tables`' result.
    as_of, dedup
        As :func:`crmlib.imports.quality.quality_report`.
    examples : int, default=0
        Offending values per broken rule (0 for a masked report).

    Returns
    -------
    report : pandas.DataFrame
        :func:`crmlib.imports.quality.quality_report`'s frame.
    broken : pandas.DataFrame
        :func:`crmlib.imports.quality.broken_rules`' frame.
    """
    from ..imports import quality

    if not eng.is_spark:
        return (quality.quality_report(tables, as_of=as_of, dedup=dedup),
                quality.broken_rules(tables, examples=examples))
    from ..imports import spark_quality

    return spark_quality.quality_report(tables, as_of=as_of, dedup=dedup, examples=examples)


# ---------------------------------------------------------------------- campaign targeting
#: Personal columns the target list shows (masked unless the run unmasks).
TARGET_PEOPLE_COLUMNS = ["customer_id", "first_name", "last_name", "email", "region", "marketing_opt_in"]


def targeting_tables(eng: Engine, crm) -> dict:
    """The tables of campaign targeting: pandas frames, or the mart's Spark DataFrames.

    On pandas: :data:`crmlib.targeting.REQUIRED_COLUMNS` loaded from ``crm``, plus ``people``
    (:data:`TARGET_PEOPLE_COLUMNS`). On Spark: :func:`crmlib.targeting.spark.read_tables` (no fact
    and no customer table comes into pandas).
    """
    from .. import targeting as tg

    if not eng.is_spark:
        tables = {name: crm.load(name, cols) for name, cols in tg.REQUIRED_COLUMNS.items()}
        tables["people"] = crm.customers(TARGET_PEOPLE_COLUMNS)
        return tables
    from ..targeting import spark as ts

    return ts.read_tables(eng.session, eng.mart)


def response_rates(eng: Engine, tables: dict, campaigns: pd.DataFrame) -> pd.DataFrame:
    """:func:`crmlib.targeting.response_rates` on the engine (on Spark from counts per campaign and group)."""
    from .. import targeting as tg

    if not eng.is_spark:
        return tg.response_rates(tables["campaign_contacts"], tables["campaign_responses"], campaigns)
    from ..targeting import evaluation
    from ..targeting import spark as ts

    return evaluation.rates_from_counts(ts.contact_counts(tables), campaigns)


def campaign_frame(eng: Engine, tables: dict, campaign_ids, *, max_rows: int | None = None) -> pd.DataFrame:
    """:func:`crmlib.targeting.campaign_frame` on the engine, as pandas to fit the learners on.

    On Spark the contacts' features are computed on Spark and :func:`crmlib.engines.bounded_sample`
    brings at most ``max_rows`` (default :data:`~crmlib.engines.FIT_SAMPLE_ROWS`) rows, stratified by
    contact x conversion: every row, in the pandas path's order, when they fit (then every fitted
    figure equals the pandas run's). ``attrs``: ``population``, ``sampled``, ``fraction``.
    """
    from .. import targeting as tg
    from . import FIT_SAMPLE_ROWS, bounded_sample

    if not eng.is_spark:
        frame = tg.campaign_frame(tables, campaign_ids)
        frame.attrs.update(population=len(frame), sampled=False, fraction=1.0)
        return frame
    from pyspark.sql import functions as F

    from ..targeting import spark as ts

    sdf = ts.campaign_frame(tables, campaign_ids)
    sdf = sdf.withColumn("_stratum", F.col("treatment").cast("int") * 2 + F.col("converted").cast("int"))
    sample = bounded_sample(sdf, max_rows or FIT_SAMPLE_ROWS, by="_stratum", key="customer_id")
    attrs = dict(sample.attrs)
    frame = sample
    for col in frame.columns:
        if isinstance(frame[col].dtype, pd.DatetimeTZDtype):
            frame[col] = frame[col].dt.tz_localize(None)
    frame = (frame.drop(columns="_stratum").sort_values(["started_at", "campaign_id", "customer_id"], kind="stable")
             .reset_index(drop=True))
    frame.attrs.update(attrs)
    return frame


def data_end(eng: Engine, tables: dict) -> pd.Timestamp:
    """One second after the last order."""
    if not eng.is_spark:
        return tables["orders"]["ordered_at"].max() + pd.Timedelta(seconds=1)
    from ..targeting import spark as ts

    return ts.data_end(tables)


def margin_per_conversion(eng: Engine, tables: dict, *, as_of) -> float:
    """:func:`crmlib.targeting.margin_per_conversion` on the engine."""
    from .. import targeting as tg

    if not eng.is_spark:
        return tg.margin_per_conversion(tables["orders"], tables["order_lines"], tables["products"], as_of=as_of)
    from ..targeting import spark as ts

    return ts.margin_per_conversion(tables, as_of=as_of)


def target_candidates(eng: Engine, tables: dict, *, as_of, models: dict, constant: dict | None = None):
    """Customers who accept marketing, with features as of ``as_of``, scored by fitted ``models``.

    Returns
    -------
    pandas.DataFrame or pyspark.sql.DataFrame
        ``customer_id`` and one column per model (``predict``) and per ``constant``; on Spark a
        cached Spark DataFrame scored on the executors (:func:`crmlib.targeting.spark.score`).
    """
    from .. import targeting as tg

    constant = dict(constant or {})
    if not eng.is_spark:
        people = tables["people"]
        opted_in = people.loc[people["marketing_opt_in"].fillna(False).astype(bool), "customer_id"]
        base = tg.customer_features(tables, as_of=as_of, customer_ids=opted_in)
        cand = pd.DataFrame({"customer_id": base.index})
        for name, model in models.items():
            cand[name] = model.predict(base)
        for name, value in constant.items():
            cand[name] = value
        return cand
    from pyspark.sql import functions as F

    from ..targeting import spark as ts

    opted_in = tables["customers"].where(F.coalesce(F.col("marketing_opt_in").cast("boolean"), F.lit(False)))
    base = ts.customer_features(tables, as_of=as_of, customer_ids=opted_in.select("customer_id"))
    return ts.score(base, models, constant=constant).cache()


def count_rows(eng: Engine, frame) -> int:
    """Rows of a pandas or (on Spark) a Spark DataFrame."""
    return int(frame.count()) if eng.is_spark else len(frame)


def target_list(eng: Engine, cand, **kwargs):
    """:func:`crmlib.targeting.target_list` on the engine (on Spark a bounded top-k, a Spark DataFrame)."""
    from .. import targeting as tg

    if not eng.is_spark:
        return tg.target_list(cand, **kwargs)
    from ..targeting import spark as ts

    return ts.target_list(cand, **kwargs).cache()


def list_summary(eng: Engine, chosen, *, cost_per_contact: float, margin_per_conversion: float) -> pd.Series:
    """:func:`crmlib.targeting.list_summary` on the engine (on Spark from the list's count and summed uplift)."""
    from .. import targeting as tg

    if not eng.is_spark:
        return tg.list_summary(chosen, cost_per_contact=cost_per_contact, margin_per_conversion=margin_per_conversion)
    from pyspark.sql import functions as F

    from ..targeting import plan

    n, inc = chosen.agg(F.count("*"), F.sum("uplift")).collect()[0]
    return plan.summary_from_totals(n, inc or 0.0, cost_per_contact=cost_per_contact,
                                    margin_per_conversion=margin_per_conversion)


def profit_curves(eng: Engine, cand, *, cost_per_contact: float, margin_per_conversion: float,
                  uplift_model: bool = True) -> dict:
    """Profit curves by uplift and by response propensity (label -> table with ``rank`` and
    ``cumulative_profit``): every rank on pandas, the edges of score groups on Spark
    (:func:`crmlib.targeting.spark.profit_curves`, exact at each point)."""
    from .. import targeting as tg

    money = dict(cost_per_contact=cost_per_contact, margin_per_conversion=margin_per_conversion)
    ranks = {"by uplift": "uplift", "by response propensity": "propensity"} if uplift_model else {
        "by response propensity": "propensity"}
    if not eng.is_spark:
        return {label: tg.profit_curve(cand, rank_by=col, **money) for label, col in ranks.items()}
    from ..targeting import spark as ts

    curves = ts.profit_curves(cand, rank_by=tuple(ranks.values()), **money)
    return {label: curves[col] for label, col in ranks.items()}


def target_rows(eng: Engine, chosen, tables: dict, *, top_n: int) -> pd.DataFrame:
    """The target list's first ``top_n`` rows with the customers' names, e-mail and region (pandas:
    every row; Spark: the top rows only, joined with the customers on Spark)."""
    people = TARGET_PEOPLE_COLUMNS[:-1]
    if not eng.is_spark:
        return chosen.merge(tables["people"], on="customer_id", how="left")
    from ..targeting import spark as ts

    top = chosen.orderBy("rank").limit(top_n).join(tables["customers"].select(*people), "customer_id", "left")
    return ts.to_pandas(top, order=["rank"])[[*chosen.columns, *people[1:]]]


def target_file(eng: Engine, chosen, tables: dict, *, rank_by: str = "uplift"):
    """:func:`crmlib.targeting.actions.target_file` with the customers' names and e-mail (dropped by
    ``lists.publish`` when masked): pandas, or a Spark DataFrame joined on Spark."""
    from ..targeting.actions import target_file as to_file

    people = ["customer_id", "first_name", "last_name", "email"]
    if not eng.is_spark:
        return to_file(chosen, rank_by=rank_by).merge(tables["people"][people], on="customer_id", how="left")
    from ..targeting import spark as ts

    return ts.target_file(chosen, rank_by=rank_by).join(tables["customers"].select(*people), "customer_id", "left")


def list_ids(eng: Engine, frame) -> pd.Series:
    """The ``customer_id`` column of a list (on Spark collected: a target list is bounded by its budget)."""
    if not eng.is_spark:
        return frame["customer_id"]
    return frame.select("customer_id").toPandas()["customer_id"]


def category_propensity(eng: Engine, tables: dict, products: pd.DataFrame, *, as_of, top_n: int = 5,
                        horizon_days: int = 90, max_rows: int | None = None):
    """:func:`crmlib.targeting.category_propensity` and its :func:`~crmlib.targeting.top_prospects`.

    On Spark the three category frames are built on Spark; the models are fitted and evaluated on
    :func:`~crmlib.engines.bounded_sample` of them (every customer when they fit, then equal to
    pandas) and every customer is scored on Spark.

    Returns
    -------
    (CategoryPropensity, pandas.DataFrame, pandas.DataFrame)
        The model fitted on the later period, the evaluation table and the top prospects.
    """
    from .. import targeting as tg
    from ..definitions import as_timestamp
    from . import FIT_SAMPLE_ROWS, bounded_sample

    if not eng.is_spark:
        model, evaluation, scores = tg.category_propensity(tables, as_of=as_of, horizon_days=horizon_days)
        return model, evaluation, tg.top_prospects(scores, top_n=top_n)
    from ..targeting import spark as ts

    stamp = as_timestamp(as_of, name="as_of", where="engines.category_propensity")
    h = pd.Timedelta(days=horizon_days)
    categories = sorted(products["category"].dropna().astype(str).unique())

    def frame_at(at):
        sample = bounded_sample(ts.category_frame(tables, categories, as_of=at, horizon_days=horizon_days),
                                max_rows or FIT_SAMPLE_ROWS, key="customer_id")
        out = sample.set_index("customer_id")
        out.attrs = {**sample.attrs, "categories": categories}
        return out

    early, late = frame_at(stamp - 2 * h), frame_at(stamp - h)
    evaluation = tg.CategoryPropensity().fit(early).evaluate(late)
    model = tg.CategoryPropensity().fit(late)
    now = ts.category_frame(tables, categories, as_of=stamp, horizon_days=horizon_days)
    return model, evaluation, ts.top_prospects(now, model, top_n=top_n)


# ---------------------------------------------------------------------- segmentation: loading, RFM, CLV
# On pandas these call crmlib.segments; on Spark crmlib.segments.spark_rfm / spark_cohorts /
# spark_clv on the mart. Per-customer results are pandas frames on pandas and Spark DataFrames
# on Spark (never brought into the driver); the small tables are the same pandas frames.
def order_values(eng: Engine, orders: pd.DataFrame | None = None, order_lines: pd.DataFrame | None = None):
    """One row per kept order (``customer_id, ordered_at, amount``): :func:`crmlib.segments.order_values`.

    On Spark: from the mart's ``fact_orders`` and ``fact_sales``, a cached Spark DataFrame
    (``orders`` and ``order_lines`` are not used).
    """
    from .. import segments as seg

    if not eng.is_spark:
        if orders is None or order_lines is None:
            raise ParameterError("engines.order_values: the pandas engine needs `orders` and `order_lines`.",
                                 name="orders")
        return seg.order_values(orders, order_lines)
    from ..segments import spark_rfm

    return spark_rfm.order_values(eng.session, eng.mart).cache()


def order_counts(eng: Engine, transactions, customers: pd.DataFrame | None = None) -> dict:
    """``customers`` (listed), ``orders`` (kept orders) and ``last_order`` (day of the last order).

    Raises
    ------
    EmptyDataError
        No order (as ``crm.orders(allow_empty=False)`` on pandas).
    """
    from ..errors import EmptyDataError

    if not eng.is_spark:
        n_customers = int(len(customers)) if customers is not None else 0
        n_orders = int(len(transactions))
        last = transactions["ordered_at"].max() if n_orders else None
    else:
        from pyspark.sql import functions as F

        row = transactions.agg(F.count("*").alias("n"), F.max("ordered_at").alias("last")).first()
        n_orders, last = int(row["n"]), row["last"]
        n_customers = int(eng.table("dim_customer").count())
    if n_orders == 0:
        raise EmptyDataError("engines.order_counts: the database has no order to segment.")
    return {"customers": n_customers, "orders": n_orders, "last_order": pd.Timestamp(last)}


def rfm_customers(eng: Engine, transactions, *, as_of, customers: pd.DataFrame | None = None,
                  segment_map="rfm"):
    """RFM table, scores and segment of every customer (``No Purchase`` without a purchase).

    Returns
    -------
    pandas.DataFrame or pyspark.sql.DataFrame
        :func:`crmlib.segments.rfm_scores`' columns; on Spark a cached Spark DataFrame over the
        mart's ``dim_customer`` (``customers`` unused).
    """
    from .. import segments as seg

    if not eng.is_spark:
        return seg.rfm_scores(seg.rfm_table(transactions, as_of=as_of, customers=customers),
                              segment_map=segment_map)
    from ..segments import spark_rfm

    return spark_rfm.scored_customers(transactions, eng.table("dim_customer"), as_of=as_of,
                                      segment_map=segment_map).cache()


def segment_summary(eng: Engine, rfm) -> pd.DataFrame:
    """:func:`crmlib.segments.segment_summary` (on Spark only the per-segment table comes back)."""
    from .. import segments as seg

    if not eng.is_spark:
        return seg.segment_summary(rfm)
    from ..segments import spark_rfm

    return spark_rfm.segment_summary(rfm)


def cohort_retention(eng: Engine, transactions, *, as_of, freq: str = "M") -> pd.DataFrame:
    """:func:`crmlib.segments.cohort_retention` (on Spark only the cohort x offset counts come back)."""
    from .. import segments as seg

    if not eng.is_spark:
        return seg.cohort_retention(transactions, as_of=as_of, freq=freq)
    from ..segments import spark_cohorts

    return spark_cohorts.cohort_retention(transactions, as_of=as_of, freq=freq)


def clv_summary(eng: Engine, transactions, *, as_of, time_unit: str = "day", zero_is_purchase: bool = False):
    """:func:`crmlib.segments.clv_summary`: a pandas frame, or on Spark a cached Spark DataFrame
    carrying the same ``attrs`` (as a Python attribute)."""
    from .. import segments as seg

    if not eng.is_spark:
        return seg.clv_summary(transactions, as_of=as_of, time_unit=time_unit, zero_is_purchase=zero_is_purchase)
    from ..segments import spark_clv

    out = spark_clv.clv_summary(transactions, as_of=as_of, time_unit=time_unit, zero_is_purchase=zero_is_purchase)
    attrs = out.attrs
    out = out.cache()
    out.attrs = attrs
    return out


def fit_clv(eng: Engine, summary):
    """BG/NBD and Gamma-Gamma fitted on the distinct (frequency, recency, T) and (frequency,
    monetary_value) tuples weighted by their customers, on both engines: the same tuples give the
    same fit (:func:`crmlib.segments.clv.fit_clv_models`). On Spark the tuples are grouped on
    Spark and brought in bounded (exact up to :data:`crmlib.engines.FIT_SAMPLE_ROWS` tuples).

    Returns
    -------
    (BetaGeoFitter, GammaGammaFitter)
    """
    from ..segments import clv as seg_clv

    if not eng.is_spark:
        return seg_clv.fit_clv_models(seg_clv.tuple_counts(summary, ["frequency", "recency", "T"]),
                                      seg_clv.tuple_counts(summary, ["frequency", "monetary_value"]),
                                      time_unit=summary.attrs.get("time_unit"))
    from ..segments import spark_clv

    return spark_clv.fit_models(summary)


def lifetime_value(eng: Engine, bgnbd, gamma_gamma, summary, rfm, *, horizon=12, period=30.0,
                   discount_rate=0.01, margin=1.0):
    """:func:`crmlib.segments.customer_lifetime_value` per customer with the RFM ``segment`` and
    ``monetary`` joined: pandas indexed by customer_id, or a cached Spark DataFrame with ``customer_id``."""
    from .. import segments as seg

    if not eng.is_spark:
        clv = seg.customer_lifetime_value(bgnbd, gamma_gamma, summary, horizon=horizon, period=period,
                                          discount_rate=discount_rate, margin=margin)
        return clv.join(rfm.set_index("customer_id")[["segment", "monetary"]])
    from ..segments import spark_clv

    clv = spark_clv.lifetime_value(bgnbd, gamma_gamma, summary, horizon=horizon, period=period,
                                   discount_rate=discount_rate, margin=margin)
    return clv.join(rfm.select("customer_id", "segment", "monetary"), "customer_id", "left").cache()


def clv_figures(eng: Engine, clv) -> dict:
    """:func:`crmlib.segments.clv.clv_figures` (customers, clv_total, clv_median, share_probably_lost)."""
    from ..segments import clv as seg_clv

    if not eng.is_spark:
        return seg_clv.clv_figures(clv)
    from ..segments import spark_clv

    return spark_clv.clv_figures(clv)


def at_risk(eng: Engine, clv, *, quantile: float = 0.75, alive_below: float = 0.5):
    """Customers in the top quarter by net spend (``monetary``) who are probably gone (P(alive) < 1/2).

    Returns
    -------
    (frame, int)
        The rows of ``clv`` (pandas, or Spark on Spark) and how many they are. The quantile is
        pandas' ``Series.quantile`` on both engines (on Spark exact, from grouped counts).
    """
    if not eng.is_spark:
        rows = clv[(clv["monetary"] >= clv["monetary"].quantile(quantile))
                   & (clv["probability_alive"] < alive_below)]
        return rows, int(len(rows))
    from ..segments import spark_clv

    rows, _ = spark_clv.at_risk(clv, quantile=quantile, alive_below=alive_below)
    rows = rows.cache()
    return rows, int(rows.count())


PERSONAL_COLUMNS = ("first_name", "last_name", "email", "city")


def top_customers(eng: Engine, frame, *, by: str, n: int, customers: pd.DataFrame | None = None,
                  personal=PERSONAL_COLUMNS) -> pd.DataFrame:
    """The ``n`` rows with the largest ``by`` (ties by customer_id), with the personal columns.

    On Spark a bounded top-N (``orderBy().limit(n)``, run as TakeOrderedAndProject) and the
    personal columns joined on Spark for those rows only.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``customer_id``: ``frame``'s columns, then ``personal``.
    """
    if not eng.is_spark:
        rows = frame.reset_index() if "customer_id" not in frame.columns else frame
        rows = rows.sort_values([by, "customer_id"], ascending=[False, True], kind="stable").head(n)
        rows = rows.set_index("customer_id")
        return rows.join(customers.set_index("customer_id")[list(personal)])
    from pyspark.sql import functions as F

    top = frame.orderBy(F.col(by).desc_nulls_last(), F.col("customer_id")).limit(n)
    people = eng.table("dim_customer").select("customer_id", *personal)
    out = top.join(people, "customer_id", "left").toPandas()
    out = out.sort_values([by, "customer_id"], ascending=[False, True], kind="stable")
    return out.set_index("customer_id")


def plot_sample(eng: Engine, frame, columns, *, max_rows: int = 20_000) -> pd.DataFrame:
    """The rows to draw: every row on pandas; on Spark at most about ``max_rows`` (a random sample
    when there are more; ``attrs``: population, sampled)."""
    if not eng.is_spark:
        out = frame[list(columns)]
        out.attrs.update(population=int(len(frame)), sampled=False)
        return out
    from . import bounded_sample

    return bounded_sample(frame.select(*columns), max_rows)


def value_list(eng: Engine, rfm, clv, assigned=None, cluster_names: pd.Series | None = None, *,
               customers: pd.DataFrame | None = None, personal=PERSONAL_COLUMNS):
    """:func:`crmlib.segments.actions.value_file` with the personal columns (for ``lists.publish``).

    Parameters
    ----------
    assigned : pandas.Series or pyspark.sql.DataFrame, optional
        Cluster per customer: a Series indexed by customer_id, or on Spark a Spark DataFrame
        ``customer_id, cluster``.

    Returns
    -------
    pandas.DataFrame or pyspark.sql.DataFrame
        On Spark a Spark DataFrame (not sorted: a global sort of every customer is left to the
        reader of the file).
    """
    from ..segments.actions import VALUE_FILE_COLUMNS, value_file

    if not eng.is_spark:
        values = value_file(rfm, clv, assigned, cluster_names)
        return values.merge(customers.set_index("customer_id")[list(personal)], left_on="customer_id",
                            right_index=True, how="left")
    from pyspark.sql import functions as F

    spark = eng.session
    if isinstance(assigned, pd.Series):  # a pandas clustering (until the clusters are assigned on Spark)
        assigned = spark.createDataFrame(pd.DataFrame({"customer_id": assigned.index.astype("int64"),
                                                       "cluster": assigned.to_numpy().astype("int64")}))
    out = rfm.select("customer_id", F.col("segment").alias("rfm_segment"))
    if assigned is not None:
        out = out.join(assigned.select("customer_id", F.col("cluster").cast("int")), "customer_id", "left")
    else:
        out = out.withColumn("cluster", F.lit(None).cast("int"))
    names = [] if cluster_names is None else [(int(k), str(v)) for k, v in cluster_names.items()]
    if names:
        out = out.join(F.broadcast(spark.createDataFrame(names, "cluster int, cluster_name string")),
                       "cluster", "left")
    else:
        out = out.withColumn("cluster_name", F.lit(None).cast("string"))
    out = out.join(clv.select("customer_id", "clv", "probability_alive"), "customer_id", "left")
    people = eng.table("dim_customer").select("customer_id", *personal)
    return out.select(*VALUE_FILE_COLUMNS).join(people, "customer_id", "left")


def segment_migration(eng: Engine, previous, values, *, order=None, name: str = "customer_value",
                      column: str = "rfm_segment") -> pd.DataFrame | None:
    """:func:`crmlib.report.changes.migration_matrix` of the last run's list ``name`` and ``values``.

    None when there is no previous run or it published no such list. On Spark the previous list's
    Parquet file is read by Spark and only the (before, after) counts come back.
    """
    from ..report import changes

    if previous is None:
        return None
    if not eng.is_spark:
        before = previous.list(name)
        return None if before is None else changes.migration_matrix(before, values, column, order=order)
    from pathlib import Path

    from pyspark.sql import functions as F

    path = Path(previous.lists_dir) / f"{name}.parquet" if previous.lists_dir else None
    if path is None or not path.is_file():
        return None
    before = eng.session.read.parquet(str(path)).select("customer_id", F.col(column).alias("_before"))
    after = values.select("customer_id", F.col(column).alias("_after"))
    counts = (before.join(after, "customer_id", "full_outer").groupBy("_before", "_after")
              .agg(F.count("*").alias("n")).toPandas())
    return _migration_table(counts, order)


def _migration_table(counts: pd.DataFrame, order) -> pd.DataFrame:
    """migration_matrix's table from (``_before``, ``_after``, ``n``) counts (None = new / gone)."""
    from ..report.changes import GONE, NEW

    rows = counts["_before"].where(counts["_before"].notna(), NEW).astype(str)
    cols = counts["_after"].where(counts["_after"].notna(), GONE).astype(str)
    table = (pd.DataFrame({"r": rows, "c": cols, "n": counts["n"].astype("int64")})
             .pivot_table(index="r", columns="c", values="n", aggfunc="sum", fill_value=0).astype("int64"))
    known = [str(v) for v in (list(order) if order is not None else [])]
    seen = sorted(set(table.index) | set(table.columns) - {NEW, GONE})
    cats = [c for c in known if c in seen] + [c for c in seen if c not in known and c not in (NEW, GONE)]
    table = table.reindex(index=cats + ([NEW] if NEW in table.index else []),
                          columns=cats + ([GONE] if GONE in table.columns else []), fill_value=0)
    table.index.name, table.columns.name = "last run", "this run"
    return table


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
