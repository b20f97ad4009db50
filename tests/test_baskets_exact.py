"""crmlib.baskets gives exactly what mlxtend's textbook path gives.

Textbook path: TransactionEncoder -> dense DataFrame -> apriori -> association_rules
(num_itemsets = number of transactions). Itemsets and supports must be equal as sets and values
(float ==), rule measures too; every engine is checked on several data sets.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
from mlxtend.frequent_patterns import apriori
from mlxtend.frequent_patterns import association_rules as mlxtend_rules
from mlxtend.preprocessing import TransactionEncoder
from scipy.stats import false_discovery_control, fisher_exact

from crmlib.baskets import (
    Baskets,
    adjust_pvalues,
    association_rules,
    frequent_itemsets,
    make_baskets,
    mine_rules,
)
from crmlib.baskets.synthetic import zipf_order_lines

MLXTEND_COLUMNS = ["antecedent support", "consequent support", "support", "confidence", "lift",
                   "representativity", "leverage", "conviction", "zhangs_metric", "jaccard",
                   "certainty", "kulczynski"]
ENGINES = ["vertical", "pyfim", "mlxtend", "auto"]


def _mlxtend_example():
    # mlxtend's user-guide data set (with its duplicated 'Onion')
    return [["Milk", "Onion", "Nutmeg", "Kidney Beans", "Eggs", "Yogurt"],
            ["Dill", "Onion", "Nutmeg", "Kidney Beans", "Eggs", "Yogurt"],
            ["Milk", "Apple", "Kidney Beans", "Eggs"],
            ["Milk", "Unicorn", "Corn", "Kidney Beans", "Yogurt"],
            ["Corn", "Onion", "Onion", "Kidney Beans", "Ice cream", "Eggs"]]


def _independent(seed=1, n=300, m=12):
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.1, 0.7, m)
    return [[f"item{j:02d}" for j in range(m) if rng.random() < p[j]] for _ in range(n)]


def _latent_groups(seed=2, n=500, m=20):
    # customers of 4 latent types with different tastes: long, correlated itemsets
    rng = np.random.default_rng(seed)
    kind = rng.integers(0, 4, n)
    p = rng.uniform(0.0, 0.8, (4, m))
    return [[int(j) for j in range(m) if rng.random() < p[kind[i], j]] for i in range(n)]


def _zipf(seed=3):
    lines = zipf_order_lines(3000, 300, mean_size=4, n_patterns=6, pattern_support=(0.01, 0.05),
                             seed=seed)
    return [list(g) for _, g in lines.groupby("order_id")["product_id"]]


DATASETS = {
    # name: (transactions, [(min_support, max_len), ...])
    "mlxtend_example": (_mlxtend_example, [(0.6, None), (0.4, None), (0.2, 2)]),
    "independent": (_independent, [(0.3, None), (0.1, None), (0.05, 3)]),
    "latent_groups": (_latent_groups, [(0.25, None), (0.15, None), (0.1, 4)]),
    "zipf_orders": (_zipf, [(0.01, None), (0.004, None), (0.003, 2)]),
}
CASES = [(name, ms, ml) for name, (_, grid) in DATASETS.items() for ms, ml in grid]


def _textbook(transactions, min_support, max_len):
    te = TransactionEncoder()
    onehot = pd.DataFrame(te.fit(transactions).transform(transactions), columns=te.columns_)
    return onehot, apriori(onehot, min_support=min_support, use_colnames=True, max_len=max_len)


def _as_dict(itemsets):
    d = dict(zip(itemsets["itemsets"], itemsets["support"], strict=True))
    assert len(d) == len(itemsets), "duplicate itemsets"
    return d


def _rules_dict(rules):
    values = rules[MLXTEND_COLUMNS].to_numpy(float).tolist()
    d = {(a, c): tuple(v)
         for a, c, v in zip(rules["antecedents"], rules["consequents"], values, strict=True)}
    assert len(d) == len(rules), "duplicate rules"
    return d


@pytest.fixture(scope="module")
def data():
    return {name: make() for name, (make, _) in DATASETS.items()}


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(("name", "min_support", "max_len"), CASES)
def test_itemsets_equal_textbook(data, name, min_support, max_len, engine):
    transactions = data[name]
    _, expected = _textbook(transactions, min_support, max_len)
    got = frequent_itemsets(Baskets.from_transactions(transactions), min_support=min_support,
                            max_len=max_len, engine=engine)
    assert list(got.columns) == ["support", "itemsets"]
    assert got["support"].dtype == np.float64
    assert _as_dict(got) == _as_dict(expected)
    assert got.attrs["n_transactions"] == len(transactions)


@pytest.mark.parametrize("min_confidence", [0.0, 0.5, 0.8])
@pytest.mark.parametrize(("name", "min_support", "max_len"), CASES)
def test_rules_equal_textbook(data, name, min_support, max_len, min_confidence):
    transactions = data[name]
    onehot, itemsets = _textbook(transactions, min_support, max_len)
    if (itemsets["itemsets"].map(len) < 2).all():
        pytest.skip("no itemset of two items at this threshold")
    expected = mlxtend_rules(itemsets, num_itemsets=len(onehot), metric="confidence",
                             min_threshold=min_confidence)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # an empty result warns; compared below
        fast = mine_rules(Baskets.from_transactions(transactions), min_support=min_support,
                          max_len=max_len, min_confidence=min_confidence, max_rules=None)
        via_frame = association_rules(itemsets, n_transactions=len(onehot),
                                      min_confidence=min_confidence, max_rules=None)
    assert _rules_dict(fast) == _rules_dict(expected)
    assert _rules_dict(via_frame) == _rules_dict(expected)
    assert list(fast.columns[:14]) == ["antecedents", "consequents", *MLXTEND_COLUMNS]


@pytest.mark.parametrize(("name", "min_support"), [("independent", 0.1), ("latent_groups", 0.15)])
def test_min_lift_and_max_len_equal_filtering_afterwards(data, name, min_support):
    b = Baskets.from_transactions(data[name])
    everything = mine_rules(b, min_support=min_support, max_rules=None)
    lifted = mine_rules(b, min_support=min_support, min_lift=1.2, max_rules=None)
    short = mine_rules(b, min_support=min_support, max_len=2, max_rules=None)
    length = everything["antecedents"].map(len) + everything["consequents"].map(len)
    assert _rules_dict(lifted) == _rules_dict(everything[everything["lift"] >= 1.2])
    assert _rules_dict(short) == _rules_dict(everything[length <= 2])


def test_order_lines_path_equals_textbook():
    lines = zipf_order_lines(2000, 100, n_patterns=4, pattern_support=(0.01, 0.05), seed=7)
    transactions = [list(g) for _, g in lines.groupby("order_id")["product_id"]]
    _, expected = _textbook(transactions, 0.01, None)
    got = frequent_itemsets(make_baskets(lines), min_support=0.01)
    assert _as_dict(got) == _as_dict(expected)


def test_onehot_frame_input_dense_and_sparse(data):
    onehot, expected = _textbook(data["independent"], 0.1, None)
    dense = frequent_itemsets(onehot, min_support=0.1)
    sparse = frequent_itemsets(onehot.astype(pd.SparseDtype(bool, False)), min_support=0.1)
    assert _as_dict(dense) == _as_dict(expected) == _as_dict(sparse)


def test_fisher_p_value_is_the_one_sided_exact_test(data):
    b = Baskets.from_transactions(data["latent_groups"])
    rules = mine_rules(b, min_support=0.15, max_len=2, correction=None).head(20)
    n = b.n_baskets
    for _, r in rules.iterrows():
        a, c = round(r["antecedent support"] * n), round(r["consequent support"] * n)
        ac = r["count"]
        table = [[ac, a - ac], [c - ac, n - a - c + ac]]
        expected = fisher_exact(table, alternative="greater").pvalue
        assert r["p_value"] == pytest.approx(expected, rel=1e-9, abs=1e-300)
        assert r["p_adjusted"] == r["p_value"]


def test_benjamini_hochberg_matches_scipy():
    p = np.random.default_rng(0).uniform(0, 0.2, 500) ** 2
    np.testing.assert_allclose(adjust_pvalues(p, "fdr_bh"), false_discovery_control(p),
                               rtol=1e-12)


def test_holm_and_bonferroni_by_hand():
    p = np.array([0.01, 0.04, 0.03, 0.005])
    # Holm: sorted 0.005*4, 0.01*3, 0.03*2, 0.04*1 -> running max
    np.testing.assert_allclose(adjust_pvalues(p, "holm"), [0.03, 0.06, 0.06, 0.02])
    np.testing.assert_allclose(adjust_pvalues(p, "bonferroni"), [0.04, 0.16, 0.12, 0.02])
    np.testing.assert_array_equal(adjust_pvalues(p, None), p)


def test_corrected_p_values_use_every_rule_that_passed(data):
    b = Baskets.from_transactions(data["latent_groups"])
    with pytest.warns(UserWarning, match="kept 10 of"):
        capped = mine_rules(b, min_support=0.15, max_rules=10)
    full = mine_rules(b, min_support=0.15, max_rules=None)
    assert capped.attrs["n_rules_total"] == len(full)
    assert capped.attrs["n_rules_cut"] == len(full) - 10
    # the capped rules are the 10 best by lift, with the same adjusted p-values
    assert _rules_dict(capped) == _rules_dict(full.head(10))
    np.testing.assert_array_equal(capped["p_adjusted"].to_numpy(),
                                  full.head(10)["p_adjusted"].to_numpy())


def _exact_sf(k, draws, good, total):
    """P(X >= k) in exact rational arithmetic."""
    import math
    from fractions import Fraction

    top = min(good, draws)
    hits = sum(math.comb(good, x) * math.comb(total - good, draws - x) for x in range(k, top + 1))
    return float(Fraction(hits, math.comb(total, draws)))


@pytest.mark.parametrize(("k", "draws", "good", "total"), [
    (3, 5, 4, 10), (1, 1, 1, 2), (40, 200, 300, 5000), (5, 200, 300, 5000),
    (900, 2000, 3000, 20000), (250, 2000, 3000, 20000), (2, 2, 2, 20000), (0 + 1, 20000, 7, 20000),
])
def test_fisher_tail_matches_exact_arithmetic(k, draws, good, total):
    from crmlib.baskets._fisher import fisher_greater

    got = fisher_greater(np.array([k]), np.array([draws]), np.array([good]), total)[0]
    assert got == pytest.approx(_exact_sf(k, draws, good, total), rel=1e-12, abs=1e-300)
