"""crmlib.baskets.spark_report against crmlib.baskets on the test sample: the association-rules
report's sections (lift by group, contrast, cross-sell, rules about items, holdout, next
purchases) give the same tables on Spark as on pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import crmlib
from crmlib import baskets as bk
from crmlib.errors import ParameterError

pytestmark = pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")
MIN_SUPPORT = 0.005


@pytest.fixture(scope="module")
def pandas_side(small_url):
    crm = crmlib.connect(small_url)
    orders = crm.orders(["order_id", "customer_id", "channel_id", "ordered_at"])
    lines = crm.order_lines(["order_id", "product_id"])
    products = crm.products(["product_id", "name", "category", "subcategory"])
    customers = crm.customers(["customer_id", "region"])
    channels = crm.channels(["channel_id", "name", "kind"])
    b = bk.make_baskets(lines, orders=orders, products=products, customers=customers,
                        channels=channels)
    rules = bk.mine_rules(b, min_support=MIN_SUPPORT, min_confidence=0.1, min_lift=1.0, max_len=2)
    return b, rules, products


@pytest.fixture(scope="module")
def spark_baskets(spark, small_mart):
    from crmlib.baskets import spark_report as sr

    b = sr.report_baskets(spark, small_mart).cache()
    yield b
    b.unpersist()


def _rules_equal(ours: pd.DataFrame, theirs: pd.DataFrame, cols=("support", "confidence", "lift")):
    def keyed(frame):
        text = [f"{sorted(a)} -> {sorted(c)}" for a, c in zip(frame["antecedents"],
                                                           frame["consequents"], strict=True)]
        return frame.set_index(pd.Index(text, name="rule")).sort_index()

    a, b = keyed(ours), keyed(theirs)
    assert list(a.index) == list(b.index)
    for c in cols:
        np.testing.assert_allclose(a[c].to_numpy(float), b[c].to_numpy(float), rtol=1e-12, err_msg=c)


def test_summary_equals_pandas_baskets(spark_baskets, pandas_side):
    from crmlib.baskets import spark_report as sr

    b, _, _ = pandas_side
    s = sr.basket_summary(spark_baskets)
    assert (s.n_baskets, s.n_items) == (b.n_baskets, b.n_items)
    assert list(s.items) == list(b.items)
    sizes = b.sizes().value_counts().sort_index()
    pd.testing.assert_series_equal(s.size_counts, sizes, check_names=False, check_index_type=False)
    pd.testing.assert_frame_equal(s.item_support().reset_index(drop=True),
                                  b.item_support().astype({"item": object}), check_dtype=False)
    assert s.mean_size() == pytest.approx(b.sizes().mean(), rel=1e-12)
    assert s.share_at_least(2) == pytest.approx((b.sizes() >= 2).mean(), rel=1e-12)


@pytest.mark.parametrize("by", ["weekday", "channel", "region"])
def test_lift_by_equals_pandas(spark_baskets, pandas_side, by):
    from crmlib.baskets import spark_report as sr

    b, rules, _ = pandas_side
    ours = sr.lift_by(spark_baskets, rules, by, top_n=15)
    theirs = bk.lift_by(b, rules, by, top_n=15)
    assert len(theirs) > 15
    pd.testing.assert_frame_equal(ours.drop(columns=[by]), theirs.drop(columns=[by]))
    assert list(ours[by].astype(str)) == list(theirs[by].astype(str))


@pytest.mark.parametrize(("by", "value"), [("weekday", "Fri"), ("weekday", 5), ("region", None)])
def test_lift_contrast_equals_pandas(spark_baskets, pandas_side, by, value):
    from crmlib.baskets import spark_report as sr

    b, rules, _ = pandas_side
    if value is None:
        value = sorted(b.baskets[by].dropna().unique())[0]
    ours = sr.lift_contrast(spark_baskets, rules, by, value, top_n=None)
    theirs = bk.lift_contrast(b, rules, by, value, top_n=None)
    pd.testing.assert_frame_equal(ours, theirs)
    with pytest.raises(ParameterError, match="'value' must be one of"):
        sr.lift_contrast(spark_baskets, rules, by, "nowhere")
    with pytest.raises(ParameterError, match="'by' must be one of"):
        sr.lift_by(spark_baskets, rules, "segment")


def test_recommend_equals_pandas(spark_baskets, pandas_side):
    from crmlib.baskets import spark_report as sr

    b, rules, _ = pandas_side
    theirs = bk.recommend(b, rules, top_k=3)
    got = sr.recommend(spark_baskets, rules, top_k=3)
    ours = sr.recommend_to_pandas(got)
    assert len(theirs) > 100
    pd.testing.assert_frame_equal(ours, theirs.astype({"customer_id": "int64"}), check_dtype=False)
    head = sr.recommend_to_pandas(got.orderBy("customer_id", "rank").limit(20))
    pd.testing.assert_frame_equal(head, ours.head(20))


def test_rules_about_equals_pandas(spark_baskets, pandas_side):
    from crmlib.baskets import spark_report as sr

    b, _, products = pandas_side
    items = sr.basket_summary(spark_baskets).items
    for side in ("consequent", "antecedent"):
        theirs = bk.rules_about(b, ["Printer Ink"], side=side, products=products,
                                min_support=MIN_SUPPORT / 2, min_confidence=0.05, max_len=3)
        ours = sr.rules_about(spark_baskets, ["Printer Ink"], items=items, side=side,
                              products=products, min_support=MIN_SUPPORT / 2, min_confidence=0.05,
                              max_len=3)
        assert len(theirs) > 0
        _rules_equal(ours, theirs, ("support", "confidence", "lift", "p_value", "p_adjusted"))


def test_holdout_equals_pandas(spark, spark_baskets, pandas_side):
    from crmlib.baskets import spark as rules_spark
    from crmlib.baskets import spark_report as sr

    b, _, _ = pandas_side
    early, late = bk.split_at(b, 6)
    theirs_rules = bk.mine_rules(early, min_support=MIN_SUPPORT, min_confidence=0.1, min_lift=1.0,
                                 max_len=2)
    theirs = bk.holdout_check(theirs_rules, late)
    s_early, s_late, cut = sr.split_at(spark_baskets, 6)
    assert (s_early.count(), s_late.count()) == (early.n_baskets, late.n_baskets)
    rules, _, _ = rules_spark.mine_rules(s_early, min_support=MIN_SUPPORT, min_confidence=0.1,
                                         min_lift=1.0, max_len=2)
    ours_rules = rules_spark.to_pandas(rules)
    ours_rules.attrs.update(min_support=MIN_SUPPORT, min_confidence=0.1)
    ours = sr.holdout_check(ours_rules, s_late)
    assert len(theirs) > 10 and theirs["held"].any() and not theirs["held"].all()
    _rules_equal(ours, theirs, ("lift", "holdout_support", "holdout_confidence", "holdout_lift",
                                "holdout_count", "held"))
    assert ours.attrs["n_held"] == theirs.attrs["n_held"]
    with pytest.raises(ParameterError, match="one side empty"):
        sr.split_at(spark_baskets, 1000)


def test_next_purchase_rules_equal_pandas(spark_baskets, pandas_side):
    from crmlib.baskets import spark_report as sr

    b, _, _ = pandas_side
    theirs = bk.next_purchase_rules(b, within_days=60, min_support=0.001)
    ours = sr.next_purchase_rules(spark_baskets, within_days=60, min_support=0.001)
    assert len(theirs) > 20
    assert ours.attrs == theirs.attrs
    pd.testing.assert_frame_equal(ours[["antecedent", "consequent"]],
                                  theirs[["antecedent", "consequent"]].astype(object))
    for c in ("within_days", "customers", "anchored", "hits"):
        np.testing.assert_array_equal(ours[c].to_numpy(), theirs[c].to_numpy(), err_msg=c)
    for c in ("support", "confidence", "base_rate", "lift", "median_lag_days"):
        np.testing.assert_allclose(ours[c].to_numpy(), theirs[c].to_numpy(), rtol=1e-12, err_msg=c)
    # the planted rule: Smartphone -> Screen Protector is found, with the same lift
    top = ours[(ours["antecedent"] == "Smartphone") & (ours["consequent"] == "Screen Protector")]
    ref = theirs[(theirs["antecedent"] == "Smartphone") & (theirs["consequent"] == "Screen Protector")]
    assert len(top) == 1 and top["lift"].iloc[0] == ref["lift"].iloc[0] > 2


def test_filters_equal_pandas(spark, small_mart, small_url):
    from crmlib.baskets import spark_report as sr

    crm = crmlib.connect(small_url)
    orders = crm.orders(["order_id", "customer_id", "channel_id", "ordered_at"])
    lines = crm.order_lines(["order_id", "product_id"])
    products = crm.products(["product_id", "name", "category", "subcategory"])
    channels = crm.channels(["channel_id", "name", "kind"])
    customers = crm.customers(["customer_id", "region"])
    region = sorted(customers["region"].dropna().unique())[0]
    kind = sorted(channels["kind"].unique())[0]
    filters = {"weekday": ["Fri", "Saturday"], "channel": kind, "region": region}
    b = bk.make_baskets(lines, orders=orders, products=products, channels=channels,
                        customers=customers, filters=filters, level="category")
    s = sr.report_baskets(spark, small_mart, filters=filters, level="category")
    ours = s.select("order_id").toPandas()["order_id"].sort_values().to_numpy()
    np.testing.assert_array_equal(ours, b.baskets["order_id"].to_numpy())
    with pytest.raises(ParameterError, match="segment"):
        sr.report_baskets(spark, small_mart, filters={"segment": "A"})


@pytest.fixture(scope="module")
def engines_pair(spark, small_mart):
    from crmlib import engines

    return engines.Engine("pandas"), engines.Engine("spark", master="local[2]", mart=str(small_mart),
                                                    session=spark)


@pytest.mark.parametrize("mask_pii", [True, False])
def test_cross_sell_list_published_from_spark_equals_pandas(engines_pair, small_url, tmp_path,
                                                            mask_pii):
    """The notebook's path: suggestions stay on Spark, the list is published from Spark, the
    shown head is named on Spark; files, counts and head equal the pandas run's."""
    from crmlib.engines import analyses
    from crmlib.report import lists

    crm = crmlib.connect(small_url)
    out = {}
    for eng in engines_pair:
        b = analyses.report_baskets(eng, crm)
        rules = analyses.mine_rules(eng, b, min_support=MIN_SUPPORT, min_confidence=0.1,
                                    min_lift=1.0, max_len=2)
        sug = analyses.cross_sell(eng, b, rules, top_k=3)
        n = analyses.count_customers(eng, sug)
        head = analyses.with_names(eng, sug, crm, head=20)
        entry = lists.publish("cross_sell", analyses.cross_sell_list(eng, sug, crm), mask_pii=mask_pii,
                              folder=tmp_path / eng.name, display=False)
        (csv,) = (tmp_path / eng.name).rglob("cross_sell*.csv")
        listed = pd.read_csv(csv)
        out[eng.name] = (n, head, entry, listed)
    (n_p, head_p, entry_p, list_p), (n_s, head_s, entry_s, list_s) = out["pandas"], out["spark"]
    assert n_p == n_s > 100
    pd.testing.assert_frame_equal(head_s[list(head_p.columns)], head_p, check_dtype=False)
    assert entry_s["rows"] == entry_p["rows"] and entry_s["columns"] == entry_p["columns"]
    assert ("first_name" in entry_p["columns"]) == (not mask_pii)
    key = ["customer_id", "rank"]
    pd.testing.assert_frame_equal(list_s.sort_values(key).reset_index(drop=True),
                                  list_p.sort_values(key).reset_index(drop=True), check_dtype=False)
