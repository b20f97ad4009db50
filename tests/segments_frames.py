"""Tiny canonical frames for the segments tests, small enough to check every number by hand.

Customers (as of 2025-03-31):
  1  three purchases (Jan 5: 50.00, Feb 10: 90.00, Mar 20: 10.00), two channels, discounts
  2  one purchase (Feb 1: 100.00)
  3  no order at all
  4  one purchase (Jan 15: 80.00) and a refund order (Jan 25: -40.00, negative quantity)
  5  only a zero-amount order (Mar 1, 100% discount)
  6  only a cancelled order
"""

from __future__ import annotations

import pandas as pd

AS_OF = "2025-03-31"


def customers() -> pd.DataFrame:
    return pd.DataFrame({
        "customer_id": [1, 2, 3, 4, 5, 6],
        "first_name": ["Ann", "Bob", "Cid", "Dee", "Eve", "Fay"],
        "created_at": pd.to_datetime(["2024-12-01", "2025-01-20", "2025-01-01", "2025-01-10",
                                      "2025-02-15", "2025-03-01"]),
        "acquisition_channel": ["email", "search", "email", "social", "organic", "social"],
        "acquisition_campaign_id": pd.array([10, 10, 10, 20, None, 20], dtype="Int64"),
    })


def campaigns() -> pd.DataFrame:
    return pd.DataFrame({
        "campaign_id": [10, 20, 30],
        "name": ["Winter mail", "Social ads", "Spring mail"],
        "channel": ["email", "social", "email"],
        "started_at": pd.to_datetime(["2024-11-01", "2025-01-01", "2025-03-01"]),
        "ended_at": pd.to_datetime(["2025-01-31", "2025-02-28", "2025-03-31"]),
        "cost": [300.0, 100.0, 50.0],
    })


def products() -> pd.DataFrame:
    return pd.DataFrame({
        "product_id": [1, 2, 3],
        "category": ["Books", "Electronics", "Home & Garden"],
        "subcategory": ["Fiction", "Audio", "Tools"],
        "unit_price": [10.0, 100.0, 40.0],
        "unit_cost": [6.0, 70.0, 20.0],
        "price_band": ["low", "high", "mid"],
    })


def channels() -> pd.DataFrame:
    return pd.DataFrame({"channel_id": [1, 2], "name": ["Main St", "Web"], "kind": ["store", "online"],
                         "region": ["North", None]})


def orders() -> pd.DataFrame:
    return pd.DataFrame({
        "order_id": [101, 102, 103, 104, 105, 106, 107, 108],
        "customer_id": [1, 1, 1, 2, 4, 4, 5, 6],
        "channel_id": [1, 2, 2, 1, 1, 1, 2, 1],
        "rep_id": pd.array([None] * 8, dtype="Int64"),
        "ordered_at": pd.to_datetime(["2025-01-05 10:00", "2025-02-10 12:30", "2025-03-20 09:15",
                                      "2025-02-01 16:00", "2025-01-15 11:00", "2025-01-25 11:00",
                                      "2025-03-01 10:00", "2025-03-05 10:00"]),
        "status": ["completed", "completed", "completed", "completed", "completed", "completed",
                   "completed", "cancelled"],
    })


def order_lines() -> pd.DataFrame:
    return pd.DataFrame({
        "order_id": [101, 101, 102, 103, 104, 105, 106, 107, 108],
        "line_no": [1, 2, 1, 1, 1, 1, 1, 1, 1],
        "product_id": [1, 3, 2, 1, 2, 3, 3, 1, 2],
        "quantity": [2, 1, 1, 1, 1, 2, -1, 1, 1],
        "unit_price": [10.0, 40.0, 100.0, 10.0, 100.0, 40.0, 40.0, 10.0, 100.0],
        "discount": [0.0, 0.25, 0.1, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0],
    })


def service_tickets() -> pd.DataFrame:
    return pd.DataFrame({"ticket_id": [1, 2, 3], "customer_id": [1, 1, 4],
                         "opened_at": pd.to_datetime(["2025-01-10", "2025-04-10", "2025-01-26"])})


def interactions() -> pd.DataFrame:
    return pd.DataFrame({"interaction_id": [1, 2, 3], "customer_id": [2, 2, 1],
                         "occurred_at": pd.to_datetime(["2025-02-03", "2025-02-04", "2025-02-11"]),
                         "kind": ["complaint", "inquiry", "complaint"]})


def transactions() -> pd.DataFrame:
    """order_values(orders(), order_lines()) written out by hand."""
    return pd.DataFrame({
        "order_id": [101, 105, 106, 104, 102, 107, 103],
        "customer_id": [1, 4, 4, 2, 1, 5, 1],
        "ordered_at": pd.to_datetime(["2025-01-05 10:00", "2025-01-15 11:00", "2025-01-25 11:00",
                                      "2025-02-01 16:00", "2025-02-10 12:30", "2025-03-01 10:00",
                                      "2025-03-20 09:15"]),
        "amount": [50.0, 80.0, -40.0, 100.0, 90.0, 0.0, 10.0],
    })
