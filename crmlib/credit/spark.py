"""Payment behaviour per customer on Spark, with crmlib.credit's definitions, from the mart.

The same features as :mod:`crmlib.credit.features`, computed on Spark DataFrames read from the
mart's ``fact_invoices``, ``fact_payments`` and ``dim_customer``:

- :func:`invoice_status`: per invoice issued before ``as_of``, what was paid before it, when it
  was paid in full, days past due, late, matured and default flags;
- :func:`payment_behaviour`: per customer counts, shares, days past due, defaults, balances and
  the shrunk (empirical-Bayes) shares;
- :func:`customer_attributes`: age, tenure, their bands and the customer categories;
- :func:`purchase_behaviour`: orders, discount use and the channel kind used most, from the
  mart's ``fact_sales`` and ``dim_channel`` (orders are counted from their lines, so an order
  without lines, which the sample never has, counts in the pandas path only);
- :func:`customer_features`: attributes joined with payment (and, given ``sales``, purchase)
  behaviour, one row per customer created before the cutoff.

Definitions are taken from crmlib.credit, not copied: required columns, band edges, the recent
window, the shrinkage formula and its weight, the parameter checks (``cutoff``,
``default_days``) and, in :func:`to_pandas`, the categories. Timestamps are compared as
wall-clock times (``timestamp_ntz``), as the pandas path does with naive datetimes.

>>> from crmlib.spark import get_session; from crmlib.credit import spark as sc  # doctest: +SKIP
>>> invoices, payments, customers = sc.read_tables(get_session(), "data/mart")  # doctest: +SKIP
>>> X = sc.to_pandas(sc.customer_features(invoices, payments, customers,
...                                       cutoff="2025-03-01"))              # doctest: +SKIP
"""

from __future__ import annotations

import pandas as pd

from .._validation import check_columns, check_type
from ..definitions import as_timestamp
from ..errors import DataContractError
from ..mart import table_path
from . import features as _features
from ._common import CUSTOMER_COLUMNS, INVOICE_COLUMNS, PAYMENT_COLUMNS, check_default_days

__all__ = [
    "MART_TABLES",
    "customer_attributes",
    "credit_dtypes",
    "customer_features",
    "features_from_mart",
    "invoice_status",
    "payment_behaviour",
    "purchase_behaviour",
    "read_sales",
    "read_tables",
    "timestamp_literal",
    "to_pandas",
    "wall_clock",
]

#: The mart tables read, and the crmlib.credit columns each must have.
MART_TABLES = {"fact_invoices": INVOICE_COLUMNS, "fact_payments": PAYMENT_COLUMNS,
               "dim_customer": CUSTOMER_COLUMNS}
_OPTIONAL_ATTRIBUTES = ("gender", "marital_status", "region", "acquisition_channel", "contact_preference")
_SALES_COLUMNS = ("order_id", "customer_id", "ordered_at", "channel_id", "discount")
_INT_COLUMNS = ("invoices", "invoices_12m", "due_invoices", "late_invoices", "matured_invoices", "defaults",
                "orders")
_BOOL_COLUMNS = ("is_due", "is_late", "is_matured", "is_default", "repeat_defaulter")
_MICROS_PER_DAY = 86_400_000_000.0
# a payment settles an invoice when the running total is within half a cent of the amount billed
_SETTLE_TOLERANCE = 0.005


def read_tables(spark, mart):
    """The mart's invoices, payments and customers as Spark DataFrames, timestamps as wall-clock.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
    mart : str or path
        The Parquet mart written by ``crmlib mart export``.

    Returns
    -------
    (pyspark.sql.DataFrame, pyspark.sql.DataFrame, pyspark.sql.DataFrame)
        ``fact_invoices``, ``fact_payments``, ``dim_customer``; every timestamp column as
        ``timestamp_ntz``.

    Raises
    ------
    DataContractError
        A table is missing from the mart or lacks a column crmlib.credit needs.
    """
    return tuple(_read(spark, mart, table, required, "read_tables") for table, required in MART_TABLES.items())


def read_sales(spark, mart):
    """The mart's order lines and channels for :func:`purchase_behaviour`.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
    mart : str or path

    Returns
    -------
    (pyspark.sql.DataFrame, pyspark.sql.DataFrame)
        ``fact_sales`` (timestamps as ``timestamp_ntz``) and ``dim_channel``.

    Raises
    ------
    DataContractError
        A table is missing from the mart or lacks a needed column.
    """
    return (_read(spark, mart, "fact_sales", _SALES_COLUMNS, "read_sales"),
            _read(spark, mart, "dim_channel", ("channel_id", "kind"), "read_sales"))


def invoice_status(invoices, payments, *, as_of, default_days: int = 90):
    """The payment state of each invoice issued before ``as_of`` (crmlib.credit.features.invoice_status).

    Parameters
    ----------
    invoices : pyspark.sql.DataFrame
        ``invoice_id, customer_id, issued_at, due_at, amount``.
    payments : pyspark.sql.DataFrame
        ``invoice_id, paid_at, amount``; several payments per invoice add up.
    as_of : str or datetime-like
        Only invoices issued and payments made strictly before this moment count.
    default_days : int, default=90
        An invoice is in default when it is not paid in full more than ``default_days`` days
        after its due date.

    Returns
    -------
    pyspark.sql.DataFrame
        The invoice columns and ``paid_amount`` (double), ``paid_at`` (null if not paid in full by
        ``as_of``), ``open_amount``, ``is_due``, ``days_past_due`` (double), ``is_late``,
        ``is_matured``, ``is_default`` (boolean), as crmlib.credit defines them.

    Raises
    ------
    DataContractError
        A required column is missing.
    ParameterError
        ``as_of`` is not a date, ``default_days`` is outside [1, 365] or an input is not a
        Spark DataFrame.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    where = "credit.spark.invoice_status"
    as_of = as_timestamp(as_of, name="as_of", where=where)
    default_days = check_default_days(default_days, where=where)
    _check_frame(invoices, "invoices", INVOICE_COLUMNS, where)
    _check_frame(payments, "payments", PAYMENT_COLUMNS, where)
    at = timestamp_literal(as_of)
    inv = wall_clock(invoices).where(F.col("issued_at") < at).select(*INVOICE_COLUMNS)
    pay = (wall_clock(payments).where(F.col("paid_at") < at)
           .select("invoice_id", "paid_at", F.col("amount").alias("_paid"))
           .join(inv.select("invoice_id", F.col("amount").alias("_billed")), "invoice_id"))
    # paid by the end of each payment's moment; equal moments count together, so the moment the
    # invoice is settled does not depend on the order of payments made at the same time
    upto = Window.partitionBy("invoice_id").orderBy("paid_at").rangeBetween(Window.unboundedPreceding, 0)
    pay = pay.withColumn("_cum", F.sum("_paid").over(upto))
    per = pay.groupBy("invoice_id").agg(
        F.sum("_paid").alias("paid_amount"),
        F.min(F.when(F.col("_cum") >= F.col("_billed") - _SETTLE_TOLERANCE, F.col("paid_at"))).alias("paid_at"))
    out = inv.join(per, "invoice_id", "left")
    settled = F.col("paid_at").isNotNull()
    due = F.col("due_at") < at
    days = _days(F.col("due_at"), F.coalesce(F.col("paid_at"), at))
    limit = F.col("due_at") + F.expr(f"INTERVAL {default_days} DAYS")
    out = (out.withColumn("paid_amount", F.coalesce(F.col("paid_amount"), F.lit(0.0)).cast("double"))
           .withColumn("open_amount", F.when(settled, F.lit(0.0))
                       .otherwise(F.greatest(F.col("amount") - F.col("paid_amount"), F.lit(0.0))).cast("double"))
           .withColumn("is_due", due)
           .withColumn("days_past_due", F.when(due, F.greatest(days, F.lit(0.0))).otherwise(F.lit(0.0)))
           .withColumn("is_late", F.col("is_due") & (F.col("days_past_due") > 0))
           .withColumn("is_matured", limit < at)
           .withColumn("is_default", F.col("is_matured")
                       & ~F.coalesce(settled & (F.col("paid_at") <= limit), F.lit(False))))
    return out.select(*INVOICE_COLUMNS, "paid_amount", "paid_at", "open_amount", "is_due",
                      "days_past_due", "is_late", "is_matured", "is_default")


def payment_behaviour(invoices, payments, *, cutoff, default_days: int = 90):
    """Payment behaviour per customer before ``cutoff`` (crmlib.credit.features.payment_behaviour).

    Parameters
    ----------
    invoices, payments : pyspark.sql.DataFrame
        As for :func:`invoice_status`.
    cutoff : str or datetime-like
        The moment the features describe; nothing at or after it is used.
    default_days : int, default=90
        Days past due after which an unpaid invoice counts as a default.

    Returns
    -------
    pyspark.sql.DataFrame
        ``customer_id`` and crmlib.credit.features.BEHAVIOUR_COLUMNS, one row per customer with
        an invoice before ``cutoff``; counts long, ``repeat_defaulter`` boolean, the rest double
        (null where the pandas path has NaN).

    Raises
    ------
    DataContractError, ParameterError
        As for :func:`invoice_status`.
    """
    from pyspark.sql import functions as F

    where = "credit.spark.payment_behaviour"
    cutoff = as_timestamp(cutoff, name="cutoff", where=where)
    st = invoice_status(invoices, payments, as_of=cutoff, default_days=default_days)
    at = timestamp_literal(cutoff)
    due, late = F.col("is_due"), F.col("is_due") & F.col("is_late")
    recent = F.col("due_at") >= timestamp_literal(cutoff - pd.Timedelta(days=_features.RECENT_DAYS))
    late01 = F.col("is_late").cast("double")
    # the population shares the adjusted rates shrink towards (0 when there is none, as pandas)
    priors = st.agg(F.coalesce(F.avg(F.when(due, late01)), F.lit(0.0)).alias("_p_late"),
                    F.coalesce(F.avg(F.when(F.col("is_matured"), F.col("is_default").cast("double"))),
                               F.lit(0.0)).alias("_p_default"))
    per = st.groupBy("customer_id").agg(
        F.count("*").alias("invoices"),
        F.count(F.when(F.col("issued_at") >= timestamp_literal(cutoff - pd.Timedelta(days=365)), 1)).alias("invoices_12m"),
        F.avg("amount").alias("amount_mean"),
        F.count(F.when(due, 1)).alias("due_invoices"),
        F.count(F.when(late, 1)).alias("late_invoices"),
        F.avg(F.when(due & recent, late01)).alias("share_late_6m"),
        F.avg(F.when(due & ~recent, late01)).alias("_late_before"),
        F.avg(F.when(due, F.col("days_past_due"))).alias("days_past_due_mean"),
        F.max(F.when(due, F.col("days_past_due"))).alias("days_past_due_max"),
        F.max(F.when(late, F.col("due_at"))).alias("_last_late"),
        F.count(F.when(F.col("is_matured"), 1)).alias("matured_invoices"),
        F.count(F.when(F.col("is_default"), 1)).alias("defaults"),
        F.sum("open_amount").alias("outstanding"),
        F.sum(F.when(due, F.col("open_amount")).otherwise(F.lit(0.0))).alias("past_due_balance"),
        F.max("issued_at").alias("_last_issued"))
    per = per.crossJoin(F.broadcast(priors))
    ratio = lambda k, n: F.when(F.col(n) > 0, F.col(k) / F.col(n).cast("double"))  # noqa: E731
    cols = {
        "share_late": ratio("late_invoices", "due_invoices"),
        "share_late_adj": _features.shrink(F.col("late_invoices"), F.col("due_invoices"), F.col("_p_late")),
        "late_trend": F.col("share_late_6m") - F.col("_late_before"),
        "days_since_late": _days(F.col("_last_late"), at),
        "default_rate": ratio("defaults", "matured_invoices"),
        "default_rate_adj": _features.shrink(F.col("defaults"), F.col("matured_invoices"), F.col("_p_default")),
        "repeat_defaulter": F.col("defaults") >= 2,
        "days_since_invoice": _days(F.col("_last_issued"), at),
    }
    return per.select("customer_id", *[
        cols[c].alias(c) if c in cols else
        F.col(c).cast("long" if c in _INT_COLUMNS else "double").alias(c)
        for c in _features.BEHAVIOUR_COLUMNS])


def customer_attributes(customers, *, as_of):
    """Age, tenure, their bands and the categories (crmlib.credit.features.customer_attributes).

    Parameters
    ----------
    customers : pyspark.sql.DataFrame
        ``customer_id, birth_date, created_at, income_band, occupation``; ``gender``,
        ``marital_status``, ``region``, ``acquisition_channel`` and ``contact_preference`` are
        used when present.
    as_of : str or datetime-like
        Customers created at or after it are left out.

    Returns
    -------
    pyspark.sql.DataFrame
        ``customer_id``, ``age`` (double, years), ``age_band``, ``tenure_days`` (double),
        ``tenure_band``, ``income_band``, ``occupation`` and the optional columns present
        (strings; missing text 'unknown' except ``income_band``, which :func:`to_pandas` turns
        into crmlib.credit's ordered category).

    Raises
    ------
    DataContractError, ParameterError
        A required column is missing; ``as_of`` is not a date.
    """
    from pyspark.sql import functions as F

    where = "credit.spark.customer_attributes"
    as_of = as_timestamp(as_of, name="as_of", where=where)
    _check_frame(customers, "customers", CUSTOMER_COLUMNS, where)
    at = timestamp_literal(as_of)
    c = wall_clock(customers).where(F.col("created_at") < at)
    age = _days(F.col("birth_date").cast("timestamp_ntz"), at) / 365.25
    tenure = _days(F.col("created_at"), at)
    text = lambda col: F.coalesce(F.col(col).cast("string"), F.lit("unknown"))  # noqa: E731
    optional = [text(col).alias(col) for col in _OPTIONAL_ATTRIBUTES if col in c.columns]
    return c.select("customer_id", age.alias("age"), _band(age, _features.AGE_BANDS).alias("age_band"),
                    tenure.alias("tenure_days"), _band(tenure, _features.TENURE_BANDS).alias("tenure_band"),
                    F.col("income_band").cast("string").alias("income_band"),
                    text("occupation").alias("occupation"), *optional)


def purchase_behaviour(sales, channels=None, *, cutoff):
    """Ordering habits before ``cutoff`` (crmlib.credit.features.purchase_behaviour).

    Parameters
    ----------
    sales : pyspark.sql.DataFrame
        Order lines: ``order_id, customer_id, ordered_at, channel_id, discount`` (the mart's
        ``fact_sales``; every status counts, as in the pandas path).
    channels : pyspark.sql.DataFrame, optional
        ``channel_id, kind`` for ``order_channel``.
    cutoff : str or datetime-like

    Returns
    -------
    pyspark.sql.DataFrame
        ``customer_id``, ``orders`` (long), ``discount_share`` (share of order lines bought at a
        discount) and, with ``channels``, ``order_channel`` (the kind of most orders; ties go to
        the first kind in alphabetical order, as pandas' ``idxmax`` over a crosstab).

    Raises
    ------
    DataContractError, ParameterError
        A required column is missing; ``cutoff`` is not a date.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    where = "credit.spark.purchase_behaviour"
    cutoff = as_timestamp(cutoff, name="cutoff", where=where)
    _check_frame(sales, "sales", _SALES_COLUMNS, where)
    lines = wall_clock(sales).where(F.col("ordered_at") < timestamp_literal(cutoff))
    discounted = F.coalesce(F.col("discount") > 0, F.lit(False)).cast("double")  # NaN > 0 is False
    out = lines.groupBy("customer_id").agg(F.countDistinct("order_id").alias("orders"),
                                           F.avg(discounted).alias("discount_share"))
    if channels is None:
        return out
    _check_frame(channels, "channels", ("channel_id", "kind"), where)
    kinds = channels.select("channel_id", F.col("kind").cast("string").alias("kind"))
    per_kind = (lines.select("order_id", "customer_id", "channel_id").distinct()
                .join(F.broadcast(kinds), "channel_id")
                .groupBy("customer_id", "kind").agg(F.count("*").alias("_n")))
    first = Window.partitionBy("customer_id").orderBy(F.col("_n").desc(), F.col("kind"))
    top = (per_kind.withColumn("_rank", F.row_number().over(first)).where(F.col("_rank") == 1)
           .select("customer_id", F.col("kind").alias("order_channel")))
    return out.join(top, "customer_id", "left")


def customer_features(invoices, payments, customers, *, cutoff, default_days: int = 90, sales=None,
                      channels=None):
    """One row per customer created before ``cutoff``: attributes, payment and purchase behaviour.

    Parameters
    ----------
    invoices, payments : pyspark.sql.DataFrame
        As for :func:`invoice_status`; only rows before ``cutoff`` are used.
    customers : pyspark.sql.DataFrame
        As for :func:`customer_attributes`.
    cutoff : str or datetime-like
    default_days : int, default=90
    sales, channels : pyspark.sql.DataFrame, optional
        Adds the :func:`purchase_behaviour` columns when ``sales`` is given (the pandas path's
        ``orders``, ``order_lines`` and ``channels``).

    Returns
    -------
    pyspark.sql.DataFrame
        ``customer_id``, the :func:`customer_attributes` columns, the :func:`payment_behaviour`
        columns (counts and balances 0, rates null for customers without invoices) and, with
        ``sales``, the :func:`purchase_behaviour` columns (``orders`` 0 and ``order_channel``
        'unknown' without orders), as crmlib.credit.features.customer_features. Unsorted;
        :func:`to_pandas` sorts by ``customer_id``.

    Raises
    ------
    DataContractError, ParameterError
        As for :func:`invoice_status` and :func:`customer_attributes`.
    """
    from pyspark.sql import functions as F

    where = "credit.spark.customer_features"
    cutoff = as_timestamp(cutoff, name="cutoff", where=where)
    attrs = customer_attributes(customers, as_of=cutoff)
    behaviour = payment_behaviour(invoices, payments, cutoff=cutoff, default_days=default_days)
    out = attrs.join(behaviour, "customer_id", "left")
    if sales is not None:
        out = out.join(purchase_behaviour(sales, channels, cutoff=cutoff), "customer_id", "left")
    zero = {**{c: 0 for c in _INT_COLUMNS}, "outstanding": 0.0, "past_due_balance": 0.0,
            "repeat_defaulter": False}
    return out.select(*[F.coalesce(F.col(c), F.lit(zero[c])).alias(c) if c in zero else F.col(c)
                        for c in out.columns])


def to_pandas(frame) -> pd.DataFrame:
    """A Spark result of this module as crmlib.credit returns it: dtypes, categories, row order.

    Parameters
    ----------
    frame : pyspark.sql.DataFrame
        The output of :func:`invoice_status`, :func:`payment_behaviour`,
        :func:`customer_attributes` or :func:`customer_features`.

    Returns
    -------
    pandas.DataFrame
        Sorted by ``invoice_id`` (invoice status) or ``customer_id``; counts int64, flags bool,
        timestamps datetime64[us], bands and text as crmlib.credit's categories.
    """
    df = frame.toPandas()
    key = "invoice_id" if "invoice_id" in df.columns else "customer_id"
    return credit_dtypes(df.sort_values(key, kind="stable").reset_index(drop=True))


def credit_dtypes(df: pd.DataFrame) -> pd.DataFrame:
    """The dtypes crmlib.credit gives its columns, on a frame Spark brought back (``toPandas``).

    Counts int64, flags bool, timestamps datetime64[us], bands and text as crmlib.credit's
    categories, other numbers float64; columns this module does not make are left as they are.
    Changes ``df`` in place and returns it.
    """
    for col in df.columns:
        if col in _INT_COLUMNS:
            df[col] = df[col].astype("int64")
        elif col in _BOOL_COLUMNS:
            df[col] = df[col].astype(bool)
        elif col in ("issued_at", "due_at", "paid_at", "snapshot"):
            df[col] = pd.to_datetime(df[col]).astype("datetime64[us]")
        elif col in ("age_band", "tenure_band"):
            bands = _features.AGE_BANDS if col == "age_band" else _features.TENURE_BANDS
            df[col] = pd.Categorical(df[col], categories=[b[1] for b in bands], ordered=True)
        elif col == "income_band":
            df[col] = _features.income_category(df[col])
        elif col in ("occupation", "order_channel", *_OPTIONAL_ATTRIBUTES):
            df[col] = _features.category(df[col])
        elif col in ("customer_id", "invoice_id", "invoices_next", "defaults_next"):
            df[col] = df[col].astype("int64")
        elif pd.api.types.is_numeric_dtype(df[col]) and not pd.api.types.is_bool_dtype(df[col]):
            df[col] = df[col].astype("float64")
    return df


def features_from_mart(spark, mart, *, cutoff, default_days: int = 90, purchases: bool = True) -> pd.DataFrame:
    """:func:`crmlib.credit.features.customer_features`' frame computed on Spark from the mart.

    Reads ``fact_invoices``, ``fact_payments``, ``dim_customer`` and, with ``purchases``,
    ``fact_sales`` and ``dim_channel``; only the one-row-per-customer result comes back.
    """
    inv, pay, cus = read_tables(spark, mart)
    sales, kinds = read_sales(spark, mart) if purchases else (None, None)
    return to_pandas(customer_features(inv, pay, cus, cutoff=cutoff, default_days=default_days,
                                       sales=sales, channels=kinds))


# ---------------------------------------------------------------------- helpers
def _read(spark, mart, table, required, caller):
    from pyspark.errors import AnalysisException

    root = str(mart).rstrip("/")
    try:
        df = spark.read.parquet(table_path(mart, table))
    except AnalysisException as err:
        raise DataContractError(
            f"credit.spark.{caller}: the mart at {root!r} has no readable table {table!r} "
            f"(run `crmlib mart export`); Spark said: {str(err).splitlines()[0]}", table=table) from err
    check_columns(df, required, where=f"credit.spark.{caller}({table})")
    return wall_clock(df)


def _check_frame(df, name, required, where):
    from pyspark.sql import DataFrame

    check_type(df, DataFrame, name=name, where=where, type_name="a Spark DataFrame")
    check_columns(df, required, where=f"{where}({name})")


def wall_clock(df):
    """Timestamps as ``timestamp_ntz``: naive wall-clock times, as the pandas path has them."""
    from pyspark.sql import functions as F
    from pyspark.sql.types import TimestampType

    cols = [F.col(f.name).cast("timestamp_ntz").alias(f.name) if isinstance(f.dataType, TimestampType)
            else F.col(f.name) for f in df.schema.fields]
    return df.select(*cols)


def timestamp_literal(ts: pd.Timestamp):
    """A wall-clock timestamp literal (no time zone involved)."""
    from pyspark.sql import functions as F

    return F.lit(ts.isoformat(sep=" ")).cast("timestamp_ntz")


def _days(start, end):
    """Fractional days from ``start`` to ``end`` (both timestamp_ntz), like pandas' ``(end - start) / DAY``."""
    from pyspark.sql import functions as F

    return F.timestamp_diff("MICROSECOND", start, end).cast("double") / _MICROS_PER_DAY


def _band(value, bands):
    """The label of the last band whose lower bound is <= ``value``; below the first, the first band."""
    from pyspark.sql import functions as F

    out = F.when(value.isNull() | F.isnan(value), F.lit(None).cast("string"))
    for low, label in reversed(bands[1:]):
        out = out.when(value >= low, F.lit(label))
    return out.otherwise(F.lit(bands[0][1]))
