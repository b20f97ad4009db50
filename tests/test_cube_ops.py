"""crmlib.cube.ops on the tiny database (cube_tiny.py), where every number is checked by hand."""

import pandas as pd
import pytest
from cube_tiny import star

from crmlib.cube import (
    ADDITIVE,
    aggregate,
    dice,
    drill_down,
    drill_down_all,
    pivot,
    roll_up,
    slice_,
)
from crmlib.cube.ops import add_ratios
from crmlib.errors import ParameterError

ENGINES = ["pandas", "duckdb"]


@pytest.fixture(scope="module")
def tiny():
    return star(segments="income_band")


@pytest.mark.parametrize("engine", ENGINES)
def test_aggregate_by_rep_keeps_ancestors(tiny, engine):
    t = aggregate(tiny, "rep", measures=["revenue", "orders", "customers", "lines"], engine=engine)
    assert list(t.columns) == ["rep_region", "manager", "rep", "revenue", "orders", "customers", "lines"]
    got = {r.rep: (round(r.revenue, 6), r.orders, r.customers, r.lines) for r in t.itertuples()}
    assert got == {"Bob": (6.7, 2, 2, 3), "Dee": (11.0, 2, 1, 3)}
    assert str(t["rep"].dtype) == "category"


@pytest.mark.parametrize("engine", ENGINES)
def test_aggregate_by_month_and_category(tiny, engine):
    t = aggregate(tiny, ["month", "category"], measures=["revenue", "quantity", "orders"], engine=engine)
    rows = {(str(r.month), r.category): (round(r.revenue, 6), r.quantity, r.orders) for r in t.itertuples()}
    assert rows == {("2024-01", "Fruit"): (2.0, 2, 1), ("2024-01", "Home"): (2.7, 1, 1),
                    ("2024-02", "Fruit"): (7.0, 6, 2), ("2025-01", "Home"): (6.0, 2, 1)}
    assert str(t["month"].dtype) == "period[M]"


@pytest.mark.parametrize("engine", ENGINES)
def test_grand_total_and_derived_measures(tiny, engine):
    t = aggregate(tiny, measures=["revenue", "margin", "gross", "discount", "cost", "orders"], engine=engine)
    assert len(t) == 1
    row = t.iloc[0]
    assert row["revenue"] == pytest.approx(17.7)
    assert row["gross"] == pytest.approx(19.0)
    assert row["margin"] == pytest.approx(17.7 - 8.0)
    assert row["orders"] == 4
    ratios = add_ratios(t)
    assert ratios["margin_pct"].iloc[0] == pytest.approx(9.7 / 17.7)
    assert ratios["order_value"].iloc[0] == pytest.approx(17.7 / 4)


@pytest.mark.parametrize("engine", ENGINES)
def test_where_dices_before_grouping(tiny, engine):
    t = aggregate(tiny, "channel", measures=["revenue"], where={"rep_region": "South", "year": [2024]},
                  engine=engine)
    assert dict(zip(t["channel"], t["revenue"].round(6), strict=True)) == {"North Store": 5.0}


def test_empty_selection_keeps_columns(tiny):
    t = aggregate(tiny, "rep", measures=["revenue", "orders"], where={"quarter": "2024Q3"})
    assert list(t.columns) == ["rep_region", "manager", "rep", "revenue", "orders"] and t.empty
    total = aggregate(tiny, measures=["revenue", "orders"], where={"quarter": "2024Q3"})
    assert total["revenue"].tolist() == [0.0] and total["orders"].tolist() == [0]


@pytest.mark.parametrize("engine", ENGINES)
def test_drill_down_tree_shape_and_order(tiny, engine):
    tree = drill_down(tiny, "rep", measures=["revenue", "orders"], engine=engine)
    assert tree["node"].astype(str).tolist() == [
        "All", "North", "North / Ann", "North / Ann / Bob", "South", "South / Cid", "South / Cid / Dee"]
    assert tree["level"].astype(str).tolist() == [
        "total", "rep_region", "manager", "rep", "rep_region", "manager", "rep"]
    assert tree["parent"].astype(str).tolist()[1:4] == ["All", "North", "North / Ann"]
    assert pd.isna(tree["parent"].iloc[0])
    assert tree["revenue"].round(6).tolist() == [17.7, 6.7, 6.7, 6.7, 11.0, 11.0, 11.0]
    assert tree["member"].astype(str).tolist()[3] == "Bob"


@pytest.mark.parametrize("engine", ENGINES)
def test_drill_down_with_by_and_to(tiny, engine):
    tree = drill_down(tiny, "product", to="subcategory", by="year", measures=["revenue"], engine=engine)
    y2025 = tree[tree["year"] == pd.Period("2025", freq="Y")]
    assert y2025["node"].astype(str).tolist() == ["All", "Home", "Home / Care"]
    assert "product" not in tree.columns


def test_drill_down_all_matches_single_drill_downs(tiny):
    trees = drill_down_all(tiny, by="quarter", measures=["revenue", "orders", "customers"])
    assert set(trees) == {"date", "week", "product", "price_band", "customer", "segment", "channel", "rep"}
    one = drill_down(tiny, "channel", by="quarter", measures=["revenue", "orders", "customers"])
    pd.testing.assert_frame_equal(trees["channel"], one)
    assert "quarter" in trees["date"]["level"].astype(str).tolist()  # date drilled without its own by


def test_engines_agree_on_every_tree(tiny):
    a = drill_down_all(tiny, by="month", engine="pandas")
    b = drill_down_all(tiny, by="month", engine="duckdb")
    for h in a:
        pd.testing.assert_frame_equal(a[h], b[h], check_exact=False, rtol=1e-12)


def test_roll_up_one_level_and_to_all(tiny):
    t = aggregate(tiny, ["rep", "month"], measures=["revenue", "orders"])
    up = roll_up(t, "rep")
    assert list(up.columns) == ["rep_region", "manager", "month", "revenue"]  # orders dropped
    regions = roll_up(t, "rep", to="rep_region")
    assert regions.groupby("rep_region", observed=True)["revenue"].sum().round(6).to_dict() == \
        {"North": 6.7, "South": 11.0}
    q = roll_up(t, "date", to="quarter")
    assert sorted(str(p) for p in q["quarter"].unique()) == ["2024Q1", "2025Q1"]
    total = roll_up(roll_up(t, "rep", to="all"), "date", to="all")
    assert total["revenue"].round(6).tolist() == [17.7]


@pytest.mark.parametrize("args, kwargs, match", [
    (("rep",), {"to": "rep"}, r"'to' must be one of \['all', 'rep_region', 'manager'\]; got 'rep'"),
    (("product",), {}, r"the table has no level of hierarchy 'product'"),
    (("galaxy",), {}, r"'hierarchy' must be one of \[.*\]; got 'galaxy'"),
])
def test_roll_up_errors(tiny, args, kwargs, match):
    t = aggregate(tiny, ["rep", "month"], measures=["revenue"])
    with pytest.raises(ParameterError, match=match):
        roll_up(t, *args, **kwargs)


def test_roll_up_refuses_a_tree(tiny):
    with pytest.raises(ParameterError, match=r"takes a flat table from cube.aggregate, not a drill-down tree"):
        roll_up(drill_down(tiny, "rep"), "rep")


def test_slice_and_dice_a_star(tiny):
    south = slice_(tiny, "rep_region", "South")
    assert south.filters == {"rep_region": ("South",)}
    assert aggregate(south, measures=["revenue"])["revenue"].round(6).tolist() == [11.0]
    sub = dice(tiny, {"category": ["Home"], "year": [2024, 2025]})
    assert aggregate(sub, "rep", measures=["revenue"])["revenue"].round(6).tolist() == [2.7, 6.0]
    assert len(tiny.fact) == 6  # the original star is untouched


def test_slice_and_dice_a_table(tiny):
    t = aggregate(tiny, ["rep", "quarter"], measures=["revenue"])
    s = slice_(t, "quarter", "2025Q1")
    assert "quarter" not in s.columns and s["rep"].astype(str).tolist() == ["Dee"]
    d = dice(t, {"rep": ["Bob", "Dee"], "quarter": ["2024Q1"]})
    assert len(d) == 2 and "quarter" in d.columns


@pytest.mark.parametrize("where, match", [
    ({"rep_region": "Mars"}, r"'rep_region' has no member\(s\) \['Mars'\]; members are \(unknown\), North, South"),
    ({"planet": "Mars"}, r"'level' must be one of \[.*\]; got 'planet'"),
    ({"quarter": "spring"}, r"a quarter must be a period such as '2025Q2'; got 'spring'"),
])
def test_bad_where(tiny, where, match):
    with pytest.raises(ParameterError, match=match):
        aggregate(tiny, "rep", where=where)


@pytest.mark.parametrize("kwargs, match", [
    ({"by": "rep", "measures": ["profit"]}, r"'measures' must be one of \[.*\]; got 'profit'"),
    ({"by": "rep", "engine": "spark"}, r"'engine' must be one of \['auto', 'duckdb', 'pandas'\]; got 'spark'"),
    ({"by": ["rep", "rep"]}, r"'by' repeats a level; got \['rep', 'rep'\]"),
])
def test_bad_aggregate_parameters(tiny, kwargs, match):
    with pytest.raises(ParameterError, match=match):
        aggregate(tiny, **kwargs)


def test_drill_down_rejects_a_level_outside_the_hierarchy(tiny):
    with pytest.raises(ParameterError, match=r"'to' must be one of \['rep_region', 'manager', 'rep'\]; got 'category'"):
        drill_down(tiny, "rep", to="category")


def test_pivot_with_totals(tiny):
    t = aggregate(tiny, ["rep", "year"], measures=list(ADDITIVE))
    wide = pivot(t, index="rep", columns="year", values="revenue")
    assert wide.loc["Bob", "2024"] == pytest.approx(6.7)
    assert wide.loc["Dee", "2025"] == pytest.approx(6.0)
    assert wide.loc["Total", "Total"] == pytest.approx(17.7)
    assert wide.loc["Bob", "2025"] == 0


def test_pivot_refuses_totals_of_distinct_counts(tiny):
    t = aggregate(tiny, ["rep", "year"], measures=["orders"])
    with pytest.raises(ParameterError, match=r"totals of 'orders' would double count"):
        pivot(t, index="rep", columns="year", values="orders")
    assert pivot(t, index="rep", columns="year", values="orders", totals=False).loc["Dee", "2024"] == 1


def test_subtree_keeps_a_member_its_children_and_ancestors(tiny):
    from crmlib.cube import subtree

    tree = drill_down(tiny, "rep", measures=["revenue"])
    assert subtree(tree, "rep_region", "South")["node"].astype(str).tolist() == [
        "All", "South", "South / Cid", "South / Cid / Dee"]
    assert subtree(tree, "rep", "Dee", ancestors=False)["node"].astype(str).tolist() == ["South / Cid / Dee"]
    with pytest.raises(ParameterError, match=r"no rep_region 'Mars' in the tree; members are \['North', 'South'\]"):
        subtree(tree, "rep_region", "Mars")
