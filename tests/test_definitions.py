"""crmlib.definitions: each shared rule once, and every report applying it alike.

- the order-status policy is one vocabulary that the importer, the cube and the analyses share;
- revenue reconciles to the cent across the KPIs, the cube, RFM monetary, the profit tiers and the
  mart, on the sample and on a CRM whose orders include ``open`` ones;
- one date, one day: a time-zone-aware date and its naive wall-clock twin give the same result in
  every analysis that takes a date.
"""

import shutil
import sqlite3

import numpy as np
import pandas as pd
import pytest

import crmlib
from crmlib import credit, cube, definitions, kpis, segments, targeting
from crmlib.definitions import (
    NON_PURCHASE_STATUSES,
    ORDER_STATUSES,
    PURCHASE_STATUSES,
    REVENUE_STATUSES,
)
from crmlib.errors import ParameterError
from crmlib.imports import rules as import_rules
from crmlib.mart import sales_fact

CENT = 0.005


# ---------------------------------------------------------------------- the status policy
def test_statuses_partition_the_vocabulary():
    assert set(REVENUE_STATUSES) | set(NON_PURCHASE_STATUSES) == set(ORDER_STATUSES)
    assert not set(REVENUE_STATUSES) & set(NON_PURCHASE_STATUSES)
    assert PURCHASE_STATUSES == REVENUE_STATUSES
    assert "open" in REVENUE_STATUSES and "completed" in REVENUE_STATUSES


def test_importer_and_cube_know_every_status():
    assert sorted(import_rules.RULES["orders"]["status"]["isin"]) == sorted(ORDER_STATUSES)
    orders = pd.DataFrame({"order_id": [1], "customer_id": [1], "channel_id": [1], "rep_id": [1],
                           "ordered_at": pd.to_datetime(["2025-01-01"]), "status": ["open"]})
    # the importer's row check accepts 'open'; the cube accepts every status of the vocabulary
    import_rules.check_rules("orders", orders)
    for status in ORDER_STATUSES:
        cube.build_star(orders, pd.DataFrame({"order_id": [1], "product_id": [1], "quantity": [1],
                                              "unit_price": [1.0], "discount": [0.0]}),
                        pd.DataFrame({"product_id": [1], "name": ["p"], "category": ["c"],
                                      "subcategory": ["s"], "unit_cost": [0.5], "price_band": ["b"]}),
                        pd.DataFrame({"channel_id": [1], "name": ["web"], "kind": ["online"]}),
                        pd.DataFrame({"rep_id": [1], "name": ["r"], "region": ["x"], "manager_id": [None]}),
                        statuses=(status,))


def test_counts_as_revenue():
    mask = definitions.counts_as_revenue(["completed", "open", "cancelled", "returned", "other"])
    assert mask.tolist() == [True, True, False, False, False]


def test_line_revenue_is_after_discount():
    q, p, d = np.array([2, 1, 3]), np.array([10.0, 5.0, 1.0]), np.array([0.25, 0.0, 1.0])
    np.testing.assert_array_equal(definitions.line_revenue(q, p, d), [15.0, 5.0, 0.0])


# ---------------------------------------------------------------------- dates
def test_one_date_rule_keeps_the_wall_clock():
    aware = pd.Timestamp("2025-03-01 23:30", tz="Asia/Kolkata")
    assert definitions.as_timestamp(aware, name="as_of", where="t") == pd.Timestamp("2025-03-01 23:30")
    assert definitions.as_day(aware, where="t") == pd.Timestamp("2025-03-01")
    assert definitions.as_day("2025-03-01T01:00:00-08:00", where="t") == pd.Timestamp("2025-03-01")
    assert definitions.as_day(None, where="t", default=pd.Timestamp("2025-05-06 13:00")) == \
        pd.Timestamp("2025-05-06")
    series = pd.Series(pd.to_datetime(["2025-03-01 23:30"])).dt.tz_localize("America/New_York")
    assert definitions.wall_clock(series).tolist() == [pd.Timestamp("2025-03-01 23:30")]


@pytest.mark.parametrize("value", [None, True, "soon", [2025, 3, 1], float("nan")])
def test_bad_dates_name_the_parameter(value):
    with pytest.raises(ParameterError, match=r"t: 'cutoff' must be a date such as '2025-03-01'"):
        definitions.as_timestamp(value, name="cutoff", where="t")


def test_wilson_interval():
    low, high = definitions.wilson_interval([5, 0], [100, 0])
    assert round(low[0], 4) == 0.0215 and round(high[0], 4) == 0.1118
    assert np.isnan(low[1]) and np.isnan(high[1])
    assert credit.profile.wilson_interval is definitions.wilson_interval


def test_rule_text_is_the_one_sentence():
    text = definitions.rule_text(frozenset({"diapers", "wipes"}), frozenset({"beer"}), 3.04)
    assert text == "customers who buy diapers and wipes are 3.0 times as likely to buy beer"
    from crmlib.baskets import rule_findings

    rules = pd.DataFrame({"antecedents": [frozenset({"diapers", "wipes"})],
                          "consequents": [frozenset({"beer"})], "confidence": [0.5], "lift": [3.04]})
    assert rule_findings(rules)[0].startswith("C" + text[1:] + " (")


def test_measures_vocabulary_is_the_cube_s():
    assert cube.MEASURES == definitions.MEASURES and cube.LEVELS == definitions.LEVELS
    assert set(definitions.MEASURE_TEXT) == set(definitions.MEASURES)


# ---------------------------------------------------------------------- reconciliation
def _tables(path):
    crm = crmlib.connect(f"sqlite:///{path}")
    return {name: crm.load(name) for name in ("orders", "order_lines", "products", "channels",
                                               "sales_reps", "customers")}


def _revenues(t) -> dict[str, float]:
    """Total revenue of the whole period in each report's own terms."""
    lines = kpis.line_revenue(t["orders"], t["order_lines"])
    star = cube.build_star(t["orders"], t["order_lines"], t["products"], t["channels"], t["sales_reps"],
                           t["customers"])
    values = segments.order_values(t["orders"], t["order_lines"])
    rfm = segments.rfm_table(values)
    margin = segments.customer_margin(t["orders"], t["order_lines"], t["products"])
    tiers = segments.profit_tiers(margin)
    fact = sales_fact(t["orders"], t["order_lines"], t["products"])
    return {
        "kpis": float(kpis.summary(t["customers"], lines)["revenue"]),
        "cube": float(cube.aggregate(star, [], measures=["revenue"])["revenue"].sum()),
        "rfm_monetary": float(rfm["monetary"].sum()),
        "profit_tiers": float(tiers["revenue"].sum()) if "revenue" in tiers else float(margin["revenue"].sum()),
        "mart": float(fact.loc[definitions.counts_as_revenue(fact["status"]), "net_amount"].sum()),
    }


def _agree(rev: dict[str, float]):
    first = rev["kpis"]
    for name, value in rev.items():
        assert abs(value - first) < 0.01 + CENT, (name, value, first)  # kpis rounds to the cent


def test_revenue_reconciles_on_the_sample(small_path):
    _agree(_revenues(_tables(small_path)))


def test_revenue_reconciles_with_open_orders(small_path, tmp_path):
    path = tmp_path / "imported.sqlite"
    shutil.copy(small_path, path)
    with sqlite3.connect(path) as con:  # an imported CRM: some orders are still open
        con.execute("UPDATE orders SET status = 'open' WHERE status = 'completed' AND order_id % 7 = 0")
    t = _tables(path)
    n_open = int((t["orders"]["status"] == "open").sum())
    assert n_open > 100
    import_rules.check_rules("orders", t["orders"])
    rev = _revenues(t)
    _agree(rev)
    # ... and the open orders are in it: exactly the completed-only figure plus their lines
    completed = kpis.line_revenue(t["orders"], t["order_lines"], statuses=("completed",))
    opened = kpis.line_revenue(t["orders"], t["order_lines"], statuses=("open",))
    assert abs(rev["cube"] - completed["revenue"].sum() - opened["revenue"].sum()) < CENT
    assert opened["revenue"].sum() > 0


# ---------------------------------------------------------------------- one date, one day
AWARE = pd.Timestamp("2024-06-30 23:30", tz="Asia/Tokyo")  # 14:30 UTC: the same day either way
LATE = pd.Timestamp("2024-06-30 23:30", tz="America/Los_Angeles")  # 1 July in UTC


@pytest.mark.parametrize("aware", [AWARE, LATE], ids=["east", "west"])
def test_one_date_one_day_in_every_analysis(small_path, aware):
    naive = aware.tz_localize(None)
    crm = crmlib.connect(f"sqlite:///{small_path}")
    orders, lines = crm.load("orders"), crm.load("order_lines")
    values = segments.order_values(orders, lines)

    def same(fn):
        a, b = fn(aware), fn(naive)
        pd.testing.assert_frame_equal(a, b)

    same(lambda d: segments.rfm_table(values, as_of=d))
    same(lambda d: segments.customer_margin(orders, lines, crm.load("products"), as_of=d))
    inv, pay = crm.load("invoices"), crm.load("payments")
    same(lambda d: credit.features.invoice_status(inv, pay, as_of=d))
    tables = {name: crm.load(name, cols) for name, cols in targeting.REQUIRED_COLUMNS.items()}
    same(lambda d: targeting.customer_features(tables, as_of=d).head(200))
    same(lambda d: crm.load("orders", until=d).tail(50).reset_index(drop=True))
    assert definitions.as_day(aware, where="t") == pd.Timestamp("2024-06-30")


def test_table_accessors_are_real_methods():
    import inspect

    from crmlib.db import Crm
    from crmlib.schema import CANONICAL_TABLES

    source = inspect.getsource(Crm)
    for table in CANONICAL_TABLES:
        assert f"    def {table}(self, columns=None, *" in source, table
        assert getattr(Crm, table).__doc__.startswith(f"Load the ``{table}`` table")
