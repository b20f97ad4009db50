"""crmlib.baskets.mine_rules(max_consequent_len=N): arules' one-item consequents and beyond."""

import warnings

import numpy as np
import pandas as pd
import pytest
from mlxtend.frequent_patterns import apriori
from mlxtend.frequent_patterns import association_rules as mlxtend_rules
from mlxtend.preprocessing import TransactionEncoder

import crmlib.baskets
from crmlib.baskets import Baskets, association_rules, frequent_itemsets, mine_rules
from crmlib.errors import ParameterError


def _abc():
    # {a, b, c} twice and {a} once: at min_support 0.5 every subset of {a, b, c} is frequent
    return Baskets.from_transactions([["a", "b", "c"], ["a", "b", "c"], ["a"]])


def _rules(frame):
    return {(tuple(sorted(a)), tuple(sorted(c))) for a, c in zip(frame["antecedents"], frame["consequents"], strict=True)}


def test_one_item_consequents_by_hand():
    every = mine_rules(_abc(), min_support=0.5)
    one = crmlib.baskets.mine_rules(_abc(), min_support=0.5, min_confidence=0.5, max_consequent_len=1)
    # 3 pairs give 2 rules each; {a, b, c} gives 3 rules with one item and 3 with two on the right
    assert len(every) == 12
    assert _rules(one) == {(("b",), ("a",)), (("a",), ("b",)), (("c",), ("a",)), (("a",), ("c",)),
                           (("c",), ("b",)), (("b",), ("c",)), (("b", "c"), ("a",)),
                           (("a", "c"), ("b",)), (("a", "b"), ("c",))}
    assert one["consequents"].map(len).eq(1).all()
    assert one.attrs["max_consequent_len"] == 1 and one.attrs["n_rules_total"] == 9
    # b -> a: support 2/3, confidence 2/2, lift 1 / (3/3) = 1
    ba = one[(one["antecedents"] == frozenset({"b"})) & (one["consequents"] == frozenset({"a"}))].iloc[0]
    assert (ba["support"], ba["confidence"], ba["lift"]) == pytest.approx((2 / 3, 1.0, 1.0))
    assert _rules(mine_rules(_abc(), min_support=0.5, max_consequent_len=2)) == _rules(every)


@pytest.mark.parametrize("min_confidence", [0.0, 0.6])
@pytest.mark.parametrize("limit", [1, 2])
def test_equals_filtering_mlxtend_afterwards(limit, min_confidence):
    rng = np.random.default_rng(4)
    kind = rng.integers(0, 3, 400)
    p = rng.uniform(0.05, 0.8, (3, 12))
    transactions = [[f"i{j}" for j in range(12) if rng.random() < p[kind[i], j]] for i in range(400)]
    te = TransactionEncoder()
    onehot = te.fit(transactions).transform(transactions, sparse=False)
    frame = pd.DataFrame(onehot, columns=te.columns_)
    itemsets = apriori(frame, min_support=0.15, use_colnames=True)
    expected = mlxtend_rules(itemsets, num_itemsets=len(frame), metric="confidence",
                             min_threshold=min_confidence)
    expected = expected[expected["consequents"].map(len) <= limit]
    b = Baskets.from_transactions(transactions)
    got = mine_rules(b, min_support=0.15, min_confidence=min_confidence, max_rules=None,
                     max_consequent_len=limit)
    via = association_rules(frequent_itemsets(b, min_support=0.15), min_confidence=min_confidence,
                            max_rules=None, max_consequent_len=limit)
    assert len(expected) > 50
    assert _rules(got) == _rules(expected) == _rules(via)
    merged = got.assign(key=_keys(got)).set_index("key").loc[_keys(expected)]
    np.testing.assert_allclose(merged["lift"].to_numpy(), expected["lift"].to_numpy())


def _keys(frame):
    return [f"{sorted(a)}->{sorted(c)}" for a, c in zip(frame["antecedents"], frame["consequents"], strict=True)]


@pytest.mark.parametrize("bad", [0, 1.5, "1"])
def test_bad_max_consequent_len(bad):
    with warnings.catch_warnings(), pytest.raises(
            ParameterError, match=rf"baskets.mine_rules: 'max_consequent_len' must be an int in \[1, inf\); got {bad!r}"):
        mine_rules(_abc(), min_support=0.5, max_consequent_len=bad)
