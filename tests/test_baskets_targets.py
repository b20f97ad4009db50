"""Rules about chosen items, the holdout check and next-purchase rules: exact against the slow way.

* ``rules_about`` equals mining everything and filtering (p_adjusted corrected over the kept
  rules), on a Zipf set with planted patterns and on a dense set, for both sides;
* ``holdout_check`` recounts equal to mining the later baskets directly;
* ``next_purchase_rules`` equals a pandas self-merge per customer written out here;
* bad parameters get one clear error.
"""

import warnings

import numpy as np
import pandas as pd
import pytest

from crmlib.baskets import (
    Baskets,
    adjust_pvalues,
    count_itemsets,
    holdout_check,
    make_baskets,
    mine_rules,
    next_purchase_rules,
    rules_about,
    split_at,
)
from crmlib.baskets.synthetic import dense_transactions, zipf_order_lines
from crmlib.errors import ParameterError

KEY = ["antecedents", "consequents"]


@pytest.fixture(scope="module")
def zipf():
    return make_baskets(zipf_order_lines(10_000, 300, n_patterns=8,
                                         pattern_support=(0.005, 0.02), seed=11))


@pytest.fixture(scope="module")
def dense():
    return Baskets.from_transactions(dense_transactions(400, n_attributes=12, seed=3))


def _mine_and_filter(b, targets, side, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        full = mine_rules(b, max_rules=None, **kw)
    col = "consequents" if side == "consequent" else "antecedents"
    kept = full[[s <= frozenset(targets) for s in full[col]]].reset_index(drop=True)
    kept["p_adjusted"] = adjust_pvalues(kept["p_value"].to_numpy(), "fdr_bh")
    return kept


@pytest.mark.parametrize("side", ["consequent", "antecedent"])
@pytest.mark.parametrize("which", ["zipf", "dense"])
def test_rules_about_equal_mining_everything_and_filtering(zipf, dense, which, side):
    b = zipf if which == "zipf" else dense
    kw = {"min_support": 0.002, "min_confidence": 0.05} if which == "zipf" else \
        {"min_support": 0.3, "min_confidence": 0.5}
    counts = np.bincount(b.matrix.indices, minlength=b.n_items)
    # a popular item, a mid one and a pair: every path (the 'most baskets' one included)
    picks = [[b.items[np.argmax(counts)]], [b.items[np.argsort(counts)[-12]]],
             list(b.items[np.argsort(counts)[-6:-4]])]
    for targets in picks:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ours = rules_about(b, targets, side=side, max_rules=None, **kw)
        expect = _mine_and_filter(b, targets, side, **kw)
        assert len(expect) > 0 or which == "dense"
        pd.testing.assert_frame_equal(ours.set_index(KEY).sort_index(),
                                      expect.set_index(KEY).sort_index())


def test_rules_about_mines_less_than_everything(zipf):
    counts = np.bincount(zipf.matrix.indices, minlength=zipf.n_items)
    target = zipf.items[np.argsort(counts)[-12]]
    ours = rules_about(zipf, [target], min_support=0.002)
    full = mine_rules(zipf, min_support=0.002)
    assert ours.attrs["n_itemsets"] < full.attrs["n_itemsets"] / 2
    assert ours.attrs["targets"] == [target]


def test_rules_about_a_category():
    b = Baskets.from_transactions([["ink", "printer"], ["ink", "printer", "paper"], ["milk"],
                                   ["paper", "printer"]])
    products = pd.DataFrame({"name": ["ink", "paper", "printer", "milk"],
                             "category": ["Supplies", "Supplies", "Devices", "Food"]})
    r = rules_about(b, ["Supplies"], products=products, min_support=0.25)
    assert set(r.attrs["targets"]) == {"ink", "paper"}
    assert all(c <= {"ink", "paper"} for c in r["consequents"])
    assert len(r)


@pytest.mark.parametrize("kwargs,message", [
    ({"targets": ["no such item"]}, r"unknown item\(s\) \['no such item'\]: not among the 3 items"),
    ({"targets": []}, r"'targets' is empty"),
    ({"targets": ["ink"], "side": "both"}, r"'side' must be one of \['consequent', 'antecedent'\]"),
])
def test_rules_about_bad_parameters(kwargs, message):
    b = Baskets.from_transactions([["ink", "printer"], ["milk"]])
    with pytest.raises(ParameterError, match=message):
        rules_about(b, **kwargs)


# -- holdout -------------------------------------------------------------------------------------

def test_holdout_counts_equal_mining_the_later_baskets(zipf):
    early, late = zipf.subset(np.arange(zipf.n_baskets) < 6_000), \
        zipf.subset(np.arange(zipf.n_baskets) >= 6_000)
    rules = mine_rules(early, min_support=0.003, min_confidence=0.05, max_len=3)
    checked = holdout_check(rules, late)
    direct = mine_rules(late, min_support=1 / late.n_baskets, max_rules=None, max_len=3)
    direct = direct.set_index(KEY)
    both = checked.set_index(KEY).join(direct[["support", "confidence", "lift"]], rsuffix="_late",
                                       how="inner")
    # a rule whose items never meet in the later baskets is not in the direct mining
    absent = checked.set_index(KEY).index.difference(both.index)
    assert (checked.set_index(KEY).loc[absent, "holdout_count"] == 0).all()
    assert len(both) > 0.8 * len(checked)
    np.testing.assert_allclose(both["holdout_support"], both["support_late"], rtol=1e-12)
    np.testing.assert_allclose(both["holdout_confidence"], both["confidence_late"], rtol=1e-12)
    np.testing.assert_allclose(both["holdout_lift"], both["lift_late"], rtol=1e-12)
    # the planted patterns hold; held means lift > 1 and the thresholds reached
    expect = ((checked["holdout_lift"] > 1) & (checked["holdout_confidence"] >= 0.05)
              & (checked["holdout_support"] >= 0.003))
    assert (checked["held"] == expect).all() and checked["held"].sum() >= 5


def test_count_itemsets_with_unknown_items_is_zero():
    b = Baskets.from_transactions([["a", "b"], ["a"]])
    assert count_itemsets(b, [frozenset("a"), frozenset("az")]).tolist() == [2, 0]


def test_split_at_months_and_bad_values():
    orders = pd.DataFrame({"order_id": [1, 2, 3], "customer_id": [1, 1, 2],
                           "ordered_at": pd.to_datetime(["2024-01-05", "2024-05-01", "2024-06-02"])})
    lines = pd.DataFrame({"order_id": [1, 2, 3], "product_id": [1, 2, 1]})
    b = make_baskets(lines, orders=orders)
    early, late = split_at(b, 2)
    assert early.n_baskets == 1 and late.n_baskets == 2
    with pytest.raises(ParameterError, match="'at' in months must be > 0; got 0"):
        split_at(b, 0)
    with pytest.raises(ParameterError, match="leaves one side empty"):
        split_at(b, "2030-01-01")


# -- next-purchase rules -------------------------------------------------------------------------

def _orders(seed=5, customers=400, items=12):
    rng = np.random.default_rng(seed)
    n = customers * 6
    orders = pd.DataFrame({"order_id": np.arange(1, n + 1),
                           "customer_id": rng.integers(1, customers + 1, n),
                           "ordered_at": pd.Timestamp("2024-01-01")
                           + pd.to_timedelta(rng.integers(0, 700 * 24, n), unit="h")})
    k = 1 + rng.poisson(1.0, n)
    lines = pd.DataFrame({"order_id": np.repeat(orders["order_id"], k),
                          "product_id": rng.integers(1, items + 1, k.sum())})
    return orders, lines


def _self_merge(orders, lines, within, until):
    """The slow, obvious way: a pandas self-merge per customer (the benchmark's baseline)."""
    ev = lines.drop_duplicates().merge(orders, on="order_id")
    anchors = (ev.sort_values(["ordered_at", "order_id"])
               .drop_duplicates(["customer_id", "product_id"]))
    anchors = anchors[anchors["ordered_at"] + pd.Timedelta(days=within) <= until]
    m = anchors.merge(ev, on="customer_id", suffixes=("_x", "_y"))
    lag = m["ordered_at_y"] - m["ordered_at_x"]
    m = m[(lag > pd.Timedelta(0)) & (lag <= pd.Timedelta(days=within))
          & (m["product_id_x"] != m["product_id_y"])]
    m = m.assign(lag=(m["ordered_at_y"] - m["ordered_at_x"]).dt.total_seconds() / 86400)
    first = m.groupby(["customer_id", "product_id_x", "product_id_y"])["lag"].min().reset_index()
    out = first.groupby(["product_id_x", "product_id_y"]).agg(hits=("lag", "size"),
                                                              median=("lag", "median"))
    out["anchored"] = anchors.groupby("product_id").size().reindex(
        out.index.get_level_values(0)).to_numpy()
    # base: customers who never bought X, window after their first order
    firsts = ev.sort_values(["ordered_at", "order_id"]).drop_duplicates("customer_id")
    firsts = firsts[firsts["ordered_at"] + pd.Timedelta(days=within) <= until]
    fb = firsts[["customer_id", "ordered_at"]].merge(ev, on="customer_id", suffixes=("", "_y"))
    lagb = fb["ordered_at_y"] - fb["ordered_at"]
    fb = fb[(lagb > pd.Timedelta(0)) & (lagb <= pd.Timedelta(days=within))]
    base_hit = fb.groupby("product_id")["customer_id"].unique()
    buyers = ev.groupby("product_id")["customer_id"].unique()
    eligible = set(firsts["customer_id"])
    base = []
    for x, y in out.index:
        others = eligible - set(buyers[x])
        hit = set(base_hit.get(y, [])) & others
        base.append(len(hit) / len(others))
    out["base_rate"] = base
    return out


def test_next_purchase_rules_equal_a_pandas_self_merge():
    orders, lines = _orders()
    until = pd.Timestamp("2026-01-01")
    ours = next_purchase_rules(make_baskets(lines, orders=orders), within_days=45, min_support=0,
                               until=until)
    slow = _self_merge(orders, lines, 45, until)
    ours = ours.set_index(["antecedent", "consequent"]).sort_index()
    slow = slow.sort_index()
    assert len(ours) == len(slow) > 50
    np.testing.assert_array_equal(ours["hits"].to_numpy(), slow["hits"].to_numpy())
    np.testing.assert_array_equal(ours["anchored"].to_numpy(), slow["anchored"].to_numpy())
    np.testing.assert_allclose(ours["median_lag_days"], slow["median"], rtol=1e-9)
    np.testing.assert_allclose(ours["base_rate"], slow["base_rate"], rtol=1e-12)
    np.testing.assert_allclose(ours["confidence"], slow["hits"] / slow["anchored"], rtol=1e-12)


@pytest.mark.parametrize("kwargs,message", [
    ({"within_days": 0}, r"'within_days' must be an int in \[1, inf\); got 0"),
    ({"within_days": -5}, r"'within_days' must be an int in \[1, inf\); got -5"),
    ({"within_days": 1.5}, r"'within_days' must be an int in \[1, inf\); got 1.5"),
    ({"antecedents": [999]}, r"unknown item\(s\) in 'antecedents': \[999\]"),
    ({"consequents": ["x"]}, r"unknown item\(s\) in 'consequents': \['x'\]"),
])
def test_next_purchase_bad_parameters(kwargs, message):
    orders, lines = _orders(customers=20)
    with pytest.raises(ParameterError, match=message):
        next_purchase_rules(make_baskets(lines, orders=orders), **kwargs)


def test_next_purchase_needs_customers_and_dates():
    with pytest.raises(ParameterError, match="lack \\['customer_id', 'ordered_at'\\]"):
        next_purchase_rules(Baskets.from_transactions([["a", "b"]]))
