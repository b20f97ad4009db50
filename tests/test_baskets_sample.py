"""Quality bars of crmlib.baskets against the planted rules of the sample database.

At the notebook's default parameters (read from its ``parameters`` cell): every planted rule of
``truth_rules`` is among the top ``top_n`` rules by lift of the baskets it was planted in (all
baskets for the every-day rules, Friday baskets for Diapers -> Beer, which is planted on Fridays
only), with a lift within 20% of the planted value, and the Friday rule has at least twice the lift
on Fridays that it has on other days. Checked on a default-size sample (20,000 customers, generated
in memory) and through ``crmlib.connect`` as the notebook loads it on the small test database.

The all-days scope of the Friday rule is also checked against the all-days ranking: it holds
because the loyal cohort draws its items like everyone else and buys in bulk rather than in many
lines (baskets of 5-10 everyday lines used to lift every pair of such items over all baskets and
push the rule down to rank ~92).
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pandas as pd
import pytest

import crmlib
from crmlib import baskets as bk
from crmlib.report.params import notebook_defaults

NOTEBOOK = Path(__file__).parents[1] / "notebooks" / "association_rules.ipynb"
CUSTOMERS = 20000
SEED = 42  # the default seed of `crmlib sample`


def analyse(tables: dict, defaults: dict, **overrides):
    """What the notebook does, from the loaded tables to the rules and the weekday contrast."""
    params = {**defaults, **overrides}
    if params["since"] is not None or params["until"] is not None:
        raise AssertionError("the test assumes the notebook's default window is everything")
    baskets = bk.make_baskets(tables["order_lines"], orders=tables["orders"],
                              products=tables["products"], customers=tables["customers"],
                              channels=tables["channels"], level=params["level"],
                              filters=params["filters"])
    rules = bk.mine_rules(baskets, min_support=params["min_support"],
                          min_confidence=params["min_confidence"],
                          min_lift=params["min_lift"], max_len=params["max_len"])
    contrast = bk.lift_contrast(baskets, rules, "weekday", "Fri", top_n=None)
    return baskets, rules, contrast


def _rule(table, ante, cons):
    hit = table[(table["antecedents"] == frozenset({ante}))
                & (table["consequents"] == frozenset({cons}))]
    return None if hit.empty else hit.iloc[0]


def check_top(rules, truth_rows, top_n):
    """Each truth row's rule is among the first ``top_n`` rules, lift within 20%."""
    top = rules.head(top_n)
    for _, t in truth_rows.iterrows():
        found = _rule(top, t["antecedent"], t["consequent"])
        assert found is not None, (f"{t['antecedent']} -> {t['consequent']} ({t['scope']}) is not "
                                   f"among the top {top_n} rules by lift")
        assert abs(found["lift"] / t["lift"] - 1) <= 0.2, (t["antecedent"], t["consequent"],
                                                          found["lift"], t["lift"])


def everyday(truth):
    return truth[(truth["scope"] == "all days") & truth["planted"].str.contains("every day")]


def friday(truth, scope="Friday"):
    rows = truth[truth["planted"].str.contains("on Friday") & (truth["scope"] == scope)]
    assert len(rows) == 1
    return rows


def check_friday(contrast, truth):
    t = friday(truth).iloc[0]
    row = _rule(contrast, t["antecedent"], t["consequent"])
    assert row is not None
    assert row["lift_in"] >= 2 * row["lift_out"], (row["lift_in"], row["lift_out"])
    assert abs(row["lift_in"] / t["lift"] - 1) <= 0.2
    other = friday(truth, "other days").iloc[0]
    assert abs(row["lift_out"] / other["lift"] - 1) <= 0.2


@pytest.fixture(scope="module")
def defaults():
    return notebook_defaults(NOTEBOOK)


@pytest.fixture(scope="module")
def default_tables():
    from crmlib.sample import generate

    return generate(customers=CUSTOMERS, seed=SEED)


@pytest.fixture(scope="module")
def small_tables(small_url):
    crm = crmlib.connect(small_url)
    return {
        "orders": crm.orders(["order_id", "customer_id", "channel_id", "ordered_at"]),
        "order_lines": crm.order_lines(["order_id", "product_id"]),
        "products": crm.products(["product_id", "name", "category", "subcategory"]),
        "customers": crm.customers(["customer_id", "region"]),
        "channels": crm.channels(["channel_id", "name", "kind"]),
        "truth_rules": crm.truth("rules"),
    }


@pytest.fixture(scope="module", params=["default_sample", "small_database"])
def sample(request, defaults, default_tables):
    tables = default_tables if request.param == "default_sample" else \
        request.getfixturevalue("small_tables")
    return tables, tables["truth_rules"], analyse(tables, defaults)


def test_notebook_defaults_are_the_documented_ones(defaults):
    assert defaults["db_url"] is None and defaults["mask_pii"] is True
    assert 0 < defaults["min_support"] <= 1 and defaults["top_n"] >= 14


def test_everyday_planted_rules_are_top_rules(sample, defaults):
    _, truth, (_, rules, _) = sample
    assert len(everyday(truth)) == 6
    check_top(rules, everyday(truth), defaults["top_n"])


def test_friday_rule_is_a_top_rule_on_fridays(sample, defaults):
    tables, truth, _ = sample
    _, rules, _ = analyse(tables, defaults, filters={"weekday": "Fri"})
    check_top(rules, friday(truth), defaults["top_n"])


def test_friday_rule_twice_as_strong_on_fridays(sample):
    _, truth, (_, _, contrast) = sample
    check_friday(contrast, truth)


def test_friday_rule_all_days_scope_is_a_top_rule(sample, defaults):
    _, truth, (_, rules, _) = sample
    check_top(rules, friday(truth, "all days"), defaults["top_n"])


def test_planted_rules_are_significant_and_not_redundant(sample):
    _, truth, (_, rules, _) = sample
    for _, t in truth[truth["scope"] == "all days"].iterrows():
        row = _rule(rules, t["antecedent"], t["consequent"])
        assert row["p_adjusted"] < 1e-6
    assert not bk.is_redundant(rules).any()


def test_cross_sell_suggests_the_planted_consequents(sample):
    _, _, (baskets, rules, _) = sample
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
    # the names assigned in the cell, read independently of papermill's inspection
    cell = next(c for c in json.loads(NOTEBOOK.read_text())["cells"]
                if "parameters" in c.get("metadata", {}).get("tags", []))
    assigned = {node.targets[0].id for node in ast.parse("".join(cell["source"])).body
                if isinstance(node, ast.Assign)}
    assert set(defaults) == assigned


@pytest.mark.parametrize("which", ["default_sample", "small_database"])
def test_planted_next_purchase_rule_is_found_within_20_percent(which, defaults, default_tables,
                                                                small_url):
    from crmlib.baskets import next_purchase_rules

    if which == "default_sample":
        tables = default_tables
        truth = tables["truth_sequences"]
    else:
        crm = crmlib.connect(small_url)
        tables = {"orders": crm.orders(["order_id", "customer_id", "ordered_at"]),
                  "order_lines": crm.order_lines(["order_id", "product_id"]),
                  "products": crm.products(["product_id", "name", "category", "subcategory"])}
        truth = crm.truth("sequences")
    baskets = bk.make_baskets(tables["order_lines"], orders=tables["orders"],
                           products=tables["products"], level=defaults["level"])
    found = next_purchase_rules(baskets, within_days=defaults["sequence_days"],
                                min_support=defaults["sequence_min_support"])
    planted = truth.iloc[0]
    assert planted["within_days"] == defaults["sequence_days"]
    rank = found.index[(found["antecedent"] == planted["antecedent"])
                       & (found["consequent"] == planted["consequent"])][0]
    # the top rule on the default sample; among 2,000 customers a few pairs bought by 2-3
    # customers can reach a higher lift by chance
    assert rank == 0 if which == "default_sample" else rank < 10
    top = found.loc[rank]
    assert abs(top["lift"] / planted["lift"] - 1) <= 0.2
    assert abs(top["confidence"] / planted["confidence"] - 1) <= 0.2
    assert 1 <= top["median_lag_days"] <= defaults["sequence_days"]


def test_planted_sequence_only_appends_rows(default_tables, monkeypatch):
    """The plant adds orders and lines after the last ones and changes no other row."""
    from crmlib.sample import _sequences, generate

    monkeypatch.setattr(_sequences, "plant", lambda tables, *args, **kwargs: tables)
    plain = generate(customers=2000, seed=SEED)
    monkeypatch.undo()
    planted = generate(customers=2000, seed=SEED)
    for name, table in plain.items():
        pd.testing.assert_frame_equal(planted[name].iloc[:len(table)].reset_index(drop=True),
                                      table.reset_index(drop=True))
    added = planted["orders"].iloc[len(plain["orders"]):]
    assert len(added) == planted["truth_sequences"]["planted_orders"].iloc[0] > 0
    assert added["order_id"].min() == plain["orders"]["order_id"].max() + 1
