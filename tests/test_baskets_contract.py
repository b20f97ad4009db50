"""Parameter validation, empty results, the cap, the engine fallback: one case per test, match=."""

import re
import sys

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from crmlib.baskets import (
    RULE_COLUMNS,
    Baskets,
    EmptyResultWarning,
    EngineFallbackWarning,
    RulesCappedWarning,
    association_rules,
    frequent_itemsets,
    lift_by,
    lift_contrast,
    make_baskets,
    mine_rules,
    recommend,
)
from crmlib.errors import DataContractError, EmptyDataError, ParameterError

TX = [["beer", "diapers"], ["beer", "diapers", "milk"], ["milk", "bread"], ["beer", "bread"]]


@pytest.fixture
def baskets():
    return Baskets.from_transactions(TX)


@pytest.fixture
def lines():
    return pd.DataFrame({"order_id": [1, 1, 2, 2, 3], "line_no": [1, 2, 1, 2, 1],
                         "product_id": [10, 11, 10, 12, 11], "quantity": 1, "unit_price": 1.0,
                         "discount": 0.0})


@pytest.fixture
def orders():
    return pd.DataFrame({"order_id": [1, 2, 3], "customer_id": [7, 8, 7],
                         "channel_id": [1, 2, 1],
                         "ordered_at": pd.to_datetime(["2025-01-03", "2025-01-06",
                                                       "2025-01-10"])})


@pytest.mark.parametrize(("value", "message"), [
    (0, "'min_support' must be a number in (0, 1]; got 0."),
    (0.0, "'min_support' must be a number in (0, 1]; got 0.0."),
    (-0.1, "'min_support' must be a number in (0, 1]; got -0.1."),
    (1.5, "'min_support' must be a number in (0, 1]; got 1.5."),
    ("0.1", "'min_support' must be a number in (0, 1]; got '0.1'."),
])
def test_min_support_range(baskets, value, message):
    with pytest.raises(ParameterError, match=re.escape("baskets.frequent_itemsets: " + message)):
        frequent_itemsets(baskets, min_support=value)


def test_min_support_one_is_allowed(baskets):
    with pytest.warns(EmptyResultWarning):
        assert len(frequent_itemsets(baskets, min_support=1.0)) == 0


@pytest.mark.parametrize("value", [-0.01, 1.01, None])
def test_min_confidence_range(baskets, value):
    with pytest.raises(ParameterError,
                       match=re.escape("'min_confidence' must be a number in [0, 1]; "
                                       f"got {value!r}")):
        mine_rules(baskets, min_support=0.25, min_confidence=value)


@pytest.mark.parametrize("value", [0.0, 1.0])
def test_min_confidence_bounds_are_allowed(baskets, value):
    rules = mine_rules(baskets, min_support=0.25, min_confidence=value)
    assert list(rules.columns) == list(RULE_COLUMNS)


@pytest.mark.parametrize("value", [0, -1, 1.5, True])
def test_max_len_at_least_one(baskets, value):
    with pytest.raises(ParameterError,
                       match=re.escape(f"'max_len' must be an int in [1, inf); got {value!r}")):
        frequent_itemsets(baskets, min_support=0.25, max_len=value)


def test_max_len_one_gives_no_rule(baskets):
    with pytest.warns(EmptyResultWarning, match="no frequent itemset has two or more items"):
        rules = mine_rules(baskets, min_support=0.25, max_len=1)
    assert rules.empty and list(rules.columns) == list(RULE_COLUMNS)


def test_unknown_engine(baskets):
    with pytest.raises(ParameterError, match=re.escape(
            "'engine' must be one of ['auto', 'vertical', 'pyfim', 'mlxtend']; got 'fast'")):
        frequent_itemsets(baskets, engine="fast")


def test_unknown_kind(baskets):
    with pytest.raises(ParameterError, match=re.escape(
            "'kind' must be one of ['all', 'closed', 'maximal']; got 'frequent'")):
        frequent_itemsets(baskets, kind="frequent")


def test_unknown_level(lines):
    with pytest.raises(ParameterError, match=re.escape(
            "baskets.make_baskets: 'level' must be one of ['product', 'subcategory', "
            "'category']; got 'sku'.")):
        make_baskets(lines, level="sku")


def test_taxonomy_level_needs_products(lines):
    with pytest.raises(ParameterError, match=re.escape("level='category' needs the `products`")):
        make_baskets(lines, level="category")


def test_unknown_filter(lines, orders):
    with pytest.raises(ParameterError, match=re.escape(
            "'filters' must be one of ['weekday', 'channel', 'region', 'segment']; got 'colour'")):
        make_baskets(lines, orders=orders, filters={"colour": "red"})


def test_bad_weekday(lines, orders):
    with pytest.raises(ParameterError, match=re.escape(
            "'weekday' must be one of ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'] "
            "(or 0-6, Monday 0); got 'Funday'.")):
        make_baskets(lines, orders=orders, filters={"weekday": "Funday"})


def test_filters_need_orders(lines):
    with pytest.raises(ParameterError, match="since/until and filters need the `orders` frame"):
        make_baskets(lines, filters={"weekday": "Fri"})


def test_region_filter_needs_customers(lines, orders):
    with pytest.raises(ParameterError, match="filter 'region' needs the `customers` frame"):
        make_baskets(lines, orders=orders, filters={"region": "North"})


def test_segment_filter_needs_segments(lines, orders):
    with pytest.raises(ParameterError, match="filter 'segment' needs `segments`"):
        make_baskets(lines, orders=orders, filters={"segment": "gold"})


def test_missing_order_line_columns(lines):
    with pytest.raises(DataContractError, match=re.escape(
            "baskets.make_baskets: missing column(s) ['product_id']; found ['order_id', "
            "'line_no'")):
        make_baskets(lines.drop(columns=["product_id", "quantity", "unit_price", "discount"]))


def test_products_missing_from_catalog(lines):
    products = pd.DataFrame({"product_id": [10, 11], "name": ["a", "b"]})
    with pytest.raises(DataContractError,
                       match=re.escape("1 product_id values in order_lines are missing from "
                                       "`products` (e.g. 12)")):
        make_baskets(lines, products=products)


def test_window_leaves_nothing(lines, orders):
    with pytest.raises(EmptyDataError, match="no order lines left after the date window and "
                                             "filters; widen the window"):
        make_baskets(lines, orders=orders, since="2030-01-01")


def test_onehot_values_checked():
    df = pd.DataFrame({"a": [1, 2], "b": [0, 1]})
    with pytest.raises(ParameterError, match=re.escape(
            "one-hot values must be True, False, 0 or 1; found 2")):
        frequent_itemsets(df, min_support=0.5)


def test_sparse_matrix_needs_matching_items():
    with pytest.raises(ParameterError, match=re.escape("'items' has 3 labels for 2 columns")):
        frequent_itemsets(sp.csr_matrix(np.eye(2)), items=["a", "b", "c"])


def test_wrong_data_type():
    with pytest.raises(ParameterError, match=re.escape(
            "'data' must be Baskets, a scipy.sparse matrix or a one-hot DataFrame; got list")):
        frequent_itemsets(TX)


@pytest.mark.parametrize(("name", "value", "message"), [
    ("min_lift", -1, "'min_lift' must be a number in [0, inf); got -1."),
    ("max_rules", 0, "'max_rules' must be an int in [1, inf); got 0."),
    ("sort_by", "interest", "'sort_by' must be one of ['antecedent support'"),
    ("correction", "fdr", "'correction' must be one of ['fdr_bh', 'holm', 'bonferroni', None]; "
                          "got 'fdr'."),
])
def test_rule_parameters(baskets, name, value, message):
    itemsets = frequent_itemsets(baskets, min_support=0.25)
    with pytest.raises(ParameterError, match=re.escape("baskets.association_rules: " + message)):
        association_rules(itemsets, **{name: value})


def test_rules_need_the_number_of_transactions(baskets):
    itemsets = frequent_itemsets(baskets, min_support=0.25)
    itemsets.attrs.clear()
    with pytest.raises(ParameterError, match="'n_transactions' is needed"):
        association_rules(itemsets)


def test_rules_need_every_subset(baskets):
    itemsets = frequent_itemsets(baskets, min_support=0.25)
    incomplete = itemsets[itemsets["itemsets"] != frozenset({"beer"})]
    with pytest.raises(DataContractError, match="lacks the support of the itemset with columns"):
        association_rules(incomplete)


def test_rules_need_itemset_columns():
    with pytest.raises(DataContractError, match=re.escape(
            "baskets.association_rules: missing column(s) ['support']; found ['itemsets']")):
        association_rules(pd.DataFrame({"itemsets": []}), n_transactions=3)


def test_empty_itemsets_warn_with_hint(baskets):
    with pytest.warns(EmptyResultWarning, match=re.escape(
            "no itemset reaches min_support=0.9 (the most frequent item has support 0.75); "
            "lower min_support")):
        found = frequent_itemsets(baskets, min_support=0.9)
    assert found.empty and list(found.columns) == ["support", "itemsets"]
    assert found.attrs["empty_reason"].endswith("lower min_support")


def test_empty_rules_warn_with_hint():
    halves = Baskets.from_transactions([["a", "b"], ["a"], ["b"], ["a", "b"], ["a"], ["b"]])
    with pytest.warns(EmptyResultWarning, match=re.escape(
            "no rule reaches min_confidence=0.9 (the best has 0.5); lower min_confidence")):
        rules = mine_rules(halves, min_support=0.3, min_confidence=0.9)
    assert rules.empty and list(rules.columns) == list(RULE_COLUMNS)
    assert rules.attrs["empty_reason"].startswith("no rule reaches min_confidence")


def test_empty_rules_by_lift_warn_with_hint(baskets):
    with pytest.warns(EmptyResultWarning, match=r"no rule reaches min_lift=10 \(the best has"):
        mine_rules(baskets, min_support=0.25, min_lift=10)


def test_cap_says_how_many_were_cut(baskets):
    with pytest.warns(RulesCappedWarning, match=r"kept 2 of \d+ rules \(max_rules=2\); cut \d+"):
        rules = mine_rules(baskets, min_support=0.25, max_rules=2)
    assert len(rules) == 2
    assert rules.attrs["n_rules_cut"] == rules.attrs["n_rules_total"] - 2


def test_pyfim_missing_falls_back_to_mlxtend(baskets, monkeypatch):
    monkeypatch.setitem(sys.modules, "fim", None)  # makes `import fim` raise ImportError
    with pytest.warns(EngineFallbackWarning, match=re.escape(
            "engine 'pyfim' is not installed (pip install pyfim); falling back to 'mlxtend'.")):
        found = frequent_itemsets(baskets, min_support=0.25, engine="pyfim")
    assert found.attrs["engine"] == "mlxtend"
    expected = frequent_itemsets(baskets, min_support=0.25, engine="vertical")
    got = dict(zip(found.itemsets, found.support, strict=True))
    assert got == dict(zip(expected.itemsets, expected.support, strict=True))


def test_auto_without_pyfim_stays_vertical(baskets, monkeypatch):
    monkeypatch.setitem(sys.modules, "fim", None)
    assert frequent_itemsets(baskets, min_support=0.25).attrs["engine"] == "vertical"


def test_inputs_are_not_modified(lines, orders):
    before_lines, before_orders = lines.copy(), orders.copy()
    b = make_baskets(lines, orders=orders, filters={"weekday": ["Fri", "Mon"]})
    rules = mine_rules(b, min_support=0.3)
    before_rules = rules.copy()
    lift_by(b, rules)
    recommend(b, rules)
    pd.testing.assert_frame_equal(lines, before_lines)
    pd.testing.assert_frame_equal(orders, before_orders)
    pd.testing.assert_frame_equal(rules, before_rules)


def test_lift_by_unknown_column(baskets):
    rules = mine_rules(baskets, min_support=0.25)
    with pytest.raises(ParameterError, match=re.escape(
            "baskets.lift_by: 'by' must be one of []; got 'weekday'.")):
        lift_by(baskets, rules, "weekday")


def test_lift_contrast_unknown_value(lines, orders):
    b = make_baskets(lines, orders=orders)
    rules = mine_rules(b, min_support=0.3)
    with pytest.raises(ParameterError, match=re.escape(
            "baskets.lift_contrast: 'value' must be one of ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', "
            "'Sat', 'Sun']; got 'Holiday'.")):
        lift_contrast(b, rules, "weekday", "Holiday")


def test_recommend_needs_customers(baskets):
    rules = mine_rules(baskets, min_support=0.25)
    with pytest.raises(DataContractError, match=re.escape(
            "baskets.recommend: missing column(s) ['customer_id']; found ['order_id']")):
        recommend(baskets, rules)


def test_recommend_top_k(lines, orders):
    b = make_baskets(lines, orders=orders)
    with pytest.raises(ParameterError, match=re.escape(
            "baskets.recommend: 'top_k' must be an int in [1, inf); got 0.")):
        recommend(b, mine_rules(b, min_support=0.3), top_k=0)


def _public_callables():
    import inspect

    import crmlib.baskets as pkg
    from crmlib.baskets import plots
    from crmlib.baskets.synthetic import zipf_order_lines

    found = [getattr(pkg, n) for n in pkg.__all__ if inspect.isfunction(getattr(pkg, n))]
    found += [getattr(plots, n) for n in plots.__all__] + [zipf_order_lines]
    return found


@pytest.mark.parametrize("func", _public_callables(), ids=lambda f: f.__name__)
def test_documented_parameters_match_the_signature(func):
    import inspect

    doc = inspect.getdoc(func) or ""
    assert doc, f"{func.__name__} has no docstring"
    if "Parameters\n----------" not in doc:
        return
    section = doc.split("Parameters\n----------")[1]
    section = re.split(r"\n\n(?:Returns|Raises|Examples|Notes|Yields)\n-", section)[0]
    documented = []
    for line in section.splitlines():
        m = re.match(r"^(\w+(?:, \w+)*)(?: :|$)", line)
        if m and not line.startswith(" "):
            documented += m.group(1).split(", ")
    params = [p for p in inspect.signature(func).parameters if p not in ("self",)]
    assert documented == params, f"{func.__name__}: documented {documented}, signature {params}"
