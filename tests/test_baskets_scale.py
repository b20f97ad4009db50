"""Exactness and engine choice on real-sized basket shapes: retail.dat, IBM Quest, a dense set.

Itemsets and supports must equal mlxtend's (apriori) and pyfim's (fpgrowth); rules must equal
mlxtend's ``association_rules`` and, with ``max_consequent_len=1``, pyfim's ``arules``. The public
retail.dat is read from ../shared/data (see its README) and the tests that need it skip, saying
so, where it is absent; CRMLIB_SHARED_DATA can point elsewhere.
"""

import os
import warnings
from pathlib import Path

import fim
import numpy as np
import pandas as pd
import pytest
from mlxtend.frequent_patterns import apriori
from mlxtend.frequent_patterns import association_rules as mlxtend_rules

from crmlib.baskets import Baskets, EmptyResultWarning, frequent_itemsets, make_baskets, mine_rules
from crmlib.baskets.estimate import check_memory, estimate_itemsets, estimate_memory
from crmlib.baskets.synthetic import dense_transactions, quest_transactions, zipf_order_lines
from crmlib.errors import InsufficientMemoryError, ParameterError

SHARED = Path(os.environ.get("CRMLIB_SHARED_DATA",
                             Path(__file__).resolve().parents[1].parent / "shared" / "data"))
RETAIL = SHARED / "retail.dat"
needs_retail = pytest.mark.skipif(not RETAIL.exists(),
                                  reason=f"public data absent: {RETAIL} (../shared/data)")


def _retail():
    with open(RETAIL) as fh:
        return [[int(x) for x in line.split()] for line in fh]


def _min_count(min_support, n):
    c = int(np.ceil(min_support * n))
    while c > 1 and (c - 1) / n >= min_support:
        c -= 1
    return c


def _pyfim_itemsets(tracts, min_support):
    n = len(tracts)
    found = fim.fpgrowth(tracts + [[]], supp=-_min_count(min_support, n), report="a")
    return {frozenset(s): c / n for s, c in found}


def _pyfim_rules(tracts, min_support, min_confidence):
    n = len(tracts)
    found = fim.arules(tracts, supp=-_min_count(min_support, n), conf=100 * min_confidence,
                       zmin=2, report="ab", mode="o")
    return {(frozenset(a), frozenset([c])): (s, b) for c, a, s, b in found}


def _ours(itemsets):
    return dict(zip(itemsets["itemsets"], itemsets["support"], strict=True))


def _check_rules_vs_pyfim(tracts, min_support, min_confidence=0.1):
    ours = mine_rules(Baskets.from_transactions(tracts), min_support=min_support,
                      min_confidence=min_confidence, max_rules=None, max_consequent_len=1)
    mine = {(a, c): (int(cnt), conf) for a, c, cnt, conf in
            zip(ours["antecedents"], ours["consequents"], ours["count"], ours["confidence"],
                strict=True)}
    theirs = _pyfim_rules(tracts, min_support, min_confidence)
    assert set(mine) <= set(theirs)
    # pyfim tests confidence in exact ratios, mlxtend (whose arithmetic crmlib keeps) in floats:
    # at exactly the threshold (e.g. 18 / 180 = 0.1) mlxtend's float is 0.0999...; only such
    # ties may be pyfim's alone
    for key in set(theirs) - set(mine):
        cAC, cA = theirs[key]
        assert cAC * round(1 / min_confidence) == cA, key
    for key, (cnt, conf) in mine.items():
        assert theirs[key][0] == cnt
        assert conf == pytest.approx(cnt / theirs[key][1], rel=1e-12)
    return ours


def _check_vs_mlxtend(tracts, min_support, min_confidence=0.5):
    b = Baskets.from_transactions(tracts)
    onehot = b.to_frame(sparse=False).astype(bool)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = apriori(onehot, min_support=min_support, use_colnames=True)
        ref_rules = mlxtend_rules(ref, num_itemsets=len(onehot), metric="confidence",
                                  min_threshold=min_confidence)
    ours = frequent_itemsets(b, min_support=min_support)
    assert _ours(ours) == _ours(ref)
    rules = mine_rules(b, min_support=min_support, min_confidence=min_confidence, max_rules=None)
    key = ["antecedents", "consequents"]
    got = rules.set_index(key)[["support", "confidence", "lift"]].sort_index()
    exp = ref_rules.set_index(key)[["support", "confidence", "lift"]].sort_index()
    assert got.index.equals(exp.index) or set(got.index) == set(exp.index)
    exp = exp.loc[got.index]
    np.testing.assert_array_equal(got.to_numpy(), exp.to_numpy())
    return ours


# -- IBM Quest and dense sets: every engine equals pyfim and mlxtend -----------------------------

@pytest.fixture(scope="module")
def quest():
    return quest_transactions(4000, n_items=200, n_patterns=100, seed=5)


@pytest.fixture(scope="module")
def dense():
    return dense_transactions(600, n_attributes=15, seed=5)


@pytest.mark.parametrize("engine", ["auto", "vertical", "pyfim"])
@pytest.mark.parametrize("min_support", [0.02, 0.005])
def test_quest_itemsets_equal_pyfim(quest, engine, min_support):
    ours = frequent_itemsets(Baskets.from_transactions(quest), min_support=min_support,
                             engine=engine)
    assert len(ours) > 50
    assert _ours(ours) == _pyfim_itemsets(quest, min_support)


@pytest.mark.parametrize("engine", ["auto", "vertical", "pyfim"])
@pytest.mark.parametrize("min_support", [0.5, 0.3])
def test_dense_itemsets_equal_pyfim(dense, engine, min_support):
    ours = frequent_itemsets(Baskets.from_transactions(dense), min_support=min_support,
                             engine=engine)
    assert len(ours) > 100
    assert _ours(ours) == _pyfim_itemsets(dense, min_support)


def test_quest_and_dense_equal_mlxtend(quest, dense):
    _check_vs_mlxtend(quest, 0.01, 0.3)
    _check_vs_mlxtend(dense, 0.4, 0.8)


@pytest.mark.parametrize("which,min_support", [("quest", 0.005), ("dense", 0.3)])
def test_one_item_consequent_rules_equal_pyfim(quest, dense, which, min_support):
    tracts = quest if which == "quest" else dense
    rules = _check_rules_vs_pyfim(tracts, min_support)
    assert (rules["consequents"].map(len) == 1).all()


def test_max_consequent_len_keeps_the_short_consequents(dense):
    b = Baskets.from_transactions(dense)
    full = mine_rules(b, min_support=0.4, min_confidence=0.6, max_rules=None)
    short = mine_rules(b, min_support=0.4, min_confidence=0.6, max_rules=None,
                       max_consequent_len=2)
    expect = full[full["consequents"].map(len) <= 2]
    key = ["antecedents", "consequents"]
    pd.testing.assert_frame_equal(
        short.drop(columns=["p_adjusted"]).set_index(key).sort_index(),
        expect.drop(columns=["p_adjusted"]).set_index(key).sort_index())
    with pytest.raises(ParameterError, match="'max_consequent_len' must be"):
        mine_rules(b, min_support=0.4, max_consequent_len=0)


def test_rule_sides_share_one_frozenset_per_itemset(dense):
    rules = mine_rules(Baskets.from_transactions(dense), min_support=0.4, max_rules=None)
    by_value = {}
    for s in rules["antecedents"]:
        assert by_value.setdefault(s, s) is s


# -- 'auto' picks the engine by its cost estimate ------------------------------------------------

def test_auto_picks_pyfim_on_dense_and_vertical_on_short_sparse_baskets(dense):
    found = frequent_itemsets(Baskets.from_transactions(dense), min_support=0.3)
    assert found.attrs["engine"] == "pyfim"
    assert found.attrs["cost"]["pyfim_s"] < found.attrs["cost"]["vertical_s"]
    lines = zipf_order_lines(200_000, 2000, seed=4)
    found = frequent_itemsets(make_baskets(lines), min_support=0.002)
    assert found.attrs["engine"] == "vertical"
    assert found.attrs["cost"]["vertical_s"] < found.attrs["cost"]["pyfim_s"]


def test_lists_go_to_pyfim_as_they_are_and_equal_the_matrix_engine(quest):
    # strings, repeats inside a basket and an item in every basket (pyfim's blind spot)
    tracts = [[f"p{i}" for i in t] + ["bag"] + [f"p{i}" for i in t[:1]] for t in quest[:2000]]
    lists = Baskets.from_transactions(tracts)
    found = frequent_itemsets(lists, min_support=0.01)
    assert found.attrs["engine"] == "pyfim"
    assert "matrix" not in vars(lists)  # the lists went to pyfim: no matrix was encoded
    assert found.attrs["cost"]["pyfim_s"] <= found.attrs["cost"]["vertical_s"]
    other = Baskets.from_transactions(tracts)
    direct = frequent_itemsets(other, min_support=0.01, engine="vertical")
    assert len(found) > 100 and frozenset(["bag"]) in set(found["itemsets"])
    assert found["itemsets"].tolist() == direct["itemsets"].tolist()
    assert found["support"].tolist() == direct["support"].tolist()
    # column positions, as mlxtend's use_colnames=False gives them, are those of lists.items
    by_position = frequent_itemsets(lists, min_support=0.01, use_colnames=False)
    assert by_position["itemsets"].tolist() == frequent_itemsets(
        other, min_support=0.01, engine="vertical", use_colnames=False)["itemsets"].tolist()
    rules = mine_rules(Baskets.from_transactions(tracts), min_support=0.01, max_rules=None)
    expect = mine_rules(other, min_support=0.01, max_rules=None, engine="vertical")
    key = ["antecedents", "consequents"]
    pd.testing.assert_frame_equal(rules.set_index(key).sort_index(),
                                  expect.set_index(key).sort_index())


def test_items_of_any_kind_go_to_pyfim_and_an_empty_result_says_why():
    tracts = [[(1, "a"), (2, "b")], [(1, "a")], [(2, "b"), (1, "a"), (1, "a")], [3, "x"]]
    found = frequent_itemsets(Baskets.from_transactions(tracts), min_support=0.5)
    assert found.attrs["engine"] == "pyfim"
    assert dict(zip(found["itemsets"], found["support"], strict=True)) == {
        frozenset([(1, "a")]): 0.75, frozenset([(2, "b")]): 0.5,
        frozenset([(1, "a"), (2, "b")]): 0.5}
    with pytest.warns(EmptyResultWarning, match="most frequent item has support 0.75"):
        empty = frequent_itemsets(Baskets.from_transactions(tracts), min_support=0.9)
    assert list(empty.columns) == ["support", "itemsets"] and empty.empty


# -- retail.dat (public data) --------------------------------------------------------------------

@needs_retail
@pytest.mark.parametrize("min_support", [0.01, 0.002, 0.0005, 0.0002])
def test_retail_itemsets_and_rules_equal_pyfim(min_support):
    tracts = _retail()
    ours = frequent_itemsets(Baskets.from_transactions(tracts), min_support=min_support)
    assert _ours(ours) == _pyfim_itemsets(tracts, min_support)
    _check_rules_vs_pyfim(tracts, min_support)


@needs_retail
def test_retail_equals_mlxtend():
    tracts = _retail()
    # mlxtend's apriori on 16,470 dense columns needs the frequent items only: baskets cut to
    # the items with support >= 0.01 leave every itemset at that support unchanged
    counts = pd.Series([i for t in tracts for i in t]).value_counts()
    keep = set(counts[counts >= 0.01 * len(tracts)].index)
    _check_vs_mlxtend([[i for i in t if i in keep] for t in tracts], 0.01, 0.3)


# -- memory estimate before mining ---------------------------------------------------------------

def test_estimate_counts_independent_itemsets_exactly():
    # 4 items of support 0.5: pairs have expected support 0.25, triples 0.125
    est = estimate_itemsets([50, 50, 50, 50], 100, min_support=0.2)
    assert est.tolist() == [4.0, 6.0]
    assert estimate_itemsets([50, 50, 50, 50], 100, min_support=0.1).tolist() == [4, 6, 4]


@needs_retail
def test_estimate_is_near_the_truth_on_retail():
    b = Baskets.from_transactions(_retail())
    counts = np.bincount(b.matrix.indices)
    for ms in (0.002, 0.0005):
        est = estimate_memory(counts, b.n_baskets, min_support=ms)["itemsets"]
        true = len(frequent_itemsets(b, min_support=ms))
        assert true / 2.5 < est < true * 2.5


def test_too_big_a_set_is_refused_with_the_estimate_and_a_hint():
    b = Baskets.from_transactions(dense_transactions(2000, n_attributes=60, seed=1))
    with pytest.raises(InsufficientMemoryError,
                       match=r"would need about .* itemsets \(estimated from the item supports\) "
                             r"but .* is available; raise min_support or set max_len"):
        frequent_itemsets(b, min_support=0.02)
    with pytest.raises(InsufficientMemoryError) as info:
        mine_rules(b, min_support=0.02)
    assert info.value.estimate_bytes > info.value.available_bytes
    counts = np.bincount(b.matrix.indices)
    assert check_memory(counts, b.n_baskets, min_support=0.6, available=10**9)["itemsets"] > 0
    with pytest.raises(InsufficientMemoryError):
        check_memory(counts, b.n_baskets, min_support=0.6, available=1000)


# -- encoding and generators ---------------------------------------------------------------------

def test_integer_transactions_encode_like_any_other_items():
    tracts = [[5, 3, 3], [900000, 5], [], [7]]
    b = Baskets.from_transactions(tracts)
    assert list(b.items) == [3, 5, 7, 900000]
    assert b.matrix.toarray().astype(int).tolist() == [[1, 1, 0, 0], [0, 1, 0, 1], [0, 0, 0, 0],
                                                       [0, 0, 1, 0]]
    s = Baskets.from_transactions([[str(i) for i in t] for t in tracts])
    assert s.matrix.nnz == b.matrix.nnz


def test_quest_and_dense_have_their_shapes():
    q = quest_transactions(20_000, seed=2)
    sizes = np.array([len(t) for t in q])
    assert 8.5 < sizes.mean() < 11.5
    assert max(i for t in q for i in t) < 1000
    d = dense_transactions(500, n_attributes=50, seed=2)
    assert {len(t) for t in d} == {50}
    assert len({i for t in d for i in t}) <= 100
