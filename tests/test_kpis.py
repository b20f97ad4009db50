import sqlite3

import pandas as pd
import pytest

import crmlib
from crmlib import kpis
from crmlib.errors import DataContractError


def test_revenue_reconciles_with_sql(small_url, small_path):
    crm = crmlib.connect(small_url)
    lines = kpis.line_revenue(crm.orders(), crm.order_lines())
    with sqlite3.connect(f"file:{small_path}?mode=ro", uri=True) as con:
        (expected,) = con.execute(
            "SELECT SUM(l.quantity * l.unit_price * (1 - l.discount)) FROM order_lines l "
            "JOIN orders o USING (order_id) WHERE o.status = 'completed'").fetchone()
    assert lines["revenue"].sum() == pytest.approx(expected, rel=1e-12)
    monthly = kpis.revenue_by(lines, [], freq="M")
    assert monthly["revenue"].sum() == pytest.approx(expected, rel=1e-12) and len(monthly) == 36
    summary = kpis.summary(crm.customers(), lines)
    assert isinstance(summary["customers"], int) and summary["orders"] == lines["order_id"].nunique()


def test_missing_columns_are_named():
    with pytest.raises(DataContractError, match=r"kpis.line_revenue\(orders\): missing column\(s\) \['status'\]"):
        kpis.line_revenue(pd.DataFrame(columns=["order_id", "customer_id", "channel_id", "ordered_at"]),
                          pd.DataFrame(columns=["order_id", "quantity", "unit_price", "discount"]))
