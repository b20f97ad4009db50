"""make_baskets: one basket per order, taxonomy levels, filters, labels; checked by hand."""

import numpy as np
import pandas as pd
import pytest

from crmlib.baskets import Baskets, frequent_itemsets, make_baskets


@pytest.fixture
def tables():
    lines = pd.DataFrame({
        "order_id":   [1, 1, 1, 2, 2, 3, 4, 4],
        "line_no":    [1, 2, 3, 1, 2, 1, 1, 2],
        "product_id": [10, 11, 10, 12, 13, 10, 11, 13],
        "quantity": 1, "unit_price": 2.0, "discount": 0.0,
    })
    orders = pd.DataFrame({
        "order_id": [1, 2, 3, 4],
        "customer_id": [100, 101, 100, 102],
        "channel_id": [1, 2, 1, 2],
        # Fri, Sat, Fri, Mon
        "ordered_at": pd.to_datetime(["2025-01-03 10:00", "2025-01-04 09:30", "2025-01-10 12:00",
                                      "2025-01-13 18:00"]),
    })
    products = pd.DataFrame({
        "product_id": [10, 11, 12, 13],
        "name": ["Beer", "Diapers", "Beer", "Wipes"],
        "category": ["Drinks", "Baby", "Drinks", "Baby"],
        "subcategory": ["Lager", "Nappies", "Ale", "Care"],
    })
    customers = pd.DataFrame({"customer_id": [100, 101, 102], "region": ["North", "South",
                                                                          "North"]})
    channels = pd.DataFrame({"channel_id": [1, 2], "name": ["Store Berlin", "Web shop"],
                             "kind": ["store", "online"]})
    return lines, orders, products, customers, channels


def _rows(b):
    return [sorted(b.items[b.matrix[i].indices]) for i in range(b.n_baskets)]


def test_one_basket_per_order_duplicates_collapse(tables):
    lines, *_ = tables
    b = make_baskets(lines)
    assert b.matrix.dtype == bool and b.matrix.format == "csr"
    assert list(b.baskets["order_id"]) == [1, 2, 3, 4]
    assert _rows(b) == [[10, 11], [12, 13], [10], [11, 13]]
    assert list(b.sizes()) == [2, 2, 1, 2]


def test_product_names_disambiguated(tables):
    lines, _, products, *_ = tables
    b = make_baskets(lines, products=products)
    assert sorted(b.items) == ["Beer (#10)", "Beer (#12)", "Diapers", "Wipes"]


@pytest.mark.parametrize(("level", "expected"), [
    ("category", [["Baby", "Drinks"], ["Baby", "Drinks"], ["Drinks"], ["Baby"]]),
    ("subcategory", [["Lager", "Nappies"], ["Ale", "Care"], ["Lager"], ["Care", "Nappies"]]),
])
def test_taxonomy_levels(tables, level, expected):
    lines, _, products, *_ = tables
    b = make_baskets(lines, products=products, level=level)
    assert b.level == level
    assert _rows(b) == expected


def test_orders_add_columns_and_weekday(tables):
    lines, orders, *_ = tables
    b = make_baskets(lines, orders=orders)
    assert list(b.baskets["weekday"].astype(str)) == ["Fri", "Sat", "Fri", "Mon"]
    assert list(b.baskets["customer_id"]) == [100, 101, 100, 102]


def test_orders_are_the_selection(tables):
    lines, orders, *_ = tables
    b = make_baskets(lines, orders=orders[orders["order_id"] != 2])
    assert list(b.baskets["order_id"]) == [1, 3, 4]


def test_date_window_is_half_open(tables):
    lines, orders, *_ = tables
    b = make_baskets(lines, orders=orders, since="2025-01-04", until="2025-01-13")
    assert list(b.baskets["order_id"]) == [2, 3]


@pytest.mark.parametrize(("value", "expected"), [
    ("Fri", [1, 3]), ("friday", [1, 3]), (4, [1, 3]), (["Fri", "Mon"], [1, 3, 4]),
])
def test_weekday_filter(tables, value, expected):
    lines, orders, *_ = tables
    b = make_baskets(lines, orders=orders, filters={"weekday": value})
    assert list(b.baskets["order_id"]) == expected


@pytest.mark.parametrize(("value", "expected"), [
    (2, [2, 4]), ("Web shop", [2, 4]), ("store", [1, 3]), ([1, 2], [1, 2, 3, 4]),
])
def test_channel_filter(tables, value, expected):
    lines, orders, _, _, channels = tables
    b = make_baskets(lines, orders=orders, channels=channels, filters={"channel": value})
    assert list(b.baskets["order_id"]) == expected


def test_region_and_segment_filters(tables):
    lines, orders, _, customers, _ = tables
    segments = pd.Series({100: "gold", 101: "silver", 102: "silver"})
    b = make_baskets(lines, orders=orders, customers=customers, segments=segments,
                     filters={"region": "North", "segment": ["silver"]})
    assert list(b.baskets["order_id"]) == [4]
    assert list(b.baskets["region"]) == ["North"]


def test_segments_as_frame(tables):
    lines, orders, *_ = tables
    segments = pd.DataFrame({"customer_id": [100, 101, 102], "segment": ["a", "b", "a"]})
    b = make_baskets(lines, orders=orders, segments=segments, filters={"segment": "a"})
    assert list(b.baskets["order_id"]) == [1, 3, 4]


def test_subset_keeps_items(tables):
    lines, orders, *_ = tables
    b = make_baskets(lines, orders=orders)
    fri = b.subset(b.baskets["weekday"] == "Fri")
    assert fri.n_baskets == 2 and list(fri.items) == list(b.items)
    assert list(fri.baskets["order_id"]) == [1, 3]


def test_to_frame_is_mlxtend_onehot(tables):
    lines, *_ = tables
    b = make_baskets(lines)
    dense = b.to_frame(sparse=False)
    assert dense.dtypes.eq(bool).all() and list(dense.columns) == [10, 11, 12, 13]
    assert dense.to_numpy().sum() == 7
    sparse = b.to_frame()
    np.testing.assert_array_equal(sparse.sparse.to_dense().to_numpy(), dense.to_numpy())


def test_item_support_table(tables):
    lines, *_ = tables
    top = make_baskets(lines).item_support()
    assert list(top.columns) == ["item", "count", "support"]
    assert top.iloc[0].tolist() == [10, 2, 0.5]


def test_from_transactions_sorts_like_transaction_encoder():
    b = Baskets.from_transactions([["b", "a"], ["c"], []])
    assert list(b.items) == ["a", "b", "c"]
    assert b.n_baskets == 3 and list(b.sizes()) == [2, 1, 0]
    found = frequent_itemsets(b, min_support=0.3)
    support = dict(zip(found.itemsets, found.support, strict=True))
    assert support[frozenset({"a", "b"})] == 1 / 3
