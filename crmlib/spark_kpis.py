"""The overview's KPIs (:mod:`crmlib.kpis`) on Spark: revenue lines from the mart, aggregated there.

Same definitions as :mod:`crmlib.kpis`: a revenue line is an order line of an order whose status is
in :data:`crmlib.definitions.REVENUE_STATUSES`, worth ``net_amount`` (the mart's
:func:`crmlib.definitions.line_revenue`). The lines stay a Spark DataFrame; only the aggregates
(one headline row, one row per month or per channel) come back to pandas.

Money is summed as ``DECIMAL(38, 12)`` (exact, whatever order Spark adds the lines in) and
returned as float64, so the headline rounds to the same cent as the pandas sum.
"""

from __future__ import annotations

import pandas as pd

from .definitions import REVENUE_STATUSES, as_timestamp
from .errors import EmptyDataError

__all__ = ["line_revenue", "revenue_by", "summary"]

_LINE_COLUMNS = ("order_id", "customer_id", "channel_id", "ordered_at", "status", "quantity", "unit_price",
                 "discount")
_FREQ = {"M": "month", "MS": "month", "Q": "quarter", "QS": "quarter", "Y": "year", "YS": "year",
         "A": "year", "D": "day", "W": "week"}
_MONEY = "decimal(38,12)"


def line_revenue(sales, *, since=None, until=None, statuses: tuple[str, ...] = REVENUE_STATUSES,
                 channels: pd.DataFrame | None = None):
    """Revenue lines as a Spark DataFrame (:func:`crmlib.kpis.line_revenue`'s rows, on Spark).

    Parameters
    ----------
    sales : pyspark.sql.DataFrame
        The mart's ``fact_sales``.
    since, until : date-like, optional
        Orders with ``since <= ordered_at < until`` (as ``crm.orders(since=, until=)``).
    statuses : tuple of str, default=REVENUE_STATUSES
    channels : pandas.DataFrame, optional
        ``channel_id`` and the columns to add (the overview passes ``channel`` and ``kind``); a
        small dimension, broadcast to the lines. Lines of a channel not in it are dropped, as the
        pandas merge does.

    Returns
    -------
    pyspark.sql.DataFrame
        ``order_id``, ``customer_id``, ``channel_id``, ``ordered_at``, ``status``, ``quantity``,
        ``unit_price``, ``discount``, ``revenue`` (double), then the ``channels`` columns.
    """
    from pyspark.sql import functions as F

    lines = sales.where(F.col("status").isin(list(statuses)))
    for bound, op in ((since, "__ge__"), (until, "__lt__")):
        if bound is not None:
            ts = as_timestamp(bound, name="since" if op == "__ge__" else "until", where="spark_kpis.line_revenue")
            lines = lines.where(getattr(F.col("ordered_at"), op)(F.lit(ts.to_pydatetime()).cast("timestamp_ntz")))
            # the month partitions outside the window are not read at all
            month = ts.strftime("%Y-%m")
            lines = lines.where(F.col("month") >= month if op == "__ge__" else F.col("month") <= month)
    lines = lines.select(*_LINE_COLUMNS, F.col("net_amount").alias("revenue"))
    if channels is not None:
        small = channels.copy()
        for col in small.columns:  # categories and pandas strings as plain values for Spark
            if col != "channel_id":
                small[col] = small[col].astype(object).where(small[col].notna(), None)
        small["channel_id"] = small["channel_id"].astype("int64")
        dim = sales.sparkSession.createDataFrame(small)
        lines = lines.join(F.broadcast(dim), on="channel_id", how="inner").select(
            *_LINE_COLUMNS, "revenue", *[c for c in channels.columns if c != "channel_id"])
    return lines


def _period(freq: str):
    from pyspark.sql import functions as F

    unit = _FREQ.get(freq.upper())
    if unit is None:
        from .errors import ParameterError

        raise ParameterError(f"spark_kpis.revenue_by: 'freq' must be one of {sorted(_FREQ)} or None; got {freq!r}.",
                             name="freq")
    return F.date_trunc(unit, F.col("ordered_at")).cast("timestamp_ntz").alias("period")


def revenue_by(lines, by: str | list[str], *, freq: str | None = None, dtypes: dict | None = None) -> pd.DataFrame:
    """Revenue, orders and customers by columns and, with ``freq``, by period (:func:`crmlib.kpis.revenue_by`).

    Parameters
    ----------
    lines : pyspark.sql.DataFrame
        :func:`line_revenue`'s lines.
    by : str or list of str
    freq : {'M', 'Q', 'Y', 'W', 'D'}, optional
    dtypes : dict, optional
        pandas dtypes to give group columns (a category, as the pandas frame has).

    Returns
    -------
    pandas.DataFrame
        The group columns (``period`` first, datetime64), ``revenue`` (float64), ``orders``,
        ``customers`` (int64), sorted by the group columns as pandas' groupby sorts them.
    """
    from pyspark.sql import functions as F

    keys = [by] if isinstance(by, str) else list(by)
    cols = [F.col(k) for k in keys]
    if freq:
        cols = [_period(freq), *cols]
    out = (lines.groupBy(*cols)
           .agg(F.sum(F.col("revenue").cast(_MONEY)).cast("double").alias("revenue"),
                F.countDistinct("order_id").alias("orders"), F.countDistinct("customer_id").alias("customers"))
           .toPandas())
    names = (["period"] if freq else []) + keys
    if freq:
        out["period"] = pd.to_datetime(out["period"]).astype("datetime64[us]")  # as the pandas path
    for col, dtype in (dtypes or {}).items():
        if col in out:
            out[col] = out[col].astype(dtype)
    out = out.dropna(subset=names) if names else out  # pandas' groupby drops missing keys
    out["revenue"] = out["revenue"].astype("float64")
    for col in ("orders", "customers"):
        out[col] = out[col].astype("int64")
    out = out.sort_values(names, kind="stable") if names else out
    return out[[*names, "revenue", "orders", "customers"]].reset_index(drop=True)


def summary(n_customers: int, lines) -> pd.Series:
    """Headline numbers (:func:`crmlib.kpis.summary`) from one Spark aggregation over ``lines``.

    Parameters
    ----------
    n_customers : int
        Customers in the CRM (``dim_customer``'s rows).
    lines : pyspark.sql.DataFrame
        :func:`line_revenue`'s lines.

    Raises
    ------
    EmptyDataError
        No revenue line (the pandas path raises on an empty order table).
    """
    from pyspark.sql import functions as F

    row = lines.agg(F.countDistinct("order_id").alias("orders"),
                    F.countDistinct("customer_id").alias("active"),
                    F.sum(F.col("revenue").cast(_MONEY)).alias("revenue")).first()
    orders = int(row["orders"])
    if not orders:
        raise EmptyDataError("spark_kpis.summary: no order line of a revenue order in the mart's fact_sales "
                             "(in the window asked for)", table="fact_sales")
    revenue = float(row["revenue"])
    return pd.Series(dtype=object, data={
        "customers": int(n_customers),
        "active_customers": int(row["active"]),
        "orders": orders,
        "revenue": round(revenue, 2),
        "average_order_value": round(revenue / orders, 2) if orders else 0.0,
    })
