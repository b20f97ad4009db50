"""crmlib.cube.star: building the star schema from canonical tables."""

import pandas as pd
import pytest
from cube_tiny import star, tables

from crmlib.cube import HIERARCHIES, build_star, load_star
from crmlib.errors import DataContractError, ParameterError


def _build(t, **kw):
    return build_star(t["orders"], t["order_lines"], t["products"], t["channels"], t["sales_reps"],
                      t["customers"], rep_targets=t["rep_targets"], **kw)


def test_fact_has_one_row_per_completed_line_with_exact_measures():
    s = star()
    f = s.fact
    assert len(f) == 6
    assert f["revenue"].sum() == pytest.approx(17.7)
    assert f["discount"].sum() == pytest.approx(0.3 + 1.0)
    assert f["cost"].sum() == pytest.approx(2 * 0.5 + 1 + 1 + 4 * 0.5 + 1 + 2 * 1)
    assert f["quantity"].sum() == 11
    assert sorted(f["order_id"].unique()) == [100, 101, 102, 103]


def test_dimensions_carry_hierarchy_labels():
    s = star()
    reps = s.dims["rep"].set_index("rep_id")
    assert reps.loc[2, "manager"] == "Ann" and reps.loc[2, "rep_region"] == "North"
    assert reps.loc[1, "manager"] == "Ann"  # a manager heads their own team
    assert reps.loc[-1, "rep"] == "(unknown)"
    assert list(s.members("category")) == ["Fruit", "Home"]
    assert [str(p) for p in s.members("quarter")] == ["2024Q1", "2024Q2", "2024Q3", "2024Q4", "2025Q1"]
    assert "segment" not in s.levels
    assert set(s.levels) == {lvl for h, lv in HIERARCHIES.items() if h != "segment" for lvl in lv}


def test_statuses_choose_the_orders_that_count():
    s = star(statuses=("completed", "cancelled"))
    assert len(s.fact) == 7
    assert s.fact["revenue"].sum() == pytest.approx(27.7)


def test_segments_from_a_customer_column_or_a_frame():
    s = star(segments="income_band")
    assert list(s.members("segment")) == ["high", "low"]
    seg = pd.DataFrame({"customer_id": [10, 11], "segment": ["champion", "at risk"]})
    s2 = star(segments=seg)
    assert list(s2.members("segment")) == ["(unknown)", "at risk", "champion"]  # 12 has none


def test_missing_attributes_become_unknown_members():
    t = tables()
    t["orders"]["rep_id"] = pd.array([2, None, 4, 4, 2], dtype="Int64")
    t["customers"] = t["customers"].assign(region=["North", None, "South"])
    s = _build(t)
    reps = s.dims["rep"]["rep"].to_numpy()[s.fact["rep_key"]]
    assert (reps == "(unknown)").sum() == 1
    regions = s.dims["customer"]["customer_region"].to_numpy()[s.fact["customer_key"]]
    assert (regions == "(unknown)").sum() == 1


def test_duplicate_names_are_told_apart():
    t = tables()
    t["sales_reps"].loc[3, "name"] = "Bob"
    s = _build(t)
    assert {"Bob (#2)", "Bob (#4)"} <= set(s.members("rep"))


def test_input_frames_are_not_changed():
    t = tables()
    before = {k: v.copy() for k, v in t.items()}
    _build(t)
    for k in t:
        pd.testing.assert_frame_equal(t[k], before[k])


@pytest.mark.parametrize("table, column, match", [
    ("orders", "status", r"cube.build_star\(orders\): missing column\(s\) \['status'\]"),
    ("order_lines", "discount", r"build_star\(order_lines\): missing column\(s\) \['discount'\]"),
    ("products", "unit_cost", r"build_star\(products\): missing column\(s\) \['unit_cost'\]"),
    ("sales_reps", "manager_id", r"build_star\(sales_reps\): missing column\(s\) \['manager_id'\]"),
])
def test_missing_columns_are_named(table, column, match):
    t = tables()
    t[table] = t[table].drop(columns=[column])
    with pytest.raises(DataContractError, match=match):
        _build(t)


@pytest.mark.parametrize("table, column, values, match", [
    ("order_lines", "product_id", [1, 3, 2, 1, 2, 99, 1],
     r"1 order lines have a product_id not found in products \(e.g. 99\)"),
    ("order_lines", "order_id", [100, 100, 101, 102, 102, 103, 555],
     r"1 order lines have a order_id not found in orders \(e.g. 555\)"),
    ("orders", "channel_id", [1, 2, 7, 2, 1],
     r"1 orders have a channel_id not found in channels \(e.g. 7\)"),
])
def test_dangling_keys_are_counted_with_examples(table, column, values, match):
    t = tables()
    t[table][column] = values
    with pytest.raises(DataContractError, match=match):
        _build(t)


@pytest.mark.parametrize("kw, match", [
    ({"statuses": ("done",)}, r"'statuses' must be one of \['completed', 'open', 'cancelled', 'returned'\]; got 'done'"),
    ({"segments": "shoe_size"}, r"'segments' must name a column of customers; got 'shoe_size'"),
])
def test_bad_parameters(kw, match):
    with pytest.raises(ParameterError, match=match):
        star(**kw)


def test_empty_selection_gives_an_empty_star():
    t = tables()
    t["orders"]["status"] = pd.Categorical(["returned"] * 5)
    s = _build(t)
    assert len(s) == 0 and len(s.dims["customer"]) == 0


def test_load_star_reads_the_sample(small_url):
    import crmlib

    s = load_star(crmlib.connect(small_url), since="2025-01-01", until="2025-04-01")
    assert len(s) > 1000
    assert [str(m) for m in s.members("month")] == ["2025-01", "2025-02", "2025-03"]
    assert len(s.targets) > 0


def test_with_segments_sets_the_segment_level():
    from crmlib.cube import aggregate, with_segments

    s = star()
    seg = with_segments(s, pd.DataFrame({"customer_id": [10, 12], "segment": ["Champions", "At Risk"]}))
    assert "segment" not in s.levels and "segment" in seg.levels
    t = aggregate(seg, "segment", measures=["revenue"])
    assert dict(zip(t["segment"].astype(str), t["revenue"].round(6), strict=True)) == \
        {"(unknown)": 2.0, "At Risk": 11.0, "Champions": 4.7}
    assert seg.fact is s.fact


def test_with_segments_needs_its_columns():
    from crmlib.cube import with_segments

    with pytest.raises(DataContractError, match=r"cube.with_segments\(segments\): missing column\(s\) \['segment'\]"):
        with_segments(star(), pd.DataFrame({"customer_id": [10]}))
