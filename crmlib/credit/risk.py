"""Money at risk: expected loss = probability of default x outstanding balance (x loss given default).

The probability is a model's probability that an invoice of the customer defaults
(:mod:`crmlib.credit.models`); the exposure is what the customer owes on invoices that are not
yet in default. Balances already in default (unpaid more than ``default_days`` past due) are
reported apart: they are losses to collect, not risks to price.
"""

from __future__ import annotations

import pandas as pd

from .._validation import check_columns, check_interval
from .features import invoice_status

__all__ = ["expected_loss", "exposure", "loss_summary"]


def exposure(invoices: pd.DataFrame, payments: pd.DataFrame, *, as_of,
             default_days: int = 90) -> pd.DataFrame:
    """Open balances per customer as of ``as_of``.

    Parameters
    ----------
    invoices, payments : pandas.DataFrame
        As for :func:`crmlib.credit.features.invoice_status`.
    as_of : str or datetime-like
    default_days : int, default=90

    Returns
    -------
    pandas.DataFrame
        One row per customer with an open balance: ``customer_id``, ``open_invoices`` (int),
        ``outstanding`` (open amount of invoices not in default, float64), ``past_due`` (the part
        of it past its due date), ``in_default`` (open amount of invoices in default).
    """
    st = invoice_status(invoices, payments, as_of=as_of, default_days=default_days)
    st = st[st["open_amount"] > 0]
    performing = ~st["is_default"]
    frame = pd.DataFrame({
        "customer_id": st["customer_id"].to_numpy(),
        "open_invoices": 1,
        "outstanding": st["open_amount"].where(performing, 0.0).to_numpy(),
        "past_due": st["open_amount"].where(performing & st["is_due"], 0.0).to_numpy(),
        "in_default": st["open_amount"].where(~performing, 0.0).to_numpy(),
    })
    out = frame.groupby("customer_id", sort=True).sum().reset_index()
    return out.astype({"open_invoices": int})


def expected_loss(scores: pd.DataFrame, balances: pd.DataFrame, *, lgd: float = 1.0) -> pd.DataFrame:
    """Expected loss per customer: ``probability x outstanding x lgd``.

    Parameters
    ----------
    scores : pandas.DataFrame
        ``customer_id, probability`` (one row per scored customer).
    balances : pandas.DataFrame
        ``customer_id, outstanding`` (and optionally ``in_default``), e.g. :func:`exposure`.
        Customers without a row owe nothing.
    lgd : float, default=1.0
        Loss given default: the share of the outstanding balance lost, in [0, 1].

    Returns
    -------
    pandas.DataFrame
        ``customer_id``, ``probability``, ``outstanding``, ``expected_loss`` (float64) and
        ``in_default`` (0 if not given), one row per scored customer, largest expected loss first.
    """
    where = "credit.expected_loss"
    check_columns(scores, ("customer_id", "probability"), where=f"{where}(scores)")
    check_columns(balances, ("customer_id", "outstanding"), where=f"{where}(balances)")
    check_interval(lgd, 0, 1, name="lgd", where=where)
    cols = ["customer_id", "outstanding"] + (["in_default"] if "in_default" in balances.columns else [])
    out = scores[["customer_id", "probability"]].merge(balances[cols], on="customer_id", how="left")
    out["outstanding"] = out["outstanding"].fillna(0.0)
    out["in_default"] = out["in_default"].fillna(0.0) if "in_default" in out.columns else 0.0
    out["expected_loss"] = out["probability"] * out["outstanding"] * lgd
    out = out[["customer_id", "probability", "outstanding", "expected_loss", "in_default"]]
    return out.sort_values("expected_loss", ascending=False, kind="stable").reset_index(drop=True)


def loss_summary(losses: pd.DataFrame) -> pd.Series:
    """Totals of :func:`expected_loss`.

    Parameters
    ----------
    losses : pandas.DataFrame
        The result of :func:`expected_loss`.

    Returns
    -------
    pandas.Series
        ``customers``, ``customers_with_balance``, ``outstanding``, ``expected_loss``,
        ``expected_loss_rate`` (expected loss / outstanding), ``in_default``,
        ``top10_share`` (share of the expected loss carried by the top 10% of customers by it).
    """
    check_columns(losses, ("outstanding", "expected_loss", "in_default"), where="credit.loss_summary")
    total = float(losses["expected_loss"].sum())
    outstanding = float(losses["outstanding"].sum())
    top = losses["expected_loss"].sort_values(ascending=False).head(max(1, len(losses) // 10)).sum()
    return pd.Series({
        "customers": float(len(losses)),
        "customers_with_balance": float((losses["outstanding"] > 0).sum()),
        "outstanding": outstanding, "expected_loss": total,
        "expected_loss_rate": total / outstanding if outstanding else float("nan"),
        "in_default": float(losses["in_default"].sum()),
        "top10_share": float(top / total) if total else float("nan"),
    })
