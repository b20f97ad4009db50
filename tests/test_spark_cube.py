"""Spark roll-ups equal the same totals computed with pandas (crmlib.kpis' revenue)."""

from __future__ import annotations

import pytest

import crmlib
from crmlib import kpis
from crmlib.errors import ParameterError

pytestmark = pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")


@pytest.fixture(scope="module")
def rolled(spark, small_mart):
    from crmlib.cube import spark as cube

    return cube.rollup(spark, small_mart, ["year", "quarter", "region"])


def test_rollup_totals_equal_pandas(rolled, small_url):
    crm = crmlib.connect(small_url)
    orders, channels = crm.orders(), crm.channels()
    lines = kpis.line_revenue(orders, crm.order_lines(), statuses=tuple(orders["status"].unique()))
    lines = lines.merge(channels[["channel_id", "region"]], on="channel_id")
    lines["year"] = lines["ordered_at"].dt.year
    lines["quarter"] = lines["ordered_at"].dt.quarter
    grand = rolled[rolled["grouping"] == 7].iloc[0]
    assert grand["revenue"] == pytest.approx(lines["revenue"].sum(), rel=1e-12)
    assert grand["orders"] == lines["order_id"].nunique() and grand["lines"] == len(lines)
    assert grand["customers"] == lines["customer_id"].nunique()
    leaf = rolled[rolled["grouping"] == 0].fillna({"region": ""})
    ref = lines.assign(region=lines["region"].astype(object).fillna("")).groupby(
        ["year", "quarter", "region"]).agg(revenue=("revenue", "sum"), orders=("order_id", "nunique"))
    ours = {(int(y), int(q), str(r)): (v, o) for y, q, r, v, o in
            leaf[["year", "quarter", "region", "revenue", "orders"]].itertuples(index=False)}
    theirs = {(int(y), int(q), str(r)): (v, o) for (y, q, r), v, o in
              zip(ref.index, ref["revenue"], ref["orders"], strict=False)}
    assert ours.keys() == theirs.keys() and "" in {k[2] for k in ours}  # online channels: no region
    for key, (v, o) in theirs.items():
        assert ours[key][0] == pytest.approx(v, rel=1e-12) and ours[key][1] == o, key
    years = rolled[rolled["grouping"] == 3].set_index("year")["revenue"]
    assert years.sum() == pytest.approx(grand["revenue"], rel=1e-12)


def test_unknown_level(spark, small_mart):
    from crmlib.cube import spark as cube

    with pytest.raises(ParameterError, match=r"cube.spark.rollup: 'levels' must be one of \['year'"):
        cube.rollup(spark, small_mart, ["galaxy"])
