"""A tiny sales database for the cube tests, small enough to check every number by hand.

Completed order lines (revenue = quantity x unit_price x (1 - discount)):

===== ===== ======= ===== ======= ========== ====== ===== ====== ==========
order line product  qty   price   discount   rev.   cust  rep    date
===== ===== ======= ===== ======= ========== ====== ===== ====== ==========
100   1     Apple   2     1.0     0          2.0    10    Bob    2024-01-15
100   2     Soap    1     3.0     0.1        2.7    10    Bob    2024-01-15
101   1     Pear    1     2.0     0          2.0    11    Bob    2024-02-10
102   1     Apple   4     1.0     0.25       3.0    12    Dee    2024-02-20
102   2     Pear    1     2.0     0          2.0    12    Dee    2024-02-20
103   1     Soap    2     3.0     0          6.0    12    Dee    2025-01-05
===== ===== ======= ===== ======= ========== ====== ===== ====== ==========

Order 104 (Apple x 10, Bob, 2025-02-01) is cancelled. Total revenue 17.7: Bob (North) 6.7, Dee
(South) 11.0. Targets: Bob 4.0 (2024-01) + 2.0 (2024-02); Dee 5.0 (2024-02) + 8.0 (2025-01).
"""

from __future__ import annotations

import pandas as pd

from crmlib.cube import build_star


def tables() -> dict[str, pd.DataFrame]:
    ts = pd.to_datetime
    return {
        "orders": pd.DataFrame({
            "order_id": [100, 101, 102, 103, 104], "customer_id": [10, 11, 12, 12, 10],
            "channel_id": [1, 2, 1, 2, 1], "rep_id": pd.array([2, 2, 4, 4, 2], dtype="Int64"),
            "ordered_at": ts(["2024-01-15 10:00", "2024-02-10 11:00", "2024-02-20 12:00",
                              "2025-01-05 09:30", "2025-02-01 16:00"]),
            "status": pd.Categorical(["completed"] * 4 + ["cancelled"])}),
        "order_lines": pd.DataFrame({
            "order_id": [100, 100, 101, 102, 102, 103, 104], "line_no": [1, 2, 1, 1, 2, 1, 1],
            "product_id": [1, 3, 2, 1, 2, 3, 1], "quantity": [2, 1, 1, 4, 1, 2, 10],
            "unit_price": [1.0, 3.0, 2.0, 1.0, 2.0, 3.0, 1.0],
            "discount": [0.0, 0.1, 0.0, 0.25, 0.0, 0.0, 0.0]}),
        "products": pd.DataFrame({
            "product_id": [1, 2, 3], "sku": ["A", "P", "S"], "name": ["Apple", "Pear", "Soap"],
            "category": ["Fruit", "Fruit", "Home"], "subcategory": ["Fresh", "Fresh", "Care"],
            "unit_price": [1.0, 2.0, 3.0], "unit_cost": [0.5, 1.0, 1.0],
            "price_band": ["standard", "premium", "budget"]}),
        "channels": pd.DataFrame({"channel_id": [1, 2], "name": ["North Store", "Web Shop"],
                                  "kind": ["store", "online"], "region": ["North", None]}),
        "sales_reps": pd.DataFrame({
            "rep_id": [1, 2, 3, 4], "name": ["Ann", "Bob", "Cid", "Dee"],
            "region": ["North", "North", "South", "South"],
            "manager_id": pd.array([None, 1, None, 3], dtype="Int64")}),
        "customers": pd.DataFrame({"customer_id": [10, 11, 12], "region": ["North", "North", "South"],
                                   "income_band": ["high", "low", "high"]}),
        "rep_targets": pd.DataFrame({
            "rep_id": [2, 2, 4, 4], "month": ts(["2024-01-01", "2024-02-01", "2024-02-01", "2025-01-01"]),
            "target_amount": [4.0, 2.0, 5.0, 8.0]}),
    }


def star(**kwargs):
    t = tables()
    return build_star(t["orders"], t["order_lines"], t["products"], t["channels"], t["sales_reps"],
                      t["customers"], rep_targets=t["rep_targets"], **kwargs)
