"""Margin per customer, profit tiers, tier summary and the Pareto curve."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import segments_frames as F

from crmlib.errors import DataContractError, ParameterError
from crmlib.segments import customer_margin, pareto_curve, profit_tiers, tier_summary


def margin():
    return customer_margin(F.orders(), F.order_lines(), F.products())


def test_customer_margin_by_hand():
    m = margin().set_index("customer_id")
    assert list(m.index) == [1, 2, 4, 5]  # 6 only has a cancelled order, 3 none
    assert m.loc[1, ["orders", "revenue", "cost", "margin"]].tolist() == [3, 150.0, 108.0, 42.0]
    assert m.loc[2, ["revenue", "cost", "margin"]].tolist() == [100.0, 70.0, 30.0]
    # the return subtracts revenue and cost: 80 - 40 revenue, 40 - 20 cost
    assert m.loc[4, ["orders", "revenue", "cost", "margin"]].tolist() == [2, 40.0, 20.0, 20.0]
    # a fully discounted order loses its cost
    assert m.loc[5, ["revenue", "cost", "margin"]].tolist() == [0.0, 6.0, -6.0]
    assert np.isnan(m.loc[5, "margin_rate"])
    assert m.loc[1, "margin_rate"] == pytest.approx(42 / 150)


def test_customer_margin_as_of():
    m = customer_margin(F.orders(), F.order_lines(), F.products(), as_of="2025-01-31")
    assert m["customer_id"].tolist() == [1, 4]
    assert m.set_index("customer_id").loc[1, "margin"] == 50.0 - 32.0


def test_customer_margin_order_without_lines():
    lines = F.order_lines()
    m = customer_margin(F.orders(), lines[lines["order_id"] != 104], F.products())
    assert m.set_index("customer_id").loc[2, ["orders", "revenue", "margin"]].tolist() == [1, 0.0, 0.0]


def test_customer_margin_unknown_product():
    with pytest.raises(DataContractError,
                       match=r"1 product\(s\) in order_lines have no unit_cost \(e.g. 2\)"):
        customer_margin(F.orders(), F.order_lines(), F.products().iloc[[0, 2]])


def test_customer_margin_missing_unit_cost_column():
    with pytest.raises(DataContractError, match=r"customer_margin: missing column\(s\) \['unit_cost'\]"):
        customer_margin(F.orders(), F.order_lines(), F.products().drop(columns="unit_cost"))


def test_profit_tiers_by_hand():
    tiers = profit_tiers(margin()).set_index("customer_id")
    assert tiers["tier"].astype(str).to_dict() == {1: "high", 2: "medium", 4: "low", 5: "low"}
    assert tiers["rank"].tolist() == [1, 2, 3, 4]
    assert tiers.loc[1, "cum_value_share"] == pytest.approx(42 / 86)
    assert tiers.loc[5, "cum_value_share"] == pytest.approx(1.0)


def test_negative_margin_is_always_low():
    m = pd.DataFrame({"customer_id": [1, 2], "margin": [10.0, -5.0]})
    tiers = profit_tiers(m, high=0.5, medium=0.5)
    assert tiers["tier"].astype(str).tolist() == ["high", "low"]


def test_ties_are_broken_by_customer_id():
    m = pd.DataFrame({"customer_id": [3, 1, 2], "margin": [5.0, 5.0, 5.0]})
    tiers = profit_tiers(m, high=1 / 3, medium=1 / 3)
    assert tiers["customer_id"].tolist() == [1, 2, 3]
    assert tiers["tier"].astype(str).tolist() == ["high", "medium", "low"]


def test_tier_summary_all_tiers_present():
    summary = tier_summary(profit_tiers(margin()))
    assert summary["tier"].tolist() == ["high", "medium", "low"]
    assert summary["customers"].tolist() == [1, 1, 2]
    assert summary["margin_share"].tolist() == pytest.approx([42 / 86, 30 / 86, 14 / 86])
    empty = tier_summary(profit_tiers(margin().iloc[:0]))
    assert empty["customers"].tolist() == [0, 0, 0]


def test_pareto_curve():
    curve = pareto_curve(margin())
    assert curve.iloc[0].tolist() == [0.0, 0.0]
    assert curve["customer_share"].tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert curve["value_share"].tolist() == pytest.approx([0, 42 / 86, 72 / 86, 92 / 86, 1.0])
    assert pareto_curve(margin().iloc[:0]).values.tolist() == [[0.0, 0.0]]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"high": 0}, r"profit_tiers: 'high' must be a number in \(0, 1\]; got 0"),
     ({"medium": 1.5}, r"'medium' must be a number in \[0, 1\]; got 1.5"),
     ({"high": 0.6, "medium": 0.6}, r"'high' \+ 'medium' must be <= 1; got 0.6 \+ 0.6"),
     ({"high": "20%"}, r"'high' must be a number in \(0, 1\]; got '20%'")],
)
def test_profit_tiers_bad_parameters(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        profit_tiers(margin(), **kwargs)


def test_profit_tiers_missing_value_column():
    with pytest.raises(DataContractError, match=r"profit_tiers: missing column\(s\) \['profit'\]"):
        profit_tiers(margin(), value="profit")
