"""crmlib.baskets.spark against the pandas path: same itemsets, same rules, same measures."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from crmlib import mart
from crmlib.errors import ParameterError

pytestmark = pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")
MIN_SUPPORT = 0.004


@pytest.fixture(scope="module")
def mined(spark, small_mart):
    from crmlib.baskets import spark as sr

    b = sr.baskets(spark, small_mart).cache()
    rules, sets, n = sr.mine_rules(b, min_support=MIN_SUPPORT)
    return b, sr.to_pandas(rules), sets.toPandas(), n, rules


@pytest.fixture(scope="module")
def pandas_baskets(small_mart) -> pd.DataFrame:
    """One-hot baskets built with pandas from the same mart (the reference)."""
    sales = mart.read(small_mart, "fact_sales", columns=["order_id", "product_id"])
    products = mart.read(small_mart, "dim_product")
    dup = products["name"].duplicated(keep=False)
    products["item"] = products["name"].astype(str).where(
        ~dup, products["name"].astype(str) + " (#" + products["product_id"].astype(str) + ")")
    lines = sales.merge(products[["product_id", "item"]], on="product_id")
    return pd.crosstab(lines["order_id"], lines["item"]).gt(0)


def _key(s):
    return frozenset(s)


def test_itemsets_equal_mlxtend(mined, pandas_baskets):
    from mlxtend.frequent_patterns import fpgrowth

    _, _, sets, n, _ = mined
    ref = fpgrowth(pandas_baskets, min_support=MIN_SUPPORT, use_colnames=True)
    assert n == len(pandas_baskets)
    ours = {frozenset(i): c for i, c in zip(sets["items"], sets["count"], strict=False)}
    theirs = {frozenset(i): round(s * n) for i, s in zip(ref["itemsets"], ref["support"], strict=False)}
    assert ours == theirs and len(ours) > 50 and max(map(len, ours)) >= 3


def test_rules_and_measures_equal_mlxtend(mined, pandas_baskets):
    from mlxtend.frequent_patterns import association_rules, fpgrowth

    _, rules, _, n, _ = mined
    ref = association_rules(fpgrowth(pandas_baskets, min_support=MIN_SUPPORT, use_colnames=True),
                            num_itemsets=n, metric="confidence", min_threshold=0.0)
    ref = ref.set_index(["antecedents", "consequents"]).sort_index()
    ours = rules.set_index(["antecedents", "consequents"]).sort_index()
    assert set(ours.index) == set(ref.index) and len(ours) > 100
    ours = ours.loc[ref.index]
    for col in ("antecedent support", "consequent support", "support", "confidence", "lift",
                "leverage", "conviction", "zhangs_metric", "jaccard", "certainty", "kulczynski"):
        np.testing.assert_allclose(ours[col].to_numpy(), ref[col].to_numpy(), rtol=1e-12, atol=0,
                                   err_msg=col)


def test_fisher_and_correction(mined):
    from scipy.stats import hypergeom

    from crmlib.baskets.spark import adjust_pvalues

    _, rules, _, n, _ = mined
    ca = np.rint(rules["antecedent support"] * n).astype(int)
    cc = np.rint(rules["consequent support"] * n).astype(int)
    expected = hypergeom.sf(rules["count"] - 1, n, cc, ca)
    # scipy's hypergeometric tail is itself off by up to 2e-10 relative; below 1e-300 values
    # differ by the smallest representable step
    np.testing.assert_allclose(rules["p_value"], expected, rtol=1e-9, atol=1e-300)
    np.testing.assert_allclose(rules["p_adjusted"], adjust_pvalues(expected, "fdr_bh"), rtol=1e-9, atol=1e-300)
    top = rules.sort_values("p_value").iloc[0]
    assert top["lift"] > 5 and top["p_adjusted"] < 1e-20


def test_against_crmlib_baskets_when_installed(mined, pandas_baskets):
    baskets = pytest.importorskip("crmlib.baskets", reason="crmlib.baskets has not landed on this branch")
    _, rules, _, _, _ = mined
    b = baskets.Baskets.from_onehot(pandas_baskets)
    ref = baskets.mine_rules(b, min_support=MIN_SUPPORT, max_rules=None)
    ref = ref.set_index(["antecedents", "consequents"]).sort_index()
    ours = rules.set_index(["antecedents", "consequents"]).sort_index()
    assert set(ours.index) == set(ref.index)
    for col in ref.columns:
        np.testing.assert_allclose(ours.loc[ref.index, col].to_numpy(dtype=float),
                                   ref[col].to_numpy(dtype=float), rtol=1e-12, err_msg=col)


def _redundant_reference(rules: pd.DataFrame) -> set:
    best = {}
    for a, c, q in zip(rules["antecedents"], rules["consequents"], rules["confidence"], strict=False):
        best[(a, c)] = max(q, best.get((a, c), -np.inf))
    out = set()
    for a, c, q in zip(rules["antecedents"], rules["consequents"], rules["confidence"], strict=False):
        subs = (frozenset(s) for k in range(1, len(a)) for s in itertools.combinations(a, k))
        if any(best.get((s, c), -np.inf) >= q for s in subs):
            out.add((a, c))
    return out


def test_redundancy_pruning_matches_definition(mined):
    from crmlib.baskets import spark as sr

    _, rules, _, _, spark_rules = mined
    flagged = sr.to_pandas(sr.is_redundant(spark_rules).where("redundant"))
    assert {(a, c) for a, c in zip(flagged["antecedents"], flagged["consequents"], strict=False)} == \
        _redundant_reference(rules)
    assert sr.prune_redundant(spark_rules).count() == len(rules) - len(flagged) > 0


def test_weekday_contrast_finds_friday_beer(spark, mined, small_path):
    from crmlib.baskets import spark as sr

    b, rules, _, _, _ = mined
    diapers = pd.DataFrame({"antecedents": [frozenset({"Diapers"})], "consequents": [frozenset({"Beer"})]})
    got = sr.lift_contrast(b, diapers, value="Fri")
    row = got.iloc[0]
    assert row["n_in"] + row["n_out"] == b.count()
    assert row["confidence_in"] > 2 * row["confidence_out"] and row["lift_ratio"] > 1.5
    # counts checked by hand with pandas
    import sqlite3

    con = sqlite3.connect(f"file:{small_path}?mode=ro", uri=True)
    q = pd.read_sql("SELECT o.order_id, o.ordered_at, p.name FROM orders o JOIN order_lines l USING (order_id)"
                    " JOIN products p USING (product_id)", con, parse_dates=["ordered_at"])
    con.close()
    fri = q[q["ordered_at"].dt.day_of_week == 4]
    both = fri.groupby("order_id")["name"].agg(lambda s: {"Diapers", "Beer"} <= set(s)).sum()
    assert row["count_in"] == both


def test_parameter_errors(mined):
    from crmlib.baskets import spark as sr

    b = mined[0]
    with pytest.raises(ParameterError, match=r"baskets.spark.frequent_itemsets: 'min_support' must be a number in \(0, 1\]; got 0"):
        sr.frequent_itemsets(b, min_support=0)


def test_max_consequent_len_equals_filtering_afterwards(mined):
    from crmlib.baskets import spark as sr

    b, everything, _, _, _ = mined
    rules, _, _ = sr.mine_rules(b, min_support=MIN_SUPPORT, max_consequent_len=1)
    one = sr.to_pandas(rules)
    expected = everything[everything["consequents"].map(len) == 1]
    assert len(one) == len(expected) > 0 and (one["consequents"].map(len) == 1).all()
    got = dict(zip(zip(one["antecedents"], one["consequents"], strict=True), one["lift"], strict=True))
    want = dict(zip(zip(expected["antecedents"], expected["consequents"], strict=True), expected["lift"],
                    strict=True))
    assert got.keys() == want.keys()
    assert all(abs(got[k] - want[k]) < 1e-12 for k in want)
