"""crmlib.targeting.evaluation and plan: curves, areas, deciles, rates, lists, checked on paper."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmlib import targeting as tg
from crmlib.errors import EmptyDataError, ParameterError

# 8 rows: the score puts the 4 rows with a real effect first.
#            treated rows convert in the top half, control rows never do
Y = np.array([1, 0, 1, 0, 0, 0, 1, 0])
T = np.array([True, False, True, False, True, False, True, False])
S = np.array([8, 7, 6, 5, 4, 3, 2, 1], dtype=float)


def test_qini_curve_by_hand():
    c = tg.qini_curve(Y, T, S, points=None)
    assert list(c.columns) == ["fraction", "n", "n_treated", "n_control", "conversions_treated",
                               "conversions_control", "qini", "uplift", "random_qini", "random_uplift"]
    # top 4: 2 treated with 2 conversions, 2 control with none -> Q = 2, U = (1 - 0) * 4 = 4
    row = c[c["n"] == 4].iloc[0]
    assert (row["qini"], row["uplift"]) == (2.0, 4.0)
    # all 8: treated 3/4, control 0/4 -> Q = 3, U = 0.75 * 8 = 6
    assert c["qini"].iloc[-1] == 3.0 and c["uplift"].iloc[-1] == 6.0
    assert c["random_qini"].iloc[4] == pytest.approx(0.5 * 3.0)


def test_qini_coefficient_orders_rankings():
    good = tg.qini_coefficient(Y, T, S)
    bad = tg.qini_coefficient(Y, T, -S)
    assert good > 0 > bad
    assert tg.auuc(Y, T, S) > tg.auuc(Y, T, -S)


def test_random_score_has_qini_near_zero():
    rng = np.random.default_rng(0)
    n = 20000
    t = rng.random(n) < 0.8
    y = rng.random(n) < np.where(t, 0.12, 0.08)
    assert abs(tg.qini_coefficient(y, t, rng.random(n))) < 0.003


def test_points_subsample_keeps_end_points():
    c = tg.qini_curve(Y, T, S, points=2)
    assert list(c["n"]) == [0, 4, 8]


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(y=Y, treatment=np.ones(8, bool), score=S), EmptyDataError, "no control rows"),
    (dict(y=Y, treatment=np.zeros(8, bool), score=S), EmptyDataError, "no treated rows"),
    (dict(y=Y[:3], treatment=T, score=S), ParameterError, "must have the same length; got 3, 8 and 8"),
    (dict(y=Y, treatment=T, score=np.r_[S[:7], np.nan]), ParameterError, "'score' has 1 missing value"),
    (dict(y=[], treatment=[], score=[]), EmptyDataError, "no rows to evaluate"),
])
def test_qini_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        tg.qini_curve(**kwargs)


def test_uplift_by_decile_by_hand():
    d = tg.uplift_by_decile(Y, T, S, bins=2, extra={"truth": S / 10})
    assert list(d["decile"]) == [1, 2]
    assert list(d["n_treated"]) == [2, 2] and list(d["n_control"]) == [2, 2]
    assert list(d["observed_uplift"]) == [1.0, 0.5]
    assert d["predicted_uplift"].tolist() == [6.5, 2.5]
    assert d["truth"].tolist() == pytest.approx([0.65, 0.25])


def test_response_rates_with_and_without_control():
    contacts = pd.DataFrame({"campaign_id": [1, 1, 1, 1, 2, 2],
                             "customer_id": [1, 2, 3, 4, 1, 2],
                             "treatment": [True, True, False, False, True, True]})
    responses = pd.DataFrame({"campaign_id": [1, 1, 2], "customer_id": [1, 3, 2],
                              "converted": [True, True, False]})
    r = tg.response_rates(contacts, responses)
    one = r[r["campaign_id"] == 1].iloc[0]
    assert (one["rate_treated"], one["rate_control"], one["uplift"]) == (0.5, 0.5, 0.0)
    assert one["rate_treated_low"] < 0.5 < one["rate_treated_high"]
    two = r[r["campaign_id"] == 2].iloc[0]
    assert two["n_control"] == 0 and np.isnan(two["rate_control"]) and np.isnan(two["uplift"])
    assert two["rate_treated"] == 0.0


# ------------------------------------------------------------------------------ plan
CAND = pd.DataFrame({"customer_id": [10, 11, 12, 13, 14],
                     "uplift": [0.10, 0.05, 0.02, -0.05, 0.08],
                     "propensity": [0.1, 0.2, 0.9, 0.8, 0.3]})


def test_profit_curve_by_hand():
    c = tg.profit_curve(CAND, cost_per_contact=1.0, margin_per_conversion=20.0)
    assert list(c["customer_id"]) == [10, 14, 11, 12, 13]
    assert c["expected_profit"].tolist() == pytest.approx([1.0, 0.6, 0.0, -0.6, -2.0])
    assert c["cumulative_profit"].tolist() == pytest.approx([1.0, 1.6, 1.6, 1.0, -1.0])


def test_target_list_budget_list_size_and_break_even():
    kw = dict(cost_per_contact=1.0, margin_per_conversion=20.0)
    assert list(tg.target_list(CAND, budget=10, **kw)["customer_id"]) == [10, 14]
    assert list(tg.target_list(CAND, budget=10, stop_at_break_even=False, **kw)["customer_id"]) == [10, 14, 11, 12, 13]
    assert list(tg.target_list(CAND, budget=1.5, **kw)["customer_id"]) == [10]
    assert list(tg.target_list(CAND, list_size=1, **kw)["customer_id"]) == [10]
    by_prop = tg.target_list(CAND, list_size=2, rank_by="propensity", stop_at_break_even=False, **kw)
    assert list(by_prop["customer_id"]) == [12, 13]
    assert "propensity" not in by_prop.columns or by_prop["score"].tolist() == [0.9, 0.8]
    summary = tg.list_summary(tg.target_list(CAND, budget=10, **kw), **kw)
    assert summary["contacts"] == 2 and summary["expected_incremental_conversions"] == pytest.approx(0.18)
    assert summary["expected_profit"] == pytest.approx(1.6)
    assert summary["break_even_cost_per_contact"] == pytest.approx(1.8)
    assert tg.break_even_cost([0.1, 0.08], 20.0) == pytest.approx(1.8)


@pytest.mark.parametrize("kwargs, match", [
    (dict(cost_per_contact=-1.0, margin_per_conversion=20.0), r"'cost_per_contact' must be a number in \[0, inf\); got -1.0"),
    (dict(cost_per_contact=1.0, margin_per_conversion=0.0), r"'margin_per_conversion' must be a number in \(0, inf\); got 0.0"),
    (dict(cost_per_contact=1.0, margin_per_conversion=20.0, budget=-5), r"'budget' must be a number in \[0, inf\); got -5"),
    (dict(cost_per_contact=1.0, margin_per_conversion=20.0, list_size=2.5), r"'list_size' must be an int in \[0, inf\); got 2.5"),
])
def test_target_list_parameter_errors(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        tg.target_list(CAND, **kwargs)


def test_target_list_missing_column():
    from crmlib.errors import DataContractError

    with pytest.raises(DataContractError, match=r"profit_curve: missing column\(s\) \['uplift'\]"):
        tg.target_list(CAND.drop(columns="uplift"), cost_per_contact=1.0, margin_per_conversion=2.0)


def test_compare_strategies_projects_observed_uplift():
    cmp = tg.compare_strategies(Y, T, {"model": S, "reverse": -S}, fraction=0.5, contacts=100,
                                cost_per_contact=0.5, margin_per_conversion=10.0)
    assert list(cmp["strategy"]) == ["model", "reverse", "random"]
    assert cmp["observed_uplift"].tolist() == pytest.approx([1.0, 0.5, 0.75])
    assert cmp["expected_profit"].tolist() == pytest.approx([950.0, 450.0, 700.0])
    assert cmp["break_even_cost"].tolist() == pytest.approx([10.0, 5.0, 7.5])


def test_margin_per_conversion_by_hand():
    orders = pd.DataFrame({"order_id": [1, 2, 3], "ordered_at": pd.to_datetime(["2025-01-10", "2025-02-10", "2023-01-01"])})
    lines = pd.DataFrame({"order_id": [1, 1, 2, 3], "product_id": [1, 2, 1, 1], "quantity": [2, 1, 1, 5],
                          "unit_price": [10.0, 20.0, 10.0, 10.0], "discount": [0.0, 0.5, 0.0, 0.0]})
    products = pd.DataFrame({"product_id": [1, 2], "unit_cost": [6.0, 4.0]})
    # order 1: 2 * (10 - 6) + (10 - 4) = 14; order 2: 4; order 3 is too old
    assert tg.margin_per_conversion(orders, lines, products, as_of="2025-03-01") == pytest.approx(9.0)
    with pytest.raises(EmptyDataError, match="no orders in the 365 days before 2022-01-01"):
        tg.margin_per_conversion(orders, lines, products, as_of="2022-01-01")
