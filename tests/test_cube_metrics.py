"""crmlib.cube.metrics: growth, share, rank and target attainment, on the tiny database."""

import numpy as np
import pandas as pd
import pytest
from cube_tiny import star

from crmlib.cube import (
    aggregate,
    attainment,
    drill_down,
    growth,
    rank_within,
    share_of_total,
    slice_,
)
from crmlib.cube.metrics import base_period, parse_period
from crmlib.errors import ParameterError


@pytest.fixture(scope="module")
def tiny():
    return star()


def test_growth_same_period_last_year(tiny):
    t = growth(aggregate(tiny, ["rep", "quarter"], measures=["revenue"]), compare_to="sply")
    dee = t[t["rep"] == "Dee"].set_index(t.loc[t["rep"] == "Dee", "quarter"].astype(str))
    assert np.isnan(dee.loc["2024Q1", "revenue_base"])  # before the table's first quarter
    assert dee.loc["2025Q1", "revenue_base"] == pytest.approx(5.0)
    assert dee.loc["2025Q1", "revenue_change"] == pytest.approx(1.0)
    assert dee.loc["2025Q1", "revenue_growth"] == pytest.approx(0.2)


def test_growth_previous_period_counts_missing_sales_as_zero(tiny):
    t = growth(aggregate(tiny, ["rep", "month"], measures=["revenue"]), compare_to="previous")
    bob_feb = t[(t["rep"] == "Bob") & (t["month"] == pd.Period("2024-02", freq="M"))].iloc[0]
    assert bob_feb["revenue_base"] == pytest.approx(4.7)
    assert bob_feb["revenue_growth"] == pytest.approx(2.0 / 4.7 - 1)
    dee_feb = t[(t["rep"] == "Dee") & (t["month"] == pd.Period("2024-02", freq="M"))].iloc[0]
    assert dee_feb["revenue_base"] == 0 and np.isnan(dee_feb["revenue_growth"])


def test_growth_year_to_date(tiny):
    t = growth(aggregate(tiny, ["month"], measures=["revenue"]), compare_to="ytd")
    jan25 = t[t["month"] == pd.Period("2025-01", freq="M")].iloc[0]
    assert jan25["revenue_ytd"] == pytest.approx(6.0)
    assert jan25["revenue_base"] == pytest.approx(4.7)  # January 2024 year to date
    feb24 = t[t["month"] == pd.Period("2024-02", freq="M")].iloc[0]
    assert feb24["revenue_ytd"] == pytest.approx(11.7)


def test_growth_on_a_tree(tiny):
    tree = growth(drill_down(tiny, "rep", by="year", measures=["revenue"]), compare_to="sply")
    south = tree[(tree["node"] == "South") & (tree["year"] == pd.Period("2025", freq="Y"))].iloc[0]
    assert south["revenue_growth"] == pytest.approx(6.0 / 5.0 - 1)


@pytest.mark.parametrize("kwargs, match", [
    ({"compare_to": "mom"}, r"'compare_to' must be one of \['previous', 'sply', 'ytd'\]; got 'mom'"),
    ({"measures": ["profit"]}, r"cube.growth: missing column\(s\) \['profit'\]"),
])
def test_growth_errors(tiny, kwargs, match):
    t = aggregate(tiny, ["rep", "quarter"], measures=["revenue"])
    with pytest.raises((ParameterError, Exception), match=match):
        growth(t, **kwargs)


def test_growth_needs_one_period_column(tiny):
    with pytest.raises(ParameterError, match=r"needs exactly one period column .*; found \[\]"):
        growth(aggregate(tiny, ["rep"], measures=["revenue"]))


def test_share_of_parent_and_of_total(tiny):
    tree = drill_down(tiny, "product", measures=["revenue"])
    shares = share_of_total(tree).set_index(tree["node"].astype(str))["revenue_share"]
    assert shares["All"] == pytest.approx(1.0)
    assert shares["Fruit"] == pytest.approx(9.0 / 17.7)
    assert shares["Fruit / Fresh / Apple"] == pytest.approx(5.0 / 9.0)  # of its subcategory
    total = share_of_total(tree, within="total").set_index(tree["node"].astype(str))["revenue_share"]
    assert total["Fruit / Fresh / Apple"] == pytest.approx(5.0 / 17.7)
    flat = share_of_total(aggregate(tiny, ["rep", "year"], measures=["revenue"]))
    assert flat.groupby("year")["revenue_share"].sum().round(9).tolist() == [1.0, 1.0]


def test_rank_within_parent(tiny):
    tree = rank_within(drill_down(tiny, "product", measures=["revenue"]))
    ranks = dict(zip(tree["node"].astype(str), tree["revenue_rank"], strict=True))
    assert ranks["Fruit"] == 1 and ranks["Home"] == 2 and ranks["All"] == 1
    assert ranks["Fruit / Fresh / Apple"] == 1 and ranks["Fruit / Fresh / Pear"] == 2


@pytest.mark.parametrize("func", [share_of_total, rank_within])
def test_parent_needs_a_tree(tiny, func):
    with pytest.raises(ParameterError, match=r"within='parent' needs a drill-down tree"):
        func(aggregate(tiny, ["rep"], measures=["revenue"]), within="parent")


def test_attainment_by_quarter(tiny):
    a = attainment(tiny, period="quarter")
    rows = {(str(r.quarter), str(r.node)): (round(r.revenue, 6), r.target, r.attainment)
            for r in a.itertuples()}
    assert rows[("2024Q1", "North / Ann / Bob")] == pytest.approx((6.7, 6.0, 6.7 / 6.0))
    assert rows[("2024Q1", "South / Cid / Dee")] == pytest.approx((5.0, 5.0, 1.0))
    assert rows[("2025Q1", "All")] == pytest.approx((6.0, 8.0, 0.75))
    assert a["gap"].iloc[0] == pytest.approx(a["revenue"].iloc[0] - a["target"].iloc[0])


def test_attainment_whole_range_and_sliced_by_rep(tiny):
    a = attainment(tiny, to="rep_region", period=None)
    assert a.set_index(a["node"].astype(str))["target"].to_dict() == {"All": 19.0, "North": 6.0, "South": 13.0}
    south = attainment(slice_(tiny, "rep_region", "South"), period=None)
    assert south["target"].iloc[0] == 13.0 and south["revenue"].iloc[0] == pytest.approx(11.0)


def test_attainment_keeps_reps_with_a_target_and_no_sales(tiny):
    a = attainment(tiny, period="month", where={"month": ["2025-01"]})
    assert a[a["level"] == "rep"]["node"].astype(str).tolist() == ["South / Cid / Dee"]
    cut = attainment(tiny, period="month", where={"month": ["2024-01"], "rep": ["Bob"]})
    assert cut["target"].tolist() == [4.0, 4.0, 4.0, 4.0]


def test_attainment_refuses_a_channel_slice(tiny):
    with pytest.raises(ParameterError, match=r"targets are set per rep and month, so actual revenue cannot be sliced by 'channel_kind'"):
        attainment(slice_(tiny, "channel_kind", "store"))


def test_attainment_needs_targets():
    from cube_tiny import tables

    from crmlib.cube import build_star

    t = tables()
    s = build_star(t["orders"], t["order_lines"], t["products"], t["channels"], t["sales_reps"])
    with pytest.raises(ParameterError, match=r"the star has no targets; build it with rep_targets"):
        attainment(s)


@pytest.mark.parametrize("text, level, period", [
    ("2025Q2", "quarter", "2025Q2"), ("2025-06", "month", "2025-06"), ("2025", "year", "2025"),
    ("2025-06-30", "day", "2025-06-30"), ("2025-W02", "week", "2025-01-06/2025-01-12"),
])
def test_parse_period(text, level, period):
    got_level, got = parse_period(text)
    assert (got_level, str(got)) == (level, period)


def test_parse_period_error():
    with pytest.raises(ParameterError, match=r"a period must look like '2025', '2025Q2'.*; got 'Q2'"):
        parse_period("Q2")


def test_base_period():
    assert str(base_period(pd.Period("2025Q1", freq="Q"), "quarter", "previous")) == "2024Q4"
    assert str(base_period(pd.Period("2025Q1", freq="Q"), "quarter", "sply")) == "2024Q1"
    assert str(base_period(pd.Period("2024-02-29", freq="D"), "day", "sply")) == "2023-02-28"
