"""The overview's KPIs on Spark (crmlib.spark_kpis via crmlib.engines.analyses) equal the pandas ones.

Counts exact, money to the cent (the headline) and to 1e-9 (the monthly and channel totals, summed
in another order), on the small sample, whole and in a window.
"""

import pandas as pd
import pytest
from spark_support import assert_same_frame

import crmlib
from crmlib import engines
from crmlib.engines import analyses
from crmlib.errors import EmptyDataError, ParameterError

WINDOWS = [(None, None), ("2025-01-01", "2025-07-01")]


@pytest.fixture(scope="module")
def engs(spark, small_mart):
    return engines.Engine("pandas"), engines.Engine("spark", master="local[2]", mart=str(small_mart), session=spark)


@pytest.fixture(scope="module")
def crm(small_url):
    return crmlib.connect(small_url)


@pytest.fixture(scope="module")
def channels(crm):
    return crm.channels().rename(columns={"name": "channel"})[["channel_id", "channel", "kind"]]


@pytest.fixture(scope="module", params=WINDOWS, ids=["all", "2025H1"])
def both_lines(request, engs, crm, channels):
    since, until = request.param
    pandas_eng, spark_eng = engs
    ref = analyses.revenue_lines(pandas_eng, crm.orders(since=since, until=until),
                                 crm.order_lines(since=since, until=until), channels=channels)
    got = analyses.revenue_lines(spark_eng, channels=channels, since=since, until=until)
    yield ref, got
    got.unpersist()


def test_headline_is_the_pandas_one(engs, crm, both_lines):
    pandas_eng, spark_eng = engs
    ref, got = both_lines
    a = analyses.kpi_summary(pandas_eng, ref, crm.customers(["customer_id"]))
    b = analyses.kpi_summary(spark_eng, got)
    assert b.to_dict() == a.to_dict()  # counts exact, money to the cent
    assert all(type(b[k]) is int for k in ("customers", "active_customers", "orders"))
    assert got.count() == len(ref)


@pytest.mark.parametrize("by, freq", [([], "M"), (["kind", "channel"], None), ("channel_id", "Q")])
def test_trends_and_channels_are_the_pandas_ones(engs, channels, both_lines, by, freq):
    pandas_eng, spark_eng = engs
    ref, got = both_lines
    a = analyses.revenue_by(pandas_eng, ref, by, freq=freq)
    b = analyses.revenue_by(spark_eng, got, by, freq=freq, dtypes=channels.dtypes.to_dict())
    assert_same_frame(a, b)


def test_statuses_follow_the_definitions(engs, spark, small_mart):
    """Only completed and open orders are revenue: a cancelled line in the mart is not counted."""
    _, spark_eng = engs
    from crmlib import spark_kpis

    sales = spark_eng.table("fact_sales")
    statuses = {r[0] for r in spark_kpis.line_revenue(sales).select("status").distinct().collect()}
    assert statuses <= {"completed", "open"}
    everything = spark_kpis.line_revenue(sales, statuses=("completed", "open", "cancelled", "returned"))
    assert everything.count() == sales.count()


def test_empty_window_and_bad_freq_are_named(engs):
    _, spark_eng = engs
    lines = analyses.revenue_lines(spark_eng, since="2099-01-01")
    with pytest.raises(EmptyDataError, match="no order line of a revenue order"):
        analyses.kpi_summary(spark_eng, lines)
    with pytest.raises(ParameterError, match="'freq' must be one of"):
        analyses.revenue_by(spark_eng, lines, [], freq="fortnight")


def test_pandas_engine_needs_its_frames(engs):
    pandas_eng, _ = engs
    with pytest.raises(ParameterError, match="needs `orders` and `order_lines`"):
        analyses.revenue_lines(pandas_eng)
    with pytest.raises(ParameterError, match="needs `customers`"):
        analyses.kpi_summary(pandas_eng, pd.DataFrame())
