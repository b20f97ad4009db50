"""Redundancy pruning, closed/maximal itemsets, weekday comparison, cross-sell, plots."""

import itertools

import fim
import matplotlib
import numpy as np
import pandas as pd
import pytest

from crmlib.baskets import (
    Baskets,
    frequent_itemsets,
    is_redundant,
    lift_by,
    lift_contrast,
    make_baskets,
    mine_rules,
    plots,
    prune_redundant,
    readable,
    recommend,
    select_itemsets,
    significant,
)

matplotlib.use("Agg")


def _rules(rows):
    return pd.DataFrame({"antecedents": [frozenset(a) for a, _, _ in rows],
                         "consequents": [frozenset(c) for _, c, _ in rows],
                         "confidence": [q for _, _, q in rows]})


@pytest.mark.parametrize(("specific", "redundant"), [(0.7, True), (0.8, True), (0.9, False)])
def test_redundant_when_a_more_general_rule_is_as_confident(specific, redundant):
    rules = _rules([("a", "c", 0.8), ("ab", "c", specific)])
    assert is_redundant(rules).tolist() == [False, redundant]


def test_redundancy_needs_the_same_consequent():
    rules = _rules([("a", "d", 0.9), ("ab", "c", 0.5)])
    assert not is_redundant(rules).any()


def test_redundancy_looks_at_every_proper_subset():
    # {a,b,c} -> d is beaten by {b} -> d, two items removed
    rules = _rules([("b", "d", 0.6), ("ab", "d", 0.4), ("abc", "d", 0.55)])
    assert is_redundant(rules).tolist() == [False, True, True]


def test_redundancy_matches_brute_force_on_mined_rules():
    rng = np.random.default_rng(5)
    tx = [[j for j in range(8) if rng.random() < 0.45] for _ in range(200)]
    rules = mine_rules(Baskets.from_transactions(tx), min_support=0.05, max_rules=None)
    flags = is_redundant(rules).to_numpy()
    triples = list(zip(rules.antecedents, rules.consequents, rules.confidence, strict=True))
    conf = {(a, c): q for a, c, q in triples}
    for i, (a, c, q) in enumerate(triples):
        general = [conf.get((frozenset(s), c)) for n in range(1, len(a))
                   for s in itertools.combinations(a, n)]
        assert flags[i] == any(g is not None and g >= q for g in general)
    pruned = prune_redundant(rules)
    assert len(pruned) == len(rules) - flags.sum() == len(rules) - pruned.attrs["n_redundant"]
    assert 0 < flags.sum() < len(rules)


@pytest.mark.parametrize(("kind", "target"), [("closed", "c"), ("maximal", "m")])
def test_closed_and_maximal_match_pyfim(kind, target):
    rng = np.random.default_rng(9)
    tx = [[j for j in range(10) if rng.random() < 0.4] for _ in range(300)]
    expected = {frozenset(s): n for s, n in fim.fpgrowth(tx + [[]], target=target, supp=-15,
                                                          report="a")}
    b = Baskets.from_transactions(tx)
    direct = frequent_itemsets(b, min_support=0.05, kind=kind)
    after = select_itemsets(frequent_itemsets(b, min_support=0.05), kind=kind)
    counts = {s: round(v * 300) for s, v in zip(direct.itemsets, direct.support, strict=True)}
    assert counts == expected
    assert set(after.itemsets) == set(expected)


# -- weekday comparison --------------------------------------------------------------------------

def _friday_baskets():
    """Fri: 4 {beer, diapers}, 1 {diapers}, 1 {beer}, 4 {milk}: lift(diapers->beer) = 0.8/0.5.
    Mon: 1 {beer, diapers}, 1 {diapers}, 4 {beer}, 4 {milk}: lift = 0.5/0.5 = 1."""
    fri = [["beer", "diapers"]] * 4 + [["diapers"], ["beer"]] + [["milk"]] * 4
    mon = [["beer", "diapers"], ["diapers"]] + [["beer"]] * 4 + [["milk"]] * 4
    tx = fri + mon
    lines = pd.DataFrame([(i + 1, p) for i, t in enumerate(tx) for p in t],
                         columns=["order_id", "product_id"])
    days = ["2025-01-03"] * len(fri) + ["2025-01-06"] * len(mon)
    orders = pd.DataFrame({"order_id": range(1, len(tx) + 1), "customer_id": 1,
                           "ordered_at": pd.to_datetime(days)})
    return make_baskets(lines, orders=orders)


def _diapers_beer():
    return pd.DataFrame({"antecedents": [frozenset({"diapers"})],
                         "consequents": [frozenset({"beer"})], "lift": [1.3]})


def test_lift_by_weekday_by_hand():
    table = lift_by(_friday_baskets(), _diapers_beer(), "weekday")
    assert list(table["weekday"].astype(str)) == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    fri = table[table["weekday"] == "Fri"].iloc[0]
    mon = table[table["weekday"] == "Mon"].iloc[0]
    assert (fri["n_baskets"], fri["count"], fri["confidence"]) == (10, 4, 0.8)
    assert fri["lift"] == pytest.approx(1.6)
    assert mon["lift"] == pytest.approx(1.0)
    assert table[table["weekday"] == "Sun"]["lift"].isna().all()
    assert fri["rule"] == "diapers -> beer"


def test_lift_contrast_friday_against_the_rest():
    table = lift_contrast(_friday_baskets(), _diapers_beer(), "weekday", "Fri")
    row = table.iloc[0]
    assert (row["n_in"], row["n_out"], row["count_in"], row["count_out"]) == (10, 10, 4, 1)
    assert row["lift_in"] == pytest.approx(1.6)
    assert row["lift_out"] == pytest.approx(1.0)
    assert row["lift_ratio"] == pytest.approx(1.6)
    assert row["lift"] == 1.3  # carried over from the rules table


def test_lift_contrast_accepts_weekday_numbers():
    a = lift_contrast(_friday_baskets(), _diapers_beer(), "weekday", 4)
    assert a.iloc[0]["lift_in"] == pytest.approx(1.6)


# -- cross-sell ----------------------------------------------------------------------------------

def _history():
    tx = {1: [["beer"], ["chips"]], 2: [["beer", "diapers"]], 3: [["diapers"]], 4: [["milk"]]}
    rows = [(c, t) for c, ts in tx.items() for t in ts]
    b = Baskets.from_transactions([t for _, t in rows])
    b.baskets["customer_id"] = [c for c, _ in rows]
    rules = pd.DataFrame({
        "antecedents": [frozenset({"beer"}), frozenset({"diapers"}), frozenset({"beer"}),
                        frozenset({"milk"})],
        "consequents": [frozenset({"diapers"}), frozenset({"beer"}), frozenset({"chips", "milk"}),
                        frozenset({"beer"})],
        "confidence": [0.5, 0.4, 0.3, 0.2],
        "lift": [2.0, 1.5, 4.0, 0.9],
    })
    return b, rules


def test_recommend_eligibility_ownership_and_reason():
    b, rules = _history()
    rec = recommend(b, rules, top_k=3)
    got = {(c, i): r
           for c, i, r in zip(rec["customer_id"], rec["item"], rec["rank"], strict=True)}
    # 1 bought beer (and chips) -> diapers; 2 has both; 3 bought diapers -> beer; 4: the milk
    # rule has lift < 1 and the two-item consequent is not used
    assert got == {(1, "diapers"): 1, (3, "beer"): 1}
    reason = rec.set_index("customer_id").loc[1, "reason"]
    assert reason == "bought beer: customers who buy beer are 2.0 times as likely to buy diapers"


def test_recommend_ranks_best_rule_per_item_and_cuts_top_k():
    tx = [["a"], ["a", "b"], ["x"], ["y"], ["z"]]
    b = Baskets.from_transactions(tx)
    b.baskets["customer_id"] = [1, 1, 2, 2, 2]
    rules = pd.DataFrame({
        "antecedents": [frozenset("a"), frozenset("b"), frozenset("a"), frozenset("a")],
        "consequents": [frozenset("x"), frozenset("x"), frozenset("y"), frozenset("z")],
        "confidence": [0.2, 0.3, 0.5, 0.4], "lift": [2.0, 5.0, 3.0, 1.5],
    })
    rec = recommend(b, rules, top_k=2)
    assert rec[["customer_id", "rank", "item", "lift"]].values.tolist() == [
        [1, 1, "x", 5.0], [1, 2, "y", 3.0]]
    assert rec.loc[0, "because"] == "b"
    assert recommend(b, rules, top_k=2, min_lift=10).empty


# -- display helpers and plots -------------------------------------------------------------------

def test_readable_and_significant():
    b = _friday_baskets()
    rules = mine_rules(b, min_support=0.05)
    table = readable(rules, top_n=2)
    assert list(table.columns) == ["if bought", "then also", "support", "confidence", "lift",
                                   "count", "p_adjusted"]
    assert len(table) == 2
    sig = significant(rules, alpha=0.05)
    assert (sig["p_adjusted"] <= 0.05).all() and len(sig) <= len(rules)


@pytest.mark.parametrize("name", ["plot_basket_sizes", "plot_item_popularity",
                                  "plot_rules_scatter", "plot_rule_matrix", "plot_rule_graph",
                                  "plot_lift_by"])
def test_plots_draw_on_the_given_axes(name):
    import matplotlib.pyplot as plt

    b = _friday_baskets()
    rules = mine_rules(b, min_support=0.05)
    arg = {"plot_basket_sizes": b, "plot_item_popularity": b,
           "plot_lift_by": lift_by(b, rules)}.get(name, rules)
    fig, ax = plt.subplots()
    try:
        out = getattr(plots, name)(arg, ax=ax)
        assert out is ax
        assert ax.get_title()
    finally:
        plt.close(fig)
