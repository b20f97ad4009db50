"""The sample is deterministic and its planted truth is really in the data."""

import numpy as np
import pandas as pd
import pytest

import crmlib
import crmlib.errors
from crmlib import sample
from crmlib.sample import _activity


@pytest.fixture(scope="module")
def crm(small_url):
    return crmlib.connect(small_url)


def test_same_seed_same_tables_other_seed_other_tables():
    a = sample.generate(300, seed=3)
    b = sample.generate(300, seed=3)
    c = sample.generate(300, seed=4)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], obj=name)
    assert not a["orders"].equals(c["orders"])
    assert not a["customers"]["last_name"].equals(c["customers"]["last_name"])


def test_sizes_scale_with_customers():
    t = sample.generate(1000, seed=1)
    assert len(t["customers"]) == 1000
    assert 6 <= len(t["orders"]) / 1000 <= 16  # about 10 orders per customer
    assert 1.8 <= len(t["order_lines"]) / len(t["orders"]) <= 3


def _baskets(crm):
    lines = crm.order_lines(["order_id", "product_id"])
    names = crm.products(["product_id", "name"]).set_index("product_id")["name"]
    lines["name"] = lines["product_id"].map(names)
    orders = crm.orders(["order_id", "ordered_at"]).set_index("order_id")
    return lines, orders


def _lift(lines, orders, ante, cons, mask=None):
    ids = orders.index if mask is None else orders.index[mask]
    sel = lines[lines["order_id"].isin(ids)]
    has_a = set(sel.loc[sel["name"] == ante, "order_id"])
    has_b = set(sel.loc[sel["name"] == cons, "order_id"])
    n = len(ids)
    return (len(has_a & has_b) / len(has_a)) / (len(has_b) / n)


def test_every_planted_rule_is_in_the_orders_with_its_lift(crm):
    truth = crm.truth("rules")
    lines, orders = _baskets(crm)
    for row in truth[truth["scope"] == "all days"].itertuples():
        observed = _lift(lines, orders, row.antecedent, row.consequent)
        assert observed == pytest.approx(row.lift, rel=0.25), (row.antecedent, row.consequent)
        assert row.lift > 1.5


def test_friday_rule_is_much_stronger_on_fridays(crm):
    lines, orders = _baskets(crm)
    friday = orders["ordered_at"].dt.day_of_week == 4
    on = _lift(lines, orders, "Diapers", "Beer", friday)
    off = _lift(lines, orders, "Diapers", "Beer", ~friday)
    assert on >= 2 * off
    truth = crm.truth("rules").set_index("scope")
    truth = truth[truth["antecedent"] == "Diapers"]
    assert truth.loc["Friday", "lift"] >= 2 * truth.loc["other days", "lift"]


def test_latent_types_drive_rate_spend_and_recency(crm):
    types = crm.truth("customers").set_index("customer_id")["latent_type"]
    orders = crm.orders()
    orders["type"] = orders["customer_id"].map(types)
    per = orders.groupby("customer_id").agg(n=("order_id", "size"), last=("ordered_at", "max"))
    per["type"] = per.index.map(types)
    per["recency"] = (pd.Timestamp("2026-01-01") - per["last"]).dt.days
    freq = per.groupby("type")["n"].mean()
    rec = per.groupby("type")["recency"].median()
    assert freq["champion"] > 2 * freq["loyal"] > freq["hibernating"]
    assert rec["hibernating"] > 365 and 120 < rec["at_risk"] < 330 and rec["champion"] < 60
    created = crm.customers(["customer_id", "created_at"]).set_index("customer_id")["created_at"]
    new = created[types[types == "new"].index]
    assert new.min() >= pd.Timestamp("2025-08-01")
    disc = crm.order_lines(["order_id", "discount"]).merge(orders[["order_id", "type"]], on="order_id")
    share = disc.assign(d=disc["discount"] > 0).groupby("type")["d"].mean()
    assert share["bargain_hunter"] > 3 * share["loyal"]


def test_default_probability_matches_observed_defaults(crm):
    truth = crm.truth("customers").set_index("customer_id")["p_default"]
    drawn = crm.truth("defaults")
    assert drawn["defaulted"].mean() == pytest.approx(truth[drawn["customer_id"]].mean(), rel=0.15)
    invoices = crm.invoices()
    paid = crm.payments().groupby("invoice_id")["amount"].sum()
    old = invoices[invoices["due_at"] < pd.Timestamp("2025-09-01")].copy()
    old["paid"] = old["invoice_id"].map(paid).fillna(0)
    old["unpaid"] = old["paid"] < old["amount"] - 0.01
    old["p"] = old["customer_id"].map(truth)
    high = old["p"] > old["p"].quantile(0.8)
    assert old.loc[high, "unpaid"].mean() > 3 * old.loc[~high, "unpaid"].mean()
    customers = crm.customers(["customer_id", "income_band"]).set_index("customer_id")
    by_band = truth.groupby(customers["income_band"], observed=True).mean()
    assert by_band["low"] > by_band["middle"] > by_band["high"]


def test_performance_dips_and_targets(crm):
    dips = crm.truth("performance_dips")
    assert set(dips["level"]) == {"region", "rep"} and (dips["level"] == "rep").sum() == 2
    targets = crm.rep_targets()
    assert targets["target_amount"].gt(0).all()
    reps = crm.sales_reps()
    workers = reps[reps["manager_id"].notna()]
    assert workers.groupby("region", observed=True).size().eq(4).all()


def test_campaign_control_groups_and_uplift_truth(crm):
    contacts = crm.campaign_contacts()
    share = contacts.groupby("campaign_id")["treatment"].mean()
    assert share.between(0.7, 0.9).all()
    truth = crm.truth("customers")
    assert set(truth["uplift_group"]) == {"sure_thing", "persuadable", "do_not_disturb", "lost_cause"}
    dnd = truth["uplift_group"] == "do_not_disturb"
    assert (truth.loc[dnd, "uplift"] < 0).all() and (truth.loc[~dnd, "uplift"] >= 0).all()


def test_clv_cohort_follows_planted_bgnbd(crm):
    params = crm.truth("clv_params").set_index(["model", "param"])["value"]
    truth = crm.truth("customers")
    cohort = set(truth.loc[truth["clv_cohort"].astype(bool), "customer_id"])
    orders = crm.orders()
    orders = orders[orders["customer_id"].isin(cohort)]
    assert (orders["status"] == "completed").all()
    # mean purchase rate of a BG/NBD customer while alive is r / alpha per day
    g = orders.groupby("customer_id")["ordered_at"]
    span = (g.max() - g.min()).dt.total_seconds() / 86400
    rate = ((g.size() - 1)[span > 180] / span[span > 180]).mean()
    assert rate == pytest.approx(params["bgnbd", "r"] / params["bgnbd", "alpha"], rel=0.35)


def test_rule_truth_uses_the_generators_rule_list():
    assert {(a, b) for a, b, _, _ in _activity.RULES} >= {("Diapers", "Beer"), ("Spaghetti", "Pasta Sauce")}
    assert len({(a, b) for a, b, _, _ in _activity.RULES}) >= 6


def test_build_is_atomic_and_refuses_to_overwrite(tmp_path):
    target = tmp_path / "crm.sqlite"
    sample.build(f"sqlite:///{target}", customers=60, seed=1)
    stamp = target.stat().st_mtime_ns
    with pytest.raises(crmlib.errors.CrmlibError, match="already exists; pass --replace"):
        sample.build(f"sqlite:///{target}", customers=60, seed=1)
    assert target.stat().st_mtime_ns == stamp
    assert [p.name for p in tmp_path.iterdir()] == ["crm.sqlite"]  # no temp files left


def test_postgresql_sample_refuses_to_overwrite_a_crm(pg_url):
    with pytest.raises(crmlib.errors.CrmlibError, match="already holds CRM tables"):
        sample.build(pg_url, customers=60, seed=1)
    assert np.isfinite(len(crmlib.connect(pg_url).customers()))
