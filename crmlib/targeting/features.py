"""Customer features as of a date, and campaign contact frames with features as of each campaign's start.

Only what was known before ``as_of`` enters a feature: orders, lines, interactions and tickets
dated before it, ticket satisfaction only for tickets closed before it, responses to earlier
campaigns only if they came in before it. Two things are deliberately left out because the CRM
keeps only their current value, which may have changed after ``as_of``: the order ``status``
(an order can be returned later) and ``marketing_opt_in``.

The tables come in as a mapping of canonical table name to DataFrame, with at least the columns
in :data:`REQUIRED_COLUMNS`; in a notebook::

    tables = {name: crm.load(name, cols) for name, cols in targeting.REQUIRED_COLUMNS.items()}
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from .._validation import check_columns, examples
from ..definitions import as_timestamp, line_revenue
from ..errors import DataContractError, EmptyDataError, ParameterError

__all__ = ["FEATURE_COLUMNS", "MODEL_FEATURES", "REQUIRED_COLUMNS", "campaign_frame", "customer_features",
           "select_campaign"]

#: Canonical columns each table must provide.
REQUIRED_COLUMNS: dict[str, list[str]] = {
    "customers": ["customer_id", "birth_date", "income_band", "created_at"],
    "orders": ["order_id", "customer_id", "channel_id", "ordered_at"],
    "order_lines": ["order_id", "product_id", "quantity", "unit_price", "discount"],
    "products": ["product_id", "category", "unit_cost"],
    "channels": ["channel_id", "kind"],
    "interactions": ["customer_id", "occurred_at", "kind"],
    "service_tickets": ["customer_id", "opened_at", "closed_at", "satisfaction"],
    "campaigns": ["campaign_id", "name", "channel", "started_at", "ended_at", "cost"],
    "campaign_contacts": ["campaign_id", "customer_id", "contacted_at", "treatment"],
    "campaign_responses": ["campaign_id", "customer_id", "responded_at", "converted"],
}

#: The feature columns :func:`customer_features` returns (all float64), in order.
FEATURE_COLUMNS: list[str] = [
    "tenure_days", "age", "income_level",
    "orders_total", "orders_90d", "orders_365d", "order_rate", "recency_days",
    "revenue_total", "revenue_365d", "avg_order_value", "avg_unit_price", "lines_per_order",
    "units_per_line", "discount_share", "mean_discount",
    "online_share", "store_share", "phone_share",
    "interactions_total", "complaints_total", "complaints_365d", "complaint_share",
    "tickets_total", "tickets_365d", "satisfaction_mean", "low_satisfaction_tickets",
    "complaint_rate", "ticket_rate", "friction_rate",
    "prior_contacts", "prior_conversions",
]

#: The compact subset the uplift and propensity models use by default: purchase rhythm, basket,
#: price and discount habits, channel mix and service friction.
MODEL_FEATURES: list[str] = [
    "tenure_days", "recency_days", "order_rate", "orders_90d", "orders_365d", "avg_unit_price",
    "lines_per_order", "units_per_line", "discount_share", "online_share", "phone_share", "complaint_rate",
    "ticket_rate", "low_satisfaction_tickets", "satisfaction_mean", "friction_rate",
    "revenue_365d",
]

_INCOME_LEVEL = {"low": 0.0, "lower-middle": 1.0, "middle": 2.0, "upper-middle": 3.0, "high": 4.0}
_WHERE = "targeting.customer_features"


def check_tables(tables: Mapping[str, pd.DataFrame], names: Iterable[str], where: str) -> None:
    """Raise DataContractError naming missing tables, then missing :data:`REQUIRED_COLUMNS`."""
    missing = [n for n in names if n not in tables]
    if missing:
        raise DataContractError(
            f"{where}: missing table(s) {missing}; found {sorted(tables)}", table=missing[0]
        )
    for name in names:
        check_columns(tables[name], REQUIRED_COLUMNS[name], where=f"{where}({name})")


class FeatureSource:
    """The tables joined once (lines with their order's time, customer and channel kind)."""

    def __init__(self, tables: Mapping[str, pd.DataFrame]):
        orders = tables["orders"][REQUIRED_COLUMNS["orders"]]
        kinds = tables["channels"].set_index("channel_id")["kind"].astype(str)
        orders = orders.assign(kind=orders["channel_id"].map(kinds).fillna("other").to_numpy())
        lines = tables["order_lines"][REQUIRED_COLUMNS["order_lines"]].merge(
            orders[["order_id", "customer_id", "ordered_at"]], on="order_id", how="inner")
        lines["revenue"] = line_revenue(lines["quantity"], lines["unit_price"], lines["discount"])
        self.customers = tables["customers"][REQUIRED_COLUMNS["customers"]]
        self.orders = orders
        self.lines = lines[["order_id", "customer_id", "ordered_at", "quantity", "unit_price", "discount",
                            "revenue"]]
        self.interactions = tables["interactions"][REQUIRED_COLUMNS["interactions"]]
        self.tickets = tables["service_tickets"][REQUIRED_COLUMNS["service_tickets"]]
        self.contacts = tables.get("campaign_contacts")
        self.responses = tables.get("campaign_responses")

    def features(self, as_of: pd.Timestamp, customer_ids=None) -> pd.DataFrame:
        cust = self.customers[self.customers["created_at"] < as_of]
        if customer_ids is not None:
            cust = cust[cust["customer_id"].isin(customer_ids)]
        out = pd.DataFrame(index=pd.Index(cust["customer_id"].to_numpy(), name="customer_id"))
        tenure = (as_of - cust["created_at"]).dt.total_seconds().to_numpy() / 86400
        out["tenure_days"] = tenure
        out["age"] = ((as_of - cust["birth_date"]).dt.days / 365.25).to_numpy()
        out["income_level"] = cust["income_band"].astype(str).map(_INCOME_LEVEL).to_numpy(float)

        def count(frame, time_col, days=None, mask=None):
            keep = frame[time_col] < as_of
            if days is not None:
                keep &= frame[time_col] >= as_of - pd.Timedelta(days=days)
            if mask is not None:
                keep &= mask
            return frame.loc[keep, "customer_id"].value_counts().reindex(out.index, fill_value=0).astype(float)

        o = self.orders[self.orders["ordered_at"] < as_of]
        o = o[o["customer_id"].isin(out.index)]
        n = o["customer_id"].value_counts().reindex(out.index, fill_value=0).astype(float)
        out["orders_total"] = n
        out["orders_90d"] = count(o, "ordered_at", 90)
        out["orders_365d"] = count(o, "ordered_at", 365)
        out["order_rate"] = n / np.maximum(tenure, 30.0) * 365.0
        last = o.groupby("customer_id")["ordered_at"].max().reindex(out.index)
        out["recency_days"] = ((as_of - last).dt.total_seconds() / 86400).fillna(out["tenure_days"])

        ln = self.lines[(self.lines["ordered_at"] < as_of) & self.lines["customer_id"].isin(out.index)]
        g = ln.groupby("customer_id")
        out["revenue_total"] = g["revenue"].sum().reindex(out.index, fill_value=0.0)
        recent = ln["ordered_at"] >= as_of - pd.Timedelta(days=365)
        out["revenue_365d"] = ln[recent].groupby("customer_id")["revenue"].sum().reindex(out.index, fill_value=0.0)
        n_lines = g.size().reindex(out.index, fill_value=0).astype(float)
        safe_n = n.where(n > 0)
        out["avg_order_value"] = (out["revenue_total"] / safe_n).fillna(0.0)
        out["avg_unit_price"] = g["unit_price"].mean().reindex(out.index).fillna(0.0)
        out["lines_per_order"] = (n_lines / safe_n).fillna(0.0)
        out["units_per_line"] = g["quantity"].mean().reindex(out.index).fillna(0.0)
        out["discount_share"] = (ln["discount"] > 0).groupby(ln["customer_id"]).mean().reindex(out.index).fillna(0.0)
        out["mean_discount"] = g["discount"].mean().reindex(out.index).fillna(0.0)
        for kind in ("online", "store", "phone"):
            share = (o["kind"] == kind).groupby(o["customer_id"]).mean()
            out[f"{kind}_share"] = share.reindex(out.index).fillna(0.0)

        it = self.interactions
        it = it[it["customer_id"].isin(out.index)]
        complaint = it["kind"].astype(str) == "complaint"
        out["interactions_total"] = count(it, "occurred_at")
        out["complaints_total"] = count(it, "occurred_at", mask=complaint)
        out["complaints_365d"] = count(it, "occurred_at", 365, mask=complaint)
        out["complaint_share"] = (out["complaints_total"] / out["interactions_total"].where(
            out["interactions_total"] > 0)).fillna(0.0)

        tk = self.tickets
        tk = tk[tk["customer_id"].isin(out.index)]
        out["tickets_total"] = count(tk, "opened_at")
        out["tickets_365d"] = count(tk, "opened_at", 365)
        # satisfaction is known only once the ticket is closed
        rated = tk[(tk["closed_at"] < as_of) & tk["satisfaction"].notna()]
        sat = rated["satisfaction"].astype(float)
        out["satisfaction_mean"] = sat.groupby(rated["customer_id"]).mean().reindex(out.index).fillna(4.0)
        out["low_satisfaction_tickets"] = (sat <= 2).groupby(rated["customer_id"]).sum().reindex(
            out.index, fill_value=0).astype(float)
        years = np.maximum(out["tenure_days"], 30.0) / 365.0
        out["complaint_rate"] = out["complaints_total"] / years
        out["ticket_rate"] = out["tickets_total"] / years
        # one smoothed score of service friction: complaints, badly rated and other tickets per year
        out["friction_rate"] = (out["complaints_total"] + out["low_satisfaction_tickets"]
                                + 0.5 * out["tickets_total"] + 0.5) / (years + 0.5)

        if self.contacts is not None and self.responses is not None:
            c = self.contacts
            out["prior_contacts"] = count(c, "contacted_at", mask=c["treatment"].astype(bool))
            r = self.responses
            out["prior_conversions"] = count(r, "responded_at", mask=r["converted"].astype(bool))
        else:
            out["prior_contacts"] = 0.0
            out["prior_conversions"] = 0.0
        return out[FEATURE_COLUMNS].astype("float64")


def customer_features(tables: Mapping[str, pd.DataFrame], *, as_of, customer_ids=None) -> pd.DataFrame:
    """One row of behavioural features per customer, computed from data dated before ``as_of`` only.

    Parameters
    ----------
    tables : mapping of str to pandas.DataFrame
        Canonical tables: customers, orders, order_lines, channels, interactions, service_tickets,
        and optionally campaign_contacts and campaign_responses (for ``prior_*`` features).
    as_of : str or datetime-like
        The cut-off: nothing at or after it is used. Customers created at or after it are left out.
    customer_ids : array-like, optional
        Restrict to these customers (those created before ``as_of``).

    Returns
    -------
    pandas.DataFrame
        Index ``customer_id``; columns :data:`FEATURE_COLUMNS`, all float64: tenure, age and income
        level; order counts (total, last 90 and 365 days), yearly order rate and recency in days;
        revenue (total, last 365 days), average order value and unit price, lines per order, units per line; share of
        discounted lines and mean discount; share of orders online, in store and by phone;
        interactions, complaints (total, last 365 days, share), tickets (total, last 365 days), mean
        satisfaction of closed tickets (4.0 if none) and tickets rated 2 or less; complaints and
        tickets per year of tenure and a smoothed friction score
        ``(complaints + low-rated tickets + tickets / 2 + 0.5) / (years + 0.5)``; earlier campaign
        contacts (treated) and conversions.

    Raises
    ------
    DataContractError
        A table or a required column is missing.
    ParameterError
        ``as_of`` is not a date.

    Examples
    --------
    >>> feats = customer_features(tables, as_of="2025-10-01")  # doctest: +SKIP
    """
    names = ["customers", "orders", "order_lines", "channels", "interactions", "service_tickets"]
    check_tables(tables, names, _WHERE)
    stamp = as_timestamp(as_of, name="as_of", where=_WHERE)
    return FeatureSource(tables).features(stamp, customer_ids)


def select_campaign(campaigns: pd.DataFrame, contacts: pd.DataFrame, campaign_id="latest") -> pd.Series:
    """The row of ``campaigns`` for ``campaign_id``; 'latest' is the latest-starting one with contacts.

    Raises
    ------
    ParameterError
        Unknown campaign id, or a campaign without any contacts.
    EmptyDataError
        No campaign has contacts (for 'latest').
    """
    where = "targeting.select_campaign"
    check_columns(campaigns, REQUIRED_COLUMNS["campaigns"], where=f"{where}(campaigns)")
    # only which campaigns have contacts matters (a table of counts per campaign will do)
    check_columns(contacts, ["campaign_id"], where=f"{where}(campaign_contacts)")
    with_contacts = campaigns[campaigns["campaign_id"].isin(contacts["campaign_id"].unique())]
    if isinstance(campaign_id, str) and campaign_id == "latest":
        if with_contacts.empty:
            raise EmptyDataError(f"{where}: no campaign has contacts; cannot pick the 'latest' one",
                                 table="campaign_contacts")
        return with_contacts.sort_values(["started_at", "campaign_id"]).iloc[-1]
    if isinstance(campaign_id, str) and campaign_id.strip().isdigit():
        # the notebook's parameter defaults to the string 'latest', so `crmlib run -p campaign_id 5`
        # arrives as '5'
        campaign_id = int(campaign_id)
    ids = campaigns["campaign_id"].to_numpy()
    if campaign_id not in set(ids.tolist()) or isinstance(campaign_id, bool):
        ranked = with_contacts.sort_values("started_at")["campaign_id"].tolist()
        raise ParameterError(
            f"{where}: unknown campaign id {campaign_id!r}; campaigns with contacts are "
            f"{examples(ranked, limit=20)} (or 'latest')", name="campaign_id")
    row = campaigns[campaigns["campaign_id"] == campaign_id].iloc[0]
    if campaign_id not in set(with_contacts["campaign_id"].tolist()):
        raise ParameterError(
            f"{where}: campaign {campaign_id} ({row['name']}) has no contacts, so there is nothing "
            f"to learn from; campaigns with contacts are {examples(with_contacts['campaign_id'], limit=20)}",
            name="campaign_id")
    return row


def campaign_frame(tables: Mapping[str, pd.DataFrame], campaign_ids) -> pd.DataFrame:
    """The contacts of campaigns with their outcome and features as of each campaign's start.

    Parameters
    ----------
    tables : mapping of str to pandas.DataFrame
        The tables of :data:`REQUIRED_COLUMNS` (products is not needed).
    campaign_ids : int or iterable of int
        Campaigns to include (pooled: one row per contact).

    Returns
    -------
    pandas.DataFrame
        ``campaign_id`` (int64), ``customer_id`` (int64), ``started_at`` (datetime64),
        ``treatment`` (bool: contacted, False for the held-out control group), ``converted``
        (bool: a converting response to that campaign), then :data:`FEATURE_COLUMNS` (float64).
        Contacts of customers created after the start (none in a consistent CRM) are dropped.

    Raises
    ------
    DataContractError
        A table or a required column is missing.
    ParameterError
        An unknown campaign id.
    """
    where = "targeting.campaign_frame"
    check_tables(tables, [n for n in REQUIRED_COLUMNS if n != "products"], where)
    ids = [campaign_ids] if np.isscalar(campaign_ids) else list(campaign_ids)
    camps = tables["campaigns"].set_index("campaign_id")
    unknown = [i for i in ids if i not in camps.index]
    if unknown:
        raise ParameterError(f"{where}: unknown campaign id(s) {unknown}; known ids are "
                             f"{examples(camps.index.tolist(), limit=20)}", name="campaign_ids")
    contacts = tables["campaign_contacts"]
    responses = tables["campaign_responses"]
    won = responses[responses["converted"].astype(bool)][["campaign_id", "customer_id"]].drop_duplicates()
    won = won.assign(converted=True)
    source = FeatureSource(tables)
    parts = []
    for cid in ids:
        start = pd.Timestamp(camps.loc[cid, "started_at"])
        c = contacts[contacts["campaign_id"] == cid][["campaign_id", "customer_id", "treatment"]]
        c = c.drop_duplicates(["campaign_id", "customer_id"])
        feats = source.features(start, c["customer_id"].to_numpy())
        c = c[c["customer_id"].isin(feats.index)].merge(won, on=["campaign_id", "customer_id"], how="left")
        c["converted"] = c["converted"].astype("boolean").fillna(False).astype(bool)
        c["treatment"] = c["treatment"].astype(bool)
        c.insert(2, "started_at", start)
        parts.append(c.join(feats, on="customer_id"))
    columns = ["campaign_id", "customer_id", "started_at", "treatment", "converted", *FEATURE_COLUMNS]
    if not parts:
        return pd.DataFrame(columns=columns)
    return pd.concat(parts, ignore_index=True)[columns]
