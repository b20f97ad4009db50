"""Company-level sales KPIs for the overview report: revenue per order line, month and channel.

DataFrames in, DataFrames out; no I/O.
"""

from __future__ import annotations

import pandas as pd

from . import definitions
from ._validation import check_columns
from .definitions import REVENUE_STATUSES

__all__ = ["line_revenue", "revenue_by", "summary"]

ORDER_COLUMNS = ("order_id", "customer_id", "channel_id", "ordered_at", "status")
LINE_COLUMNS = ("order_id", "quantity", "unit_price", "discount")


def line_revenue(orders: pd.DataFrame, order_lines: pd.DataFrame, *,
                 statuses: tuple[str, ...] = REVENUE_STATUSES) -> pd.DataFrame:
    """One row per order line of an order with one of ``statuses``, with its revenue after discount.

    ``statuses`` defaults to :data:`crmlib.definitions.REVENUE_STATUSES` (completed and open) and
    the revenue is :func:`crmlib.definitions.line_revenue`.

    Returns
    -------
    pandas.DataFrame
        The order columns plus ``quantity``, ``unit_price``, ``discount`` and ``revenue`` (float64).
    """
    check_columns(orders, ORDER_COLUMNS, where="kpis.line_revenue(orders)")
    check_columns(order_lines, LINE_COLUMNS, where="kpis.line_revenue(order_lines)")
    kept = orders[orders["status"].isin(statuses)][list(ORDER_COLUMNS)]
    lines = order_lines[list(LINE_COLUMNS)].merge(kept, on="order_id", how="inner")
    lines["revenue"] = definitions.line_revenue(lines["quantity"], lines["unit_price"], lines["discount"])
    return lines


def revenue_by(lines: pd.DataFrame, by: str | list[str], *, freq: str | None = None) -> pd.DataFrame:
    """Revenue, orders and customers grouped by columns and, with ``freq`` ('M', 'Q', ...), by period.

    Returns
    -------
    pandas.DataFrame
        The group columns (and ``period`` as a timestamp), ``revenue``, ``orders``, ``customers``.
    """
    keys = [by] if isinstance(by, str) else list(by)
    frame = lines
    if freq:
        frame = lines.assign(period=lines["ordered_at"].dt.to_period(freq).dt.to_timestamp())
        keys = ["period", *keys]
    out = frame.groupby(keys, observed=True).agg(
        revenue=("revenue", "sum"), orders=("order_id", "nunique"), customers=("customer_id", "nunique"))
    return out.reset_index()


def summary(customers: pd.DataFrame, lines: pd.DataFrame) -> pd.Series:
    """Headline numbers: customers, active customers, orders, revenue, average order value."""
    orders = lines["order_id"].nunique()
    revenue = float(lines["revenue"].sum())
    return pd.Series(dtype=object, data={  # object: counts stay integers next to money
        "customers": len(customers),
        "active_customers": lines["customer_id"].nunique(),
        "orders": orders,
        "revenue": round(revenue, 2),
        "average_order_value": round(revenue / orders, 2) if orders else 0.0,
    })
