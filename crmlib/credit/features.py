"""Payment behaviour per customer as of a cutoff date, joined with customer attributes.

Everything here looks only at invoices issued and payments made strictly before the cutoff, so
the features of a cutoff never change when later rows are added, changed or deleted
(``tests/test_credit_features.py`` proves it).

>>> from crmlib.credit import features
>>> X = features.customer_features(crm.invoices(), crm.payments(), crm.customers(),
...                                cutoff="2025-03-01")            # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._validation import check_columns, check_frame
from ..definitions import as_timestamp
from ._common import (
    CUSTOMER_COLUMNS,
    DAY,
    INVOICE_COLUMNS,
    PAYMENT_COLUMNS,
    check_default_days,
)

__all__ = [
    "AGE_BANDS",
    "ATTRIBUTES",
    "BEHAVIOUR_COLUMNS",
    "INCOME_ORDER",
    "PRIOR_INVOICES",
    "RECENT_DAYS",
    "TENURE_BANDS",
    "category",
    "customer_attributes",
    "customer_features",
    "income_category",
    "invoice_status",
    "payment_behaviour",
    "purchase_behaviour",
    "shrink",
]

#: Age bands (years at the cutoff): lower bounds and labels.
AGE_BANDS = ((0, "18-24"), (25, "25-29"), (30, "30-39"), (40, "40-49"), (50, "50-64"), (65, "65+"))
#: Tenure bands (days since the customer was created).
TENURE_BANDS = ((0, "<6m"), (183, "6-12m"), (365, "1-2y"), (730, "2y+"))
#: Customer attributes used by the profile, in the order tables show them.
ATTRIBUTES = ("income_band", "age_band", "occupation", "gender", "marital_status", "region",
              "acquisition_channel", "contact_preference", "tenure_band", "order_channel")
#: Columns of :func:`payment_behaviour` (besides ``customer_id``).
BEHAVIOUR_COLUMNS = (
    "invoices", "invoices_12m", "amount_mean", "due_invoices", "late_invoices", "share_late",
    "share_late_adj", "share_late_6m", "late_trend", "days_past_due_mean", "days_past_due_max", "days_since_late",
    "matured_invoices", "defaults", "default_rate", "default_rate_adj", "repeat_defaulter", "outstanding",
    "past_due_balance", "days_since_invoice",
)
#: Income bands from low to high (the order of the ``income_band`` category).
INCOME_ORDER = ("low", "lower-middle", "middle", "upper-middle", "high")
#: Days before the cutoff that count as recent for ``share_late_6m`` and ``late_trend``.
RECENT_DAYS = 182
#: Weight (in invoices) of the population share in the adjusted shares.
PRIOR_INVOICES = 4


def invoice_status(invoices: pd.DataFrame, payments: pd.DataFrame, *, as_of,
                   default_days: int = 90) -> pd.DataFrame:
    """The payment state of each invoice issued before ``as_of``, from payments before ``as_of``.

    Parameters
    ----------
    invoices : pandas.DataFrame
        ``invoice_id, customer_id, issued_at, due_at, amount``.
    payments : pandas.DataFrame
        ``invoice_id, paid_at, amount``; several payments per invoice add up.
    as_of : str or datetime-like
        Only invoices issued and payments made strictly before this moment count.
    default_days : int, default=90
        An invoice is in default when it is not paid in full more than ``default_days`` days
        after its due date.

    Returns
    -------
    pandas.DataFrame
        One row per invoice issued before ``as_of`` with the invoice columns and
        ``paid_amount`` (float64), ``paid_at`` (datetime64, when it was paid in full; NaT if not
        by ``as_of``), ``open_amount`` (float64), ``is_due`` (due before ``as_of``),
        ``is_late`` (paid after its due date, or due and still open), ``days_past_due``
        (float64: days between due date and full payment, or ``as_of`` if open; 0 if on time),
        ``is_matured`` (``due_at + default_days < as_of``: whether a default can be seen yet),
        ``is_default`` (matured and not paid in full within ``default_days`` after the due date).

    Raises
    ------
    DataContractError
        A required column is missing.
    ParameterError
        ``as_of`` is not a date or ``default_days`` is outside [1, 365].
    """
    where = "credit.invoice_status"
    check_frame(invoices, name="invoices", where=where)
    check_frame(payments, name="payments", where=where)
    check_columns(invoices, INVOICE_COLUMNS, where=f"{where}(invoices)")
    check_columns(payments, PAYMENT_COLUMNS, where=f"{where}(payments)")
    as_of = as_timestamp(as_of, name="as_of", where=where)
    default_days = check_default_days(default_days, where=where)

    inv = invoices.loc[invoices["issued_at"] < as_of, list(INVOICE_COLUMNS)].reset_index(drop=True)
    pay = payments.loc[(payments["paid_at"] < as_of) & payments["invoice_id"].isin(inv["invoice_id"]),
                       ["invoice_id", "paid_at", "amount"]]
    pay = pay.sort_values(["invoice_id", "paid_at"], kind="stable")
    cum = pay.groupby("invoice_id", sort=False)["amount"].cumsum()
    billed = pay["invoice_id"].map(inv.set_index("invoice_id")["amount"])
    full = pay.loc[cum.to_numpy() >= billed.to_numpy() - 0.005].groupby("invoice_id")["paid_at"].min()
    paid = pay.groupby("invoice_id")["amount"].sum()

    out = inv.copy()
    out["paid_amount"] = out["invoice_id"].map(paid).fillna(0.0).astype(float)
    out["paid_at"] = out["invoice_id"].map(full).astype("datetime64[us]")
    settled = out["paid_at"].notna()
    out["open_amount"] = np.where(settled, 0.0, (out["amount"] - out["paid_amount"]).clip(lower=0.0))
    out["is_due"] = out["due_at"] < as_of
    end = out["paid_at"].where(settled, as_of)
    out["days_past_due"] = ((end - out["due_at"]) / DAY).clip(lower=0.0).where(out["is_due"], 0.0)
    out["is_late"] = out["is_due"] & (out["days_past_due"] > 0)
    limit = out["due_at"] + pd.Timedelta(days=default_days)
    out["is_matured"] = limit < as_of
    out["is_default"] = out["is_matured"] & ~(settled & (out["paid_at"] <= limit))
    return out


def payment_behaviour(invoices: pd.DataFrame, payments: pd.DataFrame, *, cutoff,
                      default_days: int = 90) -> pd.DataFrame:
    """Payment behaviour per customer from invoices and payments strictly before ``cutoff``.

    Parameters
    ----------
    invoices, payments : pandas.DataFrame
        As for :func:`invoice_status`.
    cutoff : str or datetime-like
        The moment the features describe; nothing at or after it is used.
    default_days : int, default=90
        Days past due after which an unpaid invoice counts as a default.

    Returns
    -------
    pandas.DataFrame
        One row per customer with at least one invoice before ``cutoff``: ``customer_id`` and
        ``invoices`` (int), ``invoices_12m`` (issued in the last 365 days), ``amount_mean``,
        ``due_invoices`` (due before the cutoff), ``late_invoices``, ``share_late`` (late / due,
        NaN if none due), ``share_late_adj`` (the share late pulled towards the share over all
        customers, as if each customer had 4 more invoices at that share: steadier for customers
        with few invoices), ``share_late_6m`` (the same over invoices due in the last 182 days),
        ``late_trend`` (``share_late_6m`` minus the share late before that; NaN if either is
        empty), ``days_past_due_mean`` and ``days_past_due_max`` (over due invoices),
        ``days_since_late`` (days since the due date of the latest late invoice; NaN if never
        late), ``matured_invoices`` (old enough to show a default), ``defaults``, ``default_rate``
        (defaults / matured, NaN if none matured), ``default_rate_adj`` (adjusted like
        ``share_late_adj``), ``repeat_defaulter`` (bool, 2 or more
        defaults), ``outstanding`` (open amount), ``past_due_balance`` (open amount past its due
        date), ``days_since_invoice``.
    """
    where = "credit.payment_behaviour"
    cutoff = as_timestamp(cutoff, name="cutoff", where=where)
    st = invoice_status(invoices, payments, as_of=cutoff, default_days=default_days)
    g = st.groupby("customer_id", sort=True)
    due = st[st["is_due"]]
    recent = due["due_at"] >= cutoff - pd.Timedelta(days=RECENT_DAYS)
    gd = due.groupby("customer_id")
    late_recent = due[recent].groupby("customer_id")["is_late"].mean()
    late_before = due[~recent].groupby("customer_id")["is_late"].mean()

    out = pd.DataFrame({
        "invoices": g.size(),
        "invoices_12m": st[st["issued_at"] >= cutoff - pd.Timedelta(days=365)].groupby("customer_id").size(),
        "amount_mean": g["amount"].mean(),
        "due_invoices": gd.size(),
        "late_invoices": gd["is_late"].sum(),
    })
    out["invoices_12m"] = out["invoices_12m"].fillna(0).astype(int)
    out["due_invoices"] = out["due_invoices"].fillna(0).astype(int)
    out["late_invoices"] = out["late_invoices"].fillna(0).astype(int)
    out["share_late"] = out["late_invoices"] / out["due_invoices"].where(out["due_invoices"] > 0)
    out["share_late_adj"] = shrink(out["late_invoices"], out["due_invoices"], _or_zero(due["is_late"].mean()))
    out["share_late_6m"] = late_recent.reindex(out.index).astype(float)
    out["late_trend"] = (late_recent - late_before).reindex(out.index).astype(float)
    out["days_past_due_mean"] = gd["days_past_due"].mean().reindex(out.index)
    out["days_past_due_max"] = gd["days_past_due"].max().reindex(out.index)
    last_late = due[due["is_late"]].groupby("customer_id")["due_at"].max()
    out["days_since_late"] = ((cutoff - last_late) / DAY).reindex(out.index)
    out["matured_invoices"] = g["is_matured"].sum().astype(int)
    out["defaults"] = g["is_default"].sum().astype(int)
    out["default_rate"] = out["defaults"] / out["matured_invoices"].where(out["matured_invoices"] > 0)
    matured = st.loc[st["is_matured"], "is_default"]
    out["default_rate_adj"] = shrink(out["defaults"], out["matured_invoices"],
                                     _or_zero(matured.mean() if len(matured) else 0.0))
    out["repeat_defaulter"] = out["defaults"] >= 2
    out["outstanding"] = g["open_amount"].sum()
    out["past_due_balance"] = st["open_amount"].where(st["is_due"], 0.0).groupby(st["customer_id"]).sum()
    out["days_since_invoice"] = (cutoff - g["issued_at"].max()) / DAY
    out.index.name = "customer_id"
    out = out.reset_index()
    return out[["customer_id", *BEHAVIOUR_COLUMNS]]


def customer_attributes(customers: pd.DataFrame, *, as_of) -> pd.DataFrame:
    """Customer attributes as of a date: age and tenure computed at ``as_of``, bands, categories.

    Parameters
    ----------
    customers : pandas.DataFrame
        ``customer_id, birth_date, created_at, income_band, occupation``; ``gender``,
        ``marital_status``, ``region``, ``acquisition_channel`` and ``contact_preference`` are
        used when present.
    as_of : str or datetime-like
        Customers created at or after it are left out.

    Returns
    -------
    pandas.DataFrame
        ``customer_id``, ``age`` (float64, years), ``age_band`` (category), ``tenure_days``
        (float64), ``tenure_band`` (category), ``income_band`` (ordered category, low to high),
        ``occupation`` and the optional columns present (category). Missing text is 'unknown'.
    """
    where = "credit.customer_attributes"
    check_frame(customers, name="customers", where=where)
    check_columns(customers, CUSTOMER_COLUMNS, where=where)
    as_of = as_timestamp(as_of, name="as_of", where=where)
    c = customers[customers["created_at"] < as_of]
    out = pd.DataFrame({"customer_id": c["customer_id"].to_numpy()})
    age = ((as_of - pd.to_datetime(c["birth_date"])) / DAY / 365.25).to_numpy(float)
    out["age"] = age
    out["age_band"] = _band(age, AGE_BANDS)
    tenure = ((as_of - pd.to_datetime(c["created_at"])) / DAY).to_numpy(float)
    out["tenure_days"] = tenure
    out["tenure_band"] = _band(tenure, TENURE_BANDS)
    out["income_band"] = income_category(c["income_band"])
    for col in ("occupation", "gender", "marital_status", "region", "acquisition_channel",
                "contact_preference"):
        if col in c.columns:
            out[col] = category(c[col])
    return out


def purchase_behaviour(orders: pd.DataFrame, order_lines: pd.DataFrame | None = None,
                       channels: pd.DataFrame | None = None, *, cutoff) -> pd.DataFrame:
    """Ordering habits before ``cutoff``: discount use and the channel kind used most.

    Parameters
    ----------
    orders : pandas.DataFrame
        ``order_id, customer_id, ordered_at``; ``channel_id`` for ``order_channel``.
    order_lines : pandas.DataFrame, optional
        ``order_id, discount`` for ``discount_share``.
    channels : pandas.DataFrame, optional
        ``channel_id, kind`` for ``order_channel``.
    cutoff : str or datetime-like

    Returns
    -------
    pandas.DataFrame
        ``customer_id``, ``orders`` (int), and when the inputs allow ``discount_share`` (share of
        order lines bought at a discount, float64) and ``order_channel`` (category: the channel
        kind of most orders).
    """
    where = "credit.purchase_behaviour"
    check_frame(orders, name="orders", where=where)
    check_columns(orders, ("order_id", "customer_id", "ordered_at"), where=f"{where}(orders)")
    cutoff = as_timestamp(cutoff, name="cutoff", where=where)
    o = orders[orders["ordered_at"] < cutoff]
    out = o.groupby("customer_id").size().rename("orders").to_frame()
    if order_lines is not None:
        check_columns(order_lines, ("order_id", "discount"), where=f"{where}(order_lines)")
        lines = order_lines[["order_id", "discount"]].merge(o[["order_id", "customer_id"]], on="order_id")
        out["discount_share"] = (lines["discount"] > 0).groupby(lines["customer_id"]).mean()
    if channels is not None and "channel_id" in o.columns:
        check_columns(channels, ("channel_id", "kind"), where=f"{where}(channels)")
        kind = o["channel_id"].map(channels.set_index("channel_id")["kind"].astype(str))
        counts = pd.crosstab(o["customer_id"], kind)
        out["order_channel"] = category(counts.idxmax(axis=1).reindex(out.index))
    return out.reset_index()


def customer_features(invoices: pd.DataFrame, payments: pd.DataFrame, customers: pd.DataFrame, *,
                      cutoff, default_days: int = 90, orders: pd.DataFrame | None = None,
                      order_lines: pd.DataFrame | None = None,
                      channels: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per customer created before ``cutoff``: attributes, payment and purchase behaviour.

    Parameters
    ----------
    invoices, payments : pandas.DataFrame
        As for :func:`invoice_status`; only rows before ``cutoff`` are used.
    customers : pandas.DataFrame
        As for :func:`customer_attributes`.
    cutoff : str or datetime-like
    default_days : int, default=90
    orders, order_lines, channels : pandas.DataFrame, optional
        Adds the columns of :func:`purchase_behaviour` when ``orders`` is given.

    Returns
    -------
    pandas.DataFrame
        ``customer_id``, the :func:`customer_attributes` columns, the :func:`payment_behaviour`
        columns (counts and balances 0, rates NaN for customers without invoices) and, with
        ``orders``, the :func:`purchase_behaviour` columns. Sorted by ``customer_id``.
    """
    where = "credit.customer_features"
    cutoff = as_timestamp(cutoff, name="cutoff", where=where)
    attrs = customer_attributes(customers, as_of=cutoff)
    behaviour = payment_behaviour(invoices, payments, cutoff=cutoff, default_days=default_days)
    out = attrs.merge(behaviour, on="customer_id", how="left")
    for col in ("invoices", "invoices_12m", "due_invoices", "late_invoices", "matured_invoices",
                "defaults"):
        out[col] = out[col].fillna(0).astype(int)
    for col in ("outstanding", "past_due_balance"):
        out[col] = out[col].fillna(0.0)
    out["repeat_defaulter"] = out["repeat_defaulter"].fillna(False).astype(bool)
    if orders is not None:
        buying = purchase_behaviour(orders, order_lines, channels, cutoff=cutoff)
        out = out.merge(buying, on="customer_id", how="left")
        out["orders"] = out["orders"].fillna(0).astype(int)
        if "order_channel" in out.columns:
            out["order_channel"] = category(out["order_channel"])
    return out.sort_values("customer_id", kind="stable").reset_index(drop=True)


def shrink(events, trials, prior):
    """A share pulled towards the population share when it rests on few invoices.

    ``(events + m * prior) / (trials + m)`` with ``m`` = :data:`PRIOR_INVOICES`: an
    empirical-Bayes estimate, as if each customer had ``m`` more invoices at the population share.
    Plain arithmetic, so the Spark path (:mod:`crmlib.spark.credit`) applies it to its columns.

    Parameters
    ----------
    events : pandas.Series or pyspark.sql.Column
        Late (or defaulted) invoices per customer.
    trials : pandas.Series or pyspark.sql.Column
        Due (or matured) invoices per customer.
    prior : float or pyspark.sql.Column
        The population share (not NaN: callers use 0 when there is none).

    Returns
    -------
    pandas.Series or pyspark.sql.Column
    """
    return (events + PRIOR_INVOICES * prior) / (trials + PRIOR_INVOICES)


def _or_zero(prior) -> float:
    return 0.0 if pd.isna(prior) else float(prior)


def _band(values: np.ndarray, bands) -> pd.Categorical:
    edges = np.array([b[0] for b in bands], float)
    labels = [b[1] for b in bands]
    idx = np.searchsorted(edges, values, side="right") - 1
    codes = np.where(np.isnan(values), -1, np.clip(idx, 0, len(labels) - 1))
    return pd.Categorical.from_codes(codes, categories=labels, ordered=True)


def category(values: pd.Series) -> pd.Categorical:
    """Text categories with missing values as 'unknown', categories sorted.

    Parameters
    ----------
    values : pandas.Series

    Returns
    -------
    pandas.Categorical
    """
    text = values.astype("str").where(values.notna(), "unknown").to_numpy()
    return pd.Categorical(text, categories=sorted(set(text)))


def income_category(values: pd.Series) -> pd.Categorical:
    """Income bands as an ordered category: :data:`INCOME_ORDER`, other bands, then 'unknown'.

    Parameters
    ----------
    values : pandas.Series
        Income band per customer; missing values become 'unknown'.

    Returns
    -------
    pandas.Categorical
        Ordered, with only the categories that occur.
    """
    income = values.astype("str").to_numpy()
    known = [b for b in INCOME_ORDER if b in set(income)]
    other = sorted(set(income) - set(INCOME_ORDER) - {"nan", "None", "<NA>"})
    return pd.Categorical(
        np.where(pd.isna(values).to_numpy(), "unknown", income),
        categories=[*known, *other, "unknown"], ordered=True).remove_unused_categories()
