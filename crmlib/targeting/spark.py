"""Campaign targeting on Spark, with crmlib.targeting's definitions, from the Parquet mart.

The per-customer and per-contact steps of the ``campaign_targeting`` report on Spark DataFrames;
only bounded results come back to the driver:

- :func:`read_tables`: the mart tables the features need (facts stay on Spark);
- :func:`customer_features` and :func:`campaign_frame`: :mod:`crmlib.targeting.features`' frames,
  computed in one pass of grouped aggregations (each contact's features as of its own campaign's
  start: the contact's ``as_of`` is a column, not a loop over campaigns);
- :func:`contact_counts`: contacts and conversions per campaign and group, for
  :func:`~crmlib.targeting.evaluation.rates_from_counts`;
- :func:`margin_per_conversion` and :func:`data_end`: two numbers;
- :func:`score`: fitted learners applied to every candidate with ``mapInPandas`` (the learners are
  scikit-learn objects that Spark SQL cannot express; they are broadcast once and applied per
  Arrow batch, and each prediction depends on its own row only, so the batching changes nothing);
- :func:`target_list`: the budget's top ``k`` (``orderBy(...).limit(k)``, a bounded top-k) cut at
  the expected profit's peak by :func:`crmlib.targeting.plan.target_list` itself, in one task;
- :func:`profit_curves`: the profit curve from scores grouped on Spark (exact at every point);
- :func:`category_frame` and :func:`top_prospects`: category propensity's frame and its top
  customers per category.

Timestamps are compared as wall-clock times (``timestamp_ntz``), as the pandas path does with
naive datetimes. Days are microseconds / 1e6 / 86400, as pandas' ``total_seconds() / 86400``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._validation import check_columns, check_interval, check_type, examples
from ..definitions import as_timestamp
from ..errors import DataContractError, ParameterError
from ..mart import table_path
from . import actions, plan
from .features import FEATURE_COLUMNS, REQUIRED_COLUMNS

__all__ = ["MART_TABLES", "campaign_frame", "category_frame", "contact_counts", "customer_features",
           "data_end", "margin_per_conversion", "profit_curves", "read_tables", "score", "target_file",
           "target_list", "to_pandas", "top_prospects"]

#: Canonical name -> (mart table, columns needed).
MART_TABLES: dict[str, tuple[str, list[str]]] = {
    "customers": ("dim_customer", REQUIRED_COLUMNS["customers"]),
    "orders": ("fact_orders", REQUIRED_COLUMNS["orders"]),
    "sales": ("fact_sales", ["order_id", "line_no", "customer_id", "ordered_at", "product_id", "quantity", "unit_price",
                             "discount", "unit_cost", "net_amount"]),
    "channels": ("dim_channel", REQUIRED_COLUMNS["channels"]),
    "products": ("dim_product", REQUIRED_COLUMNS["products"]),
    "interactions": ("fact_interactions", REQUIRED_COLUMNS["interactions"]),
    "service_tickets": ("fact_service_tickets", REQUIRED_COLUMNS["service_tickets"]),
    "campaigns": ("dim_campaign", REQUIRED_COLUMNS["campaigns"]),
    "campaign_contacts": ("fact_campaign_contacts", REQUIRED_COLUMNS["campaign_contacts"]),
    "campaign_responses": ("fact_campaign_responses", REQUIRED_COLUMNS["campaign_responses"]),
}
_INCOME_LEVEL = {"low": 0.0, "lower-middle": 1.0, "middle": 2.0, "upper-middle": 3.0, "high": 4.0}
_AT = "_as_of"


# ---------------------------------------------------------------------------------- reading
def read_tables(spark, mart) -> dict:
    """The mart tables of :data:`MART_TABLES` as Spark DataFrames, timestamps as wall-clock.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
    mart : str or path
        The Parquet mart written by ``crmlib mart export``.

    Returns
    -------
    dict of str to pyspark.sql.DataFrame
        Keyed by canonical name (``customers``, ``orders``, ``sales`` (order lines with their
        order's customer and time), ``channels``, ``products``, ``interactions``,
        ``service_tickets``, ``campaigns``, ``campaign_contacts``, ``campaign_responses``).

    Raises
    ------
    DataContractError
        A table is missing from the mart or lacks a needed column.
    """
    from pyspark.errors import AnalysisException

    out = {}
    for name, (table, required) in MART_TABLES.items():
        try:
            df = spark.read.parquet(table_path(mart, table))
        except AnalysisException as err:
            raise DataContractError(
                f"targeting.spark.read_tables: the mart at {str(mart).rstrip('/')!r} has no readable table "
                f"{table!r} (run `crmlib mart export`); Spark said: {str(err).splitlines()[0]}",
                table=table) from err
        check_columns(df, required, where=f"targeting.spark.read_tables({table})")
        out[name] = _wall_clock(df)
    return out


def to_pandas(sdf, *, index: str | None = None, order=None) -> pd.DataFrame:
    """A (bounded) Spark result as pandas, rows sorted by ``order`` (stable), timestamps naive."""
    frame = sdf.toPandas()
    for col in frame.columns:
        if isinstance(frame[col].dtype, pd.DatetimeTZDtype):
            frame[col] = frame[col].dt.tz_localize(None)
    if order:
        frame = frame.sort_values(list(order), kind="stable").reset_index(drop=True)
    if index is not None:
        frame = frame.set_index(index)
    return frame


# --------------------------------------------------------------------------------- features
def _features(tables: dict, keys, key_cols: list[str]):
    """Features of each row of ``keys`` (``customer_id``, ``_as_of`` and ``key_cols``) as of its ``_as_of``.

    Rows whose customer was created at or after ``_as_of`` are dropped (as the pandas path does).
    """
    from pyspark.sql import functions as F

    at = F.col(_AT)
    cust = (keys.join(tables["customers"].select(*REQUIRED_COLUMNS["customers"]), "customer_id")
            .where(F.col("created_at") < at))
    income = F.create_map(*[F.lit(x) for kv in _INCOME_LEVEL.items() for x in kv])
    base = cust.select(
        *key_cols, _AT,
        (_micros(F.col("created_at"), at) / 1e6 / 86400.0).alias("tenure_days"),
        (F.floor(_micros(F.col("birth_date").cast("timestamp_ntz"), at) / 86_400_000_000) / 365.25).alias("age"),
        income[F.col("income_band").cast("string")].cast("double").alias("income_level"))
    who = base.select(*key_cols, _AT)  # customer_id is among key_cols

    def before(frame, time_col, *cols):
        # only the columns used, so no fact column clashes with a key column
        return frame.select("customer_id", time_col, *cols).join(who, "customer_id").where(F.col(time_col) < at)

    def since(time_col, days):
        return F.col(time_col) >= at - F.expr(f"INTERVAL {int(days)} DAYS")

    def n_if(cond):
        return F.sum(F.when(cond, 1.0).otherwise(0.0))

    kinds = tables["channels"].select("channel_id", F.col("kind").cast("string").alias("_kind"))
    orders = (tables["orders"].select("customer_id", "channel_id", "ordered_at")
              .join(F.broadcast(kinds), "channel_id", "left")
              .withColumn("_kind", F.coalesce(F.col("_kind"), F.lit("other"))))
    o = before(orders, "ordered_at", "_kind").groupBy(*key_cols).agg(
        F.count("*").cast("double").alias("orders_total"),
        n_if(since("ordered_at", 90)).alias("orders_90d"),
        n_if(since("ordered_at", 365)).alias("orders_365d"),
        F.max("ordered_at").alias("_last"),
        *[F.avg((F.col("_kind") == k).cast("double")).alias(f"{k}_share") for k in ("online", "store", "phone")])
    lines = before(tables["sales"], "ordered_at", "order_id", "line_no", "quantity", "unit_price", "discount",
                   "net_amount")
    # money sums and means of fractional values are added as pandas adds them (Kahan-compensated,
    # lines in (order_id, line_no) order), so the features, and every model fitted on them, are
    # equal to the last bit; a customer's lines are few, so the per-customer array is small
    line = F.struct("order_id", "line_no", "net_amount", "unit_price", "discount",
                    since("ordered_at", 365).alias("recent"))
    ln = lines.groupBy(*key_cols).agg(
        F.array_sort(F.collect_list(line)).alias("_l"),
        F.count("*").cast("double").alias("_lines"),
        F.avg("quantity").alias("units_per_line"),
        F.avg(F.coalesce(F.col("discount") > 0, F.lit(False)).cast("double")).alias("discount_share"))
    total = _kahan(F.col("_l"), lambda x: x["net_amount"])
    recent = _kahan(F.col("_l"), lambda x: F.when(x["recent"], x["net_amount"]))
    price = _kahan(F.col("_l"), lambda x: x["unit_price"])
    disc = _kahan(F.col("_l"), lambda x: x["discount"])
    ln = ln.select(*key_cols, "_lines", "units_per_line", "discount_share",
                   total["s"].alias("revenue_total"), recent["s"].alias("revenue_365d"),
                   F.when(price["n"] > 0, price["s"] / price["n"]).alias("avg_unit_price"),
                   F.when(disc["n"] > 0, disc["s"] / disc["n"]).alias("mean_discount"))
    complaint = F.col("_ikind") == "complaint"
    it = before(tables["interactions"].withColumn("_ikind", F.col("kind").cast("string")), "occurred_at", "_ikind").groupBy(*key_cols).agg(
        F.count("*").cast("double").alias("interactions_total"),
        n_if(complaint).alias("complaints_total"),
        n_if(complaint & since("occurred_at", 365)).alias("complaints_365d"))
    sat = F.col("satisfaction").cast("double")
    # satisfaction is known only once the ticket is closed
    rated = (F.col("closed_at") < at) & sat.isNotNull() & ~F.isnan(sat)
    tk = (tables["service_tickets"].select("customer_id", "opened_at", "closed_at", "satisfaction")
          .join(who, "customer_id")
          .where((F.col("opened_at") < at) | (F.col("closed_at") < at))
          .groupBy(*key_cols).agg(
              n_if(F.col("opened_at") < at).alias("tickets_total"),
              n_if((F.col("opened_at") < at) & since("opened_at", 365)).alias("tickets_365d"),
              F.avg(F.when(rated, sat)).alias("satisfaction_mean"),
              n_if(rated & (sat <= 2)).alias("low_satisfaction_tickets")))
    pc = (before(tables["campaign_contacts"].where(F.col("treatment").cast("boolean")), "contacted_at")
          .groupBy(*key_cols).agg(F.count("*").cast("double").alias("prior_contacts")))
    pr = (before(tables["campaign_responses"].where(F.col("converted").cast("boolean")), "responded_at")
          .groupBy(*key_cols).agg(F.count("*").cast("double").alias("prior_conversions")))

    out = base
    for part in (o, ln, it, tk, pc, pr):
        out = out.join(part, key_cols, "left")
    zero = F.lit(0.0)
    z = lambda c: F.coalesce(F.col(c), zero)  # noqa: E731
    n = z("orders_total")
    tenure = F.col("tenure_days")
    years = F.greatest(tenure, F.lit(30.0)) / 365.0
    out = out.select(
        *key_cols, "tenure_days", "age", "income_level",
        n.alias("orders_total"), z("orders_90d").alias("orders_90d"), z("orders_365d").alias("orders_365d"),
        (n / F.greatest(tenure, F.lit(30.0)) * 365.0).alias("order_rate"),
        F.coalesce(_micros(F.col("_last"), F.col(_AT)) / 1e6 / 86400.0, tenure).alias("recency_days"),
        z("revenue_total").alias("revenue_total"), z("revenue_365d").alias("revenue_365d"),
        F.when(n > 0, z("revenue_total") / n).otherwise(zero).alias("avg_order_value"),
        z("avg_unit_price").alias("avg_unit_price"),
        F.when(n > 0, z("_lines") / n).otherwise(zero).alias("lines_per_order"),
        z("units_per_line").alias("units_per_line"), z("discount_share").alias("discount_share"),
        z("mean_discount").alias("mean_discount"),
        z("online_share").alias("online_share"), z("store_share").alias("store_share"),
        z("phone_share").alias("phone_share"),
        z("interactions_total").alias("interactions_total"), z("complaints_total").alias("complaints_total"),
        z("complaints_365d").alias("complaints_365d"),
        F.when(z("interactions_total") > 0, z("complaints_total") / z("interactions_total"))
        .otherwise(zero).alias("complaint_share"),
        z("tickets_total").alias("tickets_total"), z("tickets_365d").alias("tickets_365d"),
        F.coalesce(F.col("satisfaction_mean"), F.lit(4.0)).alias("satisfaction_mean"),
        z("low_satisfaction_tickets").alias("low_satisfaction_tickets"),
        (z("complaints_total") / years).alias("complaint_rate"),
        (z("tickets_total") / years).alias("ticket_rate"),
        # one smoothed score of service friction, as crmlib.targeting.features
        ((z("complaints_total") + z("low_satisfaction_tickets") + 0.5 * z("tickets_total") + 0.5)
         / (years + 0.5)).alias("friction_rate"),
        z("prior_contacts").alias("prior_contacts"), z("prior_conversions").alias("prior_conversions"))
    return out.select(*key_cols, *[F.col(c).cast("double").alias(c) for c in FEATURE_COLUMNS])


def customer_features(tables: dict, *, as_of, customer_ids=None):
    """:func:`crmlib.targeting.customer_features` on Spark: one row per customer created before ``as_of``.

    Parameters
    ----------
    tables : dict of str to pyspark.sql.DataFrame
        From :func:`read_tables`.
    as_of : str or datetime-like
        Nothing at or after it is used.
    customer_ids : pyspark.sql.DataFrame, optional
        A frame with ``customer_id``: only these customers.

    Returns
    -------
    pyspark.sql.DataFrame
        ``customer_id`` and :data:`~crmlib.targeting.features.FEATURE_COLUMNS` (double).
    """
    from pyspark.sql import functions as F

    where = "targeting.spark.customer_features"
    stamp = as_timestamp(as_of, name="as_of", where=where)
    keys = tables["customers"].select("customer_id")
    if customer_ids is not None:
        check_columns(customer_ids, ["customer_id"], where=f"{where}(customer_ids)")
        keys = keys.join(customer_ids.select("customer_id").distinct(), "customer_id", "left_semi")
    return _features(tables, keys.withColumn(_AT, _lit(stamp)), ["customer_id"]).select(
        "customer_id", *[F.col(c) for c in FEATURE_COLUMNS])


def campaign_frame(tables: dict, campaign_ids):
    """:func:`crmlib.targeting.campaign_frame` on Spark: contacts with outcome and features at each start.

    Parameters
    ----------
    tables : dict of str to pyspark.sql.DataFrame
        From :func:`read_tables`.
    campaign_ids : int or iterable of int

    Returns
    -------
    pyspark.sql.DataFrame
        ``campaign_id``, ``customer_id``, ``started_at``, ``treatment``, ``converted`` (boolean),
        then the features (double); one row per contact of a customer created before the start.
        :func:`to_pandas` with ``order=['started_at', 'campaign_id', 'customer_id']`` gives the
        pandas path's rows in its order (the mart's contacts are sorted by customer within a campaign).

    Raises
    ------
    ParameterError
        An unknown campaign id.
    """
    from pyspark.sql import functions as F

    where = "targeting.spark.campaign_frame"
    ids = [int(campaign_ids)] if np.isscalar(campaign_ids) else [int(i) for i in campaign_ids]
    camps = tables["campaigns"].where(F.col("campaign_id").isin(ids)).select(
        "campaign_id", F.col("started_at").alias(_AT))
    known = {r[0] for r in camps.select("campaign_id").collect()}
    unknown = [i for i in ids if i not in known]
    if unknown:
        every = [r[0] for r in tables["campaigns"].select("campaign_id").orderBy("campaign_id").collect()]
        raise ParameterError(f"{where}: unknown campaign id(s) {unknown}; known ids are "
                             f"{examples(every, limit=20)}", name="campaign_ids")
    contacts = (tables["campaign_contacts"].where(F.col("campaign_id").isin(ids))
                .select("campaign_id", "customer_id", F.col("treatment").cast("boolean").alias("treatment"))
                .dropDuplicates(["campaign_id", "customer_id"]))
    keys = contacts.join(F.broadcast(camps), "campaign_id")
    key_cols = ["campaign_id", "customer_id", "treatment"]
    feats = _features(tables, keys, key_cols)
    won = (tables["campaign_responses"].where(F.col("converted").cast("boolean"))
           .select("campaign_id", "customer_id").distinct().withColumn("_won", F.lit(True)))
    out = feats.join(won, ["campaign_id", "customer_id"], "left").join(
        F.broadcast(camps.withColumnRenamed(_AT, "started_at")), "campaign_id")
    return out.select("campaign_id", "customer_id", "started_at", "treatment",
                      F.coalesce(F.col("_won"), F.lit(False)).alias("converted"), *FEATURE_COLUMNS)


# ------------------------------------------------------------------------------ small results
def contact_counts(tables: dict) -> pd.DataFrame:
    """Distinct customers contacted and converted per campaign and group (small: campaigns x 2 rows).

    Returns
    -------
    pandas.DataFrame
        ``campaign_id``, ``treatment``, ``contacts``, ``conversions``: the input of
        :func:`~crmlib.targeting.evaluation.rates_from_counts`.
    """
    from pyspark.sql import functions as F

    won = (tables["campaign_responses"].where(F.col("converted").cast("boolean"))
           .select("campaign_id", "customer_id").distinct().withColumn("_y", F.lit(1)))
    c = (tables["campaign_contacts"].select("campaign_id", "customer_id",
                                            F.col("treatment").cast("boolean").alias("treatment"))
         .dropDuplicates(["campaign_id", "customer_id"]).join(won, ["campaign_id", "customer_id"], "left"))
    out = c.groupBy("campaign_id", "treatment").agg(F.count("*").alias("contacts"),
                                                    F.sum(F.coalesce(F.col("_y"), F.lit(0))).alias("conversions"))
    return to_pandas(out, order=["campaign_id", "treatment"])


def data_end(tables: dict) -> pd.Timestamp:
    """One second after the last order (the as-of moment when no later campaign is planned)."""
    from pyspark.sql import functions as F

    last = tables["orders"].agg(F.max("ordered_at")).collect()[0][0]
    return pd.Timestamp(last) + pd.Timedelta(seconds=1)


def margin_per_conversion(tables: dict, *, as_of, days: int = 365) -> float:
    """:func:`crmlib.targeting.margin_per_conversion` on Spark: mean gross margin of a recent order.

    Margin per line is ``net_amount - quantity * unit_cost`` (a missing cost counts 0), summed
    per order placed in the ``days`` before ``as_of``, averaged over those orders.

    Raises
    ------
    EmptyDataError
        No orders in the window.
    """
    from pyspark.sql import functions as F

    from ..errors import EmptyDataError

    where = "targeting.spark.margin_per_conversion"
    check_interval(days, 1, None, name="days", where=where, integer=True, closed="left")
    end = pd.Timestamp(as_of)
    lines = tables["sales"].where((F.col("ordered_at") < _lit(end))
                                  & (F.col("ordered_at") >= _lit(end - pd.Timedelta(days=days))))
    margin = F.col("net_amount") - F.col("quantity") * F.coalesce(F.col("unit_cost"), F.lit(0.0))
    per = lines.groupBy("order_id").agg(F.sum(margin).alias("_m"))
    row = per.agg(F.avg("_m"), F.count("*")).collect()[0]
    if not row[1]:
        raise EmptyDataError(f"{where}: no orders in the {days} days before {end:%Y-%m-%d}; pass "
                             "margin_per_conversion explicitly", table="orders")
    return float(row[0])


# ------------------------------------------------------------------------------------ scoring
def score(frame, models: dict, *, constant: dict | None = None):
    """Every row of ``frame`` scored by fitted models, on the executors (``mapInPandas``).

    Parameters
    ----------
    frame : pyspark.sql.DataFrame
        ``customer_id`` and the models' feature columns (e.g. :func:`customer_features`).
    models : dict of str to fitted model
        Output column -> a fitted model with ``predict(X)`` (a pandas frame of the features).
        Broadcast once; each Arrow batch is predicted as one pandas frame.
    constant : dict of str to float, optional
        Further output columns holding one value.

    Returns
    -------
    pyspark.sql.DataFrame
        ``customer_id`` (long) and one double column per model, then per constant.
    """
    from pyspark.sql import SparkSession
    from pyspark.sql.types import DoubleType, LongType, StructField, StructType

    constant = dict(constant or {})
    names = list(models) + [c for c in constant if c not in models]
    schema = StructType([StructField("customer_id", LongType())]
                        + [StructField(n, DoubleType()) for n in names])
    shared = SparkSession.getActiveSession().sparkContext.broadcast(dict(models))

    def predict(batches):
        fitted = shared.value
        for batch in batches:
            out = pd.DataFrame({"customer_id": batch["customer_id"].astype("int64")})
            for name, model in fitted.items():
                out[name] = np.asarray(model.predict(batch), dtype="float64")
            for name, value in constant.items():
                if name not in fitted:
                    out[name] = float(value)
            yield out

    return frame.mapInPandas(predict, schema)


def _budget_rows(budget, cost_per_contact, list_size, where) -> int:
    limits = []
    if budget is not None:
        check_interval(budget, 0, None, name="budget", where=where, closed="left")
        if cost_per_contact > 0:
            limits.append(int(budget // cost_per_contact))
    if list_size is not None:
        check_interval(list_size, 0, None, name="list_size", where=where, integer=True, closed="left")
        limits.append(int(list_size))
    if not limits:
        raise ParameterError(f"{where}: on Spark the list needs a bound: a budget with a positive "
                             "cost_per_contact, or a list_size (a list of every customer is not a top-k).",
                             name="budget")
    return min(limits)


def target_list(scores, *, cost_per_contact: float, margin_per_conversion: float, budget: float | None = None,
                list_size: int | None = None, rank_by: str = "uplift", uplift: str = "uplift",
                stop_at_break_even: bool = True):
    """:func:`crmlib.targeting.target_list` on Spark: the same rows, as a Spark DataFrame.

    The list holds at most ``k = min(budget // cost_per_contact, list_size)`` customers, so only
    the top ``k`` by ``rank_by`` (ties by ``customer_id``, as the pandas path's stable sort of
    customers in id order) can be on it: ``orderBy(...).limit(k)`` finds them (a bounded top-k,
    no global sort), and the pandas function cuts them at the profit peak in one task.

    Parameters
    ----------
    scores : pyspark.sql.DataFrame
        ``customer_id``, ``rank_by``, ``uplift`` and other columns (kept), e.g. from :func:`score`.
    cost_per_contact, margin_per_conversion, budget, list_size, rank_by, uplift, stop_at_break_even
        As :func:`crmlib.targeting.target_list`; a bound (budget or list_size) is required.

    Returns
    -------
    pyspark.sql.DataFrame
        :data:`~crmlib.targeting.plan.LIST_COLUMNS` and the other columns, one partition.

    Raises
    ------
    ParameterError
        No bound, or bad money values.
    """
    from pyspark.sql import functions as F
    from pyspark.sql.types import DoubleType, LongType, StructField, StructType

    where = "targeting.spark.target_list"
    check_columns(scores, list(dict.fromkeys(["customer_id", rank_by, uplift])), where=where)
    k = _budget_rows(budget, cost_per_contact, list_size, where)
    extra = [c for c in scores.columns if c not in plan.LIST_COLUMNS and c not in (rank_by, uplift)]
    schema = StructType([StructField(c, LongType() if c in ("rank", "customer_id") else DoubleType())
                         for c in plan.LIST_COLUMNS]
                        + [f for f in scores.schema.fields if f.name in extra])
    top = scores.orderBy(F.col(rank_by).desc(), F.col("customer_id").asc()).limit(k).coalesce(1)
    kwargs = dict(cost_per_contact=cost_per_contact, margin_per_conversion=margin_per_conversion,
                  rank_by=rank_by, uplift=uplift, stop_at_break_even=stop_at_break_even)
    plan.target_list(pd.DataFrame({c: [] for c in ["customer_id", rank_by, uplift]}), **kwargs)  # checks

    def cut(batches):
        parts = list(batches)
        if not parts:
            return
        frame = pd.concat(parts, ignore_index=True).sort_values(
            [rank_by, "customer_id"], ascending=[False, True], kind="stable")
        yield plan.target_list(frame, **kwargs)[schema.fieldNames()]

    return top.mapInPandas(cut, schema)


def target_file(chosen, *, rank_by: str = "uplift"):
    """:func:`crmlib.targeting.actions.target_file` on each partition of a Spark target list."""
    from pyspark.sql.types import DoubleType, LongType, StringType, StructField, StructType

    check_columns(chosen, actions.TARGET_FILE_COLUMNS[:-1], where="targeting.spark.target_file")
    schema = StructType([StructField("customer_id", LongType()), StructField("rank", LongType())]
                        + [StructField(c, DoubleType()) for c in ("uplift", "propensity", "expected_profit")]
                        + [StructField("reason", StringType())])

    def write(batches):
        for batch in batches:
            yield actions.target_file(batch, rank_by=rank_by)

    return chosen.mapInPandas(write, schema)


def profit_curves(scores, *, cost_per_contact: float, margin_per_conversion: float, rank_by=("uplift",),
                  uplift: str = "uplift", decimals: int = 4) -> dict:
    """Profit curves (:func:`crmlib.targeting.profit_curve`) at the edges of score groups, from Spark.

    Candidates are grouped by their score rounded to ``decimals`` (counted and their uplift summed
    on Spark; the groups are few); sorted best first, the groups' running totals are the curve's
    exact values at each group's last rank, since rounding keeps the order between groups.

    Returns
    -------
    dict of str to pandas.DataFrame
        Per ``rank_by`` column: ``rank`` (int64, list size at a group's end), ``score`` (rounded),
        ``cumulative_incremental`` and ``cumulative_profit``, starting at rank 0.
    """
    from pyspark.sql import functions as F

    out = {}
    for col in rank_by:
        g = (scores.groupBy(F.round(F.col(col), decimals).alias("score"))
             .agg(F.count("*").alias("n"), F.sum(uplift).alias("u")))
        g = to_pandas(g).sort_values("score", ascending=False, kind="stable")
        rank = np.concatenate([[0], np.cumsum(g["n"].to_numpy())]).astype("int64")
        inc = np.concatenate([[0.0], np.cumsum(g["u"].to_numpy(float))])
        out[col] = pd.DataFrame({"rank": rank, "score": np.concatenate([[np.nan], g["score"].to_numpy(float)]),
                                 "cumulative_incremental": inc,
                                 "cumulative_profit": margin_per_conversion * inc - cost_per_contact * rank})
    return out


# -------------------------------------------------------------------------- category propensity
def category_frame(tables: dict, categories, *, as_of, horizon_days: int = 90):
    """:func:`crmlib.targeting.category_frame` on Spark (customers created before ``as_of``).

    Parameters
    ----------
    tables : dict of str to pyspark.sql.DataFrame
    categories : list of str
        The product categories, sorted (from the small products table).
    as_of : str or datetime-like
    horizon_days : int, default=90

    Returns
    -------
    pyspark.sql.DataFrame
        ``customer_id``, the features, ``share_<c>`` (double), ``had_<c>`` and ``buys_<c>``
        (boolean) per category.
    """
    from pyspark.sql import functions as F

    where = "targeting.spark.category_frame"
    check_interval(horizon_days, 1, None, name="horizon_days", where=where, integer=True, closed="left")
    stamp = as_timestamp(as_of, name="as_of", where=where)
    feats = customer_features(tables, as_of=stamp)
    cat = tables["products"].select("product_id", F.col("category").cast("string").alias("_cat"))
    lines = tables["sales"].join(F.broadcast(cat), "product_id").where(F.col("_cat").isNotNull())
    end = _lit(stamp + pd.Timedelta(days=horizon_days))
    spend = (lines.where(F.col("ordered_at") < _lit(stamp)).groupBy("customer_id").pivot("_cat", list(categories))
             .agg(F.sum("net_amount")))
    bought = (lines.where((F.col("ordered_at") >= _lit(stamp)) & (F.col("ordered_at") < end))
              .groupBy("customer_id").pivot("_cat", list(categories)).agg(F.lit(True)))
    spend = spend.select("customer_id", *[F.col(f"`{c}`").alias(f"_s_{i}") for i, c in enumerate(categories)])
    bought = bought.select("customer_id", *[F.col(f"`{c}`").alias(f"_b_{i}") for i, c in enumerate(categories)])
    out = feats.join(spend, "customer_id", "left").join(bought, "customer_id", "left")
    s = [F.coalesce(F.col(f"_s_{i}"), F.lit(0.0)) for i in range(len(categories))]
    total = s[0]
    for term in s[1:]:
        total = total + term
    shares = [F.when(total != 0, s[i] / total).otherwise(F.lit(0.0)).alias(f"share_{c}")
              for i, c in enumerate(categories)]
    had = [(s[i] > 0).alias(f"had_{c}") for i, c in enumerate(categories)]
    buys = [F.coalesce(F.col(f"_b_{i}"), F.lit(False)).alias(f"buys_{c}") for i, c in enumerate(categories)]
    return out.select("customer_id", *FEATURE_COLUMNS, *shares, *[x for pair in zip(had, buys, strict=True) for x in pair])


def top_prospects(frame, model, *, top_n: int = 10) -> pd.DataFrame:
    """:func:`crmlib.targeting.top_prospects` of a fitted CategoryPropensity over a Spark category frame.

    Each customer is scored on the executors (``mapInPandas``, the model broadcast); the best
    ``top_n`` per category come from a window partitioned by category.

    Returns
    -------
    pandas.DataFrame
        ``category``, ``rank``, ``customer_id``, ``probability``, as the pandas function.
    """
    from pyspark.sql import SparkSession, Window
    from pyspark.sql import functions as F
    from pyspark.sql.types import DoubleType, LongType, StringType, StructField, StructType

    check_interval(top_n, 1, None, name="top_n", where="targeting.spark.top_prospects", integer=True,
                   closed="left")
    shared = SparkSession.getActiveSession().sparkContext.broadcast(model)
    schema = StructType([StructField("category", StringType()), StructField("customer_id", LongType()),
                         StructField("probability", DoubleType())])

    def predict(batches):
        fitted = shared.value
        for batch in batches:
            probs = fitted.predict(batch.set_index("customer_id"))
            long = probs.stack().dropna().rename("probability").reset_index()  # NaN: bought, or no model
            long.columns = ["customer_id", "category", "probability"]
            yield long[["category", "customer_id", "probability"]]

    scored = frame.mapInPandas(predict, schema)
    best = Window.partitionBy("category").orderBy(F.col("probability").desc(), F.col("customer_id").asc())
    top = scored.withColumn("rank", F.row_number().over(best)).where(F.col("rank") <= top_n)
    got = to_pandas(top.select("category", F.col("rank").cast("long"), "customer_id", "probability"))
    parts = []
    for c in model.categories_:
        part = got[got["category"] == c].sort_values("rank")
        parts.append(part)
    out = pd.concat(parts, ignore_index=True) if parts else got.iloc[:0]
    return out.astype({"rank": "int64", "customer_id": "int64", "probability": "float64"}).reset_index(drop=True)


# ---------------------------------------------------------------------------------- helpers
def check_frame(df, name: str, where: str) -> None:
    """Raise ParameterError unless ``df`` is a Spark DataFrame."""
    from pyspark.sql import DataFrame

    check_type(df, DataFrame, name=name, where=where, type_name="a Spark DataFrame")


def _wall_clock(df):
    """Timestamps as ``timestamp_ntz``: naive wall-clock times, as the pandas path has them."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import TimestampType

    cols = [F.col(f.name).cast("timestamp_ntz").alias(f.name) if isinstance(f.dataType, TimestampType)
            else F.col(f.name) for f in df.schema.fields]
    return df.select(*cols)


def _lit(ts: pd.Timestamp):
    """A wall-clock timestamp literal (no time zone involved)."""
    from pyspark.sql import functions as F

    return F.lit(pd.Timestamp(ts).isoformat(sep=" ")).cast("timestamp_ntz")


def _kahan(array, value):
    """Kahan-compensated sum and count of ``value(x)`` over ``array``, nulls and NaN skipped:
    pandas' groupby sum and mean, step for step (struct ``s``, ``c``, ``n``)."""
    from pyspark.sql import functions as F

    init = F.struct(F.lit(0.0).alias("s"), F.lit(0.0).alias("c"), F.lit(0).cast("long").alias("n"))

    def step(acc, x):
        v = value(x).cast("double")
        y = v - acc["c"]
        t = acc["s"] + y
        c = (t - acc["s"]) - y
        added = F.struct(t.alias("s"), F.when(F.isnan(c), F.lit(0.0)).otherwise(c).alias("c"),
                         (acc["n"] + 1).alias("n"))
        return F.when(v.isNull() | F.isnan(v), acc).otherwise(added)

    return F.aggregate(array, init, step)


def _micros(start, end):
    """Microseconds from ``start`` to ``end`` as double."""
    from pyspark.sql import functions as F

    return F.timestamp_diff("MICROSECOND", start, end).cast("double")
