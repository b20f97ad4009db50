"""Shared data for the credit tests: tiny hand-checkable frames, and the small sample loaded once.

The sample-based helpers are cached per URL, so the test files share one load, one backtest and
one pair of fitted models per session.
"""

from __future__ import annotations

import functools

import pandas as pd

AS_OF = pd.Timestamp("2025-06-01")


def tiny_invoices() -> pd.DataFrame:
    """Seven invoices of three customers; see tiny_payments for what happened to each."""
    ts = pd.to_datetime
    return pd.DataFrame({
        "invoice_id": [1, 2, 3, 4, 5, 6, 7],
        "customer_id": [1, 1, 1, 2, 2, 3, 1],
        "issued_at": ts(["2025-01-01", "2025-02-01", "2025-03-01", "2025-01-10", "2025-05-01",
                         "2025-05-20", "2025-07-01"]),
        "due_at": ts(["2025-01-31", "2025-03-03", "2025-03-31", "2025-02-09", "2025-05-31",
                      "2025-06-19", "2025-07-31"]),
        "amount": [100.0, 50.0, 80.0, 200.0, 60.0, 30.0, 10.0],
    })


def tiny_payments() -> pd.DataFrame:
    """1 on time; 2 ten days late; 3 in two parts, 5 days late; 4 one partial payment (default by
    2025-05-10); 5 open, due the day before AS_OF, paid after AS_OF; 6 not due; 7 issued after AS_OF."""
    ts = pd.to_datetime
    return pd.DataFrame({
        "payment_id": [1, 2, 3, 4, 5, 6],
        "invoice_id": [1, 2, 3, 3, 4, 5],
        "paid_at": ts(["2025-01-20", "2025-03-13", "2025-03-20", "2025-04-05", "2025-03-01",
                       "2025-06-10"]),
        "amount": [100.0, 50.0, 40.0, 40.0, 50.0, 60.0],
    })


def tiny_customers() -> pd.DataFrame:
    ts = pd.to_datetime
    return pd.DataFrame({
        "customer_id": [1, 2, 3, 4],
        "birth_date": ts(["2000-03-01", "1980-01-15", "1950-03-01", "1990-01-01"]),
        "created_at": ts(["2024-12-01", "2023-05-01", "2025-05-01", "2025-08-01"]),
        "income_band": pd.Categorical(["low", "high", "middle", "low"]),
        "occupation": pd.Categorical(["student", "manager", "retired", "it"]),
        "gender": pd.Categorical(["female", "male", "female", "male"]),
    })


@functools.cache
def tables(url: str) -> dict[str, pd.DataFrame]:
    import crmlib

    crm = crmlib.connect(url)
    out = {name: getattr(crm, name)() for name in ("invoices", "payments", "customers", "orders",
                                                   "order_lines", "channels")}
    out["truth_customers"] = crm.truth("customers")
    crm.close()
    return out


@functools.cache
def backtest(url: str):
    from crmlib.credit.target import backtest_samples

    t = tables(url)
    return backtest_samples(t["invoices"], t["payments"], t["customers"], orders=t["orders"],
                            order_lines=t["order_lines"], channels=t["channels"])


@functools.cache
def fitted(url: str) -> dict:
    from crmlib.credit._common import binomial_rows
    from crmlib.credit.models import MODEL_FEATURES, BoostingModel, ScorecardModel

    bt = backtest(url)
    X, y, w = binomial_rows(bt.train, MODEL_FEATURES, events="defaults_next", trials="invoices_next")
    return {"scorecard": ScorecardModel().fit(X, y, sample_weight=w),
            "boosting": BoostingModel().fit(X, y, sample_weight=w)}
