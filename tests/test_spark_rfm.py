"""crmlib.segments.spark_rfm against crmlib.segments: the same RFM values, scores and segments."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import crmlib

pytestmark = pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")


@pytest.fixture(scope="module")
def both(spark, small_mart, small_url):
    segments = pytest.importorskip("crmlib.segments", reason="crmlib.segments has not landed on this branch")
    from crmlib.segments import spark_rfm as srfm

    crm = crmlib.connect(small_url)
    tx = segments.order_values(crm.orders(), crm.order_lines())
    ref = segments.rfm_scores(segments.rfm_table(tx))
    ours = srfm.to_pandas(srfm.rfm_scores(srfm.rfm_table(srfm.order_values(spark, small_mart))))
    return ref.sort_values("customer_id").reset_index(drop=True), ours


def test_rfm_table_equal(both):
    ref, ours = both
    assert ours["customer_id"].tolist() == ref["customer_id"].tolist()
    assert (ours["recency"].to_numpy() == ref["recency"].to_numpy()).all()
    assert (ours["frequency"].to_numpy() == ref["frequency"].to_numpy()).all()
    np.testing.assert_allclose(ours["monetary"], ref["monetary"], rtol=1e-9)
    assert (pd.to_datetime(ours["last_purchase"]).to_numpy() == ref["last_purchase"].to_numpy()).all()


def test_scores_and_segments_equal(both):
    ref, ours = both
    for col in ("R", "F", "M", "FM", "rfm_score", "segment"):
        mismatch = (ours[col].astype(str).to_numpy() != ref[col].astype(str).to_numpy()).sum()
        assert mismatch == 0, f"{col}: {mismatch} customers differ"
    assert ours["segment"].nunique() >= 8


# ---------------------------------------------------------------------- every customer, no global window
@pytest.fixture(scope="module")
def scored_all(spark, small_mart, small_url):
    from crmlib import segments
    from crmlib.segments import spark_rfm as srfm

    crm = crmlib.connect(small_url)
    tx = segments.order_values(crm.orders(), crm.order_lines())
    day = tx["ordered_at"].max().normalize()
    ref = segments.rfm_scores(segments.rfm_table(tx, as_of=day, customers=crm.customers()))
    orders = srfm.order_values(spark, small_mart)
    scored = srfm.scored_customers(orders, spark.read.parquet(str(small_mart / "dim_customer")), as_of=day)
    return ref, scored


def _unpartitioned_windows(df) -> list[str]:
    """Window operators of the executed plan without a partition spec: Spark prints a window as
    ``Window [exprs], [partition keys], [order]`` and leaves the partition list out when empty."""
    import re

    plan = df._jdf.queryExecution().executedPlan().toString()
    return [line for line in plan.splitlines()
            if "Window [" in line and re.search(r"AS [\w#]+\], \[[^\[\]]*\]\s*$", line)]


def test_scored_customers_equal_pandas_with_no_purchase_rows(scored_all):
    ref, scored = scored_all
    ours = scored.toPandas().sort_values("customer_id").reset_index(drop=True)
    assert ours["customer_id"].tolist() == ref["customer_id"].tolist()
    assert (ref["segment"] == "No Purchase").sum() > 0  # the sample has customers who never bought
    for col in ("R", "F", "M", "FM", "rfm_score", "segment", "frequency"):
        mismatch = (ours[col].astype(str).to_numpy() != ref[col].astype(str).to_numpy()).sum()
        assert mismatch == 0, f"{col}: {mismatch} customers differ"
    np.testing.assert_allclose(ours["monetary"], ref["monetary"], rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(ours["recency"].to_numpy(float), ref["recency"].to_numpy(float))


def test_no_window_without_partition(scored_all):
    _, scored = scored_all
    plan = scored._jdf.queryExecution().executedPlan().toString()
    assert "Window" in plan  # the ranks do use windows: partitioned by value bucket
    assert _unpartitioned_windows(scored) == []


def test_the_check_sees_an_unpartitioned_window(spark):
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    df = spark.range(10).withColumn("g", F.col("id") % 2)
    assert len(_unpartitioned_windows(df.withColumn("r", F.sum("id").over(Window.orderBy("id"))))) == 1
    assert _unpartitioned_windows(df.withColumn("r", F.sum("id").over(Window.partitionBy("g").orderBy("id")))) == []
    # a constant partition key is dropped by the optimizer: the check sees that too
    const = df.withColumn("r", F.sum("id").over(Window.partitionBy(F.lit(0)).orderBy("id")))
    assert len(_unpartitioned_windows(const)) == 1


def test_segment_summary_equal(scored_all):
    from spark_support import assert_same_frame

    from crmlib import segments
    from crmlib.segments import spark_rfm as srfm

    ref, scored = scored_all
    assert_same_frame(segments.segment_summary(ref), srfm.segment_summary(scored))


def test_ranks_over_several_buckets_equal_pandas(spark):
    """Many buckets (bucket_rows=7): ties across bucket edges keep pandas' average rank, and the
    exact quantile and median equal pandas'."""
    from crmlib.spark import ranks

    rng = np.random.default_rng(3)
    for n in (1, 2, 57, 400):
        values = np.round(rng.gamma(2.0, 50.0, n), 0)  # many ties
        frame = pd.DataFrame({"v": values})
        sdf = spark.createDataFrame(frame)
        got, count = ranks.average_ranks(sdf, "v", descending=True, bucket_rows=7)
        got = got.toPandas().set_index("v")["rank"]
        expected = (-frame["v"]).rank(method="average")
        assert count == n
        np.testing.assert_array_equal(frame["v"].map(got).to_numpy(), expected.to_numpy())
        for q in (0.0, 0.25, 0.75, 0.9, 1.0):
            assert ranks.quantile(sdf, "v", q, bucket_rows=7) == frame["v"].quantile(q)
        assert ranks.median(sdf, "v", bucket_rows=7) == frame["v"].median()
        assert ranks.median(sdf, "v") == frame["v"].median()
