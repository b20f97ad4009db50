"""Order values and the per-customer behavioural feature table.

``order_values`` turns the canonical ``orders`` and ``order_lines`` tables into one row per order
with its net amount; RFM, CLV, profit and cohort analyses start from it. ``customer_features``
builds the table the clustering estimator reads: RFM plus tenure, order rate, basket size, discount
use, category mix, channel mix, service tickets and complaints.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._validation import check_frame, check_type
from ..definitions import NON_PURCHASE_STATUSES, as_day, line_revenue, wall_clock
from ._common import check_unique, slug

__all__ = ["CLUSTER_FEATURES", "LINE_COLUMNS", "ORDER_COLUMNS", "customer_features", "order_values"]

#: Columns of ``orders`` that the segments analyses need.
ORDER_COLUMNS: tuple[str, ...] = ("order_id", "customer_id", "ordered_at", "status")
#: Columns of ``order_lines`` that the segments analyses need.
LINE_COLUMNS: tuple[str, ...] = ("order_id", "quantity", "unit_price", "discount")
#: The features the segmentation notebook clusters on (RFM plus order value, tenure, basket size
#: in lines and in units per line, and discount use); channel and category mixes are left out because per-customer shares are
#: noisy and, scaled to unit spread, drown the behavioural signal.
CLUSTER_FEATURES: tuple[str, ...] = (
    "recency_days", "frequency", "monetary", "avg_order_value", "tenure_days", "items_per_order",
    "units_per_line", "discount_share",
)


def _line_values(order_lines: pd.DataFrame) -> pd.DataFrame:
    lines = order_lines.copy()
    qty = lines["quantity"].astype(float)
    price = lines["unit_price"].astype(float)
    disc = lines["discount"].astype(float).fillna(0.0)
    lines["gross"] = qty * price
    lines["net"] = line_revenue(qty, price, disc)
    lines["discounted"] = disc > 0
    return lines


def order_values(orders, order_lines, *, exclude_status=NON_PURCHASE_STATUSES) -> pd.DataFrame:
    """Net amount of every order: sum of ``quantity * unit_price * (1 - discount)`` over its lines.

    Parameters
    ----------
    orders : pandas.DataFrame
        Canonical orders, with at least ``order_id, customer_id, ordered_at, status``.
    order_lines : pandas.DataFrame
        Canonical order lines, with at least ``order_id, quantity, unit_price, discount``.
        A negative quantity is a return and gives a negative amount.
    exclude_status : tuple of str, default=('cancelled', 'returned')
        Orders with one of these statuses are dropped.

    Returns
    -------
    pandas.DataFrame
        One row per kept order: ``order_id`` (int), ``customer_id`` (int), ``ordered_at``
        (datetime64), ``amount`` (float; 0.0 for an order without lines), ``gross`` (float, before
        discount), ``n_lines`` (int), plus ``channel_id`` when ``orders`` has it. Sorted by
        ``ordered_at, order_id``.

    Raises
    ------
    DataContractError
        A required column is missing or ``order_id`` is duplicated in ``orders``.

    Examples
    --------
    >>> orders = pd.DataFrame({"order_id": [1], "customer_id": [7],
    ...                        "ordered_at": pd.to_datetime(["2025-01-02"]), "status": ["completed"]})
    >>> lines = pd.DataFrame({"order_id": [1, 1], "quantity": [2, 1], "unit_price": [10.0, 5.0],
    ...                       "discount": [0.0, 0.2]})
    >>> order_values(orders, lines)[["order_id", "amount"]]
       order_id  amount
    0         1    24.0
    """
    where = "segments.order_values"
    check_frame(orders, ORDER_COLUMNS, where=where, name="orders")
    check_frame(order_lines, LINE_COLUMNS, where=where, name="order_lines")
    check_type(exclude_status, (tuple, list, set, frozenset), name="exclude_status", where=where,
               type_name="a tuple of str")
    check_unique(orders, "order_id", where=where)
    keep = [c for c in ("order_id", "customer_id", "ordered_at", "channel_id") if c in orders.columns]
    kept = orders.loc[~orders["status"].astype(object).isin(list(exclude_status)), keep].copy()
    kept["ordered_at"] = wall_clock(kept["ordered_at"])
    lines = _line_values(order_lines)
    per_order = lines.groupby("order_id", sort=False).agg(
        amount=("net", "sum"), gross=("gross", "sum"), n_lines=("net", "size")
    )
    out = kept.merge(per_order, left_on="order_id", right_index=True, how="left")
    out["amount"] = out["amount"].fillna(0.0).astype(float)
    out["gross"] = out["gross"].fillna(0.0).astype(float)
    out["n_lines"] = out["n_lines"].fillna(0).astype(int)
    cols = ["order_id", "customer_id", "ordered_at", "amount", "gross", "n_lines"]
    cols += ["channel_id"] if "channel_id" in out.columns else []
    return out.sort_values(["ordered_at", "order_id"], kind="stable")[cols].reset_index(drop=True)


def _shares(df: pd.DataFrame, key: str, value: str, prefix: str) -> pd.DataFrame:
    """Per customer share of ``value`` by ``key`` as columns ``prefix_<key>``."""
    table = df.pivot_table(index="customer_id", columns=key, values=value, aggfunc="sum",
                           fill_value=0.0, observed=True)
    total = table.sum(axis=1)
    shares = table.div(total.where(total != 0), axis=0).fillna(0.0)
    shares.columns = [f"{prefix}_{slug(c)}" for c in shares.columns]
    return shares


def customer_features(orders, order_lines, products=None, *, as_of=None, customers=None,
                      channels=None, service_tickets=None, interactions=None,
                      exclude_status=NON_PURCHASE_STATUSES) -> pd.DataFrame:
    """Behavioural features per customer who bought at least once on or before ``as_of``.

    Parameters
    ----------
    orders, order_lines : pandas.DataFrame
        Canonical tables (see :func:`order_values`). ``orders.channel_id`` is used when present.
    products : pandas.DataFrame, optional
        ``product_id, category``; adds the category mix (needs ``order_lines.product_id``).
    as_of : date-like, optional
        Reference day; orders, tickets and interactions after it are ignored. Default: the day
        of the last order.
    customers : pandas.DataFrame, optional
        ``customer_id, created_at``; tenure counts from ``created_at`` instead of the first order.
    channels : pandas.DataFrame, optional
        ``channel_id, kind``; the channel mix is by ``kind`` (store / online / phone) instead of by
        ``channel_id``.
    service_tickets : pandas.DataFrame, optional
        ``customer_id, opened_at``; adds the ticket count.
    interactions : pandas.DataFrame, optional
        ``customer_id, occurred_at, kind``; adds the number of interactions of kind 'complaint'.
    exclude_status : tuple of str, default=('cancelled', 'returned')
        Order statuses that are not purchases.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``customer_id``, float columns: ``recency_days`` (days since the last
        purchase), ``frequency`` (purchases, orders with a positive amount), ``monetary`` (net
        amount, refunds subtracted), ``avg_order_value``, ``tenure_days``, ``orders_per_month``,
        ``items_per_order`` (lines per purchase), ``units_per_line`` (mean quantity of a purchased
        line: bulk buyers against browsers), ``discount_share`` (share of gross line value
        bought on discount), ``cat_<category>`` (revenue share per category), ``chan_<kind or id>`` (share of orders
        per channel), ``tickets`` and ``complaints`` (counts, when the tables are given).
        Customers whose orders are all zero or refunds are left out. Empty with these columns when
        nobody bought before ``as_of``.

    Examples
    --------
    >>> orders = pd.DataFrame({"order_id": [1, 2], "customer_id": [7, 7],
    ...     "ordered_at": pd.to_datetime(["2025-01-01", "2025-01-11"]), "status": "completed"})
    >>> lines = pd.DataFrame({"order_id": [1, 2], "quantity": 1, "unit_price": [10.0, 30.0],
    ...     "discount": [0.0, 0.5]})
    >>> customer_features(orders, lines, as_of="2025-01-21").loc[7, ["recency_days", "frequency"]]
    recency_days    10.0
    frequency        2.0
    Name: 7, dtype: float64
    """
    where = "segments.customer_features"
    check_frame(orders, ORDER_COLUMNS, where=where, name="orders")
    check_frame(order_lines, LINE_COLUMNS, where=where, name="order_lines")
    if products is not None:
        check_frame(products, ("product_id", "category"), where=where, name="products")
        check_frame(order_lines, ("product_id",), where=where, name="order_lines")
    if customers is not None:
        check_frame(customers, ("customer_id", "created_at"), where=where, name="customers")
    if channels is not None:
        check_frame(channels, ("channel_id", "kind"), where=where, name="channels")
        check_frame(orders, ("channel_id",), where=where, name="orders")
    if service_tickets is not None:
        check_frame(service_tickets, ("customer_id", "opened_at"), where=where, name="service_tickets")
    if interactions is not None:
        check_frame(interactions, ("customer_id", "occurred_at", "kind"), where=where,
                    name="interactions")

    values = order_values(orders, order_lines, exclude_status=exclude_status)
    day = as_day(as_of, where=where, default=values["ordered_at"].max() if len(values) else None)
    values = values[values["ordered_at"].dt.normalize() <= day]
    buyers = values.loc[values["amount"] > 0, "customer_id"].unique()
    values = values[values["customer_id"].isin(buyers)]
    bought = values[values["amount"] > 0]

    g = values.groupby("customer_id")
    feats = pd.DataFrame({"monetary": g["amount"].sum()})
    gb = bought.groupby("customer_id")
    last = gb["ordered_at"].max().dt.normalize()
    first = gb["ordered_at"].min().dt.normalize()
    feats["recency_days"] = (day - last).dt.days.astype(float)
    feats["frequency"] = gb.size().astype(float)
    feats["avg_order_value"] = feats["monetary"] / feats["frequency"]
    start = first
    if customers is not None:
        created = wall_clock(customers.set_index("customer_id")["created_at"]).dt.normalize()
        start = created.reindex(feats.index).fillna(first).combine(first, min)
    feats["tenure_days"] = (day - start).dt.days.astype(float).clip(lower=0.0)
    months = np.maximum(feats["tenure_days"] / 30.4375, 1.0)
    feats["orders_per_month"] = feats["frequency"] / months
    feats["items_per_order"] = gb["n_lines"].sum() / feats["frequency"]

    lines = _line_values(order_lines)
    lines = lines.merge(values[["order_id", "customer_id"]], on="order_id", how="inner")
    disc = lines.assign(dgross=lines["gross"].where(lines["discounted"], 0.0)).groupby("customer_id")
    gross = disc["gross"].sum()
    feats["discount_share"] = (disc["dgross"].sum() / gross.where(gross > 0)).reindex(feats.index)
    feats["discount_share"] = feats["discount_share"].fillna(0.0).clip(0.0, 1.0)
    units = lines[lines["order_id"].isin(bought["order_id"])].groupby("customer_id")["quantity"].mean()
    feats["units_per_line"] = units.reindex(feats.index).astype(float)

    parts = [feats[["recency_days", "frequency", "monetary", "avg_order_value", "tenure_days",
                    "orders_per_month", "items_per_order", "units_per_line", "discount_share"]]]
    if products is not None:
        cat = lines.merge(products[["product_id", "category"]], on="product_id", how="left")
        cat["category"] = cat["category"].astype(object).fillna("unknown")
        cat["net_pos"] = cat["net"].clip(lower=0.0)
        parts.append(_shares(cat, "category", "net_pos", "cat"))
    if "channel_id" in values.columns:
        ch = values.assign(one=1.0)
        key = "channel_id"
        if channels is not None:
            kinds = channels.set_index("channel_id")["kind"].astype(object)
            ch["kind"] = ch["channel_id"].map(kinds).fillna("unknown")
            key = "kind"
        parts.append(_shares(ch, key, "one", "chan"))
    if service_tickets is not None:
        t = service_tickets[wall_clock(service_tickets["opened_at"]).dt.normalize() <= day]
        parts.append(t.groupby("customer_id").size().rename("tickets").astype(float).to_frame())
    if interactions is not None:
        i = interactions[wall_clock(interactions["occurred_at"]).dt.normalize() <= day]
        i = i[i["kind"].astype(object).astype(str).str.lower() == "complaint"]
        parts.append(i.groupby("customer_id").size().rename("complaints").astype(float).to_frame())
    out = pd.concat(parts, axis=1).reindex(feats.index)
    out = out.fillna(0.0).astype(float).sort_index()
    out.index = out.index.rename("customer_id")
    return out
