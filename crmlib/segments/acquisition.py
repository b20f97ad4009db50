"""What acquiring a customer cost, per campaign and per channel, and how cohorts are retained."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._validation import check_frame, check_one_of, check_type
from ..definitions import NON_PURCHASE_STATUSES, as_day, wall_clock

__all__ = ["ACQUISITION_BY", "acquisition_cost", "acquisition_cost_from_counts", "cohort_retention"]

#: Groupings offered by :func:`acquisition_cost`.
ACQUISITION_BY: tuple[str, ...] = ("campaign", "channel", "acquisition_channel")
_COHORT_FREQ: dict[str, int] = {"M": 12, "Q": 4}
_METRICS = ["cost", "acquired", "converted", "conversion_rate", "cost_per_acquired",
            "cost_per_converted"]


def _finish(out: pd.DataFrame) -> pd.DataFrame:
    out["acquired"] = out["acquired"].fillna(0).astype(int)
    out["converted"] = out["converted"].fillna(0).astype(int)
    out["cost"] = out["cost"].fillna(0.0).astype(float)
    out["conversion_rate"] = out["converted"] / out["acquired"].where(out["acquired"] > 0)
    out["cost_per_acquired"] = out["cost"] / out["acquired"].where(out["acquired"] > 0)
    out["cost_per_converted"] = out["cost"] / out["converted"].where(out["converted"] > 0)
    return out


def acquisition_cost(customers, campaigns, orders=None, *, by="campaign", as_of=None,
                     exclude_status=NON_PURCHASE_STATUSES) -> pd.DataFrame:
    """Cost per acquired and per converted customer, by campaign or channel.

    A customer is acquired by the campaign in ``customers.acquisition_campaign_id`` and converted
    when they placed at least one kept order on or before ``as_of`` (without ``orders``, every
    acquired customer counts as converted).

    Parameters
    ----------
    customers : pandas.DataFrame
        ``customer_id, acquisition_campaign_id, created_at`` (plus ``acquisition_channel`` for
        ``by='acquisition_channel'``).
    campaigns : pandas.DataFrame
        ``campaign_id, name, channel, cost``.
    orders : pandas.DataFrame, optional
        ``customer_id, ordered_at, status``.
    by : {'campaign', 'channel', 'acquisition_channel'}, default='campaign'
        'campaign': one row per campaign (also those that acquired nobody); 'channel': campaigns
        summed by ``campaigns.channel``; 'acquisition_channel': customers grouped by
        ``customers.acquisition_channel``, each campaign's cost split over the channels of the
        customers it acquired in proportion to their number (customers without a campaign cost 0;
        the cost of campaigns that acquired nobody is left out).
    as_of : date-like, optional
        Customers created and orders placed after this day are ignored. Default: no limit.
    exclude_status : tuple of str, default=('cancelled', 'returned')
        Order statuses that do not convert.

    Returns
    -------
    pandas.DataFrame
        Key columns (``campaign_id, name, channel``; ``channel, campaigns``; or
        ``acquisition_channel``), then ``cost`` (float), ``acquired``, ``converted`` (int),
        ``conversion_rate``, ``cost_per_acquired``, ``cost_per_converted`` (float; NaN when
        divided by 0). Sorted by the key.

    Examples
    --------
    >>> customers = pd.DataFrame({"customer_id": [1, 2, 3], "acquisition_campaign_id": [10, 10, None],
    ...     "created_at": pd.to_datetime(["2025-01-01"] * 3)})
    >>> campaigns = pd.DataFrame({"campaign_id": [10], "name": ["Spring"], "channel": ["email"],
    ...     "cost": [100.0]})
    >>> orders = pd.DataFrame({"customer_id": [1], "ordered_at": pd.to_datetime(["2025-01-05"]),
    ...     "status": ["completed"]})
    >>> acquisition_cost(customers, campaigns, orders)[["campaign_id", "acquired", "converted",
    ...                                                 "cost_per_converted"]]
       campaign_id  acquired  converted  cost_per_converted
    0           10         2          1               100.0
    """
    where = "segments.acquisition_cost"
    check_one_of(by, ACQUISITION_BY, name="by", where=where)
    need = ["customer_id", "acquisition_campaign_id", "created_at"]
    if by == "acquisition_channel":
        need.append("acquisition_channel")
    check_frame(customers, need, where=where, name="customers")
    check_frame(campaigns, ("campaign_id", "name", "channel", "cost"), where=where, name="campaigns")
    if orders is not None:
        check_frame(orders, ("customer_id", "ordered_at", "status"), where=where, name="orders")
    check_type(exclude_status, (tuple, list, set, frozenset), name="exclude_status", where=where,
               type_name="a tuple of str")
    cust = customers.copy()
    if as_of is not None:
        day = as_day(as_of, where=where)
        cust = cust[wall_clock(cust["created_at"]).dt.normalize() <= day]
    if orders is None:
        cust["converted"] = True
    else:
        kept = orders[~orders["status"].astype(object).isin(list(exclude_status))]
        if as_of is not None:
            kept = kept[wall_clock(kept["ordered_at"]).dt.normalize() <= day]
        cust["converted"] = cust["customer_id"].isin(kept["customer_id"])
    cust["campaign_id"] = pd.to_numeric(cust["acquisition_campaign_id"], errors="coerce")
    keys = ["campaign_id"]
    if "acquisition_channel" in cust.columns:
        cust["acquisition_channel"] = cust["acquisition_channel"].astype(object).fillna("unknown")
        keys.append("acquisition_channel")
    counts = cust.groupby(keys, dropna=False).agg(acquired=("customer_id", "size"),
                                                  converted=("converted", "sum")).reset_index()
    return acquisition_cost_from_counts(counts, campaigns, by=by)


def acquisition_cost_from_counts(counts, campaigns, *, by="campaign") -> pd.DataFrame:
    """:func:`acquisition_cost` from customer counts per campaign (and acquisition channel).

    The Spark engine counts customers on the cluster (``crmlib.segments.spark_acquisition``) and
    finishes here, so both engines share the arithmetic.

    Parameters
    ----------
    counts : pandas.DataFrame
        ``campaign_id`` (float, NaN for customers without a campaign), ``acquired``, ``converted``
        (customers), plus ``acquisition_channel`` (str, 'unknown' when missing) for
        ``by='acquisition_channel'``; one row per combination.
    campaigns : pandas.DataFrame
        ``campaign_id, name, channel, cost``.
    by : {'campaign', 'channel', 'acquisition_channel'}, default='campaign'

    Returns
    -------
    pandas.DataFrame
        As :func:`acquisition_cost`.
    """
    where = "segments.acquisition_cost"
    check_one_of(by, ACQUISITION_BY, name="by", where=where)
    need = ["campaign_id", "acquired", "converted"] + (["acquisition_channel"] if by == "acquisition_channel" else [])
    check_frame(counts, need, where=where, name="counts")
    check_frame(campaigns, ("campaign_id", "name", "channel", "cost"), where=where, name="campaigns")
    camps = campaigns[["campaign_id", "name", "channel", "cost"]].copy()
    camps["cost"] = camps["cost"].astype(float)
    camps["campaign_id"] = pd.to_numeric(camps["campaign_id"])
    acquired = counts.dropna(subset=["campaign_id"]).groupby("campaign_id")[["acquired", "converted"]].sum()
    per_campaign = camps.merge(acquired, left_on="campaign_id", right_index=True, how="left")
    if by == "campaign":
        out = _finish(per_campaign)
        out["campaign_id"] = out["campaign_id"].astype(campaigns["campaign_id"].dtype)
        out = out.sort_values("campaign_id", kind="stable").reset_index(drop=True)
        return out[["campaign_id", "name", "channel", *_METRICS]]
    if by == "channel":
        per_campaign["channel"] = per_campaign["channel"].astype(object)
        out = per_campaign.groupby("channel").agg(
            campaigns=("campaign_id", "size"), cost=("cost", "sum"),
            acquired=("acquired", "sum"), converted=("converted", "sum"))
        out = _finish(out).rename_axis("channel").reset_index()
        return out[["channel", "campaigns", *_METRICS]]
    # each campaign's cost split over its customers' channels in proportion to their number
    cells = counts.copy()
    size = cells.groupby("campaign_id")["acquired"].transform("sum")
    cost = cells["campaign_id"].map(camps.set_index("campaign_id")["cost"])
    cells["cost"] = (cost * cells["acquired"] / size).fillna(0.0)
    out = cells.groupby("acquisition_channel").agg(
        cost=("cost", "sum"), acquired=("acquired", "sum"), converted=("converted", "sum"))
    out = _finish(out).rename_axis("acquisition_channel").reset_index()
    return out[["acquisition_channel", *_METRICS]]


def cohort_retention(transactions, *, as_of=None, freq="M", normalize=True) -> pd.DataFrame:
    """Share of each first-purchase cohort that buys again 0, 1, 2, ... periods later.

    Parameters
    ----------
    transactions : pandas.DataFrame
        ``customer_id, ordered_at, amount`` (the output of :func:`~crmlib.segments.order_values`);
        only positive amounts are purchases.
    as_of : date-like, optional
        Orders after this day are ignored. Default: the day of the last order.
    freq : {'M', 'Q'}, default='M'
        Period length: month or quarter.
    normalize : bool, default=True
        Shares of the cohort size; False gives customer counts (column 0 is the cohort size).

    Returns
    -------
    pandas.DataFrame
        Index ``cohort`` (pandas Period of the first purchase), columns ``0 .. K`` (int, periods
        since the first purchase), float values; NaN where the period lies after ``as_of``.
        Column 0 is 1.0 (or the cohort size). Empty with no rows when nobody bought.

    Examples
    --------
    >>> tx = pd.DataFrame({"customer_id": [1, 1, 2],
    ...     "ordered_at": pd.to_datetime(["2025-01-05", "2025-02-07", "2025-01-20"]),
    ...     "amount": [10.0, 5.0, 8.0]})
    >>> cohort_retention(tx)  # doctest: +NORMALIZE_WHITESPACE
               0    1
    cohort
    2025-01  1.0  0.5
    """
    where = "segments.cohort_retention"
    check_frame(transactions, ("customer_id", "ordered_at", "amount"), where=where,
                name="transactions")
    check_one_of(freq, _COHORT_FREQ, name="freq", where=where)
    check_type(normalize, bool, name="normalize", where=where)
    tx = transactions[["customer_id", "ordered_at", "amount"]].copy()
    tx["ordered_at"] = wall_clock(tx["ordered_at"])
    day = as_day(as_of, where=where, default=tx["ordered_at"].max() if len(tx) else None)
    tx = tx[(tx["ordered_at"].dt.normalize() <= day) & (tx["amount"].astype(float) > 0)]
    per_year = _COHORT_FREQ[freq]

    def index(ts):
        part = ts.dt.month - 1 if freq == "M" else ts.dt.quarter - 1
        return ts.dt.year * per_year + part

    tx["period"] = index(tx["ordered_at"])
    first = tx.groupby("customer_id")["period"].transform("min")
    tx["offset"] = tx["period"] - first
    tx["cohort"] = first
    counts = tx.drop_duplicates(["customer_id", "offset"]).pivot_table(
        index="cohort", columns="offset", values="customer_id", aggfunc="count", fill_value=0)
    last = int(index(pd.Series([day])).iloc[0])
    if len(counts):
        counts = counts.reindex(columns=range(0, int(counts.columns.max()) + 1), fill_value=0)
    counts = counts.astype(float)
    for cohort in counts.index:
        counts.loc[cohort, [c for c in counts.columns if cohort + c > last]] = np.nan
    if normalize and len(counts):
        counts = counts.div(counts[0], axis=0)
    label = "M" if freq == "M" else "Q"
    counts.index = pd.PeriodIndex(
        [pd.Period(year=int(i // per_year), month=int(i % per_year) + 1, freq=label) if freq == "M"
         else pd.Period(year=int(i // per_year), quarter=int(i % per_year) + 1, freq=label)
         for i in counts.index], name="cohort", freq=label)
    counts.columns = pd.Index([int(c) for c in counts.columns])
    return counts
