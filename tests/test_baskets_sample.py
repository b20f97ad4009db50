"""Quality bars of crmlib.baskets against the planted rules of the sample database.

At the notebook's default parameters (read from its ``parameters`` cell): every planted rule of
``truth_rules`` is among the top ``top_n`` rules by lift, with a lift within 20% of the planted
value, and the Friday rule (Diapers -> Beer) has at least twice the lift on Fridays that it has on
other days. Checked on a default-size sample (20,000 customers, generated in memory) and, through
``crmlib.connect`` as the notebook loads it, on the small test database.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import crmlib
from crmlib import baskets as bk

NOTEBOOK = Path(__file__).parents[1] / "notebooks" / "association_rules.ipynb"
CUSTOMERS = 20000
SEED = 42  # the default seed of `crmlib sample`


def notebook_defaults() -> dict:
    cell = next(c for c in json.loads(NOTEBOOK.read_text())["cells"]
                if "parameters" in c.get("metadata", {}).get("tags", []))
    values: dict = {}
    exec("".join(cell["source"]), {}, values)
    return values


def analyse(tables: dict, defaults: dict):
    """What the notebook does, from the loaded tables to the rules and the weekday contrast."""
    orders = tables["orders"]
    if defaults["since"] is not None or defaults["until"] is not None:
        raise AssertionError("the test assumes the notebook's default window is everything")
    baskets = bk.make_baskets(tables["order_lines"], orders=orders, products=tables["products"],
                              customers=tables["customers"], channels=tables["channels"],
                              level=defaults["level"], filters=defaults["filters"])
    rules = bk.mine_rules(baskets, min_support=defaults["min_support"],
                          min_confidence=defaults["min_confidence"],
                          min_lift=defaults["min_lift"], max_len=defaults["max_len"])
    contrast = bk.lift_contrast(baskets, rules, "weekday", "Fri", top_n=None)
    return baskets, rules, contrast


def _rule(table, ante, cons):
    hit = table[(table["antecedents"] == frozenset({ante}))
                & (table["consequents"] == frozenset({cons}))]
    return None if hit.empty else hit.iloc[0]


def check_planted_rules(rules, truth, top_n):
    top = rules.head(top_n)
    everyday = truth[truth["scope"] == "all days"]
    assert len(everyday) == 7
    report = []
    for _, t in everyday.iterrows():
        found = _rule(top, t["antecedent"], t["consequent"])
        assert found is not None, (f"{t['antecedent']} -> {t['consequent']} is not among the top "
                                   f"{top_n} rules by lift")
        ratio = found["lift"] / t["lift"]
        report.append((t["antecedent"], t["consequent"], round(found["lift"], 2),
                       round(t["lift"], 2)))
        assert abs(ratio - 1) <= 0.2, (t["antecedent"], t["consequent"], found["lift"], t["lift"])
    return report


def check_friday(contrast, truth):
    row = _rule(contrast, "Diapers", "Beer")
    assert row is not None
    assert row["lift_in"] >= 2 * row["lift_out"], (row["lift_in"], row["lift_out"])
    scoped = truth[(truth["antecedent"] == "Diapers") & (truth["consequent"] == "Beer")]
    scoped = scoped.set_index("scope")["lift"]
    assert abs(row["lift_in"] / scoped["Friday"] - 1) <= 0.2
    assert abs(row["lift_out"] / scoped["other days"] - 1) <= 0.2


@pytest.fixture(scope="module")
def defaults():
    return notebook_defaults()


@pytest.fixture(scope="module")
def default_sample(defaults):
    from crmlib.sample import generate

    everything = generate(customers=CUSTOMERS, seed=SEED)
    return everything["truth_rules"], analyse(everything, defaults)


@pytest.fixture(scope="module")
def small_sample(small_url, defaults):
    crm = crmlib.connect(small_url)
    tables = {
        "orders": crm.orders(["order_id", "customer_id", "channel_id", "ordered_at"]),
        "order_lines": crm.order_lines(["order_id", "product_id"]),
        "products": crm.products(["product_id", "name", "category", "subcategory"]),
        "customers": crm.customers(["customer_id", "region"]),
        "channels": crm.channels(["channel_id", "name", "kind"]),
    }
    return crm.truth("rules"), analyse(tables, defaults)


def test_notebook_defaults_are_the_documented_ones(defaults):
    assert defaults["db_url"] is None and defaults["mask_pii"] is True
    assert 0 < defaults["min_support"] <= 1 and defaults["top_n"] >= 14


def test_planted_rules_are_top_rules_default_sample(default_sample, defaults):
    truth, (_, rules, _) = default_sample
    check_planted_rules(rules, truth, defaults["top_n"])


def test_friday_rule_default_sample(default_sample):
    truth, (_, _, contrast) = default_sample
    check_friday(contrast, truth)


def test_planted_rules_are_top_rules_small_database(small_sample, defaults):
    truth, (_, rules, _) = small_sample
    check_planted_rules(rules, truth, defaults["top_n"])


def test_friday_rule_small_database(small_sample):
    truth, (_, _, contrast) = small_sample
    check_friday(contrast, truth)


def test_planted_rules_are_significant_and_not_redundant(default_sample):
    truth, (_, rules, _) = default_sample
    for _, t in truth[truth["scope"] == "all days"].iterrows():
        row = _rule(rules, t["antecedent"], t["consequent"])
        assert row["p_adjusted"] < 1e-6
    assert not bk.is_redundant(rules).any()


def test_cross_sell_suggests_the_planted_consequents(default_sample):
    _, (baskets, rules, _) = default_sample
    rec = bk.recommend(baskets, rules, top_k=3)
    assert rec.groupby("customer_id")["rank"].max().max() <= 3
    top_items = set(rec["item"])
    assert {"Phone Case", "Printer Ink", "Conditioner", "Coffee Filters"} <= top_items
    # a suggestion never names a product the customer already bought
    bought = pd.DataFrame({"customer_id": baskets.baskets["customer_id"].to_numpy()
                           .repeat(baskets.sizes().to_numpy()),
                           "item": baskets.items[baskets.matrix.indices]}).drop_duplicates()
    clash = rec.merge(bought, on=["customer_id", "item"])
    assert clash.empty


def test_papermill_sees_every_parameter(defaults):
    import papermill

    inferred = papermill.inspect_notebook(str(NOTEBOOK))
    assert set(inferred) == set(defaults)
