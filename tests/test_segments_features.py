"""Order values and the customer feature table on the hand-checkable frames."""

from __future__ import annotations

import pandas as pd
import pytest
import segments_frames as F

from crmlib.errors import DataContractError, ParameterError
from crmlib.segments import customer_features, order_values


def test_order_values_by_hand():
    out = order_values(F.orders(), F.order_lines())
    expected = F.transactions()
    pd.testing.assert_frame_equal(out[["order_id", "customer_id", "ordered_at", "amount"]], expected)
    assert out.set_index("order_id").loc[101, "gross"] == 60.0
    assert out.set_index("order_id").loc[101, "n_lines"] == 2


def test_order_values_order_without_lines_is_zero():
    orders = F.orders()
    lines = F.order_lines()
    lines = lines[lines["order_id"] != 104]
    out = order_values(orders, lines).set_index("order_id")
    assert out.loc[104, "amount"] == 0.0
    assert out.loc[104, "n_lines"] == 0


def test_order_values_does_not_change_input():
    orders, lines = F.orders(), F.order_lines()
    before = orders.copy(), lines.copy()
    order_values(orders, lines)
    pd.testing.assert_frame_equal(orders, before[0])
    pd.testing.assert_frame_equal(lines, before[1])


def test_order_values_keeps_cancelled_when_asked():
    out = order_values(F.orders(), F.order_lines(), exclude_status=())
    assert 108 in set(out["order_id"])


@pytest.mark.parametrize(
    ("drop", "match"),
    [("ordered_at", r"segments.order_values: missing column\(s\) \['ordered_at'\]"),
     ("status", r"missing column\(s\) \['status'\]; found \['order_id', 'customer_id'")],
)
def test_order_values_missing_column(drop, match):
    with pytest.raises(DataContractError, match=match):
        order_values(F.orders().drop(columns=drop), F.order_lines())


def test_order_values_duplicate_order_id():
    orders = pd.concat([F.orders(), F.orders().iloc[:1]])
    with pytest.raises(DataContractError, match=r"1 order_id value\(s\) appear more than once \(e.g. 101\)"):
        order_values(orders, F.order_lines())


def test_order_values_rejects_non_frame():
    with pytest.raises(ParameterError, match="'orders' must be a pandas DataFrame; got"):
        order_values([1, 2], F.order_lines())


def full_features(**kw):
    return customer_features(F.orders(), F.order_lines(), F.products(), as_of=F.AS_OF,
                             channels=F.channels(), service_tickets=F.service_tickets(),
                             interactions=F.interactions(), **kw)


def test_features_by_hand():
    feats = full_features()
    # customer 5 (zero amount only), 3 (no order) and 6 (cancelled) are not buyers
    assert list(feats.index) == [1, 2, 4]
    c1 = feats.loc[1]
    assert c1["recency_days"] == 11
    assert c1["frequency"] == 3
    assert c1["monetary"] == 150
    assert c1["avg_order_value"] == 50
    assert c1["tenure_days"] == 85
    assert c1["items_per_order"] == pytest.approx(4 / 3)
    assert c1["units_per_line"] == pytest.approx(5 / 4)  # 2 + 1 + 1 + 1 units over 4 lines
    assert c1["discount_share"] == pytest.approx(140 / 170)
    assert c1["cat_books"] == pytest.approx(0.2)
    assert c1["cat_electronics"] == pytest.approx(0.6)
    assert c1["cat_home_garden"] == pytest.approx(0.2)
    assert c1["chan_store"] == pytest.approx(1 / 3)
    assert c1["chan_online"] == pytest.approx(2 / 3)
    assert c1["tickets"] == 1  # the April ticket is after as_of
    assert c1["complaints"] == 1
    c4 = feats.loc[4]
    assert c4["monetary"] == 40  # 80 bought, 40 returned
    assert c4["frequency"] == 1
    assert c4["items_per_order"] == 1
    assert c4["units_per_line"] == 2  # the returned unit is not a purchase
    assert c4["tickets"] == 1
    assert feats.loc[2, "complaints"] == 1
    assert feats.loc[2, "tickets"] == 0


def test_features_tenure_from_created_at():
    feats = customer_features(F.orders(), F.order_lines(), as_of=F.AS_OF, customers=F.customers())
    assert feats.loc[1, "tenure_days"] == 120  # created 2024-12-01
    assert feats.loc[1, "orders_per_month"] == pytest.approx(3 / (120 / 30.4375))


def test_features_as_of_before_any_order_is_empty_with_columns():
    feats = customer_features(F.orders(), F.order_lines(), as_of="2024-12-31")
    assert len(feats) == 0
    assert {"recency_days", "frequency", "monetary", "discount_share"} <= set(feats.columns)


def test_features_as_of_cuts_later_orders():
    feats = customer_features(F.orders(), F.order_lines(), as_of="2025-01-31")
    assert list(feats.index) == [1, 4]
    assert feats.loc[1, "frequency"] == 1
    assert feats.loc[1, "recency_days"] == 26


def test_features_missing_product_column():
    with pytest.raises(DataContractError, match=r"customer_features: missing column\(s\) \['category'\]"):
        customer_features(F.orders(), F.order_lines(), F.products().drop(columns="category"))


def test_features_bad_as_of():
    with pytest.raises(ParameterError, match="'as_of' must be a date"):
        customer_features(F.orders(), F.order_lines(), as_of="not a date")


def test_returned_orders_are_dropped_by_default():
    orders = F.orders()
    orders.loc[orders["order_id"] == 104, "status"] = "returned"
    assert 104 not in set(order_values(orders, F.order_lines())["order_id"])
    assert 104 in set(order_values(orders, F.order_lines(), exclude_status=("cancelled",))["order_id"])
