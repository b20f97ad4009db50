"""crmlib.cube.review: the steps of the sales review, on the tiny database (numbers in cube_tiny)."""

import numpy as np
import pandas as pd
import pytest
from cube_tiny import star, tables

from crmlib import cube
from crmlib.cube import build_star
from crmlib.errors import DataContractError, ParameterError


@pytest.fixture(scope="module")
def tiny():
    return star()


@pytest.fixture(scope="module")
def north_short():
    """Bob's February 2024 target raised to 4.0: North reaches 2.0 / 4.0, the company 7.0 / 9.0."""
    t = tables()
    t["rep_targets"].loc[1, "target_amount"] = 4.0
    return build_star(t["orders"], t["order_lines"], t["products"], t["channels"], t["sales_reps"],
                      t["customers"], rep_targets=t["rep_targets"])


# -- select ---------------------------------------------------------------------------------------

def test_select_nothing_is_the_whole_company(tiny):
    sel = cube.select(tiny)
    assert (sel.slices, sel.selected, sel.to) == ({}, None, "rep")
    assert sel.view(tiny) is tiny
    assert sel.label(pd.Period("2025Q1", freq="Q")) == "2025Q1"


def test_select_region_and_channel_kind(tiny):
    sel = cube.select(tiny, region="North", channel="online", level="manager")
    assert sel.slices == {"rep_region": "North", "channel_kind": "online"}
    assert (sel.selected, sel.to) == (("rep_region", "North"), "manager")
    assert sel.label("2024Q1") == "2024Q1 (rep_region North, channel_kind online)"
    assert len(sel.view(tiny)) == 1  # order 101: Pear, Bob, Web Shop


def test_select_rep_and_channel_name(tiny):
    sel = cube.select(tiny, region="North", rep="Bob", channel="North Store")
    assert sel.slices == {"rep_region": "North", "rep": "Bob", "channel": "North Store"}
    assert (sel.selected, sel.to) == (("rep", "Bob"), "rep")  # the rep wins over the region and level
    assert sel.view(tiny).fact["revenue"].sum() == pytest.approx(4.7)  # order 100


def test_select_bad_level(tiny):
    with pytest.raises(ParameterError, match=r"cube.select: 'level' must be one of \['rep_region', "
                                             r"'manager', 'rep'\]; got 'product'"):
        cube.select(tiny, level="product")


# -- resolve_period -------------------------------------------------------------------------------

def test_resolve_period_default_is_the_last_complete_quarter(tiny):
    # the data end on 2025-01-05: 2025Q1 is not complete, so 2024Q4 is reviewed
    r = cube.resolve_period(tiny)
    assert (r.level, str(r.period), str(r.base), r.compare_to) == ("quarter", "2024Q4", "2023Q4", "sply")
    assert r.start == pd.Timestamp("2024-10-01")
    assert r.text == "the same period last year"


def test_resolve_period_given(tiny):
    r = cube.resolve_period(tiny, "2025-01", "previous")
    assert (r.level, str(r.period), str(r.base), r.growth_compare) == ("month", "2025-01", "2024-12", "previous")
    ytd = cube.resolve_period(tiny, "2025Q1", "ytd")
    assert (str(ytd.base), ytd.growth_compare) == ("2024Q1", "sply")
    sel = cube.select(tiny, region="South")
    assert ytd.heading(sel) == ("**Period reviewed: 2025Q1 (rep_region South)**, compared with the same span "
                                "last year (2024Q1).")


@pytest.mark.parametrize("period, compare_to, match", [
    ("2025Q1", "last_year", r"cube.resolve_period: 'compare_to' must be one of \['previous', 'sply', 'ytd'\]; "
                            r"got 'last_year'"),
    ("Q1 2025", "sply", r"cube.parse_period: a period must look like .*got 'Q1 2025'"),
])
def test_resolve_period_bad_input(tiny, period, compare_to, match):
    with pytest.raises(ParameterError, match=match):
        cube.resolve_period(tiny, period, compare_to)


# -- segments_at ----------------------------------------------------------------------------------

def test_segments_at_uses_only_what_came_before():
    t = tables()
    before = t["orders"][t["orders"]["ordered_at"] < "2024-02-15"]
    lines = t["order_lines"][t["order_lines"]["order_id"].isin(before["order_id"])]
    out = cube.segments_at(before, lines, t["customers"][["customer_id"]], start="2024-02-15")
    assert list(out.columns) == ["customer_id", "segment"]
    assert sorted(out["customer_id"]) == [10, 11, 12]
    assert out.set_index("customer_id").loc[12, "segment"] == "No Purchase"  # first order 2024-02-20


def test_segments_at_missing_column():
    t = tables()
    with pytest.raises(DataContractError, match=r"missing column\(s\) \['customer_id'\]"):
        cube.segments_at(t["orders"], t["order_lines"], t["customers"][["region"]], start="2025-03-01")


# -- explain_flags and flag_table -----------------------------------------------------------------

def test_explain_flags_company_only(tiny):
    # January 2025: Dee 6.0 against 8.0 -- the whole company is 25% short, South and Dee with it
    e = cube.explain_flags(tiny, period="month")
    assert list(e.columns) == list(cube.EXPLAINED_COLUMNS)
    assert e[["level", "member", "revenue", "reference", "attainment"]].values.tolist() == \
        [["company", "All", 6.0, 8.0, 0.75]]
    assert str(e["period"].iloc[0]) == "2025-01" and np.isnan(e["volume_effect"].iloc[0])
    table = cube.flag_table(e)
    assert list(table.columns) == ["member", "quarter", "level", "revenue", "target", "attainment"]


def test_explain_flags_splits_a_region_gap(north_short):
    e = cube.explain_flags(north_short, period="month")
    assert e["member"].tolist() == ["All", "North", "All"]  # Feb 2024 company and North, Jan 2025 company
    north = e[e["member"] == "North"].iloc[0]
    assert (north["level"], str(north["period"]), north["revenue"], north["reference"]) == \
        ("rep_region", "2024-02", 2.0, 4.0)
    assert north["attainment"] == pytest.approx(0.5)
    # no sales a year before: the whole gap is volume
    assert (north["volume_effect"], north["price_effect"], north["mix_effect"], north["driver"]) == \
        (-2.0, 0.0, 0.0, "volume")
    assert "revenue 50% below target" in north["reason"]
    table = cube.flag_table(e)
    assert list(table.columns)[-4:] == ["volume_effect", "price_effect", "mix_effect", "driver"]


def test_explain_flags_selected_member_and_nothing_flagged(north_short):
    e = cube.explain_flags(north_short, period="month", selected=("rep_region", "South"))
    assert e["member"].tolist() == ["All", "All"]  # South itself is on target; its parent is listed
    none = cube.explain_flags(star(), period="month", selected=("rep", "Bob"), to="rep")
    assert none["member"].tolist() == ["All"]


def test_explain_flags_empty_keeps_the_columns():
    t = tables()
    t["rep_targets"]["target_amount"] = [1.0, 1.0, 1.0, 1.0]  # everyone beats the target
    s = build_star(t["orders"], t["order_lines"], t["products"], t["channels"], t["sales_reps"],
                   t["customers"], rep_targets=t["rep_targets"])
    e = cube.explain_flags(s, period="month")
    assert e.empty and list(e.columns) == list(cube.EXPLAINED_COLUMNS)
    assert cube.flag_table(e).empty


@pytest.mark.parametrize("kwargs, match", [
    ({"to": "product"}, r"cube.explain_flags: 'to' must be one of \['rep_region', 'manager', 'rep'\]; "
                        r"got 'product'"),
    ({"selected": "North"}, r"cube.explain_flags: 'selected' must be a \(level, member\) pair or None; "
                            r"got 'North'"),
])
def test_explain_flags_bad_input(tiny, kwargs, match):
    with pytest.raises(ParameterError, match=match):
        cube.explain_flags(tiny, **kwargs)


def test_flag_table_missing_columns():
    with pytest.raises(DataContractError, match=r"cube.flag_table: missing column\(s\) \['period', 'level'"):
        cube.flag_table(pd.DataFrame({"member": ["North"]}))


# -- findings -------------------------------------------------------------------------------------

MIX = pd.DataFrame({"dimension": ["channel kind", "channel kind", "category"],
                    "member": ["store", "online", "Fruit"], "revenue": [14.0, 2.0, 12.0],
                    "share": [0.875, 0.125, 0.75]})


def test_findings_sentences():
    # with the cancelled order 104 (Bob, North, 10.0 on 2025-02-01): 2025Q1 North 10.0 vs 6.7, South 6.0 vs 5.0
    s = star(statuses=("completed", "cancelled"))
    review = cube.resolve_period(s, "2025Q1", "sply")
    explained = pd.DataFrame({"member": ["All", "North"], "level": ["company", "rep_region"],
                              "period": ["2025Q1", "2024Q1"], "attainment": [0.8, 0.5],
                              "driver": [np.nan, "price"]})
    out = cube.findings(s, review, headline={"revenue": 16.0, "margin_pct": 0.3125}, revenue_growth=16 / 11.7 - 1,
                        mix=MIX, explained=explained, attainment=0.8, who="The company")
    assert out == [
        "Revenue in 2025Q1 was 16 with a margin of 31.2%, +36.8% against the same period last year.",
        "Store sales bring 88% of revenue.",
        "By sales region, revenue growth ranged from +20.0% (South) to +49.3% (North).",
        "The company reached 80% of target in 2025Q1.",
        "All (company) fell 20% short of target in 2025Q1.",
        "North (region) fell 50% short of target in 2024Q1, mainly through lower net prices.",
    ]


def test_findings_without_growth_targets_or_flags(tiny):
    review = cube.resolve_period(tiny, "2024Q1", "previous")
    empty = pd.DataFrame(columns=cube.EXPLAINED_COLUMNS)
    out = cube.findings(tiny, review, headline=pd.Series({"revenue": 11.7, "margin_pct": 0.5}),
                        revenue_growth=float("nan"), mix=MIX, explained=empty)
    assert out[0] == "Revenue in 2024Q1 was 12 with a margin of 50.0%."
    assert len(out) == 3  # no region has a base quarter, no attainment given
    assert out[-1] == "No region, manager or rep fell short of target by the rule's margin in any quarter."
    channel = cube.findings(tiny, review, headline={"revenue": 11.7, "margin_pct": 0.5}, revenue_growth=0.1,
                            mix=MIX, explained=empty, targets=False)
    assert len(channel) == 2 and channel[0].endswith("+10.0% against the period before.")


@pytest.mark.parametrize("kwargs, error, match", [
    ({"mix": MIX.drop(columns="share")}, DataContractError, r"cube.findings\(mix\): missing column\(s\) \['share'\]"),
    ({"explained": pd.DataFrame()}, DataContractError,
     r"cube.findings\(explained\): missing column\(s\) \['member', 'level', 'period', 'attainment', 'driver'\]"),
    ({"headline": 16.0}, ParameterError, r"cube.findings: 'headline' must be a mapping; got 16.0"),
])
def test_findings_bad_input(tiny, kwargs, error, match):
    review = cube.resolve_period(tiny, "2024Q1", "sply")
    args = {"headline": {"revenue": 1.0, "margin_pct": 0.1}, "revenue_growth": 0.0, "mix": MIX,
            "explained": pd.DataFrame(columns=cube.EXPLAINED_COLUMNS)} | kwargs
    with pytest.raises(error, match=match):
        cube.findings(tiny, review, **args)
