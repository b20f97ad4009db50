"""Profit per customer: margin from order lines and product unit costs, tiers and the Pareto view."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._validation import check_frame, check_interval, examples
from ..definitions import NON_PURCHASE_STATUSES, as_day, line_revenue, wall_clock
from ..errors import DataContractError, ParameterError
from .features import LINE_COLUMNS, ORDER_COLUMNS

__all__ = ["TIERS", "customer_margin", "pareto_curve", "profit_tiers", "tier_summary"]

#: Profit tiers, best first.
TIERS: tuple[str, ...] = ("high", "medium", "low")


def customer_margin(orders, order_lines, products, *, as_of=None,
                    exclude_status=NON_PURCHASE_STATUSES) -> pd.DataFrame:
    """Revenue, cost and margin per customer.

    Revenue of a line is ``quantity * unit_price * (1 - discount)`` (the price paid), cost is
    ``quantity * products.unit_cost``; returns (negative quantities) subtract both.

    Parameters
    ----------
    orders, order_lines : pandas.DataFrame
        Canonical tables; ``order_lines`` needs ``product_id``.
    products : pandas.DataFrame
        ``product_id, unit_cost``.
    as_of : date-like, optional
        Orders after this day are ignored. Default: all orders.
    exclude_status : tuple of str, default=('cancelled', 'returned')
        Order statuses left out.

    Returns
    -------
    pandas.DataFrame
        One row per customer with a kept order, sorted by ``customer_id``: ``customer_id``,
        ``orders`` (int), ``revenue``, ``cost``, ``margin`` (float), ``margin_rate`` (float,
        margin / revenue; NaN when revenue is not positive).

    Raises
    ------
    DataContractError
        A line's ``product_id`` is not in ``products`` or has no ``unit_cost``.

    Examples
    --------
    >>> orders = pd.DataFrame({"order_id": [1], "customer_id": [7],
    ...                        "ordered_at": pd.to_datetime(["2025-01-02"]), "status": ["completed"]})
    >>> lines = pd.DataFrame({"order_id": [1], "product_id": [3], "quantity": [2],
    ...                       "unit_price": [10.0], "discount": [0.0]})
    >>> products = pd.DataFrame({"product_id": [3], "unit_cost": [6.0]})
    >>> customer_margin(orders, lines, products)[["customer_id", "revenue", "cost", "margin"]]
       customer_id  revenue  cost  margin
    0            7     20.0  12.0     8.0
    """
    where = "segments.customer_margin"
    check_frame(orders, ORDER_COLUMNS, where=where, name="orders")
    check_frame(order_lines, (*LINE_COLUMNS, "product_id"), where=where, name="order_lines")
    check_frame(products, ("product_id", "unit_cost"), where=where, name="products")
    kept = orders.loc[~orders["status"].astype(object).isin(list(exclude_status)),
                      ["order_id", "customer_id", "ordered_at"]].copy()
    if as_of is not None:
        day = as_day(as_of, where=where)
        kept = kept[wall_clock(kept["ordered_at"]).dt.normalize() <= day]
    lines = order_lines.merge(kept[["order_id", "customer_id"]], on="order_id", how="inner")
    cost = products.drop_duplicates("product_id").set_index("product_id")["unit_cost"].astype(float)
    unit_cost = lines["product_id"].map(cost)
    if unit_cost.isna().any():
        bad = pd.unique(lines.loc[unit_cost.isna(), "product_id"])
        raise DataContractError(f"{where}: {len(bad)} product(s) in order_lines have no unit_cost "
                                f"(e.g. {examples(bad)}).", table="products", column="unit_cost")
    qty = lines["quantity"].astype(float)
    lines = lines.assign(
        revenue=line_revenue(qty, lines["unit_price"].astype(float), lines["discount"].astype(float)),
        cost=qty * unit_cost,
    )
    g = lines.groupby("customer_id")
    out = pd.DataFrame({"revenue": g["revenue"].sum(), "cost": g["cost"].sum()})
    out["orders"] = kept.groupby("customer_id").size().reindex(out.index)
    no_lines = kept.loc[~kept["customer_id"].isin(out.index), "customer_id"].unique()
    if len(no_lines):
        extra = pd.DataFrame({"revenue": 0.0, "cost": 0.0}, index=pd.Index(no_lines, name="customer_id"))
        extra["orders"] = kept.groupby("customer_id").size().reindex(extra.index)
        out = pd.concat([out, extra])
    out["orders"] = out["orders"].fillna(0).astype(int)
    out["margin"] = out["revenue"] - out["cost"]
    out["margin_rate"] = out["margin"] / out["revenue"].where(out["revenue"] > 0)
    out.index = out.index.rename("customer_id")
    out = out.sort_index().reset_index()
    return out[["customer_id", "orders", "revenue", "cost", "margin", "margin_rate"]]


def _ranked(margin: pd.DataFrame, value: str) -> pd.DataFrame:
    out = margin.sort_values([value, "customer_id"], ascending=[False, True], kind="stable")
    return out.reset_index(drop=True)


def profit_tiers(margin, *, high=0.2, medium=0.3, value="margin") -> pd.DataFrame:
    """Rank customers by margin and cut them into high / medium / low profit tiers.

    The top ``high`` share of customers (by count, ranked by ``value``, ties broken by
    ``customer_id``) is 'high', the next ``medium`` share 'medium', the rest 'low'. Customers with
    a negative margin are always 'low'.

    Parameters
    ----------
    margin : pandas.DataFrame
        ``customer_id`` and the ``value`` column (the output of :func:`customer_margin`).
    high : float, default=0.2
        Share of customers in the high tier, in (0, 1].
    medium : float, default=0.3
        Share of customers in the medium tier, in [0, 1 - high].
    value : str, default='margin'
        Column to rank by.

    Returns
    -------
    pandas.DataFrame
        The input rows sorted by ``value`` descending, plus ``rank`` (int, 1 = most profitable),
        ``tier`` (ordered categorical high > medium > low), ``cum_customer_share`` and
        ``cum_value_share`` (float, running share of customers and of the total ``value``).

    Examples
    --------
    >>> m = pd.DataFrame({"customer_id": [1, 2, 3, 4, 5], "margin": [50.0, 30.0, 10.0, 5.0, 5.0]})
    >>> profit_tiers(m, high=0.2, medium=0.4)[["customer_id", "tier"]].T.values.tolist()
    [[1, 2, 3, 4, 5], ['high', 'medium', 'medium', 'low', 'low']]
    """
    where = "segments.profit_tiers"
    check_frame(margin, ("customer_id", value), where=where, name="margin")
    check_interval(high, 0, 1, name="high", where=where, closed="right")
    check_interval(medium, 0, 1, name="medium", where=where)
    if high + medium > 1 + 1e-12:
        raise ParameterError(f"{where}: 'high' + 'medium' must be <= 1; got {high} + {medium}.",
                             name="medium")
    out = _ranked(margin, value)
    n = len(out)
    out["rank"] = np.arange(1, n + 1)
    n_high = int(np.floor(high * n + 0.5))  # round half up: 2.5 customers -> 3
    n_medium = int(np.floor((high + medium) * n + 0.5)) - n_high
    tier = np.array(["low"] * n, dtype=object)
    tier[:n_high] = "high"
    tier[n_high:n_high + n_medium] = "medium"
    tier[out[value].to_numpy(dtype=float) < 0] = "low"
    out["tier"] = pd.Categorical(tier, categories=list(TIERS), ordered=True)
    total = out[value].sum()
    out["cum_customer_share"] = out["rank"] / n if n else np.nan
    out["cum_value_share"] = out[value].cumsum() / total if total > 0 else np.nan
    return out


def tier_summary(tiers, *, value="margin") -> pd.DataFrame:
    """Customers, profit and profit share per tier.

    Parameters
    ----------
    tiers : pandas.DataFrame
        Output of :func:`profit_tiers`.
    value : str, default='margin'

    Returns
    -------
    pandas.DataFrame
        Rows high, medium, low (all three, empty tiers with zeros): ``tier``, ``customers`` (int),
        ``customer_share``, ``<value>`` (sum), ``<value>_share`` (share of the total, NaN if the
        total is not positive), ``avg_<value>`` (float).

    Examples
    --------
    >>> m = pd.DataFrame({"customer_id": [1, 2, 3, 4, 5], "margin": [60.0, 20.0, 10.0, 5.0, 5.0]})
    >>> tier_summary(profit_tiers(m))[["tier", "customers", "margin_share"]]
         tier  customers  margin_share
    0    high          1           0.6
    1  medium          2           0.3
    2     low          2           0.1
    """
    where = "segments.tier_summary"
    check_frame(tiers, ("customer_id", "tier", value), where=where, name="tiers")
    g = tiers.groupby(tiers["tier"].astype(object))
    out = pd.DataFrame({"customers": g["customer_id"].size(), value: g[value].sum()})
    out = out.reindex(list(TIERS)).fillna(0.0)
    total_n = out["customers"].sum()
    total = out[value].sum()
    out["customers"] = out["customers"].astype(int)
    out["customer_share"] = out["customers"] / total_n if total_n else np.nan
    out[f"{value}_share"] = out[value] / total if total > 0 else np.nan
    out[f"avg_{value}"] = out[value] / out["customers"].where(out["customers"] > 0)
    out = out.rename_axis("tier").reset_index()
    return out[["tier", "customers", "customer_share", value, f"{value}_share", f"avg_{value}"]]


def pareto_curve(margin, *, value="margin") -> pd.DataFrame:
    """Cumulative share of profit against cumulative share of customers (most profitable first).

    Parameters
    ----------
    margin : pandas.DataFrame
        ``customer_id`` and ``value``.
    value : str, default='margin'

    Returns
    -------
    pandas.DataFrame
        ``customer_share`` and ``value_share`` (float), starting at (0, 0); ``value_share`` can
        pass 1 and come back down when some customers lose money. Empty input gives the (0, 0) row.

    Examples
    --------
    >>> m = pd.DataFrame({"customer_id": [1, 2], "margin": [75.0, 25.0]})
    >>> pareto_curve(m).values.tolist()
    [[0.0, 0.0], [0.5, 0.75], [1.0, 1.0]]
    """
    where = "segments.pareto_curve"
    check_frame(margin, ("customer_id", value), where=where, name="margin")
    out = _ranked(margin, value)
    n = len(out)
    if n == 0:
        return pd.DataFrame({"customer_share": [0.0], "value_share": [0.0]})
    total = float(out[value].sum())
    running = out[value].cumsum().to_numpy(dtype=float) / total if total > 0 else np.full(n, np.nan)
    return pd.DataFrame({"customer_share": np.arange(0, n + 1) / n,
                         "value_share": np.concatenate([[0.0], running])})
