"""The summary star (crmlib.cube.spark.summary_star) gives the star of order lines' figures.

Every query of the sales review runs on both stars of the 2,000-customer sample: sums to 1e-9
relative (Spark adds in another order), counts exactly, including the distinct counts that the
summary asks Spark for (customers; orders per product level) under slices and dices. Plus the
top and bottom customers per region, the RFM segments at a period's start, and the refusals.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import crmlib
from crmlib import cube
from crmlib.errors import DataContractError, ParameterError

pytestmark = pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")

START = "2025-04-01"


@pytest.fixture(scope="module")
def star_of_lines(small_url):
    crm = crmlib.connect(small_url)
    start = pd.Timestamp(START)
    lines = cube.load_star(crm)
    return cube.with_segments(lines, cube.segments_at(crm.orders(until=start), crm.order_lines(until=start),
                                                      crm.customers(["customer_id"]), start=start))


#: the summary's rows keyed by all five dimensions, or by date, channel and rep only (the sales
#: review's: a query by product or customer levels is then summed on Spark)
LOCAL = {"all": ("date", "product", "customer", "channel", "rep"), "lean": ("date", "channel", "rep")}


@pytest.fixture(scope="module", params=sorted(LOCAL))
def stars(request, spark, small_mart, star_of_lines):
    from crmlib.cube import spark as cube_spark

    summary = cube_spark.summary_star(spark, small_mart, local=LOCAL[request.param],
                                      segments=cube_spark.segments_at(spark, small_mart, start=START))
    yield star_of_lines, summary
    summary.counter.lines.unpersist()
    spark.catalog.clearCache()  # the RFM tables segments_at cached: free the shared session's memory


def assert_same(ref: pd.DataFrame, got: pd.DataFrame):
    assert list(got.columns) == list(ref.columns)
    assert len(got) == len(ref)
    for col in ref.columns:
        if ref[col].dtype.kind == "f":
            np.testing.assert_allclose(got[col].to_numpy(), ref[col].to_numpy(), rtol=1e-9, atol=1e-6, err_msg=col)
        else:
            assert got[col].astype(str).tolist() == ref[col].astype(str).tolist(), col


def test_the_summary_is_smaller_and_by_month(stars):
    lines, summary = stars
    assert summary.is_summary and summary.date_grain == "month" and not lines.is_summary
    assert len(summary) < len(lines)
    keys = {c for c in summary.fact if c.endswith("_key")}
    assert keys in ({"date_key", "product_key", "customer_key", "channel_key", "rep_key"},
                    {"date_key", "channel_key", "rep_key"})
    assert summary.fact["lines"].sum() == len(lines.fact)
    assert summary.fact["orders"].sum() == lines.fact["order_id"].nunique()
    assert summary.members("day").max() == lines.members("day").max()
    assert list(summary.members("segment")) == list(lines.members("segment"))


@pytest.mark.parametrize("by, where", [
    ((), None),
    (("quarter",), None),
    (("rep", "month"), None),
    (("category", "quarter"), None),                 # orders per product level: counted on Spark
    (("segment", "quarter"), {"quarter": ["2025Q2", "2024Q2"]}),
    (("channel_kind",), {"rep_region": "East"}),
    (("customer_region", "subcategory"), {"year": "2025", "channel_kind": "online"}),
    (("price_band", "manager"), None),
])
def test_aggregate_equals_the_star_of_lines(stars, by, where):
    lines, summary = stars
    ref = cube.aggregate(lines, list(by), where=where)
    got = cube.aggregate(summary, list(by), where=where)
    assert_same(ref, got)


def test_a_diced_view_counts_customers_under_its_slices(stars):
    lines, summary = stars
    where = {"rep_region": "East", "channel_kind": "store"}
    ref = cube.aggregate(cube.dice(lines, where), ["quarter"], where={"year": "2025"})
    got = cube.aggregate(cube.dice(summary, where), ["quarter"], where={"year": "2025"})
    assert_same(ref, got)


def test_review_steps_equal(stars):
    lines, summary = stars
    for to in ("rep_region", "rep"):
        assert_same(cube.attainment(lines, to=to, period="quarter"), cube.attainment(summary, to=to, period="quarter"))
    assert_same(cube.drill_down(lines, "rep", by="quarter"), cube.drill_down(summary, "rep", by="quarter"))
    assert_same(cube.explain_flags(lines), cube.explain_flags(summary))
    assert_same(cube.decompose_gap(lines, period="2025Q2", level="rep_region", against="sply"),
                cube.decompose_gap(summary, period="2025Q2", level="rep_region", against="sply"))


@pytest.mark.parametrize("where", [{"quarter": ["2025Q2"]}, {"year": ["2024"], "rep_region": "West"}])
def test_customer_ends_equal(stars, where):
    from crmlib.cube import spark as cube_spark

    lines, summary = stars
    ref = cube.customer_ends(lines, where=where, n=3)
    got = cube_spark.customer_ends(summary, where=where, n=3)
    assert len(ref) and set(ref["group"]) == {"top 3", "bottom 3"}
    assert_same(ref, got)


def test_customer_ends_without_the_region_in_the_grain(spark, small_mart, star_of_lines):
    """Without region and segment: customer ends take the region from the customers."""
    from crmlib.cube import spark as cube_spark

    lines = star_of_lines
    dims = cube_spark.dimension_star(spark, small_mart)
    assert len(dims.fact) == 0 and not dims.is_summary
    lean = cube_spark.summary_star(spark, small_mart, customer_region=False, dims=dims)
    try:
        assert not lean.has_level("customer_region") and not lean.has_level("segment")
        where = {"quarter": ["2025Q1"]}
        assert_same(cube.customer_ends(lines, where=where), cube_spark.customer_ends(lean, where=where))
        assert_same(cube.aggregate(lines, ["rep", "quarter"], measures=["revenue", "orders", "customers"]),
                    cube.aggregate(lean, ["rep", "quarter"], measures=["revenue", "orders", "customers"]))
    finally:
        lean.counter.lines.unpersist()


def test_customer_ends_of_a_small_region_lists_some_customers_twice():
    per = pd.DataFrame({"customer_region": ["A"] * 4 + ["B"] * 7, "customer_id": range(11),
                        "revenue": [5.0, 1.0, 3.0, 3.0, 9, 8, 7, 6, 5, 4, 3], "orders": 1})
    ends = cube.pick_ends(per, n=3)
    a = ends[ends["customer_region"] == "A"]
    assert a[a["group"] == "top 3"]["customer_id"].tolist() == [0, 2, 3]   # ties by id
    assert a[a["group"] == "bottom 3"]["customer_id"].tolist() == [2, 3, 1]
    b = ends[ends["customer_region"] == "B"]
    assert b[b["group"] == "bottom 3"]["customer_id"].tolist() == [8, 9, 10]


def test_refusals(stars):
    lines, summary = stars
    with pytest.raises(ParameterError, match="summary star holds months"):
        cube.aggregate(summary, ["day"])
    with pytest.raises(ParameterError, match="summary star holds months"):
        cube.aggregate(summary, ["quarter"], where={"week": "2025-06-09/2025-06-15"})
    with pytest.raises(ParameterError, match="has no single customers"):
        cube.customer_ends(summary)
    with pytest.raises(ParameterError, match="build it with its segments"):
        cube.with_segments(summary, pd.DataFrame({"customer_id": [1], "segment": ["x"]}))
    with pytest.raises(ParameterError, match=r"'n' must be an int in \[1, inf\]"):
        cube.customer_ends(lines, n=0)


def test_an_orphan_product_is_a_data_contract_error(spark, small_mart, tmp_path):
    import shutil

    from crmlib.cube import spark as cube_spark
    from crmlib.mart import table_path

    mart = tmp_path / "mart"
    shutil.copytree(small_mart, mart)
    products = pd.read_parquet(table_path(mart, "dim_product"))
    shutil.rmtree(table_path(mart, "dim_product"))
    Path = type(mart)
    Path(table_path(mart, "dim_product")).mkdir()
    products.iloc[1:].to_parquet(Path(table_path(mart, "dim_product")) / "part-0.parquet")
    with pytest.raises(DataContractError, match="product_id value"):
        cube_spark.summary_star(spark, mart)
