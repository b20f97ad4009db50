"""The segmentation report's value sections on Spark equal the pandas path's on the test sample:
behavioural features, profit tiers and the Pareto curve, acquisition cost, pricing, data gaps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from spark_support import assert_same_frame

import crmlib
from crmlib import segments as seg
from crmlib.engines import Engine, analyses

pytestmark = pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")


@pytest.fixture(scope="module")
def frames(small_url):
    crm = crmlib.connect(small_url)
    out = {name: getattr(crm, name)() for name in ("customers", "orders", "order_lines", "products", "channels",
                                                   "campaigns", "service_tickets", "interactions")}
    tx = seg.order_values(out["orders"], out["order_lines"])
    out["as_of"] = tx["ordered_at"].max().normalize()
    out["rfm"] = seg.rfm_scores(seg.rfm_table(tx, as_of=out["as_of"], customers=out["customers"]))
    return out


@pytest.fixture(scope="module")
def eng(spark, small_mart):
    return Engine("spark", master="local[2]", mart=str(small_mart), session=spark)


PANDAS = Engine("pandas")


def test_customer_features_equal_pandas(eng, frames):
    from crmlib.segments.spark_features import to_pandas

    f = frames
    ref = analyses.customer_features(PANDAS, f["orders"], f["order_lines"], f["products"], as_of=f["as_of"],
                                     customers=f["customers"], channels=f["channels"],
                                     service_tickets=f["service_tickets"], interactions=f["interactions"])
    got = to_pandas(analyses.customer_features(eng, as_of=f["as_of"]))
    assert list(got.columns) == list(ref.columns)
    assert any(c.startswith("cat_") for c in ref) and any(c.startswith("chan_") for c in ref)
    assert got.index.tolist() == ref.index.tolist()
    for col in ref.columns:
        np.testing.assert_allclose(got[col], ref[col], rtol=1e-9, atol=1e-9, err_msg=col)


def test_customer_features_default_as_of_and_id_channels(spark, small_mart, frames):
    from crmlib.segments.spark_features import customer_features, to_pandas

    f = frames
    ref = seg.customer_features(f["orders"], f["order_lines"])
    got = to_pandas(customer_features(spark, small_mart, categories=False, channels="id", tickets=False,
                                      complaints=False, created=False))
    assert list(got.columns) == list(ref.columns)
    np.testing.assert_allclose(got.to_numpy(), ref.to_numpy(), rtol=1e-9, atol=1e-9)


@pytest.fixture(scope="module")
def features(eng, frames):
    f = frames
    pandas = seg.customer_features(f["orders"], f["order_lines"], f["products"], as_of=f["as_of"],
                                   customers=f["customers"], channels=f["channels"],
                                   service_tickets=f["service_tickets"], interactions=f["interactions"])
    spark = analyses.customer_features(eng, as_of=f["as_of"]).cache()
    yield pandas, spark
    spark.unpersist()


def _model(**kw):
    base = dict(method="gmm", k_range=(3, 8), scaling="log-robust", covariance_type="diag",
                columns=list(seg.CLUSTER_FEATURES))
    return seg.CustomerClusters(**{**base, **kw})


@pytest.mark.parametrize("kw", [{}, {"method": "kmeans", "k_range": (3, 5), "n_init": 3}],
                         ids=["gmm-diag-bic", "kmeans-silhouette"])
def test_clusters_equal_pandas_when_the_sample_is_everyone(eng, features, kw):
    pandas, spark = features
    ref = _model(**kw)
    ref_labels, _ = analyses.cluster_customers(PANDAS, ref, pandas)
    got = _model(**kw)
    labels, sample = analyses.cluster_customers(eng, got, spark)
    assert sample.attrs["sampled"] is False and len(sample) == len(pandas)
    assert got.n_clusters_ == ref.n_clusters_
    pd.testing.assert_frame_equal(got.profiles_, ref.profiles_, rtol=1e-9)
    pd.testing.assert_series_equal(got.cluster_names_, ref.cluster_names_)
    labels = labels.toPandas().set_index("customer_id")["cluster"].sort_index()
    assert labels.index.tolist() == ref_labels.index.tolist()
    assert (labels.to_numpy() == ref_labels.to_numpy()).all()


def test_bounded_fit_sample_labels_everyone(eng, features):
    pandas, spark = features
    model = _model(k_range=(3, 4), n_init=1)
    labels, sample = analyses.cluster_customers(eng, model, spark, max_rows=600)
    assert sample.attrs["sampled"] and 300 < len(sample) < 900
    labels = labels.toPandas().set_index("customer_id")["cluster"].sort_index()
    assert labels.index.tolist() == pandas.index.tolist()
    assert (labels.to_numpy() == model.predict(pandas)).all()
    assert (labels.reindex(sample.index).to_numpy() == model.labels_).all()


@pytest.fixture(scope="module")
def margins(eng, frames):
    f = frames
    ref = analyses.customer_margin(PANDAS, f["orders"], f["order_lines"], f["products"], as_of=f["as_of"])
    got = analyses.customer_margin(eng, as_of=f["as_of"]).cache()
    yield ref, got
    got.unpersist()


def test_margin_equals_pandas(margins):
    ref, got = margins
    assert_same_frame(ref, got.toPandas().sort_values("customer_id").reset_index(drop=True))


@pytest.mark.parametrize("relative_error", [1e-4, 0.2])
def test_tiers_equal_pandas(eng, margins, relative_error):
    """Exact tiers without a sort, whatever the sketch's error (a coarse sketch only widens the bracket)."""
    from crmlib.segments import spark_profit

    ref, got = margins
    ref_tiers = seg.profit_tiers(ref)
    tiers = spark_profit.profit_tiers(got, relative_error=relative_error)
    by_id = tiers.toPandas().set_index("customer_id")["tier"]
    expect = ref_tiers.set_index("customer_id")["tier"].astype(str)
    assert (by_id.reindex(expect.index) == expect).all()
    assert_same_frame(seg.tier_summary(ref_tiers), analyses.tier_summary(eng, tiers))


def test_top_cuts_with_ties(spark):
    from crmlib.segments.spark_profit import top_cuts

    values = [5.0] * 7 + [3.0] * 5 + [1.0] * 8
    frame = spark.createDataFrame(pd.DataFrame({"v": values, "k": range(20)}))
    cuts, n, _ = top_cuts(frame, "v", "k", [0, 1, 7, 8, 10, 20], relative_error=0.3)
    assert n == 20
    assert cuts == [None, (5.0, 0), (5.0, 6), (3.0, 7), (3.0, 9), (1.0, 19)]


def test_pareto_points_lie_on_the_pandas_curve(eng, margins, frames):
    ref, got = margins
    full = seg.pareto_curve(ref)
    curve = analyses.pareto_curve(eng, got, points=50)
    n = len(ref)
    assert 20 <= len(curve) <= 60
    assert curve.iloc[0].tolist() == [0.0, 0.0] and curve.iloc[-1].tolist() == [1.0, 1.0]
    idx = np.rint(curve["customer_share"].to_numpy() * n).astype(int)
    np.testing.assert_allclose(curve["value_share"], full["value_share"].to_numpy()[idx], rtol=1e-9, atol=1e-12)
    top = lambda c: float(c.loc[c["customer_share"] >= 0.2, "value_share"].iloc[0])  # noqa: E731
    assert top(curve) == pytest.approx(top(full), rel=1e-12)


def test_acquisition_equals_pandas(eng, frames):
    f = frames
    by = ("campaign", "channel", "acquisition_channel")
    ref = analyses.acquisition_costs(PANDAS, f["customers"], f["campaigns"], f["orders"], by=by, as_of=f["as_of"])
    got = analyses.acquisition_costs(eng, campaigns=f["campaigns"], by=by, as_of=f["as_of"])
    for a, b in zip(ref, got, strict=True):
        assert_same_frame(a, b)
    ref_all = seg.acquisition_cost(f["customers"], f["campaigns"], f["orders"], by="acquisition_channel")
    got_all = analyses.acquisition_costs(eng, campaigns=f["campaigns"], by=("acquisition_channel",))[0]
    assert_same_frame(ref_all, got_all)


@pytest.mark.parametrize("as_spark", [False, True], ids=["pandas-segments", "spark-segments"])
def test_pricing_equals_pandas(eng, frames, spark, as_spark):
    f = frames
    segments = f["rfm"][["customer_id", "segment"]]
    ref = analyses.pricing(PANDAS, segments, f["orders"], f["order_lines"], f["products"])
    arg = spark.createDataFrame(segments) if as_spark else segments
    got = analyses.pricing(eng, arg)
    for a, b in zip(ref, got, strict=True):
        assert_same_frame(a, b)
    assert (got[2]["p_value"] < 1).all()


def test_data_gaps_equal_pandas(eng, frames):
    f = frames
    ref = analyses.data_gaps(PANDAS, customers=f["customers"], campaigns=f["campaigns"], products=f["products"],
                             order_lines=f["order_lines"])
    assert analyses.data_gaps(eng, campaigns=f["campaigns"], products=f["products"]) == ref
    assert analyses.data_gaps(eng) == ref
    no_cost = f["products"].assign(unit_cost=0.0, price_band=None)
    no_camp = f["campaigns"].iloc[:0]
    want = seg.data_gaps(customers=f["customers"], campaigns=no_camp, products=no_cost, order_lines=f["order_lines"])
    assert list(want) == ["unit_cost", "campaigns", "price_bands"]
    assert analyses.data_gaps(eng, campaigns=no_camp, products=no_cost) == want
